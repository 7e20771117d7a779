"""Fixtures of gallery-zip's tests: the installed plugins load as they would for a user, and
the pictures are real files made here."""

import pytest
from PIL import Image

from gallery_builder.testing import build_gallery


@pytest.fixture(autouse=True)
def _installed_plugins_load(monkeypatch):
    """Every installed plugin loads through its entry point, as in `gallery publish`."""
    monkeypatch.delenv("GALLERY_DISABLE_PLUGIN_AUTOLOAD", raising=False)
    monkeypatch.delenv("GALLERY_BLOCK_PLUGINS", raising=False)


@pytest.fixture
def photos(tmp_path):
    """A gallery named "trip": a picture at the root and one in "Sea"."""
    folder = tmp_path / "photos"
    (folder / "Sea").mkdir(parents=True)
    Image.new("RGB", (800, 600), "orange").save(folder / "sunset.jpg")
    Image.new("RGB", (800, 600), "teal").save(folder / "Sea" / "wave.jpg")
    (folder / "gallery.toml").write_text('[gallery]\nname = "trip"\n', encoding="utf-8")
    return folder


@pytest.fixture
def site(photos, tmp_path):
    """The built site of ``photos``."""
    out = tmp_path / "site"
    build_gallery(photos, out)
    return out
