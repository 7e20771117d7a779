"""S3 static website hosting for a gallery (ARCHITECTURE.md §5, step 2): Block Public Access
lifts only BlockPublicPolicy and RestrictPublicBuckets (the site uses a policy, not ACLs); the
website configuration names index.html and the gallery's error.html; a public-read statement
scoped to ``bucket/prefix/*`` is merged into the bucket policy, keeping every other statement.

Pure parts (the settings, the statement, the policy merge) are functions; the requests go
through :class:`WebsiteHosting`, which takes the publisher's ``call(operation, **kwargs)``
(the bucket filled in) and raises botocore's errors for the publisher to translate.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from typing import Any

from gallery_builder.errors import GalleryError

#: regions whose website endpoint is s3-website-REGION; every other uses s3-website.REGION
DASH_REGIONS = frozenset(
    {"us-east-1", "us-west-1", "us-west-2", "ap-southeast-1", "ap-southeast-2",
     "ap-northeast-1", "eu-west-1", "sa-east-1", "us-gov-west-1"}
)  # fmt: skip
#: how often the policy merge is made again when another setup overwrote it meanwhile
POLICY_ATTEMPTS = 3
#: error codes with which S3-compatible stores refuse a call they do not implement
UNSUPPORTED = frozenset({"NotImplemented", "XNotImplemented", "501", "MethodNotAllowed", "405"})
#: every public-read statement gallery-builder writes has a Sid starting with this
SID_PREFIX = "GalleryBuilderPublicRead"

Call = Callable[..., Any]


def website_endpoint(bucket: str, region: str) -> str:
    """The bucket's website URL: dash or dot form depending on the region."""
    sep = "-" if region in DASH_REGIONS else "."
    return f"http://{bucket}.s3-website{sep}{region}.amazonaws.com"


def public_read_statement(bucket: str, prefix: str) -> dict[str, Any]:
    """The statement opening ``bucket/prefix/*`` to the public. Its Sid is unique to the exact
    prefix (``trips/2024`` and ``trips-2024`` differ), and readable."""
    resource = f"arn:aws:s3:::{bucket}/{prefix}/*" if prefix else f"arn:aws:s3:::{bucket}/*"
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


def merged_policy(existing: str | None, statement: dict[str, Any]) -> dict[str, Any]:
    """``existing`` (JSON) with ``statement`` added, replacing ours for the same Sid or the
    same resource (written by an older version); every other statement is kept."""
    policy = json.loads(existing) if existing else {"Version": "2012-10-17", "Statement": []}
    statements = policy.get("Statement", [])
    if isinstance(statements, dict):
        statements = [statements]

    def ours_for_this_prefix(s: dict[str, Any]) -> bool:
        sid = str(s.get("Sid", ""))
        return sid == statement["Sid"] or (
            sid.startswith(SID_PREFIX) and s.get("Resource") == statement["Resource"]
        )

    policy["Statement"] = [*(s for s in statements if not ours_for_this_prefix(s)), statement]
    return policy


def hosting_settings(bucket: str, region: str, prefix: str) -> dict[str, Any]:
    """The website-hosting settings of the gallery at ``prefix`` (their fingerprint is kept in
    the published manifest)."""
    error_key = f"{prefix}/error.html" if prefix else "error.html"
    return {
        "region": region,
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
        "statement": public_read_statement(bucket, prefix),
    }


class WebsiteHosting:
    """The hosting requests for one bucket, made with the publisher's ``call``."""

    def __init__(self, call: Call, bucket: str, store: str):
        self.call, self.bucket = call, bucket
        #: how the store is named in notes ("the store at http://...", or its endpoint)
        self.store = store

    def set_up(self, settings: dict[str, Any]) -> list[str]:
        """Open the (existing) bucket for website hosting: idempotent, keeps what it can.

        A call the store does not support (S3-compatible stores answer ``NotImplemented``)
        is skipped; the returned notes say which, and what to do instead."""
        notes: list[str] = []
        if not self.supported(
            "put_public_access_block", notes,
            PublicAccessBlockConfiguration=settings["public_access_block"],
        ):  # fmt: skip
            notes[-1] += " (stores without it have no Block Public Access to lift)"
        if not self.supported(
            "put_bucket_website", notes, WebsiteConfiguration=settings["website"]
        ):
            notes[-1] += (
                f"; set index.html and {settings['website']['ErrorDocument']['Key']} "
                "as the index and error documents in the store's own settings"
            )
        self.put_policy(settings["statement"], notes)
        return notes

    def put_policy(self, statement: dict[str, Any], notes: list[str]) -> None:
        """Merge ``statement`` into the bucket policy; never replace a policy we cannot read.
        The policy is read back: another gallery's setup writing its own merge at the same
        moment could have dropped ours, and then the merge is made again."""
        for _ in range(POLICY_ATTEMPTS):
            existing = self.bucket_policy(notes)
            if existing is False:
                return  # the store has no bucket policies: noted
            policy = merged_policy(existing or None, statement)
            if not self.supported("put_bucket_policy", notes, Policy=json.dumps(policy)):
                notes[-1] += (
                    "; make the gallery's objects publicly readable in the store's settings"
                )
                return
            now = self.bucket_policy(notes)
            sids = [s.get("Sid") for s in _statements(now)] if isinstance(now, str) else []
            if statement["Sid"] in sids:
                return
        raise GalleryError(
            f"the policy of bucket {self.bucket} kept changing while this publish set it (another "
            "publish setting up hosting?); run gallery publish again"
        )

    def in_place(self, sid: str) -> bool:
        """Whether the bucket policy still holds the statement ``sid`` (a store without
        bucket policies has nothing to check)."""
        policy = self.bucket_policy([])
        if policy is False:
            return True
        return isinstance(policy, str) and sid in [s.get("Sid") for s in _statements(policy)]

    def bucket_policy(self, notes: list[str]) -> str | bool | None:
        """The bucket policy's JSON; None if there is none; False if the store has none."""
        from botocore.exceptions import ClientError

        try:
            return self.call("get_bucket_policy")["Policy"]
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code")
            if code in UNSUPPORTED:
                notes.append(
                    f"{self.store} does not support bucket policies ({code}): skipped "
                    "get_bucket_policy and put_bucket_policy; make the gallery's objects "
                    "publicly readable with the store's own settings"
                )
                return False
            if code != "NoSuchBucketPolicy":
                raise
            return None

    def supported(self, operation: str, notes: list[str], **kwargs: Any) -> bool:
        """Call a hosting operation; False (and a note) when the store does not support it."""
        from botocore.exceptions import ClientError

        try:
            self.call(operation, **kwargs)
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code")
            if code not in UNSUPPORTED:
                raise
            notes.append(f"{self.store} does not support {operation} ({code}): skipped")
            return False
        return True
