"""Image steps in the main process: collect each picture's steps from the plugins
(``gallery_image_steps``), check they can travel to a worker, and give their part of each
derivative's cache key (:func:`step_key`). A hook cannot run in a worker, so a step names its
function (``"package.module:function"``) and carries picklable params; the worker side is
gallery_builder.image_steps.
"""

from __future__ import annotations

import pickle
from typing import TYPE_CHECKING, Any

from gallery_builder.errors import PluginError
from gallery_builder.image_steps import describe
from gallery_builder.model import ImageStep, Picture, StepFailure
from gallery_builder.plugin_guard import display_name

if TYPE_CHECKING:
    from gallery_builder.config import Config
    from gallery_builder.plugin_manager import GalleryPluginManager

HOOK = "gallery_image_steps"


class StepCollector:
    """Asks each plugin for its steps, so that each step knows the plugin that returned it.

    Built once per build: one hook caller per plugin that implements the hook, in the order
    pluggy calls them (the plugin registered last first; ``tryfirst``/``trylast`` honoured).
    """

    def __init__(self, pm: GalleryPluginManager) -> None:
        self.pm = pm
        hook = pm.hook.gallery_image_steps
        plugins = [impl.plugin for impl in reversed(hook.get_hookimpls())]
        self.callers = []
        for plugin in plugins:
            others = [p for p in pm.get_plugins() if p is not plugin]
            name = pm.get_name(plugin) or ""
            dist = pm.distributions.get(name)
            self.callers.append(
                (
                    display_name(name, plugin),
                    pm.distribution_text(name),
                    dist.version if dist else "",
                    pm.subset_hook_caller(HOOK, remove_plugins=others),
                )
            )

    def distribution(self, label: str) -> str | None:
        """``"gallery-watermark 0.1.0"`` for the plugin of that label, if it has one."""
        return next((dist for name, dist, _, _ in self.callers if name == label), None)

    def steps(self, picture: Picture, config: Config) -> tuple[tuple[ImageStep, ...], str]:
        """The picture's steps, in order, each with its ``plugin`` set, and their cache key."""
        found: list[ImageStep] = []
        keys: list[str] = []
        subject = f"picture '{picture.source.relpath}'"
        for label, distribution, version, caller in self.callers:
            answers = caller(source=picture.source, metadata=picture.metadata, config=config)
            for step in (s for answer in answers if answer for s in answer):
                if not isinstance(step, ImageStep):
                    cause = TypeError(f"it returned {describe(step)} where an ImageStep belongs")
                    raise PluginError(
                        label, HOOK, cause, distribution=distribution, subject=subject
                    )
                try:
                    check_params(step)
                except ValueError as exc:
                    raise PluginError(
                        label, HOOK, exc, distribution=distribution, subject=subject
                    ) from None
                step = ImageStep(step.function, step.params, step.version, plugin=label)
                found.append(step)
                keys.append(step_key(step, version))
        return tuple(found), "\n".join(keys)


def check_params(step: ImageStep) -> None:
    """Refuse params that cannot travel to a worker (pickle) or would change the cache key of
    every build (a ``repr`` holding a memory address)."""
    try:
        pickle.loads(pickle.dumps(step.params))
    except Exception as exc:
        raise ValueError(
            f"the params of step {step.function} cannot be sent to the image workers "
            f"(they must be picklable plain data: text, numbers, tuples, lists, dicts): "
            f"{type(exc).__name__}: {exc}"
        ) from None
    text = stable_repr(step.params)
    if " at 0x" in text:
        raise ValueError(
            f"the params of step {step.function} hold an object whose repr changes from one "
            f"run to the next ({text}); give plain data (text, numbers, tuples, lists, dicts)"
        )


def step_key(step: ImageStep, plugin_version: str) -> str:
    """What of a step shapes the images: its function, params, version and its plugin's
    distribution version (never the plugin's name: renaming it changes no pixel)."""
    return "|".join((step.function, stable_repr(step.params), step.version, plugin_version))


def stable_repr(value: Any) -> str:
    """``repr`` that is the same in every run: dicts and sets sorted (otherwise ``repr``)."""
    if isinstance(value, dict):
        items = sorted((stable_repr(k), stable_repr(v)) for k, v in value.items())
        return "{" + ", ".join(f"{k}: {v}" for k, v in items) + "}"
    if isinstance(value, set | frozenset):
        return "{" + ", ".join(sorted(stable_repr(v) for v in value)) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(stable_repr(v) for v in value) + "]"
    if isinstance(value, tuple):
        inner = ", ".join(stable_repr(v) for v in value)
        return f"({inner},)" if len(value) == 1 else f"({inner})"
    return repr(value)


def failure_error(failure: StepFailure, relpath: str, distribution: str | None) -> PluginError:
    """The error the build stops with when a step failed in a worker; ``-v`` shows the
    worker's traceback (the cause crossed a process boundary without its own)."""
    error = PluginError(
        failure.plugin,
        HOOK,
        failure.cause,
        distribution=distribution,
        subject=f"picture '{relpath}' in step {failure.function}",
    )
    if failure.cause.__traceback__ is None and failure.traceback:
        error._traceback_text = failure.traceback  # as PluginError keeps it across a pickle
    return error
