"""The account-level CloudFront pieces of a gallery's set-up, found by name before they are
made (idempotent): the Origin Access Control, the viewer-request function, and the cache and
response-headers policies. Every answer is untrusted and its shape checked.

An endpoint that lacks a call (moto 5.2.5 has no publish_function, update_function, cache or
response-headers policies) gets a note, never a failure: the function is associated by its
ARN unpublished, the managed policies stand in for ours.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from gallery_builder.plugins.cloudfront_config import (
    CACHE_POLICY_NAME,
    HEADERS_POLICY_NAME,
    MANAGED_CACHE_POLICY,
    MANAGED_HEADERS_POLICY,
    cache_policy_config,
    headers_policy_config,
    oac_config,
    resource_name,
)
from gallery_builder.plugins.cloudfront_errors import (
    NOT_IMPLEMENTED,
    UPDATE_NOT_IMPLEMENTED,
    CloudFrontRefused,
    error_code,
)
from gallery_builder.plugins.cloudfront_function import FUNCTION_RUNTIME

from gallery_builder.errors import GalleryError

Call = Callable[..., Any]


def _items(listing: Any) -> list[Any]:
    items = listing.get("Items") if isinstance(listing, dict) else None
    return items if isinstance(items, list) else []


def _pages(call: Call, operation: str, key: str, **kwargs: Any) -> Iterator[Any]:
    """Every item of a Marker/NextMarker listing (at most 50 pages)."""
    marker: str | None = None
    for _ in range(50):
        answer = call(operation, **kwargs, **({"Marker": marker} if marker else {}))
        listing = answer.get(key) if isinstance(answer, dict) else None
        yield from _items(listing)
        marker = listing.get("NextMarker") if isinstance(listing, dict) else None
        if not isinstance(marker, str) or not marker:
            return


def _string(value: Any, what: str) -> str:
    if not isinstance(value, str) or not value or len(value) > 2048:
        raise GalleryError(
            f"CloudFront answered without a usable {what}; run gallery publish again (if it "
            "persists, check the endpoint)"
        )
    return value


# --- Origin Access Control --------------------------------------------------------------------


def find_oac(call: Call, bucket: str) -> str | None:
    name = resource_name(bucket)
    for item in _pages(call, "list_origin_access_controls", "OriginAccessControlList"):
        if isinstance(item, dict) and item.get("Name") == name:
            return _string(item.get("Id"), "origin access control Id")
    return None


def ensure_oac(call: Call, bucket: str) -> tuple[str, bool]:
    """The bucket's OAC id, and whether it was made now (AWS refuses a duplicate name, so
    it is looked up first)."""
    found = find_oac(call, bucket)
    if found:
        return found, False
    answer = call("create_origin_access_control", OriginAccessControlConfig=oac_config(bucket))
    oac = answer.get("OriginAccessControl") if isinstance(answer, dict) else None
    return _string(oac.get("Id") if isinstance(oac, dict) else None, "OAC Id"), True


# --- the viewer-request function --------------------------------------------------------------


def _summary(answer: Any) -> tuple[str, str]:
    """(FunctionARN, Status) of a FunctionSummary answer."""
    summary = answer.get("FunctionSummary") if isinstance(answer, dict) else None
    metadata = summary.get("FunctionMetadata") if isinstance(summary, dict) else None
    arn = _string(metadata.get("FunctionARN") if isinstance(metadata, dict) else None,
                  "function ARN")  # fmt: skip
    status = summary.get("Status") if isinstance(summary, dict) else None
    return arn, status if isinstance(status, str) else ""


def describe_function(call: Call, name: str) -> tuple[str, str, str] | None:
    """(ARN, Status, ETag) of the function's DEVELOPMENT stage, or None if there is none."""
    try:
        answer = call("describe_function", Name=name, Stage="DEVELOPMENT", handled=True)
    except CloudFrontRefused as exc:
        if error_code(exc) in ("NoSuchFunctionExists", "404"):
            return None
        raise
    arn, status = _summary(answer)
    return arn, status, _string(answer.get("ETag"), "function ETag")


def function_code_now(call: Call, name: str) -> bytes:
    answer = call("get_function", Name=name, Stage="DEVELOPMENT")
    body = answer.get("FunctionCode") if isinstance(answer, dict) else None
    data = body.read() if hasattr(body, "read") else body
    return data if isinstance(data, bytes) else b""


