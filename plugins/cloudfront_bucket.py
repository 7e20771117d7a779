"""The bucket behind a CloudFront distribution: private (Object Ownership
BucketOwnerEnforced, all four Block Public Access flags, each written only if it is not so),
its region (the origin is its REST endpoint there), and the bucket-policy statements that let
the distribution read it, merged into what is there (plugins/cloudfront_setup.py)."""

from __future__ import annotations

import json
import re
from typing import Any

from gallery_builder.plugins.cloudfront_config import LOCKED, merged_statements, policy_statements
from gallery_builder.plugins.cloudfront_errors import error_code

from gallery_builder.errors import GalleryError

#: store error codes meaning "this S3-compatible store does not have that call"
S3_UNSUPPORTED = frozenset({"NotImplemented", "XNotImplemented", "501", "MethodNotAllowed", "405"})
#: how often the bucket policy is merged again when another set-up overwrote it meanwhile
POLICY_ATTEMPTS = 3


def public_read_sid(bucket: str, prefix: str) -> str:
    """The Sid of the gallery's website-hosting statement (plugins/s3/hosting.py)."""
    from gallery_builder.plugins.s3.hosting import public_read_statement

    return str(public_read_statement(bucket, prefix)["Sid"])


class PrivateBucket:
    """``s3`` is the S3Publisher: its ``_call(op, **kw)`` adds the bucket, ``error(exc)`` says
    what an S3 error means, ``_translated(fn)`` calls ``fn`` with errors translated."""

    def __init__(self, s3: Any) -> None:
        self.s3, self.bucket = s3, s3.bucket

    def call(self, operation: str, **kwargs: Any) -> Any:
        return self.s3._call(operation, **kwargs)

    def region(self) -> str:
        answer = self.s3._translated(lambda: self.call("get_bucket_location"))
        region = answer.get("LocationConstraint") if isinstance(answer, dict) else None
        if region in (None, ""):
            return "us-east-1"
        if region == "EU":
            return "eu-west-1"
        if not isinstance(region, str) or not re.fullmatch(r"[a-z]{2}(-[a-z0-9]+)+", region):
            raise GalleryError(
                f"S3 answered a bucket location that is not a region name for {self.bucket}"
            )
        return region

    def _optional(self, operation: str, notes: list[str], **kwargs: Any) -> Any:
        """An S3 call the store may lack: None (and a note) when it does."""
        from botocore.exceptions import ClientError

        try:
            return self.call(operation, **kwargs)
        except ClientError as exc:
            if error_code(exc) in S3_UNSUPPORTED:
                notes.append(f"the store does not support {operation}: skipped")
                return None
            raise self.s3.error(exc) from None

    def ownership(self, notes: list[str]) -> None:
        """Object Ownership BucketOwnerEnforced (OAC needs it), written only if it is not."""
        from botocore.exceptions import ClientError

        try:
            answer = self.call("get_bucket_ownership_controls")
            rules = (answer.get("OwnershipControls") or {}).get("Rules") or []
            if [r.get("ObjectOwnership") for r in rules if isinstance(r, dict)] == [
                "BucketOwnerEnforced"
            ]:
                return
        except ClientError as exc:
            if error_code(exc) in S3_UNSUPPORTED:
                notes.append("the store does not support Object Ownership controls: skipped")
                return
            if error_code(exc) != "OwnershipControlsNotFoundError":
                raise self.s3.error(exc) from None
        self._optional(
            "put_bucket_ownership_controls", notes,
            OwnershipControls={"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]},
        )  # fmt: skip

    def public_access_block(self) -> dict[str, Any] | None:
        from botocore.exceptions import ClientError

        try:
            answer = self.call("get_public_access_block")
        except ClientError as exc:
            if error_code(exc) in ("NoSuchPublicAccessBlockConfiguration", *S3_UNSUPPORTED):
                return None
            raise self.s3.error(exc) from None
        config = answer.get("PublicAccessBlockConfiguration")
        return config if isinstance(config, dict) else None

    def lock(self, notes: list[str]) -> None:
        """All four Block Public Access flags on, written only if they are not."""
        now = self.public_access_block() or {}
        if all(now.get(flag) is True for flag in LOCKED):
            return
        self._optional("put_public_access_block", notes,
                       PublicAccessBlockConfiguration=dict(LOCKED))  # fmt: skip

    def bucket_policy(self) -> str | bool | None:
        """The bucket policy's JSON; None if there is none; False if the store has none."""
        from botocore.exceptions import ClientError

        try:
            policy = self.call("get_bucket_policy").get("Policy")
        except ClientError as exc:
            code = error_code(exc)
            if code == "NoSuchBucketPolicy":
                return None
            if code in S3_UNSUPPORTED:
                return False
            raise self.s3.error(exc) from None
        return policy if isinstance(policy, str) else None

    def put_statements(
        self, statements: list[dict[str, Any]], notes: list[str], remove: tuple[str, ...] = ()
    ) -> None:
        """Merge ``statements`` into the bucket policy (and drop the Sids in ``remove``),
        keeping every other statement; read back, and merged again if another set-up's
        write dropped ours meanwhile."""
        for _ in range(POLICY_ATTEMPTS):
            existing = self.bucket_policy()
            if existing is False:
                notes.append(
                    "the store has no bucket policies: grant CloudFront (the distribution's "
                    "origin access control) read access to the gallery by other means"
                )
                return
            merged = merged_statements(existing or None, statements, remove)
            if existing and json.loads(existing) == merged:
                return
            self.s3._translated(lambda m=merged: self.call("put_bucket_policy",
                                                              Policy=json.dumps(m)))  # fmt: skip
            now = self.bucket_policy()
            sids = {s.get("Sid") for s in policy_statements(now if isinstance(now, str) else "")}
            if {s["Sid"] for s in statements} <= sids and not sids & set(remove):
                return
        raise GalleryError(
            f"the policy of bucket {self.bucket} kept changing while this publish set it "
            "(another publish setting up hosting?); run gallery publish again"
        )
