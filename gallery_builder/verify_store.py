"""``gallery verify`` through the store's API (``s3://``, ``file://``): the live manifest,
read through the publisher, then what is stored under every key it lists (the publisher's
optional ``stat(keys, anonymous=False) -> {key: ObjectInfo | None}``; a publisher without it is
read key by key, bytes only). Also used by ``gallery publish --repair``."""

from __future__ import annotations

import hashlib
from typing import Any

from gallery_builder.keys import join_key
from gallery_builder.publisher import Verifiable
from gallery_builder.verify import (
    LiveManifest,
    ObjectInfo,
    Problem,
    Report,
    compare_objects,
    is_private,
    manifest_key,
    read_live_manifest,
    sample,
)


def observe(publisher: Any, prefix: str, paths: list[str]) -> dict[str, ObjectInfo | None]:
    """``{path: what the store holds at prefix/path}`` (None: nothing)."""
    keys = {join_key(prefix, path): path for path in paths}
    if isinstance(publisher, Verifiable):
        found = publisher.stat(list(keys))
        return {path: _shaped(found.get(key)) for key, path in keys.items()}
    observed: dict[str, ObjectInfo | None] = {}
    for key, path in keys.items():
        current = publisher.read(key)
        observed[path] = current and ObjectInfo(
            hashlib.md5(current[0]).hexdigest(), len(current[0]), headers=False
        )
    return observed


def _shaped(value: Any) -> ObjectInfo | None:
    # a third-party publisher's answer is checked, not trusted
    return value if isinstance(value, ObjectInfo) else None


def verify_store(
    publisher: Any, prefix: str, report: Report, *, sample_n: int | None = None
) -> LiveManifest | None:
    """Check the gallery at ``publisher``/``prefix`` through the store's API, adding to
    ``report``; the live manifest (None if there is no gallery's)."""
    key = manifest_key(prefix)
    found = publisher.read(key)
    live, problems = read_live_manifest(found[0] if found else None, publisher.location + key)
    report.problems += problems
    report.count("manifests")
    if live is None:
        return None
    paths = sample(live.files, sample_n)
    observed = observe(publisher, prefix, paths)
    report.count("files", len(paths))
    report.problems += compare_objects(
        live.files, observed, where=lambda path: publisher.location + join_key(prefix, path)
    )
    check_origin(publisher, prefix, live, report)
    return live


def check_origin(publisher: Any, prefix: str, live: LiveManifest, report: Report) -> None:
    """A private bucket (hosting through a CDN) refuses an anonymous read of a page; a
    website-hosted one serves it. Only where the publisher can read anonymously and the
    gallery's hosting was set up (a ``file://`` target has none)."""
    page = next((p for p in ("index.html", "error.html") if p in live.files), None)
    if not isinstance(publisher, Verifiable) or page is None or not live.hosting:
        return
    key = join_key(prefix, page)
    readable = _shaped(publisher.stat([key], anonymous=True).get(key)) is not None
    report.count("origin_checks")
    where = publisher.location + key
    if is_private(live.hosting) and readable:
        report.problems.append(
            Problem(
                "origin-open",
                where,
                expected="403 to an anonymous read (a private bucket, read by the CDN only)",
                found="readable by anyone",
                advice="remove the public-read statement from the bucket policy and turn Block "
                "Public Access on: run gallery publish --reconfigure",
            )
        )
    elif not is_private(live.hosting) and not readable:
        report.problems.append(
            Problem(
                "origin-closed",
                where,
                expected="readable by anyone (website hosting)",
                found="refused to an anonymous read",
                advice="the bucket policy lacks the gallery's public-read statement, or Block "
                "Public Access forbids it: run gallery publish --reconfigure",
            )
        )


def damaged(publisher: Any, prefix: str, files: dict[str, dict[str, Any]]) -> dict[str, bool]:
    """For ``gallery publish --repair``: ``{path: bytes_ok}`` for every path of ``files``
    whose object is missing or differs from its entry; ``bytes_ok`` when only the headers
    are wrong (a copy in place repairs it)."""
    observed = observe(publisher, prefix, sorted(files))
    broken: dict[str, bool] = {}
    for problem in compare_objects(files, observed):
        headers_only = problem.kind in ("content-type", "cache-control")
        broken[problem.where] = broken.get(problem.where, True) and headers_only
    return broken
