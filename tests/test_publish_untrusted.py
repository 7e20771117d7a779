"""Publishing over untrusted remote state and untrusted names: a remote manifest's keys, a
manifest.json that is not a gallery's, the prefix, a site changed since its build, and URLs
that carry credentials. On file:// (a real folder) and a real moto server over HTTP, whose
request log shows what reached it."""

from __future__ import annotations

import hashlib
import json
import os
import socket
from pathlib import Path

import pictures
import pytest
from conftest import gallery, read_manifest, site_files
from gallery_builder.plugins.s3 import s3_publisher
from s3env import Fault, FaultProxy, MotoServer

from gallery_builder.errors import GalleryError
from gallery_builder.manifest import FORMAT
from gallery_builder.publishing import publish
from gallery_builder.testing import build_gallery, run_cli

BUCKET = "my-gallery"

#: keys no gallery writes; each would reach another file on a file system, or be an odd
#: literal key on S3. Relative to the gallery's folder www/photos.
HOSTILE = [
    "../other/index.html",  # another gallery's page
    "a/../../other/index.html",
    "../../outside.txt",  # outside the target folder
    "./index.html",  # our own live page, under another spelling
    "x/",
    "/ABSOLUTE",  # replaced by the absolute path of the outside file
    "a//b",
    "trip//index.html",
    "a\\b",
    "..\\outside.txt",
    "a\x00b",
    "a\nb.jpg",
    "a\x7fb.jpg",
    "",
    ".",
]


def hostile(key: str, outside: Path) -> str:
    return str(outside) if key == "/ABSOLUTE" else key


def snapshot(folder: Path) -> dict[str, bytes]:
    """Every file under ``folder`` (the publish lock left out: it is empty and harmless)."""
    return {
        p.relative_to(folder).as_posix(): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file() and p.name != ".gallery-publish.lock"
    }


@pytest.fixture
def world(site: Path, tmp_path: Path) -> Path:
    """tmp/www: our gallery published at photos/, another gallery at other/, and a file
    outside the target folder, tmp/outside.txt. Returns the target folder."""
    target = tmp_path / "www"
    assert run_cli(["publish", target.as_uri(), "--site", site]).exit_code == 0
    (target / "other").mkdir()
    (target / "other" / "index.html").write_text("another gallery's page")
    (target / "other" / "pic.jpg").write_bytes(b"another gallery's picture")
    (tmp_path / "outside.txt").write_text("not the gallery's")
    return target


def remote_with(target: Path, extra: dict) -> None:
    """The live manifest of www/photos, with ``extra`` files listed as if ours."""
    live = read_manifest(target / "photos")
    live["files"].update(extra)
    (target / "photos" / "manifest.json").write_text(json.dumps(live))


def entry(md5: str = "0" * 32) -> dict:
    return {"md5": md5, "content_type": "text/html", "cache_control": "no-cache"}


def new_page(site: Path, page: str = "index.html") -> None:
    """A changed page in the built site: something to write, if a publish got that far."""
    (site / page).write_text("a new page")
    manifest = read_manifest(site)
    manifest["files"][page]["md5"] = hashlib.md5(b"a new page").hexdigest()
    (site / "manifest.json").write_text(json.dumps(manifest))


def error_line(output: str) -> str:
    lines = [line for line in output.splitlines() if line.startswith("Error: ")]
    assert len(lines) == 1, output
    return lines[0]


# --- 1. keys from a remote manifest --------------------------------------------------------


@pytest.mark.parametrize("key", HOSTILE)
def test_a_hostile_key_in_our_manifest_is_refused_and_nothing_is_touched(
    site: Path, world: Path, tmp_path: Path, key: str
) -> None:
    key = hostile(key, tmp_path / "outside.txt")
    remote_with(world, {key: entry()})
    new_page(site)
    before = snapshot(tmp_path)
    result = run_cli(["publish", world.as_uri(), "--site", site])
    assert result.exit_code == 1, result.output
    assert isinstance(result.exception, SystemExit)  # a message, not a traceback
    line = error_line(result.output)
    assert f"lists an unsafe key {key!r}" in line and "manifest.json" in line
    assert "--take-over" in line
    # nothing deleted, nothing written: the outside file, the other gallery, our live page
    assert snapshot(tmp_path) == before


