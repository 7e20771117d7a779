"""Other galleries near the one being published: pure rules, no I/O (the driver in
gallery_builder.publishing reads their manifests through the publisher).

Galleries may nest (one at ``trips``, another at ``trips/2024``). Each owns the keys its
manifest lists (and its manifest). The rule (docs/publishing.md, "Galleries side by side"): a
publish never writes or deletes a key another gallery owns. Another gallery's manifest above
this prefix (``trips`` or the bucket root, for ``trips/2024``) is read for its keys; one below
it likewise; a ``manifest.json`` below that is not a gallery's belongs to some other app, which
is taken to own its whole folder. A ``manifest.json`` above that is not a gallery's says
nothing about which keys it owns, and is left alone.
"""

from __future__ import annotations

from dataclasses import dataclass

from gallery_builder.keys import join_key
from gallery_builder.manifest import MANIFEST_NAME, RemoteState
from gallery_builder.plan import PublishPlan


def manifest_folder(key: str) -> str:
    """The prefix of the gallery whose manifest is ``key`` ("" for the bucket root)."""
    return key[: -len(MANIFEST_NAME)].rstrip("/")


def ancestor_manifests(prefix: str) -> list[str]:
    """The manifest keys of galleries that would contain ``prefix``: the bucket root's, then
    each parent folder's (``manifest.json``, ``trips/manifest.json`` for ``trips/2024``)."""
    if not prefix:
        return []
    parts = prefix.split("/")
    return [join_key("/".join(parts[:n]), MANIFEST_NAME) for n in range(len(parts))]


def is_below(key: str, prefix: str) -> bool:
    """Whether ``key`` lies inside the folder ``prefix`` ("" holds every key)."""
    return not prefix or key.startswith(prefix + "/")


def touched_keys(prefix: str, plan: PublishPlan) -> set[str]:
    """Every key this publish writes or deletes (the manifest included)."""
    paths = [u.path for u in plan.uploads] + list(plan.deletes) + [MANIFEST_NAME]
    return {join_key(prefix, path) for path in paths}


def own_keys(prefix: str, local_files: dict, remote: RemoteState) -> set[str]:
    """The keys this gallery owns, before or after this publish: a ``manifest.json`` among
    them (a theme's, say) is not another gallery's."""
    paths = {*local_files, *remote.files, *remote.pending_creates, MANIFEST_NAME}
    return {join_key(prefix, path) for path in paths}


@dataclass(frozen=True)
class Neighbour:
    """Another gallery's manifest near ours, and what it says (None: not a gallery's)."""

    manifest_key: str
    state: RemoteState | None
    below: bool

    @property
    def prefix(self) -> str:
        return manifest_folder(self.manifest_key)

    def owned(self, key: str) -> bool:
        """Whether ``key`` is this neighbour's."""
        if key == self.manifest_key:
            return True
        if self.state is None:  # some other app's manifest: below ours it owns its folder
            return self.below and is_below(key, self.prefix)
        if not is_below(key, self.prefix):
            return False
        relative = key[len(self.prefix) + 1 :] if self.prefix else key
        return relative in self.state.files or relative in self.state.pending_creates


def first_collision(touched: set[str], neighbour: Neighbour) -> str | None:
    """The first key (sorted) this publish would write or delete that ``neighbour`` owns."""
    return next((key for key in sorted(touched) if neighbour.owned(key)), None)


def may_collide(touched: set[str], manifest_key: str) -> bool:
    """Whether the gallery whose manifest is ``manifest_key`` (below ours) could own any
    touched key: only one inside its folder (so its manifest is read only then)."""
    folder = manifest_folder(manifest_key)
    return any(is_below(key, folder) for key in touched)
