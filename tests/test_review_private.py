"""Review of issue 10 (private galleries): problems found trying both modes as a user would.

Every test here FAILS ON PURPOSE against the code reviewed (main at 7887692); each says what
the docs promise and what happens instead. Real parts only: moto in server mode (straight,
where its 500 for UpdateKeyGroup stands for any refusal CloudFront may give), the recording
proxy's stand-ins where moto lacks key groups, the real ``gallery`` command, Node for the
unlock shell's own routing, headless Chromium through ``gallery serve``'s server.
"""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest
from cdnenv import BUCKET, aws, cdn_publisher, find, first_publish, sent_distribution
from conftest import gallery
from recording_proxy import CloudFrontStandIns, KeyGroupStands, RecordingProxy

from gallery_builder.errors import GalleryError
from gallery_builder.publishing import publish

PASSWORD = "correct horse battery staple"


@pytest.fixture(autouse=True)
def _keys(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "keys"
    monkeypatch.setenv("GALLERY_KEYS_DIR", str(folder))
    monkeypatch.setenv("GALLERY_CLEAR_DIR", str(tmp_path / "clear"))
    return folder


def public_key_ids(endpoint: str) -> list[str]:
    listed = aws("cloudfront", endpoint).list_public_keys()["PublicKeyList"]
    return sorted(item["Id"] for item in listed.get("Items", []))


def key_group_names(endpoint: str) -> list[str]:
    listed = aws("cloudfront", endpoint).list_key_groups()["KeyGroupList"]
    return sorted(g["KeyGroup"]["KeyGroupConfig"]["Name"] for g in listed.get("Items", []))


# --- gallery invite --revoke-all that CloudFront refuses ------------------------------------


def _private_on_moto(site: Path, endpoint: str) -> None:
    publisher = cdn_publisher(endpoint, target=f"s3://{BUCKET}/photos", private=True)
    publish(site, publisher, "photos")


def _revoke(endpoint: str) -> subprocess.CompletedProcess[str]:
    return gallery(
        "invite", f"s3://{BUCKET}/photos", "--revoke-all",
        "--endpoint-url", endpoint, "--region", "us-east-1",
    )  # fmt: skip


def test_a_refused_revoke_leaves_no_orphan_public_key(site: Path, s3_server: Any) -> None:
    """--revoke-all uploads the new public key (CreatePublicKey) before UpdateKeyGroup; when
    CloudFront refuses the update, the new public key stays in the account, held by no key
    group, its private half thrown away. Each retry leaves one more (AWS counts public keys
    against a per-account quota). Expected: the key it made is deleted again (or none left)."""
    _private_on_moto(site, s3_server.endpoint)
    before = public_key_ids(s3_server.endpoint)
    run = _revoke(s3_server.endpoint)
    assert run.returncode == 1 and run.stderr.startswith("Error: "), run.stderr
    assert public_key_ids(s3_server.endpoint) == before


def test_a_refused_revoke_says_to_run_revoke_again_not_publish(site: Path, s3_server: Any) -> None:
    """The message of a refused --revoke-all ends "fix that, then run gallery publish again",
    which does not revoke anything: the user must run gallery invite --revoke-all again."""
    _private_on_moto(site, s3_server.endpoint)
    run = _revoke(s3_server.endpoint)
    assert run.returncode == 1
    assert "gallery invite --revoke-all" in run.stderr, run.stderr


# --- the first private publish, when the key cannot be kept ----------------------------------


def test_a_private_publish_that_cannot_keep_its_key_makes_nothing_in_cloudfront(
    site: Path, s3_server: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """GALLERY_KEYS_DIR that cannot be written (here: under a regular file). The publish fails
    with "cannot make the folder ...", but only after it made the public key and key group
    and set up the distribution with the gallery's two behaviours: the private half is lost,
    the error does not say anything was made. Expected: the key is saved (or its folder
    checked) before anything is sent to CloudFront."""
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("x")
    monkeypatch.setenv("GALLERY_KEYS_DIR", str(blocker / "keys"))
    with pytest.raises(GalleryError, match="cannot make the folder"):
        _private_on_moto(site, s3_server.endpoint)
    assert public_key_ids(s3_server.endpoint) == []
    assert key_group_names(s3_server.endpoint) == []


# --- a private gallery over a public one's folder --------------------------------------------


def behaviour_groups(config: Any) -> list[tuple[str | None, list[str | None]]]:
    return [
        (
            find(item, "PathPattern"),
            [x.text for x in item.findall("TrustedKeyGroups/Items/KeyGroup")],
        )
        for item in config.findall("CacheBehaviors/Items/CacheBehavior")
    ]


def test_making_a_folder_private_never_makes_a_public_gallery_inside_it_private(
    site: Path,
    cdn_proxy: RecordingProxy,
    stand_ins: CloudFrontStandIns,
    key_groups: KeyGroupStands,
) -> None:
    """docs/https.md: "Other galleries in the same bucket keep their own settings: a public
    gallery stays public". A public gallery at photos/inner, then photos made private: the
    behaviour photos/* (signed cookies only) now covers photos/inner/ too, silently. Expected:
    refused (naming photos/inner), or photos/inner/* kept open ahead of photos/*."""
    first_publish(site, cdn_proxy, target=f"s3://{BUCKET}/photos/inner")
    mark = cdn_proxy.mark()
    publisher = cdn_publisher(cdn_proxy.url, target=f"s3://{BUCKET}/photos", private=True)
    try:
        publish(site, publisher, "photos")
    except GalleryError as refused:
        assert "photos/inner" in str(refused)
        return
    sent = behaviour_groups(sent_distribution(cdn_proxy.since(mark)))
    patterns = [pattern for pattern, _ in sent]
    assert "photos/inner/*" in patterns, sent
    assert patterns.index("photos/inner/*") < patterns.index("photos/*")
    assert dict(sent)["photos/inner/*"] == []
