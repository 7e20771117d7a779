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
