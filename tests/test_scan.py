"""Scanning SOURCE: which files become pictures, which are ignored, which are reported."""

from __future__ import annotations

import os
import random
from pathlib import Path

import pictures
import pytest
from conftest import read_manifest, site_files
from gallery_builder.plugins.scan import walk

from gallery_builder.model import Source
from gallery_builder.slugs import name_hash
from gallery_builder.testing import build_gallery, run_cli


def relpaths(sources: list[Source]) -> list[str]:
    return sorted(s.relpath for s in sources)


def built_sources(out: Path) -> list[str]:
    return sorted(image["source"] for image in read_manifest(out)["images"])


def album_tree(album: dict) -> dict:
    """{album path: [its pictures' sources]} with the sub-albums nested."""
    return {
        "pictures": album["pictures"],
        "albums": {child["path"]: album_tree(child) for child in album["albums"]},
    }


def mp4_like(path: Path) -> Path:
    """Bytes shaped like an MP4 (an ISO-BMFF ftyp box), then noise."""
    data = b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom" + random.Random(7).randbytes(4000)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def test_nested_folders_become_nested_albums(source: Path, out: Path) -> None:
    pictures.jpeg(source / "top.jpg")
    pictures.jpeg(source / "Istanbul 2024" / "galata.jpg")
    pictures.png(source / "Istanbul 2024" / "Çay" / "bardak.png")
    pictures.jpeg(source / "Istanbul 2024" / "Çay" / "Akşam" / "late.jpg")
    pictures.jpeg(source / "Ankara" / "kale.jpg")
    (source / "Empty" / "Nothing here").mkdir(parents=True)

    result = build_gallery(source, out)

    assert result.skipped == []
    [root] = read_manifest(out)["albums"]
    assert root["path"] == ""
    assert album_tree(root) == {
        "pictures": ["top.jpg"],
        "albums": {
            "ankara": {"pictures": ["Ankara/kale.jpg"], "albums": {}},
            "istanbul-2024": {
                "pictures": ["Istanbul 2024/galata.jpg"],
                "albums": {
                    "istanbul-2024/cay": {
                        "pictures": ["Istanbul 2024/Çay/bardak.png"],
                        "albums": {
                            "istanbul-2024/cay/aksam": {
                                "pictures": ["Istanbul 2024/Çay/Akşam/late.jpg"],
                                "albums": {},
                            }
                        },
                    }
                },
            },
        },
    }
    for page in ("index.html", "ankara/index.html", "istanbul-2024/cay/aksam/index.html"):
        assert (out / page).is_file()
    assert not (out / "empty").exists()  # a folder without pictures is no album
    images = {i["source"]: i for i in read_manifest(out)["images"]}
    late = images["Istanbul 2024/Çay/Akşam/late.jpg"]
    assert late["album"] == "istanbul-2024/cay/aksam"
    assert all(p.startswith("istanbul-2024/cay/aksam/") for p in late["derivatives"].values())


def test_hidden_files_and_folders_are_ignored(source: Path, out: Path) -> None:
    pictures.jpeg(source / "seen.jpg")
    pictures.jpeg(source / ".hidden.jpg")
    pictures.jpeg(source / ".thumbnails" / "cached.jpg")
    pictures.jpeg(source / "album" / ".trash" / "deleted.jpg")
    pictures.fake(source / "album" / "._seen.jpg")  # macOS resource fork: not a picture
    pictures.jpeg(source / "album" / "kept.jpg")

    assert relpaths(walk(source, [])) == ["album/kept.jpg", "seen.jpg"]
    result = build_gallery(source, out)
    assert result.skipped == []
    assert built_sources(out) == ["album/kept.jpg", "seen.jpg"]


def test_files_that_are_not_pictures_are_ignored_silently(source: Path, out: Path) -> None:
    pictures.jpeg(source / "photo.jpg")
    (source / "notes.txt").write_text("packing list\n", encoding="utf-8")
    (source / "data.csv").write_text("a,b\n1,2\n", encoding="utf-8")
    (source / "README.md").write_text("# Trip\n", encoding="utf-8")
    (source / "album").mkdir()
    (source / "album" / "no-extension").write_bytes(b"just some bytes\n")

    result = build_gallery(source, out)

    assert result.skipped == []
    assert built_sources(out) == ["photo.jpg"]
    cli = run_cli(["build", source, "-o", out.parent / "cli-site", "-j", "1"])
    assert cli.exit_code == 0, cli.output
    assert "1 pictures in 1 albums: 1 built, 0 reused, 0 skipped" in cli.output
    for name in ("notes.txt", "data.csv", "no-extension", "skipped "):
        assert name not in cli.output


