"""Settings: gallery.toml read into a frozen, validated Config; every mistake names file:line."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from gallery_builder.config import (
    DEFAULT_QUALITY,
    Config,
    ConfigError,
    GallerySettings,
    ImageSettings,
    default_config,
    load_config,
)
from gallery_builder.testing import run_cli


def write_config(folder: Path, text: str, name: str = "gallery.toml") -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def config_error(source: Path, config_file: Path | None = None) -> ConfigError:
    with pytest.raises(ConfigError) as caught:
        load_config(source, config_file)
    return caught.value


def assert_points_at(error: ConfigError, path: Path, line: int) -> None:
    assert error.file == path
    assert error.line == line
    assert str(error).startswith(f"{path}:{line}: ")


# --- Defaults --------------------------------------------------------------------------------


def test_defaults_without_gallery_toml(tmp_path: Path) -> None:
    source = tmp_path / "Istanbul 2024"
    source.mkdir()
    config = load_config(source)
    assert config.file is None
    assert config.source == source
    assert config.gallery == GallerySettings(name="istanbul-2024", title="Istanbul 2024")
    assert config.gallery.theme == "default"
    assert config.gallery.lang == "en"
    assert config.gallery.description == ""
    assert config.images == ImageSettings()
    assert config.images.sizes == (640, 1280, 2048)
    assert config.images.thumbnail == (400, 300)
    assert config.images.formats == ("webp", "jpeg")
    assert config.images.strip_gps is True
    assert {fmt: config.images.quality_for(fmt) for fmt in DEFAULT_QUALITY} == DEFAULT_QUALITY


def test_default_name_is_the_slug_of_the_folder_name(tmp_path: Path) -> None:
    source = tmp_path / "Çay & Simit"
    source.mkdir()
    config = load_config(source)
    assert config.gallery.name == "cay-simit"
    assert config.gallery.title == "Çay & Simit"


def test_default_name_of_a_folder_with_no_ascii_letters(tmp_path: Path) -> None:
    source = tmp_path / "🌅"
    source.mkdir()
    assert load_config(source).gallery.name == "gallery"
    assert load_config(source).gallery.title == "🌅"


def test_default_name_of_a_relative_source(tmp_path: Path, monkeypatch) -> None:
    source = tmp_path / "Trip"
    source.mkdir()
    monkeypatch.chdir(source)
    assert load_config(Path(".")).gallery.name == "trip"


def test_config_is_frozen(source: Path) -> None:
    config = load_config(source)
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.gallery = config.gallery  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.images.sizes = (1,)  # type: ignore[misc]


# --- Good values ------------------------------------------------------------------------------


def test_every_key_is_read(source: Path) -> None:
    path = write_config(
        source,
        """\
[gallery]
name = "trip.2024_v2"
title = "Trip \\"2024\\""
theme = "default"
description = "Ten days by train"
lang = "pt-BR"
base_url = "https://photos.example.org/trips/2024/"

