"""The local private keys of private galleries (plugins/cloudfront_keys.py): where they are,
their modes, atomic replacement, and one clear error for a file that is not a usable key."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import textwrap
from dataclasses import replace
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from gallery_builder.plugins import cloudfront_keys
from gallery_builder.plugins.cloudfront_keys import (
    GalleryKey,
    key_path,
    keys_dir,
    load_key,
    new_key_pair,
    save_key,
)

from gallery_builder.errors import GalleryError


@pytest.fixture(scope="module")
def pair() -> tuple[bytes, bytes]:
    return new_key_pair()


@pytest.fixture
def keys(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "cfg" / "keys"
    monkeypatch.setenv("GALLERY_KEYS_DIR", str(folder))
    return folder


def a_key(pair: tuple[bytes, bytes], prefix: str = "family/2024") -> GalleryKey:
    return GalleryKey(
        bucket="photos-bucket",
        prefix=prefix,
        public_key_id="K2JCJMDEHXQW5F",
        key_group_id="7f1e3c2a-group",
        url="https://photos.example.com/",
        private_pem=pair[0],
        public_pem=pair[1],
    )


def mode(path: Path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_new_key_pair_is_rsa_2048_pkcs8_and_spki(pair: tuple[bytes, bytes]) -> None:
    private_pem, public_pem = pair
    assert private_pem.startswith(b"-----BEGIN PRIVATE KEY-----")  # PKCS#8, not PKCS#1
    assert public_pem.startswith(b"-----BEGIN PUBLIC KEY-----")  # SubjectPublicKeyInfo
    private = serialization.load_pem_private_key(private_pem, password=None)
    public = serialization.load_pem_public_key(public_pem)
    assert isinstance(private, rsa.RSAPrivateKey) and private.key_size == 2048
    signature = private.sign(b"x", padding.PKCS1v15(), hashes.SHA1())
    public.verify(signature, b"x", padding.PKCS1v15(), hashes.SHA1())  # the same pair
    assert new_key_pair()[0] != private_pem


def test_saved_key_loads_back_equal(keys: Path, pair: tuple[bytes, bytes]) -> None:
    key = a_key(pair)
    path = save_key(key)
    assert path == key_path("photos-bucket", "family/2024")
    assert path.parent == keys / "photos-bucket"
    assert load_key("photos-bucket", "family/2024") == key
    assert load_key("photos-bucket", "family") is None
    assert load_key("other-bucket", "family/2024") is None


def test_files_are_0600_and_folders_0700_as_created(keys: Path, pair: tuple[bytes, bytes]) -> None:
    old = os.umask(0o000)  # a permissive umask must not widen what is made
    try:
        path = save_key(a_key(pair))
    finally:
        os.umask(old)
    assert mode(path) == 0o600
    assert mode(path.parent) == 0o700
    assert mode(keys) == 0o700
    assert mode(keys.parent) == 0o700  # every folder it had to make


def test_an_existing_parent_folder_is_left_as_it_is(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, pair: tuple[bytes, bytes]
) -> None:
    tmp_path.chmod(0o755)
    monkeypatch.setenv("GALLERY_KEYS_DIR", str(tmp_path / "keys"))
    save_key(a_key(pair))
    assert mode(tmp_path) == 0o755
    assert mode(tmp_path / "keys") == 0o700


def test_save_replaces_the_file_whole(keys: Path, pair: tuple[bytes, bytes]) -> None:
    """A reader of the old key keeps reading the old key whole; the new one is a new file."""
    first = a_key(pair)
    path = save_key(first)
    before = os.stat(path).st_ino
    with open(path, "rb") as reader:
        second_pair = new_key_pair()
        save_key(replace(first, private_pem=second_pair[0], public_pem=second_pair[1]))
        assert json.loads(reader.read())["private_pem"] == first.private_pem.decode()
    assert os.stat(path).st_ino != before  # renamed over, not written in place
    assert load_key(first.bucket, first.prefix).private_pem == second_pair[0]
    assert mode(path) == 0o600
    assert sorted(p.name for p in path.parent.iterdir()) == [path.name]  # no temporary left


def test_a_write_that_fails_midway_leaves_the_old_key(
    keys: Path, pair: tuple[bytes, bytes]
) -> None:
    """A file size limit below a key's size makes the write fail after it began (EFBIG)."""
    path = save_key(a_key(pair))
    before = path.read_bytes()
    script = textwrap.dedent(
        """
        import resource, signal
        from dataclasses import replace
        from gallery_builder.errors import GalleryError
        from gallery_builder.plugins.cloudfront_keys import load_key, new_key_pair, save_key
        key = load_key("photos-bucket", "family/2024")
        private_pem, public_pem = new_key_pair()
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (500, 500))
        try:
            save_key(replace(key, private_pem=private_pem, public_pem=public_pem))
        except GalleryError as exc:
            print(exc)
        """
    )
    run = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env=os.environ.copy()
    )
    assert run.returncode == 0, run.stderr
    assert run.stdout.startswith(f"cannot write {path}: "), run.stdout
    assert path.read_bytes() == before
    assert load_key("photos-bucket", "family/2024") == a_key(pair)
    assert sorted(p.name for p in path.parent.iterdir()) == [path.name]


