"""The containers of every picture format we read, walked for their metadata blocks, each
handed to the checks of :class:`gallery_builder.metascan.Scan`.

JPEG: every segment, before and between the scans (each EXIF APP1, not only the first; XMP;
extended XMP, reassembled; Photoshop resources; a JFXX thumbnail; comments; unknown ones as
opaque data), the pictures after its end (MPO, thumbnails) and any other data there (in
doubt). PNG: every chunk before or after the pixels (eXIf, text, ImageMagick's raw
profiles). WebP: its EXIF and XMP chunks. AVIF and HEIF: their Exif and XMP items. TIFF: its
IFDs. GIF: its XMP, comments and extensions. BMP: nothing but pixels. Any other format, a
cut structure, or data after the end that no reader is known to skip: in doubt.
"""

from __future__ import annotations

import re
import struct

from gallery_builder.metascan import MAX_DEPTH, Scan, printable

#: bytes a writer may pad a file with after its end
_PADDING = re.compile(rb"(?:[\x00\r\n\t ]|\xff(?!\xd8))*")
#: a marker that ends a JPEG scan's entropy-coded data (not a stuffed zero, a restart, a fill)
_JPEG_MARKER = re.compile(rb"\xff(?![\x00\xd0-\xd7\xff])")
_XMP_APP1 = b"http://ns.adobe.com/xap/1.0/\x00"
_EXTENDED_XMP_APP1 = b"http://ns.adobe.com/xmp/extension/\x00"
#: JPEG segments that hold no metadata, or metadata without a position (ICC profiles, MPF's
#: index of the pictures after the end, Adobe's colour transform, JFIF)
_JPEG_PLAIN = (b"ICC_PROFILE\x00", b"MPF\x00", b"Adobe", b"JFIF\x00")
#: PNG chunks that hold pixels, colour or layout, nothing of a place
_PNG_PLAIN = frozenset(
    b"IHDR PLTE IDAT tRNS cHRM gAMA iCCP sBIT sRGB bKGD hIST pHYs sPLT tIME acTL fcTL fdAT "
    b"oFFs pCAL sCAL sTER cICP mDCV cLLI mDCv cLLi vpAg iDOT orNT caNv".split()
)
#: WebP chunks of pixels and colour
_WEBP_PLAIN = frozenset({b"VP8 ", b"VP8L", b"VP8X", b"ALPH", b"ANIM", b"ANMF", b"ICCP"})
#: ISO base media boxes (AVIF, HEIF) of no metadata at the top of the file
_BMFF_PLAIN = frozenset({b"ftyp", b"mdat", b"free", b"skip", b"wide", b"styp", b"pdin"})
#: the UUID of an XMP box
_XMP_UUID = bytes.fromhex("be7acfcb97a942e89c71999491e3afac")


def sniff(head: bytes) -> str:
    """The format (Pillow's name) of a file starting with these 16 bytes, or ''."""
    if head.startswith(b"\xff\xd8\xff"):
        return "JPEG"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "PNG"
    if head[:4] in (b"II*\x00", b"MM\x00*"):
        return "TIFF"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "WEBP"
    if head[4:12] in (b"ftypavif", b"ftypavis"):
        return "AVIF"
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return "GIF"
    if head[:2] == b"BM":
        return "BMP"
    return ""


