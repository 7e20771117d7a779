"""``--cdn cloudfront``: the set-up, remembered and idempotent, against the real moto server,
asserting on what the client SENT (a recording proxy in front of moto: moto drops the OAC,
S3OriginConfig and function associations, and lacks publish_function and the policies, which
the proxy answers itself as AWS documents them)."""

from __future__ import annotations

import base64
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
from gallery_builder.plugins.cloudfront_config import LOCKED, cdn_sids
from recording_proxy import CloudFrontStandIns, RecordingProxy
from s3env import MotoServer, s3_client

from gallery_builder import hookimpl
from gallery_builder.errors import GalleryError, SettingError
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
        f"arn:aws:s3:::{BUCKET}/{key}" for key in ("index.html", "error.html", "_root/*")
    )
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


def test_a_second_gallery_in_the_bucket_reuses_the_distribution(
    site: Path, proxy: RecordingProxy, stand_ins: CloudFrontStandIns, s3: Any
) -> None:
    first_publish(site, proxy)
    first = live_hosting(s3)["cdn"]
    mark = proxy.mark()
    publish(site, cdn_publisher(proxy.url, target=f"s3://{BUCKET}/other"), "other")
    sent = proxy.since(mark)
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
    site: Path, proxy: RecordingProxy, stand_ins: CloudFrontStandIns, s3: Any, cf: Any
) -> None:
    first_publish(site, proxy)
    ident = live_hosting(s3)["cdn"]["distribution_id"]
    # drift: someone disabled IPv6 and removed the CloudFront statement
    found = cf.get_distribution_config(Id=ident)
    changed = {**found["DistributionConfig"], "IsIPV6Enabled": False}
    cf.update_distribution(Id=ident, IfMatch=found["ETag"], DistributionConfig=changed)
    s3.delete_bucket_policy(Bucket=BUCKET)
    mark = proxy.mark()
    result = first_publish(site, proxy)  # an ordinary publish trusts the record: one request
    assert len(proxy.since(mark)) == 1 and not result.committed
    mark = proxy.mark()
    result = publish(site, cdn_publisher(proxy.url), "photos", reconfigure=True)
    sent = proxy.since(mark)
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
    site: Path, proxy: RecordingProxy, stand_ins: CloudFrontStandIns
) -> None:
    first_publish(site, proxy)
    mark = proxy.mark()
    publish(site, cdn_publisher(proxy.url), "photos", reconfigure=True)
    sent = proxy.since(mark)
    # (moto's describe_function answers UNPUBLISHED for ever, so the function is published
    # again: the one write allowed)
    writes = [r for r in sent if r.method in ("PUT", "POST") and r.service == "cloudfront"]
    assert [r.path for r in writes] == [f"/2020-05-31/function/gallery-{BUCKET}/publish"]
    assert [r for r in sent if r.method == "PUT" and "policy" in r.query] == []


def _retag(site: Path, path: str, cache_control: str) -> None:
    from gallery_builder.manifest import dumps

    manifest = json.loads((site / "manifest.json").read_bytes())
    manifest["files"][path]["cache_control"] = cache_control
    (site / "manifest.json").write_bytes(dumps(manifest))


def test_a_retagged_original_is_invalidated_with_the_manifest_md5_as_caller_reference(
    site: Path, proxy: RecordingProxy, stand_ins: CloudFrontStandIns, s3: Any
) -> None:
    import hashlib

    first_publish(site, proxy)
    files = json.loads((site / "manifest.json").read_bytes())["files"]
    original = next(p for p, e in files.items() if p.endswith(".jpg") and "/" not in p)
    _retag(site, original, "no-cache, max-age=0")
    dry = publish(site, cdn_publisher(proxy.url), "photos", dry_run=True)
    assert dry.invalidations == [f"/photos/{original}"]
    mark = proxy.mark()
    result = first_publish(site, proxy)
    sent = proxy.since(mark)
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
    site: Path, source: Path, proxy: RecordingProxy, stand_ins: CloudFrontStandIns, s3: Any
) -> None:
    from gallery_builder.testing import build_gallery

    first_publish(site, proxy)
    ident = live_hosting(s3)["cdn"]["distribution_id"]
    (source / "Trip" / "Day" / "c.png").unlink()
    build_gallery(source, site)
    dry = publish(site, cdn_publisher(proxy.url, purge=True), "photos", dry_run=True)
    mark = proxy.mark()
    result = publish(site, cdn_publisher(proxy.url, purge=True), "photos")
    sent = proxy.since(mark)
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
    site: Path, source: Path, proxy: RecordingProxy, stand_ins: CloudFrontStandIns
) -> None:
    from gallery_builder.testing import build_gallery

    first_publish(site, proxy)
    (source / "Trip" / "Day" / "c.png").unlink()
    build_gallery(source, site)
    mark = proxy.mark()
    result = first_publish(site, proxy)
    assert result.deleted
    assert [r for r in proxy.since(mark) if "invalidation" in r.path] == []


