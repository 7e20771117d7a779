"""Plugins load through entry points, built-in or third-party alike; they can be listed and
blocked."""

from __future__ import annotations

import json
import subprocess
import textwrap
from importlib.metadata import entry_points
from pathlib import Path

import pictures
import pytest
from conftest import gallery, read_manifest

from gallery_builder import __version__
from gallery_builder.cli import blocked_in
from gallery_builder.plugin_manager import BLOCK_ENV, NO_AUTOLOAD_ENV
from gallery_builder.testing import plugin_manager, run_cli

BUILTINS = {
    "scan", "metadata", "images", "executor", "albums", "render", "file_publisher", "s3_publisher",
    "dask_executor",
    "vips",
}  # fmt: skip


def install(site: Path, dist: str, version: str, plugin: str, code: str) -> Path:
    """Install, into the folder ``site``, a distribution ``dist`` holding a module whose
    ``gallery_builder`` entry point is named ``plugin``: as pip would, without pip."""
    module = dist.replace("-", "_")
    info = site / f"{module}-{version}.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: {version}\n")
    (info / "entry_points.txt").write_text(f"[gallery_builder]\n{plugin} = {module}\n")
    (site / f"{module}.py").write_text(textwrap.dedent(code))
    return site


def gallery_with(site: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """``gallery ARGS`` in a real process that sees the distributions installed in ``site``."""
    return gallery(*args, env={"PYTHONPATH": str(site), NO_AUTOLOAD_ENV: ""})


@pytest.fixture
def third_party(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """An installed distribution 'gallery-hello' 1.2.3 with a plugin named 'hello'."""
    code = """
        from gallery_builder import hookimpl

        @hookimpl
        def gallery_manifest_fields(site, config):
            return {"hello": "world"}
        """
    site = install(tmp_path / "site-packages", "gallery-hello", "1.2.3", "hello", code)
    monkeypatch.syspath_prepend(str(site))
    monkeypatch.delenv(NO_AUTOLOAD_ENV)
    return "hello"


def test_builtins_are_registered_through_our_own_entry_points() -> None:
    ours = {ep.name: ep.value for ep in entry_points(group="gallery_builder")}
    assert set(ours) >= BUILTINS
    # each a module of gallery_builder.plugins; the S3 publisher a package, named as before
    modules = {name: f"gallery_builder.plugins.{name}" for name in BUILTINS}
    modules["s3_publisher"] = "gallery_builder.plugins.s3"
    assert {name: ours[name] for name in BUILTINS} == modules
    pm = plugin_manager()
    assert {name for name, _ in pm.list_name_plugin()} == BUILTINS


def test_plugins_command_lists_name_distribution_version_and_hooks() -> None:
    result = run_cli(["plugins", "--json"])
    assert result.exit_code == 0
    rows = {row["name"]: row for row in json.loads(result.output)}
    assert set(rows) == BUILTINS
    assert {(r["distribution"], r["version"]) for r in rows.values()} == {
        ("gallery-builder", __version__)
    }
    assert rows["scan"]["hooks"] == ["gallery_fingerprint", "gallery_identify", "gallery_scan"]
    assert rows["render"]["hooks"] == [
        "gallery_pages",
        "gallery_render_page",
        "gallery_themes",
    ]
    text = run_cli(["plugins"]).output
    assert f"scan             gallery-builder {__version__}" in text
    assert "hooks: gallery_fingerprint, gallery_identify, gallery_scan" in text


def test_an_installed_third_party_plugin_is_loaded_and_listed(
    third_party: str, source: Path, out: Path
) -> None:
    rows = {row["name"]: row for row in json.loads(run_cli(["plugins", "--json"]).output)}
    assert BUILTINS | {"hello"} <= set(rows)
    assert (rows["hello"]["distribution"], rows["hello"]["version"]) == ("gallery-hello", "1.2.3")
    assert rows["hello"]["hooks"] == ["gallery_manifest_fields"]
    pictures.jpeg(source / "a.jpg")
    assert run_cli(["build", source, "-o", out]).exit_code == 0
    assert read_manifest(out)["hello"] == "world"
    assert plugin_manager().has_plugin("hello")
    assert not plugin_manager(autoload=False).has_plugin("hello")


def test_third_party_autoloading_can_be_turned_off(
    third_party: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(NO_AUTOLOAD_ENV, "1")
    names = {row["name"] for row in json.loads(run_cli(["plugins", "--json"]).output)}
    assert names == BUILTINS


def test_a_plugin_is_blocked_by_flag_or_environment(
    third_party: str, monkeypatch: pytest.MonkeyPatch, source: Path, out: Path
) -> None:
    listed = run_cli(["--block", "hello", "plugins", "--json"]).output
    assert "hello" not in {row["name"] for row in json.loads(listed)}
    pictures.jpeg(source / "a.jpg")
    assert run_cli(["--block", "hello", "build", source, "-o", out]).exit_code == 0
    assert "hello" not in read_manifest(out)
    monkeypatch.setenv(BLOCK_ENV, "hello, images")
    names = {row["name"] for row in json.loads(run_cli(["plugins", "--json"]).output)}
    # other installed plugins (the README's command installs examples/plugins) load too
    assert names & BUILTINS == BUILTINS - {"images"} and "hello" not in names


def test_a_blocked_builtin_can_be_replaced(source: Path, out: Path) -> None:
    from gallery_builder.plugins.executor import InlineExecutor

    from gallery_builder import hookimpl

    class MyExecutor:
        @hookimpl
        def gallery_executor(self, config, jobs):
            return InlineExecutor()

    pictures.jpeg(source / "a.jpg")
    result = run_cli(["--block", "executor", "build", source, "-o", out], MyExecutor())
    assert result.exit_code == 0, result.output
    assert "1 built" in result.output


def test_a_broken_third_party_plugin_is_reported_not_fatal(tmp_path: Path) -> None:
    code = "raise ImportError('needs libfoo')\n"
    site = install(tmp_path / "site-packages", "gallery-broken", "0.1", "broken", code)
    process = gallery_with(site, "plugins")
    assert process.returncode == 0
    assert "warning: plugin 'broken' from gallery-broken 0.1 could not be loaded" in process.stderr
    assert "ImportError: needs libfoo" in process.stderr and "Traceback" not in process.stderr
    assert "scan" in process.stdout


def test_blocking_a_plugin_also_removes_its_commands(tmp_path: Path) -> None:
    code = """
        import click
        from gallery_builder import hookimpl

        @hookimpl
        def gallery_register_commands(cli):
            cli.add_command(click.Command("hello", callback=lambda: click.echo("hi")))
        """
    site = install(tmp_path / "site-packages", "gallery-cmd", "1.0", "cmd", code)
    assert gallery_with(site, "hello").stdout == "hi\n"
    assert gallery_with(site, "--block", "cmd", "hello").returncode == 2  # no such command
    assert "hello" not in gallery_with(site, "--block=cmd", "--help").stdout
    assert blocked_in(["--block", "a", "--block=b", "build", "--block", "c"]) == ["a", "b"]


def test_each_plugin_is_known_by_its_distribution_name_read_once() -> None:
    from importlib.metadata import entry_points

    from gallery_builder.plugin_manager import distribution_name

    for ep in entry_points(group="gallery_builder"):
        if ep.dist is not None:
            assert distribution_name(ep.dist) == ep.dist.metadata["Name"]
            assert ep.dist.__dict__["_gallery_name"] == ep.dist.metadata["Name"]  # kept
