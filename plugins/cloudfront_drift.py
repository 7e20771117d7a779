"""A distribution read back from CloudFront (untrusted), compared with the one wanted:
what drifted, the config that puts it back keeping what a user added by hand, and the fields
of an answer, shape-checked. Pure (plugins/cloudfront_setup.py makes the calls)."""

from __future__ import annotations

import re
from typing import Any

from gallery_builder.plugins.cloudfront_private import (
    PRIVATE_PAGE,
    behaviours_drift,
    error_response,
)

from gallery_builder.errors import GalleryError


def _origin(config: dict[str, Any], origin_id: str) -> dict[str, Any]:
    items = (config.get("Origins") or {}).get("Items") or []
    return next((o for o in items if isinstance(o, dict) and o.get("Id") == origin_id), {})


def _error_404(config: dict[str, Any]) -> dict[str, Any]:
    items = (config.get("CustomErrorResponses") or {}).get("Items") or []
    found = next((e for e in items if isinstance(e, dict) and e.get("ErrorCode") == 404), {})
    return {k: found.get(k) for k in ("ResponsePagePath", "ResponseCode")}


def _private_403(config: dict[str, Any]) -> bool:
    """Whether ``config`` answers a 403 with the root's private page."""
    return error_response(config, 403) == {"ResponsePagePath": PRIVATE_PAGE, "ResponseCode": "403"}


def drift(current: dict[str, Any], wanted: dict[str, Any], *, domain: bool) -> list[str]:
    """The settings of ``current`` (a config read back) that differ from ``wanted``.

    An endpoint that drops the OAC id, S3OriginConfig and function associations on read-back
    (moto 5.2.5) shows no ``OriginAccessControlId`` key at all (AWS always returns it, ""
    when there is none): there, those three cannot be compared and are not counted."""
    origin_id = wanted["DefaultCacheBehavior"]["TargetOriginId"]
    have, want = _origin(current, origin_id), _origin(wanted, origin_id)
    complete = "OriginAccessControlId" in have
    found: list[str] = []
    if not have:
        return ["origin"]
    for key in ("DomainName", "OriginPath"):
        if (have.get(key) or "") != want[key]:
            found.append(f"origin {key}")
    if complete and have.get("OriginAccessControlId") != want["OriginAccessControlId"]:
        found.append("origin access control")
    if complete and have.get("S3OriginConfig") != want["S3OriginConfig"]:
        found.append("S3OriginConfig")
    for key in ("DefaultRootObject", "HttpVersion", "IsIPV6Enabled", "PriceClass", "Enabled"):
        if current.get(key) != wanted[key]:
            found.append(key)
    behaviour, wanted_behaviour = (
        current.get("DefaultCacheBehavior") or {},
        wanted["DefaultCacheBehavior"],
    )
    keys = ["TargetOriginId", "ViewerProtocolPolicy", "Compress", "CachePolicyId",
            "ResponseHeadersPolicyId"]  # fmt: skip
    if complete:
        keys.append("FunctionAssociations")
    for key in keys:
        if behaviour.get(key) != wanted_behaviour[key]:
            found.append(key)
    methods = (behaviour.get("AllowedMethods") or {}).get("Items") or []
    if sorted(methods) != sorted(wanted_behaviour["AllowedMethods"]["Items"]):
        found.append("AllowedMethods")
    if _error_404(current) != _error_404(wanted):
        found.append("404 error response")
    if "CacheBehaviors" in wanted and behaviours_drift(current, wanted, complete):
        found.append("cache behaviours")
    if "CacheBehaviors" in wanted and _private_403(current) != _private_403(wanted):
        found.append("403 error response")
    if domain:
        if (current.get("Aliases") or {}).get("Items") != wanted["Aliases"]["Items"]:
            found.append("Aliases")
        arn = (current.get("ViewerCertificate") or {}).get("ACMCertificateArn")
        if arn != wanted["ViewerCertificate"]["ACMCertificateArn"]:
            found.append("ViewerCertificate")
    return found


def updated_config(
    current: dict[str, Any], wanted: dict[str, Any], *, domain: bool
) -> dict[str, Any]:
    """``current`` with our settings put back; what a user added by hand (other origins,
    other error responses, the comment) is kept, and without ``domain`` the aliases and
    certificate too. The cache behaviours wanted (when given) were built from ``current``'s
    (plugins/cloudfront_private.py): other galleries' are in them; the 403 page goes with the
    last private gallery."""
    origin_id = wanted["DefaultCacheBehavior"]["TargetOriginId"]
    origins = [o for o in (current.get("Origins") or {}).get("Items") or []
               if isinstance(o, dict) and o.get("Id") != origin_id]  # fmt: skip
    origins = [*wanted["Origins"]["Items"], *origins]
    codes = {e.get("ErrorCode") for e in wanted["CustomErrorResponses"]["Items"]}
    errors = [e for e in (current.get("CustomErrorResponses") or {}).get("Items") or []
              if isinstance(e, dict) and e.get("ErrorCode") not in codes
              and not ("CacheBehaviors" in wanted and _private_403({"CustomErrorResponses": {
                  "Items": [e]}}))]  # fmt: skip
    errors = [*wanted["CustomErrorResponses"]["Items"], *errors]
    config = {**current}
    for key in ("DefaultRootObject", "HttpVersion", "IsIPV6Enabled", "PriceClass", "Enabled",
                "DefaultCacheBehavior"):  # fmt: skip
        config[key] = wanted[key]
    config["Origins"] = {"Quantity": len(origins), "Items": origins}
    config["CustomErrorResponses"] = {"Quantity": len(errors), "Items": errors}
    if "CacheBehaviors" in wanted:  # built from those ``current`` holds: none is dropped
        config["CacheBehaviors"] = wanted["CacheBehaviors"]
    config["CallerReference"] = current.get("CallerReference") or wanted["CallerReference"]
    if domain:
        config["Aliases"] = wanted["Aliases"]
        config["ViewerCertificate"] = wanted["ViewerCertificate"]
    return config


def current_alias(config: dict[str, Any]) -> str | None:
    """The distribution's first alias, if any."""
    items = (config.get("Aliases") or {}).get("Items") or []
    return items[0] if items and isinstance(items[0], str) else None


def distribution_fields(answer: Any) -> tuple[str, str, str, str]:
    """``(Id, ARN, DomainName, Status)`` of a ``Distribution`` CloudFront answered
    (untrusted: a wrong shape is an error naming it)."""
    dist = answer.get("Distribution") if isinstance(answer, dict) else None
    fields = tuple(dist.get(k) if isinstance(dist, dict) else None
                   for k in ("Id", "ARN", "DomainName", "Status"))  # fmt: skip
    ident, arn, name, status = fields
    if not (
        isinstance(ident, str) and re.fullmatch(r"[A-Z0-9]{1,64}", ident)
        and isinstance(arn, str) and arn.startswith("arn:")
        and isinstance(name, str) and re.fullmatch(r"[a-z0-9.-]+", name)
    ):  # fmt: skip
        raise GalleryError(
            "CloudFront answered a distribution without a usable Id, ARN and DomainName; "
            "run gallery publish again (if it persists, check the endpoint)"
        )
    return ident, arn, name, status if isinstance(status, str) else ""
