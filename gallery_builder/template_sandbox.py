"""The sandbox themes' templates run in: what a template may reach, and how big a thing it may
make in one step.

Jinja2's ``ImmutableSandboxedEnvironment`` refuses attributes that lead out of the data
(``__class__``, ``__globals__``, ``mro``, anything starting with ``_``) and methods that change
a list or dict in place. On top of it, every step that could make something huge at once is
checked before it runs: ``range`` (Jinja2's own cap), ``*`` (``'a' * 10**10``, ``[0] * n``),
``**`` and ``*`` on integers, ``+`` on strings and lists, ``%`` and ``str.format`` widths,
``str`` methods that pad or replace, and the filters that do the same. What no single step can
show (a loop that never ends, strings doubled in a loop with ``~``) is bounded by the worker
that renders each page (:mod:`gallery_builder.template_worker`): a time and a memory limit.
"""

from __future__ import annotations

import re
import string
from typing import Any

from jinja2 import filters as jinja_filters
from jinja2.sandbox import ImmutableSandboxedEnvironment, SecurityError

#: the most characters (or items) one step of a template may make: far more than any page
MAX_SIZE = 10_000_000
#: the most bits an integer a template computes may have (about 30,000 digits)
MAX_INT_BITS = 100_000
#: a padding width or precision in a format string (``%9999999d``, ``{:>9999999}``)
MAX_WIDTH = 10_000
#: ``lipsum(n)`` paragraphs
MAX_PARAGRAPHS = 1_000

_FORMAT_NUMBER = re.compile(r"\d+")
_PERCENT_FIELD = re.compile(r"%(?:\([^)]*\))?[-#0 +]*(\*|\d+)?(?:\.(\*|\d+))?")
_SEQUENCES = (str, bytes, list, tuple)
#: str methods whose int arguments are a size: center(n), ljust(n), zfill(n), expandtabs(n)
_PADDING_METHODS = {"center", "ljust", "rjust", "zfill", "expandtabs"}


class TemplateLimit(SecurityError):
    """A template asked for more than a page ever needs."""


def _too_big(what: str, size: int, limit: int) -> TemplateLimit:
    return TemplateLimit(f"{what} would have {size:,} items; a template may make {limit:,} at most")


def check_size(what: str, size: int, limit: int = MAX_SIZE) -> None:
    if size > limit:
        raise _too_big(what, size, limit)


def _check_width(number: str) -> None:
    if number == "*":
        raise TemplateLimit("a '*' width in a format string is not allowed in a template")
    if number and (len(number) > 5 or int(number) > MAX_WIDTH):
        raise TemplateLimit(
            f"a width of {int(number):,} in a format string is over the limit of {MAX_WIDTH:,}"
        )


def check_percent_format(spec: str) -> None:
    """Refuse ``'%9999999d' % x`` and ``'%*d' % (n, x)``: padding as big as one likes."""
    for match in _PERCENT_FIELD.finditer(spec):
        _check_width(match[1] or "")
        _check_width(match[2] or "")


def check_brace_format(spec: str) -> None:
    """The same for ``'{:>9999999}'.format(x)``, and a width from an argument (``{:>{}}``)."""
    try:
        fields = list(string.Formatter().parse(spec))
    except ValueError:
        return  # format() itself will say what is wrong
    for _, _, field_spec, _ in fields:
        if field_spec and "{" in field_spec:
            raise TemplateLimit("a width from an argument ({:>{}}) is not allowed in a template")
        for number in _FORMAT_NUMBER.findall(field_spec or ""):
            _check_width(number)


def check_binop(operator: str, left: Any, right: Any) -> None:
    """Check, before it runs, the size of what ``left operator right`` would make."""
    if operator == "*":
        if isinstance(left, int) and isinstance(right, _SEQUENCES):
            left, right = right, left
        if isinstance(left, _SEQUENCES) and isinstance(right, int):
            check_size(f"{type(left).__name__} * {right}", len(left) * max(right, 0))
        elif isinstance(left, int) and isinstance(right, int):
            bits = left.bit_length() + right.bit_length()
            check_size("an integer product (bits)", bits, MAX_INT_BITS)
    elif operator == "**" and isinstance(left, int) and isinstance(right, int) and right > 0:
        bits = max(abs(left).bit_length(), 1) * right if abs(left) > 1 else 1
        check_size("an integer power (bits)", bits, MAX_INT_BITS)
    elif operator == "+" and isinstance(left, _SEQUENCES) and isinstance(right, _SEQUENCES):
        check_size("a concatenation", len(left) + len(right))
    elif operator == "%" and isinstance(left, str):
        check_percent_format(left)


