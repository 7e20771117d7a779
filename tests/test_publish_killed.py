"""A real ``gallery publish`` process killed (SIGKILL) in the middle of a publish: the live
gallery stays whole, and running it again sends nothing that had arrived.

The kill is placed exactly: a fault proxy in front of the moto server holds one chosen request
unanswered, the test waits until the publish has sent everything else it can before that
request's answer, then kills the process.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from posixpath import dirname, normpath
from urllib.parse import urlsplit

import pictures
import pytest
from conftest import TIMEOUT, links_of, read_manifest
from gallery_builder.plugins.s3 import s3_publisher
from gallery_builder.plugins.s3.lease import lease_key
from s3env import Fault, FaultProxy, MotoServer

from gallery_builder.publishing import publish
from gallery_builder.testing import build_gallery, run_cli

BUCKET = "killed-gallery"
PREFIX = "photos"
LEASE = lease_key(PREFIX)


def broken_links(s3) -> dict[str, list[str]]:
    """For each live page in the bucket, the gallery-local links that lead to no object."""
    keys = {
        item["Key"]
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=BUCKET, Prefix=PREFIX)
        for item in page.get("Contents", [])
    }
    broken: dict[str, list[str]] = {}
    for key in sorted(k for k in keys if k.endswith(".html")):
        html = s3.get_object(Bucket=BUCKET, Key=key)["Body"].read().decode()
        for url in links_of(html):
            parts = urlsplit(url)
            if parts.scheme or parts.netloc or not parts.path:
                continue  # another site, or a fragment of this page
            if parts.path.startswith("/"):  # from the root (error.html)
                target = normpath(parts.path).lstrip("/")
            else:
                target = normpath(f"{dirname(key)}/{parts.path}")
            if parts.path.endswith("/"):
                target += "/index.html"
            if target not in keys:
                broken.setdefault(key, []).append(url)
    return broken


def successful_puts(requests) -> set[str]:
    """The gallery's keys written (not the bucket root's, rebuilt after the commit)."""
    return {
        r.key
        for r in requests
        if r.method == "PUT"
        and r.status == 200
        and r.bucket == BUCKET
        and not r.query
        and (r.key.startswith(f"{PREFIX}/") or r.key == LEASE)
    }


def wait_until_quiet(server: MotoServer, proxy: FaultProxy, process: subprocess.Popen) -> None:
    """Wait until the held request has come and nothing else has reached the server for a
    while: the publish has sent all it can before that request's answer."""
    deadline = time.monotonic() + TIMEOUT
    seen, quiet_since = -1, time.monotonic()
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"publish ended (exit {process.returncode}) before it could be killed")
        held = any(e.fault == "hang" for e in proxy.events)
        now = len(server.requests(settle=0))
        if now != seen:
            seen, quiet_since = now, time.monotonic()
        elif held and time.monotonic() - quiet_since > 0.5:
            return
        time.sleep(0.05)
    pytest.fail("the held request never came")


def kill_publish_when_held(site: Path, server: MotoServer, proxy: FaultProxy) -> None:
    """Run ``gallery publish`` of ``site`` through ``proxy`` in a child process and SIGKILL it
    once the request the proxy holds has come and all else has been sent."""
    process = subprocess.Popen(
        [sys.executable, "-m", "gallery_builder", "publish", BUCKET, "--site", site,
         "--endpoint-url", proxy.endpoint],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=os.environ.copy(),
    )  # fmt: skip
    try:
        wait_until_quiet(server, proxy, process)
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait(TIMEOUT)


@pytest.fixture
def changed_site(source: Path, site: Path, s3_server: MotoServer) -> Path:
    """``site`` published as version 1, then changed (one picture edited, one added, one
    removed) and rebuilt: version 2, not yet published."""
    publish(site, s3_publisher(f"s3://{BUCKET}", endpoint_url=s3_server.endpoint), PREFIX)
    pictures.jpeg(source / "a.jpg", (330, 250), taken="2024:01:01 10:00:00")
    pictures.jpeg(source / "Trip" / "d.jpg", (280, 210), taken="2024:01:03 10:00:00")
    (source / "Trip" / "Day" / "c.png").unlink()
    pictures.jpeg(source / "Trip" / "Day" / "e.jpg", (260, 200), taken="2024:01:04 10:00:00")
    build_gallery(source, site)
    return site


