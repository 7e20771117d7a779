"""Image step functions for the tests of the ``gallery_image_steps`` hook: a module the image
workers import by name (``"step_functions:red_rectangle"``), as they would a plugin's."""

from __future__ import annotations

from PIL import Image, ImageDraw

from gallery_builder.model import DerivativeSpec

GREEN = (0, 255, 0)


def red_rectangle(image: Image.Image, spec: DerivativeSpec, *, fraction: float = 0.25):
    """Fill the bottom-right corner (``fraction`` of each side; blue in the marker pattern)
    with red."""
    w, h = image.size
    ImageDraw.Draw(image).rectangle(
        (int(w * (1 - fraction)), int(h * (1 - fraction)), w - 1, h - 1), fill=(255, 0, 0)
    )
    return image


def stamp_top_left(image: Image.Image, spec: DerivativeSpec, *, colour=GREEN):
    """A square of ``colour`` in the top-left corner of the image as the step sees it; and
    refuse an image whose top-left is not red (the marker pattern, upright)."""
    r, g, b = image.convert("RGB").getpixel((image.width // 4, image.height // 4))
    if not (r > 200 and g < 60 and b < 60):
        raise AssertionError(f"the step sees the picture turned: {(r, g, b)} at its top-left")
    side = max(2, min(image.size) // 8)
    ImageDraw.Draw(image).rectangle((0, 0, side - 1, side - 1), fill=tuple(colour))
    return image


def grey(image: Image.Image, spec: DerivativeSpec):
    """A new image in another mode ("L"): the core converts it back for the encoder."""
    return image.convert("L")


def fail(image: Image.Image, spec: DerivativeSpec, *, key: str = "text"):
    """Raise as a buggy plugin would."""
    return {}[key]


def no_image(image: Image.Image, spec: DerivativeSpec):
    """Forget to return the image."""
    ImageDraw.Draw(image).point((0, 0), fill=(0, 0, 0))


class Unpicklable(Exception):
    """An exception that cannot travel back from a worker (it needs two arguments)."""

    def __init__(self, what: str, why: str) -> None:
        super().__init__(f"{what}: {why}")


def fail_unpicklable(image: Image.Image, spec: DerivativeSpec):
    raise Unpicklable("font", "not found")


def fail_on_thumbnails(image: Image.Image, spec: DerivativeSpec):
    """Fail on the thumbnails only: the larger images, made first, have been written."""
    if spec.kind == "thumbnail":
        raise OSError("no thumbnails today")
    return image


def require_rgb(image: Image.Image, spec: DerivativeSpec):
    """Refuse an image that is not 8-bit RGB or RGBA, or not of the derivative's size."""
    if image.mode not in ("RGB", "RGBA"):
        raise AssertionError(f"the step was given a {image.mode} image")
    if image.size[0] > spec.box[0] or image.size[1] > spec.box[1]:
        raise AssertionError(f"the step was given {image.size} for a box of {spec.box}")
    return red_rectangle(image, spec)
