"""A read-only output folder: a build with nothing to do succeeds without writing; a build with
changes fails at once, naming what cannot be written and why. Run subject to file permissions
(the ``unprivileged`` fixture), since root ignores them."""

from __future__ import annotations

import os
from pathlib import Path

import pictures
import pytest
from conftest import gallery

from gallery_builder.testing import build_gallery


def everything_in(out: Path) -> dict[str, bytes | None]:
    return {
        p.relative_to(out).as_posix(): (p.read_bytes() if p.is_file() else None)
        for p in sorted(out.rglob("*"))
    }


def chmod_tree(folder: Path, writable: bool) -> None:
    for path in [folder, *folder.rglob("*")]:
        mode = path.stat().st_mode
        path.chmod(mode | 0o200 if writable else mode & ~0o222)


@pytest.fixture
def built(source: Path, out: Path) -> Path:
    pictures.jpeg(source / "a.jpg", taken="2024:01:01 10:00:00")
    pictures.jpeg(source / "Trip" / "b.jpg", taken="2024:01:02 10:00:00")
    build_gallery(source, out)
    yield out
    chmod_tree(out, writable=True)


def test_a_noop_build_of_a_read_only_output_succeeds_without_writing(
    source: Path, built: Path, unprivileged: list[str]
) -> None:
    chmod_tree(built, writable=False)
    before = everything_in(built)
    result = gallery("build", source, "-o", built, prefix=unprivileged)
    assert result.returncode == 0, result.stderr
    assert "0 files written" in result.stdout
    assert everything_in(built) == before


@pytest.mark.parametrize(
    "change",
    [
        lambda source: pictures.jpeg(source / "c.jpg"),  # images to make
        lambda source: (source / "a.txt").write_text("a caption"),  # a page to write
        lambda source: (source / "Trip" / "b.jpg").unlink(),  # files to remove
    ],
    ids=["new picture", "new caption", "removed picture"],
)
def test_a_build_with_changes_into_a_read_only_output_says_what_cannot_be_written(
    source: Path, built: Path, unprivileged: list[str], change
) -> None:
    chmod_tree(built, writable=False)
    before = everything_in(built)
    change(source)
    result = gallery("build", source, "-o", built, prefix=unprivileged)
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert lines == [
        f"Error: cannot write into {built}: permission denied, and this build has changes to "
        f"write; make the output folder writable (chmod -R u+w '{built}') or choose another "
        "one (-o)"
    ]
    assert everything_in(built) == before


def test_a_read_only_album_folder_is_named(
    source: Path, built: Path, unprivileged: list[str]
) -> None:
    trip = built / "trip"
    trip.chmod(trip.stat().st_mode & ~0o222)
    pictures.jpeg(source / "Trip" / "c.jpg")
    result = gallery("build", source, "-o", built, prefix=unprivileged)
    assert result.returncode == 1
    error = result.stderr.strip().splitlines()[-1]
    assert error.startswith(f"Error: cannot write {trip}{os.sep}c.") and "Traceback" not in error
    assert error.endswith(f"Permission denied; make {trip} writable, or choose another "
                          "output folder (-o)")  # fmt: skip


def test_a_stale_file_in_a_read_only_folder_is_named(
    source: Path, built: Path, unprivileged: list[str]
) -> None:
    trip = built / "trip"
    trip.chmod(trip.stat().st_mode & ~0o222)
    (source / "Trip" / "b.jpg").unlink()  # its images in trip/ must go
    result = gallery("build", source, "-o", built, prefix=unprivileged)
    assert result.returncode == 1
    error = result.stderr.strip().splitlines()[-1]
    assert error.startswith(f"Error: {trip}{os.sep}") and "Permission denied" in error
    assert error.endswith("make its folder writable, or choose another output folder (-o)")
