"""Factory of real, small test picture files, generated with Pillow.

Every public function takes the destination ``Path`` (parent folders are created),
writes the file and returns that ``Path``.  Unless stated otherwise a picture shows the
*marker pattern*: its top-left quadrant is pure red (255, 0, 0) and the three other
quadrants are distinct shades of blue, so a test can tell, with
``displayed_red_corner``, how a picture ends up oriented after processing.

Text EXIF values (Make, Model, ImageDescription) are written as UTF-8 bytes, as
cameras and exiftool do; Pillow reads them back as latin-1 decoded ``str``, so a
non-ASCII caption comes back as mojibake until re-encoded with ``.encode("latin-1")``.
"""

from __future__ import annotations

import functools
import io
import random
import struct
import sys
import zlib
from array import array
from pathlib import Path

from PIL import Image, ImageCms, ImageDraw, ImageOps, ImageStat
from PIL.TiffImagePlugin import IFDRational

__all__ = [
    "animated_gif",
    "avif",
    "bmp",
    "bomb_png",
    "cmyk_jpeg",
    "cmyk_pattern",
    "colour_key_png",
    "damaged_exif_jpeg",
    "detailed_photo",
    "displayed_red_corner",
    "dji_xmp",
    "dji_xmp_jpeg",
    "empty",
    "exif_caption_jpeg",
    "exif_with_thumbnail",
    "fake",
    "find_cmyk_icc",
    "gif_with_extension",
    "gps_exif",
    "grey_png",
    "jpeg",
    "jpeg_segment",
    "late_gps_png",
    "palette_png_transparent",
    "png",
    "raw_profile",
    "raw_profile_png",
    "rgba_png",
    "srgb_icc_jpeg",
    "tiff",
    "tiff16",
    "truncated_jpeg",
    "webp",
    "with_jpeg_segments",
    "with_png_chunk",
    "with_webp_chunk",
    "xmp_gps_jpeg",
]

RED = (255, 0, 0)
BLUES = ((0, 0, 255), (0, 96, 200), (40, 140, 255))  # top-right, bottom-left, bottom-right
CORNERS = ("top-left", "top-right", "bottom-left", "bottom-right")

# Transpose turning the *displayed* picture into the *stored* pixels, per EXIF
# orientation: the inverse of what ``ImageOps.exif_transpose`` applies.
_STORE = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_90,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_270,
}

# Istanbul (41.0082 N, 28.9784 E) as degrees, minutes, seconds rationals.
_LAT = (IFDRational(41, 1), IFDRational(0, 1), IFDRational(2952, 100))
_LON = (IFDRational(28, 1), IFDRational(58, 1), IFDRational(4224, 100))

_ICC_DIRS = ("/usr/share/color", "/usr/local/share/color", "/usr/share/ghostscript")


