"""The bucket root: ``index.html`` listing every gallery in the bucket (or file:// folder) and
``error.html`` for all of them, rebuilt from the galleries' own manifests after a publish that
committed something, and after an unpublish (docs/publishing.md, "The bucket root").

- Only for a gallery under a prefix; never when a gallery is published at the bucket root (it
  owns those keys), and never over a root page gallery-builder did not write: the record
  (:data:`~gallery_builder.root_listing.RECORD_NAME`) says which bytes are the root's, and a
  page is written only where it is absent or holds those bytes (``upload(..., replaces=MD5)``).
- Under the bucket root's lease (``lease("")``, which a gallery at the root would hold too):
  two rebuilds at once run one after the other, the second reading the listing after the
  first is done, so the root ends up listing both galleries.
- A killed rebuild is resumable: before writing a page the record lists, as ``pending``, the
  MD5s about to be written, so the next rebuild knows them as its own.

Failures never undo the gallery's publish: they come back as notes.
"""

from __future__ import annotations

import hashlib
import json
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote

from gallery_builder.errors import GalleryError
from gallery_builder.manifest import MANIFEST_NAME, ManifestError, read_remote_manifest
from gallery_builder.publisher import (
    DELETE_BATCH,
    Confines,
    HoldsGalleries,
    LeaseLost,
    PublishConflict,
    Publisher,
)
from gallery_builder.root_listing import (
    ERROR,
    INDEX,
    PRIVATE,
    RECORD_NAME,
    RootRecord,
    dump_record,
    gallery_entry,
    gallery_prefix,
    listing_order,
    parse_record,
    theme_names,
)
from gallery_builder.root_pages import (
    RootTheme,
    default_theme,
    named_theme,
    render_root,
    site_theme,
)

#: how long a rebuild waits for another one (the root's lease) before giving up
ROOT_WAIT_SECONDS = 60.0
#: an MD5 no object has: ``replaces=ABSENT`` writes only where nothing is
ABSENT = "0" * 32
#: manifests read at a time
READERS = 8


def rebuild_root(
    publisher: Publisher,
    prefix: str,
    site: Path | None = None,
    *,
    themes: dict[str, Any] | None = None,
    base: str | None = None,
    error_only: bool = False,
) -> list[str]:
    """Rebuild the root of ``publisher``'s bucket after the gallery at ``prefix`` changed
    (published from ``site``, or unpublished: ``site`` None; after a gallery at the root was
    unpublished, the root is the others' again). ``themes``: the installed
    themes, to find the one the root's record names when no site says which. ``base``: the
    URL path the root is served at (default: from the site's ``base_path`` without the
    prefix, else ``/``). ``error_only``: write ``error.html`` (and what it links to) alone,
    before the gallery is live. Returns notes (warnings); never raises a GalleryError."""
    if not isinstance(publisher, HoldsGalleries):
        return []
    if not prefix and site is not None:
        return []  # a gallery published at the root: it owns index.html and error.html
    try:
        return _with_root_lease(
            publisher, prefix, lambda: _rebuild(publisher, prefix, site, themes, base, error_only)
        )
    except (GalleryError, OSError) as exc:
        return [
            f"the bucket root of {publisher.location} (index.html listing the galleries) was "
            f"not rebuilt: {exc}; the next publish or unpublish of a gallery here rebuilds it"
        ]


def prepare_root(publisher: Publisher, prefix: str, site: Path | None) -> list[str]:
    """Before the hosting set-up points the bucket's error document at the root's
    ``error.html``: make sure it is there (the bucket is made first if missing)."""
    if not prefix or not isinstance(publisher, HoldsGalleries):
        return []
    # a bucket that cannot be made (or, with a CDN, a certificate still pending) stops the
    # publish here, before any write: the set-up would fail the same way
    publisher.ensure_bucket()
    return rebuild_root(publisher, prefix, site, error_only=True)


