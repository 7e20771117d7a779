"""The cryptography of an encrypted gallery (issue 10, contract part B): pure, no I/O.

A password becomes a master key with PBKDF2-HMAC-SHA256 (600,000 iterations, a random
16-byte salt per gallery), over the UTF-8 of the NFC-normalised password, so the same
password typed on any keyboard or platform gives the same key. HKDF-SHA256 splits the master
key into an AES-256-GCM key for the files and an HMAC-SHA256 key for their names, exactly as
the browser's unlock script does with WebCrypto (deriveBits PBKDF2 -> importKey HKDF ->
deriveKey/deriveBits), so what this module seals the browser can open.

Each clear file is published as ``_x/<fid>``: the fid is a keyed hash of its logical path
(nothing about the name leaks), the sealed bytes are a random 12-byte nonce followed by the
AES-GCM ciphertext and tag, with the fid as associated data, so a file moved to another
name does not open.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import unicodedata
from dataclasses import dataclass, field

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

FORMAT = 1
KDF = "PBKDF2-SHA256"
ITERATIONS = 600_000
SALT_BYTES = 16
NONCE_BYTES = 12
TAG_BYTES = 16
CIPHER = "AES-256-GCM"
NAMES = "HMAC-SHA256-128"
CONTENT_INFO = "gallery-builder/v1/content"
NAMES_INFO = "gallery-builder/v1/names"
# Not part of the published format: the build state keeps this value to tell whether the
# password changed without ever keeping the password (or a key that opens anything).
CHECK_INFO = "gallery-builder/v1/check"


class SealedFileError(ValueError):
    """A sealed file did not open: the wrong key, another file's fid, or damaged bytes."""


@dataclass(frozen=True)
class Keys:
    """The keys of one gallery for one password and salt. Never written anywhere."""

    salt: bytes
    iterations: int
    content_key: bytes = field(repr=False)
    names_key: bytes = field(repr=False)
    check: str = field(repr=False)


def new_salt() -> bytes:
    """A fresh random salt: one per gallery, kept while its password is unchanged."""
    return os.urandom(SALT_BYTES)


def _hkdf(master: bytes, info: str) -> bytes:
    hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=info.encode())
    return hkdf.derive(master)


def derive(password: str, salt: bytes, *, iterations: int = ITERATIONS) -> Keys:
    """Derive the gallery's keys from a password and its salt (slow on purpose: ~0.5 s)."""
    if not password:
        raise ValueError("an empty password cannot encrypt a gallery")
    if len(salt) != SALT_BYTES:
        raise ValueError(f"the salt must be {SALT_BYTES} bytes, not {len(salt)}")
    secret = unicodedata.normalize("NFC", password).encode("utf-8")
    master = hashlib.pbkdf2_hmac("sha256", secret, salt, iterations, dklen=32)
    return Keys(
        salt=salt,
        iterations=iterations,
        content_key=_hkdf(master, CONTENT_INFO),
        names_key=_hkdf(master, NAMES_INFO),
        check=_hkdf(master, CHECK_INFO).hex(),
    )


def file_id(keys: Keys, logical_path: str) -> str:
    """The published name of a clear file: 32 lowercase hex of a keyed hash of its path."""
    digest = hmac.new(keys.names_key, logical_path.encode("utf-8"), hashlib.sha256).digest()
    return digest[:16].hex()


def seal(keys: Keys, fid: str, plaintext: bytes) -> bytes:
    """Encrypt one file for ``_x/<fid>``: a random nonce, then ciphertext and tag."""
    nonce = os.urandom(NONCE_BYTES)
    return nonce + AESGCM(keys.content_key).encrypt(nonce, plaintext, fid.encode("ascii"))


def open_sealed(keys: Keys, fid: str, data: bytes) -> bytes:
    """Decrypt what :func:`seal` made for this fid, or raise :class:`SealedFileError`."""
    if len(data) < NONCE_BYTES + TAG_BYTES:
        raise SealedFileError(f"_x/{fid} is too short to be a sealed file")
    try:
        return AESGCM(keys.content_key).decrypt(
            data[:NONCE_BYTES], data[NONCE_BYTES:], fid.encode("ascii")
        )
    except InvalidTag:
        raise SealedFileError(
            f"_x/{fid} does not open: a wrong password, another file's name, or damaged bytes"
        ) from None


def lock_document(keys: Keys) -> dict:
    """The published ``_lock.json``: what the browser needs to derive the same keys."""
    return {
        "format": FORMAT,
        "kdf": KDF,
        "iterations": keys.iterations,
        "salt": base64.b64encode(keys.salt).decode("ascii"),
        "cipher": CIPHER,
        "names": NAMES,
        "info": {"content": CONTENT_INFO, "names": NAMES_INFO},
    }
