"""``--cdn cloudfront``: the set-up, remembered and idempotent, against the real moto server,
asserting on what the client SENT (a recording cdn_proxy in front of moto: moto drops the OAC,
S3OriginConfig and function associations, and lacks publish_function and the policies, which
the cdn_proxy answers itself as AWS documents them): the first publish, request counts, a second
gallery, --reconfigure, invalidation, moving from website hosting, --wait, the dry run."""

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
    first_publish,
    live_hosting,
    operation,
    public_access_block,
    retag,
    sent_distribution,
    statements,
)
from gallery_builder.plugins.cloudfront_config import LOCKED, cdn_sids
from recording_proxy import CloudFrontStandIns, RecordingProxy

from gallery_builder.publishing import publish

#: request counts measured by the tests, printed at the end of the module (-s) for the note
MEASURED: dict[str, dict[str, int]] = {}


def test_the_first_publish_sets_up_cloudfront_in_front_of_a_private_bucket(
    site: Path, cdn_proxy: RecordingProxy, stand_ins: CloudFrontStandIns, s3: Any
) -> None:
    result = first_publish(site, cdn_proxy)
    sent = cdn_proxy.requests
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
    block = public_access_block(s3)
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
        f"arn:aws:s3:::{BUCKET}/{key}"
        for key in ("index.html", "error.html", "private.html", "_root/*")
    )
    assert not any(s.get("Principal") == "*" for s in policy.values())
    # the record keeps the ids; a note says it is deploying
    assert record["distribution_id"] and record["domain_name"].endswith(".cloudfront.net")
    assert any("usually takes 5-15 minutes" in note for note in result.notes)


def test_the_policies_sent_honour_cache_control_and_carry_the_security_headers(
    site: Path, cdn_proxy: RecordingProxy, stand_ins: CloudFrontStandIns
) -> None:
    from gallery_builder.plugins.cloudfront_config import CONTENT_SECURITY_POLICY

    first_publish(site, cdn_proxy)
    (cache,) = operation(cdn_proxy.requests, "POST", "cache-policy")
    policy = cache.xml()
    assert (find(policy, "MinTTL"), find(policy, "DefaultTTL"), find(policy, "MaxTTL")) == (
        "0", "86400", "31536000")  # fmt: skip
    key = policy.find("ParametersInCacheKeyAndForwardedToOrigin")
    assert find(key, "EnableAcceptEncodingGzip") == find(key, "EnableAcceptEncodingBrotli") == (
        "true")  # fmt: skip
    assert find(key, "HeadersConfig/HeaderBehavior") == "none"
    assert find(key, "CookiesConfig/CookieBehavior") == "none"
    assert find(key, "QueryStringsConfig/QueryStringBehavior") == "none"
    (headers,) = operation(cdn_proxy.requests, "POST", "response-headers-policy")
    security = headers.xml().find("SecurityHeadersConfig")
    assert find(security, "StrictTransportSecurity/AccessControlMaxAgeSec") == "63072000"
    assert find(security, "ContentTypeOptions/Override") == "true"
    assert find(security, "FrameOptions/FrameOption") == "DENY"
    assert find(security, "ReferrerPolicy/ReferrerPolicy") == "strict-origin-when-cross-origin"
    csp = find(security, "ContentSecurityPolicy/ContentSecurityPolicy")
    assert csp == CONTENT_SECURITY_POLICY and "style-src 'self' 'unsafe-inline'" in csp


def test_a_no_op_publish_is_one_request_and_a_one_picture_change_none_to_cloudfront(
    site: Path, source: Path, cdn_proxy: RecordingProxy, stand_ins: CloudFrontStandIns
) -> None:
    import pictures

    from gallery_builder.testing import build_gallery

    first_publish(site, cdn_proxy)
    mark = cdn_proxy.mark()
    result = first_publish(site, cdn_proxy)
    again = cdn_proxy.since(mark)
    MEASURED["no-op publish"] = counts(again)
    assert not result.committed
    assert [str(r) for r in again] == [f"GET /{BUCKET}/photos/manifest.json -> 200"]
    pictures.jpeg(source / "new.jpg", taken="2024:03:01 10:00:00")
    build_gallery(source, site)
    mark = cdn_proxy.mark()
    result = first_publish(site, cdn_proxy)
    change = cdn_proxy.since(mark)
    MEASURED["one-picture change"] = counts(change)
    assert result.committed and any(p.startswith("new") for p in result.uploaded)
    assert cloudfront(change) == []
    assert not result.notes