@pytest.fixture
def held(s3_server: MotoServer) -> Iterator[Any]:
    """``held(seconds)``: moto's distributions stay InProgress that long after a change."""
    from cdnenv import hold_in_progress, release

    yield lambda seconds: hold_in_progress(s3_server.endpoint, seconds)
    release(s3_server.endpoint)


def test_a_gallery_moving_from_website_hosting_keeps_its_public_statement_until_deployed(
    site: Path, proxy: RecordingProxy, stand_ins: CloudFrontStandIns, s3: Any, held: Any
) -> None:
    import time

    from gallery_builder.plugins.s3_publisher import s3_publisher

    publish(site, s3_publisher(f"s3://{BUCKET}", endpoint_url=proxy.url), "photos")
    (public_sid,) = [sid for sid in statements(s3) if sid.startswith("GalleryBuilderPublicRead")]
    held(2)
    result = first_publish(site, proxy)
    policy = statements(s3)
    assert public_sid in policy and set(cdn_sids("photos")) <= set(policy)
    block = s3.get_public_access_block(Bucket=BUCKET)["PublicAccessBlockConfiguration"]
    assert block != LOCKED  # the website still serves the gallery
    assert any(public_sid in n and "--reconfigure" in n for n in result.notes)
    assert live_hosting(s3)["cdn"]["locked"] is False
    time.sleep(2.2)  # deployed now
    result = publish(site, cdn_publisher(proxy.url), "photos", reconfigure=True)
    policy = statements(s3)
    assert public_sid not in policy and set(cdn_sids("photos")) <= set(policy)
    block = s3.get_public_access_block(Bucket=BUCKET)["PublicAccessBlockConfiguration"]
    assert block == LOCKED
    assert live_hosting(s3)["cdn"]["locked"] is True
    assert any("is private now" in note for note in result.notes)


