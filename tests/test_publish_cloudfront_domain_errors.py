"""``--cdn cloudfront``, continued: --domain, errors as one line, answers of the wrong shape,
the factory and its clients, the CLI's lines, updates of an older function or policy (through
the recording cdn_proxy in front of moto, as in test_publish_cloudfront.py)."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest
from cdnenv import (
    BUCKET,
    aws,
    cdn_publisher,
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
from gallery_builder.plugins.cloudfront_config import LOCKED
from recording_proxy import CloudFrontStandIns, RecordingProxy, error_answer
from s3env import s3_client

from gallery_builder.errors import GalleryError, SettingError
from gallery_builder.publishing import publish


def _issued_certificate(endpoint: str, domain: str) -> str:
    """A certificate for ``domain`` in moto's ACM (us-east-1), imported: ISSUED at once."""
    import datetime

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
    acm = aws("acm", endpoint)
    return acm.import_certificate(
        Certificate=cert.public_bytes(serialization.Encoding.PEM),
        PrivateKey=key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ),
    )["CertificateArn"]


def test_a_domain_gives_the_distribution_its_alias_and_certificate(
    site: Path, cdn_proxy: RecordingProxy, stand_ins: CloudFrontStandIns, s3: Any, s3_server: Any
) -> None:
    arn = _issued_certificate(s3_server.endpoint, "photos.example.com")
    publisher = cdn_publisher(cdn_proxy.url, domain="photos.example.com")
    result = publish(site, publisher, "photos")
    print("\nrequests, first publish --cdn cloudfront --domain:", counts(cdn_proxy.requests))
    assert result.committed
    config = sent_distribution(cdn_proxy.requests)
    assert [x.text for x in config.findall("Aliases/Items/CNAME")] == ["photos.example.com"]
    certificate = config.find("ViewerCertificate")
    assert find(certificate, "ACMCertificateArn") == arn
    assert find(certificate, "SSLSupportMethod") == "sni-only"
    assert find(certificate, "MinimumProtocolVersion") == "TLSv1.2_2021"
    assert live_hosting(s3)["cdn"]["certificate_arn"] == arn
    assert publisher.website_url() == "https://photos.example.com/"
    # one domain per distribution: another one later is a clear error
    with pytest.raises(GalleryError, match=r"already serves photos\.example\.com") as caught:
        publish(site, cdn_publisher(cdn_proxy.url, domain="other.example.com"), "photos")
    assert "\n" not in str(caught.value)


def test_a_domain_without_an_issued_certificate_leaves_nothing_half_made(
    site: Path, cdn_proxy: RecordingProxy, stand_ins: CloudFrontStandIns, s3: Any
) -> None:
    from gallery_builder.plugins.domain_setup import DomainPending

    with pytest.raises(DomainPending) as caught:
        publish(site, cdn_publisher(cdn_proxy.url, domain="photos.example.com"), "photos")
    assert caught.value.records  # the validation records to add
    # the certificate was requested (ACM), but nothing was written to S3 or CloudFront (the
    # bucket root's error.html, written before the set-up, waits for the certificate too)
    writes = [str(r) for r in cdn_proxy.requests
              if r.method not in ("GET", "HEAD") and r.service in ("s3", "cloudfront")]  # fmt: skip
    assert writes == []
    requested = "CertificateManager.RequestCertificate"
    assert [r for r in cdn_proxy.requests if r.headers.get("x-amz-target") == requested]


