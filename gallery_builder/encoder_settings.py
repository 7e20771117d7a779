"""The encoder settings: ``[images] effort`` presets and the per-format overrides
(``[images.jpeg] optimize``, ``[images.webp] method``, …), as the options each
:class:`~gallery_builder.model.DerivativeSpec` carries. Pure.

The option names are Pillow's; another processor maps them to its own (libvips: ``method`` ->
webpsave ``effort``, ``optimize`` -> ``optimize_coding``, ``progressive`` -> ``interlace``,
``speed`` -> heifsave ``effort``, ``compress_level`` -> pngsave ``compression``). The presets
were chosen from the figures of ``bench/encoder_settings.py`` (docs/building.md, "Encoder
settings").
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

#: effort -> format -> options, chosen from bench/encoder_settings.py's figures (a 2048 px
#: image of a 24 MP photo; docs/building.md has the table). "balanced", the default, takes each
#: format's knee: WebP method 2 is 45% cheaper than method 4 for a file 4% larger; JPEG
#: optimised without progressive scans half the cost of progressive for 5% more bytes (the
#: fallback few browsers fetch); AVIF speed 6 is smaller and better than 7 or 8 at once; PNG
#: level 4 is 25% cheaper than 6 for 2% more. "fast" takes each encoder's cheapest setting;
#: "small" the smallest files worth their time (WebP method 5-6 save under 1% more for 1.3-2.2x
#: the time of method 4; AVIF speed 4 makes the files of speed 5 more slowly)
EFFORTS: dict[str, dict[str, dict[str, Any]]] = {
    "fast": {
        "jpeg": {"optimize": False, "progressive": False},
        "webp": {"method": 0},
        "avif": {"speed": 10},
        "png": {"compress_level": 1},
    },
    "balanced": {
        "jpeg": {"optimize": True, "progressive": False},
        "webp": {"method": 2},
        "avif": {"speed": 6},
        "png": {"compress_level": 4},
    },
    "small": {
        "jpeg": {"optimize": True, "progressive": True},
        "webp": {"method": 4},
        "avif": {"speed": 5},
        "png": {"compress_level": 9},
    },
}
DEFAULT_EFFORT = "balanced"


def _boolean(value: Any) -> bool:
    if not isinstance(value, bool):
        raise ValueError("true or false")
    return value


def _whole(low: int, high: int) -> Callable[[Any], int]:
    def check(value: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise ValueError(f"a whole number from {low} to {high}")
        return value

    return check


#: format -> option -> its check (which raises ValueError saying what is allowed)
OPTIONS: dict[str, dict[str, Callable[[Any], Any]]] = {
    "jpeg": {"optimize": _boolean, "progressive": _boolean},
    "webp": {"method": _whole(0, 6)},
    "avif": {"speed": _whole(0, 10)},
    "png": {"compress_level": _whole(0, 9)},
}


class OptionProblem(ValueError):
    """An override is wrong: ``key`` is the option (None: the table itself), the message
    says what is allowed."""

    def __init__(self, message: str, key: str | None = None) -> None:
        super().__init__(message)
        self.key = key


def effort(value: Any) -> str:
    """Check ``[images] effort``."""
    if value not in EFFORTS:
        raise ValueError(" or ".join(f'"{name}"' for name in EFFORTS))
    return value


def overrides(fmt: str) -> Callable[[Any], tuple[tuple[str, Any], ...]]:
    """The check of the ``[images.FMT]`` table: its options, sorted (name, value) pairs."""
    checks = OPTIONS[fmt]

    def check(value: Any) -> tuple[tuple[str, Any], ...]:
        allowed = ", ".join(checks)
        if not isinstance(value, dict):
            raise OptionProblem(f"a table of {allowed}, e.g. [images.{fmt}]")
        clean = {}
        for key, item in value.items():
            if key not in checks:
                raise OptionProblem(
                    f"unknown key '{key}' in [images.{fmt}]; allowed: {allowed}", key
                )
            try:
                clean[key] = checks[key](item)
            except ValueError as exc:
                raise OptionProblem(str(exc), key) from None
        return tuple(sorted(clean.items()))

    check.__doc__ = f"[images.{fmt}]: " + ", ".join(checks)
    return check


def encoder_options(
    fmt: str, effort_name: str, given: Mapping[str, tuple[tuple[str, Any], ...]]
) -> tuple[tuple[str, Any], ...]:
    """The options of ``fmt`` for a derivative spec: the effort's preset, with the
    ``[images.FMT]`` overrides over it; sorted (name, value) pairs."""
    return tuple(sorted({**EFFORTS[effort_name][fmt], **dict(given.get(fmt, ()))}.items()))


def effective_options(fmt: str, options: tuple[tuple[str, Any], ...]) -> dict[str, Any]:
    """What a processor encodes ``fmt`` with for a spec's ``options``: the "balanced" preset
    with the spec's options over it (a spec made by hand may give none, or only some)."""
    return {**EFFORTS[DEFAULT_EFFORT][fmt], **dict(options)}
