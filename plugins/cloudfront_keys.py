"""The private key of a private gallery, kept on this machine only (issue 10, contract A).

A private gallery's pages need CloudFront signed cookies; the links that hand them out
(``gallery invite``) are signed offline with an RSA key that never leaves the machine that
made the gallery private. CloudFront holds only the public half (a public key in a key group).
Each gallery's key is one JSON file, ``keys_dir()/BUCKET/PREFIX.key.json``: folders 0700 and
files 0600 from the moment they exist (never widened then narrowed), each file written whole
beside the old one and renamed over it, so a crash leaves the old key or the new, never half.
A lost key cannot be recovered: ``gallery invite --revoke-all`` rotates it (every earlier
link stops working)."""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

from gallery_builder.errors import GalleryError
from gallery_builder.state import fsync_folder

KEY_KIND = "gallery-builder cloudfront key"
KEY_FORMAT = 1
KEY_SUFFIX = ".key.json"
INVITATIONS_SUFFIX = ".invitations.jsonl"
FOLDER_MODE = 0o700
FILE_MODE = 0o600
RSA_BITS = 2048  # what CloudFront accepts for a key group's public keys


@dataclass(frozen=True)
class GalleryKey:
    """One gallery's signing key and where CloudFront knows its public half.

    ``url`` is the https root of the distribution or the domain, ending in "/"
    (``https://photos.example.com/``); ``public_key_id`` is CloudFront's id of the public key,
    an invitation's ``Key-Pair-Id``."""

    bucket: str
    prefix: str
    public_key_id: str
    key_group_id: str
    url: str
    private_pem: bytes
    public_pem: bytes


def keys_dir() -> Path:
    """Where the keys live: ``$GALLERY_KEYS_DIR``, else ``$XDG_CONFIG_HOME/gallery-builder/keys``,
    else ``~/.config/gallery-builder/keys`` (an empty or, for XDG, relative value is unset,
    as the XDG spec says)."""
    explicit = os.environ.get("GALLERY_KEYS_DIR")
    if explicit:
        return Path(explicit).expanduser()
    xdg = os.environ.get("XDG_CONFIG_HOME")
    base = Path(xdg) if xdg and Path(xdg).is_absolute() else Path.home() / ".config"
    return base / "gallery-builder" / "keys"


def key_path(bucket: str, prefix: str) -> Path:
    """The file of the key of the gallery at s3://bucket/prefix (which may not exist)."""
    return _gallery_stem(bucket, prefix).with_name(_stem_name(prefix) + KEY_SUFFIX)


def invitations_path(bucket: str, prefix: str) -> Path:
    """The local log of the invitations made for s3://bucket/prefix, beside its key."""
    return _gallery_stem(bucket, prefix).with_name(_stem_name(prefix) + INVITATIONS_SUFFIX)