def test_a_domain_in_route_53_gets_its_alias_records_pointing_at_the_distribution(
    site: Path, cdn_proxy: RecordingProxy, stand_ins: CloudFrontStandIns, s3: Any, s3_server: Any
) -> None:

    route53 = aws("route53", s3_server.endpoint)
    zone = route53.create_hosted_zone(Name="example.com", CallerReference="z")["HostedZone"]
    _issued_certificate(s3_server.endpoint, "photos.example.com")
    result = publish(site, cdn_publisher(cdn_proxy.url, domain="photos.example.com"), "photos")
    print("\nrequests, first publish --cdn cloudfront --domain (zone in Route 53, certificate "
          "issued):", counts(cdn_proxy.requests))  # fmt: skip
    name = live_hosting(s3)["cdn"]["domain_name"]
    records = route53.list_resource_record_sets(HostedZoneId=zone["Id"])["ResourceRecordSets"]
    aliases = {r["Type"]: r["AliasTarget"]["DNSName"].rstrip(".") for r in records
               if r["Name"].rstrip(".") == "photos.example.com" and "AliasTarget" in r}  # fmt: skip
    assert aliases == {"A": name, "AAAA": name}
    assert any("alias records written" in note for note in result.notes)


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
    cdn_proxy: RecordingProxy,
    stand_ins: CloudFrontStandIns,
    s3: Any,
    status: int,
    code: str,
    expected: str,
) -> None:
    from botocore.exceptions import ClientError

    cdn_proxy.fail("POST", "/2020-05-31/distribution", status, code)
    with pytest.raises(GalleryError) as caught:
        first_publish(site, cdn_proxy)
    message = str(caught.value)
    assert expected in message and "\n" not in message
    assert not isinstance(caught.value.__cause__, ClientError)  # no traceback chain shown
    with pytest.raises(s3.exceptions.NoSuchKey):
        s3.get_object(Bucket=BUCKET, Key="photos/manifest.json")  # nothing went live


def test_the_factory_takes_cdn_none_or_cloudfront_only(s3_server: Any) -> None:
    from gallery_builder.plugins.cloudfront_publisher import CloudFrontPublisher
    from gallery_builder.plugins.s3 import s3_publisher
    from gallery_builder.plugins.s3.publisher import S3Publisher

    with pytest.raises(SettingError, match="'fastly' is not one of: none, cloudfront"):
        s3_publisher(f"s3://{BUCKET}", cdn="fastly")
    with pytest.raises(SettingError, match=r"--domain photos\.example\.com needs --cdn"):
        s3_publisher(f"s3://{BUCKET}", domain="photos.example.com")
    plain = s3_publisher(f"s3://{BUCKET}", cdn="none")
    assert type(plain) is S3Publisher
    assert isinstance(s3_publisher(f"s3://{BUCKET}", cdn="cloudfront"), CloudFrontPublisher)


def cli(*args: Any, endpoint: str) -> Any:
    """The real ``gallery publish ... --cdn cloudfront`` through the proxy."""
    from gallery_builder.testing import run_cli

    return run_cli(["publish", *args, "--endpoint-url", endpoint, "--cdn", "cloudfront"])


def test_the_cli_prints_the_https_url_the_distribution_and_the_invalidation_plan(
    site: Path, cdn_proxy: RecordingProxy, stand_ins: CloudFrontStandIns, s3: Any
) -> None:
    target = f"s3://{BUCKET}/photos"
    result = cli(target, "--site", site, endpoint=cdn_proxy.url)
    assert result.exit_code == 0, result.output
    record = live_hosting(s3)["cdn"]
    lines = result.output.splitlines()
    assert f"distribution: {record['distribution_id']} ({record['domain_name']})" in lines
    assert f"gallery: https://{record['domain_name']}/photos/" in lines
    assert any("usually takes 5-15 minutes" in line for line in lines)
    files = json.loads((site / "manifest.json").read_bytes())["files"]
    original = next(p for p, e in files.items() if p.endswith(".jpg") and "/" not in p)
    retag(site, original, "no-cache, max-age=0")
    result = cli(target, "--site", site, "--dry-run", endpoint=cdn_proxy.url)
    assert result.exit_code == 0, result.output
    assert f"invalidate: /photos/{original}" in result.output.splitlines()
    mark = cdn_proxy.mark()
    result = cli(target, "--site", site, "--purge", endpoint=cdn_proxy.url)
    assert result.exit_code == 0, result.output
    assert operation(cdn_proxy.since(mark), "POST",
                     f"distribution/{record['distribution_id']}/invalidation")  # fmt: skip


