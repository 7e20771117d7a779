"""Writing the site's files: only when their bytes change, with the content type and cache
policy the manifest lists; and removing what an earlier build wrote that is no longer part of
the site, never anything else."""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import shutil
from collections.abc import Callable
from pathlib import Path

from gallery_builder import imaging
from gallery_builder.errors import GalleryError
from gallery_builder.filesafety import temporary_path, write_atomic
from gallery_builder.model import Site, SiteFile
from gallery_builder.state import BuildState, OutputRecord


def site_file(
    path: str, md5: str, size: int, cache_control: str, content: str | None = None
) -> SiteFile:
    """A file of the site; its content type ``content``, else the one its name says."""
    return SiteFile(path, md5, size, content or content_type(path), cache_control)


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
    # the other names of the pictures a source may hold, published as originals
    "jpeg": "image/jpeg",
    "jpe": "image/jpeg",
    "jfif": "image/jpeg",
    "tif": "image/tiff",
    "tiff": "image/tiff",
    "bmp": "image/bmp",
    # what plugins commonly add (gallery_site_files, gallery_static_folders)
    "zip": "application/zip",
    "pdf": "application/pdf",
    "atom": "application/atom+xml",
    "rss": "application/rss+xml",
    "webmanifest": "application/manifest+json",
    "csv": "text/csv; charset=utf-8",
    "woff": "font/woff",
    "mp4": "video/mp4",
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

    def write(
        self,
        relpath: str,
        data: bytes,
        *,
        cache_control: str | None,
        content_type: str | None = None,
    ) -> None:
        """Write ``relpath`` if it changed; list it in the manifest unless ``cache_control``
        is None (the manifest itself). ``content_type``: what it is served as, when not what
        its name says."""
        self._claim(relpath, "a plugin or theme tried to write outside the site")
        md5 = hashlib.md5(data).hexdigest()
        record = OutputRecord(relpath, md5, len(data))
        old = self.state.outputs.get(relpath)
        target = self.out_dir / relpath
        if self.force or old is None or old.md5 != md5 or not exists(target, len(data)):
            self.state.journal.add([relpath])  # before: a killed build leaves nothing unknown
            try:
                write_atomic(target, data)
            except OSError as exc:
                raise write_failure(target, exc) from None
            self.written.append(relpath)
            # recorded at once: if the build fails later, the next one still knows the file
            self.state.record_output(record)
        self.new_outputs[relpath] = record
        if cache_control is not None:
            self.site.files[relpath] = site_file(
                relpath, md5, len(data), cache_control, content_type
            )

    def copy(
        self,
        relpath: str,
        source: Path,
        *,
        cache_control: str,
        content_type: str | None = None,
    ) -> None:
        """Copy the file at ``source`` into the site at ``relpath`` if its bytes changed, and
        list it in the manifest. A copy, not a link (as :meth:`place` makes): the file is a
        plugin's, which may write it again in place; it is only read, never moved."""
        md5, size = file_md5(source)
        self._put(
            relpath, md5, size, cache_control, content_type,
            outside="a plugin tried to write outside the site",
            put=lambda target: copy_atomic(source, target),
            failed=f"cannot copy {source} into the site",
        )  # fmt: skip

    def place(
        self,
        relpath: str,
        source_path: str,
        md5: str,
        size: int,
        *,
        cache_control: str,
        content_type: str | None = None,
    ) -> None:
        """Put the file at ``source_path`` into the site at ``relpath`` as it is (see
        :func:`link_or_copy`) and list it in the manifest. ``md5`` and ``size`` are the
        file's, as the build already knows them: nothing is hashed here, and the file is put
        there only when they differ from what the last build put there (or ``force``).
        ``content_type``: what it is served as, when not what its name says."""
        self._put(
            relpath, md5, size, cache_control, content_type,
            outside="a picture's original would be published outside the site",
            put=lambda target: link_or_copy(Path(source_path), target),
            failed=f"cannot put {source_path} into the site",
        )  # fmt: skip

    def _put(
        self,
        relpath: str,
        md5: str,
        size: int,
        cache_control: str,
        content_type: str | None,
        *,
        outside: str,
        put: Callable[[Path], None],
        failed: str,
    ) -> None:
        """The file of :meth:`copy` and :meth:`place`: claimed, ``put`` at its place only when
        its bytes differ from what the last build put there (or ``force``), and listed."""
        self._claim(relpath, outside)
        record = OutputRecord(relpath, md5, size)
        old = self.state.outputs.get(relpath)
        target = self.out_dir / relpath
        if self.force or old is None or old.md5 != md5 or not exists(target, size):
            self.state.journal.add([relpath])
            try:
                put(target)
            except OSError as exc:
                raise GalleryError(f"{failed} as {target}: {exc.strerror or exc}") from None
            self.written.append(relpath)
            self.state.record_output(record)
        self.new_outputs[relpath] = record
        self.site.files[relpath] = site_file(relpath, md5, size, cache_control, content_type)

    def _claim(self, relpath: str, outside: str) -> None:
        if not safe_relpath(relpath):
            raise GalleryError(f"{outside}: {relpath!r}")
        if relpath in self.new_outputs:
            raise GalleryError(f"two outputs claim the same file: {relpath}")
        self._clear_way(relpath)

    def _clear_way(self, relpath: str) -> None:
        """Remove what an earlier build wrote and this one has not (yet) claimed that stands
        where ``relpath`` goes: a file at one of its folders (``a/b.jpg`` before
        ``a/b.jpg/c.jpg``), or a folder at its path holding only such files. Never anything
        the build state does not list."""
        parts = relpath.split("/")
        for end in range(1, len(parts)):
            self._unlink_stale("/".join(parts[:end]))
        target = self.out_dir / relpath
        if not target.is_dir() or target.is_symlink():
            return
        below = relpath + "/"
        for old in [p for p in self.state.outputs if p.startswith(below)]:
            self._unlink_stale(old)
        for folder in sorted((p for p in target.rglob("*") if p.is_dir()), reverse=True):
            with contextlib.suppress(OSError):  # only when empty: never what is not ours
                folder.rmdir()
        with contextlib.suppress(OSError):
            target.rmdir()

    def _unlink_stale(self, relpath: str) -> None:
        if relpath not in self.state.outputs or relpath in self.new_outputs:
            return
        target = self.out_dir / relpath
        if target.is_file() or target.is_symlink():
            target.unlink()
        del self.state.outputs[relpath]  # gone: a failed build must not count on it


