"""What a build may read and publish: nothing outside SOURCE, nothing that blocks, no folder
silently dropped, no earlier site taken for pictures, no hidden theme file.

Permission tests run the CLI in a process that cannot bypass file permissions: tests run as
root, and root reads a ``chmod 000`` file. ``setpriv`` drops every capability (root stays the
owner, so the owner's bits, all cleared, apply). If that cannot be done, the tests fail.
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Iterator
from pathlib import Path

import pictures
import pytest
from conftest import TIMEOUT, gallery, read_manifest, site_files
from gallery_builder.plugins.metadata import read_caption
from gallery_builder.plugins.scan import walk

from gallery_builder import hookimpl
from gallery_builder.model import Source
from gallery_builder.testing import build_gallery, run_cli

SECRET = "the door code is 4711"


@pytest.fixture
def restore_modes(source: Path) -> Iterator[None]:
    """Give every folder under SOURCE back its permissions, for the clean-up."""
    yield
    for folder in [source, *source.rglob("*")]:
        if not folder.is_symlink():
            folder.chmod(0o755 if folder.is_dir() else 0o644)


def built_sources(out: Path) -> list[str]:
    return sorted(image["source"] for image in read_manifest(out)["images"])


def captions(out: Path) -> dict[str, str | None]:
    return {image["source"]: image.get("caption") for image in read_manifest(out)["images"]}


# --- Caption sidecars ------------------------------------------------------------------------


@pytest.mark.parametrize("sidecar", ["Swallowtail.txt", "Swallowtail.jpg.txt"])
def test_a_caption_sidecar_linking_out_of_the_source_is_not_read(
    tmp_path: Path, source: Path, out: Path, sidecar: str
) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text(SECRET, encoding="utf-8")
    pictures.jpeg(source / "Swallowtail.jpg")
    os.symlink(secret, source / sidecar)

    [found] = walk(source, [])
    assert found.sidecar is None
    result = build_gallery(source, out)
    assert result.skipped == []
    assert captions(out) == {"Swallowtail.jpg": None}
    for name, data in site_files(out).items():
        assert SECRET.encode() not in data, name


def test_a_caption_sidecar_linking_inside_the_source_is_read(source: Path, out: Path) -> None:
    (source / "captions").mkdir()
    (source / "captions" / "monarch.txt").write_text("Orange and black.", encoding="utf-8")
    pictures.jpeg(source / "Monarch.jpg")
    os.symlink(Path("captions") / "monarch.txt", source / "Monarch.txt")

    build_gallery(source, out)
    assert captions(out) == {"Monarch.jpg": "Orange and black."}


def test_a_refused_name_sidecar_leaves_the_stem_sidecar(
    tmp_path: Path, source: Path, out: Path
) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text(SECRET, encoding="utf-8")
    pictures.jpeg(source / "wing.jpg")
    os.symlink(secret, source / "wing.jpg.txt")
    (source / "wing.txt").write_text("A blue wing.", encoding="utf-8")

    build_gallery(source, out)
    assert captions(out) == {"wing.jpg": "A blue wing."}


def test_a_fifo_named_like_a_caption_does_not_block_the_build(source: Path, out: Path) -> None:
    pictures.jpeg(source / "Swallowtail.jpg")
    os.mkfifo(source / "Swallowtail.txt")

    run = gallery("build", source, "-o", out, "-j", "1")

    assert run.returncode == 0, run.stderr
    assert "Traceback" not in run.stderr
    assert captions(out) == {"Swallowtail.jpg": None}


class LinkingScan:
    """Another plugin's scan, offering a caption sidecar the built-in scan would refuse."""

    def __init__(self, sidecar: Path) -> None:
        self.sidecar = sidecar

    @hookimpl(tryfirst=True)
    def gallery_scan(self, config, exclude):
        picture = config.source / "Swallowtail.jpg"
        stat = picture.stat()
        return [
            Source(
                str(picture),
                "Swallowtail.jpg",
                stat.st_size,
                stat.st_mtime_ns,
                sidecar=str(self.sidecar),
                sidecar_mtime_ns=1,
            )
        ]


def test_metadata_reads_no_caption_outside_the_source_whoever_scanned(
    tmp_path: Path, source: Path, out: Path
) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text(SECRET, encoding="utf-8")
    pictures.jpeg(source / "Swallowtail.jpg")

    build_gallery(source, out, LinkingScan(secret))

    assert captions(out) == {"Swallowtail.jpg": None}
    for name, data in site_files(out).items():
        assert SECRET.encode() not in data, name


def test_reading_a_caption_that_became_a_fifo_does_not_block(source: Path) -> None:
    picture = pictures.jpeg(source / "Swallowtail.jpg")
    fifo = source / "Swallowtail.txt"
    os.mkfifo(fifo)
    stat = picture.stat()
    found = Source(str(picture), picture.name, stat.st_size, stat.st_mtime_ns, str(fifo), 1)
    answers: list[str | None] = []

    reader = threading.Thread(target=lambda: answers.append(read_caption(found)), daemon=True)
    reader.start()
    reader.join(TIMEOUT)
    if reader.is_alive():
        os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))  # release the blocked reader
        pytest.fail("read_caption blocked on a FIFO")
    assert answers == [None]


# --- Permissions -----------------------------------------------------------------------------


