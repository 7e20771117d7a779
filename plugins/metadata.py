"""Built-in metadata: displayed size, date taken, camera and caption, without decoding pixels."""

from __future__ import annotations

import os
import stat
import warnings
from datetime import datetime
from pathlib import Path

from gallery_builder.plugins.scan import caption_file
from PIL import ExifTags, Image

from gallery_builder import hookimpl
from gallery_builder.config import Config
from gallery_builder.errors import BadPicture
from gallery_builder.gps import has_gps_position
from gallery_builder.imaging import describe_decode_error, orientation_of, read_exif
from gallery_builder.model import Metadata, Source

_TRANSPOSED = (5, 6, 7, 8)
#: what some cameras write into ImageDescription when nobody wrote a caption
_PLACEHOLDER_CAPTIONS = frozenset(
    {"", "olympus digital camera", "sony dsc", "default", "exif_jpeg_picture", "image"}
)
MAX_CAPTION = 2000


def exif_text(value: object) -> str | None:
    """EXIF ASCII fields hold UTF-8 in practice; Pillow decodes them as latin-1."""
    if isinstance(value, bytes):
        raw = value
    elif isinstance(value, str):
        try:
            raw = value.encode("latin-1")
        except UnicodeEncodeError:
            return value.strip("\x00 \t\r\n") or None
    else:
        return None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        text = raw.decode("latin-1")
    return text.strip("\x00 \t\r\n") or None


def exif_date(value: object) -> str | None:
    """``"2024:05:17 10:42:00"`` -> ``"2024-05-17T10:42:00"``; None when it is not a date."""
    text = exif_text(value)
    if not text:
        return None
    try:
        return datetime.strptime(text[:19], "%Y:%m:%d %H:%M:%S").isoformat()
    except ValueError:
        return None


def camera_name(make: str | None, model: str | None) -> str | None:
    if make and model and model.lower().startswith(make.split()[0].lower()):
        return model  # "Canon" + "Canon EOS R5" -> "Canon EOS R5"
    return " ".join(part for part in (make, model) if part) or None


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
            text = f.read(MAX_CAPTION + 1).strip()
        except OSError:
            return None
    return text[:MAX_CAPTION] or None


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
                has_gps = has_gps_position(im)
    except (OSError, SyntaxError, ValueError, EOFError,
            Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:  # fmt: skip
        raise BadPicture(describe_decode_error(exc)) from None
    if width < 1 or height < 1:
        raise BadPicture(f"has no pixels ({width}x{height})")
    if orientation_of(exif) in _TRANSPOSED:
        width, height = height, width
    description = exif_text(exif.get(ExifTags.Base.ImageDescription))
    if description and description.lower() in _PLACEHOLDER_CAPTIONS:
        description = None
    return Metadata(
        width=width,
        height=height,
        format=fmt,
        taken=exif_date(sub.get(ExifTags.Base.DateTimeOriginal))
        or exif_date(exif.get(ExifTags.Base.DateTime)),
        camera=camera_name(
            exif_text(exif.get(ExifTags.Base.Make)), exif_text(exif.get(ExifTags.Base.Model))
        ),
        caption=read_caption(source, root) or description,
        has_gps=has_gps,
    )


@hookimpl(trylast=True)
def gallery_read_metadata(source: Source, config: Config) -> Metadata:
    return read_metadata(source, config.source)