def test_a_second_gallery_in_the_bucket_reuses_the_distribution(
    site: Path, cdn_proxy: RecordingProxy, stand_ins: CloudFrontStandIns, s3: Any
) -> None:
    first_publish(site, cdn_proxy)
    first = live_hosting(s3)["cdn"]
    mark = cdn_proxy.mark()
    publish(site, cdn_publisher(cdn_proxy.url, target=f"s3://{BUCKET}/other"), "other")
    sent = cdn_proxy.since(mark)
    MEASURED["second gallery in the bucket"] = counts(sent)
    assert operation(sent, "POST", "distribution") == []  # found by its tag, not made again
    assert operation(sent, "POST", "origin-access-control") == []
    assert operation(sent, "POST", "function") == []
    assert operation(sent, "POST", "cache-policy") == []
    second = live_hosting(s3, "other")["cdn"]
    assert second["distribution_id"] == first["distribution_id"]
    assert second["oac_id"] == first["oac_id"]
    policy = statements(s3)
    assert {*cdn_sids("photos"), *cdn_sids("other")} <= set(policy)
    assert policy[cdn_sids("other")[0]]["Resource"] == f"arn:aws:s3:::{BUCKET}/other/*"


def test_reconfigure_repairs_drift_in_the_distribution_and_the_bucket_policy(
    site: Path, cdn_proxy: RecordingProxy, stand_ins: CloudFrontStandIns, s3: Any, cf: Any
) -> None:
    first_publish(site, cdn_proxy)
    ident = live_hosting(s3)["cdn"]["distribution_id"]
    # drift: someone disabled IPv6 and removed the CloudFront statement
    found = cf.get_distribution_config(Id=ident)
    changed = {**found["DistributionConfig"], "IsIPV6Enabled": False}
    cf.update_distribution(Id=ident, IfMatch=found["ETag"], DistributionConfig=changed)
    s3.delete_bucket_policy(Bucket=BUCKET)
    mark = cdn_proxy.mark()
    result = first_publish(site, cdn_proxy)  # an ordinary publish trusts the record: one request
    assert len(cdn_proxy.since(mark)) == 1 and not result.committed
    mark = cdn_proxy.mark()
    result = publish(site, cdn_publisher(cdn_proxy.url), "photos", reconfigure=True)
    sent = cdn_proxy.since(mark)
    MEASURED["--reconfigure repairing drift"] = counts(sent)
    (update,) = [r for r in sent if r.method == "PUT" and r.path.endswith(f"/{ident}/config")]
    assert update.headers["if-match"] == found["ETag"]
    config = update.xml()
    assert find(config, "IsIPV6Enabled") == "true"
    assert find(config, "CallerReference") == found["DistributionConfig"]["CallerReference"]
    # what moto drops on read-back is sent again, whole
    assert find(config, "Origins/Items/Origin/OriginAccessControlId")
    assert find(config, "DefaultCacheBehavior/FunctionAssociations/Quantity") == "1"
    assert cf.get_distribution_config(Id=ident)["DistributionConfig"]["IsIPV6Enabled"] is True
    assert set(cdn_sids("photos")) <= set(statements(s3))
    assert any("IsIPV6Enabled" in note for note in result.notes)
    assert result.uploaded == []


def test_reconfigure_without_drift_sends_no_distribution_update(
    site: Path, cdn_proxy: RecordingProxy, stand_ins: CloudFrontStandIns
) -> None:
    first_publish(site, cdn_proxy)
    mark = cdn_proxy.mark()
    publish(site, cdn_publisher(cdn_proxy.url), "photos", reconfigure=True)
    sent = cdn_proxy.since(mark)
    # (moto's describe_function answers UNPUBLISHED for ever, so the function is published
    # again: the one write allowed)
    writes = [r for r in sent if r.method in ("PUT", "POST") and r.service == "cloudfront"]
    assert [r.path for r in writes] == [f"/2020-05-31/function/gallery-{BUCKET}/publish"]
    assert [r for r in sent if r.method == "PUT" and "policy" in r.query] == []


def test_a_retagged_original_is_invalidated_with_the_manifest_md5_as_caller_reference(
    site: Path, cdn_proxy: RecordingProxy, stand_ins: CloudFrontStandIns, s3: Any
) -> None:
    import hashlib

    first_publish(site, cdn_proxy)
    files = json.loads((site / "manifest.json").read_bytes())["files"]
    original = next(p for p, e in files.items() if p.endswith(".jpg") and "/" not in p)
    retag(site, original, "no-cache, max-age=0")
    dry = publish(site, cdn_publisher(cdn_proxy.url), "photos", dry_run=True)
    assert dry.invalidations == [f"/photos/{original}"]
    mark = cdn_proxy.mark()
    result = first_publish(site, cdn_proxy)
    sent = cdn_proxy.since(mark)
    MEASURED["retagged original"] = counts(sent)
    ident = live_hosting(s3)["cdn"]["distribution_id"]
    (request,) = operation(sent, "POST", f"distribution/{ident}/invalidation")
    batch = request.xml()
    assert [x.text for x in batch.findall("Paths/Items/Path")] == [f"/photos/{original}"]
    assert find(batch, "Paths/Quantity") == "1"
    live = s3.get_object(Bucket=BUCKET, Key="photos/manifest.json")["Body"].read()
    assert find(batch, "CallerReference") == hashlib.md5(live).hexdigest()
    assert any("invalidated 1 path" in note for note in result.notes)


