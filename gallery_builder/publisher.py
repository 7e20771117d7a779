"""The publisher API (public): what a plugin's publisher must do, and may do.

A plugin registers a factory per URL scheme (hook ``gallery_publishers``); the factory takes
the TARGET and keyword options and returns a publisher. The core plans and orders every
request (gallery_builder.publishing); a publisher only moves bytes. The full contract, with the
order of one publish, is docs/publishers.md; every member's rules are in the docstrings here.

- :class:`Publisher`: the members every publisher has. :class:`BasePublisher` documents them
  and gives defaults for the simple optional ones; subclass it.
- The optional protocols (:class:`PublicUrls`, :class:`SetsUpHosting`, :class:`Verifiable`,
  :class:`Invalidates`, :class:`SeesNeighbours`, :class:`HoldsGalleries`, :class:`Confines`,
  :class:`Invites`, :class:`NamesPrefix`, :class:`LimitsKeys`): a publisher has all of one's
  members or none; the core asks ``isinstance(publisher, SetsUpHosting)``, never getattr.
- :func:`check_publisher`: run by the core right after a factory returns, before any
  request: a missing member is an error naming the plugin, not a failure half-way through.

Exceptions a publisher raises, and what they mean to the core:

- :class:`PublishConflict`: another publish changed, or holds, the gallery (a conditional
  write found other bytes, a lease is taken). Nothing of this publish went live; the user runs
  it again. The core treats a commit's conflict that finds its own bytes as success.
- :class:`LeaseLost` (a PublishConflict): this publish's lease expired or was taken while it
  ran; every write after that must raise it, so the publish stops. Never retried.
- ``SettingError`` (gallery_builder.errors): the TARGET or an option is wrong (exit 2), from
  the factory, its ``check_target``, or any member that finds the settings cannot apply.
- ``GalleryError``: any other failure the user can act on (exit 1, one ``Error:`` line):
  credentials, a refused request, a key the store will not take. Say what failed, on which
  key, and what to do.
- Anything else is a bug in the publisher and is shown as one (a traceback with ``-v``).
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any, Protocol, runtime_checkable
from urllib.parse import quote

from gallery_builder.errors import GalleryError
from gallery_builder.plan import PublishPlan
from gallery_builder.publish_result import PublishResult
from gallery_builder.publisher_optional import (
    Confines,
    HoldsGalleries,
    Invalidates,
    Invites,
    LimitsKeys,
    NamesPrefix,
    PublicUrls,
    SeesNeighbours,
    SetsUpHosting,
    Verifiable,
)

__all__ = [
    "DELETE_BATCH",
    "OPTIONAL_PROTOCOLS",
    "UPLOAD_WORKERS",
    "BasePublisher",
    "Confines",
    "HoldsGalleries",
    "Invalidates",
    "Invites",
    "LeaseLost",
    "LimitsKeys",
    "NamesPrefix",
    "PublicUrls",
    "PublishConflict",
    "PublishPlan",
    "PublishResult",
    "Publisher",
    "SeesNeighbours",
    "SetsUpHosting",
    "Verifiable",
    "check_publisher",
]

#: uploads (and retags) at a time: ``upload`` and ``retag`` are called from this many threads
#: at once (botocore's connection pool holds 10 by default)
UPLOAD_WORKERS = 10
#: ``delete`` is given at most this many keys at a time (S3's DeleteObjects limit)
DELETE_BATCH = 1000


class PublishConflict(GalleryError):
    """Another publish changed, or holds, the gallery; nothing of this one went live."""


class LeaseLost(PublishConflict):
    """This publish's lease expired or was taken over while it ran: it stopped writing."""


@runtime_checkable
class Publisher(Protocol):
    """What every publisher has. Keys are relative to the target (the prefix included), plain
    relative paths (gallery_builder.keys checked them: no ``..``, no leading ``/``). An ETag
    is the hex MD5 of the object's bytes (quotes allowed: the core strips them)."""

    #: where the gallery goes, for messages: "file:///srv/www/trip/", "s3://bucket/"; the
    #: key is appended to it to name an object
    location: str

    def read(self, key: str) -> tuple[bytes, str] | None: ...

    def existing(self, entries: dict[str, dict[str, Any]], *, headers: bool = True) -> set[str]: ...

    def upload(self, key: str, file: Path, entry: dict[str, Any], **kw: Any) -> None: ...

    def retag(self, key: str, entry: dict[str, Any], **kw: Any) -> None: ...

    def commit(self, key: str, data: bytes, base_etag: str | None) -> str: ...

    def delete(self, keys: list[str]) -> None: ...

    def lease(self, prefix: str) -> AbstractContextManager[Any]: ...


#: the members every publisher has (see :class:`BasePublisher` for each one's contract)
REQUIRED = ("location", "read", "existing", "upload", "retag", "commit", "delete", "lease")


