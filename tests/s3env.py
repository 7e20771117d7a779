"""Real S3 for tests: a moto server in a child process, a boto3 client for it, and a small
fault-injecting TCP proxy to put in front of it.

Nothing here patches botocore: every call goes over HTTP on 127.0.0.1 to a real
``python -m moto.server`` process, and what reached the server is read back from the
server's own request log (one werkzeug line per request, written before the response)::

    127.0.0.1 - - [24/Nov/2026 00:38:13] "PUT /bkt/a%20b/ü%3Fx.txt HTTP/1.1" 200 -

This is a plain module with no pytest fixtures, so that any test module can import it.
"""

from __future__ import annotations

import collections
import contextlib
import dataclasses
import http.client
import os
import re
import socket
import struct
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterable, Iterator, Mapping
from types import TracebackType
from typing import IO, Any, Literal
from urllib.parse import parse_qsl, unquote

import boto3
from botocore.config import Config

#: everything listens and connects on the loopback address only
HOST = "127.0.0.1"

#: moto's internal API; requests under it are never counted as S3 requests
MOTO_API = "/moto-api/"

_SYNC_PREFIX = MOTO_API + "s3env-sync/"
# ``python -m moto.server ARGS``, plus a watchdog that ends the server when its stdin closes,
# i.e. when the test process dies without calling stop(): no server outlives its tests.
_BOOT = (
    "import os, sys, threading\n"
    "threading.Thread(target=lambda: (sys.stdin.buffer.read(), os._exit(0)), daemon=True).start()\n"
    "from moto.server import main\n"
    "main(sys.argv[1:])\n"
)
_RUNNING = re.compile(r"Running on http://127\.0\.0\.1:(\d+)")
_ANSI = re.compile(r"\x1b\[[0-9;]*m")
_LOG_LINE = re.compile(
    r'^(?P<client>\S+) - - \[(?P<time>[^\]]*)\] "(?P<method>[A-Z]+) (?P<target>.*) '
    r'(?P<version>HTTP/\d(?:\.\d)?)" (?P<status>\d{3}) (?P<size>\S+)$'
)
# werkzeug escapes a backslash as ``\\`` and control characters as ``\xNN`` in the log
_LOG_ESCAPE = re.compile(r"\\(\\|x[0-9a-fA-F]{2})")


def _unescape_log(text: str) -> str:
    return _LOG_ESCAPE.sub(lambda m: "\\" if m[1] == "\\" else chr(int(m[1][1:], 16)), text)


@dataclasses.dataclass(frozen=True)
class Request:
    """One request as the moto server logged it."""

    #: HTTP method, e.g. ``"PUT"``
    method: str
    #: URL-decoded path without the query, e.g. ``"/bucket/a b/ü.jpg"``
    path: str
    #: the query's parameters, decoded; a bare sub-resource such as ``?website`` maps to ``""``
    query: dict[str, str]
    #: the query string as logged (still percent-encoded where werkzeug kept it so)
    raw_query: str
    #: the HTTP status the server answered
    status: int

    @property
    def internal(self) -> bool:
        """Whether this is a call to moto's own API (reset, sync), not an S3 request."""
        return self.path.startswith(MOTO_API) or self.path == MOTO_API.rstrip("/")

    @property
    def bucket(self) -> str | None:
        """The bucket of a path-style request, or None for ``/`` (ListBuckets)."""
        return self.path.lstrip("/").split("/", 1)[0] or None

    @property
    def key(self) -> str | None:
        """The object key of a path-style request, or None for a bucket-level request."""
        parts = self.path.split("/", 2)
        return parts[2] if len(parts) == 3 and parts[2] else None

    def __str__(self) -> str:
        query = f"?{self.raw_query}" if self.raw_query else ""
        return f"{self.method} {self.path}{query} -> {self.status}"


def parse_log_line(line: str) -> Request | None:
    """The request a werkzeug log line records, or None if the line is not a request line."""
    match = _LOG_LINE.match(_ANSI.sub("", line).rstrip("\r\n"))
    if match is None:
        return None
    # The logged target is werkzeug's ``uri_to_iri(path)``: UTF-8 decoded, but reserved
    # characters (``%``, ``?``, ``#``, space...) still percent-encoded, so one unquote restores
    # the key exactly.
    target = _unescape_log(match["target"])
    path, _, raw_query = target.partition("?")
    return Request(
        method=match["method"],
        path=unquote(path),
        query=dict(parse_qsl(raw_query, keep_blank_values=True)),
        raw_query=raw_query,
        status=int(match["status"]),
    )


