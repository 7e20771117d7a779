"""An album's description: an ``index.md`` (Markdown) or ``album.txt`` (plain text) file in its
folder. Markdown is rendered without raw HTML (markup in it shows as text) and without unsafe
link schemes; the plain text of either goes into meta descriptions."""

from __future__ import annotations

import html
import os
import re
import stat
from dataclasses import dataclass
from pathlib import Path

from gallery_builder.filesafety import is_below
from gallery_builder.model import Album

#: the file names looked for in each album folder, first found wins
ALBUM_TEXT_NAMES = ("index.md", "album.txt")
#: a description longer than this is not read (it is a page, not a description)
MAX_BYTES = 64 * 1024

_TAG = re.compile(r"<[^>]+>")


@dataclass(frozen=True)
class AlbumText:
    text: str  #: plain text, for meta descriptions and themes that want no HTML
    html: str | None  #: rendered Markdown (safe to insert), None for a plain-text file


def album_text_file(source_root: Path, folder: str) -> tuple[Path, os.stat_result] | None:
    """The description file of the album ``folder`` (relative to the source root) and its
    status: a regular file whose real path stays inside the source (a link out of it would
    publish what the user never put there; a FIFO would hang the build)."""
    real_root = os.path.realpath(source_root)
    for name in ALBUM_TEXT_NAMES:
        path = source_root / folder / name if folder else source_root / name
        try:
            info = os.stat(path)
        except OSError:
            continue
        real = os.path.realpath(path)
        if stat.S_ISREG(info.st_mode) and (is_below(real, real_root)):
            return path, info
    return None


def album_text_stamp(source_root: Path, folders: set[str]) -> str:
    """What the description files of ``folders`` are now (name, size, mtime): when this
    changes, the pages must be rendered again."""
    parts = []
    for folder in sorted(folders):
        found = album_text_file(source_root, folder)
        if found is not None:
            path, info = found
            parts.append(f"{folder}/{path.name}:{info.st_size}:{info.st_mtime_ns}")
    return "\n".join(parts)


def read_album_text(path: Path) -> AlbumText:
    """The description in ``path``; raises OSError or ValueError (too long) for a message."""
    with open(path, "rb") as f:
        data = f.read(MAX_BYTES + 1)
    if len(data) > MAX_BYTES:
        raise ValueError(f"longer than {MAX_BYTES // 1024} KiB")
    text = data.decode("utf-8", errors="replace").replace("\r\n", "\n").strip()
    if path.suffix.lower() != ".md":
        return AlbumText(text=text, html=None)
    rendered = render_markdown(text)
    plain = html.unescape(_TAG.sub("", rendered))  # blocks end in newlines
    return AlbumText(text=" ".join(plain.split()), html=rendered)


def render_markdown(text: str) -> str:
    """CommonMark to HTML, with raw HTML shown as text and only safe link schemes."""
    from markdown_it import MarkdownIt

    return MarkdownIt("commonmark", {"html": False}).render(text)


def describe_albums(root: Album, source_root: Path) -> list[str]:
    """Give each album without a description (a plugin may have set one) the text of its
    folder's description file; the problems, as messages, for files that cannot be used."""
    problems = []
    for album in root.walk():
        if album.description is not None:
            continue
        found = album_text_file(source_root, album.source_relpath)
        if found is None:
            continue
        path, _ = found
        shown = path.relative_to(source_root).as_posix()
        try:
            text = read_album_text(path)
        except (OSError, ValueError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
            problems.append(f"album description {shown} not used: {reason}")
            continue
        album.description, album.description_html = text.text or None, text.html
    return problems


def album_folders(relpaths: list[str]) -> set[str]:
    """Every folder holding one of ``relpaths`` (source files), with its ancestors and ''."""
    folders = {""}
    for relpath in relpaths:
        folder = relpath.rpartition("/")[0]
        while folder and folder not in folders:
            folders.add(folder)
            folder = folder.rpartition("/")[0]
    return folders