def new_key_pair() -> tuple[bytes, bytes]:
    """A new RSA 2048 key pair: (private key as PKCS#8 PEM, public key as
    SubjectPublicKeyInfo PEM, the form CloudFront's CreatePublicKey takes)."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    private = rsa.generate_private_key(public_exponent=65537, key_size=RSA_BITS)
    private_pem = private.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    public_pem = private.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return private_pem, public_pem


def save_key(key: GalleryKey) -> Path:
    """Write ``key`` (replacing the gallery's earlier one), created 0600 in folders created
    0700, atomically; returns the file."""
    path = key_path(key.bucket, key.prefix)
    record = {
        "kind": KEY_KIND,
        "format": KEY_FORMAT,
        "bucket": key.bucket,
        "prefix": key.prefix,
        "public_key_id": key.public_key_id,
        "key_group_id": key.key_group_id,
        "url": key.url,
        "private_pem": key.private_pem.decode("ascii"),
        "public_pem": key.public_pem.decode("ascii"),
    }
    write_private_file(path, (json.dumps(record, indent=2) + "\n").encode("utf-8"))
    return path


def load_key(bucket: str, prefix: str) -> GalleryKey | None:
    """The key of the gallery at s3://bucket/prefix, or None when this machine has none.
    A file that is damaged, not a key, or another gallery's is a GalleryError naming it."""
    path = key_path(bucket, prefix)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise GalleryError(f"cannot read the key file {path}: {exc.strerror or exc}") from None
    try:
        record = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise _damaged(path, bucket, prefix, "it is not JSON") from None
    key = _key_from_record(record, path, bucket, prefix)
    _check_pair(key, path, bucket, prefix)
    return key


def key_retired(bucket: str, prefix: str) -> bool:
    """Whether the gallery's local key was retired (the gallery published with
    ``--no-private`` since: its links are not invitations any more)."""
    record = _raw_record(bucket, prefix)
    return bool(record is not None and record.get("retired"))


def retire_local_key(bucket: str, prefix: str, notes: list[str]) -> None:
    """Mark the gallery's local key retired (``--no-private``: the gallery is public), so
    that ``gallery invite``, which is offline, refuses to make links with it. Kept, not
    deleted: ``--private`` later may reuse it. A failure is a note, never an error."""
    record = _raw_record(bucket, prefix)
    if record is None or record.get("retired"):
        return
    record["retired"] = {"when": _now_text(), "why": "published with --no-private"}
    path = key_path(bucket, prefix)
    try:
        write_private_file(path, (json.dumps(record, indent=2) + "\n").encode("utf-8"))
    except GalleryError as exc:
        notes.append(f"the local key could not be marked retired ({exc}): it is kept as it was")
        return
    notes.append(
        f"the local key {path} is kept, marked retired: gallery invite makes no link to "
        f"s3://{bucket}/{prefix} until it is published with --private again"
    )


def refresh_local_key(bucket: str, prefix: str, group_id: str, url: str, notes: list[str]) -> None:
    """After a set-up of the private gallery (key group ``group_id``, now served at ``url``):
    the local key, if it is here and of that group, gets the new URL (a ``--domain`` added or
    changed) and loses a retired mark (private again). A failure is a note."""
    try:
        key = load_key(bucket, prefix)
    except GalleryError:
        return  # a damaged key: gallery invite says what to do with it
    if key is None or key.key_group_id != group_id:
        return
    if key.url == url and not key_retired(bucket, prefix):
        return
    try:
        save_key(dataclasses.replace(key, url=url))
    except GalleryError as exc:
        notes.append(f"the local key of s3://{bucket}/{prefix} was not updated: {exc}")
        return
    if key.url != url:
        notes.append(
            f"invitation links to s3://{bucket}/{prefix} now start with {url} (the local key "
            f"said {key.url}); links sent before keep working while {key.url} serves it"
        )


def _raw_record(bucket: str, prefix: str) -> dict[str, Any] | None:
    """The JSON of the gallery's key file, when it is there and a key of this format."""
    try:
        record = json.loads(key_path(bucket, prefix).read_bytes().decode("utf-8"))
    except (OSError, UnicodeDecodeError, ValueError):
        return None
    if not isinstance(record, dict) or record.get("kind") != KEY_KIND:
        return None
    return record if record.get("format") == KEY_FORMAT else None


def _now_text() -> str:
    from datetime import UTC, datetime

    return datetime.now(UTC).replace(microsecond=0).isoformat()


def check_keys_writable(bucket: str, prefix: str) -> Path:
    """Before anything is sent that makes a key (CloudFront keeps only its public half): the
    folder of the gallery's key made if missing (0700) and a probe file written there (0600)
    and removed, so a key made next can be kept. The folder, or a one-line GalleryError
    naming it and ``GALLERY_KEYS_DIR``."""
    folder = key_path(bucket, prefix).parent
    advice = (
        "nothing was sent to CloudFront: set GALLERY_KEYS_DIR to a folder you can write "
        "(the private key of the gallery is kept there), then run the command again"
    )
    try:
        make_private_folders(folder)
    except GalleryError as exc:
        raise GalleryError(f"{exc}; {advice}") from None
    probe = folder / f".probe.{os.getpid()}.tmp"
    try:
        probe.unlink(missing_ok=True)
        os.close(os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW, FILE_MODE))
        probe.unlink()
    except OSError as exc:
        with contextlib.suppress(OSError):
            probe.unlink(missing_ok=True)
        raise GalleryError(
            f"cannot write the key of s3://{bucket}/{prefix} in {folder}: "
            f"{exc.strerror or exc}; {advice}"
        ) from None
    return folder


