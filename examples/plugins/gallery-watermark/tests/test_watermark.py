"""gallery-watermark, installed: text on the large images, set in [plugins.watermark]."""

import json

from PIL import Image

from gallery_builder.testing import build_gallery


def with_settings(photos, table):
    settings = photos / "gallery.toml"
    base = settings.read_text(encoding="utf-8").split("[plugins.watermark]")[0]
    settings.write_text(base + "[plugins.watermark]\n" + table, encoding="utf-8")


def images_of(out):
    """{derivative key: Pillow image} of the one picture."""
    (image,) = json.loads((out / "manifest.json").read_text(encoding="utf-8"))["images"]
    found = {}
    for key, path in image["derivatives"].items():
        with Image.open(out / path) as im:
            found[key] = im.convert("RGB")
    return found


def bright_pixels(image, box):
    """How many pixels in ``box`` are near white (the night picture has none of its own)."""
    region = image.crop(box).convert("L")
    return sum(region.histogram()[161:])


def corner(image, where):
    w, h = image.size
    return {
        "bottom-right": (w // 2, h * 3 // 4, w, h),
        "top-left": (0, 0, w // 2, h // 4),
    }[where]


def test_no_text_means_no_watermark(photos, tmp_path):
    out = tmp_path / "site"
    build_gallery(photos, out)  # the plugin is installed, but no text is set
    image = images_of(out)["1280.jpeg"]
    assert bright_pixels(image, (0, 0, *image.size)) == 0


def test_the_text_is_drawn_where_the_settings_say(photos, tmp_path):
    with_settings(photos, 'text = "© Ada"\nopacity = 1.0\n')
    out = tmp_path / "site"
    build_gallery(photos, out)
    image = images_of(out)["1280.jpeg"]
    assert image.size == (1280, 960)
    assert bright_pixels(image, corner(image, "bottom-right")) > 200
    assert bright_pixels(image, corner(image, "top-left")) == 0

    with_settings(photos, 'text = "© Ada"\nopacity = 1.0\nposition = "top-left"\n')
    build_gallery(photos, out)
    image = images_of(out)["1280.jpeg"]
    assert bright_pixels(image, corner(image, "top-left")) > 200
    assert bright_pixels(image, corner(image, "bottom-right")) == 0


def test_thumbnails_narrower_than_min_width_stay_clean(photos, tmp_path):
    with_settings(photos, 'text = "© Ada"\nopacity = 1.0\n')
    out = tmp_path / "site"
    build_gallery(photos, out)
    thumb = images_of(out)["thumb.jpeg"]
    assert thumb.width < 600  # the default min_width
    assert bright_pixels(thumb, (0, 0, *thumb.size)) == 0

    with_settings(photos, 'text = "© Ada"\nopacity = 1.0\nmin_width = 2000\n')
    build_gallery(photos, out)
    image = images_of(out)["1280.jpeg"]
    assert bright_pixels(image, (0, 0, *image.size)) == 0


def test_changing_the_text_remakes_the_images(photos, tmp_path):
    out = tmp_path / "site"
    with_settings(photos, 'text = "© Ada"\n')
    build_gallery(photos, out)
    before = images_of(out)["1280.jpeg"]

    again = build_gallery(photos, out)
    assert again.made == 0  # nothing changed: nothing remade

    with_settings(photos, 'text = "© Ada Lovelace, 1843"\n')
    changed = build_gallery(photos, out)
    assert changed.made >= 1
    after = images_of(out)["1280.jpeg"]
    assert before.tobytes() != after.tobytes()
