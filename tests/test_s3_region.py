"""The pure parts of the hosting set-up: AWS or not, regions and endpoints, what the set-up
changes in Block Public Access and the website configuration."""

from __future__ import annotations

import json

import pytest
from gallery_builder.plugins.s3.hosting import (
    RedirectBucket,
    lifted_public_access_block,
    merged_website,
    record_skipped,
)
from gallery_builder.plugins.s3.region import (
    bucket_region,
    is_aws_endpoint,
    record_region,
    regional_endpoint,
    website_endpoint,
)


@pytest.mark.parametrize(
    ("endpoint", "aws"),
    [
        (None, True),
        ("https://s3.eu-west-3.amazonaws.com", True),
        ("https://s3.cn-north-1.amazonaws.com.cn", True),
        ("http://127.0.0.1:9000", False),
        ("https://minio.example.com", False),
        ("https://amazonaws.com.evil.example", False),
        ("https://KEY:SECRET@s3.amazonaws.com", True),
    ],
)
def test_aws_or_not(endpoint, aws) -> None:
    assert is_aws_endpoint(endpoint) is aws


def test_a_client_for_the_buckets_region() -> None:
    assert regional_endpoint(None, "us-west-2", "eu-west-3") is None
    assert (
        regional_endpoint("http://s3.us-west-2.amazonaws.com", "us-west-2", "eu-west-3")
        == "http://s3.eu-west-3.amazonaws.com"
    )
    assert regional_endpoint("http://127.0.0.1:9000", "us-west-2", "eu-west-3") == (
        "http://127.0.0.1:9000"
    )


def test_regions_read_from_the_store_or_a_manifest_are_checked() -> None:
    assert bucket_region({"LocationConstraint": None}) == "us-east-1"
    assert bucket_region({"LocationConstraint": "EU"}) == "eu-west-1"
    assert bucket_region({"LocationConstraint": "eu-west-3"}) == "eu-west-3"
    assert bucket_region({"LocationConstraint": "x/../y"}) is None
    assert record_region(json.dumps({"hosting": {"region": "ap-south-1"}}).encode()) == (
        "ap-south-1"
    )
    for bad in (b"[]", b"{", b'{"hosting": "abc"}', b'{"hosting": {"region": "evil.com/x"}}'):
        assert record_region(bad) is None
    assert website_endpoint("b", "eu-west-3") == "http://b.s3-website.eu-west-3.amazonaws.com"
    assert record_skipped({"skipped": ["put_bucket_website", "rm -rf", 3]}) == {
        "put_bucket_website"
    }
    assert record_skipped({"skipped": "put_bucket_website"}) == set()


def test_only_the_policy_flags_are_lifted() -> None:
    assert lifted_public_access_block(None) is None  # nothing configured: nothing blocks
    off = dict.fromkeys(("BlockPublicPolicy", "RestrictPublicBuckets"), False)
    assert lifted_public_access_block({"BlockPublicAcls": True, **off}) is None
    odd = {"RestrictPublicBuckets": True, "IgnorePublicAcls": "yes"}  # not a bool: off
    assert lifted_public_access_block(odd) == {
        "BlockPublicAcls": False, "IgnorePublicAcls": False, **off}  # fmt: skip


def test_the_website_configuration_keeps_what_it_does_not_set() -> None:
    wanted = {"IndexDocument": {"Suffix": "index.html"}, "ErrorDocument": {"Key": "g/error.html"}}
    rules = [{"Redirect": {"HostName": "example.com"}}]
    current = {"IndexDocument": {"Suffix": "x.html"}, "RoutingRules": rules,
               "ResponseMetadata": {"HTTPStatusCode": 200}}  # fmt: skip
    assert merged_website("b", current, wanted) == {**wanted, "RoutingRules": rules}
    assert merged_website("b", {**wanted, "RoutingRules": rules}, wanted) is None  # as wanted
    assert merged_website("b", None, wanted) == wanted
    with pytest.raises(RedirectBucket, match=r"redirects every request to example\.org"):
        merged_website("b", {"RedirectAllRequestsTo": {"HostName": "example.org"}}, wanted)
