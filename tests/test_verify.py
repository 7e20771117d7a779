"""``gallery verify``: a live gallery checked against its manifest, over HTTP (a real
``gallery serve`` process, a local TLS host) and through the store's API (a file:// target,
the moto server), each with a damaged copy."""

from __future__ import annotations

import contextlib
import datetime
import json
import re
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import trustme
from conftest import TIMEOUT, read_manifest
from gallery_builder.plugins.file_publisher import file_publisher
from s3env import MotoServer
from tlshost import TlsHost

from gallery_builder.model import IMMUTABLE
from gallery_builder.publishing import publish
from gallery_builder.testing import run_cli
from gallery_builder.verify import (
    ObjectInfo,
    Problem,
    compare_objects,
    folders,
    public_url,
    read_live_manifest,
    sample,
)

BUCKET = "my-gallery"


def verify(*args: str | Path) -> tuple[int, dict]:
    """``gallery verify ARGS --json`` in-process: the exit code and the report."""
    result = run_cli(["verify", *args, "--json"])
    assert "Traceback" not in result.output
    assert result.exit_code in (0, 1), result.output
    return result.exit_code, json.loads(result.stdout)


def kinds(report: dict) -> set[tuple[str, str]]:
    """``(kind, where)`` of every problem, ``where`` shortened to what follows the gallery."""
    return {(p["kind"], re.sub(r"^.*?/photos/", "", p["where"])) for p in report["problems"]}


def an_image(site: Path, suffix: str = ".jpg") -> str:
    files = read_manifest(site)["files"]
    return sorted(p for p in files if p.endswith(suffix) and "/" in p)[0]


def flip_bytes(path: Path) -> None:
    """The same size, other bytes: only an MD5 tells them apart."""
    data = bytearray(path.read_bytes())
    middle = len(data) // 2
    data[middle] ^= 0xFF
    path.write_bytes(bytes(data))


def mark_pending(manifest: Path) -> None:
    live = json.loads(manifest.read_bytes())
    live["pending"] = {"id": "0" * 32, "creates": []}
    manifest.write_text(json.dumps(live))


# --- the pure part -------------------------------------------------------------------------


ENTRY = {"md5": "a" * 32, "size": 10, "content_type": "image/jpeg", "cache_control": "no-cache"}


def test_each_difference_is_one_named_problem() -> None:
    files = {f"{n}.jpg": ENTRY for n in "abcdefg"}
    observed = {
        "a.jpg": ObjectInfo("a" * 32, 10, "image/jpeg", "no-cache"),
        "b.jpg": None,
        "c.jpg": ObjectInfo("b" * 32, 10, "image/jpeg", "no-cache"),
        "d.jpg": ObjectInfo("a" * 32, 11, "image/jpeg", "no-cache"),
        "e.jpg": ObjectInfo("a" * 32, 10, "binary/octet-stream", "no-cache"),
        "f.jpg": ObjectInfo("a" * 32, 10, "image/jpeg", None),
        # a folder keeps no headers: they are not compared; no MD5 given: not compared
        "g.jpg": ObjectInfo(None, 10, None, None, headers=False),
    }
    problems = compare_objects(files, observed)
    assert [(p.kind, p.where, p.expected, p.found) for p in problems] == [
        ("missing", "b.jpg", "the file", None),
        ("md5", "c.jpg", "a" * 32, "b" * 32),
        ("size", "d.jpg", "10", "11"),
        ("content-type", "e.jpg", "image/jpeg", "binary/octet-stream"),
        ("cache-control", "f.jpg", "no-cache", None),
    ]
    assert all("gallery publish --repair" in p.advice for p in problems)
    assert problems[3].line() == (
        "content-type: e.jpg: expected 'image/jpeg', found 'binary/octet-stream'; "
        "run gallery publish --repair"
    )