def test_a_cloudfront_error_in_the_cli_is_one_line(
    site: Path, cdn_proxy: RecordingProxy, stand_ins: CloudFrontStandIns
) -> None:
    cdn_proxy.fail("POST", "/2020-05-31/distribution", 403, "AccessDenied")
    result = cli(f"s3://{BUCKET}/photos", "--site", site, endpoint=cdn_proxy.url)
    assert result.exit_code == 1
    (line,) = result.output.strip().splitlines()
    assert line.startswith("Error: access denied to CloudFront CreateDistributionWithTags")


def test_a_cdn_the_cli_does_not_know_is_a_usage_error(site: Path, s3_server: Any) -> None:
    from gallery_builder.testing import run_cli

    result = run_cli(["publish", f"s3://{BUCKET}", "--site", site, "--cdn", "fastly",
                      "--endpoint-url", s3_server.endpoint])  # fmt: skip
    assert result.exit_code == 2


def test_a_bucket_another_gallery_serves_by_website_hosting_is_not_locked(
    site: Path, cdn_proxy: RecordingProxy, stand_ins: CloudFrontStandIns, s3: Any
) -> None:
    from gallery_builder.plugins.s3 import s3_publisher

    publish(site, s3_publisher(f"s3://{BUCKET}/web", endpoint_url=cdn_proxy.url), "web")
    result = first_publish(site, cdn_proxy)
    block = public_access_block(s3)
    assert block != LOCKED  # the website gallery still needs its public statement
    assert any(s.startswith("GalleryBuilderPublicRead") for s in statements(s3))
    assert any("stays public" in note for note in result.notes)


def test_a_policy_of_ours_with_other_content_is_updated_with_its_etag(
    site: Path, cdn_proxy: RecordingProxy, stand_ins: CloudFrontStandIns
) -> None:
    from gallery_builder.plugins.cloudfront_config import cache_policy_config

    client = aws("cloudfront", cdn_proxy.url)
    old = client.create_cache_policy(CachePolicyConfig={**cache_policy_config(), "MinTTL": 5})
    ident, etag = old["CachePolicy"]["Id"], old["ETag"]
    mark = cdn_proxy.mark()
    first_publish(site, cdn_proxy)
    sent = cdn_proxy.since(mark)
    assert operation(sent, "POST", "cache-policy") == []
    (update,) = operation(sent, "PUT", f"cache-policy/{ident}")
    assert update.headers["if-match"] == etag and find(update.xml(), "MinTTL") == "0"
    behaviour = sent_distribution(sent).find("DefaultCacheBehavior")
    assert find(behaviour, "CachePolicyId") == ident


def test_a_function_with_older_code_is_updated_then_published_with_the_new_etag(
    site: Path, cdn_proxy: RecordingProxy, stand_ins: CloudFrontStandIns, cf: Any
) -> None:
    from gallery_builder.plugins.cloudfront_publisher import function_code

    name = f"gallery-{BUCKET}"
    old = b"function handler(e) { return e.request; }"
    config = {"Comment": "old", "Runtime": "cloudfront-js-2.0"}
    cf.create_function(Name=name, FunctionCode=old, FunctionConfig=config)
    mark = cdn_proxy.mark()
    first_publish(site, cdn_proxy)
    sent = cdn_proxy.since(mark)
    assert operation(sent, "POST", "function") == []
    (update,) = operation(sent, "PUT", f"function/{name}")
    assert update.headers["if-match"] == cf.describe_function(Name=name)["ETag"]
    code = find(update.xml(), "FunctionCode")
    assert code is not None and base64.b64decode(code) == function_code()
    (published,) = operation(sent, "POST", f"function/{name}/publish")
    assert published.headers["if-match"] == stand_ins.updated_etags[0]  # the update's ETag


def test_a_refusal_while_waiting_is_an_error_naming_the_permission_not_a_timeout(
    site: Path, cdn_proxy: RecordingProxy, stand_ins: CloudFrontStandIns, s3: Any
) -> None:
    cdn_proxy.fail("GET", "/2020-05-31/distribution/[A-Z0-9]+", 403, "AccessDenied")
    with pytest.raises(GalleryError, match="needs cloudfront:GetDistribution"):
        first_publish(site, cdn_proxy, wait=True)
    with pytest.raises(s3.exceptions.NoSuchKey):
        s3.get_object(Bucket=BUCKET, Key="photos/manifest.json")


