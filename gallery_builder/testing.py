"""Helpers for testing plugins: build or run the CLI with throw-away plugins registered.

from gallery_builder import hookimpl
from gallery_builder.model import Page
from gallery_builder.testing import build_gallery

class AddPage:
    @hookimpl
    def gallery_pages(self, site, config):
        return [Page("about.html", "about.html")]

result = build_gallery(source, out, AddPage())

A plugin given as ``("name", plugin)`` is registered under that name, so that its
``[plugins.name]`` table applies. ``record_hooks(pm)`` records the hook calls of a build
(``build_gallery(..., pm=pm)``) or a command (``run_cli(..., pm=pm)``).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from click.testing import CliRunner, Result

from gallery_builder.build_result import BuildResult
from gallery_builder.config import load_config
from gallery_builder.hook_recorder import HookCall as HookCall  # re-exported
from gallery_builder.hook_recorder import HookRecorder as HookRecorder  # re-exported
from gallery_builder.hook_recorder import record_hooks as record_hooks  # re-exported
from gallery_builder.pipeline import build
from gallery_builder.plugin_manager import GalleryPluginManager, get_plugin_manager
from gallery_builder.plugin_settings import plugin_settings_schemas
from gallery_builder.publisher_contract import PublisherContract  # noqa: F401 (public here)


def plugin_manager(
    *plugins: Any, block: Sequence[str] = (), autoload: bool | None = None
) -> GalleryPluginManager:
    """The installed plugins plus ``plugins`` (objects, modules, or ``("name", plugin)``), as
    the CLI would load them; ``autoload=False`` (or GALLERY_DISABLE_PLUGIN_AUTOLOAD=1) leaves
    out third-party ones."""
    return get_plugin_manager(block=block, extra_plugins=plugins, autoload=autoload)


def build_gallery(
    source: Path,
    out: Path,
    *plugins: Any,
    config_file: Path | None = None,
    theme: str | None = None,
    jobs: int | None = 1,
    force: bool = False,
    strict: bool = False,
    pm: GalleryPluginManager | None = None,
) -> BuildResult:
    """Build ``source`` into ``out`` with ``plugins`` registered; in-process by default.
    ``pm``: build with this manager instead (e.g. one being recorded; then no ``plugins``)."""
    pm = _manager(plugins, pm)
    config = load_config(source, config_file, settings=plugin_settings_schemas(pm))
    if theme:
        config = config.with_theme(theme)
    return build(config, out, pm, jobs=jobs, force=force, strict=strict)


def run_cli(
    args: Sequence[str | Path],
    *plugins: Any,
    block: Sequence[str] = (),
    pm: GalleryPluginManager | None = None,
) -> Result:
    """Run ``gallery ARGS`` in-process with ``plugins`` registered (or with the manager
    ``pm``, e.g. one being recorded)."""
    from gallery_builder.cli import AppContext, make_cli

    pm = _manager(plugins, pm, block)
    return CliRunner().invoke(make_cli(pm), [str(a) for a in args], obj=AppContext(pm))


def _manager(
    plugins: Sequence[Any], pm: GalleryPluginManager | None, block: Sequence[str] = ()
) -> GalleryPluginManager:
    if pm is None:
        return plugin_manager(*plugins, block=block)
    if plugins or block:
        raise TypeError("give the plugins (and block) to plugin_manager(), not with pm=")
    return pm
