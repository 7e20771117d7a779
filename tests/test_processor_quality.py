"""Quality parity of the image processors: each one's 1280 px image of a detailed photo,
built in every format (sizes 1280 and 2048: the 1280 made from the 2048, as with the default
settings), against a reference resize of the same photo (Pillow's LANCZOS, straight from the
full decode), by SSIM and PSNR (tests/image_quality.py); and each processor's file sizes at
the same quality setting against Pillow's, within stated margins.

The thresholds are set where a visible difference fails them: an image shifted by two pixels
or blurred by one fails each (shown below, with the same encoders), while the two processors
agree to a few thousandths of SSIM. Measured here (the 2400x1600 photo, libvips 8.18,
Pillow 13), Pillow / libvips: lossless PNG 0.998 / 49.7 dB and 0.998 / 48.1 dB; JPEG q85
0.965 / 31.4 dB, WebP q80 0.971 / 32.0 dB, AVIF q60 0.970 / 31.9 dB for both; the blurred
image about 0.8 / 24 dB, the shifted one about 0.2 / 16 dB. Sizes, libvips against Pillow:
JPEG and WebP within 0.1%, AVIF 1% smaller, PNG 3% larger (zlib through libspng, with its
own filter choice).
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pictures
import pytest
from conftest import read_manifest
from image_quality import psnr, ssim
from PIL import Image, ImageFilter

from gallery_builder import imaging
from gallery_builder.model import DerivativeSpec
from gallery_builder.testing import build_gallery

PROCESSORS = ("pillow", "vips")
FORMATS = ("png", "jpeg", "webp", "avif")
#: the least SSIM and PSNR (dB) of a good 1280 px image against the reference, per format:
#: lossless, the resize alone is measured; lossy, the resize and the encoder at its default
#: quality (config.DEFAULT_QUALITY)
FLOOR = {
    "png": (0.99, 42.0),
    "jpeg": (0.95, 29.5),
    "webp": (0.95, 29.5),
    "avif": (0.95, 29.5),
}
#: how far libvips' scores (SSIM, PSNR dB) may be from Pillow's for the same format and
#: quality: PNG's are both far above the floor, where a dB more or less is invisible
SCORE_MARGIN = {
    "png": (0.005, 2.0),
    "jpeg": (0.005, 0.5),
    "webp": (0.005, 0.5),
    "avif": (0.005, 0.5),
}
#: how far libvips' file sizes may be from Pillow's at the same quality: lossy formats
#: within 5%, PNG (lossless: only zlib's and the filters' choices differ) within 10%
SIZE_MARGIN = {"jpeg": 0.05, "webp": 0.05, "avif": 0.05, "png": 0.10}
QUALITY = {"jpeg": 85, "webp": 80, "avif": 60, "png": 0}


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Path]]:
    """The 1280 px image of each format, by processor, from one build each of one photo."""
    root = tmp_path_factory.mktemp("quality")
    source = root / "photos"
    pictures.detailed_photo(source / "photo.jpg", (2400, 1600))
    found: dict[str, dict[str, Path]] = {}
    for processor in PROCESSORS:
        (source / "gallery.toml").write_text(
            f'[images]\nprocessor = "{processor}"\nsizes = [1280, 2048]\n'
            'formats = ["avif", "webp", "png", "jpeg"]\n',
            encoding="utf-8",
        )
        result = build_gallery(source, root / processor)
        assert result.skipped == [] and result.made == 1
        (image,) = read_manifest(root / processor)["images"]
        made = image["derivatives"]
        found[processor] = {fmt: root / processor / made[f"1280.{fmt}"] for fmt in FORMATS}
    found["source"] = {"jpeg": source / "photo.jpg"}
    return found


@pytest.fixture(scope="module")
def reference(built: dict[str, dict[str, Path]]) -> Image.Image:
    """The photo resized to 1280 px in one step from the full decode."""
    with Image.open(built["source"]["jpeg"]) as decoded:
        decoded.load()
        return decoded.resize((1280, 853), Image.Resampling.LANCZOS)


def scores(image: Image.Image, reference: Image.Image) -> tuple[float, float]:
    return ssim(image, reference), psnr(image, reference)


def good(image: Image.Image, reference: Image.Image, fmt: str) -> bool:
    """Whether ``image`` is within the format's floor (:data:`FLOOR`) of ``reference``."""
    least_ssim, least_psnr = FLOOR[fmt]
    got_ssim, got_psnr = scores(image, reference)
    return got_ssim >= least_ssim and got_psnr >= least_psnr


def opened(path: Path) -> Image.Image:
    with Image.open(path) as im:
        im.load()
        return im.convert("RGB")


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("processor", PROCESSORS)
def test_the_1280_image_matches_a_reference_resize(
    built: dict, reference: Image.Image, processor: str, fmt: str
) -> None:
    image = opened(built[processor][fmt])
    assert image.size == reference.size
    assert good(image, reference, fmt), scores(image, reference)


def shifted(image: Image.Image, pixels: int = 2) -> Image.Image:
    return Image.fromarray(np.roll(np.asarray(image), pixels, axis=1))


def blurred(image: Image.Image) -> Image.Image:
    return image.filter(ImageFilter.GaussianBlur(1))


def encoded(image: Image.Image, fmt: str) -> Image.Image:
    """``image`` through Pillow's encoder for ``fmt`` at its default quality."""
    spec = DerivativeSpec("1280", "resize", (1280, 1280), fmt, QUALITY[fmt])
    return Image.open(io.BytesIO(imaging.encode(image, spec, icc=None, exif=None)))


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("wrong", [shifted, blurred], ids=["shifted-2px", "blurred-1px"])
def test_a_visibly_wrong_image_fails_the_thresholds(
    built: dict, reference: Image.Image, fmt: str, wrong
) -> None:
    right = opened(built["pillow"]["png"])  # the good resize, then made wrong, then encoded
    assert good(encoded(right, fmt), reference, fmt)  # the encoder alone passes
    bad = encoded(wrong(right), fmt)
    assert not good(bad, reference, fmt), scores(bad, reference)


@pytest.mark.parametrize("fmt", FORMATS)
def test_both_processors_score_the_same(built: dict, reference: Image.Image, fmt: str) -> None:
    by_pillow = scores(opened(built["pillow"][fmt]), reference)
    by_vips = scores(opened(built["vips"][fmt]), reference)
    ssim_margin, psnr_margin = SCORE_MARGIN[fmt]
    assert abs(by_vips[0] - by_pillow[0]) <= ssim_margin, (by_vips, by_pillow)
    assert abs(by_vips[1] - by_pillow[1]) <= psnr_margin, (by_vips, by_pillow)


@pytest.mark.parametrize("fmt", FORMATS)
def test_file_sizes_at_the_same_quality_are_within_the_margin(built: dict, fmt: str) -> None:
    by_pillow = built["pillow"][fmt].stat().st_size
    by_vips = built["vips"][fmt].stat().st_size
    assert abs(by_vips / by_pillow - 1) <= SIZE_MARGIN[fmt], (by_vips, by_pillow)
