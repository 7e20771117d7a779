"""A publish writes and deletes only what its gallery owns: never another gallery's keys
(nested galleries, above or below), and every key it sent, even if it then failed (the
pending mark records them first). The live manifest stays whole meanwhile.

Over real parts: the file:// publisher into a real folder, a moto server over HTTP, real
``gallery publish`` processes killed while the fault proxy holds a chosen request."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pictures
import pytest
from conftest import read_manifest, site_files
from gallery_builder.plugins.file_publisher import FilePublisher
from gallery_builder.plugins.s3 import s3_publisher
from gallery_builder.plugins.s3.hosting import public_read_statement
from s3env import Fault, FaultProxy, MotoServer
from test_publish_killed import BUCKET, PREFIX, kill_publish_when_held

from gallery_builder.errors import GalleryError
from gallery_builder.publishing import publish
from gallery_builder.testing import build_gallery, run_cli


def gallery_site(tmp_path: Path, name: str, albums: list[str], seed: int = 0) -> Path:
    """A built site whose root album holds one picture and a sub-album per name."""
    source = tmp_path / f"{name}-photos"
    pictures.jpeg(source / "cover.jpg", (300 + seed, 200), taken="2024:01:01 10:00:00")
    for n, album in enumerate(albums):
        pictures.jpeg(source / album / f"p{n}.jpg", (280 + seed, 210), taken="2024:01:02 10:00")
    out = tmp_path / f"{name}-site"
    build_gallery(source, out)
    return out


def folder_files(folder: Path) -> dict[str, bytes]:
    return {
        p.relative_to(folder).as_posix(): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file() and not p.name.endswith(".lock")
    }


# --- nested galleries (file://) -------------------------------------------------------------


def test_a_gallery_above_another_is_refused_before_writing_its_pages(tmp_path: Path) -> None:
    """`trips/2024` is published; `trips`, whose album `2024` has its page at the same key,
    is refused, naming the gallery in the way; nothing of `trips/2024` changes."""
    www = tmp_path / "www"
    year = gallery_site(tmp_path, "year", ["Day"])
    publish(year, FilePublisher(www), "trips/2024")
    before = folder_files(www / "trips" / "2024")
    trips = gallery_site(tmp_path, "trips", ["2024", "Other"], seed=5)
    assert "2024/index.html" in read_manifest(trips)["files"]
    result = run_cli(["publish", www.as_uri(), "--site", trips, "-d", "trips"])
    assert result.exit_code == 1, result.output
    assert "another gallery is published at" in result.output
    assert f"{www.as_uri()}/trips/2024" in result.output and "-d PREFIX" in result.output
    assert "Traceback" not in result.output
    assert folder_files(www / "trips" / "2024") == before
    assert not (www / "trips" / "index.html").exists()  # nothing was sent


def test_a_gallery_below_another_is_refused_before_writing_its_keys(tmp_path: Path) -> None:
    """The other way round: `trips` (with an album `2024`) is live; `trips/2024` is refused,
    naming `trips`, whose manifest lists the key it would write."""
    www = tmp_path / "www"
    trips = gallery_site(tmp_path, "trips", ["2024"])
    publish(trips, FilePublisher(www), "trips")
    before = folder_files(www / "trips")
    year = gallery_site(tmp_path, "year", ["Day"], seed=5)
    with pytest.raises(GalleryError, match=r"another gallery is published at .*/trips \("):
        publish(year, FilePublisher(www), "trips/2024")
    assert folder_files(www / "trips") == before


def test_a_gallery_at_the_root_is_a_neighbour_too(tmp_path: Path) -> None:
    www = tmp_path / "www"
    root = gallery_site(tmp_path, "root", ["Trips"])
    publish(root, FilePublisher(www), "")
    before = folder_files(www)
    trips = gallery_site(tmp_path, "trips", [], seed=5)
    with pytest.raises(GalleryError, match="another gallery is published at the root of"):
        publish(trips, FilePublisher(www), "trips")
    assert folder_files(www) == before


def test_nested_galleries_that_share_no_key_both_publish_and_stay_whole(tmp_path: Path):
    """`trips` without a `2024` album and `trips/2024` own different keys: both publish, and
    republishing `trips` (changed, with deletions) leaves `trips/2024` alone."""
    www = tmp_path / "www"
    trips = gallery_site(tmp_path, "trips", ["Spring", "Autumn"])
    publish(trips, FilePublisher(www), "trips")
    year = gallery_site(tmp_path, "year", ["Day"], seed=5)
    publish(year, FilePublisher(www), "trips/2024")
    before = folder_files(www / "trips" / "2024")
    smaller = gallery_site(tmp_path / "v2", "trips", ["Spring"], seed=9)
    result = publish(smaller, FilePublisher(www), "trips")
    assert result.deleted  # Autumn went
    assert folder_files(www / "trips" / "2024") == before
    assert site_files(smaller).items() <= folder_files(www / "trips").items()


def test_a_key_owned_by_both_is_not_deleted_from_the_gallery_that_took_it(tmp_path: Path):
    """Left by an older version: `trips` once had an album `2024`, then `trips/2024` was
    published over it. `trips` without that album would delete `trips/2024`'s pages: it is
    refused, and they stay."""
    www = tmp_path / "www"
    trips = gallery_site(tmp_path, "trips", ["2024"])
    publish(trips, FilePublisher(www), "trips")
    elsewhere = tmp_path / "elsewhere"
    year = gallery_site(tmp_path, "year", ["Day"], seed=5)
    publish(year, FilePublisher(elsewhere), "trips/2024")
    shutil.copytree(elsewhere / "trips" / "2024", www / "trips" / "2024", dirs_exist_ok=True)
    before = folder_files(www / "trips" / "2024")
    without = gallery_site(tmp_path / "v2", "trips", [], seed=9)
    with pytest.raises(GalleryError, match=r"trips/2024 .*owns trips/2024/index.html"):
        publish(without, FilePublisher(www), "trips")
    assert folder_files(www / "trips" / "2024") == before


def test_another_apps_manifest_below_owns_its_folder(tmp_path: Path) -> None:
    """A `manifest.json` that is not a gallery's (a web app's) below the prefix: the gallery
    does not write into that app's folder."""
    www = tmp_path / "www"
    app = www / "trips" / "2024"
    app.mkdir(parents=True)
    (app / "manifest.json").write_text('{"name": "my app", "icons": []}')
    (app / "index.html").write_text("<p>the app</p>")
    trips = gallery_site(tmp_path, "trips", ["2024"])
    with pytest.raises(GalleryError, match=r"another app's manifest.json is published at"):
        publish(trips, FilePublisher(www), "trips")
    assert (app / "index.html").read_text() == "<p>the app</p>"


