"""Incremental build state: what the last build learnt about each source and wrote to OUT.

Kept in ``OUT/.gallery/state.sqlite`` (never published). Read whole at the start of a build and
written in one transaction at the end, only when something changed, so a no-op build writes
nothing.
"""

from __future__ import annotations

import dataclasses
import fcntl
import json
import os
import shutil
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple, TextIO, TypeVar

from gallery_builder.errors import GalleryError
from gallery_builder.journal import Journal
from gallery_builder.model import Metadata, Source

STATE_DIR = ".gallery"
SCHEMA_VERSION = 2
#: the size of an output whose content is unknown (see gallery_builder.journal): no file has it
UNKNOWN_SIZE = -1
T = TypeVar("T")


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

    def decoded_metadata(self) -> Metadata | None:
        """The metadata; None when there is none or what the state holds is damaged."""
        try:
            metadata = self.metadata
        except (ValueError, TypeError, RecursionError):
            return None
        ok = metadata is not None and _valid_metadata(metadata)
        return metadata if ok else None

    def matches(self, source: Source) -> bool:
        return (self.size, self.mtime_ns, self.sidecar, self.sidecar_mtime_ns) == (
            source.size,
            source.mtime_ns,
            source.sidecar,
            source.sidecar_mtime_ns,
        )


