"""Review of issue 10 (private galleries): problems found trying both modes as a user would.

Every test here FAILS ON PURPOSE against the code reviewed (main at 7887692); each says what
the docs promise and what happens instead. Real parts only: moto in server mode (straight,
where its 500 for UpdateKeyGroup stands for any refusal CloudFront may give), the recording
proxy's stand-ins where moto lacks key groups, the real ``gallery`` command, Node for the
unlock shell's own routing, headless Chromium through ``gallery serve``'s server.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pictures
import pytest
from conftest import gallery

from gallery_builder.plugin_manager import NO_AUTOLOAD_ENV
from gallery_builder.serve import SiteFolder, make_server, serve_in_thread

HARNESS = Path(__file__).with_name("unlock_harness.js")
PASSWORD = "correct horse battery staple"


@pytest.fixture(autouse=True)
def _keys(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "keys"
    monkeypatch.setenv("GALLERY_KEYS_DIR", str(folder))
    monkeypatch.setenv("GALLERY_CLEAR_DIR", str(tmp_path / "clear"))
    return folder


# --- an encrypted gallery that is also private (both modes) ----------------------------------


def test_the_service_worker_leaves_the_invitation_path_to_the_host() -> None:
    """Both modes on one gallery (an encrypted build published --private, which nothing
    refuses): the service worker answers every GET in its scope, /P/_auth included, so a new
    invitation link opened while the worker holds a key and the old cookies still work lands
    on the gallery's 404 page and never reaches CloudFront's function (no new cookies).
    Expected: /P/_auth passes through, as _x/ and _unlock/ do."""
    node = shutil.which("node")
    assert node
    job = {"routes": [["/p/", "/p/_auth"]]}
    done = subprocess.run(
        [node, str(HARNESS)], input=json.dumps(job), capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["routes"] == [{"pass": True}]


# --- what an encrypted OUT holds in the clear ------------------------------------------------


def test_nothing_readable_is_in_an_encrypted_out_build_state_included(tmp_path: Path) -> None:
    """docs/cli.md: "Nothing readable is ever inside OUT, its .gallery/ build state included,
    so OUT may be copied or served with any tool (rsync, aws s3 sync, a web server) without
    showing the gallery". OUT/.gallery/settings.json holds the source folder's absolute path
    in the clear, and a source folder is often named for what it holds."""
    source = tmp_path / "Ana and Bruno Wedding"
    pictures.jpeg(source / "Ceremony" / "kiss.jpg", (320, 240))
    (tmp_path / "pw").write_text(PASSWORD + "\n", encoding="utf-8")
    out = tmp_path / "site"
    done = gallery(
        "build", source, "-o", out, "--password-file", tmp_path / "pw", "-q",
        env={NO_AUTOLOAD_ENV: "1", "GALLERY_PASSWORD": ""},
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    readable = [
        str(path.relative_to(out))
        for path in out.rglob("*")
        if path.is_file() and b"Ana and Bruno" in path.read_bytes()
    ]
    assert readable == []


# --- the key kept for the tab's session only -------------------------------------------------


def test_closing_the_tab_locks_the_gallery(tmp_path: Path, browser: Any) -> None:
    """docs/private.md: the key is kept "in the tab's sessionStorage only (gone when the tab
    closes)". The service worker keeps it in memory after the tab is closed: a new tab opened
    at once (same browser) shows the gallery without asking for the password."""
    source = tmp_path / "photos"
    pictures.jpeg(source / "Album" / "one.jpg", (320, 240))
    (source / "gallery.toml").write_text('[gallery]\nname = "photos"\n', encoding="utf-8")
    (tmp_path / "pw").write_text(PASSWORD + "\n", encoding="utf-8")
    out = tmp_path / "site"
    done = gallery(
        "build", source, "-o", out, "--password-file", tmp_path / "pw", "-q",
        env={NO_AUTOLOAD_ENV: "1", "GALLERY_PASSWORD": ""},
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    server = make_server(SiteFolder(out, "/photos/"), port=0)
    serve_in_thread(server)
    url = f"http://127.0.0.1:{server.server_address[1]}/photos/"
    context = browser.new_context()
    try:
        keep = context.new_page()  # the browser stays open, as it does for a user
        keep.goto("about:blank")
        first = context.new_page()
        first.goto(url)
        first.fill("#password", PASSWORD)
        first.click("button[type=submit]")
        first.wait_for_selector("a[href='album/']", timeout=20_000)
        first.close()
        second = context.new_page()
        second.goto(url + "album/")
        second.wait_for_load_state("networkidle")
        assert second.locator("#password").count() == 1, second.title()
    finally:
        context.close()
        server.shutdown()
        server.server_close()


# --- a clear build published over an encrypted live gallery ----------------------------------


def test_a_clear_build_is_not_published_over_an_encrypted_gallery_by_accident(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """docs/https.md: "A forgotten option never makes a private gallery public" (refused
    before any write), and docs/private.md: "a folder built encrypted is never rebuilt in the
    clear by accident". But a build that forgot the password (another OUT, another machine, an
    unset GALLERY_PASSWORD) publishes over the live encrypted gallery without a word: every
    page and picture becomes readable. Expected: refused like the private case (an option
    such as --no-encryption to say it is meant), the live gallery unchanged."""
    source = tmp_path / "photos"
    pictures.jpeg(source / "Album" / "one.jpg", (320, 240))
    (source / "gallery.toml").write_text('[gallery]\nname = "photos"\n', encoding="utf-8")
    (tmp_path / "pw").write_text(PASSWORD + "\n", encoding="utf-8")
    monkeypatch.delenv("GALLERY_PASSWORD", raising=False)
    env = {NO_AUTOLOAD_ENV: "1"}
    sealed, clear, live = tmp_path / "sealed", tmp_path / "clear-site", tmp_path / "live"
    pw = ("--password-file", tmp_path / "pw")
    assert gallery("build", source, "-o", sealed, *pw, "-q", env=env).returncode == 0
    assert gallery("publish", "--site", sealed, live.as_uri(), env=env).returncode == 0
    before = (live / "photos" / "manifest.json").read_bytes()
    assert json.loads(before)["encrypted"]
    assert gallery("build", source, "-o", clear, "-q", env=env).returncode == 0
    run = gallery("publish", "--site", clear, live.as_uri(), env=env)
    assert run.returncode != 0, run.stdout + run.stderr
    assert (live / "photos" / "manifest.json").read_bytes() == before
    assert not (live / "photos" / "album").exists()
