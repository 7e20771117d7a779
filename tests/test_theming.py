"""Themes: built-in, inherited with `extends`, overridden file by file from a user folder."""

from __future__ import annotations

import re
import time
from pathlib import Path

import pictures
import pytest
from conftest import gallery, read_manifest

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
    assert "cannot render error.html: template " in result.output
    assert "mine/templates/error.html:1: the theme has no static file 'x.css'" in result.output
    assert "Traceback" not in result.output


# --- hostile templates (issue 8, item 10): each one Error line naming template and line -------

#: (the template, the file and line the error names, a word the message has)
HOSTILE_TEMPLATES = {
    "a range too big": ("ok\n{% for i in range(10**9) %}x{% endfor %}\n", 2, "range"),
    "nested loops": (
        "ok\n\n{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}",
        3,
        "took more than 3 s",
    ),
    "loops over a list with a constant body": (
        "{% set l = range(2000)|list %}\n{% for a in l %}{% for b in l %}{% for c in l %}"
        "x{% endfor %}{% endfor %}{% endfor %}\n",
        None,  # killed by its time or memory limit, wherever it is
        "",
    ),
    "a recursive macro": (
        "{% macro f() %}\n{{ f() }}\n{% endmacro %}\n{{ f() }}\n",
        2,
        "RecursionError",
    ),
    "a macro that branches": (
        "{% macro f(n) %}{{ f(n + 1) }}{{ f(n + 1) }}{% endmacro %}\n{{ f(0) }}\n",
        1,
        "RecursionError",
    ),
    "a huge string": ("ok\n{% set x = 'a' * 10**10 %}\n", 2, "a template may make"),
    "a huge list": ("ok\n{% set x = [0] * 10**10 %}{{ x }}\n", 2, "a template may make"),
    "a huge power": ("ok\n{{ 10 ** (10**10) }}\n", 2, "integer power"),
    "a power of a power": ("ok\n{{ (-3) ** (10**5) ** 2 }}\n", 2, "integer power"),
    "a huge product": ("{% set x = 10**20000 %}\n{{ x * x * x * x * x * x }}\n", 2, "product"),
    "an integer too long to print": ("\n{{ 10**20000 }}\n", 2, "ValueError"),
    "doubling a string": (
        "{% set ns = namespace(s='ab') %}{% for i in range(64) %}\n{% set ns.s = ns.s ~ ns.s %}"
        "{% endfor %}{{ ns.s|length }}\n",
        None,
        "",
    ),
    "replace that multiplies": (
        "{% set ns = namespace(s='a' * 1000) %}{% for i in range(9) %}\n"
        "{% set ns.s = ns.s|replace('a', 'aaaaaaaaaa') %}{% endfor %}\n",
        2,
        "a replace",
    ),
    "a str method that pads": ("ok\n{{ 'x'.ljust(10**9) }}\n", 2, "ljust"),
    "the center filter": ("ok\n{{ 'x'|center(10**9) }}\n", 2, "center"),
    "a percent width": ("ok\n{{ '%999999999d'|format(1) }}\n", 2, "width"),
    "a percent width operator": ("ok\n{{ '%0999999999d' % 1 }}\n", 2, "width"),
    "a star width": ("ok\n{{ '%*d' % (999999999, 1) }}\n", 2, "'*' width"),
    "a format width": ("ok\n{{ '{:>999999999}'.format(1) }}\n", 2, "width"),
    "a nested format width": ("ok\n{{ '{:>{}}'.format(1, 10**9) }}\n", 2, "width"),
    "lipsum": ("ok\n{{ lipsum(10**7) }}\n", 2, "lipsum"),
    "slices": ("ok\n{{ [1]|slice(10**9)|list }}\n", 2, "slice"),
    "__class__": ("ok\n{{ ''.__class__.__mro__ }}\n", 2, "unsafe"),
    "__globals__": ("ok\n\n{{ cycler.__init__.__globals__ }}\n", 3, "unsafe"),
    "a helper's globals": ("ok\n{{ url.__func__.__globals__ }}\n", 2, "unsafe"),
    "mro": ("ok\n{{ config.__class__.mro() }}\n", 2, "unsafe"),
    "changing a list": ("{% set l = [1] %}\n{{ l.append(2) }}\n", 2, "unsafe"),
    "division by zero": ("ok\n\n{{ 1 / 0 }}\n", 3, "division by zero"),
    "integer division by zero": ("ok\n{{ 1 // 0 }}\n", 2, "ZeroDivisionError"),
    "modulo by zero": ("ok\n{{ 5 % 0 }}\n", 2, "ZeroDivisionError"),
    "an undefined name": ("ok\n{{ nope.deeper }}\n", 2, "'nope' is undefined"),
    "a missing image": ("ok\n{{ image(site.pictures[0], 'nope.jpeg') }}\n", 2, "nope.jpeg"),
    "a bad argument": ("ok\n{{ range('x') }}\n", 2, "TypeError"),
    "an included syntax error": ("ok\n{% include 'broken.html' %}\n", ("broken.html", 2), ""),
    "an included error": ("ok\n{% include 'zero.html' %}\n", ("zero.html", 3), "division"),
    "a missing include": ("ok\n\n{% include 'gone.html' %}\n", 3, "no template 'gone.html'"),
}
HELPERS = {
    "broken.html": "fine\n{% if %}\n",
    "zero.html": "fine\n\n{{ 10 / 0 }}\n",
}