def test_wait_waits_for_the_deployment_then_locks_a_bucket_moving_from_website_hosting(
    site: Path,
    proxy: RecordingProxy,
    stand_ins: CloudFrontStandIns,
    s3: Any,
    held: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import time

    from gallery_builder.plugins.cloudfront_setup import WAIT_DELAY_ENV
    from gallery_builder.plugins.s3_publisher import s3_publisher

    publish(site, s3_publisher(f"s3://{BUCKET}", endpoint_url=proxy.url), "photos")
    monkeypatch.setenv(WAIT_DELAY_ENV, "0.5")
    held(1.5)
    start, mark = time.monotonic(), proxy.mark()
    result = first_publish(site, proxy, wait=True)
    waited = time.monotonic() - start
    ident = live_hosting(s3)["cdn"]["distribution_id"]
    polls = operation(proxy.since(mark), "GET", f"distribution/{ident}")
    assert waited >= 1.5 and len(polls) >= 2
    assert not any("deploying" in note for note in result.notes)
    assert not [sid for sid in statements(s3) if sid.startswith("GalleryBuilderPublicRead")]
    block = s3.get_public_access_block(Bucket=BUCKET)["PublicAccessBlockConfiguration"]
    assert block == LOCKED


def test_without_custom_policies_or_publish_function_the_managed_policies_are_used(
    site: Path, proxy: RecordingProxy, s3: Any
) -> None:
    """Against moto as it is (no stand-ins): 404 for the policies and publish_function."""
    from gallery_builder.plugins.cloudfront_config import (
        MANAGED_CACHE_POLICY,
        MANAGED_HEADERS_POLICY,
    )

    result = first_publish(site, proxy)
    assert result.committed
    behaviour = sent_distribution(proxy.requests).find("DefaultCacheBehavior")
    assert find(behaviour, "CachePolicyId") == MANAGED_CACHE_POLICY
    assert find(behaviour, "ResponseHeadersPolicyId") == MANAGED_HEADERS_POLICY
    arn = live_hosting(s3)["cdn"]["function_arn"]
    assert find(behaviour, "FunctionAssociations/Items/FunctionAssociation/FunctionARN") == arn
    notes = " | ".join(result.notes)
    assert "CachingOptimized" in notes and "SecurityHeadersPolicy" in notes
    assert "does not support publish_function" in notes
    assert operation(proxy.requests, "POST", f"function/gallery-{BUCKET}/publish")


def test_the_dry_run_says_what_the_set_up_would_create_and_sends_no_write(
    site: Path, proxy: RecordingProxy, stand_ins: CloudFrontStandIns
) -> None:
    result = publish(site, cdn_publisher(proxy.url), "photos", dry_run=True)
    plan = "\n".join(result.hosting_plan)
    assert "origin access control gallery-cdn-gallery: create" in plan
    assert "CloudFront Function gallery-cdn-gallery: create and publish" in plan
    assert "cache policy: create" in plan and "headers policy: create" in plan
    assert "distribution: create" in plan
    assert "all four Block Public Access flags on" in plan
    assert "bucket policy: merge GalleryBuilderCloudFront" in plan
    assert [r for r in proxy.requests if r.method not in ("GET", "HEAD")] == []
    assert result.invalidations == []


def test_the_url_is_the_distributions_https_host_and_the_id_a_line(
    site: Path, proxy: RecordingProxy, stand_ins: CloudFrontStandIns, s3: Any
) -> None:
    publisher = cdn_publisher(proxy.url)
    publish(site, publisher, "photos")
    record = live_hosting(s3)["cdn"]
    assert publisher.website_url() == f"https://{record['domain_name']}/"
    assert publisher.url("photos/a b.html") == f"https://{record['domain_name']}/photos/a%20b.html"
    assert publisher.hosting_lines() == [
        f"distribution: {record['distribution_id']} ({record['domain_name']})"]  # fmt: skip
    again = cdn_publisher(proxy.url)  # a no-op publish knows it from the live record
    mark = proxy.mark()
    publish(site, again, "photos")
    assert len(proxy.since(mark)) == 1
    assert again.website_url() == publisher.website_url()


def _issued_certificate(endpoint: str, domain: str) -> str:
    """A certificate for ``domain`` in moto's ACM (us-east-1), imported: ISSUED at once."""
    import datetime

    import boto3
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, domain)])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number()).not_valid_before(now)
        .not_valid_after(now + datetime.timedelta(days=90))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(domain)]), critical=False)
        .sign(key, hashes.SHA256())
    )  # fmt: skip
    acm = boto3.client("acm", endpoint_url=endpoint, region_name="us-east-1")
    return acm.import_certificate(
        Certificate=cert.public_bytes(serialization.Encoding.PEM),
        PrivateKey=key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ),
    )["CertificateArn"]


