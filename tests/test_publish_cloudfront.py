"""``--cdn cloudfront``: the set-up, remembered and idempotent, against the real moto server,
asserting on what the client SENT (a recording proxy in front of moto: moto drops the OAC,
S3OriginConfig and function associations, and lacks publish_function and the policies, which
the proxy answers itself as AWS documents them)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cdnenv import (
    BUCKET,
    cdn_publisher,
    cloudfront,
    counts,
    find,
    operation,
    sent_distribution,
    statements,
)
from recording_proxy import CloudFrontStandIns, RecordingProxy
from s3env import MotoServer, s3_client

from gallery_builder.plugins.cloudfront_config import LOCKED, cdn_sids
from gallery_builder.publishing import publish

#: request counts measured by the tests, printed at the end of the module (-s) for the note
MEASURED: dict[str, dict[str, int]] = {}


@pytest.fixture
def proxy(s3_server: MotoServer) -> Iterator[RecordingProxy]:
    with RecordingProxy(s3_server.endpoint) as recording:
        yield recording


@pytest.fixture
def stand_ins(proxy: RecordingProxy) -> CloudFrontStandIns:
    return CloudFrontStandIns(proxy)


@pytest.fixture
def s3(s3_server: MotoServer) -> Any:
    return s3_client(s3_server.endpoint)


@pytest.fixture
def cf(s3_server: MotoServer) -> Any:
    import boto3

    return boto3.client("cloudfront", endpoint_url=s3_server.endpoint, region_name="us-east-1")


def live_hosting(s3: Any, prefix: str = "photos") -> dict[str, Any]:
    key = f"{prefix}/manifest.json" if prefix else "manifest.json"
    return json.loads(s3.get_object(Bucket=BUCKET, Key=key)["Body"].read())["hosting"]


def first_publish(site: Path, proxy: RecordingProxy, **options: Any) -> Any:
    return publish(site, cdn_publisher(proxy.url, **options), "photos")


def test_the_first_publish_sets_up_cloudfront_in_front_of_a_private_bucket(
    site: Path, proxy: RecordingProxy, stand_ins: CloudFrontStandIns, s3: Any
) -> None:
    result = first_publish(site, proxy)
    sent = proxy.requests
    MEASURED["first publish --cdn cloudfront"] = counts(sent)
    assert result.committed
    record = live_hosting(s3)["cdn"]
    # the OAC, then the distribution that uses it
    (oac_sent,) = operation(sent, "POST", "origin-access-control")
    oac = oac_sent.xml()
    assert (find(oac, "SigningProtocol"), find(oac, "SigningBehavior")) == ("sigv4", "always")
    config = sent_distribution(sent)
    origin = config.find("Origins/Items/Origin")
    assert find(origin, "DomainName") == f"{BUCKET}.s3.us-east-1.amazonaws.com"
    assert find(origin, "OriginPath") in (None, "")
    assert find(origin, "OriginAccessControlId") == record["oac_id"]
    s3_origin = origin.find("S3OriginConfig")
    assert s3_origin is not None and find(s3_origin, "OriginAccessIdentity") in (None, "")
    behaviour = config.find("DefaultCacheBehavior")
    assert find(behaviour, "ViewerProtocolPolicy") == "redirect-to-https"
    assert find(behaviour, "Compress") == "true"
    association = behaviour.find("FunctionAssociations/Items/FunctionAssociation")
    assert find(association, "EventType") == "viewer-request"
    assert find(association, "FunctionARN") == record["function_arn"]
    assert record["function_arn"].endswith(f":function/gallery-{BUCKET}")
    (cache_id,) = stand_ins.policies["cache-policy"]
    (headers_id,) = stand_ins.policies["response-headers-policy"]
    assert find(behaviour, "CachePolicyId") == cache_id == record["cache_policy_id"]
    assert find(behaviour, "ResponseHeadersPolicyId") == headers_id
    assert sorted(x.text for x in behaviour.findall("AllowedMethods/Items/Method")) == [
        "GET", "HEAD"]  # fmt: skip
    error = config.find("CustomErrorResponses/Items/CustomErrorResponse")
    assert (find(error, "ErrorCode"), find(error, "ResponsePagePath"),
            find(error, "ResponseCode")) == ("404", "/error.html", "404")  # fmt: skip
    assert find(config, "DefaultRootObject") == "index.html"
    assert find(config, "HttpVersion") == "http2and3"
    assert find(config, "IsIPV6Enabled") == "true"
    assert find(config, "PriceClass") == "PriceClass_100"
    assert config.find("Aliases/Items") is None
    tags = operation(sent, "POST", "distribution")[0].xml()
    assert find(tags, "Tags/Items/Tag/Key") == "gallery-builder-bucket"
    assert find(tags, "Tags/Items/Tag/Value") == BUCKET
    # the function was created, then published with its ETag
    (created,) = operation(sent, "POST", "function")
    assert find(created.xml(), "FunctionConfig/Runtime") == "cloudfront-js-2.0"
    assert stand_ins.published == [(f"gallery-{BUCKET}", record["function_etag"])]
    # the bucket: private, readable by this distribution only
    block = s3.get_public_access_block(Bucket=BUCKET)["PublicAccessBlockConfiguration"]
    assert block == LOCKED
    rules = s3.get_bucket_ownership_controls(Bucket=BUCKET)["OwnershipControls"]["Rules"]
    assert rules == [{"ObjectOwnership": "BucketOwnerEnforced"}]
    policy = statements(s3)
    get_sid, list_sid = cdn_sids("photos")
    arn = record["distribution_arn"]
    condition = {"AWS:SourceArn": arn}
    assert policy[get_sid]["Principal"] == {"Service": "cloudfront.amazonaws.com"}
    assert policy[get_sid]["Action"] == "s3:GetObject"
    assert policy[get_sid]["Resource"] == f"arn:aws:s3:::{BUCKET}/photos/*"
    assert policy[get_sid]["Condition"] == {"StringEquals": condition}
    assert policy[list_sid]["Action"] == "s3:ListBucket"
    assert policy[list_sid]["Resource"] == f"arn:aws:s3:::{BUCKET}"
    assert policy[list_sid]["Condition"] == {"StringEquals": condition,
                                             "StringLike": {"s3:prefix": "photos/*"}}  # fmt: skip
    root = policy["GalleryBuilderCloudFront-Root"]
    assert sorted(root["Resource"]) == sorted(
        f"arn:aws:s3:::{BUCKET}/{key}" for key in ("index.html", "error.html", "_root/*"))
    assert not any(s.get("Principal") == "*" for s in policy.values())
    # the record keeps the ids; a note says it is deploying
    assert record["distribution_id"] and record["domain_name"].endswith(".cloudfront.net")
    assert any("usually takes 5-15 minutes" in note for note in result.notes)


def test_the_policies_sent_honour_cache_control_and_carry_the_security_headers(
    site: Path, proxy: RecordingProxy, stand_ins: CloudFrontStandIns
) -> None:
    from gallery_builder.plugins.cloudfront_config import CONTENT_SECURITY_POLICY

    first_publish(site, proxy)
    (cache,) = operation(proxy.requests, "POST", "cache-policy")
    policy = cache.xml()
    assert (find(policy, "MinTTL"), find(policy, "DefaultTTL"), find(policy, "MaxTTL")) == (
        "0", "86400", "31536000")  # fmt: skip
    key = policy.find("ParametersInCacheKeyAndForwardedToOrigin")
    assert find(key, "EnableAcceptEncodingGzip") == find(key, "EnableAcceptEncodingBrotli") == (
        "true")  # fmt: skip
    assert find(key, "HeadersConfig/HeaderBehavior") == "none"
    assert find(key, "CookiesConfig/CookieBehavior") == "none"
    assert find(key, "QueryStringsConfig/QueryStringBehavior") == "none"
    (headers,) = operation(proxy.requests, "POST", "response-headers-policy")
    security = headers.xml().find("SecurityHeadersConfig")
    assert find(security, "StrictTransportSecurity/AccessControlMaxAgeSec") == "63072000"
    assert find(security, "ContentTypeOptions/Override") == "true"
    assert find(security, "FrameOptions/FrameOption") == "DENY"
    assert find(security, "ReferrerPolicy/ReferrerPolicy") == "strict-origin-when-cross-origin"
    csp = find(security, "ContentSecurityPolicy/ContentSecurityPolicy")
    assert csp == CONTENT_SECURITY_POLICY and "style-src 'self' 'unsafe-inline'" in csp


def test_a_no_op_publish_is_one_request_and_a_one_picture_change_none_to_cloudfront(
    site: Path, source: Path, proxy: RecordingProxy, stand_ins: CloudFrontStandIns
) -> None:
    import pictures

    from gallery_builder.testing import build_gallery

    first_publish(site, proxy)
    mark = proxy.mark()
    result = first_publish(site, proxy)
    again = proxy.since(mark)
    MEASURED["no-op publish"] = counts(again)
    assert not result.committed
    assert [str(r) for r in again] == [f"GET /{BUCKET}/photos/manifest.json -> 200"]
    pictures.jpeg(source / "new.jpg", taken="2024:03:01 10:00:00")
    build_gallery(source, site)
    mark = proxy.mark()
    result = first_publish(site, proxy)
    change = proxy.since(mark)
    MEASURED["one-picture change"] = counts(change)
    assert result.committed and any(p.startswith("new") for p in result.uploaded)
    assert cloudfront(change) == []
    assert not result.notes


@pytest.fixture(autouse=True, scope="module")
def _print_counts() -> Iterator[None]:
    yield
    for what, seen in MEASURED.items():
        print(f"\nrequests, {what}: {sum(seen.values())} ({seen})")