class MotoServer:
    """A real moto server in a child process on 127.0.0.1, with its request log captured.

    Use ``with MotoServer() as server:`` or ``server = MotoServer().start()`` and
    ``server.stop()``. The port is chosen by the OS (``-p 0``) and read from the server's
    startup banner, so parallel test runs never collide.
    """

    def __init__(
        self,
        *,
        start_timeout: float = 30.0,
        python: str = sys.executable,
        env: Mapping[str, str] | None = None,
    ) -> None:
        self.start_timeout = start_timeout
        self._python = python
        #: variables set in the server's environment besides ours (e.g. moto's settings,
        #: such as ``MOTO_ACM_VALIDATION_WAIT``, which the server process reads)
        self._env = dict(env or {})
        self._proc: subprocess.Popen[bytes] | None = None
        self._reader: threading.Thread | None = None
        self._port: int | None = None
        self._cond = threading.Condition()
        self._entries: list[Request] = []
        self._synced: set[str] = set()
        self._output: collections.deque[str] = collections.deque(maxlen=300)

    # -- lifecycle --------------------------------------------------------------------------

    def start(self) -> MotoServer:
        """Start the server and wait until it answers and its log is being read.

        Raises RuntimeError, with the server's output, if it exits or does not answer within
        ``start_timeout`` seconds.
        """
        if self._proc is not None:
            raise RuntimeError("MotoServer already started")
        env = {**os.environ, **self._env, "PYTHONUNBUFFERED": "1", "PYTHONIOENCODING": "utf-8"}
        self._proc = subprocess.Popen(
            [self._python, "-c", _BOOT, "-H", HOST, "-p", "0"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            env=env,
        )
        self._reader = threading.Thread(
            target=self._read_log, args=(self._proc.stdout,), name="moto-log", daemon=True
        )
        self._reader.start()
        deadline = time.monotonic() + self.start_timeout
        try:
            while True:  # until the startup banner names the port
                with self._cond:
                    if self._port is not None:
                        break
                    self._cond.wait(timeout=0.1)
                self._check_alive()
                self._left(deadline)
            while True:  # the socket listens; wait until the app answers and is logged
                try:
                    self.sync(timeout=max(0.1, min(5.0, deadline - time.monotonic())))
                    return self
                except OSError:
                    self._check_alive()
                    self._left(deadline)
                    time.sleep(0.05)
        except BaseException:
            self.stop()
            raise

    def _left(self, deadline: float) -> float:
        left = deadline - time.monotonic()
        if left <= 0:
            raise RuntimeError(
                f"moto server did not answer within {self.start_timeout} s; output:\n"
                + self.output()
            )
        return left

    def _check_alive(self) -> None:
        assert self._proc is not None
        if self._proc.poll() is not None:
            if self._reader is not None:
                self._reader.join(timeout=2)
            raise RuntimeError(
                f"moto server exited with {self._proc.returncode} while starting; output:\n"
                + self.output()
            )

    def stop(self) -> None:
        """Terminate the server (killed if it does not exit within 5 s). Safe to call twice."""
        proc, self._proc = self._proc, None
        if proc is None:
            return
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=5)
        if self._reader is not None:
            self._reader.join(timeout=5)
        for pipe in (proc.stdin, proc.stdout):
            if pipe is not None:
                with contextlib.suppress(OSError):
                    pipe.close()

    def __enter__(self) -> MotoServer:
        return self.start() if self._proc is None else self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # -- the log ----------------------------------------------------------------------------

    def _read_log(self, stream: IO[bytes]) -> None:
        for raw in iter(stream.readline, b""):  # ends when the server exits
            line = raw.decode("utf-8", "replace").rstrip("\r\n")
            request = parse_log_line(line)
            with self._cond:
                self._output.append(line)
                if request is not None:
                    self._entries.append(request)
                    if request.path.startswith(_SYNC_PREFIX):
                        self._synced.add(request.path[len(_SYNC_PREFIX) :])
                elif self._port is None and (match := _RUNNING.search(line)):
                    self._port = int(match[1])
                self._cond.notify_all()
        with self._cond:
            self._cond.notify_all()

    def output(self) -> str:
        """The server's last few hundred output lines (banner, request log, tracebacks)."""
        with self._cond:
            return "\n".join(self._output)

    def sync(self, timeout: float = 5.0) -> None:
        """Wait until every request whose response a client has already seen is in the log.

        werkzeug logs a request before it sends the response, so once the log shows a fresh
        marker request sent now, it holds every request answered before it.
        """
        token = uuid.uuid4().hex
        self._call("GET", _SYNC_PREFIX + token, timeout=timeout)
        deadline = time.monotonic() + timeout
        with self._cond:
            while token not in self._synced:
                left = deadline - time.monotonic()
                if left <= 0 or self._proc is None or self._proc.poll() is not None:
                    raise RuntimeError(
                        "moto server's log never showed the sync request; output:\n"
                        + "\n".join(self._output)
                    )
                self._cond.wait(timeout=min(left, 0.1))
            self._synced.discard(token)

    def _settle(self, settle: float, limit: float) -> None:
        start = last_change = time.monotonic()
        with self._cond:
            seen = len(self._entries)
            while True:
                now = time.monotonic()
                if len(self._entries) != seen:
                    seen, last_change = len(self._entries), now
                quiet_left = last_change + settle - now
                if quiet_left <= 0 or now - start >= limit:
                    return
                self._cond.wait(timeout=quiet_left)

    def mark(self) -> int:
        """A position in the log: ``requests_since(mark)`` returns what came after it."""
        self.sync()
        with self._cond:
            return len(self._entries)

    def requests_since(
        self, mark: int, settle: float = 0.05, *, include_internal: bool = False
    ) -> list[Request]:
        """The requests logged after ``mark``, oldest first, moto-api calls left out.

        First syncs (see ``sync``) so every request already answered is there, then waits
        until no new line arrived for ``settle`` seconds (at most 40 × settle, 2 s or more)
        to also catch requests whose client gave up before the answer (0 to skip).
        """
        self.sync()
        if settle > 0:
            self._settle(settle, limit=max(2.0, 40 * settle))
        with self._cond:
            entries = self._entries[mark:]
        return [r for r in entries if include_internal or not r.internal]

    def requests(self, settle: float = 0.05, *, include_internal: bool = False) -> list[Request]:
        """Every request logged since the server started (see ``requests_since``)."""
        return self.requests_since(0, settle, include_internal=include_internal)

    # -- moto's API -------------------------------------------------------------------------

    @property
    def port(self) -> int:
        """The TCP port the server listens on."""
        if self._port is None or self._proc is None:
            raise RuntimeError("MotoServer is not running")
        return self._port

    @property
    def endpoint(self) -> str:
        """The server's base URL, e.g. ``http://127.0.0.1:40123``."""
        return f"http://{HOST}:{self.port}"

    def _call(self, method: str, path: str, timeout: float = 10.0) -> tuple[int, bytes]:
        conn = http.client.HTTPConnection(HOST, self.port, timeout=timeout)
        try:
            conn.request(method, path, headers={"Content-Length": "0"})
            response = conn.getresponse()
            return response.status, response.read()
        finally:
            conn.close()

    def reset(self) -> None:
        """Forget all state (buckets, objects...) without restarting: ``POST /moto-api/reset``."""
        status, body = self._call("POST", MOTO_API + "reset")
        if status != 200:
            raise RuntimeError(f"moto reset answered {status}: {body[:200]!r}")


