"""The build of an encrypted gallery (``gallery build --password-file FILE``, issue 10 part B).

The clear site is built as any build makes it, with its own build state (so it is as
incremental as ever), into a folder of the user's cache outside OUT
(gallery_builder.encryption_state.clear_site_dir: ``~/.cache/gallery-builder/clear/<hash of
OUT's path>``), so that nothing readable is ever inside OUT, whatever tool copies it.
Then OUT, the site that is published, is written from it:

- ``_x/<fid>`` for every file of the clear site (its manifest included), sealed
  (gallery_builder.encryption); an unchanged clear file under an unchanged password keeps its
  ciphertext (never sealed again: the random nonce would make new bytes, and a no-op publish
  would send them), so a rebuild writes nothing;
- the unlock shell (gallery_builder.unlock_shell): ``index.html``, ``error.html``, ``_sw.js``,
  ``_unlock/...``;
- ``_lock.json`` (what the browser needs to derive the key from the password);
- ``manifest.json``: the publisher's, listing only those files; no title, album or picture.

A changed password (told by a check value derived from the key, never the password) takes a
new salt, so every file is sealed again under new names and the old ones are removed.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gallery_builder import encryption, manifest
from gallery_builder.build_result import BuildResult
from gallery_builder.config import Config
from gallery_builder.encryption import Keys, derive, file_id, lock_document, new_salt, seal
from gallery_builder.encryption_state import (
    CLEAR_DIR_ENV,
    META_KEY,
    EncryptionRecord,
    clear_site_dir,
    dump_record,
    make_clear_site_dir,
    read_record,
)
from gallery_builder.errors import GalleryError
from gallery_builder.filesafety import write_atomic
from gallery_builder.journal import remove_leftovers
from gallery_builder.model import REVALIDATE, SiteFile
from gallery_builder.pipeline import build_clear, check_source_outside
from gallery_builder.plan import SEALED_TYPE  # what every sealed file is served as
from gallery_builder.plugin_manager import GalleryPluginManager
from gallery_builder.progress import Reporter
from gallery_builder.root_pages import SITE_THEME
from gallery_builder.site_settings import forget_settings
from gallery_builder.sitefiles import (
    exists,
    link_or_copy,
    remove_stale,
    safe_relpath,
    site_file,
    write_failure,
)
from gallery_builder.state import STATE_DIR, BuildState, OutputRecord

SEALED_DIR = "_x"
LOCK_NAME = "_lock.json"
#: names the unlock shell may not take: they are the encrypted site's own
RESERVED = frozenset({LOCK_NAME, manifest.MANIFEST_NAME})


def build_encrypted(
    config: Config,
    out_dir: Path,
    pm: GalleryPluginManager,
    password: str,
    *,
    jobs: int | None = None,
    force: bool = False,
    strict: bool = False,
    reporter: Reporter | None = None,
) -> BuildResult:
    """Build the clear site into its folder outside OUT (:func:`clear_site_dir`) and publish it
    sealed into OUT."""
    started = time.perf_counter()
    out_dir = out_dir.resolve()
    check_source_outside(config, out_dir)
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise GalleryError(f"cannot create the output folder {out_dir}: {exc.strerror}") from None
    with BuildState(out_dir) as state:
        state.discard_staging()
        remove_leftovers(out_dir, state.unsure)
        try:
            clear_dir = make_clear_site_dir(out_dir)
        except OSError as exc:
            raise GalleryError(
                f"cannot create the folder of the gallery's clear copy {clear_site_dir(out_dir)}"
                f": {exc.strerror or exc}; set {CLEAR_DIR_ENV} to a folder you can write"
            ) from None
        if read_record(state.meta) is None and state.sources and not force:
            adopt_clear_build(state, out_dir, clear_dir)  # its images are not made again
        clear = build_clear(
            config, clear_dir, pm, jobs=jobs, force=force, strict=strict, reporter=reporter,
            site_root=out_dir,
        )  # fmt: skip
        keys, sealed_before = keys_for(password, read_record(state.meta))
        try:
            sealed = _write_sealed_site(
                config, state, out_dir, clear_dir, keys, sealed_before, force
            )
        except BaseException:
            state.settle()  # what was written is known; the record of the keys is not changed
            with contextlib.suppress(Exception):  # never hide the original error
                state.save_and_clear_journal()
            raise
    # `gallery publish` with no TARGET reads the clear copy's record (it names the source
    # folder, often named for what it holds: not for OUT); an earlier clear build's goes
    forget_settings(out_dir)
    _copy_if_changed(clear_dir / SITE_THEME, out_dir / SITE_THEME)  # the bucket root's theme
    clear.out_dir = out_dir
    clear.written, clear.removed = sealed.written, sealed.removed
    clear.encrypted, clear.sealed = True, sealed.sealed
    clear.seconds = time.perf_counter() - started
    return clear


def adopt_clear_build(state: BuildState, out_dir: Path, clear_dir: Path) -> None:
    """The first encrypted build of an OUT built in the clear: its files (hard links, else
    copies: no build writes a file in place) and what its state knows of them become the clear
    copy's, so the clear build that follows reuses them instead of making every image again.
    Only when the clear copy has no state of its own; what cannot be carried over is made."""
    if (clear_dir / STATE_DIR / "state.sqlite").exists():
        return
    kept = {}
    for path, record in state.outputs.items():
        if record.size < 0 or not safe_relpath(path) or not exists(out_dir / path, record.size):
            continue
        try:
            link_or_copy(out_dir / path, clear_dir / path)
        except OSError:
            continue
        kept[path] = record
    _copy_if_changed(out_dir / SITE_THEME, clear_dir / SITE_THEME)
    with BuildState(clear_dir) as clear_state:
        clear_state.sources = dict(state.sources)
        clear_state.outputs = kept
        clear_state.meta = dict(state.meta)
        clear_state.save(always=True)


def keys_for(password: str, record: EncryptionRecord | None) -> tuple[Keys, dict[str, str]]:
    """The keys, and what is sealed under them (fid -> clear MD5): the recorded salt's while
    the password is unchanged, else a new salt's, with nothing sealed yet."""
    if record is not None:
        keys = derive(password, record.salt)
        if keys.check == record.check:
            return keys, record.sealed
    return derive(password, new_salt()), {}