@pytest.mark.parametrize(
    "held",
    [
        # an image in flight: the other images arrived, no page has changed yet
        Fault("hang", method="PUT", path=".jpg", nth=3),
        # the root page in flight: every image and the deeper pages arrived, already live
        Fault("hang", method="PUT", path=f"/{BUCKET}/{PREFIX}/index.html"),
    ],
    ids=["during-images", "during-pages"],
)
def test_a_killed_publish_leaves_the_gallery_whole_and_resumes(
    changed_site: Path, s3_server: MotoServer, fault_proxy: FaultProxy, s3, held: Fault
) -> None:
    old_manifest = s3.get_object(Bucket=BUCKET, Key=f"{PREFIX}/manifest.json")["Body"].read()
    fault_proxy.plan([held])
    mark = s3_server.mark()
    kill_publish_when_held(changed_site, s3_server, fault_proxy)
    arrived = successful_puts(s3_server.requests_since(mark)) - {
        LEASE,
        f"{PREFIX}/manifest.json",  # the live manifest, marked pending (below)
    }
    assert arrived, "nothing was sent before the kill"

    # the old gallery is live, and whole: no live page links to a missing object; its
    # manifest still lists the old files, marked as being replaced
    live = json.loads(s3.get_object(Bucket=BUCKET, Key=f"{PREFIX}/manifest.json")["Body"].read())
    assert live["files"] == json.loads(old_manifest)["files"] and live["pending"]["id"]
    assert broken_links(s3) == {}
    if "index.html" in (held.path or ""):  # deeper pages of version 2 were already live
        trip = s3.get_object(Bucket=BUCKET, Key=f"{PREFIX}/trip/index.html")["Body"].read()
        assert trip == (changed_site / "trip" / "index.html").read_bytes()

    # run again (the killed publish's lease is taken over at once: its process is gone)
    mark = s3_server.mark()
    again = subprocess.run(
        [sys.executable, "-m", "gallery_builder", "publish", BUCKET, "--site", changed_site,
         "--endpoint-url", s3_server.endpoint],
        capture_output=True, text=True, timeout=TIMEOUT,
    )  # fmt: skip
    assert again.returncode == 0, again.stdout + again.stderr
    resent = successful_puts(s3_server.requests_since(mark))
    assert resent & arrived == set(), "sent again although it had arrived"
    files = read_manifest(changed_site)["files"]
    old = json.loads(old_manifest)["files"]
    changed = {f"{PREFIX}/{p}" for p, e in files.items() if old.get(p, {}).get("md5") != e["md5"]}
    # exactly what had not arrived, plus the lease and the commit
    assert resent == changed - arrived | {LEASE, f"{PREFIX}/manifest.json"}
    assert broken_links(s3) == {}
    listed = {
        item["Key"].removeprefix(f"{PREFIX}/")
        for item in s3.list_objects_v2(Bucket=BUCKET, Prefix=PREFIX)["Contents"]
    }
    assert listed == set(files) | {"manifest.json"}  # version 1's leftovers deleted


def test_undoing_a_change_after_a_killed_publish_restores_every_page(
    source: Path, site: Path, s3_server: MotoServer, fault_proxy: FaultProxy, s3, tmp_path: Path
) -> None:
    """Version 2's pages went live before the kill; version 1, built again, is published: its
    manifest equals the live one's files, but the live pages are version 2's."""
    publish(site, s3_publisher(f"s3://{BUCKET}", endpoint_url=s3_server.endpoint), PREFIX)
    first = tmp_path / "first"
    shutil.copytree(site, first)
    pictures.jpeg(source / "a.jpg", (330, 250), taken="2024:01:01 10:00:00")
    build_gallery(source, site)
    fault_proxy.plan([Fault("hang", method="PUT", path=f"/{BUCKET}/{PREFIX}/index.html")])
    kill_publish_when_held(site, s3_server, fault_proxy)
    live_page = s3.get_object(Bucket=BUCKET, Key=f"{PREFIX}/index.html")["Body"].read()
    assert live_page == (first / "index.html").read_bytes()  # the root was held
    mark = s3_server.mark()
    result = run_cli(["publish", BUCKET, "--site", first, "--endpoint-url", s3_server.endpoint])
    assert result.exit_code == 0, result.output
    assert "up to date" not in result.output
    assert broken_links(s3) == {}
    for path, entry in read_manifest(first)["files"].items():
        head = s3.head_object(Bucket=BUCKET, Key=f"{PREFIX}/{path}")
        assert head["ETag"].strip('"') == entry["md5"], path
    live = s3.get_object(Bucket=BUCKET, Key=f"{PREFIX}/manifest.json")["Body"].read()
    assert "pending" not in json.loads(live)
    # only what version 2 had replaced was sent back; the unchanged files were checked
    sent = successful_puts(s3_server.requests_since(mark))
    assert f"{PREFIX}/a.thumb." not in " ".join(sent)
    assert not any(key.endswith((".jpg", ".webp")) for key in sent)
