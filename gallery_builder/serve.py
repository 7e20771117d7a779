"""``gallery serve``: a preview server that answers the way S3 static website hosting does.

- ``/album/`` serves ``album/index.html``; ``/album`` redirects (302) to ``/album/`` when
  that index exists;
- a missing key answers 404 with the gallery's ``error.html`` as the body;
- each file goes out with the content type and cache control the manifest lists;
- every answer carries the security headers the CDN sends (gallery_builder.security_headers:
  the content security policy and the rest, but HSTS: this server is plain HTTP).

The site on disk and its manifest are untrusted: a file is sent only when its real path (every
symlink followed) is inside the served folder, and a header value from a manifest only when it
is a plain token-shaped value (no CR/LF, nothing but printable ASCII); else a safe default.

It serves either a built site (only the files its manifest lists, under the path the gallery is
published at, e.g. ``/istanbul/``) or a ``file://`` publish target (a folder laid out like a
bucket, any number of galleries in it). :func:`resolve` is the pure part; the rest is I/O.
"""

from __future__ import annotations

import json
import os
import posixpath
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass
from http import HTTPStatus
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote, urlsplit

from gallery_builder.errors import GalleryError, SettingError
from gallery_builder.manifest import MANIFEST_NAME
from gallery_builder.model import REVALIDATE
from gallery_builder.pooled_server import DEFAULT_TIMEOUT, PooledHTTPServer, PooledRequestHandler
from gallery_builder.root_listing import RECORD_NAME as ROOT_RECORD
from gallery_builder.security_headers import security_headers
from gallery_builder.sitefiles import content_type

ERROR_DOCUMENT = "error.html"
INDEX_DOCUMENT = "index.html"
#: what a file whose manifest gives no usable content type goes out as (never sniffed as HTML)
FALLBACK_CONTENT_TYPE = "application/octet-stream"
#: what every answer carries, the errors http.server sends by itself too
SECURITY_HEADERS = tuple(security_headers(https=False).items())

_TOKEN = r"[A-Za-z0-9!#$%&'*+.^_`|~-]+"
_QUOTED = r'"[ !#-\[\]-~]*"'  # printable ASCII but '"' and '\\'
#: ``type/subtype`` and ``; name=value`` parameters (RFC 9110), nothing else
_CONTENT_TYPE = re.compile(rf"{_TOKEN}/{_TOKEN}(?: *; *{_TOKEN}=(?:{_TOKEN}|{_QUOTED}))*")
#: comma-separated directives, each ``name`` or ``name=value``
_DIRECTIVE = rf"{_TOKEN}(?:=(?:{_TOKEN}|{_QUOTED}))?"
_CACHE_CONTROL = re.compile(rf"{_DIRECTIVE}(?: *, *{_DIRECTIVE})*")
_MAX_HEADER = 200


def header_value(value: Any, pattern: re.Pattern[str], default: str) -> str:
    """``value`` if it is a string of the header's shape (so no CR, LF or other control
    character can end the header early and start another), else ``default``."""
    if isinstance(value, str) and len(value) <= _MAX_HEADER and pattern.fullmatch(value):
        return value
    return default


def safe_content_type(value: Any) -> str:
    return header_value(value, _CONTENT_TYPE, FALLBACK_CONTENT_TYPE)


def safe_cache_control(value: Any) -> str:
    return header_value(value, _CACHE_CONTROL, REVALIDATE)


def read_inside(root: Path, file: Path) -> bytes | None:
    """The bytes of ``file`` if it is a regular file whose real path is inside ``root`` (a
    resolved folder), else None: a symlink out of the site, to a file or through a folder, is
    never followed. The file is opened at its resolved path without following a symlink there,
    so one swapped in after the check is refused too."""
    try:
        real = file.resolve()
        if not real.is_relative_to(root):
            return None
        fd = os.open(real, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0))
    except (OSError, RuntimeError, ValueError):  # missing, a loop, a name too long, a NUL
        return None
    try:
        with os.fdopen(fd, "rb") as opened:
            if not _is_regular(opened.fileno()) or not _opened_inside(opened.fileno(), root):
                return None
            return opened.read()
    except OSError:
        return None


def _is_regular(fd: int) -> bool:
    import stat

    return stat.S_ISREG(os.fstat(fd).st_mode)


def _opened_inside(fd: int, root: Path) -> bool:
    """Where the open file really is (Linux: /proc/self/fd), in case a folder on the way was
    swapped for a symlink between the check and the open; True where that cannot be known."""
    try:
        where = os.readlink(f"/proc/self/fd/{fd}")
    except OSError:
        return True
    return Path(where).is_relative_to(root)


