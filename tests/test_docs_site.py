"""The documentation site: ``mkdocs build --strict`` succeeds (no broken link, no page left out
of the nav), and the generated references hold every command, option and setting the code
has, so that they cannot drift from it."""

from __future__ import annotations

import os
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import click
import pytest
import yaml

from gallery_builder.config import SCHEMA
from gallery_builder.settings_reference import SETTINGS, allowed, default_text

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
sys.path.insert(0, str(DOCS / "_hooks"))
import reference  # noqa: E402  (docs/_hooks/reference.py, the MkDocs hook)


class _Text(HTMLParser):
    """A page's visible text and its element ids."""

    def __init__(self) -> None:
        super().__init__()
        self.ids: set[str] = set()
        self.chunks: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.ids.update(value for name, value in attrs if name == "id" and value)

    def handle_data(self, data: str) -> None:
        self.chunks.append(data)

    @property
    def text(self) -> str:
        return " ".join("".join(self.chunks).split())


def _page(site: Path, name: str) -> _Text:
    parser = _Text()
    parser.feed((site / name / "index.html").read_text(encoding="utf-8"))
    return parser


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    site = tmp_path_factory.mktemp("docs") / "site"
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "-f", str(ROOT / "mkdocs.yml"),
         "-d", str(site)],
        capture_output=True, text=True, timeout=300, cwd=ROOT, env=env,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "WARNING" not in result.stderr, result.stderr
    return site


def test_the_site_builds_strictly_with_every_page(built: Path) -> None:
    for page in sorted(DOCS.glob("*.md")):
        name = "" if page.stem == "index" else page.stem
        assert (built / name / "index.html").is_file(), page.name
    # the hook's source is not published as a page or a file
    assert not (built / "_hooks").exists()


def _nav_pages(entries: list) -> list[str]:
    pages: list[str] = []
    for entry in entries:
        value = next(iter(entry.values())) if isinstance(entry, dict) else entry
        pages += _nav_pages(value) if isinstance(value, list) else [value]
    return pages


def _nav() -> list[str]:
    class Loader(yaml.SafeLoader):
        pass

    # mkdocs.yml names a Python function (toc's slugify); the nav is all this test reads
    Loader.add_multi_constructor("tag:yaml.org,2002:python/", lambda *_: None)
    config = yaml.load((ROOT / "mkdocs.yml").read_text(encoding="utf-8"), Loader=Loader)
    return _nav_pages(config["nav"])


def test_every_page_is_in_the_nav_and_the_nav_names_only_pages_or_planned_ones() -> None:
    nav = _nav()
    pages = {p.name for p in DOCS.glob("*.md")}
    assert sorted(pages - set(nav)) == [], "add these pages to the nav in mkdocs.yml"
    missing = set(nav) - pages
    assert missing <= reference.PLANNED, f"the nav names pages that do not exist: {missing}"
    assert len(nav) == len(set(nav))


def test_a_planned_page_that_does_not_exist_yet_is_left_out_of_the_nav(tmp_path: Path) -> None:
    (tmp_path / "howto-theme.md").write_text("# A theme\n")
    nav = [{"Home": "index.md"},
           {"How-to": [{"A theme": "howto-theme.md"}, {"A publisher": "howto-publisher.md"}]},
           {"Publishers": "publishers.md"}]  # fmt: skip
    assert reference._present(nav, tmp_path) == [
        {"Home": "index.md"}, {"How-to": [{"A theme": "howto-theme.md"}]}]  # fmt: skip


def _walk(command: click.Command, ctx: click.Context) -> list[tuple[click.Command, click.Context]]:
    found = [(command, ctx)]
    if isinstance(command, click.Group):
        for name in command.list_commands(ctx):
            sub = command.get_command(ctx, name)
            assert sub is not None
            found += _walk(sub, click.Context(sub, info_name=name, parent=ctx))
    return found


