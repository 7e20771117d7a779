"""What the CloudFront set-up sends, as pure builders: the Origin Access Control, the cache
and response-headers policies, the distribution's config, the bucket-policy statements, and
the comparison of a distribution's config read back with the one wanted (drift). No I/O
(plugins/cloudfront_setup.py makes the calls).

One distribution per bucket (notes/contract.md), shared by every gallery (prefix) in it: its
origin is the bucket's REST endpoint reached with OAC, OriginPath "" (CDN URLs are the
website URLs: ``/prefix/...``), its 404 page the bucket root's ``/error.html``.
"""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any

from gallery_builder.plugins.cloudfront_private import (
    gallery_behaviours,
    private_error_response,
)

from gallery_builder.errors import GalleryError
from gallery_builder.security_headers import (
    CONTENT_SECURITY_POLICY,
    FRAME_OPTIONS,
    HSTS_MAX_AGE,
    REFERRER_POLICY,
)

#: the values ``--cdn`` takes (None: not given)
CDN_CHOICES = ("none", "cloudfront")
#: the tag that finds a bucket's distribution again (contract.md)
BUCKET_TAG = "gallery-builder-bucket"
#: the managed policies used where the endpoint has no custom ones (moto): CachingOptimized
#: (MinTTL 1 s: a no-cache page may be a second old) and SecurityHeadersPolicy
MANAGED_CACHE_POLICY = "658327ea-f89d-4fab-a63d-7e88639e58f6"
MANAGED_HEADERS_POLICY = "67f7725c-6f97-4210-82d7-5512b31e9d03"
#: our own policies (account-wide, the same for every gallery)
CACHE_POLICY_NAME = "gallery-builder-origin-cache-control"
HEADERS_POLICY_NAME = "gallery-builder-security-headers"
#: the Sid of every statement the CDN set-up writes starts with this
CDN_SID = "GalleryBuilderCloudFront"
#: the statement that lets CloudFront read the bucket root's pages (shared by the galleries)
ROOT_SID = f"{CDN_SID}-Root"
#: the keys the root owns (helper ``root``): its pages and assets
ROOT_RESOURCES = ("index.html", "error.html", "private.html", "_root/*")
#: CloudFront's fixed hosted zone for alias records
CLOUDFRONT_ZONE = "Z2FDTNDATAQYW2"
_NAME_CHARS = re.compile(r"[^A-Za-z0-9_-]")


def resource_name(bucket: str) -> str:
    """The name of the bucket's OAC and function: ``gallery-BUCKET`` (dots become '-';
    CloudFront allows letters, digits, '-' and '_', 64 at most)."""
    name = "gallery-" + _NAME_CHARS.sub("-", bucket)
    if len(name) > 64:
        name = name[:55] + "-" + hashlib.sha256(bucket.encode()).hexdigest()[:8]
    return name


def caller_reference(bucket: str) -> str:
    """Deterministic: a second create for the same bucket is refused, never a twin."""
    return f"gallery-builder:{bucket}"


def origin_domain(bucket: str, region: str) -> str:
    """The bucket's REST endpoint in its own region."""
    return f"{bucket}.s3.{region}.amazonaws.com"


def oac_config(bucket: str) -> dict[str, Any]:
    return {
        "Name": resource_name(bucket),
        "Description": f"gallery-builder: CloudFront reads s3://{bucket} (signed, always)",
        "SigningProtocol": "sigv4",
        "SigningBehavior": "always",
        "OriginAccessControlOriginType": "s3",
    }


def cache_policy_config() -> dict[str, Any]:
    """Follows the origin's Cache-Control: MinTTL 0, so ``no-cache`` pages are revalidated
    every time and hashed files (``immutable``, a year) stay; nothing in the key."""
    return {
        "Name": CACHE_POLICY_NAME,
        "Comment": "gallery-builder: honour the origin's Cache-Control",
        "MinTTL": 0,
        "DefaultTTL": 86400,
        "MaxTTL": 31536000,
        "ParametersInCacheKeyAndForwardedToOrigin": {
            "EnableAcceptEncodingGzip": True,
            "EnableAcceptEncodingBrotli": True,
            "HeadersConfig": {"HeaderBehavior": "none"},
            "CookiesConfig": {"CookieBehavior": "none"},
            "QueryStringsConfig": {"QueryStringBehavior": "none"},
        },
    }