def _with_root_lease(publisher: Publisher, prefix: str, work: Callable[[], list[str]]) -> list[str]:
    if not isinstance(publisher, Confines):
        return _retrying(publisher, work)
    publisher.confine("", [INDEX, ERROR, PRIVATE, RECORD_NAME])  # the root's keys, for now
    try:
        return _retrying(publisher, work)
    finally:
        publisher.confine(prefix)  # the gallery's writes stay inside its folder


def _retrying(publisher: Publisher, work: Callable[[], list[str]]) -> list[str]:
    deadline = time.monotonic() + ROOT_WAIT_SECONDS
    pause = 0.1
    while True:
        try:
            with publisher.lease(""):
                return work()
        except LeaseLost:
            raise
        except PublishConflict:
            # another rebuild (or a gallery at the root) holds the root: wait, then read again
            if time.monotonic() + pause > deadline:
                raise
            time.sleep(pause)
            pause = min(pause * 2, 2.0)


def _root_gallery(publisher: Publisher) -> bool:
    """Whether a gallery is published at the bucket root (it owns index.html, error.html)."""
    found = publisher.read(MANIFEST_NAME)
    if found is None:
        return False
    try:
        return read_remote_manifest(found[0]).exists
    except ManifestError:
        return False  # another app's manifest.json: the record decides what is ours


def _theme(
    site: Path | None, record: RootRecord | None, themes: dict[str, Any] | None
) -> RootTheme:
    theme = site_theme(site)
    if theme is None and record is not None and themes:
        theme = named_theme(record.theme, themes)
    return theme or default_theme()


def _root_base(site: Path | None, prefix: str) -> str:
    """The root's URL path: the site's ``base_path`` less the gallery's prefix, else ``/``."""
    if site is None or not prefix:
        return "/"
    try:
        base = json.loads((site / MANIFEST_NAME).read_bytes()).get("base_path")
    except (OSError, ValueError, AttributeError):
        return "/"
    tail = f"/{prefix}/"
    base = unquote(base) if isinstance(base, str) else ""
    if base.startswith("/") and base.endswith(tail) and "//" not in base:
        return quote(base[: -len(tail)] + "/")
    return "/"


def _rebuild(
    publisher: Publisher,
    prefix: str,
    site: Path | None,
    themes: dict[str, Any] | None,
    base: str | None,
    error_only: bool = False,
) -> list[str]:
    notes: list[str] = []
    where = publisher.location
    if _root_gallery(publisher):
        return []  # the gallery at the root owns its index.html and error.html
    found = publisher.read(RECORD_NAME)
    record = parse_record(found[0]) if found else None
    if found is not None and record is None:
        return [
            f"{where}{RECORD_NAME} is not gallery-builder's record of the bucket root: the root "
            "pages were left alone; delete it to have them written"
        ]
    record_etag = found[1] if found else None
    assert isinstance(publisher, HoldsGalleries)  # rebuild_root asked
    keys = publisher.gallery_manifests()
    keys = [k for k in keys if gallery_prefix(k)]
    with ThreadPoolExecutor(max_workers=READERS) as pool:
        bodies = list(pool.map(publisher.read, keys))
    entries = [gallery_entry(k, b[0] if b else None) for k, b in zip(keys, bodies, strict=True)]
    galleries = listing_order([e for e in entries if e is not None])
    if not galleries and not error_only:
        return _remove_root(publisher, record, record_etag)
    theme = _theme(site, record, themes)
    root_base = base or _root_base(site, prefix)
    try:
        pages = render_root(theme, galleries, root_base)
    except Exception as exc:  # a theme's template failed: the default theme's root instead
        if theme.names == ["default"]:
            raise GalleryError(f"the default theme's root.html failed: {exc}") from None
        notes.append(
            f"theme {theme.names[0]} could not render the bucket root ({exc}); the default "
            "theme's root.html was used"
        )
        theme = default_theme()
        pages = render_root(theme, galleries, root_base)
    if error_only:  # the error pages and the files they link to; the record's others stay
        error = pages[ERROR][0] + pages[PRIVATE][0]
        pages = {k: v for k, v in pages.items() if k in (ERROR, PRIVATE) or k.encode() in error}
    return notes + _write_root(publisher, record, record_etag, pages, theme, galleries, error_only)


