"""The optional protocols of a publisher (public through gallery_builder.publisher, which
documents the whole contract): a publisher has all of one's members or none, and the core asks
``isinstance(publisher, SetsUpHosting)`` instead of probing for single members. BasePublisher
(gallery_builder.publisher) gives the members these docstrings call defaults."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, Protocol, runtime_checkable

from gallery_builder.plan import PublishPlan


@runtime_checkable
class PublicUrls(Protocol):
    """Public URLs (BasePublisher has both). Without them the CLI shows ``location + key``."""

    def url(self, key: str) -> str:
        """The public URL of ``key`` (``""`` or ``"trip/"``: a folder's page)."""
        ...

    def website_url(self) -> str | None:
        """The web host's root URL with a trailing slash, or None."""
        ...


@runtime_checkable
class NamesPrefix(Protocol):
    """The TARGET names the gallery's prefix (``s3://bucket/PREFIX``); ``-d`` overrides."""

    prefix_hint: str | None


@runtime_checkable
class LimitsKeys(Protocol):
    """The store refuses keys longer than ``max_key_bytes`` (UTF-8): a publish whose keys
    are too long is refused before any write, naming the key."""

    max_key_bytes: int | None


@runtime_checkable
class SetsUpHosting(Protocol):
    """A publisher to a web host that also sets the hosting up (website settings, a bucket
    policy, a CDN). Unlocks: the set-up before the first publish (and ``--reconfigure``), its
    plan in ``--dry-run``, the record in the live manifest that lets the next publish skip it.
    BasePublisher gives the last four; ``hosting_fingerprint``, ``set_up_hosting`` and
    ``plan_hosting`` come together."""

    def hosting_fingerprint(self, prefix: str) -> str:
        """The fingerprint of the settings :meth:`set_up_hosting` would apply (no request;
        asked first, before the manifest is read). The committed manifest records it
        (``hosting.fingerprint``); a publish whose fingerprint matches the live one skips the
        set-up (``--reconfigure`` forces it)."""
        ...

    def set_up_hosting(self, prefix: str, record: dict[str, Any] | None = None) -> list[str]:
        """Apply the settings (idempotent), before the gallery's lease and its first upload;
        ``record`` is the live manifest's hosting record (e.g. to find what an earlier
        set-up made). Returns notes on what it had to skip (printed as warnings)."""
        ...

    def plan_hosting(self, prefix: str, record: dict[str, Any] | None) -> list[str]:
        """For ``--dry-run``: what a set-up would create or change (read-only requests)."""
        ...

    def hosting_record(self, prefix: str) -> dict[str, Any]:
        """What to keep beside the fingerprint in the manifest after a set-up (ids, calls
        the store refused), JSON-serialisable."""
        ...

    def hosting_in_place(self, prefix: str) -> bool:
        """Checked before the commit after a set-up: is it still in place (another gallery's
        set-up at the same moment may have overwritten a shared setting)? If not, the set-up
        runs once more."""
        ...

    def known_hosting(self, prefix: str, record: dict[str, Any] | None) -> None:
        """Given the live record as soon as it is read, also in ``--dry-run`` (no request:
        e.g. the distribution's id, for URLs). May raise SettingError."""
        ...

    def hosting_lines(self) -> list[str]:
        """Printed after the summary (e.g. the distribution's id)."""
        ...


@runtime_checkable
class Verifiable(Protocol):
    """What the store really holds. Unlocks ``gallery verify``'s header and origin checks and
    ``gallery publish --repair`` reading metadata (without it: every object is read)."""

    def stat(self, keys: list[str], *, anonymous: bool = False) -> dict[str, Any]:
        """``{key: gallery_builder.verify.ObjectInfo | None}`` for every key (None: nothing
        there); ``anonymous=True``: what an unsigned request may read."""
        ...


@runtime_checkable
class Invalidates(Protocol):
    """A CDN in front of the store. Unlocks invalidation after the commit."""

    def after_commit(self, prefix: str, plan: PublishPlan, manifest_md5: str) -> list[str]:
        """Called once the new manifest is live and the deletes are done, inside the lease;
        returns notes. A failure here is a note: the gallery is already live."""
        ...

    def invalidation_plan(self, prefix: str, plan: PublishPlan) -> list[str]:
        """For ``--dry-run``: the paths :meth:`after_commit` would invalidate."""
        ...


@runtime_checkable
class SeesNeighbours(Protocol):
    """A store shared by several galleries. Unlocks the refusal (before any write) of a
    publish or unpublish that would write or delete a key another gallery owns."""

    def manifests_near(self, prefix: str) -> list[str]:
        """The keys of every ``manifest.json`` above ``prefix`` (in each parent folder and at
        the root) and below it (in any subfolder), other than ``prefix``'s own. Asked once
        per publish that writes, before its first write."""
        ...


@runtime_checkable
class HoldsGalleries(Protocol):
    """A store that can list its galleries. Unlocks the bucket root: ``index.html`` listing
    every gallery and a shared ``error.html``, rebuilt after each publish and unpublish
    under ``lease("")``."""

    def gallery_manifests(self) -> list[str]:
        """The key of every ``manifest.json`` in the store (hidden folders left out)."""
        ...

    def ensure_bucket(self) -> None:
        """Make the store (bucket) if missing, before the root's first write."""
        ...


@runtime_checkable
class Confines(Protocol):
    """A store whose keys map to paths (file://). Unlocks the refusal of keys that resolve
    outside the gallery's folder."""

    def confine(self, prefix: str, keys: Iterable[str] = ()) -> None:
        """From now on every write must resolve inside ``prefix`` (checked at each access);
        ``keys`` are checked at once. Called before any request, then with every key the plan
        writes or deletes, before the first write; raises GalleryError for a bad key."""
        ...


@runtime_checkable
class Invites(Protocol):
    """A private gallery (CloudFront signed cookies). Unlocks ``gallery invite --revoke-all``."""

    revocation_notes: Sequence[str]

    def revoke_invitations(self, prefix: str | None = None) -> Any:
        """A new key for the gallery, the old ones deleted: every invitation stops working.
        Returns the new key; ``revocation_notes`` says what was done."""
        ...
