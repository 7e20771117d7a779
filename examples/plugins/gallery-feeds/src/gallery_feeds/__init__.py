"""gallery-feeds: an Atom feed per album and a sitemap.xml, rendered from templates a theme
may override.

Both need full URLs: without a ``[gallery] base_url`` like ``https://example.com/trip/`` the
plugin adds nothing (a relative feed would be useless to a feed reader)."""

from pathlib import Path

from gallery_builder import hookimpl
from gallery_builder.model import Page
from gallery_builder.plugin_settings import Setting, integer, text

TEMPLATES = Path(__file__).parent / "templates"
ATOM = "application/atom+xml"


@hookimpl
def gallery_settings():
    return {
        "entries": Setting(20, "pictures in each feed, newest first", check=integer(min=1)),
        "title_suffix": Setting("", "added to every feed's title", check=text()),
    }


@hookimpl
def gallery_template_folders():
    # searched after the theme's own templates: a theme's templates/feeds/atom.xml wins
    return [TEMPLATES]


def newest_first(album, count):
    """The dated pictures of ``album`` and its sub-albums, newest first (a feed entry needs a
    date; undated pictures are left out)."""
    dated = [p for a in album.walk() for p in a.pictures if p.metadata.taken]
    dated.sort(key=lambda p: (p.metadata.taken, p.source.relpath), reverse=True)
    return dated[:count]


@hookimpl
def gallery_pages(site, config):
    if not config.gallery.absolute_url:
        return []
    settings = config.plugins["feeds"]
    pages = [
        Page(
            path=f"{album.path}/feed.xml" if album.path else "feed.xml",
            template="feeds/atom.xml",
            album=album,
            content_type=ATOM,
            context={
                "entries": newest_first(album, settings["entries"]),
                "feed_title": album.title + settings["title_suffix"],
            },
        )
        for album in site.albums()
    ]
    pages.append(Page(path="sitemap.xml", template="feeds/sitemap.xml"))
    return pages
