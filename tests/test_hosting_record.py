"""The hosting record in the published manifest (``{"fingerprint", publisher fields}``), and
``--reconfigure``, against a real moto server over HTTP."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from gallery_builder.plugins.s3 import s3_publisher
from gallery_builder.plugins.s3.publisher import S3Publisher
from s3env import MotoServer

from gallery_builder.manifest import dumps
from gallery_builder.publishing import publish

BUCKET = "record-gallery"


def publisher(server: MotoServer) -> S3Publisher:
    return s3_publisher(f"s3://{BUCKET}", endpoint_url=server.endpoint, region="us-east-1")


def live_manifest(s3) -> dict[str, Any]:
    return json.loads(s3.get_object(Bucket=BUCKET, Key="photos/manifest.json")["Body"].read())


def hosting_calls(requests) -> list[str]:
    return [
        f"{r.method} ?{r.raw_query}"
        for r in requests
        if r.path == f"/{BUCKET}" and r.raw_query in ("website", "policy", "publicAccessBlock")
    ]


class Remembering(S3Publisher):
    """A publisher that keeps ids beside the fingerprint, as a CDN set-up does."""

    set_ups = 0

    def set_up_hosting(self, prefix: str, record: dict | None = None) -> list[str]:
        Remembering.set_ups += 1
        self.seen = record
        return super().set_up_hosting(prefix)

    def hosting_record(self, prefix: str) -> dict[str, Any]:
        return {"ids": {"set_up": Remembering.set_ups}}


def remembering(server: MotoServer) -> Remembering:
    base = publisher(server)
    return Remembering(BUCKET, base.client, base.region)


def test_the_record_holds_the_fingerprint_and_the_publishers_fields(
    site: Path, s3_server: MotoServer, s3, source: Path
) -> None:
    Remembering.set_ups = 0
    publish(site, remembering(s3_server), "photos")
    first = live_manifest(s3)["hosting"]
    assert first == {"fingerprint": publisher(s3_server).hosting_fingerprint("photos"),
                     "ids": {"set_up": 1}}  # fmt: skip
    # a later publish with changes but the same settings keeps the record as it was
    (source / "extra.txt").write_text("x")
    (site / "index.html").write_text((site / "index.html").read_text() + "<!-- changed -->")
    _rehash(site, "index.html")
    publish(site, remembering(s3_server), "photos")
    assert Remembering.set_ups == 1
    assert live_manifest(s3)["hosting"] == first


def test_a_set_up_is_given_the_live_record(site: Path, s3_server: MotoServer, s3) -> None:
    Remembering.set_ups = 0
    publish(site, remembering(s3_server), "photos")
    again = remembering(s3_server)
    publish(site, again, "photos", reconfigure=True)
    assert again.seen == {"fingerprint": again.hosting_fingerprint("photos"),
                          "ids": {"set_up": 1}}  # fmt: skip
    assert live_manifest(s3)["hosting"]["ids"] == {"set_up": 2}


def test_a_fingerprint_written_as_a_string_by_an_older_version_is_not_set_up_again(
    site: Path, s3_server: MotoServer, s3
) -> None:
    publish(site, publisher(s3_server), "photos")
    old = live_manifest(s3)
    old["hosting"] = old["hosting"]["fingerprint"]
    s3.put_object(Bucket=BUCKET, Key="photos/manifest.json", Body=dumps(old))
    mark = s3_server.mark()
    result = publish(site, publisher(s3_server), "photos")
    assert hosting_calls(s3_server.requests_since(mark)) == []
    assert result.committed  # rewritten once in the new form
    assert live_manifest(s3)["hosting"] == {"fingerprint": old["hosting"]}


def test_reconfigure_on_an_up_to_date_gallery_repairs_the_hosting(
    site: Path, s3_server: MotoServer, s3
) -> None:
    publish(site, publisher(s3_server), "photos")
    s3.delete_bucket_policy(Bucket=BUCKET)  # drift: someone removed the public-read statement
    s3.delete_bucket_website(Bucket=BUCKET)
    mark = s3_server.mark()
    publish(site, publisher(s3_server), "photos")  # an ordinary publish trusts the record
    assert len(s3_server.requests_since(mark)) == 1
    result = publish(site, publisher(s3_server), "photos", reconfigure=True)
    assert result.uploaded == []
    assert "PUT ?website" in hosting_calls(s3_server.requests_since(mark))
    statements = json.loads(s3.get_bucket_policy(Bucket=BUCKET)["Policy"])["Statement"]
    assert [s["Resource"][0] for s in statements] == [f"arn:aws:s3:::{BUCKET}/photos/*"]
    assert s3.get_bucket_website(Bucket=BUCKET)["IndexDocument"] == {"Suffix": "index.html"}


def _rehash(site: Path, path: str) -> None:
    """Make the site's manifest agree with a file edited in place."""
    import hashlib

    manifest = json.loads((site / "manifest.json").read_bytes())
    data = (site / path).read_bytes()
    manifest["files"][path]["md5"] = hashlib.md5(data).hexdigest()
    manifest["files"][path]["size"] = len(data)
    (site / "manifest.json").write_bytes(dumps(manifest))
