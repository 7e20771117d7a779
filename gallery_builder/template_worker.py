"""Rendering one page with a bound on its time and memory, and every failure as one message
that names the template and line.

Each render runs in a child process forked for it (the context is inherited, nothing is
pickled; about 2 ms a page). The parent waits at most ``GALLERY_TEMPLATE_TIMEOUT`` seconds
(default 60), then asks the child where it is (SIGUSR1, answered between two steps of the
template) and kills it. The child also has a memory limit (1 GiB more than the build had) and
a CPU limit, in case the parent is gone. Why a process rather than a check inside the sandbox:
a loop over a list with a constant body, or one C-level step (a join, a huge concatenation),
calls no hook that could count; only a process can always be stopped, and its memory bounded,
without slowing every template down. Where ``os.fork`` does not exist, pages are rendered in
this process, with the sandbox's limits but no time limit.
"""

from __future__ import annotations

import contextlib
import gc
import json
import os
import re
import select
import signal
import time
import traceback
from types import FrameType, TracebackType
from typing import Any

import jinja2

from gallery_builder.errors import SettingError

TIMEOUT_ENV = "GALLERY_TEMPLATE_TIMEOUT"
DEFAULT_TIMEOUT = 60.0
#: memory a page's render may take beyond what the build already has
MEMORY_LIMIT = 1 << 30
#: after the time is up, how long the child has to say where it is
_GRACE = 2.0

_PR_SET_PDEATHSIG = 1
_in_worker = False  # set in a child: a render inside it runs there, not in a grandchild


class TemplateFailure(jinja2.TemplateError):
    """A template failed while rendering: what happened, in which template file and line."""

    def __init__(self, message: str, filename: str | None = None, lineno: int | None = None):
        super().__init__(message)
        self.filename, self.lineno = filename, lineno  # the message is TemplateError.message

    def where(self) -> str:
        if not self.filename:
            return "template"
        return f"template {self.filename}" + (f":{self.lineno}" if self.lineno else "")


def timeout_setting() -> float:
    raw = os.environ.get(TIMEOUT_ENV, "").strip()
    if not raw:
        return DEFAULT_TIMEOUT
    try:
        seconds = float(raw)
    except ValueError:
        seconds = 0.0
    if not seconds > 0:
        raise SettingError(f"{TIMEOUT_ENV}={raw!r}: give the seconds a page may take, e.g. 60")
    return seconds


class BoundedTemplate(jinja2.Template):
    """A template whose ``render`` is bounded in time and memory (see the module)."""

    def render(self, *args: Any, **kwargs: Any) -> str:
        if _in_worker or not hasattr(os, "fork"):
            return self._render_here(*args, **kwargs)
        preload(self.environment, self)
        return _render_in_child(self, args, kwargs, timeout_setting())

    def _render_here(self, *args: Any, **kwargs: Any) -> str:
        try:
            return super().render(*args, **kwargs)
        except TemplateFailure:
            raise
        except Exception as exc:
            raise describe(exc) from None


#: a template's references by a literal name: ``{% extends "base.html" %}``, ``{% include
#: 'x' %}``, ``{% import "m.html" as m %}``, ``{% from "m.html" import f %}``
_REFERENCE = re.compile(r"""\{%[-+]?\s*(?:extends|include|import|from)\s+(["'])(.+?)\1""")


def preload(environment: jinja2.Environment, template: jinja2.Template) -> None:
    """Compile, in this process, the templates ``template`` extends, includes or imports by a
    literal name, and theirs, so that each child finds them compiled (once per build, not
    once per page); not the theme's other templates (``root.html``, ``private.html`` for a
    gallery's pages). A name made at render time, or a template that fails to compile, is
    left for the child that renders it."""
    done: set[str] = environment.__dict__.setdefault("_gallery_preloaded", set())
    todo = [template]
    while todo:
        current = todo.pop()
        if not current.filename or current.filename in done:
            continue
        done.add(current.filename)
        try:
            with open(current.filename, encoding="utf-8") as file:
                names = [m.group(2) for m in _REFERENCE.finditer(file.read())]
        except (OSError, UnicodeDecodeError):
            continue
        for name in names:
            with contextlib.suppress(Exception):
                todo.append(environment.get_template(name, parent=current.name))


