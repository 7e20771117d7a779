"""Whether a picture file holds a GPS position: what keeps an original, published byte for byte,
out of the site under ``[images] strip_gps`` (docs/building.md#originals).

Read from the header, without decoding pixels, and erring towards yes: metadata that cannot be
parsed but may hold a position counts as one.

Where a position is looked for: EXIF; XMP; in a PNG, every eXIf and text chunk, before or after
the pixels, ImageMagick's hex-encoded "Raw profile type …" ones (exif, xmp, APP1, …) decoded.
"""

from __future__ import annotations

import re
import struct
import warnings
import zlib
from typing import IO

from PIL import Image

#: the EXIF tag of the GPS IFD
GPS_IFD = 0x8825
#: GPSVersionID: the one GPS tag that says nothing of where (some cameras write it alone when
#: location is off). Any other, as strip_gps sees it, may place the picture: a latitude, a
#: destination, an area's name, an altitude with a time
GPS_VERSION = 0
#: the name of an XMP property that may place the picture, after its namespace prefix and in
#: any case, as with EXIF: any GPS property but the version (exif:GPSLatitude, exif:GPSAltitude,
#: DJI's drone-dji:GpsLatitude and drone-dji:GpsLongtitude, so spelt), or any latitude or
#: longitude
_XMP_NAME = rb"(?:gps(?!versionid\b)[\w.-]*|[\w.-]*(?:latitude|longitude|longtitude)[\w.-]*)"
#: such a property, as an element (``<exif:GPSLatitude>``) or an attribute
#: (``exif:GPSLatitude="…"``); not a namespace declaration, nor words of a caption
XMP_POSITION = re.compile(rb"[<\s](?!xmlns:)[\w.-]+:" + _XMP_NAME + rb"\s*[=/>\s]", re.I)
#: a PNG text chunk named like such a property (``exif:GPSLatitude``, as some tools write them)
PNG_POSITION_KEYWORD = re.compile(rb"[\w.-]+:" + _XMP_NAME, re.I)
#: the keyword of ImageMagick's PNG text chunk holding a profile (exif, xmp, APP1, iptc, …)
RAW_PROFILE = b"raw profile type "
#: its text: a newline, the profile's name, its length, then its bytes in hex, in lines
RAW_PROFILE_TEXT = re.compile(rb"\s*\S+\s+\d+(?:\s+([0-9a-f\s]*))?", re.I)
#: a PNG metadata chunk larger than this is not read, and counts as holding a position
MAX_PNG_METADATA = 16 * 1024 * 1024


def has_gps_position(im: Image.Image) -> bool:
    """Whether the opened picture ``im`` may hold a GPS position: in its EXIF, a GPS IFD with
    any tag but GPSVersionID (what ``strip_gps`` removes from the images), or one that cannot
    be read; in its XMP, any GPS property but the version, or a latitude or longitude
    (:data:`XMP_POSITION`). For a PNG, every metadata chunk is looked at too: those after the
    pixels, which Pillow reads only when decoding, and ImageMagick's hex-encoded raw profiles,
    which it does not decode (but for EXIF before the pixels)."""
    if im.format == "PNG" and _png_metadata_has_gps(im.fp):
        return True
    try:
        exif = Image.Image.getexif(im) if im.format == "PNG" else im.getexif()
    except Exception:  # damaged EXIF fails in many ways (SyntaxError, struct.error, …)
        return _raw_exif_has_gps(im.info.get("exif") or b"")
    return _exif_has_gps(exif) or _xmp_has_gps(
        im.info.get("xmp") or im.info.get("XML:com.adobe.xmp")
    )


def file_has_gps_position(path: str) -> bool:
    """:func:`has_gps_position` of the picture at ``path``; True when it cannot be opened."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(path) as im:
                return has_gps_position(im)
    except Exception:
        return True


def _exif_has_gps(exif: Image.Exif) -> bool:
    if GPS_IFD not in exif:
        return False
    try:
        gps = exif.get_ifd(GPS_IFD)
    except Exception:
        return True
    return not gps or any(tag != GPS_VERSION for tag in gps)


def _raw_exif_has_gps(data: bytes) -> bool:
    """EXIF bytes Pillow cannot parse: whether they name the GPS IFD tag, in either byte order."""
    return b"\x88\x25" in data or b"\x25\x88" in data


def _xmp_has_gps(xmp: bytes | str | None) -> bool:
    if not xmp:
        return False
    if isinstance(xmp, str):
        xmp = xmp.encode("utf-8", "replace")
    return XMP_POSITION.search(xmp) is not None


def _png_metadata_has_gps(fp: IO[bytes] | None) -> bool:
    """Walk a PNG's chunks (headers only, seeking past the pixels) and look into the EXIF and
    text chunks, before and after the pixels: a position there, or one too large or damaged
    to tell, counts."""
    if fp is None:
        return True
    start = fp.tell()
    try:
        fp.seek(8)  # past the signature
        while True:
            head = fp.read(8)
            if len(head) < 8:
                return False
            length, kind = struct.unpack(">I4s", head)
            if kind == b"IEND":
                return False
            if kind not in (b"eXIf", b"iTXt", b"zTXt", b"tEXt"):
                fp.seek(length + 4, 1)  # the data and its CRC
                continue
            if length > MAX_PNG_METADATA:
                return True
            data = fp.read(length)
            fp.seek(4, 1)
            if _png_chunk_has_gps(kind, data):
                return True
    except (OSError, struct.error, zlib.error, ValueError):
        return True
    finally:
        fp.seek(start)


def _png_chunk_has_gps(kind: bytes, data: bytes) -> bool:
    if kind == b"eXIf":
        return _exif_bytes_have_gps(data)
    keyword, _, rest = data.partition(b"\x00")
    if kind == b"zTXt":
        text = zlib.decompressobj().decompress(rest[1:], MAX_PNG_METADATA)
    elif kind == b"iTXt":  # flag, method, language tag, translated keyword, then the text
        text = rest[2:].split(b"\x00", 2)[-1]
        if rest[:1] == b"\x01":  # compressed
            text = zlib.decompressobj().decompress(text, MAX_PNG_METADATA)
    else:
        text = rest
    if PNG_POSITION_KEYWORD.fullmatch(keyword.strip()):
        return True
    if keyword.lower().startswith(RAW_PROFILE):
        return _raw_profile_has_gps(keyword[len(RAW_PROFILE) :].strip().lower(), text)
    return _xmp_has_gps(text)


def _raw_profile_has_gps(name: bytes, text: bytes) -> bool:
    """An ImageMagick raw profile: EXIF (``exif``, or an ``APP1`` holding EXIF) or anything
    else, XMP included, as XMP. One that cannot be decoded counts as a position."""
    match = RAW_PROFILE_TEXT.fullmatch(text)
    if match is None:
        return True
    try:
        profile = bytes.fromhex(re.sub(rb"\s+", b"", match[1] or b"").decode("ascii"))
    except ValueError:  # an odd number of digits
        return True
    if name == b"exif" or (name == b"app1" and profile.startswith(b"Exif\x00\x00")):
        return _exif_bytes_have_gps(profile)
    return _xmp_has_gps(profile)


def _exif_bytes_have_gps(data: bytes) -> bool:
    """EXIF bytes (the TIFF structure, ``Exif\\0\\0`` before it or not)."""
    exif = Image.Exif()
    try:
        exif.load(data)
    except Exception:
        return _raw_exif_has_gps(data)
    return _exif_has_gps(exif)
