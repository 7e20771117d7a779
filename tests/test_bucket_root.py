"""One bucket, many galleries (issue 9): the bucket root's index.html lists every gallery and
its error.html serves them all, rebuilt from the galleries' own manifests when one is
published or unpublished, never touching another gallery's keys or a user's own root page.
Against the real moto server (requests from its log) and file://, through the real CLI."""

from __future__ import annotations

import hashlib
import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import quote

import pictures
import pytest
from conftest import TIMEOUT, links_of
from gallery_builder.plugins.s3 import s3_publisher
from gallery_builder.plugins.s3.conditional import CANARY_KEY
from s3env import Fault, FaultProxy, MotoServer

from gallery_builder.root_listing import RECORD_NAME
from gallery_builder.testing import build_gallery, run_cli

BUCKET = "many-galleries"
CARD = re.compile(
    r'<a class="album-card" href="(?P<href>[^"]*)">\s*(?:<img src="(?P<src>[^"]*)"[^>]*>)?\s*'
    r'<span class="album-title">(?P<title>[^<]*)</span>\s*'
    r'<span class="album-count">(?P<count>\d+) pictures?(?: · (?P<date>[^<]*))?</span>'
)


def make_site(tmp_path: Path, name: str, title: str, year: int, n: int = 2, theme=None) -> Path:
    source = tmp_path / "src" / name
    for i in range(n):
        pictures.jpeg(source / f"p{i}.jpg", taken=f"{year}:0{i + 1}:0{i + 1} 10:00:00")
    (source / "gallery.toml").write_text(f'[gallery]\ntitle = "{title}"\n', encoding="utf-8")
    out = tmp_path / f"site-{name}"
    build_gallery(source, out, theme=theme)
    return out


@pytest.fixture
def two(tmp_path: Path) -> dict[str, Path]:
    return {
        "butterflies": make_site(tmp_path, "butterflies", "Butterflies", 2023, n=3),
        "constantinople": make_site(tmp_path, "constantinople", "Constantinople", 2024),
    }


def s3_publish(server, site: Path, *extra: str, bucket: str = BUCKET):
    result = run_cli(
        ["publish", f"s3://{bucket}", "--site", site, "--endpoint-url", server.endpoint, *extra]
    )
    assert result.exit_code == 0, result.output
    return result


def anonymous_status(server: MotoServer, key: str) -> int:
    """The status of an unsigned GET of ``key``: what anyone on the web would get."""
    try:
        with urllib.request.urlopen(f"{server.endpoint}/{BUCKET}/{quote(key)}") as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


def cards(html: str) -> list[dict]:
    return [m.groupdict() for m in CARD.finditer(html)]


def get(s3, key: str) -> bytes:
    return s3.get_object(Bucket=BUCKET, Key=key)["Body"].read()


def keys(s3) -> dict[str, str]:
    found = {}
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=BUCKET):
        for item in page.get("Contents", []):
            found[item["Key"]] = item["ETag"].strip('"')
    return found


