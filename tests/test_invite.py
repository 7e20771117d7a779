"""Invitation links (plugins/cloudfront_invite.py) and ``gallery invite`` (cli_invite.py):
the test decodes each signed policy itself and checks its RSA-SHA1 signature against the
public key, its resource scope and its expiry; the command runs as a real child process."""

from __future__ import annotations

import base64
import json
import os
import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import pytest
from conftest import gallery
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding
from gallery_builder.plugins.cloudfront_invite import (
    Invitation,
    invitation_link,
    invitation_status,
    lifetime_words,
    parse_expires,
    read_invitations,
    record_invitation,
)
from gallery_builder.plugins.cloudfront_keys import (
    GalleryKey,
    invitations_path,
    new_key_pair,
    save_key,
)

from gallery_builder.errors import SettingError

NOW = datetime(2026, 12, 2, 5, 30, tzinfo=UTC)


@pytest.fixture(scope="module")
def pair() -> tuple[bytes, bytes]:
    return new_key_pair()


@pytest.fixture
def keys(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "keys"
    monkeypatch.setenv("GALLERY_KEYS_DIR", str(folder))
    return folder


def a_key(
    pair: tuple[bytes, bytes], prefix: str = "family", key_id: str = "K2JCJMDEHXQW5F"
) -> GalleryKey:
    return GalleryKey(
        bucket="photos-bucket",
        prefix=prefix,
        public_key_id=key_id,
        key_group_id="group-1",
        url="https://photos.example.com/",
        private_pem=pair[0],
        public_pem=pair[1],
    )


def cloudfront_b64decode(text: str) -> bytes:
    """CloudFront's URL-safe base64: '-' for '+', '_' for '=', '~' for '/'."""
    return base64.b64decode(text.replace("-", "+").replace("_", "=").replace("~", "/"))


def checked_policy(link: str, public_pem: bytes) -> tuple[dict, dict]:
    """The link's query and its policy, after checking the signature with ``public_pem``."""
    query = dict(parse_qsl(urlsplit(link).query, keep_blank_values=True))
    assert set(query) == {"Policy", "Signature", "Key-Pair-Id"}
    for name in ("Policy", "Signature"):  # nothing a URL would have to escape
        assert set(query[name]) <= set(
            "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_~"
        )
    policy_bytes = cloudfront_b64decode(query["Policy"])
    public = serialization.load_pem_public_key(public_pem)
    public.verify(
        cloudfront_b64decode(query["Signature"]), policy_bytes, padding.PKCS1v15(), hashes.SHA1()
    )
    return query, json.loads(policy_bytes)


# --- the signed link ------------------------------------------------------------------------


def test_link_opens_the_auth_path_with_a_policy_for_the_whole_gallery(
    pair: tuple[bytes, bytes],
) -> None:
    expires = NOW + timedelta(days=30)
    link = invitation_link(a_key(pair, "family"), expires)
    parts = urlsplit(link)
    assert (parts.scheme, parts.netloc, parts.path) == (
        "https",
        "photos.example.com",
        "/family/_auth",
    )
    query, policy = checked_policy(link, pair[1])
    assert query["Key-Pair-Id"] == "K2JCJMDEHXQW5F"
    [statement] = policy["Statement"]
    assert statement["Resource"] == "https://photos.example.com/family/*"
    assert statement["Condition"] == {"DateLessThan": {"AWS:EpochTime": int(expires.timestamp())}}


def test_a_nested_or_unusual_prefix_is_quoted_in_both_path_and_resource(
    pair: tuple[bytes, bytes],
) -> None:
    link = invitation_link(a_key(pair, "trips/2024 été"), NOW + timedelta(hours=1))
    assert urlsplit(link).path == "/trips/2024%20%C3%A9t%C3%A9/_auth"
    _, policy = checked_policy(link, pair[1])
    assert (
        policy["Statement"][0]["Resource"]
        == "https://photos.example.com/trips/2024%20%C3%A9t%C3%A9/*"
    )


def test_a_signature_from_another_key_does_not_verify(pair: tuple[bytes, bytes]) -> None:
    other = new_key_pair()
    link = invitation_link(a_key(other), NOW + timedelta(days=1))
    with pytest.raises(InvalidSignature):
        checked_policy(link, pair[1])


def test_a_tampered_policy_does_not_verify(pair: tuple[bytes, bytes]) -> None:
    link = invitation_link(a_key(pair), NOW + timedelta(days=1))
    query = dict(parse_qsl(urlsplit(link).query))
    policy = cloudfront_b64decode(query["Policy"]).replace(b"/family/*", b"/*")
    forged = base64.b64encode(policy).decode().replace("+", "-").replace("=", "_").replace("/", "~")
    with pytest.raises(InvalidSignature):
        checked_policy(link.replace(query["Policy"], forged), pair[1])


def test_a_naive_expiry_is_utc_whatever_the_machines_time_zone(
    pair: tuple[bytes, bytes],
) -> None:
    """A naive time read as local time (``timestamp()`` on it) would be 5 hours off here."""
    import os
    import time

    before = os.environ.get("TZ")
    os.environ["TZ"] = "America/New_York"
    time.tzset()
    try:
        naive = datetime(2027, 1, 1, 12, 0)
        _, policy = checked_policy(invitation_link(a_key(pair), naive), pair[1])
    finally:
        if before is None:
            os.environ.pop("TZ", None)
        else:
            os.environ["TZ"] = before
        time.tzset()
    expected = int(datetime(2027, 1, 1, 12, 0, tzinfo=UTC).timestamp())
    assert policy["Statement"][0]["Condition"]["DateLessThan"]["AWS:EpochTime"] == expected


# --- --expires ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "later"),
    [
        ("90m", timedelta(minutes=90)),
        ("12h", timedelta(hours=12)),
        ("30d", timedelta(days=30)),
        ("2w", timedelta(weeks=2)),
        (" 30D ", timedelta(days=30)),
        ("1m", timedelta(minutes=1)),
        ("400d", timedelta(days=400)),
        ("57w", timedelta(weeks=57)),
        ("9600h", timedelta(hours=9600)),
    ],
)
def test_expires_durations(text: str, later: timedelta) -> None:
    assert parse_expires(text, NOW) == NOW + later


