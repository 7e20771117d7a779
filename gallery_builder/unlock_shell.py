"""The unlock shell of an encrypted gallery: the only files of its site that are not sealed
(besides ``_x/`` and ``_lock.json``), and nothing in them says whose gallery it is.

- ``index.html`` and ``error.html``: the unlock page (a password field; no title, caption or
  name of the gallery). The host answers a gallery's root with index.html and any missing
  path with error.html, so a visitor lands on it wherever they enter before unlocking.
- ``_sw.js``: the service worker, at the gallery's root so that its scope is the gallery. It
  is made of :data:`worker config <worker_config>` (the content types of
  :data:`gallery_builder.sitefiles.CONTENT_TYPES` and the headers of
  :mod:`gallery_builder.security_headers`, so the decrypted site is served as ``gallery
  serve`` and the CDN serve a clear one), ``crypto.js`` and ``sw.js``.
- ``_unlock/``: the page's script, stylesheet and icon; ``crypto.js`` (what
  :mod:`gallery_builder.encryption` does, in WebCrypto); ``session.js``, which the worker adds
  to every page it decrypts: it answers the worker, from the tab's sessionStorage, whether
  the tab holds the key (the worker decrypts only for tabs that do, so closing the last
  unlocked tab locks the gallery) and gives the key back to a worker the browser restarted.

The sources are package data in ``gallery_builder/unlock/``; docs/themes.md says how a theme
relates to them (it does not: themes render the clear site, which the worker decrypts).
"""

from __future__ import annotations

import html
import json
from importlib.resources import files
from typing import Any

from gallery_builder.model import REVALIDATE
from gallery_builder.security_headers import (
    CONTENT_SECURITY_POLICY,
    CONTENT_TYPE_OPTIONS,
    CSP_DIRECTIVES,
    FRAME_OPTIONS,
    REFERRER_POLICY,
)
from gallery_builder.sitefiles import CONTENT_TYPES

#: what a file whose extension is not in CONTENT_TYPES is answered as (never sniffed as HTML)
FALLBACK_CONTENT_TYPE = "application/octet-stream"

#: the files of ``_unlock/`` copied as they are, by their name in the sources
UNLOCK_ASSETS = ("unlock.js", "unlock.css", "crypto.js", "session.js", "icon.svg")

#: the policy the unlock page carries itself, for a host that sends no headers (any web
#: server, a bucket without CloudFront): the gallery's, but frame-ancestors, which a <meta>
#: cannot give (a browser ignores it there, with a console error)
PAGE_POLICY = "; ".join(
    f"{name} {value}" for name, value in CSP_DIRECTIVES.items() if name != "frame-ancestors"
)

#: the shell's pages: the host answers the root with index.html, a missing path with error.html
PAGES = ("index.html", "error.html")


def source(name: str) -> bytes:
    """A source file of the shell (read through importlib.resources: found in a wheel too)."""
    return files("gallery_builder").joinpath("unlock", name).read_bytes()


def worker_config() -> dict[str, Any]:
    """What the worker answers with: content types by extension, the headers of every
    decrypted file and those only pages get (the policy ``gallery serve`` and the CDN send)."""
    return {
        "contentTypes": dict(CONTENT_TYPES),
        "fallbackType": FALLBACK_CONTENT_TYPE,
        "headers": {
            "X-Content-Type-Options": CONTENT_TYPE_OPTIONS,
            "Referrer-Policy": REFERRER_POLICY,
        },
        "pageHeaders": {
            "Content-Security-Policy": CONTENT_SECURITY_POLICY,
            "X-Frame-Options": FRAME_OPTIONS,
        },
    }


def worker_script() -> bytes:
    """``_sw.js``: the config, crypto.js and sw.js in one classic script (one file, so a
    change to any part changes its bytes, and the browser updates the worker)."""
    config = json.dumps(worker_config(), indent=1, sort_keys=True)
    head = (
        "/* gallery-builder: the service worker of an encrypted gallery, made by "
        "gallery_builder/unlock_shell.py from gallery_builder/unlock/{crypto,sw}.js */\n"
        f"var CONFIG = {config};\n"
    )
    return head.encode() + source("crypto.js") + b"\n" + source("sw.js")


def unlock_page(*, lang: str, root: str) -> bytes:
    """The unlock page, its files linked from ``root`` ("" for links relative to the
    gallery's root, or the gallery's path, "/P/", for a page served at any depth)."""
    text = source("page.html").decode()
    text = text.replace("{lang}", html.escape(lang, quote=True))
    text = text.replace("{csp}", html.escape(PAGE_POLICY, quote=True))
    return text.replace("{root}", html.escape(root, quote=True)).encode()


def shell_files(*, lang: str, base_path: str | None = None) -> dict[str, tuple[bytes, str]]:
    """The shell's files: site path -> (bytes, cache control). ``lang``: the pages' language
    (``[gallery] lang``). ``base_path``: the gallery's path ("/P/"); error.html, which the host
    serves in place of a missing file at any depth, links its script from there (without it,
    only from the gallery's root, which works for a missing file there only)."""
    if base_path is not None and not (base_path.startswith("/") and base_path.endswith("/")):
        raise ValueError(f"a gallery's base path starts and ends with '/': {base_path!r}")
    shell = {
        "index.html": (unlock_page(lang=lang, root=""), REVALIDATE),
        "error.html": (unlock_page(lang=lang, root=base_path or ""), REVALIDATE),
        "_sw.js": (worker_script(), REVALIDATE),
    }
    for name in UNLOCK_ASSETS:
        shell[f"_unlock/{name}"] = (source(name), REVALIDATE)
    return shell