def _required(method: Any) -> Any:
    """Marks a :class:`BasePublisher` member a subclass must write (check_publisher tells)."""
    method.__gallery_required__ = True
    return method


class BasePublisher:
    """The base of a publisher: every member's contract, and defaults for the simple
    optional ones (:class:`PublicUrls`, :class:`NamesPrefix`, :class:`LimitsKeys`, and the
    secondary members of :class:`SetsUpHosting`, :class:`HoldsGalleries`, :class:`Invites`).

    A subclass sets ``location`` and writes the eight required members; a required member it
    leaves out is refused by :func:`check_publisher` before any request. The core calls them
    in this order (docs/publishers.md, "One publish"): ``read`` the live manifest (before the
    lease: its ETag is the base) -> ``lease(prefix)`` -> ``commit`` a pending mark ->
    ``existing`` -> ``upload``/``retag`` from :data:`UPLOAD_WORKERS` threads -> ``commit`` the
    manifest -> ``delete`` (inside the lease) -> the lease is released.
    """

    #: where the gallery goes, for messages: "zip:///tmp/site.zip/"; set it in __init__
    location: str
    #: the prefix the TARGET named (``s3://bucket/PREFIX``), used unless ``-d`` says otherwise
    prefix_hint: str | None = None
    #: the longest key the store takes, in UTF-8 bytes (longer ones are refused before any
    #: write, naming the key); None: no limit
    max_key_bytes: int | None = None
    #: what the last :meth:`Invites.revoke_invitations` did, for the user (notes)
    revocation_notes: Sequence[str] = ()

    # --- required ------------------------------------------------------------------------

    @_required
    def read(self, key: str) -> tuple[bytes, str] | None:
        """The object's bytes and ETag (hex MD5 of the bytes), or None if there is none.

        Called from several threads at once (the bucket root reads galleries' manifests 8 at
        a time). A key that cannot be read for another reason than absence is a
        GalleryError, never None: None means "absent", and a publish onto an "absent"
        manifest would take the gallery over."""
        raise NotImplementedError(f"{type(self).__name__}.read")

    @_required
    def existing(self, entries: dict[str, dict[str, Any]], *, headers: bool = True) -> set[str]:
        """Those of the keys in ``entries`` (key -> manifest entry) already stored with the
        entry's bytes (``md5``) and headers (``content_type``, ``cache_control``, where the
        store keeps headers): what an interrupted publish already sent, which is not sent
        again. Asked inside the lease, once, only when there is something to upload.
        ``headers=False``: the bytes alone (asked when migrating from the original script,
        whose uploads carry no headers of ours). A store that cannot tell answers
        ``set()``: everything is sent."""
        raise NotImplementedError(f"{type(self).__name__}.existing")

    @_required
    def upload(
        self, key: str, file: Path, entry: dict[str, Any], *, replaces: str | None = None
    ) -> None:
        """Store ``file``'s bytes under ``key`` with the headers in ``entry``
        (``content_type``, ``cache_control``); check them against ``entry["md5"]`` (a file
        changed since the build is a GalleryError, never a silent upload).

        ``replaces=MD5`` (given when the file replaces one the live manifest lists under the
        same name, e.g. a page): write only if the object there still has that MD5 (S3:
        ``IfMatch``; a folder: the bytes re-checked under the lock), else raise
        :class:`PublishConflict`: a publish that lost the race must not replace a newer page.
        ``replaces`` of an MD5 no object has (``"0" * 32``) writes only where nothing is.

        Thread-safe: called from :data:`UPLOAD_WORKERS` threads at once, inside the lease.
        Raise :class:`LeaseLost` if the lease was lost."""
        raise NotImplementedError(f"{type(self).__name__}.upload")

    @_required
    def retag(self, key: str, entry: dict[str, Any], *, replaces: str | None = None) -> None:
        """Give the object at ``key`` (already holding ``entry["md5"]``'s bytes) the headers
        of ``entry`` without sending its bytes again (S3: a copy in place; a store without
        headers: nothing to do but the ``replaces`` check). ``replaces`` as for
        :meth:`upload`. Thread-safe like :meth:`upload`."""
        raise NotImplementedError(f"{type(self).__name__}.retag")

    @_required
    def commit(self, key: str, data: bytes, base_etag: str | None) -> str:
        """Write ``data`` at ``key`` only if the object's ETag is still ``base_etag`` (None:
        only if there is no object); return the new ETag (the MD5 of ``data``), or raise
        :class:`PublishConflict` and write nothing.

        This is the commit of a publish: atomic (a reader sees the old bytes or the new,
        whole), and conditional on the store's side where it can be. It may be called twice
        with the same bytes (a retry whose first answer was lost): the second finds its own
        write and raises PublishConflict; the core then reads the key, and an ETag equal to
        ``md5(data)`` is a success. So :meth:`read`'s ETag must be the MD5 of the bytes."""
        raise NotImplementedError(f"{type(self).__name__}.commit")

    @_required
    def delete(self, keys: list[str]) -> None:
        """Delete up to :data:`DELETE_BATCH` keys; a missing key is not an error. Called inside
        the lease, after the commit (or, for an unpublish, after its mark): only keys the
        gallery's manifest owned."""
        raise NotImplementedError(f"{type(self).__name__}.delete")

    @_required
    def lease(self, prefix: str) -> AbstractContextManager[Any]:
        """A context manager held for the mutable phase of publishing the gallery at
        ``prefix`` (``""``: the bucket root, also taken to rebuild the root's listing).

        Exclusive: while one is held, taking it again (another process, another publisher
        object, the same one) raises :class:`PublishConflict` at once, without waiting. Not
        re-entrant. Released on exit, also when the body raises. A lease that can expire is
        renewed while held, and every write made under it first checks that it is still
        held (raising :class:`LeaseLost` if not). The live manifest is read before the
        lease is taken: the conditional commit, not the lease, protects against a publish
        that committed in between."""
        raise NotImplementedError(f"{type(self).__name__}.lease")

    # --- optional, with defaults -----------------------------------------------------------

    def url(self, key: str) -> str:
        """The public URL of ``key`` (printed after a publish, ``-v`` lists each upload's):
        by default ``location`` + the quoted key."""
        return self.location + quote(key, safe="/")

    def website_url(self) -> str | None:
        """A web host's root URL, printed as ``website:`` (None: there is none)."""
        return None

    def hosting_record(self, prefix: str) -> dict[str, Any]:
        """See :class:`SetsUpHosting`: nothing kept beside the fingerprint."""
        return {}

    def hosting_in_place(self, prefix: str) -> bool:
        """See :class:`SetsUpHosting`: a set-up nothing else can undo."""
        return True

    def known_hosting(self, prefix: str, record: dict[str, Any] | None) -> None:
        """See :class:`SetsUpHosting`: the live record is not needed."""

    def hosting_lines(self) -> list[str]:
        """See :class:`SetsUpHosting`: nothing to print."""
        return []

    def ensure_bucket(self) -> None:
        """See :class:`HoldsGalleries`: a store that is there."""


