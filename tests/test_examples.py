"""The worked examples in examples/plugins/ are what the docs promise: plugins written against
the public modules only, installed as distributions of their own, and quoted word for word by
the how-to pages."""

from __future__ import annotations

import ast
import re
import tomllib
from importlib.metadata import distribution, entry_points
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples" / "plugins"
DOCS = ROOT / "docs"
#: what a third-party plugin may import of gallery-builder (docs/writing-plugins.md)
PUBLIC_MODULES = {
    "gallery_builder",
    "gallery_builder.model",
    "gallery_builder.errors",
    "gallery_builder.publisher",
    "gallery_builder.plugin_settings",
    "gallery_builder.testing",
}
EXAMPLE_NAMES = ["gallery-feeds", "gallery-theme-dusk", "gallery-watermark", "gallery-zip"]


def private_imports(code: str) -> list[str]:
    """The gallery_builder modules outside the public set that ``code`` imports (also
    ``from gallery_builder import config``, which imports the private module)."""
    found = []
    for node in ast.walk(ast.parse(code)):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
            if node.module == "gallery_builder":
                names += [f"gallery_builder.{alias.name}" for alias in node.names]
        else:
            continue
        for name in names:
            in_package = name == "gallery_builder" or name.startswith("gallery_builder.")
            if in_package and name not in PUBLIC_MODULES and not _is_public_name(name):
                found.append(name)
    return found


def _is_public_name(name: str) -> bool:
    """``gallery_builder.hookimpl``: a name of a public module, not a module."""
    module, _, attribute = name.rpartition(".")
    return module in PUBLIC_MODULES and attribute in {"hookimpl", "__version__"}


def test_the_import_check_catches_a_private_module() -> None:
    code = (
        "import gallery_builder.config\n"
        "from gallery_builder.pipeline import build\n"
        "from gallery_builder import hookimpl, rendering\n"
        "from gallery_builder.model import Page\n"
        "from gallery_builder.testing import build_gallery\n"
    )
    assert private_imports(code) == [
        "gallery_builder.config",
        "gallery_builder.pipeline",
        "gallery_builder.rendering",
    ]


def example_sources() -> list[Path]:
    return sorted(EXAMPLES.rglob("*.py"))


def test_there_are_example_sources_to_check() -> None:
    folders = {p.relative_to(EXAMPLES).parts[0] for p in example_sources()}
    assert folders == set(EXAMPLE_NAMES)


@pytest.mark.parametrize("path", example_sources(), ids=lambda p: str(p.relative_to(EXAMPLES)))
def test_examples_import_only_the_public_modules(path: Path) -> None:
    assert private_imports(path.read_text(encoding="utf-8")) == [], (
        f"{path.relative_to(ROOT)} imports a private module of gallery_builder; a plugin "
        "written against the docs needs only " + ", ".join(sorted(PUBLIC_MODULES))
    )


@pytest.mark.parametrize("name", EXAMPLE_NAMES)
def test_each_example_is_installed_with_its_entry_point(name: str) -> None:
    """The README's test command installs them: their tests load them as a user would."""
    project = tomllib.loads((EXAMPLES / name / "pyproject.toml").read_text(encoding="utf-8"))
    declared = project["project"]["entry-points"]["gallery_builder"]
    installed = {
        ep.name: ep.value
        for ep in entry_points(group="gallery_builder")
        if ep.dist is not None and ep.dist.name == name
    }
    assert installed == declared, f"pip install -e examples/plugins/{name} (see README.md)"
    assert distribution(name).version == project["project"]["version"]
    assert list((EXAMPLES / name / "tests").glob("test_*.py"))


def test_the_readme_command_installs_and_tests_every_example() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    (command,) = [line for line in readme.splitlines() if "python -m pytest" in line]
    for name in EXAMPLE_NAMES:
        assert f"-e examples/plugins/{name}" in command
    assert command in (ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines()
    settings = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    testpaths = settings["tool"]["pytest"]["ini_options"]["testpaths"]
    assert {f"examples/plugins/{name}/tests" for name in EXAMPLE_NAMES} <= set(testpaths)
    # tests/conftest.py loads last, so that `from conftest import …` in tests/ finds it
    assert testpaths[-1] == "tests"


#: a fenced block whose first line names the file it shows: ``# examples/plugins/x/y.py``
#: (or ``{# … #}``, ``/* … */``, ``<!-- … -->`` in templates and CSS)
FENCE = re.compile(r"^```[\w+-]*\n(.*?)^```", re.M | re.S)
SOURCE_LINE = re.compile(r"^(?:#|\{#|/\*|<!--)\s*(examples/plugins/\S+?)\s*(?:#\}|\*/|-->)?$")


def quoted_files(text: str) -> list[tuple[str, str]]:
    """(path, the block's text after its first line) for every block that names a file."""
    found = []
    for block in FENCE.findall(text):
        first, _, rest = block.partition("\n")
        match = SOURCE_LINE.match(first)
        if match:
            found.append((match.group(1), rest))
    return found


def test_the_quote_check_reads_each_comment_style() -> None:
    text = (
        "```python\n# examples/plugins/a/b.py\nx = 1\n```\n"
        "```jinja\n{# examples/plugins/a/t.html #}\n<p>\n```\n"
        "```css\n/* examples/plugins/a/s.css */\np {}\n```\n"
        "```python\nprint('no file named')\n```\n"
    )
    assert quoted_files(text) == [
        ("examples/plugins/a/b.py", "x = 1\n"),
        ("examples/plugins/a/t.html", "<p>\n"),
        ("examples/plugins/a/s.css", "p {}\n"),
    ]


HOWTOS = ["howto-theme.md", "howto-publisher.md", "howto-build-plugin.md"]


@pytest.mark.parametrize("page", HOWTOS)
def test_the_howtos_quote_the_example_files_word_for_word(page: str) -> None:
    quotes = quoted_files((DOCS / page).read_text(encoding="utf-8"))
    assert quotes, f"docs/{page} quotes no file of examples/plugins"
    for path, text in quotes:
        file = ROOT / path
        assert file.is_file(), f"docs/{page} quotes {path}, which does not exist"
        assert text == file.read_text(encoding="utf-8"), (
            f"docs/{page}: the block marked {path} differs from the file; copy the file in"
        )


def test_writing_plugins_links_every_howto() -> None:
    overview = (DOCS / "writing-plugins.md").read_text(encoding="utf-8")
    for page in HOWTOS:
        assert f"({page}" in overview
