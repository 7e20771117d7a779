"""The built site's contract: layout, manifest, links, escaping, ordering, reproducibility."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pictures
import pytest
from conftest import links_of, read_manifest, site_files

from gallery_builder import hookimpl
from gallery_builder.keylength import KEY_LIMIT
from gallery_builder.model import IMMUTABLE, REVALIDATE, DerivativeSpec, Page
from gallery_builder.slugs import MAX_SLUG, name_hash
from gallery_builder.testing import build_gallery, run_cli

DERIVATIVE_NAME = re.compile(
    r"^(?:[a-z0-9-]+/)*[a-z0-9-]+\.(?:thumb|\d+)\.[0-9a-f]{8}\.(?:jpg|webp|avif|png)$"
)
LONG_WORDS = "the long walk along the river "  # 30 characters


@pytest.fixture
def trip(source: Path) -> Path:
    """A small nested tree of real pictures, as a camera would leave them."""
    pictures.jpeg(source / "cover.jpg", taken="2024:05:01 09:00:00")
    pictures.jpeg(source / "Istanbul 2024" / "Galata.jpg", (480, 320),
                  taken="2024:05:17 10:42:00", make="Canon", model="Canon EOS R5",
                  description="Galata at dawn")  # fmt: skip
    pictures.jpeg(source / "Istanbul 2024" / "Bosphorus" / "Ferry.jpg", orientation=6,
                  taken="2024:05:18 12:00:00")  # fmt: skip
    pictures.webp(source / "Butterflies" / "wing.webp")
    pictures.png(source / "Butterflies" / "Monarch.PNG")
    return source


def test_build_writes_the_site_layout(trip: Path, out: Path) -> None:
    result = run_cli(["build", trip, "-o", out])
    assert result.exit_code == 0, result.output
    files = site_files(out)
    for page in [
        "index.html",
        "error.html",
        "manifest.json",
        "istanbul-2024/index.html",
        "istanbul-2024/bosphorus/index.html",
        "butterflies/index.html",
    ]:
        assert page in files
    assert any(re.fullmatch(r"_static/style\.[0-9a-f]{8}\.css", f) for f in files)
    images = [f for f in files if not f.endswith((".html", ".json")) and "_static/" not in f]
    assert images and all(DERIVATIVE_NAME.match(f) for f in images), images
    assert any(f.startswith("istanbul-2024/bosphorus/ferry.thumb.") for f in images)
    assert (out / ".gallery" / "state.sqlite").is_file()
    assert "5 pictures in 4 albums" in result.output


def test_manifest_lists_every_file_with_md5_size_type_and_cache_control(
    trip: Path, out: Path
) -> None:
    build_gallery(trip, out)
    manifest = read_manifest(out)
    files = site_files(out)
    del files["manifest.json"]
    assert set(manifest["files"]) == set(files)
    for path, data in files.items():
        entry = manifest["files"][path]
        assert entry["md5"] == hashlib.md5(data).hexdigest(), path
        assert entry["size"] == len(data), path
        if path.endswith(".html"):
            assert entry["content_type"] == "text/html; charset=utf-8"
            assert entry["cache_control"] == REVALIDATE
        else:
            assert entry["cache_control"] == IMMUTABLE, path
    assert manifest["files"]["butterflies/index.html"]["content_type"].startswith("text/html")
    types = {e["content_type"] for e in manifest["files"].values()}
    assert {"image/webp", "image/jpeg", "text/css; charset=utf-8"} <= types


def test_manifest_describes_every_picture(trip: Path, out: Path) -> None:
    build_gallery(trip, out)
    manifest = read_manifest(out)
    assert manifest["format"] == "gallery-builder/1"
    assert manifest["name"] == "photos"  # the source folder's name
    assert manifest["title"] == "photos"
    images = {i["source"]: i for i in manifest["images"]}
    assert set(images) == {
        "cover.jpg",
        "Istanbul 2024/Galata.jpg",
        "Istanbul 2024/Bosphorus/Ferry.jpg",
        "Butterflies/wing.webp",
        "Butterflies/Monarch.PNG",
    }
    galata = images["Istanbul 2024/Galata.jpg"]
    assert galata["md5"] == hashlib.md5((trip / galata["source"]).read_bytes()).hexdigest()
    assert (galata["album"], galata["width"], galata["height"]) == ("istanbul-2024", 480, 320)
    assert galata["taken"] == "2024-05-17T10:42:00"
    assert galata["camera"] == "Canon EOS R5"
    assert galata["caption"] == "Galata at dawn"
    ferry = images["Istanbul 2024/Bosphorus/Ferry.jpg"]
    # stored 240x320 with orientation 6: displayed 320x240
    assert (ferry["width"], ferry["height"]) == (320, 240)
    for image in images.values():
        assert image["derivatives"]["thumbnail"] == image["derivatives"]["thumb.jpeg"]
        for key, path in image["derivatives"].items():
            assert path in manifest["files"], (key, path)
            assert (out / path).is_file()


def local_links(out: Path) -> list[tuple[str, str]]:
    found = []
    for page in out.rglob("*.html"):
        rel = page.relative_to(out).as_posix()
        found += [(rel, url) for url in links_of(page.read_text(encoding="utf-8"))]
    return found


def resolve(out: Path, page: str, url: str) -> Path | None:
    """The file a relative URL on ``page`` names, as S3 website hosting would serve it."""
    parts = urlsplit(url)
    if parts.scheme or parts.netloc or url.startswith(("#", "/")):
        return None
    target = (out / page).parent / unquote(parts.path)
    if url.endswith("/") or parts.path in ("", "."):
        target = target / "index.html"
    return target


def test_every_local_link_resolves_to_a_file_in_the_site(trip: Path, out: Path) -> None:
    build_gallery(trip, out)
    links = local_links(out)
    assert len(links) > 20
    for page, url in links:
        target = resolve(out, page, url)
        if target is not None:
            assert target.resolve().is_file(), f"{page}: {url} does not resolve"
            assert out.resolve() in target.resolve().parents


def test_pages_link_to_every_picture_and_sub_album(trip: Path, out: Path) -> None:
    build_gallery(trip, out)
    root = (out / "index.html").read_text()
    assert 'href="istanbul-2024/"' in root and 'href="butterflies/"' in root
    album = (out / "istanbul-2024" / "index.html").read_text()
    assert 'href="bosphorus/"' in album
    assert re.search(r'src="galata\.thumb\.[0-9a-f]{8}\.jpg"', album)
    assert re.search(r'srcset="galata\.thumb\.[0-9a-f]{8}\.webp \d+w, galata\.640\.', album)
    assert 'href="../"' in album  # breadcrumb home


def test_names_and_captions_with_markup_are_escaped(source: Path, out: Path) -> None:
    evil = '<img src=x onerror=alert(1)> & "co"'
    pictures.jpeg(source / evil / "<b>bold</b>.jpg", description="caption <script>x</script>")
    pictures.jpeg(source / evil / "plain.jpg")
    (source / evil / "plain.txt").write_text("Tom & <i>Jerry</i>", encoding="utf-8")
    build_gallery(source, out)
    html = "".join(p.read_text() for p in out.rglob("*.html"))
    assert "<script>x</script>" not in html and "<i>Jerry</i>" not in html
    assert "<img src=x onerror" not in html and "<b>bold</b>" not in html
    assert "caption &lt;script&gt;x&lt;/script&gt;" in html
    assert "Tom &amp; &lt;i&gt;Jerry&lt;/i&gt;" in html
    assert "&lt;img src=x onerror=alert(1)&gt; &amp; &#34;co&#34;" in html
    manifest = read_manifest(out)
    assert {i["caption"] for i in manifest["images"]} == {
        "caption <script>x</script>",
        "Tom & <i>Jerry</i>",
    }
    assert [a["path"] for a in manifest["albums"][0]["albums"]] == ["img-src-x-onerror-alert-1-co"]


def test_unicode_and_spaces_in_names_become_ascii_slugs(source: Path, out: Path) -> None:
    pictures.jpeg(source / "Çay & Simit" / "çay & simit.jpg")
    pictures.jpeg(source / "Çay & Simit" / "Straße 1.jpg")
    pictures.jpeg(source / "Çay & Simit" / "📷.jpg")
    build_gallery(source, out)
    slugs = sorted(p.name.split(".")[0] for p in (out / "cay-simit").glob("*.thumb.*.jpg"))
    assert slugs == ["cay-simit", f"picture--{name_hash('📷.jpg')}", "strasse-1"]
    page = (out / "cay-simit" / "index.html").read_text()
    assert "<h1>Çay &amp; Simit</h1>" in page


def test_same_slug_in_one_album_gets_a_suffix(source: Path, out: Path) -> None:
    pictures.jpeg(source / "img.jpg")
    pictures.png(source / "img.png")
    pictures.jpeg(source / "IMG.JPG", (200, 100))
    build_gallery(source, out)
    slugs = {i["source"]: i["slug"] for i in read_manifest(out)["images"]}
    assert slugs == {
        "img.jpg": "img",  # its name already is the slug
        "img.png": f"img--{name_hash('img.png')}",
        "IMG.JPG": f"img--{name_hash('IMG.JPG')}",
    }


def published_paths(out: Path) -> list[str]:
    manifest = read_manifest(out)
    return [*manifest["files"], "manifest.json"]


def assert_fits(out: Path, prefix: str = "photos") -> None:
    """Every file of the site has a name a file system takes, and a key S3 takes."""
    for path in published_paths(out):
        assert all(len(part.encode()) <= 255 for part in path.split("/")), path
        assert len(f"{prefix}/{path}".encode()) <= KEY_LIMIT, path
        assert (out / path).is_file()


@pytest.mark.parametrize(
    "stem",
    [
        "a" * 240,  # one word: cut where it must be
        LONG_WORDS * 8,
        "é" * 120,  # 240 bytes of UTF-8 that slug to 120 letters
        "東京タワー" * 16,  # 240 bytes, nothing to slug
        "😀" * 60,
        "Çay bahçesi ve simit " * 10,
    ],
)
def test_a_picture_with_a_long_name_builds(source: Path, out: Path, stem: str) -> None:
    name = f"{stem.strip()}.jpg"
    assert len(name.encode()) > 224
    pictures.jpeg(source / name)
    pictures.jpeg(source / "short.jpg")
    result = run_cli(["build", source, "-o", out])
    assert result.exit_code == 0, result.output
    images = {i["source"]: i for i in read_manifest(out)["images"]}
    assert set(images) == {name, "short.jpg"}
    assert len(images[name]["slug"]) <= MAX_SLUG
    assert images[name]["slug"].endswith(name_hash(name))  # the whole name in a few letters
    assert images["short.jpg"]["slug"] == "short"
    assert_fits(out)


@pytest.mark.parametrize("name", ["o" * 251 + ".jpg", "東" * 83 + ".jpg", "Ç" * 125 + ".jpg"])
def test_an_original_with_a_name_near_the_limit_is_published(
    source: Path, out: Path, name: str
) -> None:
    assert 250 <= len(name.encode()) <= 255
    pictures.jpeg(source / "Trip" / name)
    (source / "gallery.toml").write_text("[images]\noriginals = true\nstrip_gps = false\n")
    result = run_cli(["build", source, "-o", out])
    assert result.exit_code == 0, result.output
    assert (out / "Trip" / name).read_bytes() == (source / "Trip" / name).read_bytes()
    assert f"Trip/{name}" in read_manifest(out)["files"]
    assert not list(out.rglob("*.tmp"))
    assert_fits(out)
    target = out.parent / "www"
    published = run_cli(["publish", target.as_uri(), "--site", out])
    assert published.exit_code == 0, published.output
    assert (target / "photos" / "Trip" / name).read_bytes() == (out / "Trip" / name).read_bytes()


def test_long_names_sharing_a_start_stay_apart(source: Path, out: Path) -> None:
    names = [f"{LONG_WORDS * 6}{end}.jpg" for end in ("in May", "in June", "in May (2)")]
    for name in names:
        pictures.jpeg(source / name)
        pictures.jpeg(source / name[:-4] / "inside.jpg")  # and folders of those names
    build_gallery(source, out)
    images = read_manifest(out)["images"]
    assert len({i["slug"] for i in images if "/" not in i["source"]}) == 3
    assert len({i["album"] for i in images if "/" in i["source"]}) == 3
    for image in images:
        named = image["album"] or image["slug"]  # the long name is the folder's or the file's
        assert named.startswith("the-long-walk-along-the-river-the-long"), named
    assert_fits(out)


@pytest.mark.parametrize("folder", ["x" * 250, "ç" * 127, "日本" * 42, f"{LONG_WORDS * 8}/é" * 3])
def test_pictures_in_folders_with_long_names_build(source: Path, out: Path, folder: str) -> None:
    pictures.jpeg(source / folder / ("b" * 240 + ".jpg"))
    pictures.png(source / folder / "c.png")
    result = build_gallery(source, out)
    assert result.skipped == [] and result.pictures == 2
    albums = {i["album"] for i in read_manifest(out)["images"]}
    assert len(albums) == 1
    assert all(0 < len(part) <= MAX_SLUG for part in albums.pop().split("/"))
    assert_fits(out)


def deep_folder(levels: int, name: str = LONG_WORDS * 3) -> str:
    """``levels`` nested folders of 90-character names (slugged: 89 each, plus a '/')."""
    return "/".join(f"{name}{level}" for level in range(levels))


def test_a_picture_whose_keys_would_pass_the_s3_limit_is_left_out_and_named(
    source: Path, out: Path
) -> None:
    deep = deep_folder(12)
    pictures.jpeg(source / deep / "too deep.jpg")
    pictures.jpeg(source / deep_folder(8) / "deep enough.jpg")
    pictures.jpeg(source / "top.jpg")
    result = run_cli(["build", source, "-o", out])
    assert result.exit_code == 0, result.output
    assert f"skipped {deep}/too deep.jpg: the keys of its images would be up to" in result.output
    assert "S3 takes at most 1024" in result.output
    sources = {i["source"] for i in read_manifest(out)["images"]}
    assert sources == {f"{deep_folder(8)}/deep enough.jpg", "top.jpg"}
    assert_fits(out)
    again = run_cli(["build", source, "-o", out])  # a build with nothing to do says it again
    assert f"skipped {deep}/too deep.jpg: the keys" in again.output
    strict = run_cli(["build", source, "-o", out, "--strict"])
    assert strict.exit_code != 0 and "Error: 1 picture(s) skipped" in strict.output
    assert "Traceback" not in strict.output


def test_the_publish_prefix_counts_towards_the_key_limit(source: Path, out: Path) -> None:
    pictures.jpeg(source / deep_folder(10) / "p.jpg")
    assert build_gallery(source, out).pictures == 1  # under "photos/": fits
    name = "g" * 200
    (source / "gallery.toml").write_text(f'[gallery]\nname = "{name}"\n')
    result = build_gallery(source, out)
    assert result.pictures == 0
    assert [relpath for relpath, _ in result.skipped] == [f"{deep_folder(10)}/p.jpg"]
    assert f"with the publish prefix '{name}/'" in result.skipped[0][1]
    assert_fits(out, name)
    assert not (out / deep_folder(10)).exists()


def test_an_original_whose_key_would_pass_the_s3_limit_is_left_out(source: Path, out: Path) -> None:
    # folders with nothing to slug make short album paths, but the original keeps its name
    deep = "/".join("東京タワー" * 16 + str(level) for level in range(5))
    pictures.jpeg(source / deep / "p.jpg")
    pictures.jpeg(source / "kept.jpg")
    assert build_gallery(source, out).pictures == 2
    (source / "gallery.toml").write_text("[images]\noriginals = true\nstrip_gps = false\n")
    result = build_gallery(source, out)
    assert [i["source"] for i in read_manifest(out)["images"]] == ["kept.jpg"]
    assert result.skipped[0][0] == f"{deep}/p.jpg"
    assert "the key of its original would be" in result.skipped[0][1]
    assert "originals = false" in result.skipped[0][1]
    assert_fits(out)


class LongVariant:
    """Asks for one more image of each picture, with the longest variant allowed."""

    @hookimpl
    def gallery_derivative_specs(self, source, metadata, config):
        return [DerivativeSpec("v" * 32, "resize", (40, 40), "avif", 60)]


def test_no_key_passes_the_limit_whatever_the_variant(source: Path, out: Path) -> None:
    # names of every length around the limit, ten folders deep
    for length in range(1, 100, 3):
        pictures.png(source / deep_folder(10) / f"{'n' * length}.png", (48, 36))
    result = build_gallery(source, out, LongVariant())
    assert 0 < result.pictures < 33 and len(result.skipped) == 33 - result.pictures
    assert any(i["derivatives"].get(f"{'v' * 32}.avif") for i in read_manifest(out)["images"])
    assert_fits(out)


def test_a_variant_longer_than_32_characters_is_an_error(source: Path, out: Path) -> None:
    class TooLong:
        @hookimpl
        def gallery_derivative_specs(self, source, metadata, config):
            return [DerivativeSpec("v" * 33, "resize", (40, 40), "jpeg", 60)]

    pictures.jpeg(source / "a.jpg")
    result = run_cli(["build", source, "-o", out], TooLong())
    assert result.exit_code != 0
    assert "Error: a derivative spec's variant must be" in result.output
    assert "at most 32" in result.output and "Traceback" not in result.output


def test_a_page_whose_key_would_pass_the_limit_fails_the_build_clearly(
    source: Path, out: Path
) -> None:
    deep = "/".join(["p" * 200] * 5) + "/about-this-gallery.html"  # 1035 bytes with "photos/"

    class DeepPage:
        @hookimpl
        def gallery_pages(self, site, config):
            return [Page(deep, "error.html")]

    pictures.jpeg(source / "a.jpg")
    result = run_cli(["build", source, "-o", out], DeepPage())
    assert result.exit_code != 0 and "Traceback" not in result.output
    assert "Error: the key of pppp" in result.output
    assert "would be 1035 bytes" in result.output and "S3 takes at most 1024" in result.output
    assert not (out / deep).exists()
    # and a gallery name so long that no page fits
    (source / "gallery.toml").write_text(f'[gallery]\nname = "{"g" * 1020}"\n')
    result = run_cli(["build", source, "-o", out])
    assert result.exit_code != 0 and "Traceback" not in result.output
    assert "Error: the key of " in result.output and "[gallery] name" in result.output


def test_albums_are_sorted_by_date_taken_then_name(source: Path, out: Path) -> None:
    pictures.jpeg(source / "b.jpg", taken="2024:01:01 00:00:00")
    pictures.jpeg(source / "a.jpg", taken="2024:03:01 00:00:00")
    pictures.jpeg(source / "c.jpg")  # undated: last
    pictures.jpeg(source / "d.jpg", taken="2024:01:01 00:00:00")  # same date as b: by name
    pictures.jpeg(source / "Zebra" / "z.jpg", taken="2020:01:01 00:00:00")
    pictures.jpeg(source / "Apple" / "a.jpg", taken="2023:01:01 00:00:00")
    pictures.jpeg(source / "Mango" / "m.jpg")
    build_gallery(source, out)
    root = read_manifest(out)["albums"][0]
    assert root["pictures"] == ["b.jpg", "d.jpg", "a.jpg", "c.jpg"]
    assert [a["title"] for a in root["albums"]] == ["Zebra", "Apple", "Mango"]
    order = [i["source"] for i in read_manifest(out)["images"]]
    assert order[:4] == ["b.jpg", "d.jpg", "a.jpg", "c.jpg"]


def test_each_album_has_a_cover(source: Path, out: Path) -> None:
    pictures.jpeg(source / "Trip" / "Day 1" / "late.jpg", taken="2024:01:02 00:00:00")
    pictures.jpeg(source / "Trip" / "Day 1" / "early.jpg", taken="2024:01:01 00:00:00")
    build_gallery(source, out)
    root = read_manifest(out)["albums"][0]
    trip = root["albums"][0]
    assert trip["pictures"] == []  # only a sub-album
    assert trip["cover"] == root["cover"] == "Trip/Day 1/early.jpg"
    assert trip["albums"][0]["cover"] == "Trip/Day 1/early.jpg"
    root_page = (out / "index.html").read_text()
    assert re.search(r'src="trip/day-1/early\.thumb\.[0-9a-f]{8}\.jpg"', root_page)


def test_folders_without_pictures_are_not_albums(source: Path, out: Path) -> None:
    pictures.jpeg(source / "Kept" / "a.jpg")
    (source / "Empty").mkdir()
    (source / "Notes only").mkdir()
    (source / "Notes only" / "notes.txt").write_text("hello")
    (source / "Deep" / "Deeper").mkdir(parents=True)
    build_gallery(source, out)
    assert [a["title"] for a in read_manifest(out)["albums"][0]["albums"]] == ["Kept"]
    assert not (out / "empty").exists() and not (out / "notes-only").exists()
    assert not (out / "deep").exists()


def test_two_builds_of_the_same_input_are_byte_identical(source: Path, tmp_path: Path) -> None:
    (source / "gallery.toml").write_text(
        '[images]\nformats = ["avif", "webp", "png"]\nsizes = [160, 320]\n'
    )
    pictures.jpeg(source / "a.jpg", orientation=8, gps=True, taken="2024:05:01 09:00:00")
    pictures.rgba_png(source / "b" / "rgba.png")
    pictures.animated_gif(source / "b" / "anim.gif")
    pictures.tiff16(source / "c" / "deep.tif")
    first = build_gallery(source, tmp_path / "one")
    second = build_gallery(source, tmp_path / "two")
    assert first.pictures == second.pictures == 4
    assert site_files(tmp_path / "one") == site_files(tmp_path / "two")


def test_process_pool_build_equals_in_process_build(trip: Path, tmp_path: Path) -> None:
    build_gallery(trip, tmp_path / "serial", jobs=1)
    build_gallery(trip, tmp_path / "pool", jobs=2)
    assert site_files(tmp_path / "serial") == site_files(tmp_path / "pool")


def test_an_empty_source_builds_an_empty_gallery_with_a_warning(source: Path, out: Path) -> None:
    result = run_cli(["build", source, "-o", out])
    assert result.exit_code == 0
    assert "no pictures found" in result.output
    assert read_manifest(out)["images"] == []
    assert (out / "index.html").is_file() and (out / "error.html").is_file()


def test_output_folder_inside_the_source_is_not_scanned(trip: Path) -> None:
    out = trip / "_site"
    build_gallery(trip, out)
    again = build_gallery(trip, out)
    assert again.pictures == 5 and again.written == []
    assert not any(i["source"].startswith("_site") for i in read_manifest(out)["images"])


def test_pictures_nobody_makes_images_of_are_reported(trip: Path, out: Path) -> None:
    result = run_cli(["--block", "images", "build", trip, "-o", out])
    assert result.exit_code == 0
    assert "skipped cover.jpg: no plugin asked for any image of it" in result.stderr
    assert "0 pictures in 0 albums: 0 built, 0 reused, 5 skipped" in result.stdout


def test_the_stages_do_not_import_the_pipeline_that_calls_them() -> None:
    # BuildResult lives in build_result.py, so the stages fill it in without a circle
    package = Path(__file__).resolve().parent.parent / "gallery_builder"
    for stage in ("derivatives.py", "keylength.py"):
        assert "gallery_builder.pipeline" not in (package / stage).read_text(), stage
    from gallery_builder import build_result, pipeline

    assert pipeline.BuildResult is build_result.BuildResult
    assert pipeline.StrictFailure is build_result.StrictFailure