def s3_client(
    endpoint: str,
    region: str = "us-east-1",
    *,
    max_attempts: int = 3,
    timeout: float = 10.0,
) -> Any:
    """A boto3 S3 client for ``endpoint`` with fake credentials, path-style addressing,
    standard retries (``max_attempts`` in all) and no proxy from the environment."""
    session = boto3.session.Session(
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        aws_session_token="testing",
        region_name=region,
    )
    config = Config(
        s3={"addressing_style": "path"},
        retries={"mode": "standard", "total_max_attempts": max_attempts},
        connect_timeout=timeout,
        read_timeout=timeout,
        proxies={},
    )
    return session.client("s3", endpoint_url=endpoint, config=config)


# -- the fault proxy ------------------------------------------------------------------------

FaultKind = Literal[
    "reset",
    "hang",
    "delay",
    "slowdown",
    "truncate",
    "not-implemented",
    "access-denied",
    "invalid-request",
    "malformed-xml",
    "method-not-allowed",
    "not-modified",
]


def _error_body(code: str, message: str) -> bytes:
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f"<Error><Code>{code}</Code><Message>{message}</Message>"
        "<RequestId>S3ENVFAULT</RequestId><HostId>s3env</HostId></Error>"
    ).encode()


#: the faults answered by the proxy itself: status line and S3 error body
_ANSWERS: dict[str, tuple[str, bytes]] = {
    "slowdown": ("503 Slow Down", _error_body("SlowDown", "Please reduce your request rate.")),
    "not-implemented": (
        "501 Not Implemented",
        _error_body(
            "NotImplemented", "A header you provided implies functionality that is not implemented"
        ),
    ),
    "access-denied": ("403 Forbidden", _error_body("AccessDenied", "Access Denied")),
    "invalid-request": ("400 Bad Request", _error_body("InvalidRequest", "Invalid Request")),
    # old MinIO, to a bucket call it does not know (it parses the body as another call's)
    "malformed-xml": (
        "400 Bad Request",
        _error_body("MalformedXML", "The XML you provided was not well-formed"),
    ),
    # Ceph RGW with static websites disabled, s3rver's GetBucketPolicy
    "method-not-allowed": (
        "405 Method Not Allowed",
        _error_body("MethodNotAllowed", "The specified method is not allowed"),
    ),
    # Cloudflare R2 (and MinIO until 2024) to a conditional write whose condition fails
    "not-modified": ("304 Not Modified", b""),
}
_MAX_HEAD = 64 * 1024
_BLOCK = 64 * 1024


