"""Decoding a picture with libvips into the one upright, 8-bit sRGB (or sRGB and alpha) image
in memory that every derivative of it is made from.

The same site contract as the Pillow worker (gallery_builder.imaging), where libvips differs:
it has no decompression-bomb limit (Pillow's is applied), accepts truncated JPEGs unless told
to fail (``fail_on``), never applies the EXIF orientation by itself (the orientation Pillow
reads is applied, so both agree on damaged EXIF), decodes every CMYK JPEG as Adobe's inverted
ink (the ones without Adobe's marker are inverted back, as viewers read them) and gives grey
pictures one band (made three, as Pillow's worker does, so they stay grey in every format).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import pyvips
from gallery_builder.plugins.vips.bridge import from_pil, to_pil
from PIL import Image

from gallery_builder import cmyk, imaging

#: where a libvips loader stops: at the first error (a truncated or corrupt image), not at
#: warnings (which Pillow ignores too, e.g. extraneous bytes before a JPEG marker)
FAIL_ON = "error"
#: the transposes (as libvips operations) that show a picture stored with each EXIF
#: orientation upright: Pillow's in gallery_builder.imaging (ROTATE_270 is libvips' rot90)
UPRIGHT = {
    2: ("fliphor",),
    3: ("rot180",),
    4: ("flipver",),
    5: ("rot90", "fliphor"),
    6: ("rot90",),
    7: ("rot270", "fliphor"),
    8: ("rot270",),
}
_TRANSPOSED = (5, 6, 7, 8)
_COLOURSPACES = ("lab", "labs", "labq", "lch", "cmc", "xyz", "yxy", "scrgb", "hsv")


@dataclass(frozen=True)
class Decoded:
    """A picture decoded once, upright, with what its derivatives carry."""

    #: 8 bits, 3 (sRGB) or 4 (and alpha) bands, no metadata; in memory, or (``streamed``)
    #: still the loader's sequential pipeline, which can be read once: :func:`readable`
    image: pyvips.Image
    shown: tuple[int, int]  #: the size it is displayed at, before any shrink-on-load
    icc: bytes | None  #: the ICC profile to embed (None after a CMYK conversion to sRGB)
    exif: Image.Exif  #: Pillow's reading of its EXIF: what decides what is published
    exif_block: bytes | None  #: libvips' own EXIF block, None when its loader found none
    streamed: bool = False  #: ``image`` is not in memory yet: one reader pulls it from the file


def check_pixels(width: int, height: int) -> None:
    """Pillow's decompression-bomb limit (``Image.MAX_IMAGE_PIXELS``, None for none): over
    twice the limit raises ``DecompressionBombError``; over the limit warns
    ``DecompressionBombWarning`` (which the worker turns into an error, as Pillow's does)."""
    limit = Image.MAX_IMAGE_PIXELS
    if limit is None:
        return
    pixels = width * height
    if pixels > 2 * limit:
        raise Image.DecompressionBombError(
            f"Image size ({pixels} pixels) exceeds limit of {2 * limit} pixels, "
            "could be decompression bomb DOS attack."
        )
    if pixels > limit:
        warnings.warn(
            f"Image size ({pixels} pixels) exceeds limit of {limit} pixels, "
            "could be decompression bomb DOS attack.",
            Image.DecompressionBombWarning,
            stacklevel=2,
        )


def find_loader(path: str) -> str | None:
    """The libvips loader for the file at ``path`` ("VipsForeignLoadJpegFile", …), or None
    when libvips cannot read it (a BMP: pyvips-binary has no ImageMagick)."""
    pointer = pyvips.vips_lib.vips_foreign_find_load(path.encode())
    if pointer == pyvips.ffi.NULL:
        pyvips.vips_lib.vips_error_clear()  # else it would be told with the next error
        return None
    return pyvips.ffi.string(pointer).decode()


def decode(path: str, scale: int) -> Decoded:
    """The picture at ``path``, decoded once (a JPEG at 1/``scale``, the main process's
    choice), upright. Raises pyvips.Error, OSError, … for a picture that cannot be used."""
    loader = find_loader(path)
    if loader is None:
        return decode_with_pillow(path)
    try:
        header = pyvips.Image.new_from_file(path, access="sequential", fail_on=FAIL_ON)
    except pyvips.Error:
        return decode_with_pillow(path)  # a header libvips cannot read and Pillow could
    check_pixels(header.width, header.height)  # before a pixel is decoded
    with Image.open(path) as im:  # the header only: what the metadata reading saw
        exif = imaging.read_exif(im)
        adobe = "adobe" in im.info
    orientation = imaging.orientation_of(exif)
    stored_w, stored_h = header.width, header.height
    shown = (stored_h, stored_w) if orientation in _TRANSPOSED else (stored_w, stored_h)
    jpeg = loader.startswith("VipsForeignLoadJpeg")
    image = header
    if scale > 1 and jpeg:  # shrink-on-load: libjpeg's DCT scaling, as Pillow's draft()
        image = pyvips.Image.new_from_file(path, access="sequential", fail_on=FAIL_ON, shrink=scale)
    icc = _blob(image, "icc-profile-data")
    block = _blob(image, "exif-data")
    if image.interpretation == "cmyk":
        image = _cmyk_to_srgb(eight_bit(image), icc, invert=jpeg and not adobe)
        icc = None  # now sRGB, which browsers assume
    else:
        image = rgb_bands(eight_bit(image))
    if orientation not in UPRIGHT and image.bands == 3:
        # left streaming: a single resize reads it line by line from the file, without the
        # whole picture in memory (the alpha check and the transposes read all of it)
        return Decoded(image, shown, icc, exif, block, streamed=True)
    image = image.copy_memory()  # the one decode
    if orientation in UPRIGHT:
        for operation in UPRIGHT[orientation]:
            image = getattr(image, operation)()
        image = image.copy_memory()
    return Decoded(without_opaque_alpha(image), shown, icc, exif, block)


def readable(decoded: Decoded, readers: int) -> pyvips.Image:
    """The decoded image for ``readers`` reads: the streaming pipeline itself for one
    (libvips then decodes and resizes in one pass, as its ``thumbnail`` does), else in
    memory (a sequential load cannot be read twice)."""
    if decoded.streamed and readers != 1:
        return decoded.image.copy_memory()
    return decoded.image


def decode_with_pillow(path: str) -> Decoded:
    """A picture libvips cannot read, decoded by Pillow exactly as Pillow's worker does."""
    with Image.open(path) as im:
        exif = imaging.read_exif(im)
        orientation = imaging.orientation_of(exif)
        im.load()
        icc = im.info.get("icc_profile")
        pixels = cmyk.uninvert(im)
        upright = pixels.transpose(imaging._UPRIGHT[orientation]) if orientation > 1 else pixels
        base, icc = imaging._normalise_mode(upright, icc)
    return Decoded(from_pil(base).copy_memory(), base.size, icc, exif, None)


def eight_bit(image: pyvips.Image) -> pyvips.Image:
    """``image`` at 8 bits per band, as Pillow's worker reduces deeper ones: 16- and 32-bit
    integers divided by 256, floats clipped to 0-255."""
    if image.interpretation in _COLOURSPACES or image.coding != "none":
        image = image.colourspace("srgb")
    if image.format == "uchar":
        return image
    if image.format in ("float", "double", "complex", "dpcomplex"):
        return image.cast("uchar")
    if image.format == "ushort":
        return (image >> 8).cast("uchar")
    return (image / 256).cast("uchar")  # clipped to 0-255


def rgb_bands(image: pyvips.Image) -> pyvips.Image:
    """``image`` as sRGB (3 bands) or sRGB and alpha (4): a grey picture's one band thrice,
    so grey stays grey, exactly, and an image step sees RGB whatever the source."""
    if image.bands == 1:
        image = image.bandjoin([image, image])
    elif image.bands == 2:  # grey and alpha
        grey = image[0]
        image = grey.bandjoin([grey, grey, image[1]])
    elif image.bands > 4:
        image = image[:4]
    return image.copy(interpretation="srgb")


def without_opaque_alpha(image: pyvips.Image) -> pyvips.Image:
    """An alpha channel that hides nothing (a GIF's, a palette without a transparent entry)
    only costs bytes: dropped, as Pillow's worker does."""
    if image.bands == 4 and image[3].min() == 255:
        return image[:3].copy_memory()
    return image


def _blob(image: pyvips.Image, name: str) -> bytes | None:
    return bytes(image.get(name)) if image.get_typeof(name) else None


def _cmyk_to_srgb(ink: pyvips.Image, icc: bytes | None, *, invert: bool) -> pyvips.Image:
    """The CMYK ink ``ink`` in sRGB, converted exactly as Pillow's worker does
    (gallery_builder.cmyk: through its profile, else the standard one, by LittleCMS)."""
    ink = ink[:4]
    if invert:  # a CMYK JPEG without Adobe's marker holds the ink itself
        ink = ink.invert()
    return from_pil(cmyk.cmyk_to_srgb(to_pil(ink, "CMYK"), icc))
