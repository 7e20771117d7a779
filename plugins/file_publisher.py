"""Built-in publisher for ``file:///path``: a folder laid out exactly like the bucket would be.

For trying a publish without AWS, and for serving a gallery from any web server. A file system
keeps no headers, so content types and cache policies are the web server's business.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from gallery_builder import hookimpl
from gallery_builder.errors import GalleryError, SettingError
from gallery_builder.filesafety import is_below, write_atomic
from gallery_builder.keys import key_problem
from gallery_builder.manifest import MANIFEST_NAME
from gallery_builder.neighbours import ancestor_manifests
from gallery_builder.publisher import BasePublisher, PublishConflict

LEASE = ".gallery-publish.lock"


class FilePublisher(BasePublisher):
    """A publisher into the folder ``root``."""

    def __init__(self, root: Path):
        self.root = root
        self.location = root.as_uri() + "/"
        #: the folder every path must resolve inside (see confine)
        self._base = root
        self._prefix = ""

    def confine(self, prefix: str, keys: Iterable[str] = ()) -> None:
        """From now on, every key must resolve inside ``root/prefix`` (symlinks followed);
        ``keys`` are checked at once, so that a plan is refused before its first write."""
        self._prefix = prefix
        self._base = self.root / prefix if prefix else self.root
        for key in keys:
            self._path(key)

    def url(self, key: str) -> str:
        """A file URL; a folder's is its index.html, which no browser opens by itself."""
        if key == "" or key.endswith("/"):
            key += "index.html"
        return (self.root / key).as_uri()

    def _path(self, key: str, *, reading: bool = False) -> Path:
        """The file of ``key``; refused unless ``key`` is a safe key that, symlinked folders
        followed, lands inside the gallery's folder (a remote manifest is untrusted). A read
        may go anywhere inside ``root`` (another gallery's manifest, above this one): it
        changes nothing."""
        problem = key_problem(key)
        if problem:
            raise GalleryError(
                f"refusing the key {key!r} ({problem}): not a file of the gallery at "
                f"{self.location}{self._prefix}; nothing was written or deleted for it"
            )
        path = self.root / key
        base = os.path.realpath(self._base)
        resolved = os.path.realpath(path)
        allowed = [base, os.path.realpath(self.root)] if reading else [base]
        if not any(is_below(resolved, folder) for folder in allowed):
            raise GalleryError(
                f"refusing {path}: it resolves to {resolved}, outside the gallery's folder "
                f"{base} (a symbolic link?); nothing was written or deleted for it"
            )
        return path

    def read(self, key: str) -> tuple[bytes, str] | None:
        path = self._path(key, reading=True)
        try:
            data = path.read_bytes()
        except (FileNotFoundError, NotADirectoryError):
            return None
        except IsADirectoryError:
            raise GalleryError(
                f"{path} is a folder where the gallery keeps a file; move it away, then "
                "publish again"
            ) from None
        return data, hashlib.md5(data).hexdigest()

    def existing(self, entries: dict[str, dict[str, Any]], *, headers: bool = True) -> set[str]:
        # a folder keeps no headers: the bytes are all there is to compare, either way
        found = set()
        for key, entry in entries.items():
            current = self.read(key)
            if current is not None and current[1] == entry["md5"]:
                found.add(key)
        return found

    def stat(self, keys: list[str], *, anonymous: bool = False) -> dict[str, Any]:
        """What is stored under ``keys``: bytes only (a folder keeps no headers); a folder
        has no anonymous readers of its own (its web server's are checked over HTTP)."""
        from gallery_builder.verify import ObjectInfo

        found: dict[str, Any] = {}
        for key in keys:
            current = None if anonymous else self.read(key)
            found[key] = current and ObjectInfo(current[1], len(current[0]), headers=False)
        return found

    def upload(
        self, key: str, file: Path, entry: dict[str, Any], *, replaces: str | None = None
    ) -> None:
        data = file.read_bytes()
        if hashlib.md5(data).hexdigest() != entry["md5"]:
            raise GalleryError(f"{file} changed since the site was built; build it again")
        self._check_replaces(key, replaces)
        write_atomic(self._path(key), data)

    def retag(self, key: str, entry: dict[str, Any], *, replaces: str | None = None) -> None:
        """Nothing to write: a file system keeps no headers."""
        self._check_replaces(key, replaces)

    def _check_replaces(self, key: str, replaces: str | None) -> None:
        # under the lock no other publish of this gallery writes: the bytes are re-checked so
        # that a file is replaced only if it is still the one the live manifest lists
        if replaces is None:
            return
        current = self.read(key)
        if current is not None and current[1] != replaces:
            raise PublishConflict(
                f"{self.location}{key} no longer holds the file the live manifest lists: "
                "another publish replaced it while this one ran; this one stopped before its "
                "commit: run gallery publish again"
            )

    def manifests_near(self, prefix: str) -> list[str]:
        """Other galleries' manifests above ``prefix`` (each parent folder, the root) and in
        any folder below it."""
        found = [
            key for key in ancestor_manifests(prefix) if self._path(key, reading=True).is_file()
        ]
        top = self._path(prefix) if prefix else self.root
        for folder, dirs, files in os.walk(top):
            dirs.sort()
            if Path(folder) != top and MANIFEST_NAME in files:
                found.append((Path(folder) / MANIFEST_NAME).relative_to(self.root).as_posix())
        return found

    def gallery_manifests(self) -> list[str]:
        """The key of every ``manifest.json`` in the folder (the bucket root's listing of
        galleries reads them); hidden folders (locks, build state) are left out."""
        found = []
        for folder, dirs, files in os.walk(self.root):
            dirs[:] = sorted(d for d in dirs if not d.startswith("."))
            if MANIFEST_NAME in files:
                found.append((Path(folder) / MANIFEST_NAME).relative_to(self.root).as_posix())
        return found

    def commit(self, key: str, data: bytes, base_etag: str | None) -> str:
        current = self.read(key)
        if (current[1] if current else None) != base_etag:
            raise PublishConflict(
                f"another publish changed {self.location}{key} since this one started; "
                "nothing of this publish is live yet: run gallery publish again"
            )
        write_atomic(self._path(key), data)
        return hashlib.md5(data).hexdigest()

    def delete(self, keys: list[str]) -> None:
        for key in keys:
            target = self._path(key)
            target.unlink(missing_ok=True)
            parent = target.parent
            while parent != self._base and self._base in parent.parents:
                try:
                    parent.rmdir()  # only when empty
                except OSError:
                    break
                parent = parent.parent

    @contextlib.contextmanager
    def lease(self, prefix: str) -> Iterator[None]:
        """A lock file: a second publish of the same gallery is refused while this one runs."""
        folder = self._path(prefix) if prefix else self._path(LEASE).parent
        folder.mkdir(parents=True, exist_ok=True)
        with (folder / LEASE).open("a") as lock:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise PublishConflict(
                    f"another publish is writing {self.location} right now; "
                    "wait for it to finish, then run gallery publish again"
                ) from None
            yield


def folder_of(target: str) -> Path:
    """The folder a ``file:///abs/path`` target names (a SettingError for any other shape)."""
    parts = urlsplit(target)
    if parts.netloc not in ("", "localhost") or not parts.path.startswith("/"):
        raise SettingError(f"'{target}' is not a file URL; write file:///absolute/path")
    return Path(unquote(parts.path))


def file_publisher(target: str) -> FilePublisher:
    """``file:///abs/path`` -> a publisher into that folder. It declares no options: a
    folder has no region and no CDN (``--cdn`` with a file target is a usage error)."""
    root = folder_of(target)
    if root.exists() and not root.is_dir():
        raise SettingError(f"{root} is not a folder")
    return FilePublisher(Path(os.path.abspath(root)))


#: the checks of a target before any request (`gallery build` runs them on [publish] target)
file_publisher.check_target = folder_of  # type: ignore[attr-defined]


@hookimpl
def gallery_publishers() -> dict[str, Any]:
    return {"file": file_publisher}
