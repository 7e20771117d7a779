"""Image steps in the worker: import each step's function (once per process) and apply the
steps to a derivative's image, after resize and before encode (gallery_builder.imaging).

A step that fails comes back as plain data (:class:`~gallery_builder.model.StepFailure`),
never as an exception across the executor, so any executor carries it; the main process
turns it into a :class:`~gallery_builder.errors.PluginError`
(gallery_builder.step_collection). Imported by every worker: keep it light.
"""

from __future__ import annotations

import importlib
import pickle
import traceback
from collections.abc import Callable
from typing import Any

from PIL import Image

from gallery_builder.model import DerivativeSpec, ImageStep, StepFailure

#: the step functions this process has imported, by name
_FUNCTIONS: dict[str, Callable[..., Any]] = {}


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