def test_expires_a_date_means_through_that_day_utc() -> None:
    assert parse_expires("2027-01-31", NOW) == datetime(2027, 2, 1, tzinfo=UTC)
    assert parse_expires("2026-12-02", NOW) == datetime(2026, 12, 3, tzinfo=UTC)  # today
    # NOW + 400 days is 2028-01-06 05:30; the end of 2028-01-05 is within, of 2028-01-06 not
    assert parse_expires("2028-01-05", NOW) == datetime(2028, 1, 6, tzinfo=UTC)


def test_expires_counts_from_an_aware_now_in_any_zone() -> None:
    from zoneinfo import ZoneInfo

    local = NOW.astimezone(ZoneInfo("Pacific/Auckland"))
    assert parse_expires("12h", local) == NOW + timedelta(hours=12)
    assert parse_expires("12h", local).tzinfo == UTC


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("401d", "at most 400 days"),
        ("58w", "at most 400 days"),
        ("9601h", "at most 400 days"),
        ("9999999w", "at most 400 days"),
        ("2028-01-06", "at most 400 days"),
        ("0m", "already past"),
        ("2026-12-01", "already past"),
        ("2027-02-30", "no such date"),
        ("3y", "90m, 12h, 30d, 2w"),
        ("30", "90m, 12h, 30d, 2w"),
        ("", "90m, 12h, 30d, 2w"),
        ("-5d", "90m, 12h, 30d, 2w"),
        ("1.5d", "90m, 12h, 30d, 2w"),
        ("31/01/2027", "a date (2027-01-31"),
    ],
)
def test_expires_refused_saying_what_is_allowed(text: str, says: str) -> None:
    with pytest.raises(SettingError) as caught:
        parse_expires(text, NOW)
    assert says in str(caught.value)
    assert "\n" not in str(caught.value)


