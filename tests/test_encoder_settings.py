"""``[images] effort`` and the per-format encoder overrides: read and checked (errors name
the file, the line, the key and what is allowed), carried by each derivative spec, applied by
the encoder, and part of each image's cache key."""

from __future__ import annotations

from pathlib import Path

import pictures
import pytest
from conftest import read_manifest
from PIL import Image

from gallery_builder.config import ConfigError, ImageSettings, load_config
from gallery_builder.encoder_settings import EFFORTS, effective_options
from gallery_builder.settings_reference import SETTINGS
from gallery_builder.testing import build_gallery


def settings(source: Path, text: str) -> Path:
    path = source / "gallery.toml"
    path.write_text(text, encoding="utf-8")
    return path


def error_of(source: Path, text: str) -> tuple[str, Path]:
    path = settings(source, text)
    with pytest.raises(ConfigError) as caught:
        load_config(source)
    return str(caught.value), path


def test_the_default_is_the_balanced_preset() -> None:
    images = ImageSettings()
    assert images.effort == "balanced"
    for fmt, options in EFFORTS["balanced"].items():
        assert dict(images.encoder_options(fmt)) == options


def test_a_spec_without_some_options_gets_the_balanced_ones() -> None:
    assert effective_options("webp", ()) == EFFORTS["balanced"]["webp"]
    assert effective_options("jpeg", (("progressive", True),)) == {
        "optimize": EFFORTS["balanced"]["jpeg"]["optimize"],
        "progressive": True,
    }


def test_an_effort_and_overrides_over_it(source: Path) -> None:
    settings(
        source,
        '[images]\neffort = "small"\n\n[images.webp]\nmethod = 4\n\n'
        "[images.jpeg]\nprogressive = false\n",
    )
    images = load_config(source).images
    assert images.encoder_options("webp") == (("method", 4),)
    assert images.encoder_options("jpeg") == (("optimize", True), ("progressive", False))
    assert images.encoder_options("avif") == (("speed", EFFORTS["small"]["avif"]["speed"]),)


def test_an_inline_table_works_too(source: Path) -> None:
    settings(source, "[images]\npng = { compress_level = 9 }\n")
    assert load_config(source).images.encoder_options("png") == (("compress_level", 9),)


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        (
            '[images]\neffort = "quick"\n',
            2,
            '[images] effort = "quick" is not allowed; expected "fast" or "balanced" or "small"',
        ),
        (
            "[images.jpeg]\nprogressive = true\noptimize = 3\n",
            3,
            "[images.jpeg] optimize = 3 is not allowed; expected true or false",
        ),
        (
            "[images.webp]\nmethod = 7\n",
            2,
            "[images.webp] method = 7 is not allowed; expected a whole number from 0 to 6",
        ),
        (
            "[images.avif]\nspeed = true\n",
            2,
            "[images.avif] speed = true is not allowed; expected a whole number from 0 to 10",
        ),
        (
            "[images.png]\n\nlevel = 3\n",
            3,
            "unknown key 'level' in [images.png]; allowed: compress_level",
        ),
        (
            "[images]\njpeg = 3\n",
            2,
            "[images] jpeg = 3 is not allowed; expected a table of optimize, progressive",
        ),
    ],
)
def test_a_bad_encoder_setting_names_file_line_key_and_what_is_allowed(
    source: Path, text: str, line: int, message: str
) -> None:
    error, path = error_of(source, text)
    assert error.startswith(f"{path}:{line}: {message}"), error


def test_the_reference_states_the_balanced_presets_own_values() -> None:
    for fmt, options in EFFORTS["balanced"].items():
        default = SETTINGS["images"][fmt].default or ""
        for name, value in options.items():
            shown = str(value).lower() if isinstance(value, bool) else str(value)
            assert f"{name} = {shown}" in default, (fmt, name)


@pytest.fixture
def photo(source: Path) -> Path:
    pictures.jpeg(source / "a.jpg", size=(900, 600))
    return source


def _derivatives(out: Path) -> dict[str, str]:
    return read_manifest(out)["images"][0]["derivatives"]


def test_the_options_reach_the_encoder(photo: Path, out: Path) -> None:
    settings(photo, '[images]\nformats = ["webp", "png"]\neffort = "fast"\n')
    build_gallery(photo, out)
    fast = {k: (out / p).stat().st_size for k, p in _derivatives(out).items()}
    settings(photo, '[images]\nformats = ["webp", "png"]\neffort = "small"\n')
    build_gallery(photo, out)
    small = {k: (out / p).stat().st_size for k, p in _derivatives(out).items()}
    assert small["640.png"] < fast["640.png"]  # compress_level 9 against 1
    assert small["640.webp"] != fast["640.webp"]  # method 6 against 0


@pytest.mark.parametrize(("progressive", "expected"), [("true", True), ("false", False)])
def test_a_progressive_jpeg_is_written_progressive(
    photo: Path, out: Path, progressive: str, expected: bool
) -> None:
    settings(photo, f'[images]\nformats = ["jpeg"]\n\n[images.jpeg]\nprogressive = {progressive}\n')
    build_gallery(photo, out)
    with Image.open(out / _derivatives(out)["640.jpeg"]) as im:
        assert bool(im.info.get("progressive")) is expected


def test_an_option_is_in_the_cache_key_of_its_formats_images_only(photo: Path, out: Path) -> None:
    build_gallery(photo, out)
    before = _derivatives(out)
    settings(photo, "[images.webp]\nmethod = 5\n")
    result = build_gallery(photo, out)
    after = _derivatives(out)
    assert result.made == 1
    for key in before:
        if key.endswith(".webp"):
            assert after[key] != before[key]
        else:
            assert after[key] == before[key]
