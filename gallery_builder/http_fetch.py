"""A small HTTP client for ``gallery verify``: the standard library only (http.client, ssl),
one kept-alive connection per thread and host, no redirect followed, certificates checked
against the system's CAs (``SSL_CERT_FILE`` / ``SSL_CERT_DIR`` name others)."""

from __future__ import annotations

import http.client
import socket
import ssl
import threading
from dataclasses import dataclass
from urllib.parse import urlsplit

#: seconds for a connection or an answer
TIMEOUT = 15.0
#: the most of a body read (a page, the manifest); a bigger one is cut there
MAX_BODY = 64 * 1024 * 1024


class FetchError(Exception):
    """No HTTP answer: the host cannot be reached, TLS failed, the connection broke."""


@dataclass(frozen=True)
class Response:
    url: str
    status: int
    #: header names lower-cased; a repeated header's values joined with ", "
    headers: dict[str, str]
    body: bytes

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())


def tls_context() -> ssl.SSLContext:
    """The system's CAs, or those ``SSL_CERT_FILE`` names; TLS 1.2 at least."""
    context = ssl.create_default_context()
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    return context


def host_port(url: str) -> tuple[str, int, str]:
    """``(host, port, scheme)`` of an http(s) URL."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https") or not parts.hostname:
        raise FetchError(f"{url!r} is not an http:// or https:// URL")
    try:
        port = parts.port or (443 if scheme == "https" else 80)
    except ValueError:
        raise FetchError(f"{url!r} has a bad port") from None
    return parts.hostname, port, scheme


class Fetcher:
    """GET/HEAD with a connection per thread and host, reused."""

    def __init__(self, timeout: float = TIMEOUT, headers: dict[str, str] | None = None) -> None:
        self.timeout = timeout
        #: sent with every request (a private gallery's signed cookies, for gallery verify)
        self.headers = {"User-Agent": "gallery-verify", **(headers or {})}
        self._local = threading.local()
        self._context = tls_context()

    def _connection(self, host: str, port: int, scheme: str) -> http.client.HTTPConnection:
        pool = self._local.__dict__.setdefault("pool", {})
        key = (scheme, host, port)
        if key not in pool:
            if scheme == "https":
                pool[key] = http.client.HTTPSConnection(
                    host, port, timeout=self.timeout, context=self._context
                )
            else:
                pool[key] = http.client.HTTPConnection(host, port, timeout=self.timeout)
        return pool[key]

    def _drop(self, host: str, port: int, scheme: str) -> None:
        pool = self._local.__dict__.get("pool", {})
        connection = pool.pop((scheme, host, port), None)
        if connection is not None:
            connection.close()

    def fetch(self, url: str, method: str = "GET") -> Response:
        host, port, scheme = host_port(url)
        parts = urlsplit(url)
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        for attempt in range(2):  # a kept-alive connection the server closed: once more
            connection = self._connection(host, port, scheme)
            try:
                connection.request(method, target, headers=self.headers)
                answer = connection.getresponse()
                body = answer.read(MAX_BODY)  # HEAD: b"", and the answer is done
                headers: dict[str, str] = {}
                for name, value in answer.getheaders():
                    name = name.lower()
                    headers[name] = f"{headers[name]}, {value}" if name in headers else value
                if answer.will_close or not answer.isclosed():  # cut off: not reusable
                    self._drop(host, port, scheme)
                return Response(url, answer.status, headers, body)
            except ssl.SSLCertVerificationError as exc:
                self._drop(host, port, scheme)
                raise FetchError(f"{host}: {exc.verify_message or exc}") from None
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                self._drop(host, port, scheme)
                if attempt:
                    raise FetchError(f"{host}:{port} closed the connection") from None
            except (OSError, http.client.HTTPException) as exc:
                self._drop(host, port, scheme)
                raise FetchError(f"cannot reach {host}:{port}: {_reason(exc)}") from None
        raise AssertionError("unreachable")

    def close(self) -> None:
        for connection in self._local.__dict__.get("pool", {}).values():
            connection.close()


def _reason(exc: BaseException) -> str:
    if isinstance(exc, socket.gaierror):
        return "no such host"
    if isinstance(exc, TimeoutError | socket.timeout):
        return "timed out"
    return getattr(exc, "strerror", None) or str(exc) or type(exc).__name__


@dataclass(frozen=True)
class Certificate:
    """The certificate a TLS host presents: its expiry (seconds since the epoch) and the
    protocol agreed."""

    not_after: float
    protocol: str


def peer_certificate(host: str, port: int, timeout: float = TIMEOUT) -> Certificate:
    """Connect, verify the certificate (chain and host name), and return its expiry;
    :class:`FetchError` says why when it does not verify (expired, wrong host, unknown CA)."""
    context = tls_context()
    try:
        with (
            socket.create_connection((host, port), timeout=timeout) as raw,
            context.wrap_socket(raw, server_hostname=host) as tls,
        ):
            cert = tls.getpeercert() or {}
            protocol = tls.version() or "?"
    except ssl.SSLCertVerificationError as exc:
        raise FetchError(exc.verify_message or str(exc)) from None
    except (OSError, ssl.SSLError) as exc:
        raise FetchError(f"cannot reach {host}:{port}: {_reason(exc)}") from None
    not_after = cert.get("notAfter")
    if not isinstance(not_after, str):
        raise FetchError(f"{host} presented a certificate without an expiry date")
    return Certificate(ssl.cert_time_to_seconds(not_after), protocol)