def test_two_galleries_in_one_bucket_are_listed_at_its_root(
    two: dict[str, Path], s3_server: MotoServer, s3
) -> None:
    for site in two.values():
        s3_publish(s3_server, site)
    listed = cards(get(s3, "index.html").decode())
    # newest first: Constantinople (2024) before Butterflies (2023)
    assert [(c["title"], c["count"]) for c in listed] == [
        ("Constantinople", "2"),
        ("Butterflies", "3"),
    ]
    assert listed[0]["date"] == "2 February 2024"
    stored = keys(s3)
    for card, prefix in zip(listed, ["constantinople", "butterflies"], strict=True):
        assert card["href"] == f"{prefix}/" and f"{prefix}/index.html" in stored
        assert card["src"].startswith(f"{prefix}/") and card["src"] in stored  # the cover
    # the root page's stylesheet and icon are root-owned keys that exist
    for url in links_of(get(s3, "index.html").decode()):
        if not url.endswith("/") and not url.startswith("#"):
            assert url.startswith(("_root/", "constantinople/", "butterflies/")), url
            assert url in stored, url
    # error.html for every gallery: absolute links, back to the listing
    error = get(s3, "error.html").decode()
    assert 'href="/"' in error and 'href="/_root/style.' in error
    assert all(u.startswith(("/", "#")) for u in links_of(error))
    # the bucket's website error document is the root's, whichever gallery published last
    website = s3.get_bucket_website(Bucket=BUCKET)
    assert website["ErrorDocument"] == {"Key": "error.html"}
    record = json.loads(get(s3, RECORD_NAME))
    assert record["files"]["index.html"] == hashlib.md5(get(s3, "index.html")).hexdigest()
    assert "manifest.json" not in [k for k in stored if "/" not in k]  # not a gallery
    # and the root's keys are public like the galleries'
    policy = json.loads(s3.get_bucket_policy(Bucket=BUCKET)["Policy"])
    resources = [r for s in policy["Statement"] for r in s["Resource"]]
    assert f"arn:aws:s3:::{BUCKET}/index.html" in resources
    assert f"arn:aws:s3:::{BUCKET}/_root/*" in resources
    # an anonymous reader (moto evaluates the policy for unsigned requests) reads the root's
    # pages and files, never its record
    for key in ["index.html", "error.html", *[u for u in stored if u.startswith("_root/")]]:
        assert anonymous_status(s3_server, key) == 200, key
    assert anonymous_status(s3_server, RECORD_NAME) == 403


def test_the_root_error_page_exists_before_the_website_points_at_it(
    two: dict[str, Path], s3_server: MotoServer
) -> None:
    mark = s3_server.mark()
    s3_publish(s3_server, two["butterflies"])
    sent = [
        f"{r.method} {r.path}?{r.raw_query}".rstrip("?") for r in s3_server.requests_since(mark)
    ]
    error_put = sent.index(f"PUT /{BUCKET}/error.html")
    website_put = sent.index(f"PUT /{BUCKET}?website")
    assert error_put < website_put, sent


def test_republishing_one_changes_the_listing_and_touches_no_key_of_the_other(
    two: dict[str, Path], s3_server: MotoServer, s3, tmp_path: Path
) -> None:
    for site in two.values():
        s3_publish(s3_server, site)
    before = {k: v for k, v in keys(s3).items() if k.startswith("constantinople/")}
    renamed = make_site(tmp_path, "butterflies", "Butterflies of Kew", 2023, n=3)
    mark = s3_server.mark()
    s3_publish(s3_server, renamed)
    writes = [r for r in s3_server.requests_since(mark) if r.method in ("PUT", "POST", "DELETE")]
    assert writes
    assert not [r for r in writes if (r.key or "").startswith("constantinople/")], writes
    assert {k: v for k, v in keys(s3).items() if k.startswith("constantinople/")} == before
    titles = [c["title"] for c in cards(get(s3, "index.html").decode())]
    assert titles == ["Constantinople", "Butterflies of Kew"]


def test_a_noop_publish_is_still_exactly_one_request(
    two: dict[str, Path], s3_server: MotoServer
) -> None:
    for site in two.values():
        s3_publish(s3_server, site)
    mark = s3_server.mark()
    s3_publish(s3_server, two["butterflies"])
    assert [str(r) for r in s3_server.requests_since(mark)] == [
        f"GET /{BUCKET}/butterflies/manifest.json -> 200"
    ]


def test_a_change_that_leaves_the_listing_alone_writes_nothing_at_the_root(
    two: dict[str, Path], s3_server: MotoServer, s3, tmp_path: Path
) -> None:
    for site in two.values():
        s3_publish(s3_server, site)
    source = tmp_path / "src" / "constantinople"
    (source / "p0.txt").write_text("A caption", encoding="utf-8")  # a page changes, not the root
    build_gallery(source, two["constantinople"])
    mark = s3_server.mark()
    s3_publish(s3_server, two["constantinople"])
    root_writes = [
        str(r)
        for r in s3_server.requests_since(mark)
        if r.method in ("PUT", "DELETE", "POST") and "/" not in (r.key or "/")
    ]
    assert root_writes == []


