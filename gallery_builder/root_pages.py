"""The bucket root's pages, rendered from a theme's ``root.html`` in the sandbox like every
page (gallery_builder.theming), at publish time from the built site alone.

Which theme: a build records its theme in ``OUT/.gallery/theme.json`` (the chain's folders and
names, and ``[gallery] lang``; never published). A publish renders the root with that theme; an
unpublish (no site) with the theme the root's record names, looked up among the installed
themes. Whatever cannot be found or has no ``root.html`` falls back to the built-in default.
"""

from __future__ import annotations

import hashlib
import json
import os
import posixpath
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gallery_builder import theming
from gallery_builder.errors import GalleryError
from gallery_builder.filesafety import write_atomic
from gallery_builder.root_listing import (
    ERROR,
    INDEX,
    PRIVATE,
    ROOT_STATIC,
    GalleryEntry,
    theme_names,
)

SITE_THEME = ".gallery/theme.json"
ROOT_TEMPLATE = "root.html"
#: the page a private gallery's refused visitor gets (CloudFront's 403 page)
PRIVATE_TEMPLATE = "private.html"
#: the root page's title (its header and <title>)
ROOT_TITLE = "Galleries"
PAGE = {"content_type": "text/html; charset=utf-8", "cache_control": "no-cache"}
ASSET = {"cache_control": "public, max-age=31536000, immutable"}


@dataclass(frozen=True)
class RootTheme:
    chain: list[theming.Theme]
    lang: str = "en"

    @property
    def names(self) -> list[str]:
        return [t.name for t in self.chain]


def default_theme() -> RootTheme:
    import gallery_builder.themes as builtin

    folder = Path(builtin.__file__).parent / "default"
    return RootTheme([theming.load_theme(folder)])


def write_site_theme(out_dir: Path, chain: list[theming.Theme], lang: str) -> None:
    """Record the build's theme in the site (``.gallery/``, never published)."""
    data = {
        "names": [t.name for t in chain],
        "folders": [os.fspath(t.path) for t in chain],
        "lang": lang,
    }
    write_atomic(out_dir / SITE_THEME, (json.dumps(data, indent=1) + "\n").encode())


def site_theme(site: Path | None) -> RootTheme | None:
    """The theme the site at ``site`` was built with, or None when it does not say (or its
    folders are gone)."""
    if site is None:
        return None
    try:
        data = json.loads((site / SITE_THEME).read_bytes())
        folders = [Path(f) for f in data["folders"]]
        lang = data.get("lang") if isinstance(data.get("lang"), str) else "en"
        chain = [theming.load_theme(folder) for folder in folders if folder.is_dir()]
    except (OSError, ValueError, KeyError, TypeError, GalleryError):
        return None
    if len(chain) != len(folders) or not chain:
        return None
    return RootTheme(chain, lang[:35])


def named_theme(
    record_theme: dict[str, Any], installed: dict[str, theming.Theme]
) -> RootTheme | None:
    """The theme a root record names, if it is installed."""
    names = theme_names(record_theme.get("names"))
    lang = record_theme.get("lang")
    if not names or names[0] not in installed:
        return None
    try:
        chain = theming.theme_chain(names[0], installed)
    except GalleryError:
        return None
    return RootTheme(chain, lang[:35] if isinstance(lang, str) else "en")


def _asset_key(name: str, data: bytes) -> str:
    stem, ext = posixpath.splitext(name.replace("/", "-"))
    return f"{ROOT_STATIC}/{stem}.{hashlib.md5(data).hexdigest()[:8]}{ext}"


def render_root(
    theme: RootTheme, galleries: list[GalleryEntry], base: str
) -> dict[str, tuple[bytes, dict[str, str]]]:
    """``{key: (bytes, headers)}``: ``index.html``, ``error.html``, ``private.html`` (from the
    theme's ``private.html``: CloudFront's 403 page for a private gallery) and the theme's
    static files they use (under ``_root/``, content-hashed). ``base`` is the URL path of the
    root (``/``), which ``error.html`` and ``private.html`` link from (they are served at any
    depth)."""
    from gallery_builder.sitefiles import content_type

    environment = theming.make_environment(theme.chain)
    assets = {}
    for name, path in theming.theme_assets(theme.chain).items():
        data = path.read_bytes()
        assets[name] = (_asset_key(name, data), data)
    out: dict[str, tuple[bytes, dict[str, str]]] = {}
    pages = ((INDEX, "", ROOT_TEMPLATE), (ERROR, base, ROOT_TEMPLATE),
             (PRIVATE, base, PRIVATE_TEMPLATE))  # fmt: skip
    for key, root, name in pages:
        template = environment.get_template(name)

        def static(name: str, root: str = root) -> str:
            if name not in assets:
                raise KeyError(f"the theme has no static file '{name}'")
            return root + assets[name][0]

        context = {
            "site": {"title": ROOT_TITLE},
            "gallery": {"lang": theme.lang, "description": None, "title": ROOT_TITLE},
            "page": {"path": key},
            "error": key == ERROR,
            "private": key == PRIVATE,
            "home": root or "./",
            "static": static,
            "galleries": [g.as_context(root) for g in galleries],
            "thumb_ratio": "4 / 3",
        }
        out[key] = (template.render(context).encode("utf-8"), PAGE)
    linked = b"".join(data for data, _ in out.values())
    for asset_key, data in assets.values():
        if asset_key.encode() in linked:  # only what a page links to
            out[asset_key] = (data, {"content_type": content_type(asset_key), **ASSET})
    return out