def ensure_function(call: Call, bucket: str, code: bytes, notes: list[str]) -> dict[str, Any]:
    """Create the function, or update it when its code differs; then publish it (LIVE).
    Returns ``{"function_name", "function_arn", "function_etag"}``."""
    name = resource_name(bucket)
    config = {"Comment": "gallery-builder: folder URLs like S3 website hosting",
              "Runtime": FUNCTION_RUNTIME}  # fmt: skip
    found = describe_function(call, name)
    publish = True
    if found is None:
        answer = call("create_function", Name=name, FunctionConfig=config, FunctionCode=code)
        arn, _ = _summary(answer)
        etag = _string(answer.get("ETag"), "function ETag")
    else:
        arn, status, etag = found
        if function_code_now(call, name) != code:
            try:
                answer = call("update_function", Name=name, IfMatch=etag, FunctionConfig=config,
                              FunctionCode=code, handled=True)  # fmt: skip
                # the new version's ETag (AWS names that header "ETtag" here); else asked
                etag = answer.get("ETag") or _string(
                    (describe_function(call, name) or ("", "", ""))[2], "function ETag"
                )
            except CloudFrontRefused as exc:
                if error_code(exc) not in UPDATE_NOT_IMPLEMENTED:
                    raise
                notes.append(
                    f"this endpoint does not support update_function ({error_code(exc)}): the "
                    f"CloudFront Function {name} keeps its older code"
                )
        else:
            publish = status == "UNPUBLISHED"  # its DEVELOPMENT code is not LIVE yet
    if publish:
        try:
            answer = call("publish_function", Name=name, IfMatch=etag, handled=True)
            arn, _ = _summary(answer)
        except CloudFrontRefused as exc:
            if error_code(exc) not in NOT_IMPLEMENTED:
                raise
            notes.append(
                f"this endpoint does not support publish_function ({error_code(exc)}): the "
                f"CloudFront Function {name} is associated unpublished, by its ARN"
            )
    return {"function_name": name, "function_arn": arn, "function_etag": etag}


# --- cache and response-headers policies ------------------------------------------------------

#: (list operation, list key, item key, config key, create op, get op, update op, name,
#:  config builder, managed id, managed name)
_POLICIES = {
    "cache": ("list_cache_policies", "CachePolicyList", "CachePolicy", "CachePolicyConfig",
              "create_cache_policy", "get_cache_policy", "update_cache_policy",
              CACHE_POLICY_NAME, cache_policy_config, MANAGED_CACHE_POLICY,
              "CachingOptimized"),
    "headers": ("list_response_headers_policies", "ResponseHeadersPolicyList",
                "ResponseHeadersPolicy", "ResponseHeadersPolicyConfig",
                "create_response_headers_policy", "get_response_headers_policy",
                "update_response_headers_policy", HEADERS_POLICY_NAME, headers_policy_config,
                MANAGED_HEADERS_POLICY, "SecurityHeadersPolicy"),
}  # fmt: skip


def find_policy(call: Call, kind: str) -> tuple[str, dict[str, Any]] | bool | None:
    """Our policy's (Id, config as listed), None if there is none, False if the endpoint
    has no custom policies of that kind."""
    list_op, list_key, item_key, config_key, *_, name, _, _, _ = _POLICIES[kind]
    try:
        for item in _pages(call, list_op, list_key, Type="custom", handled=True):
            policy = item.get(item_key) if isinstance(item, dict) else None
            config = policy.get(config_key) if isinstance(policy, dict) else None
            if isinstance(config, dict) and config.get("Name") == name:
                return _string(policy.get("Id"), f"{kind} policy Id"), config
    except CloudFrontRefused as exc:
        if error_code(exc) in NOT_IMPLEMENTED:
            return False
        raise
    return None


def ensure_policy(call: Call, kind: str, notes: list[str]) -> tuple[str, str]:
    """Our policy's Id and what was done ("created", "updated", "kept", "managed")."""
    (_, _, item_key, config_key, create_op, get_op, update_op, name, build, managed,
     managed_name) = _POLICIES[kind]  # fmt: skip
    wanted = build()
    found = find_policy(call, kind)
    if found is False:
        notes.append(
            f"this endpoint has no custom {kind} policies: the distribution uses AWS's "
            f"managed {managed_name} ({managed}) instead of {name}"
        )
        return managed, "managed"
    if found is None:
        answer = call(create_op, **{config_key: wanted})
        policy = answer.get(item_key) if isinstance(answer, dict) else None
        return _string(policy.get("Id") if isinstance(policy, dict) else None,
                       f"{kind} policy Id"), "created"  # fmt: skip
    ident, config = found
    if _same(config, wanted):
        return ident, "kept"
    etag = _string(call(get_op, Id=ident).get("ETag"), f"{kind} policy ETag")
    call(update_op, Id=ident, IfMatch=etag, **{config_key: wanted})
    return ident, "updated"


def _same(have: Any, want: Any) -> bool:
    """``have`` (as listed) holds every value of ``want`` (lists compared as sets)."""
    if isinstance(want, dict):
        return isinstance(have, dict) and all(_same(have.get(k), v) for k, v in want.items())
    if isinstance(want, list):
        return isinstance(have, list) and sorted(map(repr, have)) == sorted(map(repr, want))
    return have == want
