"""Encoding a libvips image as a derivative: the encoder options of a DerivativeSpec (Pillow's
names, gallery_builder.encoder_settings) mapped to libvips' (``optimize`` -> jpegsave
``optimize_coding``, ``progressive`` -> ``interlace``, ``method`` -> webpsave ``effort``,
``speed`` -> heifsave ``effort``, ``compress_level`` -> pngsave ``compression``), and only the
metadata Pillow's worker writes (ICC and EXIF: never XMP, IPTC or the rest)."""

from __future__ import annotations

from typing import Any

import pyvips
from gallery_builder.plugins.vips.exif import set_exif

from gallery_builder.encoder_settings import DEFAULT_EFFORT, EFFORTS
from gallery_builder.model import DerivativeSpec

WHITE = [255, 255, 255]
#: libvips' metadata fields a derivative may carry; the rest is removed (XMP, IPTC, …)
_METADATA_PREFIXES = ("exif-", "icc-profile-data", "xmp-data", "iptc-data", "orientation")


def encoder_options(spec: DerivativeSpec) -> dict[str, Any]:
    """The spec's encoder options over the "balanced" effort's (as Pillow's worker)."""
    return {**EFFORTS[DEFAULT_EFFORT][spec.format], **dict(spec.options)}


def saver_arguments(spec: DerivativeSpec) -> tuple[str, dict[str, Any]]:
    """The libvips saver for ``spec.format`` and its arguments (keep excepted)."""
    options = encoder_options(spec)
    quality = spec.quality
    if spec.format == "jpeg":
        return "jpegsave_buffer", {
            "Q": quality,
            "optimize_coding": bool(options["optimize"]),
            "interlace": bool(options["progressive"]),
            "subsample_mode": "on",  # 4:2:0 at every quality, as Pillow
        }
    if spec.format == "webp":
        return "webpsave_buffer", {"Q": quality, "effort": int(options["method"])}
    if spec.format == "avif":
        # libheif's aom speed is 9 - effort; Pillow's (libavif's) speed 0-10 (10 = 9 here)
        effort = 9 - min(9, max(0, int(options["speed"])))
        return "heifsave_buffer", {
            "Q": quality,
            "compression": "av1",
            "effort": effort,
            "subsample_mode": "on",
            "bitdepth": 8,
        }
    if spec.format == "png":
        return "pngsave_buffer", {"compression": int(options["compress_level"]), "filter": "all"}
    raise ValueError(f"no libvips encoder for {spec.format!r}")


def encode(
    image: pyvips.Image,
    spec: DerivativeSpec,
    *,
    icc: bytes | None,
    exif: bytes | None,
) -> bytes:
    """The bytes of ``image`` (3 or 4 bands, 8 bits) as ``spec.format``, carrying ``icc`` and
    the ``exif`` block (less what :func:`exif.unpublished` leaves out) and nothing else;
    reproducible for the same input."""
    if spec.format == "jpeg" and image.bands == 4:
        image = flatten_on_white(image)
    image = image.copy()  # its own metadata, never the shared buffer's
    for name in image.get_fields():
        if name.startswith(_METADATA_PREFIXES):
            image.remove(name)
    if icc:
        image.set_type(pyvips.GValue.blob_type, "icc-profile-data", icc)
    if exif:
        set_exif(image, exif, strip_gps=spec.strip_gps)
    keep = [name for name, wanted in (("icc", icc), ("exif", exif)) if wanted]
    saver, arguments = saver_arguments(spec)
    return getattr(image, saver)(keep="|".join(keep) or "none", **arguments)


def flatten_on_white(image: pyvips.Image) -> pyvips.Image:
    """``image`` without its alpha, on white: libvips' jpegsave would flatten it on black."""
    flat = image.flatten(background=WHITE)
    return flat if flat.format == "uchar" else flat.rint().cast("uchar")
