"""Options a publisher declares (gallery_builder/publisher_options.py): the commands that
open a publisher take every installed publisher's options, the factory gets only its own,
an option for another scheme's publisher is a usage error naming the target's scheme, and
two publishers disagreeing on one option is an error naming both. The publishers here are
real plugins (a ``paint://`` one writing into a folder with a real FilePublisher), run
through the ``gallery`` CLI."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import click
import pictures
import pytest
from gallery_builder.plugins.file_publisher import FilePublisher

from gallery_builder import hookimpl
from gallery_builder.plugin_settings import Setting, text
from gallery_builder.testing import run_cli

S3_OPTIONS = ["--endpoint-url", "--region", "--profile"]
CDN_OPTIONS = ["--cdn", "--domain", "--wait / --no-wait", "--purge", "--private / --no-private"]


class Painter:
    """A publisher plugin for ``paint://NAME`` declaring ``--colour``: records what its
    factory is given, and publishes into ``root/NAME``."""

    def __init__(self, root: Path, scheme: str = "paint", **declaration: Any):
        self.root, self.scheme = root, scheme
        self.calls: list[tuple[str, dict[str, Any]]] = []
        declaration = declaration or {"default": "blue", "help": "The paint's colour."}
        self.option = click.Option(["--colour"], **declaration)

    @hookimpl
    def gallery_publishers(self) -> dict[str, Any]:
        def factory(target: str, **options: Any) -> FilePublisher:
            self.calls.append((target, options))
            return FilePublisher(self.root / urlsplit(target).netloc)

        factory.options = [self.option]  # type: ignore[attr-defined]
        return {self.scheme: factory}


class PainterWithSettings(Painter):
    @hookimpl
    def gallery_settings(self) -> dict[str, Setting]:
        return {"colour": Setting("blue", check=text())}


@pytest.fixture
def photos(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "photos"
    pictures.jpeg(folder / "a.jpg")
    monkeypatch.chdir(tmp_path)
    return folder


def build(*plugins: Any) -> None:
    result = run_cli(["build", "photos", "-j", "1", "-q"], *plugins)
    assert result.exit_code == 0, result.output


def option_lines(help_text: str) -> list[str]:
    return [line.split()[0] for line in help_text.splitlines() if line.startswith("  --")]


# --- The S3 publisher's options are its own -------------------------------------------------


def test_publish_help_lists_the_s3_options_and_blocking_the_plugin_takes_them_away() -> None:
    shown = run_cli(["publish", "--help"]).output
    for option in [*S3_OPTIONS, *CDN_OPTIONS]:
        assert f"  {option} " in shown, option
    assert "The AWS region (default: [publish], the profile's" in shown
    blocked = run_cli(["publish", "--help"], block=["s3_publisher"])
    assert blocked.exit_code == 0, blocked.output
    for option in ["--endpoint-url", "--region", "--profile", "--cdn", "--domain", "--wait"]:
        assert option not in blocked.output
    assert "--dry-run" in blocked.output  # the command's own options stay


@pytest.mark.parametrize("command", ["verify", "unpublish", "invite"])
def test_the_other_commands_take_the_s3_clients_options_but_not_the_cdns(command: str) -> None:
    shown = run_cli([command, "--help"]).output
    for option in S3_OPTIONS:
        assert f"  {option} " in shown, option
    assert "--cdn" not in option_lines(shown) and "--purge" not in option_lines(shown)
    assert "--region" not in run_cli([command, "--help"], block=["s3_publisher"]).output


# --- A plugin's publisher declares its own ---------------------------------------------------


def test_a_declared_option_reaches_only_its_factory(photos: Path, tmp_path: Path) -> None:
    painter = Painter(tmp_path / "paint")
    build(("painter", painter))
    assert "--colour TEXT" in run_cli(["publish", "--help"], ("painter", painter)).output
    result = run_cli(["publish", "paint://one", "--colour", "red"], ("painter", painter))
    assert result.exit_code == 0, result.output
    assert painter.calls == [("paint://one", {"colour": "red"})]
    assert (tmp_path / "paint" / "one" / "photos" / "manifest.json").is_file()
    result = run_cli(["publish", "paint://one"], ("painter", painter))
    assert result.exit_code == 0, result.output
    assert painter.calls[-1] == ("paint://one", {"colour": "blue"})  # the option's default


def test_an_option_without_a_value_is_not_given_to_the_factory(
    photos: Path, tmp_path: Path
) -> None:
    painter = Painter(tmp_path / "paint", help="The paint's colour.")  # no default: None
    build(("painter", painter))
    assert run_cli(["publish", "paint://one"], ("painter", painter)).exit_code == 0
    assert painter.calls == [("paint://one", {})]  # the factory's own default applies


def test_another_schemes_option_is_a_usage_error_naming_the_scheme(
    photos: Path, tmp_path: Path
) -> None:
    painter = Painter(tmp_path / "paint")
    build(("painter", painter))
    result = run_cli(["publish", "paint://one", "--region", "x"], ("painter", painter))
    assert result.exit_code == 2
    assert result.output == (
        "Error: --region is not an option of paint:// targets: it is for s3:// (plugin "
        "'s3_publisher'); leave it out, or publish to such a target\n"
    )
    result = run_cli(["publish", "s3://a-bucket", "--colour", "red"], ("painter", painter))
    assert result.exit_code == 2
    assert "Error: --colour is not an option of s3:// targets: it is for paint:// (plugin " in (
        result.output
    )
    assert painter.calls == []


def test_the_other_commands_give_the_factory_its_options(photos: Path, tmp_path: Path) -> None:
    painter = Painter(tmp_path / "paint")
    build(("painter", painter))
    assert run_cli(["publish", "paint://one"], ("painter", painter)).exit_code == 0
    verify = run_cli(["verify", "paint://one", "-d", "photos", "--colour", "red"],
                     ("painter", painter))  # fmt: skip
    assert verify.exit_code == 0, verify.output
    assert painter.calls[-1] == ("paint://one", {"colour": "red"})
    gone = run_cli(["unpublish", "paint://one", "-d", "photos", "--colour", "green"],
                   ("painter", painter))  # fmt: skip
    assert gone.exit_code == 0, gone.output
    assert painter.calls[-1] == ("paint://one", {"colour": "green"})
    assert not (tmp_path / "paint" / "one" / "photos" / "manifest.json").exists()


def test_the_plugins_setting_comes_after_the_command_line(photos: Path, tmp_path: Path) -> None:
    painter = PainterWithSettings(tmp_path / "paint")
    settings = photos / "gallery.toml"
    settings.write_text(
        '[publish]\ntarget = "paint://one"\n\n[plugins.painter]\ncolour = "green"\n'
    )
    build(("painter", painter))
    result = run_cli(["publish", "--dry-run"], ("painter", painter))
    assert result.exit_code == 0, result.output
    assert painter.calls[-1] == ("paint://one", {"colour": "green"})
    assert f"using colour green ({settings.resolve()}:5)" in result.output.splitlines()
    result = run_cli(["publish", "--dry-run", "--colour", "red"], ("painter", painter))
    assert painter.calls[-1] == ("paint://one", {"colour": "red"})
    assert "using colour red (--colour)" in result.output.splitlines()


def test_a_plugin_setting_left_out_leaves_the_options_default(photos: Path, tmp_path: Path) -> None:
    painter = PainterWithSettings(tmp_path / "paint", default="white")
    (photos / "gallery.toml").write_text('[publish]\ntarget = "paint://one"\n')
    build(("painter", painter))
    result = run_cli(["publish", "--dry-run"], ("painter", painter))
    assert result.exit_code == 0, result.output
    assert painter.calls[-1] == ("paint://one", {"colour": "white"})
    assert "using colour" not in result.output


# --- Two publishers, one option ---------------------------------------------------------------


def test_two_publishers_declaring_one_option_differently_is_an_error_naming_both(
    photos: Path, tmp_path: Path
) -> None:
    one = Painter(tmp_path / "a", "paint")
    other = Painter(tmp_path / "b", "ink", type=click.Choice(["red", "blue"]))
    build(("painter", one), ("inker", other))
    result = run_cli(["publish", "paint://x"], ("painter", one), ("inker", other))
    assert result.exit_code == 1
    assert result.output.startswith("Error: --colour is declared differently by plugin ")
    assert "'painter' (paint://)" in result.output and "'inker' (ink://)" in result.output
    assert "block one with --block NAME" in result.output
    assert one.calls == [] and other.calls == []
    # the CLI is still made: other commands work
    assert run_cli(["build", "photos", "-q"], ("painter", one), ("inker", other)).exit_code == 0


def test_two_publishers_declaring_one_option_alike_share_it(photos: Path, tmp_path: Path) -> None:
    one, other = Painter(tmp_path / "a", "paint"), Painter(tmp_path / "b", "ink")
    build(("painter", one), ("inker", other))
    plugins = (("painter", one), ("inker", other))
    assert run_cli(["publish", "ink://x", "--colour", "red"], *plugins).exit_code == 0
    assert other.calls == [("ink://x", {"colour": "red"})] and one.calls == []


def test_a_publisher_option_taking_a_commands_own_is_an_error(photos: Path, tmp_path: Path) -> None:
    painter = Painter(tmp_path / "paint")
    painter.option = click.Option(["--dry-run"], is_flag=True)
    result = run_cli(["publish", "paint://one"], ("painter", painter))
    assert result.exit_code == 1
    assert result.output == (
        "Error: plugin 'painter' declares --dry-run for its paint:// publisher, which gallery "
        "publish has already: rename the option, or block it with --block painter\n"
    )
