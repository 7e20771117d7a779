"""libvips images to PIL images and back, for the image steps (which are written for Pillow)
and for the few conversions done with Pillow (CMYK through LittleCMS, formats libvips cannot
read)."""

from __future__ import annotations

import pyvips
from PIL import Image

_MODES = {1: "L", 2: "LA", 3: "RGB", 4: "RGBA"}
_INTERPRETATIONS = {"L": "b-w", "LA": "b-w", "RGB": "srgb", "RGBA": "srgb", "CMYK": "cmyk"}


def to_pil(image: pyvips.Image, mode: str | None = None) -> Image.Image:
    """``image`` (8 bits per band) as a new PIL image, in ``mode`` (default: by its bands)."""
    mode = mode or _MODES[image.bands]
    return Image.frombytes(mode, (image.width, image.height), image.write_to_memory())


def from_pil(im: Image.Image) -> pyvips.Image:
    """The PIL image ``im`` (L, LA, RGB, RGBA or CMYK) as a libvips image in memory."""
    bands = len(im.getbands())
    image = pyvips.Image.new_from_memory(im.tobytes(), im.width, im.height, bands, "uchar")
    return image.copy(interpretation=_INTERPRETATIONS[im.mode])
