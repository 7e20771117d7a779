"""What a key may be: the one rule for every key a publish reads, writes or deletes.

A key (``trip/day/index.html``) names an object in a bucket and, on ``file://``, a path under
the target folder. Remote state is untrusted (a manifest edited by hand, another tool's, an
attacker's): a key that is not a plain relative path would, on a file system, reach outside
the gallery (``../x``, ``/etc/passwd``) or onto another file (``./index.html``, ``a//b``), and
on S3 become an odd literal key no gallery writes. So every key from a remote manifest, every
key of the built site, and the prefix itself pass :func:`key_problem` before any write.

Pure functions, no I/O.
"""

from __future__ import annotations

import unicodedata

#: S3 refuses a key longer than this, in UTF-8 bytes
S3_KEY_BYTES = 1024

#: what a key may be, for messages
ALLOWED = (
    "a relative path of '/'-separated names: no leading '/', no empty, '.' or '..' "
    "segment, no backslash, no control character"
)


def key_problem(key: object) -> str | None:
    """Why ``key`` is not a safe relative key, or None when it is."""
    if not isinstance(key, str):
        return f"not a string but {type(key).__name__}"
    if key == "":
        return "empty"
    if key.startswith("/"):
        return "starts with '/'"
    if "\\" in key:
        return "contains a backslash"
    for char in key:
        if unicodedata.category(char) == "Cc":
            return f"contains the control character U+{ord(char):04X}"
        if unicodedata.category(char) == "Cs":
            return "contains a lone surrogate (not valid Unicode)"
    for segment in key.split("/"):
        if segment == "":
            return "has an empty segment ('//' or a trailing '/')"
        if segment in (".", ".."):
            return f"has a '{segment}' segment"
    return None


def join_key(prefix: str, path: str) -> str:
    """The key of ``path`` in the gallery at ``prefix`` ("" is the bucket's root)."""
    return f"{prefix}/{path}" if prefix else path


def prefix_problem(prefix: str) -> str | None:
    """Why ``prefix`` cannot hold a gallery (the empty prefix is the bucket's root)."""
    return None if prefix == "" else key_problem(prefix)


def too_long(key: str, limit: int) -> bool:
    """Whether ``key`` is over ``limit`` bytes in UTF-8."""
    return len(key.encode("utf-8")) > limit
