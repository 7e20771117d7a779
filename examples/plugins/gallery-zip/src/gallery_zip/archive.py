"""A publisher into one ZIP archive.

A ZIP file cannot be changed in place safely, so the archive is rewritten whole, into a
temporary file beside it that then replaces it (``os.replace``: a reader sees the old archive
or the new one, never half of one). Uploads are kept aside until the next commit, which
writes them together with the manifest: nothing of a publish is in the archive before its
commit, and a publish that stops midway leaves the archive as it was (its manifest marked
pending at most, which the next publish understands).
"""

import contextlib
import fcntl
import hashlib
import os
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
    """Refuse a key that would unzip outside the folder it is unzipped into (keys come from
    manifests, which are untrusted)."""
    parts = key.split("/")
    if not key or "\\" in key or "\0" in key or any(p in ("", ".", "..") for p in parts):
        raise GalleryError(f"refusing the key {key!r}: not a safe path inside a ZIP archive")
    return key


class ZipPublisher(BasePublisher):
    """Publishes into the archive at ``path``; keys are member names."""

    max_key_bytes = 0xFFFF  # a ZIP member name's length is a 16-bit field

    def __init__(self, path, compression="deflated"):
        self.path = path
        self.location = f"zip://{path.as_posix()}/"
        self.method = _METHODS[compression]
        #: key -> (file, md5): uploaded, written by the next commit
        self._staged = {}

    # --- reading: what the archive holds ---------------------------------------------------

    def _open(self):
        try:
            return zipfile.ZipFile(self.path)
        except FileNotFoundError:
            return None
        except (zipfile.BadZipFile, OSError) as exc:
            raise GalleryError(
                f"{self.path} is not a ZIP archive this publisher can read ({exc}); move it "
                "away, or publish to another file"
            ) from None

    def _members(self):
        """{name: bytes} of the archive as it is on disk now ({} when there is none)."""
        archive = self._open()
        if archive is None:
            return {}
        with archive:
            return {info.filename: archive.read(info) for info in archive.infolist()}

    def _names(self):
        archive = self._open()
        if archive is None:
            return []
        with archive:
            return archive.namelist()

    def read(self, key):
        check_key(key)
        archive = self._open()
        if archive is None:
            return None
        with archive:
            try:
                data = archive.read(key)
            except KeyError:
                return None
        return data, hashlib.md5(data).hexdigest()

    def existing(self, entries, *, headers=True):
        # a ZIP archive keeps no headers: the bytes are all there is to compare
        members = self._members()
        return {
            key
            for key, entry in entries.items()
            if key in members and hashlib.md5(members[key]).hexdigest() == entry["md5"]
        }

    def manifests_near(self, prefix):
        own = f"{prefix}/manifest.json" if prefix else "manifest.json"
        return sorted(
            name
            for name in self._names()
            if (name == "manifest.json" or name.endswith("/manifest.json")) and name != own
        )

    # --- writing: staged, then the archive rewritten whole ---------------------------------

    def upload(self, key, file, entry, *, replaces=None):
        self._check_replaces(key, replaces)
        self._staged[check_key(key)] = (Path(file), entry["md5"])

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
        members = self._members()
        current = members.get(check_key(key))
        if (current and hashlib.md5(current).hexdigest()) != base_etag:
            raise PublishConflict(
                f"another publish changed {self.location}{key} since this one started; "
                "nothing of this publish is in the archive: run gallery publish again"
            )
        for staged, (file, md5) in self._staged.items():
            members[staged] = file.read_bytes()
            if hashlib.md5(members[staged]).hexdigest() != md5:
                raise GalleryError(f"{file} changed since the site was built; build it again")
        members[key] = data
        self._write(members)
        self._staged.clear()
        return hashlib.md5(data).hexdigest()

    def delete(self, keys):
        gone = {check_key(key) for key in keys}
        members = self._members()
        if gone & set(members):
            self._write({name: data for name, data in members.items() if name not in gone})

    def _write(self, members):
        """Replace the archive by one holding ``members``, atomically."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(prefix=f".{self.path.name}.", dir=self.path.parent)
        try:
            with os.fdopen(handle, "wb") as file:
                with zipfile.ZipFile(file, "w") as archive:
                    for name in sorted(members):
                        info = zipfile.ZipInfo(name, date_time=_EPOCH)
                        info.compress_type = self.method
                        info.external_attr = 0o644 << 16
                        archive.writestr(info, members[name])
                file.flush()
                os.fsync(file.fileno())
            os.chmod(temporary, 0o644)
            os.replace(temporary, self.path)
            folder = os.open(self.path.parent, os.O_RDONLY)
            try:
                os.fsync(folder)  # the new name, too, survives a power cut
            finally:
                os.close(folder)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(temporary)
            raise

    # --- one publish at a time -------------------------------------------------------------

    @contextlib.contextmanager
    def lease(self, prefix):
        """A lock file beside the archive, held while the publish writes; a second publish of
        the same archive is refused meanwhile. The operating system drops the lock when the
        process ends, however it ends: a lock is never left behind."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(f"{self.path}.lock", "a") as lock:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise PublishConflict(
                    f"another publish is writing {self.path} right now; wait for it to "
                    "finish, then run gallery publish again"
                ) from None
            try:
                yield
            finally:
                self._staged.clear()  # not committed: never written