def test_keys_dir_order_of_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.delenv("GALLERY_KEYS_DIR", raising=False)
    monkeypatch.delenv("XDG_CONFIG_HOME", raising=False)
    assert keys_dir() == tmp_path / "home" / ".config" / "gallery-builder" / "keys"
    monkeypatch.setenv("XDG_CONFIG_HOME", "relative/config")  # the XDG spec: ignored
    assert keys_dir() == tmp_path / "home" / ".config" / "gallery-builder" / "keys"
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    assert keys_dir() == tmp_path / "xdg" / "gallery-builder" / "keys"
    monkeypatch.setenv("GALLERY_KEYS_DIR", "")
    assert keys_dir() == tmp_path / "xdg" / "gallery-builder" / "keys"
    monkeypatch.setenv("GALLERY_KEYS_DIR", str(tmp_path / "mine"))
    assert keys_dir() == tmp_path / "mine"


def test_save_goes_where_xdg_config_home_says(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, pair: tuple[bytes, bytes]
) -> None:
    monkeypatch.delenv("GALLERY_KEYS_DIR", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    path = save_key(a_key(pair))
    assert path.is_relative_to(tmp_path / "xdg" / "gallery-builder" / "keys")
    assert load_key("photos-bucket", "family/2024") == a_key(pair)


def test_prefixes_that_look_alike_do_not_share_a_file(
    keys: Path, pair: tuple[bytes, bytes]
) -> None:
    names = {key_path("b", p).name for p in ("a/b", "a%2Fb", "a_b", "a.b", "")}
    assert len(names) == 5
    save_key(a_key(pair, "a/b"))
    assert load_key("photos-bucket", "a%2Fb") is None
    assert all(p.parent == keys / "photos-bucket" for p in [key_path("photos-bucket", "a/b")])


def expect_one_line_error(path: Path, *words: str) -> str:
    with pytest.raises(GalleryError) as caught:
        load_key("photos-bucket", "family/2024")
    message = str(caught.value)
    assert "\n" not in message
    assert str(path) in message
    for word in words:
        assert word in message, message
    return message


@pytest.mark.parametrize(
    "content",
    [
        b"\x00\xff not even text",
        b"{ half a JSON",
        b"[1, 2]",
        b'{"kind": "something else"}',
        b"-----BEGIN PRIVATE KEY-----\nMIIE\n-----END PRIVATE KEY-----\n",
    ],
)
def test_a_damaged_or_foreign_file_is_one_error_naming_it(keys: Path, content: bytes) -> None:
    path = key_path("photos-bucket", "family/2024")
    path.parent.mkdir(parents=True)
    path.write_bytes(content)
    expect_one_line_error(path, "gallery invite --revoke-all s3://photos-bucket/family/2024")


def test_a_key_with_broken_pem_or_mismatched_halves_is_refused(
    keys: Path, pair: tuple[bytes, bytes]
) -> None:
    path = save_key(a_key(pair))
    record = json.loads(path.read_text())
    record["private_pem"] = record["private_pem"][:200] + record["private_pem"][260:]
    path.write_text(json.dumps(record))
    expect_one_line_error(path, "do not load")
    other_private, _ = new_key_pair()
    record["private_pem"] = other_private.decode()
    path.write_text(json.dumps(record))
    expect_one_line_error(path, "do not match")
    record["private_pem"] = pair[0].decode()
    record["url"] = "http://photos.example.com"
    path.write_text(json.dumps(record))
    expect_one_line_error(path, "'url'")
    del record["key_group_id"]
    path.write_text(json.dumps(record))
    expect_one_line_error(path, "'key_group_id'")


def test_another_gallerys_key_copied_into_place_is_refused(
    keys: Path, pair: tuple[bytes, bytes]
) -> None:
    source = save_key(a_key(pair, "work"))
    path = key_path("photos-bucket", "family/2024")
    path.write_bytes(source.read_bytes())
    expect_one_line_error(path, "s3://photos-bucket/work", str(source))


def test_a_newer_format_says_to_upgrade(keys: Path, pair: tuple[bytes, bytes]) -> None:
    path = save_key(a_key(pair))
    record = json.loads(path.read_text())
    record["format"] = cloudfront_keys.KEY_FORMAT + 1
    path.write_text(json.dumps(record))
    expect_one_line_error(path, "upgrade gallery-builder")


def test_a_key_folder_that_is_a_file_is_one_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, pair: tuple[bytes, bytes]
) -> None:
    (tmp_path / "keys").write_text("not a folder")
    monkeypatch.setenv("GALLERY_KEYS_DIR", str(tmp_path / "keys"))
    with pytest.raises(GalleryError, match="keys"):
        save_key(a_key(pair))
