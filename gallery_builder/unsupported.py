"""Files that look like media gallery-builder cannot publish yet (HEIC, videos, camera raw…):
named, by their extension or their first bytes, so that a build says it skipped them rather
than dropping them without a word. Pure functions, no I/O."""

from __future__ import annotations

import posixpath

#: how many first bytes :func:`unsupported_media` looks at
HEAD_SIZE = 64

#: camera raw files, by extension
RAW_EXTENSIONS = (
    ".cr2", ".cr3", ".crw", ".nef", ".nrw", ".arw", ".srf", ".sr2", ".dng", ".orf", ".rw2",
    ".raf", ".pef", ".srw", ".x3f", ".3fr", ".erf", ".kdc", ".mrw", ".raw", ".rwl", ".iiq",
)  # fmt: skip

#: extension -> the name a user knows the format by
EXTENSIONS = {
    **dict.fromkeys((".heic", ".heics", ".hif"), "HEIC"),
    **dict.fromkeys((".heif", ".heifs"), "HEIF"),
    ".avifs": "AVIF sequence",
    ".jxl": "JPEG XL",
    ".svg": "SVG",
    ".svgz": "SVG",
    ".psd": "PSD",
    ".psb": "PSD",
    ".xcf": "XCF",
    ".jp2": "JPEG 2000",
    ".j2k": "JPEG 2000",
    ".exr": "OpenEXR",
    ".hdr": "HDR",
    # camera raw: most are TIFF inside, but their pixels are not what Pillow would show
    **{ext: f"{ext[1:].upper()} (camera raw)" for ext in RAW_EXTENSIONS},
    # videos
    ".mp4": "MP4",
    ".m4v": "M4V",
    ".mov": "MOV",
    ".qt": "MOV",
    ".webm": "WebM",
    ".mkv": "MKV",
    ".avi": "AVI",
    ".wmv": "WMV",
    ".flv": "FLV",
    ".mpg": "MPEG",
    ".mpeg": "MPEG",
    ".mts": "AVCHD",
    ".m2ts": "AVCHD",
    ".3gp": "3GP",
    ".3g2": "3GP",
    ".ogv": "Ogg video",
    ".insv": "360° video",
    ".lrv": "low-resolution video",
}

#: the brand of an ISO media file (``....ftypBRND``) -> its format
_BRANDS = {
    **dict.fromkeys((b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"hevm"), "HEIC"),
    **dict.fromkeys((b"mif1", b"msf1", b"mif2"), "HEIF"),
    b"avis": "AVIF sequence",
    b"crx ": "CR3 (camera raw)",
    b"qt  ": "MOV",
    **dict.fromkeys((b"M4V ", b"M4VH", b"M4VP"), "M4V"),
    **dict.fromkeys((b"3gp4", b"3gp5", b"3gp6", b"3g2a", b"3ge6", b"3gg6"), "3GP"),
}
_MP4_BRANDS = (b"isom", b"iso2", b"iso4", b"iso5", b"iso6", b"mp41", b"mp42", b"avc1", b"dash")


def unsupported_media(name: str, head: bytes) -> str | None:
    """The format of a file named ``name`` that starts with ``head`` when it is media that
    cannot be published yet ("HEIC", "MP4"…); None when it does not look like media."""
    by_content = _by_content(head)
    if by_content:
        return by_content
    return EXTENSIONS.get(posixpath.splitext(name)[1].lower())


_REASON_END = " is not supported yet"


def reason(kind: str) -> str:
    """Why such a file is skipped, as a build reports it."""
    return kind + _REASON_END


def is_unsupported(error: str | None) -> bool:
    """Whether a skipped file's reason is :func:`reason`'s."""
    return bool(error) and error.endswith(_REASON_END)


def is_camera_raw(kind: str | None) -> bool:
    return bool(kind) and kind.endswith("(camera raw)")


def _by_content(head: bytes) -> str | None:
    if head[4:8] == b"ftyp":
        brand = head[8:12]
        if brand in _BRANDS:
            return _BRANDS[brand]
        if brand in _MP4_BRANDS:
            return "MP4"
        return None
    if head.startswith(b"\x1a\x45\xdf\xa3"):  # EBML: Matroska or WebM
        return "WebM" if b"webm" in head else "MKV"
    if head.startswith(b"RIFF") and head[8:12] == b"AVI ":
        return "AVI"
    if head.startswith(b"\xff\x0a") or head.startswith(b"\x00\x00\x00\x0cJXL \r\n\x87\n"):
        return "JPEG XL"
    if head.startswith(b"8BPS"):
        return "PSD"
    if head.startswith(b"gimp xcf"):
        return "XCF"
    if head.startswith(b"\x00\x00\x00\x0cjP  \r\n\x87\n") or head.startswith(b"\xff\x4f\xff\x51"):
        return "JPEG 2000"
    if head.startswith(b"FUJIFILMCCD-RAW"):
        return "RAF (camera raw)"
    if head.startswith(b"IIRO") or head.startswith(b"IIRS"):
        return "ORF (camera raw)"
    if head.startswith(b"II*\x00") and head[8:10] == b"CR":
        return "CR2 (camera raw)"
    return None
