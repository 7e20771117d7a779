"""Plugin settings: what a plugin reads from its ``[plugins.NAME]`` table of gallery.toml.

A plugin declares its keys with the ``gallery_settings`` hook::

    from gallery_builder import hookimpl
    from gallery_builder.plugin_settings import Setting, number, text

    @hookimpl
    def gallery_settings():
        return {
            "text": Setting("© me", help="the words drawn on each picture", check=text()),
            "opacity": Setting(0.5, check=number(min=0, max=1)),
        }

and reads the validated values, defaults filled in, from ``config.plugins["watermark"]``. The
core checks the table as it checks its own (unknown keys and bad values are errors naming the
file and the line), and the values are part of the build's fingerprint: changing one re-renders
the site. This module is public: a plugin may import anything in it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from gallery_builder.errors import GalleryError

__all__ = [
    "FrozenMapping",
    "PluginSchemas",
    "Setting",
    "boolean",
    "integer",
    "number",
    "one_of",
    "plugin_settings_schemas",
    "text",
]


@dataclass(frozen=True)
class Setting:
    """One key of a plugin's ``[plugins.NAME]`` table.

    ``check`` takes the TOML value and returns the clean value, or raises
    ``ValueError("<what is allowed>")`` (the message completes "expected ..."). Without one,
    the value must be of the default's type (a whole number where the default is an int, …).
    """

    default: Any
    help: str = ""
    check: Callable[[Any], Any] | None = None

    def clean(self, value: Any) -> Any:
        """The value to give the plugin, or ValueError saying what is allowed."""
        if self.check is not None:
            return self.check(value)
        return _like_default(self.default)(value)


# --- Ready-made checks -----------------------------------------------------------------------


def text(*, empty: bool = True) -> Callable[[Any], str]:
    """A string (``empty=False``: with at least one character that is not a space)."""
    allowed = "a string" if empty else "a string that is not empty"

    def check(value: Any) -> str:
        if not isinstance(value, str) or (not empty and not value.strip()):
            raise ValueError(allowed)
        return value

    return check


def _range(min: float | None, max: float | None) -> str:
    if min is not None and max is not None:
        return f" from {min} to {max}"
    if min is not None:
        return f" of at least {min}"
    if max is not None:
        return f" of at most {max}"
    return ""


def integer(*, min: int | None = None, max: int | None = None) -> Callable[[Any], int]:
    """A whole number, optionally within ``min`` and ``max`` (both included)."""
    allowed = "a whole number" + _range(min, max)

    def check(value: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError(allowed)
        if (min is not None and value < min) or (max is not None and value > max):
            raise ValueError(allowed)
        return value

    return check


def number(*, min: float | None = None, max: float | None = None) -> Callable[[Any], float]:
    """A number (``1`` or ``0.5``; given as a float), optionally within ``min`` and ``max``."""
    allowed = "a number" + _range(min, max)

    def check(value: Any) -> float:
        if isinstance(value, bool) or not isinstance(value, int | float) or value != value:
            raise ValueError(allowed)
        if (min is not None and value < min) or (max is not None and value > max):
            raise ValueError(allowed)
        return float(value)

    return check


def boolean() -> Callable[[Any], bool]:
    """``true`` or ``false``."""

    def check(value: Any) -> bool:
        if not isinstance(value, bool):
            raise ValueError("true or false")
        return value

    return check


def one_of(*choices: Any) -> Callable[[Any], Any]:
    """One of ``choices`` (compared with ``==``, and of the same type: ``1`` is not ``true``)."""
    from gallery_builder.toml_text import toml_value

    allowed = "one of " + ", ".join(toml_value(c) for c in choices)

    def check(value: Any) -> Any:
        if not any(type(value) is type(c) and value == c for c in choices):
            raise ValueError(allowed)
        return value

    return check


def _like_default(default: Any) -> Callable[[Any], Any]:
    if isinstance(default, bool):
        return boolean()
    if isinstance(default, int):
        return integer()
    if isinstance(default, float):
        return number()
    if isinstance(default, str):
        return text()
    if isinstance(default, list | tuple):
        return _list
    if isinstance(default, Mapping):
        return _table
    return lambda value: value  # no default to go by: any TOML value


def _list(value: Any) -> Any:
    if not isinstance(value, list):
        raise ValueError("a list, e.g. [1, 2]")
    return value


def _table(value: Any) -> Any:
    if not isinstance(value, dict):
        raise ValueError("a table, e.g. {a = 1}")
    return value


# --- Values and schemas ----------------------------------------------------------------------


class FrozenMapping(Mapping[str, Any]):
    """A read-only mapping whose ``repr`` is sorted (so it can be part of a fingerprint) and
    which can be hashed: lists in it become tuples, tables FrozenMappings."""

    __slots__ = ("_items",)

    def __init__(self, items: Mapping[str, Any] | None = None) -> None:
        frozen = {key: _freeze(value) for key, value in (items or {}).items()}
        self._items = dict(sorted(frozen.items()))

    def __getitem__(self, key: str) -> Any:
        return self._items[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def __hash__(self) -> int:
        return hash(tuple(self._items.items()))

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Mapping) and dict(self._items) == dict(other)

    def __repr__(self) -> str:
        return f"FrozenMapping({self._items!r})"

    def __reduce__(self) -> tuple:
        return (FrozenMapping, (self._items,))


def _freeze(value: Any) -> Any:
    if isinstance(value, list | tuple):
        return tuple(_freeze(v) for v in value)
    if isinstance(value, Mapping) and not isinstance(value, FrozenMapping):
        return FrozenMapping(value)
    return value


class PluginSchemas(dict[str, dict[str, Setting]]):
    """``{plugin name: {key: Setting}}`` for the active plugins that take settings; also knows
    the ``blocked`` plugins, whose tables are left unread (blocking a plugin for a build must
    not need an edit of gallery.toml)."""

    def __init__(
        self, schemas: Mapping[str, dict[str, Setting]] = (), blocked: frozenset[str] = frozenset()
    ) -> None:
        super().__init__(schemas)
        self.blocked = frozenset(blocked)


def plugin_settings_schemas(pm: Any) -> PluginSchemas:
    """Every active plugin's ``gallery_settings`` answer, by the plugin's registered name;
    pass it to ``load_config(..., settings=...)``. A malformed answer is a GalleryError
    naming the plugin."""
    schemas: dict[str, dict[str, Setting]] = {}
    for impl in pm.hook.gallery_settings.get_hookimpls():
        answer = impl.function()
        name = impl.plugin_name
        if answer is None:
            continue
        if not isinstance(answer, Mapping) or not all(
            isinstance(key, str) and isinstance(setting, Setting) for key, setting in answer.items()
        ):
            raise GalleryError(
                f"plugin '{name}': gallery_settings must return a dict of key name -> "
                f"gallery_builder.plugin_settings.Setting, not {answer!r}; fix the plugin, or "
                f"block it with --block {name}"
            )
        if answer:
            schemas[name] = dict(answer)
    blocked = frozenset(name for name, plugin in pm.list_name_plugin() if plugin is None)
    return PluginSchemas(schemas, blocked)
