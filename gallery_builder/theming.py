"""Themes as data: a folder with ``theme.toml``, ``templates/`` and ``static/``.

Templates render in a sandbox (:mod:`gallery_builder.template_sandbox`), each page in a worker
bounded in time and memory (:mod:`gallery_builder.template_worker`): a theme from anywhere can
make a page, not run code or hang the build.

A theme may ``extends`` another: templates and static files resolve child first, and a template
can extend the one it overrides with a prefix (``{% extends "default:album.html" %}``). A user's
folder without a ``theme.toml`` extends ``default`` and may override any single file.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2

from gallery_builder.errors import ThemeError, UnknownTheme
from gallery_builder.filesafety import resolves_inside
from gallery_builder.template_sandbox import GallerySandbox
from gallery_builder.template_worker import BoundedTemplate
from gallery_builder.template_worker import TemplateFailure as TemplateFailure  # re-exported

THEME_FILE = "theme.toml"
_THEME_KEYS = {"name", "extends", "description", "extra_css"}


@dataclass(frozen=True)
class Theme:
    name: str
    path: Path
    extends: str | None = None
    description: str = ""
    #: stylesheets of ``static/`` (its own or a parent's) linked on every page after the
    #: parent's: a child theme adds one without copying a template
    extra_css: tuple[str, ...] = ()

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
    extra_css = data.get("extra_css", [])
    if not isinstance(extra_css, list) or not all(
        isinstance(item, str) and item for item in extra_css
    ):
        raise ThemeError(
            f"{file}: 'extra_css' must be a list of the names of static files, "
            'e.g. extra_css = ["dusk.css"]'
        )
    return Theme(
        name=name,
        path=folder,
        extends=extends,
        description=data.get("description", ""),
        extra_css=tuple(extra_css),
    )


def installed_themes(folders: Iterable[Path | tuple[str, Path]]) -> dict[str, Theme]:
    """Themes by name from the folders plugins offer (``gallery_themes``), each a folder or a
    ``(plugin name, folder)`` pair. A plugin's folder must hold a ``theme.toml``: one that is
    missing or empty is what a pip install that left the theme out of the package data gives,
    and is an error naming the plugin (never a theme named after the folder)."""
    themes: dict[str, Theme] = {}
    for item in folders:
        plugin, folder = item if isinstance(item, tuple) else (None, item)
        folder = Path(folder)
        if plugin is not None:
            check_theme_folder(plugin, folder)
        theme = load_theme(folder)
        if theme.name in themes and themes[theme.name].path != theme.path:
            raise ThemeError(
                f"two themes are named '{theme.name}': {themes[theme.name].path} and {theme.path}"
            )
        themes[theme.name] = theme
    return themes


def check_theme_folder(plugin: str, folder: Path) -> None:
    """Refuse a theme folder a plugin gives that does not exist, is empty or has no
    ``theme.toml``."""
    if not folder.is_dir():
        problem = "does not exist"
    elif not any(folder.iterdir()):
        problem = "is empty"
    elif not (folder / THEME_FILE).is_file():
        problem = f"has no {THEME_FILE}"
    else:
        return
    raise ThemeError(
        f"plugin '{plugin}' gives the theme folder {folder}, which {problem}: a theme in a pip "
        'package must be declared as package data (see docs/themes.md, "Shipping a theme in a '
        f'pip package"); reinstall the plugin, or block it with --block {plugin}'
    )


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
    check_extra_css(chain)
    return chain


def check_extra_css(chain: list[Theme]) -> None:
    """Each name in a theme's ``extra_css`` must be a static file of that theme or of a theme
    it extends: a misspelt name is an error now, not a broken link on every page."""
    for index, theme in enumerate(chain):
        if not theme.extra_css:
            continue
        available = theme_assets(chain[index:])
        for name in theme.extra_css:
            if name not in available:
                raise ThemeError(
                    f"{theme.path / THEME_FILE}: extra_css names '{name}', which is not in the "
                    f"static/ folder of theme '{theme.name}' nor of a theme it extends; "
                    "add the file or correct the name"
                )


def extra_css(chain: list[Theme]) -> list[str]:
    """The stylesheets ``extra_css`` adds to every page: the parent's first, each once."""
    names: list[str] = []
    for theme in reversed(chain):
        names += [name for name in theme.extra_css if name not in names]
    return names