@pytest.mark.parametrize(
    "key", ["../other/pic.jpg", "a/../../other/pic.jpg", "/ABSOLUTE", "./a.jpg", "a//b.jpg"]
)
def test_a_hostile_key_in_the_scripts_flat_manifest_is_refused(
    site: Path, world: Path, tmp_path: Path, key: str
) -> None:
    outside = tmp_path / "outside.jpg"
    outside.write_bytes(b"not the gallery's")
    key = hostile(key, outside)
    flat = {"a.jpg": hashlib.md5(b"x").hexdigest(), key: hashlib.md5(b"y").hexdigest()}
    (world / "photos" / "manifest.json").write_text(json.dumps(flat))
    before = snapshot(tmp_path)
    result = run_cli(["publish", world.as_uri(), "--site", site])
    assert result.exit_code == 1, result.output
    assert f"unsafe key {key!r}" in error_line(result.output)
    assert snapshot(tmp_path) == before


def test_a_folder_symlinked_out_of_the_gallery_is_not_written_through(
    site: Path, world: Path, tmp_path: Path
) -> None:
    # photos/trip is a link to the other gallery: writing photos/trip/index.html would
    # replace the other gallery's page
    trip = world / "photos" / "trip"
    for path in sorted(trip.rglob("*"), reverse=True):
        path.rmdir() if path.is_dir() else path.unlink()
    trip.rmdir()
    trip.symlink_to(world / "other", target_is_directory=True)
    new_page(site, "trip/index.html")
    before = snapshot(world)
    outside_before = (tmp_path / "outside.txt").read_bytes()
    result = run_cli(["publish", world.as_uri(), "--site", site])
    assert result.exit_code == 1, result.output
    line = error_line(result.output)
    assert "outside the gallery's folder" in line and "trip" in line
    # refused before the first write: the other gallery, and ours, as they were
    assert snapshot(world) == before
    assert (tmp_path / "outside.txt").read_bytes() == outside_before


def test_a_file_symlinked_out_of_the_gallery_is_not_deleted_through(
    source: Path, site: Path, world: Path, tmp_path: Path
) -> None:
    # a page the gallery owns is now a link to a file outside: the publish that deletes the
    # page must not reach the file (nor read it as the gallery's)
    live = world / "photos" / "trip" / "day" / "index.html"
    live.unlink()
    live.symlink_to(tmp_path / "outside.txt")
    for path in (source / "Trip").rglob("*"):
        if path.is_file():
            path.unlink()
    build_gallery(source, site)
    before = snapshot(world)
    result = run_cli(["publish", world.as_uri(), "--site", site])
    assert result.exit_code == 1, result.output
    assert "outside the gallery's folder" in error_line(result.output)
    assert snapshot(world) == before and (tmp_path / "outside.txt").read_text() == (
        "not the gallery's"
    )


def test_a_gallery_folder_that_is_itself_a_symlink_is_published_into(
    site: Path, tmp_path: Path
) -> None:
    (tmp_path / "disk").mkdir()
    (tmp_path / "www").mkdir()
    (tmp_path / "www" / "photos").symlink_to(tmp_path / "disk", target_is_directory=True)
    result = run_cli(["publish", (tmp_path / "www").as_uri(), "--site", site])
    assert result.exit_code == 0, result.output
    assert snapshot(tmp_path / "disk") == site_files(site)