@dataclass(frozen=True)
class Entry:
    """A file the server can send: where it is, and its headers."""

    file: Path
    content_type: str
    cache_control: str = REVALIDATE


@dataclass(frozen=True)
class Answer:
    status: int
    entry: Entry | None = None  #: the body (for 200, and for 404 the error document)
    location: str | None = None  #: for a redirect


def key_of(path: str) -> str | None:
    """The object key a request path asks for (S3 website: a trailing '/' means its index),
    or None for a path no bucket key can have (``..``, empty segments, NUL)."""
    raw = unquote(urlsplit(path).path)
    # a backslash is a separator to some tools, a control character ends a header line:
    # neither is in a key a publish writes
    if not raw.startswith("/") or "\\" in raw or any(ord(c) < 32 or ord(c) == 127 for c in raw):
        return None
    key = raw[1:]
    parts = key.split("/")
    if any(part in (".", "..") for part in parts) or "" in parts[:-1]:
        return None
    return key + INDEX_DOCUMENT if key == "" or key.endswith("/") else key


def resolve(
    path: str,
    lookup: Callable[[str], Entry | None],
    error_document: Callable[[str], Entry | None],
) -> Answer:
    """What S3 website hosting answers to GET ``path``: ``lookup(key)`` finds an object,
    ``error_document(key)`` the error page that applies to a missing ``key``."""
    key = key_of(path)
    if key is None:
        return Answer(HTTPStatus.BAD_REQUEST)
    entry = lookup(key)
    if entry is not None:
        return Answer(HTTPStatus.OK, entry)
    is_index = key == INDEX_DOCUMENT or key.endswith("/" + INDEX_DOCUMENT)
    if not is_index and lookup(f"{key}/{INDEX_DOCUMENT}") is not None:
        return Answer(HTTPStatus.FOUND, location="/" + quote(key) + "/")
    return Answer(HTTPStatus.NOT_FOUND, error_document(key))


class SiteFolder:
    """A built site, served at ``mount`` (e.g. ``istanbul/``): only what its manifest lists.
    The manifest is read again whenever it changes, so a rebuild shows without a restart."""

    def __init__(self, site: Path, mount: str):
        self.site = site.resolve()
        self.mount = mount.strip("/") + "/" if mount.strip("/") else ""
        self._stamp: tuple[int, int] | None = None
        self.entries: dict[str, Entry] = {}
        self._lock = threading.Lock()
        self._load()

    def _load(self) -> None:
        path = self.site / MANIFEST_NAME
        try:
            info = path.stat()
            stamp = (info.st_mtime_ns, info.st_size)
            if stamp == self._stamp:
                return
            manifest = json.loads(path.read_bytes())
        except FileNotFoundError:
            if self._stamp is not None:
                return  # removed during a rebuild: keep serving what was there
            raise GalleryError(
                f"{self.site} has no {MANIFEST_NAME}: build the site first (gallery build "
                f"SOURCE -o {self.site})"
            ) from None
        except (OSError, ValueError) as exc:
            if self._stamp is not None:
                return  # half written: the next request reads it again
            raise GalleryError(f"cannot read {path}: {exc}") from None
        files = manifest.get("files") if isinstance(manifest, dict) else None
        entries = {
            name: Entry(
                self.site / name,
                safe_content_type(entry.get("content_type")),
                safe_cache_control(entry.get("cache_control")),
            )
            for name, entry in (files if isinstance(files, dict) else {}).items()
            if isinstance(name, str)
            and key_of("/" + quote(name)) == name
            and isinstance(entry, dict)
        }
        entries[MANIFEST_NAME] = Entry(path, "application/json")
        self.entries, self._stamp = entries, stamp

    def lookup(self, key: str) -> Entry | None:
        with self._lock:
            self._load()
        if not key.startswith(self.mount):
            return None
        return self.entries.get(key[len(self.mount) :])

    def error_document(self, key: str) -> Entry | None:
        return self.entries.get(ERROR_DOCUMENT)

    def read(self, entry: Entry) -> bytes | None:
        return read_inside(self.site, entry.file)