def headers_policy_config() -> dict[str, Any]:
    return {
        "Name": HEADERS_POLICY_NAME,
        "Comment": "gallery-builder: HSTS, nosniff, no framing, referrer, CSP",
        "SecurityHeadersConfig": {
            "StrictTransportSecurity": {
                "Override": True,
                "AccessControlMaxAgeSec": HSTS_MAX_AGE,
                "IncludeSubdomains": False,
                "Preload": False,
            },
            "ContentTypeOptions": {"Override": True},
            "FrameOptions": {"Override": True, "FrameOption": FRAME_OPTIONS},
            "ReferrerPolicy": {
                "Override": True,
                "ReferrerPolicy": REFERRER_POLICY,
            },
            "ContentSecurityPolicy": {
                "Override": True,
                "ContentSecurityPolicy": CONTENT_SECURITY_POLICY,
            },
        },
    }


def distribution_config(
    bucket: str,
    region: str,
    *,
    oac_id: str,
    function_arn: str,
    cache_policy_id: str,
    headers_policy_id: str,
    alias: str | None = None,
    certificate_arn: str | None = None,
) -> dict[str, Any]:
    """The bucket's distribution, as ``create_distribution`` takes it."""
    origin_id = f"s3-{bucket}"
    methods = {"Quantity": 2, "Items": ["HEAD", "GET"]}
    config: dict[str, Any] = {
        "CallerReference": caller_reference(bucket),
        "Comment": f"gallery-builder: s3://{bucket}",
        "Enabled": True,
        "DefaultRootObject": "index.html",
        "Origins": {
            "Quantity": 1,
            "Items": [
                {
                    "Id": origin_id,
                    "DomainName": origin_domain(bucket, region),
                    "OriginPath": "",
                    "S3OriginConfig": {"OriginAccessIdentity": ""},
                    "OriginAccessControlId": oac_id,
                }
            ],
        },
        "DefaultCacheBehavior": {
            "TargetOriginId": origin_id,
            "ViewerProtocolPolicy": "redirect-to-https",
            "AllowedMethods": {**methods, "CachedMethods": dict(methods)},
            "Compress": True,
            "CachePolicyId": cache_policy_id,
            "ResponseHeadersPolicyId": headers_policy_id,
            "FunctionAssociations": {
                "Quantity": 1,
                "Items": [{"FunctionARN": function_arn, "EventType": "viewer-request"}],
            },
        },
        "CustomErrorResponses": {
            "Quantity": 1,
            "Items": [
                {
                    "ErrorCode": 404,
                    "ResponsePagePath": "/error.html",
                    "ResponseCode": "404",
                    "ErrorCachingMinTTL": 10,
                }
            ],
        },
        "HttpVersion": "http2and3",
        "IsIPV6Enabled": True,
        "PriceClass": "PriceClass_100",
        "ViewerCertificate": {"CloudFrontDefaultCertificate": True},
    }
    if alias and certificate_arn:
        config["Aliases"] = {"Quantity": 1, "Items": [alias]}
        config["ViewerCertificate"] = {
            "ACMCertificateArn": certificate_arn,
            "SSLSupportMethod": "sni-only",
            "MinimumProtocolVersion": "TLSv1.2_2021",
        }
    return config


def fingerprint(
    bucket: str, prefix: str, domain: str | None, function_code: bytes, private: bool = False
) -> str:
    """Covers every setting that shapes the set-up: no request is needed to compute it
    (``private``: the gallery's two cache behaviours, their shape included)."""
    behaviours = gallery_behaviours(prefix, "KEYGROUP", origin_id="", cache_policy_id="",
                                    headers_policy_id="", function_arn="")  # fmt: skip
    settings = {
        "private": [behaviours, private_error_response()] if private else False,
        "cdn": "cloudfront",
        "bucket": bucket,
        "prefix": prefix,
        "domain": domain,
        "function": hashlib.sha256(function_code).hexdigest(),
        "cache_policy": cache_policy_config(),
        "headers_policy": headers_policy_config(),
        "oac": oac_config(bucket),
        "distribution": distribution_config(
            bucket,
            "REGION",
            oac_id="",
            function_arn="",
            cache_policy_id="",
            headers_policy_id="",
            alias=domain,
            certificate_arn="ACM" if domain else None,
        ),
        "statements": cloudfront_statements(bucket, prefix, "ARN"),
    }
    text = json.dumps(settings, sort_keys=True)
    return "cdn-" + hashlib.sha256(text.encode()).hexdigest()[:16]


