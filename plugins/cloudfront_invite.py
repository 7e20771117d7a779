"""Invitation links to a private gallery, signed offline with its local key (issue 10, A).

A link is ``https://HOST/PREFIX/_auth?Policy=...&Signature=...&Key-Pair-Id=...``: CloudFront's
own query parameters for a custom policy whose Resource is the whole gallery,
``https://HOST/PREFIX/*``, until the expiry. The viewer-request function turns them into the
three ``CloudFront-*`` cookies; CloudFront checks the signature on every request after. The
links made are noted in a local log beside the key (never the link itself, which is a bearer
credential): when, until when, the note and the key that signed it, for ``gallery invite
--list``. Pure but for the log's two functions."""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

from gallery_builder.plugins.cloudfront_keys import (
    FILE_MODE,
    GalleryKey,
    invitations_path,
    make_private_folders,
)

from gallery_builder.errors import GalleryError, SettingError

#: Chrome keeps a cookie at most 400 days, whatever its Expires says
MAX_LIFETIME = timedelta(days=400)
MIN_LIFETIME = timedelta(minutes=1)
DEFAULT_EXPIRES = "30d"
AUTH_PATH = "_auth"
EXPIRES_ALLOWED = (
    "a number of minutes, hours, days or weeks (90m, 12h, 30d, 2w) or a date (2027-01-31: "
    "through that day, UTC), from 1 minute to 400 days away"
)

_UNITS = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}
_DURATION = re.compile(r"(\d{1,7})([mhdw])")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def parse_expires(text: str, now: datetime) -> datetime:
    """When a link given ``--expires text`` at ``now`` (aware) stops working, as an aware UTC
    datetime. A duration counts from ``now``; a date means through that day, UTC (the link
    works until its end). SettingError, saying what is allowed, for anything else or for a
    moment outside 1 minute .. 400 days from now."""
    given = text.strip().lower()
    now = now.astimezone(UTC)
    duration = _DURATION.fullmatch(given)
    if duration:
        number, unit = int(duration[1]), duration[2]
        try:
            expires = now + timedelta(**{_UNITS[unit]: number})
        except OverflowError:
            expires = datetime.max.replace(tzinfo=UTC)
    elif _DATE.fullmatch(given):
        try:
            day = date.fromisoformat(given)
        except ValueError:
            raise SettingError(f"--expires {text}: there is no such date") from None
        expires = datetime(day.year, day.month, day.day, tzinfo=UTC) + timedelta(days=1)
    else:
        raise SettingError(f"--expires {text!r} is not {EXPIRES_ALLOWED}")
    if expires - now < MIN_LIFETIME:
        raise SettingError(f"--expires {text}: that is already past; give {EXPIRES_ALLOWED}")
    if expires - now > MAX_LIFETIME:
        raise SettingError(
            f"--expires {text}: at most 400 days (browsers keep a cookie no longer); give "
            f"{EXPIRES_ALLOWED}"
        )
    return expires.replace(microsecond=0)


def lifetime_words(expires: datetime, now: datetime) -> str:
    """How long from ``now`` until ``expires``, in the largest whole units: "30 days",
    "12 hours", "90 minutes", "29 days 18 hours"."""
    minutes = max(0, round((expires - now).total_seconds() / 60))
    days, rest = divmod(minutes, 24 * 60)
    hours, minutes = divmod(rest, 60)
    if days:  # minutes no longer matter
        return _plural(days, "day") + (f" {_plural(hours, 'hour')}" if hours else "")
    if hours and not minutes:
        return _plural(hours, "hour")
    return _plural(hours * 60 + minutes, "minute")


def utc_text(moment: datetime) -> str:
    """``2027-01-31 18:00 UTC``."""
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def gallery_url(key: GalleryKey) -> str:
    """The gallery's https URL, ending in "/" (its prefix quoted as the publisher quotes keys)."""
    if not (key.url.startswith("https://") and key.url.endswith("/")):
        raise GalleryError(f"the key of s3://{key.bucket}/{key.prefix} has no https URL")
    return key.url + quote(key.prefix, safe="/") + "/"


