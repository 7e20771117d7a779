"""Removing a published gallery (``gallery unpublish``): exactly the keys its manifest owns,
never one another gallery owns, its manifest last; then the bucket root is rebuilt.

Order, under the gallery's lease: the live manifest is first replaced (a conditional write on
its ETag) by a mark that lists no file but owns them all (``pending.creates``), so the gallery
leaves the root's listing, a publish that starts meanwhile finds a gallery that promises
nothing, and a killed unpublish is resumed by running it again (or undone by publishing the
site again); then the pages go, then every other file, then ``manifest.json``.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

from gallery_builder.bucket_root import rebuild_root
from gallery_builder.errors import GalleryError
from gallery_builder.keys import join_key
from gallery_builder.manifest import (
    FORMAT,
    MANIFEST_NAME,
    ManifestError,
    dumps,
    read_remote_manifest,
)
from gallery_builder.neighbours import Neighbour
from gallery_builder.publisher import DELETE_BATCH, Confines, Publisher, SeesNeighbours
from gallery_builder.publishing import _commit


@dataclass
class UnpublishResult:
    prefix: str
    location: str
    #: keys removed (or, in a dry run, to remove), the manifest last
    deletes: list[str] = field(default_factory=list)
    #: keys the gallery listed that another gallery owns: kept
    kept: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        out = [f"delete {key}" for key in self.deletes]
        out += [f"keep {key} (owned by the gallery at {owner})" for key, owner in self.kept.items()]
        return out


def unpublish_mark(content: dict[str, Any], paths: list[str]) -> bytes:
    """The manifest that stands while a gallery is removed: no file promised, every one owned."""
    mark = {"format": FORMAT, "files": {}, "albums": [], "images": []}
    for name in ("name", "title"):
        if isinstance(content.get(name), str):
            mark[name] = content[name]
    mark["pending"] = {"id": uuid.uuid4().hex, "creates": sorted(paths), "unpublish": True}
    return dumps(mark)


def _others(publisher: Publisher, prefix: str, own: set[str]) -> list[Neighbour]:
    if not isinstance(publisher, SeesNeighbours):
        return []
    found = []
    for key in sorted(publisher.manifests_near(prefix)):
        if key in own:
            continue
        data = publisher.read(key)
        try:
            state = read_remote_manifest(data[0]) if data else None
        except ManifestError:
            state = None
        if data is None or (state is not None and not state.exists):
            continue
        below = not prefix or key.startswith(prefix + "/")
        found.append(Neighbour(key, state, below))
    return found


def unpublish(
    publisher: Publisher,
    prefix: str,
    *,
    dry_run: bool = False,
    themes: dict[str, Any] | None = None,
) -> UnpublishResult:
    """Remove the gallery at ``publisher``/``prefix`` (see the module)."""
    confined = isinstance(publisher, Confines)
    if confined:
        publisher.confine(prefix)
    result = UnpublishResult(prefix=prefix, location=publisher.location)
    manifest_key = join_key(prefix, MANIFEST_NAME)
    where = f"{publisher.location}{prefix + '/' if prefix else ''}"
    remote = publisher.read(manifest_key)
    if remote is None:
        raise GalleryError(
            f"no gallery is published at {where} (no {MANIFEST_NAME} there); nothing was "
            "deleted: check the target and -d PREFIX"
        )
    try:
        state = read_remote_manifest(remote[0])
    except ManifestError as exc:
        reason = str(exc).split(";")[0]
        raise GalleryError(
            f"{publisher.location}{manifest_key} {reason}: it is not a gallery's, so nothing "
            "was deleted (gallery unpublish removes only what a gallery's manifest lists)"
        ) from None
    paths = sorted({*state.files, *state.pending_creates} - {MANIFEST_NAME})
    keys = [join_key(prefix, path) for path in paths]
    if confined:
        publisher.confine(prefix, [*keys, manifest_key])  # every key, before the first write
    others = _others(publisher, prefix, {*keys, manifest_key})
    mine = []
    for key in keys:
        owner = next((n for n in others if n.owned(key)), None)
        if owner is None:
            mine.append(key)
        else:
            result.kept[key] = owner.prefix or "the bucket root"
    # the pages first (nothing links to a file that is gone), then the rest
    mine.sort(key=lambda key: (not key.endswith(".html"), key))
    result.deletes = [*mine, manifest_key]
    if dry_run:
        return result
    with publisher.lease(prefix):
        _commit(publisher, manifest_key, unpublish_mark(state.content, paths), remote[1])
        for start in range(0, len(mine), DELETE_BATCH):
            publisher.delete(mine[start : start + DELETE_BATCH])
        publisher.delete([manifest_key])
    for key, owner in result.kept.items():
        result.notes.append(f"kept {key}: the gallery at {owner} owns it too")
    result.notes += rebuild_root(publisher, prefix, None, themes=themes)
    return result
