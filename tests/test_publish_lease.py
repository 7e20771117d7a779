"""The S3 publisher's lease (plugins/s3/lease.py): renewed while a publish runs, judged dead
only from a machine identity with the PID and its start time, checked before every write, kept
out of the public prefix with nothing identifying in it, and read as untrusted input.

Real parts: a moto server over HTTP, real ``gallery publish`` processes (with a lease
shortened through GALLERY_LEASE_SECONDS) slowed or held by the fault proxy."""

from __future__ import annotations

import fnmatch
import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import quote

import pictures
import pytest
from conftest import TIMEOUT, read_manifest
from gallery_builder.plugins.s3 import s3_publisher
from gallery_builder.plugins.s3.lease import (
    LEASE_SECONDS_ENV,
    lease_key,
    machine_identity,
    process_start,
)
from s3env import Fault, FaultProxy, MotoServer

from gallery_builder.publishing import PublishConflict, publish
from gallery_builder.testing import build_gallery, run_cli

BUCKET = "leased-gallery"
PREFIX = "photos"
LEASE = lease_key(PREFIX)


def start_publish(site: Path, endpoint: str, lease_seconds: float) -> subprocess.Popen:
    """A real ``gallery publish`` in a child process, with a short lease."""
    return subprocess.Popen(
        [sys.executable, "-m", "gallery_builder", "publish", f"s3://{BUCKET}/{PREFIX}",
         "--site", site, "--endpoint-url", endpoint],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        env={**os.environ, LEASE_SECONDS_ENV: str(lease_seconds)},
    )  # fmt: skip


def lease_body(s3) -> dict | None:
    try:
        return json.loads(s3.get_object(Bucket=BUCKET, Key=LEASE)["Body"].read())
    except s3.exceptions.NoSuchKey:
        return None


def wait_for(condition, what: str, process: subprocess.Popen | None = None) -> None:
    deadline = time.monotonic() + TIMEOUT
    while time.monotonic() < deadline:
        if condition():
            return
        if process is not None and process.poll() is not None:
            pytest.fail(f"publish ended (exit {process.returncode}) before {what}")
        time.sleep(0.05)
    pytest.fail(f"never: {what}")


