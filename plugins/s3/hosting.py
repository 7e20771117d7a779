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
from collections.abc import Callable, Iterable
from typing import Any

from gallery_builder.plugins.s3.region import (  # noqa: F401 (importable from here too)
    DASH_REGIONS,
    website_endpoint,
)

from gallery_builder.errors import GalleryError

#: how often the policy merge is made again when another setup overwrote it meanwhile
POLICY_ATTEMPTS = 3
#: error codes with which S3-compatible stores refuse a call they do not implement
UNSUPPORTED = frozenset({"NotImplemented", "XNotImplemented", "501", "MethodNotAllowed", "405"})
#: what old MinIO answers a hosting call it does not know (from a non-AWS endpoint only)
MALFORMED = "MalformedXML"
#: the hosting writes that may answer MALFORMED for "not supported"
MALFORMED_MEANS_UNSUPPORTED = frozenset({"put_bucket_website", "put_public_access_block"})
#: the four Block Public Access flags; website hosting lifts only the two policy ones
BPA_FLAGS = ("BlockPublicAcls", "IgnorePublicAcls", "BlockPublicPolicy", "RestrictPublicBuckets")
POLICY_FLAGS = ("BlockPublicPolicy", "RestrictPublicBuckets")
#: the hosting writes a store may refuse (their names go in the hosting record's "skipped")
HOSTING_WRITES = ("put_public_access_block", "put_bucket_website", "put_bucket_policy")
#: every public-read statement gallery-builder writes has a Sid starting with this
SID_PREFIX = "GalleryBuilderPublicRead"

Call = Callable[..., Any]


#: the bucket root's keys every gallery under a prefix opens too (gallery_builder.bucket_root)
ROOT_KEYS = ("index.html", "error.html", "_root/*")


def public_read_statement(bucket: str, prefix: str) -> dict[str, Any]:
    """The statement opening ``bucket/prefix/*`` (and the bucket root's pages) to the public.
    Its Sid is unique to the exact prefix (``trips/2024`` and ``trips-2024`` differ), and
    readable."""
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


def hosting_settings(bucket: str, region: str, prefix: str) -> dict[str, Any]:
    """The website-hosting settings of the gallery at ``prefix`` (their fingerprint is kept in
    the published manifest)."""
    error_key = "error.html"  # the bucket root's, for every gallery (gallery_builder.bucket_root)
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


def record_skipped(record: dict[str, Any] | None) -> set[str]:
    """The hosting writes an earlier set-up found the store refusing (from the record)."""
    skipped = (record or {}).get("skipped")
    if not isinstance(skipped, list):
        return set()
    return {op for op in skipped if op in HOSTING_WRITES}


# --- what the set-up changes (pure) ---------------------------------------------------------


def lifted_public_access_block(current: dict[str, Any] | None) -> dict[str, bool] | None:
    """The Block Public Access configuration with the two policy flags lifted and the ACL
    flags as they were; None when nothing needs lifting (``current`` None: no configuration,
    every flag off)."""
    flags = {flag: (current or {}).get(flag) is True for flag in BPA_FLAGS}
    if not any(flags[flag] for flag in POLICY_FLAGS):
        return None
    return {**flags, **dict.fromkeys(POLICY_FLAGS, False)}


class RedirectBucket(GalleryError):
    """The bucket's website redirects every request elsewhere: it serves no site."""


def merged_website(
    bucket: str, current: dict[str, Any] | None, wanted: dict[str, Any]
) -> dict[str, Any] | None:
    """The website configuration with ``wanted``'s index and error documents and everything
    else ``current`` held (routing rules); None when ``current`` already is that. A bucket
    whose website redirects all requests is refused (:class:`RedirectBucket`)."""
    current = {k: v for k, v in (current or {}).items() if k != "ResponseMetadata"}
    redirect = current.get("RedirectAllRequestsTo")
    if redirect:
        host = redirect.get("HostName", "?") if isinstance(redirect, dict) else "?"
        raise RedirectBucket(
            f"the website of bucket {bucket} redirects every request to {str(host)[:100]}: it "
            "is a redirect bucket, not a site, and its configuration was left as it is; "
            "publish the gallery to another bucket, or remove the redirect (S3 console: the "
            "bucket's Properties > Static website hosting) and publish again"
        )
    merged = {**current, **wanted}
    return None if merged == current else merged


