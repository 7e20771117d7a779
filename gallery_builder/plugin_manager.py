"""The plugin manager: built-ins and third-party plugins load through one path, the
``gallery_builder`` entry-point group."""

from __future__ import annotations

import os
from collections.abc import Iterable
from importlib.metadata import Distribution, entry_points
from typing import Any

import pluggy

from gallery_builder import hookspecs
from gallery_builder.errors import GalleryError
from gallery_builder.plugin_guard import check_hook_names, guard_hooks

ENTRY_POINT_GROUP = "gallery_builder"
OWN_DISTRIBUTION = "gallery-builder"
#: comma-separated plugin names to leave out, e.g. GALLERY_BLOCK_PLUGINS=render,my_plugin
BLOCK_ENV = "GALLERY_BLOCK_PLUGINS"
#: set to 1 to load only gallery-builder's own plugins (tests use this)
NO_AUTOLOAD_ENV = "GALLERY_DISABLE_PLUGIN_AUTOLOAD"


class GalleryPluginManager(pluggy.PluginManager):
    """A pluggy manager that remembers which distribution each plugin came from."""

    def __init__(self) -> None:
        super().__init__(ENTRY_POINT_GROUP)
        self.add_hookspecs(hookspecs)
        self.distributions: dict[str, Distribution] = {}
        #: third-party plugins that could not be loaded, each as a message for the user
        self.load_errors: list[str] = []

    def register(self, plugin: Any, name: str | None = None) -> str | None:
        """Register as pluggy does; a plugin not from gallery-builder's own distribution has
        its hooks guarded, so that its failures name it (gallery_builder.plugin_guard)."""
        registered = super().register(plugin, name)
        if registered is not None and not self.is_own(registered):
            guard_hooks(self, plugin, registered, lambda: self.distribution_text(registered))
        return registered

    def is_own(self, name: str) -> bool:
        dist = self.distributions.get(name)
        return dist is not None and distribution_name(dist) == OWN_DISTRIBUTION

    def distribution_text(self, name: str) -> str | None:
        """``"gallery-watermark 0.1.0"``, or None for a plugin registered in code."""
        dist = self.distributions.get(name)
        return f"{distribution_name(dist)} {dist.version}" if dist is not None else None


def distribution_name(dist: Distribution) -> str:
    """``dist.metadata["Name"]``, read once per distribution: each ``.metadata`` reads and
    parses the distribution's METADATA file again (3 ms; a build asked 24 times)."""
    name = dist.__dict__.get("_gallery_name")
    if name is None:
        name = dist.__dict__["_gallery_name"] = dist.metadata["Name"]
    return name


def blocked_from_env() -> list[str]:
    return [name.strip() for name in os.environ.get(BLOCK_ENV, "").split(",") if name.strip()]


def get_plugin_manager(
    block: Iterable[str] = (),
    extra_plugins: Iterable[Any] = (),
    autoload: bool | None = None,
) -> GalleryPluginManager:
    """A manager with every installed plugin registered, less the blocked ones.

    ``extra_plugins`` (objects or modules, or ``("name", plugin)`` pairs to register one under
    a name) are registered after the entry points; tests use it for throw-away plugins. A hook
    name no hookspec declares is a GalleryError naming the plugin (plugin_guard).
    ``autoload=False`` (or GALLERY_DISABLE_PLUGIN_AUTOLOAD=1) loads only gallery-builder's own
    plugins.
    """
    pm = GalleryPluginManager()
    for name in [*blocked_from_env(), *block]:
        pm.set_blocked(name)
    if autoload is None:
        autoload = os.environ.get(NO_AUTOLOAD_ENV, "") in ("", "0")
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        dist = ep.dist
        is_own = dist is not None and distribution_name(dist) == OWN_DISTRIBUTION
        if pm.is_blocked(ep.name) or pm.has_plugin(ep.name) or not (autoload or is_own):
            continue
        if dist is not None:  # known before registering: it decides whether hooks are guarded
            pm.distributions[ep.name] = dist
        try:
            pm.register(ep.load(), name=ep.name)
        except Exception as exc:
            pm.distributions.pop(ep.name, None)
            if is_own:
                raise  # a broken built-in is a bug to see, not to hide
            origin = f" from {distribution_name(dist)} {dist.version}" if dist else ""
            pm.load_errors.append(
                f"plugin '{ep.name}'{origin} could not be loaded and is left out "
                f"({type(exc).__name__}: {exc}); block it with {BLOCK_ENV}={ep.name}"
            )
            continue
    for plugin in extra_plugins:
        name = None
        if isinstance(plugin, tuple):  # ("name", plugin): registered under that name
            name, plugin = plugin
        if not pm.is_registered(plugin):  # e.g. an installed plugin module passed again
            try:
                pm.register(plugin, name=name)
            except pluggy.PluginValidationError as exc:
                shown = name or getattr(plugin, "__name__", None) or type(plugin).__name__
                raise GalleryError(f"plugin '{shown}' cannot be registered: {exc}") from None
    check_hook_names(pm, lambda name: _origin(pm, name))
    return pm


def _origin(pm: GalleryPluginManager, name: str) -> str:
    text = pm.distribution_text(name)
    return f" ({text})" if text else ""


def describe_plugins(pm: GalleryPluginManager) -> list[dict[str, Any]]:
    """One row per active plugin: name, distribution, version, hooks it implements."""
    rows = []
    for name, plugin in pm.list_name_plugin():
        if plugin is None:  # blocked
            continue
        dist = pm.distributions.get(name)
        hooks = sorted(caller.name for caller in pm.get_hookcallers(plugin) or [])
        rows.append(
            {
                "name": name,
                "distribution": dist.metadata["Name"] if dist else None,
                "version": dist.version if dist else None,
                "hooks": hooks,
            }
        )
    return sorted(rows, key=lambda row: row["name"])


def collected(results: Iterable[Iterable[Any] | None]) -> list[Any]:
    """The answers of a collecting hook (one list per plugin), as one list."""
    return [item for group in results if group for item in group]


def required(answer: Any, hook: str) -> Any:
    """The answer of a ``firstresult`` hook the build cannot do without."""
    if answer is None:
        raise GalleryError(
            f"no active plugin answers {hook}; was a built-in plugin blocked? "
            "(see `gallery plugins`)"
        )
    return answer
