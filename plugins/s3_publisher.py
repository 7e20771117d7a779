"""Built-in publisher for ``s3://bucket[/prefix]`` (or a bare bucket name): S3 static website
hosting, set up safely, with conditional commits.

Hosting (ARCHITECTURE.md §5, step 2): the bucket is created if missing (in the client's
region); the website set-up itself (Block Public Access, the website configuration naming the
bucket root's error.html, the public-read statement merged into the bucket policy) is
plugins/s3_website.py; the bucket root (one index.html and error.html for every gallery) is
gallery_builder.bucket_root.
"""

from __future__ import annotations

import base64
import contextlib
import functools
import hashlib
import json
import os
import re
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

from gallery_builder.plugins.s3_conditional import (
    CANARY_KEY,
    CONDITION_FAILED,
    ConditionalWrites,
)
from gallery_builder.plugins.s3_lease import S3Lease
from gallery_builder.plugins.s3_listing import BucketListing, common_prefix, gallery_manifests
from gallery_builder.plugins.s3_region import (
    DASH_REGIONS,  # noqa: F401 (importable from here too)
    bucket_region,
    is_aws_endpoint,
    non_aws_note,
    record_region,
    region_problem,
    regional_endpoint,
    website_endpoint,
)
from gallery_builder.plugins.s3_website import (  # noqa: F401 (importable from here too)
    SID_PREFIX,
    UNSUPPORTED,
    WebsiteHosting,
    _statements,
    hosting_settings,
    merged_policy,
    public_read_statement,
    record_skipped,
)

from gallery_builder import hookimpl
from gallery_builder.errors import GalleryError, SettingError
from gallery_builder.keys import ALLOWED, S3_KEY_BYTES, join_key, prefix_problem
from gallery_builder.publisher import BasePublisher, PublishConflict
from gallery_builder.redact import redact_url, redact_urls

#: how often a body read cut off mid-stream is tried (botocore retries only the request)
READ_ATTEMPTS = 5
_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
#: the IAM permission each S3 API call needs, for AccessDenied messages (as the tutorial lists)
PERMISSIONS = {
    "CreateBucket": "s3:CreateBucket",
    "HeadBucket": "s3:ListBucket",
    "GetBucketLocation": "s3:GetBucketLocation",
    "GetPublicAccessBlock": "s3:GetBucketPublicAccessBlock",
    "GetBucketWebsite": "s3:GetBucketWebsite",
    "PutPublicAccessBlock": "s3:PutBucketPublicAccessBlock",
    "PutBucketWebsite": "s3:PutBucketWebsite",
    "PutBucketPolicy": "s3:PutBucketPolicy",
    "GetBucketPolicy": "s3:GetBucketPolicy",
    "PutObject": "s3:PutObject",
    "GetObject": "s3:GetObject",
    "HeadObject": "s3:GetObject",
    "DeleteObject": "s3:DeleteObject",
    "DeleteObjects": "s3:DeleteObject",
    "ListObjectsV2": "s3:ListBucket",
    "CopyObject": "s3:PutObject and s3:GetObject",
}
_DENIED = ("AccessDenied", "403", "AllAccessDisabled")
_BPA_HINT = (
    "; or the account blocks public bucket policies: in the AWS console, S3 > Block Public "
    "Access settings for this account, uncheck 'Block all public access' (see "
    "docs/publishing.md)"
)


def _s3_errors(method: Callable[..., Any]) -> Callable[..., Any]:
    """Turn what botocore raises into a :class:`GalleryError` that says what to do."""

    @functools.wraps(method)
    def translated(self: S3Publisher, *args: Any, **kwargs: Any) -> Any:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            return method(self, *args, **kwargs)
        except (ClientError, BotoCoreError) as exc:
            raise self.error(exc) from None

    return translated


def _body_errors() -> tuple[type[BaseException], ...]:
    from botocore.exceptions import IncompleteReadError, ReadTimeoutError, ResponseStreamingError
    from urllib3.exceptions import ProtocolError

    return (ResponseStreamingError, IncompleteReadError, ReadTimeoutError, ProtocolError, OSError)


