"""The output folder: a build never writes or deletes outside it, never builds from itself,
and fails with a message (no traceback) when it cannot write there."""

from __future__ import annotations

from pathlib import Path

import pictures
import pytest
from conftest import read_manifest

from gallery_builder import hookimpl
from gallery_builder.errors import GalleryError
from gallery_builder.model import DerivativeSpec, Page
from gallery_builder.testing import build_gallery, run_cli


@pytest.fixture
def two(source: Path) -> Path:
    pictures.jpeg(source / "a.jpg")
    pictures.jpeg(source / "Trip" / "b.jpg")
    return source


def test_the_source_folder_cannot_be_the_output(two: Path) -> None:
    for out in (two, two.parent):
        result = run_cli(["build", two, "-o", out])
        assert result.exit_code == 2
        assert "would be built from itself" in result.stderr and "Traceback" not in result.output


@pytest.mark.parametrize("blocker", ["out_parent", "state_dir"])
def test_an_unusable_output_folder_is_a_clear_error(two: Path, tmp_path: Path, blocker: str):
    if blocker == "out_parent":
        (tmp_path / "file").write_text("x")
        out = tmp_path / "file" / "site"
    else:
        out = tmp_path / "site"
        out.mkdir()
        (out / ".gallery").write_text("not a folder")
    result = run_cli(["build", two, "-o", out])
    assert result.exit_code == 1
    assert result.stderr.startswith("Error: ") and "Traceback" not in result.output


def test_a_file_in_the_way_of_an_album_stops_the_build_and_blames_no_picture(
    two: Path, out: Path
) -> None:
    out.mkdir()
    (out / "trip").write_text("in the way")
    result = run_cli(["build", two, "-o", out])
    assert result.exit_code == 1
    assert "cannot write" in result.stderr and "trip" in result.stderr
    assert "skipped" not in result.stderr  # the picture is fine
    (out / "trip").unlink()
    again = run_cli(["build", two, "-o", out])
    assert again.exit_code == 0 and "2 pictures in 2 albums" in again.stdout
    assert not list(out.rglob("*.tmp"))


def test_a_plugin_cannot_write_outside_the_site(two: Path, out: Path, tmp_path: Path) -> None:
    class Escape:
        @hookimpl
        def gallery_pages(self, site, config):
            return [Page("../escape.html", "error.html")]

    with pytest.raises(GalleryError, match="outside the site"):
        build_gallery(two, out, Escape())
    assert not (tmp_path / "escape.html").exists()

    class Hidden:
        @hookimpl
        def gallery_pages(self, site, config):
            return [Page(".gallery/state.sqlite", "error.html")]

    with pytest.raises(GalleryError, match="outside the site"):
        build_gallery(two, out, Hidden())

    class BadVariant:
        @hookimpl
        def gallery_derivative_specs(self, source, metadata, config):
            return [DerivativeSpec("x/../../../../escaped", "resize", (50, 50), "jpeg", 80)]

    with pytest.raises(GalleryError, match="variant must be"):
        build_gallery(two, out, BadVariant())
    assert not list(tmp_path.parent.glob("escaped*"))


def test_files_of_a_failed_build_are_cleaned_up_by_the_next(
    two: Path, out: Path, tmp_path: Path
) -> None:
    theme = tmp_path / "mine"
    (theme / "static").mkdir(parents=True)
    (theme / "templates").mkdir()
    (theme / "static" / "extra.css").write_text("p { color: red }\n")
    (theme / "templates" / "error.html").write_text("{% if %}")  # broken
    assert run_cli(["build", two, "-o", out, "--theme", theme]).exit_code == 1
    extra = list(out.glob("_static/extra.*.css"))
    assert len(extra) == 1  # written before the template failed
    (theme / "static" / "extra.css").unlink()
    (theme / "templates" / "error.html").write_text("fixed")
    assert run_cli(["build", two, "-o", out, "--theme", theme]).exit_code == 0
    assert not extra[0].exists()
    assert not any("extra" in f for f in read_manifest(out)["files"])


def test_all_pictures_skipped_says_so(source: Path, out: Path) -> None:
    pictures.empty(source / "a.jpg")
    result = run_cli(["build", source, "-o", out])
    assert result.exit_code == 0
    assert "none of the pictures" in result.stderr and "no pictures found" not in result.stderr
