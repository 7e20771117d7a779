"""A real ``python -m moto.server`` on 127.0.0.1 for the publish benchmark, with every
request it logged (werkzeug writes one line per request, before the response)::

    127.0.0.1 - - [24/Nov/2026 00:38:13] "PUT /bkt/a%20b/x.txt HTTP/1.1" 200 -

The benchmark's own copy, so that bench/ does not import the test helpers in tests/.
"""

from __future__ import annotations

import dataclasses
import http.client
import os
import re
import subprocess
import sys
import threading
import time
import uuid
from typing import Any
from urllib.parse import parse_qsl, unquote

HOST = "127.0.0.1"
MOTO_API = "/moto-api/"
_SYNC = MOTO_API + "bench-sync/"
# the server ends when its stdin closes: it never outlives the benchmark
_BOOT = (
    "import os, sys, threading\n"
    "threading.Thread(target=lambda: (sys.stdin.buffer.read(), os._exit(0)), daemon=True).start()\n"
    "from moto.server import main\n"
    "main(sys.argv[1:])\n"
)
_RUNNING = re.compile(r"Running on http://127\.0\.0\.1:(\d+)")
_ANSI = re.compile(r"\x1b\[[0-9;]*m")
_LINE = re.compile(r'"(?P<method>[A-Z]+) (?P<target>.*) HTTP/\d(?:\.\d)?" (?P<status>\d{3}) \S+$')


@dataclasses.dataclass(frozen=True)
class Request:
    """One request as the server logged it."""

    method: str
    path: str  #: URL-decoded, without the query
    query: dict[str, str]
    raw_query: str
    status: int

    @property
    def internal(self) -> bool:
        return self.path.startswith(MOTO_API)

    @property
    def bucket(self) -> str | None:
        return self.path.lstrip("/").split("/", 1)[0] or None

    @property
    def key(self) -> str | None:
        parts = self.path.split("/", 2)
        return parts[2] if len(parts) == 3 and parts[2] else None

    def __str__(self) -> str:
        query = f"?{self.raw_query}" if self.raw_query else ""
        return f"{self.method} {self.path}{query} -> {self.status}"


def parse_line(line: str) -> Request | None:
    match = _LINE.search(_ANSI.sub("", line).rstrip())
    if match is None:
        return None
    path, _, raw_query = match["target"].partition("?")
    query = dict(parse_qsl(raw_query, keep_blank_values=True))
    return Request(match["method"], unquote(path), query, raw_query, int(match["status"]))


class MotoServer:
    """``with MotoServer() as server:``; the port is the OS's choice, read from the banner."""

    def __init__(self, start_timeout: float = 30.0) -> None:
        self.start_timeout = start_timeout
        self.proc: subprocess.Popen[bytes] | None = None
        self.port: int | None = None
        self._cond = threading.Condition()
        self._entries: list[Request] = []
        self._output: list[str] = []

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc else None

    @property
    def endpoint(self) -> str:
        return f"http://{HOST}:{self.port}"

    def __enter__(self) -> MotoServer:
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        self.proc = subprocess.Popen(
            [sys.executable, "-c", _BOOT, "-H", HOST, "-p", "0"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            env=env,
        )
        threading.Thread(target=self._read, daemon=True).start()
        deadline = time.monotonic() + self.start_timeout
        with self._cond:
            while self.port is None:
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    self.__exit__()
                    raise RuntimeError("moto server did not start:\n" + "\n".join(self._output))
                self._cond.wait(0.1)
        self.sync()
        return self

    def __exit__(self, *_exc: Any) -> None:
        proc, self.proc = self.proc, None
        if proc is None:
            return
        proc.terminate()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        if proc.stdin:
            proc.stdin.close()

    def _read(self) -> None:
        assert self.proc is not None and self.proc.stdout is not None
        for raw in iter(self.proc.stdout.readline, b""):
            line = raw.decode("utf-8", "replace")
            request = parse_line(line)
            with self._cond:
                self._output = [*self._output[-200:], line.rstrip()]
                if request is not None:
                    self._entries.append(request)
                elif self.port is None and (match := _RUNNING.search(line)):
                    self.port = int(match[1])
                self._cond.notify_all()

    def _call(self, method: str, path: str) -> int:
        conn = http.client.HTTPConnection(HOST, self.port, timeout=10)
        try:
            conn.request(method, path, headers={"Content-Length": "0"})
            response = conn.getresponse()
            response.read()
            return response.status
        finally:
            conn.close()

    def sync(self, timeout: float = 10.0) -> None:
        """Wait until every request answered so far is in the log (a marker request's line
        arrives after theirs)."""
        path = _SYNC + uuid.uuid4().hex
        for _ in range(50):
            try:
                self._call("GET", path)
                break
            except OSError:
                time.sleep(0.1)
        deadline = time.monotonic() + timeout
        with self._cond:
            while not any(r.path == path for r in self._entries[-50:]):
                if time.monotonic() > deadline:
                    raise RuntimeError("the moto server's log never showed the sync request")
                self._cond.wait(0.1)

    def mark(self) -> int:
        """A position in the log, for ``requests_since``."""
        self.sync()
        with self._cond:
            return len(self._entries)

    def requests_since(self, mark: int) -> list[Request]:
        """The S3 requests logged after ``mark`` (moto's own API left out)."""
        self.sync()
        time.sleep(0.05)  # a request whose client gave up before the answer
        with self._cond:
            return [r for r in self._entries[mark:] if not r.internal]

    def reset(self) -> None:
        """Forget every bucket and object."""
        if self._call("POST", MOTO_API + "reset") != 200:
            raise RuntimeError("moto reset failed")


def s3_client(endpoint: str, region: str = "us-east-1") -> Any:
    """A boto3 client for the server: fake credentials, path-style, no proxy."""
    import boto3
    from botocore.config import Config

    config = Config(s3={"addressing_style": "path"}, proxies={}, retries={"max_attempts": 3})
    return boto3.session.Session(
        aws_access_key_id="testing", aws_secret_access_key="testing", region_name=region
    ).client("s3", endpoint_url=endpoint, config=config)