_BODY_ERRORS = _body_errors()


def bucket_name_problem(name: str) -> str | None:
    """Why ``name`` is not a valid S3 bucket name, or None (checked before any request)."""
    if not _BUCKET.match(name):
        return "3 to 63 lower-case letters, digits, '.' and '-', starting and ending with one"
    if ".." in name or re.fullmatch(r"\d+\.\d+\.\d+\.\d+", name):
        return "no two dots in a row, and not shaped like an IP address"
    if name.startswith(("xn--", "sthree-")) or name.endswith(("-s3alias", "--ol-s3")):
        return "a prefix or suffix S3 reserves"
    return None


class S3Publisher(BasePublisher):
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
        """What a botocore error means for the user, as a :class:`GalleryError`."""
        from botocore.exceptions import ClientError, EndpointConnectionError, NoCredentialsError

        if isinstance(exc, NoCredentialsError):
            return GalleryError(
                "no AWS credentials found: set AWS_PROFILE or AWS_ACCESS_KEY_ID/"
                "AWS_SECRET_ACCESS_KEY, run `aws configure`, or use --profile"
            )
        # botocore's messages quote the endpoint URL, credentials written into it included
        if isinstance(exc, EndpointConnectionError):
            return GalleryError(f"cannot reach S3: {redact_urls(str(exc), self._endpoint)}")
        if not isinstance(exc, ClientError):
            return GalleryError(
                f"S3 request failed: {redact_urls(str(exc), self._endpoint)}; run gallery "
                "publish again"
            )
        error = exc.response.get("Error", {})
        code, operation = error.get("Code", ""), exc.operation_name
        if code in _DENIED:
            need = PERMISSIONS.get(operation, f"s3:{operation}")
            return GalleryError(
                f"access denied to {operation} on bucket {self.bucket}: your IAM identity "
                f"needs {need}" + (_BPA_HINT if operation == "PutBucketPolicy" else "")
            )
        message = redact_urls(error.get("Message") or "no message", self._endpoint)
        return GalleryError(
            f"S3 refused {operation} on bucket {self.bucket}: {code} ({message}); the live "
            "gallery is still whole: fix that, then run gallery publish again"
        )

    # --- the Publisher protocol ----------------------------------------------------------------

    @_s3_errors
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
            except _BODY_ERRORS:
                if attempt == READ_ATTEMPTS - 1:
                    raise GalleryError(
                        f"reading s3://{self.bucket}/{key} was cut off {READ_ATTEMPTS} times; "
                        "check the network and run gallery publish again"
                    ) from None
                time.sleep(min(2.0, 0.1 * 2**attempt))
        raise AssertionError("unreachable")

    @_s3_errors
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

    @_s3_errors
    def stat(self, keys: list[str], *, anonymous: bool = False) -> dict[str, Any]:
        """What is stored under ``keys`` (plugins/s3_stat.py): verify and --repair."""
        from gallery_builder.plugins.s3_stat import stat_objects

        return stat_objects(self.client, self.bucket, keys, anonymous=anonymous)

    @_s3_errors
    def manifests_near(self, prefix: str) -> list[str]:
        if self._created or self._bucket_missing:  # no bucket yet, or a new one: empty
            return []
        self._listing.forget()  # asked first in a publish: what an earlier one listed is old
        return self._listing.manifests_near(prefix)

    @_s3_errors
    def gallery_manifests(self) -> list[str]:
        """Every gallery's ``manifest.json`` key in the bucket (for the bucket root)."""
        return gallery_manifests(self.client, self.bucket)

    @_s3_errors
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

    @_s3_errors
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

    @_s3_errors
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
        """The gallery's lease (plugins/s3_lease.py): overlapping publishes of one gallery are
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

    # --- hosting -------------------------------------------------------------------------------

    #: ``--cdn none`` was given (not merely left out)
    cdn_refused = False

    def known_hosting(self, prefix: str, record: dict[str, Any] | None) -> None:
        """Given the live hosting record, before any write: a gallery served through
        CloudFront (its bucket private) is not turned back into a public website because
        ``--cdn`` was left out; nor, silently, with ``--cdn none``."""
        cdn = (record or {}).get("cdn")
        if not isinstance(cdn, dict):
            return
        where = f"s3://{self.bucket}/{prefix}" if prefix else f"s3://{self.bucket}"
        distribution = cdn.get("distribution_id")
        served = f"through CloudFront (distribution {distribution})" if isinstance(
            distribution, str) else "through CloudFront"  # fmt: skip
        if self.cdn_refused:
            raise SettingError(
                f"the gallery at {where} is served {served} from a private bucket; "
                "--cdn none would make the bucket public again for S3 website hosting, which "
                "gallery publish does not do by itself: undo the CloudFront set-up first "
                "(docs/https.md, 'Undoing it'), or publish with --cdn cloudfront"
            )
        raise SettingError(
            f"the gallery at {where} is served {served}: publish it with --cdn cloudfront "
            '(or set [publish] cdn = "cloudfront" in gallery.toml); without it this publish '
            "would set up S3 website hosting and make the bucket public again; nothing was sent"
        )

    def hosting_settings(self, prefix: str) -> dict[str, Any]:
        return hosting_settings(self.bucket, self.region, prefix)

    def hosting_fingerprint(self, prefix: str) -> str:
        self._manifest_key = f"{prefix}/manifest.json" if prefix else "manifest.json"
        settings = json.dumps(self.hosting_settings(prefix), sort_keys=True)
        return hashlib.sha256(f"{self.bucket}|{settings}".encode()).hexdigest()[:16]

    @property
    def _website(self) -> WebsiteHosting:
        """The website set-up's requests; one per publisher, so that what the store refused
        in this publish is neither tried nor warned about again."""
        if self._hosting is None:
            self._hosting = WebsiteHosting(self._call, self.bucket, self._store, aws=self.aws)
        return self._hosting

    def _conditional_writes(self) -> ConditionalWrites:
        if self._conditional is None:
            where = f"{self.location}{CANARY_KEY}"
            self._conditional = ConditionalWrites(self._call, where, self._store)
        return self._conditional

    def _reconfiguring(self, prefix: str, record: dict[str, Any] | None) -> bool:
        """A set-up given the record of the same settings is a ``--reconfigure``."""
        return record is not None and record.get("fingerprint") == self.hosting_fingerprint(prefix)

    @_s3_errors
    def set_up_hosting(self, prefix: str, record: dict[str, Any] | None = None) -> list[str]:
        """Create the bucket if missing, check once that the store enforces conditional
        writes (s3_conditional.py), and open the bucket for website hosting (s3_website.py):
        idempotent; the returned notes say what the store did not support. The writes an
        earlier set-up found refused (``record["skipped"]``) are not tried again, unless this
        is a ``--reconfigure``, which also checks the conditional writes again."""
        settings = self.hosting_settings(prefix)
        again = self._reconfiguring(prefix, record)
        self._ensure_bucket()
        self._conditional_writes().ensure(missing=self._created, recheck=again)
        skip = set() if again else record_skipped(record)
        notes = self._website.set_up(settings, created=self._created, skip=skip)
        if not self.aws and not self._non_aws_noted:
            self._non_aws_noted = True
            notes.append(non_aws_note(self._store))
        return notes

    def hosting_record(self, prefix: str) -> dict[str, Any]:
        """What the manifest keeps beside the fingerprint: the bucket's region, and the
        hosting writes the store refused (not tried again until ``--reconfigure``)."""
        record: dict[str, Any] = {}
        if self.bucket_region:
            record["region"] = self.bucket_region
        skipped = self._website.skipped
        if skipped:
            record["skipped"] = sorted(skipped)
        return record

    @_s3_errors
    def hosting_in_place(self, prefix: str) -> bool:
        """Whether the bucket policy still holds this gallery's statement (a store without
        bucket policies, or that refused the policy write, has nothing to check)."""
        return self._website.in_place(self.hosting_settings(prefix)["statement"]["Sid"])

    @_s3_errors
    def plan_hosting(self, prefix: str, record: dict[str, Any] | None = None) -> list[str]:
        """What :meth:`set_up_hosting` would create or change, from read-only requests (for
        ``--dry-run``); one line saying so when everything is in place."""
        from botocore.exceptions import ClientError

        settings = self.hosting_settings(prefix)
        again = self._reconfiguring(prefix, record)
        web = self._website
        web.skipped |= set() if again else record_skipped(record)
        try:
            self._learn_region(self.client.head_bucket(Bucket=self.bucket))
            exists = True
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") not in ("404", "NoSuchBucket", "NotFound"):
                raise
            exists = False
        lines = [] if exists else [f"create the bucket {self.bucket} in {self.region}"]
        lines += web.plan(settings, exists=exists)
        lines += self._conditional_writes().plan(exists=exists, recheck=again)
        return lines or ["nothing to change: the bucket's website hosting is in place"]

    @property
    def _endpoint(self) -> str:
        return getattr(self.client.meta, "endpoint_url", None) or ""

    @property
    def _store(self) -> str:
        endpoint = self._endpoint or "the store"
        return f"the store at {redact_urls(endpoint, endpoint)}" if "://" in endpoint else endpoint

    def _ensure_bucket(self) -> None:
        from botocore.exceptions import ClientError

        if self._created:  # made by this publish (before the bucket root's error.html)
            return
        if not self._bucket_missing:
            try:
                head = self.client.head_bucket(Bucket=self.bucket)
            except ClientError as exc:
                code = exc.response.get("Error", {}).get("Code", "")
                if code in ("403", "AccessDenied"):
                    raise GalleryError(
                        f"bucket {self.bucket} exists but is not yours, or you lack "
                        "s3:ListBucket on it; choose another name"
                    ) from None
                if code not in ("404", "NoSuchBucket", "NotFound"):
                    raise
            else:
                self._learn_region(head)
                return
        options: dict[str, Any] = {}
        if self.region != "us-east-1":
            options["CreateBucketConfiguration"] = {"LocationConstraint": self.region}
        try:
            self._call("create_bucket", **options)
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            if code == "BucketAlreadyOwnedByYou":  # made meanwhile, by another of your runs
                self._learn_region(self.client.head_bucket(Bucket=self.bucket))
                return
            if code == "BucketAlreadyExists":
                raise GalleryError(
                    f"the bucket name {self.bucket} is taken by another AWS account (bucket "
                    "names are global); choose another name"
                ) from None
            raise
        self._created = True
        self._use_region(self.region)


def parse_target(target: str) -> tuple[str, str | None]:
    """``s3://bucket/prefix`` -> ("bucket", "prefix"); a bare name -> ("name", None)."""
    if "://" in target:
        parts = urlsplit(target)
        if "@" in parts.netloc:
            raise SettingError(
                f"{redact_url(target)} carries credentials in its URL: give them as AWS_PROFILE, "
                "--profile or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY instead"
            )
        # one '/' after the bucket, and a trailing one, separate: the rest is the prefix
        bucket, prefix = parts.netloc, parts.path.removeprefix("/").removesuffix("/")
        problem = prefix_problem(prefix)
        if problem:
            raise SettingError(
                f"{redact_url(target)} names the prefix {prefix!r}, which {problem}: a "
                f"prefix is {ALLOWED} (e.g. s3://{bucket}/trips/2024)"
            )
    else:
        bucket, prefix = target, ""
    problem = bucket_name_problem(bucket)
    if problem:
        raise SettingError(f"{redact_url(bucket)!r} is not a valid S3 bucket name: {problem}")
    return bucket, prefix or None


