"""Incremental build state: what the last build learnt about each source and wrote to OUT.

Kept in ``OUT/.gallery/state.sqlite`` (never published). Read whole at the start of a build and
written in one transaction at the end, only when something changed, so a no-op build writes
nothing.
"""

from __future__ import annotations

import contextlib
import dataclasses
import fcntl
import json
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from gallery_builder.errors import GalleryError
from gallery_builder.model import Metadata, Source

STATE_DIR = ".gallery"
SCHEMA_VERSION = 2


@dataclass(frozen=True)
class SourceRecord:
    """What a build learnt about one source file; valid while ``matches(source)``."""

    relpath: str
    size: int
    mtime_ns: int
    sidecar: str | None
    sidecar_mtime_ns: int
    kind: str  #: Pillow format name, or '' for a file that is not a picture
    md5: str | None = None
    #: the Metadata as JSON: decoded only when a build needs it, not on a no-op build
    metadata_json: str | None = None
    error: str | None = None  #: why the picture was skipped, if it was

    @property
    def metadata(self) -> Metadata | None:
        return Metadata(**json.loads(self.metadata_json)) if self.metadata_json else None

    def matches(self, source: Source) -> bool:
        return (self.size, self.mtime_ns, self.sidecar, self.sidecar_mtime_ns) == (
            source.size,
            source.mtime_ns,
            source.sidecar,
            source.sidecar_mtime_ns,
        )


@dataclass(frozen=True)
class OutputRecord:
    """A file the build wrote into OUT."""

    path: str
    md5: str
    size: int
    width: int = 0
    height: int = 0


class BuildState:
    """The state of one output folder. Use as a context manager: it holds a lock so two
    builds cannot write one folder at once."""

    def __init__(self, out_dir: Path):
        self.dir = out_dir / STATE_DIR
        self.sources: dict[str, SourceRecord] = {}
        self.outputs: dict[str, OutputRecord] = {}
        self._loaded_sources: dict[str, SourceRecord] = {}
        self._loaded_outputs: dict[str, OutputRecord] = {}
        #: small facts about the last build: "fingerprint" of everything but the pictures
        #: that shapes the site (see pipeline), "albums" (how many)
        self.meta: dict[str, str] = {}
        self._loaded_meta: dict[str, str] = {}

    def __enter__(self) -> BuildState:
        try:
            self.dir.mkdir(parents=True, exist_ok=True)
            lock = (self.dir / "lock").open("a")
        except OSError as exc:
            raise GalleryError(
                f"cannot use {self.dir} for the build state: {exc.strerror}; "
                "remove it if it is not a folder"
            ) from None
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            lock.close()
            raise GalleryError(
                f"another build is writing {self.dir.parent}; wait for it to finish"
            ) from None
        self._lock = lock
        self._load()
        return self

    def __exit__(self, *exc: object) -> None:
        self._lock.close()

    @property
    def path(self) -> Path:
        return self.dir / "state.sqlite"

    @contextlib.contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        connection = sqlite3.connect(self.path)
        try:
            with connection:
                yield connection
        finally:
            connection.close()

    def _load(self) -> None:
        if not self.path.exists():
            return
        try:
            with self._connect() as db:
                version = db.execute("PRAGMA user_version").fetchone()[0]
                if version != SCHEMA_VERSION:
                    return  # an older layout: start afresh, outputs are re-made
                for row in db.execute("SELECT * FROM sources"):
                    record = _source_from_row(row)
                    self.sources[record.relpath] = record
                for row in db.execute("SELECT path, md5, size, width, height FROM outputs"):
                    self.outputs[row[0]] = OutputRecord(*row)
                self.meta = dict(db.execute("SELECT key, value FROM meta"))
        except sqlite3.DatabaseError:
            self.sources, self.outputs = {}, {}  # a damaged state only costs a full build
        self._loaded_sources = dict(self.sources)
        self._loaded_outputs = dict(self.outputs)
        self._loaded_meta = dict(self.meta)

    def save(self) -> bool:
        """Write the state if it changed; returns whether it wrote."""
        if (self.sources, self.outputs, self.meta) == (
            self._loaded_sources,
            self._loaded_outputs,
            self._loaded_meta,
        ):
            return False
        try:
            self._write()
        except (sqlite3.Error, OSError) as exc:
            raise GalleryError(f"cannot save the build state in {self.path}: {exc}") from None
        self._loaded_sources = dict(self.sources)
        self._loaded_outputs = dict(self.outputs)
        self._loaded_meta = dict(self.meta)
        return True

    def _write(self) -> None:
        with self._connect() as db:
            db.execute("DROP TABLE IF EXISTS sources")
            db.execute("DROP TABLE IF EXISTS outputs")
            db.execute("DROP TABLE IF EXISTS meta")
            db.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT)")
            db.executemany("INSERT INTO meta VALUES (?, ?)", sorted(self.meta.items()))
            db.execute(
                "CREATE TABLE sources (relpath TEXT PRIMARY KEY, size INTEGER, mtime_ns INTEGER,"
                " sidecar TEXT, sidecar_mtime_ns INTEGER, kind TEXT, md5 TEXT, metadata TEXT,"
                " error TEXT)"
            )
            db.execute(
                "CREATE TABLE outputs (path TEXT PRIMARY KEY, md5 TEXT, size INTEGER,"
                " width INTEGER, height INTEGER)"
            )
            db.executemany(
                "INSERT INTO sources VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (_source_to_row(r) for r in self.sources.values()),
            )
            db.executemany(
                "INSERT INTO outputs VALUES (?, ?, ?, ?, ?)",
                (dataclasses.astuple(r) for r in self.outputs.values()),
            )
            db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")


def metadata_json(metadata: Metadata) -> str:
    return json.dumps(dataclasses.asdict(metadata), sort_keys=True, ensure_ascii=False)


def _source_to_row(r: SourceRecord) -> tuple[object, ...]:
    return dataclasses.astuple(r)


def _source_from_row(row: tuple) -> SourceRecord:
    return SourceRecord(*row)
