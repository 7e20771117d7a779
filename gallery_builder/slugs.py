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
    ascii_text = (
        unicodedata.normalize("NFKD", text.translate(_TRANSLITERATE))
        .encode("ascii", "ignore")
        .decode("ascii")
        .lower()
    )
    return _NOT_ALNUM.sub("-", ascii_text).strip("-")


def unique_slugs(
    names: Iterable[str], fallback: str, text: Callable[[str], str] = lambda name: name
) -> dict[str, str]:
    """Slug ``text(name)`` for each name, suffixing ``-2``, ``-3`` … on collisions.

    Names are taken in sorted order so the result does not depend on the order given.
    """
    taken: set[str] = set()
    result: dict[str, str] = {}
    for name in sorted(set(names)):
        base = slugify(text(name)) or fallback
        slug, n = base, 2
        while slug in taken:
            slug, n = f"{base}-{n}", n + 1
        taken.add(slug)
        result[name] = slug
    return result


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