class OutputRecord(NamedTuple):
    """A file the build wrote into OUT. A named tuple: a state holds one for each image of
    each picture, and a no-op build reads them all (made from each row as it is)."""

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
        #: the outputs, read from the state when first asked for (see :attr:`outputs`)
        self._outputs: dict[str, OutputRecord] | None = {}
        self._loaded_sources: dict[str, SourceRecord] = {}
        self._loaded_outputs: dict[str, OutputRecord] = {}
        #: small facts about the last build: "fingerprint" of everything but the pictures
        #: that shapes the site (see pipeline), "albums" (how many)
        self.meta: dict[str, str] = {}
        self._loaded_meta: dict[str, str] = {}
        self.journal = Journal(self.dir)
        #: paths an earlier build recorded in the journal and then could not account for
        self.unsure: list[str] = []
        self._written: set[str] = set()  #: paths this build wrote whole (see record_output)

    def __enter__(self) -> BuildState:
        try:
            self.dir.mkdir(parents=True, exist_ok=True)
        except FileExistsError:
            raise GalleryError(
                f"cannot use {self.dir} for the build state: it is not a folder; remove it"
            ) from None
        except OSError as exc:
            raise GalleryError(
                f"cannot create {self.dir} for the build state: {exc.strerror}; "
                f"make {self.dir.parent} writable or choose another output folder (-o)"
            ) from None
        self._lock = _open_lock(self.dir / "lock")
        if self._lock is not None:
            try:
                fcntl.flock(self._lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                self._lock.close()
                raise GalleryError(
                    f"another build is writing {self.dir.parent}; wait for it to finish"
                ) from None
        self._load()
        return self

    def __exit__(self, *exc: object) -> None:
        self.journal.close()
        if self._lock is not None:
            self._lock.close()

    @property
    def path(self) -> Path:
        return self.dir / "state.sqlite"

    @property
    def staging(self) -> Path:
        """Where images are made before they are moved into OUT (see derivatives)."""
        return self.dir / "staging"

    @property
    def outputs(self) -> dict[str, OutputRecord]:
        """Each file the last build wrote (and this one so far), by its path in OUT. Read
        from the state on first use: a build with nothing to do needs only their paths
        (:meth:`output_paths`), and a large site has hundreds of thousands."""
        if self._outputs is None:
            self._outputs = read_outputs(self.path)
            self._loaded_outputs = dict(self._outputs)
        return self._outputs

    @outputs.setter
    def outputs(self, outputs: dict[str, OutputRecord]) -> None:
        self.outputs  # noqa: B018 (what was loaded, so that save() sees the change)
        self._outputs = outputs

    def output_paths(self) -> list[str] | None:
        """The paths of the outputs, or None when the content of one is unknown (left by a
        build that was killed)."""
        if self._outputs is not None:
            if any(r.size == UNKNOWN_SIZE for r in self._outputs.values()):
                return None
            return list(self._outputs)
        return read_output_paths(self.path)

    def _load(self) -> None:
        loaded = read_state(self.path, outputs=False)
        if loaded is not None:
            self.sources, self._outputs, self.meta = loaded
        self.unsure = self.journal.read()
        if loaded is None:
            # no state, or a damaged one: the files of the site's manifest are an earlier
            # build's, so that this build removes those the site no longer has
            self.unsure = sorted(set(self.unsure) | set(files_of_manifest(self.dir.parent)))
        for relpath in self.unsure:
            # whatever an earlier build left there is unknown: never taken for a file we know
            self.outputs[relpath] = OutputRecord(relpath, "", UNKNOWN_SIZE)
        self._loaded_sources = dict(self.sources)
        if self._outputs is not None:
            self._loaded_outputs = dict(self._outputs)
        self._loaded_meta = dict(self.meta)

    def check_writable(self) -> None:
        """Fail, before any work, when OUT (or its build state) is read-only: this build has
        files to write. (A build with nothing to do does not get here, so it runs read-only.)"""
        out_dir = self.dir.parent
        for folder in (out_dir, self.dir):
            if not os.access(folder, os.W_OK):
                reason = (
                    "read-only file system" if _read_only_mount(folder) else "permission denied"
                )
                raise GalleryError(
                    f"cannot write into {folder}: {reason}, and this build has changes to write; "
                    f"make the output folder writable (chmod -R u+w '{out_dir}') or choose "
                    "another one (-o)"
                )

    def discard_staging(self) -> None:
        """Remove the images a build made and did not move into OUT (killed, or failed)."""
        if self.staging.exists() or self.staging.is_symlink():
            _remove_any(self.staging)

    def record_output(self, record: OutputRecord) -> None:
        """``record``'s file is in OUT, whole: recorded at once, so that a build that fails
        later still saves what it knows (see :meth:`settle`)."""
        self.outputs[record.path] = record
        self._written.add(record.path)

    def settle(self) -> None:
        """After a failed build: each path recorded in the journal and not written whole is
        kept as unknown, so that the saved state accounts for every path of the journal."""
        for relpath in sorted(self.journal.added - self._written):
            self.outputs[relpath] = OutputRecord(relpath, "", UNKNOWN_SIZE)

    def save(self, *, always: bool = False) -> bool:
        """Write the state if it changed (or ``always``); returns whether it wrote."""
        outputs_unchanged = self._outputs is None or self._outputs == self._loaded_outputs
        if (
            not always
            and outputs_unchanged
            and (self.sources, self.meta)
            == (
                self._loaded_sources,
                self._loaded_meta,
            )
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

    def save_and_clear_journal(self) -> None:
        """Save the state, then empty the journal, whose paths the state now accounts for."""
        pending = bool(self.journal.added or self.unsure)
        self.save(always=pending)  # the journal is only emptied once the state is saved
        if pending:
            try:
                self.journal.clear()
            except OSError as exc:
                raise GalleryError(
                    f"cannot remove {self.journal.path}: {exc.strerror or exc}"
                ) from None
            self.unsure = []

    def _write(self) -> None:
        """Write a whole new database beside the old one, then rename it over: a build killed
        while saving leaves the old state or the new one, never a part of either."""
        tmp = self.dir / f".{self.path.name}.new"
        _remove_any(tmp)
        _remove_any(tmp.with_name(tmp.name + "-journal"))
        try:
            connection = sqlite3.connect(tmp)
            try:
                with connection:
                    _fill(connection, self)
            finally:
                connection.close()
            with open(tmp, "rb+") as f:
                os.fsync(f.fileno())
            if not self.path.is_file() or self.path.is_symlink():
                _remove_any(self.path)  # a folder or a link in its place: the state is ours
            os.replace(tmp, self.path)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        fsync_folder(self.dir)


def _valid_metadata(md: Metadata) -> bool:
    """Whether decoded metadata has the types a build relies on (a damaged state may not)."""
    optional_text = (md.taken, md.camera, md.caption)
    return (
        type(md.width) is int
        and type(md.height) is int
        and isinstance(md.format, str)
        and all(v is None or isinstance(v, str) for v in optional_text)
        and isinstance(md.extra, dict)
        and md.has_gps in (True, False, None)
    )


def _open_lock(path: Path) -> TextIO | None:
    """The lock file, opened to be locked; read-only when it cannot be written (a read-only
    OUT: a build with nothing to do still runs); None when there is none and none can be made
    (then nothing can be written there either, so there is nothing to guard)."""
    try:
        return path.open("a")
    except PermissionError:
        pass
    except OSError as exc:
        raise GalleryError(
            f"cannot use {path} to lock the output folder: {exc.strerror}; "
            "remove it if it is not a file"
        ) from None
    try:
        return path.open("r")
    except OSError:
        return None


def files_of_manifest(out_dir: Path) -> list[str]:
    """The files listed by the gallery-builder ``manifest.json`` in ``out_dir``, if there is
    one that can be read (and only paths inside the site: it is a file anyone may edit)."""
    from gallery_builder.manifest import FORMAT, MANIFEST_NAME
    from gallery_builder.sitefiles import safe_relpath

    try:
        manifest = json.loads((out_dir / MANIFEST_NAME).read_bytes())
    except (OSError, ValueError, RecursionError):
        return []
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        return []
    files = manifest.get("files")
    if not isinstance(files, dict):
        return []
    paths = [p for p in files if isinstance(p, str) and "\0" not in p and safe_relpath(p)]
    return [*paths, MANIFEST_NAME]


def read_state(
    path: Path, *, outputs: bool = True
) -> tuple[dict[str, SourceRecord], dict[str, OutputRecord] | None, dict[str, str]] | None:
    """The sources, outputs and meta saved at ``path``; None when there is none, or it is
    damaged in any way (not a database, other tables or columns, values of the wrong type),
    or of another schema version: the state is a cache, so that costs only a full build.
    Without ``outputs``, they are checked but not read (None): :func:`read_outputs`."""
    if not path.is_file():
        return None
    try:
        # read-only, so that reading never creates or changes anything in OUT
        connection = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    except (sqlite3.Error, OSError, ValueError):
        return None
    try:
        if connection.execute("PRAGMA user_version").fetchone()[0] != SCHEMA_VERSION:
            return None  # an older layout: start afresh, outputs are re-made
        for table, columns, types in _TABLES:
            if _damaged(connection, table, columns, types):
                return None
        make_source = SourceRecord
        sources = {
            row[0]: make_source(*row)
            for row in connection.execute(f"SELECT {', '.join(_SOURCE_COLUMNS)} FROM sources")
        }
        records = _output_records(connection) if outputs else None
        meta = dict(connection.execute("SELECT key, value FROM meta"))
    except (sqlite3.Error, ValueError, TypeError):
        return None
    finally:
        connection.close()
    return sources, records, meta


def _output_records(connection: sqlite3.Connection) -> dict[str, OutputRecord]:
    make = OutputRecord._make
    query = f"SELECT {', '.join(_OUTPUT_COLUMNS)} FROM outputs"
    return {row[0]: make(row) for row in connection.execute(query)}


def _read_checked(path: Path, read: Callable[[sqlite3.Connection], T]) -> T:
    """``read`` from the state :func:`read_state` found whole at the start of this build
    (the build's lock kept it so); an error now is one line."""
    try:
        connection = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
        try:
            return read(connection)
        finally:
            connection.close()
    except sqlite3.Error as exc:
        raise GalleryError(f"cannot read the build state {path}: {exc}; build again") from None


def read_outputs(path: Path) -> dict[str, OutputRecord]:
    """The outputs of the state at ``path`` (which :func:`read_state` found whole)."""
    if not path.is_file():
        return {}
    return _read_checked(path, _output_records)


def read_output_paths(path: Path) -> list[str] | None:
    """The outputs' paths of the state at ``path``, as :meth:`BuildState.output_paths`: one
    string from SQLite, split, rather than a row per output."""
    if not path.is_file():
        return []

    def paths(connection: sqlite3.Connection) -> list[str] | None:
        query = f"SELECT 1 FROM outputs WHERE size = {UNKNOWN_SIZE} LIMIT 1"
        if connection.execute(query).fetchone() is not None:
            return None
        joined = connection.execute("SELECT group_concat(path, char(0)) FROM outputs")
        text = joined.fetchone()[0]
        return text.split("\0") if text else []

    return _read_checked(path, paths)


#: the columns of each table, and the types their values must have (None: may be NULL)
_SOURCE_COLUMNS = (
    "relpath", "size", "mtime_ns", "sidecar", "sidecar_mtime_ns", "kind", "md5", "metadata",
    "error",
)  # fmt: skip
_SOURCE_TYPES = (str, int, int, (str, None), int, str, (str, None), (str, None), (str, None))
_OUTPUT_COLUMNS = ("path", "md5", "size", "width", "height")
_OUTPUT_TYPES = (str, str, int, int, int)
_TABLES = (
    ("sources", _SOURCE_COLUMNS, _SOURCE_TYPES),
    ("outputs", _OUTPUT_COLUMNS, _OUTPUT_TYPES),
    ("meta", ("key", "value"), (str, str)),
)
#: SQLite's typeof() of the values Python reads as each type
_SQL_TYPES = {str: "text", int: "integer", None: "null"}


def _damaged(db: sqlite3.Connection, table: str, columns: tuple, types: tuple) -> bool:
    """Whether a row of ``table`` holds a value of a type it must not (one query, in SQLite:
    checking each value in Python costs more than reading it)."""
    wrong = []
    for column, expected in zip(columns, types, strict=True):
        allowed = expected if isinstance(expected, tuple) else (expected,)
        names = ", ".join(f"'{_SQL_TYPES[t]}'" for t in allowed)
        wrong.append(f"typeof({column}) NOT IN ({names})")
    query = f"SELECT 1 FROM {table} WHERE {' OR '.join(wrong)} LIMIT 1"
    return db.execute(query).fetchone() is not None


def _fill(db: sqlite3.Connection, state: BuildState) -> None:
    db.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT)")
    db.executemany("INSERT INTO meta VALUES (?, ?)", sorted(state.meta.items()))
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
        # sorted: the same state gives the same bytes, however the build came to it
        (_source_to_row(state.sources[k]) for k in sorted(state.sources)),
    )
    db.executemany(
        "INSERT INTO outputs VALUES (?, ?, ?, ?, ?)",
        (tuple(state.outputs[k]) for k in sorted(state.outputs)),
    )
    db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")


def _remove_any(path: Path) -> None:
    """Remove whatever is at ``path`` inside ``.gallery/`` (a file, a link, a folder)."""
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    else:
        path.unlink(missing_ok=True)


def _read_only_mount(folder: Path) -> bool:
    try:
        return bool(os.statvfs(folder).f_flag & os.ST_RDONLY)
    except OSError:
        return False


def fsync_folder(folder: Path) -> None:
    """Make a rename in ``folder`` durable (not every system lets a folder be opened)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def metadata_json(metadata: Metadata) -> str:
    return json.dumps(dataclasses.asdict(metadata), sort_keys=True, ensure_ascii=False)


def _source_to_row(r: SourceRecord) -> tuple[object, ...]:
    # (dataclasses.astuple deep-copies each value: many times slower over a large state)
    return (
        r.relpath, r.size, r.mtime_ns, r.sidecar, r.sidecar_mtime_ns, r.kind, r.md5,
        r.metadata_json, r.error,
    )  # fmt: skip
