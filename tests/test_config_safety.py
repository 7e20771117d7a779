"""Settings from folders with awkward names and permissions: a message, never a traceback; a
gallery.toml that reads back as written."""

from __future__ import annotations

import os
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import gallery

from gallery_builder.config import ConfigError, load_config, toml_value
from gallery_builder.testing import run_cli


@pytest.fixture
def unsearchable(source: Path) -> Iterator[Path]:
    """SOURCE with read but no search permission (``chmod 444``): listed, nothing opened."""
    source.chmod(0o444)
    yield source
    source.chmod(0o755)


def test_a_source_that_cannot_be_searched_names_the_settings_file(
    unsearchable: Path,
    out: Path,
    unprivileged: list[str],
) -> None:
    run = gallery("build", unsearchable, "-o", out, prefix=unprivileged)

    assert run.returncode == 2, run.stderr
    assert "Traceback" not in run.stderr
    assert (
        f"Error: {unsearchable / 'gallery.toml'}: cannot look for the settings file: "
        f"Permission denied; check the permissions of {unsearchable}"
    ) in run.stderr


def test_any_error_looking_for_the_settings_file_is_a_config_error(tmp_path: Path) -> None:
    source = tmp_path / ("x" * 300)  # longer than any file name may be (ENAMETOOLONG)
    with pytest.raises(ConfigError) as caught:
        load_config(source)
    assert caught.value.file == source / "gallery.toml"
    assert str(caught.value) == (
        f"{source / 'gallery.toml'}: cannot look for the settings file: File name too long"
    )


@pytest.mark.parametrize(
    "name",
    [
        'Trip\x01 "quoted" \\ back',
        "tab\tnew\nline\rbell\x07",
        "delete\x7f",
        "sun 🌅 Çay",
        "\\u0041 is not A",
    ],
)
def test_init_writes_a_title_that_reads_back_exactly(tmp_path: Path, name: str) -> None:
    folder = tmp_path / name
    folder.mkdir()

    result = run_cli(["init", folder])

    assert result.exit_code == 0, result.output
    assert load_config(folder).gallery.title == name


def test_init_keeps_a_title_in_any_script_readable(tmp_path: Path) -> None:
    folder = tmp_path / "Çay 🌅 東京"
    folder.mkdir()
    run_cli(["init", folder])
    assert 'title = "Çay 🌅 東京"\n' in (folder / "gallery.toml").read_text(encoding="utf-8")


def test_init_for_a_folder_name_that_is_not_utf8(tmp_path: Path) -> None:
    folder = os.path.join(os.fsencode(tmp_path), b"caf\xe9")  # Latin-1 bytes
    os.mkdir(folder)
    source = Path(os.fsdecode(folder))

    run = gallery("init", source)  # a real stdout: CliRunner's cannot print the name

    assert run.returncode == 0, run.stderr
    assert load_config(source).gallery.title == "caf\ufffd"


@pytest.mark.parametrize("value", ["a\x7fb", "\x00", "🌅", '"\\', ["jpeg", "webp"]])
def test_values_in_messages_are_valid_toml(value: object) -> None:
    assert tomllib.loads(f"v = {toml_value(value)}")["v"] == value
