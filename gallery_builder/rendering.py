"""The context every page template gets: the site, the page's album, and URL helpers that
give links relative to the page, so a gallery works under any prefix or domain."""

from __future__ import annotations

from typing import Any

from gallery_builder.config import Config
from gallery_builder.imaging import CONTENT_TYPES
from gallery_builder.model import Album, Page, Picture, Site


def relative_url(page_path: str, target: str) -> str:
    """The URL of ``target`` (a site path; one ending in '/', or '', is a folder) from the page
    at ``page_path``. Called for every picture on every page, so it avoids os.path."""
    folder = page_path.rpartition("/")[0]
    if folder and target.startswith(folder + "/"):
        rel = target[len(folder) + 1 :]
    elif folder and target == folder:
        rel = ""
    else:
        up = folder.count("/") + 1 if folder else 0
        rel = "../" * up + target
        # shorten ../../a/b/x from a/c/ into ../b/x: drop the common leading folders
        if up:
            mine, theirs = folder.split("/"), target.split("/")
            common = 0
            while common < min(len(mine), len(theirs) - 1) and mine[common] == theirs[common]:
                common += 1
            rel = "../" * (up - common) + "/".join(theirs[common:])
    return rel or "./"


class PageUrls:
    """URL helpers bound to one page; templates call them as ``url(...)``, ``static(...)``."""

    def __init__(self, page: Page, site: Site, config: Config):
        self.page, self.site, self.config = page, site, config

    def url(self, target: str) -> str:
        return relative_url(self.page.path, target)

    def album_url(self, album: Album) -> str:
        return relative_url(self.page.path, album.path + "/" if album.path else "")

    def static(self, name: str) -> str:
        try:
            return relative_url(self.page.path, self.site.assets[name])
        except KeyError:
            raise KeyError(f"the theme has no static file '{name}'") from None

    def image(self, picture: Picture, key: str) -> str:
        return relative_url(self.page.path, picture.derivatives[key].path)

    def srcset(self, picture: Picture, fmt: str) -> str:
        """``"a.640.….webp 640w, a.1280.….webp 1280w"`` over the picture's resized images."""
        items = sorted(
            (d.width, d.path)
            for key, d in picture.derivatives.items()
            if key.endswith("." + fmt) and key.partition(".")[0].isdigit()
        )
        return ", ".join(f"{relative_url(self.page.path, path)} {w}w" for w, path in items)

    def largest(self, picture: Picture, fmt: str) -> str:
        items = [
            d
            for key, d in picture.derivatives.items()
            if key.endswith("." + fmt) and key.partition(".")[0].isdigit()
        ]
        best = max(items, key=lambda d: d.width)
        return relative_url(self.page.path, best.path)


def breadcrumbs(album: Album | None, site: Site) -> list[Album]:
    """Albums from the root down to ``album``."""
    if album is None:
        return []
    trail = []
    for candidate in site.albums():
        if album.path == candidate.path or album.path.startswith(
            candidate.path + "/" if candidate.path else ""
        ):
            trail.append(candidate)
    return sorted(trail, key=lambda a: a.depth)


def page_context(page: Page, site: Site, config: Config) -> dict[str, Any]:
    urls = PageUrls(page, site, config)
    return {
        **page.context,
        "site": site,
        "page": page,
        "album": page.album,
        "config": config,
        "gallery": config.gallery,
        "formats": config.images.formats,
        "fallback_format": config.images.formats[-1],
        "content_types": CONTENT_TYPES,
        "breadcrumbs": breadcrumbs(page.album, site),
        "url": urls.url,
        "album_url": urls.album_url,
        "static": urls.static,
        "image": urls.image,
        "srcset": urls.srcset,
        "largest": urls.largest,
        "home": urls.url(""),
    }