def test_unpublish_removes_exactly_one_gallery_and_its_listing(
    two: dict[str, Path], s3_server: MotoServer, s3
) -> None:
    for site in two.values():
        s3_publish(s3_server, site)
    before = keys(s3)
    target = f"s3://{BUCKET}/butterflies"
    dry = run_cli(["unpublish", target, "--endpoint-url", s3_server.endpoint, "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert "delete butterflies/manifest.json" in dry.output and keys(s3) == before
    mark = s3_server.mark()
    result = run_cli(["unpublish", target, "--endpoint-url", s3_server.endpoint])
    assert result.exit_code == 0, result.output
    after = keys(s3)
    assert not [k for k in after if k.startswith("butterflies/")]
    deleted = {k for k in before if k.startswith("butterflies/")}
    manifest = json.loads(run_cli_manifest(two["butterflies"]))
    assert deleted == {f"butterflies/{p}" for p in manifest["files"]} | {
        "butterflies/manifest.json"
    }
    assert {k: v for k, v in after.items() if k.startswith("constantinople/")} == {
        k: v for k, v in before.items() if k.startswith("constantinople/")
    }
    writes = [r for r in s3_server.requests_since(mark) if r.method in ("PUT", "POST", "DELETE")]
    assert not [r for r in writes if (r.key or "").startswith("constantinople/")]
    assert [c["title"] for c in cards(get(s3, "index.html").decode())] == ["Constantinople"]
    # the last one leaves an empty bucket: the root's own files go too
    result = run_cli(
        ["unpublish", f"s3://{BUCKET}/constantinople", "--endpoint-url", s3_server.endpoint]
    )
    assert result.exit_code == 0, result.output
    # only the bucket's record that it enforces conditional writes stays (it is the bucket's)
    assert list(keys(s3)) == [CANARY_KEY]


def run_cli_manifest(site: Path) -> bytes:
    return (site / "manifest.json").read_bytes()


def test_unpublish_of_nothing_is_one_clear_error(s3_server: MotoServer, tmp_path: Path) -> None:
    www = tmp_path / "www"
    www.mkdir()
    result = run_cli(["unpublish", www.as_uri(), "-d", "nope"])
    assert result.exit_code == 1
    assert result.output.startswith("Error: no gallery is published at")
    result = run_cli(["unpublish", www.as_uri()])
    assert result.exit_code == 2 and "-d PREFIX" in result.output


def test_unpublish_never_deletes_a_key_another_gallery_owns(tmp_path: Path) -> None:
    www = tmp_path / "www"
    site = make_site(tmp_path, "trips", "Trips", 2022)
    assert run_cli(["publish", www.as_uri(), "--site", site]).exit_code == 0
    # an older version's manifest listing a key of the other gallery too
    other = make_site(tmp_path, "other", "Other", 2021)
    assert run_cli(["publish", www.as_uri(), "--site", other]).exit_code == 0
    live = json.loads((www / "trips" / "manifest.json").read_bytes())
    live["files"]["../other/index.html"] = live["files"]["index.html"]
    (www / "trips" / "manifest.json").write_text(json.dumps(live))
    result = run_cli(["unpublish", www.as_uri(), "-d", "trips"])
    assert result.exit_code == 1 and "unsafe key" in result.output
    assert (www / "other" / "index.html").is_file() and (www / "trips" / "index.html").is_file()


def test_a_users_own_root_pages_are_never_overwritten(two: dict[str, Path], tmp_path: Path):
    www = tmp_path / "www"
    www.mkdir()
    (www / "index.html").write_text("<p>my own home page</p>")
    result = run_cli(["publish", www.as_uri(), "--site", two["butterflies"]])
    assert result.exit_code == 0, result.output
    assert (www / "index.html").read_text() == "<p>my own home page</p>"
    assert "index.html was not written by gallery-builder: it was left alone" in result.output
    assert (www / "error.html").is_file()  # the error page is still the root's
    # a page the root wrote, then changed by hand, is the user's from then on
    (www / "error.html").write_text("mine too")
    result = run_cli(["publish", www.as_uri(), "--site", two["constantinople"]])
    assert result.exit_code == 0, result.output
    assert (www / "error.html").read_text() == "mine too"
    assert (www / "index.html").read_text() == "<p>my own home page</p>"


def test_a_users_root_index_on_s3_is_never_overwritten(
    two: dict[str, Path], s3_server: MotoServer, s3
) -> None:
    s3.create_bucket(Bucket=BUCKET)
    s3.put_object(Bucket=BUCKET, Key="index.html", Body=b"mine", ContentType="text/html")
    result = s3_publish(s3_server, two["butterflies"])
    assert "was not written by gallery-builder" in result.output
    assert get(s3, "index.html") == b"mine"


def test_a_gallery_at_the_bucket_root_owns_the_root_pages(
    two: dict[str, Path], tmp_path: Path
) -> None:
    www = tmp_path / "www"
    home = make_site(tmp_path, "home", "Home", 2020)
    assert run_cli(["publish", www.as_uri(), "--site", home, "-d", ""]).exit_code == 0
    page = (www / "index.html").read_bytes()
    result = run_cli(["publish", www.as_uri(), "--site", two["butterflies"]])
    assert result.exit_code == 0, result.output
    assert (www / "index.html").read_bytes() == page == (home / "index.html").read_bytes()
    assert not (www / RECORD_NAME).exists()


def test_damaged_and_foreign_manifests_in_the_bucket_are_ignored_safely(
    two: dict[str, Path], tmp_path: Path
) -> None:
    www = tmp_path / "www"
    for name, body in {
        "junk": b"{not json",
        "app": json.dumps({"name": "webapp", "version": "1.0"}).encode(),
        "deep": b"[" * 100_000,
        "pending": json.dumps(
            {"format": "gallery-builder/1", "title": "Half", "files": {}, "pending": {"id": "x"}}
        ).encode(),
        "evil": json.dumps(
            {
                "format": "gallery-builder/1",
                "title": "<script>alert(1)</script>" + "x" * 5000,
                "files": {"t.jpg": {"md5": "0" * 32}},
                "albums": "no",
                "images": [
                    {"derivatives": {"thumbnail": "../../etc/passwd"}, "taken": "<b>"},
                    {"derivatives": {"thumbnail": "not-ours.jpg"}},
                    {"derivatives": {"thumbnail": "t.jpg"}, "sizes": {"x": "huge"}},
                    7,
                ],
            }
        ).encode(),
    }.items():
        (www / name).mkdir(parents=True)
        (www / name / "manifest.json").write_bytes(body)
    result = run_cli(["publish", www.as_uri(), "--site", two["butterflies"]])
    assert result.exit_code == 0, result.output
    html = (www / "index.html").read_text()
    listed = cards(html)
    assert [c["href"] for c in listed] == ["butterflies/", "evil/"]
    evil = listed[1]
    assert "<script>" not in html and "&lt;script&gt;" in evil["title"]
    assert len(evil["title"]) < 400 and evil["count"] == "3" and evil["date"] is None
    assert evil["src"] == "evil/t.jpg"  # the one thumbnail the gallery owns
    assert "passwd" not in html and "not-ours" not in html


def test_two_rebuilds_at_once_end_with_a_root_that_lists_both(
    two: dict[str, Path], s3_server: MotoServer, s3, tmp_path: Path
) -> None:
    """Both publishes reach their root rebuild while another holds the root's lease: each
    waits, and reads the listing again once it holds it."""
    for site in two.values():
        s3_publish(s3_server, site)
    new = {
        "butterflies": make_site(tmp_path, "butterflies", "Butterflies 2", 2023, n=3),
        "constantinople": make_site(tmp_path, "constantinople", "Constantinople 2", 2024),
    }
    old = {p: get(s3, f"{p}/manifest.json") for p in new}
    blocker = s3_publisher(f"s3://{BUCKET}", endpoint_url=s3_server.endpoint)
    env = {**os.environ}
    with blocker.lease(""):
        running = [
            subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "gallery_builder",
                    "publish",
                    f"s3://{BUCKET}",
                    "--site",
                    site,
                    "--endpoint-url",
                    s3_server.endpoint,
                ],
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
                env=env,
            )
            for site in new.values()
        ]
        deadline = time.monotonic() + TIMEOUT
        while time.monotonic() < deadline:
            live = {p: json.loads(get(s3, f"{p}/manifest.json")) for p in new}
            if all(get(s3, f"{p}/manifest.json") != old[p] and "pending" not in live[p]
                   for p in new):  # fmt: skip
                break
            time.sleep(0.1)
        time.sleep(0.5)
        assert all(p.poll() is None for p in running), "a rebuild did not wait for the root"
        titles = sorted(c["title"] for c in cards(get(s3, "index.html").decode()))
        assert titles == ["Butterflies", "Constantinople"]
    for process in running:
        output, _ = process.communicate(timeout=TIMEOUT)
        assert process.returncode == 0, output
        assert "warning" not in output, output
    assert sorted(c["title"] for c in cards(get(s3, "index.html").decode())) == [
        "Butterflies 2",
        "Constantinople 2",
    ]


