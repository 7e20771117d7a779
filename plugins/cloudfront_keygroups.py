"""The key group of a private gallery and its public key, in CloudFront; the private half
stays on this machine (plugins/cloudfront_keys.py).

- The first private publish makes a key pair, uploads its public half (CreatePublicKey) into
  a new key group (CreateKeyGroup) and keeps the private half (``save_key``, once the
  distribution's URL is known).
- A later publish checks that the key group named by the hosting record still exists; it
  needs no local key. One deleted outside gallery-builder is made again, and said so.
- :func:`rotate` (``gallery invite --revoke-all``): a new key pair, its public key alone in
  the group (UpdateKeyGroup with the group's ETag), then the old public keys deleted (each
  with its own ETag) once no group holds them. Every earlier invitation stops working.

Every answer is untrusted and its shape checked.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from gallery_builder.plugins.cloudfront_errors import CloudFrontRefused, error_code
from gallery_builder.plugins.cloudfront_keys import (
    GalleryKey,
    check_keys_writable,
    load_key,
    new_key_pair,
    save_key,
)
from gallery_builder.plugins.cloudfront_private import (
    GalleryAccess,
    key_group_config,
    key_group_name,
    private_galleries,
    public_key_config,
    public_key_name,
)

from gallery_builder.errors import GalleryError, SettingError

Call = Callable[..., Any]
#: what CloudFront answers for a key group or public key that does not exist
MISSING = frozenset({"NoSuchResource", "NoSuchPublicKey", "NoSuchKeyGroup", "404"})


@dataclass(frozen=True)
class KeyGroupState:
    """A key group as read: its id, name, public key ids and ETag."""

    ident: str
    name: str
    key_ids: list[str]
    etag: str


def _where(bucket: str, prefix: str) -> str:
    return f"s3://{bucket}/{prefix}"


def _id(value: Any, what: str) -> str:
    if not isinstance(value, str) or not value or len(value) > 128 or not value.isalnum():
        raise GalleryError(
            f"CloudFront answered without a usable {what}; run gallery publish again (if it "
            "persists, check the endpoint)"
        )
    return value


def _etag(answer: Any, what: str) -> str:
    etag = answer.get("ETag") if isinstance(answer, dict) else None
    if not isinstance(etag, str) or not etag:
        raise GalleryError(f"CloudFront answered the {what} without an ETag")
    return etag


def _state(answer: Any) -> KeyGroupState:
    group = answer.get("KeyGroup") if isinstance(answer, dict) else None
    group = group if isinstance(group, dict) else {}
    config = group.get("KeyGroupConfig") if isinstance(group.get("KeyGroupConfig"), dict) else {}
    items = config.get("Items") if isinstance(config.get("Items"), list) else []
    return KeyGroupState(
        ident=_id(group.get("Id"), "key group Id"),
        name=str(config.get("Name") or ""),
        key_ids=[i for i in items if isinstance(i, str) and i],
        etag=_etag(answer, "key group"),
    )


def get_key_group(call: Call, ident: str) -> KeyGroupState | None:
    """The key group ``ident``, or None when CloudFront has none of that id."""
    try:
        return _state(call("get_key_group", Id=ident, handled=True))
    except CloudFrontRefused as exc:
        if error_code(exc) in MISSING:
            return None
        raise


def find_key_group(call: Call, name: str) -> str | None:
    """The id of the key group named ``name`` (names are unique per account)."""
    marker: str | None = None
    for _ in range(50):
        answer = call("list_key_groups", **({"Marker": marker} if marker else {}))
        listing = answer.get("KeyGroupList") if isinstance(answer, dict) else None
        listing = listing if isinstance(listing, dict) else {}
        for item in listing.get("Items") or []:
            group = item.get("KeyGroup") if isinstance(item, dict) else None
            config = group.get("KeyGroupConfig") if isinstance(group, dict) else None
            if isinstance(config, dict) and config.get("Name") == name:
                return _id(group.get("Id"), "key group Id")  # type: ignore[union-attr]
        marker = listing.get("NextMarker")
        if not isinstance(marker, str) or not marker:
            return None
    return None


@dataclass(frozen=True)
class NewKey:
    """A key pair whose public half CloudFront holds now; saved once its URL is known."""

    public_key_id: str
    key_group_id: str
    private_pem: bytes
    public_pem: bytes
    #: the public keys the group held before: deleted once this key is saved
    replaced: tuple[str, ...] = ()

    def saved_as(self, bucket: str, prefix: str, url: str) -> GalleryKey:
        return GalleryKey(bucket=bucket, prefix=prefix, public_key_id=self.public_key_id,
                          key_group_id=self.key_group_id, url=url, private_pem=self.private_pem,
                          public_pem=self.public_pem)  # fmt: skip


def _upload_public_key(call: Call, bucket: str, prefix: str) -> tuple[str, bytes, bytes]:
    check_keys_writable(bucket, prefix)  # its private half must be kept: checked first
    private_pem, public_pem = new_key_pair()
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ") + "-" + uuid.uuid4().hex[:4]
    name = public_key_name(key_group_name(bucket, prefix), stamp)
    config = public_key_config(name, public_pem, uuid.uuid4().hex, _where(bucket, prefix))
    answer = call("create_public_key", PublicKeyConfig=config)
    key = answer.get("PublicKey") if isinstance(answer, dict) else None
    ident = _id(key.get("Id") if isinstance(key, dict) else None, "public key Id")
    return ident, private_pem, public_pem


def ensure_key_group(
    call: Call, bucket: str, prefix: str, known: str | None, notes: list[str]
) -> tuple[str, NewKey | None]:
    """The gallery's key group id, and the new key to save when one was made.

    ``known``: the id the live hosting record names. It is kept when CloudFront still has
    it; one deleted behind gallery-builder's back is made again (a note names it). Without
    one, the group named for the gallery is reused when this machine holds a key it
    trusts, else rotated to a new key (an earlier publish died before its record, or the
    gallery was made public and private again elsewhere)."""
    where = _where(bucket, prefix)
    if known:
        if get_key_group(call, known) is not None:
            return known, None
        notes.append(
            f"the key group {known} of the private gallery {where} is gone from CloudFront "
            "(deleted outside gallery-builder?): made a new key pair and key group; every "
            "invitation sent before stops working: send new ones with gallery invite"
        )
    name = key_group_name(bucket, prefix)
    found = find_key_group(call, name)
    if found is not None and found != known:
        group = get_key_group(call, found)
        local = load_key(bucket, prefix)
        if group is not None and local is not None and local.key_group_id == found and (
            local.public_key_id in group.key_ids
        ):  # fmt: skip
            return found, None
        if group is not None:
            return found, rotate_group(call, bucket, prefix, group, notes)
    ident, private_pem, public_pem = _upload_public_key(call, bucket, prefix)
    answer = call("create_key_group", KeyGroupConfig=key_group_config(name, [ident], where))
    group = _state(answer)
    notes.append(f"made the key group {group.ident} and its public key {ident} for {where}")
    return group.ident, NewKey(ident, group.ident, private_pem, public_pem)


def gallery_access(
    call: Call, bucket: str, prefix: str, private: bool | None, recorded: str | None,
    notes: list[str],
) -> tuple[GalleryAccess, NewKey | None]:  # fmt: skip
    """Who may read the gallery at ``prefix``: with ``private`` (``--private``), the viewers
    of its key group (made on its first private publish: the new key, to save, is returned
    too); else anyone (``recorded``: the key group the live record names, which stays)."""
    if not private:
        if private is False and recorded:
            notes.append(
                f"{_where(bucket, prefix)} is public now: its two cache behaviours are removed; "
                f"its key group {recorded} stays in CloudFront (delete it there if nothing else "
                "uses it)"
            )
        return GalleryAccess(prefix, None), None
    group, new_key = ensure_key_group(call, bucket, prefix, recorded, notes)
    return GalleryAccess(prefix, group), new_key


def refuse_unsaid_private(
    bucket: str, prefix: str | None, private: bool | None, config: dict[str, Any]
) -> None:
    """Neither ``--private`` nor ``--no-private`` for a gallery the distribution's ``config``
    serves signed-only (its record lost it: an earlier publish died after its set-up):
    refused, before any write."""
    if private is not None or not prefix:
        return
    held = private_galleries(config, f"s3-{bucket}")
    if prefix in held:
        raise SettingError(
            f"{_where(bucket, prefix)} is private (the distribution's cache behaviour "
            f"{prefix}/* trusts the key group {held[prefix]} only): publish with --private to "
            "keep it so, or with --no-private to make it public (every page becomes readable "
            "by anyone)"
        )


def rotate_group(
    call: Call,
    bucket: str,
    prefix: str,
    group: KeyGroupState,
    notes: list[str],
    again: str = "gallery publish",
) -> NewKey:
    """A new key pair; its public key alone in ``group`` (IfMatch: its ETag). The old public
    keys are deleted by :func:`delete_public_keys` once the new private key is saved. When
    the update is refused, the new public key (whose private half is thrown away) is deleted
    again and the error says to run ``again`` (the command that rotates) once more."""
    ident, private_pem, public_pem = _upload_public_key(call, bucket, prefix)
    config = key_group_config(group.name, [ident], _where(bucket, prefix))
    try:
        call("update_key_group", Id=group.ident, IfMatch=group.etag, KeyGroupConfig=config,
             handled=True)  # fmt: skip
    except GalleryError as exc:  # the new key is in no group: it must not stay behind
        raise GalleryError(
            f"{_without_advice(str(exc))}; {_take_back(call, ident)}; the key group "
            f"{group.ident} still trusts the old key (every invitation sent still works): "
            f"fix that, then run {again} again"
        ) from None
    old = [k for k in group.key_ids if k != ident]
    notes.append(
        f"the key group {group.ident} of {_where(bucket, prefix)} now trusts the new public key "
        f"{ident} alone" + (f" (instead of {', '.join(old)})" if old else "")
    )
    return NewKey(ident, group.ident, private_pem, public_pem, tuple(old))


#: the advice cloudfront_errors gives every refusal, which is a publish's, not a revoke's
_PUBLISH_ADVICE = re.compile(r"; [^;]*\brun gallery publish[^;]*|; the live gallery is unchanged")


def _without_advice(message: str) -> str:
    return _PUBLISH_ADVICE.sub("", message)


def _take_back(call: Call, ident: str) -> str:
    """Delete the public key ``ident`` just made (best effort); what happened, in words."""
    try:
        etag = _etag(call("get_public_key", Id=ident, handled=True), "public key")
        call("delete_public_key", Id=ident, IfMatch=etag, handled=True)
    except GalleryError as exc:
        if error_code(exc) in MISSING:
            return f"the new public key {ident} is gone already"
        return (
            f"the new public key {ident} could not be deleted either "
            f"({_without_advice(str(exc))}): delete it in the CloudFront console (Public keys)"
        )
    return f"the new public key {ident} was deleted again"


def delete_public_keys(call: Call, key_ids: list[str], notes: list[str]) -> None:
    """Delete public keys no key group holds any more (each with its ETag); one that is gone
    already is fine, one CloudFront refuses is a note (it signs nothing CloudFront accepts)."""
    for ident in key_ids:
        try:
            etag = _etag(call("get_public_key", Id=ident, handled=True), "public key")
            call("delete_public_key", Id=ident, IfMatch=etag, handled=True)
        except CloudFrontRefused as exc:
            if error_code(exc) in MISSING:
                continue
            notes.append(f"the old public key {ident} was not deleted: {exc}")


def revoke(
    call: Call, bucket: str, prefix: str, group_id: str, url: str, notes: list[str]
) -> GalleryKey:
    """Every invitation to the gallery stops working: a new key pair, its public key alone in
    the key group, the new private key saved, then the old public keys deleted."""
    group = get_key_group(call, group_id)
    if group is None:
        raise GalleryError(
            f"CloudFront has no key group {group_id}, the one the hosting record of "
            f"{_where(bucket, prefix)} names (deleted outside gallery-builder?): run gallery "
            "publish --cdn cloudfront --private --reconfigure to make a new one"
        )
    new = rotate_group(call, bucket, prefix, group, notes, again="gallery invite --revoke-all")
    key = new.saved_as(bucket, prefix, url)
    save_key(key)  # before the old keys go: a failure below leaves a key that works
    delete_public_keys(call, list(new.replaced), notes)
    return key