class TargetFolder:
    """A ``file://`` publish target: every file but hidden ones (locks, build state); the error
    document of a missing key is the bucket root's ``error.html`` where gallery-builder wrote
    one, else that of the deepest gallery above it."""

    def __init__(self, root: Path):
        if not root.is_dir():
            raise SettingError(f"{root} is not a folder")
        self.root = root.resolve()

    def lookup(self, key: str) -> Entry | None:
        if any(part.startswith(".") for part in key.split("/")):
            return None
        file = self.root / key
        try:
            if not file.is_file() or not file.resolve().is_relative_to(self.root):
                return None
        except (OSError, RuntimeError, ValueError):
            return None
        return Entry(file, content_type(key), self._cache_control(key))

    def read(self, entry: Entry) -> bytes | None:
        return read_inside(self.root, entry.file)

    def _cache_control(self, key: str) -> str:
        folder = posixpath.dirname(key)
        while True:
            files = self._manifest_files(folder)
            rel = key[len(folder) + 1 :] if folder else key
            if files is not None and isinstance(files.get(rel), dict):
                return safe_cache_control(files[rel].get("cache_control"))
            if not folder:
                return REVALIDATE
            folder = posixpath.dirname(folder)

    def _manifest_files(self, folder: str) -> dict[str, Any] | None:
        try:
            manifest = json.loads((self.root / folder / MANIFEST_NAME).read_bytes())
        except (OSError, ValueError):
            return None
        files = manifest.get("files") if isinstance(manifest, dict) else None
        return files if isinstance(files, dict) else None

    def _is_file(self, key: str) -> bool:
        try:
            return (self.root / key).is_file()
        except (OSError, ValueError):  # a name too long
            return False

    def error_document(self, key: str) -> Entry | None:
        # a bucket root gallery-builder wrote: its error.html is the bucket's error document
        # for every gallery (the S3 website's and CloudFront's), as there
        if self._is_file(ROOT_RECORD):
            entry = self.lookup(ERROR_DOCUMENT)
            if entry is not None:
                return entry
        folder = posixpath.dirname(key)
        while True:
            candidate = posixpath.join(folder, ERROR_DOCUMENT) if folder else ERROR_DOCUMENT
            entry = self.lookup(candidate)
            if entry is not None and self._is_file(posixpath.join(folder, MANIFEST_NAME)):
                return entry
            if not folder:
                return None
            folder = posixpath.dirname(folder)


def make_server(
    source: SiteFolder | TargetFolder,
    host: str = "127.0.0.1",
    port: int = 8000,
    timeout: float = DEFAULT_TIMEOUT,
) -> PooledHTTPServer:
    """An HTTP server for ``source``; ``port`` 0 picks a free one. Call ``serve_forever()``.
    A connection idle for ``timeout`` seconds (or that long sending one request) is closed;
    a fixed pool of threads answers, however many connections are open."""
    home = "/" + quote(source.mount) if isinstance(source, SiteFolder) else "/"

    class Handler(PooledRequestHandler):
        server_version = "gallery-serve"

        def do_GET(self) -> None:
            self._answer(body=True)

        def do_HEAD(self) -> None:
            self._answer(body=False)

        def _answer(self, body: bool) -> None:
            if urlsplit(self.path).path == "/" and home != "/":
                answer = Answer(HTTPStatus.FOUND, location=home)  # a convenience, not S3's
            else:
                try:
                    answer = resolve(self.path, source.lookup, source.error_document)
                except Exception as exc:  # a bug: one line on stderr and a 500, no traceback
                    self.log_error("cannot answer %r: %r", self.path, exc)
                    answer = Answer(HTTPStatus.INTERNAL_SERVER_ERROR)
            data = b""
            if answer.entry is not None:
                read = source.read(answer.entry)
                if read is None:  # gone since the lookup, or not inside the served folder
                    answer = Answer(HTTPStatus.NOT_FOUND)
                else:
                    data = read
            self.send_response(answer.status)
            if answer.location:
                self.send_header("Location", answer.location)
            if answer.entry is not None:
                self.send_header("Content-Type", answer.entry.content_type)
                self.send_header("Cache-Control", answer.entry.cache_control)
            elif answer.status != HTTPStatus.OK:
                data = f"{answer.status} {HTTPStatus(answer.status).phrase}\n".encode()
                self.send_header("Content-Type", "text/plain; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            if body:
                self.wfile.write(data)

        def end_headers(self) -> None:
            for name, value in SECURITY_HEADERS:
                self.send_header(name, value)
            super().end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            if self.server.verbose:  # type: ignore[attr-defined]
                super().log_message(format, *args)

    try:
        server = PooledHTTPServer((host, port), Handler, timeout=timeout)
    except OSError as exc:
        raise GalleryError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    server.verbose = False  # type: ignore[attr-defined]
    return server


def serve_in_thread(server: PooledHTTPServer) -> threading.Thread:
    """Run ``server`` in a daemon thread (for tests and embedding); stop with shutdown()."""
    thread = threading.Thread(target=server.serve_forever, name="gallery-serve", daemon=True)
    thread.start()
    return thread
