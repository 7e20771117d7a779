"""Slugs: lower-case ASCII names for albums and pictures, unique among their siblings.

A slug depends on its own name, not on which siblings exist, so that a picture's URL (and its
images' names) stay put when other pictures come and go. See docs/building.md#slugs.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Callable, Iterable

#: the longest slug, in bytes (ASCII): a picture's image names (``<slug>.<variant>.<hash8>.<ext>``)
#: stay well below the 255-byte file name limit, and deep albums below S3's key limit
MAX_SLUG = 100
#: between a slug and its name's hash: slugify() never makes a double dash, so a suffixed slug
#: can never be another name's own slug (``cat--3f2a9c1b`` is nobody's plain slug)
HASH_SEPARATOR = "--"
#: hex digits of a name's SHA-256 in its suffix (more only if two siblings share these)
HASH_DIGITS = 8

# Letters that NFKD does not decompose into ASCII.
_TRANSLITERATE = str.maketrans(
    {
        "ß": "ss", "ø": "o", "Ø": "o", "æ": "ae", "Æ": "ae", "œ": "oe", "Œ": "oe",
        "đ": "d", "Đ": "d", "ł": "l", "Ł": "l", "ı": "i", "þ": "th", "Þ": "th", "ð": "d",
    }
)  # fmt: skip
_NOT_ALNUM = re.compile(r"[^a-z0-9]+")
_LETTER = re.compile(r"[a-z]")


def slugify(text: str) -> str:
    """``"Istanbul 2024"`` -> ``"istanbul-2024"``; ``"çay & simit"`` -> ``"cay-simit"``.

    May return '' for text with no ASCII-representable letter or digit; callers choose a
    fallback. Never holds two dashes in a row. Not capped: see :func:`unique_slugs`.
    """
    return _spell(text)[0]


def _spell(text: str) -> tuple[str, bool]:
    """The slug of ``text``, and whether a letter, digit or symbol of it (``東``, ``Ω``,
    ``😀``) had no ASCII spelling and was dropped; punctuation and spaces are no loss."""
    if text.isascii():  # the common case: nothing to decompose
        return _NOT_ALNUM.sub("-", text.lower()).strip("-"), False
    decomposed = unicodedata.normalize("NFKD", text.translate(_TRANSLITERATE))
    kept, lost = [], False
    for c in decomposed:
        if unicodedata.combining(c):
            continue  # accents go
        if c.isascii():
            kept.append(c)
        else:  # any other non-ASCII character (a dash, an emoji) separates words
            kept.append(" ")
            lost = lost or unicodedata.category(c)[0] in "LNS"
    return _NOT_ALNUM.sub("-", "".join(kept).lower()).strip("-"), lost


def name_hash(name: str, digits: int = HASH_DIGITS) -> str:
    """The start of the SHA-256 of the exact ``name`` (its UTF-8 bytes, no normalisation)."""
    data = name.encode("utf-8", errors="surrogateescape")
    return hashlib.sha256(data).hexdigest()[:digits]


def shorten(slug: str, limit: int) -> str:
    """``slug`` cut to at most ``limit`` characters, at a word boundary unless that would
    throw away more than half of it."""
    if len(slug) <= limit:
        return slug
    cut = slug[:limit]
    if slug[limit] != "-":  # the cut falls inside a word: drop that word's start
        boundary = cut.rfind("-")
        if boundary >= limit // 2:
            cut = cut[:boundary]
    return cut.strip("-")


def _closeness(text: str, slug: str) -> int:
    """How near ``text`` is to being its own slug: 0 it is (``cat``), 1 but for capitals
    (``Cat``), 2 otherwise (``cat!``, ``Cat (2)``)."""
    if text == slug:
        return 0
    return 1 if text.lower() == slug else 2


def unique_slugs(
    names: Iterable[str], fallback: str, text: Callable[[str], str] = lambda name: name
) -> dict[str, str]:
    """A slug for each of the sibling ``names``, distinct, made from ``text(name)``.

    - A name's **own slug** (``slugify(text(name))``) is its slug when no sibling shares it
      and it is at most :data:`MAX_SLUG` long.
    - Siblings sharing an own slug: the one nearest to it keeps it (``cat.jpg`` before
      ``Cat.jpg`` before ``cat!.jpg``; between equals, the first in code-point order of the
      whole name: ``cat.jpeg``, ``cat.jpg``, ``cat.png``); the others are suffixed.
    - **Suffixed**: ``<own slug, shortened>--<hash of the exact name>`` for those; for a name
      with nothing to slug (``日本.jpg`` -> ``picture--…``, with ``fallback``); for one whose
      own slug has no letter while the name lost letters or symbols to it (``東京 1.jpg`` ->
      ``1--…``: such slugs say little and collide often); and for one whose own slug is too
      long (cut at a word boundary).

    So a name's slug changes only when a sibling that ranks before it arrives with the same
    own slug, or the sibling holding that slug goes; or (odds about n²/2³³ among n names
    sharing a slug) when two suffixes share their first :data:`HASH_DIGITS` digits, which
    then both grow. The result does not depend on the order given; linear in the names.
    """
    ordered = sorted(set(names))
    own: dict[str, str] = {}
    holders: dict[str, str] = {}  # own slug -> the name that keeps it
    for name in ordered:  # ordered: between equals, the first name wins
        slug, lost = _spell(text(name))
        own[name] = slug
        if not slug or len(slug) > MAX_SLUG or (lost and not _LETTER.search(slug)):
            continue
        holder = holders.get(slug)
        if holder is None or _closeness(text(name), slug) < _closeness(text(holder), slug):
            holders[slug] = name
    result = {name: slug for slug, name in holders.items()}
    _suffix([n for n in ordered if n not in result], own, fallback, result)
    return dict(sorted(result.items()))


def _suffix(names: list[str], own: dict[str, str], fallback: str, result: dict[str, str]) -> None:
    """Give each of ``names`` ``<base>--<hash>`` in ``result``, with more hash digits for
    those whose suffixed slugs would be equal."""
    digits = HASH_DIGITS
    while names:
        by_slug: dict[str, list[str]] = {}
        for index, name in enumerate(names):
            tail = name_hash(name, digits)
            if digits >= 64:  # one SHA-256 for two names: never seen; keep them apart anyway
                tail += str(index)
            base = shorten(own[name] or fallback, MAX_SLUG - len(HASH_SEPARATOR) - len(tail))
            by_slug.setdefault(f"{base}{HASH_SEPARATOR}{tail}", []).append(name)
        names = []
        for slug, members in by_slug.items():
            if len(members) == 1:
                result[members[0]] = slug
            else:
                names.extend(sorted(members))
        digits *= 2


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