[images]
sizes = [1280, 320, 640, 320]
thumbnail = [300, 300]
formats = ["avif", "webp", "png"]
quality = 70
strip_gps = false
""",
    )
    config = load_config(source)
    assert config.file == path
    assert config.gallery == GallerySettings(
        name="trip.2024_v2",
        title='Trip "2024"',
        theme="default",
        description="Ten days by train",
        lang="pt-BR",
        base_url="https://photos.example.org/trips/2024/",
    )
    assert config.gallery.base_path == "/trips/2024/"
    assert config.gallery.absolute_url == "https://photos.example.org/trips/2024/"
    assert config.images.sizes == (320, 640, 1280)  # sorted, without repeats
    assert config.images.thumbnail == (300, 300)
    assert config.images.formats == ("avif", "webp", "png")
    assert config.images.strip_gps is False
    assert all(config.images.quality_for(fmt) == 70 for fmt in DEFAULT_QUALITY)


def test_quality_per_format(source: Path) -> None:
    write_config(source, "[images]\nquality = { webp = 75, jpeg = 90 }\n")
    images = load_config(source).images
    assert images.quality_for("webp") == 75
    assert images.quality_for("jpeg") == 90
    assert images.quality_for("avif") == DEFAULT_QUALITY["avif"]  # not given: the default
    assert images.quality_for("png") == DEFAULT_QUALITY["png"]


def test_quality_as_a_table_section(source: Path) -> None:
    write_config(source, "[images.quality]\nwebp = 60\n")
    assert load_config(source).images.quality_for("webp") == 60


@pytest.mark.parametrize(
    "formats", [["jpeg"], ["png"], ["webp", "jpeg"], ["avif", "webp", "jpeg"], ["webp", "png"]]
)
def test_formats_ending_with_jpeg_or_png_are_accepted(source: Path, formats: list[str]) -> None:
    write_config(source, f"[images]\nformats = {formats!r}\n".replace("'", '"'))
    assert load_config(source).images.formats == tuple(formats)


def test_only_the_settings_given_change(source: Path) -> None:
    write_config(source, '[gallery]\ntitle = "Trip"\n')
    config = load_config(source)
    assert config.gallery == dataclasses.replace(default_config(source).gallery, title="Trip")
    assert config.images == ImageSettings()


def test_empty_gallery_toml_gives_the_defaults(source: Path) -> None:
    path = write_config(source, "# nothing set\n")
    config = load_config(source)
    assert config.file == path
    assert config.gallery == default_config(source).gallery
    assert config.images == default_config(source).images


# --- Bad values: file, line, key and what is allowed ------------------------------------------

GALLERY_TEMPLATE = """\
# My gallery

[gallery]
# the key under test:
{line}

[images]
sizes = [640]
"""  # the key under test is on line 5

IMAGES_TEMPLATE = """\
[gallery]
title = "Trip"

