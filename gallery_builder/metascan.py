"""Whether a picture file is known to hold no GPS position: the one mechanism that looks into
every metadata container of every picture format we read (docs/building.md#originals).

An original is published byte for byte, so it is published only when it is *known* clean:
every metadata block of the file was found, parsed and holds no position. A block that cannot
be parsed (truncated, an unknown text encoding, a damaged structure), more metadata than
:data:`MAX_METADATA` bytes, or data where a reader may find a block we do not know, make the
file *in doubt*, and it is withheld like one that holds a position, with the reason.

Every scan here is linear in what it reads and capped: the bytes examined per file (raw and
decompressed) are counted against :data:`MAX_METADATA`, decompression is bounded, and the text
patterns cannot backtrack over what they have passed; a hostile picture costs no more than a
normal one of its size.

What counts as a position is what ``strip_gps`` removes from the images: in EXIF, a GPS IFD
with any tag but GPSVersionID; in XMP (and any XML-like text), an element or attribute whose
local name is a GPS property but the version (``exif:GPSLatitude``, DJI's ``GpsLongtitude``)
or names a latitude or longitude, whatever its namespace (a default one included). The
containers themselves are walked in :mod:`gallery_builder.metaformats`.
"""

from __future__ import annotations

import mmap
import os
import re
import struct
import zlib
from dataclasses import dataclass

#: the most metadata bytes (raw and decompressed) examined in one file: more is "in doubt"
MAX_METADATA = 16 * 1024 * 1024
#: files up to this size are read whole (a map of a file cut while it is read would kill the
#: process); larger ones are mapped
MAX_READ = 256 * 1024 * 1024
#: the most structures (segments, chunks, boxes, IFD entries, GIF blocks) walked in one file
MAX_STEPS = 250_000
#: how deep containers may nest (a thumbnail in EXIF in a JPEG in an MPO…) before "in doubt"
MAX_DEPTH = 6
#: the most IFDs one EXIF structure may chain or point to
MAX_IFDS = 256

#: EXIF tags
GPS_IFD, EXIF_IFD, INTEROP_IFD, SUB_IFDS = 0x8825, 0x8769, 0xA005, 0x014A
XMP_TAG, PHOTOSHOP_TAG, MAKER_NOTE = 700, 34377, 0x927C
THUMBNAIL_OFFSET, THUMBNAIL_LENGTH = 0x0201, 0x0202
#: GPSVersionID: the one GPS tag that says nothing of where
GPS_VERSION = 0
_TYPE_SIZES = {1: 1, 2: 1, 3: 2, 4: 4, 5: 8, 6: 1, 7: 1, 8: 2, 9: 4, 10: 8, 11: 4, 12: 8, 13: 4}

# A name as XML spells it (no white space, quote, '<', '>', '=' or '/'), split at its colons.
_SEP = r"\s<>=\"'/"
#: a name that may place the picture: its local part (after the last colon) a GPS property but
#: the version, or naming a latitude or longitude; not a namespace declaration
_NAME = (
    rf"(?!xmlns:)(?:[^{_SEP}:]*+:)*+"
    rf"(?:gps(?!versionid(?![^{_SEP}:]))|[^{_SEP}:]*?(?:latitude|longitude|longtitude))"
    rf"[^{_SEP}:]*+(?![^{_SEP}])"
)
#: such a name as an element (``<exif:GPSLatitude>``, ``<GPSLatitude xmlns="…">``) or as an
#: attribute (``exif:GPSLatitude="…"``), starting where a name starts (never inside one, so no
#: position is tried twice: linear)
# (atomic: once a name is matched to its end, the lazy part is never tried again at a later
# "latitude" of the same name, which made a long name of repeats quadratic)
_ELEMENT = re.compile(rf"</?+(?>{_NAME})", re.I)
_ATTRIBUTE = re.compile(rf"(?<![^{_SEP}])(?>{_NAME})\s*+=", re.I)
_KEYWORD = re.compile(_NAME, re.I)
#: what opaque data (a maker's note, an unknown segment) must not mention, in ASCII or UTF-16
_MENTION = re.compile(
    rb"gps|latitude|longitude|longtitude|g\0p\0s|l\0a\0t\0i\0t\0u\0d\0e|l\0o\0n\0g\0i\0t\0", re.I
)
#: EXIF or a TIFF structure inside opaque data
_EMBEDDED_TIFF = re.compile(rb"Exif\x00[\x00\xff]|II\*\x00|MM\x00\*")
#: XMP inside opaque data
_EMBEDDED_XMP = re.compile(rb"<x:xmpmeta|<rdf:RDF|<\?xpacket", re.I)
#: the byte order marks of XMP packets, and their encodings
_BOMS = (
    (b"\xef\xbb\xbf", "utf-8"),
    (b"\xff\xfe\x00\x00", "utf-32-le"),
    (b"\x00\x00\xfe\xff", "utf-32-be"),
    (b"\xff\xfe", "utf-16-le"),
    (b"\xfe\xff", "utf-16-be"),
)


