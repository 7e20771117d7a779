"""``gallery serve``: S3-website semantics over real HTTP on 127.0.0.1."""

from __future__ import annotations

import contextlib
import http.client
import json
import re
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pictures
import pytest
from conftest import TIMEOUT, gallery, read_manifest
from gallery_builder.plugins.file_publisher import file_publisher

from gallery_builder.model import IMMUTABLE
from gallery_builder.publishing import publish
from gallery_builder.security_headers import security_headers
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
        # the bucket root's error.html answers for every gallery, as S3 and CloudFront do
        status, _, body = fetch(port, "/photos/trip/gone.html")
        assert status == 404 and body == (target / "error.html").read_bytes()
        assert b"See all galleries" in body
        assert fetch(port, "/nowhere/x")[0] == 404
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
def serve_process(*args: str | Path) -> Iterator[tuple[subprocess.Popen, int, str]]:
    """``gallery serve ARGS --port 0`` running in a child process: the process, its port and
    the path it serves at; stopped on leaving (read its stderr after that)."""
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
        yield process, int(found[1]), found[2]
    finally:
        process.terminate()
        process.wait(TIMEOUT)


@contextlib.contextmanager
def serve_command(*args: str | Path) -> Iterator[tuple[int, str]]:
    """``gallery serve ARGS --port 0`` running in a child process: its port and the path it
    serves at; stopped on leaving."""
    with serve_process(*args) as (_, port, path):
        yield port, path


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


# --- hostile sites, manifests, requests and clients (issue 8, item 11) ---------------------


