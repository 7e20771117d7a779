"""The bucket root's listing and record: pure functions, no I/O (the I/O is in
gallery_builder.bucket_root).

A bucket (or file:// folder) that holds galleries under prefixes gets a root: ``index.html``
listing them and ``error.html`` for every gallery (docs/publishing.md, "The bucket root").
What the root wrote is kept in :data:`RECORD_NAME` (not ``manifest.json``, so no publish takes
it for a gallery). The galleries' manifests are untrusted: each field is checked, capped and
otherwise left out; a manifest that is not a whole gallery's is not listed.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from gallery_builder.keys import key_problem
from gallery_builder.manifest import FORMAT, MANIFEST_NAME

#: the root's record: what the root pages and files are (their MD5s), kept at the root
RECORD_NAME = ".gallery-root.json"
RECORD_FORMAT = "gallery-builder-root/1"
#: the root's own files (its theme's stylesheet, icon) live under this folder
ROOT_STATIC = "_root"
INDEX, ERROR = "index.html", "error.html"
#: what CloudFront answers (403) a visitor of a private gallery without a valid invitation
PRIVATE = "private.html"
#: the longest title shown; the most galleries listed (a bucket of thousands is not a page)
MAX_TITLE = 200
MAX_GALLERIES = 1000
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2})?)?")
_MD5 = re.compile(r"[0-9a-f]{32}")
_THEME_NAME = re.compile(r"[A-Za-z0-9_-][A-Za-z0-9_.-]{0,63}")


@dataclass(frozen=True)
class Cover:
    key: str  #: the thumbnail's key in the bucket (inside the gallery's prefix)
    width: int | None = None
    height: int | None = None


@dataclass(frozen=True)
class GalleryEntry:
    """One gallery as the root lists it."""

    prefix: str
    title: str
    count: int
    newest: str | None  #: the newest picture's date (ISO), or None
    cover: Cover | None
    #: an encrypted gallery (its manifest says so): listed by its prefix alone, no count
    encrypted: bool = False
    #: a private gallery (CloudFront signed cookies: its hosting record says so): listed by
    #: its prefix alone, like an encrypted one (its title is not for the public root, and its
    #: cover would answer 403)
    private: bool = False

    @property
    def link(self) -> str:
        """The gallery's folder, relative to the root, percent-encoded."""
        return quote(self.prefix, safe="/") + "/"

    def as_context(self, root: str) -> dict[str, Any]:
        """What the template gets: plain strings and numbers; links from ``root``."""
        cover = None
        if self.cover is not None:
            cover = {
                "url": root + quote(self.cover.key, safe="/"),
                "width": self.cover.width,
                "height": self.cover.height,
            }
        return {
            "prefix": self.prefix,
            "title": self.title,
            "count": self.count,
            "date": self.newest,
            "url": root + self.link,
            "cover": cover,
            "encrypted": self.encrypted,
            "private": self.private,
        }


def gallery_prefix(manifest_key: str) -> str:
    return manifest_key[: -len(MANIFEST_NAME)].rstrip("/")


def _text(value: Any, limit: int = MAX_TITLE) -> str | None:
    if not isinstance(value, str):
        return None
    text = " ".join(value.split())  # no control characters or runs of blanks
    return text[: limit - 1] + "…" if len(text) > limit else text or None


def _size(value: Any) -> int | None:
    return (
        value
        if isinstance(value, int) and not isinstance(value, bool) and 0 < value < 100_000
        else None
    )


def _cover(prefix: str, manifest: dict[str, Any], files: dict[str, Any]) -> Cover | None:
    """The root album's cover thumbnail, else the first picture's: a key the gallery owns."""
    images = manifest.get("images")
    albums = manifest.get("albums")
    if not isinstance(images, list):
        return None
    wanted = None
    if isinstance(albums, list) and albums and isinstance(albums[0], dict):
        wanted = albums[0].get("cover")
    candidates = [i for i in images if isinstance(i, dict)]
    candidates.sort(key=lambda i: i.get("source") != wanted)  # the cover first, stable
    for image in candidates[:50]:
        derivatives = image.get("derivatives")
        if not isinstance(derivatives, dict):
            continue
        path = derivatives.get("thumbnail")
        if not isinstance(path, str) or key_problem(path) or path not in files:
            continue  # not a file the gallery owns: never link to it
        width = height = None
        sizes = image.get("sizes")
        name = next((k for k, v in derivatives.items() if k != "thumbnail" and v == path), None)
        if isinstance(sizes, dict) and isinstance(sizes.get(name), list) and len(sizes[name]) == 2:
            width, height = _size(sizes[name][0]), _size(sizes[name][1])
        if width is None or height is None:
            width = height = None
        return Cover(f"{prefix}/{path}", width, height)
    return None


