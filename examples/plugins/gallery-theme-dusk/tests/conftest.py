"""Fixtures of the dusk theme's tests: the installed plugins load as they would for a user, and
the pictures are real files made here."""

import pytest
from PIL import Image


@pytest.fixture(autouse=True)
def _installed_plugins_load(monkeypatch):
    """Every installed plugin loads through its entry point, as in `gallery build`; nothing of
    the machine's environment blocks one."""
    monkeypatch.delenv("GALLERY_DISABLE_PLUGIN_AUTOLOAD", raising=False)
    monkeypatch.delenv("GALLERY_BLOCK_PLUGINS", raising=False)


@pytest.fixture
def photos(tmp_path):
    """Two albums of plain pictures: the root with one, "Sea" with two."""
    folder = tmp_path / "photos"
    (folder / "Sea").mkdir(parents=True)
    Image.new("RGB", (800, 600), "orange").save(folder / "sunset.jpg")
    Image.new("RGB", (800, 600), "teal").save(folder / "Sea" / "wave.jpg")
    Image.new("RGB", (600, 800), "navy").save(folder / "Sea" / "night.jpg")
    return folder
