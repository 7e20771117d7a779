"""The answers of a collecting hook with the name of the plugin that gave each, so that an
error about an answer (a theme folder that is missing, a site file outside the site) can name
the plugin to fix or block."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from gallery_builder.errors import GalleryError
from gallery_builder.plugin_manager import GalleryPluginManager


def answers_by_plugin(pm: GalleryPluginManager, hook: str, **kwargs: Any) -> list[tuple[str, Any]]:
    """``(plugin name, answer)`` for each plugin implementing ``hook``, in pluggy's call order
    (the plugin registered last first); a ``None`` answer is left out.

    Each plugin is called through the hook (a subset of it), not around it, so that wrappers
    (and whatever the plugin manager adds around a plugin's implementation) still apply."""
    caller = getattr(pm.hook, hook)
    implementations = [impl for impl in caller.get_hookimpls() if not _wraps(impl)]
    answers = []
    for impl in reversed(implementations):  # pluggy calls the last registered first
        others = [other.plugin for other in implementations if other.plugin is not impl.plugin]
        for answer in pm.subset_hook_caller(hook, remove_plugins=others)(**kwargs):
            if answer is not None:
                answers.append((impl.plugin_name, answer))
    return answers


def _wraps(impl: Any) -> bool:
    return bool(impl.wrapper or impl.hookwrapper)


def plugin_folders(pm: GalleryPluginManager, hook: str) -> list[tuple[str, Path]]:
    """The folders a folder hook (``gallery_template_folders``, ``gallery_static_folders``)
    returns, each with its plugin's name; a folder that does not exist is an error naming the
    plugin: a pip install that left the package data out shows here, not as a missing page."""
    folders = []
    for plugin, answer in answers_by_plugin(pm, hook):
        for folder in answer:
            path = Path(folder)
            if not path.is_dir():
                raise GalleryError(
                    f"plugin '{plugin}' gives the folder {path} in {hook}, which does not "
                    "exist (is it declared as package data of the plugin's distribution? "
                    f"see docs/themes.md); reinstall the plugin, or block it with --block {plugin}"
                )
            folders.append((plugin, path.resolve()))
    return folders
