"""An HTTP/1.1 server whose cost does not grow with the connections it holds.

``ThreadingHTTPServer`` gives every connection a thread for its whole life, and never times an
idle one out: 300 idle sockets held 300 threads. Here a connection waits in one selector while
it is idle (a file descriptor, no thread), and that thread reads a request's head without
blocking; only a connection whose request head is whole goes to one of a fixed pool of worker
threads, which answers it and hands the connection back. A connection is closed when it has
been idle, or sending one request head, for ``timeout`` seconds, so a client that sends a byte
now and then holds no thread and not for long; beyond ``max_connections`` the longest-idle
connection is closed to make room.
"""

from __future__ import annotations

import contextlib
import queue
import selectors
import socket
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any

#: seconds a connection may stay idle, or take to send one request
DEFAULT_TIMEOUT = 15.0
DEFAULT_WORKERS = 8
DEFAULT_MAX_CONNECTIONS = 512


#: the longest request head read (request line and headers); BaseHTTPRequestHandler answers
#: 414 or 431 to longer ones
MAX_HEAD = 65536 + 4096


class Connection:
    """One client connection and the bytes read from it but not yet used.

    The selector thread reads a request's head without blocking until it is whole, so a client
    that sends part of a request and stops holds no thread; the worker then reads the head
    from ``pending`` (``readline``, as BaseHTTPRequestHandler does), and whatever follows (a
    pipelined request) stays there for the next turn."""

    def __init__(self, sock: socket.socket, address: Any):
        self.sock, self.address = sock, address
        self.pending = bytearray()
        self.idle_since = time.monotonic()
        self.deadline = float("inf")  # for reads by a worker (a request body)

    def receive(self) -> bool:
        """Read what has arrived, without blocking; False once the client has closed."""
        try:
            data = self.sock.recv(65536)
        except (BlockingIOError, InterruptedError):
            return True
        except OSError:
            return False
        self.pending += data
        return bool(data)

    def has_request(self) -> bool:
        """A whole request head is here (or too long a one, for the handler to refuse)."""
        return (
            b"\r\n\r\n" in self.pending or b"\n\n" in self.pending or (len(self.pending) > MAX_HEAD)
        )

    # the file interface BaseHTTPRequestHandler reads the request through (``rfile``)

    def readline(self, limit: int = -1) -> bytes:
        while True:
            end = self.pending.find(b"\n")
            if end >= 0 or (0 <= limit <= len(self.pending)) or not self._fill():
                break
        size = end + 1 if end >= 0 else len(self.pending)
        if limit >= 0:
            size = min(size, limit)
        line = bytes(self.pending[:size])
        del self.pending[:size]
        return line

    def read(self, size: int = -1) -> bytes:
        while (size < 0 or len(self.pending) < size) and self._fill():
            pass
        size = len(self.pending) if size < 0 else min(size, len(self.pending))
        data = bytes(self.pending[:size])
        del self.pending[:size]
        return data

    def _fill(self) -> bool:
        """Wait for more bytes until the deadline; False at the end of the stream."""
        remaining = self.deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError("the request did not arrive in time")
        self.sock.settimeout(remaining)
        data = self.sock.recv(65536)
        self.pending += data
        return bool(data)

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.sock.shutdown(socket.SHUT_RDWR)
        self.sock.close()


class PooledRequestHandler(BaseHTTPRequestHandler):
    """Answers exactly one request on a :class:`Connection`; the server keeps the connection
    for the next one unless ``close_connection`` is set."""

    protocol_version = "HTTP/1.1"

    def setup(self) -> None:
        connection: Connection = self.request
        self.connection = connection.sock
        self.rfile = connection  # type: ignore[assignment]
        self.wfile = connection.sock.makefile("wb", buffering=0)

    def handle(self) -> None:
        self.close_connection = True
        self.handle_one_request()

    def finish(self) -> None:
        with contextlib.suppress(OSError):
            self.wfile.close()  # closes this file object only; the socket stays open


