"""What the S3 publisher learns from listing the bucket, once per publish: the ETags under
the gallery's prefix (for the resume check, ``existing``) and the other galleries' manifests
near it (``manifests_near``), from the same listing."""

from __future__ import annotations

import contextlib
from typing import Any

from gallery_builder.manifest import MANIFEST_NAME
from gallery_builder.neighbours import ancestor_manifests


class BucketListing:
    """Listings of one bucket, kept for the length of one publish (:meth:`forget` after)."""

    def __init__(self, client: Any, bucket: str) -> None:
        self.client, self.bucket = client, bucket
        self._listings: dict[str, dict[str, str]] = {}

    def forget(self) -> None:
        self._listings.clear()

    def under(self, prefix: str) -> dict[str, str]:
        """Every key under ``prefix`` with its ETag; a listing already made of a shorter
        prefix answers without a request."""
        for listed, found in self._listings.items():
            if prefix.startswith(listed):
                return {k: v for k, v in found.items() if k.startswith(prefix)}
        found = {}
        paginator = self.client.get_paginator("list_objects_v2")
        with contextlib.suppress(self.client.exceptions.NoSuchBucket):
            for page in paginator.paginate(Bucket=self.bucket, Prefix=prefix):
                for item in page.get("Contents", []):
                    found[item["Key"]] = item["ETag"].strip('"')
        self._listings[prefix] = found
        return found

    def exists(self, key: str) -> bool:
        """Whether ``key`` exists: a LIST answers 200 with nothing for a missing key (a GET's
        NoSuchKey is an error in the store's log); the exact key sorts first under itself."""
        try:
            response = self.client.list_objects_v2(Bucket=self.bucket, Prefix=key, MaxKeys=1)
        except self.client.exceptions.NoSuchBucket:
            return False
        return [item["Key"] for item in response.get("Contents", [])] == [key]

    def manifests_near(self, prefix: str) -> list[str]:
        """Other galleries' manifest keys above ``prefix`` (one LIST per parent folder and
        the root) and below it (from the listing of the prefix, which ``under`` reuses)."""
        own = f"{prefix}/{MANIFEST_NAME}" if prefix else MANIFEST_NAME
        below = [
            key
            for key in self.under(f"{prefix}/" if prefix else "")
            if key.endswith(f"/{MANIFEST_NAME}") and key != own
        ]
        return [key for key in ancestor_manifests(prefix) if self.exists(key)] + below


def gallery_manifests(client: Any, bucket: str) -> list[str]:
    """The key of every ``manifest.json`` in the bucket: one LIST per 1,000 keys."""
    found = []
    paginator = client.get_paginator("list_objects_v2")
    with contextlib.suppress(client.exceptions.NoSuchBucket):
        for page in paginator.paginate(Bucket=bucket):
            for item in page.get("Contents", []):
                key = item.get("Key")
                if isinstance(key, str) and (
                    key == MANIFEST_NAME or key.endswith("/" + MANIFEST_NAME)
                ):
                    found.append(key)
    return found


def common_prefix(keys: list[str]) -> str:
    first, last = min(keys), max(keys)
    n = 0
    while n < min(len(first), len(last)) and first[n] == last[n]:
        n += 1
    return first[:n]