def finish(process: subprocess.Popen) -> tuple[int, str]:
    try:
        out, _ = process.communicate(timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        process.kill()
        out, _ = process.communicate()
        pytest.fail(f"publish still running after {TIMEOUT} s: {out}")
    return process.returncode, out


def s3_pub(server: MotoServer):
    return s3_publisher(f"s3://{BUCKET}", endpoint_url=server.endpoint)


@pytest.fixture
def changed(source: Path, site: Path, s3_server: MotoServer) -> Path:
    """``site`` published as version 1, then its root picture edited and rebuilt."""
    publish(site, s3_pub(s3_server), PREFIX)
    pictures.jpeg(source / "a.jpg", (330, 250), taken="2024:01:01 10:00:00")
    build_gallery(source, site)
    return site


# --- renewal ---------------------------------------------------------------------------------


def test_a_publish_longer_than_the_lease_renews_it_and_is_not_overtaken(
    changed: Path, s3_server: MotoServer, fault_proxy: FaultProxy, s3
) -> None:
    """A 1 s lease; the root page's upload held 4 s: the lease is renewed meanwhile (its
    ``until`` moves on), another publish is refused all along, and the slow one completes."""
    fault_proxy.plan([Fault("delay", method="PUT", path=f"/{PREFIX}/index.html", seconds=4)])
    process = start_publish(changed, fault_proxy.endpoint, lease_seconds=1)
    wait_for(lambda: lease_body(s3) is not None, "the lease was taken", process)
    first = lease_body(s3)["until"]
    untils = {first}
    refused = 0
    while process.poll() is None:
        body = lease_body(s3)
        if body is not None:
            untils.add(body["until"])
            if body["until"] > first + 1.5 and not refused:  # well past the first lease
                with pytest.raises(PublishConflict, match="another publish holds"):
                    publish(changed, s3_pub(s3_server), PREFIX)
                refused += 1
        time.sleep(0.1)
    code, out = finish(process)
    assert code == 0, out
    assert len(untils) >= 3 and refused == 1
    live = json.loads(s3.get_object(Bucket=BUCKET, Key=f"{PREFIX}/manifest.json")["Body"].read())
    assert live["files"] == read_manifest(changed)["files"] and "pending" not in live
    assert lease_body(s3) is None  # released


def test_a_publish_that_cannot_renew_its_lease_stops_before_its_next_write(
    changed: Path, s3_server: MotoServer, fault_proxy: FaultProxy, s3
) -> None:
    """Its renewal is held (never answered) and an image upload is slowed past the lease:
    no page and no commit is written after that; the message says what happened."""
    fault_proxy.plan([
        Fault("hang", method="PUT", path=LEASE, nth=2),  # the first renewal
        Fault("delay", method="PUT", path=".jpg", seconds=3),
    ])  # fmt: skip
    mark = s3_server.mark()
    process = start_publish(changed, fault_proxy.endpoint, lease_seconds=1)
    code, out = finish(process)
    assert code == 1 and "lost its lease" in out and "Traceback" not in out, out
    assert "run gallery publish again" in out
    writes = [r.key for r in s3_server.requests_since(mark) if r.method == "PUT"]
    assert not any(key.endswith(".html") for key in writes), writes
    assert writes.count(f"{PREFIX}/manifest.json") == 1  # the pending mark only, no commit


def test_a_late_page_from_a_publish_that_was_overtaken_cannot_replace_the_winners(
    source: Path, changed: Path, s3_server: MotoServer, fault_proxy: FaultProxy, s3, tmp_path
) -> None:
    """A's renewals are held and its root page is slowed; its lease expires, B takes it over
    and commits version 3; then A's page arrives: written only over the page the manifest
    promised, it is refused, and B's gallery stays live (the next publish is right to say
    "up to date")."""
    fault_proxy.plan([
        Fault("hang", method="PUT", path=LEASE, nth=2),
        Fault("delay", method="PUT", path=f"/{PREFIX}/index.html", seconds=5),
    ])  # fmt: skip
    loser = start_publish(changed, fault_proxy.endpoint, lease_seconds=1)
    wait_for(lambda: any(e.fault == "delay" for e in fault_proxy.events), "A's page", loser)
    held_until = lease_body(s3)["until"]
    pictures.jpeg(source / "a.jpg", (340, 260), taken="2024:01:01 10:00:00")
    winner_site = tmp_path / "v3"
    build_gallery(source, winner_site)
    wait_for(lambda: time.time() > held_until + 0.1, "A's lease expired")
    publish(winner_site, s3_pub(s3_server), PREFIX)  # B: takes the expired lease over
    code, out = finish(loser)
    assert code == 1 and "another publish replaced it" in out and "Traceback" not in out, out
    live_page = s3.get_object(Bucket=BUCKET, Key=f"{PREFIX}/index.html")["Body"].read()
    assert live_page == (winner_site / "index.html").read_bytes()
    live = json.loads(s3.get_object(Bucket=BUCKET, Key=f"{PREFIX}/manifest.json")["Body"].read())
    assert live["files"] == read_manifest(winner_site)["files"] and "pending" not in live
    for path, entry in live["files"].items():  # "up to date" from now on is the truth
        head = s3.head_object(Bucket=BUCKET, Key=f"{PREFIX}/{path}")
        assert head["ETag"].strip('"') == entry["md5"], path


# --- who may take a lease over ----------------------------------------------------------------


def put_lease(s3, **fields) -> None:
    body = {"id": "someone", "until": time.time() + 600, **fields}
    s3.put_object(Bucket=BUCKET, Key=LEASE, Body=json.dumps(body).encode())


def test_a_live_lease_from_another_machine_with_the_same_host_name_is_not_taken(
    site: Path, s3_server: MotoServer, s3
) -> None:
    s3.create_bucket(Bucket=BUCKET)
    gone = 2**22 + 12345  # no such process here
    put_lease(s3, host=socket.gethostname(), machine="0" * 32, pid=gone, started=1)
    result = run_cli(["publish", f"s3://{BUCKET}/{PREFIX}", "--site", site,
                      "--endpoint-url", s3_server.endpoint])  # fmt: skip
    assert result.exit_code == 1 and "another publish holds" in result.output
    assert json.loads(s3.get_object(Bucket=BUCKET, Key=LEASE)["Body"].read())["id"] == "someone"


def test_a_lease_of_a_running_process_on_this_machine_is_not_taken(
    site: Path, s3_server: MotoServer, s3
) -> None:
    s3.create_bucket(Bucket=BUCKET)
    put_lease(s3, machine=machine_identity(), pid=os.getppid(), started=process_start(os.getppid()))
    with pytest.raises(PublishConflict, match="another publish holds"):
        publish(site, s3_pub(s3_server), PREFIX)


@pytest.mark.parametrize(
    "holder",
    [
        lambda: {"pid": 2**22 + 12345, "started": 1},  # its process is gone
        lambda: {"pid": os.getppid(), "started": 1},  # its PID now runs another process
    ],
    ids=["process-gone", "pid-reused"],
)
def test_a_lease_whose_process_died_on_this_machine_is_taken_over_at_once(
    site: Path, s3_server: MotoServer, s3, holder
) -> None:
    s3.create_bucket(Bucket=BUCKET)
    put_lease(s3, machine=machine_identity(), **holder())
    result = publish(site, s3_pub(s3_server), PREFIX)
    assert result.committed


# --- untrusted lease bodies ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        b'{"until": 1e300}',
        b'{"until": "inf"}',
        b'{"until": Infinity}',
        b'{"until": NaN}',
        b'{"until": "soon"}',
        b'{"until": [1]}',
        b'{"until": true}',
        b'{"until": 1e30, "pid": "x", "machine": 5}',
        b"[1, 2]",
        b"not json",
        b"\xff\xfe",
        b'{"until": SOON, "pid": 1e30, "started": -1, "machine": []}',
    ],
)
def test_a_lease_of_any_shape_is_a_clear_message_or_is_taken_over(
    site: Path, s3_server: MotoServer, s3, body: bytes
) -> None:
    """Never a traceback. A lease that is not one gallery-builder wrote counts as held for
    one lease duration from when the store got it; then a publish takes it over."""
    s3.create_bucket(Bucket=BUCKET)
    # the one lease of the right shape, "SOON", holds for a minute: however slow the machine,
    # the first publish meets it unexpired (it is made to expire below)
    soon = body.replace(b"SOON", b"%.3f" % (time.time() + 60))
    s3.put_object(Bucket=BUCKET, Key=LEASE, Body=soon)
    result = run_cli(["publish", f"s3://{BUCKET}/{PREFIX}", "--site", site,
                      "--endpoint-url", s3_server.endpoint])  # fmt: skip
    assert isinstance(result.exception, SystemExit), result.exception
    assert result.exit_code == 1 and "Error: " in result.output, result.output
    assert f"s3://{BUCKET}/{LEASE}" in result.output and "wait" in result.output
    if soon != body:  # now it expires
        expired = body.replace(b"SOON", b"%.3f" % (time.time() - 1))
        s3.put_object(Bucket=BUCKET, Key=LEASE, Body=expired)
    # one lease duration later (1 s here) it is taken over, or once it expired
    time.sleep(1.2)
    process = start_publish(site, s3_server.endpoint, lease_seconds=1)
    code, out = finish(process)
    assert code == 0, out


