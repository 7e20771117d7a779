"""Themes: built-in, inherited with `extends`, overridden file by file from a user folder."""

from __future__ import annotations

import re
from pathlib import Path

import pictures
import pytest
from conftest import read_manifest

from gallery_builder.errors import ThemeError
from gallery_builder.testing import build_gallery, run_cli
from gallery_builder.theming import installed_themes, load_theme, theme_chain


@pytest.fixture
def one(source: Path) -> Path:
    pictures.jpeg(source / "a.jpg")
    return source


def make_theme(folder: Path, toml: str | None = None, files: dict[str, str] | None = None) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    if toml is not None:
        (folder / "theme.toml").write_text(toml)
    for name, text in (files or {}).items():
        target = folder / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)
    return folder


def test_gallery_themes_lists_the_builtin_theme() -> None:
    result = run_cli(["themes"])
    assert result.exit_code == 0
    assert result.output.startswith("default")


def test_a_user_folder_overrides_single_files_of_default(one: Path, out: Path, tmp_path: Path):
    mine = make_theme(
        tmp_path / "mine",
        files={
            "static/style.css": "body { color: rebeccapurple; }\n",
            "templates/error.html": "{% extends 'base.html' %}{% block main %}nope{% endblock %}",
        },
    )
    build_gallery(one, out, theme=str(mine))
    css = [f for f in read_manifest(out)["files"] if f.startswith("_static/style.")]
    assert len(css) == 1 and (out / css[0]).read_text() == "body { color: rebeccapurple; }\n"
    error = (out / "error.html").read_text()
    # S3 serves error.html for a missing key at any depth: it links from the gallery's root
    assert "nope" in error and '<link rel="stylesheet" href="/photos/_static/style.' in error
    assert re.search(r'src="a\.thumb\.[0-9a-f]{8}\.jpg"', (out / "index.html").read_text())


def test_theme_path_in_settings_is_relative_to_the_settings_file(one: Path, out: Path) -> None:
    make_theme(one / "look", files={"templates/error.html": "custom error"})
    (one / "gallery.toml").write_text('[gallery]\ntheme = "./look"\n')
    build_gallery(one, out)
    assert (out / "error.html").read_text() == "custom error"


def test_an_unknown_theme_names_the_installed_ones(one: Path, out: Path) -> None:
    result = run_cli(["build", one, "-o", out, "--theme", "nope"])
    assert result.exit_code == 2  # a bad setting: usage
    assert "no theme 'nope'; installed: default" in result.output


def test_a_template_error_names_the_template_and_line(one: Path, out: Path, tmp_path: Path):
    mine = make_theme(tmp_path / "mine", files={"templates/error.html": "ok\n{% if %}\n"})
    result = run_cli(["build", one, "-o", out, "--theme", mine])
    assert result.exit_code == 1
    assert "error.html:2:" in result.output and "Traceback" not in result.output


def test_theme_toml_is_validated(tmp_path: Path) -> None:
    bad = make_theme(tmp_path / "bad", 'name = "bad"\ncolour = "red"\n')
    with pytest.raises(ThemeError, match=r"theme.toml: unknown key colour; allowed: "):
        load_theme(bad)
    nameless = make_theme(tmp_path / "nameless", 'extends = "default"\n')
    with pytest.raises(ThemeError, match="'name' must be a non-empty string"):
        load_theme(nameless)


def test_extends_chains_and_loops(tmp_path: Path) -> None:
    a = make_theme(tmp_path / "a", 'name = "a"\nextends = "b"\n')
    b = make_theme(tmp_path / "b", 'name = "b"\nextends = "default"\n')
    default = Path(__import__("gallery_builder.themes").themes.__file__).parent / "default"
    installed = installed_themes([a, b, default])
    assert [t.name for t in theme_chain("a", installed)] == ["a", "b", "default"]
    x = make_theme(tmp_path / "x", 'name = "x"\nextends = "y"\n')
    loop = installed_themes([x, make_theme(tmp_path / "y", 'name = "y"\nextends = "x"\n')])
    with pytest.raises(ThemeError, match="loop: x -> y -> x"):
        theme_chain("x", loop)
    orphan = installed_themes([make_theme(tmp_path / "o", 'name = "o"\nextends = "gone"\n')])
    with pytest.raises(ThemeError, match="extends 'gone', which is not installed"):
        theme_chain("o", orphan)


def test_static_files_get_hashed_names_inside_static(one: Path, out: Path, tmp_path: Path) -> None:
    mine = make_theme(
        tmp_path / "mine",
        files={"static/LICENSE": "MIT\n", "static/img.v2/logo.png": "not really a png"},
    )
    build_gallery(one, out, theme=str(mine))
    files = read_manifest(out)["files"]
    assert any(re.fullmatch(r"_static/LICENSE\.[0-9a-f]{8}", f) for f in files), sorted(files)
    assert any(re.fullmatch(r"_static/img\.v2/logo\.[0-9a-f]{8}\.png", f) for f in files)
    assert not (out / "LICENSE").exists()


def test_a_template_asking_for_a_missing_asset_fails_cleanly(one: Path, out: Path, tmp_path):
    mine = make_theme(tmp_path / "mine", files={"templates/error.html": "{{ static('x.css') }}"})
    result = run_cli(["build", one, "-o", out, "--theme", mine])
    assert result.exit_code == 1
    assert "cannot render error.html from error.html" in result.output
    assert "the theme has no static file 'x.css'" in result.output
    assert "Traceback" not in result.output
