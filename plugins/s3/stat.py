"""What the S3 store really holds under a gallery's keys, for ``gallery verify`` and
``gallery publish --repair``: one listing (ETags, sizes) of the keys' common prefix, then a
HEAD of each key found (content type and cache control, which a listing does not give), ten at
a time. With ``anonymous``, unsigned GETs instead: what anyone on the internet may read."""

from __future__ import annotations

import hashlib
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from gallery_builder.plugins.s3.listing import common_prefix

from gallery_builder.verify import ObjectInfo

#: HEADs at a time (botocore's connection pool holds 10 by default)
STAT_WORKERS = 10
_GONE = ("404", "NoSuchKey", "NotFound")
_REFUSED = ("403", "AccessDenied", "AllAccessDisabled")


def _md5_of(etag: Any) -> str | None:
    """A plain upload's ETag is its MD5; a multipart one's (``...-N``) is not."""
    if not isinstance(etag, str):
        return None
    etag = etag.strip('"')
    return etag.lower() if len(etag) == 32 and "-" not in etag else None


def _listing(client: Any, bucket: str, prefix: str) -> dict[str, tuple[str | None, int | None]]:
    found: dict[str, tuple[str | None, int | None]] = {}
    paginator = client.get_paginator("list_objects_v2")
    for page in paginator.paginate(Bucket=bucket, Prefix=prefix):
        for item in page.get("Contents", []) or []:
            if isinstance(item, dict) and isinstance(item.get("Key"), str):
                size = item.get("Size")
                found[item["Key"]] = (
                    _md5_of(item.get("ETag")),
                    size if isinstance(size, int) else None,
                )
    return found


def _head(client: Any, bucket: str, key: str) -> ObjectInfo | None:
    from botocore.exceptions import ClientError

    try:
        head = client.head_object(Bucket=bucket, Key=key)
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") in _GONE + _REFUSED:
            return None  # gone since the listing; or (unsigned) not readable
        raise
    size = head.get("ContentLength")
    return ObjectInfo(
        md5=_md5_of(head.get("ETag")),
        size=size if isinstance(size, int) else None,
        content_type=head.get("ContentType"),
        cache_control=head.get("CacheControl"),
    )


def _anonymous_get(client: Any, bucket: str, key: str) -> ObjectInfo | None:
    """An unsigned GET (as a browser sends it: a HEAD needs the same permission on AWS, but
    not every store evaluates it the same way)."""
    from botocore.exceptions import ClientError

    try:
        answer = client.get_object(Bucket=bucket, Key=key)
        data = answer["Body"].read()
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") in _GONE + _REFUSED:
            return None
        raise
    return ObjectInfo(
        hashlib.md5(data).hexdigest(), len(data), answer.get("ContentType"),
        answer.get("CacheControl"),
    )  # fmt: skip


def unsigned_client(client: Any) -> Any:
    """A client for the same endpoint and region as ``client`` that signs nothing."""
    import boto3
    from botocore import UNSIGNED
    from botocore.config import Config

    config = client.meta.config.merge(Config(signature_version=UNSIGNED))
    return boto3.session.Session().client(
        "s3",
        endpoint_url=client.meta.endpoint_url,
        region_name=client.meta.region_name,
        config=config,
    )


def stat_objects(
    client: Any, bucket: str, keys: list[str], *, anonymous: bool = False
) -> dict[str, ObjectInfo | None]:
    """``{key: what is there}`` for every key (None: nothing, or for ``anonymous``, nothing
    anyone may read). Raises botocore's errors (the publisher translates them)."""
    if not keys:
        return {}
    if anonymous:
        client = unsigned_client(client)
        present = list(keys)
    else:
        listing = _listing(client, bucket, common_prefix(keys))
        present = [key for key in keys if key in listing]
    look = _anonymous_get if anonymous else _head
    with ThreadPoolExecutor(max_workers=STAT_WORKERS) as pool:
        answers = pool.map(lambda key: look(client, bucket, key), present)
        heads = dict(zip(present, answers, strict=True))
    found: dict[str, ObjectInfo | None] = {}
    for key in keys:
        head = heads.get(key)
        if head is not None and not anonymous:
            md5, size = listing[key]
            # the listing and the HEAD agree unless the object changed between them: the HEAD
            # is the later look
            head = ObjectInfo(
                head.md5 or md5,
                head.size if head.size is not None else size,
                head.content_type,
                head.cache_control,
            )
        found[key] = head
    return found
