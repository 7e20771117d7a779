"""What reads an encrypted site: ``gallery publish`` (file:// and S3 on moto: the sealed files
go out as they are, a no-op rebuild then publish is one request, the bucket root lists the
gallery without its title), ``gallery serve`` (the worker as JavaScript, sealed files as
octet-stream) and ``gallery verify`` (clean: the sealed pages are not broken links)."""

from __future__ import annotations

import json
from pathlib import Path

import pictures
import pytest
from conftest import read_manifest, site_files
from gallery_builder.plugins.file_publisher import FilePublisher, file_publisher
from gallery_builder.plugins.s3 import s3_publisher
from s3env import MotoServer
from test_encrypted_build import SECRETS, TITLE, encrypted
from test_publish_file import Recording, published
from test_serve import fetch
from test_verify import serving, verify

from gallery_builder.publishing import publish
from gallery_builder.serve import SiteFolder, TargetFolder, make_server, serve_in_thread

BUCKET = "sealed-gallery"


@pytest.fixture
def photos(source: Path) -> Path:
    (source / "gallery.toml").write_text(
        f'[gallery]\nname = "trip"\ntitle = "{TITLE}"\n', encoding="utf-8"
    )
    pictures.jpeg(source / "galata-sunset.jpg", taken="2024:05:17 10:42:00")
    pictures.jpeg(source / "Stone Town Rooftops" / "mariam-portrait.jpg")
    return source


@pytest.fixture
def sealed(photos: Path, out: Path) -> Path:
    encrypted(photos, out)
    return out


def assert_nothing_readable(files: dict[str, bytes]) -> None:
    for path, data in files.items():
        for secret in (*SECRETS, "galata", "Galata"):
            assert secret.encode() not in data, (secret, path)


def test_a_file_publish_sends_the_sealed_site_and_a_noop_rebuild_publishes_nothing(
    photos: Path, sealed: Path, tmp_path: Path
) -> None:
    www = tmp_path / "www"
    publish(sealed, FilePublisher(www), "trip")
    assert published(www, "trip") == site_files(sealed)
    assert_nothing_readable(site_files(www))  # the bucket root's pages included
    root = (www / "index.html").read_text(encoding="utf-8")
    assert 'href="trip/"' in root and "Password protected" in root
    assert TITLE not in root and "0 pictures" not in root
    encrypted(photos, sealed)  # a no-op rebuild
    recording = Recording(www)
    result = publish(sealed, recording, "trip")
    assert recording.log == [("read", "trip/manifest.json")] and not result.committed


def test_an_s3_publish_sends_the_sealed_site_and_a_noop_is_one_request(
    photos: Path, sealed: Path, s3_server: MotoServer, s3
) -> None:
    publisher = s3_publisher(f"s3://{BUCKET}", endpoint_url=s3_server.endpoint)
    publish(sealed, publisher, "trip")
    files = read_manifest(sealed)["files"]
    for path, entry in files.items():
        head = s3.head_object(Bucket=BUCKET, Key=f"trip/{path}")
        assert head["ETag"].strip('"') == entry["md5"], path
        assert head["ContentType"] == entry["content_type"], path
        assert head["CacheControl"] == entry["cache_control"], path
    stored = {
        item["Key"]: s3.get_object(Bucket=BUCKET, Key=item["Key"])["Body"].read()
        for item in s3.list_objects_v2(Bucket=BUCKET)["Contents"]
    }
    assert_nothing_readable(stored)  # the root's listing and record too
    assert "Password protected" in stored["index.html"].decode()
    encrypted(photos, sealed)  # a no-op rebuild
    mark = s3_server.mark()
    again = s3_publisher(f"s3://{BUCKET}", endpoint_url=s3_server.endpoint)
    result = publish(sealed, again, "trip")
    assert [str(r) for r in s3_server.requests_since(mark)] == [
        f"GET /{BUCKET}/trip/manifest.json -> 200"
    ]
    assert not result.committed


def test_one_changed_picture_publishes_only_its_sealed_files(
    photos: Path, sealed: Path, tmp_path: Path
) -> None:
    www = tmp_path / "www"
    publish(sealed, FilePublisher(www), "trip")
    pictures.jpeg(photos / "galata-sunset.jpg", (300, 200), taken="2024:05:17 10:42:00")
    rebuilt = encrypted(photos, sealed)
    result = publish(sealed, FilePublisher(www), "trip")
    assert set(result.uploaded) == {p for p in rebuilt.written if p != "manifest.json"}
    assert set(result.deleted) == set(rebuilt.removed)
    assert published(www, "trip") == site_files(sealed)


