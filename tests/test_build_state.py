"""A damaged build state (``OUT/.gallery/state.sqlite``) is only a cache lost: the next build is
a full one, and succeeds."""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Callable
from pathlib import Path

import pictures
import pytest
from conftest import gallery, site_files

from gallery_builder.testing import build_gallery


def truncated(path: Path) -> None:
    with open(path, "r+b") as f:
        f.truncate(os.path.getsize(path) // 2)


def random_bytes(path: Path) -> None:
    path.write_bytes(os.urandom(8192))


def zero_length(path: Path) -> None:
    path.write_bytes(b"")


def a_folder(path: Path) -> None:
    path.unlink()
    (path / "inside").mkdir(parents=True)


def sqlite_of(statements: list[str]) -> Callable[[Path], None]:
    def damage(path: Path) -> None:
        db = sqlite3.connect(path)
        with db:
            for statement in statements:
                db.execute(statement)
        db.close()

    return damage


DAMAGES = {
    "truncated": truncated,
    "random bytes": random_bytes,
    "zero length": zero_length,
    "a folder": a_folder,
    "other tables": sqlite_of(
        ["DROP TABLE sources", "DROP TABLE outputs", "CREATE TABLE other (x)"]
    ),
    "other columns": sqlite_of(
        ["DROP TABLE outputs", "CREATE TABLE outputs (path)", "INSERT INTO outputs VALUES ('x')"]
    ),
    "wrong types": sqlite_of(["UPDATE outputs SET size = 'big', md5 = 5"]),
    "null values": sqlite_of(["UPDATE sources SET relpath = NULL, size = NULL"]),
    "wrong meta": sqlite_of(["INSERT INTO meta VALUES (1, x'00ff')"]),
    "older version": sqlite_of(["PRAGMA user_version = 1"]),
    "removed": lambda path: path.unlink(),
    "damaged metadata": sqlite_of(["UPDATE sources SET metadata = '{\"width\": [1'"]),
    "metadata of other fields": sqlite_of(["UPDATE sources SET metadata = '{\"x\": 1}'"]),
}


@pytest.fixture
def album(source: Path) -> Path:
    pictures.jpeg(source / "a.jpg", taken="2024:01:01 10:00:00")
    pictures.png(source / "Trip" / "b.png")
    return source


@pytest.mark.parametrize("damage", DAMAGES.values(), ids=DAMAGES.keys())
def test_a_damaged_state_costs_a_full_build(
    album: Path, out: Path, tmp_path: Path, damage: Callable[[Path], None]
) -> None:
    build_gallery(album, out)
    (out / "CNAME").write_text("photos.example.org")  # not the build's: stays
    damage(out / ".gallery" / "state.sqlite")
    pictures.jpeg(album / "Trip" / "c.jpg")  # a change: the build cannot stop early
    (album / "Trip" / "b.png").unlink()  # its images, written before, must go
    result = gallery("build", album, "-o", out)
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr and "Error" not in result.stderr
    clean = tmp_path / "clean"
    build_gallery(album, clean)
    (clean / "CNAME").write_text("photos.example.org")
    assert site_files(out) == site_files(clean)
    # and the state is whole again: the next build has nothing to do
    again = build_gallery(album, out)
    assert again.written == [] and again.made == 0


def test_damaged_metadata_in_the_state_is_read_again_from_the_picture(
    album: Path, out: Path, tmp_path: Path
) -> None:
    build_gallery(album, out)
    sqlite_of(['UPDATE sources SET metadata = \'{"width": "wide", "height": 1}\''])(
        out / ".gallery" / "state.sqlite"
    )
    pictures.jpeg(album / "Trip" / "c.jpg")  # a build with work to do, a.jpg unchanged
    result = gallery("build", album, "-o", out)
    assert result.returncode == 0, result.stderr
    clean = tmp_path / "clean"
    build_gallery(album, clean)
    assert site_files(out) == site_files(clean)


JOURNALS = {
    "random bytes": lambda path: path.write_bytes(os.urandom(4096)),
    "a folder": lambda path: (path / "inside").mkdir(parents=True),
    "paths out of the site": lambda path: path.write_text(
        '"../outside.txt"\n"/etc/hostname"\n".gallery/state.sqlite"\n"a/../../outside.txt"\n'
        '"a\\\\..\\\\..\\\\outside.txt"\n""\n"."\n5\n["x"]\n'
    ),
}


@pytest.mark.parametrize("damage", JOURNALS.values(), ids=JOURNALS.keys())
def test_a_damaged_journal_removes_nothing_outside_the_site(
    album: Path, out: Path, tmp_path: Path, damage: Callable[[Path], None]
) -> None:
    build_gallery(album, out)
    outside = tmp_path / "outside.txt"
    outside.write_text("not the site's")
    damage(out / ".gallery" / "journal")
    result = gallery("build", album, "-o", out)
    assert result.returncode == 0, result.stderr
    assert outside.read_text() == "not the site's"
    clean = tmp_path / "clean"
    build_gallery(album, clean)
    assert site_files(out) == site_files(clean)
    assert build_gallery(album, out).written == []  # the state is whole