#: attempts per request unless AWS_MAX_ATTEMPTS says otherwise (botocore reads it itself)
MAX_ATTEMPTS = 8


def _retries() -> dict[str, Any]:
    """botocore's standard retries: MAX_ATTEMPTS, or the user's ``AWS_MAX_ATTEMPTS``."""
    if os.environ.get("AWS_MAX_ATTEMPTS", "").strip():
        return {"mode": "standard"}  # botocore takes the variable (and checks it)
    return {"mode": "standard", "max_attempts": MAX_ATTEMPTS}


def s3_publisher(
    target: str,
    *,
    endpoint_url: str | None = None,
    region: str | None = None,
    profile: str | None = None,
    cdn: str | None = None,
    domain: str | None = None,
    wait: bool = False,
    purge: bool = False,
    private: bool | None = None,
    **options: Any,
) -> S3Publisher:
    """A publisher for ``target`` using the standard AWS credential chain; with
    ``cdn="cloudfront"``, one whose hosting is CloudFront (plugins/cloudfront_publisher.py),
    its CloudFront, ACM and Route 53 clients made on first use from the same session,
    endpoint and retry config."""
    import boto3
    from botocore.config import Config as BotoConfig
    from botocore.exceptions import ProfileNotFound

    bucket, prefix_hint = parse_target(target)
    cdn = _cdn_choice(cdn, domain)
    if private and cdn != "cloudfront":
        raise SettingError(
            "a private gallery needs CloudFront (--cdn cloudfront): S3 website hosting serves "
            "every file to anyone"
        )
    if domain:  # before any request: the certificate and the alias are for this exact name
        from gallery_builder.plugins.cloudfront_domain import checked_domain

        domain = checked_domain(domain)
    try:
        session = boto3.Session(profile_name=profile, region_name=region)
    except ProfileNotFound:
        raise SettingError(f"no AWS profile named '{profile}'") from None
    try:
        config = BotoConfig(retries=_retries())
        client = session.client("s3", endpoint_url=endpoint_url, config=config)
    except ValueError:  # botocore's message quotes the URL, credentials included
        raise SettingError(
            f"--endpoint-url {redact_url(endpoint_url or '')} is not a valid URL; write "
            "http(s)://host[:port]"
        ) from None
    region_name = client.meta.region_name or "us-east-1"

    def regional(other: str) -> Any:
        """A client like ``client`` for the bucket's own region."""
        endpoint = regional_endpoint(endpoint_url, region_name, other)
        return session.client("s3", region_name=other, endpoint_url=endpoint, config=config)

    if cdn != "cloudfront":
        website = S3Publisher(bucket, client, region_name, prefix_hint, regional=regional)
        website.cdn_refused = cdn == "none"
        return website
    from gallery_builder.plugins.cloudfront_publisher import CloudFrontPublisher
    from gallery_builder.plugins.cloudfront_setup import AwsClients

    clients = AwsClients(session, endpoint_url, config)
    return CloudFrontPublisher(bucket, client, region_name, prefix_hint, regional=regional,
                               clients=clients, domain=domain, wait=wait, purge=purge,
                               private=private)  # fmt: skip


def _cdn_choice(cdn: str | None, domain: str | None) -> str | None:
    """``--cdn``: none (S3 website hosting) or cloudfront; ``--domain`` needs cloudfront."""
    from gallery_builder.plugins.cloudfront_config import CDN_CHOICES

    if cdn is not None and cdn not in CDN_CHOICES:
        raise SettingError(f"--cdn {cdn!r} is not one of: {', '.join(CDN_CHOICES)}")
    if domain and cdn != "cloudfront":
        raise SettingError(
            f"--domain {domain} needs --cdn cloudfront (S3 website hosting serves no HTTPS, "
            "so it cannot have a domain's certificate)"
        )
    return cdn


#: the checks the factory makes of a target before any request (`gallery build` runs them on
#: [publish] target): bucket name, prefix, no credentials in the URL
s3_publisher.check_target = parse_target  # type: ignore[attr-defined]


@hookimpl
def gallery_publishers() -> dict[str, Any]:
    return {"s3": s3_publisher}
