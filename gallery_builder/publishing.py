"""Publishing: the protocol every publisher follows (ARCHITECTURE.md §5), and the driver.

The core plans (gallery_builder.plan) and orders; a publisher only moves bytes. Order:
read the remote manifest (its ETag is the base) -> (nothing to do: stop) -> the lease -> refuse
if another gallery near the prefix owns a key this publish touches -> the pending mark (the
live manifest, whole, plus the keys about to be created) -> upload every file that is not a
page (images, theme files, originals), concurrently -> HTML pages, deepest first, one at a time
(a page that replaces one, only over the bytes the manifest promises) -> ``manifest.json`` as a
conditional write on the base (the commit) -> delete what the old manifest (or an unfinished
publish's mark) owned and the new one does not. At every moment a live page links only to
objects that exist, and the live manifest is whole.
"""

from __future__ import annotations

import hashlib
import inspect
import json
import threading
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from itertools import groupby
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlsplit

from gallery_builder.errors import GalleryError, SettingError
from gallery_builder.keys import join_key
from gallery_builder.manifest import FORMAT, MANIFEST_NAME, dumps
from gallery_builder.neighbours import (
    Neighbour,
    first_collision,
    is_below,
    may_collide,
    own_keys,
    touched_keys,
)
from gallery_builder.plan import (
    ManifestError,
    PublishPlan,
    RemoteState,
    plan_publish,
    read_remote_manifest,
)
from gallery_builder.plugin_manager import GalleryPluginManager
from gallery_builder.publish_checks import check_site
from gallery_builder.repair import with_repairs

#: uploads at a time (botocore's connection pool holds 10 by default)
UPLOAD_WORKERS = 10
#: deletes are sent in batches of at most this many keys (S3's DeleteObjects limit)
DELETE_BATCH = 1000


class PublishConflict(GalleryError):
    """Another publish changed, or holds, the gallery; nothing of this one went live."""


class LeaseLost(PublishConflict):
    """This publish's lease expired or was taken over while it ran: it stopped writing."""


