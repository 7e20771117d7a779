"""The two file-safety rules of gallery-builder, each spelt once.

- **Inside**: a path read from, or written to, on the user's behalf must resolve (every link
  followed) inside the folder it belongs to: the source (a link out of it would publish what
  the user never put there), a theme, a ``file://`` gallery.
- **Atomic**: a file is written beside its target under a hidden temporary name and renamed
  over it, so that no reader ever sees a part of it, and no temporary file is left behind
  when writing fails. (The build state's database and the private keys of private galleries
  add durability and permissions of their own: gallery_builder/state.py,
  plugins/cloudfront_keys.py.)
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path


def is_below(real: str, real_root: str) -> bool:
    """Whether the real path ``real`` is ``real_root`` or below it; both as
    ``os.path.realpath`` gives them (pure: no file system access)."""
    return real == real_root or real.startswith(real_root.rstrip(os.sep) + os.sep)


def resolves_inside(path: str | Path, folder: str | Path) -> bool:
    """Whether ``path`` resolves (every link followed) inside ``folder`` (resolved too)."""
    return is_below(os.path.realpath(path), os.path.realpath(folder))


def temporary_path(target: Path) -> Path:
    """The hidden name beside ``target`` that it is written at before its rename:
    ``.<name>.<pid>.tmp``, or, for a name too long to take that within a file name's 255
    bytes, ``.<hash16 of the name>.<pid>.tmp`` (gallery_builder.journal removes what a killed
    build leaves by these names)."""
    name = f".{target.name}.{os.getpid()}.tmp"
    if len(os.fsencode(name)) > 255:
        digest = hashlib.sha256(os.fsencode(target.name)).hexdigest()[:16]
        name = f".{digest}.{os.getpid()}.tmp"
    return target.with_name(name)


def write_atomic(target: Path, data: bytes) -> None:
    """Write ``data`` to ``target`` so that no reader ever sees a part of it; no temporary file
    is left behind when writing fails."""
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = temporary_path(target)
    try:
        tmp.write_bytes(data)
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