@pytest.mark.parametrize(
    ("later", "words"),
    [
        (timedelta(days=30), "30 days"),
        (timedelta(days=1), "1 day"),
        (timedelta(hours=12), "12 hours"),
        (timedelta(minutes=90), "90 minutes"),
        (timedelta(days=29, hours=18, minutes=30), "29 days 18 hours"),
    ],
)
def test_lifetime_words(later: timedelta, words: str) -> None:
    assert lifetime_words(NOW + later, NOW) == words


# --- the log ------------------------------------------------------------------------------


def test_the_log_is_0600_beside_the_key_and_skips_a_damaged_line(
    keys: Path, pair: tuple[bytes, bytes]
) -> None:
    key_file = save_key(a_key(pair))
    first = Invitation(NOW, NOW + timedelta(days=30), "for Ana", "K2JCJMDEHXQW5F")
    second = Invitation(NOW, NOW + timedelta(hours=1), None, "OLDKEY1234")
    path = record_invitation("photos-bucket", "family", first)
    assert path == invitations_path("photos-bucket", "family")
    assert path.parent == key_file.parent
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    with open(path, "a") as f:
        f.write('{"half a line\n')
    record_invitation("photos-bucket", "family", second)
    assert read_invitations("photos-bucket", "family") == ([first, second], 1)
    assert "https://" not in path.read_text()  # the link (a credential) is not kept


def test_invitation_status() -> None:
    current = Invitation(NOW, NOW + timedelta(days=1), None, "NEWKEY")
    assert invitation_status(current, "NEWKEY", NOW) == "valid"
    assert invitation_status(current, "NEWKEY", NOW + timedelta(days=2)) == "expired"
    assert invitation_status(current, "OTHERKEY", NOW) == "revoked"
    assert invitation_status(current, None, NOW) == "unknown"


# --- gallery invite -------------------------------------------------------------------------


def test_invite_prints_the_link_alone_on_stdout(keys: Path, pair: tuple[bytes, bytes]) -> None:
    save_key(a_key(pair))
    before = datetime.now(UTC).replace(microsecond=0)
    run = gallery("invite", "s3://photos-bucket/family", "--note", "for Ana")
    after = datetime.now(UTC)
    assert run.returncode == 0, run.stderr
    link = run.stdout.removesuffix("\n")
    assert "\n" not in link and link.startswith("https://photos.example.com/family/_auth?")
    _, policy = checked_policy(link, pair[1])
    expiry = policy["Statement"][0]["Condition"]["DateLessThan"]["AWS:EpochTime"]
    assert (
        before + timedelta(days=30)
        <= datetime.fromtimestamp(expiry, UTC)
        <= after + timedelta(days=30)
    )
    until = datetime.fromtimestamp(expiry, UTC).strftime("%Y-%m-%d %H:%M UTC")
    assert f"valid until {until} (30 days)" in run.stderr
    assert "for Ana" in run.stderr
    [logged], _ = read_invitations("photos-bucket", "family")
    assert (logged.note, logged.key_id, int(logged.expires.timestamp())) == (
        "for Ana",
        "K2JCJMDEHXQW5F",
        expiry,
    )


def test_invite_expires_option(keys: Path, pair: tuple[bytes, bytes]) -> None:
    save_key(a_key(pair))
    run = gallery("invite", "s3://photos-bucket/family", "--expires", "90m")
    assert run.returncode == 0, run.stderr
    assert "(90 minutes)" in run.stderr
    _, policy = checked_policy(run.stdout.strip(), pair[1])
    expiry = datetime.fromtimestamp(
        policy["Statement"][0]["Condition"]["DateLessThan"]["AWS:EpochTime"], UTC
    )
    assert abs(expiry - datetime.now(UTC) - timedelta(minutes=90)) < timedelta(minutes=1)
    refused = gallery("invite", "s3://photos-bucket/family", "--expires", "2y")
    assert refused.returncode == 2
    assert refused.stdout == ""
    assert refused.stderr.startswith("Error: --expires '2y' is not a number of minutes")
    assert len(refused.stderr.splitlines()) == 1


