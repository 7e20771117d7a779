"""``--domain``: the ACM certificate and the Route 53 records, against a real moto server over
HTTP (ACM in us-east-1, Route 53), with what moto does not enforce checked by our own code.

What reached the server is counted from its request log: ACM's calls are all ``POST /`` (the
operation is in a header the log does not show), so ACM calls are told apart by count, and the
certificates and record sets are read back to see what was made.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from acm_proxy import AcmProxy
from botocore.config import Config
from gallery_builder.plugins.certificate_choice import (
    CertificateState,
    certificate_state,
    pick_certificate,
    unusable_problem,
)
from gallery_builder.plugins.cloudfront_certificate import (
    WAIT_DELAY,
    WAIT_DELAY_ENV,
    describe_with_records,
    ensure_certificate,
    wait_delay,
)
from gallery_builder.plugins.cloudfront_domain import (
    CLOUDFRONT_ZONE_ID,
    DomainPending,
    ValidationRecord,
    ascii_domain,
    domain_problem,
    idempotency_token,
)
from gallery_builder.plugins.domain_setup import (
    DomainSteps,
    plan_domain,
    point_domain,
    prepare_domain,
)
from gallery_builder.plugins.route53_changes import validation_changes
from gallery_builder.plugins.route53_records import (
    write_alias_records,
    write_validation_records,
    zone_for,
)
from s3env import Fault, FaultProxy, MotoServer, Request

from gallery_builder.errors import GalleryError, SettingError

DOMAIN = "photos.example.com"
DIST = "d1abcdef8example.cloudfront.net"
OTHER_DIST = "d2zzzzzzzzother.cloudfront.net"


def clients(endpoint: str, acm_region: str = "us-east-1") -> tuple[Any, Any]:
    session = boto3.session.Session(
        aws_access_key_id="testing", aws_secret_access_key="testing", region_name="us-east-1"
    )
    config = Config(retries={"mode": "standard", "total_max_attempts": 2}, proxies={})
    acm = session.client("acm", region_name=acm_region, endpoint_url=endpoint, config=config)
    route53 = session.client("route53", endpoint_url=endpoint, config=config)
    return acm, route53


@pytest.fixture
def aws(s3_server: MotoServer) -> tuple[Any, Any]:
    """ACM (us-east-1) and Route 53 clients of the emptied moto server (certificates stay
    PENDING_VALIDATION there: moto issues them after 60 s)."""
    return clients(s3_server.endpoint)


@pytest.fixture(scope="module")
def issuing_server() -> Iterator[MotoServer]:
    """A moto server that issues a certificate 2 s after its request."""
    with MotoServer(env={"MOTO_ACM_VALIDATION_WAIT": "2"}) as server:
        yield server


def make_zone(route53: Any, name: str, *, private: bool = False) -> str:
    extra: dict[str, Any] = {}
    if private:
        extra = {
            "HostedZoneConfig": {"PrivateZone": True, "Comment": "vpc"},
            "VPC": {"VPCRegion": "us-east-1", "VPCId": "vpc-12345678"},
        }
    zone = route53.create_hosted_zone(Name=name, CallerReference=f"{name}-{private}", **extra)
    return zone["HostedZone"]["Id"].rsplit("/", 1)[-1]


def record_sets(route53: Any, zone_id: str) -> list[dict[str, Any]]:
    sets = route53.list_resource_record_sets(HostedZoneId=zone_id)["ResourceRecordSets"]
    return [r for r in sets if r["Type"] not in ("NS", "SOA")]


def certificates(acm: Any) -> list[dict[str, Any]]:
    return acm.list_certificates()["CertificateSummaryList"]


def acm_record(acm: Any, arn: str) -> dict[str, str]:
    cert = acm.describe_certificate(CertificateArn=arn)["Certificate"]
    return cert["DomainValidationOptions"][0]["ResourceRecord"]


def called(request: Request) -> str:
    """A logged request in short: ``POST acm``, ``GET zones``, ``POST records ZONE``."""
    if request.path == "/":
        return f"{request.method} acm"
    if request.path.endswith("/hostedzonesbyname"):
        return f"{request.method} zones"
    if request.path.rstrip("/").endswith("/rrset"):
        return f"{request.method} records {request.path.split('/')[3]}"
    return f"{request.method} {request.path}"


def upsert(route53: Any, zone_id: str, rrset: dict[str, Any]) -> None:
    route53.change_resource_record_sets(
        HostedZoneId=zone_id,
        ChangeBatch={"Changes": [{"Action": "UPSERT", "ResourceRecordSet": rrset}]},
    )


# --- the domain, before any request -------------------------------------------------------------


@pytest.mark.parametrize(
    ("domain", "reason"),
    [
        ("https://photos.example.com", "without a scheme"),
        ("photos.example.com/trip", "without a path"),
        ("photos.example.com:443", "without a port"),
        ("*.example.com", "wildcard"),
        ("photos.example.com.", "trailing dot"),
        ("localhost", "at least two labels"),
        ("photos..example.com", "empty label"),
        ("a" * 64 + ".example.com", "at most 63"),
        (".".join(["abcdefghi"] * 26), "at most 253"),
        ("-photos.example.com", "letters, digits and inner hyphens"),
        ("photos_1.example.com", "letters, digits and inner hyphens"),
        ("192.0.2.1", "IP address"),
        ("photos example.com", "space"),
        ("straße.example", "xn-- form"),
        ("", "empty"),
    ],
)
def test_a_bad_domain_is_refused_before_any_request(
    aws: tuple[Any, Any], s3_server: MotoServer, domain: str, reason: str
) -> None:
    acm, route53 = aws
    problem = domain_problem(domain)
    assert problem is not None and reason in problem
    mark = s3_server.mark()
    for call in (
        lambda: ensure_certificate(acm, domain, wait=False),
        lambda: zone_for(route53, domain),
        lambda: prepare_domain(acm, route53, domain),
        lambda: plan_domain(acm, route53, domain),
        lambda: write_alias_records(route53, "Z1", domain, DIST),
    ):
        with pytest.raises(SettingError, match="is not a domain name"):
            call()
    assert s3_server.requests_since(mark) == []


def test_a_domain_is_lower_cased_and_international_names_take_their_ascii_form() -> None:
    assert ascii_domain("Photos.Example.COM") == "photos.example.com"
    assert ascii_domain("fotos.bücher.example") == "fotos.xn--bcher-kva.example"
    assert ascii_domain("fotos.xn--bcher-kva.example") == "fotos.xn--bcher-kva.example"
    assert domain_problem("xn--zz.example") is not None  # not punycode
    assert domain_problem("ab--cd.example") is not None  # reserved like xn--
    assert domain_problem("a" * 63 + ".example") is None


def test_the_idempotency_token_is_the_same_for_a_domain_and_fits_acm() -> None:
    token = idempotency_token(DOMAIN)
    assert token == idempotency_token(DOMAIN) != idempotency_token("other.example.com")
    assert len(token) <= 32 and token.isalnum()


# --- the certificate ----------------------------------------------------------------------------


def test_a_certificate_is_requested_once_and_reused_on_the_next_run(
    aws: tuple[Any, Any], s3_server: MotoServer
) -> None:
    acm, _ = aws
    mark = s3_server.mark()
    first = ensure_certificate(acm, DOMAIN, wait=False)
    # ListCertificates, RequestCertificate, DescribeCertificate
    assert [str(r) for r in s3_server.requests_since(mark)] == ["POST / -> 200"] * 3
    assert first.requested and first.status == "PENDING_VALIDATION"
    assert first.arn.startswith("arn:aws:acm:us-east-1:")
    record = acm_record(acm, first.arn)
    assert first.records == (ValidationRecord(record["Name"], "CNAME", record["Value"]),)
    assert first.not_after is not None

    mark = s3_server.mark()
    second = ensure_certificate(acm, DOMAIN, wait=False)
    # ListCertificates, DescribeCertificate: no second request
    assert len(s3_server.requests_since(mark)) == 2
    assert second.arn == first.arn and not second.requested
    assert [c["CertificateArn"] for c in certificates(acm)] == [first.arn]
    tags = acm.list_tags_for_certificate(CertificateArn=first.arn)["Tags"]
    assert {"Key": "gallery-builder-domain", "Value": DOMAIN} in tags


def test_a_certificate_the_user_requested_for_the_domain_is_reused(aws: tuple[Any, Any]) -> None:
    acm, _ = aws
    acm.request_certificate(DomainName="other.example.com", ValidationMethod="DNS")
    theirs = acm.request_certificate(DomainName=DOMAIN, ValidationMethod="DNS")["CertificateArn"]
    state = ensure_certificate(acm, DOMAIN, wait=False)
    assert state.arn == theirs and not state.requested
    assert len(certificates(acm)) == 2


def test_an_acm_client_outside_us_east_1_is_refused_before_any_request(
    s3_server: MotoServer,
) -> None:
    # moto keeps certificates per region and would issue one in eu-west-1; CloudFront would
    # not take it
    acm, route53 = clients(s3_server.endpoint, acm_region="eu-west-1")
    mark = s3_server.mark()
    with pytest.raises(GalleryError, match="only from us-east-1, not eu-west-1"):
        ensure_certificate(acm, DOMAIN, wait=False)
    with pytest.raises(GalleryError, match="only from us-east-1"):
        prepare_domain(acm, route53, DOMAIN)
    assert s3_server.requests_since(mark) == []


def test_an_issued_certificate_is_preferred_to_a_pending_one() -> None:
    def summary(arn: str, status: str, name: str = DOMAIN, **more: Any) -> dict[str, Any]:
        return {"CertificateArn": f"arn:{arn}", "DomainName": name, "Status": status, **more}

    assert (
        pick_certificate([summary("p", "PENDING_VALIDATION"), summary("i", "ISSUED")], DOMAIN)
        == "arn:i"
    )
    assert pick_certificate([summary("x", "ISSUED", "example.com"), "junk", {}], DOMAIN) is None
    assert pick_certificate([summary("f", "FAILED")], DOMAIN) is None
    imported = summary("imp", "ISSUED", Type="IMPORTED")
    assert (
        pick_certificate([imported, summary("acm", "ISSUED", Type="AMAZON_ISSUED")], DOMAIN)
        == "arn:acm"
    )
    assert pick_certificate([summary("up", "ISSUED", DOMAIN.upper())], DOMAIN) == "arn:up"


def describe_answer(**cert: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "CertificateArn": "arn:aws:acm:us-east-1:1:certificate/c",
        "DomainName": DOMAIN,
        "Status": "PENDING_VALIDATION",
        "DomainValidationOptions": [
            {
                "DomainName": DOMAIN,
                "ValidationMethod": "DNS",
                "ResourceRecord": {
                    "Name": f"_a1.{DOMAIN}.",
                    "Type": "CNAME",
                    "Value": "_b2.acm-validations.aws.",
                },
            }
        ],
    }
    return {"Certificate": {**base, **cert}}


def test_what_acm_answers_is_checked() -> None:
    state = certificate_state(describe_answer(), DOMAIN)
    assert state.complete and state.records[0].name == f"_a1.{DOMAIN}."
    # real ACM leaves ResourceRecord out for a few seconds after the request
    fresh = describe_answer(
        DomainValidationOptions=[{"DomainName": DOMAIN, "ValidationMethod": "DNS"}]
    )
    assert not certificate_state(fresh, DOMAIN).complete
    with pytest.raises(GalleryError, match=re.escape("does not name photos.example.com")):
        certificate_state(describe_answer(DomainName="evil.example.net"), DOMAIN)
    outside = {"Name": "_a1.example.net.", "Type": "CNAME", "Value": "_b2.acm-validations.aws."}
    for bad in (
        outside,
        {**outside, "Name": f"_a1.{DOMAIN}.\nrm -rf"},
        {**outside, "Name": f"_a1.{DOMAIN}.", "Type": "TXT"},
    ):
        options = [{"DomainName": DOMAIN, "ValidationMethod": "DNS", "ResourceRecord": bad}]
        with pytest.raises(GalleryError, match="ACM answered"):
            certificate_state(describe_answer(DomainValidationOptions=options), DOMAIN)
    for broken in ({}, {"Certificate": []}, describe_answer(CertificateArn=None)):
        with pytest.raises(GalleryError, match="ACM answered"):
            certificate_state(broken, DOMAIN)


@pytest.mark.parametrize(
    ("status", "reason", "says"),
    [
        ("FAILED", "CAA_ERROR", "CAA record"),
        ("VALIDATION_TIMED_OUT", None, "within 72 hours"),
        ("EXPIRED", None, "has expired"),
        ("REVOKED", None, "was revoked"),
    ],
)
def test_a_certificate_that_cannot_be_issued_says_what_to_do(
    status: str, reason: str | None, says: str
) -> None:
    state = certificate_state(describe_answer(Status=status, FailureReason=reason), DOMAIN)
    problem = unusable_problem(state)
    assert problem is not None and says in problem
    assert "aws acm delete-certificate --region us-east-1 --certificate-arn" in problem
    assert "run the command again" in problem
    assert unusable_problem(certificate_state(describe_answer(), DOMAIN)) is None
    email = describe_answer(
        DomainValidationOptions=[{"DomainName": DOMAIN, "ValidationMethod": "EMAIL"}]
    )
    assert "EMAIL validation" in (unusable_problem(certificate_state(email, DOMAIN)) or "")


def test_the_wait_delay_comes_from_the_parameter_or_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv(WAIT_DELAY_ENV, raising=False)
    assert wait_delay() == WAIT_DELAY == 15
    assert wait_delay(0.5) == 0.5
    monkeypatch.setenv(WAIT_DELAY_ENV, "1")
    assert wait_delay() == 1.0
    monkeypatch.setenv(WAIT_DELAY_ENV, "soon")
    with pytest.raises(GalleryError, match="GALLERY_CERTIFICATE_WAIT_DELAY"):
        wait_delay()


# --- the zone and the records -------------------------------------------------------------------


def test_the_longest_public_zone_holding_the_domain_is_chosen(aws: tuple[Any, Any]) -> None:
    _, route53 = aws
    apex = make_zone(route53, "example.com")
    photos = make_zone(route53, "photos.example.com")
    make_zone(route53, "photos.example.com", private=True)
    make_zone(route53, "otos.example.com")
    assert zone_for(route53, DOMAIN) == photos
    assert zone_for(route53, "a.photos.example.com") == photos
    assert zone_for(route53, "Other.Example.com") == apex
    assert zone_for(route53, "photos.example.org") is None


def test_a_private_zone_alone_is_no_zone(aws: tuple[Any, Any]) -> None:
    _, route53 = aws
    make_zone(route53, "example.com", private=True)
    assert zone_for(route53, DOMAIN) is None


def test_two_public_zones_of_one_name_are_an_error(aws: tuple[Any, Any]) -> None:
    _, route53 = aws
    make_zone(route53, "example.com")
    route53.create_hosted_zone(Name="example.com", CallerReference="second")
    with pytest.raises(
        GalleryError, match=re.escape("2 public Route 53 hosted zones named example.com")
    ):
        zone_for(route53, DOMAIN)


def test_the_validation_cnames_are_written_into_the_domains_zone(
    aws: tuple[Any, Any],
) -> None:
    acm, route53 = aws
    apex = make_zone(route53, "example.com")
    photos = make_zone(route53, "photos.example.com")
    private = make_zone(route53, "photos.example.com", private=True)
    # moto issues after 60 s: the certificate is pending, and without --wait that stops here
    with pytest.raises(DomainPending) as caught:
        prepare_domain(acm, route53, DOMAIN, wait=False)
    [cert] = certificates(acm)
    record = acm_record(acm, cert["CertificateArn"])
    assert record_sets(route53, photos) == [
        {
            "Name": record["Name"],
            "Type": "CNAME",
            "TTL": 300,
            "ResourceRecords": [{"Value": record["Value"]}],
        }
    ]
    assert record_sets(route53, apex) == [] and record_sets(route53, private) == []
    message = str(caught.value)
    assert "Route 53 zone photos.example.com" in message and "--wait" in message
    assert "\n" not in message
    # again: the same certificate, the same record (UPSERT), still pending
    with pytest.raises(DomainPending):
        prepare_domain(acm, route53, DOMAIN, wait=False)
    assert len(certificates(acm)) == 1 and len(record_sets(route53, photos)) == 1


def test_validation_records_are_deduplicated_by_name(aws: tuple[Any, Any]) -> None:
    _, route53 = aws
    zone = make_zone(route53, "example.com")
    one = ValidationRecord(f"_a.{DOMAIN}.", "CNAME", "_v.acm-validations.aws.")
    same = ValidationRecord(f"_A.{DOMAIN.upper()}.", "CNAME", "_v.acm-validations.aws.")
    # a certificate's names can share one record: one change per name (Route 53 refuses a
    # batch that changes one record twice)
    assert len(validation_changes([one, same])) == 1
    write_validation_records(route53, zone, [one, same], zone_name="example.com")
    assert len(record_sets(route53, zone)) == 1
    with pytest.raises(GalleryError, match=re.escape("is not in zone example.org")):
        write_validation_records(route53, zone, [one], zone_name="example.org")


def test_no_zone_in_route_53_stops_with_the_exact_records_to_add(
    aws: tuple[Any, Any], s3_server: MotoServer
) -> None:
    acm, route53 = aws
    start = time.monotonic()
    with pytest.raises(DomainPending) as caught:
        # --wait is no use for a certificate just requested: nobody can have added its record
        prepare_domain(acm, route53, DOMAIN, wait=True, delay=5)
    assert time.monotonic() - start < 5
    [cert] = certificates(acm)
    record = acm_record(acm, cert["CertificateArn"])
    message = str(caught.value)
    assert f"CNAME {record['Name']} -> {record['Value']}" in message
    assert "not in a Route 53 hosted zone" in message
    assert "validates it within a few minutes (at most about 30 minutes)" in message
    assert f"`gallery publish ... --domain {DOMAIN}` command again" in message
    assert "(add --wait to wait for validation)" in message
    assert f"CNAME {DOMAIN} -> the distribution's dxxxx.cloudfront.net name" in message
    assert caught.value.records == (ValidationRecord(record["Name"], "CNAME", record["Value"]),)
    assert caught.value.domain == DOMAIN
    assert "\n" not in message


def test_the_distribution_name_is_in_the_message_when_known(aws: tuple[Any, Any]) -> None:
    acm, route53 = aws
    with pytest.raises(DomainPending, match=f"CNAME {DOMAIN} -> {DIST}"):
        prepare_domain(acm, route53, DOMAIN, distribution_domain=DIST)
    with pytest.raises(DomainPending, match=r"example\.com looks like a zone apex.*ALIAS, ANAME"):
        prepare_domain(acm, route53, "example.com", distribution_domain=DIST)


def test_alias_records_point_the_domain_at_the_distribution(
    aws: tuple[Any, Any], s3_server: MotoServer
) -> None:
    _, route53 = aws
    zone = make_zone(route53, "example.com")
    upsert(
        route53,
        zone,
        {
            "Name": DOMAIN,
            "Type": "MX",
            "TTL": 300,
            "ResourceRecords": [{"Value": "10 mx.example.com"}],
        },
    )
    assert write_alias_records(route53, zone, DOMAIN, DIST.upper() + ".") is True
    aliases = [r for r in record_sets(route53, zone) if r["Type"] in ("A", "AAAA")]
    assert sorted(r["Type"] for r in aliases) == ["A", "AAAA"]
    for rrset in aliases:
        assert rrset["Name"] == DOMAIN + "."
        assert rrset["AliasTarget"] == {
            "HostedZoneId": CLOUDFRONT_ZONE_ID,
            "DNSName": DIST,
            "EvaluateTargetHealth": False,
        }
    assert CLOUDFRONT_ZONE_ID == "Z2FDTNDATAQYW2"
    mark = s3_server.mark()
    assert write_alias_records(route53, zone, DOMAIN, DIST) is False  # already there
    assert [r.method for r in s3_server.requests_since(mark)] == ["GET"]


@pytest.mark.parametrize(
    ("rrset", "says"),
    [
        (
            {"Type": "A", "TTL": 300, "ResourceRecords": [{"Value": "192.0.2.10"}]},
            "already has a A record (-> 192.0.2.10)",
        ),
        (
            {"Type": "CNAME", "TTL": 300, "ResourceRecords": [{"Value": "myhost.example.net"}]},
            "already has a CNAME record (-> myhost.example.net)",
        ),
        (
            {
                "Type": "AAAA",
                "AliasTarget": {
                    "HostedZoneId": CLOUDFRONT_ZONE_ID,
                    "DNSName": OTHER_DIST,
                    "EvaluateTargetHealth": False,
                },
            },
            f"alias to {OTHER_DIST}, another CloudFront distribution",
        ),
        (
            {
                "Type": "A",
                "AliasTarget": {
                    "HostedZoneId": "Z3AQBSTGFYJSTF",
                    "DNSName": "s3-website-us-east-1.amazonaws.com",
                    "EvaluateTargetHealth": False,
                },
            },
            "alias to s3-website-us-east-1.amazonaws.com",
        ),
    ],
)
def test_someone_elses_record_at_the_domain_is_refused_and_left_unchanged(
    aws: tuple[Any, Any], rrset: dict[str, Any], says: str
) -> None:
    acm, route53 = aws
    zone = make_zone(route53, "example.com")
    upsert(route53, zone, {"Name": DOMAIN, **rrset})
    before = record_sets(route53, zone)
    with pytest.raises(
        GalleryError, match="does not replace DNS records it did not write"
    ) as caught:
        write_alias_records(route53, zone, DOMAIN, DIST, zone_name="example.com")
    assert says in str(caught.value) and "Route 53 zone example.com" in str(caught.value)
    # prepare_domain refuses before anything is requested, certificate included
    with pytest.raises(GalleryError, match=says.replace("(", r"\(").replace(")", r"\)")):
        prepare_domain(acm, route53, DOMAIN, distribution_domain=DIST)
    assert certificates(acm) == []
    assert record_sets(route53, zone) == before


def test_an_alias_to_this_distribution_is_kept(aws: tuple[Any, Any]) -> None:
    _, route53 = aws
    zone = make_zone(route53, "example.com")
    target = {
        "HostedZoneId": CLOUDFRONT_ZONE_ID,
        "DNSName": DIST + ".",
        "EvaluateTargetHealth": False,
    }
    upsert(route53, zone, {"Name": DOMAIN, "Type": "A", "AliasTarget": target})
    assert write_alias_records(route53, zone, DOMAIN, DIST) is True  # AAAA was missing
    assert {r["Type"] for r in record_sets(route53, zone)} == {"A", "AAAA"}


def test_a_distribution_name_that_is_not_cloudfronts_is_refused(aws: tuple[Any, Any]) -> None:
    _, route53 = aws
    zone = make_zone(route53, "example.com")
    with pytest.raises(GalleryError, match="not a CloudFront distribution's domain name"):
        write_alias_records(route53, zone, DOMAIN, "evil.example.net")
    assert record_sets(route53, zone) == []


# --- issuance (moto issues after MOTO_ACM_VALIDATION_WAIT seconds) ------------------------------


def test_with_wait_the_certificate_is_issued_and_the_aliases_written(
    issuing_server: MotoServer,
) -> None:
    issuing_server.reset()
    acm, route53 = clients(issuing_server.endpoint)
    zone = make_zone(route53, "example.com")
    start = time.monotonic()
    setup = prepare_domain(acm, route53, DOMAIN, wait=True, delay=1)
    assert 2 <= time.monotonic() - start < 20
    assert setup.certificate.status == "ISSUED" and setup.certificate.requested
    assert setup.zone is not None and setup.zone.id == zone
    assert setup.certificate_arn == certificates(acm)[0]["CertificateArn"]
    notes = point_domain(route53, setup, DIST)
    assert notes == [
        f"{DOMAIN} -> {DIST}: A and AAAA alias records written in Route 53 zone example.com"
    ]
    types = sorted(r["Type"] for r in record_sets(route53, zone))
    assert types == ["A", "AAAA", "CNAME"]  # the validation CNAME stays for renewals

    # the next run reuses the issued certificate and finds the aliases in place
    mark = issuing_server.mark()
    again = prepare_domain(acm, route53, DOMAIN, distribution_domain=DIST)
    notes = point_domain(route53, again, DIST)
    requests = [called(r) for r in issuing_server.requests_since(mark)]
    assert again.certificate.arn == setup.certificate.arn and not again.certificate.requested
    assert len(certificates(acm)) == 1
    assert notes == [f"{DOMAIN} already points at {DIST} (Route 53 zone example.com)"]
    # zones, the records at the domain, ListCertificates + DescribeCertificate, the
    # validation UPSERT (kept for renewals), the records at the domain again: no alias write
    assert requests == [
        "GET zones",
        f"GET records {zone}",
        "POST acm",
        "POST acm",
        f"POST records {zone}",
        f"GET records {zone}",
    ]


def test_a_rerun_with_wait_waits_for_a_certificate_whose_records_the_user_added(
    issuing_server: MotoServer,
) -> None:
    issuing_server.reset()
    acm, route53 = clients(issuing_server.endpoint)
    with pytest.raises(DomainPending):
        prepare_domain(acm, route53, DOMAIN, wait=True, delay=1)
    setup = prepare_domain(acm, route53, DOMAIN, wait=True, delay=1)
    assert setup.certificate.issued and not setup.certificate.requested and setup.zone is None
    assert point_domain(route53, setup, DIST) == [
        f"{DOMAIN} is not in Route 53: at your DNS host add CNAME {DOMAIN} -> {DIST}; "
        "at a zone apex use an ALIAS or ANAME record instead"
    ]


def test_ensure_certificate_with_wait_returns_it_issued(issuing_server: MotoServer) -> None:
    issuing_server.reset()
    acm, _ = clients(issuing_server.endpoint)
    state = ensure_certificate(acm, DOMAIN, wait=True, delay=1)
    assert isinstance(state, CertificateState) and state.issued and state.records


# --- the dry run --------------------------------------------------------------------------------


def test_plan_domain_says_what_would_be_done_and_writes_nothing(
    aws: tuple[Any, Any], s3_server: MotoServer
) -> None:
    acm, route53 = aws
    zone = make_zone(route53, "example.com")
    mark = s3_server.mark()
    lines = plan_domain(acm, route53, DOMAIN)
    assert lines == [
        f"certificate: request one for {DOMAIN} in ACM us-east-1 (DNS validation)",
        f"DNS: UPSERT the certificate's validation CNAME in Route 53 zone example.com ({zone})",
        f"DNS: UPSERT A and AAAA alias {DOMAIN} -> the distribution in Route 53 zone "
        f"example.com ({zone})",
    ]
    requests = s3_server.requests_since(mark)
    # one ACM ListCertificates; Route 53 only read
    assert [r.method for r in requests if r.path == "/"] == ["POST"]
    assert all(r.method == "GET" for r in requests if r.path != "/")
    assert certificates(acm) == [] and record_sets(route53, zone) == []

    arn = ensure_certificate(acm, DOMAIN, wait=False).arn
    record = acm_record(acm, arn)
    lines = plan_domain(acm, route53, DOMAIN, distribution_domain=DIST)
    assert lines[0].startswith(f"certificate: reuse {arn} for {DOMAIN} (PENDING_VALIDATION")
    assert f"CNAME {record['Name']} -> {record['Value']}" in lines[1]
    assert record_sets(route53, zone) == []


def test_plan_domain_without_a_zone_and_with_a_foreign_record(aws: tuple[Any, Any]) -> None:
    acm, route53 = aws
    lines = plan_domain(acm, route53, DOMAIN)
    assert "is not in a Route 53 hosted zone of this account" in lines[1]
    assert "stops until ACM has issued the certificate" in lines[1]
    zone = make_zone(route53, "example.com")
    upsert(
        route53,
        zone,
        {"Name": DOMAIN, "Type": "A", "TTL": 60, "ResourceRecords": [{"Value": "192.0.2.7"}]},
    )
    assert plan_domain(acm, route53, DOMAIN)[-1].startswith(
        f"DNS: refused: {DOMAIN} already has a A record (-> 192.0.2.7)"
    )


# --- permissions --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fault", "permission"),
    [
        (Fault("access-denied", method="POST", path="/", nth=1), "acm:ListCertificates"),
        (Fault("access-denied", method="POST", path="/", nth=2), "acm:RequestCertificate"),
        (
            Fault("access-denied", method="GET", path="/hostedzonesbyname"),
            "route53:ListHostedZonesByName",
        ),
        (Fault("access-denied", method="GET", path="/rrset"), "route53:ListResourceRecordSets"),
        (Fault("access-denied", method="POST", path="/rrset"), "route53:ChangeResourceRecordSets"),
    ],
)
def test_access_denied_names_the_iam_permission(
    s3_server: MotoServer, fault_proxy: FaultProxy, fault: Fault, permission: str
) -> None:
    acm, route53 = clients(fault_proxy.endpoint)
    make_zone(clients(s3_server.endpoint)[1], "example.com")
    fault_proxy.plan([fault])
    with pytest.raises(GalleryError, match=f"your IAM identity needs {permission}"):
        prepare_domain(acm, route53, DOMAIN)
    assert fault_proxy.pending() == []


# --- what ACM was sent, and ACM's slowness, through a recording proxy ---------------------------


def test_the_request_asks_for_dns_validation_rsa_2048_and_is_idempotent(
    s3_server: MotoServer,
) -> None:
    with AcmProxy(s3_server.endpoint) as proxy:
        acm, _ = clients(proxy.endpoint)
        ensure_certificate(acm, DOMAIN, wait=False)
    assert proxy.operations() == ["ListCertificates", "RequestCertificate", "DescribeCertificate"]
    listed, requested = proxy.calls[0][1], proxy.calls[1][1]
    assert listed == {
        "CertificateStatuses": ["ISSUED", "PENDING_VALIDATION"],
        "Includes": {"keyTypes": ["RSA_2048", "EC_prime256v1"]},
    }
    assert requested == {
        "DomainName": DOMAIN,
        "ValidationMethod": "DNS",
        "IdempotencyToken": idempotency_token(DOMAIN),
        "KeyAlgorithm": "RSA_2048",
        "Tags": [{"Key": "gallery-builder-domain", "Value": DOMAIN}],
    }


def test_the_certificate_is_described_again_until_acm_gives_its_records(
    s3_server: MotoServer,
) -> None:
    with AcmProxy(s3_server.endpoint, hide_records=1) as proxy:
        acm, _ = clients(proxy.endpoint)
        state = ensure_certificate(acm, DOMAIN, wait=False)
    assert proxy.operations().count("DescribeCertificate") == 2
    assert state.complete and len(state.records) == 1


def test_records_acm_never_gives_are_an_error_not_a_silence(s3_server: MotoServer) -> None:
    with AcmProxy(s3_server.endpoint, hide_records=100) as proxy:
        acm, _ = clients(proxy.endpoint)
        arn = acm.request_certificate(DomainName=DOMAIN, ValidationMethod="DNS")["CertificateArn"]
        with pytest.raises(GalleryError, match="has not given the DNS validation records"):
            describe_with_records(acm, arn, DOMAIN, polls=2)
    assert proxy.operations().count("DescribeCertificate") == 2


def test_a_wait_that_runs_out_says_how_long_it_waited(aws: tuple[Any, Any]) -> None:
    acm, route53 = aws  # moto issues only after 60 s
    make_zone(route53, "example.com")
    with pytest.raises(DomainPending, match="is still not issued after waiting 0 s: its"):
        prepare_domain(acm, route53, DOMAIN, wait=True, delay=0.1, attempts=2)


def test_a_certificate_acm_answers_from_another_region_is_refused(s3_server: MotoServer) -> None:
    def elsewhere(operation: str, answer: dict[str, Any]) -> dict[str, Any]:
        if operation == "RequestCertificate":
            answer["CertificateArn"] = answer["CertificateArn"].replace("us-east-1", "eu-west-1")
        return answer

    with AcmProxy(s3_server.endpoint, rewrite=elsewhere) as proxy:
        acm, _ = clients(proxy.endpoint)
        with pytest.raises(GalleryError, match="which is not in us-east-1"):
            ensure_certificate(acm, DOMAIN, wait=False)
    assert proxy.operations() == ["ListCertificates", "RequestCertificate"]


def test_a_listed_certificate_for_another_name_is_not_taken(s3_server: MotoServer) -> None:
    # an endpoint that lists a certificate under the domain's name whose description says
    # otherwise: the description is what counts
    acm, _ = clients(s3_server.endpoint)
    other = acm.request_certificate(DomainName="other.example.com", ValidationMethod="DNS")

    def renamed(operation: str, answer: dict[str, Any]) -> dict[str, Any]:
        if operation == "ListCertificates":
            for summary in answer["CertificateSummaryList"]:
                summary["DomainName"] = DOMAIN
        return answer

    with AcmProxy(s3_server.endpoint, rewrite=renamed) as proxy:
        acm, _ = clients(proxy.endpoint)
        with pytest.raises(GalleryError, match=f"{other['CertificateArn']} does not name"):
            ensure_certificate(acm, DOMAIN, wait=False)


class Clients:
    """Lazily made clients, as the CloudFront set-up holds them: counts what was made."""

    def __init__(self, endpoint: str) -> None:
        self.endpoint, self.made = endpoint, []

    @property
    def acm(self) -> Any:
        self.made.append("acm")
        return clients(self.endpoint)[0]

    @property
    def route53(self) -> Any:
        self.made.append("route53")
        return clients(self.endpoint)[1]


def test_domain_steps_give_the_arn_then_point_the_domain(issuing_server: MotoServer) -> None:
    issuing_server.reset()
    lazy = Clients(issuing_server.endpoint)
    steps = DomainSteps(lazy, wait=True, delay=1)
    assert lazy.made == []  # nothing made before a step runs
    zone = make_zone(clients(issuing_server.endpoint)[1], "example.com")
    arn = steps.certificate_for(DOMAIN)
    assert arn.startswith("arn:aws:acm:us-east-1:") and steps.setup is not None
    notes = steps.point(DOMAIN, DIST)
    assert notes[0] == f"requested certificate {arn} for {DOMAIN} in ACM us-east-1"
    assert notes[-1].endswith("A and AAAA alias records written in Route 53 zone example.com")
    assert {r["Type"] for r in record_sets(clients(issuing_server.endpoint)[1], zone)} == {
        "A",
        "AAAA",
        "CNAME",
    }
    assert steps.plan(DOMAIN, DIST)[-1] == (
        f"DNS: {DOMAIN} already aliases to {DIST} in Route 53 zone example.com ({zone})"
    )


def test_hosted_zones_are_read_page_by_page(s3_server: MotoServer) -> None:
    # moto answers every zone at once whatever MaxItems says; Route 53 pages by 100. The
    # proxy cuts moto's first answer after example.com and says where the next page starts,
    # as Route 53 does; moto answers that next page (DNSName=...) with that name's zones
    _, direct = clients(s3_server.endpoint)
    make_zone(direct, "example.com")
    photos = make_zone(direct, "photos.example.com")

    def first_page_only(target: str, body: bytes) -> bytes:
        if not target.startswith("/2013-04-01/hostedzonesbyname") or "dnsname=" in target:
            return body
        text = body.decode()
        zones = re.findall(r"<HostedZone>.*?</HostedZone>", text, re.S)
        second = re.search(r"<Name>(.*?)</Name>", zones[1])
        second_id = re.search(r"<Id>/hostedzone/(.*?)</Id>", zones[1])
        assert second and second_id
        text = text.replace(zones[1], "", 1)
        more = (
            f"<IsTruncated>true</IsTruncated><NextDNSName>{second[1]}</NextDNSName>"
            f"<NextHostedZoneId>{second_id[1]}</NextHostedZoneId>"
        )
        text = re.sub(r"<IsTruncated>false</IsTruncated>", "", text)
        return text.replace(
            "</ListHostedZonesByNameResponse>", more + "</ListHostedZonesByNameResponse>"
        ).encode()

    with AcmProxy(s3_server.endpoint, rewrite_raw=first_page_only) as proxy:
        _, route53 = clients(proxy.endpoint)
        assert zone_for(route53, DOMAIN) == photos
    assert proxy.operations() == ["GET /2013-04-01/hostedzonesbyname"] * 2
