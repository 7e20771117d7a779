"""Helpers for the CloudFront publish tests: a publisher through the recording proxy, what
the recorded requests say, moto's state manager (a distribution held InProgress), and the
fixtures tests/conftest.py takes from here."""

from __future__ import annotations

import http.client
import json
import xml.etree.ElementTree as ET
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from gallery_builder.plugins.s3 import s3_publisher
from recording_proxy import CF, CloudFrontStandIns, KeyGroupStands, Recorded, RecordingProxy
from s3env import MotoServer

from gallery_builder.publishing import publish

BUCKET = "cdn-gallery"


def cdn_publisher(endpoint: str, target: str = f"s3://{BUCKET}", **options: Any) -> Any:
    return s3_publisher(target, endpoint_url=endpoint, region="us-east-1", cdn="cloudfront",
                        **options)  # fmt: skip


def cloudfront(requests: list[Recorded]) -> list[Recorded]:
    return [r for r in requests if r.service == "cloudfront"]


def counts(requests: list[Recorded]) -> dict[str, int]:
    """Requests per service, e.g. {"s3": 12, "cloudfront": 9}."""
    return dict(Counter(r.service for r in requests))


def operation(requests: list[Recorded], method: str, path: str) -> list[Recorded]:
    """The recorded requests with this method on this path (below /2020-05-31/)."""
    return [r for r in requests if r.method == method and r.path == CF + path]


def find(root: ET.Element, path: str) -> str | None:
    node = root.find(path)
    return None if node is None else node.text


def sent_distribution(requests: list[Recorded]) -> ET.Element:
    """The DistributionConfig of the last create or update sent."""
    for r in reversed(requests):
        if r.method == "POST" and r.path == CF + "distribution" and "WithTags" in r.query:
            return r.xml().find("DistributionConfig")  # type: ignore[return-value]
        if r.method == "PUT" and r.path.startswith(CF + "distribution/"):
            return r.xml()
    raise AssertionError("no distribution config was sent")


def statements(s3: Any) -> dict[str, dict[str, Any]]:
    policy = json.loads(s3.get_bucket_policy(Bucket=BUCKET)["Policy"])
    return {s.get("Sid"): s for s in policy["Statement"]}


def aws(service: str, endpoint: str) -> Any:
    """A client of its own session (boto3's default session would keep the credentials it
    first found for every later test)."""
    import boto3

    return boto3.session.Session().client(service, endpoint_url=endpoint, region_name="us-east-1")


def public_access_block(s3: Any) -> dict[str, Any]:
    """The bucket's Block Public Access flags ({} when it has none set: nothing blocked)."""
    try:
        return s3.get_public_access_block(Bucket=BUCKET)["PublicAccessBlockConfiguration"]
    except s3.exceptions.ClientError as exc:
        if exc.response["Error"]["Code"] != "NoSuchPublicAccessBlockConfiguration":
            raise
        return {}


def moto_api(endpoint: str, path: str, body: dict[str, Any]) -> None:
    parts = urlsplit(endpoint)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    try:
        conn.request("POST", f"/moto-api/state-manager/{path}", body=json.dumps(body))
        response = conn.getresponse()
        response.read()
        assert response.status in (200, 201), response.status
    finally:
        conn.close()


def hold_in_progress(endpoint: str, seconds: float) -> None:
    """moto's distributions stay InProgress ``seconds`` after each create/update."""
    moto_api(endpoint, "set-transition", {
        "model_name": "cloudfront::distribution",
        "transition": {"progression": "time", "seconds": seconds},
    })  # fmt: skip


def release(endpoint: str) -> None:
    moto_api(endpoint, "unset-transition", {"model_name": "cloudfront::distribution"})


# --- fixtures (tests/conftest.py imports them) ----------------------------------------------


@pytest.fixture
def cdn_proxy(s3_server: MotoServer) -> Iterator[RecordingProxy]:
    """The recording proxy in front of the (emptied) moto server."""
    with RecordingProxy(s3_server.endpoint) as recording:
        yield recording


@pytest.fixture
def stand_ins(cdn_proxy: RecordingProxy) -> CloudFrontStandIns:
    """The proxy answers what moto lacks (publish_function, the policies)."""
    return CloudFrontStandIns(cdn_proxy)


@pytest.fixture
def key_groups(cdn_proxy: RecordingProxy) -> KeyGroupStands:
    """The proxy keeps the key groups (moto lacks UpdateKeyGroup and DeleteKeyGroup) and
    refuses to delete a public key still in one, as AWS does."""
    return KeyGroupStands(cdn_proxy)


@pytest.fixture
def cf(s3_server: MotoServer) -> Any:
    """A CloudFront client straight to moto (for drift made by hand, read-backs)."""
    return aws("cloudfront", s3_server.endpoint)


@pytest.fixture
def held(s3_server: MotoServer) -> Iterator[Callable[[float], None]]:
    """``held(seconds)``: moto's distributions stay InProgress that long after a change."""
    yield lambda seconds: hold_in_progress(s3_server.endpoint, seconds)
    release(s3_server.endpoint)


def live_hosting(s3: Any, prefix: str = "photos") -> dict[str, Any]:
    key = f"{prefix}/manifest.json" if prefix else "manifest.json"
    return json.loads(s3.get_object(Bucket=BUCKET, Key=key)["Body"].read())["hosting"]


def first_publish(site: Path, proxy: RecordingProxy, **options: Any) -> Any:
    return publish(site, cdn_publisher(proxy.url, **options), "photos")


def retag(site: Path, path: str, cache_control: str) -> None:
    from gallery_builder.manifest import dumps

    manifest = json.loads((site / "manifest.json").read_bytes())
    manifest["files"][path]["cache_control"] = cache_control
    (site / "manifest.json").write_bytes(dumps(manifest))