# --- describing a failure ---------------------------------------------------------------------


def template_location(tb: TracebackType | FrameType | None) -> tuple[str | None, int | None]:
    """The innermost template file and line in a traceback (or a frame and its callers)."""
    frames: list[tuple[FrameType, int]] = []
    if isinstance(tb, FrameType):
        frame: FrameType | None = tb
        while frame is not None:
            frames.insert(0, (frame, frame.f_lineno))
            frame = frame.f_back
    else:
        frames = list(traceback.walk_tb(tb))
    for frame, lineno in reversed(frames):
        if "__jinja_exception__" in frame.f_globals:  # rewritten by Jinja2: the template's
            return frame.f_code.co_filename, lineno
        template = frame.f_globals.get("__jinja_template__")
        if template is not None:
            line = template.get_corresponding_lineno(lineno)
            return template.filename or template.name, line
    return None, None


def _message(exc: BaseException) -> str:
    if isinstance(exc, jinja2.TemplateNotFound):
        return f"no template {exc.name!r} in the theme (nor in the themes it extends)"
    if isinstance(exc, jinja2.TemplateError):
        return exc.message or type(exc).__name__
    if isinstance(exc, KeyError) and exc.args and isinstance(exc.args[0], str):
        return exc.args[0]  # our helpers' own message (a missing asset, an unknown image)
    if isinstance(exc, RecursionError):
        return "calls nest too deep (RecursionError): a macro that calls itself without end?"
    if isinstance(exc, MemoryError):
        return f"needs more than {MEMORY_LIMIT >> 20} MiB of memory"
    text = str(exc)
    return f"{text} ({type(exc).__name__})" if text else type(exc).__name__


def describe(exc: BaseException) -> TemplateFailure:
    """``exc``, raised while rendering, as a failure naming the template and line."""
    if isinstance(exc, TemplateFailure):
        return exc
    if isinstance(exc, jinja2.TemplateSyntaxError):
        return TemplateFailure(exc.message or "syntax error", exc.filename or exc.name, exc.lineno)
    filename, lineno = template_location(exc.__traceback__)
    return TemplateFailure(_message(exc), filename, lineno)


# --- the child process ------------------------------------------------------------------------


def _render_in_child(
    template: BoundedTemplate, args: tuple[Any, ...], kwargs: dict[str, Any], timeout: float
) -> str:
    read_end, write_end = os.pipe()
    parent = os.getpid()
    try:
        pid = os.fork()
    except OSError as exc:  # out of processes or memory: say so, never a traceback
        os.close(read_end)
        os.close(write_end)
        raise TemplateFailure(
            f"cannot start a process to render it: {exc.strerror or exc}",
            template.filename or template.name,
        ) from None
    if pid == 0:  # the child: render, send the result, never return
        _end_with_parent(parent)
        # no collection in a child that lives for one page: it would touch (and so copy)
        # every page of memory the parent shares with it
        gc.disable()
        os.close(read_end)
        _child(template, args, kwargs, timeout, write_end)
    os.close(write_end)
    try:
        data, timed_out = _read_answer(pid, read_end, timeout)
    finally:
        os.close(read_end)
        status = _stop(pid)
    try:
        answer = json.loads(data)
    except ValueError:
        answer = None
    if isinstance(answer, dict) and isinstance(answer.get("html"), str):
        return answer["html"]
    if isinstance(answer, dict) and isinstance(answer.get("message"), str):
        raise TemplateFailure(answer["message"], answer.get("filename"), answer.get("lineno"))
    if timed_out:
        message = f"took more than {timeout:g} s and did not stop (an endless loop?)"
    elif status is not None and os.WIFSIGNALED(status):
        name = signal.Signals(os.WTERMSIG(status)).name
        message = f"the render was stopped by {name} (out of memory or CPU time?)"
    else:
        message = "the render stopped without an answer"
    raise TemplateFailure(message, template.filename or template.name)