def test_a_manifest_that_is_not_a_committed_gallerys_is_a_problem(site: Path) -> None:
    data = (site / "manifest.json").read_bytes()
    live, problems = read_live_manifest(data, "m")
    assert live is not None and problems == [] and live.files == read_manifest(site)["files"]
    assert read_live_manifest(None, "m")[1][0].kind == "no-manifest"
    assert read_live_manifest(b'{"name": "an app"}', "m")[1][0].kind == "not-a-gallery"
    pending = json.dumps({**json.loads(data), "pending": {"id": "x", "creates": []}})
    live, problems = read_live_manifest(pending.encode(), "m")
    assert live is not None and [p.kind for p in problems] == ["pending"]
    # the hosting record: an older version's string, or the record the CDN set-up writes
    old = json.dumps({**json.loads(data), "hosting": "abc123"}).encode()
    assert read_live_manifest(old, "m")[0].hosting == {"fingerprint": "abc123"}
    cdn = {"fingerprint": "f", "cdn": {"id": "E1", "domain": "d111.cloudfront.net"}}
    new = json.dumps({**json.loads(data), "hosting": cdn}).encode()
    assert read_live_manifest(new, "m")[0].hosting == cdn


def test_the_public_url_comes_from_the_hosting_record() -> None:
    cdn = {"cdn": {"id": "E1", "domain": "d111.cloudfront.net"}}
    assert public_url(cdn, "trips/2024") == "https://d111.cloudfront.net/trips/2024/"
    aliased = {"cdn": {"alias": "photos.example.com", "domain": "d111.cloudfront.net"}}
    assert public_url(aliased, "") == "https://photos.example.com/"
    assert public_url({"website_url": "http://b.s3-website-us-east-1.amazonaws.com/"}, "g") == (
        "http://b.s3-website-us-east-1.amazonaws.com/g/"
    )
    assert public_url({"fingerprint": "f"}, "g") is None
    assert public_url({"cdn": {"url": "javascript:alert(1)"}}, "g") is None


def test_a_sample_spreads_over_the_files_pages_first() -> None:
    paths = [f"{n:02}.jpg" for n in range(20)] + ["index.html", "a/index.html"]
    assert sample(paths, None) == sorted(paths, key=lambda p: (not p.endswith(".html"), p))
    picked = sample(paths, 5)
    assert len(picked) == 5 and picked[0] == "a/index.html" and len(set(picked)) == 5
    assert folders(paths) == ["", "a/"]


def test_a_report_in_json_has_a_stable_schema() -> None:
    from gallery_builder.verify import Report

    report = Report("s3://b/g/", checked={"files": 2})
    report.problems.append(Problem("missing", "s3://b/g/x.jpg", "the file", None, "fix"))
    assert report.to_json() == {
        "schema": "gallery-verify/1",
        "target": "s3://b/g/",
        "ok": False,
        "checked": {"files": 2},
        "problems": [
            {
                "kind": "missing",
                "where": "s3://b/g/x.jpg",
                "expected": "the file",
                "found": None,
                "advice": "fix",
            }
        ],
        "warnings": [],
        "certificate": None,
        "notes": [],
    }


# --- over HTTP: a real gallery serve process -----------------------------------------------


