"""The pure parts of the CloudFront set-up: invalidation paths, the policy merge, drift."""

from __future__ import annotations

import json

import pytest
from gallery_builder.plugins.cloudfront_config import (
    cloudfront_statements,
    distribution_config,
    fingerprint,
    is_public,
    merged_statements,
    policy_statements,
    resource_name,
)
from gallery_builder.plugins.cloudfront_drift import (
    distribution_fields,
    drift,
    updated_config,
)
from gallery_builder.plugins.cloudfront_invalidation import MAX_PATHS, invalidation_paths

from gallery_builder.errors import GalleryError
from gallery_builder.plan import PublishPlan, Upload

PAGE = {"content_type": "text/html; charset=utf-8", "cache_control": "no-cache"}
IMAGE = {"content_type": "image/jpeg", "cache_control": "no-cache"}


def plan(uploads=(), deletes=()) -> PublishPlan:
    return PublishPlan(tuple(uploads), tuple(deletes), ())


def test_a_normal_publish_invalidates_nothing() -> None:
    changed = [Upload("index.html", "changed", PAGE, "0" * 32), Upload("n.jpg", "new", IMAGE)]
    assert invalidation_paths("trip", plan(changed, ["old.1280.abcd1234.webp"])) == []


def test_retagged_keys_are_invalidated_encoded_and_pages_in_both_forms() -> None:
    uploads = [Upload("Día 1/a b.jpg", "new headers", IMAGE, "0" * 32),
               Upload("album/index.html", "new headers", PAGE, "0" * 32)]  # fmt: skip
    assert invalidation_paths("trip", plan(uploads)) == [
        "/trip/D%C3%ADa%201/a%20b.jpg", "/trip/album/", "/trip/album/index.html"]  # fmt: skip


def test_purge_adds_the_deleted_keys_and_the_root_page_of_an_empty_prefix() -> None:
    deletes = ["index.html", "x~y.jpg", "a(1)+b!.jpg"]
    assert invalidation_paths("", plan(deletes=deletes), purge=True) == [
        "/", "/a(1)+b!.jpg", "/index.html", "/x%7Ey.jpg"]  # fmt: skip
    assert invalidation_paths("", plan(deletes=["index.html"])) == []


def test_more_than_max_paths_collapse_to_one_wildcard() -> None:
    deletes = [f"p{i}.jpg" for i in range(MAX_PATHS + 1)]
    assert invalidation_paths("a b", plan(deletes=deletes), purge=True) == ["/a%20b/*"]
    assert len(invalidation_paths("t", plan(deletes=deletes[:MAX_PATHS]), purge=True)) == 20


def test_the_merge_keeps_other_statements_and_replaces_ours() -> None:
    other = {"Sid": "Theirs", "Effect": "Allow", "Principal": "*", "Action": "s3:GetObject",
             "Resource": "arn:aws:s3:::b/x/*"}  # fmt: skip
    old = cloudfront_statements("b", "trip", "arn:aws:cloudfront::1:distribution/OLD")
    existing = json.dumps({"Version": "2012-10-17", "Statement": [other, *old]})
    new = cloudfront_statements("b", "trip", "arn:aws:cloudfront::1:distribution/NEW")
    merged = merged_statements(existing, new, remove=("Gone",))
    assert merged["Statement"] == [other, *new]
    assert not any(is_public(s) for s in new) and is_public(other)


def test_an_empty_prefix_reads_the_whole_bucket_and_lists_without_a_condition() -> None:
    get, listing = cloudfront_statements("b", "", "arn:x")
    assert get["Resource"] == "arn:aws:s3:::b/*"
    assert listing["Condition"] == {"StringEquals": {"AWS:SourceArn": "arn:x"}}


@pytest.mark.parametrize("policy", ["not json", '{"Statement": "x"}', '{"Statement": [1]}'])
def test_a_bucket_policy_of_the_wrong_shape_is_an_error(policy: str) -> None:
    with pytest.raises(GalleryError, match="bucket policy"):
        policy_statements(policy)


def wanted() -> dict:
    return distribution_config("b", "eu-west-3", oac_id="OAC", function_arn="arn:f",
                               cache_policy_id="C", headers_policy_id="H")  # fmt: skip


def test_drift_ignores_what_an_endpoint_does_not_return_and_sees_the_rest() -> None:
    current = json.loads(json.dumps(wanted()))
    origin = current["Origins"]["Items"][0]
    del origin["OriginAccessControlId"], origin["S3OriginConfig"]  # as moto reads back
    current["DefaultCacheBehavior"]["FunctionAssociations"] = {"Quantity": 0}
    assert drift(current, wanted(), domain=False) == []
    current["IsIPV6Enabled"] = False
    current["DefaultCacheBehavior"]["ViewerProtocolPolicy"] = "allow-all"
    assert drift(current, wanted(), domain=False) == ["IsIPV6Enabled", "ViewerProtocolPolicy"]


def test_drift_on_a_complete_read_back_sees_a_removed_oac_and_function() -> None:
    current = json.loads(json.dumps(wanted()))
    current["Origins"]["Items"][0]["OriginAccessControlId"] = ""
    current["DefaultCacheBehavior"]["FunctionAssociations"] = {"Quantity": 0}
    assert drift(current, wanted(), domain=False) == [
        "origin access control", "FunctionAssociations"]  # fmt: skip


def test_the_update_keeps_what_a_user_added_and_the_caller_reference() -> None:
    current = json.loads(json.dumps(wanted()))
    mine = {"Id": "extra", "DomainName": "x.example.com", "OriginPath": ""}
    current["Origins"] = {"Quantity": 2, "Items": [current["Origins"]["Items"][0], mine]}
    current["CallerReference"] = "made-by-hand"
    current["Comment"] = "mine"
    current["Aliases"] = {"Quantity": 1, "Items": ["photos.example.com"]}
    updated = updated_config(current, wanted(), domain=False)
    assert updated["Origins"]["Items"][1] == mine and updated["Origins"]["Quantity"] == 2
    assert (updated["CallerReference"], updated["Comment"]) == ("made-by-hand", "mine")
    assert updated["Aliases"]["Items"] == ["photos.example.com"]  # no --domain: kept


def test_names_and_fingerprints() -> None:
    assert resource_name("my.bucket") == "gallery-my-bucket"
    assert len(resource_name("a" * 63)) == 64
    base = fingerprint("b", "trip", None, b"code")
    assert base == fingerprint("b", "trip", None, b"code")
    others = {fingerprint("b", "trip", "x.example.com", b"code"),
              fingerprint("b", "trip", None, b"code 2"), fingerprint("b", "t", None, b"code"),
              fingerprint("c", "trip", None, b"code")}  # fmt: skip
    assert base not in others and len(others) == 4


@pytest.mark.parametrize(
    "answer",
    [None, {}, {"Distribution": []}, {"Distribution": {"Id": "E1", "ARN": "arn:x"}},
     {"Distribution": {"Id": "../x", "ARN": "arn:x", "DomainName": "d.cloudfront.net"}}],
)  # fmt: skip
def test_a_distribution_answer_of_the_wrong_shape_is_an_error(answer: object) -> None:
    with pytest.raises(GalleryError, match="without a usable Id"):
        distribution_fields(answer)