def test_purge_invalidates_deleted_pages_in_both_forms_and_a_normal_publish_nothing(
    site: Path, source: Path, cdn_proxy: RecordingProxy, stand_ins: CloudFrontStandIns, s3: Any
) -> None:
    from gallery_builder.testing import build_gallery

    first_publish(site, cdn_proxy)
    ident = live_hosting(s3)["cdn"]["distribution_id"]
    (source / "Trip" / "Day" / "c.png").unlink()
    build_gallery(source, site)
    dry = publish(site, cdn_publisher(cdn_proxy.url, purge=True), "photos", dry_run=True)
    mark = cdn_proxy.mark()
    result = publish(site, cdn_publisher(cdn_proxy.url, purge=True), "photos")
    sent = cdn_proxy.since(mark)
    MEASURED["--purge after deleting an album"] = counts(sent)
    pages = [p for p in result.deleted if p.endswith("index.html")]
    assert pages, result.deleted
    (request,) = operation(sent, "POST", f"distribution/{ident}/invalidation")
    paths = [x.text for x in request.xml().findall("Paths/Items/Path")]
    assert paths == dry.invalidations
    if len(paths) == 1 and paths[0] == "/photos/*":  # collapsed: more than MAX_PATHS
        assert 2 * len(pages) + len(result.deleted) - len(pages) > 20
    else:
        for page in pages:
            assert f"/photos/{page}" in paths
            assert f"/photos/{page.removesuffix('index.html')}" in paths


def test_without_purge_deleted_files_are_not_invalidated(
    site: Path, source: Path, cdn_proxy: RecordingProxy, stand_ins: CloudFrontStandIns
) -> None:
    from gallery_builder.testing import build_gallery

    first_publish(site, cdn_proxy)
    (source / "Trip" / "Day" / "c.png").unlink()
    build_gallery(source, site)
    mark = cdn_proxy.mark()
    result = first_publish(site, cdn_proxy)
    assert result.deleted
    assert [r for r in cdn_proxy.since(mark) if "invalidation" in r.path] == []


def test_a_gallery_moving_from_website_hosting_keeps_its_public_statement_until_deployed(
    site: Path, cdn_proxy: RecordingProxy, stand_ins: CloudFrontStandIns, s3: Any, held: Any
) -> None:
    import time

    from gallery_builder.plugins.s3 import s3_publisher

    publish(site, s3_publisher(f"s3://{BUCKET}", endpoint_url=cdn_proxy.url), "photos")
    (public_sid,) = [sid for sid in statements(s3) if sid.startswith("GalleryBuilderPublicRead")]
    held(2)
    result = first_publish(site, cdn_proxy)
    policy = statements(s3)
    assert public_sid in policy and set(cdn_sids("photos")) <= set(policy)
    block = public_access_block(s3)
    assert block != LOCKED  # the website still serves the gallery
    assert any(public_sid in n and "--reconfigure" in n for n in result.notes)
    assert live_hosting(s3)["cdn"]["locked"] is False
    time.sleep(2.2)  # deployed now
    result = publish(site, cdn_publisher(cdn_proxy.url), "photos", reconfigure=True)
    policy = statements(s3)
    assert public_sid not in policy and set(cdn_sids("photos")) <= set(policy)
    block = public_access_block(s3)
    assert block == LOCKED
    assert live_hosting(s3)["cdn"]["locked"] is True
    assert any("is private now" in note for note in result.notes)


