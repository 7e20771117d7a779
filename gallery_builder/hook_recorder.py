"""Recording the hook calls of a plugin manager, for plugin tests (re-exported by
gallery_builder.testing): what the core asked each hook, and what the plugins answered.
Modelled on pytest's ``HookRecorder`` (``pytester``), over pluggy's
``add_hookcall_monitoring``."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import pluggy


@dataclass(frozen=True)
class HookCall:
    """One call of a hook: its ``name``, the ``kwargs`` the core gave, and the ``result``
    (a list of the plugins' answers for a collecting hook, the first answer for a
    ``firstresult`` one), or the ``exception`` it raised."""

    name: str
    kwargs: Mapping[str, Any]
    result: Any = None
    exception: BaseException | None = None

    def __getattr__(self, key: str) -> Any:  # call.page, as pytest's records allow
        if key.startswith("_") or key == "kwargs":  # not set yet (copy, pickle)
            raise AttributeError(key)
        try:
            return self.kwargs[key]
        except KeyError:
            raise AttributeError(key) from None


@dataclass
class HookRecorder:
    """Every hook call made through ``pm.hook`` while recording, in order. (A hook the core
    asks one plugin at a time, such as gallery_publishers and gallery_settings, is not called
    through ``pm.hook`` and so is not recorded.)"""

    pm: pluggy.PluginManager
    recorded: list[HookCall] = field(default_factory=list)
    _undo: Any = None

    def start(self) -> HookRecorder:
        def before(name: str, impls: Any, kwargs: Mapping[str, Any]) -> None:
            pass

        def after(outcome: pluggy.Result, name: str, impls: Any, kwargs: Mapping[str, Any]):
            exception = outcome.exception
            result = None if exception is not None else outcome.get_result()
            self.recorded.append(HookCall(name, dict(kwargs), result, exception))

        self._undo = self.pm.add_hookcall_monitoring(before, after)
        return self

    def stop(self) -> None:
        if self._undo is not None:
            self._undo()
            self._undo = None

    def calls(self, *names: str) -> list[HookCall]:
        """The calls of the hooks ``names`` (every call without names), in order."""
        for name in names:
            if not hasattr(self.pm.hook, name):
                raise ValueError(f"no hook named {name!r}")
        return [call for call in self.recorded if not names or call.name in names]

    def last(self, name: str) -> HookCall:
        """The last call of ``name``; AssertionError if there was none."""
        found = self.calls(name)
        assert found, f"{name} was not called"
        return found[-1]


@contextmanager
def record_hooks(pm: pluggy.PluginManager) -> Iterator[HookRecorder]:
    """``with record_hooks(pm) as hooks: ...`` then ``hooks.calls("gallery_pages")``."""
    recorder = HookRecorder(pm).start()
    try:
        yield recorder
    finally:
        recorder.stop()
