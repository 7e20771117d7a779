"""Planning a publish: the difference between the local manifest and the remote one. Pure
functions, no I/O: publishers only move the bytes a plan names (ARCHITECTURE.md §5).

The remote manifest says what the gallery owns in the bucket. A key it does not list was not
written by the gallery and is never deleted.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from gallery_builder.manifest import FORMAT, MANIFEST_NAME
from gallery_builder.model import IMMUTABLE

#: the headers a published object must carry, besides its content
HEADER_FIELDS = ("content_type", "cache_control")


class ManifestError(ValueError):
    """A manifest that cannot be read; the message says which and why."""


@dataclass(frozen=True)
class RemoteState:
    """What the last publish left: the files the gallery owns there, and the hosting
    fingerprint it applied. ``legacy`` marks the original script's flat manifest."""

    files: dict[str, dict[str, Any]] = field(default_factory=dict)
    hosting: str | None = None
    legacy: bool = False
    exists: bool = False
    #: a publish started replacing files whose names stay (pages, originals) and did not
    #: finish: those live files may not be the ones ``files`` lists
    pending: bool = False
    #: the keys (relative to the prefix) an unfinished publish was about to create: the
    #: gallery owns them too, and deletes those the site no longer has
    pending_creates: tuple[str, ...] = ()
    #: the remote manifest's whole content (ours, parsed), for the pending mark to carry
    content: dict[str, Any] = field(default_factory=dict)


def read_remote_manifest(data: bytes | None) -> RemoteState:
    """Parse the remote ``manifest.json`` (None when there is none).

    Understands gallery-builder's format and the original script's flat
    ``{"relative/path.jpg": "<md5>"}``, whose entries carry no headers.
    """
    if data is None:
        return RemoteState()
    try:
        manifest = json.loads(data)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ManifestError(f"the remote {MANIFEST_NAME} is not JSON ({exc})") from None
    if not isinstance(manifest, dict):
        raise ManifestError(f"the remote {MANIFEST_NAME} is not a JSON object")
    if manifest.get("format") == FORMAT:
        files = manifest.get("files")
        if not isinstance(files, dict):
            raise ManifestError(f"the remote {MANIFEST_NAME} has no 'files' table")
        return RemoteState(
            files=files,
            hosting=manifest.get("hosting"),
            exists=True,
            pending=bool(manifest.get("pending")),
            pending_creates=_pending_creates(manifest.get("pending")),
            content=manifest,
        )
    if "format" in manifest:
        raise ManifestError(
            f"the remote {MANIFEST_NAME} is in format {manifest['format']!r}; this "
            f"gallery-builder writes {FORMAT!r}: upgrade gallery-builder to publish here"
        )
    if all(isinstance(k, str) and isinstance(v, str) for k, v in manifest.items()):
        return RemoteState(
            files={path: {"md5": md5} for path, md5 in manifest.items()}, legacy=True, exists=True
        )
    raise ManifestError(f"the remote {MANIFEST_NAME} is not one gallery-builder understands")


def _pending_creates(pending: Any) -> tuple[str, ...]:
    """The keys a pending mark says its publish was about to create (``pending.creates``);
    an older mark (``"pending": true``) names none. Untrusted: anything but a list of clean
    relative paths is refused, since the next publish deletes them."""
    if not isinstance(pending, dict) or "creates" not in pending:
        return ()
    creates = pending["creates"]
    if not isinstance(creates, list) or not all(isinstance(k, str) for k in creates):
        raise ManifestError(
            f"the remote {MANIFEST_NAME} has a 'pending.creates' that is not a list of paths"
        )
    for key in creates:
        if not is_clean_key(key):
            raise ManifestError(
                f"the remote {MANIFEST_NAME} lists {key!r} in 'pending.creates', which is "
                "not a clean relative path; nothing was deleted"
            )
    return tuple(sorted(set(creates)))


def is_clean_key(key: str) -> bool:
    """A relative path with no empty, ``.`` or ``..`` segment, no ``\\``, NUL or control
    character: a key a publish may write or delete inside its prefix."""
    if not key or key.startswith("/") or "\\" in key:
        return False
    if any(ord(c) < 32 or ord(c) == 127 for c in key):
        return False
    return all(part not in ("", ".", "..") for part in key.split("/"))


@dataclass(frozen=True)
class Upload:
    path: str
    #: "new", "changed", "new headers" (same bytes: copied in place), or "unverified" (listed
    #: as it should be, but an unfinished publish may have replaced it: sent unless it is)
    reason: str
    entry: dict[str, Any]
    #: the MD5 the live manifest promises for the file this one replaces (None: a new name)
    replaced_md5: str | None = None

    @property
    def is_page(self) -> bool:
        """An HTML page: it links to other files, so it goes live only after them."""
        return str(self.entry.get("content_type", "")).startswith("text/html")

    @property
    def bytes_needed(self) -> bool:
        """False when only the headers change: the object is copied onto itself."""
        return self.reason != "new headers"

    @property
    def replaces(self) -> bool:
        """Whether it overwrites a file the live gallery lists (not a new name)."""
        return self.reason in ("changed", "new headers")


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
    for path, entry in sorted(local_files.items()):
        old = remote.files.get(path)
        if old is None:
            uploads.append(Upload(path, "new", entry))
        elif old.get("md5") != entry["md5"]:
            uploads.append(Upload(path, "changed", entry, _md5(old)))
        elif remote.pending and entry.get("cache_control") != IMMUTABLE:
            # an unfinished publish may have replaced it: its bytes are checked, not trusted
            uploads.append(Upload(path, "unverified", entry))
        elif any(old.get(f) != entry.get(f) for f in HEADER_FIELDS):
            uploads.append(Upload(path, "new headers", entry, _md5(old)))
        else:
            kept.append(path)
    stale = set() if keep_stale else set(remote.files) - set(local_files)
    # what an unfinished publish sent under names the site does not have was never part of a
    # live gallery: deleted even with --keep-stale, or it would stay public, owned by no one
    debris = set(remote.pending_creates) - set(remote.files) - set(local_files)
    deletes = tuple(sorted(p for p in stale | debris if p != MANIFEST_NAME))
    return PublishPlan(tuple(sorted(uploads, key=_page_order)), deletes, tuple(kept))
