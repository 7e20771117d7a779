"""Files plugins add to the site (``gallery_site_files``), pages with a content type of their
own, and the folders of templates and static files plugins ship: written, listed, served and
published with their content type; removed when no longer returned; refused, naming the
plugin, when unsafe."""

from __future__ import annotations

import io
import json
import os
import zipfile
from pathlib import Path
from typing import Any

import pictures
import pytest
from click.testing import CliRunner
from conftest import read_manifest
from gallery_builder.plugins.file_publisher import file_publisher
from test_serve import fetch, serve_command

from gallery_builder import hookimpl
from gallery_builder.cli import AppContext, make_cli
from gallery_builder.config import load_config
from gallery_builder.model import IMMUTABLE, ExtraFile, Page
from gallery_builder.pipeline import BuildResult, build
from gallery_builder.publishing import publish
from gallery_builder.testing import plugin_manager

ATOM = "application/atom+xml"


@pytest.fixture
def two(source: Path) -> Path:
    pictures.jpeg(source / "Istanbul" / "a.jpg", taken="2024:01:01 10:00:00")
    pictures.jpeg(source / "Izmir" / "b.jpg", taken="2024:01:02 10:00:00")
    return source


def named(**plugins: Any):
    """A plugin manager with ``plugins`` registered under their names (so errors name them)."""
    pm = plugin_manager()
    for name, plugin in plugins.items():
        pm.register(plugin, name=name)
    return pm


def build_with(source: Path, out: Path, force: bool = False, **plugins: Any) -> BuildResult:
    return build(load_config(source), out, named(**plugins), jobs=1, force=force)


def cli_with(args: list[Any], **plugins: Any):
    pm = named(**plugins)
    return CliRunner().invoke(make_cli(pm), [str(a) for a in args], obj=AppContext(pm))


