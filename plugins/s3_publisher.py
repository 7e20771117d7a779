"""Built-in publisher for ``s3://bucket[/prefix]`` (or a bare bucket name): S3 static website
hosting, set up safely, with conditional commits.

Hosting (ARCHITECTURE.md §5, step 2): the bucket is created if missing (in the client's
region); Block Public Access lifts only BlockPublicPolicy and RestrictPublicBuckets (the site
uses a policy, not ACLs); the website configuration names index.html and the bucket root's
error.html (gallery_builder.bucket_root: one for every gallery in the bucket); a public-read
statement scoped to ``bucket/prefix/*`` (and the root's pages) is merged into the bucket policy,
keeping every other statement.
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

from gallery_builder.plugins.s3_lease import S3Lease
from gallery_builder.plugins.s3_listing import BucketListing, common_prefix, gallery_manifests

from gallery_builder import hookimpl
from gallery_builder.errors import GalleryError, SettingError
from gallery_builder.keys import ALLOWED, S3_KEY_BYTES, prefix_problem
from gallery_builder.publishing import PublishConflict
from gallery_builder.redact import redact_url, redact_urls

#: regions whose website endpoint is s3-website-REGION; every other uses s3-website.REGION
DASH_REGIONS = frozenset(
    {"us-east-1", "us-west-1", "us-west-2", "ap-southeast-1", "ap-southeast-2",
     "ap-northeast-1", "eu-west-1", "sa-east-1", "us-gov-west-1"}
)  # fmt: skip
#: how often a body read cut off mid-stream is tried (botocore retries only the request)
READ_ATTEMPTS = 5
#: how often the policy merge is made again when another setup overwrote it meanwhile
POLICY_ATTEMPTS = 3
#: error codes with which S3-compatible stores refuse a call they do not implement
UNSUPPORTED = frozenset({"NotImplemented", "XNotImplemented", "501", "MethodNotAllowed", "405"})
_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
#: the IAM permission each S3 API call needs, for AccessDenied messages (as the tutorial lists)
PERMISSIONS = {
    "CreateBucket": "s3:CreateBucket",
    "HeadBucket": "s3:ListBucket",
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


def website_endpoint(bucket: str, region: str) -> str:
    """The bucket's website URL: dash or dot form depending on the region."""
    sep = "-" if region in DASH_REGIONS else "."
    return f"http://{bucket}.s3-website{sep}{region}.amazonaws.com"


#: the bucket root's keys every gallery under a prefix opens too
ROOT_KEYS = ("index.html", "error.html", "_root/*")
#: every public-read statement gallery-builder writes has a Sid starting with this
SID_PREFIX = "GalleryBuilderPublicRead"


def public_read_statement(bucket: str, prefix: str) -> dict[str, Any]:
    """The statement opening ``bucket/prefix/*`` to the public. Its Sid is unique to the exact
    prefix (``trips/2024`` and ``trips-2024`` differ), and readable."""
    resource: str | list[str] = (
        f"arn:aws:s3:::{bucket}/{prefix}/*" if prefix else f"arn:aws:s3:::{bucket}/*"
    )
    if prefix:  # and the bucket root's pages and files (gallery_builder.bucket_root)
        resource = [resource, *(f"arn:aws:s3:::{bucket}/{key}" for key in ROOT_KEYS)]
    sid = SID_PREFIX
    if prefix:
        readable = re.sub(r"[^A-Za-z0-9]", "", prefix.title())[:40]
        sid += f"-{readable}-{hashlib.sha256(prefix.encode()).hexdigest()[:8]}"
    return {
        "Sid": sid,
        "Effect": "Allow",
        "Principal": "*",
        "Action": "s3:GetObject",
        "Resource": resource,
    }


def _statements(policy_json: str) -> list[dict[str, Any]]:
    statements = json.loads(policy_json).get("Statement", [])
    return [statements] if isinstance(statements, dict) else list(statements)


def _resources(statement: dict[str, Any]) -> list[str]:
    value = statement.get("Resource")
    return [value] if isinstance(value, str) else [r for r in value or [] if isinstance(r, str)]


