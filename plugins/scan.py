"""Built-in scan: walk the source folder; identify pictures by content; fingerprint with MD5."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from gallery_builder import hookimpl
from gallery_builder.config import CONFIG_NAME, Config
from gallery_builder.model import Source

#: files that describe pictures or albums rather than being pictures
NOT_CANDIDATES = frozenset({".txt", ".md", ".toml", ".json", ".xmp", ".html", ".css", ".js"})
CAPTION_SUFFIX = ".txt"

#: (offset, magic bytes, Pillow format) of the formats gallery-builder reads
_SIGNATURES = (
    (0, b"\xff\xd8\xff", "JPEG"),
    (0, b"\x89PNG\r\n\x1a\n", "PNG"),
    (0, b"GIF87a", "GIF"),
    (0, b"GIF89a", "GIF"),
    (0, b"BM", "BMP"),
    (0, b"II*\x00", "TIFF"),
    (0, b"MM\x00*", "TIFF"),
    (8, b"WEBP", "WEBP"),
    (4, b"ftypavif", "AVIF"),
    (4, b"ftypavis", "AVIF"),
)


def _within(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip(os.sep) + os.sep)


def walk(root: Path, exclude: list[Path]) -> list[Source]:
    """Every visible file under ``root`` that may be a picture, with its caption sidecar.

    Symlinks are followed only when their target stays inside ``root``; a folder reached twice
    (a loop, or two links to one folder) is read once, by its real path when it has one.
    """
    real_root = os.path.realpath(root)
    excluded = {os.path.realpath(p) for p in exclude}
    visited: set[tuple[int, int]] = set()
    found: list[Source] = []
    stack = [(real_root, "")]
    linked: list[tuple[str, str]] = []  # folders reached through a symlink: read last
    while stack or linked:
        folder, rel = stack.pop() if stack else linked.pop()
        try:
            info = os.stat(folder)
            entries = sorted(os.scandir(folder), key=lambda e: e.name)
        except OSError:
            continue
        if (info.st_dev, info.st_ino) in visited:
            continue
        visited.add((info.st_dev, info.st_ino))
        names = {e.name for e in entries}
        for entry in entries:
            if entry.name.startswith("."):
                continue
            try:
                is_link = entry.is_symlink()
                if is_link and not _within(os.path.realpath(entry.path), real_root):
                    continue
                if entry.is_dir():
                    if os.path.realpath(entry.path) not in excluded:
                        (linked if is_link else stack).append((entry.path, f"{rel}{entry.name}/"))
                    continue
                if not entry.is_file() or entry.name == CONFIG_NAME:
                    continue
                if os.path.splitext(entry.name)[1].lower() in NOT_CANDIDATES:
                    continue
                stat = entry.stat()
            except OSError:
                continue
            sidecar = _sidecar(folder, entry.name, names)
            sidecar_mtime = 0
            if sidecar:
                try:
                    sidecar_mtime = os.stat(sidecar).st_mtime_ns
                except OSError:
                    sidecar = None
            found.append(
                Source(
                    path=os.path.join(folder, entry.name),
                    relpath=rel + entry.name,
                    size=stat.st_size,
                    mtime_ns=stat.st_mtime_ns,
                    sidecar=sidecar,
                    sidecar_mtime_ns=sidecar_mtime,
                )
            )
    return found


def _sidecar(folder: str, name: str, names: set[str]) -> str | None:
    """``wing.jpg.txt`` or ``wing.txt`` next to ``wing.jpg``."""
    for candidate in (name + CAPTION_SUFFIX, os.path.splitext(name)[0] + CAPTION_SUFFIX):
        if candidate in names:
            return os.path.join(folder, candidate)
    return None


def sniff(head: bytes) -> str:
    """The Pillow format name of a file starting with ``head``, or '' if none we read."""
    for offset, magic, fmt in _SIGNATURES:
        if head[offset : offset + len(magic)] == magic:
            return fmt
    return ""


@hookimpl(trylast=True)
def gallery_scan(config: Config, exclude: list[Path]) -> list[Source]:
    return walk(config.source, exclude)


@hookimpl(trylast=True)
def gallery_identify(source: Source, config: Config) -> str:
    try:
        with open(source.path, "rb") as f:
            return sniff(f.read(32))
    except OSError:
        return ""


@hookimpl(trylast=True)
def gallery_fingerprint(source: Source, config: Config) -> str:
    with open(source.path, "rb") as f:
        return hashlib.file_digest(f, "md5").hexdigest()