def one_error(result) -> str:
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output, result.output
    errors = [line for line in result.output.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1, result.output
    return errors[0]


class AlbumZips:
    """The issue's plugin: a ZIP of each album's pictures, as bytes."""

    @hookimpl
    def gallery_site_files(self, site, config):
        files = []
        for album in site.albums():
            if not album.path:
                continue
            buffer = io.BytesIO()
            with zipfile.ZipFile(buffer, "w") as archive:
                for picture in album.pictures:
                    archive.write(picture.source.path, picture.source.filename)
            files.append(ExtraFile(f"{album.path}/album.zip", data=buffer.getvalue()))
        return files


def test_a_plugin_adds_a_zip_per_album_as_bytes(two: Path, out: Path) -> None:
    result = build_with(two, out, albumzip=AlbumZips())
    files = read_manifest(out)["files"]
    for album, picture in (("istanbul", "a.jpg"), ("izmir", "b.jpg")):
        entry = files[f"{album}/album.zip"]
        assert entry["content_type"] == "application/zip"
        assert entry["cache_control"] == "no-cache"
        data = (out / album / "album.zip").read_bytes()
        assert entry["size"] == len(data)
        assert zipfile.ZipFile(io.BytesIO(data)).namelist() == [picture]
        assert f"{album}/album.zip" in result.written


def test_a_page_served_and_published_with_its_own_content_type(
    two: Path, out: Path, tmp_path: Path
) -> None:
    templates = tmp_path / "feed-templates"
    templates.mkdir()
    (templates / "feed.xml").write_text(
        '<?xml version="1.0" encoding="utf-8"?>\n'
        '<feed xmlns="http://www.w3.org/2005/Atom"><title>{{ site.title }}</title></feed>\n'
    )

    class Feed:
        @hookimpl
        def gallery_template_folders(self):
            return [templates]

        @hookimpl
        def gallery_pages(self, site, config):
            return [Page("feed.xml", "feed.xml", content_type=ATOM)]

    build_with(two, out, feeds=Feed())
    assert read_manifest(out)["files"]["feed.xml"]["content_type"] == ATOM
    assert b"<title>photos</title>" in (out / "feed.xml").read_bytes()
    with serve_command(out) as (port, path):
        status, headers, body = fetch(port, path + "feed.xml")
    assert (status, headers["Content-Type"]) == (200, ATOM)
    assert body == (out / "feed.xml").read_bytes()
    www = tmp_path / "www"
    publish(out, file_publisher(f"file://{www}"), "photos")
    published = json.loads((www / "photos" / "manifest.json").read_text())
    assert published["files"]["feed.xml"]["content_type"] == ATOM
    assert (www / "photos" / "feed.xml").read_bytes() == (out / "feed.xml").read_bytes()


def test_a_file_given_by_path_is_copied_never_moved_and_written_only_when_changed(
    two: Path, out: Path, tmp_path: Path
) -> None:
    made = tmp_path / "plugin-cache" / "everything.zip"
    made.parent.mkdir()
    made.write_bytes(b"PK\x05\x06" + bytes(18))

    class BigZip:
        @hookimpl
        def gallery_site_files(self, site, config):
            return [ExtraFile("downloads/everything.zip", file=made, cache_control=IMMUTABLE)]

    first = build_with(two, out, bigzip=BigZip())
    copy = out / "downloads" / "everything.zip"
    assert made.is_file() and copy.read_bytes() == made.read_bytes()
    assert os.stat(copy).st_ino != os.stat(made).st_ino  # a copy: a rewrite in place stays out
    entry = read_manifest(out)["files"]["downloads/everything.zip"]
    assert entry["cache_control"] == IMMUTABLE and entry["content_type"] == "application/zip"
    assert "downloads/everything.zip" in first.written
    pictures.jpeg(two / "Izmir" / "c.jpg")  # work to do, the zip unchanged
    assert "downloads/everything.zip" not in build_with(two, out, bigzip=BigZip()).written
    made.write_bytes(b"PK\x05\x06" + bytes(17) + b"\x01")
    assert "downloads/everything.zip" in build_with(two, out, bigzip=BigZip(), force=True).written
    assert copy.read_bytes() == made.read_bytes()


def test_a_file_no_longer_returned_is_removed(two: Path, out: Path) -> None:
    build_with(two, out, albumzip=AlbumZips())
    assert (out / "izmir" / "album.zip").is_file()
    result = build_with(two, out)  # the plugin is gone: the fingerprint changed
    assert sorted(p for p in result.removed if p.endswith(".zip")) == [
        "istanbul/album.zip",
        "izmir/album.zip",
    ]
    assert not (out / "izmir" / "album.zip").exists()
    assert "izmir/album.zip" not in read_manifest(out)["files"]


def returning(*files: Any):
    class Returns:
        @hookimpl
        def gallery_site_files(self, site, config):
            return list(files)

    return Returns()


@pytest.mark.parametrize(
    ("answer", "says"),
    [
        (ExtraFile("../outside.zip", data=b"x"), "is not a file inside the site"),
        (ExtraFile("/etc/x", data=b"x"), "is not a file inside the site"),
        (ExtraFile(".gallery/state.sqlite", data=b"x"), "is not a file inside the site"),
        (ExtraFile("manifest.json", data=b"{}"), "is not a file inside the site"),
        (ExtraFile("index.html", data=b"x"), "would replace the file 'index.html'"),
        (ExtraFile("index.html/x.zip", data=b"x"), "would replace the file 'index.html'"),
        (ExtraFile("_static", data=b"x"), "would replace the folder holding '_static/"),
        (ExtraFile("a.zip"), "must have exactly one of data and file"),
        (ExtraFile("a.zip", data="text"), "is str, not bytes"),
        (ExtraFile("a.zip", file=Path("/nonexistent/a.zip")), "is not a file"),
        (ExtraFile("a.zip", data=b"x", content_type="zip\r\nX-Evil: 1"), "not a type/subtype"),
        (ExtraFile("a.zip", data=b"x", cache_control="\n"), "cache control"),
        ("a.zip", "an ExtraFile was expected, not str"),
    ],
)
def test_an_unsafe_file_is_an_error_naming_the_plugin(
    two: Path, out: Path, answer: Any, says: str
) -> None:
    error = one_error(cli_with(["build", two, "-o", out], badfiles=returning(answer)))
    assert "plugin 'badfiles'" in error and says in error, error
    assert "--block badfiles" in error


def test_two_plugins_claiming_one_file_is_an_error_naming_them(two: Path, out: Path) -> None:
    error = one_error(
        cli_with(
            ["build", two, "-o", out],
            first=returning(ExtraFile("x.zip", data=b"1")),
            second=returning(ExtraFile("x.zip", data=b"2")),
        )
    )
    assert "'x.zip' is also returned by plugin" in error
    assert "plugin 'first'" in error and "plugin 'second'" in error, error


def test_a_page_with_a_malformed_content_type_is_an_error(two: Path, out: Path) -> None:
    class BadType:
        @hookimpl
        def gallery_pages(self, site, config):
            return [Page("x.html", "error.html", content_type="text/html\nX: y")]

    error = one_error(cli_with(["build", two, "-o", out], badtype=BadType()))
    assert "page x.html" in error and "not a type/subtype" in error


@pytest.mark.parametrize("hook", ["gallery_template_folders", "gallery_static_folders"])
def test_a_missing_plugin_folder_is_an_error_naming_the_plugin(
    hook: str, two: Path, out: Path, tmp_path: Path
) -> None:
    plugin = type("Gone", (), {hook: hookimpl(lambda self: [tmp_path / "not-installed"])})()
    error = one_error(cli_with(["build", two, "-o", out], gone=plugin))
    assert f"plugin 'gone' gives the folder {tmp_path / 'not-installed'} in {hook}" in error
    assert "package data" in error


@pytest.mark.parametrize("kind", ["templates", "static"])
def test_a_change_in_a_plugin_folder_rebuilds_the_pages(
    kind: str, two: Path, out: Path, tmp_path: Path
) -> None:
    folder = tmp_path / kind
    folder.mkdir()
    name = "extra.html" if kind == "templates" else "extra.css"
    (folder / name).write_text("one")

    class Ships:
        @hookimpl
        def gallery_template_folders(self):
            return [folder] if kind == "templates" else []

        @hookimpl
        def gallery_static_folders(self):
            return [folder] if kind == "static" else []

        @hookimpl
        def gallery_pages(self, site, config):
            return [Page("extra.html", "extra.html")] if kind == "templates" else []

    build_with(two, out, ships=Ships())
    assert build_with(two, out, ships=Ships()).written == []  # a no-op
    (folder / name).write_text("two, longer")
    written = build_with(two, out, ships=Ships()).written
    if kind == "templates":
        assert written == ["extra.html", "manifest.json"]
        assert (out / "extra.html").read_text() == "two, longer"
    else:
        assert [p for p in written if p.startswith("_static/extra.")], written