@dataclasses.dataclass(frozen=True)
class Fault:
    """Do ``kind`` to the ``nth`` request (1-based) that matches ``method`` and ``path``.

    - ``"reset"``: read the request, do not forward it, close the connection with a RST.
    - ``"hang"``: do not forward, never answer: the client waits until the proxy closes (or
      its read timeout): a request caught in flight, e.g. to kill the client at that moment.
    - ``"delay"``: hold the request ``seconds`` before forwarding it (then as usual): a slow
      request, e.g. one that lands after another client's writes.
    - ``"slowdown"``: do not forward; answer ``503 SlowDown`` with S3's XML error body.
    - ``"not-implemented"``: do not forward; answer ``501 NotImplemented``, as S3-compatible
      stores (MinIO, R2, ...) answer a call they do not support.
    - ``"access-denied"``: do not forward; answer ``403 AccessDenied``, as S3 does for a call
      the IAM identity may not make (or that account-level Block Public Access forbids).
    - ``"invalid-request"``: do not forward; answer ``400 InvalidRequest`` (not retried).
    - ``"malformed-xml"``: do not forward; answer ``400 MalformedXML``, as old MinIO answers
      PutBucketWebsite and PutPublicAccessBlock.
    - ``"method-not-allowed"``: do not forward; answer ``405 MethodNotAllowed``.
    - ``"not-modified"``: do not forward; answer ``304 Not Modified`` with no body, as R2 may
      answer a conditional write whose condition does not hold.
    - ``"truncate"``: forward, then send the head and only half of the response's body and
      close the connection; a response with an empty body (HEAD, a PUT's 200) is cut inside
      its status line, so the client sees the answer broken, although the server acted.

    ``method`` matches the HTTP method exactly (any if None); ``path`` is a substring of the
    URL-decoded request target, path and query (any if None).
    """

    kind: FaultKind
    method: str | None = None
    path: str | None = None
    nth: int = 1
    #: how long a ``"delay"`` holds the request
    seconds: float = 0.0

    def __post_init__(self) -> None:
        if self.kind not in ("reset", "hang", "delay", "truncate", *_ANSWERS):
            raise ValueError(f"unknown fault kind {self.kind!r}")
        if self.nth < 1:
            raise ValueError("nth counts from 1")

    def matches(self, method: str, target: str) -> bool:
        """Whether a request with this method and decoded target is one this fault counts."""
        return (self.method is None or self.method.upper() == method) and (
            self.path is None or self.path in target
        )