def _stop(pid: int) -> int | None:
    """Kill the child if it still runs, and reap it (its pid is never reused before that)."""
    try:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done == 0:
            os.kill(pid, signal.SIGKILL)
            _, status = os.waitpid(pid, 0)
        return status
    except ChildProcessError:
        return None


def _child(
    template: BoundedTemplate,
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    timeout: float,
    write_end: int,
) -> None:
    global _in_worker
    _in_worker = True
    status = 0
    try:
        signal.signal(signal.SIGINT, signal.SIG_DFL)  # Ctrl+C: the parent reports it

        def where(signum: int, frame: FrameType | None) -> None:
            filename, lineno = template_location(frame)
            message = f"took more than {timeout:g} s (an endless loop?)"
            _send(write_end, {"message": message, "filename": filename, "lineno": lineno})
            os._exit(0)

        signal.signal(signal.SIGUSR1, where)
        _limit_resources(timeout)
        try:
            answer: dict[str, Any] = {"html": template._render_here(*args, **kwargs)}
        except MemoryError:
            _unlimit_memory()
            answer = {"message": _message(MemoryError())}
        except TemplateFailure as failure:
            _unlimit_memory()
            answer = {"message": failure.message, "filename": failure.filename}
            answer["lineno"] = failure.lineno
        _send(write_end, answer)
    except BaseException:
        status = 1
    finally:
        os._exit(status)


def _end_with_parent(parent: int) -> None:
    """A child outlives no build: killed with SIGKILL, the build never stops it, and the
    child would hold the build's lock (an inherited descriptor) until its CPU limit."""
    with contextlib.suppress(OSError, AttributeError):
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)  # Linux: killed when the build dies
    if os.getppid() != parent:  # died before that took effect
        os._exit(1)


def _send(fd: int, answer: dict[str, Any]) -> None:
    data = json.dumps(answer).encode("utf-8")
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def _limit_resources(timeout: float) -> None:
    try:
        import resource
    except ImportError:
        return
    with contextlib.suppress(OSError, ValueError):
        _, hard = resource.getrlimit(resource.RLIMIT_CPU)
        used = resource.getrusage(resource.RUSAGE_SELF)
        seconds = int(used.ru_utime + used.ru_stime + timeout + _GRACE) + 1
        if hard == resource.RLIM_INFINITY or seconds <= hard:
            resource.setrlimit(resource.RLIMIT_CPU, (seconds, hard))
    with contextlib.suppress(OSError, ValueError):
        _, hard = resource.getrlimit(resource.RLIMIT_AS)
        limit = _address_space() + MEMORY_LIMIT
        if hard == resource.RLIM_INFINITY or limit <= hard:
            resource.setrlimit(resource.RLIMIT_AS, (limit, hard))


def _unlimit_memory() -> None:
    """After a MemoryError: room again to describe it and send the answer."""
    with contextlib.suppress(ImportError, OSError, ValueError):
        import resource

        _, hard = resource.getrlimit(resource.RLIMIT_AS)
        resource.setrlimit(resource.RLIMIT_AS, (hard, hard))


def _address_space() -> int:
    """This process's virtual size in bytes (Linux), or 0 where it cannot be known."""
    try:
        with open("/proc/self/statm", "rb") as statm:
            return int(statm.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return 0


def _read_answer(pid: int, fd: int, timeout: float) -> tuple[bytes, bool]:
    """What the child sent, and whether its time ran out. After ``timeout`` the child is
    asked where it is, and has a moment to say so before it is killed."""
    chunks: list[bytes] = []
    deadline = time.monotonic() + timeout
    asked = False
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            if asked:
                return b"", True
            asked = True
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGUSR1)
            chunks.clear()  # a part of a page, if any: only the answer to the signal counts
            deadline = time.monotonic() + _GRACE
            continue
        ready, _, _ = select.select([fd], [], [], remaining)
        if ready:
            chunk = os.read(fd, 1 << 20)
            if not chunk:  # end of the pipe: the child has finished
                return b"".join(chunks), asked
            chunks.append(chunk)
