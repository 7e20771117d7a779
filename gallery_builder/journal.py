"""The build's journal: every file a build is about to put into OUT, recorded before it is put
there, in ``OUT/.gallery/journal``.

The state is saved at the end of a build; a build killed before that (SIGKILL, a power cut)
would leave files the state does not know, never removed, so that OUT would differ from a clean
build. The next build reads the journal: each path in it is taken for a file an earlier build
may have written with any content, so it is written again if the site still has it, and
removed if not, with the temporary files a write may have left next to it. The journal is
emptied once the state that accounts for its paths is saved.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
from collections.abc import Iterable
from pathlib import Path

from gallery_builder.errors import GalleryError

JOURNAL_NAME = "journal"


class Journal:
    """An append-only list of site paths in ``state_dir``; each entry is one JSON string on a
    line, so a line cut short by a kill is simply not read."""

    def __init__(self, state_dir: Path):
        self.path = state_dir / JOURNAL_NAME
        self.added: set[str] = set()  #: the paths this build recorded
        self._fd: int | None = None

    def read(self) -> list[str]:
        """The paths an earlier build recorded and did not account for (unsafe ones left out:
        the journal is in OUT, and anyone may have written it)."""
        from gallery_builder.sitefiles import safe_relpath

        if self.path.is_dir() and not self.path.is_symlink():
            shutil.rmtree(self.path, ignore_errors=True)  # not ours to read: .gallery is ours
        try:
            data = self.path.read_bytes()
        except OSError:  # none (the common case), or not a readable file
            return []
        paths = []
        for line in data.split(b"\n"):
            try:
                path = json.loads(line)
            except ValueError:
                continue
            if isinstance(path, str) and safe_relpath(path) and "\0" not in path:
                paths.append(path)
        return sorted(set(paths))

    def add(self, paths: Iterable[str]) -> None:
        """Record ``paths`` before they are written. A plain write (no fsync): a killed
        process's writes survive it; a power cut may lose the entry and the file alike."""
        new = [p for p in paths if p not in self.added]
        if not new:
            return
        data = "".join(json.dumps(p, ensure_ascii=True) + "\n" for p in new).encode()
        try:
            if self._fd is None:
                self._fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
            os.write(self._fd, data)
        except OSError as exc:
            raise GalleryError(
                f"cannot write {self.path} (the list of files a build writes): "
                f"{exc.strerror or exc}; make {self.path.parent.parent} writable or choose "
                "another output folder (-o)"
            ) from None
        self.added.update(new)

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def clear(self) -> None:
        """Forget every entry: the saved state now accounts for them."""
        self.close()
        self.path.unlink(missing_ok=True)
        self.added.clear()


def remove_leftovers(out_dir: Path, paths: Iterable[str]) -> None:
    """Remove the temporary files a killed write of each of ``paths`` may have left next to it
    (``.NAME.PID.tmp``), and the folders that leaves empty."""
    for relpath in paths:
        target = out_dir / relpath
        pattern = re.compile(re.escape(f".{target.name}.") + r"[0-9]+\.tmp")
        try:
            names = os.listdir(target.parent)
        except OSError:
            names = []
        for name in names:
            if pattern.fullmatch(name):
                # a read-only OUT: left for the build to say it cannot write there
                with contextlib.suppress(OSError):
                    (target.parent / name).unlink(missing_ok=True)
        prune_empty_folders(out_dir, target.parent)


def prune_empty_folders(out_dir: Path, folder: Path) -> None:
    """Remove ``folder`` and its parents up to ``out_dir`` (excluded) while they are empty."""
    while folder != out_dir and out_dir in folder.parents:
        try:
            folder.rmdir()  # only succeeds when empty
        except OSError:
            return
        folder = folder.parent