# --- nested galleries (S3) ------------------------------------------------------------------


def test_on_s3_a_nested_gallery_is_refused_both_ways(
    tmp_path: Path, s3_server: MotoServer, s3
) -> None:
    def s3_pub():
        return s3_publisher(f"s3://{BUCKET}", endpoint_url=s3_server.endpoint)

    year = gallery_site(tmp_path, "year", ["Day"])
    publish(year, s3_pub(), "trips/2024")
    page = s3.get_object(Bucket=BUCKET, Key="trips/2024/index.html")["Body"].read()
    trips = gallery_site(tmp_path, "trips", ["2024"], seed=5)
    result = run_cli(
        ["publish", f"s3://{BUCKET}/trips", "--site", trips, "--endpoint-url", s3_server.endpoint]
    )
    assert result.exit_code == 1 and f"s3://{BUCKET}/trips/2024 (" in result.output
    # refused before the hosting set-up too: no public statement for trips
    policy = json.loads(s3.get_bucket_policy(Bucket=BUCKET)["Policy"])
    sids = {s["Sid"] for s in policy["Statement"]}
    assert public_read_statement(BUCKET, "trips")["Sid"] not in sids
    assert s3.get_object(Bucket=BUCKET, Key="trips/2024/index.html")["Body"].read() == page
    listed = s3.list_objects_v2(Bucket=BUCKET, Prefix="trips/")["Contents"]
    assert all(item["Key"].startswith("trips/2024/") for item in listed)  # nothing sent

    # and a gallery below one already live at the root
    root = gallery_site(tmp_path, "root", ["Photos"], seed=7)
    publish(root, s3_pub(), "")
    below = gallery_site(tmp_path, "below", [], seed=9)
    with pytest.raises(GalleryError, match=f"the root of s3://{BUCKET}/"):
        publish(below, s3_pub(), "photos")


def test_on_s3_the_neighbour_check_costs_one_listing_per_parent_and_reuses_the_resume_listing(
    source: Path, site: Path, s3_server: MotoServer
) -> None:
    def s3_pub():
        return s3_publisher(f"s3://{BUCKET}", endpoint_url=s3_server.endpoint)

    publish(site, s3_pub(), "a/b")
    pictures.jpeg(source / "a.jpg", (330, 250), taken="2024:01:01 10:00:00")
    build_gallery(source, site)
    mark = s3_server.mark()
    publish(site, s3_pub(), "a/b")
    lists = [str(r) for r in s3_server.requests_since(mark) if r.method == "GET" and r.query]
    # the gallery's own listing (neighbours below, and what an interrupted publish sent),
    # then one per parent folder: the root's and a/'s manifest
    assert sorted(lists) == sorted([
        f"GET /{BUCKET}?list-type=2&prefix=a/b/&encoding-type=url -> 200",
        f"GET /{BUCKET}?list-type=2&prefix=manifest.json&max-keys=1&encoding-type=url -> 200",
        f"GET /{BUCKET}?list-type=2&prefix=a/manifest.json&max-keys=1&encoding-type=url -> 200",
        # after the commit, the bucket root's listing of every gallery (its cover changed)
        f"GET /{BUCKET}?list-type=2&encoding-type=url -> 200",
    ])  # fmt: skip


