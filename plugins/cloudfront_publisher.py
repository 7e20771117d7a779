"""``s3://bucket/prefix --cdn cloudfront``: the S3 publisher whose hosting is CloudFront in
front of a private bucket (plugins/cloudfront_setup.py) instead of S3 website hosting.

Moving bytes is the S3 publisher's; this class only answers the hosting part of the
Publisher protocol (gallery_builder/publishing.py): the fingerprint (no request: a no-op
publish stays one request), the set-up and its record (the ids, kept in the manifest's
``hosting.cdn``), the dry-run plan, the check before the commit, the invalidation after it,
and the gallery's ``https://`` URL.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

from gallery_builder.plugins.cloudfront_bucket import public_read_sid
from gallery_builder.plugins.cloudfront_config import (
    caller_reference,
    cloudfront_statements,
    distribution_config,
    fingerprint,
    is_public,
    policy_statements,
    resource_name,
)
from gallery_builder.plugins.cloudfront_drift import (
    drift,
)
from gallery_builder.plugins.cloudfront_function import function_code
from gallery_builder.plugins.cloudfront_invalidation import (
    invalidation_batch,
    invalidation_paths,
)
from gallery_builder.plugins.cloudfront_keygroups import get_key_group, revoke
from gallery_builder.plugins.cloudfront_keys import GalleryKey
from gallery_builder.plugins.cloudfront_private import (
    check_private_prefix,
    key_group_name,
    private_galleries,
    recorded_key_group,
)
from gallery_builder.plugins.cloudfront_resources import (
    describe_function,
    find_oac,
    find_policy,
    function_code_now,
)
from gallery_builder.plugins.cloudfront_setup import AwsClients, CloudFrontSetup
from gallery_builder.plugins.s3.publisher import S3Publisher

from gallery_builder.errors import GalleryError, SettingError
from gallery_builder.repair import REPAIR_REASON


class CloudFrontPublisher(S3Publisher):
    """Publishes into one bucket served by its CloudFront distribution."""

    def __init__(
        self,
        bucket: str,
        client: Any,
        region: str,
        prefix_hint: str | None = None,
        *,
        regional: Callable[[str], Any] | None = None,
        clients: AwsClients,
        domain: str | None = None,
        wait: bool = False,
        purge: bool = False,
        private: bool | None = None,
    ) -> None:
        super().__init__(bucket, client, region, prefix_hint, regional=regional)
        self.domain, self.purge = domain, purge
        #: ``--private`` (True), ``--no-private`` (False), or neither (None)
        self.private = private
        self.cdn = CloudFrontSetup(self, clients, domain=domain, wait=wait, code=function_code,
                                   private=private)  # fmt: skip
        #: the ids of the live hosting record (``hosting.cdn``), then of this run's set-up
        self.known: dict[str, Any] = {}
        #: a private gallery's key group, as the live record names it
        self.known_group: str | None = None

    # --- what the live gallery's record says ------------------------------------------------

    def known_hosting(self, prefix: str, record: dict[str, Any] | None) -> None:
        """Given the live manifest's hosting record: the distribution is known without a
        request (URLs, invalidation)."""
        cdn = (record or {}).get("cdn")
        if recorded_key_group(cdn) and self.private is None:  # before any write
            raise SettingError(
                f"s3://{self.bucket}/{prefix} is private: publish with --private to keep it so, "
                "or with --no-private to make it public (every page becomes readable by anyone)"
            )
        if isinstance(cdn, dict) and not self.known:
            self.known = {k: v for k, v in cdn.items() if isinstance(v, str | bool)}
            self.known_group = recorded_key_group(cdn)

    @property
    def host(self) -> str | None:
        """The gallery's host name: the domain, else the distribution's dXXXX.cloudfront.net."""
        name = self.known.get("domain_name")
        return self.domain or (name if isinstance(name, str) else None)

    def website_url(self) -> str:
        return f"https://{self.host}/" if self.host else self.location

    def url(self, key: str) -> str:
        return self.website_url() + quote(key, safe="/")

    def hosting_lines(self) -> list[str]:
        """Printed after the summary: the distribution's id and host."""
        ident = self.known.get("distribution_id")
        if not isinstance(ident, str):
            return []
        lines = [f"distribution: {ident} ({self.known.get('domain_name')})"]
        made = self.cdn.access.key_group_id if self.cdn.access is not None else None
        group = made or (self.known_group if self.private else None)
        if group:
            lines.append(f"private: only people you invite (key group {group}); make an "
                         "invitation link with gallery invite")  # fmt: skip
        return lines

    # --- the hosting set-up -----------------------------------------------------------------

    def hosting_fingerprint(self, prefix: str) -> str:
        self._manifest_key = f"{prefix}/manifest.json" if prefix else "manifest.json"
        if self.private:  # a usage error, before any request
            check_private_prefix(self.bucket, prefix)
        self.cdn.prefix = prefix
        return fingerprint(self.bucket, prefix, self.domain, function_code(), bool(self.private))

    def ensure_bucket(self) -> None:
        """Before the bucket root's first write makes the bucket: the certificate step first
        (a pending certificate leaves nothing written), then the bucket."""
        self.cdn.prepare(self.known)
        super().ensure_bucket()

    def set_up_hosting(self, prefix: str, record: dict[str, Any] | None = None) -> list[str]:
        again = record is not None and record.get("fingerprint") == self.hosting_fingerprint(
            prefix
        )  # a --reconfigure: the conditional writes are checked again too

        def bucket_ready() -> None:  # the store must enforce conditional writes (as S3's)
            self._translated(lambda: self._conditional_writes().ensure(
                missing=self._created, recheck=again))  # fmt: skip

        notes = self.cdn.set_up(prefix, record, bucket_ready=bucket_ready)
        self.known = dict(self.cdn.ids)
        return notes

    def hosting_record(self, prefix: str) -> dict[str, Any]:
        """The ids, and the bucket's region (where the S3 publisher reads it first)."""
        return {"region": self.cdn.ids.get("region"), "cdn": dict(self.cdn.ids)}

    def hosting_in_place(self, prefix: str) -> bool:
        return self.cdn.in_place(prefix)

    def plan_hosting(self, prefix: str, record: dict[str, Any] | None) -> list[str]:
        return plan_lines(self.cdn, prefix, record, self.domain, function_code())

    # --- a private gallery's invitations ----------------------------------------------------

    def revoke_invitations(self, prefix: str | None = None) -> GalleryKey:
        """``gallery invite --revoke-all``: a new key pair whose public key alone is in the
        gallery's key group (the one its live hosting record names), saved on this machine;
        the old public keys are deleted. Every earlier invitation stops working. ``prefix``:
        the gallery's (default: the target's). What was done is in ``revocation_notes``."""
        prefix = (self.prefix_hint or "" if prefix is None else prefix).removesuffix("/")
        where = f"s3://{self.bucket}/{prefix}"
        found = self.read(f"{prefix}/manifest.json" if prefix else "manifest.json")
        try:
            hosting = json.loads(found[0]).get("hosting") if found else None
        except (ValueError, AttributeError, RecursionError):
            hosting = None
        cdn = hosting.get("cdn") if isinstance(hosting, dict) else None
        group = recorded_key_group(cdn)
        if group is None or not isinstance(cdn, dict):
            raise GalleryError(
                f"{where} is not a private gallery (its live manifest names no key group): "
                "publish it with --cdn cloudfront --private first"
            )
        url = cdn.get("url")
        if not (isinstance(url, str) and url.startswith("https://") and url.endswith("/")):
            name = cdn.get("alias") or cdn.get("domain_name")
            if not isinstance(name, str) or not name:
                raise GalleryError(f"the hosting record of {where} names no URL: run gallery "
                                   "publish --cdn cloudfront --private --reconfigure")  # fmt: skip
            url = f"https://{name}/"
        self.revocation_notes: list[str] = []
        return revoke(self.cdn.cf, self.bucket, prefix, group, url, self.revocation_notes)

    # --- invalidation -----------------------------------------------------------------------

    def invalidation_plan(self, prefix: str, plan: Any) -> list[str]:
        """The paths :meth:`after_commit` would invalidate (nothing on a normal publish)."""
        return invalidation_paths(prefix, plan, purge=self.purge)

    def after_commit(self, prefix: str, plan: Any, manifest_md5: str) -> list[str]:
        paths = self.invalidation_plan(prefix, plan)
        ident = self.known.get("distribution_id")
        if not paths or not isinstance(ident, str):
            return []
        try:
            self.cdn.cf("create_invalidation", DistributionId=ident,
                        InvalidationBatch=invalidation_batch(paths, manifest_md5, repair=any(
                            u.reason == REPAIR_REASON for u in plan.uploads)))  # fmt: skip
        except GalleryError as exc:  # the gallery is live: a note, not a failure
            return [f"the gallery is live, but its invalidation failed: {exc}"]
        return [f"invalidated {len(paths)} path(s) on distribution {ident}: {', '.join(paths)}"]