def test_a_rebuild_that_cannot_get_the_root_says_so_and_the_publish_stands(
    two: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import fcntl

    from gallery_builder import bucket_root

    monkeypatch.setattr(bucket_root, "ROOT_WAIT_SECONDS", 0.5)
    www = tmp_path / "www"
    www.mkdir()
    with (www / ".gallery-publish.lock").open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)  # another process's rebuild, say
        result = run_cli(["publish", www.as_uri(), "--site", two["butterflies"]])
    assert result.exit_code == 0, result.output
    assert "was not rebuilt" in result.output and "rebuilds it" in result.output
    assert (www / "butterflies" / "index.html").is_file() and not (www / "index.html").exists()
    # the next change of any gallery here brings the root up to date
    result = run_cli(["publish", www.as_uri(), "--site", two["constantinople"]])
    assert len(cards((www / "index.html").read_text())) == 2


def test_a_killed_unpublish_is_finished_by_running_it_again(
    two: dict[str, Path], s3_server: MotoServer, fault_proxy: FaultProxy, s3
) -> None:
    for site in two.values():
        s3_publish(s3_server, site)
    # killed while its first batch of deletes is in flight: the mark is written
    fault_proxy.plan([Fault("hang", method="POST", path="?delete")])
    process = subprocess.Popen(
        [sys.executable, "-m", "gallery_builder", "unpublish", f"s3://{BUCKET}/butterflies",
         "--endpoint-url", fault_proxy.endpoint],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + TIMEOUT
        while not any(e.fault == "hang" for e in fault_proxy.events):
            assert time.monotonic() < deadline and process.poll() is None
            time.sleep(0.05)
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait(TIMEOUT)
    mark = json.loads(get(s3, "butterflies/manifest.json"))
    assert mark["files"] == {} and mark["pending"]["unpublish"] is True
    assert "butterflies/index.html" in keys(s3)  # nothing deleted yet
    # a publish meanwhile sees a gallery that promises nothing: the root no longer lists it
    # (once rebuilt), and running the unpublish again finishes it
    result = run_cli(
        ["unpublish", f"s3://{BUCKET}/butterflies", "--endpoint-url", s3_server.endpoint]
    )
    assert result.exit_code == 0, result.output
    assert not [k for k in keys(s3) if k.startswith("butterflies/")]
    assert [c["title"] for c in cards(get(s3, "index.html").decode())] == ["Constantinople"]


def test_a_killed_unpublish_is_undone_by_publishing_the_site_again(
    two: dict[str, Path], tmp_path: Path
) -> None:
    www = tmp_path / "www"
    for site in two.values():
        assert run_cli(["publish", www.as_uri(), "--site", site]).exit_code == 0
    from gallery_builder.plugins.file_publisher import FilePublisher

    from gallery_builder.unpublishing import unpublish_mark

    live = json.loads((www / "butterflies" / "manifest.json").read_bytes())
    # what a killed unpublish leaves: the mark, and some files already gone
    (www / "butterflies" / "manifest.json").write_bytes(unpublish_mark(live, sorted(live["files"])))
    pages = sorted(p for p in live["files"] if p.endswith(".html"))
    FilePublisher(www).delete([f"butterflies/{p}" for p in pages])
    result = run_cli(["publish", www.as_uri(), "--site", two["butterflies"]])
    assert result.exit_code == 0, result.output
    for path in live["files"]:
        assert (www / "butterflies" / path).is_file(), path
    assert len(cards((www / "index.html").read_text())) == 2


def test_the_root_uses_the_sites_theme(tmp_path: Path) -> None:
    www = tmp_path / "www"
    site = make_site(tmp_path, "quiet", "Quiet", 2024, theme="minimal")
    assert run_cli(["publish", www.as_uri(), "--site", site]).exit_code == 0
    manifest = json.loads((site / "manifest.json").read_bytes())
    minimal_css = [p for p in manifest["files"] if p.startswith("_static/style.")]
    html = (www / "index.html").read_text()
    css = [u for u in links_of(html) if u.startswith("_root/style.")]
    assert css and (www / css[0]).read_bytes() == (site / minimal_css[0]).read_bytes()
    assert 'class="site-footer"' in html  # the minimal theme's base.html
    record = json.loads((www / RECORD_NAME).read_bytes())
    assert record["theme"]["names"] == ["minimal", "default"]


def test_a_theme_folder_renders_the_root_and_its_path_is_never_recorded(tmp_path: Path):
    folder = tmp_path / "my theme"
    (folder / "templates").mkdir(parents=True)
    (folder / "templates" / "base.html").write_text(
        '{% extends "default:base.html" %}{% block footer %}<footer>MINE</footer>{% endblock %}'
    )
    www = tmp_path / "www"
    site = make_site(tmp_path, "own", "Own", 2024, theme=str(folder))
    assert run_cli(["publish", www.as_uri(), "--site", site]).exit_code == 0
    assert "<footer>MINE</footer>" in (www / "index.html").read_text()
    record = (www / RECORD_NAME).read_text()
    assert json.loads(record)["theme"]["names"] == ["default"] and "my theme" not in record


def test_the_root_error_page_links_from_the_sites_sub_path(tmp_path: Path) -> None:
    source = tmp_path / "src" / "trip"
    pictures.jpeg(source / "a.jpg")
    (source / "gallery.toml").write_text('[gallery]\nbase_url = "/photos/trip/"\n')
    site = tmp_path / "site"
    build_gallery(source, site)
    www = tmp_path / "www"
    assert run_cli(["publish", www.as_uri(), "--site", site]).exit_code == 0
    error = (www / "error.html").read_text()
    assert 'href="/photos/"' in error and 'href="/photos/_root/style.' in error
    assert "trip/" in (www / "index.html").read_text()


def test_the_pages_a_killed_rebuild_wrote_are_still_the_roots(
    two: dict[str, Path], tmp_path: Path
) -> None:
    www = tmp_path / "www"
    assert run_cli(["publish", www.as_uri(), "--site", two["butterflies"]]).exit_code == 0
    # what a rebuild killed between its page write and its record's last write leaves
    half = b"<!doctype html><p>a rebuild's page</p>"
    (www / "index.html").write_bytes(half)
    record = json.loads((www / RECORD_NAME).read_bytes())
    record["pending"] = {"index.html": hashlib.md5(half).hexdigest()}
    (www / RECORD_NAME).write_text(json.dumps(record))
    result = run_cli(["publish", www.as_uri(), "--site", two["constantinople"]])
    assert result.exit_code == 0 and "warning" not in result.output, result.output
    assert len(cards((www / "index.html").read_text())) == 2
    assert "pending" not in json.loads((www / RECORD_NAME).read_bytes())


def test_once_the_gallery_at_the_root_is_unpublished_the_root_lists_the_others(
    two: dict[str, Path], tmp_path: Path
) -> None:
    www = tmp_path / "www"
    home = make_site(tmp_path, "home", "Home", 2020)
    assert run_cli(["publish", www.as_uri(), "--site", home, "-d", ""]).exit_code == 0
    assert run_cli(["publish", www.as_uri(), "--site", two["butterflies"]]).exit_code == 0
    result = run_cli(["unpublish", www.as_uri(), "-d", ""])
    assert result.exit_code == 0, result.output
    assert [c["title"] for c in cards((www / "index.html").read_text())] == ["Butterflies"]
    assert (www / "butterflies" / "index.html").is_file()
