"""Does the store enforce conditional writes? Checked once per bucket, before the first
publish into it trusts the lease (plugins/s3/lease.py) and the compare-and-swap commit of
``manifest.json``, both of which rely on ``If-None-Match: *`` and ``If-Match`` being refused
when they do not hold. Some S3-compatible stores accept and ignore them (s3rver overwrites
silently; see HOSTING.md §4): two publishes at the same moment could then lose the gallery.

The check writes a canary object next to the leases (``.gallery-leases/conditional-writes``,
outside every gallery's prefix): with ``If-None-Match: *`` over itself and with a stale
``If-Match``, each of which must fail (412, 409, or the 304 that R2 and older MinIO send).
The canary's body keeps the verdict, so a later publish of any gallery in the bucket reads it
with one GET; the probes that must fail carry the negative verdict themselves, so a store that
ignores the conditions records that by accepting them. The body holds nothing identifying.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

from gallery_builder.plugins.s3.lease import LEASE_PREFIX

from gallery_builder.errors import GalleryError

CANARY_KEY = LEASE_PREFIX + "conditional-writes"
ENFORCED, IGNORED, CHECKING = "enforced", "ignored", "checking"
#: how a store says that a condition did not hold
CONDITION_FAILED = frozenset(
    {"PreconditionFailed", "412", "ConditionalRequestConflict", "409", "NotModified", "304"}
)
#: how a store says it does not implement conditional writes at all
NOT_IMPLEMENTED = frozenset({"NotImplemented", "501", "XNotImplemented"})
_STALE_ETAG = '"00000000000000000000000000000000"'


def canary_body(state: str, why: str = "") -> bytes:
    body = {
        "conditional_writes": state,
        "checked": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "about": "gallery-builder checks once per bucket that the store refuses a conditional "
        "write that does not hold; delete this object to have it checked again",
    }
    if why:
        body["why"] = why
    return json.dumps(body, sort_keys=True).encode()


def canary_verdict(data: bytes) -> tuple[str, str] | None:
    """(ENFORCED or IGNORED, why) from a canary's body; None if it holds no verdict (being
    checked, or not written by gallery-builder: the body is remote state)."""
    try:
        body = json.loads(data)
    except (ValueError, UnicodeDecodeError, RecursionError):
        return None
    if not isinstance(body, dict) or body.get("conditional_writes") not in (ENFORCED, IGNORED):
        return None
    why = body.get("why")
    return body["conditional_writes"], why[:200] if isinstance(why, str) else ""


def _code(exc: Any) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


class ConditionalWrites:
    """The check for one bucket. ``call(operation, **kwargs)`` is the publisher's (botocore
    errors pass through); ``where`` is the canary's URL, ``store`` names the store."""

    def __init__(self, call: Callable[..., Any], where: str, store: str) -> None:
        self._call, self._where, self._store = call, where, store
        #: the verdict was read (or made) in this publish: not asked again
        self.checked = False
        #: the refusal found in this publish: said again without asking the store again
        self.refusal: str | None = None

    def ensure(self, *, missing: bool = False, recheck: bool = False) -> None:
        """Return if the store enforces conditional writes, else raise :class:`GalleryError`.
        ``missing``: the bucket was just created (no canary to read); ``recheck``: probe
        again even if the canary holds a verdict (``--reconfigure``)."""
        if self.checked:
            return
        if self.refusal is not None and not recheck:  # found earlier in this publish
            raise GalleryError(self.refusal)
        found = None if missing else self._get()
        verdict = canary_verdict(found[0]) if found else None
        if verdict is None or recheck:
            verdict = self._probe(found[1] if found else None)
        state, why = verdict
        if state == IGNORED:
            self.refusal = (
                f"{self._store} does not enforce conditional writes ({why}): gallery-builder's "
                "lease and its compare-and-swap commit of manifest.json rely on them, so two "
                "publishes at the same moment could lose the gallery (one overwriting the "
                "other's manifest); nothing of the gallery was written. Publish to a store "
                "that enforces them (AWS S3, a current MinIO, Cloudflare R2, Ceph RGW); once "
                f"this one does, delete {self._where} or run gallery publish --reconfigure "
                "to check again"
            )
            raise GalleryError(self.refusal)
        self.checked = True

    def verdict(self) -> tuple[str, str] | None:
        """What the canary says (one GET): (ENFORCED or IGNORED, why), or None: unchecked."""
        found = self._get()
        return canary_verdict(found[0]) if found else None

    def plan(self, *, exists: bool, recheck: bool) -> list[str]:
        """For --dry-run: whether a publish would check, or would be refused (one GET)."""
        verdict = self.verdict() if exists else None
        if verdict is None:
            return [
                f"check once that {self._store} enforces conditional writes (a canary object, "
                f"{CANARY_KEY}); a store that does not is refused before any gallery write"
            ]
        if verdict[0] != ENFORCED and not recheck:
            return [
                f"the publish would stop: {self._store} does not enforce conditional writes "
                f"({verdict[1]}); --reconfigure checks again"
            ]
        return []

    def _get(self) -> tuple[bytes, str] | None:
        from botocore.exceptions import ClientError

        try:
            response = self._call("get_object", Key=CANARY_KEY)
            return response["Body"].read(), response["ETag"].strip('"')
        except ClientError as exc:
            if _code(exc) in ("NoSuchKey", "404"):
                return None
            raise

    def _put(self, body: bytes, **condition: str) -> str | None:
        """The new ETag; None when the condition did not hold. A store that answers
        NotImplemented to a conditional write raises _NoConditions."""
        from botocore.exceptions import ClientError

        try:
            response = self._call(
                "put_object", Key=CANARY_KEY, Body=body, ContentType="application/json",
                CacheControl="no-cache", **condition,
            )  # fmt: skip
        except ClientError as exc:
            code = _code(exc)
            if code in CONDITION_FAILED:
                return None
            if code in NOT_IMPLEMENTED:
                raise _NoConditions(code) from None
            raise
        return str(response.get("ETag", "")).strip('"') or "?"

    def _probe(self, etag: str | None) -> tuple[str, str]:
        try:
            return self._probe_conditions(etag)
        except _NoConditions as exc:
            why = f"it answered {exc.args[0]} to a conditional write"
            self._put(canary_body(IGNORED, why))
            return IGNORED, why

    def _probe_conditions(self, etag: str | None) -> tuple[str, str]:
        first = {"IfMatch": f'"{etag}"'} if etag else {"IfNoneMatch": "*"}
        mine = self._put(canary_body(CHECKING), **first)
        if mine is None:  # another publish is checking at this moment
            return self._theirs()
        why = "a write with If-None-Match: * over an existing object was accepted"
        if self._put(canary_body(IGNORED, why), IfNoneMatch="*") is not None:
            return IGNORED, why
        why = "a write with a stale If-Match was accepted"
        if self._put(canary_body(IGNORED, why), IfMatch=_STALE_ETAG) is not None:
            return IGNORED, why
        if self._put(canary_body(ENFORCED), IfMatch=f'"{mine}"') is None:
            return self._theirs()
        return ENFORCED, ""

    def _theirs(self) -> tuple[str, str]:
        """The verdict another publish checking at the same moment wrote."""
        found = self._get()
        verdict = canary_verdict(found[0]) if found else None
        if verdict is None:
            raise GalleryError(
                f"another publish is checking, at this moment, whether {self._store} enforces "
                f"conditional writes ({self._where}); run gallery publish again"
            )
        return verdict


class _NoConditions(Exception):
    """The store answered NotImplemented to a conditional write."""