@pytest.mark.parametrize("until", [-5, 0, 1.5])
def test_a_lease_that_expired_long_ago_is_taken_over(
    site: Path, s3_server: MotoServer, s3, until: float
) -> None:
    s3.create_bucket(Bucket=BUCKET)
    put_lease(s3, until=until, machine="0" * 32, pid=1, started=1)
    assert publish(site, s3_pub(s3_server), PREFIX).committed


# --- the lease is not public, and says nothing of the machine ----------------------------------


def anonymous_status(server: MotoServer, key: str) -> int:
    """The status of an unsigned GET of ``key``: what anyone on the web would get."""
    try:
        with urllib.request.urlopen(f"{server.endpoint}/{BUCKET}/{quote(key)}") as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


@pytest.mark.parametrize("prefix", [PREFIX, ""], ids=["prefix", "bucket-root"])
def test_the_lease_is_outside_the_public_prefix_and_identifies_no_machine(
    site: Path, s3_server: MotoServer, fault_proxy: FaultProxy, s3, prefix: str
) -> None:
    target = f"s3://{BUCKET}/{prefix}" if prefix else f"s3://{BUCKET}"
    index = f"/{prefix}/index.html" if prefix else f"/{BUCKET}/index.html"
    fault_proxy.plan([Fault("delay", method="PUT", path=index, seconds=2)])
    process = subprocess.Popen(
        [sys.executable, "-m", "gallery_builder", "publish", target, "--site", site,
         "--endpoint-url", fault_proxy.endpoint, "-d", prefix],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    key = lease_key(prefix)
    wait_for(lambda: any(e.fault == "delay" for e in fault_proxy.events), "the page", process)
    body = s3.get_object(Bucket=BUCKET, Key=key)["Body"].read().decode()
    # an anonymous reader (moto evaluates the bucket policy for unsigned requests): the
    # gallery's images are public by now, the lease only when the gallery is the bucket's root
    image = next(p for p, e in read_manifest(site)["files"].items() if "image" in e["content_type"])
    assert anonymous_status(s3_server, f"{prefix}/{image}" if prefix else image) == 200
    assert anonymous_status(s3_server, key) == (403 if prefix else 200)
    code, out = finish(process)
    assert code == 0, out
    policy = json.loads(s3.get_bucket_policy(Bucket=BUCKET)["Policy"])
    public = [
        r
        for s in policy["Statement"]
        if s.get("Principal") == "*"
        for r in ([s["Resource"]] if isinstance(s["Resource"], str) else s["Resource"])
    ]
    if prefix:  # no public statement covers the lease
        assert not any(fnmatch.fnmatchcase(f"arn:aws:s3:::{BUCKET}/{key}", r) for r in public)
    # whatever can read it learns nothing of the machine
    secrets = [socket.gethostname()]
    for path in ("/etc/machine-id", "/proc/sys/kernel/random/boot_id"):
        if os.path.exists(path):
            secrets.append(Path(path).read_text().strip())
    assert not any(secret and secret in body for secret in secrets), body
    assert "host" not in json.loads(body)
