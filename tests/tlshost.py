"""A local HTTPS host for the tests of ``gallery verify``: a built site served with S3-website
semantics (gallery_builder.serve's resolve) the way CloudFront would serve it, TLS and plain
HTTP on one port (the first byte of a connection tells a TLS handshake from a request), with
a certificate from ``trustme``. What it sends is set per test: HSTS or not, the http->https
redirect or not, a content type a misconfigured host gets wrong; and, with ``signed_by``,
CloudFront's check of a private gallery's signed cookies (:func:`cloudfront_allows`: the
policy's RSA-SHA1 signature with the public key its Key-Pair-Id names, its Resource wildcard
against the URL, its expiry), a refused request answering 403."""

from __future__ import annotations

import base64
import hashlib
import json
import re
import socket
import ssl
import threading
import time
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any

from gallery_builder.serve import SiteFolder, resolve

CSP = "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'"
HSTS = "max-age=63072000; includeSubDomains"
_TLS_RECORD = 0x16  # a TLS handshake record starts every TLS connection


def _cloudfront_b64decode(text: str) -> bytes:
    return base64.b64decode(text.replace("-", "+").replace("_", "=").replace("~", "/"))


def cloudfront_allows(cookie_header: str, url: str, keys: dict[str, bytes], now: float) -> bool:
    """Whether CloudFront would serve ``url`` to a viewer sending these cookies, checked the
    way it does with the key group's public keys (``keys``: Key-Pair-Id -> public PEM)."""
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import padding

    cookies = dict(part.strip().split("=", 1) for part in cookie_header.split(";") if "=" in part)
    try:
        policy = _cloudfront_b64decode(cookies["CloudFront-Policy"])
        signature = _cloudfront_b64decode(cookies["CloudFront-Signature"])
        public = serialization.load_pem_public_key(keys[cookies["CloudFront-Key-Pair-Id"]])
        public.verify(signature, policy, padding.PKCS1v15(), hashes.SHA1())  # type: ignore[union-attr,call-arg]
        (statement,) = json.loads(policy)["Statement"]
        resource = statement["Resource"]
        expires = statement["Condition"]["DateLessThan"]["AWS:EpochTime"]
    except (KeyError, ValueError, TypeError, InvalidSignature):
        return False
    pattern = ".*".join(re.escape(part) for part in resource.split("*"))
    return re.fullmatch(pattern, url) is not None and now < expires


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
        signed_by: dict[str, bytes] | None = None,
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
                path = self.path.split("?", 1)[0]
                if tls and signed_by is not None and path.startswith(mount) and not (
                    cloudfront_allows(self.headers.get("Cookie", ""), f"https://{host}{path}",
                                      signed_by, time.time())
                ):  # fmt: skip
                    self.refuse(body)
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

            def refuse(self, body: bool) -> None:
                page = b"<!doctype html><title>Private</title><h1>This gallery is private</h1>"
                self.send_response(HTTPStatus.FORBIDDEN)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(page)))
                self.end_headers()
                if body:
                    self.wfile.write(page)

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
