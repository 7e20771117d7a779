"""The encrypted gallery's cryptography (gallery_builder/encryption.py), checked against the
primitives directly: PBKDF2 from hashlib, HKDF (RFC 5869) written out here with hmac,
AES-GCM from cryptography, and the browser's own WebCrypto under Node, which must derive the
same keys and open what Python sealed (the unlock script does exactly that)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import shutil
import subprocess
import unicodedata

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from gallery_builder import encryption
from gallery_builder.encryption import (
    SealedFileError,
    derive,
    file_id,
    lock_document,
    new_salt,
    open_sealed,
    seal,
)

PASSWORD = "Cafe\u0301 na praia 🌊"  # decomposed é: the NFC form is what counts
SALT = bytes(range(16))


def hkdf_sha256(master: bytes, info: bytes) -> bytes:
    """RFC 5869 with an empty salt (HashLen zero bytes) and one 32-byte block of output."""
    prk = hmac.new(b"\0" * 32, master, hashlib.sha256).digest()
    return hmac.new(prk, info + b"\x01", hashlib.sha256).digest()


@pytest.fixture(scope="module")
def keys() -> encryption.Keys:
    return derive(PASSWORD, SALT)


@pytest.fixture(scope="module")
def master() -> bytes:
    nfc = unicodedata.normalize("NFC", PASSWORD).encode("utf-8")
    assert nfc != PASSWORD.encode("utf-8")
    return hashlib.pbkdf2_hmac("sha256", nfc, SALT, 600_000, dklen=32)


def test_keys_are_pbkdf2_then_hkdf_as_the_contract_says(keys, master) -> None:
    assert keys.iterations == 600_000
    assert keys.content_key == hkdf_sha256(master, b"gallery-builder/v1/content")
    assert keys.names_key == hkdf_sha256(master, b"gallery-builder/v1/names")
    assert keys.check not in (keys.content_key.hex(), keys.names_key.hex(), master.hex())


def test_the_same_password_in_another_unicode_form_gives_the_same_keys(keys) -> None:
    assert derive(unicodedata.normalize("NFC", PASSWORD), SALT) == keys


def test_file_id_is_the_truncated_hmac_of_the_logical_path(keys, master) -> None:
    names_key = hkdf_sha256(master, b"gallery-builder/v1/names")
    for path in ("index.html", "album/galata.1280.3f2a.webp", "çarşı/index.html"):
        expected = hmac.new(names_key, path.encode("utf-8"), hashlib.sha256).hexdigest()[:32]
        assert file_id(keys, path) == expected
    assert len(file_id(keys, "x")) == 32


def test_seal_is_nonce_then_aes_gcm_with_the_fid_as_aad(keys, master) -> None:
    fid = file_id(keys, "album/index.html")
    plaintext = b"<h1>Galata at dusk</h1>"
    sealed = seal(keys, fid, plaintext)
    assert len(sealed) == 12 + len(plaintext) + 16
    content_key = hkdf_sha256(master, b"gallery-builder/v1/content")
    assert AESGCM(content_key).decrypt(sealed[:12], sealed[12:], fid.encode()) == plaintext
    assert open_sealed(keys, fid, sealed) == plaintext


def test_each_seal_draws_a_new_nonce(keys) -> None:
    fid = file_id(keys, "index.html")
    sealed = {seal(keys, fid, b"same bytes") for _ in range(20)}
    assert len(sealed) == 20
    assert len({s[:12] for s in sealed}) == 20


def test_a_wrong_password_does_not_open(keys) -> None:
    fid = file_id(keys, "index.html")
    sealed = seal(keys, fid, b"secret page")
    other = derive("not the password", SALT)
    assert file_id(other, "index.html") != fid
    with pytest.raises(SealedFileError, match="does not open"):
        open_sealed(other, fid, sealed)


def test_a_file_moved_to_another_fid_does_not_open(keys) -> None:
    sealed = seal(keys, file_id(keys, "a/index.html"), b"page a")
    with pytest.raises(SealedFileError):
        open_sealed(keys, file_id(keys, "b/index.html"), sealed)


@pytest.mark.parametrize("damage", ["flip", "truncate", "short"])
def test_damaged_bytes_do_not_open(keys, damage) -> None:
    fid = file_id(keys, "index.html")
    sealed = bytearray(seal(keys, fid, b"page"))
    if damage == "flip":
        sealed[-1] ^= 1
    elif damage == "truncate":
        del sealed[-1]
    else:
        del sealed[20:]
    with pytest.raises(SealedFileError):
        open_sealed(keys, fid, bytes(sealed))


def test_a_new_salt_gives_new_keys_for_the_same_password(keys) -> None:
    salt = new_salt()
    assert len(salt) == 16 and salt != new_salt()
    again = derive(PASSWORD, salt, iterations=1000)
    assert again.content_key != keys.content_key and again.check != keys.check


def test_empty_password_and_bad_salt_are_refused() -> None:
    with pytest.raises(ValueError, match="empty"):
        derive("", SALT)
    with pytest.raises(ValueError, match="16 bytes"):
        derive("pw", b"short")


def test_keys_do_not_show_their_secrets(keys) -> None:
    shown = repr(keys)
    assert keys.content_key.hex() not in shown and repr(keys.content_key) not in shown
    assert keys.names_key.hex() not in shown and keys.check not in shown


def test_lock_document_is_exactly_the_contracts(keys) -> None:
    assert lock_document(keys) == {
        "format": 1,
        "kdf": "PBKDF2-SHA256",
        "iterations": 600000,
        "salt": base64.b64encode(SALT).decode(),
        "cipher": "AES-256-GCM",
        "names": "HMAC-SHA256-128",
        "info": {"content": "gallery-builder/v1/content", "names": "gallery-builder/v1/names"},
    }
    json.dumps(lock_document(keys))


WEBCRYPTO = r"""
const {subtle} = globalThis.crypto;
const input = JSON.parse(require('fs').readFileSync(0, 'utf8'));
const lock = input.lock;
const enc = new TextEncoder();
(async () => {
  const pw = await subtle.importKey('raw', enc.encode(input.password.normalize('NFC')),
                                    'PBKDF2', false, ['deriveBits']);
  const salt = Uint8Array.from(atob(lock.salt), c => c.charCodeAt(0));
  const bits = await subtle.deriveBits({name: 'PBKDF2', hash: 'SHA-256', salt,
                                        iterations: lock.iterations}, pw, 256);
  const master = await subtle.importKey('raw', bits, 'HKDF', false, ['deriveKey', 'deriveBits']);
  const hkdf = info => ({name: 'HKDF', hash: 'SHA-256', salt: new Uint8Array(0),
                         info: enc.encode(info)});
  const aes = await subtle.deriveKey(hkdf(lock.info.content), master,
                                     {name: 'AES-GCM', length: 256}, false, ['decrypt']);
  const namesBits = await subtle.deriveBits(hkdf(lock.info.names), master, 256);
  const names = await subtle.importKey('raw', namesBits, {name: 'HMAC', hash: 'SHA-256'},
                                       false, ['sign']);
  const mac = new Uint8Array(await subtle.sign('HMAC', names, enc.encode(input.path)));
  const fid = Array.from(mac.slice(0, 16), b => b.toString(16).padStart(2, '0')).join('');
  const sealed = Uint8Array.from(atob(input.sealed), c => c.charCodeAt(0));
  const clear = await subtle.decrypt({name: 'AES-GCM', iv: sealed.slice(0, 12),
                                      additionalData: enc.encode(fid)}, aes, sealed.slice(12));
  process.stdout.write(JSON.stringify({fid, clear: new TextDecoder().decode(clear)}));
})().catch(e => { console.error(String(e)); process.exit(1); });
"""


def test_the_browsers_webcrypto_derives_the_same_names_and_opens_the_files(keys) -> None:
    node = shutil.which("node")
    assert node, "Node is part of the test environment (the browser tests need it too)"
    path = "çarşı/index.html"
    fid = file_id(keys, path)
    text = "<p>Galata köprüsü</p>"
    request = {
        "password": PASSWORD,
        "lock": lock_document(keys),
        "path": path,
        "sealed": base64.b64encode(seal(keys, fid, text.encode())).decode(),
    }
    done = subprocess.run(
        [node, "-e", WEBCRYPTO],
        input=json.dumps(request),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {"fid": fid, "clear": text}