@pytest.mark.usefixtures("restore_modes")
def test_an_unreadable_picture_is_skipped_as_unreadable_then_built_once_readable(
    source: Path, out: Path, unprivileged: list[str]
) -> None:
    pictures.jpeg(source / "Album" / "open.jpg")
    locked = pictures.jpeg(source / "Album" / "locked.jpg")
    locked.chmod(0)

    run = gallery("build", source, "-o", out, "-j", "1", prefix=unprivileged)

    assert run.returncode == 0, run.stderr
    assert "Traceback" not in run.stderr
    assert "skipped Album/locked.jpg: cannot read: Permission denied" in run.stderr
    assert "not a picture" not in run.stderr
    assert built_sources(out) == ["Album/open.jpg"]

    locked.chmod(0o644)  # same size and mtime: only the permissions changed
    again = gallery("build", source, "-o", out, "-j", "1", prefix=unprivileged)
    assert again.returncode == 0, again.stderr
    assert "skipped" not in again.stderr
    assert built_sources(out) == ["Album/locked.jpg", "Album/open.jpg"]


@pytest.mark.parametrize(
    ("folder", "mode", "named"),
    [
        ("Album/Sub", 0o000, "'Album/Sub'"),  # neither listed nor searched
        ("Album/Sub", 0o444, "'Album/Sub'"),  # listed, but its files cannot be opened
        ("Album", 0o000, "'Album'"),  # and all below it
    ],
)
@pytest.mark.usefixtures("restore_modes")
def test_an_unreadable_folder_stops_the_build_and_keeps_the_site(
    source: Path, out: Path, unprivileged: list[str], folder: str, mode: int, named: str
) -> None:
    pictures.jpeg(source / "top.jpg")
    pictures.jpeg(source / "Album" / "a.jpg")
    pictures.jpeg(source / "Album" / "Sub" / "b.jpg")
    first = gallery("build", source, "-o", out, "-j", "1", prefix=unprivileged)
    assert first.returncode == 0, first.stderr
    before = site_files(out)
    (source / folder).chmod(mode)

    run = gallery("build", source, "-o", out, "-j", "1", prefix=unprivileged)

    assert run.returncode == 1, run.stderr
    assert "Traceback" not in run.stderr
    assert (
        f"Error: cannot read folder {named}: Permission denied; "
        "fix its permissions or move it out of the source"
    ) in run.stderr
    assert site_files(out) == before
    assert built_sources(out) == ["Album/Sub/b.jpg", "Album/a.jpg", "top.jpg"]


# --- Sites built earlier ---------------------------------------------------------------------


def test_a_site_built_inside_the_source_earlier_is_not_scanned(
    tmp_path: Path, source: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pictures.jpeg(source / "photo.jpg")
    pictures.jpeg(source / "album" / "other.jpg")
    monkeypatch.chdir(source)
    inside = run_cli(["build", ".", "-j", "1"])  # the default -o: SOURCE/_site
    assert inside.exit_code == 0, inside.output
    assert (source / "_site" / "index.html").is_file()
    elsewhere = tmp_path / "elsewhere"

    result = run_cli(["build", source, "-o", elsewhere, "-j", "1"])

    assert result.exit_code == 0, result.output
    assert built_sources(elsewhere) == ["album/other.jpg", "photo.jpg"]
    assert sorted(s.relpath for s in walk(source, [])) == ["album/other.jpg", "photo.jpg"]


def test_a_folder_named_like_a_site_without_a_build_state_is_scanned(source: Path) -> None:
    pictures.jpeg(source / "_site" / "mine.jpg")
    (source / "_site" / ".gallery").mkdir()  # not a build state: no state.sqlite
    assert [s.relpath for s in walk(source, [])] == ["_site/mine.jpg"]


# --- Theme files -----------------------------------------------------------------------------


def test_hidden_theme_files_and_folders_are_not_published(
    tmp_path: Path, source: Path, out: Path
) -> None:
    pictures.jpeg(source / "a.jpg")
    static = tmp_path / "mine" / "static"
    for name in (".hidden/secret.txt", ".git/config", "css/.env", ".DS_Store", "css/extra.css"):
        (static / name).parent.mkdir(parents=True, exist_ok=True)
        (static / name).write_text(SECRET if "extra" not in name else "p { margin: 0 }")

    build_gallery(source, out, theme=str(tmp_path / "mine"))

    published = [name for name in site_files(out) if name.startswith("_static/")]
    assert any(re.fullmatch(r"_static/css/extra\.[0-9a-f]{8}\.css", n) for n in published)
    for name, data in site_files(out).items():
        assert SECRET.encode() not in data, name
    assert not [n for n in published if "/." in n], published


def test_names_that_are_not_utf8_are_skipped_and_named(source: Path, out: Path) -> None:
    pictures.jpeg(source / "ok.jpg")
    pictures.jpeg(source / "tmp.jpg")
    os.rename(source / "tmp.jpg", os.fsdecode(bytes(source) + b"/caf\xe9.jpg"))
    folder = os.fsdecode(bytes(source) + b"/Fotos \xff")
    pictures.jpeg(Path(folder) / "x.jpg")
    run = gallery("build", source, "-o", out)
    assert run.returncode == 0, run.stderr
    assert "Traceback" not in run.stderr
    assert "skipped caf\\xe9.jpg: its name is not valid UTF-8; rename it" in run.stderr
    assert "skipped Fotos \\xff/x.jpg: its name is not valid UTF-8; rename it" in run.stderr
    assert [i["source"] for i in read_manifest(out)["images"]] == ["ok.jpg"]
    assert gallery("build", source, "-o", out, "--strict").returncode == 1
