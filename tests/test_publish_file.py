"""The publish protocol, through the file:// publisher: a folder laid out like the bucket.

A recording wrapper around the real publisher notes each operation, to check their order and
count; every byte really moves."""

from __future__ import annotations

import contextlib
import hashlib
import json
from pathlib import Path

import pictures
import pytest
from conftest import read_manifest, site_files
from gallery_builder.plugins.file_publisher import FilePublisher, file_publisher

from gallery_builder import hookimpl
from gallery_builder.errors import GalleryError
from gallery_builder.publishing import PublishConflict, publish
from gallery_builder.testing import build_gallery, run_cli


class Recording(FilePublisher):
    """The real file publisher, noting each operation it performs."""

    def __init__(self, root: Path):
        super().__init__(root)
        self.log: list[tuple[str, str]] = []

    def read(self, key):
        self.log.append(("read", key))
        return super().read(key)

    def upload(self, key, file, entry, **kw):
        self.log.append(("upload", key))
        super().upload(key, file, entry, **kw)

    def commit(self, key, data, base_etag):
        self.log.append(("commit", key))
        return super().commit(key, data, base_etag)

    def delete(self, keys):
        self.log += [("delete", key) for key in keys]
        super().delete(keys)

    def writes(self) -> list[tuple[str, str]]:
        return [entry for entry in self.log if entry[0] != "read"]


@pytest.fixture
def target(tmp_path: Path) -> Path:
    return tmp_path / "www"


def published(target: Path, prefix: str = "photos") -> dict[str, bytes]:
    return {
        path: data
        for path, data in site_files(target / prefix).items()
        if not path.endswith(".gallery-publish.lock")
    }


def test_a_first_publish_makes_the_target_equal_the_site(site: Path, target: Path) -> None:
    result = run_cli(["publish", target.as_uri(), "--site", site])
    assert result.exit_code == 0, result.output
    assert published(target) == site_files(site)
    assert f"gallery: {target.as_uri()}/photos/index.html" in result.output


def test_the_manifest_is_written_last_and_pages_after_their_images(site: Path, target: Path):
    publisher = Recording(target)
    publish(site, publisher, "photos")
    # the gallery's writes (the bucket root's come after: tests/test_bucket_root.py)
    gallery = [(op, key) for op, key in publisher.writes() if key.startswith("photos/")]
    writes = [key for op, key in gallery]
    assert writes[-1] == "photos/manifest.json"
    assert gallery[-1][0] == "commit"
    pages = [k for k in writes if k.endswith(".html")]
    assert writes[-1 - len(pages) : -1] == pages  # all pages after all images
    assert pages.index("photos/trip/day/index.html") < pages.index("photos/trip/index.html")
    assert pages.index("photos/trip/index.html") < pages.index("photos/index.html")


def test_a_noop_publish_sends_one_read_and_no_write(site: Path, target: Path) -> None:
    publish(site, FilePublisher(target), "photos")
    publisher = Recording(target)
    result = publish(site, publisher, "photos")
    assert publisher.log == [("read", "photos/manifest.json")]
    assert not result.committed and result.summary().endswith("up to date, nothing sent")


def test_one_changed_picture_sends_only_its_files_pages_and_manifest(
    source: Path, site: Path, target: Path
) -> None:
    publish(site, FilePublisher(target), "photos")
    old = {p for p in read_manifest(site)["files"] if p.startswith("trip/b.")}
    pictures.jpeg(source / "Trip" / "b.jpg", (300, 200), taken="2024:01:02 10:00:00")
    build_gallery(source, site)
    new = {p for p in read_manifest(site)["files"] if p.startswith("trip/b.")}
    publisher = Recording(target)
    publish(site, publisher, "photos")
    uploads = {k.removeprefix("photos/") for op, k in publisher.writes() if op == "upload"}
    assert uploads == new | {"trip/index.html", "index.html"}
    deletes = {k.removeprefix("photos/") for op, k in publisher.writes() if op == "delete"}
    assert deletes == old
    # deletes come after the commit: the old pages linked to them until then
    ops = [op for op, _ in publisher.writes()]
    assert ops.index("commit") < ops.index("delete")
    assert published(target) == site_files(site)