def test_serve_sends_the_worker_as_javascript_and_sealed_files_as_octet_stream(
    sealed: Path, tmp_path: Path
) -> None:
    www = tmp_path / "www"
    publish(sealed, file_publisher(f"file://{www}"), "trip")
    for folder in (SiteFolder(sealed, "/trip/"), TargetFolder(www)):
        server = make_server(folder, port=0)
        serve_in_thread(server)
        try:
            port = server.server_address[1]
            status, headers, body = fetch(port, "/trip/_sw.js")
            assert status == 200 and headers["Content-Type"].startswith("text/javascript")
            status, headers, body = fetch(port, "/trip/")
            assert status == 200 and body == (sealed / "index.html").read_bytes()
            sealed_files = [p for p in read_manifest(sealed)["files"] if p.startswith("_x/")]
            for path in sealed_files:
                status, headers, body = fetch(port, f"/trip/{path}")
                assert status == 200 and body == (sealed / path).read_bytes()
                assert headers["Content-Type"] == "application/octet-stream"
            assert fetch(port, "/trip/_lock.json")[1]["Content-Type"] == "application/json"
            # the clear copy in .gallery/ is never served
            assert fetch(port, "/trip/.gallery/clear/index.html")[0] in (400, 404)
        finally:
            server.shutdown()
            server.server_close()


def test_verify_finds_an_encrypted_gallery_clean(sealed: Path, tmp_path: Path) -> None:
    www = tmp_path / "www"
    publish(sealed, file_publisher(f"file://{www}"), "trip")
    code, report = verify(f"file://{www}", "-d", "trip")
    assert code == 0 and report["problems"] == [], report
    with serving(sealed) as url:
        code, report = verify(f"{url}/trip/")
    assert code == 0 and report["problems"] == [], report
    assert report["checked"]["http_files"] == len(read_manifest(sealed)["files"])
    assert json.loads((sealed / "manifest.json").read_bytes())["encrypted"] == {"format": 1}


def test_sealed_pages_go_live_after_the_sealed_images_and_the_shell_last(
    sealed: Path, tmp_path: Path
) -> None:
    recording = Recording(tmp_path / "www")
    publish(sealed, recording, "trip")
    files = read_manifest(sealed)["files"]
    uploads = [key for op, key in recording.writes() if op == "upload"]
    order = [key.removeprefix("trip/") for key in uploads if key.startswith("trip/")]
    immutable = [p for p in order if files[p]["cache_control"].startswith("public")]
    sealed_pages = [
        p for p in order if p.startswith("_x/") and files[p]["cache_control"] == "no-cache"
    ]
    shell_pages = [p for p in order if p.endswith(".html")]
    assert immutable and sealed_pages and shell_pages
    assert max(map(order.index, immutable)) < min(map(order.index, sealed_pages))
    assert max(map(order.index, sealed_pages)) < min(map(order.index, shell_pages))


def test_publish_without_a_target_takes_the_encrypted_sites_settings(
    photos: Path, out: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from gallery_builder.testing import run_cli

    www = tmp_path / "www"
    with (photos / "gallery.toml").open("a", encoding="utf-8") as f:
        f.write(f'\n[publish]\ntarget = "{www.as_uri()}"\n')
    monkeypatch.setenv("GALLERY_PASSWORD", "pw")
    built = run_cli(["build", photos, "-o", out])
    assert built.exit_code == 0, built.output
    sent = run_cli(["publish", "--site", out])
    assert sent.exit_code == 0, sent.output
    assert published(www, "trip") == site_files(out)
    assert "pw" not in json.dumps(read_manifest(out))


def test_a_clear_build_is_not_published_over_an_encrypted_gallery_by_accident(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A build that forgot the password (another OUT, another machine, an unset
    GALLERY_PASSWORD) must not publish over the live encrypted gallery: refused before any
    write (exit 2), the live gallery unchanged; --no-encryption says it is meant (found by
    the review)."""
    from conftest import gallery

    from gallery_builder.plugin_manager import NO_AUTOLOAD_ENV

    source = tmp_path / "photos"
    pictures.jpeg(source / "Album" / "one.jpg", (320, 240))
    (source / "gallery.toml").write_text('[gallery]\nname = "photos"\n', encoding="utf-8")
    (tmp_path / "pw").write_text("a long enough password\n", encoding="utf-8")
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
    assert run.returncode == 2 and "--no-encryption" in run.stderr, run.stderr
    assert "Traceback" not in run.stderr
    meant = gallery("publish", "--site", clear, live.as_uri(), "--no-encryption", env=env)
    assert meant.returncode == 0, meant.stderr
    assert "encrypted" not in json.loads((live / "photos" / "manifest.json").read_bytes())
