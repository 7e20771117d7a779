"""``gallery invite --revoke-all`` end to end: a private gallery published to moto (through
the recording proxy, which keeps the key groups moto lacks), a link made, the key rotated by
the real command; the old link's key is out of the key group and the new link verifies with
the public key CloudFront was sent."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest
from cdnenv import BUCKET, aws, cdn_publisher, find, first_publish, operation
from conftest import gallery
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding
from gallery_builder.plugins.cloudfront_keys import key_path, load_key
from recording_proxy import CloudFrontStandIns, KeyGroupStands, RecordingProxy

from gallery_builder.publishing import publish

TARGET = f"s3://{BUCKET}/photos"


@pytest.fixture(autouse=True)
def _keys(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "keys"
    monkeypatch.setenv("GALLERY_KEYS_DIR", str(folder))
    return folder


def b64(text: str) -> bytes:
    return base64.b64decode(text.replace("-", "+").replace("_", "=").replace("~", "/"))


def verify_link(link: str, public_pem: bytes) -> str:
    """Check the link's signature with ``public_pem``; its Key-Pair-Id."""
    query = dict(parse_qsl(urlsplit(link).query))
    public = serialization.load_pem_public_key(public_pem)
    public.verify(b64(query["Signature"]), b64(query["Policy"]), padding.PKCS1v15(), hashes.SHA1())
    return query["Key-Pair-Id"]


def uploaded_public_keys(proxy: RecordingProxy) -> list[bytes]:
    """The public keys sent to CloudFront (CreatePublicKey), in order, as PEM."""
    return [
        find(r.xml(), "EncodedKey").encode()
        for r in operation(proxy.requests, "POST", "public-key")
    ]


def invite(*args: str, env: dict[str, str] | None = None) -> Any:
    return gallery("invite", TARGET, *args, env=env)


def test_revoke_all_replaces_the_key_of_every_earlier_link(
    site: Path,
    cdn_proxy: RecordingProxy,
    stand_ins: CloudFrontStandIns,
    key_groups: KeyGroupStands,
) -> None:
    publish(site, cdn_publisher(cdn_proxy.url, target=TARGET, private=True), "photos")
    (group,) = key_groups.groups
    [first_public] = uploaded_public_keys(cdn_proxy)
    old = invite("--note", "for Ana")
    assert old.returncode == 0, old.stderr
    old_link = old.stdout.strip()
    old_id = verify_link(old_link, first_public)
    assert key_groups.groups[group]["items"] == [old_id]

    revoked = invite("--revoke-all", "--endpoint-url", cdn_proxy.url, "--region", "us-east-1")
    assert revoked.returncode == 0, revoked.stderr
    assert revoked.stdout == ""  # no link: the next gallery invite makes one
    key = load_key(BUCKET, "photos")
    assert key is not None and key.public_key_id != old_id
    assert key_groups.groups[group]["items"] == [key.public_key_id]  # the old key is out
    assert f"a new key {key.public_key_id} (it replaces {old_id})" in revoked.stderr
    assert "every earlier invitation link stops working" in revoked.stderr

    [_, new_public] = uploaded_public_keys(cdn_proxy)
    new = invite("--expires", "2w")
    assert new.returncode == 0, new.stderr
    assert verify_link(new.stdout.strip(), new_public) == key.public_key_id
    with pytest.raises(InvalidSignature):
        verify_link(old_link, new_public)

    listed = invite("--list")
    assert listed.returncode == 0, listed.stderr
    first, second = listed.stdout.splitlines()
    assert " revoked " in first and old_id in first and first.endswith("for Ana")
    assert " valid " in second and key.public_key_id in second


def test_revoke_all_of_a_public_gallery_is_one_error(
    site: Path,
    cdn_proxy: RecordingProxy,
    stand_ins: CloudFrontStandIns,
    key_groups: KeyGroupStands,
) -> None:
    first_publish(site, cdn_proxy, target=TARGET)
    run = invite("--revoke-all", "--endpoint-url", cdn_proxy.url, "--region", "us-east-1")
    assert run.returncode == 1
    assert run.stderr.startswith("Error: ") and "is not a private gallery" in run.stderr
    assert len(run.stderr.splitlines()) == 1
    assert load_key(BUCKET, "photos") is None


def test_revoke_all_on_a_machine_without_the_key_makes_one_here(
    site: Path,
    cdn_proxy: RecordingProxy,
    stand_ins: CloudFrontStandIns,
    key_groups: KeyGroupStands,
) -> None:
    """What the missing-key error advises: the lost key is replaced, links work again."""
    from gallery_builder.plugins.cloudfront_keys import key_path

    publish(site, cdn_publisher(cdn_proxy.url, target=TARGET, private=True), "photos")
    key_path(BUCKET, "photos").unlink()
    assert invite().returncode == 1
    run = invite("--revoke-all", "--endpoint-url", cdn_proxy.url, "--region", "us-east-1")
    assert run.returncode == 0, run.stderr
    assert "replaces" not in run.stderr
    [_, new_public] = uploaded_public_keys(cdn_proxy)
    link = invite()
    assert link.returncode == 0, link.stderr
    (group,) = key_groups.groups
    assert key_groups.groups[group]["items"] == [verify_link(link.stdout.strip(), new_public)]


