"""Make a third-party plugin's failures name it.

Every hook implementation of a plugin that is not gallery-builder's own is wrapped: an
exception it did not raise on purpose becomes a :class:`PluginError` naming the plugin, its
distribution, the hook and the picture or page it was working on. A hook name no hookspec
declares (a misspelling) is an error at start-up, naming the closest real hook.
"""

from __future__ import annotations

import difflib
import functools
import re
from collections.abc import Callable, Mapping
from typing import Any

import jinja2
import pluggy

from gallery_builder.errors import BadPicture, GalleryError, PluginError

#: raised on purpose, and reported by the core as it always was: a GalleryError (a setting,
#: a theme), a picture to skip, a template's own error (the theme's, reported with its line)
PASSES_THROUGH: tuple[type[BaseException], ...] = (GalleryError, BadPicture, jinja2.TemplateError)

_UNNAMED = re.compile(r"^\d+$")  # pluggy names a plugin registered without a name by its id()


def display_name(name: str, plugin: object) -> str:
    """The plugin's registered name, or for one registered in code without a name (pluggy
    gives it its id()), its module's or class's name."""
    if not _UNNAMED.match(name):
        return name
    return getattr(plugin, "__name__", None) or type(plugin).__name__


def subject_of(kwargs: Mapping[str, Any]) -> str | None:
    """What a hook call was working on, from its arguments: ``"page 'about.html'"`` or
    ``"picture 'Sea/wave.jpg'"``."""
    page = kwargs.get("page")
    if page is not None and isinstance(getattr(page, "path", None), str):
        return f"page '{page.path}'"
    picture = kwargs.get("picture")
    source = getattr(picture, "source", None) if picture is not None else kwargs.get("source")
    if source is not None and isinstance(getattr(source, "relpath", None), str):
        return f"picture '{source.relpath}'"
    return None


def guard_hooks(
    pm: pluggy.PluginManager,
    plugin: object,
    name: str,
    distribution: Callable[[], str | None],
) -> None:
    """Wrap each of ``plugin``'s hook implementations (not its hook wrappers, whose
    generator protocol pluggy drives itself) so that an unexpected exception becomes a
    :class:`PluginError`. ``distribution()`` is asked only when one fails."""
    for caller in pm.get_hookcallers(plugin) or []:
        for impl in caller.get_hookimpls():
            if impl.plugin is plugin and not (impl.wrapper or impl.hookwrapper):
                impl.function = _guarded(  # type: ignore[misc]  # pluggy's Final, by design
                    impl.function, impl.argnames, caller.name, display_name(name, plugin),
                    distribution,
                )  # fmt: skip


def _guarded(
    function: Callable[..., Any],
    argnames: tuple[str, ...],
    hook: str,
    plugin: str,
    distribution: Callable[[], str | None],
) -> Callable[..., Any]:
    @functools.wraps(function)
    def guarded(*args: Any) -> Any:  # pluggy calls an implementation with its argnames, in order
        try:
            return function(*args)
        except PASSES_THROUGH:
            raise
        except Exception as exc:
            subject = subject_of(dict(zip(argnames, args, strict=False)))
            raise PluginError(
                plugin, hook, exc, distribution=distribution(), subject=subject
            ) from exc

    return guarded


def check_hook_names(pm: pluggy.PluginManager, origin: Callable[[str], str]) -> None:
    """pluggy's ``check_pending()``; an unknown hook becomes a GalleryError naming the plugin
    (``origin(name)``: " (dist 1.0)" or ""), the name, the closest hook and how to go on."""
    try:
        pm.check_pending()
    except pluggy.PluginValidationError as exc:
        name = pm.get_name(exc.plugin) or "?"
        known = sorted(
            hook for hook in vars(pm.hook) if not hook.startswith("_")
            and getattr(pm.hook, hook).has_spec()
        )  # fmt: skip
        unknown = sorted(
            hook for hook in vars(pm.hook) if not hook.startswith("_")
            and not getattr(pm.hook, hook).has_spec()
            and any(i.plugin is exc.plugin for i in getattr(pm.hook, hook).get_hookimpls())
        )  # fmt: skip
        wrong = unknown[0] if unknown else "?"
        close = difflib.get_close_matches(wrong, known, n=1)
        hint = f"; did you mean {close[0]}?" if close else f"; the hooks are: {', '.join(known)}."
        shown = display_name(name, exc.plugin)
        raise GalleryError(
            f"plugin '{shown}'{origin(name)} implements {wrong}, which is not a hook{hint} "
            f"Fix the plugin (see docs/hooks.md), or block it with --block {shown} "
            f"(or GALLERY_BLOCK_PLUGINS={shown})"
        ) from None