def raw_request(port: int, target: str | bytes) -> tuple[int, bytes]:
    """Send ``GET target`` as it is (http.client refuses control characters) and return the
    status and the raw header block."""
    if isinstance(target, str):
        target = target.encode("latin-1")
    with socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT) as sock:
        sock.sendall(b"GET " + target + b" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    head = data.partition(b"\r\n\r\n")[0]
    return int(head.split(b" ", 2)[1]), head


def test_a_symlink_out_of_a_built_site_is_never_served(site: Path, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text("the secret")
    image = next(p for p in read_manifest(site)["files"] if p.endswith(".jpg") and "/" not in p)
    (site / image).unlink()
    (site / image).symlink_to(outside / "secret.txt")  # a listed file, now a link out
    (outside / "trip").mkdir()
    (outside / "trip" / "index.html").write_text("the secret folder")
    shutil.rmtree(site / "trip")
    (site / "trip").symlink_to(outside / "trip", target_is_directory=True)  # a folder link out
    with serve_process(site) as (process, port, _):
        for path in (f"/photos/{image}", "/photos/trip/", "/photos/trip/index.html"):
            status, _, body = fetch(port, path)
            assert status == 404 and b"secret" not in body, path
        assert fetch(port, "/photos/")[0] == 200  # the rest of the site is still served
    assert "Traceback" not in process.stderr.read()


def test_a_symlink_out_of_a_file_target_is_never_served(target: Path, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    (outside / "folder").mkdir(parents=True)
    (outside / "secret.txt").write_text("the secret")
    (outside / "folder" / "index.html").write_text("the secret folder")
    (target / "leak.txt").symlink_to(outside / "secret.txt")
    (target / "photos" / "leak").symlink_to(outside / "folder", target_is_directory=True)
    (target / "inside.txt").symlink_to(target / "other.txt")  # a link inside is fine
    with serve_process(target.as_uri()) as (process, port, _):
        for path in ("/leak.txt", "/photos/leak/", "/photos/leak/index.html"):
            status, _, body = fetch(port, path)
            assert status == 404 and b"secret" not in body, path
        assert fetch(port, "/inside.txt")[2] == b"not a gallery file"
    assert "Traceback" not in process.stderr.read()


HOSTILE_HEADERS = [
    "text/html\r\nSet-Cookie: x=1",
    "text/html\nSet-Cookie: x=1",
    "text/html\rSet-Cookie: x=1",
    "text/html; charset=\u00fc",  # not ASCII: not a header value
    "text/html\x00",
    "",
    12,
    None,
]


@pytest.mark.parametrize("hostile", HOSTILE_HEADERS)
def test_header_values_from_a_manifest_are_never_copied_unchecked(site: Path, hostile) -> None:
    manifest = read_manifest(site)
    manifest["files"]["index.html"]["content_type"] = hostile
    manifest["files"]["index.html"]["cache_control"] = hostile
    css = next(p for p in manifest["files"] if p.endswith(".css"))
    manifest["files"][css]["cache_control"] = "max-age=60\r\nX-Injected: 1"
    manifest["files"]["error.html"] = "not an entry"  # a wrong-typed entry: not served
    (site / "manifest.json").write_text(json.dumps(manifest))
    with serve_process(site) as (process, port, _):
        status, head = raw_request(port, "/photos/")
        assert status == 200
        lines = head.split(b"\r\n")[1:]
        assert all(b":" in line and not line.startswith((b" ", b"\t")) for line in lines), head
        names = [line.partition(b":")[0].lower() for line in lines]
        assert b"set-cookie" not in names and len(names) == len(set(names)), head
        assert b"Content-Type: application/octet-stream" in lines
        assert b"Cache-Control: no-cache" in lines
        status, head = raw_request(port, "/photos/" + css)
        assert status == 200 and b"x-injected" not in head.lower()
        assert b"Content-Type: text/css; charset=utf-8" in head.split(b"\r\n")
        assert b"Cache-Control: no-cache" in head.split(b"\r\n")
        assert raw_request(port, "/photos/error.html")[0] == 404
        assert raw_request(port, "/photos/gone")[0] == 404  # no error page: a plain 404
    assert "Traceback" not in process.stderr.read()


def test_cache_control_from_a_target_manifest_is_checked(target: Path) -> None:
    manifest = read_manifest(target / "photos")
    manifest["files"]["index.html"]["cache_control"] = "no-cache\r\nSet-Cookie: x=1"
    manifest["files"]["error.html"] = ["not", "an", "entry"]
    (target / "photos" / "manifest.json").write_text(json.dumps(manifest))
    with serve_process(target.as_uri()) as (process, port, _):
        status, head = raw_request(port, "/photos/")
        assert status == 200 and b"set-cookie" not in head.lower()
        assert b"Cache-Control: no-cache" in head.split(b"\r\n")
        assert raw_request(port, "/photos/error.html")[0] == 200
    assert "Traceback" not in process.stderr.read()


HOSTILE_PATHS = [
    "/photos/%00", "/photos/index.html%00.jpg", "/photos/%2e%2e/%2e%2e/etc/passwd",
    "/photos/%2E%2E/photos/index.html", "/photos/..%2f..%2fetc%2fpasswd", "/photos/.%2e/",
    "/photos/..%5c..%5cetc%5cpasswd", "/photos/%5c", "/photos\\..\\index.html",
    "/photos/%0d%0aSet-Cookie:%20x=1", "/photos/a%0aX-Injected:%201/", "/photos/%7f",
    "/photos/%ff%fe", "/photos/%ed%a0%80", "/photos/%", "/photos/%zz", "/photos/" + "a" * 300,
    "/photos/" + "a/" * 3000, "/photos/" + "%e2%82%ac" * 200 + "/", "photos/index.html",
    "*", "/photos/\xff\xfe", "/photos/trip%00/", "/%2e%2e", "/photos//index.html",
]  # fmt: skip


@pytest.mark.parametrize("kind", ["site", "target"])
def test_hostile_request_paths_are_refused_without_a_traceback(site: Path, target: Path, kind):
    served = site if kind == "site" else target.as_uri()
    with serve_process(served) as (process, port, _):
        for path in HOSTILE_PATHS:
            status, head = raw_request(port, path)
            assert status in (400, 404), (path, status)
            lowered = head.lower()
            assert b"set-cookie" not in lowered and b"x-injected" not in lowered, path
        assert fetch(port, "/photos/")[0] == 200
    stderr = process.stderr.read()
    assert "Traceback" not in stderr and "Error" not in stderr, stderr


def threads_of(pid: int) -> int:
    status = Path(f"/proc/{pid}/status").read_text()
    return int(re.search(r"^Threads:\s+(\d+)", status, re.M)[1])


def test_idle_connections_hold_no_threads(site: Path) -> None:
    with serve_process(site) as (process, port, _), contextlib.ExitStack() as stack:
        before = threads_of(process.pid)
        idle = [
            stack.enter_context(socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT))
            for _ in range(300)
        ]
        half = idle[::2]
        for sock in half:  # half send a request's first bytes, then nothing
            sock.sendall(b"GET /photos/ HTTP/1.1\r\n")
        status, _, body = fetch(port, "/photos/")  # a normal request is still answered
        assert status == 200 and body == (site / "index.html").read_bytes()
        assert threads_of(process.pid) <= max(before, 16), (before, threads_of(process.pid))


def test_an_idle_connection_is_closed_after_the_timeout(site: Path) -> None:
    with serve_process(site, "--timeout", "1") as (_, port, _):
        quiet = socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT)
        slow = socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT)
        with quiet, slow:
            slow.sendall(b"GET /photos/ HTTP/1.1\r\nHost: x\r\n")  # never finished
            started = time.monotonic()
            assert quiet.recv(1024) == b""  # closed by the server
            assert time.monotonic() - started < 5
            # a slow request is cut off too (a 408 or a plain close, never an answer)
            assert not slow.recv(65536).startswith(b"HTTP/1.1 200")
        # a kept-alive connection that went quiet after a request is closed as well
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=TIMEOUT)
        connection.request("GET", "/photos/")
        assert connection.getresponse().read() == (site / "index.html").read_bytes()
        time.sleep(2.5)
        assert connection.sock.recv(1024) == b""
        connection.close()
        assert fetch(port, "/photos/")[0] == 200


