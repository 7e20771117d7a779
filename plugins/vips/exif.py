"""The EXIF of a derivative made by libvips: Pillow decides whether there is any to publish
(as in Pillow's worker: none when it is damaged, unreadable or too long), libvips writes it.

Setting a libvips image's ``exif-data`` block parses it into ``exif-ifdN-*`` fields, and a
saver rebuilds the block it writes from those fields, dropping every tag whose field is gone:
so the GPS position is removed field by field (``exif-ifd3-*``) and the rest is kept, while
editing the block alone would change nothing. A picture whose loader gives libvips no EXIF
block (a TIFF, whose tags Pillow reads as EXIF) gets Pillow's.
"""

from __future__ import annotations

import pyvips
from PIL import ExifTags, Image

from gallery_builder import imaging

EXIF_BLOB = "exif-data"
#: the fields libvips parses the orientation into (the pixels are already upright)
ORIENTATION_FIELDS = frozenset({"exif-ifd0-Orientation", "orientation"})
#: the fields of a TIFF's layout (imaging.TIFF_LAYOUT_TAGS), by libvips' names
LAYOUT_FIELDS = frozenset(
    f"exif-ifd0-{ExifTags.TAGS[tag]}" for tag in imaging.TIFF_LAYOUT_TAGS if tag in ExifTags.TAGS
)
GPS_PREFIX = "exif-ifd3-"


def published_block(exif: Image.Exif, vips_block: bytes | None, *, strip_gps: bool) -> bytes | None:
    """The EXIF block a web image starts from: libvips' own (``vips_block``) or, when its
    loader found none, Pillow's; None when Pillow's worker would publish no EXIF."""
    if imaging._exif_bytes(exif, strip_gps=strip_gps) is None:
        return None
    return vips_block or imaging._exif_bytes(exif, strip_gps=False)


def unpublished(name: str, *, strip_gps: bool) -> bool:
    """Whether libvips' field ``name`` is left out of a web image: the orientation, a TIFF's
    layout and, with ``strip_gps``, the GPS position."""
    return (
        name in ORIENTATION_FIELDS
        or name in LAYOUT_FIELDS
        or (strip_gps and name.startswith(GPS_PREFIX))
    )


def set_exif(image: pyvips.Image, block: bytes, *, strip_gps: bool) -> None:
    """Give ``image`` (a private copy, without EXIF) the EXIF ``block``, less what is not
    published (:func:`unpublished`), removed field by field."""
    image.set_type(pyvips.GValue.blob_type, EXIF_BLOB, block)  # parsed into fields now
    for name in image.get_fields():
        if unpublished(name, strip_gps=strip_gps):
            image.remove(name)
