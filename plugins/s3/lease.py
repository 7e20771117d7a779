"""The S3 publisher's lease: one object per gallery, so that two publishes of it never run at
once (docs/publishing.md, step 4).

- **Where**: ``.gallery-leases/<hash of the prefix>``, outside every gallery's prefix, so
  the public-read statement of ``bucket/prefix/*`` does not cover it. (A gallery at the bucket
  root makes everything public: so the body holds nothing that identifies the machine.)
- **Renewed** while held: a background thread rewrites it every :data:`RENEW_SECONDS` with a
  conditional write on its ETag. If that write finds another lease there, or the lease could
  not be renewed in time, the lease is lost, and :meth:`S3Lease.ensure_held`, called before
  every write of the publish, stops it.
- **Taken over** only when expired, or when its holder is known dead: the same machine (a hash
  of /etc/machine-id, the boot id and the PID namespace, never the host name alone), its PID
  not running, or running a process that started at another time (the PID was reused).
- **Untrusted**: a lease body is read from the store; any field of the wrong type or out of
  range makes it unreadable, and an unreadable lease is judged by the store's own
  ``Last-Modified``: it blocks for one lease duration, then is taken over.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
import os
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from gallery_builder.errors import GalleryError
from gallery_builder.publisher import LeaseLost, PublishConflict

LEASE_PREFIX = ".gallery-leases/"
#: environment variables that shorten the lease, for tests of a publish that outlives it
LEASE_SECONDS_ENV = "GALLERY_LEASE_SECONDS"


def _seconds(name: str, default: float) -> float:
    with contextlib.suppress(ValueError):
        value = float(os.environ.get(name, default))
        if math.isfinite(value) and value > 0:
            return value
    return default


#: how long a lease lasts unless renewed: a publish that died stops blocking after this
LEASE_SECONDS = _seconds(LEASE_SECONDS_ENV, 15 * 60)
#: how often a held lease is renewed
RENEW_SECONDS = LEASE_SECONDS / 5
#: a lease is taken for lost this long before it would expire unrenewed, so that a write
#: the check lets through lands before another publish could take the lease over
SAFETY_SECONDS = 2 * RENEW_SECONDS
#: how far ahead of our clock another machine's may run (a lease further ahead is not one
#: gallery-builder wrote)
CLOCK_SKEW_SECONDS = 5 * 60
#: how a store says a condition did not hold (304: Cloudflare R2, MinIO before 2024)
_PRECONDITION = ("PreconditionFailed", "412", "ConditionalRequestConflict", "409", "304",
                 "NotModified")  # fmt: skip


def lease_key(prefix: str) -> str:
    """The lease object of the gallery at ``prefix``: outside every gallery's prefix."""
    return LEASE_PREFIX + hashlib.sha256(prefix.encode()).hexdigest()[:32]


def _read_text(path: str) -> str:
    try:
        with open(path, encoding="ascii", errors="replace") as file:
            return file.read(256).strip()
    except OSError:
        return ""


def machine_identity() -> str | None:
    """A hash telling this machine, boot and PID namespace apart from every other (None if it
    cannot be told: then no lease is ever judged dead from its PID)."""
    boot = _read_text("/proc/sys/kernel/random/boot_id")
    try:
        namespace = os.readlink("/proc/self/ns/pid")
    except OSError:
        namespace = ""
    if not boot or not namespace:
        return None
    machine = _read_text("/etc/machine-id")
    return hashlib.sha256(f"{machine}|{boot}|{namespace}".encode()).hexdigest()[:32]


def process_start(pid: int) -> int | None:
    """When the process ``pid`` started (clock ticks since boot), None if it does not run."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as file:
            stat = file.read()
    except OSError:
        return None
    try:  # the fields after the command name, which may itself hold spaces and ")"
        return int(stat.rsplit(b")", 1)[1].split()[19])
    except (IndexError, ValueError):
        return None


@dataclass(frozen=True)
class Holder:
    """What a lease says of its publish; each field checked (the body is untrusted)."""

    until: float
    machine: str | None = None
    pid: int | None = None
    started: int | None = None

    def died_here(self, machine: str | None) -> bool:
        """Whether its publish ran on this machine (same identity) and no longer runs."""
        if machine is None or self.machine != machine or self.pid is None:
            return False
        started = process_start(self.pid)
        if started is None:
            return True  # no such process
        # running: the same process unless it started at another time (the PID was reused)
        return self.started is not None and started != self.started


def parse_holder(data: bytes, now: float) -> Holder | None:
    """The lease's holder, or None when the body is not a lease gallery-builder wrote."""
    try:
        body = json.loads(data)
    except (ValueError, UnicodeDecodeError, RecursionError):
        return None
    if not isinstance(body, dict):
        return None
    until = body.get("until")
    if isinstance(until, bool) or not isinstance(until, (int, float)):
        return None
    if not math.isfinite(until) or until > now + LEASE_SECONDS + CLOCK_SKEW_SECONDS:
        return None

    def whole(value: Any) -> int | None:
        ok = isinstance(value, int) and not isinstance(value, bool) and 0 < value < 2**31
        return value if ok else None

    machine = body.get("machine")
    machine = machine if isinstance(machine, str) and len(machine) <= 64 else None
    return Holder(float(until), machine, whole(body.get("pid")), whole(body.get("started")))