# --- a revoke CloudFront refuses ---------------------------------------------------------------


def public_key_ids(endpoint: str) -> list[str]:
    listed = aws("cloudfront", endpoint).list_public_keys()["PublicKeyList"]
    return sorted(item["Id"] for item in listed.get("Items", []))


def refused_revoke(site: Path, endpoint: str) -> tuple[Any, list[str]]:
    """A private gallery on moto straight (whose UpdateKeyGroup answers 500: it stands for any
    refusal), then ``--revoke-all``: the run and the public keys before it. One attempt per
    request (botocore would retry the 500 for about 40 s, and under load past the timeout)."""
    publish(site, cdn_publisher(endpoint, target=TARGET, private=True), "photos")
    before = public_key_ids(endpoint)
    args = ("--revoke-all", "--endpoint-url", endpoint, "--region", "us-east-1")
    return invite(*args, env={"AWS_MAX_ATTEMPTS": "1"}), before


def test_a_refused_revoke_leaves_no_orphan_public_key(site: Path, s3_server: Any) -> None:
    """The new public key is made (CreatePublicKey) before UpdateKeyGroup: refused, it is
    deleted again (its private half is thrown away), and the local key is the old one."""
    run, before = refused_revoke(site, s3_server.endpoint)
    kept = load_key(BUCKET, "photos")
    assert run.returncode == 1 and run.stderr.startswith("Error: "), run.stderr
    assert len(run.stderr.splitlines()) == 1
    assert public_key_ids(s3_server.endpoint) == before
    assert "UpdateKeyGroup" in run.stderr and " was deleted again" in run.stderr
    assert kept is not None and kept.public_key_id in before  # the old key still signs
    assert invite().returncode == 0


def test_a_refused_revoke_says_to_run_revoke_again_not_publish(site: Path, s3_server: Any) -> None:
    run, _ = refused_revoke(site, s3_server.endpoint)
    assert run.returncode == 1
    assert run.stderr.rstrip().endswith("then run gallery invite --revoke-all again"), run.stderr
    assert "gallery publish" not in run.stderr and "live gallery is unchanged" not in run.stderr


def test_a_refused_revoke_whose_new_key_cannot_be_deleted_either_says_so(
    site: Path,
    cdn_proxy: RecordingProxy,
    stand_ins: CloudFrontStandIns,
    key_groups: KeyGroupStands,
) -> None:
    """Someone changed the key group meanwhile (412), and the new public key's delete is
    refused too: the one line names the key left behind and where to delete it."""
    from recording_proxy import CF

    publish(site, cdn_publisher(cdn_proxy.url, target=TARGET, private=True), "photos")
    cdn_proxy.fail("PUT", f"{CF}key-group/[^/]+", 412, "PreconditionFailed", "stale ETag")
    cdn_proxy.fail("DELETE", f"{CF}public-key/[^/]+", 409, "PublicKeyInUse", "in use")
    run = invite("--revoke-all", "--endpoint-url", cdn_proxy.url, "--region", "us-east-1")
    assert run.returncode == 1 and len(run.stderr.splitlines()) == 1, run.stderr
    old = load_key(BUCKET, "photos")
    assert old is not None  # the old key is kept: it still signs
    (left,) = set(public_key_ids(cdn_proxy.url)) - {old.public_key_id}
    assert f"the new public key {left} could not be deleted either" in run.stderr, run.stderr
    assert "delete it in the CloudFront console" in run.stderr
    assert run.stderr.rstrip().endswith("then run gallery invite --revoke-all again")
    assert "PreconditionFailed" in run.stderr and "gallery publish" not in run.stderr


# --- a gallery made public again ---------------------------------------------------------------


def test_invite_refuses_a_gallery_published_with_no_private_and_list_shows_its_links_retired(
    site: Path,
    cdn_proxy: RecordingProxy,
    stand_ins: CloudFrontStandIns,
    key_groups: KeyGroupStands,
) -> None:
    """gallery invite is offline: the local key outlives the gallery's privacy, so
    --no-private marks it retired; --private again makes it usable (the same key group)."""
    publish(site, cdn_publisher(cdn_proxy.url, target=TARGET, private=True), "photos")
    assert invite("--note", "for Ana").returncode == 0
    public = cdn_publisher(cdn_proxy.url, target=TARGET, private=False)
    result = publish(site, public, "photos", reconfigure=True)
    assert any("marked retired" in note for note in result.notes), result.notes
    run = invite()
    assert run.returncode == 1 and run.stdout == ""
    assert run.stderr.startswith(
        f"Error: {TARGET} is not private any more (published with --no-private): "
    ), run.stderr
    assert len(run.stderr.splitlines()) == 1
    listed = invite("--list")
    assert listed.returncode == 0, listed.stderr
    (line,) = listed.stdout.splitlines()
    assert " retired " in line and " valid " not in line and line.endswith("for Ana")
    assert "not private any more" in listed.stderr
    # private again: the key is the gallery's again
    publish(site, cdn_publisher(cdn_proxy.url, target=TARGET, private=True), "photos")
    again = invite()
    assert again.returncode == 0, again.stderr
    assert " valid " in invite("--list").stdout.splitlines()[-1]
    assert key_path(BUCKET, "photos").exists()