def test_a_file_named_like_a_picture_that_is_not_one_is_reported(source: Path, out: Path) -> None:
    pictures.jpeg(source / "photo.jpg")
    pictures.fake(source / "album" / "fake.jpg")
    mp4_like(source / "video.png")

    result = build_gallery(source, out)

    assert dict(result.skipped) == {
        "album/fake.jpg": "not a picture (unknown content)",
        "video.png": "MP4 is not supported yet",  # media, known by its content
    }
    assert built_sources(out) == ["photo.jpg"]


def test_pictures_are_recognised_by_content_not_by_name(source: Path, out: Path) -> None:
    pictures.png(source / "actually-png.jpg")
    pictures.jpeg(source / "scan0001")  # a JPEG with no extension
    pictures.webp(source / "wrong.gif")

    result = build_gallery(source, out)

    assert result.skipped == []
    images = {i["source"]: i for i in read_manifest(out)["images"]}
    assert sorted(images) == ["actually-png.jpg", "scan0001", "wrong.gif"]
    assert (images["actually-png.jpg"]["width"], images["actually-png.jpg"]["height"]) == (160, 120)
    assert (images["scan0001"]["width"], images["scan0001"]["height"]) == (320, 240)
    for image in images.values():
        for path in image["derivatives"].values():
            assert pictures.displayed_red_corner(out / path) == "top-left"


def test_a_symlink_loop_terminates_and_pictures_appear_once(source: Path, out: Path) -> None:
    pictures.jpeg(source / "root.jpg")
    pictures.jpeg(source / "a" / "deep.jpg")
    os.symlink("..", source / "a" / "up")  # a -> its parent: SOURCE
    os.symlink(".", source / "a" / "self")  # a -> a
    os.symlink(source / "a", source / "a" / "again")

    assert relpaths(walk(source, [])) == ["a/deep.jpg", "root.jpg"]
    result = build_gallery(source, out)
    assert result.skipped == []
    assert built_sources(out) == ["a/deep.jpg", "root.jpg"]


def test_symlinks_pointing_outside_the_source_are_not_followed(
    tmp_path: Path, source: Path, out: Path
) -> None:
    outside = tmp_path / "private"
    secret = pictures.jpeg(outside / "secret.jpg")
    pictures.jpeg(outside / "more" / "secret2.jpg")
    pictures.jpeg(source / "public.jpg")
    os.symlink(secret, source / "linked.jpg")
    os.symlink(outside / "more", source / "linked-folder")
    os.symlink(outside, source / "album-link")
    os.symlink(tmp_path, source / "parent-link")

    assert relpaths(walk(source, [])) == ["public.jpg"]
    result = build_gallery(source, out)
    assert result.skipped == []
    assert built_sources(out) == ["public.jpg"]
    assert not any("secret" in name for name in site_files(out))


def test_a_symlink_to_a_picture_inside_the_source_is_included(source: Path, out: Path) -> None:
    pictures.jpeg(source / "2024" / "best.jpg")
    os.symlink(Path("2024") / "best.jpg", source / "favourite.jpg")

    assert relpaths(walk(source, [])) == ["2024/best.jpg", "favourite.jpg"]
    result = build_gallery(source, out)
    assert result.skipped == []
    assert built_sources(out) == ["2024/best.jpg", "favourite.jpg"]


def test_a_folder_reached_through_a_symlink_keeps_its_real_name(source: Path, out: Path) -> None:
    pictures.jpeg(source / "Athens" / "akropolis.jpg")
    pictures.jpeg(source / "Athens" / "Plaka" / "street.jpg")
    os.symlink("Athens", source / "Zorba")  # sorts after the real folder
    os.symlink("Plaka", source / "Athens" / "Zz-plaka")

    assert relpaths(walk(source, [])) == ["Athens/Plaka/street.jpg", "Athens/akropolis.jpg"]
    build_gallery(source, out)
    assert built_sources(out) == ["Athens/Plaka/street.jpg", "Athens/akropolis.jpg"]


def test_a_dangling_symlink_is_ignored(source: Path, out: Path) -> None:
    pictures.jpeg(source / "photo.jpg")
    os.symlink("gone.jpg", source / "dangling.jpg")

    result = build_gallery(source, out)
    assert result.skipped == []
    assert built_sources(out) == ["photo.jpg"]


def test_output_folder_inside_the_source_is_not_scanned(source: Path) -> None:
    pictures.jpeg(source / "photo.jpg")
    pictures.jpeg(source / "album" / "other.jpg")
    site = source / "_site"

    first = run_cli(["build", source, "-o", site, "-j", "1"])
    assert first.exit_code == 0, first.output
    second = run_cli(["build", source, "-o", site, "-j", "1"])
    assert second.exit_code == 0, second.output

    assert built_sources(site) == ["album/other.jpg", "photo.jpg"]
    assert "0 built, 2 reused, 0 skipped" in second.output
    assert not any(name.startswith("site/") for name in site_files(site))
    assert relpaths(walk(source, [site])) == ["album/other.jpg", "photo.jpg"]


