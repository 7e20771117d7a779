"""Resizing in libvips to exactly the sizes and regions Pillow's worker makes, in the same
order from the same sources (gallery_builder.resize_plan, shared by both processors), not
libvips' thumbnail(), which rounds sizes its own way (a 1280x853 photo at 640 is 640x427
there, 640x426 here) and crops and enlarges small pictures to the box instead of keeping them
smaller with its aspect ratio."""

from __future__ import annotations

from collections.abc import Iterator

import pyvips

from gallery_builder.resize_plan import Resize

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


def resized(decoded: pyvips.Image, plan: tuple[Resize, ...]) -> Iterator[pyvips.Image]:
    """The image of each step of ``plan``, made from ``decoded`` (the upright picture) or
    from an earlier step's image, in order, each in memory; each kept only while a later step
    still starts from it."""
    last_use = {r.source: i for i, r in enumerate(plan) if r.source is not None}
    images: dict[int, pyvips.Image] = {}
    for index, step in enumerate(plan):
        source = decoded if step.source is None else images[step.source]
        image = resize(source, step.size, step.box) if step.resample else source
        if index in last_use:
            images[index] = image
        yield image
        for done in [k for k in images if last_use[k] <= index]:
            del images[done]