def test_a_domain_gives_the_distribution_its_alias_and_certificate(
    site: Path, proxy: RecordingProxy, stand_ins: CloudFrontStandIns, s3: Any, s3_server: Any
) -> None:
    arn = _issued_certificate(s3_server.endpoint, "photos.example.com")
    publisher = cdn_publisher(proxy.url, domain="photos.example.com")
    result = publish(site, publisher, "photos")
    MEASURED["first publish --cdn cloudfront --domain (certificate ISSUED)"] = counts(
        proxy.requests)  # fmt: skip
    assert result.committed
    config = sent_distribution(proxy.requests)
    assert [x.text for x in config.findall("Aliases/Items/CNAME")] == ["photos.example.com"]
    certificate = config.find("ViewerCertificate")
    assert find(certificate, "ACMCertificateArn") == arn
    assert find(certificate, "SSLSupportMethod") == "sni-only"
    assert find(certificate, "MinimumProtocolVersion") == "TLSv1.2_2021"
    assert live_hosting(s3)["cdn"]["certificate_arn"] == arn
    assert publisher.website_url() == "https://photos.example.com/"
    # one domain per distribution: another one later is a clear error
    with pytest.raises(GalleryError, match=r"already serves photos\.example\.com") as caught:
        publish(site, cdn_publisher(proxy.url, domain="other.example.com"), "photos")
    assert "\n" not in str(caught.value)


def test_a_domain_without_an_issued_certificate_leaves_nothing_half_made(
    site: Path, proxy: RecordingProxy, stand_ins: CloudFrontStandIns
) -> None:
    with pytest.raises(GalleryError, match="certificate"):
        publish(site, cdn_publisher(proxy.url, domain="photos.example.com"), "photos")
    # no write to S3 or CloudFront (ACM's calls are all POSTs: only its ListCertificates)
    writes = [
        str(r)
        for r in proxy.requests
        if r.method not in ("GET", "HEAD")
        and r.headers.get("x-amz-target") != "CertificateManager.ListCertificates"
    ]
    assert writes == []


@pytest.mark.parametrize(
    ("status", "code", "expected"),
    [
        (403, "AccessDenied", "needs cloudfront:CreateDistribution and cloudfront:TagResource"),
        (400, "TooManyDistributions", "delete an unused one, or ask AWS for a higher quota"),
        (409, "CNAMEAlreadyExists", "remove it there, or choose another --domain"),
        (400, "InvalidViewerCertificate", "must be in us-east-1, ISSUED, and cover the domain"),
    ],
)
def test_cloudfront_errors_are_one_line_that_says_what_to_do(
    site: Path,
    proxy: RecordingProxy,
    stand_ins: CloudFrontStandIns,
    s3: Any,
    status: int,
    code: str,
    expected: str,
) -> None:
    from botocore.exceptions import ClientError

    proxy.fail("POST", "/2020-05-31/distribution", status, code)
    with pytest.raises(GalleryError) as caught:
        first_publish(site, proxy)
    message = str(caught.value)
    assert expected in message and "\n" not in message
    assert not isinstance(caught.value.__cause__, ClientError)  # no traceback chain shown
    with pytest.raises(s3.exceptions.NoSuchKey):
        s3.get_object(Bucket=BUCKET, Key="photos/manifest.json")  # nothing went live


def test_the_factory_takes_cdn_none_or_cloudfront_only(s3_server: Any) -> None:
    from gallery_builder.plugins.cloudfront_publisher import CloudFrontPublisher
    from gallery_builder.plugins.s3_publisher import S3Publisher, s3_publisher

    with pytest.raises(SettingError, match="'fastly' is not one of: none, cloudfront"):
        s3_publisher(f"s3://{BUCKET}", cdn="fastly")
    with pytest.raises(SettingError, match=r"--domain photos\.example\.com needs --cdn"):
        s3_publisher(f"s3://{BUCKET}", domain="photos.example.com")
    plain = s3_publisher(f"s3://{BUCKET}", cdn="none")
    assert type(plain) is S3Publisher
    assert isinstance(s3_publisher(f"s3://{BUCKET}", cdn="cloudfront"), CloudFrontPublisher)


class _CdnScheme:
    """A plugin publishing ``cdntest://bucket/prefix`` through the proxy with the CDN on: the
    real CLI, before its --cdn option exists in this branch."""

    def __init__(self, endpoint: str, **options: Any) -> None:
        self.endpoint, self.options = endpoint, options

    @hookimpl
    def gallery_publishers(self) -> dict[str, Any]:
        def factory(target: str, **kw: Any) -> Any:
            return cdn_publisher(self.endpoint, "s3://" + target.split("://", 1)[1],
                                 **self.options)  # fmt: skip

        return {"cdntest": factory}


