"""A publisher into one ZIP archive.

A ZIP file cannot be changed in place safely, so the archive is only ever replaced whole:
written into a temporary file beside it, which then takes its name (``os.replace``: whoever
opens the archive sees the old one or the new one, never half of one). Rewriting it for each
of a publish's hundreds of files would be slow, so uploads go first into a folder beside it,
``site.zip.parts/``, one file each, and the commit writes them into the new archive with the
manifest. A publish that stops midway leaves the archive as it was and its uploads in the
folder, where the next publish finds them and does not send them again.
"""

import contextlib
import fcntl
import hashlib
import os
import shutil
import tempfile
import zipfile
from pathlib import Path
from urllib.parse import unquote, urlsplit

from gallery_builder.errors import GalleryError, SettingError
from gallery_builder.publisher import BasePublisher, PublishConflict

COMPRESSIONS = ("deflated", "stored")
_METHODS = {"deflated": zipfile.ZIP_DEFLATED, "stored": zipfile.ZIP_STORED}
#: every member gets this date: two publishes of the same site make the same archive
_EPOCH = (1980, 1, 1, 0, 0, 0)


def archive_path(target):
    """The archive a ``zip://`` target names; a relative one is relative to the current
    folder (``zip://site.zip``: its path is in the URL's host part)."""
    parts = urlsplit(target)
    path = unquote(parts.netloc + parts.path)
    if parts.scheme != "zip" or not path or path.endswith("/") or parts.query or parts.fragment:
        raise SettingError(
            f"'{target}' is not a ZIP target; write zip:///absolute/path/site.zip or "
            "zip://relative/path/site.zip"
        )
    path = Path(path).absolute()
    if path.is_dir():
        raise SettingError(f"{path} is a folder; name the archive to write, e.g. {path}/site.zip")
    return path


def check_key(key):
    """Refuse a key that would unzip outside the folder it is unzipped into, or that no file
    system takes (keys come from manifests, which are untrusted)."""
    parts = key.split("/")
    unsafe = any(p in ("", ".", "..") for p in parts) or any(ord(c) < 32 for c in key)
    if not key or "\\" in key or unsafe:
        raise GalleryError(f"refusing the key {key!r}: not a safe path inside a ZIP archive")
    return key


def md5_of(file):
    digest = hashlib.md5()
    for block in iter(lambda: file.read(1 << 20), b""):
        digest.update(block)
    return digest.hexdigest()


