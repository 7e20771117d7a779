"""TOML text for settings messages: where a key is set (its line), and values written as
TOML so that a message's value can be pasted back into the file. Pure functions."""

from __future__ import annotations

import re
from typing import Any

_KEY_PART = r"""(?:[A-Za-z0-9_-]+|"(?:[^"\\]|\\.)*"|'[^']*')"""
_DOTTED_KEY = rf"{_KEY_PART}(?:\s*\.\s*{_KEY_PART})*"
_HEADER_RE = re.compile(rf"^\[\[?\s*({_DOTTED_KEY})\s*\]")
_KEY_RE = re.compile(rf"^({_DOTTED_KEY})\s*=")


def _key_path(dotted: str) -> tuple[str, ...]:
    """``images . "sizes"`` -> ``("images", "sizes")``."""
    return tuple(part.strip("\"'") for part in re.findall(_KEY_PART, dotted))


#: the characters TOML basic strings escape with a short form
_TOML_ESCAPES = {
    '"': '\\"',
    "\\": "\\\\",
    "\b": "\\b",
    "\t": "\\t",
    "\n": "\\n",
    "\f": "\\f",
    "\r": "\\r",
}


def toml_string(text: str) -> str:
    """``text`` as a TOML basic string (``"…"``) that reads back as ``text``.

    Escapes what TOML requires (quote, backslash, U+0000-U+001F, U+007F). A lone surrogate (a
    byte of a file name that is not UTF-8, as Python decodes it) has no TOML spelling and
    becomes U+FFFD."""
    out = []
    for char in text:
        if char in _TOML_ESCAPES:
            out.append(_TOML_ESCAPES[char])
        elif char < " " or char == "\x7f":
            out.append(f"\\u{ord(char):04X}")
        elif "\ud800" <= char <= "\udfff":
            out.append("\ufffd")
        else:
            out.append(char)
    return '"' + "".join(out) + '"'


def toml_value(value: Any) -> str:
    """``value`` as it would be written in TOML, for messages."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return toml_string(value)
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k} = {toml_value(v)}" for k, v in value.items()) + "}"
    return str(value)


def line_of(text: str, *path: str) -> int | None:
    """The 1-based line where the table or key at ``path`` (``("images", "sizes")``) is set:
    in a ``[section]``, as a dotted key, or (the nearest line we can tell) in an inline table."""
    table: tuple[str, ...] = ()
    nearest, nearest_depth = None, 0
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        header = _HEADER_RE.match(stripped)
        if header:
            table = defined = _key_path(header.group(1))
        elif key := _KEY_RE.match(stripped):
            defined = table + _key_path(key.group(1))
        else:
            continue
        if defined[: len(path)] == path:
            return number
        if not header and nearest_depth < len(defined) and path[: len(defined)] == defined:
            nearest, nearest_depth = number, len(defined)  # e.g. images = { sizes = … }
    return nearest