def test_wait_waits_for_the_deployment_then_locks_a_bucket_moving_from_website_hosting(
    site: Path,
    cdn_proxy: RecordingProxy,
    stand_ins: CloudFrontStandIns,
    s3: Any,
    held: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import time

    from gallery_builder.plugins.cloudfront_setup import WAIT_DELAY_ENV
    from gallery_builder.plugins.s3 import s3_publisher

    publish(site, s3_publisher(f"s3://{BUCKET}", endpoint_url=cdn_proxy.url), "photos")
    monkeypatch.setenv(WAIT_DELAY_ENV, "0.5")
    held(1.5)
    start, mark = time.monotonic(), cdn_proxy.mark()
    result = first_publish(site, cdn_proxy, wait=True)
    waited = time.monotonic() - start
    ident = live_hosting(s3)["cdn"]["distribution_id"]
    polls = operation(cdn_proxy.since(mark), "GET", f"distribution/{ident}")
    assert waited >= 1.5 and len(polls) >= 2
    assert not any("deploying" in note for note in result.notes)
    assert not [sid for sid in statements(s3) if sid.startswith("GalleryBuilderPublicRead")]
    block = public_access_block(s3)
    assert block == LOCKED


def test_without_custom_policies_or_publish_function_the_managed_policies_are_used(
    site: Path, cdn_proxy: RecordingProxy, s3: Any
) -> None:
    """Against moto as it is (no stand-ins): 404 for the policies and publish_function."""
    from gallery_builder.plugins.cloudfront_config import (
        MANAGED_CACHE_POLICY,
        MANAGED_HEADERS_POLICY,
    )

    result = first_publish(site, cdn_proxy)
    assert result.committed
    behaviour = sent_distribution(cdn_proxy.requests).find("DefaultCacheBehavior")
    assert find(behaviour, "CachePolicyId") == MANAGED_CACHE_POLICY
    assert find(behaviour, "ResponseHeadersPolicyId") == MANAGED_HEADERS_POLICY
    arn = live_hosting(s3)["cdn"]["function_arn"]
    assert find(behaviour, "FunctionAssociations/Items/FunctionAssociation/FunctionARN") == arn
    notes = " | ".join(result.notes)
    assert "CachingOptimized" in notes and "SecurityHeadersPolicy" in notes
    assert "does not support publish_function" in notes
    assert operation(cdn_proxy.requests, "POST", f"function/gallery-{BUCKET}/publish")


def test_the_dry_run_says_what_the_set_up_would_create_and_sends_no_write(
    site: Path, cdn_proxy: RecordingProxy, stand_ins: CloudFrontStandIns
) -> None:
    result = publish(site, cdn_publisher(cdn_proxy.url), "photos", dry_run=True)
    plan = "\n".join(result.hosting_plan)
    assert "origin access control gallery-cdn-gallery: create" in plan
    assert "CloudFront Function gallery-cdn-gallery: create and publish" in plan
    assert "cache policy: create" in plan and "headers policy: create" in plan
    assert "distribution: create" in plan
    assert "all four Block Public Access flags on" in plan
    assert "bucket policy: merge GalleryBuilderCloudFront" in plan
    assert [r for r in cdn_proxy.requests if r.method not in ("GET", "HEAD")] == []
    assert result.invalidations == []


def test_the_url_is_the_distributions_https_host_and_the_id_a_line(
    site: Path, cdn_proxy: RecordingProxy, stand_ins: CloudFrontStandIns, s3: Any
) -> None:
    publisher = cdn_publisher(cdn_proxy.url)
    publish(site, publisher, "photos")
    record = live_hosting(s3)["cdn"]
    assert publisher.website_url() == f"https://{record['domain_name']}/"
    assert publisher.url("photos/a b.html") == f"https://{record['domain_name']}/photos/a%20b.html"
    assert publisher.hosting_lines() == [
        f"distribution: {record['distribution_id']} ({record['domain_name']})"]  # fmt: skip
    again = cdn_publisher(cdn_proxy.url)  # a no-op publish knows it from the live record
    mark = cdn_proxy.mark()
    publish(site, again, "photos")
    assert len(cdn_proxy.since(mark)) == 1
    assert again.website_url() == publisher.website_url()


@pytest.fixture(autouse=True, scope="module")
def _print_counts() -> Iterator[None]:
    yield
    for what, seen in MEASURED.items():
        print(f"\nrequests, {what}: {sum(seen.values())} ({seen})")


def test_a_gallery_at_the_bucket_root_is_readable_whole_and_owns_the_error_page(
    site: Path, cdn_proxy: RecordingProxy, stand_ins: CloudFrontStandIns, s3: Any
) -> None:
    result = publish(site, cdn_publisher(cdn_proxy.url), "")
    assert result.committed
    policy = statements(s3)
    get_sid, list_sid = cdn_sids("")
    assert policy[get_sid]["Resource"] == f"arn:aws:s3:::{BUCKET}/*"
    assert "StringLike" not in policy[list_sid]["Condition"]
    assert "GalleryBuilderCloudFront-Root" not in policy  # its own keys: covered above
    error = sent_distribution(cdn_proxy.requests).find(
        "CustomErrorResponses/Items/CustomErrorResponse")  # fmt: skip
    assert find(error, "ResponsePagePath") == "/error.html"
    assert "error.html" in json.loads((site / "manifest.json").read_bytes())["files"]