def test_an_untagged_distribution_with_our_caller_reference_is_found_and_tagged(
    site: Path, cdn_proxy: RecordingProxy, stand_ins: CloudFrontStandIns, s3: Any, cf: Any
) -> None:
    from gallery_builder.plugins.cloudfront_config import distribution_config

    config = distribution_config(BUCKET, "us-east-1", oac_id="x", function_arn="arn:f",
                                 cache_policy_id="c", headers_policy_id="h")  # fmt: skip
    made = cf.create_distribution(DistributionConfig=config)["Distribution"]
    first_publish(site, cdn_proxy)
    assert live_hosting(s3)["cdn"]["distribution_id"] == made["Id"]
    tags = cf.list_tags_for_resource(Resource=made["ARN"])["Tags"]["Items"]
    assert {"Key": "gallery-builder-bucket", "Value": BUCKET} in tags
    assert len(cf.list_distributions()["DistributionList"]["Items"]) == 1


def test_the_origin_is_in_the_buckets_own_region_not_the_clients(
    site: Path, cdn_proxy: RecordingProxy, stand_ins: CloudFrontStandIns, s3_server: Any
) -> None:
    s3_client(s3_server.endpoint, "eu-west-3").create_bucket(
        Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": "eu-west-3"})  # fmt: skip
    first_publish(site, cdn_proxy)  # the client's region is us-east-1
    origin = sent_distribution(cdn_proxy.requests).find("Origins/Items/Origin")
    assert find(origin, "DomainName") == f"{BUCKET}.s3.eu-west-3.amazonaws.com"


def test_an_answer_of_the_wrong_shape_is_a_clear_error(
    site: Path, cdn_proxy: RecordingProxy, stand_ins: CloudFrontStandIns
) -> None:
    body = b'<?xml version="1.0"?><OriginAccessControl><Id></Id></OriginAccessControl>'
    cdn_proxy.answer("POST", "/2020-05-31/origin-access-control",
                 lambda r, m: (201, {"Content-Type": "text/xml"}, body))  # fmt: skip
    with pytest.raises(GalleryError, match="CloudFront answered without a usable OAC Id"):
        first_publish(site, cdn_proxy)


def test_the_clients_share_the_endpoint_and_acm_is_always_us_east_1(s3_server: Any) -> None:
    publisher = s3_publisher_for(s3_server.endpoint, region="eu-west-3")
    clients = publisher.cdn.clients
    assert "cloudfront" not in vars(clients)  # made on first use only
    assert clients.acm.meta.region_name == "us-east-1"
    assert clients.cloudfront.meta.endpoint_url == s3_server.endpoint
    assert clients.route53.meta.endpoint_url == s3_server.endpoint
    assert clients.cloudfront.meta.config.retries == publisher.client.meta.config.retries


def s3_publisher_for(endpoint: str, **options: Any) -> Any:
    from gallery_builder.plugins.s3 import s3_publisher

    return s3_publisher(f"s3://{BUCKET}", endpoint_url=endpoint, cdn="cloudfront", **options)


@pytest.mark.parametrize(
    ("query", "permission"),
    [("publicAccessBlock", "s3:GetBucketPublicAccessBlock"),
     ("ownershipControls", "s3:GetBucketOwnershipControls")],
)  # fmt: skip
def test_an_s3_refusal_in_the_cdn_set_up_names_the_permission(
    site: Path, cdn_proxy: RecordingProxy, stand_ins: CloudFrontStandIns, query: str,
    permission: str,
) -> None:  # fmt: skip
    cdn_proxy.fail("GET", f"/{BUCKET}", 403, "AccessDenied", query=query)
    with pytest.raises(GalleryError, match=f"needs {permission}$"):
        first_publish(site, cdn_proxy)


def test_a_domain_added_later_updates_the_distribution_with_the_alias(
    site: Path, cdn_proxy: RecordingProxy, stand_ins: CloudFrontStandIns, s3: Any, s3_server: Any
) -> None:
    first_publish(site, cdn_proxy)
    ident = live_hosting(s3)["cdn"]["distribution_id"]
    arn = _issued_certificate(s3_server.endpoint, "photos.example.com")
    mark = cdn_proxy.mark()
    publish(site, cdn_publisher(cdn_proxy.url, domain="photos.example.com"), "photos")
    sent = cdn_proxy.since(mark)
    assert operation(sent, "POST", "distribution") == []
    (update,) = operation(sent, "PUT", f"distribution/{ident}/config")
    config = update.xml()
    assert [x.text for x in config.findall("Aliases/Items/CNAME")] == ["photos.example.com"]
    assert find(config, "ViewerCertificate/ACMCertificateArn") == arn
    assert live_hosting(s3)["cdn"]["distribution_id"] == ident


def test_a_create_that_lost_the_race_to_another_gallery_uses_its_distribution(
    site: Path, cdn_proxy: RecordingProxy, stand_ins: CloudFrontStandIns, s3: Any, cf: Any
) -> None:
    """AWS's DistributionAlreadyExists need not name the distribution: it is looked up."""
    from gallery_builder.plugins.cloudfront_config import distribution_config

    config = distribution_config(BUCKET, "us-east-1", oac_id="x", function_arn="arn:f",
                                 cache_policy_id="c", headers_policy_id="h")  # fmt: skip
    tags = {"Items": [{"Key": "gallery-builder-bucket", "Value": BUCKET}]}
    calls = []

    def made_meanwhile(request: Any, match: Any) -> Any:
        calls.append(request)  # the other gallery's create lands first
        cf.create_distribution_with_tags(
            DistributionConfigWithTags={"DistributionConfig": config, "Tags": tags})  # fmt: skip
        return error_answer(409, "DistributionAlreadyExists", "caller reference in use")

    cdn_proxy.answer("POST", "/2020-05-31/distribution", made_meanwhile)
    first_publish(site, cdn_proxy)
    (made,) = cf.list_distributions()["DistributionList"]["Items"]
    assert live_hosting(s3)["cdn"]["distribution_id"] == made["Id"] and len(calls) == 1


@pytest.mark.parametrize(
    ("method", "path", "action"),
    [("GET", f"/2020-05-31/function/gallery-{BUCKET}/describe", "cloudfront:DescribeFunction"),
     ("POST", f"/2020-05-31/function/gallery-{BUCKET}/publish", "cloudfront:PublishFunction"),
     ("GET", "/2020-05-31/cache-policy", "cloudfront:ListCachePolicies")],
)  # fmt: skip
def test_a_refusal_of_a_call_the_set_up_handles_itself_is_still_one_line(
    site: Path, cdn_proxy: RecordingProxy, stand_ins: CloudFrontStandIns, method: str,
    path: str, action: str,
) -> None:  # fmt: skip
    cdn_proxy.fail(method, path, 403, "AccessDenied")
    with pytest.raises(GalleryError, match=f"needs {action} ") as caught:
        first_publish(site, cdn_proxy)
    assert "\n" not in str(caught.value) and caught.value.__suppress_context__


def test_a_failed_invalidation_is_a_note_the_gallery_being_live(
    site: Path, cdn_proxy: RecordingProxy, stand_ins: CloudFrontStandIns, s3: Any
) -> None:
    first_publish(site, cdn_proxy)
    files = json.loads((site / "manifest.json").read_bytes())["files"]
    original = next(p for p, e in files.items() if p.endswith(".jpg") and "/" not in p)
    retag(site, original, "no-cache, max-age=0")
    cdn_proxy.fail("POST", "/2020-05-31/distribution/[A-Z0-9]+/invalidation", 400,
                   "TooManyInvalidationsInProgress")  # fmt: skip
    result = first_publish(site, cdn_proxy)
    assert result.committed
    assert any("invalidation failed" in n and "TooManyInvalidationsInProgress" in n
               for n in result.notes)  # fmt: skip