class S3Lease:
    """The lease of one gallery, held by this process: taken, renewed, checked, released.

    ``call(operation, **kwargs)`` makes one S3 call on the bucket (botocore errors pass
    through); ``location`` names the bucket in messages."""

    def __init__(self, call: Callable[..., Any], location: str, prefix: str) -> None:
        self._call = call
        self.key = lease_key(prefix)
        self._where = f"{location}{self.key}"
        self._etag: str | None = None
        self._lost: str | None = None
        #: time.monotonic() until which the lease is surely ours
        self._held_until = 0.0
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._machine = machine_identity()
        self._pid = os.getpid()
        self._started = process_start(self._pid)
        self._id = uuid.uuid4().hex

    def _body(self) -> tuple[bytes, float]:
        until = time.time() + LEASE_SECONDS
        body = {"id": self._id, "until": until, "machine": self._machine, "pid": self._pid,
                "started": self._started}  # fmt: skip
        return json.dumps(body).encode(), until

    def _put(self, **condition: str) -> None:
        sent = time.monotonic()
        body, _ = self._body()
        response = self._call("put_object", Key=self.key, Body=body, **condition)
        with self._lock:
            self._etag = response["ETag"].strip('"')
            self._held_until = sent + LEASE_SECONDS - SAFETY_SECONDS

    # --- taking -----------------------------------------------------------------------------

    def take(self) -> None:
        """Take the lease, or raise :class:`PublishConflict` naming when it is free again."""
        from botocore.exceptions import ClientError

        try:
            self._put(IfNoneMatch="*")
        except ClientError as exc:
            if _code(exc) not in _PRECONDITION:
                raise
            self._take_over()
        self._thread = threading.Thread(target=self._renew_loop, name="lease", daemon=True)
        self._thread.start()

    def _take_over(self) -> None:
        from botocore.exceptions import ClientError

        try:
            response = self._call("get_object", Key=self.key)
            data, etag = response["Body"].read(), response["ETag"].strip('"')
            modified = response.get("LastModified")
        except ClientError as exc:
            if _code(exc) not in ("NoSuchKey", "404"):
                raise
            data, etag, modified = None, None, None
        if data is not None and self._adopt(data, etag):
            return  # our own write, whose answer was lost and retried
        if data is not None:
            now = time.time()
            holder = parse_holder(data, now)
            readable = holder is not None
            if holder is None:  # not a lease we understand: the store's clock judges it
                stamp = modified.timestamp() if modified is not None else 0.0
                holder = Holder(until=stamp + LEASE_SECONDS)
            if holder.until > now and not holder.died_here(self._machine):
                until = time.strftime("%H:%M:%S", time.localtime(holder.until))
                if not readable:
                    raise PublishConflict(
                        f"{self._where} holds a lease gallery-builder cannot read; it counts "
                        f"as held until {until}: wait until then (or, if no publish of this "
                        "gallery runs, delete it), then run gallery publish again"
                    )
                raise PublishConflict(
                    f"another publish holds {self._where} until {until} (it renews it while "
                    "it runs); wait for it to finish, then run gallery publish again"
                )
        condition = {"IfMatch": f'"{etag}"'} if etag else {"IfNoneMatch": "*"}
        try:  # expired, or its publish is gone: take it over, unless someone else just did
            self._put(**condition)
        except ClientError as exc:
            if _code(exc) not in _PRECONDITION:
                raise
            raise PublishConflict(
                f"another publish took {self._where} just now; wait for it to finish, then "
                "run gallery publish again"
            ) from None

    # --- holding ----------------------------------------------------------------------------

    def _renew_loop(self) -> None:
        from botocore.exceptions import BotoCoreError, ClientError

        while not self._stop.wait(RENEW_SECONDS):
            try:
                self._put(IfMatch=f'"{self._etag}"')
            except ClientError as exc:
                if _code(exc) not in (*_PRECONDITION, "NoSuchKey", "404"):
                    continue
                if not self._still_ours():
                    self._lost = "another publish took it over"
                    return
            except (BotoCoreError, GalleryError, OSError):
                pass  # tried again at the next interval; ensure_held watches the deadline

    def _adopt(self, data: bytes, etag: str | None) -> bool:
        """Whether the lease body ``data`` is this publish's own (a write of ours that landed
        though its answer was lost): then its ETag is ours."""
        with contextlib.suppress(ValueError, UnicodeDecodeError, RecursionError):
            body = json.loads(data)
            if not isinstance(body, dict):
                return False
            until = body.get("until")
            if body.get("id") == self._id and isinstance(until, float) and etag:
                with self._lock:
                    self._etag = etag
                    left = min(until - time.time(), LEASE_SECONDS)
                    self._held_until = time.monotonic() + left - SAFETY_SECONDS
                return True
        return False

    def _still_ours(self) -> bool:
        """After a renewal was refused: whether the lease there is still this publish's (the
        refused write was the retry of one that had landed)."""
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            response = self._call("get_object", Key=self.key)
            return self._adopt(response["Body"].read(), response["ETag"].strip('"'))
        except (ClientError, BotoCoreError, OSError):
            return False

    def ensure_held(self) -> None:
        """Raise :class:`LeaseLost` unless the lease is still surely this publish's."""
        with self._lock:
            lost = self._lost
            if lost is None and time.monotonic() > self._held_until:
                lost = f"it could not be renewed for {LEASE_SECONDS - SAFETY_SECONDS:.0f} s"
        if lost is not None:
            raise LeaseLost(
                f"this publish lost its lease {self._where} ({lost}), so it stopped before "
                "its next write; its commit was never made: the live gallery is the one the "
                "other publish (or the last complete one) left, and files this publish had "
                "already sent are checked again by the next one: run gallery publish again "
                "once no other publish of this gallery runs"
            )

    def release(self) -> None:
        """Stop renewing and delete the lease if it is still ours (errors are ignored: an
        unreleased lease expires)."""
        from botocore.exceptions import BotoCoreError, ClientError

        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        if self._lost is None and self._etag:
            with contextlib.suppress(ClientError, BotoCoreError, GalleryError, OSError):
                self._call("delete_object", Key=self.key, IfMatch=f'"{self._etag}"')


def _code(exc: Any) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))
