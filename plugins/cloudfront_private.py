"""What a private gallery (``--private``, docs/https.md "Private galleries") adds to the
bucket's one distribution, as pure builders: its two cache behaviours (``P/_auth``, where the
viewer-request function turns an invitation link into CloudFront's signed cookies, and
``P/*``, which CloudFront serves only to a viewer whose cookies a public key of the gallery's
key group signed), the 403 error response (the bucket root's ``/private.html``), the names of
the key group and its public keys, and the comparison of the behaviours read back with those
wanted. No I/O (plugins/cloudfront_keygroups.py and cloudfront_setup.py make the calls).

Every gallery of the bucket shares the distribution, so the behaviours wanted are always
built from those the distribution holds: another private gallery's two are kept (rebuilt
from its key group, so what an endpoint dropped on read-back is sent again), a user's own are
kept as they are, and only the publishing gallery's two are added, replaced or removed.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import Any

from gallery_builder.errors import SettingError

#: AWS's managed CachingDisabled cache policy: an invitation link is never cached
CACHING_DISABLED_POLICY = "4135ea2d-6df8-44a3-9df3-4b5a84be39ad"
#: the unsigned path an invitation link opens (the viewer-request function answers it)
AUTH = "_auth"
#: the bucket root's page CloudFront answers a refused (unsigned) request with
PRIVATE_PAGE = "/private.html"
#: what a CloudFront path pattern may hold besides its wildcards ('*' and '?' are left out:
#: in a gallery's folder they would widen or narrow what the pattern covers)
_PATTERN_SAFE = re.compile(r"[A-Za-z0-9_.~/-]+")
_NAME_CHARS = re.compile(r"[^A-Za-z0-9_-]")
#: CloudFront's limit on a key group's and a public key's name
NAME_MAX = 128


@dataclass(frozen=True)
class GalleryAccess:
    """Who may read the gallery at ``prefix``: the viewers of ``key_group_id``'s keys, or
    (None) anyone."""

    prefix: str
    key_group_id: str | None


def recorded_key_group(cdn: Any) -> str | None:
    """The key group id a live hosting record's ``cdn`` names (untrusted), or None."""
    private = cdn.get("private") if isinstance(cdn, dict) else None
    ident = private.get("key_group_id") if isinstance(private, dict) else None
    return ident if isinstance(ident, str) and re.fullmatch(r"[A-Z0-9]{1,128}", ident) else None


def private_prefix_problem(prefix: str) -> str | None:
    """Why the gallery at ``prefix`` cannot be private (a usage error, before any request)."""
    if not prefix:
        return "needs its own folder (the bucket root's pages serve every gallery)"
    if not _PATTERN_SAFE.fullmatch(prefix):
        return (
            f"needs a folder name CloudFront can match exactly ({prefix!r} is not): letters, "
            "digits, '-', '_', '.', '~' and '/' only"
        )
    return None


def check_private_prefix(bucket: str, prefix: str) -> None:
    problem = private_prefix_problem(prefix)
    if problem is None:
        return
    if not prefix:
        raise SettingError(
            f"a private gallery needs its own folder: publish to s3://{bucket}/NAME (the "
            "bucket root's pages serve every gallery, so they cannot be private)"
        )
    raise SettingError(f"a private gallery {problem}: publish it to another folder")


def refuse_inside_private(bucket: str, prefix: str, private: dict[str, str]) -> None:
    """A gallery inside a private gallery's folder (``private``: the distribution's, as
    :func:`private_galleries` reads them) is refused before any write: that gallery's
    behaviour ``P/*`` covers it, so it could never be as public (or as private) as asked."""
    outer = sorted(p for p in private if prefix.startswith(p + "/"))
    if outer:
        raise SettingError(
            f"s3://{bucket}/{prefix} is inside the private gallery s3://{bucket}/{outer[0]}, "
            f"whose cache behaviour {outer[0]}/* lets only its own invitations in: publish "
            f"this gallery to a folder outside {outer[0]}/"
        )


def refuse_galleries_inside(bucket: str, prefix: str, inside: list[str]) -> None:
    """``--private`` for ``prefix`` while galleries live under its folder (``inside``: their
    prefixes) is refused before any write: ``P/*`` would make them private too, silently."""
    if inside:
        names = ", ".join(f"s3://{bucket}/{p}" for p in sorted(inside))
        which = f"gallery {names} is" if len(inside) == 1 else f"galleries {names} are"
        raise SettingError(
            f"s3://{bucket}/{prefix} cannot be private: the {which} inside its folder, and "
            f"the cache behaviour {prefix}/* would make it private too; publish "
            "the private gallery to a folder with no gallery inside (or unpublish or move "
            "those first)"
        )


