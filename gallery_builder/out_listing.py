"""Which files the output folder holds, read one folder at a time (``os.scandir``): checking
that each of a large site's images is still there must not cost a ``stat()`` per image."""

from __future__ import annotations

import os
from pathlib import Path


class OutListing:
    """The files in OUT, each folder listed once, when first asked about (so a listing
    taken before the build writes there says what the last build left)."""

    def __init__(self, out_dir: Path | str):
        self.root = str(out_dir)
        self._files: dict[str, frozenset[str]] = {}

    def has(self, relpath: str) -> bool:
        """Whether a file (or a link to one) is at ``relpath``; a folder there is not one."""
        folder, _, name = relpath.rpartition("/")
        names = self._files.get(folder)
        if names is None:
            names = self._files[folder] = self._list(folder)
        return name in names

    def has_all(self, paths: list[str]) -> bool:
        """Whether a file is at each of ``paths``: :meth:`has` without a call per path (a
        no-op build asks it of every image)."""
        files = self._files
        for path in paths:
            folder, _, name = path.rpartition("/")
            names = files.get(folder)
            if names is None:
                names = files[folder] = self._list(folder)
            if name not in names:
                return False
        return True

    def _list(self, folder: str) -> frozenset[str]:
        path = f"{self.root}/{folder}" if folder else self.root
        try:
            with os.scandir(path) as entries:
                return frozenset([e.name for e in entries if e.is_file()])
        except OSError:  # a file that cannot be looked at (rare): each entry on its own
            pass
        try:
            with os.scandir(path) as entries:
                return frozenset(e.name for e in entries if _is_file(e))
        except OSError:  # gone, not a folder, unreadable: nothing there counts as ours
            return frozenset()


def _is_file(entry: os.DirEntry) -> bool:
    try:
        return entry.is_file()
    except OSError:
        return False