def test_what_the_gallery_did_not_write_survives(site: Path, target: Path) -> None:
    (target / "other").mkdir(parents=True)
    (target / "other" / "page.html").write_text("someone else's")
    (target / "photos").mkdir()
    (target / "photos" / "notes.txt").write_text("mine")
    publish(site, FilePublisher(target), "photos")
    for path in read_manifest(site)["files"]:
        (site / path).unlink() if path.startswith("trip/") else None
    manifest = read_manifest(site)
    manifest["files"] = {p: e for p, e in manifest["files"].items() if not p.startswith("trip/")}
    (site / "manifest.json").write_text(json.dumps(manifest))
    publish(site, FilePublisher(target), "photos")
    assert (target / "other" / "page.html").read_text() == "someone else's"
    assert (target / "photos" / "notes.txt").read_text() == "mine"
    assert not (target / "photos" / "trip").exists()  # the gallery's own stale files went


def test_keep_stale_deletes_nothing(source: Path, site: Path, target: Path) -> None:
    publish(site, FilePublisher(target), "photos")
    (source / "a.jpg").unlink()
    build_gallery(source, site)
    publisher = Recording(target)
    result = publish(site, publisher, "photos", keep_stale=True)
    assert result.deleted == [] and not any(op == "delete" for op, _ in publisher.log)


def test_a_dry_run_prints_the_plan_and_writes_nothing(site: Path, target: Path) -> None:
    result = run_cli(["publish", target.as_uri(), "--site", site, "--dry-run"])
    assert result.exit_code == 0
    assert "upload index.html (new)" in result.output
    assert "nothing sent" in result.output
    assert not target.exists()


def test_the_prefix_defaults_to_the_gallery_name_and_can_be_set(site: Path, target: Path):
    args = ["publish", target.as_uri(), "--site", site, "-d", "constantinople"]
    assert run_cli(args).exit_code == 0
    assert (target / "constantinople" / "index.html").is_file()
    assert not (target / "photos").exists()


def test_an_interrupted_publish_resumes_without_sending_again(site: Path, target: Path) -> None:
    class Interrupted(Recording):
        def upload(self, key, file, entry, **kw):
            if sum(op == "upload" for op, _ in self.log) == 5:
                raise KeyboardInterrupt
            super().upload(key, file, entry, **kw)

    with pytest.raises(KeyboardInterrupt):
        publish(site, Interrupted(target), "photos", workers=1)
    # nothing went live: the manifest lists no file, only what the publish was sending
    live = json.loads((target / "photos" / "manifest.json").read_bytes())
    assert live["files"] == {}
    assert live["pending"]["creates"] == sorted(read_manifest(site)["files"])
    again = Recording(target)
    result = publish(site, again, "photos")
    assert len(result.resumed) == 5
    sent = {k for op, k in again.log if op == "upload"}
    assert not sent & {f"photos/{p}" for p in result.resumed}
    assert published(target) == site_files(site)


def test_a_publish_that_lost_the_race_is_refused_and_the_winner_stays_whole(
    source: Path, site: Path, target: Path, tmp_path: Path
) -> None:
    publish(site, FilePublisher(target), "photos")
    other_site = tmp_path / "other-site"
    pictures.jpeg(source / "new.jpg")
    build_gallery(source, other_site)

    class Slow(FilePublisher):
        def lease(self, prefix):
            publish(other_site, FilePublisher(target), "photos")  # wins while we prepare
            return super().lease(prefix)

    pictures.jpeg(source / "newer.jpg")
    build_gallery(source, site)
    with pytest.raises(PublishConflict, match="another publish changed"):
        publish(site, Slow(target), "photos")
    assert (target / "photos" / "manifest.json").read_bytes() == (
        other_site / "manifest.json"
    ).read_bytes()
    live = json.loads((target / "photos" / "manifest.json").read_text())
    for path in live["files"]:
        assert (target / "photos" / path).is_file(), path