class ThemeLoader(jinja2.FileSystemLoader):
    """Templates of one theme's (or plugin's) folder, never through a link out of it: a theme
    is data, and must not put ``/etc/passwd`` (or any file of the machine) into a page."""

    def __init__(self, templates: Path, theme: Path):
        super().__init__(str(templates))
        self.theme = theme

    def get_source(self, environment: jinja2.Environment, template: str) -> tuple[str, str, Any]:
        source, filename, uptodate = super().get_source(environment, template)
        if not resolves_inside(filename, self.theme):
            raise jinja2.TemplateError(
                f"{template} is a link out of the theme's folder {self.theme}; a theme may "
                "only use its own files"
            )
        return source, filename, uptodate


def make_environment(
    chain: list[Theme], template_folders: Sequence[tuple[str, Path]] = ()
) -> jinja2.Environment:
    """A sandboxed Jinja2 environment over the chain: child first, ``name:`` prefix for each
    theme, then the plugins' ``template_folders`` (``(plugin, folder)``; a theme's template
    wins over a plugin's); its templates' ``render`` is bounded (:class:`BoundedTemplate`)
    and raises :class:`TemplateFailure` for any error inside a template. The global
    ``extra_css`` lists the chain's extra stylesheets (see :func:`extra_css`)."""
    loaders: list[jinja2.BaseLoader] = [
        ThemeLoader(t.templates, t.path) for t in chain if t.templates.is_dir()
    ]
    loaders += [ThemeLoader(folder, folder) for _, folder in template_folders]
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
    environment.globals["extra_css"] = extra_css(chain)
    return environment


def theme_assets(
    chain: list[Theme], static_folders: Sequence[tuple[str, Path]] = ()
) -> dict[str, Path]:
    """Static files by their name under ``static/`` (POSIX), the child's copy winning; below
    them the plugins' ``static_folders`` (``(plugin, folder)``), so a theme's file of the
    same name wins over a plugin's.

    Hidden files and anything in a hidden folder (``.git/``, ``.env``) are left out. A link
    out of the theme's (or plugin's) folder is an error: each publishes only its own files."""
    assets: dict[str, Path] = {}
    for plugin, folder in reversed(static_folders):
        assets.update(_static_files(folder, folder, f"plugin '{plugin}'", "plugin"))
    for theme in reversed(chain):
        assets.update(_static_files(theme.static, theme.path, f"theme {theme.name}", "theme"))
    return assets


def _static_files(static: Path, top: Path, owner: str, kind: str) -> dict[str, Path]:
    found: dict[str, Path] = {}
    if not static.is_dir():
        return found
    for file in sorted(static.rglob("*")):
        name = file.relative_to(static)
        if file.is_file() and not any(part.startswith(".") for part in name.parts):
            if not resolves_inside(file, top):
                raise ThemeError(
                    f"{owner}: {file.relative_to(top).as_posix()} is a link out of the "
                    f"{kind}'s folder {top}; a {kind} publishes only its own files: copy the "
                    f"file into the {kind} instead"
                )
            found[name.as_posix()] = file
    return found


@dataclass(frozen=True)
class SiteTheme:
    """What a build's pages look like: the theme chain (child first), then the folders of
    templates and of static files plugins ship (``(plugin name, folder)``), searched after
    the chain's, so a theme's file of the same name wins."""

    chain: list[Theme]
    template_folders: tuple[tuple[str, Path], ...] = ()
    static_folders: tuple[tuple[str, Path], ...] = ()

    def environment(self) -> jinja2.Environment:
        return make_environment(self.chain, self.template_folders)

    def assets(self) -> dict[str, Path]:
        return theme_assets(self.chain, self.static_folders)

    def folders(self) -> list[Path]:
        """Every folder whose files shape the pages (for the build's fingerprint)."""
        return [
            *(theme.path for theme in self.chain),
            *(folder for _, folder in self.template_folders),
            *(folder for _, folder in self.static_folders),
        ]
