"""The check, once per bucket, that the store enforces conditional writes (the lease and the
compare-and-swap commit rely on them): against s3rver, a real store that ignores them, and
the moto server, which enforces them; the fault proxy plays R2's 304."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
from gallery_builder.plugins.s3 import s3_publisher
from gallery_builder.plugins.s3.conditional import CANARY_KEY, canary_body
from s3env import Fault, FaultProxy, MotoServer
from s3rverenv import ACCESS_KEY, SECRET_KEY, S3rver

from gallery_builder.errors import GalleryError
from gallery_builder.publishing import PublishConflict, publish
from gallery_builder.testing import run_cli

BUCKET = "cas-gallery"


@pytest.fixture
def s3rver(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[S3rver]:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", ACCESS_KEY)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET_KEY)
    with S3rver(tmp_path / "s3rver") as store:
        yield store


def client(endpoint: str):
    return boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1")


def test_a_store_that_ignores_conditional_writes_is_refused_before_any_gallery_write(
    site: Path, s3rver: S3rver
) -> None:
    with FaultProxy(s3rver.endpoint) as proxy:
        args = ["publish", f"s3://{BUCKET}/photos", "--site", site, "--endpoint-url",
                proxy.endpoint]  # fmt: skip
        result = run_cli(args)
        assert result.exit_code == 1, result.output
        assert isinstance(result.exception, SystemExit)  # a message, not a traceback
        assert f"the store at {proxy.endpoint} does not enforce conditional writes" in (
            result.output
        )
        assert "If-None-Match: * over an existing object was accepted" in result.output
        assert "could lose the gallery" in result.output
        assert "--reconfigure to check again" in result.output
        s3 = client(s3rver.endpoint)
        keys = [o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET).get("Contents", [])]
        assert keys == [CANARY_KEY]  # nothing of the gallery, no lease
        verdict = json.loads(s3.get_object(Bucket=BUCKET, Key=CANARY_KEY)["Body"].read())
        assert verdict["conditional_writes"] == "ignored"
        # the next publish of any gallery in the bucket reads the verdict: no probe, no write
        before = len(proxy.events)
        again = run_cli(["publish", f"s3://{BUCKET}/other", "--site", site,
                         "--endpoint-url", proxy.endpoint])  # fmt: skip
        assert again.exit_code == 1 and "does not enforce conditional writes" in again.output
        sent = proxy.events[before:]
        assert [e.method for e in sent if e.method != "GET" and e.method != "HEAD"] == []
        assert [e.target for e in sent].count(f"/{BUCKET}/{CANARY_KEY}") == 1


def test_a_store_that_enforces_them_is_checked_once_per_bucket(
    site: Path, s3_server: MotoServer, s3
) -> None:
    publish(site, s3_publisher(f"s3://{BUCKET}", endpoint_url=s3_server.endpoint), "photos")
    verdict = json.loads(s3.get_object(Bucket=BUCKET, Key=CANARY_KEY)["Body"].read())
    assert verdict["conditional_writes"] == "enforced"
    assert set(verdict) == {"conditional_writes", "checked", "about"}  # nothing identifying
    # another gallery in the bucket: one GET of the canary, no probe
    mark = s3_server.mark()
    publish(site, s3_publisher(f"s3://{BUCKET}", endpoint_url=s3_server.endpoint), "other")
    canary = [r.method for r in s3_server.requests_since(mark) if r.key == CANARY_KEY]
    assert canary == ["GET"]
    # a no-op publish makes its one request, and never checks
    mark = s3_server.mark()
    publish(site, s3_publisher(f"s3://{BUCKET}", endpoint_url=s3_server.endpoint), "other")
    assert len(s3_server.requests_since(mark)) == 1


def test_a_304_to_a_failed_condition_counts_as_enforced(
    site: Path, s3_server: MotoServer, fault_proxy: FaultProxy, s3
) -> None:
    """Cloudflare R2 (and MinIO before 2024) may answer 304 when the condition fails."""
    fault_proxy.plan([
        Fault("not-modified", method="PUT", path=CANARY_KEY, nth=2),
        Fault("not-modified", method="PUT", path=CANARY_KEY, nth=3),
    ])  # fmt: skip
    publisher = s3_publisher(f"s3://{BUCKET}", endpoint_url=fault_proxy.endpoint)
    assert publish(site, publisher, "photos").committed
    assert fault_proxy.pending() == []
    verdict = json.loads(s3.get_object(Bucket=BUCKET, Key=CANARY_KEY)["Body"].read())
    assert verdict["conditional_writes"] == "enforced"


def test_a_304_to_the_commit_is_a_conflict(
    site: Path, s3_server: MotoServer, fault_proxy: FaultProxy, s3
) -> None:
    # the pending mark lands; the commit's condition "fails" as R2 may say it
    fault_proxy.plan([Fault("not-modified", method="PUT", path="photos/manifest.json", nth=2)])
    publisher = s3_publisher(f"s3://{BUCKET}", endpoint_url=fault_proxy.endpoint)
    with pytest.raises(PublishConflict, match="another publish changed"):
        publish(site, publisher, "photos")
    assert fault_proxy.pending() == []


def test_a_verdict_in_the_bucket_refuses_at_lease_time_and_reconfigure_checks_again(
    site: Path, s3_server: MotoServer, s3
) -> None:
    publish(site, s3_publisher(f"s3://{BUCKET}", endpoint_url=s3_server.endpoint), "photos")
    why = "a write with a stale If-Match was accepted"
    s3.put_object(Bucket=BUCKET, Key=CANARY_KEY, Body=canary_body("ignored", why))
    _touch_page(site)  # a publish that writes (no set-up: the hosting is in place)
    mark = s3_server.mark()
    with pytest.raises(GalleryError, match="does not enforce conditional writes"):
        publish(site, s3_publisher(f"s3://{BUCKET}", endpoint_url=s3_server.endpoint), "photos")
    sent = s3_server.requests_since(mark)
    assert [r.method for r in sent if r.method not in ("GET", "HEAD")] == []  # refused unwritten
    assert why in _message(site, s3_server)
    result = publish(
        site, s3_publisher(f"s3://{BUCKET}", endpoint_url=s3_server.endpoint), "photos",
        reconfigure=True,
    )  # fmt: skip
    assert result.committed
    verdict = json.loads(s3.get_object(Bucket=BUCKET, Key=CANARY_KEY)["Body"].read())
    assert verdict["conditional_writes"] == "enforced"


def _message(site: Path, server: MotoServer) -> str:
    try:
        publish(site, s3_publisher(f"s3://{BUCKET}", endpoint_url=server.endpoint), "photos")
    except GalleryError as exc:
        return str(exc)
    return ""


def _touch_page(site: Path) -> None:
    import hashlib

    from gallery_builder.manifest import dumps

    page = site / "index.html"
    page.write_text(page.read_text() + "<!-- changed -->")
    manifest = json.loads((site / "manifest.json").read_bytes())
    data = page.read_bytes()
    manifest["files"]["index.html"]["md5"] = hashlib.md5(data).hexdigest()
    manifest["files"]["index.html"]["size"] = len(data)
    (site / "manifest.json").write_bytes(dumps(manifest))