def test_the_cli_prints_the_https_url_the_distribution_and_the_invalidation_plan(
    site: Path, proxy: RecordingProxy, stand_ins: CloudFrontStandIns, s3: Any
) -> None:
    from gallery_builder.testing import run_cli

    target = f"cdntest://{BUCKET}/photos"
    result = run_cli(["publish", target, "--site", site], _CdnScheme(proxy.url))
    assert result.exit_code == 0, result.output
    record = live_hosting(s3)["cdn"]
    lines = result.output.splitlines()
    assert f"distribution: {record['distribution_id']} ({record['domain_name']})" in lines
    assert f"gallery: https://{record['domain_name']}/photos/" in lines
    files = json.loads((site / "manifest.json").read_bytes())["files"]
    original = next(p for p, e in files.items() if p.endswith(".jpg") and "/" not in p)
    _retag(site, original, "no-cache, max-age=0")
    result = run_cli(["publish", target, "--site", site, "--dry-run"], _CdnScheme(proxy.url))
    assert result.exit_code == 0, result.output
    assert f"invalidate: /photos/{original}" in result.output.splitlines()


def test_a_cloudfront_error_in_the_cli_is_one_line(
    site: Path, proxy: RecordingProxy, stand_ins: CloudFrontStandIns
) -> None:
    from gallery_builder.testing import run_cli

    proxy.fail("POST", "/2020-05-31/distribution", 403, "AccessDenied")
    result = run_cli(["publish", f"cdntest://{BUCKET}/photos", "--site", site],
                     _CdnScheme(proxy.url))  # fmt: skip
    assert result.exit_code == 1
    (line,) = result.output.strip().splitlines()
    assert line.startswith("Error: access denied to CloudFront CreateDistributionWithTags")


def test_a_bucket_another_gallery_serves_by_website_hosting_is_not_locked(
    site: Path, proxy: RecordingProxy, stand_ins: CloudFrontStandIns, s3: Any
) -> None:
    from gallery_builder.plugins.s3_publisher import s3_publisher

    publish(site, s3_publisher(f"s3://{BUCKET}/web", endpoint_url=proxy.url), "web")
    result = first_publish(site, proxy)
    block = s3.get_public_access_block(Bucket=BUCKET)["PublicAccessBlockConfiguration"]
    assert block != LOCKED  # the website gallery still needs its public statement
    assert any(s.startswith("GalleryBuilderPublicRead") for s in statements(s3))
    assert any("stays public" in note for note in result.notes)


def test_a_policy_of_ours_with_other_content_is_updated_with_its_etag(
    site: Path, proxy: RecordingProxy, stand_ins: CloudFrontStandIns
) -> None:
    import boto3
    from gallery_builder.plugins.cloudfront_config import cache_policy_config

    client = boto3.client("cloudfront", endpoint_url=proxy.url, region_name="us-east-1")
    old = client.create_cache_policy(CachePolicyConfig={**cache_policy_config(), "MinTTL": 5})
    ident, etag = old["CachePolicy"]["Id"], old["ETag"]
    mark = proxy.mark()
    first_publish(site, proxy)
    sent = proxy.since(mark)
    assert operation(sent, "POST", "cache-policy") == []
    (update,) = operation(sent, "PUT", f"cache-policy/{ident}")
    assert update.headers["if-match"] == etag and find(update.xml(), "MinTTL") == "0"
    behaviour = sent_distribution(sent).find("DefaultCacheBehavior")
    assert find(behaviour, "CachePolicyId") == ident


def test_a_function_with_older_code_is_updated_then_published_with_the_new_etag(
    site: Path, proxy: RecordingProxy, stand_ins: CloudFrontStandIns, cf: Any
) -> None:
    from gallery_builder.plugins.cloudfront_publisher import function_code

    name = f"gallery-{BUCKET}"
    old = b"function handler(e) { return e.request; }"
    config = {"Comment": "old", "Runtime": "cloudfront-js-2.0"}
    cf.create_function(Name=name, FunctionCode=old, FunctionConfig=config)
    mark = proxy.mark()
    first_publish(site, proxy)
    sent = proxy.since(mark)
    assert operation(sent, "POST", "function") == []
    (update,) = operation(sent, "PUT", f"function/{name}")
    assert update.headers["if-match"] == cf.describe_function(Name=name)["ETag"]
    code = find(update.xml(), "FunctionCode")
    assert code is not None and base64.b64decode(code) == function_code()
    (published,) = operation(sent, "POST", f"function/{name}/publish")
    assert published.headers["if-match"] == stand_ins.updated_etags[0]  # the update's ETag