def invitation_link(key: GalleryKey, expires: datetime) -> str:
    """The invitation link to ``key``'s gallery until ``expires`` (aware; a naive one is UTC):
    botocore's CloudFrontSigner with a custom policy for ``https://HOST/PREFIX/*``."""
    from botocore.signers import CloudFrontSigner

    if not key.prefix:
        raise GalleryError(f"s3://{key.bucket} has no prefix: a private gallery has its own")
    base = gallery_url(key)
    signer = CloudFrontSigner(key.public_key_id, _rsa_sha1_signer(key.private_pem))
    policy = signer.build_policy(base + "*", _aware(expires))
    return signer.generate_presigned_url(base + AUTH_PATH, policy=policy)


def _rsa_sha1_signer(private_pem: bytes) -> Any:
    """CloudFront's signature: RSA PKCS#1 v1.5 over SHA-1 (its only choice for key groups)."""
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import padding, rsa

    private = serialization.load_pem_private_key(private_pem, password=None)
    if not isinstance(private, rsa.RSAPrivateKey):
        raise GalleryError("a gallery's key must be an RSA key")

    def sign(message: bytes) -> bytes:
        return private.sign(message, padding.PKCS1v15(), hashes.SHA1())

    return sign


def _aware(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _plural(n: int, unit: str) -> str:
    return f"{n} {unit}" if n == 1 else f"{n} {unit}s"


# --- the local log of invitations -----------------------------------------------------------


@dataclass(frozen=True)
class Invitation:
    """One link made: when, until when, the note given, and the id of the key that signed it
    (a link of an earlier key was revoked by ``--revoke-all``)."""

    when: datetime
    expires: datetime
    note: str | None
    key_id: str

    def to_json(self) -> str:
        return json.dumps(
            {
                "when": self.when.astimezone(UTC).isoformat(),
                "expires": self.expires.astimezone(UTC).isoformat(),
                "note": self.note,
                "key_id": self.key_id,
            },
            ensure_ascii=False,
        )

    @classmethod
    def from_json(cls, line: str) -> Invitation | None:
        """The invitation a log line records, or None for a line that is not one."""
        try:
            data = json.loads(line)
            when = datetime.fromisoformat(data["when"])
            expires = datetime.fromisoformat(data["expires"])
            note, key_id = data.get("note"), data["key_id"]
        except (ValueError, TypeError, KeyError):
            return None
        if not isinstance(key_id, str) or not (note is None or isinstance(note, str)):
            return None
        if when.tzinfo is None or expires.tzinfo is None:
            return None
        return cls(when, expires, note, key_id)


def record_invitation(bucket: str, prefix: str, invitation: Invitation) -> Path:
    """Append ``invitation`` to the gallery's log (created 0600 beside its key)."""
    path = invitations_path(bucket, prefix)
    make_private_folders(path.parent)
    line = (invitation.to_json() + "\n").encode("utf-8")
    flags = os.O_WRONLY | os.O_CREAT | os.O_APPEND | getattr(os, "O_NOFOLLOW", 0)
    try:
        fd = os.open(path, flags, FILE_MODE)
        try:
            os.write(fd, line)  # one write: a line is whole or absent
        finally:
            os.close(fd)
    except OSError as exc:
        raise GalleryError(f"cannot write {path}: {exc.strerror or exc}") from None
    return path


def read_invitations(bucket: str, prefix: str) -> tuple[list[Invitation], int]:
    """The gallery's logged invitations, oldest first, and how many lines were not
    readable (skipped: the log is a record for the user, not a control)."""
    path = invitations_path(bucket, prefix)
    try:
        text = path.read_bytes().decode("utf-8", errors="replace")
    except FileNotFoundError:
        return [], 0
    except OSError as exc:
        raise GalleryError(f"cannot read {path}: {exc.strerror or exc}") from None
    found, bad = [], 0
    for line in text.splitlines():
        if not line.strip():
            continue
        invitation = Invitation.from_json(line)
        if invitation is None:
            bad += 1
        else:
            found.append(invitation)
    return found, bad


def invitation_status(invitation: Invitation, current_key_id: str | None, now: datetime) -> str:
    """``revoked`` (signed by a key since replaced), ``expired`` or ``valid``; ``unknown``
    when this machine has no key to tell."""
    if current_key_id is not None and invitation.key_id != current_key_id:
        return "revoked"
    if invitation.expires <= now:
        return "expired"
    return "valid" if current_key_id is not None else "unknown"
