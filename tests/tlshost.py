"""A local HTTPS host for the tests of ``gallery verify``: a built site served with S3-website
semantics (gallery_builder.serve's resolve) the way CloudFront would serve it, TLS and plain
HTTP on one port (the first byte of a connection tells a TLS handshake from a request), with
a certificate from ``trustme``. What it sends is set per test: HSTS or not, the http->https
redirect or not, a content type a misconfigured host gets wrong."""

from __future__ import annotations

import hashlib
import socket
import ssl
import threading
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any

from gallery_builder.serve import SiteFolder, resolve

CSP = "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'"
HSTS = "max-age=63072000; includeSubDomains"
_TLS_RECORD = 0x16  # a TLS handshake record starts every TLS connection


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    context: ssl.SSLContext

    def get_request(self) -> tuple[socket.socket, Any]:
        sock, address = self.socket.accept()
        sock.settimeout(10)
        try:
            first = sock.recv(1, socket.MSG_PEEK)
        except OSError:
            first = b""
        if first and first[0] == _TLS_RECORD:
            sock = self.context.wrap_socket(sock, server_side=True)
        return sock, address


class TlsHost:
    """``with TlsHost(site, cert, ...) as host:`` serves ``site`` at ``host.url`` (https)."""

    def __init__(
        self,
        site: Path,
        cert: Any,
        *,
        mount: str = "/photos/",
        hsts: str | None = HSTS,
        redirect: bool = True,
        security: bool = True,
        content_types: dict[str, str] | None = None,
    ) -> None:
        folder = SiteFolder(site, mount)
        options = {"hsts": hsts, "redirect": redirect, "security": security}
        overrides = content_types or {}

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                self.answer(body=True)

            def do_HEAD(self) -> None:
                self.answer(body=False)

            def answer(self, body: bool) -> None:
                tls = isinstance(self.connection, ssl.SSLSocket)
                host = self.headers.get("Host", "")
                if not tls and options["redirect"]:
                    self.send_response(HTTPStatus.MOVED_PERMANENTLY)
                    self.send_header("Location", f"https://{host}{self.path}")
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                result = resolve(self.path, folder.lookup, folder.error_document)
                data = folder.read(result.entry) if result.entry is not None else b""
                self.send_response(result.status)
                if result.location:
                    self.send_header("Location", result.location)
                if result.entry is not None:
                    key = result.entry.file.relative_to(folder.site).as_posix()
                    kind = result.entry.content_type
                    for suffix, wrong in overrides.items():
                        kind = wrong if key.endswith(suffix) else kind
                    self.send_header("Content-Type", kind)
                    self.send_header("Cache-Control", result.entry.cache_control)
                    self.send_header("ETag", f'"{hashlib.md5(data or b"").hexdigest()}"')
                if tls and options["hsts"]:
                    self.send_header("Strict-Transport-Security", options["hsts"])
                if tls and options["security"]:
                    self.send_header("X-Content-Type-Options", "nosniff")
                    self.send_header("Content-Security-Policy", CSP)
                self.send_header("Content-Length", str(len(data or b"")))
                self.end_headers()
                if body and data:
                    self.wfile.write(data)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = _Server(("127.0.0.1", 0), Handler)
        self.server.context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        cert.configure_cert(self.server.context)
        self.port = self.server.server_address[1]
        self.url = f"https://127.0.0.1:{self.port}{mount}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> TlsHost:
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.server.shutdown()
        self.server.server_close()