def merged_policy(existing: str | None, statement: dict[str, Any]) -> dict[str, Any]:
    """``existing`` (JSON) with ``statement`` added, replacing ours for the same Sid or the
    same resource (written by an older version); every other statement is kept."""
    policy = json.loads(existing) if existing else {"Version": "2012-10-17", "Statement": []}
    statements = policy.get("Statement", [])
    if isinstance(statements, dict):
        statements = [statements]

    main = _resources(statement)[0]  # the gallery's own prefix (then the bucket root's keys)

    def ours_for_this_prefix(s: dict[str, Any]) -> bool:
        sid = str(s.get("Sid", ""))
        return sid == statement["Sid"] or (sid.startswith(SID_PREFIX) and main in _resources(s))

    policy["Statement"] = [*(s for s in statements if not ours_for_this_prefix(s)), statement]
    return policy


class S3Publisher:
    """Publishes into one bucket with a boto3 S3 client."""

    #: S3 refuses longer keys; the publish refuses them before any write, naming them
    max_key_bytes = S3_KEY_BYTES

    def __init__(self, bucket: str, client: Any, region: str, prefix_hint: str | None = None):
        self.bucket, self.client, self.region = bucket, client, region
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
        """The public URL of ``key`` on the bucket's website endpoint."""
        return self.website_url() + quote(key, safe="/")

    def website_url(self) -> str:
        """The bucket's website endpoint (region-correct), with a trailing slash."""
        return website_endpoint(self.bucket, self.region) + "/"

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
                return response["Body"].read(), response["ETag"].strip('"')
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
        if replaces and code in ("PreconditionFailed", "412", "ConditionalRequestConflict"):
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
            if code in ("PreconditionFailed", "ConditionalRequestConflict", "412", "409"):
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
        self._translated(lease.take)
        self._lease = lease
        try:
            yield
        finally:
            self._lease = None
            self._created = False  # a next publish with this object finds the bucket as is
            self._listing.forget()
            lease.release()

    def _translated(self, action: Callable[[], Any]) -> Any:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            return action()
        except (ClientError, BotoCoreError) as exc:
            raise self.error(exc) from None

    # --- hosting -------------------------------------------------------------------------------

    def hosting_settings(self, prefix: str) -> dict[str, Any]:
        error_key = (
            "error.html"  # the bucket root's, for every gallery (gallery_builder.bucket_root)
        )
        return {
            "region": self.region,
            "public_access_block": {
                "BlockPublicAcls": True,
                "IgnorePublicAcls": True,
                "BlockPublicPolicy": False,
                "RestrictPublicBuckets": False,
            },
            "website": {
                "IndexDocument": {"Suffix": "index.html"},
                "ErrorDocument": {"Key": error_key},
            },
            "statement": public_read_statement(self.bucket, prefix),
        }

    def hosting_fingerprint(self, prefix: str) -> str:
        settings = json.dumps(self.hosting_settings(prefix), sort_keys=True)
        return hashlib.sha256(f"{self.bucket}|{settings}".encode()).hexdigest()[:16]

    @_s3_errors
    def set_up_hosting(self, prefix: str) -> list[str]:
        """Create and open the bucket for website hosting: idempotent, keeps what it can.

        A call the store does not support (S3-compatible stores answer ``NotImplemented``)
        is skipped; the returned notes say which, and what to do instead."""
        settings = self.hosting_settings(prefix)
        self._ensure_bucket()
        notes: list[str] = []
        if not self._supported(
            "put_public_access_block", notes,
            PublicAccessBlockConfiguration=settings["public_access_block"],
        ):  # fmt: skip
            notes[-1] += " (stores without it have no Block Public Access to lift)"
        if not self._supported(
            "put_bucket_website", notes, WebsiteConfiguration=settings["website"]
        ):
            notes[-1] += (
                f"; set index.html and {settings['website']['ErrorDocument']['Key']} "
                "as the index and error documents in the store's own settings"
            )
        self._put_policy(settings["statement"], notes)
        return notes

    def _put_policy(self, statement: dict[str, Any], notes: list[str]) -> None:
        """Merge ``statement`` into the bucket policy; never replace a policy we cannot read.
        The policy is read back: another gallery's setup writing its own merge at the same
        moment could have dropped ours, and then the merge is made again."""
        for _ in range(POLICY_ATTEMPTS):
            existing = self._bucket_policy(notes)
            if existing is False:
                return  # the store has no bucket policies: noted
            policy = merged_policy(existing or None, statement)
            if not self._supported("put_bucket_policy", notes, Policy=json.dumps(policy)):
                notes[-1] += (
                    "; make the gallery's objects publicly readable in the store's settings"
                )
                return
            now = self._bucket_policy(notes)
            sids = [s.get("Sid") for s in _statements(now)] if isinstance(now, str) else []
            if statement["Sid"] in sids:
                return
        raise GalleryError(
            f"the policy of bucket {self.bucket} kept changing while this publish set it (another "
            "publish setting up hosting?); run gallery publish again"
        )

    @_s3_errors
    def hosting_in_place(self, prefix: str) -> bool:
        """Whether the bucket policy still holds this gallery's statement (a store without
        bucket policies has nothing to check)."""
        policy = self._bucket_policy([])
        if policy is False:
            return True
        sid = self.hosting_settings(prefix)["statement"]["Sid"]
        return isinstance(policy, str) and sid in [s.get("Sid") for s in _statements(policy)]

    def _bucket_policy(self, notes: list[str]) -> str | bool | None:
        """The bucket policy's JSON; None if there is none; False if the store has none."""
        from botocore.exceptions import ClientError

        try:
            return self._call("get_bucket_policy")["Policy"]
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code")
            if code in UNSUPPORTED:
                notes.append(
                    f"{self._store} does not support bucket policies ({code}): skipped "
                    "get_bucket_policy and put_bucket_policy; make the gallery's objects "
                    "publicly readable with the store's own settings"
                )
                return False
            if code != "NoSuchBucketPolicy":
                raise
            return None

    def _supported(self, operation: str, notes: list[str], **kwargs: Any) -> bool:
        """Call a hosting operation; False (and a note) when the store does not support it."""
        from botocore.exceptions import ClientError

        try:
            self._call(operation, **kwargs)
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code")
            if code not in UNSUPPORTED:
                raise
            notes.append(f"{self._store} does not support {operation} ({code}): skipped")
            return False
        return True

    @property
    def _endpoint(self) -> str:
        return getattr(self.client.meta, "endpoint_url", None) or ""

    @property
    def _store(self) -> str:
        endpoint = self._endpoint or "the store"
        return f"the store at {redact_urls(endpoint, endpoint)}" if "://" in endpoint else endpoint

    def _ensure_bucket(self) -> None:
        from botocore.exceptions import ClientError

        if not self._bucket_missing:
            try:
                self.client.head_bucket(Bucket=self.bucket)
                return
            except ClientError as exc:
                code = exc.response.get("Error", {}).get("Code", "")
                if code in ("403", "AccessDenied"):
                    raise GalleryError(
                        f"bucket {self.bucket} exists but is not yours, or you lack "
                        "s3:ListBucket on it; choose another name"
                    ) from None
                if code not in ("404", "NoSuchBucket", "NotFound"):
                    raise
        options: dict[str, Any] = {}
        if self.region != "us-east-1":
            options["CreateBucketConfiguration"] = {"LocationConstraint": self.region}
        try:
            self._call("create_bucket", **options)
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            if code == "BucketAlreadyOwnedByYou":  # made meanwhile, by another of your runs
                return
            if code == "BucketAlreadyExists":
                raise GalleryError(
                    f"the bucket name {self.bucket} is taken by another AWS account (bucket "
                    "names are global); choose another name"
                ) from None
            raise
        self._created = True


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
    **options: Any,
) -> S3Publisher:
    """A publisher for ``target`` using the standard AWS credential chain."""
    import boto3
    from botocore.config import Config as BotoConfig
    from botocore.exceptions import ProfileNotFound

    bucket, prefix_hint = parse_target(target)
    try:
        session = boto3.Session(profile_name=profile, region_name=region)
    except ProfileNotFound:
        raise SettingError(f"no AWS profile named '{profile}'") from None
    try:
        client = session.client(
            "s3",
            endpoint_url=endpoint_url,
            config=BotoConfig(retries=_retries()),
        )
    except ValueError:  # botocore's message quotes the URL, credentials included
        raise SettingError(
            f"--endpoint-url {redact_url(endpoint_url or '')} is not a valid URL; write "
            "http(s)://host[:port]"
        ) from None
    return S3Publisher(bucket, client, client.meta.region_name or "us-east-1", prefix_hint)


@hookimpl
def gallery_publishers() -> dict[str, Any]:
    return {"s3": s3_publisher}