@pytest.mark.parametrize("key", ["../outside.txt", "../../outside.txt", "a\x00b", "/ABSOLUTE"])
def test_an_unsafe_path_in_the_sites_own_manifest_is_refused_before_any_write(
    site: Path, tmp_path: Path, key: str
) -> None:
    outside = tmp_path / "outside.txt"
    outside.write_text("not the gallery's")
    key = hostile(key, outside)
    manifest = read_manifest(site)
    manifest["files"][key] = {
        **entry(hashlib.md5(b"evil").hexdigest()),
        "content_type": "text/plain",
    }
    (site / "manifest.json").write_text(json.dumps(manifest))
    before = outside.read_text()
    target = tmp_path / "www"
    result = run_cli(["publish", target.as_uri(), "--site", site])
    assert result.exit_code == 1, result.output
    assert f"lists {key!r}, which" in error_line(result.output)
    assert outside.read_text() == before and not target.exists()


# --- 2. a manifest.json that is not a gallery's ----------------------------------------------

WEBPACK = {"main.js": "main.1a2b3c.js", "index.html": "index.html", "app.css": "app.9f.css"}
PWA = {"name": "My App", "short_name": "App", "start_url": "/", "display": "standalone"}
MD5S_OF_CODE = {"main.js": hashlib.md5(b"js").hexdigest(), "index.html": "0" * 32}
FOREIGN = {"webpack": WEBPACK, "pwa": PWA, "md5s-of-code": MD5S_OF_CODE}


def app_folder(target: Path, manifest: dict) -> dict[str, bytes]:
    """www/photos holds another app: its files and its manifest.json."""
    folder = target / "photos"
    folder.mkdir(parents=True)
    for name in ("main.js", "main.1a2b3c.js", "app.css", "app.9f.css", "index.html"):
        (folder / name).write_text(f"the app's {name}")
    (folder / "manifest.json").write_text(json.dumps(manifest))
    return snapshot(folder)


@pytest.mark.parametrize("kind", sorted(FOREIGN))
def test_a_foreign_manifest_json_is_refused_and_its_app_left_alone(
    site: Path, tmp_path: Path, kind: str
) -> None:
    target = tmp_path / "www"
    before = app_folder(target, FOREIGN[kind])
    result = run_cli(["publish", target.as_uri(), "--site", site])
    assert result.exit_code == 1, result.output
    line = error_line(result.output)
    assert "manifest.json is not a gallery's" in line
    assert "another prefix (-d PREFIX)" in line and "--take-over" in line
    assert snapshot(target / "photos") == before


@pytest.mark.parametrize("kind", sorted(FOREIGN))
def test_take_over_replaces_the_foreign_manifest_and_deletes_none_of_its_files(
    source: Path, site: Path, tmp_path: Path, kind: str
) -> None:
    target = tmp_path / "www"
    before = app_folder(target, FOREIGN[kind])
    result = run_cli(["publish", target.as_uri(), "--site", site, "--take-over"])
    assert result.exit_code == 0, result.output
    assert "warning: took over " in result.output and "none of the files" in result.output
    assert read_manifest(target / "photos")["format"] == FORMAT
    now = snapshot(target / "photos")
    # the app's files stay (index.html is the gallery's now: taken over, as asked)
    assert {
        k: v for k, v in before.items() if k not in ("manifest.json", "index.html")
    }.items() <= now.items()
    # later publishes own only what the gallery wrote
    (source / "a.jpg").unlink()
    build_gallery(source, site)
    assert run_cli(["publish", target.as_uri(), "--site", site]).exit_code == 0
    assert {k for k in before if k not in ("manifest.json", "index.html")} <= set(
        snapshot(target / "photos")
    )


