"""Built-in scan: walk the source folder; identify pictures by content; fingerprint with MD5."""

from __future__ import annotations

import hashlib
import os
import stat
from pathlib import Path

from gallery_builder import hookimpl, unsupported
from gallery_builder.config import CONFIG_NAME, Config
from gallery_builder.errors import BadPicture, GalleryError
from gallery_builder.filesafety import is_below
from gallery_builder.model import Source
from gallery_builder.state import STATE_DIR

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


def is_built_site(folder: str) -> bool:
    """Whether ``folder`` holds a site gallery-builder built (an OUT of some earlier build)."""
    return os.path.isfile(os.path.join(folder, STATE_DIR, "state.sqlite"))


def walk(
    root: Path, exclude: list[Path], unreadable: list[tuple[str, str]] | None = None
) -> list[Source]:
    """Every visible file under ``root`` that may be a picture, with its caption sidecar.

    Symlinks are followed only when their target stays inside ``root``; a folder reached twice
    (a loop, or two links to one folder) is read once, by its real path when it has one. The
    folders in ``exclude`` and any folder holding a built site are not entered. A folder that
    cannot be read is appended to ``unreadable`` as (its relpath, '' for ``root``; the reason).
    """
    real_root = os.path.realpath(root)
    excluded = {os.path.realpath(p) for p in exclude}
    visited: set[tuple[int, int]] = set()
    found: list[Source] = []
    # (folder, its relpath, whether the folder's path is its real path: then so is the path of
    # each folder in it that is not a link, and realpath(), O(depth) each, is not needed)
    stack = [(real_root, "", True)]
    linked: list[tuple[str, str, bool]] = []  # folders reached through a symlink: read last
    while stack or linked:
        folder, rel, is_real = stack.pop() if stack else linked.pop()
        try:
            info = os.stat(folder)
            entries = sorted(os.scandir(folder), key=lambda e: e.name)
        except OSError as exc:
            if unreadable is not None:
                unreadable.append((rel.rstrip("/"), exc.strerror or str(exc)))
            continue
        if (info.st_dev, info.st_ino) in visited:
            continue
        visited.add((info.st_dev, info.st_ino))
        names = {e.name for e in entries}
        for entry in entries:
            if entry.name.startswith("."):
                continue
            is_link = False
            try:
                is_link = entry.is_symlink()
                if is_link and not is_below(os.path.realpath(entry.path), real_root):
                    continue
                if entry.is_dir():
                    real = is_real and not is_link
                    real_path = entry.path if real else os.path.realpath(entry.path)
                    if real_path not in excluded and not is_built_site(entry.path):
                        (linked if is_link else stack).append(
                            (entry.path, f"{rel}{entry.name}/", real)
                        )
                    continue
                if not entry.is_file() or entry.name == CONFIG_NAME:
                    continue
                if os.path.splitext(entry.name)[1].lower() in NOT_CANDIDATES:
                    continue
                file_info = entry.stat()
            except PermissionError as exc:
                if is_link:
                    continue  # its target is reported where it lives, if in the source
                # the folder can be listed but not searched (r-- without x): none of its
                # files can be read, which is the folder's problem, not each file's
                if unreadable is not None:
                    unreadable.append((rel.rstrip("/"), exc.strerror or str(exc)))
                break
            except OSError:
                continue  # vanished since listed, or a symlink loop
            sidecar, sidecar_mtime = _sidecar(folder, entry.name, names, real_root)
            found.append(
                Source(
                    path=os.path.join(folder, entry.name),
                    relpath=rel + entry.name,
                    size=file_info.st_size,
                    mtime_ns=file_info.st_mtime_ns,
                    sidecar=sidecar,
                    sidecar_mtime_ns=sidecar_mtime,
                )
            )
    return found


def caption_file(path: str, real_root: str) -> os.stat_result | None:
    """The status of ``path`` if it may be read as a caption: a regular file (after following
    links) whose real path is inside ``real_root``; else None. A link out of the source would
    publish a file the user never put there, and a FIFO or device would block the build."""
    try:
        info = os.stat(path)
    except OSError:
        return None  # gone, a dangling link, a link loop
    if not stat.S_ISREG(info.st_mode) or not is_below(os.path.realpath(path), real_root):
        return None
    return info


def _sidecar(folder: str, name: str, names: set[str], real_root: str) -> tuple[str | None, int]:
    """``wing.jpg.txt`` or ``wing.txt`` next to ``wing.jpg``, and its mtime; (None, 0) if
    neither is a file that :func:`caption_file` accepts."""
    for candidate in (name + CAPTION_SUFFIX, os.path.splitext(name)[0] + CAPTION_SUFFIX):
        if candidate in names:
            path = os.path.join(folder, candidate)
            info = caption_file(path, real_root)
            if info is not None:
                return path, info.st_mtime_ns
    return None, 0


def sniff(head: bytes) -> str:
    """The Pillow format name of a file starting with ``head``, or '' if none we read."""
    for offset, magic, fmt in _SIGNATURES:
        if head[offset : offset + len(magic)] == magic:
            return fmt
    return ""


@hookimpl(trylast=True)
def gallery_scan(config: Config, exclude: list[Path]) -> list[Source]:
    unreadable: list[tuple[str, str]] = []
    found = walk(config.source, exclude, unreadable)
    if unreadable:
        # Building without them would drop their albums from the site, and publishing would
        # then delete them: stop before anything changes.
        folders = sorted(set(unreadable))
        listed = "; ".join(f"'{rel or config.source}': {reason}" for rel, reason in folders)
        if len(folders) == 1:
            advice = "fix its permissions or move it out of the source"
        else:
            advice = "fix their permissions or move them out of the source"
        raise GalleryError(f"cannot read folder {listed}; {advice}")
    return found


@hookimpl(trylast=True)
def gallery_identify(source: Source, config: Config) -> str:
    try:
        with open(source.path, "rb") as f:
            head = f.read(unsupported.HEAD_SIZE)
    except OSError as exc:
        # not "not a picture": the user can fix this one
        raise BadPicture(f"cannot read: {exc.strerror or exc}") from None
    fmt = sniff(head)
    media = unsupported.unsupported_media(source.relpath, head) if fmt == "TIFF" else None
    if unsupported.is_camera_raw(media):
        return ""  # a raw file's first IFD is a preview, not the picture: not read yet
    return fmt


@hookimpl(trylast=True)
def gallery_fingerprint(source: Source, config: Config) -> str:
    with open(source.path, "rb") as f:
        return hashlib.file_digest(f, "md5").hexdigest()
