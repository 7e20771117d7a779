"""What lets a large site rebuild quickly must never let a missing or changed file pass:
OUT is listed one folder at a time (gallery_builder.out_listing), not a stat() per image."""

from __future__ import annotations

import shutil
from pathlib import Path

import pictures
import pytest
from conftest import read_manifest

from gallery_builder.out_listing import OutListing
from gallery_builder.testing import build_gallery


@pytest.fixture
def album(source: Path) -> Path:
    pictures.jpeg(source / "a.jpg", taken="2024:01:01 10:00:00")
    pictures.jpeg(source / "Sub" / "b.jpg", (300, 200))
    pictures.png(source / "Sub" / "c.png")
    return source


def images_of(out: Path, source_relpath: str) -> set[str]:
    entry = next(i for i in read_manifest(out)["images"] if i["source"] == source_relpath)
    return {p for k, p in entry["derivatives"].items() if k != "thumbnail"}


def test_a_deleted_album_folder_of_out_is_made_again(album: Path, out: Path) -> None:
    build_gallery(album, out)
    sub = images_of(out, "Sub/b.jpg") | images_of(out, "Sub/c.png")
    folder = out / next(iter(sub)).rpartition("/")[0]
    shutil.rmtree(folder)
    result = build_gallery(album, out)
    assert result.made == 2 and result.reused == 1
    assert sub <= set(result.written)
    assert all((out / path).is_file() for path in sub)


def test_an_image_renamed_in_out_is_made_again(album: Path, out: Path) -> None:
    build_gallery(album, out)
    image = sorted(images_of(out, "a.jpg"))[0]
    (out / image).rename(out / (image + ".old"))
    result = build_gallery(album, out)
    assert result.made == 1 and image in result.written
    assert (out / image).is_file()


def test_a_folder_where_an_image_was_is_not_the_image(album: Path, out: Path) -> None:
    build_gallery(album, out)
    image = sorted(images_of(out, "a.jpg"))[0]
    (out / image).unlink()
    (out / image).mkdir()
    listing = OutListing(out)
    assert not listing.has(image)
    assert listing.has("index.html")
    assert not listing.has("no/such/folder.jpg")


def test_breadcrumbs_from_the_index_are_the_albums_above() -> None:
    from gallery_builder.model import Album, Site
    from gallery_builder.rendering import albums_by_path, breadcrumbs

    root = Album("", "Home", "")
    trips = Album("trips", "Trips", "Trips")
    day = Album("trips/day-1", "Day 1", "Trips/Day 1")
    other = Album("trips-2", "Trips 2", "Trips 2")  # a prefix of the name, not a parent
    trips.children.append(day)
    root.children += [trips, other]
    site = Site(name="g", title="G", root=root, pictures=[])
    index = albums_by_path(site)
    assert breadcrumbs(day, site, index) == [root, trips, day] == breadcrumbs(day, site)
    assert breadcrumbs(other, site, index) == [root, other]
    assert breadcrumbs(root, site, index) == [root]
    assert breadcrumbs(None, site, index) == []


def test_the_manifest_files_are_written_as_the_json_encoder_writes_them() -> None:
    import json

    from gallery_builder.manifest import dumps

    entries = {
        "a.jpg": {"md5": "0" * 32, "size": 3, "content_type": "image/jpeg", "cache_control": "x"},
        'b "é".css': {"md5": "f" * 32, "size": 0, "content_type": 'text/"é"', "cache_control": ""},
        "c.jpg": {"md5": "ABC", "size": True, "content_type": "t\n", "cache_control": None},
        "d.jpg": {"size": 1, "md5": "0" * 32, "content_type": "a", "cache_control": "b"},
        "e.jpg": {"md5": "0" * 32, "size": 1.5, "content_type": "a", "cache_control": "b"},
        "f.jpg": {"md5": "0" * 32, "size": 1, "content_type": "a", "cache_control": "b", "x": 1},
    }
    lines = dumps({"format": "f", "files": entries}).decode().splitlines()
    encode = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
    expected = [f"{encode(k)}:{encode(v)}" for k, v in entries.items()]
    assert [line.rstrip(",") for line in lines[3:-2]] == expected


def test_the_fast_key_check_accepts_exactly_the_safe_keys() -> None:
    import random

    from gallery_builder.keys import key_problem
    from gallery_builder.manifest import _SAFE_KEY

    named = ["a/b", "./a", "a/./b", "a/..", "..", ".a", "a..", "a//b", "/a", "a/", "a\\b", "..."]
    alphabet = "ab./\\\x00\x1f\x7f\x9f\xa0\ud800é "
    rng = random.Random(12)
    drawn = ["".join(rng.choice(alphabet) for _ in range(rng.randrange(7))) for _ in range(20000)]
    for key in named + drawn:
        assert (_SAFE_KEY.fullmatch(key) is not None) == (key_problem(key) is None), repr(key)


def test_all_images_are_there_until_one_is_not(album: Path, out: Path) -> None:
    build_gallery(album, out)
    paths = [*sorted(images_of(out, "a.jpg") | images_of(out, "Sub/b.jpg")), "index.html"]
    assert OutListing(out).has_all(paths)
    (out / paths[-2]).unlink()
    assert not OutListing(out).has_all(paths)
    assert not OutListing(out).has_all(["index.html", "gone/folder.jpg"])
    assert OutListing(out).has_all([])