@contextlib.contextmanager
def serving(what: str | Path) -> Iterator[str]:
    """``gallery serve WHAT --port 0`` in a child process; yields its base URL."""
    process = subprocess.Popen(
        [sys.executable, "-m", "gallery_builder", "serve", str(what), "--port", "0"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        line = process.stdout.readline()
        found = re.search(r"at (http://127\.0\.0\.1:\d+)/", line)
        if not found:
            process.kill()
            pytest.fail(f"gallery serve said {line!r}; stderr {process.stderr.read()!r}")
        yield found[1]
    finally:
        process.terminate()
        process.wait(TIMEOUT)


def test_a_served_site_verifies_clean(site: Path) -> None:
    with serving(site) as url:
        code, report = verify(f"{url}/photos/")
    assert code == 0 and report["ok"] and report["problems"] == []
    files = len(read_manifest(site)["files"])
    assert report["checked"]["http_files"] == files
    # every file, its bytes too (serve sends no ETag), three folders, their redirects, a 404
    assert report["checked"]["urls"] >= 2 * files + 3 + 2 + 1


@pytest.fixture
def www(site: Path, tmp_path: Path) -> Path:
    """``site`` published with the file:// publisher under www/photos/."""
    www = tmp_path / "www"
    publish(site, file_publisher(f"file://{www}"), "photos")
    return www


def damage(www: Path, site: Path) -> str:
    """A page deleted by hand, an image's bytes changed (same size); the image's path."""
    (www / "photos" / "trip" / "index.html").unlink()
    image = an_image(site)
    flip_bytes(www / "photos" / image)
    return image


def test_a_damaged_copy_served_over_http_names_each_problem(site: Path, www: Path) -> None:
    image = damage(www, site)
    with serving(f"file://{www}") as url:
        code, report = verify(f"{url}/photos/")
        assert code == 1 and not report["ok"]
        assert kinds(report) == {("missing", "trip/index.html"), ("md5", image)}
        mark_pending(www / "photos" / "manifest.json")
        code, report = verify(f"{url}/photos")  # the slash is added
        assert ("pending", "manifest.json") in kinds(report)


def test_the_text_output_names_each_problem_with_what_to_do(site: Path, www: Path) -> None:
    image = damage(www, site)
    with serving(f"file://{www}") as url:
        result = run_cli(["verify", f"{url}/photos/"])
    assert result.exit_code == 1
    lines = [line for line in result.stdout.splitlines() if line.startswith("problem:")]
    assert len(lines) == 2
    assert f"problem: md5: {url}/photos/{image}: expected '" in result.stdout
    assert all(line.endswith("; run gallery publish --repair") for line in lines)
    assert result.stdout.rstrip().endswith("checked)")


def test_a_deleted_page_of_a_built_site_is_missing(site: Path) -> None:
    with serving(site) as url:
        (site / "trip" / "day" / "index.html").unlink()
        code, report = verify(f"{url}/photos/")
    assert code == 1 and kinds(report) == {("missing", "trip/day/index.html")}


def test_what_is_not_a_gallery_is_one_line_not_a_traceback(site: Path, tmp_path: Path) -> None:
    with serving(site) as url:
        code, report = verify(f"{url}/elsewhere/")
        assert code == 1 and [p["kind"] for p in report["problems"]] == ["no-manifest"]
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    result = run_cli(["verify", f"http://127.0.0.1:{port}/g/"])
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert re.search(r"Error: cannot reach 127\.0\.0\.1:\d+: .*check the URL", result.output)
    result = run_cli(["verify", f"http://127.0.0.1:{port}/g/", "--json"])
    assert result.exit_code == 1
    assert [p["kind"] for p in json.loads(result.stdout)["problems"]] == ["error"]
    result = run_cli(["verify", "http://"])
    assert result.exit_code == 2 and "is not a URL to check" in result.output
    assert run_cli(["verify"]).exit_code == 2
    result = run_cli(["verify", f"file://{tmp_path}/none", "--json"])
    assert result.exit_code == 1
    assert json.loads(result.stdout)["problems"][0]["kind"] == "no-manifest"


# --- through the API: a file:// target -----------------------------------------------------


def test_a_file_target_is_checked_through_the_publisher(site: Path, www: Path) -> None:
    code, report = verify(f"file://{www}", "-d", "photos")
    assert code == 0 and report["checked"]["files"] == len(read_manifest(site)["files"])
    image = damage(www, site)
    code, report = verify(f"file://{www}", "-d", "photos")
    assert code == 1 and kinds(report) == {("missing", "trip/index.html"), ("md5", image)}
    mark_pending(www / "photos" / "manifest.json")
    code, report = verify(f"file://{www}/", "-d", "photos/")
    assert ("pending", "manifest.json") in kinds(report)


# --- through the S3 API: the moto server ---------------------------------------------------


def published(site: Path, server: MotoServer) -> None:
    result = run_cli(["publish", BUCKET, "--site", site, "--endpoint-url", server.endpoint])
    assert result.exit_code == 0, result.output


def test_an_s3_gallery_verifies_clean_and_each_damage_is_named(
    site: Path, s3_server: MotoServer, s3
) -> None:
    published(site, s3_server)
    target = (f"s3://{BUCKET}/photos", "--endpoint-url", s3_server.endpoint)
    code, report = verify(*target)
    assert code == 0, report["problems"]
    assert report["checked"]["files"] == len(read_manifest(site)["files"])
    assert report["checked"]["origin_checks"] == 1  # website hosting: readable by anyone

    jpg, webp = an_image(site), an_image(site, ".webp")
    s3.delete_object(Bucket=BUCKET, Key="photos/trip/index.html")
    head = s3.head_object(Bucket=BUCKET, Key=f"photos/{jpg}")
    s3.put_object(
        Bucket=BUCKET, Key=f"photos/{jpg}", Body=b"other bytes",
        ContentType=head["ContentType"], CacheControl=head["CacheControl"],
    )  # fmt: skip
    retag(s3, f"photos/{webp}", "binary/octet-stream", IMMUTABLE)
    retag(s3, "photos/index.html", "text/html; charset=utf-8", "max-age=600")
    code, report = verify(*target)
    assert code == 1
    assert kinds(report) == {
        ("missing", "trip/index.html"),
        ("md5", jpg),
        ("size", jpg),
        ("content-type", webp),
        ("cache-control", "index.html"),
    }
    by_kind = {p["kind"]: p for p in report["problems"]}
    assert by_kind["content-type"]["found"] == "binary/octet-stream"
    assert by_kind["cache-control"] == {
        "kind": "cache-control",
        "where": f"s3://{BUCKET}/photos/index.html",
        "expected": "no-cache",
        "found": "max-age=600",
        "advice": "run gallery publish --repair",
    }


def retag(s3, key: str, content_type: str, cache_control: str) -> None:
    """New headers on an object, its bytes kept (as another tool, or a hand, may do)."""
    s3.copy_object(
        Bucket=BUCKET, Key=key, CopySource={"Bucket": BUCKET, "Key": key},
        MetadataDirective="REPLACE", ContentType=content_type, CacheControl=cache_control,
    )  # fmt: skip


def put_manifest(s3, manifest: dict) -> None:
    s3.put_object(Bucket=BUCKET, Key="photos/manifest.json", Body=json.dumps(manifest).encode())


def live_manifest(s3) -> dict:
    return json.loads(s3.get_object(Bucket=BUCKET, Key="photos/manifest.json")["Body"].read())


def test_a_pending_s3_manifest_is_a_problem(site: Path, s3_server: MotoServer, s3) -> None:
    published(site, s3_server)
    put_manifest(s3, {**live_manifest(s3), "pending": {"id": "x", "creates": []}})
    code, report = verify(f"s3://{BUCKET}/photos", "--endpoint-url", s3_server.endpoint)
    assert code == 1 and kinds(report) == {("pending", "manifest.json")}


def test_a_private_bucket_must_refuse_an_anonymous_read(
    site: Path, s3_server: MotoServer, s3
) -> None:
    published(site, s3_server)
    # the hosting record a CloudFront set-up leaves: the bucket is to be private
    hosting = {"fingerprint": "f", "cdn": {"id": "E123"}}
    put_manifest(s3, {**live_manifest(s3), "hosting": hosting})
    target = (f"s3://{BUCKET}/photos", "--endpoint-url", s3_server.endpoint)
    code, report = verify(*target)  # the website's public-read statement is still there
    assert code == 1 and kinds(report) == {("origin-open", "index.html")}
    s3.delete_bucket_policy(Bucket=BUCKET)  # moto refuses an unsigned GET without it
    code, report = verify(*target)
    assert code == 0, report["problems"]


def test_a_website_bucket_that_refuses_anonymous_reads_is_a_problem(
    site: Path, s3_server: MotoServer, s3
) -> None:
    published(site, s3_server)
    s3.delete_bucket_policy(Bucket=BUCKET)
    code, report = verify(f"s3://{BUCKET}/photos", "--endpoint-url", s3_server.endpoint)
    assert code == 1 and kinds(report) == {("origin-closed", "index.html")}


def test_a_missing_s3_gallery_and_an_unreachable_store_are_one_line(
    site: Path, s3_server: MotoServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    published(site, s3_server)
    code, report = verify(f"s3://{BUCKET}/other", "--endpoint-url", s3_server.endpoint)
    assert code == 1 and [p["kind"] for p in report["problems"]] == ["no-manifest"]
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    result = run_cli(
        ["verify", f"s3://{BUCKET}/photos", "--endpoint-url", f"http://127.0.0.1:{port}"]
    )
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert "Error: cannot reach S3" in result.output


# --- HTTPS: a local TLS host with a trustme certificate ------------------------------------


@pytest.fixture
def ca(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> trustme.CA:
    """A certificate authority the checks trust (through SSL_CERT_FILE, as a user would)."""
    authority = trustme.CA()
    bundle = tmp_path / "ca.pem"
    authority.cert_pem.write_to_path(str(bundle))
    monkeypatch.setenv("SSL_CERT_FILE", str(bundle))
    return authority


def certificate(ca: trustme.CA, days: float) -> trustme.LeafCert:
    now = datetime.datetime.now(datetime.UTC)
    return ca.issue_cert(
        "127.0.0.1",
        not_before=now - datetime.timedelta(days=30),
        not_after=now + datetime.timedelta(days=days),
    )


def test_an_https_host_done_right_verifies_clean(site: Path, ca: trustme.CA) -> None:
    with TlsHost(site, certificate(ca, 200)) as host:
        code, report = verify(host.url)
    assert code == 0, report["problems"]
    assert report["warnings"] == []
    assert report["certificate"]["host"] == "127.0.0.1"
    assert report["certificate"]["days_left"] in (199, 200)
    assert report["certificate"]["protocol"] in ("TLSv1.2", "TLSv1.3")


def test_https_without_hsts_or_the_redirect_is_named(site: Path, ca: trustme.CA) -> None:
    with TlsHost(site, certificate(ca, 200), hsts="max-age=300", redirect=False) as host:
        code, report = verify(host.url)
    assert code == 1
    assert {p["kind"] for p in report["problems"]} == {"hsts", "http-redirect"}
    with TlsHost(site, certificate(ca, 200), hsts=None, security=False) as host:
        code, report = verify(host.url)
    assert {p["kind"] for p in report["problems"]} == {"hsts", "nosniff", "csp"}


def test_a_host_sending_the_wrong_content_type_is_named(site: Path, ca: trustme.CA) -> None:
    # a web server whose types table lacks webp sends it as a download
    webp = {".webp": "application/octet-stream"}
    with TlsHost(site, certificate(ca, 200), content_types=webp) as host:
        code, report = verify(host.url)
    webps = [p for p in read_manifest(site)["files"] if p.endswith(".webp")]
    assert code == 1 and webps
    assert kinds(report) == {("content-type", path) for path in webps}


def test_a_certificate_expiring_soon_is_a_warning(site: Path, ca: trustme.CA) -> None:
    with TlsHost(site, certificate(ca, 10)) as host:
        code, report = verify(host.url)
        assert code == 0 and [w["kind"] for w in report["warnings"]] == ["certificate-expiring"]
        assert report["warnings"][0]["found"] in ("9 days", "10 days")
        code, report = verify(host.url, "--warn-days", "5")
        assert code == 0 and report["warnings"] == []
        result = run_cli(["verify", host.url])
        assert result.exit_code == 0 and "warning: certificate-expiring:" in result.stdout
        assert "certificate of 127.0.0.1 expires" in result.stdout


def test_an_expired_or_untrusted_certificate_is_a_problem(
    site: Path, ca: trustme.CA, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    with TlsHost(site, certificate(ca, -1)) as host:
        code, report = verify(host.url)
    assert code == 1 and [p["kind"] for p in report["problems"]] == ["certificate"]
    assert "expired" in report["problems"][0]["found"]
    other = trustme.CA()  # not the one SSL_CERT_FILE names
    with TlsHost(site, certificate(other, 200)) as host:
        code, report = verify(host.url)
    assert code == 1 and [p["kind"] for p in report["problems"]] == ["certificate"]


def test_an_s3_gallery_is_checked_at_its_public_url_too(
    site: Path, s3_server: MotoServer, s3, tmp_path: Path
) -> None:
    # the public host: gallery serve of a copy of the gallery, the same manifest as the store's
    www = tmp_path / "www"
    publish(site, file_publisher(f"file://{www}"), "photos")
    published(site, s3_server)
    target = (f"s3://{BUCKET}/photos", "--endpoint-url", s3_server.endpoint)
    with serving(f"file://{www}") as url:
        live = {**live_manifest(s3), "hosting": {"fingerprint": "f", "website_url": url + "/"}}
        put_manifest(s3, live)
        (www / "photos" / "manifest.json").write_bytes(json.dumps(live).encode())
        code, report = verify(*target)
        assert code == 0, report["problems"]
        assert report["checked"]["http_files"] == report["checked"]["files"]
        assert f"public URL: {url}/photos/" in report["notes"]
        code, report = verify(*target, "--api-only")
        assert code == 0 and "urls" not in report["checked"]
        # the public host serves another manifest (a stale cache), and lacks a page
        (www / "photos" / "manifest.json").write_bytes(json.dumps({**live, "title": "x"}).encode())
        (www / "photos" / "index.html").unlink()
        code, report = verify(*target)
    assert code == 1
    assert {p["kind"] for p in report["problems"]} == {"stale-manifest", "missing"}
    assert [p["where"] for p in report["problems"] if p["kind"] == "missing"] == [
        f"{url}/photos/index.html"
    ]


def test_a_sample_checks_fewer_files(site: Path, www: Path) -> None:
    code, report = verify(f"file://{www}", "-d", "photos", "--sample", "3")
    assert code == 0 and report["checked"]["files"] == 3
    with serving(f"file://{www}") as url:
        code, report = verify(url, "-d", "photos", "--sample", "2")
    assert code == 0 and report["checked"]["http_files"] == 2


# --- a private gallery: CloudFront's signed-cookie check, emulated with the public key ------


def test_a_private_gallery_refuses_anonymous_reads_and_is_checked_with_a_signed_cookie(
    site: Path, s3_server: MotoServer, s3, ca: trustme.CA, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    from gallery_builder.plugins.cloudfront_keys import GalleryKey, new_key_pair, save_key

    monkeypatch.setenv("GALLERY_KEYS_DIR", str(tmp_path / "keys"))
    published(site, s3_server)
    s3.delete_bucket_policy(Bucket=BUCKET)  # private: CloudFront alone reads it
    private_pem, public_pem = new_key_pair()
    _, other_public = new_key_pair()
    target = (f"s3://{BUCKET}/photos", "--endpoint-url", s3_server.endpoint)
    cert = certificate(ca, 200)
    with TlsHost(site, cert, signed_by={"K2JKEY0001": public_pem}) as host:
        root = host.url.removesuffix("photos/")
        hosting = {"fingerprint": "f", "cdn": {"url": root, "private": {"key_group_id": "KG1"}}}
        live = json.dumps({**live_manifest(s3), "hosting": hosting}).encode()
        s3.put_object(Bucket=BUCKET, Key="photos/manifest.json", Body=live)
        (site / "manifest.json").write_bytes(live)  # the host serves the same manifest
        # no key here: the refusals are checked, the files over HTTP are not
        code, report = verify(*target)
        assert code == 0, report["problems"]
        assert report["checked"]["private_checks"] == 1 and "http_files" not in report["checked"]
        assert any("file checks over HTTP were skipped" in n for n in report["notes"])
        # with the key: every file, with a cookie verify signed itself
        save_key(GalleryKey(BUCKET, "photos", "K2JKEY0001", "KG1", root, private_pem, public_pem))
        code, report = verify(*target)
        assert code == 0, report["problems"]
        assert report["checked"]["http_files"] == report["checked"]["files"]
        assert any("5-minute signed cookie" in n for n in report["notes"])
    # a host that trusts another public key refuses the cookie: named, not a pass
    with TlsHost(site, cert, signed_by={"K2JKEY0001": other_public}) as host:
        root = host.url.removesuffix("photos/")
        hosting["cdn"]["url"] = root
        live = json.dumps({**live_manifest(s3), "hosting": hosting}).encode()
        s3.put_object(Bucket=BUCKET, Key="photos/manifest.json", Body=live)
        save_key(GalleryKey(BUCKET, "photos", "K2JKEY0001", "KG1", root, private_pem, public_pem))
        code, report = verify(*target)
    assert code == 1 and [p["kind"] for p in report["problems"]] == ["no-manifest"]
    assert report["problems"][0]["found"] == "403"
    # a host that serves the private gallery to anyone
    with TlsHost(site, cert) as host:
        root = host.url.removesuffix("photos/")
        hosting["cdn"]["url"] = root
        live = json.dumps({**live_manifest(s3), "hosting": hosting}).encode()
        s3.put_object(Bucket=BUCKET, Key="photos/manifest.json", Body=live)
        (site / "manifest.json").write_bytes(live)
        code, report = verify(*target)
    assert code == 1
    assert kinds(report) == {("private-open", ""), ("private-open", "manifest.json")}