class Publisher(Protocol):
    """Moves bytes to one target. Keys are relative to the target (the prefix included)."""

    #: where the gallery goes, for messages: "file:///srv/www/trip/", "s3://bucket/trip/"
    location: str

    def read(self, key: str) -> tuple[bytes, str] | None:
        """The object's bytes and ETag (hex MD5 for a plain upload), or None if absent."""

    def existing(self, entries: dict[str, dict[str, Any]], *, headers: bool = True) -> set[str]:
        """Those of the keys in ``entries`` (key -> manifest entry) already stored with the
        entry's bytes (``md5``) and headers (``content_type``, ``cache_control``, where the
        store keeps headers): what an interrupted publish already sent. Asked only when
        there is something to upload. ``headers=False``: the bytes alone (asked only when
        migrating from the original script, whose uploads carry no headers of ours)."""

    def upload(self, key: str, file: Path, entry: dict[str, Any], **kw: Any) -> None:
        """Store ``file`` under ``key`` with the headers in ``entry`` (content_type,
        cache_control); the store checks it against ``entry["md5"]``. With
        ``replaces=MD5`` (given when the file replaces one the live manifest lists under the
        same name), write only if the object there still has that MD5 (S3: ``IfMatch``; a
        folder: the bytes re-checked under the lock), else raise :class:`PublishConflict`:
        a publish that lost the race must not replace a newer page."""

    def retag(self, key: str, entry: dict[str, Any], **kw: Any) -> None:
        """Give an existing object new headers without sending its bytes again (``replaces``
        as for :meth:`upload`)."""

    def commit(self, key: str, data: bytes, base_etag: str | None) -> str:
        """Write ``data`` only if the object's ETag is still ``base_etag`` (None: only if it
        does not exist); return the new ETag, or raise :class:`PublishConflict`."""

    def delete(self, keys: list[str]) -> None:
        """Delete up to :data:`DELETE_BATCH` keys; a missing key is not an error."""

    def lease(self, prefix: str) -> Any:
        """A context manager held for the mutable phase of publishing the gallery at
        ``prefix``; raises :class:`PublishConflict` when another publish holds it. A lease
        that can expire is renewed while held, and every write made under it first checks
        that it is still held (raising :class:`LeaseLost` if not): a publish that lost it
        stops before its next write."""

    def manifests_near(self, prefix: str) -> list[str]:
        """The keys of every ``manifest.json`` above ``prefix`` (in each parent folder and
        at the root) and below it (in any subfolder), other than ``prefix``'s own: other
        galleries, whose keys this publish must not touch. Asked once per publish that
        writes, before its first write (on S3 its listing is the one :meth:`existing`
        reuses)."""

    # Optional: stat(keys, anonymous=False) -> {key: gallery_builder.verify.ObjectInfo | None},
    # what the store really holds under each key (MD5, size, headers), for gallery verify and
    # publish --repair; anonymous=True: what an unsigned request may read (without it: read()).
    # Optional: url(key) -> str, the public URL of a key (the command prints it; without it,
    # ``location + key``); website_url() -> str, a web host's root URL (printed as "website:");
    # prefix_hint, the prefix the TARGET named (s3://bucket/PREFIX); max_key_bytes, the
    # longest key the store takes (UTF-8 bytes; longer ones are refused before any write);
    # confine(prefix, keys=()), called before any request, then with every key the plan
    # writes or deletes before the first write: a store whose keys map to paths (file://)
    # refuses a key that resolves outside the gallery's folder (then and at each access).
    # Optional: a publisher to a web host may also set the hosting up (see s3_publisher):
    # hosting_fingerprint(prefix) -> str, the fingerprint of the settings it would apply;
    # set_up_hosting(prefix, record=None) -> list[str], applying them (idempotent; ``record``
    # is the live manifest's hosting record, e.g. to find what an earlier set-up made) and
    # returning notes on what it had to skip; hosting_record(prefix) -> dict, what to keep
    # beside the fingerprint after a set-up (ids, calls the store refused). The record
    # ``{"fingerprint", ...}`` is stored in the committed manifest, so the next publish skips
    # the set-up when the fingerprint is unchanged (``--reconfigure`` forces it);
    # hosting_in_place(prefix) -> bool, checked before the commit after a setup (see
    # s3_publisher: the bucket policy still holds the gallery's statement);
    # plan_hosting(prefix, record) -> list[str], for --dry-run: what a set-up would create or
    # change (read-only requests only); after_commit(prefix, plan, manifest_md5) -> list[str]
    # (notes), called once the new manifest is live and the deletes are done (a CDN
    # invalidates there); invalidation_plan(prefix, plan) -> list[str], for --dry-run: the
    # paths after_commit would invalidate; known_hosting(prefix, record), given the live
    # record as soon as it is read (no request: e.g. the distribution's id for URLs);
    # hosting_lines() -> list[str], printed after the summary (e.g. the distribution id).
    # Optional, for the bucket root (gallery_builder.bucket_root): gallery_manifests() ->
    # list[str], the key of every manifest.json in the bucket (without it no root is
    # written); ensure_bucket(), making the bucket before the root's first write.


def publisher_factories(pm: GalleryPluginManager) -> dict[str, Any]:
    """``{scheme: factory}`` from every plugin; a scheme claimed twice is an error."""
    factories: dict[str, Any] = {}
    owners: dict[str, str] = {}
    for impl in reversed(pm.hook.gallery_publishers.get_hookimpls()):
        for scheme, factory in (impl.function() or {}).items():
            scheme = scheme.lower()
            if scheme in factories:
                raise GalleryError(
                    f"two plugins publish to '{scheme}://': {owners[scheme]} and "
                    f"{impl.plugin_name}; block one with --block NAME"
                )
            factories[scheme], owners[scheme] = factory, impl.plugin_name
    return factories


def publisher_for(pm: GalleryPluginManager, target: str) -> tuple[str, Any]:
    """The scheme of ``target`` and its factory; a bare name means ``s3://NAME``."""
    scheme = urlsplit(target).scheme.lower() if "://" in target else "s3"
    factories = publisher_factories(pm)
    if scheme not in factories:
        installed = ", ".join(f"{s}://" for s in sorted(factories)) or "none"
        raise GalleryError(f"no publisher for '{scheme}://' (installed: {installed})")
    return scheme, factories[scheme]


@dataclass
class PublishResult:
    plan: PublishPlan
    prefix: str
    location: str
    committed: bool = False
    uploaded: list[str] = field(default_factory=list)
    resumed: list[str] = field(default_factory=list)  #: already there from an interrupted run
    deleted: list[str] = field(default_factory=list)
    #: what the hosting set-up would create or change (``--dry-run``, from ``plan_hosting``)
    hosting_plan: list[str] = field(default_factory=list)
    #: the paths a CDN would invalidate after the commit (``--dry-run``)
    invalidations: list[str] = field(default_factory=list)
    #: what the hosting setup skipped, for the user to do by other means
    notes: list[str] = field(default_factory=list)

    def summary(self) -> str:
        if not self.committed:
            return f"{self.location}: up to date, nothing sent"
        return (
            f"{self.location}: {len(self.uploaded)} uploaded, {len(self.deleted)} deleted, "
            f"{len(self.plan.kept)} unchanged"
        )


