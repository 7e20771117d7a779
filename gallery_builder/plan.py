"""Planning a publish: the difference between the local manifest and the remote one. Pure
functions, no I/O: publishers only move the bytes a plan names (ARCHITECTURE.md §5).

The remote manifest says what the gallery owns in the bucket. A key it does not list was not
written by the gallery and is never deleted.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from gallery_builder.manifest import HEADER_FIELDS, MANIFEST_NAME, RemoteState
from gallery_builder.model import IMMUTABLE

#: the reason of an upload whose bytes the original script's manifest lists
SCRIPT_UPLOAD = "new headers, if the script's upload is there"


#: the content type of every sealed file of an encrypted gallery (gallery_builder.encrypted_build)
SEALED_TYPE = "application/octet-stream"


@dataclass(frozen=True)
class Upload:
    path: str
    #: "new", "changed", "new headers" (same bytes: copied in place), "unverified" (listed
    #: as it should be, but an unfinished publish may have replaced it: sent unless it is),
    #: or :data:`SCRIPT_UPLOAD` (listed by the original script with the same bytes, without
    #: headers: copied in place if its bytes are there, else sent)
    reason: str
    entry: dict[str, Any]
    #: the MD5 the live manifest promises for the file this one replaces (None: a new name)
    replaced_md5: str | None = None

    @property
    def is_page(self) -> bool:
        """An HTML page: it links to other files, so it goes live only after them. A file of
        an encrypted gallery that keeps its name (``no-cache``) counts as one too: its
        content type hides what it is, and the sealed pages are among those files (the
        sealed images and theme files have content-hashed names, so are ``immutable``)."""
        content_type = str(self.entry.get("content_type", ""))
        if content_type.startswith("text/html"):
            return True
        return content_type == SEALED_TYPE and self.entry.get("cache_control") == "no-cache"

    @property
    def is_script(self) -> bool:
        """Listed by the original script's manifest with these bytes (see SCRIPT_UPLOAD)."""
        return self.reason == SCRIPT_UPLOAD

    @property
    def bytes_needed(self) -> bool:
        """False when only the headers change: the object is copied onto itself."""
        return self.reason != "new headers"

    @property
    def replaces(self) -> bool:
        """Whether it overwrites a file the live gallery lists (not a new name)."""
        return self.reason in ("changed", "new headers", SCRIPT_UPLOAD)


@dataclass(frozen=True)
class PublishPlan:
    """What a publish does, in order: ``uploads`` (every file that is not a page first:
    images, theme files, originals, which link to nothing; then HTML pages, deepest first),
    then the manifest (the commit), then ``deletes``."""

    uploads: tuple[Upload, ...]
    deletes: tuple[str, ...]
    kept: tuple[str, ...]

    @property
    def changes_nothing(self) -> bool:
        return not self.uploads and not self.deletes

    @property
    def creates(self) -> tuple[str, ...]:
        """The paths this publish sends under names the live gallery does not list."""
        return tuple(sorted(u.path for u in self.uploads if u.reason == "new"))

    def lines(self) -> list[str]:
        """One line per action, for ``--dry-run``."""
        out = [f"upload {u.path} ({u.reason})" for u in self.uploads]
        out += [f"delete {path} (no longer part of the gallery)" for path in self.deletes]
        return out


def _page_order(upload: Upload) -> tuple[bool, int, str]:
    # files that are not pages first (they link to nothing, and nothing live links to a new
    # one yet); then pages, deepest first, so that a page is published only after every file
    # and every page it links to
    return (upload.is_page, -upload.path.count("/") if upload.is_page else 0, upload.path)


def _md5(entry: dict[str, Any]) -> str | None:
    md5 = entry.get("md5")
    return md5 if isinstance(md5, str) else None


def plan_publish(
    local_files: dict[str, dict[str, Any]], remote: RemoteState, *, keep_stale: bool = False
) -> PublishPlan:
    """The uploads and deletes that make the remote gallery equal the local one."""
    uploads = []
    kept = []
    remote_files, pending = remote.files, remote.pending
    for path, entry in sorted(local_files.items()):
        old = remote_files.get(path)
        if old == entry and not (pending and entry.get("cache_control") != IMMUTABLE):
            # the common case, at once: the same entry (md5 and headers), nothing pending
            kept.append(path)
        elif old is None:
            uploads.append(Upload(path, "new", entry))
        elif old.get("md5") != entry["md5"]:
            uploads.append(Upload(path, "changed", entry, _md5(old)))
        elif remote.pending and entry.get("cache_control") != IMMUTABLE:
            # an unfinished publish may have replaced it: its bytes are checked, not trusted
            uploads.append(Upload(path, "unverified", entry))
        elif any(old.get(f) != entry.get(f) for f in HEADER_FIELDS):
            # the script's manifest may list an object that is gone: copied in place only if
            # its bytes are still there, else sent
            # (or in a pending mark a killed migration left: entries still without headers)
            headerless = remote.legacy or all(old.get(f) is None for f in HEADER_FIELDS)
            reason = SCRIPT_UPLOAD if headerless else "new headers"
            uploads.append(Upload(path, reason, entry, _md5(old)))
        else:
            kept.append(path)
    stale = set() if keep_stale else set(remote.files) - set(local_files)
    # what an unfinished publish sent under names the site does not have was never part of a
    # live gallery: deleted even with --keep-stale, or it would stay public, owned by no one
    debris = set(remote.pending_creates) - set(remote.files) - set(local_files)
    deletes = tuple(sorted(p for p in stale | debris if p != MANIFEST_NAME))
    return PublishPlan(tuple(sorted(uploads, key=_page_order)), deletes, tuple(kept))
