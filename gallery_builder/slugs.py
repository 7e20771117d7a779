"""Slugs: lower-case ASCII names for albums and pictures, unique among their siblings."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable

# Letters that NFKD does not decompose into ASCII.
_TRANSLITERATE = str.maketrans(
    {
        "ß": "ss", "ø": "o", "Ø": "o", "æ": "ae", "Æ": "ae", "œ": "oe", "Œ": "oe",
        "đ": "d", "Đ": "d", "ł": "l", "Ł": "l", "ı": "i", "þ": "th", "Þ": "th", "ð": "d",
    }
)  # fmt: skip
_NOT_ALNUM = re.compile(r"[^a-z0-9]+")


def slugify(text: str) -> str:
    """``"Istanbul 2024"`` -> ``"istanbul-2024"``; ``"çay & simit"`` -> ``"cay-simit"``.

    May return '' for text with no ASCII-representable letter or digit; callers choose a
    fallback.
    """
    decomposed = unicodedata.normalize("NFKD", text.translate(_TRANSLITERATE))
    # accents go; any other non-ASCII character (a dash, an emoji) separates words
    ascii_text = "".join(
        c if c.isascii() else " " for c in decomposed if not unicodedata.combining(c)
    ).lower()
    return _NOT_ALNUM.sub("-", ascii_text).strip("-")


def unique_slugs(
    names: Iterable[str], fallback: str, text: Callable[[str], str] = lambda name: name
) -> dict[str, str]:
    """Slug ``text(name)`` for each name, suffixing ``-2``, ``-3`` … on collisions.

    Names are taken in sorted order so the result does not depend on the order given. Every
    slug that is some name's own is kept for it before suffixes are handed out, so a suffix
    never takes another name's slug.
    """
    ordered = sorted(set(names))
    bases = {name: slugify(text(name)) or fallback for name in ordered}
    taken: set[str] = set()
    result: dict[str, str] = {}
    for name in ordered:
        if bases[name] not in taken:
            taken.add(bases[name])
            result[name] = bases[name]
    for name in ordered:
        if name in result:
            continue
        n = 2
        while f"{bases[name]}-{n}" in taken:
            n += 1
        taken.add(f"{bases[name]}-{n}")
        result[name] = f"{bases[name]}-{n}"
    return dict(sorted(result.items()))


def album_paths(folders: Iterable[str]) -> dict[str, str]:
    """Slug paths for source folders (POSIX, relative; '' is the root), each folder slugged
    among its siblings: ``{"Istanbul 2024/Çay": "istanbul-2024/cay"}``. Ancestors of the given
    folders are included."""
    every = {""}
    for folder in folders:
        parts = folder.split("/") if folder else []
        every.update("/".join(parts[:i]) for i in range(1, len(parts) + 1))
    children: dict[str, list[str]] = {}
    for folder in every - {""}:
        parent, _, name = folder.rpartition("/")
        children.setdefault(parent, []).append(name)
    paths = {"": ""}
    for folder in sorted(every, key=lambda f: (f.count("/"), f) if f else (-1, "")):
        names = unique_slugs(children.get(folder, []), "album")
        for name, slug in names.items():
            child = f"{folder}/{name}" if folder else name
            paths[child] = f"{paths[folder]}/{slug}" if paths[folder] else slug
    return paths
