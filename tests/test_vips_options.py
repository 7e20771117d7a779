"""The encoder options of a DerivativeSpec (Pillow's names, gallery_builder.encoder_settings)
as the vips processor applies them: each mapped to libvips' own and seen in the bytes."""

from __future__ import annotations

import pictures
import pytest
import pyvips
from gallery_builder.plugins.vips import runtime
from gallery_builder.plugins.vips.encode import encode, saver_arguments

from gallery_builder.encoder_settings import EFFORTS
from gallery_builder.model import DerivativeSpec

#: a JPEG's start-of-frame markers: baseline, progressive
BASELINE, PROGRESSIVE = b"\xff\xc0", b"\xff\xc2"


@pytest.fixture(scope="module")
def photo(tmp_path_factory: pytest.TempPathFactory) -> pyvips.Image:
    runtime.prepare(1)
    path = pictures.detailed_photo(tmp_path_factory.mktemp("options") / "p.jpg", (480, 320))
    return pyvips.Image.new_from_file(str(path)).copy_memory()


def spec(fmt: str, **options: object) -> DerivativeSpec:
    return DerivativeSpec(
        "480", "resize", (480, 480), fmt, 0 if fmt == "png" else 80, options=options
    )


def made(image: pyvips.Image, fmt: str, **options: object) -> bytes:
    return encode(image, spec(fmt, **options), icc=None, exif=None)


@pytest.mark.parametrize(
    ("fmt", "options", "expected"),
    [
        ("jpeg", {"optimize": True, "progressive": True}, {"optimize_coding": True,
                                                           "interlace": True}),
        ("jpeg", {"optimize": False, "progressive": False}, {"optimize_coding": False,
                                                             "interlace": False}),
        ("webp", {"method": 0}, {"effort": 0}),
        ("webp", {"method": 6}, {"effort": 6}),
        ("avif", {"speed": 10}, {"effort": 0}),  # libheif's aom speed 9, its fastest
        ("avif", {"speed": 6}, {"effort": 3}),  # speed 6, as Pillow's (libavif's)
        ("avif", {"speed": 0}, {"effort": 9}),
        ("png", {"compress_level": 1}, {"compression": 1}),
        ("png", {"compress_level": 9}, {"compression": 9}),
    ],
)  # fmt: skip
def test_each_option_maps_to_libvips_own(fmt: str, options: dict, expected: dict) -> None:
    _, arguments = saver_arguments(spec(fmt, **options))
    assert expected.items() <= arguments.items()


@pytest.mark.parametrize("effort", sorted(EFFORTS))
def test_a_spec_without_options_gets_the_balanced_effort(effort: str) -> None:
    balanced = saver_arguments(spec("webp"))[1]
    preset = saver_arguments(spec("webp", **EFFORTS["balanced"]["webp"]))[1]
    assert balanced == preset
    chosen = saver_arguments(spec("webp", **EFFORTS[effort]["webp"]))[1]
    assert chosen["effort"] == EFFORTS[effort]["webp"]["method"]


def test_progressive_and_baseline_jpeg_are_what_they_say(photo: pyvips.Image) -> None:
    progressive = made(photo, "jpeg", optimize=True, progressive=True)
    baseline = made(photo, "jpeg", optimize=True, progressive=False)
    assert PROGRESSIVE in progressive[:2000] and BASELINE not in progressive[:2000]
    assert BASELINE in baseline[:2000] and PROGRESSIVE not in baseline[:2000]


def test_optimised_huffman_tables_make_a_smaller_jpeg(photo: pyvips.Image) -> None:
    plain = made(photo, "jpeg", optimize=False, progressive=False)
    optimised = made(photo, "jpeg", optimize=True, progressive=False)
    assert len(optimised) < len(plain)


@pytest.mark.parametrize(
    ("fmt", "fast", "slow"),
    [
        ("webp", {"method": 0}, {"method": 6}),
        ("png", {"compress_level": 1}, {"compress_level": 9}),
        ("avif", {"speed": 10}, {"speed": 4}),
    ],
)
def test_more_effort_makes_a_smaller_file(
    photo: pyvips.Image, fmt: str, fast: dict, slow: dict
) -> None:
    assert len(made(photo, fmt, **slow)) < len(made(photo, fmt, **fast))