def test_invite_without_the_local_key_says_what_to_do(keys: Path) -> None:
    run = gallery("invite", "s3://photos-bucket/family")
    assert run.returncode == 1
    assert run.stdout == ""
    path = keys / "photos-bucket" / "family.key.json"
    assert run.stderr == (
        f"Error: the private key of s3://photos-bucket/family is not on this machine (looked "
        f"for {path}): copy it from the machine that made the gallery private, or run gallery "
        "invite --revoke-all here; every earlier link then stops working\n"
    )


@pytest.mark.parametrize(
    ("target", "says"),
    [
        ("file:///tmp/site", "needs an s3://BUCKET/PREFIX target"),
        ("https://photos.example.com/family/", "needs an s3://BUCKET/PREFIX target"),
        ("photos-bucket", "needs an s3://BUCKET/PREFIX target"),
        ("s3://photos-bucket", "has no prefix"),
        ("s3://photos-bucket/", "has no prefix"),
        ("s3://photos-bucket/a/../b", "the prefix"),
    ],
)
def test_invite_refuses_a_target_that_cannot_be_private(keys: Path, target: str, says: str) -> None:
    run = gallery("invite", target)
    assert run.returncode == 2, run.stderr
    assert run.stderr.startswith("Error: ") and says in run.stderr
    assert len(run.stderr.splitlines()) == 1


def test_invite_with_a_damaged_key_names_the_file(keys: Path, pair: tuple[bytes, bytes]) -> None:
    path = save_key(a_key(pair))
    path.write_text("{}")
    run = gallery("invite", "s3://photos-bucket/family")
    assert run.returncode == 1
    assert str(path) in run.stderr and len(run.stderr.splitlines()) == 1


def test_invite_defaults_to_the_sites_publish_target(
    keys: Path, pair: tuple[bytes, bytes], source: Path, tmp_path: Path
) -> None:
    import pictures

    from gallery_builder.testing import build_gallery

    pictures.jpeg(source / "a.jpg")
    (source / "gallery.toml").write_text('[publish]\ntarget = "s3://photos-bucket/family"\n')
    site = tmp_path / "site"
    build_gallery(source, site)
    save_key(a_key(pair))
    run = gallery("invite", "--site", site)
    assert run.returncode == 0, run.stderr
    assert urlsplit(run.stdout.strip()).path == "/family/_auth"
    run = gallery("invite", cwd=tmp_path)  # no _site there
    assert run.returncode == 2
    assert "gallery invite s3://bucket/prefix" in run.stderr


def test_invite_list_marks_links_of_an_earlier_key(keys: Path, pair: tuple[bytes, bytes]) -> None:
    save_key(a_key(pair))
    assert gallery("invite", "s3://photos-bucket/family", "--note", "for Ana").returncode == 0
    record_invitation(
        "photos-bucket", "family", Invitation(NOW, NOW + timedelta(days=3), "old one", "OLDKEY1234")
    )
    expired = Invitation(NOW - timedelta(days=9), NOW - timedelta(days=2), "gone", "K2JCJMDEHXQW5F")
    record_invitation("photos-bucket", "family", expired)
    run = gallery("invite", "s3://photos-bucket/family", "--list")
    assert run.returncode == 0, run.stderr
    lines = run.stdout.splitlines()
    assert len(lines) == 3
    assert " valid " in lines[0] and lines[0].endswith("for Ana")
    assert " revoked " in lines[1] and "OLDKEY1234" in lines[1] and lines[1].endswith("old one")
    assert " expired " in lines[2]
    assert "2026-12-02 05:30 UTC  until 2026-12-05 05:30 UTC" in lines[1]


def test_invite_list_of_a_gallery_with_no_log(keys: Path) -> None:
    run = gallery("invite", "s3://photos-bucket/family", "--list")
    assert (run.returncode, run.stdout) == (0, "")
    assert "no invitations made on this machine" in run.stderr


@pytest.mark.parametrize(
    "extra",
    [["--list", "--revoke-all"], ["--list", "--note", "x"], ["--revoke-all", "--expires", "1d"]],
)
def test_invite_options_that_do_not_go_together(keys: Path, extra: list[str]) -> None:
    run = gallery("invite", "s3://photos-bucket/family", *extra)
    assert run.returncode == 2
    assert run.stderr.startswith("Error: ") and len(run.stderr.splitlines()) == 1
