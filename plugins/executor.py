"""Built-in executor: a process pool with one worker per CPU, or in-process for ``-j 1``."""

from __future__ import annotations

import multiprocessing
import os
import select
import threading
import time
from concurrent.futures import Executor, Future, ProcessPoolExecutor
from typing import Any

from gallery_builder import hookimpl
from gallery_builder.config import Config


class InlineExecutor(Executor):
    """Runs each call at submit, in this process: ``-j 1``, debugging, profiling."""

    _max_workers = 1

    def submit(self, fn: Any, /, *args: Any, **kwargs: Any) -> Future:
        future: Future = Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except BaseException as exc:
            future.set_exception(exc)
        return future


@hookimpl(trylast=True)
def gallery_executor(config: Config, jobs: int | None) -> Executor:
    workers = jobs or os.cpu_count() or 1
    if workers == 1:
        return InlineExecutor()
    # forkserver: workers start from a clean process with the imaging code preloaded, safe
    # with threads in the parent (the progress bar) and cheap to start.
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["gallery_builder.imaging"])
    return ProcessPoolExecutor(
        max_workers=workers,
        mp_context=context,
        initializer=exit_with,
        initargs=(os.getpid(),),
    )


def exit_with(build_pid: int) -> None:
    """Worker initializer: end this worker as soon as the build process ``build_pid`` ends.

    A build killed with SIGKILL never shuts its pool down; its workers (children of the
    forkserver, not of the build) would run on for good, and keep the forkserver and the
    resource tracker alive with them. A daemon thread waits for the build's end and exits."""
    threading.Thread(
        target=_watch, args=(build_pid,), name="exit-with-the-build", daemon=True
    ).start()


def _watch(build_pid: int) -> None:
    try:
        # a pidfd names this very process (no PID reuse) and becomes readable when it ends
        handle = os.pidfd_open(build_pid)
    except ProcessLookupError:
        os._exit(1)  # already gone
    except (AttributeError, OSError):  # not Linux 5.3+: look twice a second
        while _alive(build_pid):
            time.sleep(0.5)
        os._exit(1)
    select.select([handle], [], [])
    os._exit(1)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
