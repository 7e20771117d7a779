"""``gallery publish --repair``: what the store really holds is checked, and every file the
manifest lists that is missing or damaged is sent again, even when the manifest is unchanged;
then ``gallery verify`` is clean. On S3 (the moto server, requests counted from its log) and
on file://."""

from __future__ import annotations

import json
from pathlib import Path

from conftest import read_manifest, site_files
from s3env import MotoServer

from gallery_builder.model import IMMUTABLE
from gallery_builder.testing import run_cli

BUCKET = "my-gallery"


def an_image(site: Path, suffix: str = ".jpg") -> str:
    return sorted(p for p in read_manifest(site)["files"] if p.endswith(suffix) and "/" in p)[0]


def publish(site: Path, target: str, *options: str) -> str:
    result = run_cli(["publish", target, "--site", site, *options])
    assert result.exit_code == 0, result.output
    return result.output


def verified(target: str, *options: str) -> dict:
    result = run_cli(["verify", target, *options, "--json"])
    report = json.loads(result.stdout)
    assert result.exit_code == (0 if report["ok"] else 1)
    return report


def s3_objects(s3) -> dict[str, tuple[bytes, str, str]]:
    found = {}
    for item in s3.list_objects_v2(Bucket=BUCKET, Prefix="photos/").get("Contents", []):
        key = item["Key"].removeprefix("photos/")
        if key == "manifest.json":
            continue
        got = s3.get_object(Bucket=BUCKET, Key=item["Key"])
        found[key] = (got["Body"].read(), got["ContentType"], got.get("CacheControl"))
    return found


def test_repair_puts_back_what_was_deleted_or_damaged_on_s3(
    site: Path, s3_server: MotoServer, s3
) -> None:
    endpoint = ("--endpoint-url", s3_server.endpoint)
    publish(site, BUCKET, *endpoint)
    jpg, webp = an_image(site), an_image(site, ".webp")
    s3.delete_object(Bucket=BUCKET, Key="photos/trip/index.html")
    s3.put_object(Bucket=BUCKET, Key=f"photos/{jpg}", Body=b"damaged", ContentType="image/jpeg")
    s3.copy_object(
        Bucket=BUCKET, Key=f"photos/{webp}", CopySource={"Bucket": BUCKET, "Key": f"photos/{webp}"},
        MetadataDirective="REPLACE", ContentType="binary/octet-stream", CacheControl=IMMUTABLE,
    )  # fmt: skip
    # the manifest is unchanged: a plain publish trusts it
    assert "up to date, nothing sent" in publish(site, BUCKET, *endpoint)
    assert not verified(f"s3://{BUCKET}/photos", *endpoint)["ok"]

    dry = publish(site, BUCKET, "--repair", "--dry-run", *endpoint)
    assert f"upload {jpg} (repair: missing or damaged)" in dry
    assert "upload trip/index.html (repair: missing or damaged)" in dry
    assert f"upload {webp} (new headers)" in dry  # its bytes are right: copied in place
    mark = s3_server.mark()
    output = publish(site, BUCKET, "--repair", *endpoint)
    assert "3 uploaded, 0 deleted" in output
    sent = s3_server.requests_since(mark)
    puts = {r.key for r in sent if r.method == "PUT" and r.key and r.key.startswith("photos/")}
    assert puts == {
        "photos/trip/index.html",
        f"photos/{jpg}",
        f"photos/{webp}",
        "photos/manifest.json",
    }
    assert not [r for r in sent if r.method in ("DELETE", "POST") and "photos/" in r.path]

    files = read_manifest(site)["files"]
    assert s3_objects(s3) == {
        path: (data, files[path]["content_type"], files[path]["cache_control"])
        for path, data in site_files(site).items()
        if path != "manifest.json"
    }
    assert verified(f"s3://{BUCKET}/photos", *endpoint)["problems"] == []


def test_a_repair_of_an_intact_gallery_sends_nothing(site: Path, s3_server: MotoServer) -> None:
    endpoint = ("--endpoint-url", s3_server.endpoint)
    publish(site, BUCKET, *endpoint)
    mark = s3_server.mark()
    assert "up to date, nothing sent" in publish(site, BUCKET, "--repair", *endpoint)
    sent = s3_server.requests_since(mark)
    assert [r for r in sent if r.method not in ("GET", "HEAD")] == []
    files = len(read_manifest(site)["files"])
    # the manifest, one listing, a HEAD per file (content type, cache control)
    assert len(sent) == 1 + 1 + files
    assert [r.method for r in sent].count("HEAD") == files


def test_repair_keeps_what_the_manifest_does_not_list(
    site: Path, s3_server: MotoServer, s3
) -> None:
    endpoint = ("--endpoint-url", s3_server.endpoint)
    publish(site, BUCKET, *endpoint)
    s3.put_object(Bucket=BUCKET, Key="photos/notes.txt", Body=b"mine")
    s3.delete_object(Bucket=BUCKET, Key="photos/index.html")
    publish(site, BUCKET, "--repair", *endpoint)
    assert s3.get_object(Bucket=BUCKET, Key="photos/notes.txt")["Body"].read() == b"mine"
    assert s3.head_object(Bucket=BUCKET, Key="photos/index.html")


def test_repair_puts_back_a_deleted_page_and_a_damaged_image_on_file(
    site: Path, tmp_path: Path
) -> None:
    www = tmp_path / "www"
    target = f"file://{www}"
    publish(site, target)
    image = an_image(site)
    (www / "photos" / "trip" / "index.html").unlink()
    (www / "photos" / image).write_bytes(b"damaged")
    assert "up to date, nothing sent" in publish(site, target)
    dry = run_cli(["publish", target, "--site", site, "--repair", "--dry-run"])
    assert f"upload {image} (repair: missing or damaged)" in dry.output
    assert "upload trip/index.html (repair: missing or damaged)" in dry.output
    assert not (www / "photos" / "trip" / "index.html").exists()  # a dry run sends nothing
    assert "2 uploaded, 0 deleted" in publish(site, target, "--repair")
    for path, data in site_files(site).items():
        assert (www / "photos" / path).read_bytes() == data, path
    assert verified(target, "-d", "photos")["ok"]