def test_the_cli_reference_has_every_command_argument_and_option(built: Path) -> None:
    page = _page(built, "cli-reference")
    group = reference.live_cli()
    commands = _walk(group, click.Context(group, info_name="gallery"))
    assert len(commands) > 5
    for command, ctx in commands:
        path = ctx.command_path
        assert path.replace(" ", "-") in page.ids, f"no section for `{path}`"
        assert f"Usage: {path} " in page.text
        if command.help:
            first = command.help.split("\n\n")[0].replace("`", "")
            assert " ".join(first.split()) in page.text, path
        for param in command.get_params(ctx):
            if isinstance(param, click.Argument):
                assert param.make_metavar(ctx) in page.text, (path, param.name)
                continue
            # -h/--help, on every command, is said once at the top of the page (click makes
            # it per command, with the names of whichever context asked first)
            record = None if param.name == "help" else param.get_help_record(ctx)
            if record is None:
                continue
            names, help_text = record
            assert names in page.text, (path, names)
            assert " ".join(help_text.replace("`", "").split()) in page.text, (path, names)


def test_the_cli_reference_follows_the_live_group_not_a_list() -> None:
    """A command or option a plugin adds (as publishers will to publish) is in it."""
    group = reference.live_cli()
    group.add_command(click.Command(
        "shiny", help="A plugin's command.",
        params=[click.Argument(["thing"]), click.Option(["--new-option"], help="Its option.")],
    ))  # fmt: skip
    text = reference.cli_reference(group)
    assert "## gallery shiny" in text and "A plugin's command." in text
    assert "`THING`" in text and "`--new-option TEXT` | Its option." in text


def test_the_configuration_reference_has_every_section_and_key(built: Path) -> None:
    page = _page(built, "configuration-reference")
    for section, keys in SCHEMA.items():
        assert f"[{section}]" in page.text
        for key, validator in keys.items():
            row = f"{key} {allowed(validator)}".replace("`", "")
            assert " ".join(row.split()) in page.text, (section, key)
            assert " ".join(SETTINGS[section][key].description.replace("`", "").split()) in (
                page.text
            ), (section, key)
            assert default_text(section, key).replace("`", "") in page.text, (section, key)


def test_every_setting_has_a_description_and_every_description_a_setting() -> None:
    declared = {(s, k) for s, keys in SCHEMA.items() for k in keys}
    described = {(s, k) for s, keys in SETTINGS.items() for k in keys}
    assert sorted(declared - described) == [], "describe these in settings_reference.py"
    assert sorted(described - declared) == [], "these are described but not in SCHEMA"
    for section, keys in SETTINGS.items():
        assert list(keys) == list(SCHEMA[section]), "list them in SCHEMA's order"
        for key, doc in keys.items():
            assert doc.description.strip(), (section, key)


def test_every_validator_says_what_it_allows() -> None:
    for keys in SCHEMA.values():
        for validator in keys.values():
            assert allowed(validator).strip()


def test_defaults_are_the_codes_own() -> None:
    assert default_text("images", "sizes") == "`[640, 1280, 2048]`"
    assert default_text("images", "strip_gps") == "`true`"
    assert default_text("gallery", "lang") == '`"en"`'
    assert default_text("publish", "cdn") == "not set"


def _prose(path: Path) -> str:
    return " ".join(path.read_text(encoding="utf-8").replace("`", "").split())


def test_the_effort_reference_says_what_configuration_md_says() -> None:
    page = _prose(DOCS / "configuration.md")
    described = SETTINGS["images"]["effort"].description
    for claim in (
        "files up to a quarter larger",
        "about twice the encoding time, four times for AVIF",
    ):
        assert claim in described and claim in page, claim


def test_the_missing_dask_error_is_quoted_as_the_code_says_it() -> None:
    from gallery_builder.plugins.dask_executor import INSTALL

    message = (
        '[build] executor = "dask" needs dask, which is not installed (No module named '
        f"'distributed'): {INSTALL}"
    )
    for page in ("configuration.md", "clusters.md"):
        assert f"Error: {message}" in _prose(DOCS / page), page
