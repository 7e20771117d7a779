"""Resizing in libvips to exactly the size and region Pillow's worker makes (the shared
geometry of gallery_builder.imaging), not libvips' thumbnail(), which rounds sizes its own way
(a 1280x853 photo at 640 is 640x427 there, 640x426 here) and crops small pictures to the box
instead of keeping its aspect ratio."""

from __future__ import annotations

import pyvips

#: Pillow's worker resizes with LANCZOS and reducing_gap=3.0: libvips' lanczos3 with the same
#: gap (an integer box shrink first, while at least 3x the target size remains)
KERNEL = "lanczos3"
GAP = 3.0

Box = tuple[float, float, float, float]


def pixel_region(box: Box, width: int, height: int) -> tuple[int, int, int, int]:
    """``box`` (fractional, in an image of ``width``×``height``) as whole pixels: left, top,
    width, height, inside the image."""
    left, top, right, bottom = box
    x0 = min(max(0, round(left)), width - 1)
    y0 = min(max(0, round(top)), height - 1)
    crop_w = min(max(1, round(right - left)), width - x0)
    crop_h = min(max(1, round(bottom - top)), height - y0)
    return x0, y0, crop_w, crop_h


def resize(image: pyvips.Image, size: tuple[int, int], box: Box) -> pyvips.Image:
    """The region ``box`` of ``image`` at exactly ``size``, in memory (saved once per format).

    Alpha is premultiplied while resizing (as Pillow does), so transparent pixels' colours do
    not bleed into the edges."""
    x0, y0, crop_w, crop_h = pixel_region(box, image.width, image.height)
    if (x0, y0, crop_w, crop_h) != (0, 0, image.width, image.height):
        image = image.crop(x0, y0, crop_w, crop_h)
    out_w, out_h = size
    if (crop_w, crop_h) != (out_w, out_h):
        alpha = image.bands == 4
        if alpha:
            image = image.premultiply()
        image = image.resize(out_w / crop_w, vscale=out_h / crop_h, kernel=KERNEL, gap=GAP)
        if alpha:
            image = image.unpremultiply()
        if image.format != "uchar":
            image = image.rint().cast("uchar")
        if (image.width, image.height) != (out_w, out_h):  # libvips rounded the other way
            image = image.gravity("centre", out_w, out_h, extend="copy")
    return image.copy_memory()


def scaled_box(box: Box, ratio: float) -> Box:
    """``box`` (in displayed pixels) in an image decoded at ``ratio`` of that size."""
    left, top, right, bottom = box
    return (left * ratio, top * ratio, right * ratio, bottom * ratio)