@dataclasses.dataclass(frozen=True)
class ProxyEvent:
    """One request the proxy received, and the fault it got (None: forwarded untouched)."""

    method: str
    target: str
    fault: FaultKind | None


class _Closed(Exception):
    """The peer closed or broke the connection, or sent something unparseable."""


class _Stream:
    """Buffered, bounded reads from a socket."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.buf = bytearray()

    def _fill(self) -> bool:
        try:
            data = self.sock.recv(_BLOCK)
        except OSError as exc:
            raise _Closed(str(exc)) from exc
        self.buf += data
        return bool(data)

    def read_until(self, delim: bytes, limit: int = _MAX_HEAD) -> bytes | None:
        """Bytes up to and including ``delim``; None on a clean EOF before any byte."""
        while (end := self.buf.find(delim)) < 0:
            if len(self.buf) > limit:
                raise _Closed("header too long")
            if not self._fill():
                if self.buf:
                    raise _Closed("EOF inside a header")
                return None
        data = bytes(self.buf[: end + len(delim)])
        del self.buf[: end + len(delim)]
        return data

    def iter_exact(self, size: int) -> Iterator[bytes]:
        """``size`` bytes, in pieces."""
        while size > 0:
            if not self.buf and not self._fill():
                raise _Closed("EOF inside a body")
            piece = bytes(self.buf[:size])
            del self.buf[: len(piece)]
            size -= len(piece)
            yield piece

    def iter_to_eof(self) -> Iterator[bytes]:
        """Everything until the peer closes."""
        while self.buf or self._fill():
            piece = bytes(self.buf)
            self.buf.clear()
            yield piece

    def iter_chunked(self) -> Iterator[bytes]:
        """A chunked body, raw (size lines, data, trailers), up to its last empty line."""
        while True:
            line = self.read_until(b"\r\n", limit=4096)
            if line is None:
                raise _Closed("EOF inside a chunked body")
            yield line
            try:
                size = int(line.split(b";", 1)[0].strip(), 16)
            except ValueError as exc:
                raise _Closed("bad chunk size") from exc
            if size == 0:
                break
            yield from self.iter_exact(size + 2)
        while True:  # trailers, then the empty line
            line = self.read_until(b"\r\n", limit=_MAX_HEAD)
            if line is None:
                raise _Closed("EOF inside chunk trailers")
            yield line
            if line == b"\r\n":
                return


@dataclasses.dataclass
class _Head:
    """A request or status line with its headers."""

    start: str
    headers: list[tuple[str, str]]

    @classmethod
    def parse(cls, raw: bytes) -> _Head:
        lines = raw.decode("latin-1").split("\r\n")
        headers = []
        for line in lines[1:]:
            if line:
                name, sep, value = line.partition(":")
                if not sep:
                    raise _Closed(f"bad header line {line!r}")
                headers.append((name.strip(), value.strip()))
        return cls(lines[0], headers)

    def get(self, name: str) -> str | None:
        name = name.lower()
        return next((v for k, v in self.headers if k.lower() == name), None)

    def without(self, *names: str) -> list[tuple[str, str]]:
        drop = {n.lower() for n in names}
        return [(k, v) for k, v in self.headers if k.lower() not in drop]

    def encode(self) -> bytes:
        lines = [self.start, *(f"{k}: {v}" for k, v in self.headers), "", ""]
        return "\r\n".join(lines).encode("latin-1")

    def has_token(self, name: str, token: str) -> bool:
        value = self.get(name) or ""
        return token in {t.strip().lower() for t in value.split(",")}


def _body(stream: _Stream, head: _Head, *, no_body: bool, to_eof: bool) -> Iterator[bytes]:
    """The raw body that follows ``head``: per Transfer-Encoding, Content-Length, or EOF."""
    if no_body:
        return iter(())
    if head.has_token("Transfer-Encoding", "chunked"):
        return stream.iter_chunked()
    length = head.get("Content-Length")
    if length is not None:
        try:
            return stream.iter_exact(int(length))
        except ValueError as exc:
            raise _Closed("bad Content-Length") from exc
    return stream.iter_to_eof() if to_eof else iter(())


class FaultProxy:
    """A threaded HTTP/1.1 proxy on 127.0.0.1 in front of ``upstream`` that can break chosen
    requests deterministically (see ``Fault`` and ``plan``).

    It keeps client connections alive the way S3 does (it drops the upstream's
    ``Connection: close``), handles ``Expect: 100-continue`` itself, and opens one upstream
    connection per request. Use ``with FaultProxy(server.endpoint) as proxy:`` and point the
    client at ``proxy.endpoint``.
    """

    def __init__(self, upstream: str, *, timeout: float = 30.0) -> None:
        host, _, port = upstream.removeprefix("http://").rstrip("/").partition(":")
        if host not in (HOST, "localhost"):
            raise ValueError(f"FaultProxy only forwards to {HOST}, not {host!r}")
        self._upstream = (HOST, int(port or 80))
        self.timeout = timeout
        self._lock = threading.Lock()
        self._plan: list[list[Any]] = []  # [fault, matched so far, fired]
        self._events: list[ProxyEvent] = []
        self._connections = 0
        self._stop = threading.Event()
        self._sockets: set[socket.socket] = set()
        self._threads: set[threading.Thread] = set()
        self._listener = socket.create_server((HOST, 0))
        self._listener.settimeout(0.1)
        self.port: int = self._listener.getsockname()[1]
        self._acceptor = threading.Thread(target=self._accept, name="fault-proxy", daemon=True)
        self._acceptor.start()

    @property
    def endpoint(self) -> str:
        """The proxy's base URL, to give to the client instead of the server's."""
        return f"http://{HOST}:{self.port}"

    def plan(self, faults: Iterable[Fault]) -> None:
        """Replace the plan: from now on, count matching requests afresh for each fault.

        A request that matches several faults counts for each; the first fault in plan
        order that reaches its ``nth`` on it is applied. Each fault fires once.
        """
        with self._lock:
            self._plan = [[fault, 0, False] for fault in faults]

    def pending(self) -> list[Fault]:
        """The planned faults that have not fired yet."""
        with self._lock:
            return [fault for fault, _, fired in self._plan if not fired]

    @property
    def events(self) -> list[ProxyEvent]:
        """Every request received so far, in order."""
        with self._lock:
            return list(self._events)

    @property
    def connections(self) -> int:
        """How many client connections were accepted (fewer than requests: keep-alive)."""
        with self._lock:
            return self._connections

    @property
    def count(self) -> int:
        """How many requests were passed on to the upstream (including truncated ones)."""
        with self._lock:
            return sum(e.fault in (None, "truncate", "delay") for e in self._events)

    def _choose(self, method: str, target: str) -> Fault | None:
        chosen: Fault | None = None
        with self._lock:
            for entry in self._plan:
                fault, seen, fired = entry
                if fired or not fault.matches(method, target):
                    continue
                entry[1] = seen + 1
                if entry[1] == fault.nth and chosen is None:
                    entry[2] = True
                    chosen = fault
            self._events.append(ProxyEvent(method, target, chosen.kind if chosen else None))
        return chosen

    # -- plumbing ---------------------------------------------------------------------------

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                client, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            client.settimeout(self.timeout)
            thread = threading.Thread(
                target=self._serve, args=(client,), name="fault-proxy-conn", daemon=True
            )
            with self._lock:
                self._connections += 1
                self._sockets.add(client)
                self._threads.add(thread)
            thread.start()

    def _track(self, sock: socket.socket, add: bool) -> None:
        with self._lock:
            if add:
                self._sockets.add(sock)
            else:
                self._sockets.discard(sock)

    def _serve(self, client: socket.socket) -> None:
        try:
            stream = _Stream(client)
            while not self._stop.is_set() and self._exchange(client, stream):
                pass
            self._close(client)
        except (_Closed, OSError):
            with contextlib.suppress(OSError):
                client.close()
        finally:
            self._track(client, add=False)
            with self._lock:
                self._threads.discard(threading.current_thread())

    def _exchange(self, client: socket.socket, stream: _Stream) -> bool:
        """Serve one request; whether the client connection stays open for another."""
        raw = stream.read_until(b"\r\n\r\n")
        if raw is None:
            return False
        request = _Head.parse(raw)
        try:
            method, target, version = request.start.split(" ")
        except ValueError as exc:
            raise _Closed(f"bad request line {request.start!r}") from exc
        chosen = self._choose(method, unquote(target))
        fault = chosen.kind if chosen else None
        if chosen is not None and fault == "delay":
            self._stop.wait(chosen.seconds)
            fault = None
        expects = request.has_token("Expect", "100-continue")
        keep_alive = version == "HTTP/1.1" and not request.has_token("Connection", "close")

        if fault == "hang":
            self._stop.wait()
            raise _Closed("hung as planned")
        if fault in _ANSWERS:
            status, body = _ANSWERS[fault]
            if not expects:
                for _ in _body(stream, request, no_body=False, to_eof=False):
                    pass
            head = _Head(
                f"HTTP/1.1 {status}",
                [
                    ("Content-Type", "application/xml"),
                    ("Content-Length", str(len(body))),
                    ("x-amz-request-id", "S3ENVFAULT"),
                    *([("Connection", "close")] if expects else []),
                ],
            )
            client.sendall(head.encode() + (b"" if method == "HEAD" else body))
            return keep_alive and not expects

        if expects:
            client.sendall(b"HTTP/1.1 100 Continue\r\n\r\n")
        if fault == "reset":
            for _ in _body(stream, request, no_body=False, to_eof=False):
                pass
            client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            client.close()
            raise _Closed("reset as planned")

        upstream = socket.create_connection(self._upstream, timeout=self.timeout)
        self._track(upstream, add=True)
        try:
            forwarded = _Head(
                request.start, [*request.without("Expect", "Connection"), ("Connection", "close")]
            )
            upstream.sendall(forwarded.encode())
            for piece in _body(stream, request, no_body=False, to_eof=False):
                upstream.sendall(piece)
            return self._respond(client, _Stream(upstream), method, fault, keep_alive)
        finally:
            self._track(upstream, add=False)
            with contextlib.suppress(OSError):
                upstream.close()

    def _respond(
        self,
        client: socket.socket,
        upstream: _Stream,
        method: str,
        fault: FaultKind | None,
        keep_alive: bool,
    ) -> bool:
        for _ in range(10):  # skip interim 1xx answers (we never ask for 100-continue)
            raw = upstream.read_until(b"\r\n\r\n")
            if raw is None:
                raise _Closed("upstream closed without answering")
            response = _Head.parse(raw)
            try:
                status = int(response.start.split(" ", 2)[1])
            except (IndexError, ValueError) as exc:
                raise _Closed(f"bad status line {response.start!r}") from exc
            if not 100 <= status < 200:
                break
        else:
            raise _Closed("too many interim responses")
        no_body = method == "HEAD" or status in (204, 304)
        framed = (
            no_body
            or response.get("Content-Length") is not None
            or response.has_token("Transfer-Encoding", "chunked")
        )
        keep_alive = keep_alive and framed
        headers = response.without("Connection")
        if not keep_alive:
            headers.append(("Connection", "close"))
        head = _Head(response.start, headers).encode()
        body = _body(upstream, response, no_body=no_body, to_eof=True)

        if fault == "truncate":
            # A client takes a head cut short by EOF for a whole one, so a response without
            # body bytes is cut inside its status line instead.
            data = b"".join(body)
            if data:
                client.sendall(head + data[: len(data) // 2])
            else:
                client.sendall(head[: head.index(b" ") + 2])
            return False
        client.sendall(head)
        for piece in body:
            client.sendall(piece)
        return keep_alive

    def _close(self, sock: socket.socket) -> None:
        """Close gracefully: FIN, then drain briefly so unread input does not turn it into RST."""
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_WR)
            sock.settimeout(1.0)
            for _ in range(64):
                if not sock.recv(_BLOCK):
                    break
        with contextlib.suppress(OSError):
            sock.close()

    def close(self) -> None:
        """Stop accepting, break every open connection and wait briefly for the threads."""
        self._stop.set()
        self._acceptor.join(timeout=2)
        with contextlib.suppress(OSError):
            self._listener.close()
        with self._lock:
            sockets, threads = list(self._sockets), list(self._threads)
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
        for thread in threads:
            thread.join(timeout=2)

    def __enter__(self) -> FaultProxy:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
