"""Built-in rendering: the default theme, one page per album plus error.html, with Jinja2."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import gallery_builder.themes as builtin_themes
import jinja2

from gallery_builder import hookimpl
from gallery_builder.config import Config
from gallery_builder.model import Page, Site


@hookimpl(trylast=True)
def gallery_themes() -> list[Path]:
    folder = Path(builtin_themes.__file__).parent
    return sorted(p for p in folder.iterdir() if (p / "theme.toml").is_file())


@hookimpl(trylast=True)
def gallery_pages(site: Site, config: Config) -> list[Page]:
    pages = [
        Page(path=f"{album.path}/index.html" if album.path else "index.html",
             template="album.html", album=album)
        for album in site.albums()
    ]  # fmt: skip
    # served by S3 in place of any missing key, at any depth: links from the gallery's root
    pages.append(Page(path="error.html", template="error.html", context={"root_links": True}))
    return pages


@hookimpl(trylast=True)
def gallery_render_page(
    page: Page, context: dict[str, Any], environment: jinja2.Environment
) -> str:
    return environment.get_template(page.template).render(context)
