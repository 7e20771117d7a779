"""Fixtures of gallery-watermark's tests: the installed plugins load as they would for a user,
and the pictures are real files made here."""

import pytest
from PIL import Image


@pytest.fixture(autouse=True)
def _installed_plugins_load(monkeypatch):
    """Every installed plugin loads through its entry point, as in `gallery build`."""
    monkeypatch.delenv("GALLERY_DISABLE_PLUGIN_AUTOLOAD", raising=False)
    monkeypatch.delenv("GALLERY_BLOCK_PLUGINS", raising=False)


@pytest.fixture
def photos(tmp_path):
    """One dark picture, 1600×1200, in a gallery that makes 1280 px JPEGs."""
    folder = tmp_path / "photos"
    folder.mkdir()
    Image.new("RGB", (1600, 1200), (20, 30, 60)).save(folder / "night.jpg", quality=95)
    (folder / "gallery.toml").write_text(
        '[images]\nsizes = [1280]\nformats = ["jpeg"]\n', encoding="utf-8"
    )
    return folder