#: every optional protocol, for check_publisher and the docs
OPTIONAL_PROTOCOLS: tuple[type, ...] = (
    PublicUrls,
    NamesPrefix,
    LimitsKeys,
    SetsUpHosting,
    Verifiable,
    Invalidates,
    SeesNeighbours,
    HoldsGalleries,
    Confines,
    Invites,
)


def protocol_members(protocol: type) -> tuple[str, ...]:
    """The members a protocol asks for, in the order they are declared."""
    names = [*getattr(protocol, "__annotations__", {})]
    names += [n for n, v in vars(protocol).items() if callable(v) and not n.startswith("_")]
    return tuple(dict.fromkeys(n for n in names if not n.startswith("_")))


_DEFAULTS = frozenset(n for n in vars(BasePublisher) if not n.startswith("_")) | {"location"}


def _is_placeholder(publisher: Any, name: str) -> bool:
    return getattr(getattr(type(publisher), name, None), "__gallery_required__", False)


def check_publisher(publisher: Any, plugin: str) -> None:
    """Refuse, before any request, a publisher the core could not drive to the end: a
    required member missing (or left as BasePublisher's placeholder), or part of an optional
    protocol without the rest. Raises GalleryError naming ``plugin`` and the members."""
    what = f"the publisher of plugin '{plugin}' ({type(publisher).__name__})"
    missing = [
        name
        for name in REQUIRED
        if not hasattr(publisher, name)
        or _is_placeholder(publisher, name)
        or (name != "location" and not callable(getattr(publisher, name)))
    ]
    if not missing and not isinstance(publisher.location, str):
        missing = ["location (a string)"]
    if missing:
        raise GalleryError(
            f"{what} lacks {', '.join(missing)}: every publisher has "
            f"{', '.join(REQUIRED)} (docs/publishers.md); nothing was sent. Update or block "
            f"the plugin (--block {plugin})"
        )
    for protocol in OPTIONAL_PROTOCOLS:
        members = protocol_members(protocol)
        present = [m for m in members if hasattr(publisher, m)]
        # the members BasePublisher gives do not by themselves claim the protocol
        key = [m for m in members if m not in _DEFAULTS] or list(members)
        if not set(present) & set(key) or len(present) == len(members):
            continue
        lacking = [m for m in members if m not in present]
        raise GalleryError(
            f"{what} has {', '.join(present)} but not {', '.join(lacking)}: a publisher has "
            f"all of {protocol.__name__} ({', '.join(members)}) or none (docs/publishers.md; "
            f"BasePublisher gives defaults for some); nothing was sent. Update or block the "
            f"plugin (--block {plugin})"
        )
