"""The context every page template gets: the site, the page's album, and URL helpers that
give links relative to the page, so a gallery works under any prefix or domain."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote, urljoin

from gallery_builder.config import Config
from gallery_builder.imaging import CONTENT_TYPES
from gallery_builder.model import Album, Derivative, Page, Picture, Site


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


#: the grid's slot widths (themes/default/static/style.css): 2, 3, 4, then 5 columns in a
#: column of at most 1500 px; never under the real width (18vw >= (100vw - 9.6rem) / 5 from
#: 1200 px up). Written without spaces: it is repeated on every <img> and <source>.
GRID_SIZES = (
    "(max-width:599px) 50vw,(max-width:899px) 33vw,(max-width:1199px) 25vw,"
    "(max-width:1499px) 18vw,269px"
)
#: pictures at the top of an album that load at once (the first row at any width)
EAGER_COUNT = 6
#: the long edge of the image link previews (Open Graph) show, at most
SHARE_EDGE = 1280

MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August",
          "September", "October", "November", "December")  # fmt: skip


def human_date(iso: str | None) -> str:
    """``"2024-05-17T10:42:00"`` -> ``"17 May 2024"``; anything else as it is."""
    if not iso or len(iso) < 10 or not iso[:4].isdigit():
        return iso or ""
    try:
        year, month, day = int(iso[:4]), int(iso[5:7]), int(iso[8:10])
        return f"{day} {MONTHS[month - 1]} {year}"
    except (ValueError, IndexError):
        return iso


def _sized(picture: Picture, fmt: str) -> list[Derivative]:
    """The picture's resized images (not the crop) in ``fmt``, narrowest first."""
    return sorted(
        (
            d
            for key, d in picture.derivatives.items()
            if key.endswith("." + fmt) and key.partition(".")[0].isdigit()
        ),
        key=lambda d: d.width,
    )


class PageUrls:
    """URL helpers bound to one page; templates call them as ``url(...)``, ``static(...)``.

    Links are relative to the page, so a gallery works under any prefix or domain; a page
    with ``root_links`` in its context (``error.html``, which S3 serves in place of a missing
    key at any depth) links from the gallery's root path (``[gallery] base_url``) instead."""

    def __init__(self, page: Page, site: Site, config: Config):
        self.page, self.site, self.config = page, site, config
        self.root = config.gallery.base_path if page.context.get("root_links") else None

    def url(self, target: str) -> str:
        if self.root is not None:
            return self.root + target
        return relative_url(self.page.path, target)

    def album_url(self, album: Album) -> str:
        return self.url(album.path + "/" if album.path else "")

    def static(self, name: str) -> str:
        try:
            return self.url(self.site.assets[name])
        except KeyError:
            raise KeyError(f"the theme has no static file '{name}'") from None

    def image(self, picture: Picture, key: str) -> str:
        return self.url(picture.derivatives[key].path)

    def srcset(self, picture: Picture, fmt: str) -> str:
        """``"a.640.….webp 640w, a.1280.….webp 1280w"`` over the picture's resized images."""
        return ", ".join(f"{self.url(d.path)} {d.width}w" for d in _sized(picture, fmt))

    def thumb_srcset(self, picture: Picture, fmt: str) -> str:
        """Candidates for a grid slot that covers (CSS object-fit) a thumbnail-shaped box: the
        crop, then the resized images that show the box sharper than it.

        A resized image covering the box is cropped to it too, so its descriptor is the width
        of the box it fills at one image pixel per CSS pixel: its width, or for a picture
        wider than the box, its height times the box's ratio (a 4:1 panorama 640 px wide
        fills a 4:3 box only 213 px wide)."""
        thumb = picture.derivatives[f"thumb.{fmt}"]
        items = [(thumb.width, thumb.path)]
        for d in _sized(picture, fmt):
            width = min(d.width, d.height * thumb.width // thumb.height)
            if width > items[-1][0]:
                items.append((width, d.path))
        return ", ".join(f"{self.url(path)} {w}w" for w, path in items)

    def largest_image(self, picture: Picture, fmt: str | None = None) -> Derivative:
        return _sized(picture, fmt or self.config.images.formats[-1])[-1]

    def largest(self, picture: Picture, fmt: str) -> str:
        return self.url(self.largest_image(picture, fmt).path)

    def share_image(self, picture: Picture) -> str:
        """The image a link preview shows: the largest fallback-format one up to 1280 px."""
        sized = _sized(picture, self.config.images.formats[-1])
        fitting = [d for d in sized if max(d.width, d.height) <= SHARE_EDGE] or sized[:1]
        return self.url(fitting[-1].path)

    def original(self, picture: Picture) -> str | None:
        """The URL of the picture's original file, where originals are published."""
        path = picture.original
        return self.url(quote(path)) if path else None  # a source name: spaces, accents, …

    def absolute(self, url: str) -> str:
        """``url`` (relative to this page) made absolute when ``base_url`` is a full URL."""
        base = self.config.gallery.absolute_url
        if not base or "://" in url:
            return url
        if url.startswith("/"):
            return urljoin(base, url)
        return urljoin(base + self.page.path, url)


def breadcrumbs(
    album: Album | None, site: Site, by_path: dict[str, list[Album]] | None = None
) -> list[Album]:
    """Albums from the root down to ``album``. ``by_path``: the site's albums by path (see
    :func:`albums_by_path`), when rendering many pages: each then looks up its own parents,
    rather than walking every album of the site."""
    if album is None:
        return []
    by_path = albums_by_path(site) if by_path is None else by_path
    parts = album.path.split("/") if album.path else []
    prefixes = [""] + ["/".join(parts[:depth]) for depth in range(1, len(parts) + 1)]
    trail = [candidate for prefix in prefixes for candidate in by_path.get(prefix, ())]
    return sorted(trail, key=lambda a: a.depth)


def albums_by_path(site: Site) -> dict[str, list[Album]]:
    """The site's albums by path, each list in the order of ``site.albums()``."""
    index: dict[str, list[Album]] = {}
    for album in site.albums():
        index.setdefault(album.path, []).append(album)
    return index


def page_context(
    page: Page, site: Site, config: Config, by_path: dict[str, list[Album]] | None = None
) -> dict[str, Any]:
    """The context of ``page``'s template; ``by_path``: see :func:`breadcrumbs`."""
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
        "breadcrumbs": breadcrumbs(page.album, site, by_path),
        "url": urls.url,
        "album_url": urls.album_url,
        "static": urls.static,
        "image": urls.image,
        "srcset": urls.srcset,
        "thumb_srcset": urls.thumb_srcset,
        "largest": urls.largest,
        "largest_image": urls.largest_image,
        "share_image": urls.share_image,
        "original": urls.original,
        "absolute": urls.absolute,
        "grid_sizes": GRID_SIZES,
        "eager_count": EAGER_COUNT,
        "home": urls.url(""),
    }