@dataclass(frozen=True)
class Finding:
    """Why an original is not known clean: ``position`` (a GPS position is there) or not
    (``doubt``: something could not be checked); ``reason`` says what and where, for a user."""

    position: bool
    reason: str


class Found(Exception):
    """Raised to end a scan with its :class:`Finding`."""

    def __init__(self, finding: Finding):
        super().__init__(finding.reason)
        self.finding = finding


class Scan:
    """One file's scan: what it may still examine, and the checks every container shares."""

    def __init__(self) -> None:
        self.left = MAX_METADATA
        self.steps = MAX_STEPS

    # --- verdicts ---

    def position(self, where: str) -> None:
        raise Found(Finding(True, f"it holds a GPS position (in {where})"))

    def doubt(self, why: str) -> None:
        raise Found(Finding(False, f"its metadata cannot be checked for a GPS position ({why})"))

    def take(self, size: int, where: str) -> None:
        """Count ``size`` bytes examined; past :data:`MAX_METADATA`, the file is in doubt."""
        self.left -= size
        if self.left < 0:
            self.doubt(f"more than {MAX_METADATA // 2**20} MB of metadata, in {where}")

    def cut(self, data, start: int, end: int, where: str) -> bytes:
        """The bytes ``data[start:end]``, copied only when there is room left to examine them
        (a block claiming gigabytes is in doubt before it costs any memory)."""
        if end - start > self.left:
            self.take(end - start, where)
        return bytes(data[start:end])

    def step(self, where: str, count: int = 1) -> None:
        """Count ``count`` structures walked; past :data:`MAX_STEPS`, the file is in doubt."""
        self.steps -= count
        if self.steps < 0:
            self.doubt(f"more than {MAX_STEPS} metadata structures, in {where}")

    def inflate(self, data: bytes, where: str) -> bytes:
        """``data`` decompressed (zlib), never more than what is left to examine."""
        try:
            inflater = zlib.decompressobj()
            text = inflater.decompress(data, self.left + 1)
        except zlib.error:
            self.doubt(f"damaged compressed data in {where}")
        self.take(len(text), where)
        if inflater.unconsumed_tail:  # stopped at the cap: take() has already said so
            self.doubt(f"compressed data too large in {where}")
        return text

    # --- text ---

    def xmp(self, data: bytes, where: str) -> None:
        """An XMP packet (or any XML), in whatever encoding its bytes say."""
        self.take(len(data), where)
        self.names(decode_xml(data, where, self), where)

    def names(self, text: str, where: str) -> None:
        """Text that may hold XML: no element or attribute named for a position."""
        lower = text.lower()  # first, the plain search for the words (fast, linear)
        if not any(word in lower for word in ("gps", "latitude", "longitude", "longtitude")):
            return
        if _ELEMENT.search(text) or _ATTRIBUTE.search(text):
            self.position(where)

    def keyword(self, name: str, where: str) -> None:
        """A name given to a value (a PNG text chunk's keyword): not one of a position."""
        if _KEYWORD.fullmatch(name.strip()):
            self.position(where)

    def opaque(self, data: bytes, where: str, depth: int = 0) -> None:
        """Data no parser here understands (a maker's note, an unknown segment or chunk): in
        doubt when it mentions GPS, a latitude or a longitude, in ASCII or UTF-16; EXIF or a
        TIFF structure inside it (as in many makers' notes) is checked as EXIF, and so is
        XMP inside it as XMP."""
        self.take(len(data), where)
        tiff = _EMBEDDED_TIFF.search(data)
        if tiff is not None:
            if depth >= MAX_DEPTH:
                self.doubt(f"blocks nested too deep in {where}")
            self.exif(data[tiff.start() :], f"the EXIF inside {where}", depth + 1)
        xml = _EMBEDDED_XMP.search(data)
        if xml is not None:
            self.names(data[xml.start() :].decode("latin-1"), f"the XMP inside {where}")
        if _MENTION.search(data):
            self.doubt(f"{where}, in a form it cannot read, mentions GPS")

    # --- EXIF ---

    def exif(self, data: bytes, where: str, depth: int) -> None:
        """EXIF: a TIFF structure (``Exif\\0\\0`` before it or not); its GPS IFD, and every
        block it holds (XMP, Photoshop resources, a thumbnail, a maker's note)."""
        if data[:5] == b"Exif\x00":
            data = data[6:]
        head = bytes(data[:4])
        if head in (b"II*\x00", b"MM\x00*"):
            order = "<" if head[0] == 0x49 else ">"
        elif head in (b"II+\x00", b"MM\x00+"):
            self.doubt(f"a BigTIFF structure in {where}")
        else:
            self.doubt(f"EXIF without a TIFF header in {where}")
        self.tiff(data, order, where, depth)

    def tiff(self, data, order: str, where: str, depth: int) -> None:
        """Walk a TIFF structure's IFDs (the chain from IFD0 and every sub-IFD)."""
        u16, u32 = struct.Struct(order + "H"), struct.Struct(order + "I")
        size = len(data)
        if size < 8:
            self.doubt(f"a cut TIFF header in {where}")
        (first,) = u32.unpack_from(data, 4)
        todo, seen = [(first, "IFD0", True)], set()
        while todo:
            offset, kind, chained = todo.pop()
            if offset == 0 and chained:
                continue
            if offset in seen:
                continue
            seen.add(offset)
            if len(seen) > MAX_IFDS:
                self.doubt(f"too many IFDs in {where}")
            if offset + 2 > size:
                self.doubt(f"an IFD outside {where}")
            (count,) = u16.unpack_from(data, offset)
            end = offset + 2 + 12 * count
            if end > size:
                self.doubt(f"a cut IFD in {where}")
            self.take(12 * count, where)
            self.step(where, count + 1)
            if kind == "GPS":
                for at in range(offset + 2, end, 12):
                    if u16.unpack_from(data, at)[0] != GPS_VERSION:
                        self.position(f"the GPS data of {where}")
                continue
            thumbnail = [None, None]
            for at in range(offset + 2, end, 12):
                tag, kind_, number = struct.unpack_from(order + "HHI", data, at)
                width = _TYPE_SIZES.get(kind_, 0) * number
                if width <= 4:
                    start = at + 8
                else:
                    (start,) = u32.unpack_from(data, at + 8)
                    if start + width > size:
                        if tag in (GPS_IFD, EXIF_IFD, SUB_IFDS, XMP_TAG, PHOTOSHOP_TAG):
                            self.doubt(f"a cut EXIF block in {where}")
                        continue
                if tag in (GPS_IFD, EXIF_IFD, INTEROP_IFD, SUB_IFDS):
                    if kind_ not in (4, 13) or not number:
                        self.doubt(f"a damaged IFD pointer in {where}")
                    pointers = struct.unpack_from(f"{order}{number}I", data, start)
                    todo += [(p, "GPS" if tag == GPS_IFD else "IFD", False) for p in pointers]
                elif tag == XMP_TAG:
                    self.xmp(self.cut(data, start, start + width, where), f"the XMP of {where}")
                elif tag == PHOTOSHOP_TAG:
                    self.photoshop(self.cut(data, start, start + width, where), where, depth)
                elif tag == MAKER_NOTE:
                    note = self.cut(data, start, start + width, where)
                    self.opaque(note, f"the maker's note of {where}", depth)
                elif tag in (THUMBNAIL_OFFSET, THUMBNAIL_LENGTH) and kind_ in (3, 4) and number:
                    value = (u16 if kind_ == 3 else u32).unpack_from(data, start)[0]
                    thumbnail[tag - THUMBNAIL_OFFSET] = value
            if thumbnail[0] is not None and thumbnail[1]:
                self.embedded_jpeg(data, thumbnail[0], thumbnail[1], where, depth)
            if chained:
                todo.append((u32.unpack_from(data, end)[0] if end + 4 <= size else 0, kind, True))

    def embedded_jpeg(self, data, offset: int, length: int, where: str, depth: int) -> None:
        """A JPEG inside another container (an EXIF or Photoshop thumbnail)."""
        from gallery_builder.metaformats import jpeg

        if offset + length > len(data):
            self.doubt(f"a cut thumbnail in {where}")
        if depth >= MAX_DEPTH:
            self.doubt(f"pictures nested too deep in {where}")
        thumbnail = self.cut(data, offset, offset + length, where)
        jpeg(self, thumbnail, f"the thumbnail in {where}", depth + 1)

    # --- Photoshop ---

    def photoshop(self, data: bytes, where: str, depth: int) -> None:
        """Photoshop image resources ("8BIM" blocks): EXIF (1058, 1059), XMP (1060) and the
        thumbnails (1033, 1036) are checked; the others (IPTC place names, print settings)
        hold no position."""
        at, size = 0, len(data)
        self.take(size, where)
        while at + 12 <= size:
            signature, ident, name_length = struct.unpack_from(">4sHB", data, at)
            at += 6 + ((name_length + 2) & ~1)  # the Pascal name, padded to even
            if at + 4 > size:
                self.doubt(f"cut Photoshop resources in {where}")
            (length,) = struct.unpack_from(">I", data, at)
            start, at = at + 4, at + 4 + length + (length & 1)
            if start + length > size:
                self.doubt(f"cut Photoshop resources in {where}")
            if signature != b"8BIM":
                continue
            block = data[start : start + length]
            if ident in (1058, 1059):
                self.exif(block, f"the Photoshop EXIF of {where}", depth)
            elif ident == 1060:
                self.xmp(block, f"the Photoshop XMP of {where}")
            elif ident in (1033, 1036) and length > 28:
                self.embedded_jpeg(block, 28, length - 28, f"Photoshop's {where}", depth)