def read_site_manifest(site: Path) -> tuple[dict[str, Any], bytes]:
    """The built site's manifest, parsed and as bytes."""
    path = site / MANIFEST_NAME
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise GalleryError(
            f"{site} has no {MANIFEST_NAME}: build the site first (gallery build SOURCE -o {site})"
        ) from None
    try:
        return json.loads(data), data
    except json.JSONDecodeError as exc:
        raise GalleryError(f"{path} is not JSON ({exc}); build the site again") from None


def refuse_decrypting(site: dict[str, Any], live: dict[str, Any], where: str) -> None:
    """A clear site never replaces a gallery published encrypted by accident (a build that
    forgot its password, another machine): refused before any write (exit 2)."""
    if isinstance(live.get("encrypted"), dict) and not isinstance(site.get("encrypted"), dict):
        raise SettingError(
            f"{where} is published encrypted, and this site is not: publishing it would make "
            "every page and picture readable by anyone. Build it with its password "
            "(--password-file or GALLERY_PASSWORD), or publish with --no-encryption to "
            "replace it with the clear gallery; nothing was sent"
        )


def publish(
    site: Path,
    publisher: Publisher,
    prefix: str,
    *,
    dry_run: bool = False,
    keep_stale: bool = False,
    reconfigure: bool = False,
    take_over: bool = False,
    repair: bool = False,
    replace_encrypted: bool = False,
    on_upload: Callable[[str], None] = lambda key: None,
    workers: int = UPLOAD_WORKERS,
) -> PublishResult:
    """Make the gallery at ``publisher``/``prefix`` equal the built ``site``.

    ``take_over``: a ``manifest.json`` at the prefix that is not a gallery's is replaced by
    ours, and none of the files it lists is deleted (they were never the gallery's).
    ``repair``: every file the plan would keep is checked in the store (gallery_builder.repair)
    and sent again if it is missing or damaged, even when the manifest is unchanged.
    ``replace_encrypted``: a clear site may replace a gallery published encrypted (refused
    otherwise: a build that forgot its password would make every picture readable)."""
    manifest, manifest_bytes = read_site_manifest(site)
    check_site(site, manifest, publisher, prefix)
    manifest_key = join_key(prefix, MANIFEST_NAME)
    hosting = getattr(publisher, "hosting_fingerprint", None)
    fingerprint = hosting(prefix) if hosting else None
    remote = publisher.read(manifest_key)
    base_etag = remote[1] if remote else None
    try:
        state = read_remote_manifest(remote[0] if remote else None, take_over=take_over)
    except ManifestError as exc:
        raise GalleryError(f"{publisher.location}{manifest_key} {exc}") from None
    if not replace_encrypted:
        refuse_decrypting(manifest, state.content, publisher.location + join_key(prefix, ""))
    plan = plan_publish(manifest["files"], state, keep_stale=keep_stale)
    if repair:  # what the store really holds, not what the manifest says it does
        plan = with_repairs(plan, publisher, prefix, manifest["files"])
    confine = getattr(publisher, "confine", None)
    if confine is not None and not dry_run:  # every path this plan touches, before any write
        touched = [u.path for u in plan.uploads] + list(plan.deletes)
        confine(prefix, [join_key(prefix, path) for path in touched])
    result = PublishResult(plan=plan, prefix=prefix, location=publisher.location)
    if state.taken_over:
        result.notes.append(
            f"took over {publisher.location}{manifest_key}, which was not a gallery's: it is "
            "replaced by the gallery's, and none of the files it listed is deleted"
        )
    previous = state.hosting
    known = getattr(publisher, "known_hosting", None)  # optional: the live record (e.g. ids)
    if known is not None:
        known(prefix, previous)
    applied = previous is not None and previous.get("fingerprint") == fingerprint
    set_up = bool(fingerprint and (not applied or reconfigure))
    if fingerprint:  # the manifest that goes live says which hosting settings were applied
        record = previous if applied else {"fingerprint": fingerprint}
        manifest_bytes = dumps({**manifest, "hosting": record})
    if dry_run:
        plan_hosting = getattr(publisher, "plan_hosting", None)
        if set_up and plan_hosting is not None:
            result.hosting_plan = list(plan_hosting(prefix, previous) or [])
        invalidation_plan = getattr(publisher, "invalidation_plan", None)  # optional: a CDN
        if invalidation_plan is not None:
            result.invalidations = list(invalidation_plan(prefix, plan) or [])
        return result
    same_manifest = remote is not None and remote[0] == manifest_bytes
    if plan.changes_nothing and same_manifest and not reconfigure:
        return result  # a no-op publish costs the one read above
    # before any write, the hosting set-up included (it changes bucket-wide settings)
    refuse_neighbours(publisher, prefix, plan, state, manifest["files"])
    if set_up:
        result.notes += _bucket_root().prepare_root(publisher, prefix, site)  # error.html first
        result.notes += _set_up_hosting(publisher, prefix, previous)
        manifest_bytes = dumps({**manifest, "hosting": _record(publisher, prefix, fingerprint)})
    with publisher.lease(prefix):
        if plan.uploads:
            # Before sending anything, say so in the live manifest (kept whole): the keys
            # about to be created, so that if this publish dies the next one owns them (and
            # deletes those the site no longer has); and that files the manifest lists may be
            # replaced, so the next one checks them instead of trusting it (even a no-op).
            marker = pending_manifest(state, plan.creates)
            base_etag = _commit(publisher, manifest_key, marker, base_etag)
        # what an interrupted publish already sent, with the right bytes and headers, is not
        # sent again
        checked = {join_key(prefix, u.path): u.entry for u in plan.uploads if u.bytes_needed}
        arrived = publisher.existing(checked) if checked else set()
        skip = {u.path for u in plan.uploads if join_key(prefix, u.path) in arrived}
        # the original script's manifest carries no headers, and may list what is gone: its
        # objects are copied in place only where their bytes are still there, else sent
        scripts = {join_key(prefix, u.path): u.entry for u in plan.uploads if u.is_script}
        script_bytes = publisher.existing(scripts, headers=False) if scripts else set()
        failed = threading.Event()

        def send(upload: Any) -> str:
            key = join_key(prefix, upload.path)
            if upload.path in skip or failed.is_set():
                return upload.path
            # a file that replaces one under the same name is written only over the bytes
            # the live manifest promises (unless an unfinished publish may have changed them)
            replaces = {} if state.pending or not upload.replaced_md5 else {
                "replaces": upload.replaced_md5
            }  # fmt: skip
            try:
                if upload.bytes_needed and not (upload.is_script and key in script_bytes):
                    publisher.upload(key, site / upload.path, upload.entry, **replaces)
                else:
                    publisher.retag(key, upload.entry, **replaces)
            except BaseException:
                failed.set()  # the uploads still queued give up at once
                raise
            on_upload(key)
            return upload.path

        # files that link to nothing (images, theme files, originals) at once; then pages,
        # one depth at a time, deepest first: a page goes live after the pages it links down to
        pages = [u for u in plan.uploads if u.is_page]
        others = [u for u in plan.uploads if not u.is_page]
        with ThreadPoolExecutor(max_workers=workers) as pool:
            result.uploaded += list(pool.map(send, others))
            for _, level in groupby(pages, key=lambda u: u.path.count("/")):
                result.uploaded += list(pool.map(send, level))
        result.uploaded = [path for path in result.uploaded if path not in skip]
        reasons = {u.path: u.reason for u in plan.uploads}
        result.resumed = sorted(p for p in skip if reasons[p] != "unverified")
        if set_up and not _hosting_kept(publisher, prefix, result):
            # not in place: the manifest does not claim it, so the next publish sets it up
            manifest_bytes = dumps(manifest)
        _commit(publisher, manifest_key, manifest_bytes, base_etag)
        result.committed = True
        deletes = [join_key(prefix, path) for path in plan.deletes]
        for start in range(0, len(deletes), DELETE_BATCH):
            publisher.delete(deletes[start : start + DELETE_BATCH])
        result.deleted = list(plan.deletes)
        after_commit = getattr(publisher, "after_commit", None)  # optional: e.g. invalidate
        if after_commit is not None:
            md5 = hashlib.md5(manifest_bytes).hexdigest()
            result.notes += list(after_commit(prefix, plan, md5) or [])
    result.notes += _bucket_root().rebuild_root(publisher, prefix, site)  # the bucket's listing
    return result