def test_a_foreign_manifest_json_on_s3_is_refused_before_any_write(
    site: Path, s3_server: MotoServer, s3
) -> None:
    s3.create_bucket(Bucket=BUCKET)
    for name in ("main.js", "main.1a2b3c.js", "index.html"):
        s3.put_object(Bucket=BUCKET, Key=f"photos/{name}", Body=b"the app's")
    s3.put_object(Bucket=BUCKET, Key="photos/manifest.json", Body=json.dumps(WEBPACK).encode())
    mark = s3_server.mark()
    args = s3_publish(site, s3_server)
    result = run_cli(args)
    assert result.exit_code == 1, result.output
    assert "manifest.json is not a gallery's" in error_line(result.output)
    assert writes(s3_server.requests_since(mark)) == []
    taken = run_cli([*args, "--take-over"])
    assert taken.exit_code == 0, taken.output
    live = json.loads(s3.get_object(Bucket=BUCKET, Key="photos/manifest.json")["Body"].read())
    assert live["format"] == FORMAT
    keys = {o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET)["Contents"]}
    assert {"photos/main.js", "photos/main.1a2b3c.js"} <= keys
    assert not [r for r in s3_server.requests_since(mark) if "delete" in r.query]


# --- the same on S3: nothing sent ----------------------------------------------------------


def s3_publish(site: Path, s3_server: MotoServer) -> list[str | Path]:
    """The arguments of `gallery publish` of ``site`` to the gallery ``photos`` on moto."""
    return [
        "publish",
        f"s3://{BUCKET}/photos",
        "--site",
        site,
        "--endpoint-url",
        s3_server.endpoint,
    ]


def writes(requests) -> list[str]:
    """The requests that change the bucket: PUT, POST (DeleteObjects), DELETE."""
    return [str(r) for r in requests if r.method in ("PUT", "POST", "DELETE")]


@pytest.mark.parametrize(
    "key", [k for k in HOSTILE if k != "/ABSOLUTE"] + ["/etc/passwd", "photos/../x"]
)
def test_a_hostile_key_in_the_manifest_on_s3_is_refused_before_any_write(
    site: Path, s3_server: MotoServer, s3, key: str
) -> None:
    args = s3_publish(site, s3_server)
    assert run_cli(args).exit_code == 0
    live = json.loads(s3.get_object(Bucket=BUCKET, Key="photos/manifest.json")["Body"].read())
    live["files"][key] = entry()
    s3.put_object(Bucket=BUCKET, Key="photos/manifest.json", Body=json.dumps(live).encode())
    new_page(site)
    mark = s3_server.mark()
    result = run_cli(args)
    assert result.exit_code == 1, result.output
    assert f"lists an unsafe key {key!r}" in error_line(result.output)
    assert writes(s3_server.requests_since(mark)) == []


# --- 16. the prefix ----------------------------------------------------------------------------

BAD_PREFIXES = ["../x", "a/../../x", "..", ".", "a/./b", "a//b", "/abs", "//x", "a\\b", "a\nb",
                "a\x7fb", "a\x00b"]  # fmt: skip


@pytest.mark.parametrize("prefix", BAD_PREFIXES)
def test_a_bad_prefix_is_a_usage_error_and_nothing_is_written(
    site: Path, tmp_path: Path, prefix: str
) -> None:
    target = tmp_path / "www" / "inner"
    before = snapshot(tmp_path)
    result = run_cli(["publish", target.as_uri(), "--site", site, "-d", prefix])
    assert result.exit_code == 2, result.output
    line = error_line(result.output)
    assert f"the prefix {prefix.removesuffix('/')!r}" in line and "a relative path" in line
    assert snapshot(tmp_path) == before and not (tmp_path / "www").exists()


@pytest.mark.parametrize("prefix", ["..", "a/../../x", "/x", "x//y", "a\\b", "."])
def test_a_bad_prefix_in_an_s3_target_is_refused_before_any_request(
    site: Path, s3_server: MotoServer, prefix: str
) -> None:
    mark = s3_server.mark()
    result = run_cli(
        ["publish", f"s3://{BUCKET}/{prefix}", "--site", site, "--endpoint-url", s3_server.endpoint]
    )
    assert result.exit_code == 2, result.output
    assert "a relative path" in error_line(result.output)
    assert s3_server.requests_since(mark) == []


