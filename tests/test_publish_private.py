"""``--cdn cloudfront --private``: the key group, public key and cache behaviours of a
private gallery, as SENT (a recording proxy in front of moto; the proxy keeps the key groups,
whose UpdateKeyGroup moto lacks), beside other galleries of the bucket; the refusals; and
``revoke_invitations``. The private key is the real one saved on this machine."""

from __future__ import annotations

import json
import stat
from collections.abc import Iterator
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
    sent_distribution,
)
from gallery_builder.plugins.cloudfront_keys import key_path, load_key
from gallery_builder.plugins.cloudfront_private import CACHING_DISABLED_POLICY
from recording_proxy import CF, CloudFrontStandIns, KeyGroupStands, RecordingProxy

from gallery_builder.errors import GalleryError, SettingError
from gallery_builder.publishing import publish

#: request counts measured by the tests, printed at the end of the module (-s) for the note
MEASURED: dict[str, dict[str, int]] = {}


@pytest.fixture(autouse=True, scope="module")
def _print_counts() -> Iterator[None]:
    yield
    for what, seen in MEASURED.items():
        print(f"\nrequests, {what}: {sum(seen.values())} ({seen})")


@pytest.fixture(autouse=True)
def _keys(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "keys"
    monkeypatch.setenv("GALLERY_KEYS_DIR", str(folder))
    return folder


def behaviours(config: Any) -> list[dict[str, Any]]:
    """The cache behaviours of a DistributionConfig sent, in order."""
    found = []
    for item in config.findall("CacheBehaviors/Items/CacheBehavior"):
        found.append(
            {
                "pattern": find(item, "PathPattern"),
                "groups": [x.text for x in item.findall("TrustedKeyGroups/Items/KeyGroup")],
                "enabled": find(item, "TrustedKeyGroups/Enabled"),
                "cache": find(item, "CachePolicyId"),
                "headers": find(item, "ResponseHeadersPolicyId"),
                "viewer": find(item, "ViewerProtocolPolicy"),
                "function": find(
                    item, "FunctionAssociations/Items/FunctionAssociation/FunctionARN"
                ),
            }
        )
    return found


def public_der(pem: bytes) -> bytes:
    from cryptography.hazmat.primitives import serialization

    key = serialization.load_pem_public_key(pem)
    return key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def private_publish(site: Path, proxy: RecordingProxy, prefix: str = "photos", **options: Any):
    target = f"s3://{BUCKET}/{prefix}"
    return publish(site, cdn_publisher(proxy.url, target=target, private=True), prefix, **options)


def test_the_first_private_publish_uploads_the_public_key_and_guards_the_gallery(
    site: Path,
    cdn_proxy: RecordingProxy,
    stand_ins: CloudFrontStandIns,
    key_groups: KeyGroupStands,
    s3: Any,
) -> None:
    from cryptography.hazmat.primitives import serialization

    publisher = cdn_publisher(cdn_proxy.url, target=f"s3://{BUCKET}/photos", private=True)
    result = publish(site, publisher, "photos")
    MEASURED["first private publish"] = counts(cdn_proxy.requests)
    assert result.committed
    record = live_hosting(s3)["cdn"]
    (group_id,) = key_groups.groups
    assert f"private: only people you invite (key group {group_id})" in publisher.hosting_lines()[1]
    assert record["private"] == {"key_group_id": group_id}
    # the public key sent is the public half of the private key kept here, 0600
    (created,) = operation(cdn_proxy.requests, "POST", "public-key")
    encoded = find(created.xml(), "EncodedKey")
    key = load_key(BUCKET, "photos")
    assert key is not None and key.key_group_id == group_id
    private = serialization.load_pem_private_key(key.private_pem, password=None)
    mine = private.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    assert public_der(encoded.encode()) == mine
    assert stat.S_IMODE(key_path(BUCKET, "photos").stat().st_mode) == 0o600
    assert key.url == record["url"] and key.url.startswith("https://")
    # the key group holds that key alone
    (group_sent,) = operation(cdn_proxy.requests, "POST", "key-group")
    assert [x.text for x in group_sent.xml().findall("Items/PublicKey")] == [key.public_key_id]
    assert key_groups.groups[group_id]["items"] == [key.public_key_id]
    # the two behaviours: _auth first (unsigned, never cached), then the signed folder
    config = sent_distribution(cdn_proxy.requests)
    auth, pages = behaviours(config)
    default = config.find("DefaultCacheBehavior")
    assert auth["pattern"] == "photos/_auth" and auth["enabled"] == "false"
    assert auth["groups"] == [] and auth["cache"] == CACHING_DISABLED_POLICY
    assert pages["pattern"] == "photos/*" and pages["enabled"] == "true"
    assert pages["groups"] == [group_id]
    assert pages["cache"] == find(default, "CachePolicyId")
    for item in (auth, pages):
        assert item["viewer"] == "redirect-to-https"
        assert item["headers"] == find(default, "ResponseHeadersPolicyId")
        assert item["function"] == record["function_arn"]
    errors = {
        find(e, "ErrorCode"): (find(e, "ResponsePagePath"), find(e, "ResponseCode"))
        for e in config.findall("CustomErrorResponses/Items/CustomErrorResponse")
    }
    assert errors == {"404": ("/error.html", "404"), "403": ("/private.html", "403")}
    # the page is the bucket root's, which CloudFront may read
    page = s3.get_object(Bucket=BUCKET, Key="private.html")["Body"].read().decode()
    assert "This gallery is private" in page and "photos" not in page


def test_an_unchanged_private_gallery_publishes_in_one_request_and_a_switch_sets_up_again(
    site: Path,
    cdn_proxy: RecordingProxy,
    stand_ins: CloudFrontStandIns,
    key_groups: KeyGroupStands,
    s3: Any,
) -> None:
    first_publish(site, cdn_proxy)  # public first
    assert "private" not in live_hosting(s3)["cdn"]
    mark = cdn_proxy.mark()
    private_publish(site, cdn_proxy)  # the switch: the set-up again
    sent = cdn_proxy.since(mark)
    assert operation(sent, "POST", "key-group") and behaviours(sent_distribution(sent))
    mark = cdn_proxy.mark()
    result = private_publish(site, cdn_proxy)
    assert not result.committed
    assert [str(r) for r in cdn_proxy.since(mark)] == [f"GET /{BUCKET}/photos/manifest.json -> 200"]


def test_a_second_private_gallery_keeps_the_first_ones_behaviours(
    site: Path,
    cdn_proxy: RecordingProxy,
    stand_ins: CloudFrontStandIns,
    key_groups: KeyGroupStands,
    s3: Any,
    cf: Any,
) -> None:
    private_publish(site, cdn_proxy)
    first = live_hosting(s3)["cdn"]["private"]["key_group_id"]
    mark = cdn_proxy.mark()
    private_publish(site, cdn_proxy, "other")
    MEASURED["second private gallery"] = counts(cdn_proxy.since(mark))
    second = live_hosting(s3, "other")["cdn"]["private"]["key_group_id"]
    assert first != second
    sent = behaviours(sent_distribution(cdn_proxy.since(mark)))
    assert [(b["pattern"], b["groups"]) for b in sent] == [
        ("other/_auth", []),
        ("other/*", [second]),
        ("photos/_auth", []),
        ("photos/*", [first]),
    ]
    # what moto dropped on read-back (the function association) is sent again
    assert all(b["function"] for b in sent)
    ident = live_hosting(s3)["cdn"]["distribution_id"]
    kept = cf.get_distribution_config(Id=ident)["DistributionConfig"]["CacheBehaviors"]["Items"]
    assert [b["PathPattern"] for b in kept] == [
        "other/_auth",
        "other/*",
        "photos/_auth",
        "photos/*",
    ]


def test_a_public_gallerys_set_up_keeps_a_private_ones_behaviours(
    site: Path,
    cdn_proxy: RecordingProxy,
    stand_ins: CloudFrontStandIns,
    key_groups: KeyGroupStands,
    s3: Any,
    cf: Any,
) -> None:
    private_publish(site, cdn_proxy)
    group = live_hosting(s3)["cdn"]["private"]["key_group_id"]
    ident = live_hosting(s3)["cdn"]["distribution_id"]
    # drift, so that the public gallery's set-up sends the distribution again
    found = cf.get_distribution_config(Id=ident)
    changed = {**found["DistributionConfig"], "IsIPV6Enabled": False}
    cf.update_distribution(Id=ident, IfMatch=found["ETag"], DistributionConfig=changed)
    mark = cdn_proxy.mark()
    publish(site, cdn_publisher(cdn_proxy.url, target=f"s3://{BUCKET}/open"), "open")
    config = sent_distribution(cdn_proxy.since(mark))
    assert [(b["pattern"], b["groups"]) for b in behaviours(config)] == [
        ("photos/_auth", []),
        ("photos/*", [group]),
    ]
    codes = [
        find(e, "ErrorCode")
        for e in config.findall("CustomErrorResponses/Items/CustomErrorResponse")
    ]
    assert sorted(codes) == ["403", "404"]
    assert "private" not in live_hosting(s3, "open")["cdn"]


def test_a_private_gallery_published_without_private_is_refused_before_any_write(
    site: Path,
    cdn_proxy: RecordingProxy,
    stand_ins: CloudFrontStandIns,
    key_groups: KeyGroupStands,
    s3: Any,
) -> None:
    private_publish(site, cdn_proxy)
    (source_file := site / "extra.txt").write_text("x")  # something to publish
    mark = cdn_proxy.mark()
    with pytest.raises(SettingError) as refused:
        publish(
            site,
            cdn_publisher(cdn_proxy.url, target=f"s3://{BUCKET}/photos"),
            "photos",
            reconfigure=True,
        )
    assert str(refused.value) == (
        f"s3://{BUCKET}/photos is private: publish with --private to keep it so, or with "
        "--no-private to make it public (every page becomes readable by anyone)"
    )
    assert [r.method for r in cdn_proxy.since(mark)] == ["GET"]
    source_file.unlink()


def test_no_private_removes_the_behaviours_and_says_the_key_group_stays(
    site: Path,
    cdn_proxy: RecordingProxy,
    stand_ins: CloudFrontStandIns,
    key_groups: KeyGroupStands,
    s3: Any,
) -> None:
    private_publish(site, cdn_proxy)
    group = live_hosting(s3)["cdn"]["private"]["key_group_id"]
    mark = cdn_proxy.mark()
    result = publish(
        site, cdn_publisher(cdn_proxy.url, target=f"s3://{BUCKET}/photos", private=False), "photos"
    )
    config = sent_distribution(cdn_proxy.since(mark))
    assert behaviours(config) == []
    codes = [
        find(e, "ErrorCode")
        for e in config.findall("CustomErrorResponses/Items/CustomErrorResponse")
    ]
    assert codes == ["404"]
    assert "private" not in live_hosting(s3)["cdn"]
    assert group in key_groups.groups
    assert any(f"key group {group} stays" in note for note in result.notes)


def test_the_distribution_serving_a_gallery_signed_only_refuses_a_publish_that_does_not_say(
    site: Path,
    cdn_proxy: RecordingProxy,
    stand_ins: CloudFrontStandIns,
    key_groups: KeyGroupStands,
    s3: Any,
) -> None:
    """The record lost the private mark (an earlier publish died after its set-up): the
    distribution's behaviour still says it, and nothing is written."""
    private_publish(site, cdn_proxy)
    live = json.loads(s3.get_object(Bucket=BUCKET, Key="photos/manifest.json")["Body"].read())
    del live["hosting"]["cdn"]["private"]
    live["hosting"]["fingerprint"] = "old"
    s3.put_object(Bucket=BUCKET, Key="photos/manifest.json", Body=json.dumps(live).encode())
    mark = cdn_proxy.mark()
    with pytest.raises(SettingError, match=r"is private \(the distribution's cache behaviour"):
        publish(site, cdn_publisher(cdn_proxy.url, target=f"s3://{BUCKET}/photos"), "photos")
    assert [r for r in cdn_proxy.since(mark) if r.method not in ("GET", "HEAD")] == []


def test_a_key_group_deleted_behind_our_back_is_named_and_made_again(
    site: Path,
    cdn_proxy: RecordingProxy,
    stand_ins: CloudFrontStandIns,
    key_groups: KeyGroupStands,
    s3: Any,
    cf: Any,
) -> None:
    private_publish(site, cdn_proxy)
    old = live_hosting(s3)["cdn"]["private"]["key_group_id"]
    by_hand = aws("cloudfront", cdn_proxy.url)  # the proxy holds the key groups
    by_hand.delete_key_group(Id=old, IfMatch=by_hand.get_key_group(Id=old)["ETag"])
    assert old not in key_groups.groups
    result = private_publish(site, cdn_proxy, reconfigure=True)
    notes = " | ".join(result.notes)
    assert f"the key group {old} of the private gallery s3://{BUCKET}/photos is gone" in notes
    (new,) = key_groups.groups
    assert live_hosting(s3)["cdn"]["private"] == {"key_group_id": new}
    assert load_key(BUCKET, "photos").key_group_id == new  # type: ignore[union-attr]
    (_, pages) = behaviours(sent_distribution(cdn_proxy.requests))
    assert pages["groups"] == [new]


def test_revoke_swaps_the_key_in_the_group_and_deletes_the_old_one(
    site: Path,
    cdn_proxy: RecordingProxy,
    stand_ins: CloudFrontStandIns,
    key_groups: KeyGroupStands,
    s3: Any,
    cf: Any,
) -> None:
    private_publish(site, cdn_proxy)
    before = load_key(BUCKET, "photos")
    assert before is not None
    (group,) = key_groups.groups
    etag = key_groups.groups[group]["etag"]
    mark = cdn_proxy.mark()
    after = cdn_publisher(cdn_proxy.url, target=f"s3://{BUCKET}/photos").revoke_invitations()
    sent = cdn_proxy.since(mark)
    MEASURED["revoke_invitations"] = counts(sent)
    assert after.public_key_id != before.public_key_id and after.key_group_id == group
    assert after.private_pem != before.private_pem and after.url == before.url
    assert load_key(BUCKET, "photos") == after
    (update,) = [r for r in sent if r.method == "PUT" and r.path == f"{CF}key-group/{group}"]
    assert update.headers["if-match"] == etag
    assert [x.text for x in update.xml().findall("Items/PublicKey")] == [after.public_key_id]
    (delete,) = [r for r in sent if r.method == "DELETE"]
    assert delete.path == f"{CF}public-key/{before.public_key_id}" and delete.status == 204
    assert delete.headers["if-match"]
    assert sent.index(update) < sent.index(delete)
    ids = [k["Id"] for k in cf.list_public_keys()["PublicKeyList"].get("Items") or []]
    assert ids == [after.public_key_id]
    (created,) = [r for r in sent if r.method == "POST" and r.path == f"{CF}public-key"]
    assert public_der(find(created.xml(), "EncodedKey").encode()) == public_der(after.public_pem)


def test_revoking_a_public_gallery_says_what_to_do(
    site: Path,
    cdn_proxy: RecordingProxy,
    stand_ins: CloudFrontStandIns,
    key_groups: KeyGroupStands,
) -> None:
    from gallery_builder.errors import GalleryError

    first_publish(site, cdn_proxy)
    with pytest.raises(GalleryError, match="is not a private gallery"):
        cdn_publisher(cdn_proxy.url, target=f"s3://{BUCKET}/photos").revoke_invitations()


def test_private_needs_cloudfront_and_a_folder_of_its_own(s3_server: Any) -> None:
    with pytest.raises(SettingError, match=r"needs CloudFront \(--cdn cloudfront\)"):
        from gallery_builder.plugins.s3 import s3_publisher

        s3_publisher(f"s3://{BUCKET}/photos", endpoint_url=s3_server.endpoint, private=True)
    publisher = cdn_publisher(s3_server.endpoint, private=True)
    with pytest.raises(SettingError, match=f"publish to s3://{BUCKET}/NAME"):
        publisher.hosting_fingerprint("")
    with pytest.raises(SettingError, match="letters, digits"):
        publisher.hosting_fingerprint("two words")


def test_the_dry_run_says_what_making_it_private_would_do_and_sends_no_write(
    site: Path,
    cdn_proxy: RecordingProxy,
    stand_ins: CloudFrontStandIns,
    key_groups: KeyGroupStands,
) -> None:
    first_publish(site, cdn_proxy)
    mark = cdn_proxy.mark()
    publisher = cdn_publisher(cdn_proxy.url, target=f"s3://{BUCKET}/photos", private=True)
    result = publish(site, publisher, "photos", dry_run=True)
    plan = "\n".join(result.hosting_plan)
    assert "key group gallery-cdn-gallery-photos-" in plan and ": create, with a new key" in plan
    assert "cache behaviours photos/_auth and photos/*: add" in plan
    assert "403 error response: the bucket root's /private.html" in plan
    assert [r for r in cdn_proxy.since(mark) if r.method not in ("GET", "HEAD")] == []
    assert key_groups.groups == {}


def test_the_bucket_root_lists_a_private_gallery_by_its_folder_alone(
    source: Path,
    tmp_path: Path,
    cdn_proxy: RecordingProxy,
    stand_ins: CloudFrontStandIns,
    key_groups: KeyGroupStands,
    s3: Any,
) -> None:
    """The root page is public: a private gallery's title must not be on it, nor its cover
    (CloudFront would answer 403 for it); a public gallery beside it is listed as ever."""
    import pictures

    from gallery_builder.testing import build_gallery

    sites = {}
    for name, title in (("wedding", "Ana and Luis Secret Wedding"), ("trips", "Open Trips")):
        folder = tmp_path / f"src-{name}"
        (folder / "gallery.toml").parent.mkdir(parents=True)
        (folder / "gallery.toml").write_text(f'[gallery]\ntitle = "{title}"\n', encoding="utf-8")
        pictures.jpeg(folder / "a.jpg", taken="2024:01:01 10:00:00")
        sites[name] = tmp_path / f"site-{name}"
        build_gallery(folder, sites[name])
    private_publish(sites["wedding"], cdn_proxy, "wedding")
    publish(sites["trips"], cdn_publisher(cdn_proxy.url, target=f"s3://{BUCKET}/trips"), "trips")
    root = s3.get_object(Bucket=BUCKET, Key="index.html")["Body"].read().decode()
    assert 'href="wedding/"' in root and "By invitation" in root
    assert "Secret Wedding" not in root and "wedding/a." not in root
    assert "Open Trips" in root and "trips/a." in root  # a public gallery: title and cover


# --- the first private publish, when its key cannot be kept -----------------------------------


def writes(requests: list[Any]) -> list[str]:
    return [str(r) for r in requests if r.method not in ("GET", "HEAD")]


def test_a_private_publish_that_cannot_keep_its_key_makes_nothing_in_cloudfront(
    site: Path,
    cdn_proxy: RecordingProxy,
    stand_ins: CloudFrontStandIns,
    key_groups: KeyGroupStands,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """GALLERY_KEYS_DIR under a regular file: the folder is checked (made, a probe written
    and removed) before any write, so no public key is made whose private half is lost."""
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("x")
    monkeypatch.setenv("GALLERY_KEYS_DIR", str(blocker / "keys"))
    with pytest.raises(GalleryError, match="cannot make the folder") as refused:
        private_publish(site, cdn_proxy)
    message = str(refused.value)
    assert str(blocker / "keys") in message and "GALLERY_KEYS_DIR" in message
    assert "nothing was sent to CloudFront" in message and "\n" not in message
    assert writes(cdn_proxy.requests) == []
    assert key_groups.groups == {}
    keys = aws("cloudfront", cdn_proxy.url).list_public_keys()["PublicKeyList"]
    assert keys.get("Items", []) == []


# --- galleries inside a private gallery's folder ------------------------------------------------


def public_publish(site: Path, proxy: RecordingProxy, prefix: str, **options: Any) -> Any:
    return publish(site, cdn_publisher(proxy.url, target=f"s3://{BUCKET}/{prefix}"), prefix,
                   **options)  # fmt: skip


@pytest.mark.parametrize("dry_run", [False, True])
def test_making_a_folder_private_never_makes_a_public_gallery_inside_it_private(
    site: Path,
    cdn_proxy: RecordingProxy,
    stand_ins: CloudFrontStandIns,
    key_groups: KeyGroupStands,
    dry_run: bool,
) -> None:
    """docs/https.md: "a public gallery stays public". A public gallery at photos/inner, then
    photos made private: photos/* would cover photos/inner/ too. Refused before any write,
    naming photos/inner (the dry run says the same)."""
    public_publish(site, cdn_proxy, "photos/inner")
    mark = cdn_proxy.mark()
    with pytest.raises(SettingError) as refused:
        private_publish(site, cdn_proxy, dry_run=dry_run)
    assert str(refused.value).startswith(
        f"s3://{BUCKET}/photos cannot be private: the gallery s3://{BUCKET}/photos/inner is "
        "inside its folder"
    ), refused.value
    assert writes(cdn_proxy.since(mark)) == []
    assert key_groups.groups == {}


@pytest.mark.parametrize("private", [None, True])
@pytest.mark.parametrize("dry_run", [False, True])
def test_a_gallery_inside_a_private_ones_folder_is_refused(
    site: Path,
    cdn_proxy: RecordingProxy,
    stand_ins: CloudFrontStandIns,
    key_groups: KeyGroupStands,
    s3: Any,
    private: bool | None,
    dry_run: bool,
) -> None:
    """photos is private: a gallery at photos/inner would be behind photos/* (photos' key
    group only), whatever it asks; refused before any write, from the distribution's
    behaviours (the dry run says the same)."""
    private_publish(site, cdn_proxy)
    mark = cdn_proxy.mark()
    inner = cdn_publisher(cdn_proxy.url, target=f"s3://{BUCKET}/photos/inner", private=private)
    with pytest.raises(SettingError) as refused:
        publish(site, inner, "photos/inner", dry_run=dry_run)
    assert str(refused.value).startswith(
        f"s3://{BUCKET}/photos/inner is inside the private gallery s3://{BUCKET}/photos, "
    ), refused.value
    assert "publish this gallery to a folder outside photos/" in str(refused.value)
    assert writes(cdn_proxy.since(mark)) == []
    assert len(key_groups.groups) == 1
    found = s3.list_objects_v2(Bucket=BUCKET, Prefix="photos/inner/").get("Contents", [])
    assert found == []


def test_galleries_beside_a_private_one_are_not_inside_it(
    site: Path,
    cdn_proxy: RecordingProxy,
    stand_ins: CloudFrontStandIns,
    key_groups: KeyGroupStands,
) -> None:
    """photos-2 and photosinner share photos' leading letters, not its folder."""
    public_publish(site, cdn_proxy, "photos-2")
    private_publish(site, cdn_proxy)
    assert public_publish(site, cdn_proxy, "photosinner").committed


# --- the local key follows the distribution's URL ---------------------------------------------


def test_a_set_up_that_gives_the_gallery_another_url_updates_the_local_key(
    site: Path,
    cdn_proxy: RecordingProxy,
    stand_ins: CloudFrontStandIns,
    key_groups: KeyGroupStands,
    s3: Any,
) -> None:
    """The key keeps the URL the links start with; a later set-up that serves the gallery at
    another URL (here: the key made when the distribution had another one, as before a
    --domain was added) updates it, and says so."""
    from dataclasses import replace

    from gallery_builder.plugins.cloudfront_keys import save_key

    private_publish(site, cdn_proxy)
    made = load_key(BUCKET, "photos")
    assert made is not None
    save_key(replace(made, url="https://d111old.cloudfront.net/"))
    result = private_publish(site, cdn_proxy, reconfigure=True)
    url = live_hosting(s3)["cdn"]["url"]
    assert load_key(BUCKET, "photos") == replace(made, url=url)
    assert any(f"now start with {url}" in note for note in result.notes), result.notes
    # the same URL: the key file is left alone
    before = key_path(BUCKET, "photos").stat().st_mtime_ns
    private_publish(site, cdn_proxy, reconfigure=True)
    assert key_path(BUCKET, "photos").stat().st_mtime_ns == before
