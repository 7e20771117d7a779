"""gallery-feeds, installed: an Atom feed per album and a sitemap.xml, with full URLs."""

import json
import xml.etree.ElementTree as ET

from gallery_builder.testing import build_gallery

ATOM = "{http://www.w3.org/2005/Atom}"
SITEMAP = "{http://www.sitemaps.org/schemas/sitemap/0.9}"
BASE_URL = "https://photos.example.com/trip/"  # the photos fixture's [gallery] base_url


def feed_entries(path):
    root = ET.parse(path).getroot()
    assert root.tag == f"{ATOM}feed"
    return root, root.findall(f"{ATOM}entry")


def test_each_album_has_a_feed_of_its_pictures_newest_first(photos, tmp_path):
    out = tmp_path / "site"
    build_gallery(photos, out)  # no plugin passed: the installed one loads

    feed, entries = feed_entries(out / "sea" / "feed.xml")
    assert feed.findtext(f"{ATOM}title") == "Sea"
    assert feed.findtext(f"{ATOM}id") == BASE_URL + "sea/"
    assert [e.findtext(f"{ATOM}id") for e in entries] == [
        BASE_URL + "sea/#wave",
        BASE_URL + "sea/#dawn",  # the undated drift.jpg has no place in a feed
    ]
    assert [e.findtext(f"{ATOM}updated") for e in entries] == [
        "2024-05-03T09:00:00Z",
        "2024-05-02T06:00:00Z",
    ]
    enclosure = entries[0].find(f"{ATOM}link[@rel='enclosure']")
    assert enclosure.get("type") == "image/jpeg"
    image = enclosure.get("href")
    assert image.startswith(BASE_URL + "sea/wave.") and (out / image[len(BASE_URL) :]).is_file()

    _, root_entries = feed_entries(out / "feed.xml")  # the root's covers its sub-albums
    assert len(root_entries) == 3


def test_the_manifest_lists_the_feeds_as_atom_and_the_sitemap_as_xml(photos, tmp_path):
    out = tmp_path / "site"
    build_gallery(photos, out)
    files = json.loads((out / "manifest.json").read_text(encoding="utf-8"))["files"]
    assert files["sea/feed.xml"]["content_type"] == "application/atom+xml"
    assert files["feed.xml"]["content_type"] == "application/atom+xml"
    assert files["sitemap.xml"]["content_type"].startswith("application/xml")


def test_the_sitemap_lists_every_album_page_by_its_full_url(photos, tmp_path):
    out = tmp_path / "site"
    build_gallery(photos, out)
    root = ET.parse(out / "sitemap.xml").getroot()
    assert [loc.text for loc in root.iter(f"{SITEMAP}loc")] == [BASE_URL, BASE_URL + "sea/"]


def test_changing_the_entries_setting_renders_the_feeds_again(photos, tmp_path):
    out = tmp_path / "site"
    settings = photos / "gallery.toml"
    settings.write_text(settings.read_text() + "\n[plugins.feeds]\nentries = 1\n")
    build_gallery(photos, out)
    assert len(feed_entries(out / "sea" / "feed.xml")[1]) == 1

    settings.write_text(settings.read_text().replace("entries = 1", "entries = 2"))
    again = build_gallery(photos, out)
    assert "sea/feed.xml" in again.written
    assert again.made == 0  # a feed setting shapes no image
    assert len(feed_entries(out / "sea" / "feed.xml")[1]) == 2


def test_the_title_suffix_setting_ends_every_feed_title(photos, tmp_path):
    out = tmp_path / "site"
    settings = photos / "gallery.toml"
    settings.write_text(
        settings.read_text() + '\n[plugins.feeds]\ntitle_suffix = " · new pictures"\n'
    )
    build_gallery(photos, out)
    feed, _ = feed_entries(out / "sea" / "feed.xml")
    assert feed.findtext(f"{ATOM}title") == "Sea · new pictures"


def test_a_theme_overrides_the_feed_template(photos, tmp_path):
    theme = tmp_path / "mytheme"
    (theme / "templates" / "feeds").mkdir(parents=True)
    (theme / "templates" / "feeds" / "atom.xml").write_text(
        '<feed xmlns="http://www.w3.org/2005/Atom"><title>mine: {{ feed_title }}</title></feed>'
    )
    out = tmp_path / "site"
    build_gallery(photos, out, theme=str(theme))
    feed, entries = feed_entries(out / "sea" / "feed.xml")
    assert feed.findtext(f"{ATOM}title") == "mine: Sea" and entries == []


def test_without_a_full_base_url_there_is_no_feed(photos, tmp_path):
    (photos / "gallery.toml").write_text('[gallery]\ntitle = "Trip"\n', encoding="utf-8")
    out = tmp_path / "site"
    build_gallery(photos, out)
    assert not (out / "feed.xml").exists() and not (out / "sitemap.xml").exists()