def _bucket_root() -> Any:
    from gallery_builder import bucket_root  # it imports this module

    return bucket_root


def _set_up_hosting(
    publisher: Publisher, prefix: str, previous: dict[str, Any] | None
) -> list[str]:
    """``publisher.set_up_hosting``, given the live hosting record when it takes one (a
    publisher written for an older version takes the prefix alone)."""
    set_up = publisher.set_up_hosting  # type: ignore[attr-defined]
    try:
        takes_record = len(inspect.signature(set_up).parameters) >= 2
    except (TypeError, ValueError):
        takes_record = False
    return list((set_up(prefix, previous) if takes_record else set_up(prefix)) or [])


def _record(publisher: Publisher, prefix: str, fingerprint: str) -> dict[str, Any]:
    """The hosting record the manifest that goes live carries: the fingerprint of the settings
    applied, and what the publisher keeps beside it (``hosting_record``: ids, refused calls)."""
    extra = getattr(publisher, "hosting_record", None)
    fields = dict(extra(prefix) or {}) if extra is not None else {}
    return {**fields, "fingerprint": fingerprint}


def _hosting_kept(publisher: Publisher, prefix: str, result: PublishResult) -> bool:
    """Whether the hosting set up before the uploads is still in place (another gallery's
    set-up at the same moment may have overwritten a shared setting, e.g. the bucket policy);
    if not, it is set up once more."""
    in_place = getattr(publisher, "hosting_in_place", None)
    if in_place is None or in_place(prefix):
        return True
    result.notes += _set_up_hosting(publisher, prefix, None)
    if in_place(prefix):
        return True
    result.notes.append(
        "the hosting settings changed while this publish ran (another gallery set up at the "
        "same moment?); run gallery publish again to set them up"
    )
    return False


