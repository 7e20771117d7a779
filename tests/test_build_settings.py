"""``[build]`` in gallery.toml (gallery_builder/build_settings.py): the executor and the dask
scheduler, each mistake named with the file, the line, the key and what is allowed."""

from __future__ import annotations

from pathlib import Path

import pictures
import pytest

from gallery_builder.build_settings import BuildSettings
from gallery_builder.config import ConfigError, load_config
from gallery_builder.testing import run_cli


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        ('[build]\nexecutor = "ray"\n', 2, '[build] executor = "ray" is not allowed; expected '
         '"local" or "dask"'),
        ('[build]\nexecutor = "dask"\nscheduler = "scheduler.lan"\n', 3,
         '[build] scheduler = "scheduler.lan" is not allowed; expected a scheduler address '
         'such as "tcp://scheduler.lan:8786"'),
        ('[build]\nexecutor = "dask"\nscheduler = "tcp://h:99999"\n', 3,
         "is not allowed; expected a scheduler address"),
        ('[build]\nscheduler = "tcp://h:8786"\n', 2,
         '[build] scheduler = "tcp://h:8786" is for the dask executor; add executor = "dask" '
         "to [build], or remove scheduler"),
        ("[build]\nworkers = 4\n", 2, "unknown key 'workers' in [build]; allowed: executor, "
         "scheduler"),
    ],
)  # fmt: skip
def test_bad_build_settings_name_the_file_line_key_and_what_is_allowed(
    source: Path, text: str, line: int, message: str
) -> None:
    path = source / "gallery.toml"
    path.write_text(text)
    with pytest.raises(ConfigError) as caught:
        load_config(source)
    assert str(caught.value).startswith(f"{path}:{line}: ")
    assert message in str(caught.value)


def test_build_settings_are_read(source: Path) -> None:
    (source / "gallery.toml").write_text(
        '[build]\nexecutor = "dask"\nscheduler = "tls://[::1]:8786"\n'
    )
    config = load_config(source)
    assert (config.build.executor, config.build.scheduler) == ("dask", "tls://[::1]:8786")
    (source / "gallery.toml").write_text("[build]\n")
    assert load_config(source).build == BuildSettings("local", "")  # the defaults


@pytest.mark.parametrize("option", [[], ["--executor", "local"]], ids=["no option", "local"])
def test_a_scheduler_without_dask_chosen_by_file_or_option_is_an_error(
    source: Path, out: Path, option: list[str]
) -> None:
    pictures.jpeg(source / "a.jpg")
    path = source / "gallery.toml"
    path.write_text('[build]\nscheduler = "tcp://h:8786"\n')
    result = run_cli(["build", source, "-o", out, *option])
    assert result.exit_code == 2, result.output
    assert result.output.strip().splitlines()[-1] == (
        f'Error: {path}:2: [build] scheduler = "tcp://h:8786" is for the dask executor; add '
        'executor = "dask" to [build], or remove scheduler'
    )


def test_executor_given_replaces_the_files_before_the_keys_are_checked(source: Path) -> None:
    (source / "gallery.toml").write_text('[build]\nscheduler = "tcp://h:8786"\n')
    config = load_config(source, executor="dask")
    assert config.build == BuildSettings("dask", "tcp://h:8786")
    (source / "gallery.toml").write_text('[build]\nexecutor = "dask"\n')
    assert load_config(source, executor="local").build == BuildSettings("local", "")
    (source / "gallery.toml").unlink()
    assert load_config(source, executor="dask").build == BuildSettings("dask", "")