def write_private_file(path: Path, data: bytes) -> None:
    """Replace ``path`` with ``data`` atomically, the file created 0600 and any missing folder
    0700 (never created wider and narrowed after, so no moment when another user could read
    it)."""
    make_private_folders(path.parent)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.new")
    try:
        tmp.unlink(missing_ok=True)
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW, FILE_MODE)
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        os.replace(tmp, path)
        fsync_folder(path.parent)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise GalleryError(f"cannot write {path}: {exc.strerror or exc}") from None


def make_private_folders(folder: Path) -> None:
    """Create ``folder`` and its missing parents with mode 0700 (existing ones are left as
    they are: they may be the user's own ~/.config)."""
    missing: list[Path] = []
    current = folder
    while not current.exists():
        missing.append(current)
        if current.parent == current:
            break
        current = current.parent
    for part in reversed(missing):
        try:
            os.mkdir(part, FOLDER_MODE)
        except FileExistsError:
            pass
        except OSError as exc:
            raise GalleryError(f"cannot make the folder {part}: {exc.strerror or exc}") from None
    if not folder.is_dir():
        raise GalleryError(f"cannot use {folder} for keys: it is not a folder")


_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)


def _gallery_stem(bucket: str, prefix: str) -> Path:
    if not bucket or "/" in bucket or bucket in (".", ".."):
        raise GalleryError(f"not a bucket name: {bucket!r}")
    return keys_dir() / bucket / _stem_name(prefix)


def _stem_name(prefix: str) -> str:
    """The prefix as one file name: '/' and anything unsafe %-escaped, so trips/2024 and a
    prefix named trips%2F2024 cannot share a file; the bucket root is '%' (no escaped name is)."""
    return quote(prefix, safe="-_.~") if prefix else "%"


def _key_from_record(record: Any, path: Path, bucket: str, prefix: str) -> GalleryKey:
    if not isinstance(record, dict) or record.get("kind") != KEY_KIND:
        raise _damaged(path, bucket, prefix, "it is not a gallery-builder key")
    if record.get("format") != KEY_FORMAT:
        raise GalleryError(
            f"{path}: a key of format {record.get('format')!r}, this gallery-builder reads "
            f"format {KEY_FORMAT}: upgrade gallery-builder"
        )
    texts = {}
    for name in ("bucket", "prefix", "public_key_id", "key_group_id", "url"):
        value = record.get(name)
        if not isinstance(value, str):
            raise _damaged(path, bucket, prefix, f"its {name!r} is not text")
        texts[name] = value
    if (texts["bucket"], texts["prefix"]) != (bucket, prefix):
        where = f"s3://{texts['bucket']}/{texts['prefix']}"
        raise GalleryError(
            f"{path} is the key of {where}, not of s3://{bucket}/{prefix}: move it back where "
            f"it belongs ({key_path(texts['bucket'], texts['prefix'])})"
        )
    if not (texts["url"].startswith("https://") and texts["url"].endswith("/")):
        raise _damaged(path, bucket, prefix, "its 'url' is not an https URL ending in /")
    pems = {}
    for name in ("private_pem", "public_pem"):
        value = record.get(name)
        if not isinstance(value, str) or not value.isascii():
            raise _damaged(path, bucket, prefix, f"its {name!r} is not PEM text")
        pems[name] = value.encode("ascii")
    return GalleryKey(**texts, **pems)


def _check_pair(key: GalleryKey, path: Path, bucket: str, prefix: str) -> None:
    """The private key loads, is RSA, and is the half of the public key in the file."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    try:
        private = serialization.load_pem_private_key(key.private_pem, password=None)
        public = serialization.load_pem_public_key(key.public_pem)
    except (ValueError, TypeError):
        raise _damaged(path, bucket, prefix, "its PEM keys do not load") from None
    if not isinstance(private, rsa.RSAPrivateKey) or not isinstance(public, rsa.RSAPublicKey):
        raise _damaged(path, bucket, prefix, "its keys are not RSA")
    if private.public_key().public_numbers() != public.public_numbers():
        raise _damaged(path, bucket, prefix, "its private and public keys do not match")


def _damaged(path: Path, bucket: str, prefix: str, why: str) -> GalleryError:
    return GalleryError(
        f"{path} is not a usable key ({why}): restore it from a backup or the machine that "
        f"made s3://{bucket}/{prefix} private, or move it away and run gallery invite "
        f"--revoke-all s3://{bucket}/{prefix} (every earlier link then stops working)"
    )
