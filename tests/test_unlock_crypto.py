"""The unlock shell's crypto (gallery_builder/unlock/crypto.js) against the build's
(gallery_builder/encryption.py), without a build: the same JS file the page and the service
worker run, under Node, whose WebCrypto is the browser's API (tests/unlock_harness.js). It
must find the files Python sealed under the names Python gave them, open them, refuse them
with a wrong password or under another name, and seal what Python opens; and map request
paths to the clear site's paths as the host does."""

from __future__ import annotations

import base64
import json
import shutil
import subprocess
import unicodedata
from pathlib import Path
from typing import Any

import pytest

from gallery_builder.encryption import derive, file_id, lock_document, open_sealed, seal

HARNESS = Path(__file__).with_name("unlock_harness.js")
PASSWORD = "Cafe\u0301 do mar 🌊"  # a decomposed é: the page must normalise to NFC as the build
SALT = bytes(range(100, 116))
FILES = {
    "index.html": b"<!doctype html><title>Summer in Lisbon</title>",
    "album/index.html": "<h1>Sintra, à noite</h1>".encode(),
    "album/galata.1280.3f2a.webp": b"RIFF\x10\x00\x00\x00WEBPVP8 " + bytes(range(256)) * 40,
    "manifest.json": b'{"title": "Summer in Lisbon"}',
    "empty.txt": b"",
}


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def run_js(job: dict[str, Any]) -> dict[str, Any]:
    node = shutil.which("node")
    assert node, "Node is part of the test environment (the browser tests need it too)"
    done = subprocess.run(
        [node, str(HARNESS)], input=json.dumps(job), capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


@pytest.fixture(scope="module")
def keys():
    return derive(PASSWORD, SALT)


@pytest.fixture(scope="module")
def sealed(keys) -> dict[str, bytes]:
    return {path: seal(keys, file_id(keys, path), data) for path, data in FILES.items()}


def opening(sealed: dict[str, bytes]) -> list[dict[str, str]]:
    return [{"path": path, "data": b64(data)} for path, data in sealed.items()]


def test_js_opens_what_python_sealed_under_the_same_names(keys, sealed) -> None:
    answer = run_js({"password": PASSWORD, "lock": lock_document(keys), "open": opening(sealed)})
    assert [o["fid"] for o in answer["opened"]] == [file_id(keys, path) for path in FILES]
    assert [base64.b64decode(o["data"]) for o in answer["opened"]] == list(FILES.values())


def test_the_password_in_nfc_form_opens_them_too(keys, sealed) -> None:
    nfc = unicodedata.normalize("NFC", PASSWORD)
    answer = run_js({"password": nfc, "lock": lock_document(keys), "open": opening(sealed)})
    assert all("data" in o for o in answer["opened"]), answer


def test_a_wrong_password_finds_other_names_and_opens_nothing(keys, sealed) -> None:
    answer = run_js(
        {"password": "cafe do mar", "lock": lock_document(keys), "open": opening(sealed)}
    )
    assert not {o["fid"] for o in answer["opened"]} & {file_id(keys, path) for path in FILES}
    assert [o.get("error") for o in answer["opened"]] == ["OperationError"] * len(FILES)


def test_a_file_under_another_name_does_not_open(keys, sealed) -> None:
    swapped = [
        {"path": "index.html", "data": b64(sealed["album/index.html"])},
        {"path": "album/index.html", "data": b64(sealed["index.html"])},
        {"path": "index.html", "data": b64(sealed["index.html"][:-1] + b"\0")},  # damaged
        {"path": "index.html", "data": b64(sealed["index.html"][:20])},  # cut short
    ]
    answer = run_js({"password": PASSWORD, "lock": lock_document(keys), "open": swapped})
    assert [o.get("error") for o in answer["opened"]] == ["OperationError"] * 4


def test_python_opens_what_js_sealed(keys) -> None:
    job = {"password": PASSWORD, "lock": lock_document(keys),
           "seal": [{"path": p, "data": b64(d)} for p, d in FILES.items()]}  # fmt: skip
    answer = run_js(job)
    for (path, data), out in zip(FILES.items(), answer["sealed"], strict=True):
        assert out["fid"] == file_id(keys, path)
        assert open_sealed(keys, out["fid"], base64.b64decode(out["data"])) == data


@pytest.mark.parametrize(
    "change",
    [
        {"iterations": 100_000},  # weaker than the build writes: a downgraded lock
        {"iterations": 600_000.5},
        {"format": 2},
        {"kdf": "PBKDF2-SHA1"},
        {"cipher": "AES-128-GCM"},
        {"names": "HMAC-SHA256"},
        {"salt": "c2FsdA=="},  # 4 bytes
        {"salt": "not base64!"},
        {"info": None},
    ],
)
def test_a_lock_the_page_cannot_trust_is_refused(keys, change) -> None:
    answer = run_js({"password": PASSWORD, "lock": lock_document(keys) | change})
    assert answer["lockError"].startswith("LockError: this gallery's _lock.json"), answer


ROUTES = [
    ("/p/", "/p/", {"path": "index.html", "folder": True}),
    ("/p/", "/p/album/", {"path": "album/index.html", "folder": True}),
    ("/p/", "/p/album", {"path": "album", "folder": False}),
    ("/p/", "/p/album/IMG_1.640.ab12.webp", {"path": "album/IMG_1.640.ab12.webp", "folder": False}),
    ("/p/", "/p/caf%C3%A9/", {"path": "café/index.html", "folder": True}),
    ("/p/", "/p/manifest.json", {"path": "manifest.json", "folder": False}),
    ("/p/", "/p/_x/0123", {"pass": True}),
    ("/p/", "/p/_unlock/unlock.js", {"pass": True}),
    ("/p/", "/p/_lock.json", {"pass": True}),
    ("/p/", "/p/_sw.js", {"pass": True}),
    # CloudFront's invitation endpoint (an encrypted gallery published --private): the host's
    ("/p/", "/p/_auth", {"pass": True}),
    ("/trips/2026/", "/trips/2026/_auth", {"pass": True}),
    ("/p/", "/p/_auth/", {"path": "_auth/index.html", "folder": True}),  # not the endpoint
    ("/p/", "/p/_authx", {"path": "_authx", "folder": False}),
    ("/p/", "/other/", None),
    ("/p/", "/p/a/../b", None),
    ("/p/", "/p/a//b", None),
    ("/p/", "/p/%E0%A4%A", None),
    ("/p/", "/p/a%5Cb", None),
    ("/", "/album/", {"path": "album/index.html", "folder": True}),
]


def test_request_paths_map_to_the_clear_sites_paths_as_the_host_maps_them() -> None:
    answer = run_js({"routes": [[scope, path] for scope, path, _ in ROUTES]})
    assert answer["routes"] == [expected for _, _, expected in ROUTES]
