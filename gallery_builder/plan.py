"""Planning a publish: the difference between the local manifest and the remote one. Pure
functions, no I/O: publishers only move the bytes a plan names (ARCHITECTURE.md §5).

The remote manifest says what the gallery owns in the bucket. A key it does not list was not
written by the gallery and is never deleted.
"""

from __future__ import annotations

import json
import posixpath
import re
from dataclasses import dataclass, field
from typing import Any

from gallery_builder.keys import key_problem
from gallery_builder.manifest import FORMAT, MANIFEST_NAME
from gallery_builder.model import IMMUTABLE
from gallery_builder.source_stages import PICTURE_EXTENSIONS

#: the headers a published object must carry, besides its content
HEADER_FIELDS = ("content_type", "cache_control")


class ManifestError(ValueError):
    """A manifest that cannot be read; the message says which and why."""


@dataclass(frozen=True)
class RemoteState:
    """What the last publish left: the files the gallery owns there, and the hosting record
    it applied (``{"fingerprint": ..., publisher fields}``). ``legacy`` marks the original
    script's flat manifest."""

    files: dict[str, dict[str, Any]] = field(default_factory=dict)
    hosting: dict[str, Any] | None = None
    legacy: bool = False
    exists: bool = False
    #: a publish started replacing files whose names stay (pages, originals) and did not
    #: finish: those live files may not be the ones ``files`` lists
    pending: bool = False
    #: a manifest.json that was not a gallery's, taken over (--take-over): it owns nothing
    taken_over: bool = False
    #: the keys (relative to the prefix) an unfinished publish was about to create: the
    #: gallery owns them too, and deletes those the site no longer has
    pending_creates: tuple[str, ...] = ()
    #: the remote manifest's whole content (ours, parsed), for the pending mark to carry
    content: dict[str, Any] = field(default_factory=dict)


#: what to do about a manifest.json this gallery cannot own
_ADVICE = (
    "publish to another prefix (-d PREFIX), or pass --take-over to replace that "
    f"{MANIFEST_NAME} with the gallery's (none of the files it lists is deleted)"
)
_MD5 = re.compile(r"[0-9a-fA-F]{32}")


class NewerFormat(ManifestError):
    """A manifest of a later gallery-builder: never taken over, never downgraded."""


def read_remote_manifest(data: bytes | None, *, take_over: bool = False) -> RemoteState:
    """Parse the remote ``manifest.json`` (None when there is none).

    Understands gallery-builder's format and the original script's flat
    ``{"relative/path.jpg": "<md5>"}``, whose entries carry no headers. Every key either
    lists must be a safe relative key (gallery_builder.keys), every entry of the right
    shape; anything else raises :class:`ManifestError` and nothing may be deleted. With
    ``take_over``, a manifest that is not a readable gallery's is owned from now on: the
    state says it exists (its ETag is the commit's base) but owns no file.
    """
    if data is None:
        return RemoteState()
    try:
        return _parse_remote(data)
    except NewerFormat:
        raise
    except ManifestError:
        if take_over:
            return RemoteState(exists=True, taken_over=True)
        raise


def _parse_remote(data: bytes) -> RemoteState:
    try:
        manifest = json.loads(data)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ManifestError(f"is not JSON ({exc}); {_ADVICE}") from None
    except RecursionError:
        raise ManifestError(f"is JSON nested too deeply to be a gallery's; {_ADVICE}") from None
    if not isinstance(manifest, dict):
        raise ManifestError(f"is not a JSON object but {_kind(manifest)}; {_ADVICE}")
    if manifest.get("format") == FORMAT:
        return _ours(manifest)
    if "format" in manifest:
        raise NewerFormat(
            f"is in format {manifest['format']!r}; this gallery-builder writes {FORMAT!r}: "
            "upgrade gallery-builder to publish here"
        )
    problem = _legacy_problem(manifest)
    if problem is None:
        return RemoteState(
            files={path: {"md5": md5.lower()} for path, md5 in manifest.items()},
            legacy=True,
            exists=True,
        )
    raise ManifestError(f"is not a gallery's: it holds {_kind(manifest)}, and {problem}; {_ADVICE}")


