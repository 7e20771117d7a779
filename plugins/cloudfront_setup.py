"""The CloudFront set-up of a gallery (``--cdn cloudfront``), in the order HOSTING.md §1.2
gives: the certificate (``--domain``; first, so a pending one leaves nothing half-made), the
bucket (private: Object Ownership BucketOwnerEnforced, all four Block Public Access flags),
the Origin Access Control, the viewer-request function, the cache and response-headers
policies, the bucket's one distribution (found again from the hosting record, else by its
tag; made otherwise), and the bucket-policy statements that let only that distribution read
the gallery. Idempotent: what is in place is kept, what drifted is put back.

A gallery that moves from website hosting keeps its public-read statement (the website still
serves it) until the distribution is Deployed: only then is the statement removed and the
bucket locked (with ``--wait``, or on a later ``--reconfigure``).
"""

from __future__ import annotations

import functools
import os
import re
from collections.abc import Callable
from typing import Any

from gallery_builder.plugins.cloudfront_bucket import PrivateBucket, public_read_sid
from gallery_builder.plugins.cloudfront_config import (
    BUCKET_TAG,
    cdn_sids,
    cloudfront_statements,
    distribution_config,
    is_public,
    origin_domain,
    policy_statements,
)
from gallery_builder.plugins.cloudfront_drift import (
    current_alias,
    distribution_fields,
    drift,
    updated_config,
)
from gallery_builder.plugins.cloudfront_errors import (
    CloudFrontRefused,
    cloudfront_error,
    refused,
)
from gallery_builder.plugins.cloudfront_keygroups import (
    NewKey,
    delete_public_keys,
    gallery_access,
    refuse_unsaid_private,
)
from gallery_builder.plugins.cloudfront_keys import (
    check_keys_writable,
    refresh_local_key,
    retire_local_key,
    save_key,
)
from gallery_builder.plugins.cloudfront_nesting import refuse_nesting
from gallery_builder.plugins.cloudfront_private import (
    GalleryAccess,
    recorded_key_group,
    with_galleries,
)
from gallery_builder.plugins.cloudfront_resources import (
    ensure_function,
    ensure_oac,
    ensure_policy,
)
from gallery_builder.plugins.domain_setup import DomainSteps

from gallery_builder.errors import GalleryError

#: seconds between two polls of the ``distribution_deployed`` waiter, and how many polls
#: (30 s × 60: deployment usually takes 5-15 minutes); the tests set the variable
WAIT_DELAY_ENV = "GALLERY_CLOUDFRONT_WAIT_DELAY"
WAIT_DELAY, WAIT_ATTEMPTS = 30.0, 60
DEPLOYING = (
    "the CloudFront distribution {id} is deploying; it usually takes 5-15 minutes before "
    "https://{domain}/ serves the gallery (publish with --wait to wait for it)"
)


class AwsClients:
    """CloudFront, ACM (always us-east-1: CloudFront takes certificates from there only) and
    Route 53 clients, each made on first use from the publisher's session, endpoint and retry
    config (moto answers every service on one endpoint)."""

    def __init__(self, session: Any, endpoint_url: str | None, config: Any) -> None:
        self.session, self.endpoint_url, self.config = session, endpoint_url, config

    def _client(self, service: str, **kwargs: Any) -> Any:
        return self.session.client(
            service, endpoint_url=self.endpoint_url, config=self.config, **kwargs
        )

    @functools.cached_property
    def cloudfront(self) -> Any:
        return self._client("cloudfront")

    @functools.cached_property
    def acm(self) -> Any:
        return self._client("acm", region_name="us-east-1")

    @functools.cached_property
    def route53(self) -> Any:
        return self._client("route53")