def _target(path: Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


def _quadrants(size: tuple[int, int]) -> list[tuple[int, int, int, int]]:
    """Boxes of the four quadrants, in ``CORNERS`` order."""
    w, h = size
    return [
        (0, 0, w // 2, h // 2),
        (w // 2, 0, w, h // 2),
        (0, h // 2, w // 2, h),
        (w // 2, h // 2, w, h),
    ]


def _pattern(
    size: tuple[int, int], corner: int = 0, rest: tuple[tuple[int, int, int], ...] = BLUES
) -> Image.Image:
    """RGB picture of ``size`` whose quadrant ``CORNERS[corner]`` is red, others ``rest``."""
    im = Image.new("RGB", size)
    draw = ImageDraw.Draw(im)
    colours = list(rest)
    colours.insert(corner, RED)
    for (x0, y0, x1, y1), colour in zip(_quadrants(size), colours, strict=True):
        draw.rectangle((x0, y0, x1 - 1, y1 - 1), fill=colour)
    return im


def jpeg(
    path: Path,
    size: tuple[int, int] = (320, 240),
    *,
    orientation: int | None = None,
    gps: bool = False,
    taken: str | None = None,
    make: str | None = None,
    model: str | None = None,
    description: str | None = None,
    quality: int = 90,
    xmp: bytes | None = None,
) -> Path:
    """RGB JPEG showing the marker pattern at ``size`` (width, height) *as displayed*.

    With ``orientation`` (EXIF tag 0x0112) the stored pixels are the inverse transform
    of the displayed picture (transposed, i.e. height x width, for 5-8), so that
    ``ImageOps.exif_transpose`` yields ``size`` with red top-left.  Values outside
    2..8 are written as-is over untransformed pixels.  ``taken`` ("YYYY:MM:DD HH:MM:SS")
    sets DateTimeOriginal 0x9003 (Exif IFD) and DateTime 0x0132; ``make``, ``model``,
    ``description`` set 0x010F, 0x0110, 0x010E; ``gps`` adds a GPS IFD for Istanbul
    (alone, too); ``xmp`` is written as the XMP packet.
    Without any of these options the file has no EXIF block at all.  Note that
    orientation 5 (transpose) keeps red top-left in the stored pixels too: tell it
    apart by the stored size or the blue quadrants (``BLUES``).
    """
    path = _target(path)
    im = _pattern(size)
    if orientation in _STORE:
        im = im.transpose(_STORE[orientation])
    exif = Image.Exif()
    if orientation is not None:
        exif[0x0112] = orientation
    if taken is not None:
        exif[0x0132] = taken
        exif.get_ifd(0x8769)[0x9003] = taken
    for tag, text in ((0x010F, make), (0x0110, model), (0x010E, description)):
        if text is not None:
            exif[tag] = text.encode("utf-8")
    if gps:
        exif.get_ifd(0x8825).update({0: b"\x02\x02\x00\x00", 1: "N", 2: _LAT, 3: "E", 4: _LON})
    # len() does not count a sub-IFD made with get_ifd(): a GPS-only EXIF must still be written
    extra = {"exif": exif.tobytes()} if len(exif) or gps else {}
    if xmp is not None:
        extra["xmp"] = xmp
    im.save(path, "JPEG", quality=quality, **extra)
    return path


#: XMP that places a picture in Istanbul, as photo managers (Lightroom, darktable) write it
GPS_XMP = (
    b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF '
    b'xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description rdf:about="" '
    b'xmlns:exif="http://ns.adobe.com/exif/1.0/" exif:GPSLatitude="41,0.492N" '
    b'exif:GPSLongitude="28,58.704E"/></rdf:RDF></x:xmpmeta>'
)


def xmp_gps_jpeg(path: Path, size: tuple[int, int] = (320, 240)) -> Path:
    """Marker-pattern JPEG with no EXIF, whose GPS position is in its XMP (``GPS_XMP``)."""
    return jpeg(path, size, xmp=GPS_XMP)


def dji_xmp(*, position: bool = True, longitude: str = "GpsLongitude") -> bytes:
    """XMP as DJI drones write it (``rdf:about="DJI Meta Data"``, ``drone-dji:`` attributes):
    with ``position``, Istanbul as ``drone-dji:GpsLatitude`` and ``drone-dji:<longitude>``
    (older models spell it ``GpsLongtitude``); without, only the camera's angles and a
    caption that mentions GPS."""
    where = (
        f'drone-dji:GpsLatitude="+41.00820000" drone-dji:{longitude}="+28.97840000" '
        if position
        else ""
    )
    return (
        '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF '
        'xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description '
        'rdf:about="DJI Meta Data" xmlns:tiff="http://ns.adobe.com/tiff/1.0/" '
        'xmlns:dc="http://purl.org/dc/elements/1.1/" '
        'xmlns:drone-dji="http://www.dji.com/drone-dji/1.0/" tiff:Make="DJI" '
        f'tiff:Model="FC6310" {where}drone-dji:GimbalRollDegree="+0.00" '
        'drone-dji:GimbalYawDegree="+56.90" drone-dji:GimbalPitchDegree="-90.00" '
        'drone-dji:FlightYawDegree="+56.90"><dc:description><rdf:Alt><rdf:li '
        'xml:lang="x-default">GPS off over the Bosphorus</rdf:li></rdf:Alt></dc:description>'
        "</rdf:Description></rdf:RDF></x:xmpmeta>"
    ).encode()


def dji_xmp_jpeg(
    path: Path,
    size: tuple[int, int] = (320, 240),
    *,
    position: bool = True,
    longitude: str = "GpsLongitude",
) -> Path:
    """Marker-pattern JPEG with no EXIF whose XMP is a DJI drone's (:func:`dji_xmp`): with
    ``position``, its GPS position is there, in DJI's spelling only."""
    return jpeg(path, size, xmp=dji_xmp(position=position, longitude=longitude))


def exif_caption_jpeg(path: Path, caption: str) -> Path:
    """Marker-pattern JPEG whose EXIF ImageDescription (0x010E) is ``caption`` (UTF-8)."""
    return jpeg(path, description=caption)


def damaged_exif_jpeg(
    path: Path, size: tuple[int, int] = (320, 240), *, orientation: int = 6
) -> Path:
    """Like ``jpeg(path, size, orientation=..., gps=True, make="Canon", model="Canon EOS")``
    but the Make entry (0x010F) claims type RATIONAL instead of ASCII, as a buggy editor may
    write it.  Pillow reads the file, its size and orientation, but raises (AttributeError)
    when it serialises that EXIF again, e.g. in ``ImageOps.exif_transpose``.
    """
    path = jpeg(path, size, orientation=orientation, gps=True, make="Canon", model="Canon EOS")
    data = bytearray(path.read_bytes())
    tiff = data.index(b"Exif\x00\x00") + 6
    endian = "<" if data[tiff : tiff + 2] == b"II" else ">"
    (ifd0,) = struct.unpack_from(endian + "I", data, tiff + 4)
    (count,) = struct.unpack_from(endian + "H", data, tiff + ifd0)
    for entry in range(tiff + ifd0 + 2, tiff + ifd0 + 2 + 12 * count, 12):
        if struct.unpack_from(endian + "H", data, entry)[0] == 0x010F:
            struct.pack_into(endian + "HI", data, entry + 2, 5, 1)  # RATIONAL, one value
            break
    else:
        raise AssertionError("no Make entry to damage")
    path.write_bytes(bytes(data))
    return path


def displayed_red_corner(path: Path) -> str:
    """Which quadrant of the picture at ``path``, as displayed, is the most red.

    Opens any format Pillow reads (first frame), applies ``ImageOps.exif_transpose``,
    converts to RGB and returns one of "top-left", "top-right", "bottom-left",
    "bottom-right".
    """
    with Image.open(path) as src:
        im = ImageOps.exif_transpose(src).convert("RGB")
    scores = []
    for box in _quadrants(im.size):
        r, g, b = ImageStat.Stat(im.crop(box)).mean
        scores.append(r - (g + b) / 2)
    return CORNERS[scores.index(max(scores))]


@functools.cache
def find_cmyk_icc() -> bytes | None:
    """Bytes of the first CMYK ICC profile found under ``_ICC_DIRS``, or None (cached).

    Pillow cannot create CMYK profiles, and nothing is downloaded: Debian's
    ``icc-profiles-free`` or ghostscript, when installed, provide some.
    """
    for folder in map(Path, _ICC_DIRS):
        if not folder.is_dir():
            continue
        for candidate in sorted(folder.rglob("*")):
            if candidate.suffix.lower() not in (".icc", ".icm") or not candidate.is_file():
                continue
            try:
                data = candidate.read_bytes()
                profile = ImageCms.ImageCmsProfile(io.BytesIO(data))
            except (OSError, ImageCms.PyCMSError):
                continue
            if profile.profile.xcolor_space.strip() == "CMYK":
                return data
    return None


def cmyk_pattern(size: tuple[int, int] = (200, 150)) -> Image.Image:
    """The marker pattern as CMYK ink (naive RGB->CMYK conversion): what ``cmyk_jpeg``
    stores, as viewers read it."""
    return _pattern(size).convert("CMYK")


def cmyk_jpeg(
    path: Path, size: tuple[int, int] = (200, 150), *, icc: bool = True, adobe: bool = True
) -> Path:
    """CMYK JPEG of :func:`cmyk_pattern`.

    With ``icc`` the CMYK profile from ``find_cmyk_icc`` is embedded.  If the machine has
    none (the case where this module was written: no ICC file at all), ``icc`` is a
    no-op and the JPEG carries no profile; tests needing one should fail when
    ``find_cmyk_icc()`` is None.  With ``adobe`` (as Photoshop and libjpeg write them) the
    ink is stored inverted and an Adobe APP14 segment says so; without, the ink is stored
    as it is and there is no APP14 segment (viewers then read it uninverted, while Pillow
    assumes Adobe's convention for every CMYK JPEG).
    """
    path = _target(path)
    profile = find_cmyk_icc() if icc else None
    extra = {"icc_profile": profile} if profile else {}
    ink = cmyk_pattern(size)
    if adobe:
        ink.save(path, "JPEG", quality=90, **extra)
        return path
    buffer = io.BytesIO()
    # Pillow inverts CMYK on saving: inverted first, the stored bytes are the ink itself
    Image.eval(ink, lambda v: 255 - v).save(buffer, "JPEG", quality=90, **extra)
    path.write_bytes(_without_segments(buffer.getvalue(), 0xEE))
    return path


def _without_segments(data: bytes, marker: int) -> bytes:
    """A JPEG's bytes without its APPn/COM segments of ``marker`` (0xEE: Adobe APP14)."""
    out, at = bytearray(data[:2]), 2
    while data[at] == 0xFF and data[at + 1] not in (0xDA, 0xD9):
        (length,) = struct.unpack_from(">H", data, at + 2)
        if data[at + 1] != marker:
            out += data[at : at + 2 + length]
        at += 2 + length
    return bytes(out + data[at:])


def srgb_icc_jpeg(path: Path, size: tuple[int, int] = (200, 150)) -> Path:
    """RGB JPEG of the marker pattern with an embedded sRGB ICC profile (LittleCMS built)."""
    path = _target(path)
    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    _pattern(size).save(path, "JPEG", quality=90, icc_profile=icc)
    return path


def tiff16(path: Path, size: tuple[int, int] = (200, 150)) -> Path:
    """16-bit grayscale TIFF (mode "I;16"): left column 0 to right column 65535, every row."""
    path = _target(path)
    w, h = size
    row = array("H", (round(x * 65535 / max(w - 1, 1)) for x in range(w)))
    data = row * h
    if sys.byteorder == "big":  # "I;16" is little-endian
        data.byteswap()
    Image.frombytes("I;16", size, data.tobytes()).save(path, "TIFF")
    return path


def tiff(
    path: Path,
    size: tuple[int, int] = (160, 120),
    *,
    description: str | None = None,
    make: str | None = None,
    model: str | None = None,
) -> Path:
    """RGB TIFF of the marker pattern; ``description``, ``make``, ``model`` set its
    ImageDescription, Make and Model tags (UTF-8), which a TIFF holds at any length (a
    JPEG's EXIF is at most 64 KB)."""
    path = _target(path)
    exif = Image.Exif()
    for tag, text in ((0x010F, make), (0x0110, model), (0x010E, description)):
        if text is not None:
            exif[tag] = text.encode("utf-8")
    _pattern(size).save(path, "TIFF", exif=exif)
    return path


def palette_png_transparent(path: Path, size: tuple[int, int] = (120, 90)) -> Path:
    """Mode "P" PNG: red top-left, blue bottom half, top-right fully transparent.

    Palette index 0 is the transparent one (``transparency=0``); 1 is red, 2 is blue.
    """
    path = _target(path)
    w, h = size
    im = Image.new("P", size, 0)
    im.putpalette([0, 0, 0, *RED, *BLUES[0]])
    draw = ImageDraw.Draw(im)
    draw.rectangle((0, 0, w // 2 - 1, h // 2 - 1), fill=1)
    draw.rectangle((0, h // 2, w - 1, h - 1), fill=2)
    im.save(path, "PNG", transparency=0)
    return path


def colour_key_png(path: Path, size: tuple[int, int] = (120, 90), mode: str = "RGB") -> Path:
    """Mode "RGB" (or "L") PNG whose transparency is a colour key (a tRNS chunk), as PNG
    optimisers write RGBA pictures whose alpha is all or nothing: red top-left, blue bottom
    half, top-right black, and black is the transparent colour.
    """
    path = _target(path)
    w, h = size
    im = Image.new("RGB", size, BLUES[0])
    draw = ImageDraw.Draw(im)
    draw.rectangle((0, 0, w // 2 - 1, h // 2 - 1), fill=RED)
    draw.rectangle((w // 2, 0, w - 1, h // 2 - 1), fill=(0, 0, 0))
    if mode == "L":
        im.convert("L").save(path, "PNG", transparency=0)
    else:
        im.save(path, "PNG", transparency=(0, 0, 0))
    return path


def rgba_png(path: Path, size: tuple[int, int] = (160, 120)) -> Path:
    """RGBA PNG of the marker pattern; the right half has alpha 128 (semi-transparent)."""
    path = _target(path)
    w, h = size
    im = _pattern(size).convert("RGBA")
    alpha = Image.new("L", size, 255)
    ImageDraw.Draw(alpha).rectangle((w // 2, 0, w - 1, h - 1), fill=128)
    im.putalpha(alpha)
    im.save(path, "PNG")
    return path


def detailed_photo(path: Path, size: tuple[int, int] = (3000, 2000), *, grain: float = 4.0) -> Path:
    """A photo-like JPEG (quality 92): smooth gradients, hard-edged discs, thin light lines
    every 37 pixels and per-pixel grain (normal, ``grain`` levels): detail that a resize
    which blurs, shifts or aliases visibly changes. The same bytes for the same arguments."""
    import numpy as np  # the test extra has it; the other makers need only Pillow

    path = _target(path)
    rng = np.random.default_rng(7)
    w, h = size
    y, x = np.mgrid[0:h, 0:w]
    base = np.stack([x / w * 255, y / h * 255, (x + y) / (w + h) * 255], axis=-1)
    for _ in range(20):
        cx, cy, r = rng.integers(0, w), rng.integers(0, h), rng.integers(w // 40, w // 6)
        base[(x - cx) ** 2 + (y - cy) ** 2 < r * r] = rng.integers(0, 256, 3)
    grainy = base + rng.normal(0, grain, base.shape)
    im = Image.fromarray(grainy.clip(0, 255).astype("uint8"))
    draw = ImageDraw.Draw(im)
    for left in range(0, w, 37):
        draw.line((left, 0, left + h // 3, h), fill=(250, 250, 250), width=3)
    im.save(path, "JPEG", quality=92)
    return path


def grey_png(path: Path, size: tuple[int, int] = (160, 120), *, alpha: bool = False) -> Path:
    """Grey PNG (mode "L", or "LA" with ``alpha``): a left-to-right gradient from 0 to 255 on
    every row; with ``alpha`` the right half has alpha 128."""
    path = _target(path)
    w, h = size
    row = bytes(round(x * 255 / max(w - 1, 1)) for x in range(w))
    im = Image.frombytes("L", size, row * h)
    if alpha:
        mask = Image.new("L", size, 255)
        ImageDraw.Draw(mask).rectangle((w // 2, 0, w - 1, h - 1), fill=128)
        im = im.convert("LA")
        im.putalpha(mask)
    im.save(path, "PNG")
    return path


def animated_gif(path: Path, size: tuple[int, int] = (100, 80), frames: int = 3) -> Path:
    """Animated GIF (100 ms per frame, looping). Frame 0 is the marker pattern (red
    top-left on blues); frame k > 0 has its red quadrant elsewhere (top-right,
    bottom-left, ...) on greens, so a red top-left output proves frame 0 was used.
    """
    path = _target(path)
    greens = ((0, 200, 0), (0, 120, 60), (120, 220, 0))
    images = [_pattern(size)] + [_pattern(size, 1 + (k - 1) % 3, greens) for k in range(1, frames)]
    images[0].save(path, "GIF", save_all=True, append_images=images[1:], duration=100, loop=0)
    return path


def bmp(path: Path, size: tuple[int, int] = (120, 90)) -> Path:
    """24-bit BMP of the marker pattern."""
    path = _target(path)
    _pattern(size).save(path, "BMP")
    return path


def webp(path: Path, size: tuple[int, int] = (180, 120)) -> Path:
    """Lossy WebP (quality 80) of the marker pattern."""
    path = _target(path)
    _pattern(size).save(path, "WEBP", quality=80)
    return path


def avif(path: Path, size: tuple[int, int] = (180, 120)) -> Path:
    """AVIF (quality 80) of the marker pattern; needs a Pillow built with AVIF."""
    path = _target(path)
    _pattern(size).save(path, "AVIF", quality=80)
    return path


def png(path: Path, size: tuple[int, int] = (160, 120), *, gps: bool = False) -> Path:
    """Plain RGB PNG of the marker pattern; ``gps`` adds an eXIf chunk (before the pixels)
    holding a GPS IFD for Istanbul."""
    path = _target(path)
    extra = {}
    if gps:
        exif = Image.Exif()
        exif.get_ifd(0x8825).update({0: b"\x02\x02\x00\x00", 1: "N", 2: _LAT, 3: "E", 4: _LON})
        extra["exif"] = exif.tobytes()
    _pattern(size).save(path, "PNG", **extra)
    return path


def late_gps_png(path: Path, size: tuple[int, int] = (160, 120), *, xmp: bool = False) -> Path:
    """Marker-pattern PNG whose GPS position comes after the pixels, just before IEND, where
    PNG allows metadata and Pillow reads it only on decoding: in an eXIf chunk, or with
    ``xmp`` in a compressed iTXt XMP packet (``GPS_XMP``)."""
    path = png(path, size)
    data = path.read_bytes()
    if xmp:
        body = b"XML:com.adobe.xmp\x00\x01\x00\x00\x00" + zlib.compress(GPS_XMP)
        chunk = _chunk(b"iTXt", body)
    else:
        exif = Image.Exif()
        exif.get_ifd(0x8825).update({0: b"\x02\x02\x00\x00", 1: "N", 2: _LAT, 3: "E", 4: _LON})
        chunk = _chunk(b"eXIf", exif.tobytes()[6:])  # the TIFF structure, without "Exif\0\0"
    end = data.rindex(b"IEND") - 4
    path.write_bytes(data[:end] + chunk + data[end:])
    return path


def gps_exif() -> bytes:
    """EXIF bytes (``Exif\\0\\0`` and the TIFF structure) holding only a GPS IFD for
    Istanbul."""
    exif = Image.Exif()
    exif.get_ifd(0x8825).update({0: b"\x02\x02\x00\x00", 1: "N", 2: _LAT, 3: "E", 4: _LON})
    return exif.tobytes()


def raw_profile(kind: str, payload: bytes) -> bytes:
    """The text of ImageMagick's PNG "Raw profile type <kind>" chunk holding ``payload``: a
    newline, the kind, the length right-aligned in 8 characters, then the bytes in hex, 36 a
    line, each line after a newline, and a final newline."""
    digits = payload.hex()
    lines = "".join(f"\n{digits[i : i + 72]}" for i in range(0, len(digits), 72))
    return f"\n{kind}\n{len(payload):8d}{lines}\n".encode("ascii")


def raw_profile_png(
    path: Path,
    kind: str,
    payload: bytes,
    *,
    after_pixels: bool = False,
    chunk: bytes = b"zTXt",
    size: tuple[int, int] = (160, 120),
) -> Path:
    """Marker-pattern PNG with a text chunk "Raw profile type ``kind``" (``exif``, ``xmp``,
    ``APP1``…) holding ``payload`` hex-encoded as ImageMagick writes it (:func:`raw_profile`),
    in a ``chunk`` (``zTXt``, compressed as ImageMagick does, ``tEXt`` or ``iTXt``), before
    the pixels or, with ``after_pixels``, just before IEND (read by Pillow only on decoding).
    ``payload`` for ``exif`` is :func:`gps_exif`-like (``Exif\\0\\0`` first, as ImageMagick
    keeps it), for ``xmp`` an XMP packet, for ``APP1`` a JPEG APP1 segment's data (EXIF or
    ``http://ns.adobe.com/xap/1.0/\\0`` and XMP)."""
    path = png(path, size)
    keyword = f"Raw profile type {kind}".encode("latin-1")
    text = raw_profile(kind, payload)
    if chunk == b"zTXt":
        body = keyword + b"\x00\x00" + zlib.compress(text)
    elif chunk == b"iTXt":
        body = keyword + b"\x00\x00\x00\x00\x00" + text
    else:
        body = keyword + b"\x00" + text
    data = path.read_bytes()
    at = data.rindex(b"IEND") - 4 if after_pixels else data.index(b"IDAT") - 4
    path.write_bytes(data[:at] + _chunk(chunk, body) + data[at:])
    return path


def jpeg_segment(marker: int, body: bytes) -> bytes:
    """A JPEG marker segment: 0xFF, ``marker`` (0xE1: APP1, 0xFE: a comment…), its length and
    ``body``."""
    return bytes((0xFF, marker)) + struct.pack(">H", len(body) + 2) + body


def with_jpeg_segments(
    path: Path,
    segments: tuple[bytes, ...] = (),
    *,
    after_scan: tuple[bytes, ...] = (),
    trailer: bytes = b"",
    at_end: bool = False,
) -> Path:
    """The JPEG at ``path`` with ``segments`` (made with :func:`jpeg_segment`) inserted: after
    its first segments (SOI and Pillow's APPn, so after its own EXIF: a second APP1 there is
    one Pillow never reads) or, with ``at_end``, after all of them, just before the scan;
    ``after_scan`` ones between the end of its entropy-coded data and EOI (where a reader
    walking every segment finds them); ``trailer`` bytes after EOI."""
    data = path.read_bytes()
    at = 2
    while data[at + 1] in range(0xE0, 0xF0) or (at_end and data[at + 1] != 0xDA):
        at += 2 + struct.unpack_from(">H", data, at + 2)[0]
    body = data[:at] + b"".join(segments) + data[at:-2] + b"".join(after_scan) + data[-2:]
    path.write_bytes(body + trailer)
    return path  # fmt: skip


def exif_with_thumbnail(thumbnail: bytes) -> bytes:
    """EXIF bytes (``Exif\\0\\0``, little-endian TIFF) whose IFD0 holds an orientation and
    whose IFD1 points to ``thumbnail`` (a JPEG), as cameras store their preview."""
    ifd0 = struct.pack("<H", 1) + struct.pack("<HHII", 0x0112, 3, 1, 1) + struct.pack("<I", 26)
    ifd1 = struct.pack("<H", 2) + struct.pack("<HHII", 0x0201, 4, 1, 56)
    ifd1 += struct.pack("<HHII", 0x0202, 4, 1, len(thumbnail)) + struct.pack("<I", 0)
    tiff = b"II*\x00" + struct.pack("<I", 8) + ifd0 + ifd1
    assert len(tiff) == 56
    return b"Exif\x00\x00" + tiff + thumbnail


def with_png_chunk(path: Path, kind: bytes, body: bytes, *, after_pixels: bool = False) -> Path:
    """The PNG at ``path`` with a chunk ``kind`` holding ``body``, before the pixels or, with
    ``after_pixels``, just before IEND."""
    data = path.read_bytes()
    at = data.rindex(b"IEND") - 4 if after_pixels else data.index(b"IDAT") - 4
    path.write_bytes(data[:at] + _chunk(kind, body) + data[at:])
    return path


def with_webp_chunk(path: Path, kind: bytes, body: bytes) -> Path:
    """The WebP at ``path`` with a chunk ``kind`` holding ``body`` at its end (the RIFF size
    mended)."""
    data = path.read_bytes()
    chunk = kind + struct.pack("<I", len(body)) + body + b"\x00" * (len(body) & 1)
    data = data + chunk
    path.write_bytes(data[:4] + struct.pack("<I", len(data) - 8) + data[8:])
    return path


def gif_with_extension(path: Path, label: int, data: bytes) -> Path:
    """A marker-pattern GIF with an extension block ``label`` (0xFF: an application's, 0xFE:
    a comment) whose data is ``data`` (split into sub-blocks) before its first image; for an
    application extension ``data`` starts with its 11-byte identifier. XMP is written as
    Adobe does: raw (the packet's own bytes serve as sub-block lengths), then a 258-byte
    "magic trailer"."""
    path = animated_gif(path, frames=1)
    raw = path.read_bytes()
    if label == 0xFF and data.startswith(b"XMP DataXMP"):
        blocks = b"\x0b" + data + b"\x01" + bytes(range(255, -1, -1)) + b"\x00"
    else:
        blocks = (
            b"".join(
                bytes((len(data[i : i + 255]),)) + data[i : i + 255]
                for i in range(0, len(data), 255)
            )
            + b"\x00"
        )
    flags = raw[10]
    at = 13 + (3 << ((flags & 7) + 1) if flags & 0x80 else 0)
    path.write_bytes(raw[:at] + bytes((0x21, label)) + blocks + raw[at:])
    return path


def truncated_jpeg(path: Path) -> Path:
    """JPEG cut to ~40 % of its bytes (always past the start of scan): ``Image.open``
    succeeds and reports the size (400x300), but ``.load()`` raises ``OSError``
    (unless ``ImageFile.LOAD_TRUNCATED_IMAGES`` is set).
    """
    path = _target(path)
    noise = Image.frombytes("RGB", (400, 300), random.Random(1234).randbytes(400 * 300 * 3))
    buffer = io.BytesIO()
    noise.save(buffer, "JPEG", quality=90)
    data = buffer.getvalue()
    start_of_scan = data.index(b"\xff\xda")
    path.write_bytes(data[: max(int(len(data) * 0.4), start_of_scan + 64)])
    return path


def empty(path: Path) -> Path:
    """Zero-byte file (named however the caller wants, e.g. ``empty.jpg``)."""
    path = _target(path)
    path.write_bytes(b"")
    return path


def fake(path: Path, text: str = "this is not a picture\n") -> Path:
    """Plain-text file posing as a picture through its name (e.g. ``fake.jpg``)."""
    path = _target(path)
    path.write_text(text, encoding="utf-8")
    return path


def _chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def bomb_png(path: Path, width: int = 20000, height: int = 20000) -> Path:
    """Tiny hand-written PNG whose IHDR declares ``width`` x ``height`` RGB pixels.

    Signature, IHDR (correct CRC), one IDAT holding a single blank row, IEND: a few
    hundred bytes.  With the default 400 Mpx, over twice ``Image.MAX_IMAGE_PIXELS``,
    ``Image.open`` raises ``PIL.Image.DecompressionBombError`` before decoding anything
    (between 1x and 2x the limit Pillow only warns).
    """
    path = _target(path)
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\x00" * (1 + 3 * width), 9)
    data = b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", ihdr) + _chunk(b"IDAT", idat)
    path.write_bytes(data + _chunk(b"IEND", b""))
    return path
