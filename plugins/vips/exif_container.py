"""The EXIF block of an image libvips has saved, replaced by the one Pillow's worker writes.

libvips rebuilds the EXIF it saves with libexif, which adds the tags it deems required (an
Orientation of 1 even when the field is removed, the resolution, the Exif version, colour
space and pixel dimensions): so the saved block is swapped, in the file's bytes, for the
block Pillow's worker publishes (``imaging._exif_bytes``), and the two processors' images
carry the same EXIF. JPEG's APP1 segment, PNG's eXIf chunk and WebP's EXIF chunk are
rewritten to the new length; an AVIF's Exif item is overwritten in place (its offsets stay
true), the TIFF padded with zeros, which readers ignore. Pure: bytes in, bytes out.
"""

from __future__ import annotations

import struct
import zlib

import pyvips

EXIF_HEADER = b"Exif\x00\x00"
_TIFF_MAGIC = (b"II*\x00", b"MM\x00*")


def replace_exif(data: bytes, fmt: str, block: bytes) -> bytes:
    """``data`` (an image libvips saved as ``fmt`` with EXIF) carrying the TIFF of ``block``
    (``Exif\\0\\0`` and a TIFF, as Pillow writes it) instead of its own EXIF."""
    tiff = block.removeprefix(EXIF_HEADER)
    if fmt == "jpeg":
        return _jpeg(data, tiff)
    if fmt == "png":
        return _png(data, tiff)
    if fmt == "webp":
        return _webp(data, tiff)
    if fmt == "avif":
        return _in_place(data, tiff)
    raise ValueError(f"no EXIF container for {fmt!r}")


def _jpeg(data: bytes, tiff: bytes) -> bytes:
    pos = 2  # after SOI
    while pos + 4 <= len(data) and data[pos] == 0xFF and data[pos + 1] != 0xDA:  # SOS
        (length,) = struct.unpack(">H", data[pos + 2 : pos + 4])
        body = data[pos + 4 : pos + 2 + length]
        if data[pos + 1] == 0xE1 and body.startswith(EXIF_HEADER):
            new = EXIF_HEADER + tiff
            segment = b"\xff\xe1" + struct.pack(">H", len(new) + 2) + new
            return data[:pos] + segment + data[pos + 2 + length :]
        pos += 2 + length
    raise ValueError("no EXIF segment in the JPEG libvips wrote")


def _png(data: bytes, tiff: bytes) -> bytes:
    pos = 8  # after the signature
    while pos + 8 <= len(data):
        length, kind = struct.unpack(">I4s", data[pos : pos + 8])
        if kind == b"eXIf":
            crc = struct.pack(">I", zlib.crc32(kind + tiff))
            chunk = struct.pack(">I", len(tiff)) + kind + tiff + crc
            return data[:pos] + chunk + data[pos + 12 + length :]
        pos += 12 + length
    raise ValueError("no eXIf chunk in the PNG libvips wrote")


def _webp(data: bytes, tiff: bytes) -> bytes:
    pos = 12  # after RIFF, its size and WEBP
    while pos + 8 <= len(data):
        kind, length = struct.unpack("<4sI", data[pos : pos + 8])
        padded = length + (length & 1)
        if kind == b"EXIF":
            old = data[pos + 8 : pos + 8 + length]
            new = (EXIF_HEADER if old.startswith(EXIF_HEADER) else b"") + tiff
            chunk = kind + struct.pack("<I", len(new)) + new + b"\x00" * (len(new) & 1)
            out = data[:pos] + chunk + data[pos + 8 + padded :]
            return out[:4] + struct.pack("<I", len(out) - 8) + out[8:]
        pos += 8 + padded
    raise ValueError("no EXIF chunk in the WebP libvips wrote")


def _in_place(data: bytes, tiff: bytes) -> bytes:
    """The TIFF libvips wrote (as its loader reads it back) overwritten by ``tiff``, padded
    to its length; left as it is if ``tiff`` is longer (libexif dropped tags Pillow keeps)."""
    saved = pyvips.Image.new_from_buffer(data, "").get("exif-data")
    start = min((i for i in (saved.find(m) for m in _TIFF_MAGIC) if i >= 0), default=-1)
    old = saved[start:] if start >= 0 else b""
    pos = data.find(old) if old else -1
    if pos < 0 or data.find(old, pos + 1) >= 0 or len(tiff) > len(old):
        return data
    return data[:pos] + tiff.ljust(len(old), b"\x00") + data[pos + len(old) :]
