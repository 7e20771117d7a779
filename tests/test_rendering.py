"""Links in pages are relative, so a gallery works under any prefix or domain."""

from __future__ import annotations

import posixpath

import pytest

from gallery_builder.config import default_config
from gallery_builder.model import Album, Derivative, Metadata, Page, Picture, Site, Source
from gallery_builder.rendering import PageUrls, relative_url


@pytest.mark.parametrize(
    ("page", "target", "expected"),
    [
        ("index.html", "a/b/x.jpg", "a/b/x.jpg"),
        ("a/index.html", "a/x.jpg", "x.jpg"),
        ("a/b/index.html", "a/x.jpg", "../x.jpg"),
        ("a/b/index.html", "", "../../"),
        ("a/b/index.html", "a/", "../"),
        ("a/b/index.html", "a/b/", "./"),
        ("a/index.html", "b/c/x.jpg", "../b/c/x.jpg"),
        ("index.html", "", "./"),
        ("index.html", "a/", "a/"),
        ("a/b/index.html", "_static/s.css", "../../_static/s.css"),
        ("ab/index.html", "a/x.jpg", "../a/x.jpg"),
        ("a/b/c/index.html", "a/b/d/x.jpg", "../d/x.jpg"),
    ],
)
def test_relative_url(page: str, target: str, expected: str) -> None:
    assert relative_url(page, target) == expected
    # and it names the same file as a browser would resolve it
    resolved = posixpath.normpath(posixpath.join(posixpath.dirname(page), expected))
    assert resolved == (posixpath.normpath(target) if target else ".")


def test_srcset_lists_only_the_sizes_of_one_format(tmp_path) -> None:
    source = Source(str(tmp_path / "a.jpg"), "a.jpg", 1, 1)
    picture = Picture(source, "0" * 32, Metadata(2000, 1000), "a", "trip")
    for key, width in [("640.webp", 640), ("1280.webp", 1280), ("640.jpeg", 640),
                       ("thumb.webp", 400), ("square.webp", 1000)]:  # fmt: skip
        picture.derivatives[key] = Derivative(key, f"trip/a.{key}", width, width // 2, "", 1)
    album = Album("trip", "Trip", "trip", pictures=[picture])
    site = Site("x", "X", Album("", "X", "", children=[album]), [picture])
    urls = PageUrls(Page("trip/index.html", "album.html", album), site, default_config(tmp_path))
    assert urls.srcset(picture, "webp") == "a.640.webp 640w, a.1280.webp 1280w"
    assert urls.largest(picture, "webp") == "a.1280.webp"
