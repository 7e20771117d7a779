"""``gallery serve``: S3-website semantics over real HTTP on 127.0.0.1."""

from __future__ import annotations

import contextlib
import http.client
import re
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pictures
import pytest
from conftest import TIMEOUT, gallery, read_manifest
from gallery_builder.plugins.file_publisher import file_publisher

from gallery_builder.model import IMMUTABLE
from gallery_builder.publishing import publish
from gallery_builder.serve import SiteFolder, TargetFolder, key_of, make_server, serve_in_thread
from gallery_builder.testing import build_gallery


def fetch(port: int, path: str, method: str = "GET") -> tuple[int, dict[str, str], bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=TIMEOUT)
    try:
        connection.request(method, path)
        response = connection.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        connection.close()


@pytest.fixture
def served(site: Path) -> Iterator[int]:
    """The built ``site`` (gallery "photos") served at /photos/; yields the port."""
    server = make_server(SiteFolder(site, "/photos/"), port=0)
    serve_in_thread(server)
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


def test_a_folder_url_serves_its_index(site: Path, served: int) -> None:
    status, headers, body = fetch(served, "/photos/")
    assert status == 200 and body == (site / "index.html").read_bytes()
    assert headers["Content-Type"] == "text/html; charset=utf-8"
    assert headers["Cache-Control"] == "no-cache"
    status, _, body = fetch(served, "/photos/trip/day/")
    assert status == 200 and body == (site / "trip" / "day" / "index.html").read_bytes()


def test_a_folder_without_its_slash_redirects(served: int) -> None:
    status, headers, _ = fetch(served, "/photos/trip")
    assert (status, headers["Location"]) == (302, "/photos/trip/")
    assert fetch(served, "/")[1]["Location"] == "/photos/"  # the gallery's own place


def test_a_missing_key_answers_404_with_the_error_page_at_any_depth(site: Path, served: int):
    for path in ("/photos/nothing.html", "/photos/trip/day/gone/deeper/x.jpg", "/elsewhere"):
        status, headers, body = fetch(served, path)
        assert status == 404, path
        assert body == (site / "error.html").read_bytes()
        assert headers["Content-Type"] == "text/html; charset=utf-8"


def test_files_go_out_with_the_manifests_headers(site: Path, served: int) -> None:
    files = read_manifest(site)["files"]
    for path, entry in files.items():
        status, headers, body = fetch(served, "/photos/" + path)
        assert status == 200, path
        assert body == (site / path).read_bytes()
        assert headers["Content-Type"] == entry["content_type"]
        assert headers["Cache-Control"] == entry["cache_control"]
    assert any(e["cache_control"] == IMMUTABLE for e in files.values())


def test_head_answers_headers_only(served: int) -> None:
    status, headers, body = fetch(served, "/photos/", method="HEAD")
    assert status == 200 and body == b"" and int(headers["Content-Length"]) > 0


def test_only_the_sites_files_are_served(site: Path, served: int) -> None:
    assert (site / ".gallery").is_dir()  # the build state is in the folder, never served
    for path in ("/photos/.gallery/state.sqlite", "/photos/../photos/index.html",
                 "/photos/%2e%2e/%2e%2e/etc/passwd", "/photos//index.html"):  # fmt: skip
        assert fetch(served, path)[0] in (400, 404), path


def test_key_of_maps_paths_as_s3_website_does() -> None:
    assert key_of("/") == "index.html"
    assert key_of("/a%20b/") == "a b/index.html"
    assert key_of("/a/b.jpg?x=1") == "a/b.jpg"
    assert key_of("/a/../b") is None and key_of("/a//b") is None


@pytest.fixture
def target(site: Path, tmp_path: Path) -> Path:
    """``site`` published with the file:// publisher under www/photos/."""
    www = tmp_path / "www"
    publish(site, file_publisher(f"file://{www}"), "photos")
    (www / "other.txt").write_text("not a gallery file")
    return www