# --- what a failed publish sent is owned, and deleted when the site lacks it (S3, killed) ---


def picture_keys(s3, name: str) -> set[str]:
    """Every object of the picture ``name`` (its thumbnails and web sizes) in the bucket."""
    listed = s3.list_objects_v2(Bucket=BUCKET, Prefix=PREFIX).get("Contents", [])
    return {item["Key"] for item in listed if f"/{name}." in item["Key"]}


@pytest.mark.parametrize(
    "held",
    [
        Fault("hang", method="PUT", path=f"/{BUCKET}/{PREFIX}/index.html"),  # during the pages
        Fault("hang", method="PUT", path=".jpg", nth=4),  # during the images
    ],
    ids=["during-pages", "during-images"],
)
def test_what_a_killed_publish_sent_is_deleted_when_the_picture_is_withdrawn(
    source: Path, site: Path, s3_server: MotoServer, fault_proxy: FaultProxy, s3, held: Fault
) -> None:
    publish(site, s3_publisher(f"s3://{BUCKET}", endpoint_url=s3_server.endpoint), PREFIX)
    version1 = read_manifest(site)["files"]
    pictures.jpeg(source / "Trip" / "secret.jpg", (290, 220), taken="2024:01:05 10:00:00")
    pictures.jpeg(source / "Trip" / "other.jpg", (250, 220), taken="2024:01:06 10:00:00")
    build_gallery(source, site)
    fault_proxy.plan([held])
    kill_publish_when_held(site, s3_server, fault_proxy)
    sent = picture_keys(s3, "secret") | picture_keys(s3, "other")
    assert sent, "none of the new pictures' files arrived before the kill"
    # withdrawn before the next publish: their objects, never live, go with it
    (source / "Trip" / "secret.jpg").unlink()
    (source / "Trip" / "other.jpg").unlink()
    build_gallery(source, site)
    result = publish(site, s3_publisher(f"s3://{BUCKET}", endpoint_url=s3_server.endpoint), PREFIX)
    assert sent <= {f"{PREFIX}/{p}" for p in result.deleted}
    assert picture_keys(s3, "secret") | picture_keys(s3, "other") == set()
    listed = {i["Key"] for i in s3.list_objects_v2(Bucket=BUCKET, Prefix=PREFIX)["Contents"]}
    assert listed == {f"{PREFIX}/{p}" for p in version1} | {f"{PREFIX}/manifest.json"}


def test_two_killed_publishes_in_a_row_lose_track_of_nothing(
    source: Path, site: Path, s3_server: MotoServer, fault_proxy: FaultProxy, s3
) -> None:
    """The second killed publish carries the first one's record forward in its own mark."""
    publish(site, s3_publisher(f"s3://{BUCKET}", endpoint_url=s3_server.endpoint), PREFIX)
    root_page = Fault("hang", method="PUT", path=f"/{BUCKET}/{PREFIX}/index.html")
    pictures.jpeg(source / "Trip" / "first.jpg", (290, 220), taken="2024:01:05 10:00:00")
    build_gallery(source, site)
    fault_proxy.plan([root_page])
    kill_publish_when_held(site, s3_server, fault_proxy)
    (source / "Trip" / "first.jpg").unlink()
    pictures.jpeg(source / "Trip" / "second.jpg", (250, 220), taken="2024:01:06 10:00:00")
    build_gallery(source, site)
    with FaultProxy(s3_server.endpoint) as second_proxy:  # its events start afresh
        second_proxy.plan([root_page])
        kill_publish_when_held(site, s3_server, second_proxy)
    assert picture_keys(s3, "first") and picture_keys(s3, "second")
    (source / "Trip" / "second.jpg").unlink()
    build_gallery(source, site)
    publish(site, s3_publisher(f"s3://{BUCKET}", endpoint_url=s3_server.endpoint), PREFIX)
    assert picture_keys(s3, "first") | picture_keys(s3, "second") == set()


