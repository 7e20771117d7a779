"""A gallery set up with ``--cdn cloudfront`` stays behind CloudFront: a publish that leaves
``--cdn`` out (or says ``--cdn none``) is refused before any write, instead of turning the
private bucket back into a public website; and a bad ``--domain`` is refused before any
request. Against moto through the recording proxy (tests/cdnenv.py)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from cdnenv import BUCKET, counts, public_access_block, statements
from recording_proxy import CloudFrontStandIns, RecordingProxy

from gallery_builder.testing import run_cli

TARGET = f"s3://{BUCKET}/photos"


def publish(site: Path, endpoint: str, *options: str) -> Any:
    return run_cli(["publish", TARGET, "--site", site, "--endpoint-url", endpoint, *options])


@pytest.mark.parametrize("leaving", [(), ("--cdn", "none")], ids=["left-out", "none"])
def test_a_cloudfront_gallery_is_not_made_public_by_a_publish_without_the_cdn(
    site: Path, cdn_proxy: RecordingProxy, stand_ins: CloudFrontStandIns, s3: Any,
    leaving: tuple[str, ...],
) -> None:  # fmt: skip
    first = publish(site, cdn_proxy.url, "--cdn", "cloudfront")
    assert first.exit_code == 0, first.output
    live = s3.get_object(Bucket=BUCKET, Key="photos/manifest.json")["Body"].read()
    policy, block = statements(s3), public_access_block(s3)
    (site / "index.html").write_bytes((site / "index.html").read_bytes() + b"<!-- new -->")
    mark = cdn_proxy.mark()
    result = publish(site, cdn_proxy.url, *leaving)
    assert result.exit_code == 2, result.output
    (line,) = result.output.strip().splitlines()
    distribution = json.loads(live)["hosting"]["cdn"]["distribution_id"]
    assert line.startswith(f"Error: the gallery at {TARGET} is served through CloudFront "
                           f"(distribution {distribution})")  # fmt: skip
    assert "--cdn cloudfront" in line
    # only the manifest's read: nothing written, the bucket as private as it was
    assert [f"{r.method} {r.path}" for r in cdn_proxy.since(mark)] == [
        f"GET /{BUCKET}/photos/manifest.json"
    ]
    assert s3.get_object(Bucket=BUCKET, Key="photos/manifest.json")["Body"].read() == live
    assert statements(s3) == policy and public_access_block(s3) == block


@pytest.mark.parametrize(
    "domain",
    ["https://photos.example.com/", "photos..example.com", "*.example.com", "localhost",
     "photos.example.com:443", "-bad-.example.com"],
)  # fmt: skip
def test_a_bad_domain_is_refused_before_any_request(
    site: Path, cdn_proxy: RecordingProxy, domain: str
) -> None:
    mark = cdn_proxy.mark()
    result = publish(site, cdn_proxy.url, "--cdn", "cloudfront", "--domain", domain)
    assert result.exit_code == 2, result.output
    assert f"--domain {domain!r} is not a domain name" in result.output
    assert cdn_proxy.since(mark) == []


def test_a_first_publish_for_a_domain_elsewhere_stops_at_once_even_with_wait(
    site: Path, cdn_proxy: RecordingProxy, stand_ins: CloudFrontStandIns, s3: Any, cf: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    """The certificate was only just requested: its record cannot be at the user's DNS host
    yet, so --wait does not wait; the records are printed, and nothing is made (no bucket,
    no distribution), not even the bucket root's error.html."""
    monkeypatch.setenv("GALLERY_CERTIFICATE_WAIT_DELAY", "0.05")
    domain = "photos.elsewhere-dns.org"  # no Route 53 zone holds it
    mark = cdn_proxy.mark()
    result = publish(site, cdn_proxy.url, "--cdn", "cloudfront", "--domain", domain, "--wait")
    assert result.exit_code == 1, result.output
    assert result.output.startswith("Error: ") and "warning" not in result.output
    assert "CNAME" in result.output and "command again" in result.output
    assert cf.list_distributions()["DistributionList"].get("Items", []) == []
    assert BUCKET not in [b["Name"] for b in s3.list_buckets()["Buckets"]]
    # no wait: the certificate requested, then described until ACM gives its record, once
    assert counts(cdn_proxy.since(mark)).get("acm", 0) <= 4, counts(cdn_proxy.since(mark))


def test_a_repaired_immutable_file_is_invalidated_and_a_second_repair_is_a_new_invalidation(
    site: Path, cdn_proxy: RecordingProxy, stand_ins: CloudFrontStandIns, s3: Any
) -> None:
    """The edge caches a hashed file for a year as it was served: a file --repair sends again
    under its own name is invalidated, each repair anew (the manifest stays the same)."""
    assert publish(site, cdn_proxy.url, "--cdn", "cloudfront").exit_code == 0
    files = json.loads((site / "manifest.json").read_bytes())["files"]
    css = next(path for path in files if path.startswith("_static/") and path.endswith(".css"))
    references = []
    for _ in range(2):
        s3.put_object(Bucket=BUCKET, Key=f"photos/{css}", Body=b"broken")  # damaged by hand
        mark = cdn_proxy.mark()
        result = publish(site, cdn_proxy.url, "--cdn", "cloudfront", "--repair")
        assert result.exit_code == 0, result.output
        (batch,) = [r.xml() for r in cdn_proxy.since(mark)
                    if r.method == "POST" and r.path.endswith("/invalidation")]  # fmt: skip
        assert [p.text for p in batch.iter() if p.tag.endswith("Path")] == [f"/photos/{css}"]
        references += [e.text for e in batch.iter() if e.tag.endswith("CallerReference")]
    assert len(set(references)) == 2