def write_failure(target: Path, exc: OSError) -> GalleryError:
    """The error for an output that cannot be written, with advice when it is read-only."""
    message = f"cannot write {target}: {exc.strerror or exc}"
    if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        message += f"; make {target.parent} writable, or choose another output folder (-o)"
    return GalleryError(message)


def file_md5(path: Path) -> tuple[str, int]:
    """The hex MD5 and size of the file at ``path``, read in chunks (it may be large)."""
    digest = hashlib.md5()
    size = 0
    with open(path, "rb") as file:
        while chunk := file.read(1 << 20):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size


def copy_atomic(source: Path, target: Path) -> None:
    """Make ``target`` a copy of ``source``, atomically (a temporary file, then a rename)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = temporary_path(target)
    try:
        shutil.copyfile(source, tmp)
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)


def link_or_copy(source: Path, target: Path) -> None:
    """Make ``target`` hold ``source``'s bytes, atomically: a hard link when both are on one
    file system (no bytes copied), else a copy. ``source`` is only read, never written; nor
    is ``target`` written in place later (every write replaces the file), so the link never
    carries a change back to the source."""
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = temporary_path(target)
    tmp.unlink(missing_ok=True)
    try:
        try:
            os.link(source, tmp)
        except OSError:  # another file system, one without hard links, or not allowed
            shutil.copyfile(source, tmp)
        os.replace(tmp, target)
    finally:
        # rename() onto another link of the same file does nothing, leaving tmp behind
        tmp.unlink(missing_ok=True)


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
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            continue  # gone already, or its path is now a folder, or below a file, of this build
        parent = target.parent
        while parent != out_dir:
            try:
                parent.rmdir()  # only succeeds when empty
            except OSError:
                break
            parent = parent.parent
    return removed