def walk(scan: Scan, data) -> None:
    """Check every metadata block of the picture file ``data`` (its bytes, or a map of them)."""
    head = bytes(data[:16])
    if head.startswith(b"\xff\xd8\xff"):
        jpeg(scan, data, "the JPEG", 0)
    elif head.startswith(b"\x89PNG\r\n\x1a\n"):
        png(scan, data)
    elif head[:4] in (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+"):
        scan.exif(data, "the TIFF", 0)
    elif head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        webp(scan, data)
    elif head[4:8] == b"ftyp":
        bmff(scan, data)
    elif head[:6] in (b"GIF87a", b"GIF89a"):
        gif(scan, data)
    elif head[:2] == b"BM":
        bmp(scan, data)
    else:
        scan.doubt("a format it does not know")


def _after_end(scan: Scan, data, at: int, where: str) -> None:
    """Bytes after a file's end: padding only, or in doubt."""
    if not _PADDING.fullmatch(data, at):
        scan.doubt(f"{len(data) - at} bytes after the end of {where} that it cannot read")


# --- JPEG ------------------------------------------------------------------------------------


def jpeg(scan: Scan, data, where: str, depth: int) -> None:
    """A JPEG and the pictures after its end (an MPO's, a phone's depth map)."""
    end = _jpeg_segments(scan, data, 0, where, depth)
    pictures = 1
    while end < len(data):
        match = _PADDING.match(data, end)
        at = match.end()
        if at == len(data):
            return
        if bytes(data[at : at + 3]) != b"\xff\xd8\xff":
            scan.doubt(f"{len(data) - at} bytes after the end of {where} that it cannot read")
        pictures += 1
        if pictures > 64 or depth >= MAX_DEPTH:
            scan.doubt(f"too many pictures in {where}")
        end = _jpeg_segments(scan, data, at, f"picture {pictures} of {where}", depth + 1)


def _jpeg_segments(scan: Scan, data, start: int, where: str, depth: int) -> int:
    """Check the segments of the JPEG at ``start``; the offset just past its end."""
    size = len(data)
    at = start + 2
    extended: dict[bytes, dict[int, bytes]] = {}
    while True:
        if at + 2 > size:
            break  # a file cut short: nothing more a reader could find
        if data[at] != 0xFF:  # junk between segments, which readers skip
            found = data.find(b"\xff", at)
            if found < 0:
                break
            at = found
            continue
        scan.step(where)
        marker = data[at + 1]
        if marker == 0xFF:
            at += 1
            continue
        if marker == 0xD9:
            at += 2
            break
        if 0xD0 <= marker <= 0xD7 or marker in (0x01, 0xD8):
            at += 2
            continue
        if at + 4 > size:
            scan.doubt(f"a cut segment in {where}")
        (length,) = struct.unpack_from(">H", data, at + 2)
        if length < 2 or at + 2 + length > size:
            scan.doubt(f"a cut segment in {where}")
        segment = bytes(data[at + 4 : at + 2 + length]) if marker >= 0xE0 or marker == 0xFE else b""
        _jpeg_segment(scan, marker, segment, where, depth, extended)
        at += 2 + length
        if marker == 0xDA:  # the entropy-coded data, up to the next marker
            found = _JPEG_MARKER.search(data, at)
            at = found.start() if found else size
    for parts in extended.values():
        _extended_xmp(scan, parts, where)
    return at


def _jpeg_segment(
    scan: Scan, marker: int, segment: bytes, where: str, depth: int, extended: dict
) -> None:
    name = (
        f"a comment of {where}" if marker == 0xFE else f"an APP{marker - 0xE0} segment of {where}"
    )
    if marker == 0xE1 and segment.startswith(b"Exif\x00"):
        scan.exif(segment, f"the EXIF of {where}", depth)
    elif marker == 0xE1 and segment.startswith(_XMP_APP1):
        scan.xmp(segment[len(_XMP_APP1) :], f"the XMP of {where}")
    elif marker == 0xE1 and segment.startswith(_EXTENDED_XMP_APP1):
        body = segment[len(_EXTENDED_XMP_APP1) :]
        if len(body) < 40:
            scan.doubt(f"a cut extended XMP segment in {where}")
        guid, (total, offset) = body[:32], struct.unpack_from(">II", body, 32)
        parts = extended.setdefault(guid, {})
        parts[offset] = body[40:]
        parts.setdefault(-1, total.to_bytes(4, "big"))
        scan.take(len(body), where)
    elif marker == 0xED and segment.startswith(b"Photoshop 3.0\x00"):
        scan.photoshop(segment[14:], f"the Photoshop resources of {where}", depth)
    elif marker == 0xE0 and segment.startswith(b"JFXX\x00") and segment[5:6] == b"\x10":
        scan.embedded_jpeg(segment, 6, len(segment) - 6, where, depth)
    elif marker == 0xFE and b"\x00" in segment:  # not text in any 8-bit encoding: XML in UTF-16?
        scan.xmp(segment, name)
    elif marker == 0xFE:
        scan.take(len(segment), name)
        scan.names(segment.decode("latin-1"), name)
    elif marker >= 0xE0 and not segment.startswith(_JPEG_PLAIN):
        if b"<x:xmpmeta" in segment or b"<rdf:RDF" in segment:
            scan.xmp(segment, name)
        else:
            scan.opaque(segment, name)


def _extended_xmp(scan: Scan, parts: dict[int, bytes], where: str) -> None:
    """An extended XMP packet, from its parts: it must be whole, else it is in doubt."""
    total = int.from_bytes(parts.pop(-1), "big")
    packet, at = bytearray(), 0
    for offset in sorted(parts):
        if offset != at:
            break
        packet += parts[offset]
        at += len(parts[offset])
    if at != total:
        scan.doubt(f"an incomplete extended XMP packet in {where}")
    scan.xmp(bytes(packet), f"the extended XMP of {where}")


# --- PNG -------------------------------------------------------------------------------------


def png(scan: Scan, data) -> None:
    at, size = 8, len(data)
    while True:
        if at + 8 > size:
            scan.doubt("a PNG cut before its end (IEND)")
        scan.step("the PNG")
        length, kind = struct.unpack_from(">I4s", data, at)
        body = at + 8
        if length > 0x7FFFFFFF or body + length + 4 > size:
            scan.doubt(f"a cut {printable(kind.decode('latin-1'))!r} chunk")
        at = body + length + 4
        if kind == b"IEND":
            _after_end(scan, data, at, "the PNG")
            return
        if kind in _PNG_PLAIN:
            continue
        where = f"its {printable(kind.decode('latin-1'))} chunk"
        chunk = scan.cut(data, body, body + length, where)
        scan.take(length, where)
        if kind in (b"eXIf", b"exIf"):  # exIf: the name before the standard had one
            scan.exif(chunk, where, 0)
        elif kind in (b"zxIf", b"zXIf"):
            scan.doubt(f"compressed EXIF in {where}, which it does not read")
        elif kind in (b"tEXt", b"zTXt", b"iTXt"):
            _png_text(scan, kind, chunk, where)
        else:
            scan.opaque(chunk, where)


def _png_text(scan: Scan, kind: bytes, chunk: bytes, where: str) -> None:
    keyword, _, rest = chunk.partition(b"\x00")
    name = keyword.decode("latin-1")
    where = f"its {kind.decode()} chunk {printable(name)!r}"
    scan.keyword(name, where)
    if kind == b"zTXt":
        text = scan.inflate(rest[1:], where)
    elif kind == b"iTXt":  # flag, method, language tag, translated keyword, then the text
        parts = rest[2:].split(b"\x00", 2)
        if len(parts) < 3:
            scan.doubt(f"a damaged {where}")
        scan.keyword(parts[1].decode("utf-8", "replace"), where)
        text = scan.inflate(parts[2], where) if rest[:1] == b"\x01" else parts[2]
    else:
        text = rest
    if name.lower().startswith("raw profile type "):
        _raw_profile(scan, name[17:].strip().lower(), text, where)
    elif kind == b"iTXt" or b"\x00" in text:  # UTF-8 by the standard; or XMP in UTF-16/32
        scan.xmp(text, where)
    else:
        scan.names(text.decode("latin-1"), where)


def _raw_profile(scan: Scan, name: str, text: bytes, where: str) -> None:
    """ImageMagick's hex-encoded profile: a newline, its name, its length, then hex digits."""
    fields = text.split(None, 2)
    if len(fields) < 2 or not fields[1].isdigit():
        scan.doubt(f"a damaged {where}")
    digits = re.sub(rb"\s+", b"", fields[2]) if len(fields) == 3 else b""
    try:
        profile = bytes.fromhex(digits.decode("ascii"))
    except ValueError:
        scan.doubt(f"a damaged {where}")
    if name == "exif" or (name == "app1" and profile.startswith(b"Exif\x00")):
        scan.exif(profile, where, 0)
    elif name in ("iptc", "8bim"):
        if name == "8bim":
            scan.photoshop(profile, where, 0)
    elif name in ("icc", "icm"):
        return
    elif name == "app1" and profile.startswith(_XMP_APP1):
        scan.xmp(profile[len(_XMP_APP1) :], where)
    else:
        scan.xmp(profile, where)


# --- WebP, GIF, BMP --------------------------------------------------------------------------


def webp(scan: Scan, data) -> None:
    (riff_size,) = struct.unpack_from("<I", data, 4)
    end = 8 + riff_size
    if end > len(data):
        scan.doubt("a cut WebP")
    at = 12
    while at + 8 <= end:
        scan.step("the WebP")
        kind, length = struct.unpack_from("<4sI", data, at)
        body = at + 8
        if body + length > end:
            scan.doubt(f"a cut {printable(kind.decode('latin-1'))!r} chunk")
        at = body + length + (length & 1)
        if kind in _WEBP_PLAIN:
            continue
        where = f"its {printable(kind.decode('latin-1')).strip()} chunk"
        chunk = scan.cut(data, body, body + length, where)
        if kind == b"EXIF":
            scan.take(length, where)
            scan.exif(chunk, where, 0)
        elif kind == b"XMP ":
            scan.xmp(chunk, where)
        else:
            scan.opaque(chunk, where)
    _after_end(scan, data, end + (end & 1), "the WebP")


#: what ends raw XMP in a GIF: a "magic trailer" (1, 255, 254 … 0) that makes a reader
#: walking the packet's bytes as sub-blocks land on the terminator, then the terminator
_GIF_XMP_TRAILER = b"\x01" + bytes(range(255, -1, -1)) + b"\x00"
#: GIF application extensions of no metadata: looping, colour profile, animation
_GIF_PLAIN = (b"NETSCAPE2.0", b"ICCRGBG1012", b"ANIMEXTS1.0")


def gif(scan: Scan, data) -> None:
    size = len(data)
    flags = data[10]
    at = 13 + (3 << ((flags & 7) + 1) if flags & 0x80 else 0)
    while at < size:
        scan.step("the GIF")
        block = data[at]
        if block == 0x3B:  # the trailer
            _after_end(scan, data, at + 1, "the GIF")
            return
        if block == 0x2C:  # an image: its descriptor, colour table, LZW size, then data
            flags = data[at + 9]
            at += 10 + (3 << ((flags & 7) + 1) if flags & 0x80 else 0) + 1
            at = _gif_blocks(scan, data, at)
        elif block == 0x21:
            label, start = data[at + 1], at + 2
            at = _gif_blocks(scan, data, start)
            raw = scan.cut(data, start, at, "an extension block")
            if label == 0xFF and raw[1:12] == b"XMP DataXMP":  # raw XMP, its own "sub-blocks"
                packet = raw[12:].removesuffix(_GIF_XMP_TRAILER)
                scan.xmp(packet, "its XMP")
            elif label == 0xFE:
                scan.take(len(raw), "a comment")
                text = _gif_data(raw)
                if b"\x00" in text:
                    scan.xmp(text, "its comment")
                else:
                    scan.names(text.decode("latin-1"), "its comment")
            elif label == 0xFF and raw[1:12] not in _GIF_PLAIN:
                scan.opaque(raw, "an application extension")
        else:
            scan.doubt("a damaged GIF")
    scan.doubt("a GIF cut before its end")


def _gif_data(raw: bytes) -> bytes:
    """The data of a run of GIF sub-blocks, without their length bytes."""
    out, at = bytearray(), 0
    while at < len(raw) and raw[at]:
        out += raw[at + 1 : at + 1 + raw[at]]
        at += 1 + raw[at]
    return bytes(out)


def _gif_blocks(scan: Scan, data, at: int) -> int:
    """The offset past a run of GIF sub-blocks (each a length byte and data; 0 ends it)."""
    size = len(data)
    while at < size:
        scan.step("the GIF")
        length = data[at]
        at += 1 + length
        if length == 0:
            return at
    scan.doubt("a GIF cut before its end")
    return at


def bmp(scan: Scan, data) -> None:
    """A BMP holds pixels (and maybe an ICC profile), nothing else; only what follows the size
    its header gives is looked at."""
    (declared,) = struct.unpack_from("<I", data, 2)
    if declared < len(data):
        _after_end(scan, data, declared, "the BMP")


# --- AVIF, HEIF (ISO base media) -------------------------------------------------------------


def _boxes(scan: Scan, data, start: int, end: int):
    """(type, body start, body end) of each box from ``start`` to ``end``."""
    at = start
    while at + 8 <= end:
        scan.step("its boxes")
        size, kind = struct.unpack_from(">I4s", data, at)
        head = 8
        if size == 1:
            if at + 16 > end:
                scan.doubt("a cut box")
            (size,) = struct.unpack_from(">Q", data, at + 8)
            head = 16
        elif size == 0:
            size = end - at
        if size < head or at + size > end:
            scan.doubt(f"a cut {printable(kind.decode('latin-1'))!r} box")
        yield kind, at + head, at + size
        at += size
    if at != end and not _PADDING.fullmatch(data, at, end):
        scan.doubt("data between boxes that it cannot read")


def bmff(scan: Scan, data) -> None:
    for kind, start, end in _boxes(scan, data, 0, len(data)):
        if kind in _BMFF_PLAIN:
            continue
        if kind == b"meta":
            _bmff_meta(scan, data, start + 4, end)
        elif kind == b"uuid" and bytes(data[start : start + 16]) == _XMP_UUID:
            scan.xmp(scan.cut(data, start + 16, end, "its XMP box"), "its XMP box")
        elif kind == b"moov":
            scan.doubt("an image sequence, whose tracks it does not read")
        else:
            where = f"its {printable(kind.decode('latin-1'))!r} box"
            scan.opaque(scan.cut(data, start, end, where), where)


def _bmff_meta(scan: Scan, data, start: int, end: int) -> None:
    """The item boxes of a ``meta`` box: each Exif or XMP item's data, wherever iloc says."""
    boxes = {kind: (s, e) for kind, s, e in _boxes(scan, data, start, end)}
    if b"iinf" not in boxes:
        return
    items = _bmff_items(scan, data, *boxes[b"iinf"])
    if not items:
        return
    if b"iloc" not in boxes:
        scan.doubt("metadata items without their locations")
    places = _bmff_locations(scan, data, *boxes[b"iloc"])
    idat = boxes.get(b"idat")
    for ident, (kind, what) in items.items():
        where = f"its {what} item"
        chunks = []
        for method, offset, length in places.get(ident, []):
            base, limit = (idat[0], idat[1]) if method == 1 and idat else (0, len(data))
            if method not in (0, 1) or (method == 1 and not idat):
                scan.doubt(f"{where}, stored in a way it does not read")
            if length == 0:
                length = limit - base - offset
            if base + offset + length > limit:
                scan.doubt(f"a cut {where}")
            chunks.append(scan.cut(data, base + offset, base + offset + length, where))
        if ident not in places:
            scan.doubt(f"{where} without its location")
        item = b"".join(chunks)
        scan.take(len(item), where)
        if kind == "exif":
            if len(item) < 4:
                scan.doubt(f"a cut {where}")
            skip = int.from_bytes(item[:4], "big")
            scan.exif(item[4 + skip :], where, 0)
        elif kind == "xmp":
            scan.xmp(item, where)
        else:
            scan.opaque(item, where)


#: item types of pictures, which hold no metadata of their own
_BMFF_PICTURES = frozenset(
    {b"av01", b"hvc1", b"hev1", b"grid", b"iden", b"iovl", b"tmap", b"jpeg", b"unci", b"vvc1"}
)


def _bmff_items(scan: Scan, data, start: int, end: int) -> dict[int, tuple[str, str]]:
    """Item ID -> (``exif``, ``xmp`` or ``other``, what) of each metadata item of an iinf."""
    version = data[start]
    at = start + 4 + (2 if version == 0 else 4)
    items = {}
    for kind, s, e in _boxes(scan, data, at, end):
        if kind != b"infe":
            continue
        version = data[s]
        at = s + 4
        if version < 2:
            ident = struct.unpack_from(">H", data, at)[0]
            item_type, rest = b"mime", scan.cut(data, at + 4, e, "its item information")
        else:
            id_size = 2 if version == 2 else 4
            ident = int.from_bytes(data[at : at + id_size], "big")
            item_type = bytes(data[at + id_size + 2 : at + id_size + 6])
            rest = scan.cut(data, at + id_size + 6, e, "its item information")
        if item_type in _BMFF_PICTURES:
            continue
        fields = rest.split(b"\x00")  # name, then for mime: content type, encoding
        if item_type == b"Exif":
            items[ident] = ("exif", "Exif")
        elif item_type == b"mime":
            content = printable(fields[1].decode("latin-1")) if len(fields) > 1 else ""
            encoding = printable(fields[2].decode("latin-1")) if len(fields) > 2 else ""
            if encoding:
                scan.doubt(f"a {content} item encoded as {encoding}")
            items[ident] = ("xmp" if "xml" in content or "rdf" in content else "other", content)
        else:
            items[ident] = ("other", printable(item_type.decode("latin-1")))
    return items


def _bmff_locations(scan: Scan, data, start: int, end: int) -> dict[int, list]:
    """Item ID -> [(construction method, offset, length)] of an iloc box."""
    version = data[start]
    sizes = data[start + 4], data[start + 5]
    offset_size, length_size = sizes[0] >> 4, sizes[0] & 15
    base_size, index_size = sizes[1] >> 4, (sizes[1] & 15) if version in (1, 2) else 0
    at = start + 6

    def number(width: int) -> int:
        nonlocal at
        if at + width > end:
            scan.doubt("a cut iloc box")
        value = int.from_bytes(data[at : at + width], "big")
        at += width
        return value

    places: dict[int, list] = {}
    for _ in range(number(2 if version < 2 else 4)):
        scan.step("its iloc box")
        ident = number(2 if version < 2 else 4)
        method = number(2) & 15 if version in (1, 2) else 0
        number(2)  # the data reference
        base = number(base_size)
        for _ in range(number(2)):
            scan.step("its iloc box")
            number(index_size)
            offset, length = number(offset_size), number(length_size)
            places.setdefault(ident, []).append((method, base + offset, length))
    return places