def test_a_bad_gallery_name_as_the_default_prefix_is_refused(site: Path, tmp_path: Path) -> None:
    manifest = read_manifest(site)
    manifest["name"] = "../x"
    (site / "manifest.json").write_text(json.dumps(manifest))
    result = run_cli(["publish", (tmp_path / "www").as_uri(), "--site", site])
    assert result.exit_code == 2, result.output
    assert "the prefix '../x'" in error_line(result.output)
    assert not (tmp_path / "x").exists() and not (tmp_path / "www").exists()


def test_good_prefixes_still_work(site: Path, tmp_path: Path) -> None:
    target = tmp_path / "www"
    for prefix in ("trips/2024/", "my trips", "été #1?", "a.b..c"):
        result = run_cli(["publish", target.as_uri(), "--site", site, "-d", prefix])
        assert result.exit_code == 0, result.output
        assert snapshot(target / prefix.removesuffix("/")) == site_files(site)


# --- 17. wrong-typed remote manifests, a site file gone ------------------------------------


@pytest.mark.parametrize(
    "files",
    [
        {"a.jpg": "x"},
        {"a.jpg": {"md5": 5}},
        {"a.jpg": None},
        {"a.jpg": ["md5"]},
        {"a.jpg": {"md5": "0" * 32, "content_type": 7}},
    ],
)
def test_a_wrong_typed_remote_entry_is_a_clear_error(
    site: Path, tmp_path: Path, files: dict
) -> None:
    target = tmp_path / "www"
    (target / "photos").mkdir(parents=True)
    data = json.dumps({"format": FORMAT, "files": files}).encode()
    (target / "photos" / "manifest.json").write_bytes(data)
    result = run_cli(["publish", target.as_uri(), "--site", site])
    assert result.exit_code == 1, result.output
    assert isinstance(result.exception, SystemExit)
    assert "manifest.json lists 'a.jpg' with" in error_line(result.output)
    assert (target / "photos" / "manifest.json").read_bytes() == data


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"[" * 100_000 + b"]" * 100_000, "nested too deeply"),
        (json.dumps({"a.jpg": {"md5": "0" * 32}}).encode(), "'a.jpg' maps to an object"),
    ],
)
def test_an_unreadable_remote_manifest_is_one_error_line(
    site: Path, tmp_path: Path, data: bytes, message: str
) -> None:
    target = tmp_path / "www"
    (target / "photos").mkdir(parents=True)
    (target / "photos" / "manifest.json").write_bytes(data)
    result = run_cli(["publish", target.as_uri(), "--site", site])
    assert result.exit_code == 1, result.output
    assert isinstance(result.exception, SystemExit)
    assert message in error_line(result.output)
    assert (target / "photos" / "manifest.json").read_bytes() == data


def test_a_folder_where_the_manifest_belongs_is_one_error_line(site: Path, tmp_path) -> None:
    target = tmp_path / "www"
    (target / "photos" / "manifest.json").mkdir(parents=True)
    result = run_cli(["publish", target.as_uri(), "--site", site])
    assert result.exit_code == 1, result.output
    assert isinstance(result.exception, SystemExit)
    assert "is a folder where the gallery keeps a file" in error_line(result.output)


def test_a_hosting_fingerprint_that_is_not_a_string_is_a_clear_error(
    site: Path, s3_server: MotoServer, s3
) -> None:
    s3.create_bucket(Bucket=BUCKET)
    body = json.dumps({"format": FORMAT, "files": {}, "hosting": 5}).encode()
    s3.put_object(Bucket=BUCKET, Key="photos/manifest.json", Body=body)
    mark = s3_server.mark()
    result = run_cli(["publish", BUCKET, "--site", site, "--endpoint-url", s3_server.endpoint])
    assert result.exit_code == 1, result.output
    assert "has 'hosting' a number (5)" in error_line(result.output)
    assert writes(s3_server.requests_since(mark)) == []


