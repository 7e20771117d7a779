"""Shared fixtures. Pictures are real files made by ``pictures.py``; nothing is mocked."""

from __future__ import annotations

import json
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