class PooledHTTPServer(HTTPServer):
    """``serve_forever()`` runs the selector; ``shutdown()`` (from another thread) stops it."""

    request_queue_size = 128  # the listen backlog: a burst of connections is not refused

    def __init__(
        self,
        address: tuple[str, int],
        handler: type[PooledRequestHandler],
        *,
        timeout: float = DEFAULT_TIMEOUT,
        workers: int = DEFAULT_WORKERS,
        max_connections: int = DEFAULT_MAX_CONNECTIONS,
    ):
        if ":" in address[0]:
            self.address_family = socket.AF_INET6
        self.idle_timeout = timeout
        self.max_connections = max_connections
        self._selector = selectors.DefaultSelector()
        self._ready: queue.SimpleQueue[Connection | None] = queue.SimpleQueue()
        self._returned: queue.SimpleQueue[Connection] = queue.SimpleQueue()
        self._idle: dict[Connection, None] = {}  # insertion order: longest idle first
        self._open = 0  # connections idle or being answered
        self._count_lock = threading.Lock()
        self._wake_read, self._wake_write = socket.socketpair()
        self._stop = threading.Event()
        self._stopped = threading.Event()
        self._stopped.set()
        self._workers: list[threading.Thread] = []
        super().__init__(address, handler)  # on failure, calls server_close()
        self._workers = [
            threading.Thread(target=self._work, name=f"gallery-serve-{i}", daemon=True)
            for i in range(workers)
        ]
        for worker in self._workers:
            worker.start()

    # --- the selector loop (one thread) ---------------------------------------------------

    def serve_forever(self, poll_interval: float = 0.5) -> None:
        self._stopped.clear()
        self._stop.clear()
        self._selector.register(self.socket, selectors.EVENT_READ, "listen")
        self._selector.register(self._wake_read, selectors.EVENT_READ, "wake")
        try:
            while not self._stop.is_set():
                for key, _ in self._selector.select(self._next_wait(poll_interval)):
                    if key.data == "listen":
                        self._accept()
                    elif key.data == "wake":
                        with contextlib.suppress(OSError):
                            self._wake_read.recv(4096)
                    else:
                        self._on_readable(key.data)
                self._take_back_returned()
                self._close_expired()
        finally:
            for key in list(self._selector.get_map().values()):
                self._selector.unregister(key.fileobj)
            for connection in list(self._idle):
                self._forget(connection)
            self._stopped.set()

    def _next_wait(self, poll_interval: float) -> float:
        if not self._idle:
            return poll_interval
        oldest = next(iter(self._idle))
        return max(
            0.0, min(poll_interval, oldest.idle_since + self.idle_timeout - time.monotonic())
        )

    def _accept(self) -> None:
        try:
            sock, address = self.socket.accept()
        except OSError:  # EMFILE and the like: make room, the client will retry
            self._evict_oldest()
            return
        if self._open >= self.max_connections:
            self._evict_oldest()
        with self._count_lock:
            self._open += 1
        self._park(Connection(sock, address))

    def _park(self, connection: Connection) -> None:
        connection.idle_since = time.monotonic()
        connection.sock.setblocking(False)
        try:
            self._selector.register(connection.sock, selectors.EVENT_READ, connection)
        except (OSError, ValueError):
            self._close(connection)
            return
        self._idle[connection] = None

    def _on_readable(self, connection: Connection) -> None:
        if not connection.receive():
            self._forget(connection)
        elif connection.has_request():
            self._selector.unregister(connection.sock)
            self._idle.pop(connection, None)
            self._ready.put(connection)
        # else: part of a request; it stays parked, and its idle time runs on

    def _take_back_returned(self) -> None:
        while True:
            try:
                connection = self._returned.get_nowait()
            except queue.Empty:
                return
            if self._stop.is_set():
                self._close(connection)
            else:
                self._park(connection)

    def _close_expired(self) -> None:
        now = time.monotonic()
        for connection in list(self._idle):
            if connection.idle_since + self.idle_timeout > now:
                break  # the rest went idle later
            self._forget(connection)

    def _evict_oldest(self) -> None:
        if self._idle:
            self._forget(next(iter(self._idle)))

    def _forget(self, connection: Connection) -> None:
        self._idle.pop(connection, None)
        with contextlib.suppress(KeyError, ValueError, OSError):
            self._selector.unregister(connection.sock)
        self._close(connection)

    def _close(self, connection: Connection) -> None:
        connection.close()
        with self._count_lock:
            self._open -= 1

    # --- the workers ----------------------------------------------------------------------

    def _work(self) -> None:
        while True:
            connection = self._ready.get()
            if connection is None:
                return
            keep = self._answer(connection)
            if not keep or self._stop.is_set():
                self._close(connection)
            elif connection.has_request():
                self._ready.put(connection)  # a pipelined request is already here
            else:
                self._returned.put(connection)  # back to the selector, which parks it
                self._wake()

    def _answer(self, connection: Connection) -> bool:
        """Answer one request; whether the connection stays open for another."""
        connection.deadline = time.monotonic() + self.idle_timeout
        connection.sock.settimeout(self.idle_timeout)  # for the writes
        try:
            handler = self.RequestHandlerClass(connection, connection.address, self)
        except (OSError, ValueError):  # the client went away, or timed out mid-request
            return False
        except Exception as exc:  # a bug must not kill a worker, nor print a traceback
            print(f"gallery serve: cannot answer a request: {exc!r}", file=sys.stderr)
            return False
        return not handler.close_connection

    def _wake(self) -> None:
        with contextlib.suppress(OSError):
            self._wake_write.send(b"x")

    # --- stopping -------------------------------------------------------------------------

    def shutdown(self) -> None:
        self._stop.set()
        self._wake()
        self._stopped.wait()

    def server_close(self) -> None:
        super().server_close()
        for _ in self._workers:
            self._ready.put(None)
        while not self._returned.empty():
            self._returned.get_nowait().close()
        for sock in (self._wake_read, self._wake_write):
            sock.close()
        self._selector.close()
