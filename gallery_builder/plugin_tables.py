"""The ``[plugins.NAME]`` tables of gallery.toml, checked against what the plugins declare
(gallery_builder.plugin_settings). Pure: config.py turns a :class:`TableProblem` into a
ConfigError with the file."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from gallery_builder.plugin_settings import FrozenMapping, Setting
from gallery_builder.toml_text import line_of, toml_value

SECTION = "plugins"


class TableProblem(ValueError):
    """A ``[plugins…]`` line is wrong; ``line`` is where (1-based), if known."""

    def __init__(self, message: str, line: int | None) -> None:
        super().__init__(message)
        self.line = line


def plugin_values(
    raw: Any,
    text: str,
    schemas: Mapping[str, Mapping[str, Setting]],
    blocked: frozenset[str] = frozenset(),
) -> FrozenMapping:
    """``{plugin: {key: value}}`` for every plugin in ``schemas``: the ``[plugins.NAME]``
    values of ``raw`` (the parsed ``[plugins]`` table, or None) checked, defaults filled in.
    A table for a ``blocked`` plugin is left unread."""
    tables = {} if raw is None else raw
    if not isinstance(tables, dict):
        raise TableProblem(
            "[plugins] must hold one table per plugin, e.g. a [plugins.watermark] line followed "
            "by its settings",
            line_of(text, SECTION),
        )
    values: dict[str, dict[str, Any]] = {}
    for name, table in tables.items():
        if name in blocked:
            continue
        where = line_of(text, SECTION, name)
        if name not in schemas:
            takers = ", ".join(sorted(schemas)) or "none"
            raise TableProblem(
                f"unknown table [plugins.{name}]: no active plugin named '{name}' takes "
                f"settings (plugins that do: {takers}; see `gallery plugins`)",
                where,
            )
        if not isinstance(table, dict):
            raise TableProblem(
                f"[plugins.{name}] must be a table (a [plugins.{name}] line followed by its "
                "settings)",
                where,
            )
        values[name] = _checked(name, table, schemas[name], text)
    for name, schema in schemas.items():
        given = values.setdefault(name, {})
        for key, setting in schema.items():
            given.setdefault(key, setting.default)
    return FrozenMapping(values)


def _checked(
    name: str, table: dict[str, Any], schema: Mapping[str, Setting], text: str
) -> dict[str, Any]:
    clean = {}
    for key, value in table.items():
        line = line_of(text, SECTION, name, key)
        setting = schema.get(key)
        if setting is None:
            raise TableProblem(
                f"unknown key '{key}' in [plugins.{name}]; allowed: " + ", ".join(schema), line
            )
        try:
            clean[key] = setting.clean(value)
        except ValueError as exc:
            raise TableProblem(
                f"[plugins.{name}] {key} = {toml_value(value)} is not allowed; expected {exc}",
                line,
            ) from None
        except Exception as exc:  # the plugin's own check is broken: say so, as settings do
            raise TableProblem(
                f"[plugins.{name}] {key}: the plugin's check of the value failed "
                f"({type(exc).__name__}: {exc}); fix the plugin, or block it with --block {name}",
                line,
            ) from None
    return clean