#: what the plan cannot compare before the set-up made or found them
_IDS = ("CachePolicyId", "ResponseHeadersPolicyId", "origin access control",
        "FunctionAssociations")  # fmt: skip


def plan_lines(
    cdn: CloudFrontSetup,
    prefix: str,
    record: dict[str, Any] | None,
    domain: str | None,
    code: bytes,
) -> list[str]:
    """What a set-up would create or change, from read-only requests."""
    bucket, lines = cdn.bucket, []
    policy = cdn.bucket_access.bucket_policy() if not cdn.s3._bucket_missing else None
    statements = policy_statements(policy) if isinstance(policy, str) else []
    public_sid = public_read_sid(bucket, prefix)
    if any(s.get("Sid") == public_sid and is_public(s) for s in statements):
        lines.append(f"keep the public-read statement {public_sid} until the distribution is "
                     "Deployed, then remove it and turn on Block Public Access")  # fmt: skip
    else:
        lines.append(f"bucket s3://{bucket}: Object Ownership BucketOwnerEnforced, all four "
                     "Block Public Access flags on")  # fmt: skip
    oac = find_oac(cdn.cf, bucket)
    lines.append(f"origin access control {resource_name(bucket)}: "
                 + (f"keep {oac}" if oac else "create (sigv4, always)"))  # fmt: skip
    function = describe_function(cdn.cf, resource_name(bucket))
    if function is None:
        lines.append(f"CloudFront Function {resource_name(bucket)}: create and publish")
    elif function_code_now(cdn.cf, resource_name(bucket)) != code:
        lines.append(f"CloudFront Function {resource_name(bucket)}: update and publish")
    for kind in ("cache", "headers"):
        found = find_policy(cdn.cf, kind)
        # found: (id, config), whose dict cannot be a key; False: no custom policies here
        if isinstance(found, tuple):
            what = "keep"
        else:
            what = "create" if found is None else "the managed one (no custom policies here)"
        lines.append(f"{kind} policy: {what}")
    previous = (record or {}).get("cdn")
    found_dist = cdn.find_distribution(previous if isinstance(previous, dict) else {})
    cdn.refuse_nesting(found_dist)  # as the publish would, before any write
    if domain and cdn.domain_steps is not None:  # the certificate and records (https.md)
        existing = found_dist["Distribution"].get("DomainName") if found_dist else None
        lines += cdn.domain_steps.plan(domain, existing)
    if found_dist is None:
        lines.append(f"distribution: create ({caller_reference(bucket)}, origin "
                     f"{bucket}.s3.<region>.amazonaws.com with OAC)")  # fmt: skip
        arn = "the new distribution"
    else:
        dist = found_dist["Distribution"]
        arn = dist.get("ARN", "?")
        current = dist.get("DistributionConfig") or {}
        origin = (current.get("Origins") or {}).get("Items") or [{}]
        region = str(origin[0].get("DomainName", "")).split(".s3.")[-1].split(".")[0]
        wanted = distribution_config(bucket, region or "us-east-1", oac_id="", function_arn="",
                                     cache_policy_id="", headers_policy_id="")  # fmt: skip
        changed = [c for c in drift(current, wanted, domain=False)
                   if c not in _IDS]  # fmt: skip
        lines.append(f"distribution {dist.get('Id')} ({dist.get('DomainName')}): "
                     + (f"update {', '.join(changed)}" if changed else "keep"))  # fmt: skip
    current_config = (found_dist or {}).get("Distribution", {}).get("DistributionConfig") or {}
    lines += private_plan(cdn, prefix, record, current_config)
    sids = [s["Sid"] for s in cloudfront_statements(bucket, prefix, str(arn))]
    have = {s.get("Sid") for s in statements}
    missing = [sid for sid in sids if sid not in have]
    if missing:
        lines.append(f"bucket policy: merge {', '.join(missing)} (CloudFront only, "
                     "AWS:SourceArn = the distribution)")  # fmt: skip
    return lines


def private_plan(
    cdn: CloudFrontSetup, prefix: str, record: dict[str, Any] | None, current: dict[str, Any]
) -> list[str]:
    """What a set-up would do of the gallery's privacy (read-only)."""
    held = private_galleries(current, f"s3-{cdn.bucket}").get(prefix)
    recorded = recorded_key_group((record or {}).get("cdn"))
    if cdn.private:
        if recorded and get_key_group(cdn.cf, recorded) is not None:
            group = f"keep {recorded}"
        else:
            group = "create, with a new key pair (the private key stays on this machine)"
        return [
            f"key group {key_group_name(cdn.bucket, prefix)}: {group}",
            f"cache behaviours {prefix}/_auth and {prefix}/*: "
            + ("keep" if held else "add (only viewers with the key group's signed cookies)"),
            "403 error response: the bucket root's /private.html",
        ]
    if held:
        return [f"cache behaviours {prefix}/_auth and {prefix}/*: remove (the gallery becomes "
                f"public; its key group {held} stays)"]  # fmt: skip
    return []