def test_what_a_failed_file_publish_sent_is_deleted_too(
    source: Path, site: Path, tmp_path: Path
) -> None:
    www = tmp_path / "www"
    publish(site, FilePublisher(www), "photos")
    pictures.jpeg(source / "Trip" / "secret.jpg", (290, 220), taken="2024:01:05 10:00:00")
    build_gallery(source, site)

    class FailingOnPages(FilePublisher):
        def upload(self, key, file, entry, **kw):
            if key.endswith(".html"):
                raise GalleryError("connection lost")
            super().upload(key, file, entry, **kw)

    with pytest.raises(GalleryError, match="connection lost"):
        publish(site, FailingOnPages(www), "photos")
    assert list((www / "photos" / "trip").glob("secret.*"))
    (source / "Trip" / "secret.jpg").unlink()
    build_gallery(source, site)
    publish(site, FilePublisher(www), "photos")
    assert list((www / "photos").rglob("secret.*")) == []
    assert folder_files(www / "photos") == site_files(site)


# --- the live manifest stays whole during a publish, and after a killed one -----------------


def test_the_live_manifest_keeps_its_albums_and_images_while_a_publish_runs_and_after_a_kill(
    source: Path, site: Path, s3_server: MotoServer, fault_proxy: FaultProxy, s3
) -> None:
    publish(site, s3_publisher(f"s3://{BUCKET}", endpoint_url=s3_server.endpoint), PREFIX)
    old = json.loads(s3.get_object(Bucket=BUCKET, Key=f"{PREFIX}/manifest.json")["Body"].read())
    assert old["albums"] and old["files"]
    pictures.jpeg(source / "a.jpg", (330, 250), taken="2024:01:01 10:00:00")
    build_gallery(source, site)
    fault_proxy.plan([Fault("hang", method="PUT", path=f"/{BUCKET}/{PREFIX}/index.html")])
    kill_publish_when_held(site, s3_server, fault_proxy)
    live = json.loads(s3.get_object(Bucket=BUCKET, Key=f"{PREFIX}/manifest.json")["Body"].read())
    assert live.pop("pending")["id"]
    assert live == old  # every field readers rely on: albums, images, files, hosting, ...


def test_a_file_publish_keeps_the_live_manifest_whole_while_it_sends(
    source: Path, site: Path, tmp_path: Path
) -> None:
    www = tmp_path / "www"
    publish(site, FilePublisher(www), "photos")
    old = json.loads((www / "photos" / "manifest.json").read_bytes())
    pictures.jpeg(source / "Trip" / "b.jpg", (300, 200), taken="2024:01:02 10:00:00")
    build_gallery(source, site)
    seen: list[dict] = []

    class Watching(FilePublisher):
        def upload(self, key, file, entry, **kw):
            seen.append(json.loads((www / "photos" / "manifest.json").read_bytes()))
            super().upload(key, file, entry, **kw)

    publish(site, Watching(www), "photos")
    assert seen
    for live in seen:
        assert {k: v for k, v in live.items() if k != "pending"} == old


# --- a page is replaced only if it still is the one the live manifest lists -----------------


def test_a_file_page_changed_meanwhile_is_not_replaced(
    source: Path, site: Path, tmp_path: Path
) -> None:
    """The root page changed under the gallery after the manifest was read (by a writer that
    is not this publish): the bytes are checked again under the lock, and it is not
    overwritten; nothing of this publish goes live."""
    www = tmp_path / "www"
    publish(site, FilePublisher(www), "photos")
    pictures.jpeg(source / "a.jpg", (330, 250), taken="2024:01:01 10:00:00")
    build_gallery(source, site)
    page = www / "photos" / "index.html"

    class Overtaken(FilePublisher):
        def existing(self, entries):
            page.write_text("<p>a newer page</p>")  # after the read, before the uploads
            return super().existing(entries)

    with pytest.raises(GalleryError, match=r"photos/index.html no longer holds the file"):
        publish(site, Overtaken(www), "photos")
    assert page.read_text() == "<p>a newer page</p>"
    assert "pending" in json.loads((www / "photos" / "manifest.json").read_bytes())


def test_on_s3_a_page_missing_from_the_bucket_is_written_again(
    source: Path, site: Path, s3_server: MotoServer, s3
) -> None:
    """Written with If-Match on the MD5 the manifest promises, a page someone deleted is not
    a conflict: there is nothing newer to keep, so it is written (if still absent)."""
    publish(site, s3_publisher(f"s3://{BUCKET}", endpoint_url=s3_server.endpoint), PREFIX)
    s3.delete_object(Bucket=BUCKET, Key=f"{PREFIX}/index.html")
    pictures.jpeg(source / "a.jpg", (330, 250), taken="2024:01:01 10:00:00")
    build_gallery(source, site)
    publish(site, s3_publisher(f"s3://{BUCKET}", endpoint_url=s3_server.endpoint), PREFIX)
    live = s3.get_object(Bucket=BUCKET, Key=f"{PREFIX}/index.html")["Body"].read()
    assert live == (site / "index.html").read_bytes()
