"""The hosting half of :class:`~gallery_builder.plugins.s3.publisher.S3Publisher`: the bucket
made if missing, the conditional writes checked once, the website set up (hosting.py), its
fingerprint and record in the manifest, and the ``--dry-run`` plan of it. A mixin, so that the
publisher's byte-moving part (publisher.py) reads on its own; it uses the publisher's
``_call``, ``client``, region learning and error translation.
"""

from __future__ import annotations

import hashlib
import json
from typing import TYPE_CHECKING, Any

from gallery_builder.plugins.s3.conditional import CANARY_KEY, ConditionalWrites
from gallery_builder.plugins.s3.errors import s3_errors
from gallery_builder.plugins.s3.hosting import WebsiteHosting, hosting_settings, record_skipped
from gallery_builder.plugins.s3.region import non_aws_note

from gallery_builder.errors import GalleryError, SettingError

if TYPE_CHECKING:
    from collections.abc import Callable


class BucketHosting:
    """S3 website hosting of the publisher's bucket (members of the Publisher protocol's
    hosting part)."""

    # what the publisher (S3Publisher.__init__) sets
    bucket: str
    client: Any
    region: str
    location: str
    _manifest_key: str | None
    _hosting: WebsiteHosting | None
    _conditional: ConditionalWrites | None
    _non_aws_noted: bool
    _bucket_missing: bool
    _created: bool
    _call: Callable[..., Any]
    _learn_region: Callable[[dict[str, Any]], None]
    _use_region: Callable[[str | None], None]
    aws: bool
    _store: str

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

    @s3_errors
    def set_up_hosting(self, prefix: str, record: dict[str, Any] | None = None) -> list[str]:
        """Create the bucket if missing, check once that the store enforces conditional
        writes (conditional.py), and open the bucket for website hosting (hosting.py):
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

    @s3_errors
    def hosting_in_place(self, prefix: str) -> bool:
        """Whether the bucket policy still holds this gallery's statement (a store without
        bucket policies, or that refused the policy write, has nothing to check)."""
        return self._website.in_place(self.hosting_settings(prefix)["statement"]["Sid"])

    @s3_errors
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
