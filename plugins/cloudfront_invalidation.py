"""What a publish invalidates on the CDN: only what changed under a name that stays.

gallery-builder's hashed files are immutable and get new names when they change; pages,
originals and the manifest are ``no-cache`` (revalidated at the edge at every request, the
cache policy's MinTTL being 0). So a normal publish invalidates nothing. What does need it:

* an object re-tagged in place (same bytes, new headers: the plan's uploads that send no
  bytes), whose old headers the edge would otherwise keep until it expires;
* with ``--repair``, every file sent again under its own name (a hashed, immutable file the
  edge may hold damaged for a year: it is cached as it was served);
* with ``--purge``, the deleted keys, so a page the user took down is gone at once (pages in
  both forms, ``/a/`` and ``/a/index.html``: the viewer-request function maps one to the
  other, and the edge caches each URL apart).

Above :data:`MAX_PATHS` paths the batch is one wildcard ``/prefix/*`` (a wildcard counts as one
path of the 1,000 free a month; 20 paths cost as much as 20 single ones, $0.005 each past the
free ones). Paths are percent-encoded as AWS asks (originals keep names with spaces and Unicode).
"""

from __future__ import annotations

import uuid
from typing import Any

from gallery_builder.keys import join_key
from gallery_builder.repair import REPAIR_REASON

#: the reasons of uploads that replace what the edge may hold under the same name: a re-tag,
#: and a file ``--repair`` sends again (gallery_builder.repair.REPAIR_REASON)
SAME_NAME = frozenset({"new headers", REPAIR_REASON})
#: more paths than this become one ``/prefix/*``
MAX_PATHS = 20
#: encoded besides non-ASCII and control characters: RFC 1738's unsafe characters (AWS:
#: "URL-encode unsafe characters as defined in RFC 1738; do not URL-encode any other
#: characters", or the old version is not invalidated), plus '?' and '*' (a query, a
#: wildcard: neither may come from a key)
_UNSAFE = frozenset(' "<>#%{}|\\^~[]`?*')


def _encode(text: str) -> str:
    def one(ch: str) -> str:
        if ch in _UNSAFE or not 0x21 <= ord(ch) <= 0x7E:
            return "".join(f"%{byte:02X}" for byte in ch.encode())
        return ch

    return "".join(map(one, text))


def encode_path(key: str) -> str:
    """``/key``, percent-encoded the way CloudFront compares paths."""
    return "/" + _encode(key)


def _forms(key: str) -> list[str]:
    """A page is reached as ``/a/`` and as ``/a/index.html``: both are invalidated."""
    if key == "index.html" or key.endswith("/index.html"):
        folder = key[: -len("index.html")]
        return ["/" + _encode(folder), encode_path(key)]
    return [encode_path(key)]


def invalidation_paths(prefix: str, plan: Any, *, purge: bool = False) -> list[str]:
    """The paths to invalidate after ``plan`` is live (empty for a normal publish)."""
    keys = [join_key(prefix, u.path) for u in plan.uploads if u.reason in SAME_NAME]
    if purge:
        keys += [join_key(prefix, path) for path in plan.deletes]
    paths = sorted({path for key in keys for path in _forms(key)})
    if len(paths) > MAX_PATHS:
        return [f"/{_encode(prefix)}/*" if prefix else "/*"]
    return paths


def invalidation_batch(
    paths: list[str], manifest_md5: str, *, repair: bool = False
) -> dict[str, Any]:
    """``create_invalidation``'s batch: the new manifest's MD5 as the caller reference, so a
    retried publish is not charged twice (AWS returns the invalidation it already made). A
    repair leaves the manifest as it was, and a later repair of the same damage must clear
    the edge again: its reference is made unique."""
    reference = f"{manifest_md5}-repair-{uuid.uuid4().hex[:12]}" if repair else manifest_md5
    return {"Paths": {"Quantity": len(paths), "Items": list(paths)}, "CallerReference": reference}