[images]
sizes = [640, 1280]
thumbnail = [400, 300]
{line}
strip_gps = true
"""  # ... on line 7, unless it is sizes/thumbnail/strip_gps, which are then dropped


@pytest.mark.parametrize(
    ("key", "value", "allowed"),
    [
        ("name", '"my gallery"', "letters, digits, '.', '_' and '-'"),
        ("name", '"-trip"', "starting with a letter or digit"),
        ("name", '""', "letters, digits"),
        ("name", "3", "letters, digits"),
        ("title", "3", "a string"),
        ("title", "[]", "a string"),
        ("theme", '""', "a theme name"),
        ("theme", '"   "', "a theme name"),
        ("theme", "true", "a theme name"),
        ("description", "{ a = 1 }", "a string"),
        ("lang", '"english"', 'a language tag such as "en" or "pt-BR"'),
        ("lang", '"e"', "a language tag"),
        ("lang", "1", "a language tag"),
        ("base_url", '"istanbul"', 'a path with "/" at both ends'),
        ("base_url", '"/istanbul"', 'a path with "/" at both ends'),
        ("base_url", '"//evil.example/"', "an http(s) URL"),
        ("base_url", '"ftp://x.org/"', "an http(s) URL"),
        ("base_url", '"/a b/"', "such as"),
        ("base_url", '"/x/?q=1/"', "such as"),
    ],
)
def test_bad_gallery_value_names_file_line_key_and_what_is_allowed(
    source: Path, key: str, value: str, allowed: str
) -> None:
    path = write_config(source, GALLERY_TEMPLATE.format(line=f"{key} = {value}"))
    error = config_error(source)
    assert_points_at(error, path, 5)
    assert f"[gallery] {key} = " in str(error)
    assert allowed in str(error)


@pytest.mark.parametrize(
    ("key", "value", "allowed"),
    [
        ("sizes", "[]", "a non-empty list of whole numbers of pixels from 16 to 16384"),
        ("sizes", "[15]", "from 16 to 16384"),
        ("sizes", "[640, 16385]", "from 16 to 16384"),
        ("sizes", "[640.0]", "whole numbers"),
        ("sizes", "[true]", "whole numbers"),
        ("sizes", "640", "a non-empty list"),
        ("sizes", '["640"]', "whole numbers"),
        ("thumbnail", "[400]", "[width, height] in whole pixels from 16 to 4096"),
        ("thumbnail", "[400, 300, 3]", "[width, height]"),
        ("thumbnail", "[400, 8]", "from 16 to 4096"),
        ("thumbnail", "[4097, 300]", "from 16 to 4096"),
        ("thumbnail", "[400, false]", "[width, height]"),
        ("formats", '["jpeg", "webp"]', "the last one jpeg or png"),
        ("formats", '["avif"]', "the last one jpeg or png"),
        ("formats", '["webp", "webp", "jpeg"]', "without repeats"),
        ("formats", '["gif", "jpeg"]', "a list of webp, avif, jpeg, png"),
        ("formats", "[]", "a list of webp, avif, jpeg, png"),
        ("formats", '"jpeg"', "a list of"),
        ("quality", "0", "a whole number from 1 to 100"),
        ("quality", "101", "from 1 to 100"),
        ("quality", "85.5", "a whole number"),
        ("quality", "true", "a whole number"),
        ("quality", '"high"', "a whole number"),
        ("quality", "{ webp = 80, gif = 50 }", "a table of one per format"),
        ("quality", "{ webp = 0 }", "from 1 to 100"),
        ("strip_gps", '"no"', "true or false"),
        ("strip_gps", "0", "true or false"),
    ],
)
def test_bad_images_value_names_file_line_key_and_what_is_allowed(
    source: Path, key: str, value: str, allowed: str
) -> None:
    text = IMAGES_TEMPLATE.format(line=f"{key} = {value}")
    lines = text.splitlines()
    if key in ("sizes", "thumbnail", "strip_gps"):  # keep one definition of the key
        lines = [ln for i, ln in enumerate(lines, 1) if i == 7 or not ln.startswith(key)]
    path = write_config(source, "\n".join(lines) + "\n")
    line = next(i for i, ln in enumerate(lines, 1) if ln.startswith(f"{key} = {value}"))
    error = config_error(source)
    assert_points_at(error, path, line)
    assert f"[images] {key} = " in str(error)
    assert allowed in str(error)


def test_line_number_of_a_key_in_a_multiline_value(source: Path) -> None:
    path = write_config(
        source,
        '[gallery]\ntitle = """\nsizes = [1]\n"""\n\n[images]\nformats = ["webp",\n  "jpeg"]\n'
        "sizes = [\n  640,\n  1,\n]\n",
    )
    assert_points_at(config_error(source), path, 9)


def test_line_number_with_spaces_and_comments_around(source: Path) -> None:
    path = write_config(
        source,
        "  [ images ]   # the pictures\n\n   # sizes = [1]\n   strip_gps   =   'no'  # hmm\n",
    )
    error = config_error(source)
    assert_points_at(error, path, 4)
    assert "strip_gps" in str(error)


@pytest.mark.parametrize("quote", ['"', "'"])
def test_line_number_of_a_quoted_key(source: Path, quote: str) -> None:
    path = write_config(source, f"[images]\nformats = ['jpeg']\n{quote}sizes{quote} = [1]\n")
    assert_points_at(config_error(source), path, 3)


def test_line_number_of_a_dotted_key(source: Path) -> None:
    path = write_config(source, '# settings\ngallery.title = "Trip"\nimages.sizes = [1]\n')
    error = config_error(source)
    assert_points_at(error, path, 3)
    assert "[images] sizes" in str(error)


def test_line_number_of_a_key_in_an_inline_table(source: Path) -> None:
    path = write_config(source, '\n\ngallery = { title = "Trip" }\nimages = { sizes = [1] }\n')
    error = config_error(source)
    assert_points_at(error, path, 4)
    assert "[images] sizes" in str(error)


def test_unknown_key_names_file_line_and_the_allowed_keys(source: Path) -> None:
    path = write_config(source, '[gallery]\ntitle = "Trip"\n\n[images]\nsize = [640]\n')
    error = config_error(source)
    assert_points_at(error, path, 5)
    assert "unknown key 'size' in [images]" in str(error)
    assert "sizes, thumbnail, formats, quality, strip_gps" in str(error)


def test_unknown_key_in_gallery(source: Path) -> None:
    path = write_config(source, '[gallery]\ntitle = "Trip"\nauthor = "me"\n')
    error = config_error(source)
    assert_points_at(error, path, 3)
    assert "unknown key 'author' in [gallery]" in str(error)
    assert "name, title, theme, description, lang, base_url" in str(error)


def test_unknown_section_names_file_line_and_the_allowed_sections(source: Path) -> None:
    path = write_config(source, '[gallery]\ntitle = "Trip"\n\n[imagez]\nsizes = [640]\n')
    error = config_error(source)
    assert_points_at(error, path, 4)
    assert "unknown section [imagez]" in str(error)
    assert "[gallery], [images]" in str(error)


def test_unknown_sub_table_is_an_unknown_key(source: Path) -> None:
    path = write_config(source, "[images]\nsizes = [640]\n\n[images.extra]\na = 1\n")
    error = config_error(source)
    assert_points_at(error, path, 4)
    assert "unknown key 'extra' in [images]" in str(error)


def test_key_outside_any_section_is_rejected_with_its_line(source: Path) -> None:
    path = write_config(source, '# settings\n\ntitle = "Trip"\n[gallery]\nname = "x"\n')
    error = config_error(source)
    assert_points_at(error, path, 3)
    assert "'title'" in str(error)
    assert "[gallery], [images]" in str(error)


def test_section_that_is_not_a_table_names_its_line(source: Path) -> None:
    path = write_config(source, '\nimages = "big"\n')
    error = config_error(source)
    assert_points_at(error, path, 2)
    assert "[images]" in str(error)
    assert "table" in str(error)


def test_bad_toml_syntax_names_the_file_and_the_line(source: Path) -> None:
    path = write_config(source, '[gallery]\ntitle = "Trip"\nname = trip\n')
    error = config_error(source)
    assert error.file == path
    assert str(error).startswith(f"{path}")
    assert "not valid TOML" in str(error)
    assert "line 3" in str(error)


def test_unclosed_toml_names_the_file(source: Path) -> None:
    path = write_config(source, "[images]\nsizes = [640,\n")
    error = config_error(source)
    assert str(error).startswith(f"{path}: not valid TOML")


def test_settings_file_that_is_not_utf8_names_the_file(source: Path) -> None:
    path = source / "gallery.toml"
    path.write_bytes('[gallery]\ntitle = "Çay"\n'.encode("latin-1"))
    error = config_error(source)
    assert str(error) == f"{path}: the settings file is not UTF-8 text"


def test_missing_config_file_given_explicitly_names_the_file(tmp_path: Path, source: Path) -> None:
    missing = tmp_path / "nope.toml"
    error = config_error(source, missing)
    assert str(error).startswith(f"{missing}: cannot read the settings file")


# --- Theme paths -----------------------------------------------------------------------------


def test_theme_path_is_relative_to_the_config_file(tmp_path: Path, source: Path) -> None:
    settings = tmp_path / "settings"
    settings.mkdir()
    path = write_config(settings, '[gallery]\ntheme = "./mytheme"\n', name="site.toml")
    config = load_config(source, path)
    assert config.file == path
    assert config.gallery.theme == str((settings / "mytheme").resolve())


def test_theme_path_in_gallery_toml_is_relative_to_the_source(source: Path) -> None:
    write_config(source, '[gallery]\ntheme = "../themes/dark"\n')
    assert load_config(source).gallery.theme == str((source.parent / "themes/dark").resolve())


def test_theme_name_is_kept_as_a_name(source: Path) -> None:
    write_config(source, '[gallery]\ntheme = "minimal"\n')
    assert load_config(source).gallery.theme == "minimal"


def test_theme_given_on_the_command_line_replaces_the_configured_one(source: Path) -> None:
    write_config(source, '[gallery]\ntheme = "minimal"\ntitle = "Trip"\n')
    config = load_config(source).with_theme("dark")
    assert config.gallery.theme == "dark"
    assert config.gallery.title == "Trip"


# --- CLI ---------------------------------------------------------------------------------------


def test_build_with_a_bad_setting_exits_2_with_file_and_line(source: Path, out: Path) -> None:
    path = write_config(source, '[gallery]\ntitle = "Trip"\n\n[images]\nsizes = [1]\n')
    result = run_cli(["build", source, "-o", out, "-j", "1"])
    assert result.exit_code == 2
    assert f"{path}:5: [images] sizes = [1] is not allowed" in result.output
    assert "from 16 to 16384" in result.output
    assert "Traceback" not in result.output
    assert not (out / "manifest.json").exists()


def test_build_with_an_unknown_key_exits_2(source: Path, out: Path) -> None:
    path = write_config(source, "[images]\nstrip_exif = true\n")
    result = run_cli(["build", source, "-o", out, "-j", "1"])
    assert result.exit_code == 2
    assert f"{path}:2: unknown key 'strip_exif' in [images]" in result.output
    assert "Traceback" not in result.output


def test_build_with_bad_toml_exits_2(source: Path, out: Path) -> None:
    path = write_config(source, "[images\n")
    result = run_cli(["build", source, "-o", out, "-j", "1"])
    assert result.exit_code == 2
    assert f"{path}: not valid TOML" in result.output
    assert "Traceback" not in result.output


def test_build_reads_the_config_option(tmp_path: Path, source: Path, out: Path) -> None:
    path = write_config(tmp_path, '[images]\nformats = ["webp"]\n', name="other.toml")
    result = run_cli(["build", source, "-o", out, "--config", path, "-j", "1"])
    assert result.exit_code == 2
    assert f"{path}:2:" in result.output


def test_init_writes_a_gallery_toml_that_loads_back_to_the_defaults(tmp_path: Path) -> None:
    source = tmp_path / 'Trip "2024" \\ Çay'
    source.mkdir()
    result = run_cli(["init", source])
    assert result.exit_code == 0, result.output
    path = source / "gallery.toml"
    assert path.is_file()
    assert str(path) in result.output
    loaded = load_config(source)
    defaults = default_config(source)
    assert loaded.file == path
    assert loaded.gallery == defaults.gallery
    assert loaded.images == defaults.images
    assert loaded == Config(source=source, gallery=defaults.gallery, file=path)


def test_init_refuses_to_overwrite_without_force(source: Path) -> None:
    path = write_config(source, '[gallery]\ntitle = "Mine"\n')
    result = run_cli(["init", source])
    assert result.exit_code == 1
    assert "--force" in result.output
    assert "Traceback" not in result.output
    assert path.read_text(encoding="utf-8") == '[gallery]\ntitle = "Mine"\n'


def test_init_overwrites_with_force(source: Path) -> None:
    write_config(source, '[gallery]\ntitle = "Mine"\n')
    result = run_cli(["init", source, "--force"])
    assert result.exit_code == 0, result.output
    assert load_config(source).gallery == default_config(source).gallery


# --- [publish] --------------------------------------------------------------------------------

PUBLISH_TEMPLATE = '[gallery]\ntitle = "Trip"\n\n[publish]\n{line}\n'


def test_every_publish_key_is_read(source: Path) -> None:
    write_config(
        source,
        '[publish]\ntarget = "s3://my-bucket/trips/2024"\ncdn = "cloudfront"\n'
        'domain = "Photos.Example.com"\nregion = "eu-west-3"\nprofile = "work"\nwait = true\n',
    )
    publish = load_config(source).publish
    assert (publish.target, publish.cdn, publish.domain) == (
        "s3://my-bucket/trips/2024",
        "cloudfront",
        "photos.example.com",  # host names are case-insensitive: kept as the certificate has it
    )
    assert (publish.region, publish.profile, publish.wait) == ("eu-west-3", "work", True)
    assert publish.line("target") == 2 and publish.line("wait") == 7


def test_no_publish_table_sets_nothing(source: Path) -> None:
    write_config(source, '[gallery]\ntitle = "Trip"\n')
    publish = load_config(source).publish
    assert (publish.target, publish.cdn, publish.domain, publish.wait) == (None,) * 4
    assert load_config(source).gallery.base_url == ""


@pytest.mark.parametrize(
    ("key", "value", "allowed"),
    [
        ("target", "42", "a publish target"),
        ("target", '""', "a publish target"),
        ("target", '" s3://my-bucket"', "no spaces around it"),
        ("target", '"s3://my-bucket/../x"', "its prefix '../x' has a '..' segment"),
        ("target", '"s3://my-bucket/a//b"', "has an empty segment"),
        ("target", '"s3://my-bucket/x?versionId=1"', "no '?' or '#' part"),
        ("target", '"s3:///x"', "a bucket after 's3://'"),
        ("target", '"1s3://my-bucket"', "is not a URL scheme"),
        ("target", '"s3://AKIA:secret@my-bucket/x"', "no credentials in the URL"),
        ("cdn", '"akamai"', '"cloudfront" (HTTPS through a CloudFront distribution) or "none"'),
        ("cdn", "true", '"cloudfront"'),
        ("domain", '"https://photos.example.com"', "the host name alone"),
        ("domain", '"localhost"', "at least two"),
        ("domain", '"-photos.example.com"', "not at either end of a label"),
        ("domain", '"photos_x.example.com"', "lower-case letters, digits and '-'"),
        ("domain", '"10.0.0.1"', "a name, not an IP address"),
        ("domain", "1", 'a host name such as "photos.example.com"'),
        ("region", '"EU West"', 'a region name such as "eu-west-1"'),
        ("region", "3", "a region name"),
        ("profile", '""', "the name of a profile in ~/.aws/config"),
        ("profile", '" work"', "no spaces around it"),
        ("wait", '"yes"', "true or false"),
    ],
)
def test_bad_publish_value_names_file_line_key_and_what_is_allowed(
    source: Path, key: str, value: str, allowed: str
) -> None:
    path = write_config(source, PUBLISH_TEMPLATE.format(line=f"{key} = {value}"))
    error = config_error(source)
    assert_points_at(error, path, 5)
    assert f"[publish] {key} = " in str(error)
    assert allowed in str(error)


def test_unknown_publish_key_names_the_allowed_keys(source: Path) -> None:
    path = write_config(source, PUBLISH_TEMPLATE.format(line='bucket = "my-bucket"'))
    error = config_error(source)
    assert_points_at(error, path, 5)
    assert (
        "unknown key 'bucket' in [publish]; allowed: target, cdn, domain, region, profile, wait"
        in str(error)
    )


def test_publish_that_is_not_a_table_names_its_line(source: Path) -> None:
    path = write_config(source, 'publish = "s3://my-bucket"\n')
    error = config_error(source)
    assert_points_at(error, path, 1)
    assert "[publish] must be a table" in str(error)


def test_publish_is_an_allowed_section(source: Path) -> None:
    write_config(source, "[publsh]\n")
    assert "allowed: [gallery], [images], [publish]" in str(config_error(source))


def test_a_domain_without_cloudfront_is_refused(source: Path) -> None:
    path = write_config(source, '[publish]\ncdn = "none"\ndomain = "photos.example.com"\n')
    error = config_error(source)
    assert_points_at(error, path, 3)
    assert 'domain needs CloudFront, but cdn = "none" (line 2)' in str(error)
    assert 'set cdn = "cloudfront", or remove domain' in str(error)


@pytest.mark.parametrize(
    ("line", "key"), [('cdn = "cloudfront"', "cdn"), ('domain = "photos.example.com"', "domain")]
)
def test_a_file_target_has_no_cdn(source: Path, line: str, key: str) -> None:
    path = write_config(source, f'[publish]\ntarget = "file:///srv/www"\n{line}\n')
    error = config_error(source)
    assert_points_at(error, path, 3)
    assert f"[publish] {key} is for an S3 target, but target is a folder (line 2)" in str(error)
    assert "a file target has no CDN" in str(error)


def test_a_file_target_with_cdn_none_is_fine(source: Path) -> None:
    write_config(source, '[publish]\ntarget = "file:///srv/www"\ncdn = "none"\n')
    assert load_config(source).publish.cdn == "none"


# The base URL comes from [publish]: a gallery cannot be built for one place and published to
# another (its error.html links from where it was built for).


@pytest.mark.parametrize(
    ("publish", "base_url"),
    [
        ('target = "s3://my-bucket/trips/2024"', "/trips/2024/"),
        ('target = "s3://my-bucket/trips/2024/"', "/trips/2024/"),  # a trailing '/' is dropped
        ('target = "s3://my-bucket/my trips"', "/my%20trips/"),
        (
            'target = "s3://my-bucket/g"\ndomain = "photos.example.com"',
            "https://photos.example.com/g/",
        ),
        # no prefix: the gallery's name, where publish puts it
        (
            'target = "s3://my-bucket"\ndomain = "photos.example.com"',
            "https://photos.example.com/trip/",
        ),
        ('domain = "photos.example.com"', "https://photos.example.com/trip/"),
        ('target = "my-bucket"', ""),
        ('target = "s3://my-bucket"', ""),
        ('target = "file:///srv/www"', ""),
    ],
)
def test_base_url_comes_from_the_publish_target(source: Path, publish: str, base_url: str) -> None:
    write_config(source, f'[gallery]\nname = "trip"\n\n[publish]\n{publish}\n')
    gallery = load_config(source).gallery
    assert gallery.base_url == base_url
    if base_url.startswith("https://"):
        assert gallery.absolute_url == base_url  # link previews get absolute URLs
        assert gallery.base_path == base_url.removeprefix("https://photos.example.com")


def test_a_base_url_that_agrees_with_the_target_is_kept(source: Path) -> None:
    write_config(
        source,
        '[gallery]\nbase_url = "https://x.example.org/g/"\n\n[publish]\n'
        'target = "s3://my-bucket/g"\n',
    )
    assert load_config(source).gallery.base_url == "https://x.example.org/g/"


def test_a_base_url_that_disagrees_with_the_target_prefix_is_refused(source: Path) -> None:
    path = write_config(
        source, '[gallery]\nbase_url = "/trip/"\n\n[publish]\ntarget = "s3://my-bucket/g"\n'
    )
    error = config_error(source)
    assert_points_at(error, path, 2)  # at base_url, naming the target's line
    message = str(error)
    assert '[gallery] base_url = "/trip/" serves the gallery at /trip/' in message
    assert '[publish] target = "s3://my-bucket/g" (line 5) publishes it at /g/' in message
    assert "remove [gallery] base_url (the target's prefix gives it)" in message


def test_a_base_url_that_disagrees_with_the_domain_is_refused(source: Path) -> None:
    path = write_config(
        source,
        '[gallery]\nbase_url = "https://other.example.org/g/"\n\n[publish]\n'
        'target = "s3://my-bucket/g"\ncdn = "cloudfront"\ndomain = "photos.example.com"\n',
    )
    error = config_error(source)
    assert_points_at(error, path, 2)
    assert "names the host other.example.org, but [publish] domain" in str(error)
    assert '"photos.example.com" (line 7)' in str(error)


def test_build_with_a_bad_publish_setting_exits_2(source: Path, out: Path) -> None:
    path = write_config(source, '[publish]\ntarget = "s3://AKIA:hush@my-bucket/g"\n')
    result = run_cli(["build", source, "-o", out, "-j", "1"])
    assert result.exit_code == 2
    assert f"{path}:2: [publish] target = " in result.output
    assert "no credentials in the URL" in result.output
    assert "hush" not in result.output  # the secret a user put in the URL is never shown
    assert "Traceback" not in result.output
    assert not (out / "manifest.json").exists()


@pytest.mark.parametrize(
    ("target", "problem"),
    [
        # the publisher's own checks, the ones `gallery publish` makes before any request
        ("s3://My_Bucket/x", "'My_Bucket' is not a valid S3 bucket name: 3 to 63 lower-case"),
        ("My_Bucket", "'My_Bucket' is not a valid S3 bucket name"),
        ("s3://xn--bucket/x", "a prefix or suffix S3 reserves"),
        ("file://relative/folder", "is not a file URL; write file:///absolute/path"),
    ],
)
def test_build_checks_the_target_as_its_publisher_does(
    source: Path, out: Path, target: str, problem: str
) -> None:
    assert load_config(source).publish.target is None
    path = write_config(source, f'[gallery]\ntitle = "T"\n[publish]\ntarget = "{target}"\n')
    assert load_config(source).publish.target == target  # the shape is fine; the publisher…
    result = run_cli(["build", source, "-o", out, "-j", "1"])
    assert result.exit_code == 2
    assert result.output.startswith(
        f'Error: {path}:4: [publish] target = "{target}" is not allowed; '
    )
    assert problem in result.output
    assert "Traceback" not in result.output
    assert not (out / "manifest.json").exists()


def test_build_with_a_target_no_plugin_publishes_to_exits_2(source: Path, out: Path) -> None:
    path = write_config(source, '[gallery]\ntitle = "T"\n[publish]\ntarget = "gcs://b/g"\n')
    result = run_cli(["build", source, "-o", out, "-j", "1"])
    assert result.exit_code == 2
    assert f'{path}:4: [publish] target = "gcs://b/g" is not allowed' in result.output
    assert "no installed plugin publishes to 'gcs://' (installed: file://, s3://)" in result.output
    assert not (out / "manifest.json").exists()