def galleries_under(prefix: str, manifest_keys: list[str]) -> list[str]:
    """The prefixes of the manifests in ``manifest_keys`` that lie under ``prefix``'s folder
    (``prefix``'s own left out)."""
    return sorted(
        key.removesuffix("/manifest.json")
        for key in manifest_keys
        if key.startswith(prefix + "/") and key.endswith("/manifest.json")
        and key != f"{prefix}/manifest.json"
    )  # fmt: skip


def key_group_name(bucket: str, prefix: str) -> str:
    """``gallery-BUCKET-PREFIX-HASH`` (letters, digits, '-', '_'; at most 128; the hash of
    ``bucket/prefix`` keeps two galleries apart when their names only differ in '.' or '/')."""
    tail = "-" + hashlib.sha256(f"{bucket}/{prefix}".encode()).hexdigest()[:8]
    head = _NAME_CHARS.sub("-", f"gallery-{bucket}-{prefix}")
    return head[: NAME_MAX - len(tail) - 16] + tail  # room for a public key's suffix


def public_key_name(group_name: str, stamp: str) -> str:
    """A public key's name: its group's and when it was made (``20261202T054500Z-1a2b``)."""
    return _NAME_CHARS.sub("-", f"{group_name}-{stamp}")[:NAME_MAX]


def public_key_config(name: str, public_pem: bytes, reference: str, where: str) -> dict[str, Any]:
    return {
        "CallerReference": reference,
        "Name": name,
        "EncodedKey": public_pem.decode("ascii"),
        "Comment": f"gallery-builder: invitations to {where}"[:128],
    }


def key_group_config(name: str, key_ids: list[str], where: str) -> dict[str, Any]:
    return {
        "Name": name,
        "Items": list(key_ids),
        "Comment": f"gallery-builder: who may read {where}"[:128],
    }


# --- the cache behaviours --------------------------------------------------------------------


def gallery_behaviours(
    prefix: str,
    key_group_id: str,
    *,
    origin_id: str,
    cache_policy_id: str,
    headers_policy_id: str,
    function_arn: str,
) -> list[dict[str, Any]]:
    """The two behaviours of the private gallery at ``prefix``: ``P/_auth`` first (unsigned,
    never cached: the function answers it), then ``P/*`` (signed cookies of the key group)."""
    methods = {"Quantity": 2, "Items": ["HEAD", "GET"]}
    base = {
        "TargetOriginId": origin_id,
        "ViewerProtocolPolicy": "redirect-to-https",
        "AllowedMethods": {**methods, "CachedMethods": dict(methods)},
        "Compress": True,
        "ResponseHeadersPolicyId": headers_policy_id,
        "FunctionAssociations": {
            "Quantity": 1,
            "Items": [{"FunctionARN": function_arn, "EventType": "viewer-request"}],
        },
    }
    auth = {
        "PathPattern": f"{prefix}/{AUTH}",
        **base,
        "CachePolicyId": CACHING_DISABLED_POLICY,
        "TrustedKeyGroups": {"Enabled": False, "Quantity": 0},
    }
    pages = {
        "PathPattern": f"{prefix}/*",
        **base,
        "CachePolicyId": cache_policy_id,
        "TrustedKeyGroups": {"Enabled": True, "Quantity": 1, "Items": [key_group_id]},
    }
    return [auth, pages]


def _items(value: Any) -> list[Any]:
    items = value.get("Items") if isinstance(value, dict) else None
    return [i for i in items if isinstance(i, dict)] if isinstance(items, list) else []


def private_galleries(config: dict[str, Any], origin_id: str) -> dict[str, str]:
    """``{prefix: key group id}`` of the private galleries whose behaviours the distribution's
    ``config`` holds (``P/*`` on our origin with a trusted key group)."""
    found: dict[str, str] = {}
    for item in _items(config.get("CacheBehaviors")):
        pattern = item.get("PathPattern")
        groups = [g for g in (item.get("TrustedKeyGroups") or {}).get("Items") or []
                  if isinstance(g, str) and g]  # fmt: skip
        if (
            isinstance(pattern, str) and pattern.endswith("/*") and groups
            and item.get("TargetOriginId") == origin_id
            and _PATTERN_SAFE.fullmatch(pattern[:-2])
        ):  # fmt: skip
            found[pattern[:-2]] = groups[0]
    return found


