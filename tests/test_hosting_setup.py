"""The website-hosting set-up against a real moto server over HTTP: what a store refuses is
remembered, the bucket's own region, settings read before they are written, and what a dry
run says it would change. Faults come from the proxy; `aws_names` makes moto answer for
AWS's own host names."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from conftest import aws_client
from gallery_builder.plugins.s3 import s3_publisher
from s3env import Fault, FaultProxy, MotoServer

from gallery_builder.publishing import publish
from gallery_builder.testing import run_cli

BUCKET = "setup-gallery"
FLAGS = ("BlockPublicAcls", "IgnorePublicAcls", "BlockPublicPolicy", "RestrictPublicBuckets")


def live_hosting(s3) -> dict[str, Any]:
    body = s3.get_object(Bucket=BUCKET, Key="photos/manifest.json")["Body"].read()
    return json.loads(body)["hosting"]


def cli(site: Path, endpoint: str, *more: str):
    return run_cli(["publish", f"s3://{BUCKET}/photos", "--site", site, "--endpoint-url",
                    endpoint, *more])  # fmt: skip


def warnings(result) -> list[str]:
    return [line for line in result.stderr.splitlines() if line.startswith("warning: ")]


# --- a store that refuses a hosting call ------------------------------------------------------


def test_a_refused_policy_write_is_remembered_and_a_no_op_is_one_request(
    site: Path, s3_server: MotoServer, fault_proxy: FaultProxy, s3
) -> None:
    fault_proxy.plan([Fault("not-implemented", method="PUT", path="?policy")])
    result = cli(site, fault_proxy.endpoint)
    assert result.exit_code == 0, result.output
    refused = [w for w in warnings(result) if "does not support put_bucket_policy" in w]
    assert len(refused) == 1, result.stderr  # once, not again at the check before the commit
    assert "another gallery set up at the same moment" not in result.stderr
    assert live_hosting(s3)["skipped"] == ["put_bucket_policy"]
    # the next publish trusts the record: one request, no warning
    before = len(fault_proxy.events)
    again = cli(site, fault_proxy.endpoint)
    assert again.exit_code == 0 and warnings(again) == []
    assert "up to date" in again.output
    assert len(fault_proxy.events) - before == 1
    # --reconfigure tries the refused call again (the store takes it now)
    before = len(fault_proxy.events)
    fixed = cli(site, fault_proxy.endpoint, "--reconfigure")
    assert fixed.exit_code == 0, fixed.output
    sent = [f"{e.method} {e.target}" for e in fault_proxy.events[before:]]
    assert f"PUT /{BUCKET}?policy" in sent
    assert "skipped" not in live_hosting(s3)
    (statement,) = json.loads(s3.get_bucket_policy(Bucket=BUCKET)["Policy"])["Statement"]
    assert statement["Resource"][0] == f"arn:aws:s3:::{BUCKET}/photos/*"  # then the root's


@pytest.mark.parametrize(
    ("kind", "path", "operation"),
    [
        ("malformed-xml", "?website", "put_bucket_website"),  # an old MinIO
        ("malformed-xml", "?publicAccessBlock", "put_public_access_block"),
        ("method-not-allowed", "?website", "put_bucket_website"),  # Ceph RGW, websites off
    ],
)
def test_a_non_aws_store_refusing_a_hosting_write_is_skipped(
    site: Path, s3_server: MotoServer, fault_proxy: FaultProxy, s3, kind, path, operation
) -> None:
    s3.create_bucket(Bucket=BUCKET)
    s3.put_public_access_block(Bucket=BUCKET, PublicAccessBlockConfiguration=dict.fromkeys(
        FLAGS, True))  # fmt: skip
    fault_proxy.plan([Fault(kind, method="PUT", path=path)])
    result = cli(site, fault_proxy.endpoint)
    assert result.exit_code == 0, result.output
    assert fault_proxy.pending() == []
    assert any(f"does not support {operation}" in w for w in warnings(result)), result.stderr
    assert live_hosting(s3)["skipped"] == [operation]


def test_malformed_xml_from_aws_itself_is_an_error_not_a_refusal(
    site: Path, s3_server: MotoServer, fault_proxy: FaultProxy, aws_names
) -> None:
    fault_proxy.plan([Fault("malformed-xml", method="PUT", path="?website")])
    result = cli(site, aws_names("us-east-1"))
    assert result.exit_code == 1 and isinstance(result.exception, SystemExit)
    assert f"S3 refused PutBucketWebsite on bucket {BUCKET}: MalformedXML" in result.output


def test_a_set_up_for_changed_settings_does_not_retry_a_refused_write(
    site: Path, s3_server: MotoServer, fault_proxy: FaultProxy, s3
) -> None:
    fault_proxy.plan([Fault("not-implemented", method="PUT", path="?website")])
    publish(site, s3_publisher(f"s3://{BUCKET}", endpoint_url=fault_proxy.endpoint), "photos")
    assert live_hosting(s3)["skipped"] == ["put_bucket_website"]
    # another client region: other settings (a new fingerprint), so the set-up runs again
    before = len(fault_proxy.events)
    other = s3_publisher(f"s3://{BUCKET}", endpoint_url=fault_proxy.endpoint, region="eu-west-1")
    result = publish(site, other, "photos")
    sent = [f"{e.method} {e.target}" for e in fault_proxy.events[before:]]
    assert f"PUT /{BUCKET}?website" not in sent and f"GET /{BUCKET}?website" not in sent
    assert not any("put_bucket_website" in note for note in result.notes)
    assert live_hosting(s3)["skipped"] == ["put_bucket_website"]


# --- the bucket's own region ------------------------------------------------------------------


def test_the_website_url_and_the_requests_use_the_buckets_region(
    site: Path, s3_server: MotoServer, fault_proxy: FaultProxy, s3, aws_names
) -> None:
    paris = aws_client(aws_names("eu-west-3"), fault_proxy, "eu-west-3")
    paris.create_bucket(
        Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": "eu-west-3"}
    )
    before = len(fault_proxy.events)
    result = cli(site, aws_names("us-west-2"), "--region", "us-west-2")
    assert result.exit_code == 0, result.output
    assert f"website: http://{BUCKET}.s3-website.eu-west-3.amazonaws.com/" in result.output
    assert f"gallery: http://{BUCKET}.s3-website.eu-west-3.amazonaws.com/photos/" in result.output
    assert "us-west-2" not in result.stdout
    hosts = [e.target.split("/")[2] for e in fault_proxy.events[before:]]
    # the manifest read and HeadBucket went to the client's region; from then on, the bucket's
    head = next(i for i, e in enumerate(fault_proxy.events[before:]) if e.method == "HEAD")
    assert all(host.endswith(".s3.eu-west-3.amazonaws.com") or host == "s3.eu-west-3.amazonaws.com"
               for host in hosts[head + 1 :]), hosts  # fmt: skip
    assert live_hosting(paris)["region"] == "eu-west-3"
    # a no-op publish: its one request, and the region from the live record
    before = len(fault_proxy.events)
    again = cli(site, aws_names("us-west-2"), "--region", "us-west-2")
    assert "up to date" in again.output
    assert f"website: http://{BUCKET}.s3-website.eu-west-3.amazonaws.com/" in again.output
    assert len(fault_proxy.events) - before == 1


# --- settings read before they are written ----------------------------------------------------


def test_routing_rules_and_other_website_settings_are_kept(
    site: Path, s3_server: MotoServer, s3
) -> None:
    s3.create_bucket(Bucket=BUCKET)
    rules = [{"Condition": {"KeyPrefixEquals": "old/"},
              "Redirect": {"ReplaceKeyPrefixWith": "photos/"}}]  # fmt: skip
    s3.put_bucket_website(Bucket=BUCKET, WebsiteConfiguration={
        "IndexDocument": {"Suffix": "home.html"}, "RoutingRules": rules})  # fmt: skip
    assert cli(site, s3_server.endpoint).exit_code == 0
    website = s3.get_bucket_website(Bucket=BUCKET)
    assert website["RoutingRules"] == rules
    assert website["IndexDocument"] == {"Suffix": "index.html"}
    assert website["ErrorDocument"] == {"Key": "error.html"}  # the bucket root's


def test_a_redirect_bucket_is_refused_and_left_as_it_is(
    site: Path, s3_server: MotoServer, s3
) -> None:
    s3.create_bucket(Bucket=BUCKET)
    redirect = {"RedirectAllRequestsTo": {"HostName": "www.example.com", "Protocol": "https"}}
    s3.put_bucket_website(Bucket=BUCKET, WebsiteConfiguration=redirect)
    result = cli(site, s3_server.endpoint)
    assert result.exit_code == 1 and isinstance(result.exception, SystemExit)
    assert "redirects every request to www.example.com: it is a redirect bucket" in result.output
    website = s3.get_bucket_website(Bucket=BUCKET)
    assert website["RedirectAllRequestsTo"] == redirect["RedirectAllRequestsTo"]
    assert s3.list_objects_v2(Bucket=BUCKET, Prefix="photos/")["KeyCount"] == 0


def test_block_public_access_keeps_the_users_acl_flags(
    site: Path, s3_server: MotoServer, s3
) -> None:
    s3.create_bucket(Bucket=BUCKET)
    users = {"BlockPublicAcls": False, "IgnorePublicAcls": True,
             "BlockPublicPolicy": True, "RestrictPublicBuckets": True}  # fmt: skip
    s3.put_public_access_block(Bucket=BUCKET, PublicAccessBlockConfiguration=users)
    assert cli(site, s3_server.endpoint).exit_code == 0
    block = s3.get_public_access_block(Bucket=BUCKET)["PublicAccessBlockConfiguration"]
    assert block == {**users, "BlockPublicPolicy": False, "RestrictPublicBuckets": False}


def test_settings_already_in_place_are_not_written(site: Path, s3_server: MotoServer, s3) -> None:
    assert cli(site, s3_server.endpoint).exit_code == 0
    mark = s3_server.mark()
    assert cli(site, s3_server.endpoint, "--reconfigure").exit_code == 0
    writes = [f"{r.method} ?{r.raw_query}" for r in s3_server.requests_since(mark)
              if r.method == "PUT" and r.key is None]  # fmt: skip
    assert writes == []  # Block Public Access, website and policy read, found as wanted


# --- --dry-run: what the set-up would change -------------------------------------------------


def test_a_dry_run_names_each_change_of_a_first_set_up(site: Path, s3_server: MotoServer):
    mark = s3_server.mark()
    result = cli(site, s3_server.endpoint, "--dry-run")
    assert result.exit_code == 0, result.output
    hosting = [line for line in result.output.splitlines() if line.startswith("hosting: ")]
    assert hosting[0] == f"hosting: create the bucket {BUCKET} in us-east-1"
    assert any("Block Public Access" in line and "BlockPublicPolicy" in line for line in hosting)
    assert any("website configuration: index document index.html, error document "
               "error.html" in line for line in hosting)  # fmt: skip
    assert any("bucket policy: add the statement" in line and
               f"arn:aws:s3:::{BUCKET}/photos/*" in line for line in hosting)  # fmt: skip
    assert any("enforces conditional writes" in line for line in hosting)
    assert [r for r in s3_server.requests_since(mark) if r.method not in ("GET", "HEAD")] == []


def test_a_dry_run_names_only_what_drifted_and_nothing_when_in_place(
    site: Path, s3_server: MotoServer, s3
) -> None:
    assert cli(site, s3_server.endpoint).exit_code == 0
    in_place = cli(site, s3_server.endpoint, "--dry-run", "--reconfigure")
    hosting = [line for line in in_place.output.splitlines() if line.startswith("hosting: ")]
    assert hosting == ["hosting: nothing to change: the bucket's website hosting is in place"]
    s3.delete_bucket_website(Bucket=BUCKET)
    s3.put_public_access_block(Bucket=BUCKET, PublicAccessBlockConfiguration=dict.fromkeys(
        FLAGS, True))  # fmt: skip
    mark = s3_server.mark()
    drifted = cli(site, s3_server.endpoint, "--dry-run", "--reconfigure")
    hosting = [line for line in drifted.output.splitlines() if line.startswith("hosting: ")]
    assert [line.split(":")[1].strip() for line in hosting] == [
        "Block Public Access", "website configuration"]  # fmt: skip
    assert "lift BlockPublicPolicy, RestrictPublicBuckets (the ACL flags are kept)" in hosting[0]
    assert not any("bucket policy" in line for line in hosting)
    assert [r for r in s3_server.requests_since(mark) if r.method not in ("GET", "HEAD")] == []