def test_a_file_target_is_served_like_its_bucket(site: Path, target: Path) -> None:
    server = make_server(TargetFolder(target), port=0)
    serve_in_thread(server)
    port = server.server_address[1]
    try:
        status, headers, body = fetch(port, "/photos/trip/")
        assert status == 200 and body == (site / "trip" / "index.html").read_bytes()
        assert fetch(port, "/photos/trip")[1]["Location"] == "/photos/trip/"
        status, _, body = fetch(port, "/photos/trip/gone.html")
        assert status == 404 and body == (site / "error.html").read_bytes()
        assert fetch(port, "/nowhere/x")[0] == 404  # no gallery above: a plain 404
        assert fetch(port, "/other.txt")[1]["Content-Type"] == "text/plain; charset=utf-8"
        image = next(p for p, e in read_manifest(site)["files"].items() if p.endswith(".jpg"))
        headers = fetch(port, "/photos/" + image)[1]
        assert headers["Cache-Control"] == IMMUTABLE
        assert fetch(port, "/photos/.gallery-publish.lock")[0] == 404
    finally:
        server.shutdown()
        server.server_close()


def test_the_command_serves_until_stopped(site: Path) -> None:
    with serve_command(site) as (port, path):
        assert path == "/photos/"
        status, _, body = fetch(port, "/photos/")
        assert status == 200 and body == (site / "index.html").read_bytes()


def test_serving_a_folder_that_is_not_built_says_so(tmp_path: Path) -> None:
    run = gallery("serve", tmp_path, "--port", "0")
    assert run.returncode == 1
    assert "has no manifest.json: build the site first" in run.stderr
    assert "Traceback" not in run.stderr


def test_a_port_in_use_is_a_message(site: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        run = gallery("serve", site, "--port", taken.getsockname()[1])
    assert run.returncode == 1 and "cannot listen on 127.0.0.1:" in run.stderr


@contextlib.contextmanager
def serve_command(*args: str | Path) -> Iterator[tuple[int, str]]:
    """``gallery serve ARGS --port 0`` running in a child process: its port and the path it
    serves at; stopped on leaving."""
    process = subprocess.Popen(
        [sys.executable, "-m", "gallery_builder", "serve", *map(str, args), "--port", "0"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        line = process.stdout.readline()
        found = re.search(r"at http://127\.0\.0\.1:(\d+)(/\S*) ", line)
        if not found:
            process.kill()
            pytest.fail(f"gallery serve said {line!r}; stderr {process.stderr.read()!r}")
        yield int(found[1]), found[2]
    finally:
        process.terminate()
        process.wait(TIMEOUT)


def test_a_site_built_for_another_path_is_served_there(source: Path, out: Path) -> None:
    pictures.jpeg(source / "a.jpg")
    (source / "gallery.toml").write_text('[gallery]\nbase_url = "/trips/2024/"\n')
    build_gallery(source, out)
    with serve_command(out) as (port, path):
        assert path == "/trips/2024/"
        status, _, body = fetch(port, "/trips/2024/missing/deep.html")
        assert status == 404
        stylesheet = re.search(r'<link rel="stylesheet" href="([^"]+)"', body.decode())[1]
        assert fetch(port, stylesheet)[0] == 200  # the error page's links work at any depth


def test_a_rebuild_shows_without_a_restart(source: Path, site: Path, served: int) -> None:
    assert fetch(served, "/photos/new/")[0] == 404
    pictures.jpeg(source / "New" / "n.jpg")
    build_gallery(source, site)
    status, _, body = fetch(served, "/photos/new/")
    assert status == 200 and body == (site / "new" / "index.html").read_bytes()


def test_a_file_target_url_with_escapes_is_served(site: Path, tmp_path: Path) -> None:
    folder = tmp_path / "my pub"
    publish(site, file_publisher(folder.as_uri()), "photos")
    with serve_command(folder.as_uri()) as (port, _):  # file:///…/my%20pub
        assert fetch(port, "/photos/")[0] == 200


def test_a_base_path_beyond_ascii_is_redirected_to_escaped(source: Path, out: Path) -> None:
    pictures.jpeg(source / "a.jpg")
    (source / "gallery.toml").write_text('[gallery]\nbase_url = "/%D1%84%D0%BE%D1%82%D0%BE/"\n')
    build_gallery(source, out)
    with serve_command(out) as (port, _):
        status, headers, _ = fetch(port, "/")
        assert (status, headers["Location"]) == (302, "/%D1%84%D0%BE%D1%82%D0%BE/")
        assert fetch(port, headers["Location"])[0] == 200