# --- the bucket policy ------------------------------------------------------------------------


def _readable(prefix: str) -> str:
    readable = re.sub(r"[^A-Za-z0-9]", "", prefix.title())[:40]
    return f"{readable}-{hashlib.sha256(prefix.encode()).hexdigest()[:8]}"


def cdn_sids(prefix: str) -> tuple[str, str]:
    """The Sids of the gallery's own two statements (GetObject, ListBucket)."""
    tail = f"-{_readable(prefix)}" if prefix else ""
    return f"{CDN_SID}{tail}", f"{CDN_SID}List{tail}"


def cloudfront_statements(bucket: str, prefix: str, distribution_arn: str) -> list[dict[str, Any]]:
    """What lets the distribution (and nothing else) read the gallery: GetObject on
    ``bucket/prefix/*``, ListBucket for the prefix (a missing key is a 404, not a 403), and
    GetObject on the root's pages (``/error.html`` is the distribution's 404 page)."""
    principal = {"Service": "cloudfront.amazonaws.com"}
    condition = {"StringEquals": {"AWS:SourceArn": distribution_arn}}
    get_sid, list_sid = cdn_sids(prefix)
    objects = f"arn:aws:s3:::{bucket}/{prefix}/*" if prefix else f"arn:aws:s3:::{bucket}/*"
    listing: dict[str, Any] = {
        "Sid": list_sid,
        "Effect": "Allow",
        "Principal": principal,
        "Action": "s3:ListBucket",
        "Resource": f"arn:aws:s3:::{bucket}",
        "Condition": condition,
    }
    if prefix:
        listing["Condition"] = {**condition, "StringLike": {"s3:prefix": f"{prefix}/*"}}
    statements = [
        {
            "Sid": get_sid,
            "Effect": "Allow",
            "Principal": principal,
            "Action": "s3:GetObject",
            "Resource": objects,
            "Condition": condition,
        },
        listing,
    ]
    if prefix:
        statements.append(
            {
                "Sid": ROOT_SID,
                "Effect": "Allow",
                "Principal": principal,
                "Action": "s3:GetObject",
                "Resource": [f"arn:aws:s3:::{bucket}/{key}" for key in ROOT_RESOURCES],
                "Condition": condition,
            }
        )
    return statements


def policy_statements(policy_json: str | None) -> list[dict[str, Any]]:
    """The statements of a bucket policy (untrusted JSON: anything else is an error)."""
    if not policy_json:
        return []
    try:
        policy = json.loads(policy_json)
    except json.JSONDecodeError:
        raise GalleryError(
            "the bucket policy is not JSON; fix or delete it, then run gallery publish again"
        ) from None
    statements = policy.get("Statement", []) if isinstance(policy, dict) else None
    if isinstance(statements, dict):
        statements = [statements]
    if not isinstance(statements, list) or not all(isinstance(s, dict) for s in statements):
        raise GalleryError(
            "the bucket policy's Statement is not a list of objects; fix it, then run "
            "gallery publish again"
        )
    return statements


def merged_statements(
    existing: str | None, statements: list[dict[str, Any]], remove: tuple[str, ...] = ()
) -> dict[str, Any]:
    """``existing`` with ``statements`` in place of any of the same Sid, and without the
    Sids in ``remove``; every other statement kept."""
    policy = json.loads(existing) if existing else {"Version": "2012-10-17"}
    ours = {s["Sid"] for s in statements} | set(remove)
    kept = [s for s in policy_statements(existing) if str(s.get("Sid", "")) not in ours]
    return {**policy, "Statement": [*kept, *statements]}


def is_public(statement: dict[str, Any]) -> bool:
    """Whether a statement allows anyone (``Principal: "*"`` or ``{"AWS": "*"}``)."""
    principal = statement.get("Principal")
    if isinstance(principal, dict):
        principal = principal.get("AWS")
    if isinstance(principal, list):
        return "*" in principal
    return statement.get("Effect") == "Allow" and principal == "*"


#: Block Public Access, all four flags on: the bucket stays private
LOCKED = {
    "BlockPublicAcls": True,
    "IgnorePublicAcls": True,
    "BlockPublicPolicy": True,
    "RestrictPublicBuckets": True,
}
