"""Themes as data: a folder with ``theme.toml``, ``templates/`` and ``static/``.

Templates render in a sandbox (:mod:`gallery_builder.template_sandbox`), each page in a worker
bounded in time and memory (:mod:`gallery_builder.template_worker`): a theme from anywhere can
make a page, not run code or hang the build.

A theme may ``extends`` another: templates and static files resolve child first, and a template
can extend the one it overrides with a prefix (``{% extends "default:album.html" %}``). A user's
folder without a ``theme.toml`` extends ``default`` and may override any single file.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2

from gallery_builder.errors import ThemeError, UnknownTheme
from gallery_builder.template_sandbox import GallerySandbox
from gallery_builder.template_worker import BoundedTemplate
from gallery_builder.template_worker import TemplateFailure as TemplateFailure  # re-exported

THEME_FILE = "theme.toml"
_THEME_KEYS = {"name", "extends", "description"}


@dataclass(frozen=True)
class Theme:
    name: str
    path: Path
    extends: str | None = None
    description: str = ""

    @property
    def templates(self) -> Path:
        return self.path / "templates"

    @property
    def static(self) -> Path:
        return self.path / "static"


def load_theme(folder: Path) -> Theme:
    """Read ``folder/theme.toml``; a folder without one is an override of ``default``."""
    file = folder / THEME_FILE
    if not file.is_file():
        return Theme(name=str(folder), path=folder, extends="default")
    try:
        data = tomllib.loads(file.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ThemeError(f"{file}: cannot read the theme: {exc}") from None
    unknown = set(data) - _THEME_KEYS
    if unknown:
        raise ThemeError(
            f"{file}: unknown key {', '.join(sorted(unknown))}; allowed: "
            + ", ".join(sorted(_THEME_KEYS))
        )
    name = data.get("name")
    if not isinstance(name, str) or not name:
        raise ThemeError(f"{file}: 'name' must be a non-empty string")
    extends = data.get("extends") or None
    if extends is not None and not isinstance(extends, str):
        raise ThemeError(f"{file}: 'extends' must be the name of another theme")
    return Theme(name=name, path=folder, extends=extends, description=data.get("description", ""))


def installed_themes(folders: list[Path]) -> dict[str, Theme]:
    """Themes by name from the folders plugins offer (``gallery_themes``)."""
    themes: dict[str, Theme] = {}
    for folder in folders:
        theme = load_theme(Path(folder))
        if theme.name in themes and themes[theme.name].path != theme.path:
            raise ThemeError(
                f"two themes are named '{theme.name}': {themes[theme.name].path} and {theme.path}"
            )
        themes[theme.name] = theme
    return themes


def theme_chain(spec: str, installed: dict[str, Theme]) -> list[Theme]:
    """The theme named (or the folder given) by ``spec``, then each theme it extends."""
    folder = Path(spec)
    if spec in installed:
        current = installed[spec]
    elif folder.is_dir():
        current = load_theme(folder.resolve())
    else:
        raise UnknownTheme(
            f"no theme '{spec}'; installed: {', '.join(sorted(installed)) or 'none'} "
            "(or give the path of a theme folder)"
        )
    chain = [current]
    while current.extends:
        if current.extends not in installed:
            raise ThemeError(
                f"theme '{current.name}' extends '{current.extends}', which is not installed"
            )
        current = installed[current.extends]
        if current in chain:
            raise ThemeError(
                "themes extend each other in a loop: "
                + " -> ".join(t.name for t in [*chain, current])
            )
        chain.append(current)
    return chain


def _inside(path: str | Path, folder: str | Path) -> bool:
    """Whether ``path`` resolves (every link followed) inside ``folder`` (resolved too)."""
    real, top = os.path.realpath(path), os.path.realpath(folder)
    return real == top or real.startswith(top.rstrip(os.sep) + os.sep)


class ThemeLoader(jinja2.FileSystemLoader):
    """Templates of one theme's folder, never through a link out of it: a theme is data, and
    must not put ``/etc/passwd`` (or any file of the machine) into a page."""

    def __init__(self, templates: Path, theme: Path):
        super().__init__(str(templates))
        self.theme = theme

    def get_source(self, environment: jinja2.Environment, template: str) -> tuple[str, str, Any]:
        source, filename, uptodate = super().get_source(environment, template)
        if not _inside(filename, self.theme):
            raise jinja2.TemplateError(
                f"{template} is a link out of the theme's folder {self.theme}; a theme may "
                "only use its own files"
            )
        return source, filename, uptodate


def make_environment(chain: list[Theme]) -> jinja2.Environment:
    """A sandboxed Jinja2 environment over the chain: child first, ``name:`` prefix for each
    theme; its templates' ``render`` is bounded (:class:`BoundedTemplate`) and raises
    :class:`TemplateFailure` for any error inside a template."""
    loaders: list[jinja2.BaseLoader] = [
        ThemeLoader(t.templates, t.path) for t in chain if t.templates.is_dir()
    ]
    loaders.append(
        jinja2.PrefixLoader(
            {t.name: ThemeLoader(t.templates, t.path) for t in chain},
            delimiter=":",
        )
    )
    environment = GallerySandbox(
        loader=jinja2.ChoiceLoader(loaders),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    environment.template_class = BoundedTemplate
    from gallery_builder.rendering import human_date

    environment.filters["date"] = human_date
    return environment


def theme_assets(chain: list[Theme]) -> dict[str, Path]:
    """Static files by their name under ``static/`` (POSIX), the child's copy winning.

    Hidden files and anything in a hidden folder (``.git/``, ``.env``) are left out. A link
    out of the theme's folder is an error: a theme publishes only its own files."""
    assets: dict[str, Path] = {}
    for theme in reversed(chain):
        if not theme.static.is_dir():
            continue
        for file in sorted(theme.static.rglob("*")):
            name = file.relative_to(theme.static)
            if file.is_file() and not any(part.startswith(".") for part in name.parts):
                if not _inside(file, theme.path):
                    raise ThemeError(
                        f"theme {theme.name}: static/{name.as_posix()} is a link out of the "
                        f"theme's folder {theme.path}; a theme publishes only its own files: "
                        "copy the file into the theme instead"
                    )
                assets[name.as_posix()] = file
    return assets