def _is_private(manifest: dict[str, Any]) -> bool:
    """Whether the manifest's hosting record says only invited people may read the gallery."""
    hosting = manifest.get("hosting")
    cdn = hosting.get("cdn") if isinstance(hosting, dict) else None
    return isinstance(cdn, dict) and isinstance(cdn.get("private"), dict)


def gallery_entry(manifest_key: str, data: bytes | None) -> GalleryEntry | None:
    """The listing entry of the gallery whose manifest (untrusted) is ``data``; None when it
    is not a whole, published gallery's (not ours, pending, damaged, at the root)."""
    prefix = gallery_prefix(manifest_key)
    if not prefix or key_problem(prefix) or data is None:
        return None
    try:
        manifest = json.loads(data)
    except (ValueError, RecursionError):
        return None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        return None
    files = manifest.get("files")
    if not isinstance(files, dict) or manifest.get("pending"):
        return None  # a publish (or an unpublish) is under way, or died: not listed
    if isinstance(manifest.get("encrypted"), dict):
        # its manifest holds no title or picture; nothing of it is shown but its prefix
        return GalleryEntry(prefix, prefix, 0, None, None, encrypted=True)
    if _is_private(manifest):
        return GalleryEntry(prefix, prefix, 0, None, None, private=True)
    images = manifest.get("images")
    images = [i for i in images if isinstance(i, dict)] if isinstance(images, list) else []
    dates = [i["taken"] for i in images if isinstance(i.get("taken"), str)]
    dates = [d for d in dates if _DATE.fullmatch(d)]
    title = _text(manifest.get("title")) or _text(prefix) or prefix
    return GalleryEntry(
        prefix=prefix,
        title=title,
        count=len(images),
        newest=max(dates) if dates else None,
        cover=_cover(prefix, manifest, files),
    )


def listing_order(entries: list[GalleryEntry]) -> list[GalleryEntry]:
    """Newest first (by the newest picture), undated last, then by title and prefix."""
    dated = sorted((e for e in entries if e.newest), key=lambda e: (e.title, e.prefix))
    dated.sort(key=lambda e: e.newest or "", reverse=True)
    undated = sorted((e for e in entries if not e.newest), key=lambda e: (e.title, e.prefix))
    return (dated + undated)[:MAX_GALLERIES]


# --- the record ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class RootRecord:
    """What the root wrote: ``files`` {key: md5}; ``pending`` {key: md5} a rebuild was about
    to write (it died, or runs); ``theme`` the theme's name chain and language it used."""

    files: dict[str, str] = field(default_factory=dict)
    pending: dict[str, str] = field(default_factory=dict)
    theme: dict[str, Any] = field(default_factory=dict)
    galleries: tuple[str, ...] = ()

    def promised(self, key: str) -> set[str]:
        """The MD5s ``key`` may hold and still be the root's own."""
        return {md5 for md5 in (self.files.get(key), self.pending.get(key)) if md5}

    def owned(self) -> set[str]:
        return {*self.files, *self.pending}


def _md5_table(value: Any) -> dict[str, str]:
    if not isinstance(value, dict):
        return {}
    return {
        k: v
        for k, v in value.items()
        if isinstance(k, str) and root_key_allowed(k) and isinstance(v, str) and _MD5.fullmatch(v)
    }


def root_key_allowed(key: str) -> bool:
    """Only these keys are ever the root's: its three pages and files in its own folder."""
    if key in (INDEX, ERROR, PRIVATE):
        return True
    return key.startswith(ROOT_STATIC + "/") and key.count("/") == 1 and not key_problem(key)


def parse_record(data: bytes | None) -> RootRecord | None:
    """The record (untrusted: what does not fit is dropped); None when absent or not ours."""
    if data is None:
        return None
    try:
        record = json.loads(data)
    except (ValueError, RecursionError):
        return None
    if not isinstance(record, dict) or record.get("format") != RECORD_FORMAT:
        return None
    theme = record.get("theme")
    galleries = record.get("galleries")
    return RootRecord(
        files=_md5_table(record.get("files")),
        pending=_md5_table(record.get("pending")),
        theme=theme if isinstance(theme, dict) else {},
        galleries=tuple(g for g in galleries if isinstance(g, str))
        if isinstance(galleries, list)
        else (),
    )


def dump_record(record: RootRecord) -> bytes:
    data: dict[str, Any] = {"format": RECORD_FORMAT, "files": dict(sorted(record.files.items()))}
    if record.pending:
        data["pending"] = dict(sorted(record.pending.items()))
    data["theme"] = record.theme
    data["galleries"] = list(record.galleries)
    return (json.dumps(data, ensure_ascii=False, indent=1) + "\n").encode("utf-8")


def theme_names(value: Any) -> list[str]:
    """The theme chain's names a record keeps (untrusted): short plain names only."""
    if not isinstance(value, list):
        return []
    return [n for n in value[:8] if isinstance(n, str) and _THEME_NAME.fullmatch(n)]