def _ours(manifest: dict[str, Any]) -> RemoteState:
    files = manifest.get("files")
    if not isinstance(files, dict):
        raise ManifestError(f"has no 'files' table ('files' is {_kind(files)}); {_ADVICE}")
    for key, entry in files.items():
        problem = key_problem(key)
        if problem:
            raise ManifestError(
                f"lists an unsafe key {key!r} ({problem}), which no gallery writes: nothing "
                f"was deleted or written; {_ADVICE}"
            )
        if not isinstance(entry, dict):
            raise ManifestError(
                f"lists {key!r} with {_kind(entry)} where an entry (an object) belongs; " + _ADVICE
            )
        if not isinstance(entry.get("md5"), str):
            raise ManifestError(
                f"lists {key!r} with md5 {_kind(entry.get('md5'))}, not a string; {_ADVICE}"
            )
        for name in HEADER_FIELDS:
            if not isinstance(entry.get(name), str | None):
                raise ManifestError(
                    f"lists {key!r} with {name} {_kind(entry[name])}, not a string; {_ADVICE}"
                )
    return RemoteState(
        files=files,
        hosting=hosting_record(manifest.get("hosting")),
        exists=True,
        pending=bool(manifest.get("pending")),
        pending_creates=_pending_creates(manifest.get("pending")),
        content=manifest,
    )


def _legacy_problem(manifest: dict[str, Any]) -> str | None:
    """Why ``manifest`` is not the original script's flat ``{picture path: md5}``, or None.

    Any flat object of strings is not enough (a web app's or a bundler's manifest.json is
    one too, and the files it lists are not ours to delete)."""
    for key, value in manifest.items():
        if not isinstance(value, str):
            return f"{key!r} maps to {_kind(value)}"
        if not _MD5.fullmatch(value):
            return (
                f"{key!r} maps to {value[:40]!r}, not an MD5 (the script mapped pictures to MD5s)"
            )
        problem = key_problem(key)
        if problem:
            return f"it lists an unsafe key {key!r} ({problem})"
        if posixpath.splitext(key)[1].lower() not in PICTURE_EXTENSIONS:
            return f"it lists {key!r}, not a picture (the original script listed pictures only)"
    return None


def _kind(value: object) -> str:
    """A short description of a JSON value, for messages."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return f"a boolean ({str(value).lower()})"
    if isinstance(value, int | float):
        return f"a number ({value})"
    if isinstance(value, str):
        return f"a string ({value[:40]!r})"
    if isinstance(value, list):
        return f"a list of {len(value)}"
    if isinstance(value, dict):
        names = ", ".join(repr(k) for k in list(value)[:5])
        return f"an object (with {names}{', ...' if len(value) > 5 else ''})"
    return type(value).__name__


#: the reason of an upload whose bytes the original script's manifest lists
SCRIPT_UPLOAD = "new headers, if the script's upload is there"


def hosting_record(hosting: Any) -> dict[str, Any] | None:
    """The manifest's ``hosting`` as a record: an object whose ``fingerprint`` is a string
    (an older version wrote the fingerprint alone, as a string)."""
    if hosting is None:
        return None
    if isinstance(hosting, str):
        return {"fingerprint": hosting}
    if not isinstance(hosting, dict):
        raise ManifestError(f"has 'hosting' {_kind(hosting)}, not an object; {_ADVICE}")
    if not isinstance(hosting.get("fingerprint"), str):
        raise ManifestError(
            f"has a 'hosting' record whose fingerprint is {_kind(hosting.get('fingerprint'))}, "
            f"not a string; {_ADVICE}"
        )
    return hosting


def _pending_creates(pending: Any) -> tuple[str, ...]:
    """The keys a pending mark says its publish was about to create (``pending.creates``);
    an older mark (``"pending": true``) names none. Untrusted: anything but a list of clean
    relative paths is refused, since the next publish deletes them."""
    if not isinstance(pending, dict) or "creates" not in pending:
        return ()
    creates = pending["creates"]
    if not isinstance(creates, list) or not all(isinstance(k, str) for k in creates):
        raise ManifestError(f"has a 'pending.creates' that is not a list of paths; {_ADVICE}")
    for key in creates:
        if key_problem(key):
            raise ManifestError(
                f"lists {key!r} in 'pending.creates', which is not a clean relative path: "
                f"nothing was deleted or written; {_ADVICE}"
            )
    return tuple(sorted(set(creates)))


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