def pending_manifest(state: RemoteState, creates: tuple[str, ...] = ()) -> bytes:
    """The live manifest, whole (albums, images, hosting: what its readers rely on), marked
    as being replaced: ``"pending": {"id", "creates"}``, ``creates`` being the paths this
    publish is about to send under new names, with those an earlier unfinished publish had
    recorded and that are still nobody's (so a second failure loses none)."""
    # unique to this publish: two publishes marking the same base must not write the same
    # bytes, or one would take the other's mark for its own retried write
    if state.legacy or not state.content:  # the script's, none, or one taken over
        content: dict[str, Any] = {"format": FORMAT, "files": state.files}
    else:
        content = dict(state.content)
    owned = set(state.files)
    pending = {
        "id": uuid.uuid4().hex,
        "creates": sorted({*creates, *state.pending_creates} - owned),
    }
    return dumps({**content, "pending": pending})


def refuse_neighbours(
    publisher: Publisher,
    prefix: str,
    plan: PublishPlan,
    state: RemoteState,
    local_files: dict[str, Any],
) -> None:
    """Stop (before any write) if this publish would write or delete a key that another
    gallery near ``prefix`` owns (gallery_builder.neighbours); a publisher without
    ``manifests_near`` cannot tell, and is not asked."""
    near = getattr(publisher, "manifests_near", None)
    if near is None:
        return
    touched = touched_keys(prefix, plan)
    ours = own_keys(prefix, local_files, state)
    for key in sorted(near(prefix)):
        below = is_below(key, prefix)
        if key in ours or (below and not may_collide(touched, key)):
            continue
        found = publisher.read(key)
        try:
            other = read_remote_manifest(found[0]) if found else None
        except ManifestError:
            other = None
        if found is None or (other is not None and not other.exists):
            continue
        neighbour = Neighbour(key, other, below)
        collision = first_collision(touched, neighbour)
        if collision is None:
            continue
        what = "another gallery" if other is not None else "another app's manifest.json"
        where = f"{publisher.location}{neighbour.prefix}" if neighbour.prefix else (
            f"the root of {publisher.location}"
        )  # fmt: skip
        raise GalleryError(
            f"{what} is published at {where} ({key}), and it owns {collision}, which this "
            "publish would write or delete; nothing was sent: publish this gallery under "
            "another prefix (-d PREFIX) that does not overlap it"
        )


def _commit(publisher: Publisher, key: str, data: bytes, base_etag: str | None) -> str:
    """Write ``data`` at ``key`` if it is still ``base_etag``; the new ETag."""
    try:
        return publisher.commit(key, data, base_etag).strip('"')
    except PublishConflict:
        # A retried write whose first attempt landed (the answer was lost) finds its own
        # commit: that is a success, not a conflict.
        now = publisher.read(key)
        digest = hashlib.md5(data).hexdigest()
        if now is None or now[1].strip('"') != digest:
            raise
        return digest