def test_output_folder_given_relative_inside_the_source_is_not_scanned(
    source: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pictures.jpeg(source / "photo.jpg")
    monkeypatch.chdir(source)
    for _ in range(2):
        result = run_cli(["build", ".", "-o", "public", "-j", "1"])
        assert result.exit_code == 0, result.output
    assert built_sources(source / "public") == ["photo.jpg"]


def test_unicode_spaces_ampersands_and_markup_in_names(source: Path, out: Path) -> None:
    # '/' cannot be part of a file name on any POSIX system, so the markup is unclosed
    names = [
        "<b>bold<b>.jpg",
        "Çay & <i>simit<i>/İstanbul ılık 🌅.jpg",
        "Çay & <i>simit<i>/a  b   c.jpg",
        "日本/東京 タワー.jpg",
        'Tom\'s "quoted" & más/x=1&y=2 <script>.png',
    ]
    for name in names:
        make = pictures.png if name.endswith(".png") else pictures.jpeg
        make(source / name)

    result = build_gallery(source, out)

    assert result.skipped == []
    manifest = read_manifest(out)
    images = {i["source"]: i for i in manifest["images"]}
    assert sorted(images) == sorted(names)
    for image in images.values():
        for part in [image["album"], image["slug"], *image["derivatives"].values()]:
            assert part.isascii()
            assert not set(part) & set(" &<>\"'=")
        for path in image["derivatives"].values():
            assert (out / path).is_file()
    assert images["<b>bold<b>.jpg"]["slug"] == "b-bold-b"
    assert images["Çay & <i>simit<i>/İstanbul ılık 🌅.jpg"]["album"] == "cay-i-simit-i"
    # no ASCII left: the fallback word and a hash of the name itself
    assert images["日本/東京 タワー.jpg"]["album"] == f"album--{name_hash('日本')}"
    assert images["日本/東京 タワー.jpg"]["slug"] == f"picture--{name_hash('東京 タワー.jpg')}"
    html = {p: d.decode("utf-8") for p, d in site_files(out).items() if p.endswith(".html")}
    for page in html.values():
        for markup in ("<b>bold", "<i>simit", "<script>.png"):
            assert markup not in page  # names are text, never markup
    assert "&lt;b&gt;bold&lt;b&gt;.jpg" in html["index.html"]
    assert "Çay &amp; &lt;i&gt;simit&lt;i&gt;" in html["cay-i-simit-i/index.html"]


@pytest.mark.parametrize("sidecar", ["wing.txt", "wing.jpg.txt"])
def test_caption_sidecar_is_picked_up(source: Path, out: Path, sidecar: str) -> None:
    pictures.jpeg(source / "butterflies" / "wing.jpg")
    (source / "butterflies" / sidecar).write_text("A blue wing, up close.\n", encoding="utf-8")

    [found] = walk(source, [])
    assert found.sidecar == str(source / "butterflies" / sidecar)
    result = build_gallery(source, out)
    assert result.skipped == []
    [image] = read_manifest(out)["images"]
    assert image["caption"] == "A blue wing, up close."
    assert "A blue wing, up close." in (out / "butterflies" / "index.html").read_text()


def test_name_sidecar_wins_over_stem_sidecar(source: Path, out: Path) -> None:
    pictures.jpeg(source / "wing.jpg")
    pictures.png(source / "wing.png")
    (source / "wing.txt").write_text("shared caption", encoding="utf-8")
    (source / "wing.png.txt").write_text("the PNG's own caption", encoding="utf-8")

    build_gallery(source, out)
    captions = {i["source"]: i["caption"] for i in read_manifest(out)["images"]}
    assert captions == {"wing.jpg": "shared caption", "wing.png": "the PNG's own caption"}


def test_sidecar_caption_wins_over_the_exif_description(source: Path, out: Path) -> None:
    pictures.jpeg(source / "a.jpg", description="EXIF words")
    pictures.jpeg(source / "b.jpg", description="EXIF words")
    (source / "a.txt").write_text("Sidecar words\n", encoding="utf-8-sig")  # with a BOM

    build_gallery(source, out)
    captions = {i["source"]: i["caption"] for i in read_manifest(out)["images"]}
    assert captions == {"a.jpg": "Sidecar words", "b.jpg": "EXIF words"}


def test_walk_reports_size_mtime_and_absolute_path(source: Path) -> None:
    picture = pictures.jpeg(source / "sub" / "photo.jpg")
    [found] = walk(source, [])
    stat = picture.stat()
    assert found.relpath == "sub/photo.jpg"
    assert found.album_relpath == "sub"
    assert found.filename == "photo.jpg"
    assert Path(found.path) == picture.resolve()
    assert (found.size, found.mtime_ns) == (stat.st_size, stat.st_mtime_ns)
    assert found.sidecar is None
