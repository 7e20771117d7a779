"""What a child theme adds without copying a template (``extra_css``, the ``extra_head``
block), and theme folders from plugins that a pip install left out."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pictures
import pytest
from click.testing import CliRunner
from conftest import links_of
from gallery_builder.plugins.file_publisher import file_publisher

from gallery_builder import hookimpl
from gallery_builder.cli import AppContext, make_cli
from gallery_builder.publishing import publish
from gallery_builder.testing import build_gallery, plugin_manager


def make_theme(folder: Path, toml: str, files: dict[str, str]) -> Path:
    (folder / "static").mkdir(parents=True)
    (folder / "theme.toml").write_text(toml)
    for name, text in files.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(text)
    return folder


@pytest.fixture
def dusk(tmp_path: Path) -> Path:
    return make_theme(
        tmp_path / "dusk",
        'name = "dusk"\nextends = "default"\nextra_css = ["dusk.css"]\n',
        {"static/dusk.css": ":root { --bg: #1d1a2b; }\n"},
    )


@pytest.fixture
def two(source: Path) -> Path:
    pictures.jpeg(source / "a.jpg", taken="2024:01:01 10:00:00")
    pictures.jpeg(source / "Sub" / "b.jpg", taken="2024:01:02 10:00:00")
    return source


def stylesheets(html: str) -> list[str]:
    """The stylesheets a page links, by their name before the hash, in order."""
    hrefs = re.findall(r'<link rel="stylesheet" href="([^"]+)"', html)
    return [href.rpartition("/")[2].split(".")[0] for href in hrefs]


def cli(args: list[Any], **plugins: Any):
    pm = plugin_manager()
    for name, plugin in plugins.items():
        pm.register(plugin, name=name)
    return CliRunner().invoke(make_cli(pm), [str(a) for a in args], obj=AppContext(pm))


def one_error(result) -> str:
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output, result.output
    errors = [line for line in result.output.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1, result.output
    return errors[0]


def test_extra_css_is_linked_on_every_page_after_the_parents(
    two: Path, out: Path, dusk: Path, tmp_path: Path
) -> None:
    build_gallery(two, out, theme=str(dusk))
    assert stylesheets((out / "index.html").read_text()) == ["style", "viewer", "dusk"]
    assert stylesheets((out / "sub" / "index.html").read_text()) == ["style", "viewer", "dusk"]
    assert stylesheets((out / "error.html").read_text()) == ["style", "dusk"]
    css = next(link for link in links_of((out / "error.html").read_text()) if "dusk." in link)
    assert (out / css.removeprefix("/photos/")).read_text() == ":root { --bg: #1d1a2b; }\n"
    # the bucket root's pages, rendered at publish from the site's theme
    www = tmp_path / "www"
    publish(out, file_publisher(f"file://{www}"), "photos")
    for page in ("index.html", "error.html", "private.html"):
        html = (www / page).read_text()
        assert stylesheets(html) == ["style", "dusk"], page
        (href,) = [link for link in links_of(html) if "dusk." in link]
        assert (www / href.lstrip("./")).is_file(), href
    assert "This gallery is private" in (www / "private.html").read_text()


def test_a_childs_extra_css_adds_to_its_parents(two: Path, out: Path, tmp_path: Path) -> None:
    parent = make_theme(
        tmp_path / "dusk",
        'name = "dusk"\nextends = "default"\nextra_css = ["dusk.css"]\n',
        {"static/dusk.css": "a {}\n", "static/print.css": "b {}\n"},
    )
    child = make_theme(
        tmp_path / "night",
        'name = "night"\nextends = "dusk"\nextra_css = ["print.css", "night.css"]\n',
        {"static/night.css": "c {}\n"},
    )

    class Themes:
        @hookimpl
        def gallery_themes(self):
            return [parent, child]

    assert cli(["build", two, "-o", out, "--theme", "night"], dusk=Themes()).exit_code == 0
    assert stylesheets((out / "error.html").read_text()) == ["style", "dusk", "print", "night"]


def test_a_misnamed_extra_css_file_is_a_clear_error(two: Path, out: Path, tmp_path: Path) -> None:
    theme = make_theme(
        tmp_path / "dusk",
        'name = "dusk"\nextends = "default"\nextra_css = ["dsuk.css"]\n',
        {"static/dusk.css": "a {}\n"},
    )

    class Dusk:
        @hookimpl
        def gallery_themes(self):
            return [theme]

    for args in (["build", two, "-o", out, "--theme", "dusk"], ["themes"]):
        error = one_error(cli(args, dusk=Dusk()))
        assert f"{theme / 'theme.toml'}: extra_css names 'dsuk.css'" in error, error
        assert "static/ folder of theme 'dusk'" in error
    assert not (out / "index.html").exists()


def test_extra_css_must_be_a_list_of_names(two: Path, out: Path, tmp_path: Path) -> None:
    theme = make_theme(tmp_path / "dusk", 'name = "dusk"\nextra_css = "dusk.css"\n', {})
    error = one_error(cli(["build", two, "-o", out, "--theme", theme]))
    assert "'extra_css' must be a list" in error


def test_the_extra_head_block_reaches_every_page(two: Path, out: Path, tmp_path: Path) -> None:
    theme = make_theme(
        tmp_path / "dusk",
        'name = "dusk"\nextends = "default"\n',
        {
            "templates/base.html": '{% extends "default:base.html" %}'
            '{% block extra_head %}<meta name="theme-color" content="#1d1a2b">{% endblock %}'
        },
    )
    build_gallery(two, out, theme=str(theme))
    for page in ("index.html", "sub/index.html", "error.html"):
        head = (out / page).read_text().partition("</head>")[0]
        assert '<meta name="theme-color" content="#1d1a2b">' in head, page
        assert head.index("theme-color") > head.index("style."), page


def test_the_default_pages_are_unchanged_without_extras(two: Path, out: Path) -> None:
    build_gallery(two, out)
    head = (out / "error.html").read_text().partition("</head>")[0]
    assert head.endswith('.css">\n'), head  # nothing added: no empty line, no link


@pytest.mark.parametrize("problem", ["does not exist", "is empty", "has no theme.toml"])
def test_a_theme_folder_a_plugin_left_out_is_an_error_naming_it(
    problem: str, two: Path, out: Path, tmp_path: Path
) -> None:
    folder = tmp_path / "site-packages" / "gallery_theme_dusk" / "dusk"
    if problem != "does not exist":
        folder.mkdir(parents=True)
    if problem == "has no theme.toml":
        (folder / "templates").mkdir()

    class Dusk:
        @hookimpl
        def gallery_themes(self):
            return [folder]

    for args in (["themes"], ["build", two, "-o", out]):
        error = one_error(cli(args, dusk=Dusk()))
        assert f"plugin 'dusk' gives the theme folder {folder}, which {problem}" in error
        assert "package data" in error and "--block dusk" in error