@pytest.mark.parametrize("case", sorted(HOSTILE_TEMPLATES))
def test_a_hostile_template_fails_with_one_error_line(case: str, one: Path, tmp_path: Path):
    text, where, words = HOSTILE_TEMPLATES[case]
    mine = make_theme(tmp_path / "mine", files={"templates/error.html": text} | {
        f"templates/{name}": body for name, body in HELPERS.items()
    })  # fmt: skip
    started = time.monotonic()
    run = gallery(
        "build", one, "-o", tmp_path / "out", "--theme", mine,
        env={"GALLERY_TEMPLATE_TIMEOUT": "3"}, timeout=60,
    )  # fmt: skip
    assert time.monotonic() - started < 30
    assert run.returncode == 1, run.stderr
    assert "Traceback" not in run.stderr + run.stdout
    errors = [line for line in run.stderr.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1, run.stderr
    assert run.stderr.strip().endswith(errors[0])  # and nothing after it
    name, line = where if isinstance(where, tuple) else ("error.html", where)
    assert errors[0].startswith("Error: cannot render error.html: template ")
    if line is None:
        assert f"mine/templates/{name}" in errors[0], errors[0]
    else:
        assert f"mine/templates/{name}:{line}: " in errors[0], errors[0]
    assert words in errors[0]


def test_a_page_that_is_not_valid_unicode_is_one_error_line(one: Path, tmp_path: Path) -> None:
    mine = make_theme(tmp_path / "mine", files={"templates/error.html": "ok {{ '\\udc80' }}\n"})
    run = gallery("build", one, "-o", tmp_path / "out", "--theme", mine)
    assert run.returncode == 1 and "Traceback" not in run.stderr
    errors = [line for line in run.stderr.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1 and "cannot render error.html" in errors[0], run.stderr
    assert "not valid Unicode" in errors[0]


def test_a_template_syntax_error_names_file_and_line_through_the_cli(one: Path, tmp_path):
    mine = make_theme(tmp_path / "mine", files={"templates/album.html": "a\nb\n{% for %}\n"})
    run = gallery("build", one, "-o", tmp_path / "out", "--theme", mine)
    assert run.returncode == 1 and "Traceback" not in run.stderr
    errors = [line for line in run.stderr.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1 and "mine/templates/album.html:3: " in errors[0], run.stderr


def test_a_bad_template_timeout_setting_is_a_usage_error(one: Path, tmp_path: Path) -> None:
    run = gallery("build", one, "-o", tmp_path / "out", env={"GALLERY_TEMPLATE_TIMEOUT": "soon"})
    assert run.returncode == 2 and "GALLERY_TEMPLATE_TIMEOUT='soon'" in run.stderr


def test_the_sandbox_still_lets_a_theme_do_what_pages_need(one: Path, out: Path, tmp_path):
    page = (
        "{% extends 'default:base.html' %}"
        "{% from 'default:macros.html' import responsive_image with context %}"
        "{% block main %}"
        "{% set ns = namespace(n=0) %}{% for a in site.albums() %}{% set ns.n = ns.n + 1 %}"
        "{% endfor %}albums={{ ns.n }};"
        "count={{ site.root.picture_count() }};"
        "rule={{ '-' * 5 }};pad={{ '%03d'|format(7) }};fmt={{ '{:>4}'.format('x') }};"
        "keys={{ site.pictures[0].derivatives.keys()|list|length > 0 }};"
        "dict={{ dict(a=1)|tojson }};big={{ 2**64 }};"
        "loop={% for i in range(3) %}{{ loop.index }}{% endfor %};"
        "date={{ '2024-05-17T10:42:00'|date }};"
        "{{ responsive_image(site.pictures[0], 'alt') }}"
        "{% endblock %}"
    )
    mine = make_theme(tmp_path / "mine", files={"templates/error.html": page})
    build_gallery(one, out, theme=str(mine))
    html = (out / "error.html").read_text()
    for expected in ("albums=1;", "count=1;", "rule=-----;", "pad=007;", "fmt=   x;",
                     "keys=True;", 'dict={"a": 1};', "big=18446744073709551616;",
                     "loop=123;", "date=17 May 2024;", "<picture"):  # fmt: skip
        assert expected in html, expected
    assert '<link rel="stylesheet" href="/photos/_static/style.' in html


def test_the_minimal_theme_still_builds(one: Path, out: Path) -> None:
    build_gallery(one, out, theme="minimal")
    assert "<footer" in (out / "index.html").read_text()


SECRET = "root:x:0:0:the secret line"


@pytest.mark.parametrize("how", ["static-file", "template-file", "template-folder"])
def test_a_theme_never_brings_in_a_file_through_a_link_out_of_it(
    how: str, one: Path, tmp_path: Path
) -> None:
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (outside / "passwd").write_text(SECRET + "\n")
    mine = make_theme(tmp_path / "mine")
    if how == "static-file":
        (mine / "static").mkdir()
        (mine / "static" / "pw.txt").symlink_to(outside / "passwd")
    else:
        (mine / "templates").mkdir()
        if how == "template-file":
            (mine / "templates" / "pw.html").symlink_to(outside / "passwd")
            (mine / "templates" / "album.html").write_text("{% include 'pw.html' %}\n")
        else:
            (mine / "templates" / "sub").symlink_to(outside, target_is_directory=True)
            (mine / "templates" / "album.html").write_text("{% include 'sub/passwd' %}\n")
    out = tmp_path / "out"
    run = gallery("build", one, "-o", out, "--theme", mine)
    assert run.returncode == 1 and "Traceback" not in run.stderr, run.stderr
    errors = [line for line in run.stderr.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1 and "a link out of the theme's folder" in errors[0], run.stderr
    for file in out.rglob("*"):
        if file.is_file():
            assert SECRET.encode() not in file.read_bytes(), file


def test_a_link_inside_the_theme_still_works(one: Path, tmp_path: Path) -> None:
    mine = make_theme(tmp_path / "mine", files={"static/a.txt": "shared\n"})
    (mine / "static" / "b.txt").symlink_to(mine / "static" / "a.txt")
    out = tmp_path / "out"
    run = gallery("build", one, "-o", out, "--theme", mine)
    assert run.returncode == 0, run.stderr
    assert [f.read_text() for f in (out / "_static").glob("b.*.txt")] == ["shared\n"]


def test_preload_compiles_what_a_page_uses_once_and_nothing_else() -> None:
    from gallery_builder.template_worker import preload
    from gallery_builder.theming import make_environment

    themes = Path(__import__("gallery_builder.themes").themes.__file__).parent
    installed = installed_themes([themes / "minimal", themes / "default"])
    environment = make_environment(theme_chain("minimal", installed))
    preload(environment, environment.get_template("album.html"))
    names = {name for _, name in environment.cache}
    # album.html extends base.html (minimal's), which extends default:base.html; album.html
    # imports macros.html: each compiled once, and not root.html or private.html
    assert names == {"album.html", "base.html", "default:base.html", "macros.html"}
    files = [t.filename for t in environment.cache.values()]
    assert sorted(set(files)) == sorted(files)