class ZipPublisher(BasePublisher):
    """Publishes into the archive at ``path``; keys are member names."""

    max_key_bytes = 0xFFFF  # a ZIP member name's length is a 16-bit field

    def __init__(self, path, compression="deflated"):
        self.path = path
        self.location = f"zip://{path.as_posix()}/"
        self.method = _METHODS[compression]
        #: uploads not yet in the archive: one file per key, named by the key's hash, holding
        #: the key on its first line, then the bytes
        self.parts = path.with_name(path.name + ".parts")

    # --- reading: the archive, then the uploads not yet in it ------------------------------

    def _archive(self):
        try:
            return zipfile.ZipFile(self.path)
        except FileNotFoundError:
            return contextlib.nullcontext()
        except (zipfile.BadZipFile, OSError) as exc:
            raise GalleryError(
                f"{self.path} is not a ZIP archive this publisher can read ({exc}); move it "
                "away, or publish to another file"
            ) from None

    def _part(self, key):
        return self.parts / hashlib.sha256(key.encode()).hexdigest()

    def _staged(self):
        """{key: part file} of the uploads waiting for a commit."""
        found = {}
        for part in sorted(self.parts.glob("[0-9a-f]" * 64)):
            with part.open("rb") as file:
                found[file.readline().decode().removesuffix("\n")] = part
        return found

    @contextlib.contextmanager
    def _open(self, key):
        """The bytes stored under ``key`` as a file, or None."""
        part = self._part(check_key(key))
        try:
            with part.open("rb") as file:
                file.readline()  # the key
                yield file
                return
        except FileNotFoundError:
            pass
        with self._archive() as archive:
            try:
                member = archive.open(key) if archive else None
            except KeyError:
                member = None
            with member or contextlib.nullcontext() as file:
                yield file

    def read(self, key):
        with self._open(key) as file:
            if file is None:
                return None
            data = file.read()
        return data, hashlib.md5(data).hexdigest()

    def existing(self, entries, *, headers=True):
        # a ZIP archive keeps no headers: the bytes are all there is to compare
        found = set()
        for key, entry in entries.items():
            with self._open(key) as file:
                if file is not None and md5_of(file) == entry["md5"]:
                    found.add(key)
        return found

    def manifests_near(self, prefix):
        own = f"{prefix}/manifest.json" if prefix else "manifest.json"
        with self._archive() as archive:
            names = set(archive.namelist()) if archive else set()
        return sorted(
            name
            for name in names | set(self._staged())
            if (name == "manifest.json" or name.endswith("/manifest.json")) and name != own
        )

    # --- writing ---------------------------------------------------------------------------

    def upload(self, key, file, entry, *, replaces=None):
        self._check_replaces(key, replaces)
        with open(file, "rb") as source:
            if md5_of(source) != entry["md5"]:
                raise GalleryError(f"{file} changed since the site was built; build it again")
            source.seek(0)
            self._write_part(key, source)

    def _write_part(self, key, source):
        self.parts.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(prefix=".upload.", dir=self.parts)
        with os.fdopen(handle, "wb") as part:
            part.write(key.encode() + b"\n")
            shutil.copyfileobj(source, part)
        os.replace(temporary, self._part(key))  # from another thread too: one file per key

    def retag(self, key, entry, *, replaces=None):
        """Nothing to do: a ZIP archive keeps no headers."""
        self._check_replaces(key, replaces)

    def _check_replaces(self, key, replaces):
        if replaces is None:
            return
        current = self.read(key)
        if current is not None and current[1] != replaces:
            raise PublishConflict(
                f"{self.location}{key} no longer holds the file the live manifest lists; "
                "nothing of this publish is in the archive: run gallery publish again"
            )

    def commit(self, key, data, base_etag):
        check_key(key)
        with self._archive() as archive:
            try:
                current = archive.read(key) if archive else None
            except KeyError:
                current = None
        if (current and hashlib.md5(current).hexdigest()) != base_etag:
            raise PublishConflict(
                f"another publish changed {self.location}{key} since this one started; "
                "nothing of this publish is in the archive: run gallery publish again"
            )
        staged = self._staged()
        self._rewrite(staged, {key: data})
        for part in staged.values():
            part.unlink()
        return hashlib.md5(data).hexdigest()

    def delete(self, keys):
        gone = {check_key(key) for key in keys}
        for key in gone:
            self._part(key).unlink(missing_ok=True)
        with self._archive() as archive:
            names = set(archive.namelist()) if archive else set()
        if gone & names:
            self._rewrite({}, {}, leave_out=gone)

    def _rewrite(self, staged, new, leave_out=()):
        """Replace the archive, atomically, by one holding its members but ``leave_out``,
        with the uploads ``staged`` ({key: part file}) and ``new`` ({key: bytes}) over them."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(prefix=f".{self.path.name}.", dir=self.path.parent)
        try:
            with os.fdopen(handle, "wb") as file, self._archive() as old:
                kept = {n for n in (old.namelist() if old else ()) if n not in leave_out}
                with zipfile.ZipFile(file, "w") as archive:
                    for name in sorted(kept | set(staged) | set(new)):
                        info = zipfile.ZipInfo(name, date_time=_EPOCH)
                        info.compress_type = self.method
                        info.external_attr = 0o644 << 16
                        with archive.open(info, "w") as member:
                            if name in new:
                                member.write(new[name])
                            elif name in staged:
                                with staged[name].open("rb") as part:
                                    part.readline()  # the key
                                    shutil.copyfileobj(part, member)
                            else:
                                with old.open(name) as source:
                                    shutil.copyfileobj(source, member)
                file.flush()
                os.fsync(file.fileno())
            os.chmod(temporary, 0o644)
            os.replace(temporary, self.path)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(temporary)
            raise
        folder = os.open(self.path.parent, os.O_RDONLY)
        try:
            os.fsync(folder)  # the new name, too, survives a power cut
        finally:
            os.close(folder)

    # --- one publish at a time -------------------------------------------------------------

    @contextlib.contextmanager
    def lease(self, prefix):
        """A lock file beside the archive, held while a publish writes; a second publish of
        the same archive, whatever its prefix, is refused meanwhile (every commit rewrites
        the whole archive). The system drops the lock when the process ends, however it
        ends: a killed publish leaves no stale lock."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(f"{self.path}.lock", "a") as lock:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise PublishConflict(
                    f"another publish is writing {self.path} right now; wait for it to "
                    "finish, then run gallery publish again"
                ) from None
            yield
