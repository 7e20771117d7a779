"""No gallery inside a private gallery's folder (docs/https.md "Private galleries").

A private gallery ``P`` is served through the cache behaviour ``P/*``, which covers every
key under ``P/``: a public gallery at ``P/inner`` would silently become private, and a
gallery published later under ``P/`` would be behind ``P``'s key group whatever it asks.
Both are refused before any write (the dry run too): ``--private`` for ``P`` while another
live gallery is under ``P/`` (the bucket's manifests say which: one LIST, then one GET per
manifest found there), and any publish of a gallery under a private gallery's ``P/`` (the
distribution's behaviours, already read by the set-up, say which)."""

from __future__ import annotations

from typing import Any

from gallery_builder.plugins.cloudfront_private import (
    galleries_under,
    private_galleries,
    refuse_galleries_inside,
    refuse_inside_private,
)

from gallery_builder.manifest import ManifestError, read_remote_manifest


def refuse_nesting(s3: Any, prefix: str | None, private: bool | None, found: Any) -> None:
    """``s3``: the S3 publisher (``bucket``, ``gallery_manifests()``, ``read(key)``);
    ``found``: the distribution's ``get_distribution`` answer, or None (none yet)."""
    if not prefix:
        return
    bucket = s3.bucket
    distribution = found.get("Distribution") if isinstance(found, dict) else None
    config = distribution.get("DistributionConfig") if isinstance(distribution, dict) else None
    held = private_galleries(config if isinstance(config, dict) else {}, f"s3-{bucket}")
    refuse_inside_private(bucket, prefix, held)
    if private:
        under = galleries_under(prefix, s3.gallery_manifests())
        refuse_galleries_inside(bucket, prefix, [p for p in under if _is_gallery(s3, p)])


def _is_gallery(s3: Any, prefix: str) -> bool:
    """Whether ``prefix/manifest.json`` is a live gallery's (not an unpublished one's, not
    another app's)."""
    found = s3.read(f"{prefix}/manifest.json")
    try:
        return found is not None and read_remote_manifest(found[0]).exists
    except ManifestError:
        return False