def test_an_overlapping_publish_is_refused_while_one_runs(site: Path, target: Path) -> None:
    class Meddling(FilePublisher):
        def upload(self, key, file, entry, **kw):
            if key.startswith("photos/"):  # not the bucket root's, written after the commit
                with pytest.raises(PublishConflict, match="another publish is writing"):
                    publish(site, FilePublisher(target), "photos")
            super().upload(key, file, entry, **kw)

    publish(site, Meddling(target), "photos", workers=1)
    assert published(target) == site_files(site)


def test_a_retried_commit_that_finds_its_own_write_succeeds(site: Path, target: Path) -> None:
    class LostAnswer(FilePublisher):
        def commit(self, key, data, base_etag):
            super().commit(key, data, base_etag)  # it landed, but the answer was lost:
            raise PublishConflict("precondition failed")  # the retry sees a changed ETag

    result = publish(site, LostAnswer(target), "photos")
    assert result.committed and published(target) == site_files(site)


def test_errors_are_messages(site: Path, target: Path, tmp_path: Path) -> None:
    assert (
        "no publisher for 'ftp://' (installed: file://"
        in run_cli(["publish", "ftp://host/x", "--site", site]).output
    )
    missing = run_cli(["publish", target.as_uri(), "--site", tmp_path / "nothing"])
    assert missing.exit_code == 1 and "build the site first" in missing.output
    assert run_cli(["publish", "file://relative/path", "--site", site]).exit_code == 2
    (target / "photos").mkdir(parents=True)
    (target / "photos" / "manifest.json").write_text("{broken")
    broken = run_cli(["publish", target.as_uri(), "--site", site])
    assert broken.exit_code == 1 and "is not JSON" in broken.output
    with pytest.raises(GalleryError):
        file_publisher("file://host/x")


def test_the_original_scripts_bucket_is_taken_over(site: Path, target: Path) -> None:
    (target / "photos").mkdir(parents=True)
    (target / "photos" / "old.jpg").write_bytes(b"uploaded by the script")
    (target / "photos" / "manifest.json").write_text(json.dumps({"old.jpg": "0" * 32}))
    publish(site, FilePublisher(target), "photos")
    assert not (target / "photos" / "old.jpg").exists()  # it owned it; the gallery replaces it
    assert read_manifest(target / "photos")["format"] == "gallery-builder/1"


def test_publishing_elsewhere_than_the_error_page_expects_warns(
    source: Path, site: Path, target: Path
) -> None:
    result = run_cli(["publish", target.as_uri(), "--site", site])
    assert result.exit_code == 0 and "warning" not in result.stderr  # built for /photos/
    moved = run_cli(["publish", target.as_uri(), "--site", site, "-d", "trips/2024"])
    assert moved.exit_code == 0
    assert (
        "warning: the site was built to be served at /photos/ but goes to /trips/2024/"
        in moved.stderr
    )
    assert 'set [gallery] base_url = "/trips/2024/" and build again' in moved.stderr
    (source / "gallery.toml").write_text('[gallery]\nbase_url = "/trips/2024/"\n')
    build_gallery(source, site)
    again = run_cli(["publish", target.as_uri(), "--site", site, "-d", "trips/2024"])
    assert again.exit_code == 0 and "warning" not in again.stderr
    error = (target / "trips" / "2024" / "error.html").read_text()
    assert 'href="/trips/2024/_static/style.' in error