def test_a_refusal_while_waiting_is_an_error_naming_the_permission_not_a_timeout(
    site: Path, proxy: RecordingProxy, stand_ins: CloudFrontStandIns, s3: Any
) -> None:
    proxy.fail("GET", "/2020-05-31/distribution/[A-Z0-9]+", 403, "AccessDenied")
    with pytest.raises(GalleryError, match="needs cloudfront:GetDistribution"):
        first_publish(site, proxy, wait=True)
    with pytest.raises(s3.exceptions.NoSuchKey):
        s3.get_object(Bucket=BUCKET, Key="photos/manifest.json")


def test_an_untagged_distribution_with_our_caller_reference_is_found_and_tagged(
    site: Path, proxy: RecordingProxy, stand_ins: CloudFrontStandIns, s3: Any, cf: Any
) -> None:
    from gallery_builder.plugins.cloudfront_config import distribution_config

    config = distribution_config(BUCKET, "us-east-1", oac_id="x", function_arn="arn:f",
                                 cache_policy_id="c", headers_policy_id="h")  # fmt: skip
    made = cf.create_distribution(DistributionConfig=config)["Distribution"]
    first_publish(site, proxy)
    assert live_hosting(s3)["cdn"]["distribution_id"] == made["Id"]
    tags = cf.list_tags_for_resource(Resource=made["ARN"])["Tags"]["Items"]
    assert {"Key": "gallery-builder-bucket", "Value": BUCKET} in tags
    assert len(cf.list_distributions()["DistributionList"]["Items"]) == 1


def test_the_origin_is_in_the_buckets_own_region_not_the_clients(
    site: Path, proxy: RecordingProxy, stand_ins: CloudFrontStandIns, s3_server: Any
) -> None:
    s3_client(s3_server.endpoint, "eu-west-3").create_bucket(
        Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": "eu-west-3"})  # fmt: skip
    first_publish(site, proxy)  # the client's region is us-east-1
    origin = sent_distribution(proxy.requests).find("Origins/Items/Origin")
    assert find(origin, "DomainName") == f"{BUCKET}.s3.eu-west-3.amazonaws.com"


def test_an_answer_of_the_wrong_shape_is_a_clear_error(
    site: Path, proxy: RecordingProxy, stand_ins: CloudFrontStandIns
) -> None:
    body = b'<?xml version="1.0"?><OriginAccessControl><Id></Id></OriginAccessControl>'
    proxy.answer("POST", "/2020-05-31/origin-access-control",
                 lambda r, m: (201, {"Content-Type": "text/xml"}, body))  # fmt: skip
    with pytest.raises(GalleryError, match="CloudFront answered without a usable OAC Id"):
        first_publish(site, proxy)


def test_the_clients_share_the_endpoint_and_acm_is_always_us_east_1(s3_server: Any) -> None:
    publisher = s3_publisher_for(s3_server.endpoint, region="eu-west-3")
    clients = publisher.cdn.clients
    assert "cloudfront" not in vars(clients)  # made on first use only
    assert clients.acm.meta.region_name == "us-east-1"
    assert clients.cloudfront.meta.endpoint_url == s3_server.endpoint
    assert clients.route53.meta.endpoint_url == s3_server.endpoint
    assert clients.cloudfront.meta.config.retries == publisher.client.meta.config.retries


def s3_publisher_for(endpoint: str, **options: Any) -> Any:
    from gallery_builder.plugins.s3_publisher import s3_publisher

    return s3_publisher(f"s3://{BUCKET}", endpoint_url=endpoint, cdn="cloudfront", **options)
