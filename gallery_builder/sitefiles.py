"""Writing the site's files: only when their bytes change, with the content type and cache
policy the manifest lists; and removing what an earlier build wrote that is no longer part of
the site, never anything else."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from gallery_builder import imaging
from gallery_builder.errors import GalleryError
from gallery_builder.model import Site, SiteFile
from gallery_builder.state import BuildState, OutputRecord


def site_file(path: str, md5: str, size: int, cache_control: str) -> SiteFile:
    return SiteFile(path, md5, size, content_type(path), cache_control)


#: content types by file extension: the image formats we write, and what themes ship
CONTENT_TYPES = {
    **{ext: imaging.CONTENT_TYPES[fmt] for fmt, ext in imaging.EXTENSIONS.items()},
    "html": "text/html; charset=utf-8",
    "css": "text/css; charset=utf-8",
    "js": "text/javascript; charset=utf-8",
    "json": "application/json",
    "svg": "image/svg+xml",
    "ico": "image/x-icon",
    "txt": "text/plain; charset=utf-8",
    "xml": "application/xml",
    "woff2": "font/woff2",
    "gif": "image/gif",
}


def content_type(path: str) -> str:
    """The Content-Type a file of this name is served with."""
    return CONTENT_TYPES.get(path.rpartition(".")[2].lower(), "application/octet-stream")


def safe_relpath(relpath: str) -> bool:
    """Whether a site path stays inside the site and clear of what is not published: relative,
    no '..', '.' or empty parts, not under ``.gallery/``. Paths from plugins are checked."""
    parts = relpath.split("/")
    return (
        bool(relpath)
        and not relpath.startswith("/")
        and "\\" not in relpath
        and all(part not in ("", ".", "..") for part in parts)
        and parts[0] != ".gallery"
    )


def exists(path: str | Path, size: int) -> bool:
    """Whether a file is at ``path`` with ``size`` bytes (a cheap check that it is ours)."""
    try:
        return os.stat(path).st_size == size
    except OSError:
        return False


class SiteWriter:
    """Writes site files into ``out_dir``, each only when its bytes differ from what the last
    build wrote there (or ``force``); records each in ``outputs`` and, unless it is the
    manifest, in ``site.files``; appends the paths it actually wrote to ``written``."""

    def __init__(
        self,
        out_dir: Path,
        state: BuildState,
        outputs: dict[str, OutputRecord],
        site: Site,
        written: list[str],
        force: bool = False,
    ):
        self.out_dir = out_dir
        self.state = state
        self.new_outputs = outputs
        self.site = site
        self.written = written
        self.force = force

    def write(self, relpath: str, data: bytes, *, cache_control: str | None) -> None:
        """Write ``relpath`` if it changed; list it in the manifest unless ``cache_control``
        is None (the manifest itself)."""
        if not safe_relpath(relpath):
            raise GalleryError(f"a plugin or theme tried to write outside the site: {relpath!r}")
        if relpath in self.new_outputs:
            raise GalleryError(f"two outputs claim the same file: {relpath}")
        md5 = hashlib.md5(data).hexdigest()
        record = OutputRecord(relpath, md5, len(data))
        old = self.state.outputs.get(relpath)
        target = self.out_dir / relpath
        if self.force or old is None or old.md5 != md5 or not exists(target, len(data)):
            try:
                imaging.write_atomic(target, data)
            except OSError as exc:
                raise GalleryError(f"cannot write {target}: {exc.strerror or exc}") from None
            self.written.append(relpath)
            # recorded at once: if the build fails later, the next one still knows the file
            self.state.outputs[relpath] = record
        self.new_outputs[relpath] = record
        if cache_control is not None:
            self.site.files[relpath] = site_file(relpath, md5, len(data), cache_control)


def remove_stale(
    out_dir: Path, previous: dict[str, OutputRecord], current: dict[str, OutputRecord]
) -> list[str]:
    """Delete files an earlier build wrote that this one did not; never anything else."""
    removed = []
    for relpath in sorted(set(previous) - set(current)):
        if not safe_relpath(relpath):
            continue  # never follow a recorded path out of the site
        target = out_dir / relpath
        try:
            target.unlink()
            removed.append(relpath)
        except FileNotFoundError:
            continue
        parent = target.parent
        while parent != out_dir:
            try:
                parent.rmdir()  # only succeeds when empty
            except OSError:
                break
            parent = parent.parent
    return removed
