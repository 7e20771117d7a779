"""Publishing: the driver, and the registry of publishers by URL scheme (ARCHITECTURE.md §5).
What a publisher must do is gallery_builder.publisher (public) and docs/publishers.md.

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
import threading
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from itertools import groupby
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from gallery_builder.errors import GalleryError, SettingError
from gallery_builder.keys import join_key
from gallery_builder.manifest import (
    FORMAT,
    MANIFEST_NAME,
    ManifestError,
    RemoteState,
    dumps,
    read_remote_manifest,
    read_site_manifest,
)
from gallery_builder.neighbours import (
    Neighbour,
    first_collision,
    is_below,
    may_collide,
    own_keys,
    touched_keys,
)
from gallery_builder.plan import PublishPlan, plan_publish
from gallery_builder.plugin_manager import GalleryPluginManager
from gallery_builder.publish_checks import check_site
from gallery_builder.publish_result import PublishResult
from gallery_builder.publisher import (
    DELETE_BATCH,
    UPLOAD_WORKERS,
    Confines,
    Invalidates,
    LeaseLost,
    PublishConflict,
    Publisher,
    SeesNeighbours,
    SetsUpHosting,
    check_publisher,
)
from gallery_builder.repair import with_repairs

# the public names (gallery_builder.publisher) are importable from here too, as before
__all__ = [
    "DELETE_BATCH",
    "UPLOAD_WORKERS",
    "LeaseLost",
    "PublishConflict",
    "PublishResult",
    "Publisher",
    "open_publisher",
    "publish",
    "publisher_factories",
    "publisher_for",
    "read_site_manifest",
]


def _factories(pm: GalleryPluginManager) -> dict[str, tuple[Any, str]]:
    """``{scheme: (factory, plugin name)}``; a scheme claimed twice is an error."""
    found: dict[str, tuple[Any, str]] = {}
    for impl in reversed(pm.hook.gallery_publishers.get_hookimpls()):
        for scheme, factory in (impl.function() or {}).items():
            scheme = scheme.lower()
            if scheme in found:
                raise GalleryError(
                    f"two plugins publish to '{scheme}://': {found[scheme][1]} and "
                    f"{impl.plugin_name}; block one with --block NAME"
                )
            found[scheme] = (factory, impl.plugin_name)
    return found


def publisher_factories(pm: GalleryPluginManager) -> dict[str, Any]:
    """``{scheme: factory}`` from every plugin; a scheme claimed twice is an error."""
    return {scheme: factory for scheme, (factory, _) in _factories(pm).items()}


def _scheme_of(target: str) -> str:
    return urlsplit(target).scheme.lower() if "://" in target else "s3"


def _factory_for(pm: GalleryPluginManager, target: str) -> tuple[str, Any, str]:
    scheme = _scheme_of(target)
    factories = _factories(pm)
    if scheme not in factories:
        installed = ", ".join(f"{s}://" for s in sorted(factories)) or "none"
        raise GalleryError(f"no publisher for '{scheme}://' (installed: {installed})")
    return (scheme, *factories[scheme])


def publisher_for(pm: GalleryPluginManager, target: str) -> tuple[str, Any]:
    """The scheme of ``target`` and its factory; a bare name means ``s3://NAME``."""
    scheme, factory, _ = _factory_for(pm, target)
    return scheme, factory


