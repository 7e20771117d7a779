"""Shared fixtures. Pictures are real files made by ``pictures.py``; nothing is mocked."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

import pytest

from gallery_builder.plugin_manager import BLOCK_ENV, NO_AUTOLOAD_ENV


@pytest.fixture(autouse=True)
def _only_our_plugins(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests see gallery-builder's own plugins only, whatever else is installed."""
    monkeypatch.setenv(NO_AUTOLOAD_ENV, "1")
    monkeypatch.delenv(BLOCK_ENV, raising=False)


@pytest.fixture
def source(tmp_path: Path) -> Path:
    folder = tmp_path / "photos"
    folder.mkdir()
    return folder


@pytest.fixture
def out(tmp_path: Path) -> Path:
    return tmp_path / "site"


def read_manifest(out: Path) -> dict:
    return json.loads((out / "manifest.json").read_text(encoding="utf-8"))


def site_files(out: Path) -> dict[str, bytes]:
    """Every published file of a built site (all but the build state) by relative path."""
    return {
        p.relative_to(out).as_posix(): p.read_bytes()
        for p in sorted(out.rglob("*"))
        if p.is_file() and ".gallery" not in p.relative_to(out).parts
    }


#: a build of a few tiny pictures takes about a second; a hung build is killed after this
TIMEOUT = 60


def gallery(
    *args: str | Path,
    prefix: Sequence[str] = (),
    timeout: float = TIMEOUT,
    cwd: Path | None = None,
    env: Mapping[str, str] | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run the real ``gallery ARGS`` in a child process (``prefix`` before it, e.g. setpriv),
    killed, and the test failed, if it hangs."""
    command = [*prefix, sys.executable, "-m", "gallery_builder", *map(str, args)]
    try:
        return subprocess.run(
            command, capture_output=True, text=True, errors="replace", timeout=timeout,
            cwd=cwd, env=None if env is None else {**os.environ, **env},
        )  # fmt: skip
    except subprocess.TimeoutExpired:
        pytest.fail(f"`gallery {' '.join(map(str, args))}` still running after {timeout} s")


@pytest.fixture(scope="session")
def unprivileged(tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    """A command prefix that runs a program subject to file permissions."""
    prefix: list[str] = []
    if os.geteuid() == 0:
        setpriv = shutil.which("setpriv")
        if setpriv is None:
            pytest.fail("tests run as root and need `setpriv` (util-linux) to drop privileges")
        prefix = [setpriv, "--bounding-set=-all", "--inh-caps=-all"]
    locked = tmp_path_factory.mktemp("probe") / "locked"
    locked.write_text("x")
    locked.chmod(0)
    probe = subprocess.run(
        [*prefix, sys.executable, "-c", f"open({str(locked)!r}).read()"],
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
    )
    if "PermissionError" not in probe.stderr:
        pytest.fail(
            f"cannot run a process that file permissions apply to ({prefix or 'as is'}): "
            f"it read a chmod 000 file; exit {probe.returncode}, stderr {probe.stderr!r}"
        )
    return prefix
