"""The two file-safety rules, spelt once (gallery_builder/filesafety.py): inside, atomic."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from gallery_builder.filesafety import is_below, resolves_inside, temporary_path, write_atomic


def test_a_sibling_whose_name_starts_alike_is_not_below() -> None:
    assert is_below("/srv/photos", "/srv/photos")
    assert is_below("/srv/photos/a.jpg", "/srv/photos/")
    assert not is_below("/srv/photos2/a.jpg", "/srv/photos")
    assert not is_below("/srv", "/srv/photos")


def test_a_link_out_of_the_folder_does_not_resolve_inside(tmp_path: Path) -> None:
    inside, outside = tmp_path / "source", tmp_path / "elsewhere"
    inside.mkdir()
    outside.mkdir()
    (outside / "secret.jpg").write_bytes(b"x")
    (inside / "link.jpg").symlink_to(outside / "secret.jpg")
    (inside / "real.jpg").write_bytes(b"y")
    assert resolves_inside(inside / "real.jpg", inside)
    assert not resolves_inside(inside / "link.jpg", inside)


def test_a_failed_write_leaves_the_old_file_and_no_temporary_one(tmp_path: Path) -> None:
    target = tmp_path / "page.html"
    write_atomic(target, b"old")

    with pytest.raises(TypeError):
        write_atomic(target, "not bytes")  # type: ignore[arg-type]
    assert target.read_bytes() == b"old"
    assert os.listdir(tmp_path) == ["page.html"]


def test_a_long_name_gets_a_temporary_name_a_file_system_takes(tmp_path: Path) -> None:
    target = tmp_path / ("é" * 120 + ".html")  # 245 bytes: with ".<pid>.tmp" over 255
    assert len(os.fsencode(temporary_path(target).name)) <= 255
    write_atomic(target, b"data")
    assert target.read_bytes() == b"data"