@dataclass
class _Sealed:
    written: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    sealed: int = 0  #: files sealed (encrypted) by this build


class _Writer:
    """Writes into OUT, recording each file before (journal) and after (state) it is put
    there; the first write checks OUT is writable (a no-op build writes nothing)."""

    def __init__(self, state: BuildState, out_dir: Path, written: list[str]):
        self.state, self.out_dir, self.written = state, out_dir, written
        self.outputs: dict[str, OutputRecord] = {}
        self._checked = False

    def put(self, relpath: str, data: bytes, md5: str | None = None) -> OutputRecord:
        if not self._checked:
            self.state.check_writable()
            self._checked = True
        record = OutputRecord(relpath, md5 or hashlib.md5(data).hexdigest(), len(data))
        self.state.journal.add([relpath])
        target = self.out_dir / relpath
        try:
            write_atomic(target, data)
        except OSError as exc:
            raise write_failure(target, exc) from None
        self.state.record_output(record)
        self.written.append(relpath)
        self.outputs[relpath] = record
        return record

    def put_if_changed(self, relpath: str, data: bytes, force: bool) -> OutputRecord:
        md5 = hashlib.md5(data).hexdigest()
        old = self.state.outputs.get(relpath)
        if force or old is None or old.md5 != md5 or not exists(self.out_dir / relpath, len(data)):
            return self.put(relpath, data, md5)
        self.outputs[relpath] = old
        return old

    def keep(self, record: OutputRecord) -> None:
        self.outputs[record.path] = record


