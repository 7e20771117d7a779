"""Fixtures of gallery-feeds' tests: the installed plugins load as they would for a user, and
the pictures are real files made here, with the dates a camera writes."""

import pytest
from PIL import Image


@pytest.fixture(autouse=True)
def _installed_plugins_load(monkeypatch):
    """Every installed plugin loads through its entry point, as in `gallery build`."""
    monkeypatch.delenv("GALLERY_DISABLE_PLUGIN_AUTOLOAD", raising=False)
    monkeypatch.delenv("GALLERY_BLOCK_PLUGINS", raising=False)


def photo(path, colour, taken=None):
    """A JPEG; ``taken`` ("2024:05:17 10:42:00") is its EXIF DateTimeOriginal."""
    path.parent.mkdir(parents=True, exist_ok=True)
    exif = Image.Exif()
    if taken:
        exif.get_ifd(0x8769)[0x9003] = taken
    Image.new("RGB", (900, 600), colour).save(path, exif=exif.tobytes())


@pytest.fixture
def photos(tmp_path):
    """The root album (one picture) and "Sea" (three, one of them undated), served at
    https://photos.example.com/trip/."""
    folder = tmp_path / "photos"
    photo(folder / "harbour.jpg", "grey", "2024:05:01 08:00:00")
    photo(folder / "Sea" / "wave.jpg", "teal", "2024:05:03 09:00:00")
    photo(folder / "Sea" / "dawn.jpg", "orange", "2024:05:02 06:00:00")
    photo(folder / "Sea" / "drift.jpg", "navy")
    (folder / "gallery.toml").write_text(
        '[gallery]\ntitle = "Trip"\nbase_url = "https://photos.example.com/trip/"\n',
        encoding="utf-8",
    )
    return folder