def open_publisher(pm: GalleryPluginManager, target: str, **options: Any) -> Publisher:
    """The publisher for ``target``: its scheme's factory called with ``target`` and
    ``options``, then checked (gallery_builder.publisher.check_publisher) before any request,
    so that a plugin's incomplete publisher is an error naming it, not a publish that fails
    half-way. Every command that opens a publisher goes through here."""
    _, factory, plugin = _factory_for(pm, target)
    publisher = factory(target, **options)
    check_publisher(publisher, plugin)
    return publisher


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
    pm: GalleryPluginManager | None = None,
) -> PublishResult:
    """Make the gallery at ``publisher``/``prefix`` equal the built ``site``.

    ``take_over``: a ``manifest.json`` at the prefix that is not a gallery's is replaced by
    ours, and none of the files it lists is deleted (they were never the gallery's).
    ``repair``: every file the plan would keep is checked in the store (gallery_builder.repair)
    and sent again if it is missing or damaged, even when the manifest is unchanged.
    ``replace_encrypted``: a clear site may replace a gallery published encrypted (refused
    otherwise: a build that forgot its password would make every picture readable).
    ``pm``: its plugins' ``gallery_before_publish`` run after planning, before the first
    write (a GalleryError there stops the publish with nothing sent), and their
    ``gallery_after_publish`` notes join the result's."""
    manifest, manifest_bytes = read_site_manifest(site)
    check_site(site, manifest, publisher, prefix)
    manifest_key = join_key(prefix, MANIFEST_NAME)
    hosts = isinstance(publisher, SetsUpHosting)
    fingerprint = publisher.hosting_fingerprint(prefix) if hosts else None
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
    if isinstance(publisher, Confines) and not dry_run:  # every path the plan touches, first
        touched = [u.path for u in plan.uploads] + list(plan.deletes)
        publisher.confine(prefix, [join_key(prefix, path) for path in touched])
    result = PublishResult(plan=plan, prefix=prefix, location=publisher.location)
    if state.taken_over:
        result.notes.append(
            f"took over {publisher.location}{manifest_key}, which was not a gallery's: it is "
            "replaced by the gallery's, and none of the files it listed is deleted"
        )
    previous = state.hosting
    if hosts:  # the live record, as soon as it is read (e.g. a distribution's id)
        publisher.known_hosting(prefix, previous)
    applied = previous is not None and previous.get("fingerprint") == fingerprint
    set_up = bool(fingerprint and (not applied or reconfigure))
    if fingerprint:  # the manifest that goes live says which hosting settings were applied
        record = previous if applied else {"fingerprint": fingerprint}
        manifest_bytes = dumps({**manifest, "hosting": record})
    if dry_run:
        if set_up and hosts:
            result.hosting_plan = list(publisher.plan_hosting(prefix, previous) or [])
        if isinstance(publisher, Invalidates):  # a CDN
            result.invalidations = list(publisher.invalidation_plan(prefix, plan) or [])
        return result
    same_manifest = remote is not None and remote[0] == manifest_bytes
    if plan.changes_nothing and same_manifest and not reconfigure:
        return result  # a no-op publish costs the one read above
    # before any write, the hosting set-up included (it changes bucket-wide settings)
    refuse_neighbours(publisher, prefix, plan, state, manifest["files"])
    if pm is not None:  # a plugin's last word: a GalleryError here stops with nothing sent
        pm.hook.gallery_before_publish(publisher=publisher, prefix=prefix, plan=plan, site=site)
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
        if isinstance(publisher, Invalidates):  # e.g. a CDN invalidates
            md5 = hashlib.md5(manifest_bytes).hexdigest()
            result.notes += list(publisher.after_commit(prefix, plan, md5) or [])
    result.notes += _bucket_root().rebuild_root(publisher, prefix, site)  # the bucket's listing
    if pm is not None:
        for notes in pm.hook.gallery_after_publish(
            publisher=publisher, prefix=prefix, result=result
        ):
            result.notes += [str(note) for note in notes or []]
    return result


def _bucket_root() -> Any:
    from gallery_builder import bucket_root  # it imports this module

    return bucket_root


def _set_up_hosting(
    publisher: SetsUpHosting, prefix: str, previous: dict[str, Any] | None
) -> list[str]:
    """``publisher.set_up_hosting``, given the live hosting record when it takes one (a
    publisher written for an older version takes the prefix alone)."""
    set_up = publisher.set_up_hosting
    try:
        takes_record = len(inspect.signature(set_up).parameters) >= 2
    except (TypeError, ValueError):
        takes_record = False
    return list((set_up(prefix, previous) if takes_record else set_up(prefix)) or [])


def _record(publisher: SetsUpHosting, prefix: str, fingerprint: str) -> dict[str, Any]:
    """The hosting record the manifest that goes live carries: the fingerprint of the settings
    applied, and what the publisher keeps beside it (``hosting_record``: ids, refused calls)."""
    return {**dict(publisher.hosting_record(prefix) or {}), "fingerprint": fingerprint}


def _hosting_kept(publisher: SetsUpHosting, prefix: str, result: PublishResult) -> bool:
    """Whether the hosting set up before the uploads is still in place (another gallery's
    set-up at the same moment may have overwritten a shared setting, e.g. the bucket policy);
    if not, it is set up once more."""
    if publisher.hosting_in_place(prefix):
        return True
    result.notes += _set_up_hosting(publisher, prefix, None)
    if publisher.hosting_in_place(prefix):
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
    if not isinstance(publisher, SeesNeighbours):
        return
    touched = touched_keys(prefix, plan)
    ours = own_keys(prefix, local_files, state)
    for key in sorted(publisher.manifests_near(prefix)):
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
