"""Whether a picture file may hold a GPS position: what keeps an original, published byte for
byte, out of the site under ``[images] strip_gps`` (docs/building.md#originals).

A file is taken for clean only when it is *known* clean: every metadata block of it, in every
container its format has, was read and holds no position (see
:mod:`gallery_builder.metascan`, which also says what counts as a position). A position, or
anything that could not be checked, keeps its original back, with the reason.
"""

from __future__ import annotations

import io

from PIL import Image

from gallery_builder.metascan import Finding, Found, Scan, check_file

__all__ = ["Finding", "check_file", "file_has_gps_position", "has_gps_position"]


def file_has_gps_position(path: str) -> bool:
    """Whether the picture at ``path`` may hold a GPS position: it holds one, or it is not
    known clean (see :func:`check_file` for why)."""
    return check_file(path) is not None


def has_gps_position(im: Image.Image) -> bool:
    """:func:`file_has_gps_position` of an opened picture (its file, read again from the
    start)."""
    if getattr(im, "filename", None):
        return file_has_gps_position(str(im.filename))
    if im.fp is None:
        return True
    from gallery_builder import metaformats

    at = im.fp.tell()
    try:
        im.fp.seek(0)
        data = im.fp.read()
    except OSError:
        return True
    finally:
        im.fp.seek(at)
    try:
        metaformats.walk(Scan(), io.BytesIO(data).getbuffer())
    except Found:
        return True
    except Exception:  # a structure cut where no check expected it: in doubt
        return True
    return False