def test_a_file_missing_from_the_site_is_named_before_any_write(
    source: Path, site: Path, tmp_path: Path
) -> None:
    target = tmp_path / "www"
    assert run_cli(["publish", target.as_uri(), "--site", site]).exit_code == 0
    pictures.jpeg(source / "new.jpg")
    build_gallery(source, site)
    gone = next(p for p in read_manifest(site)["files"] if p.endswith(".webp") and "new" in p)
    (site / gone).unlink()
    before = snapshot(target)
    result = run_cli(["publish", target.as_uri(), "--site", site])
    assert result.exit_code == 1, result.output
    assert isinstance(result.exception, SystemExit)
    line = error_line(result.output)
    assert gone in line and "build it again" in line
    assert snapshot(target) == before


def test_a_file_missing_from_the_site_sends_nothing_to_s3(site: Path, s3_server: MotoServer):
    gone = next(p for p in read_manifest(site)["files"] if p.endswith(".webp"))
    (site / gone).unlink()
    mark = s3_server.mark()
    result = run_cli(["publish", BUCKET, "--site", site, "--endpoint-url", s3_server.endpoint])
    assert result.exit_code == 1, result.output
    assert gone in error_line(result.output)
    assert s3_server.requests_since(mark) == []


# --- 18. migrating from the original script: an object it listed is gone ------------------


@pytest.fixture
def script_site(source: Path, tmp_path: Path) -> Path:
    pictures.jpeg(source / "a.jpg", taken="2024:01:01 10:00:00")
    pictures.jpeg(source / "Trip" / "B and C.JPG", taken="2024:01:02 10:00:00")
    (source / "gallery.toml").write_text("[images]\noriginals = true\n")
    site = tmp_path / "site"
    build_gallery(source, site)
    return site


def scripts_manifest(source: Path) -> dict[str, str]:
    return {
        p.relative_to(source).as_posix(): hashlib.md5(p.read_bytes()).hexdigest()
        for p in sorted(source.rglob("*"))
        if p.suffix.lower() in (".jpg", ".png")
    }


def test_an_object_the_scripts_manifest_lists_but_is_gone_is_restored_on_file(
    source: Path, script_site: Path, tmp_path: Path
) -> None:
    target = tmp_path / "www"
    (target / "photos" / "Trip").mkdir(parents=True)
    (target / "photos" / "Trip" / "B and C.JPG").write_bytes(
        (source / "Trip" / "B and C.JPG").read_bytes()
    )  # a.jpg is listed, but gone
    flat = scripts_manifest(source)
    (target / "photos" / "manifest.json").write_text(json.dumps(flat))
    result = run_cli(["publish", target.as_uri(), "--site", script_site])
    assert result.exit_code == 0, result.output
    assert (target / "photos" / "a.jpg").read_bytes() == (source / "a.jpg").read_bytes()
    assert snapshot(target / "photos") == site_files(script_site)


def test_an_object_the_scripts_manifest_lists_but_is_gone_is_restored_on_s3(
    source: Path, script_site: Path, s3_server: MotoServer, s3
) -> None:
    s3.create_bucket(Bucket=BUCKET)
    flat = scripts_manifest(source)
    for relpath in flat:
        s3.put_object(Bucket=BUCKET, Key=f"photos/{relpath}", Body=(source / relpath).read_bytes())
    s3.put_object(Bucket=BUCKET, Key="photos/manifest.json", Body=json.dumps(flat).encode())
    s3.delete_object(Bucket=BUCKET, Key="photos/Trip/B and C.JPG")  # listed, but gone
    mark = s3_server.mark()
    result = run_cli(
        ["publish", BUCKET, "--site", script_site, "--endpoint-url", s3_server.endpoint]
    )
    assert result.exit_code == 0, result.output
    for relpath in flat:
        head = s3.head_object(Bucket=BUCKET, Key=f"photos/{relpath}")
        assert head["ETag"].strip('"') == flat[relpath]
        assert head["ContentType"] == "image/jpeg" and head["CacheControl"] == "no-cache"
    assert "photos/Trip/B and C.JPG" in {
        r.key for r in s3_server.requests_since(mark) if r.method == "PUT"
    }