def policy_statement_state(policy: str | None, statement: dict[str, Any]) -> str:
    """ "present", "changed" (ours, but not as wanted) or "missing" in the policy JSON."""
    if not policy:
        return "missing"
    for found in _statements(policy):
        if found.get("Sid") == statement["Sid"]:
            return "present" if found == statement else "changed"
    return "missing"


# --- the requests ---------------------------------------------------------------------------


class WebsiteHosting:
    """The hosting requests for one bucket, made with the publisher's ``call``.

    ``skipped`` holds the hosting writes the store refused (or that an earlier set-up found
    it refusing, from the hosting record): they are not sent again, and not warned about
    again, until ``--reconfigure``."""

    def __init__(self, call: Call, bucket: str, store: str, *, aws: bool = True):
        self.call, self.bucket = call, bucket
        #: how the store is named in notes ("the store at http://...", or its endpoint)
        self.store = store
        #: requests go to AWS itself (then MalformedXML is an error, not "unsupported")
        self.aws = aws
        self.skipped: set[str] = set()

    def set_up(
        self, settings: dict[str, Any], *, created: bool = False, skip: Iterable[str] = ()
    ) -> list[str]:
        """Open the (existing) bucket for website hosting: idempotent, keeps what it can.
        What is already as wanted is not written; a bucket this publish ``created`` holds
        nothing to read first. ``skip``: writes the store refused before (not retried).

        A call the store does not support (S3-compatible stores answer ``NotImplemented``)
        is skipped; the returned notes say which, and what to do instead (once a publish)."""
        self.skipped |= set(skip)
        notes: list[str] = []
        self._public_access_block(settings, created, notes)
        self._website(settings, created, notes)
        if "put_bucket_policy" not in self.skipped:
            self.put_policy(settings["statement"], notes)
        return notes

    def _public_access_block(self, settings: dict[str, Any], created: bool, notes: list[str]):
        op = "put_public_access_block"
        if op in self.skipped:
            return
        suffix = " (stores without it have no Block Public Access to lift)"
        if created:  # a new bucket: AWS turns all four flags on; lift the policy ones
            wanted: dict[str, bool] | None = settings["public_access_block"]
        else:
            current = self.read("get_public_access_block", op, notes, suffix)
            if current is False:
                return
            config = current.get("PublicAccessBlockConfiguration") if current else None
            wanted = lifted_public_access_block(config if isinstance(config, dict) else None)
            if wanted is None:
                return  # nothing blocks the policy: the user's flags stay as they are
        if not self.supported(op, notes, PublicAccessBlockConfiguration=wanted):
            notes[-1] += suffix

    def _website(self, settings: dict[str, Any], created: bool, notes: list[str]) -> None:
        op = "put_bucket_website"
        if op in self.skipped:
            return
        error_key = settings["website"]["ErrorDocument"]["Key"]
        suffix = (
            f"; set index.html and {error_key} as the index and error documents in the store's "
            "own settings"
        )
        current: Any = None
        if not created:
            current = self.read("get_bucket_website", op, notes, suffix)
            if current is False:
                return
        wanted = merged_website(self.bucket, current, settings["website"])
        if wanted is not None and not self.supported(op, notes, WebsiteConfiguration=wanted):
            notes[-1] += suffix

    def plan(self, settings: dict[str, Any], *, exists: bool) -> list[str]:
        """What :meth:`set_up` would change, from read-only requests (for --dry-run)."""
        lines: list[str] = []
        flags = ", ".join(POLICY_FLAGS)
        if not exists:
            return [
                f"Block Public Access of the new bucket: lift {flags} (the ACL blocks stay on)",
                "website configuration: index document index.html, error document "
                f"{settings['website']['ErrorDocument']['Key']}",
                f"bucket policy: add the statement {settings['statement']['Sid']} (public read "
                f"of {settings['statement']['Resource']})",
            ]
        for op in sorted(self.skipped):
            lines.append(f"{op}: skipped (the store refused it before; --reconfigure tries it)")
        if "put_public_access_block" not in self.skipped:
            current = self.read("get_public_access_block", "put_public_access_block", [], "")
            config = current.get("PublicAccessBlockConfiguration") if current else None
            if current is False:
                lines.append("Block Public Access: cannot tell (the store does not support it)")
            elif lifted_public_access_block(config if isinstance(config, dict) else None):
                lines.append(f"Block Public Access: lift {flags} (the ACL flags are kept)")
        if "put_bucket_website" not in self.skipped:
            current = self.read("get_bucket_website", "put_bucket_website", [], "")
            if current is False:
                lines.append("website configuration: cannot tell (the store does not support it)")
            else:
                try:
                    if merged_website(self.bucket, current, settings["website"]) is not None:
                        lines.append(
                            "website configuration: set index document index.html, error "
                            f"document {settings['website']['ErrorDocument']['Key']}"
                            + (" (routing rules kept)" if current and current.get("RoutingRules")
                               else "")
                        )  # fmt: skip
                except RedirectBucket as exc:
                    lines.append(f"website configuration: the set-up would stop: {exc}")
        if "put_bucket_policy" not in self.skipped:
            policy = self.bucket_policy([])
            statement = settings["statement"]
            if policy is False:
                lines.append("bucket policy: cannot tell (the store does not support it)")
            else:
                state = policy_statement_state(policy or None, statement)
                verb = {"missing": "add", "changed": "replace"}.get(state)
                if verb:
                    lines.append(
                        f"bucket policy: {verb} the statement {statement['Sid']} (public read "
                        f"of {statement['Resource']}), keeping every other statement"
                    )
        return lines

    def put_policy(self, statement: dict[str, Any], notes: list[str]) -> None:
        """Merge ``statement`` into the bucket policy; never replace a policy we cannot read.
        The policy is read back: another gallery's setup writing its own merge at the same
        moment could have dropped ours, and then the merge is made again."""
        for _ in range(POLICY_ATTEMPTS):
            existing = self.bucket_policy(notes)
            if existing is False:
                return  # the store has no bucket policies: noted
            if policy_statement_state(existing or None, statement) == "present":
                return
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
        bucket policies, or that refused the policy write, has nothing to check)."""
        if "put_bucket_policy" in self.skipped:
            return True
        policy = self.bucket_policy([])
        if policy is False:
            return True
        return isinstance(policy, str) and sid in [s.get("Sid") for s in _statements(policy)]

    def bucket_policy(self, notes: list[str]) -> str | bool | None:
        """The bucket policy's JSON; None if there is none; False if the store has none."""
        from botocore.exceptions import ClientError

        try:
            policy = self.call("get_bucket_policy")["Policy"]
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code")
            if code in UNSUPPORTED:
                self.skipped.add("put_bucket_policy")
                notes.append(
                    f"{self.store} does not support bucket policies ({code}): skipped "
                    "get_bucket_policy and put_bucket_policy; make the gallery's objects "
                    "publicly readable with the store's own settings"
                )
                return False
            if code != "NoSuchBucketPolicy":
                raise
            return None
        if not isinstance(policy, str):
            raise GalleryError(f"the policy of bucket {self.bucket} is not JSON text")
        try:
            _statements(policy)
        except (ValueError, AttributeError, RecursionError):
            raise GalleryError(
                f"the policy of bucket {self.bucket} is not a JSON policy document; it was "
                "left as it is: fix it in the S3 console, then publish again"
            ) from None
        return policy

    def read(self, operation: str, write: str, notes: list[str], suffix: str) -> Any:
        """The answer to a read (GetBucketWebsite...), None when nothing is configured, False
        (and ``write`` skipped, with a note) when the store does not support it: what cannot
        be read is not replaced."""
        from botocore.exceptions import ClientError

        try:
            return self.call(operation)
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code")
            if code in ("NoSuchWebsiteConfiguration", "NoSuchPublicAccessBlockConfiguration"):
                return None
            if code not in UNSUPPORTED:
                raise
            self.skipped.add(write)
            notes.append(
                f"{self.store} does not support {operation} ({code}): skipped {operation} "
                f"and {write}{suffix}"
            )
            return False

    def refused(self, operation: str, exc: Any) -> str | None:
        """The error code if ``exc`` means the store does not support ``operation``."""
        code = str(exc.response.get("Error", {}).get("Code", ""))
        if code in UNSUPPORTED:
            return code
        if code == MALFORMED and not self.aws and operation in MALFORMED_MEANS_UNSUPPORTED:
            return code  # old MinIO routes calls it does not know to another parser
        return None

    def supported(self, operation: str, notes: list[str], **kwargs: Any) -> bool:
        """Call a hosting write; False (and a note) when the store does not support it."""
        from botocore.exceptions import ClientError

        try:
            self.call(operation, **kwargs)
        except ClientError as exc:
            code = self.refused(operation, exc)
            if code is None:
                raise
            self.skipped.add(operation)
            notes.append(f"{self.store} does not support {operation} ({code}): skipped")
            return False
        return True
