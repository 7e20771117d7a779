"""S3Publisher: publishes a built site into one bucket with a boto3 S3 client (the Publisher
protocol's reads and writes, each conditional; the lease; the public URLs). Its hosting
members (the bucket made if missing, S3 website hosting) are bucket_hosting.py, the website
set-up itself hosting.py (ARCHITECTURE.md §5, step 2); the bucket root (one index.html and
error.html for every gallery) is gallery_builder.bucket_root.

botocore is imported inside the methods: importing this module does not import it.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

from gallery_builder.plugins.s3.bucket_hosting import BucketHosting
from gallery_builder.plugins.s3.conditional import CONDITION_FAILED, ConditionalWrites
from gallery_builder.plugins.s3.errors import body_errors, s3_error, s3_errors
from gallery_builder.plugins.s3.hosting import WebsiteHosting
from gallery_builder.plugins.s3.lease import S3Lease
from gallery_builder.plugins.s3.listing import BucketListing, common_prefix, gallery_manifests
from gallery_builder.plugins.s3.region import (
    bucket_region,
    is_aws_endpoint,
    record_region,
    region_problem,
    website_endpoint,
)

from gallery_builder.errors import GalleryError
from gallery_builder.keys import S3_KEY_BYTES, join_key
from gallery_builder.publisher import BasePublisher, PublishConflict
from gallery_builder.redact import redact_urls

#: how often a body read cut off mid-stream is tried (botocore retries only the request)
READ_ATTEMPTS = 5


class S3Publisher(BucketHosting, BasePublisher):
    """Publishes into one bucket with a boto3 S3 client."""

    #: S3 refuses longer keys; the publish refuses them before any write, naming them
    max_key_bytes = S3_KEY_BYTES

    def __init__(
        self,
        bucket: str,
        client: Any,
        region: str,
        prefix_hint: str | None = None,
        *,
        regional: Callable[[str], Any] | None = None,
    ):
        #: ``region``: the client's (a new bucket is created there; part of the fingerprint)
        self.bucket, self.client, self.region = bucket, client, region
        #: region -> a client like ``client`` for that region (None: keep ``client``)
        self._regional = regional
        #: the bucket's own region, once known (HeadBucket, its creation, the hosting record)
        self.bucket_region: str | None = None
        #: the gallery's manifest key (known from hosting_fingerprint), whose record is read
        self._manifest_key: str | None = None
        self._hosting: WebsiteHosting | None = None
        self._conditional: ConditionalWrites | None = None
        self._non_aws_noted = False
        self.location = f"s3://{bucket}/"
        #: the prefix the target named (s3://bucket/PREFIX), used unless -d says otherwise
        self.prefix_hint = prefix_hint
        #: the lease held during a publish's writes (each write checks it is still held)
        self._lease: S3Lease | None = None
        #: the bucket's listings made during one publish (existing, manifests_near)
        self._listing = BucketListing(client, bucket)
        #: S3 said NoSuchBucket to a read: no need to ask again before creating it
        self._bucket_missing = False
        #: this publish created the bucket: it holds no policy and no object yet
        self._created = False

    def url(self, key: str) -> str:
        """The public URL of ``key``: on AWS, on the bucket's website endpoint; on another
        store, the object's path-style URL on the endpoint (its own website settings, if any,
        may serve it elsewhere)."""
        root = self.website_url()
        if root is None:
            parts = urlsplit(self._endpoint)
            host = parts.netloc.rpartition("@")[2]  # never the credentials of the URL
            root = f"{parts.scheme}://{host}{parts.path.rstrip('/')}/{quote(self.bucket)}/"
        return root + quote(key, safe="/")

    @property
    def aws(self) -> bool:
        """Whether the store is AWS S3 itself (no endpoint URL, or one on amazonaws.com)."""
        return is_aws_endpoint(self._endpoint or None)

    def website_url(self) -> str | None:
        """The bucket's website endpoint in the bucket's own region, with a trailing slash;
        None for a store other than AWS (no amazonaws.com address applies to it), or when the
        region cannot be told. The region is the one the publish learnt (its creation,
        HeadBucket, the live hosting record), else asked once (HeadBucket)."""
        from botocore.exceptions import BotoCoreError, ClientError

        if not self.aws:
            return None
        if self.bucket_region is None:
            try:
                self._learn_region(self.client.head_bucket(Bucket=self.bucket))
            except (ClientError, BotoCoreError):
                return None
        return website_endpoint(self.bucket, self.bucket_region or self.region) + "/"

    def _learn_region(self, head: dict[str, Any]) -> None:
        """The bucket's region from a HeadBucket answer (else GetBucketLocation, on AWS)."""
        region = head.get("BucketRegion")
        if region_problem(region) is None:
            self._use_region(region)
        elif self.aws:
            self._use_region(bucket_region(self._call("get_bucket_location")))

    def _use_region(self, region: str | None) -> None:
        """The bucket is in ``region``: later requests go there (on AWS a client for another
        region than the bucket's is redirected, and signs for the wrong one, at each new
        connection), and the website URL names it."""
        if region is None:
            return
        self.bucket_region = region
        if region != self.client.meta.region_name and self._regional is not None:
            self.client = self._regional(region)
            self._listing.client = self.client

    # --- errors ------------------------------------------------------------------------------

    def _call(self, operation: str, **kwargs: Any) -> Any:
        return getattr(self.client, operation)(Bucket=self.bucket, **kwargs)

    def error(self, exc: Exception) -> GalleryError:
        """What a botocore error means for the user, as a :class:`GalleryError` (errors.py)."""
        return s3_error(exc, self.bucket, self._endpoint)

    # --- the Publisher protocol ----------------------------------------------------------------

    @s3_errors
    def read(self, key: str) -> tuple[bytes, str] | None:
        from botocore.exceptions import ClientError

        for attempt in range(READ_ATTEMPTS):
            try:
                response = self._call("get_object", Key=key)
                self._bucket_missing = False
                # botocore retries a failed request, but not a body cut off mid-stream
                data = response["Body"].read()
                if key == self._manifest_key and self.bucket_region is None:
                    self._use_region(record_region(data))  # the live record names it
                return data, response["ETag"].strip('"')
            except ClientError as exc:
                code = exc.response.get("Error", {}).get("Code")
                if code in ("NoSuchKey", "NoSuchBucket", "404"):
                    self._bucket_missing = code == "NoSuchBucket"
                    return None
                raise
            except body_errors():
                if attempt == READ_ATTEMPTS - 1:
                    raise GalleryError(
                        f"reading s3://{self.bucket}/{key} was cut off {READ_ATTEMPTS} times; "
                        "check the network and run gallery publish again"
                    ) from None
                time.sleep(min(2.0, 0.1 * 2**attempt))
        raise AssertionError("unreachable")

    @s3_errors
    def existing(self, entries: dict[str, dict[str, Any]], *, headers: bool = True) -> set[str]:
        if not entries or self._created:
            return set()
        listing = self._listing.under(common_prefix(list(entries)))
        same_bytes = [key for key, entry in entries.items() if listing.get(key) == entry["md5"]]
        if not same_bytes or not headers:
            return set(same_bytes)

        def has_headers(key: str) -> bool:
            # a listing has no headers: the object may have come from another tool
            from botocore.exceptions import ClientError

            try:
                head = self._call("head_object", Key=key)
            except ClientError as exc:
                if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                    return False  # gone since the listing: sent again
                raise
            entry = entries[key]
            return head.get("ContentType") == entry.get("content_type") and head.get(
                "CacheControl"
            ) == entry.get("cache_control")

        with ThreadPoolExecutor(max_workers=10) as pool:
            checks = pool.map(has_headers, same_bytes)
            return {key for key, ok in zip(same_bytes, checks, strict=True) if ok}

    @s3_errors
    def stat(self, keys: list[str], *, anonymous: bool = False) -> dict[str, Any]:
        """What is stored under ``keys`` (stat.py): verify and --repair."""
        from gallery_builder.plugins.s3.stat import stat_objects

        return stat_objects(self.client, self.bucket, keys, anonymous=anonymous)

    @s3_errors
    def manifests_near(self, prefix: str) -> list[str]:
        if self._created or self._bucket_missing:  # no bucket yet, or a new one: empty
            return []
        self._listing.forget()  # asked first in a publish: what an earlier one listed is old
        return self._listing.manifests_near(prefix)

    @s3_errors
    def gallery_manifests(self) -> list[str]:
        """Every gallery's ``manifest.json`` key in the bucket (for the bucket root)."""
        return gallery_manifests(self.client, self.bucket)

    @s3_errors
    def ensure_bucket(self) -> None:
        """Create the bucket if it is missing (before the bucket root's first write)."""
        self._ensure_bucket()
        self._bucket_missing = False

    def _guard(self) -> None:
        """Every write under a lease first checks it is still held."""
        if self._lease is not None:
            self._lease.ensure_held()

    def _replaced(self, key: str, exc: Any, replaces: str | None) -> GalleryError:
        code = exc.response.get("Error", {}).get("Code", "")
        if replaces and code in CONDITION_FAILED - {"409"}:
            return PublishConflict(
                f"s3://{self.bucket}/{key} no longer holds the file the live manifest lists: "
                "another publish replaced it while this one ran; this one stopped before its "
                "commit (the other publish's gallery is live): run gallery publish again once "
                "it is done"
            )
        return self.error(exc)

    def upload(
        self, key: str, file: Path, entry: dict[str, Any], *, replaces: str | None = None
    ) -> None:
        from botocore.exceptions import BotoCoreError, ClientError

        data = file.read_bytes()
        digest = hashlib.md5(data)
        if digest.hexdigest() != entry["md5"]:
            raise GalleryError(f"{file} changed since the site was built; build it again")
        self._guard()

        def put(**condition: str) -> None:
            self._call(
                "put_object",
                Key=key,
                Body=data,
                ContentMD5=base64.b64encode(digest.digest()).decode(),  # S3 checks the bytes
                ContentType=entry["content_type"],
                CacheControl=entry["cache_control"],
                **condition,
            )

        try:
            try:
                put(**({"IfMatch": f'"{replaces}"'} if replaces else {}))
            except ClientError as exc:
                if not replaces or exc.response.get("Error", {}).get("Code") != "NoSuchKey":
                    raise
                put(IfNoneMatch="*")  # gone meanwhile: nothing newer to keep, unless it comes
        except ClientError as exc:
            raise self._replaced(key, exc, replaces) from None
        except BotoCoreError as exc:
            raise self.error(exc) from None

    def retag(self, key: str, entry: dict[str, Any], *, replaces: str | None = None) -> None:
        from botocore.exceptions import BotoCoreError, ClientError

        self._guard()
        condition = {"CopySourceIfMatch": f'"{replaces}"'} if replaces else {}
        try:
            self._call(
                "copy_object",
                Key=key,
                CopySource={"Bucket": self.bucket, "Key": key},
                MetadataDirective="REPLACE",
                ContentType=entry["content_type"],
                CacheControl=entry["cache_control"],
                **condition,
            )
        except ClientError as exc:
            raise self._replaced(key, exc, replaces) from None
        except BotoCoreError as exc:
            raise self.error(exc) from None

    @s3_errors
    def commit(self, key: str, data: bytes, base_etag: str | None) -> str:
        from botocore.exceptions import ClientError

        self._guard()
        condition = {"IfMatch": f'"{base_etag}"'} if base_etag else {"IfNoneMatch": "*"}
        try:
            response = self._call(
                "put_object",
                Key=key,
                Body=data,
                ContentMD5=base64.b64encode(hashlib.md5(data).digest()).decode(),
                ContentType="application/json",
                CacheControl="no-cache",
                **condition,
            )
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            if code in CONDITION_FAILED:  # 304: what R2 (and MinIO before 2024) may answer
                raise PublishConflict(
                    f"another publish changed s3://{self.bucket}/{key} since this one started; "
                    "nothing of this publish is live yet: run gallery publish again"
                ) from None
            raise
        return response["ETag"].strip('"')

    @s3_errors
    def delete(self, keys: list[str]) -> None:
        if not keys:
            return
        self._guard()
        response = self._call(
            "delete_objects", Delete={"Objects": [{"Key": k} for k in keys], "Quiet": True}
        )
        errors = response.get("Errors", [])
        if errors:
            first = errors[0]
            raise GalleryError(
                f"{len(errors)} file(s) could not be deleted from s3://{self.bucket}, e.g. "
                f"{first.get('Key')}: {first.get('Message') or first.get('Code')}"
            )

    @contextlib.contextmanager
    def lease(self, prefix: str) -> Iterator[None]:
        """The gallery's lease (lease.py): overlapping publishes of one gallery are
        refused; it is renewed while held, and every write checks it is still held."""
        lease = S3Lease(self._call, self.location, prefix)
        self._translated(self._conditional_writes().ensure)  # once per publish: one GET
        self._translated(lease.take)
        self._lease = lease
        try:
            yield
        finally:
            self._lease = None
            if join_key(prefix, "manifest.json") == self._manifest_key:
                # the gallery's own lease (not the bucket root's, taken before its set-up):
                # a next publish with this object finds the bucket as is
                self._created = False
            self._listing.forget()
            lease.release()

    def _translated(self, action: Callable[[], Any]) -> Any:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            return action()
        except (ClientError, BotoCoreError) as exc:
            raise self.error(exc) from None

    @property
    def _endpoint(self) -> str:
        return getattr(self.client.meta, "endpoint_url", None) or ""

    @property
    def _store(self) -> str:
        endpoint = self._endpoint or "the store"
        return f"the store at {redact_urls(endpoint, endpoint)}" if "://" in endpoint else endpoint