def _current_md5(publisher: Publisher, key: str) -> str | None:
    found = publisher.read(key)
    return hashlib.md5(found[0]).hexdigest() if found else None


def _write_root(
    publisher: Publisher,
    record: RootRecord | None,
    record_etag: str | None,
    pages: dict[str, tuple[bytes, dict[str, str]]],
    theme: RootTheme,
    galleries: list[Any],
    partial: bool = False,
) -> list[str]:
    notes: list[str] = []
    where = publisher.location
    known = record or RootRecord()
    # a partial rebuild (error.html alone) keeps what the record says of the other keys
    owned: dict[str, str] = (
        {k: v for k, v in known.files.items() if k not in pages} if partial else {}
    )
    writes: dict[str, str] = {}  #: key -> what it holds now (ABSENT: nothing)
    for key, (data, _) in pages.items():
        md5 = hashlib.md5(data).hexdigest()
        now = _current_md5(publisher, key)
        if now == md5:
            owned[key] = md5
        elif now is None or now in known.promised(key):
            owned[key] = md5
            writes[key] = now or ABSENT
        else:
            notes.append(
                f"{where}{key} was not written by gallery-builder: it was left alone, and the "
                f"bucket root's {'listing of galleries' if key == INDEX else key} is not "
                f"published; move that file away (or delete it) and publish again to have it"
            )
    state = RootRecord(
        files=owned,
        # installed themes' names only: a theme given as a folder has its path as its name
        theme={"names": theme_names(theme.names), "lang": theme.lang},
        galleries=known.galleries if partial else tuple(g.prefix for g in galleries),
    )
    stale = sorted(k for k in known.owned() - set(owned) if k not in (INDEX, ERROR, PRIVATE))
    if partial:
        stale = []
    unchanged = record is not None and (record.files, record.galleries) == (owned, state.galleries)
    if unchanged and not writes and not stale and not record.pending:  # type: ignore[union-attr]
        return notes  # the root is already what it would become
    if writes:  # say what is about to be written, so that a killed rebuild's bytes are ours
        marked = RootRecord(files=known.files, pending={k: owned[k] for k in writes},
                            theme=state.theme, galleries=known.galleries)  # fmt: skip
        record_etag = publisher.commit(RECORD_NAME, dump_record(marked), record_etag).strip('"')
    with tempfile.TemporaryDirectory(prefix="gallery-root-") as tmp:
        # the files the pages link to first, then error.html, then index.html
        order = sorted(writes, key=lambda k: (k == INDEX, k == ERROR, k))
        for n, key in enumerate(order):
            data, headers = pages[key]
            file = Path(tmp) / str(n)
            file.write_bytes(data)
            entry = {"md5": owned[key], "size": len(data), **headers}
            publisher.upload(key, file, entry, replaces=writes[key])
    publisher.commit(RECORD_NAME, dump_record(state), record_etag)
    for start in range(0, len(stale), DELETE_BATCH):
        publisher.delete(stale[start : start + DELETE_BATCH])
    return notes


def _remove_root(
    publisher: Publisher, record: RootRecord | None, record_etag: str | None
) -> list[str]:
    """No gallery left: the root's own files go (only those holding the root's bytes), the
    record last."""
    if record is None:
        return []
    gone = []
    for key in sorted(record.owned(), key=lambda k: (k != INDEX, k != ERROR, k)):
        now = _current_md5(publisher, key)
        if now is not None and now in record.promised(key):
            gone.append(key)
    for start in range(0, len(gone), DELETE_BATCH):
        publisher.delete(gone[start : start + DELETE_BATCH])
    publisher.delete([RECORD_NAME])
    return []
