"""MkDocs hook (mkdocs.yml ``hooks:``): the reference pages generated from the code at docs
build time, so that they cannot drift from it.

- ``<!-- gallery:cli-reference -->`` becomes every command, argument and option of the
  ``gallery`` group as the CLI builds it (``make_cli`` over the built-in plugins: commands and
  options that plugins add are included), with each one's help.
- ``<!-- gallery:configuration-reference -->`` becomes every ``[section]`` and key of
  :data:`gallery_builder.config.SCHEMA`: what it allows (the validator's own words), its
  default and its meaning (:mod:`gallery_builder.settings_reference`).

It also drops from the nav the pages of :data:`PLANNED` that do not exist yet, so that
mkdocs.yml can name them before they are written without ``--strict`` failing on them.
"""

from __future__ import annotations

import inspect
import re
from pathlib import Path
from typing import Any

import click

CLI_MARKER = "<!-- gallery:cli-reference -->"
CONFIG_MARKER = "<!-- gallery:configuration-reference -->"

#: pages the nav names that other work adds later; any other missing page is an error
PLANNED = frozenset(
    {"publishers.md", "howto-theme.md", "howto-publisher.md", "howto-build-plugin.md"}
)


# --- the nav ----------------------------------------------------------------------------------


def _present(entries: list[Any], docs: Path) -> list[Any]:
    kept: list[Any] = []
    for entry in entries:
        if isinstance(entry, dict):
            ((title, value),) = entry.items()
            if isinstance(value, list):
                value = _present(value, docs)
                if value:
                    kept.append({title: value})
                continue
            if isinstance(value, str) and value in PLANNED and not (docs / value).is_file():
                continue
            kept.append(entry)
        elif isinstance(entry, str) and entry in PLANNED and not (docs / entry).is_file():
            continue
        else:
            kept.append(entry)
    return kept


def on_config(config: Any) -> Any:
    if config.nav:
        config.nav = _present(config.nav, Path(config.docs_dir))
    return config


# --- Markdown helpers -------------------------------------------------------------------------


def _cell(text: str) -> str:
    """Text for a Markdown table cell: one line; outside `code`, no '|', '{' or HTML."""
    pieces = " ".join(text.split()).split("`")
    for i in range(0, len(pieces), 2):  # the even pieces are outside code spans
        pieces[i] = pieces[i].replace("&", "&amp;").replace("<", "&lt;").replace("|", "\\|")
        pieces[i] = pieces[i].replace("{", "&#123;")  # not an attribute list (attr_list)
    return "`".join(pieces)


def _prose(text: str) -> str:
    """A click help text as Markdown: paragraphs kept, click's ``\\b`` blocks preformatted."""
    blocks: list[str] = []
    for para in re.split(r"\n\s*\n", inspect.cleandoc(text)):
        if para.startswith("\b"):
            body = para.removeprefix("\b").strip("\n")
            blocks.append("```text\n" + body + "\n```")
        else:
            blocks.append(_cell(para).replace("\\|", "|"))
    return "\n\n".join(blocks)


# --- the CLI reference ------------------------------------------------------------------------


def live_cli() -> click.Group:
    """The ``gallery`` group exactly as the command line builds it (built-in plugins)."""
    from gallery_builder.cli import make_cli
    from gallery_builder.plugin_manager import get_plugin_manager

    return make_cli(get_plugin_manager(autoload=False))


def _commands(
    command: click.Command, ctx: click.Context
) -> list[tuple[click.Command, click.Context]]:
    found = [(command, ctx)]
    if isinstance(command, click.Group):
        for name in command.list_commands(ctx):
            sub = command.get_command(ctx, name)
            if sub is not None and not sub.hidden:
                found += _commands(sub, click.Context(sub, info_name=name, parent=ctx))
    return found


def _argument_row(param: click.Argument, ctx: click.Context) -> str:
    metavar = param.make_metavar(ctx)
    kind = param.type.name.upper() if param.type.name else ""
    notes = ["required" if param.required else "optional"]
    if param.nargs == -1:
        notes.append("any number")
    default = param.default
    if not param.required and isinstance(default, (str, int, float, Path)) and default != "":
        notes.append(f"default: {default}")
    return f"| `{metavar}` | {_cell(kind)} | {_cell(', '.join(notes))} |"


def _option_row(param: click.Option, ctx: click.Context) -> str | None:
    if param.name == "help":  # every command takes -h/--help: said once, at the top
        return None
    record = param.get_help_record(ctx)
    if record is None:
        return None
    names, help_text = record
    envvar = f" (environment: `{param.envvar}`)" if isinstance(param.envvar, str) else ""
    return f"| `{names}` | {_cell(help_text)}{envvar} |"


def cli_reference(group: click.Group | None = None) -> str:
    """Every command of ``group`` (default: :func:`live_cli`) as Markdown."""
    group = group or live_cli()
    root = click.Context(group, info_name="gallery")
    parts: list[str] = []
    for command, ctx in _commands(group, root):
        path = ctx.command_path
        usage = " ".join([path, *command.collect_usage_pieces(ctx)])
        parts += [f"## {path}", "", f"```text\nUsage: {usage}\n```", ""]
        if command.help:
            parts += [_prose(command.help), ""]
        arguments = [p for p in command.get_params(ctx) if isinstance(p, click.Argument)]
        if arguments:
            parts += ["| Argument | Type | |", "|---|---|---|"]
            parts += [_argument_row(p, ctx) for p in arguments] + [""]
        options = [p for p in command.get_params(ctx) if isinstance(p, click.Option)]
        rows = [row for row in (_option_row(p, ctx) for p in options) if row]
        if rows:
            parts += ["| Option | Meaning |", "|---|---|", *rows, ""]
        if isinstance(command, click.Group):
            subs = command.list_commands(ctx)
            parts += ["Commands: " + ", ".join(f"[`{s}`](#{path.replace(' ', '-')}-{s})"
                                               for s in subs), ""]  # fmt: skip
    return "\n".join(parts)


# --- the configuration reference --------------------------------------------------------------


def configuration_reference() -> str:
    """Every section and key of the settings file as Markdown."""
    from gallery_builder.config import SCHEMA
    from gallery_builder.settings_reference import SETTINGS, allowed, default_text

    parts: list[str] = []
    for section, keys in SCHEMA.items():
        parts += [f"## [{section}]", "", "| Key | Allowed | Default | Meaning |",
                  "|---|---|---|---|"]  # fmt: skip
        for key, validator in keys.items():
            doc = SETTINGS[section][key]
            parts.append(
                f"| `{key}` | {_cell(allowed(validator))} | {_cell(default_text(section, key))} "
                f"| {_cell(doc.description)} |"
            )
        parts.append("")
    return "\n".join(parts)


def on_page_markdown(markdown: str, page: Any, config: Any, files: Any) -> str:
    if CLI_MARKER in markdown:
        markdown = markdown.replace(CLI_MARKER, cli_reference())
    if CONFIG_MARKER in markdown:
        markdown = markdown.replace(CONFIG_MARKER, configuration_reference())
    return markdown
