"""Checks a publish makes before its first request: the prefix, and the built site (every
key it would write is safe and short enough for the store, every file it lists is there).
A failure here has sent nothing."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from gallery_builder.errors import GalleryError, SettingError
from gallery_builder.keys import ALLOWED, join_key, key_problem, prefix_problem, too_long
from gallery_builder.manifest import MANIFEST_NAME
from gallery_builder.publisher import Confines, LimitsKeys


def check_prefix(prefix: str) -> None:
    """Refuse a prefix that is not a plain relative key (a usage error)."""
    problem = prefix_problem(prefix)
    if problem:
        raise SettingError(
            f"the prefix {prefix!r} {problem}: a prefix is {ALLOWED} (e.g. trips/2024)"
        )


def check_site(site: Path, manifest: Any, publisher: Any, prefix: str) -> None:
    """Before any request: the prefix and every key the site would write are safe keys, short
    enough for the store, and every file the site's manifest lists is there."""
    check_prefix(prefix)
    files = manifest.get("files") if isinstance(manifest, dict) else None
    if not isinstance(files, dict):
        raise GalleryError(f"{site / MANIFEST_NAME} has no 'files' table; build the site again")
    limit = publisher.max_key_bytes if isinstance(publisher, LimitsKeys) else None
    if limit and too_long(join_key(prefix, MANIFEST_NAME), limit):
        raise GalleryError(
            f"the prefix {prefix!r} leaves no room under the store's limit of {limit} bytes "
            f"(UTF-8) for {join_key(prefix, MANIFEST_NAME)!r}: choose a shorter one"
        )
    missing = []
    for path, entry in files.items():
        problem = key_problem(path)
        if problem:
            raise GalleryError(
                f"{site / MANIFEST_NAME} lists {path!r}, which {problem}: no publish writes "
                "such a key; rename the file it comes from in the source folder, then build "
                "the site again"
            )
        if not isinstance(entry, dict) or not isinstance(entry.get("md5"), str):
            raise GalleryError(
                f"{site / MANIFEST_NAME} lists {path!r} without an md5; build the site again"
            )
        if limit and too_long(join_key(prefix, path), limit):
            raise GalleryError(
                f"the key {join_key(prefix, path)!r} is over the store's limit of {limit} bytes "
                "(UTF-8): shorten the prefix or that file's name (its album folders), then "
                "build again; nothing was sent"
            )
        if not (site / path).is_file():
            missing.append(path)
    if missing:
        more = f" and {len(missing) - 1} more" if len(missing) > 1 else ""
        raise GalleryError(
            f"{site / missing[0]}{more} listed in {site / MANIFEST_NAME} is missing: the site "
            "changed since it was built; build it again, then publish; nothing was sent"
        )
    if isinstance(publisher, Confines):
        publisher.confine(prefix)