# --- 11. credentials in URLs; printed URLs --------------------------------------------------

SECRET = "wJalrXUtnFEMIK7MDENGbPxRfiCYEXAMPLEKEY"
KEY_ID = "AKIAIOSFODNN7EXAMPLE"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def no_secret(text: str) -> None:
    assert SECRET not in text and KEY_ID not in text and "wJalr" not in text, text


ONE_ATTEMPT = {"AWS_MAX_ATTEMPTS": "1"}


@pytest.mark.parametrize(
    "endpoint",
    [
        f"http://{KEY_ID}:{SECRET}@127.0.0.1:{{port}}",
        f"http://{KEY_ID}:{SECRET[:10]}/{SECRET[10:]}@127.0.0.1:{{port}}",  # a raw '/'
        f"http://127.0.0.1:{{port}}/?X-Amz-Credential={KEY_ID}&X-Amz-Signature={SECRET}",
        f"http://{KEY_ID}:{SECRET[:10]} {SECRET[10:]}@127.0.0.1:{{port}}",  # a raw space
    ],
)
def test_credentials_in_an_unreachable_endpoint_url_are_not_echoed(
    site: Path, endpoint: str
) -> None:
    endpoint = endpoint.format(port=free_port())
    # one attempt: an endpoint nobody listens on is otherwise retried for half a minute
    result = gallery("publish", BUCKET, "--site", site, "--endpoint-url", endpoint, env=ONE_ATTEMPT)
    assert result.returncode in (1, 2), result.stderr
    assert "Traceback" not in result.stderr
    assert "Error: " in result.stderr
    no_secret(result.stdout + result.stderr)


def test_credentials_in_aws_endpoint_url_are_not_echoed(site: Path) -> None:
    endpoint = f"http://{KEY_ID}:{SECRET[:10]} {SECRET[10:]}@127.0.0.1:{free_port()}"
    result = gallery(
        "publish", BUCKET, "--site", site, env={"AWS_ENDPOINT_URL": endpoint, **ONE_ATTEMPT}
    )
    assert result.returncode == 1 and "Error: cannot reach S3" in result.stderr, result.stderr
    no_secret(result.stdout + result.stderr)


@pytest.mark.parametrize(
    "target",
    [
        f"s3://{KEY_ID}:{SECRET}@{BUCKET}/photos",
        f"file://{KEY_ID}:{SECRET}@host/srv/www",
        f"{KEY_ID}:{SECRET}@{BUCKET}",
    ],
)
def test_credentials_in_a_target_url_are_not_echoed(site: Path, target: str) -> None:
    result = gallery("publish", target, "--site", site)
    assert result.returncode == 2, result.stderr
    assert "Error: " in result.stderr and "Traceback" not in result.stderr
    no_secret(result.stdout + result.stderr)


def test_credentials_in_the_endpoint_url_are_not_echoed_in_warnings(
    site: Path, s3_server: MotoServer, fault_proxy: FaultProxy, s3
) -> None:
    fault_proxy.plan([Fault("not-implemented", method="PUT", path="?website")])
    endpoint = fault_proxy.endpoint.replace("http://", f"http://{KEY_ID}:{SECRET}@")
    result = gallery("publish", BUCKET, "--site", site, "--endpoint-url", endpoint)
    assert result.returncode == 0, result.stderr
    assert "does not support put_bucket_website" in result.stderr
    assert "the store at http://***@127.0.0.1:" in result.stderr
    no_secret(result.stdout + result.stderr)
    assert s3.head_object(Bucket=BUCKET, Key="photos/manifest.json")