def _write_sealed_site(
    config: Config,
    state: BuildState,
    out_dir: Path,
    clear_dir: Path,
    keys: Keys,
    sealed_before: dict[str, str],
    force: bool,
) -> _Sealed:
    previous = dict(state.outputs)
    done = _Sealed()
    writer = _Writer(state, out_dir, done.written)
    clear_manifest_bytes = (clear_dir / manifest.MANIFEST_NAME).read_bytes()
    clear_manifest = json.loads(clear_manifest_bytes)
    logical = {
        path: (entry["md5"], entry["cache_control"])
        for path, entry in clear_manifest["files"].items()
    }
    logical[manifest.MANIFEST_NAME] = (hashlib.md5(clear_manifest_bytes).hexdigest(), REVALIDATE)
    files: dict[str, SiteFile] = {}
    sealed_now: dict[str, str] = {}
    for path, (clear_md5, cache_control) in sorted(logical.items()):
        fid = file_id(keys, path)
        key = f"{SEALED_DIR}/{fid}"
        old = state.outputs.get(key)
        if (
            not force
            and sealed_before.get(fid) == clear_md5
            and old is not None
            and exists(out_dir / key, old.size)
        ):
            writer.keep(old)
            record = old
        else:
            if path == manifest.MANIFEST_NAME:
                data = clear_manifest_bytes
            else:
                data = _read_clear(clear_dir, path)
            clear_md5 = hashlib.md5(data).hexdigest()  # what is sealed, as it is on disk
            record = writer.put(key, seal(keys, fid, data))
            done.sealed += 1
        sealed_now[fid] = clear_md5
        files[key] = site_file(key, record.md5, record.size, cache_control, SEALED_TYPE)
    from gallery_builder.unlock_shell import shell_files  # engineer UNLOCK's module

    # base_path: error.html, served for a missing path at any depth, links its files from there
    shell = shell_files(lang=config.gallery.lang, base_path=config.gallery.base_path)
    for path, (data, cache_control) in sorted(shell.items()):
        if not safe_relpath(path) or path in RESERVED or path.startswith(SEALED_DIR + "/"):
            raise GalleryError(f"the unlock page claims a name the encrypted site owns: {path!r}")
        record = writer.put_if_changed(path, data, force)
        files[path] = site_file(path, record.md5, record.size, cache_control)
    lock = (json.dumps(lock_document(keys), indent=1) + "\n").encode()
    record = writer.put_if_changed(LOCK_NAME, lock, force)
    files[LOCK_NAME] = site_file(LOCK_NAME, record.md5, record.size, REVALIDATE)
    published = published_manifest(config, clear_manifest, files)
    writer.put_if_changed(manifest.MANIFEST_NAME, manifest.dumps(published), force)  # last
    done.removed = remove_stale(out_dir, previous, writer.outputs)
    state.outputs = writer.outputs
    # nothing of the clear build is kept here: it has its own state (a later clear build
    # into OUT starts afresh, and cannot take the sealed files for its own)
    state.sources = {}
    state.meta = {META_KEY: dump_record(EncryptionRecord(keys.salt, keys.check, sealed_now))}
    state.save_and_clear_journal()
    return done


def published_manifest(
    config: Config, clear_manifest: dict[str, Any], files: dict[str, SiteFile]
) -> dict[str, Any]:
    """The manifest publishers read: the published files only; nothing about the pictures."""
    return {
        "format": manifest.FORMAT,
        "name": config.gallery.name,
        "title": None,
        "base_path": clear_manifest.get("base_path", config.gallery.base_path),
        "encrypted": {"format": encryption.FORMAT},
        "files": {
            path: {
                "md5": f.md5,
                "size": f.size,
                "content_type": f.content_type,
                "cache_control": f.cache_control,
            }
            for path, f in sorted(files.items())
        },
    }


def _read_clear(clear_dir: Path, path: str) -> bytes:
    if not safe_relpath(path):
        raise GalleryError(f"the clear site lists {path!r}, which is outside it; build again")
    try:
        return (clear_dir / path).read_bytes()
    except OSError as exc:
        raise GalleryError(
            f"cannot read {clear_dir / path} to encrypt it: {exc.strerror or exc}; "
            "build again with --force"
        ) from None


def _copy_if_changed(source: Path, target: Path) -> None:
    try:
        data = source.read_bytes()
    except OSError:
        return
    try:
        if target.read_bytes() == data:
            return
    except OSError:
        pass
    write_atomic(target, data)