def test_a_kept_alive_connection_answers_pipelined_requests(site: Path) -> None:
    request = b"GET /photos/ HTTP/1.1\r\nHost: x\r\n\r\n"
    last = b"HEAD /photos/ HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    with (
        serve_process(site) as (_, port, _),
        socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT) as sock,
    ):
        sock.sendall(request * 3 + last)
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    assert data.count(b"HTTP/1.1 200 OK") == 4
    assert data.count((site / "index.html").read_bytes()) == 3


def raw_exchange(port: int, request: bytes) -> tuple[int, dict[str, str]]:
    """Send ``request`` as it is; the status and the headers of the answer."""
    with socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT) as sock:
        sock.sendall(request)
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    lines = data.partition(b"\r\n\r\n")[0].decode("latin-1").split("\r\n")
    headers = dict(line.split(": ", 1) for line in lines[1:])
    return int(lines[0].split(" ", 2)[1]), headers


def test_every_answer_carries_the_security_headers(served: int) -> None:
    """The CDN's headers but HSTS (serve is plain HTTP), on a page, a file, a redirect, a 404,
    a refused path, a HEAD, and on what http.server answers by itself (an unknown method, too
    many headers), so the browser tests run under the policy the CDN sends."""
    expected = security_headers(https=False)
    assert "Strict-Transport-Security" not in expected
    answers = [fetch(served, path)[:2] for path in ("/photos/", "/photos/trip", "/", "/photos/x")]
    answers.append(fetch(served, "/photos/", method="HEAD")[:2])
    answers.append(fetch(served, "/photos/", method="POST")[:2])
    answers.append(raw_exchange(served, b"GET /photos/%2e%2e/ HTTP/1.1\r\nHost: x\r\n"
                                        b"Connection: close\r\n\r\n"))  # fmt: skip
    many = b"".join(b"X-%d: 1\r\n" % n for n in range(101))  # http.server refuses: 431
    answers.append(raw_exchange(served, b"GET /photos/ HTTP/1.1\r\n" + many + b"\r\n"))
    assert [status for status, _ in answers] == [200, 302, 302, 404, 200, 501, 400, 431]
    for status, headers in answers:
        got = {name: headers.get(name) for name in expected}
        assert got == expected, status
        assert "Strict-Transport-Security" not in headers, status


def test_without_a_bucket_root_a_missing_key_gets_its_gallerys_error_page(
    site: Path, target: Path
) -> None:
    (target / ".gallery-root.json").unlink()  # a folder whose root gallery-builder never wrote
    (target / "error.html").unlink()
    server = make_server(TargetFolder(target), port=0)
    serve_in_thread(server)
    try:
        status, _, body = fetch(server.server_address[1], "/photos/trip/gone.html")
        assert status == 404 and body == (site / "error.html").read_bytes()
        assert fetch(server.server_address[1], "/nowhere/x")[0] == 404
    finally:
        server.shutdown()
        server.server_close()