def test_printed_urls_are_percent_encoded(site: Path, s3_server: MotoServer, tmp_path) -> None:
    prefix = "my trips/été #1?50%"
    encoded = "my%20trips/%C3%A9t%C3%A9%20%231%3F50%25"
    result = gallery(
        "publish", BUCKET, "--site", site, "-d", prefix, "--endpoint-url", s3_server.endpoint, "-v"
    )
    assert result.returncode == 0, result.stderr
    website = f"{s3_server.endpoint}/my-gallery/"  # moto is not AWS: the objects' own URLs
    assert f"gallery: {website}{encoded}/\n" in result.stdout
    assert f"manifest: {website}{encoded}/manifest.json\n" in result.stdout
    uploaded = [line for line in result.stdout.splitlines() if line.startswith("uploaded ")]
    assert uploaded and all(line.startswith(f"uploaded {website}{encoded}/") for line in uploaded)
    assert all(" " not in line.removeprefix("uploaded ") for line in uploaded)
    target = tmp_path / "www dir"
    local = gallery("publish", target.as_uri(), "--site", site, "-d", prefix)
    assert local.returncode == 0, local.stderr
    assert f"gallery: {target.as_uri()}/{encoded}/index.html\n" in local.stdout


# --- 12. keys over S3's limit ------------------------------------------------------------------


def test_a_key_over_s3s_limit_is_refused_before_any_write(
    site: Path, s3_server: MotoServer
) -> None:
    prefix = "é" * 505  # 1010 bytes in UTF-8: prefix/manifest.json just fits, longer keys do not
    mark = s3_server.mark()
    result = run_cli(
        ["publish", BUCKET, "--site", site, "-d", prefix, "--endpoint-url", s3_server.endpoint]
    )
    assert result.exit_code == 1, result.output
    line = error_line(result.output)
    assert "over the store's limit of 1024 bytes" in line and f"'{prefix}/" in line
    assert s3_server.requests_since(mark) == []
    publisher = s3_publisher(f"s3://{BUCKET}", endpoint_url=s3_server.endpoint)
    with pytest.raises(GalleryError, match="1024 bytes"):
        publish(site, publisher, prefix)
    assert writes(s3_server.requests_since(mark)) == []


def test_the_file_publisher_refuses_an_unsafe_key_itself(tmp_path: Path) -> None:
    from gallery_builder.plugins.file_publisher import FilePublisher

    root = tmp_path / "www"
    root.mkdir()
    (tmp_path / "outside.txt").write_text("kept")
    publisher = FilePublisher(root)
    publisher.confine("photos")
    for key in ("../outside.txt", "photos/../../outside.txt", str(tmp_path / "outside.txt"),
                "photos/a\x00b", "other/x"):  # fmt: skip
        with pytest.raises(GalleryError, match="refusing"):
            publisher.delete([key])
    assert (tmp_path / "outside.txt").read_text() == "kept"
    assert os.listdir(root) == []


# --- the rules themselves (pure) -----------------------------------------------------------


@pytest.mark.parametrize("key", [k for k in HOSTILE if k != "/ABSOLUTE"] + ["/etc/passwd", 7])
def test_key_problem_names_what_is_wrong(key: object) -> None:
    from gallery_builder.keys import key_problem

    assert key_problem(key)


@pytest.mark.parametrize(
    "key", ["a.jpg", "Trip/B and C.JPG", "été/#1?50%.png", "a.b..c/d", "_static/x.css", " x"]
)
def test_key_problem_lets_ordinary_names_through(key: str) -> None:
    from gallery_builder.keys import key_problem

    assert key_problem(key) is None


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ('URL: "http://AKIA:wJalr@127.0.0.1:9/b/k"', 'URL: "http://***@127.0.0.1:9/b/k"'),
        ("`https://AKIA:wJ/alr@host` bad", "`https://***@host` bad"),
        ("http://h/k?X-Amz-Signature=wJalr&uploads", "http://h/k?X-Amz-Signature=***&uploads"),
        ("s3://AKIA:wJalr@bucket/p and file://u:wJalr@h/x", "s3://***@bucket/p and file://***@h/x"),
        ("no URL here", "no URL here"),
    ],
)
def test_redact_urls_hides_userinfo_and_query_values(text: str, shown: str) -> None:
    from gallery_builder.redact import redact_urls

    assert redact_urls(text) == shown
