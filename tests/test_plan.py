"""Planning a publish: the diff between the local and the remote manifest (pure)."""

from __future__ import annotations

import json

import pictures
import pytest
from conftest import read_manifest

from gallery_builder.manifest import ManifestError, read_remote_manifest
from gallery_builder.model import IMMUTABLE, REVALIDATE
from gallery_builder.plan import SCRIPT_UPLOAD, plan_publish
from gallery_builder.testing import build_gallery


def entry(md5: str, immutable: bool = True, content_type: str = "image/webp") -> dict:
    cache = IMMUTABLE if immutable else REVALIDATE
    return {"md5": md5, "size": 1, "content_type": content_type, "cache_control": cache}


def page(md5: str) -> dict:
    return entry(md5, immutable=False, content_type="text/html; charset=utf-8")


def remote_of(files: dict, **extra) -> bytes:
    return json.dumps({"format": "gallery-builder/1", "files": files, **extra}).encode()


def test_a_first_publish_uploads_every_file_but_pages_first_then_pages_deepest_first() -> None:
    local = {
        "index.html": page("a"),
        "trip/index.html": page("b"),
        "trip/day/index.html": page("c"),
        "trip/x.1280.aaaaaaaa.webp": entry("d"),
        "_static/style.bbbbbbbb.css": entry("e", content_type="text/css; charset=utf-8"),
        "error.html": page("f"),
        # an original: not immutable (its name keeps its content's changes), but no page
        "Trip/Day/Deep Original.JPG": entry("g", immutable=False, content_type="image/jpeg"),
    }
    plan = plan_publish(local, read_remote_manifest(None))
    assert [(u.path, u.is_page) for u in plan.uploads] == [
        ("Trip/Day/Deep Original.JPG", False),
        ("_static/style.bbbbbbbb.css", False),
        ("trip/x.1280.aaaaaaaa.webp", False),
        ("trip/day/index.html", True),
        ("trip/index.html", True),
        ("error.html", True),
        ("index.html", True),
    ]
    assert {u.reason for u in plan.uploads} == {"new"} and plan.deletes == ()


def test_an_unchanged_gallery_plans_nothing() -> None:
    local = {"index.html": page("a"), "x.webp": entry("b")}
    plan = plan_publish(local, read_remote_manifest(remote_of(local)))
    assert plan.changes_nothing and plan.kept == ("index.html", "x.webp")
    assert plan.lines() == []


def test_changed_content_and_changed_headers_are_told_apart() -> None:
    remote = {"a.webp": entry("1"), "b.webp": entry("2"), "c.webp": entry("3")}
    local = {
        "a.webp": entry("1"),
        "b.webp": entry("22"),
        "c.webp": entry("3", content_type="image/avif"),
    }
    plan = plan_publish(local, read_remote_manifest(remote_of(remote)))
    assert [(u.path, u.reason, u.bytes_needed) for u in plan.uploads] == [
        ("b.webp", "changed", True),
        ("c.webp", "new headers", False),
    ]


def test_only_what_the_old_manifest_owned_is_deleted() -> None:
    remote = {"old.webp": entry("1"), "kept.webp": entry("2")}
    plan = plan_publish({"kept.webp": entry("2")}, read_remote_manifest(remote_of(remote)))
    assert plan.deletes == ("old.webp",)
    assert plan.lines() == ["delete old.webp (no longer part of the gallery)"]
    assert plan_publish({}, read_remote_manifest(remote_of(remote)), keep_stale=True).deletes == ()


def test_the_original_scripts_flat_manifest_is_understood() -> None:
    wing, moth = "a" * 32, "b" * 32
    flat = json.dumps({"butterflies/wing.jpg": wing, "butterflies/moth.jpg": moth}).encode()
    remote = read_remote_manifest(flat)
    assert remote.legacy and remote.exists and remote.hosting is None
    local = {"butterflies/wing.jpg": entry(wing, content_type="image/jpeg")}
    plan = plan_publish(local, remote)
    # same bytes: no upload of the picture, only its headers (the script set none), if the
    # object the script's manifest lists is still there
    assert [(u.path, u.reason) for u in plan.uploads] == [("butterflies/wing.jpg", SCRIPT_UPLOAD)]
    assert plan.deletes == ("butterflies/moth.jpg",)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"{not json", "is not JSON"),
        (b"[1, 2]", "is not a JSON object"),
        (b'{"format": "gallery-builder/9", "files": {}}', "upgrade gallery-builder"),
        (b'{"format": "gallery-builder/1"}', "has no 'files' table"),
        (b'{"a.jpg": 3}', "is not a gallery's: .* 'a.jpg' maps to a number"),
    ],
)
def test_an_unreadable_remote_manifest_is_a_clear_error(data: bytes, message: str) -> None:
    with pytest.raises(ManifestError, match=message):
        read_remote_manifest(data)


