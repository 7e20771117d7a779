"""Deeply nested folders: an album may be up to MAX_DEPTH folders below SOURCE; a deeper one
is skipped and named, never a RecursionError."""

from __future__ import annotations

from pathlib import Path

import pictures
from conftest import gallery, read_manifest

from gallery_builder import manifest
from gallery_builder.model import Album
from gallery_builder.sourcefilter import MAX_DEPTH


def nested(source: Path, depth: int, name: str = "d") -> Path:
    folder = source
    for _ in range(depth):
        folder = folder / name
    return folder


def test_600_nested_folders_are_skipped_and_named(source: Path, out: Path) -> None:
    pictures.jpeg(source / "top.jpg")
    pictures.jpeg(nested(source, 600) / "deep.jpg")
    pictures.jpeg(nested(source, 30) / "middle.jpg")
    result = gallery("build", source, "-o", out)
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    too_deep = "d/" * (MAX_DEPTH + 1)
    assert f"skipped {too_deep}: more than {MAX_DEPTH} folders deep" in result.stderr
    assert "2 pictures in 31 albums: 2 built, 0 reused, 1 skipped" in result.stdout
    images = {i["source"] for i in read_manifest(out)["images"]}
    assert images == {"top.jpg", "d/" * 30 + "middle.jpg"}
    strict = gallery("build", source, "-o", out, "--strict")
    assert strict.returncode == 1 and "--strict" in strict.stderr


def test_an_album_at_the_deepest_level_is_built(source: Path, out: Path) -> None:
    deepest = nested(source, MAX_DEPTH, "Folder")
    pictures.jpeg(deepest / "x.jpg")
    result = gallery("build", source, "-o", out)
    assert result.returncode == 0, result.stderr
    assert "skipped" not in result.stderr
    page = out / "/".join(["folder"] * MAX_DEPTH) / "index.html"
    assert page.read_text().count('href="') > MAX_DEPTH  # a breadcrumb for each level above
    albums, depth = read_manifest(out)["albums"], 0
    while albums[0]["albums"]:
        albums, depth = albums[0]["albums"], depth + 1
    assert depth == MAX_DEPTH
    assert albums[0]["pictures"] == ["/".join(["Folder"] * MAX_DEPTH) + "/x.jpg"]


def test_deep_album_trees_are_walked_without_recursion() -> None:
    # a plugin's album tree may be deeper than the built-in one allows
    root = Album(path="", title="root", source_relpath="")
    album = root
    for depth in range(5000):
        child = Album(path=f"{album.path}/a" if album.path else "a", title=str(depth),
                      source_relpath=str(depth))  # fmt: skip
        album.children.append(child)
        album = child
    assert len(root.walk()) == 5001 and root.picture_count() == 0 and root.earliest is None
    entry = manifest.album_entry(root)
    for _ in range(5000):
        entry = entry["albums"][0]
    assert entry["title"] == "4999"
