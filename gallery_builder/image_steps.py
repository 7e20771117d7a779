"""Image steps (the ``gallery_image_steps`` hook): collected per picture in the main process,
applied to each derivative's image in the worker.

A hook cannot run in a worker, so a step names its function (``"package.module:function"``)
and carries picklable params; the worker imports the function once per process. Each step's
function, params, version and its plugin's version are part of the cache key of every
derivative it shapes (:func:`steps_key`). A step that fails in the worker comes back as plain
data (:class:`~gallery_builder.model.StepFailure`), which the main process turns into a
:class:`~gallery_builder.errors.PluginError` naming the plugin, the picture and the function.
"""

from __future__ import annotations

import importlib
import pickle
import traceback
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from PIL import Image

from gallery_builder.errors import PluginError
from gallery_builder.model import DerivativeSpec, ImageStep, Picture, StepFailure

if TYPE_CHECKING:  # the workers import this module: keep it light
    from gallery_builder.config import Config
    from gallery_builder.plugin_manager import GalleryPluginManager

HOOK = "gallery_image_steps"

#: the step functions this process has imported, by name
_FUNCTIONS: dict[str, Callable[..., Any]] = {}


# --- The main process: collecting ------------------------------------------------------------


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
        for plugin in dict.fromkeys(plugins):  # a plugin once, even with a wrapper and an impl
            others = [p for p in pm.get_plugins() if p is not plugin]
            name = pm.get_name(plugin) or ""
            dist = pm.distributions.get(name)
            self.callers.append(
                (
                    plugin_label(name, plugin),
                    f"{dist.metadata['Name']} {dist.version}" if dist else None,
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


def plugin_label(name: str, plugin: object) -> str:
    """The plugin's registered name; for an object registered without a name (pluggy names it
    by its id), its class's name."""
    if name and not name.isdigit():
        return name
    return getattr(plugin, "__name__", None) or type(plugin).__name__


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
    """The error the build stops with when a step failed in a worker."""
    cause = failure.cause
    if cause.__traceback__ is None and failure.traceback:  # it came from another process
        cause.__cause__ = WorkerTraceback(failure.traceback)
    return PluginError(
        failure.plugin,
        HOOK,
        cause,
        distribution=distribution,
        subject=f"picture '{relpath}' in step {failure.function}",
    )


class WorkerTraceback(Exception):
    """The traceback of an exception raised in a worker process, as text (as
    concurrent.futures shows one)."""

    def __str__(self) -> str:
        return f'\n"""\n{self.args[0]}"""'


# --- The worker: applying ---------------------------------------------------------------------


class StepFailed(Exception):
    """A step failed in the worker; carries the plain :class:`StepFailure` back."""

    def __init__(self, failure: StepFailure) -> None:
        super().__init__(failure)
        self.failure = failure


def load_steps(steps: tuple[ImageStep, ...]) -> list[tuple[ImageStep, Callable[..., Any]]]:
    """Each step with its function, imported (once per process). Raises :class:`StepFailed`
    for a function that cannot be imported."""
    loaded = []
    for step in steps:
        try:
            loaded.append((step, load_function(step.function)))
        except Exception as exc:
            raise StepFailed(failure_of(step, exc)) from None
    return loaded


def load_function(name: str) -> Callable[..., Any]:
    """The function ``"package.module:qualified.name"`` names, imported once per process."""
    function = _FUNCTIONS.get(name)
    if function is None:
        module_name, _, qualname = name.partition(":")
        function = importlib.import_module(module_name)
        for part in qualname.split("."):
            function = getattr(function, part)
        if not callable(function):
            raise TypeError(f"{name} is {describe(function)}, not a function")
        _FUNCTIONS[name] = function
    return function


def apply_steps(
    image: Image.Image,
    spec: DerivativeSpec,
    steps: list[tuple[ImageStep, Callable[..., Any]]],
) -> Image.Image:
    """``image`` after each step, in order, in RGB or RGBA. Raises :class:`StepFailed`."""
    for step, function in steps:
        try:
            result = function(image, spec, **step.kwargs)
        except Exception as exc:
            raise StepFailed(failure_of(step, exc)) from None
        if not isinstance(result, Image.Image):
            cause = TypeError(f"the step returned {describe(result)}, not a PIL image")
            raise StepFailed(failure_of(step, cause))
        image = result
    if image.mode not in ("RGB", "RGBA"):
        image = image.convert("RGBA" if "A" in image.getbands() else "RGB")
    return image


def failure_of(step: ImageStep, exc: BaseException) -> StepFailure:
    """``exc`` as plain data: itself when it survives pickling (to the main process), else a
    RuntimeError that says what it was."""
    text = "".join(traceback.format_exception(exc))
    try:
        pickle.loads(pickle.dumps(exc))
        cause = exc
    except Exception:
        cause = RuntimeError(f"{type(exc).__name__}: {exc}")
    return StepFailure(step.plugin, step.function, cause, text)


def describe(value: object) -> str:
    """``value`` for a message: its type, and a short repr."""
    text = repr(value)
    if len(text) > 60:
        text = text[:57] + "..."
    return f"{type(value).__name__} {text}" if value is not None else "None"