def test_a_rebuilt_site_plans_only_its_changes(source, tmp_path) -> None:
    pictures.jpeg(source / "a.jpg")
    pictures.jpeg(source / "Trip" / "b.jpg")
    build_gallery(source, tmp_path / "site")
    published = (tmp_path / "site" / "manifest.json").read_bytes()
    pictures.jpeg(source / "Trip" / "b.jpg", (300, 200))
    build_gallery(source, tmp_path / "site")
    local = read_manifest(tmp_path / "site")["files"]
    plan = plan_publish(local, read_remote_manifest(published))
    uploaded = [u.path for u in plan.uploads]
    # b's new images, then its album's page, then the root page (b is the album's cover)
    assert all(p.startswith("trip/b.") for p in uploaded[:-2]) and len(uploaded) == 6
    assert uploaded[-2:] == ["trip/index.html", "index.html"]
    assert plan.deletes and all(p.startswith("trip/b.") for p in plan.deletes)
    assert not set(uploaded) & set(plan.deletes)


def test_a_pending_remote_has_its_lasting_names_checked_not_retagged() -> None:
    """An unfinished publish may have replaced a page or an original: even one whose listed
    headers differ is checked for its bytes, never just given new headers."""
    local = {
        "index.html": {"md5": "a", "content_type": "text/html", "cache_control": REVALIDATE},
        "Trip/IMG 1.jpg": {"md5": "b", "content_type": "image/jpeg", "cache_control": REVALIDATE},
        "a.thumb.1234abcd.jpg": {"md5": "c", "content_type": "image/jpeg",
                                 "cache_control": IMMUTABLE},
    }  # fmt: skip
    # as the script's flat manifest lists them: no headers
    listed = {"index.html": {"md5": "a"}, "Trip/IMG 1.jpg": {"md5": "b"},
              "a.thumb.1234abcd.jpg": {"md5": "c"}}  # fmt: skip
    marked = json.dumps({"format": "gallery-builder/1", "files": listed, "pending": {"id": "x"}})
    plan = plan_publish(local, read_remote_manifest(marked.encode()))
    reasons = {u.path: u.reason for u in plan.uploads}
    assert reasons == {
        "index.html": "unverified",
        "Trip/IMG 1.jpg": "unverified",
        # a content-named file cannot have changed; but without headers listed (a killed
        # migration from the script), it is copied in place only if it is there, else sent
        "a.thumb.1234abcd.jpg": SCRIPT_UPLOAD,
    }
    assert all(u.bytes_needed for u in plan.uploads if u.reason == "unverified")


def test_what_an_unfinished_publish_was_creating_is_owned_and_deleted_if_gone() -> None:
    """``pending.creates`` names keys a failed publish may have sent: deleted when the site
    does not have them (even with keep_stale: they were never live), kept when it does."""
    old = {"index.html": page("a"), "gone.jpg": entry("g")}
    marked = remote_of(old, pending={"id": "x", "creates": ["secret.jpg", "kept.jpg"]})
    local = {"index.html": page("a"), "kept.jpg": entry("k")}
    plan = plan_publish(local, read_remote_manifest(marked))
    assert plan.deletes == ("gone.jpg", "secret.jpg")
    assert [u.path for u in plan.uploads if u.reason == "new"] == ["kept.jpg"]
    kept = plan_publish(local, read_remote_manifest(marked), keep_stale=True)
    assert kept.deletes == ("secret.jpg",)


@pytest.mark.parametrize(
    "creates",
    [["../outside.jpg"], ["/abs.jpg"], ["a//b.jpg"], ["./a.jpg"], ["a\\b.jpg"], ["a\x00b"],
     ["x/"], [""], "a.jpg", [1], {"a": 1}],
)  # fmt: skip
def test_an_unsafe_pending_record_is_refused_and_nothing_is_deleted(creates) -> None:
    marked = remote_of({}, pending={"id": "x", "creates": creates})
    with pytest.raises(ManifestError, match=r"pending\.creates"):
        read_remote_manifest(marked)


def test_an_older_pending_mark_names_nothing_to_create() -> None:
    state = read_remote_manifest(remote_of({"a.jpg": entry("a")}, pending=True))
    assert state.pending and state.pending_creates == ()