def printable(text: str, limit: int = 40) -> str:
    """A name read from a file, safe to show: at most ``limit`` characters, each control
    character as ``?``."""
    return re.sub(r"[\x00-\x1f\x7f-\x9f]", "?", text[:limit])


def decode_xml(data: bytes, where: str, scan: Scan) -> str:
    """The text of an XML packet: in the encoding its byte order mark names, else the one its
    first characters' zero bytes show (UTF-16 or UTF-32, either order), else UTF-8. Bytes that
    are not valid in that encoding leave it in doubt."""
    encoding = None
    for bom, name in _BOMS:
        if data.startswith(bom):
            data, encoding = data[len(bom) :], name
            break
    if encoding is None:
        head = data[:4]
        if head[:3] == b"\x00\x00\x00":
            encoding = "utf-32-be"
        elif head[1:4] == b"\x00\x00\x00":
            encoding = "utf-32-le"
        elif head[:1] == b"\x00":
            encoding = "utf-16-be"
        elif head[1:2] == b"\x00":
            encoding = "utf-16-le"
        else:
            encoding = "utf-8"
    if encoding.startswith(("utf-16", "utf-32")):  # a packet padded to its unit's length
        unit = 2 if encoding.startswith("utf-16") else 4
        data = data[: len(data) - len(data) % unit]
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError:
        scan.doubt(f"XMP that is not valid {encoding.upper()} in {where}")
    text = text.rstrip("\x00")  # some writers pad a packet with zeros
    if "\x00" in text:  # zero bytes in a packet: it is in no encoding we can tell
        scan.doubt(f"XMP in an encoding it cannot tell in {where}")
    return text


def check_file(path: str) -> Finding | None:
    """What keeps the original at ``path`` from being known clean, or None when it is."""
    from gallery_builder import metaformats

    scan = Scan()
    try:
        with open(path, "rb") as f:
            size = os.fstat(f.fileno()).st_size
            if size == 0:
                return Finding(False, "it is empty")
            if size <= MAX_READ:
                metaformats.walk(scan, f.read())
            else:  # mapped, not read: only the blocks walked are ever paged in
                with mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as data:
                    metaformats.walk(scan, data)
    except Found as found:
        return found.finding
    except OSError as exc:
        return Finding(False, f"it cannot be read ({exc.strerror or exc})")
    except (struct.error, ValueError, IndexError, OverflowError) as exc:
        # a structure cut where no check expected it: in doubt, never a crash
        return Finding(False, f"its metadata cannot be checked for a GPS position ({exc})")
    return None
