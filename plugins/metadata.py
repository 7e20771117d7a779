"""Built-in metadata: displayed size, date taken, camera and caption, without decoding pixels."""

from __future__ import annotations

import os
import re
import stat
import warnings
from datetime import datetime
from pathlib import Path

from gallery_builder.plugins.scan import caption_file
from PIL import ExifTags, Image

from gallery_builder import hookimpl
from gallery_builder.config import Config
from gallery_builder.errors import BadPicture
from gallery_builder.gps import check_file
from gallery_builder.imaging import describe_decode_error, orientation_of, read_exif
from gallery_builder.model import Metadata, Source

_TRANSPOSED = (5, 6, 7, 8)
#: what some cameras write into ImageDescription when nobody wrote a caption
_PLACEHOLDER_CAPTIONS = frozenset(
    {"", "olympus digital camera", "sony dsc", "default", "exif_jpeg_picture", "image"}
)
#: the most characters of a caption (a sidecar's or the EXIF ImageDescription) on a page
MAX_CAPTION = 2000
#: the most characters of a camera's name (EXIF Make and Model, each and together)
MAX_CAMERA = 200
#: what never reaches a page from a picture: C0 controls but the newline (a tab and a
#: carriage return become white space first), DEL, C1 controls, the bidirectional embeddings,
#: overrides and isolates (which can make a name read backwards), and non-characters
_UNSHOWN = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\ufeff\ufffe\uffff]")


def clean_text(text: str, limit: int, *, lines: bool = False) -> str | None:
    """``text`` as a page may show it: at most ``limit`` characters, without control
    characters (:data:`_UNSHOWN`), trimmed; with ``lines`` its line breaks are kept (``\n``),
    else every run of white space is one space. None when nothing is left. Linear in ``limit``,
    whatever the length of ``text``: a longer one is cut first (with room for what goes)."""
    text = text[: limit * 4].replace("\r\n", "\n").replace("\r", "\n").replace("\t", " ")
    text = _UNSHOWN.sub("", text)
    if not lines:
        text = " ".join(text.split())
    return text.strip()[:limit].rstrip() or None


def exif_text(value: object, limit: int = MAX_CAPTION, *, lines: bool = False) -> str | None:
    """An EXIF text field as a page may show it (see :func:`clean_text`). EXIF ASCII fields
    hold UTF-8 in practice; Pillow decodes them as latin-1."""
    if isinstance(value, bytes):
        raw = value[: limit * 8]  # enough bytes for ``limit`` characters and what goes
    elif isinstance(value, str):
        try:
            raw = value[: limit * 8].encode("latin-1")
        except UnicodeEncodeError:
            return clean_text(value, limit, lines=lines)
    else:
        return None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        text = raw.decode("utf-8", "ignore") if _cut_utf8(raw) else raw.decode("latin-1")
    return clean_text(text, limit, lines=lines)


def _cut_utf8(raw: bytes) -> bool:
    """Whether ``raw`` is UTF-8 but for a character cut at its end."""
    try:
        raw[:-3].decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def exif_date(value: object) -> str | None:
    """``"2024:05:17 10:42:00"`` -> ``"2024-05-17T10:42:00"``; None when it is not a date."""
    text = exif_text(value, 64)
    if not text:
        return None
    try:
        return datetime.strptime(text[:19], "%Y:%m:%d %H:%M:%S").isoformat()
    except ValueError:
        return None


def camera_name(make: str | None, model: str | None) -> str | None:
    if make and model and model.lower().startswith(make.split()[0].lower()):
        return model  # "Canon" + "Canon EOS R5" -> "Canon EOS R5"
    name = " ".join(part for part in (make, model) if part)
    return clean_text(name, MAX_CAMERA)


def read_caption(source: Source, root: Path | None = None) -> str | None:
    """The text of the picture's caption sidecar, if it is a regular file and, given ``root``
    (the source folder), inside it. The scan checked both, but a sidecar may come from another
    plugin's scan, or have been replaced since."""
    if not source.sidecar:
        return None
    if root is not None and caption_file(source.sidecar, os.path.realpath(root)) is None:
        return None
    try:
        # O_NONBLOCK: should it have become a FIFO since, opening it must not wait for a writer
        fd = os.open(source.sidecar, os.O_RDONLY | os.O_NONBLOCK)
    except OSError:
        return None
    with open(fd, encoding="utf-8-sig", errors="replace") as f:
        try:
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                return None
            text = f.read(MAX_CAPTION * 4)
        except OSError:
            return None
    return clean_text(text, MAX_CAPTION, lines=True)


def read_metadata(source: Source, root: Path | None = None) -> Metadata:
    """Open the picture's header (no pixel decoding) and read what a visitor sees; ``root`` is
    the source folder, which a caption sidecar must be inside (see :func:`read_caption`)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(source.path) as im:
                width, height = im.size
                fmt = im.format or ""
                exif = read_exif(im)
                sub = exif.get_ifd(ExifTags.IFD.Exif)
    except (OSError, SyntaxError, ValueError, EOFError,
            Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:  # fmt: skip
        raise BadPicture(describe_decode_error(exc)) from None
    if width < 1 or height < 1:
        raise BadPicture(f"has no pixels ({width}x{height})")
    gps = check_file(source.path)  # every metadata block, not only those Pillow reads
    if orientation_of(exif) in _TRANSPOSED:
        width, height = height, width
    description = exif_text(exif.get(ExifTags.Base.ImageDescription), lines=True)
    if description and description.lower() in _PLACEHOLDER_CAPTIONS:
        description = None
    return Metadata(
        width=width,
        height=height,
        format=fmt,
        taken=exif_date(sub.get(ExifTags.Base.DateTimeOriginal))
        or exif_date(exif.get(ExifTags.Base.DateTime)),
        camera=camera_name(
            exif_text(exif.get(ExifTags.Base.Make), MAX_CAMERA),
            exif_text(exif.get(ExifTags.Base.Model), MAX_CAMERA),
        ),
        caption=read_caption(source, root) or description,
        has_gps=gps is not None,
        gps_note=gps.reason if gps else None,
    )


@hookimpl(trylast=True)
def gallery_read_metadata(source: Source, config: Config) -> Metadata:
    return read_metadata(source, config.source)