def _is_gallerys(item: dict[str, Any], prefixes: set[str], origin_id: str) -> bool:
    pattern = item.get("PathPattern")
    return item.get("TargetOriginId") == origin_id and pattern in {
        p for prefix in prefixes for p in (f"{prefix}/{AUTH}", f"{prefix}/*")
    }


def wanted_behaviours(
    current: dict[str, Any] | None,
    access: GalleryAccess,
    **ids: str,
) -> list[dict[str, Any]]:
    """The distribution's behaviours once ``access`` is applied to what ``current`` (the
    config read back, None for a new distribution) holds: every private gallery's two
    (rebuilt with ``ids``: origin_id, cache_policy_id, headers_policy_id, function_arn),
    the deepest folder first so that a gallery inside another's folder keeps its own, then
    the behaviours gallery-builder did not make, in their order. A user's behaviour never
    comes before a private gallery's: it could serve the gallery's files unsigned."""
    origin_id = ids["origin_id"]
    galleries = private_galleries(current or {}, origin_id)
    galleries.pop(access.prefix, None)
    if access.key_group_id:
        galleries[access.prefix] = access.key_group_id
    ours = set(galleries) | {access.prefix}
    others = [i for i in _items((current or {}).get("CacheBehaviors"))
              if not _is_gallerys(i, ours, origin_id)]  # fmt: skip
    behaviours: list[dict[str, Any]] = []
    for prefix in sorted(galleries, key=lambda p: (-p.count("/"), p)):
        behaviours += gallery_behaviours(prefix, galleries[prefix], **ids)
    return behaviours + others


def behaviours_field(items: list[dict[str, Any]]) -> dict[str, Any]:
    return {"Quantity": len(items), **({"Items": items} if items else {})}


def private_error_response() -> dict[str, Any]:
    """A refused (unsigned) request answers the themed page, still with its 403."""
    return {
        "ErrorCode": 403,
        "ResponsePagePath": PRIVATE_PAGE,
        "ResponseCode": "403",
        "ErrorCachingMinTTL": 0,
    }


# --- drift ------------------------------------------------------------------------------------


def _shape(item: dict[str, Any], complete: bool) -> tuple[Any, ...]:
    groups = item.get("TrustedKeyGroups") or {}
    shape: tuple[Any, ...] = (
        item.get("PathPattern"),
        item.get("TargetOriginId"),
        item.get("ViewerProtocolPolicy"),
        item.get("CachePolicyId"),
        item.get("ResponseHeadersPolicyId") or None,
        bool(groups.get("Enabled")),
        tuple(sorted(g for g in groups.get("Items") or [] if isinstance(g, str))),
    )
    if complete:
        functions = _items(item.get("FunctionAssociations"))
        shape += (tuple(sorted((f.get("EventType"), f.get("FunctionARN")) for f in functions)),)
    return shape


def behaviours_drift(current: dict[str, Any], wanted: dict[str, Any], complete: bool) -> bool:
    """Whether the behaviours read back differ from those wanted (``complete``: the endpoint
    returns function associations, so they are compared too)."""
    have = [_shape(i, complete) for i in _items(current.get("CacheBehaviors"))]
    want = [_shape(i, complete) for i in _items(wanted.get("CacheBehaviors"))]
    return have != want


def error_response(config: dict[str, Any], code: int) -> dict[str, Any]:
    """The page path and response code of ``config``'s error response for ``code``."""
    items = _items(config.get("CustomErrorResponses"))
    found = next((e for e in items if e.get("ErrorCode") == code), {})
    return {k: found.get(k) for k in ("ResponsePagePath", "ResponseCode")}


def with_galleries(
    config: dict[str, Any], current: dict[str, Any] | None, access: GalleryAccess
) -> dict[str, Any]:
    """``config`` (distribution_config's) with the cache behaviours wanted once ``access`` is
    applied to ``current``'s, and, while a private gallery is among them, the 403 page."""
    default = config["DefaultCacheBehavior"]
    functions = _items(default.get("FunctionAssociations"))
    behaviours = wanted_behaviours(
        current, access, origin_id=default["TargetOriginId"],
        cache_policy_id=default["CachePolicyId"],
        headers_policy_id=default["ResponseHeadersPolicyId"],
        function_arn=str(functions[0].get("FunctionARN", "")) if functions else "",
    )  # fmt: skip
    errors = [e for e in config["CustomErrorResponses"]["Items"] if e.get("ErrorCode") != 403]
    if any((b.get("TrustedKeyGroups") or {}).get("Enabled") for b in behaviours):
        errors.append(private_error_response())
    return {
        **config,
        "CacheBehaviors": behaviours_field(behaviours),
        "CustomErrorResponses": {"Quantity": len(errors), "Items": errors},
    }
