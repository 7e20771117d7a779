"""The default and minimal themes' HTML, read as a browser would parse it (the browser tests
check how it behaves)."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import pictures
import pytest
from conftest import read_manifest

from gallery_builder.rendering import EAGER_COUNT, GRID_SIZES, human_date
from gallery_builder.testing import build_gallery


class Elements(HTMLParser):
    """Every start tag as (tag, attributes), and the page's text."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data: str) -> None:
        self.text.append(data)

    def all(self, tag: str) -> list[dict[str, str | None]]:
        return [attrs for name, attrs in self.tags if name == tag]


@pytest.fixture
def album(source: Path, out: Path) -> Path:
    """An album of 9 pictures (one with a caption) and a sub-album, built."""
    for n in range(9):
        pictures.jpeg(source / "Trip" / f"p{n}.jpg", (400 + 40 * n, 300),
                      taken=f"2024:05:{10 + n:02d} 10:00:00")  # fmt: skip
    (source / "Trip" / "p0.txt").write_text("The first one", encoding="utf-8")
    pictures.jpeg(source / "Trip" / "Day 2" / "q.jpg", (300, 400))
    build_gallery(source, out)
    return out / "trip" / "index.html"


def test_every_img_has_dimensions_srcset_sizes_and_alt(album: Path) -> None:
    page = Elements(album.read_text())
    images = page.all("img")
    assert len(images) == 10  # nine pictures and one album cover
    for img in images:
        assert img["width"] and img["height"] and img["alt"] is not None
        assert img["sizes"] == GRID_SIZES
        candidates = [c.strip().rsplit(" ", 1) for c in img["srcset"].split(",")]
        assert all(re.fullmatch(r"\d+w", w) for _, w in candidates)
        assert [int(w[:-1]) for _, w in candidates] == sorted(int(w[:-1]) for _, w in candidates)
        assert all(url.endswith(".jpg") for url, _ in candidates)
    sources = page.all("source")
    assert len(sources) == 10 and all(s["type"] == "image/webp" for s in sources)
    assert all(s["srcset"].split(",")[0].split()[0].endswith(".webp") for s in sources)


def test_the_first_row_loads_at_once_and_the_rest_lazily(album: Path) -> None:
    grid = album.read_text().split('<ul class="pictures"', 1)[1]
    images = Elements(grid).all("img")
    assert [img.get("loading") for img in images] == [None] * EAGER_COUNT + ["lazy"] * (
        len(images) - EAGER_COUNT
    )
    assert images[0]["fetchpriority"] == "high"


def test_each_thumbnail_links_to_its_picture_with_the_viewers_data(album: Path, out: Path) -> None:
    links = [a for a in Elements(album.read_text()).all("a") if a.get("data-w")]
    assert len(links) == 9
    files = read_manifest(out)["files"]
    for link in links:
        assert f"trip/{link['href']}" in files  # without JavaScript: the picture itself
        # the viewer takes the web sizes from the thumbnail's own srcsets: no URL twice
        assert link["id"] and "data-webp" not in link and "data-jpeg" not in link
    first = links[0]
    assert first["data-caption"] == "The first one" and first["data-date"] == "10 May 2024"
    assert len({a["id"] for a in links}) == 9  # one fragment per picture


def test_names_and_captions_with_markup_render_as_text(source: Path, out: Path) -> None:
    folder = source / '<b>Bold & "quoted"'
    pictures.jpeg(folder / "x.jpg")
    (folder / "x.txt").write_text("<script>alert('caption')</script> & <i>more</i>")
    build_gallery(source, out)
    for html in (out / "index.html").read_text(), (next(out.glob("*/index.html")).read_text()):
        assert "<script>alert" not in html and "<b>Bold" not in html
        assert "&lt;b&gt;Bold &amp; " in html
    album = Elements(next(out.glob("*/index.html")).read_text())
    assert '<b>Bold & "quoted"' in "".join(album.text)  # shown as text, as written
    (link,) = [a for a in album.all("a") if a.get("data-caption")]
    assert link["data-caption"] == "<script>alert('caption')</script> & <i>more</i>"


def test_the_error_page_links_from_the_gallerys_root(source: Path, out: Path) -> None:
    pictures.jpeg(source / "a.jpg")
    build_gallery(source, out)
    page = Elements((out / "error.html").read_text())
    hrefs = [a["href"] for a in page.all("a") + page.all("link")]
    assert all(h.startswith("/photos/") for h in hrefs if h != "#_main"), hrefs
    (source / "gallery.toml").write_text('[gallery]\nbase_url = "/"\n')
    build_gallery(source, out)
    page = Elements((out / "error.html").read_text())
    stylesheet = next(link for link in page.all("link") if link["rel"] == "stylesheet")
    assert re.fullmatch(r"/_static/style\.[0-9a-f]{8}\.css", stylesheet["href"])


