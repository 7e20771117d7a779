"""S3's key limit, kept at build time so that a publish never meets a key it cannot write.

Each file of the site is published as ``<prefix>/<site path>``, and S3 refuses a key of more
than 1024 bytes (UTF-8). Slugs are capped (gallery_builder.slugs.MAX_SLUG), but a deep tree
of folders, or an original's own path, can still pass the limit. The build checks against the
default publish prefix, the gallery's name (docs/building.md, "Long names and S3's key
limit").
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable

from gallery_builder import imaging
from gallery_builder.build_result import BuildResult
from gallery_builder.derivatives import MAX_VARIANT
from gallery_builder.errors import GalleryError
from gallery_builder.model import Picture
from gallery_builder.state import BuildState

#: the most bytes S3 takes in a key
KEY_LIMIT = 1024
#: the longest end an image's name can have after the picture's slug:
#: ``.<variant>.<hash8>.<ext>`` (a variant is at most MAX_VARIANT characters)
IMAGE_NAME_TAIL = (
    len(".")
    + MAX_VARIANT
    + len(".")
    + 8
    + len(".")
    + max(len(ext) for ext in imaging.EXTENSIONS.values())
)


def key_bytes(prefix: str, path: str) -> int:
    """The length in bytes of the key ``path`` is published at under ``prefix``."""
    key = f"{prefix}/{path}" if prefix else path
    return len(key.encode("utf-8", errors="surrogateescape"))


def overlong_reason(picture: Picture, prefix: str, originals: bool) -> str | None:
    """Why ``picture`` cannot be published under ``prefix`` (``None`` when it can): the key
    of one of its images could pass :data:`KEY_LIMIT` (whatever its variant and format), or,
    with ``originals``, the key of its own file."""
    folder = f"{picture.album_path}/" if picture.album_path else ""
    images = key_bytes(prefix, folder + picture.slug) + IMAGE_NAME_TAIL
    if images > KEY_LIMIT:
        return (
            f"the keys of its images would be up to {images} bytes with the publish prefix "
            f"'{prefix}/', and S3 takes at most {KEY_LIMIT}: shorten the names of its folders "
            "(or [gallery] name) or nest it less deeply"
        )
    if originals and (own := key_bytes(prefix, picture.source.relpath)) > KEY_LIMIT:
        return (
            f"the key of its original would be {own} bytes with the publish prefix "
            f"'{prefix}/', and S3 takes at most {KEY_LIMIT}: shorten its name or its "
            "folders' names (or [gallery] name), or set [images] originals = false"
        )
    return None


def leave_out_overlong(
    pictures: list[Picture],
    prefix: str,
    originals: bool,
    state: BuildState,
    result: BuildResult,
) -> list[Picture]:
    """``pictures`` without those :func:`overlong_reason` refuses; each of those is reported
    as skipped and remembered so until its file or the settings change. An album left with no
    picture below it is not made (its page's key is shorter than its pictures' keys)."""
    kept = []
    for picture in pictures:
        reason = overlong_reason(picture, prefix, originals)
        if reason is None:
            kept.append(picture)
            continue
        relpath = picture.source.relpath
        state.sources[relpath] = dataclasses.replace(state.sources[relpath], error=reason)
        result.skipped.append((relpath, reason))
    result.skipped.sort()
    return kept


def check_keys(paths: Iterable[str], prefix: str) -> None:
    """Raise :class:`GalleryError` for a site path whose key would pass :data:`KEY_LIMIT`
    (the last guard, for files a plugin or theme adds)."""
    for path in sorted(paths):
        length = key_bytes(prefix, path)
        if length > KEY_LIMIT:
            shown = path if len(path) <= 120 else f"{path[:60]}…{path[-50:]}"
            raise GalleryError(
                f"the key of {shown} would be {length} bytes with the publish prefix "
                f"'{prefix}/', and S3 takes at most {KEY_LIMIT}: shorten the names it is made "
                "from (or [gallery] name)"
            )