class CloudFrontSetup:
    """Applies (and plans) the CloudFront hosting of galleries in one bucket.

    ``s3`` is the S3Publisher (its ``_call(op, **kw)`` adds the bucket, ``error(exc)`` says
    what an S3 error means, ``_ensure_bucket()`` makes the bucket when missing)."""

    def __init__(
        self,
        s3: Any,
        clients: AwsClients,
        *,
        domain: str | None = None,
        wait: bool = False,
        code: Callable[[], bytes],
        private: bool | None = None,
    ) -> None:
        self.s3, self.clients, self.domain, self.wait = s3, clients, domain, wait
        #: ``--private`` (True), ``--no-private`` (False), or neither (None)
        self.private = private
        #: the gallery's prefix (the publisher sets it with its fingerprint)
        self.prefix: str | None = None
        #: who may read the gallery, once the set-up knows its key group
        self.access: GalleryAccess | None = None
        self.bucket: str = s3.bucket
        self._code = code
        self.bucket_access = PrivateBucket(s3)
        #: what the set-up made or found (the hosting record's ``cdn``)
        self.ids: dict[str, Any] = {}
        #: the ``--domain`` steps (plugins/domain_setup.py): the certificate before any
        #: CloudFront write (its ARN once ISSUED, else DomainPending), then the DNS records
        self.domain_steps = DomainSteps(clients, wait=wait) if domain else None
        #: what :meth:`prepare` found (or the refusal it met), until the set-up uses it
        self._prepared: tuple[dict[str, Any] | None, str | None] | GalleryError | None = None

    # --- calls ------------------------------------------------------------------------------

    def cf(self, operation: str, *, handled: bool = False, **kwargs: Any) -> Any:
        """A CloudFront call; its error as a one-line GalleryError (``handled``: a
        :class:`CloudFrontRefused`, whose ``code`` the caller may look at)."""
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            return getattr(self.clients.cloudfront, operation)(**kwargs)
        except (ClientError, BotoCoreError) as exc:
            if handled:
                raise refused(exc, self.clients.endpoint_url) from None
            raise cloudfront_error(exc, self.clients.endpoint_url) from None

    # --- the set-up -------------------------------------------------------------------------

    def set_up(
        self,
        prefix: str,
        record: dict[str, Any] | None,
        *,
        bucket_ready: Callable[[], None] = lambda: None,
    ) -> list[str]:
        """Apply the hosting of the gallery at ``prefix`` (``record``: the live manifest's
        hosting record, whose ``cdn`` ids find the distribution again); the notes for the
        user. ``ids`` holds what to remember afterwards. ``bucket_ready`` is called once
        the bucket exists (the S3 publisher's check of conditional writes)."""
        notes: list[str] = []
        previous = (record or {}).get("cdn")
        found, certificate = self.prepare(previous if isinstance(previous, dict) else {})
        self._prepared = None  # a later set-up looks again
        self.s3._ensure_bucket()
        bucket_ready()
        region = getattr(self.s3, "bucket_region", None) or self.bucket_access.region()
        self.bucket_access.ownership(notes)
        policy = self.bucket_access.bucket_policy()
        public_sid = public_read_sid(self.bucket, prefix)
        statements = policy_statements(policy) if isinstance(policy, str) else []
        moving = any(s.get("Sid") == public_sid and is_public(s) for s in statements)
        others = sorted(str(s.get("Sid", "(no Sid)")) for s in statements
                        if is_public(s) and s.get("Sid") != public_sid)  # fmt: skip
        if not moving and not others:
            self.bucket_access.lock(notes)  # private before anything points at it
        oac, _ = ensure_oac(self.cf, self.bucket)
        function = ensure_function(self.cf, self.bucket, self._code(), notes)
        cache_id, _ = ensure_policy(self.cf, "cache", notes)
        headers_id, _ = ensure_policy(self.cf, "headers", notes)
        new_key = self._gallery_access(prefix, previous, notes)
        wanted = distribution_config(
            self.bucket, region, oac_id=oac, function_arn=function["function_arn"],
            cache_policy_id=cache_id, headers_policy_id=headers_id,
            alias=self.domain, certificate_arn=certificate,
        )  # fmt: skip
        ident, arn, name, status = self.ensure_distribution(wanted, found, notes)
        self.ids = {
            "distribution_id": ident, "distribution_arn": arn, "domain_name": name,
            "oac_id": oac, **function, "cache_policy_id": cache_id,
            "headers_policy_id": headers_id, "region": region,
        }  # fmt: skip
        if certificate:
            self.ids.update(certificate_arn=certificate, alias=self.domain)
        self.ids["url"] = f"https://{self.domain or name}/"  # the bucket root's (gallery verify)
        if self.access is not None and self.access.key_group_id:
            self.ids["private"] = {"key_group_id": self.access.key_group_id}
        if new_key is not None:  # the private half, on this machine only
            save_key(new_key.saved_as(self.bucket, prefix, self.ids["url"]))
            delete_public_keys(self.cf, list(new_key.replaced), notes)
        elif self.access is not None and self.access.key_group_id:
            refresh_local_key(self.bucket, prefix, self.access.key_group_id, self.ids["url"],
                              notes)  # fmt: skip
        elif self.private is False:
            retire_local_key(self.bucket, prefix, notes)
        self.bucket_access.put_statements(cloudfront_statements(self.bucket, prefix, arn), notes)
        if self.wait and status != "Deployed":
            status = self.wait_deployed(ident, notes)
        locked = self._finish_move(prefix, status, moving, others, notes)
        if status != "Deployed":
            notes.append(DEPLOYING.format(id=ident, domain=self.domain or name))
        self.ids["locked"] = locked
        if self.domain_steps is not None and self.domain:
            notes += self.domain_steps.point(self.domain, name)
        return notes

    def prepare(self, previous: dict[str, Any]) -> tuple[dict[str, Any] | None, str | None]:
        """Before any write (the bucket's included): the bucket's distribution if it exists
        (read-only; a domain it does not serve is refused), and with ``--domain`` the
        certificate's ARN, or DomainPending. Asked once per set-up: its answer, or its
        refusal, is kept for :meth:`set_up`."""
        if self._prepared is None:
            try:
                found = self.find_distribution(previous)
                self._not_left_public(found)
                self.refuse_nesting(found)
                if self.private and self.prefix and recorded_key_group(previous) is None:
                    check_keys_writable(self.bucket, self.prefix)  # a key is made: kept?
                if found is not None and self.domain:
                    self._one_domain(found)
                certificate = None
                if self.domain_steps is not None and self.domain:
                    existing = found["Distribution"].get("DomainName") if found else None
                    certificate = self.domain_steps.certificate_for(self.domain, existing)
                self._prepared = (found, certificate)
            except GalleryError as exc:
                self._prepared = exc
        if isinstance(self._prepared, GalleryError):
            error, self._prepared = self._prepared, None
            raise error
        return self._prepared

    def _finish_move(
        self, prefix: str, status: str, moving: bool, others: list[str], notes: list[str]
    ) -> bool:
        """A gallery moving from website hosting loses its public-read statement once the
        distribution is Deployed, and the bucket is locked then (unless other public
        statements need it open). Whether the bucket is locked."""
        public_sid = public_read_sid(self.bucket, prefix)
        if moving and status == "Deployed":
            self.bucket_access.put_statements([], notes, remove=(public_sid,))
            if not others:
                self.bucket_access.lock(notes)
            notes.append(
                f"the distribution serves the gallery: removed its public-read statement "
                f"{public_sid}" + ("" if others else f"; s3://{self.bucket} is private now")
            )
        elif moving:
            notes.append(
                f"s3://{self.bucket}/{prefix}/ keeps its public-read statement {public_sid} "
                "(website hosting still serves it) until the distribution is Deployed: run "
                "gallery publish --reconfigure once it is (or publish with --wait) to remove "
                "it and make the bucket private"
            )
        if others:
            notes.append(
                f"s3://{self.bucket} stays public: its policy has other public statements "
                f"({', '.join(others)}); Block Public Access is left as it is"
            )
        return not others and (not moving or status == "Deployed")

    # --- the distribution -------------------------------------------------------------------

    def find_distribution(self, previous: dict[str, Any]) -> dict[str, Any] | None:
        """The bucket's distribution (``get_distribution``'s answer): by the record's id,
        else the one tagged ``gallery-builder-bucket=BUCKET`` (another gallery of the
        bucket made it)."""
        ident = previous.get("distribution_id")
        if isinstance(ident, str) and re.fullmatch(r"[A-Z0-9]{1,64}", ident):
            try:
                return self.cf("get_distribution", Id=ident, handled=True)
            except CloudFrontRefused as exc:
                if exc.code != "NoSuchDistribution":
                    raise
        marker: str | None = None
        for _ in range(50):
            answer = self.cf("list_distributions", **({"Marker": marker} if marker else {}))
            listing = answer.get("DistributionList") if isinstance(answer, dict) else None
            listing = listing if isinstance(listing, dict) else {}
            for item in listing.get("Items") or []:
                if self._is_ours(item):
                    return self.cf("get_distribution", Id=item["Id"])
            marker = listing.get("NextMarker")
            if not isinstance(marker, str) or not marker:
                return None
        return None

    def _is_ours(self, item: Any) -> bool:
        if not isinstance(item, dict) or not isinstance(item.get("ARN"), str):
            return False
        origins = (item.get("Origins") or {}).get("Items") or []
        names = [o.get("DomainName") for o in origins if isinstance(o, dict)]
        if not any(isinstance(n, str) and n.startswith(f"{self.bucket}.s3.") for n in names):
            return False
        tags = self.cf("list_tags_for_resource", Resource=item["ARN"]).get("Tags") or {}
        items = tags.get("Items") or [] if isinstance(tags, dict) else []
        return {"Key": BUCKET_TAG, "Value": self.bucket} in [
            {"Key": t.get("Key"), "Value": t.get("Value")} for t in items if isinstance(t, dict)
        ]

    def _one_domain(self, found: dict[str, Any]) -> None:
        """One domain per distribution: another one is refused (before any write)."""
        ident = found["Distribution"].get("Id")
        alias = current_alias(found["Distribution"].get("DistributionConfig") or {})
        if alias and alias != self.domain:
            raise GalleryError(
                f"the distribution {ident} of s3://{self.bucket} already serves {alias} (one "
                f"domain per distribution): publish with --domain {alias}, or remove that "
                "alias in the CloudFront console first; nothing was changed"
            )

    def ensure_distribution(
        self, wanted: dict[str, Any], found: dict[str, Any] | None, notes: list[str]
    ) -> tuple[str, str, str, str]:
        """The distribution made, or ``found`` put back as ``wanted`` where it drifted."""
        if found is None:
            answer, made = self._create(self._shaped(wanted, None))
            if made:
                return distribution_fields(answer)
            found = answer
        ident, arn, name, status = distribution_fields(found)
        current = found["Distribution"].get("DistributionConfig")
        if not isinstance(current, dict):
            raise GalleryError(f"CloudFront answered distribution {ident} without its config")
        wanted = self._shaped(wanted, current)
        changed = drift(current, wanted, domain=bool(self.domain))
        if changed:
            etag = found.get("ETag")
            if not isinstance(etag, str) or not etag:
                raise GalleryError(f"CloudFront answered distribution {ident} without an ETag")
            config = updated_config(current, wanted, domain=bool(self.domain))
            answer = self.cf("update_distribution", Id=ident, IfMatch=etag,
                             DistributionConfig=config)  # fmt: skip
            ident, arn, name, status = distribution_fields(answer)
            notes.append(f"the distribution {ident} was put back as set up: {', '.join(changed)}")
        return ident, arn, name, status

    def _create(self, wanted: dict[str, Any]) -> tuple[dict[str, Any], bool]:
        """Create the tagged distribution: (its answer, True). When one with our
        CallerReference exists (made meanwhile by another gallery's set-up, or untagged, and
        then the error names it): (``get_distribution``'s answer for it, False)."""
        tags = {"Items": [{"Key": BUCKET_TAG, "Value": self.bucket}]}
        try:
            answer = self.cf(
                "create_distribution_with_tags", handled=True,
                DistributionConfigWithTags={"DistributionConfig": wanted, "Tags": tags},
            )  # fmt: skip
            return answer, True
        except CloudFrontRefused as exc:
            named = re.search(r"Already exists: ([A-Z0-9]{1,64})\b", exc.aws_message)
            if exc.code != "DistributionAlreadyExists":
                raise
            if named is None:  # another gallery's set-up made it meanwhile? look again
                again = self.find_distribution({})
                if again is None:
                    raise
                return again, False
        found = self.cf("get_distribution", Id=named[1])
        _, arn, _, _ = distribution_fields(found)
        self.cf("tag_resource", Resource=arn, Tags=tags)
        return found, False

    # --- a private gallery ------------------------------------------------------------------

    def _gallery_access(self, prefix: str, previous: Any, notes: list[str]) -> NewKey | None:
        """Who may read the gallery (``self.access``); the new key to save, if one was made."""
        self.access, new_key = gallery_access(
            self.cf, self.bucket, prefix, self.private, recorded_key_group(previous), notes
        )
        return new_key

    def _shaped(self, wanted: dict[str, Any], current: dict[str, Any] | None) -> dict[str, Any]:
        """``wanted`` with the galleries' cache behaviours, built from those ``current``
        holds (every other gallery's kept)."""
        access = self.access or GalleryAccess(self.prefix or "", None)
        return with_galleries(wanted, current, access)

    def refuse_nesting(self, found: dict[str, Any] | None) -> None:
        """Before any write: no gallery inside a private one's folder
        (plugins/cloudfront_nesting.py)."""
        refuse_nesting(self.s3, self.prefix, self.private, found)

    def _not_left_public(self, found: dict[str, Any] | None) -> None:
        config = (found or {}).get("Distribution", {}).get("DistributionConfig") or {}
        refuse_unsaid_private(self.bucket, self.prefix, self.private, config)

    def wait_deployed(self, ident: str, notes: list[str]) -> str:
        from botocore.exceptions import WaiterError

        delay = float(os.environ.get(WAIT_DELAY_ENV) or WAIT_DELAY)
        waiter = self.clients.cloudfront.get_waiter("distribution_deployed")
        try:
            waiter.wait(Id=ident, WaiterConfig={"Delay": delay, "MaxAttempts": WAIT_ATTEMPTS})
        except WaiterError as exc:
            error = (exc.last_response or {}).get("Error") if isinstance(
                exc.last_response, dict) else None  # fmt: skip
            if isinstance(error, dict) and error.get("Code"):  # not a wait: a refusal
                code = error.get("Code")
                if code in ("AccessDenied", "AccessDeniedException"):
                    raise GalleryError(
                        "access denied to CloudFront GetDistribution while waiting: your IAM "
                        "identity needs cloudfront:GetDistribution"
                    ) from None
                raise GalleryError(
                    f"CloudFront refused GetDistribution while waiting: {code}; nothing of the "
                    "gallery was sent yet: run gallery publish --wait again"
                ) from None
            notes.append(
                f"the distribution {ident} was still not Deployed after "
                f"{delay * WAIT_ATTEMPTS:.0f} s"
            )
            return "InProgress"
        return "Deployed"

    # --- checks -----------------------------------------------------------------------------

    def in_place(self, prefix: str) -> bool:
        """Whether the bucket policy still holds the gallery's CloudFront statements."""
        policy = self.bucket_access.bucket_policy()
        if policy is False:
            return True
        sids = {s.get("Sid") for s in policy_statements(policy if isinstance(policy, str) else "")}
        return set(cdn_sids(prefix)) <= sids

    def origin(self, region: str) -> str:
        return origin_domain(self.bucket, region)
