"""Album descriptions: an ``index.md`` (Markdown) or ``album.txt`` in the album's folder."""

from __future__ import annotations

import os
from pathlib import Path

import pictures
import pytest
from conftest import gallery

from gallery_builder.albumtext import MAX_BYTES, album_folders, read_album_text
from gallery_builder.testing import build_gallery


@pytest.fixture
def trip(source: Path) -> Path:
    pictures.jpeg(source / "a.jpg")
    pictures.jpeg(source / "Trip" / "b.jpg")
    return source / "Trip"


def page(out: Path, album: str = "trip") -> str:
    return (out / album / "index.html" if album else out / "index.html").read_text()


def test_markdown_becomes_the_albums_description(trip: Path, out: Path) -> None:
    (trip / "index.md").write_text(
        "Ten days by **train**, from [Vienna](https://example.org/vienna) to the sea.\n\n"
        "- Day 1\n- Day 2\n",
        encoding="utf-8",
    )
    build_gallery(trip.parent, out)
    html = page(out)
    assert '<div class="description"><p>Ten days by <strong>train</strong>, from ' in html
    assert '<a href="https://example.org/vienna">Vienna</a>' in html
    assert "<li>Day 1</li>" in html
    # meta description: the plain text
    plain = "Ten days by train, from Vienna to the sea. Day 1 Day 2"
    assert f'<meta name="description" content="{plain}' in html


def test_plain_text_keeps_its_lines_and_is_escaped(trip: Path, out: Path) -> None:
    (trip / "album.txt").write_text("Line one & <b>two</b>\nLine three\n", encoding="utf-8")
    build_gallery(trip.parent, out)
    html = page(out)
    assert '<p class="description plain">Line one &amp; &lt;b&gt;two&lt;/b&gt;\nLine three</p>' in (
        html
    )


def test_markdown_cannot_carry_html_or_script_links(trip: Path, out: Path) -> None:
    (trip / "index.md").write_text(
        '<script>alert(1)</script>\n\n[click](javascript:alert(1)) <img src=x onerror="x()">\n'
    )
    build_gallery(trip.parent, out)
    html = page(out)
    assert "<script>alert" not in html and "<img src=x" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert 'href="javascript:' not in html


def test_the_root_album_reads_the_source_folders_file(trip: Path, out: Path) -> None:
    (trip.parent / "index.md").write_text("# Welcome\n\nAll our trips.\n")
    build_gallery(trip.parent, out)
    assert "<h1>Welcome</h1>" in page(out, "") and "All our trips." in page(out, "")
    assert 'class="description"' not in page(out)


def test_index_md_wins_over_album_txt(trip: Path, out: Path) -> None:
    (trip / "index.md").write_text("from markdown\n")
    (trip / "album.txt").write_text("from text\n")
    build_gallery(trip.parent, out)
    assert "from markdown" in page(out) and "from text" not in page(out)


def test_adding_or_editing_a_description_rebuilds_the_page(trip: Path, out: Path) -> None:
    build_gallery(trip.parent, out)
    assert build_gallery(trip.parent, out).written == []  # a no-op
    (trip / "album.txt").write_text("first words\n")
    result = build_gallery(trip.parent, out)
    assert "trip/index.html" in result.written and "first words" in page(out)
    assert build_gallery(trip.parent, out).written == []
    (trip / "album.txt").write_text("second words, longer\n")
    build_gallery(trip.parent, out)
    assert "second words" in page(out)
    (trip / "album.txt").unlink()
    build_gallery(trip.parent, out)
    assert "second words" not in page(out) and 'class="description' not in page(out)


def test_a_file_outside_the_source_or_not_regular_is_never_read(
    trip: Path, out: Path, tmp_path: Path
) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("do not publish me")
    (trip / "album.txt").symlink_to(secret)
    os.mkfifo(trip.parent / "album.txt")  # would block the build if opened
    run = gallery("build", trip.parent, "-o", out, timeout=60)
    assert run.returncode == 0, run.stderr
    assert "do not publish me" not in page(out) and 'class="description' not in page(out, "")


def test_an_unusable_description_is_named_and_the_build_goes_on(trip: Path, out: Path) -> None:
    (trip / "album.txt").write_bytes(b"x" * (MAX_BYTES + 1))
    run = gallery("build", trip.parent, "-o", out)
    assert run.returncode == 0
    assert "album description Trip/album.txt not used: longer than 64 KiB" in run.stderr
    assert 'class="description' not in page(out)


def test_undecodable_bytes_do_not_stop_the_build(tmp_path: Path) -> None:
    path = tmp_path / "album.txt"
    path.write_bytes("Caf\u00e9 ".encode() + b"\xff\xfe")
    assert read_album_text(path).text.startswith("Café ")


def test_album_folders_are_every_folder_with_its_ancestors() -> None:
    assert album_folders(["a.jpg", "x/y/z/b.jpg", "x/c.jpg"]) == {"", "x", "x/y", "x/y/z"}


def test_an_unreadable_description_is_tried_again(
    trip: Path, out: Path, unprivileged: list[str]
) -> None:
    (trip / "album.txt").write_text("now readable\n")
    (trip / "album.txt").chmod(0)
    out.mkdir()
    out.chmod(0o777)
    first = gallery("build", trip.parent, "-o", out, prefix=unprivileged)
    assert first.returncode == 0 and "album description Trip/album.txt not used" in first.stderr
    (trip / "album.txt").chmod(0o644)
    again = gallery("build", trip.parent, "-o", out, prefix=unprivileged)
    assert again.returncode == 0, again.stderr
    assert "now readable" in page(out)