def check_replace(text: str, old: Any, new: Any, count: Any = -1) -> None:
    if isinstance(old, str) and isinstance(new, str):
        pieces = len(text) + 1 if not old else len(text) // len(old)
        if isinstance(count, int) and count >= 0:
            pieces = min(pieces, count)
        check_size("a replace", len(text) + pieces * len(new))


def _int_args(args: tuple[Any, ...], kwargs: dict[str, Any]) -> list[int]:
    return [a for a in (*args, *kwargs.values()) if isinstance(a, int)]


def check_call(obj: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    """Check a call of a ``str`` method that makes a bigger string."""
    owner = getattr(obj, "__self__", None)
    if not isinstance(owner, str):
        return
    name = getattr(obj, "__name__", "")
    if name in _PADDING_METHODS:
        for size in _int_args(args, kwargs):
            scale = len(owner) if name == "expandtabs" else 1
            check_size(f"str.{name}({size})", size * max(scale, 1))
    elif name == "replace" and args:
        check_replace(owner, *args[:3])


# --- filters that make something as big as an argument says -----------------------------------


def _center(value: Any, width: int = 80) -> str:
    check_size(f"center({width})", width if isinstance(width, int) else 0)
    return jinja_filters.do_center(value, width)


def _indent(s: str, width: int | str = 4, first: bool = False, blank: bool = False) -> str:
    size = len(width) if isinstance(width, str) else (width if isinstance(width, int) else 0)
    check_size(f"indent({width!r})", (str(s).count("\n") + 1) * size)
    return jinja_filters.do_indent(s, width, first, blank)


def _slice(value: Any, slices: int, fill_with: Any = None) -> Any:
    check_size(f"slice({slices})", slices if isinstance(slices, int) else 0)
    return jinja_filters.do_slice(value, slices, fill_with)


def _format(value: str, *args: Any, **kwargs: Any) -> str:
    check_percent_format(str(value))
    return jinja_filters.do_format(value, *args, **kwargs)


def _replace_filter() -> Any:
    """The ``replace`` filter (it takes the eval context, for autoescaping), size checked."""
    original = jinja_filters.do_replace

    @jinja_filters.pass_eval_context
    def replace(eval_ctx: Any, s: str, old: str, new: str, count: int | None = None) -> str:
        check_replace(str(s), str(old), str(new), -1 if count is None else count)
        return original(eval_ctx, s, old, new, count)

    return replace


class GallerySandbox(ImmutableSandboxedEnvironment):
    """The environment themes render in (see the module's docstring)."""

    intercepted_binops = frozenset({"*", "**", "+", "%"})

    def __init__(self, **options: Any):
        super().__init__(**options)
        self.filters.update(
            center=_center, indent=_indent, slice=_slice, format=_format, replace=_replace_filter()
        )
        lipsum = self.globals["lipsum"]

        def capped_lipsum(n: int = 5, html: bool = True, min: int = 20, max: int = 100) -> str:
            check_size(f"lipsum({n})", n if isinstance(n, int) else 0, MAX_PARAGRAPHS)
            check_size(f"lipsum(max={max})", max if isinstance(max, int) else 0, MAX_PARAGRAPHS)
            return lipsum(n, html, min, max)

        self.globals["lipsum"] = capped_lipsum

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        check_binop(operator, left, right)
        return super().call_binop(context, operator, left, right)

    def call(__self, __context: Any, __obj: Any, *args: Any, **kwargs: Any) -> Any:
        check_call(__obj, args, kwargs)
        return super().call(__context, __obj, *args, **kwargs)

    def wrap_str_format(self, value: Any) -> Any:
        """``str.format`` and ``format_map``, as the sandbox wraps them, widths checked."""
        wrapped = super().wrap_str_format(value)
        if wrapped is None:
            return None
        spec = value.__self__

        def checked(*args: Any, **kwargs: Any) -> str:
            check_brace_format(spec)
            return wrapped(*args, **kwargs)

        return checked