def test_link_previews_need_the_full_url(source: Path, out: Path) -> None:
    pictures.jpeg(source / "Trip" / "a.jpg", (1600, 1200))
    build_gallery(source, out)
    assert 'property="og:image"' not in (out / "trip" / "index.html").read_text()
    (source / "gallery.toml").write_text(
        '[gallery]\nbase_url = "https://photos.example.org/trips/"\ndescription = "Ten days"\n'
    )
    build_gallery(source, out)
    meta = {
        m.get("property") or m.get("name"): m["content"]
        for m in Elements((out / "trip" / "index.html").read_text()).all("meta")
        if m.get("content")
    }
    assert meta["og:url"] == "https://photos.example.org/trips/trip/"
    assert re.fullmatch(r"https://photos\.example\.org/trips/trip/a\.1280\.[0-9a-f]{8}\.jpg",
                        meta["og:image"])  # fmt: skip
    assert meta["og:title"] == "Trip" and meta["description"] == "Ten days"
    assert meta["twitter:card"] == "summary_large_image"


def test_pages_carry_lang_title_favicon_and_colour_schemes(album: Path) -> None:
    html = album.read_text()
    page = Elements(html)
    assert page.tags[0] == ("html", {"lang": "en"})
    assert "<title>Trip · photos</title>" in html
    icon = next(link for link in page.all("link") if link["rel"] == "icon")
    assert icon["type"] == "image/svg+xml" and icon["href"].startswith("../_static/favicon.")
    assert {"name": "color-scheme", "content": "light dark"} in page.all("meta")


def test_the_minimal_theme_extends_default(album: Path, source: Path, out: Path) -> None:
    build_gallery(source, out, theme="minimal")
    html = (out / "trip" / "index.html").read_text()
    assert '<footer class="site-footer">' in html  # its own base.html block
    assert 'class="pictures"' in html and "viewer." in html  # default's album.html
    css = [p for p in read_manifest(out)["files"] if p.startswith("_static/style.")]
    assert "Georgia" in (out / css[0]).read_text()  # its own style.css


@pytest.mark.parametrize(
    ("iso", "shown"),
    [("2024-05-17T10:42:00", "17 May 2024"), ("2024-12-01", "1 December 2024"),
     ("sometime", "sometime"), (None, ""), ("2024-13-01T00:00:00", "2024-13-01T00:00:00")],
)  # fmt: skip
def test_dates_are_shown_in_words(iso: str | None, shown: str) -> None:
    assert human_date(iso) == shown


def test_the_viewer_offers_the_original_only_where_originals_are_published(
    source: Path, out: Path
) -> None:
    pictures.jpeg(source / "Trip" / "Día 1 #2.jpg")
    build_gallery(source, out)
    (link,) = [a for a in Elements((out / "trip" / "index.html").read_text()).all("a")
               if a.get("data-w")]  # fmt: skip
    assert "data-original" not in link
    (source / "gallery.toml").write_text("[images]\noriginals = true\n")
    build_gallery(source, out)
    (link,) = [a for a in Elements((out / "trip" / "index.html").read_text()).all("a")
               if a.get("data-w")]  # fmt: skip
    assert link["data-original"] == "../Trip/D%C3%ADa%201%20%232.jpg"
    assert (out / "Trip" / "Día 1 #2.jpg").is_file()


def test_a_panoramas_grid_candidates_are_rated_by_the_box_they_fill(
    source: Path, out: Path
) -> None:
    pictures.jpeg(source / "pano.jpg", (2400, 600))  # 4:1; the thumbnail box is 4:3
    build_gallery(source, out)
    img = next(i for i in Elements((out / "index.html").read_text()).all("img"))
    candidates = [c.strip().rsplit(" ", 1) for c in img["srcset"].split(",")]
    widths = [int(w[:-1]) for _, w in candidates]
    # the crop (400 px); 640x160 fills a box 213 px wide (worse: left out); 1280x320 one
    # 426 px wide; 2048x512 one 682 px wide
    assert widths == [400, 426, 682]
    assert [url.split(".")[1] for url, _ in candidates] == ["thumb", "1280", "2048"]


def test_a_picture_named_like_a_page_landmark_does_not_take_its_id(source: Path, out: Path) -> None:
    pictures.jpeg(source / "main.jpg")
    build_gallery(source, out)
    page = Elements((out / "index.html").read_text())
    ids = [attrs["id"] for _, attrs in page.tags if attrs.get("id")]
    assert len(ids) == len(set(ids)), ids  # "main" (the picture) and "_main" (the landmark)
    skip = next(a for a in page.all("a") if a.get("class") == "skip")
    assert skip["href"] == "#_main" and "_main" in ids


def test_the_grid_box_follows_the_thumbnail_setting(source: Path, out: Path) -> None:
    pictures.jpeg(source / "a.jpg", (800, 800))
    (source / "gallery.toml").write_text("[images]\nthumbnail = [300, 300]\n")
    build_gallery(source, out)
    grid = next(u for u in Elements((out / "index.html").read_text()).all("ul")
                if u.get("class") == "pictures")  # fmt: skip
    assert grid["style"] == "--thumb-ratio: 300 / 300"