def test_an_escaped_base_url_matches_its_prefix(source: Path, site: Path, target: Path) -> None:
    (source / "gallery.toml").write_text('[gallery]\nbase_url = "/my%20trips/"\n')
    build_gallery(source, site)
    result = run_cli(["publish", target.as_uri(), "--site", site, "-d", "my trips"])
    assert result.exit_code == 0 and "warning" not in result.stderr
    other = run_cli(["publish", target.as_uri(), "--site", site, "-d", "other trips"])
    assert 'set [gallery] base_url = "/other%20trips/"' in other.stderr


class MemoryPublisher:
    """A third-party publisher with only the protocol's required methods (no url)."""

    def __init__(self, target: str, **options: object) -> None:
        self.location = target.rstrip("/") + "/"
        self.options = options
        self.objects: dict[str, bytes] = {}

    def read(self, key):
        data = self.objects.get(key)
        return None if data is None else (data, hashlib.md5(data).hexdigest())

    def existing(self, entries):
        return {k for k, e in entries.items() if k in self.objects
                and hashlib.md5(self.objects[k]).hexdigest() == e["md5"]}  # fmt: skip

    def upload(self, key, file, entry, **kw):
        self.objects[key] = file.read_bytes()

    def retag(self, key, entry, **kw):
        pass

    def commit(self, key, data, base_etag):
        self.objects[key] = data
        return hashlib.md5(data).hexdigest()

    def delete(self, keys):
        for key in keys:
            self.objects.pop(key, None)

    @contextlib.contextmanager
    def lease(self, prefix):
        yield


def test_a_third_party_publisher_needs_only_the_protocol(site: Path) -> None:
    made: list[MemoryPublisher] = []

    class Plugin:
        @hookimpl
        def gallery_publishers(self):
            def factory(target: str, **options: object) -> MemoryPublisher:
                made.append(MemoryPublisher(target, **options))
                return made[-1]

            return {"mem": factory}

    result = run_cli(["publish", "mem://box", "--site", site, "-v"], Plugin())
    assert result.exit_code == 0, result.output
    (publisher,) = made
    assert publisher.options == {}  # it declares no options: it is given none
    assert "uploaded mem://box/photos/index.html" in result.output
    assert "manifest: mem://box/photos/manifest.json" in result.output
    assert set(publisher.objects) == {f"photos/{p}" for p in read_manifest(site)["files"]} | {
        "photos/manifest.json"
    }


def test_two_publishes_marking_the_same_base_are_not_taken_for_one(
    source: Path, site: Path, target: Path, tmp_path: Path
) -> None:
    """P and Q read the same live manifest. P marks it pending, replaces a page and fails; Q
    then marks it too: Q must see that the manifest changed, not take P's mark for its own."""
    run_cli(["publish", target.as_uri(), "--site", site])
    pictures.jpeg(source / "Trip" / "b.jpg", (300, 200), taken="2024:01:02 10:00:00")
    p_site = tmp_path / "p-site"
    build_gallery(source, p_site)
    pictures.jpeg(source / "Trip" / "b.jpg", (310, 210), taken="2024:01:02 10:00:00")
    build_gallery(source, site)

    class FailingOnRoot(FilePublisher):
        def upload(self, key, file, entry, **kw):
            if key == "photos/index.html":
                raise GalleryError("connection lost")
            super().upload(key, file, entry, **kw)

    class LateQ(FilePublisher):
        @contextlib.contextmanager
        def lease(self, prefix):
            with pytest.raises(GalleryError, match="connection lost"):  # P, in between
                publish(p_site, FailingOnRoot(target), "photos")
            with super().lease(prefix):
                yield

    with pytest.raises(PublishConflict, match="another publish changed"):
        publish(site, LateQ(target), "photos")
    live = json.loads((target / "photos" / "manifest.json").read_bytes())
    assert live.get("pending")  # P's mark stays: the next publish checks the pages
    result = publish(site, FilePublisher(target), "photos")
    assert result.committed
    live_files = site_files(target / "photos")
    # every file of the site is live as built (P's images under new names stay, unowned)
    assert {p: live_files.get(p) for p in site_files(site)} == site_files(site)
