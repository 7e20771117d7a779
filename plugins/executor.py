"""Built-in executor: a process pool with one worker per CPU, or in-process for ``-j 1``."""

from __future__ import annotations

import multiprocessing
import os
import sys
from concurrent.futures import Executor, Future, ProcessPoolExecutor
from typing import Any

from gallery_builder import hookimpl
from gallery_builder.config import Config
from gallery_builder.lifetime import exit_with


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


def worker_preload() -> list[str]:
    """What the forkserver imports once for every worker: the imaging code and, when the
    build runs from the ``gallery`` command, the CLI. Each worker runs the parent's main
    script again (multiprocessing's ``__mp_main__``; Python 3.11's forkserver cannot preload
    ``__main__`` itself), and that script imports gallery_builder.cli: 0.3 CPU-s in every
    worker unless the forkserver has it already."""
    modules = ["gallery_builder.imaging", "gallery_builder.processors"]
    if "gallery_builder.cli" in sys.modules:
        modules.append("gallery_builder.cli")
    return modules


@hookimpl(trylast=True)
def gallery_executor(config: Config, jobs: int | None) -> Executor:
    workers = jobs or os.cpu_count() or 1
    if workers == 1:
        return InlineExecutor()
    # forkserver: workers start from a clean process with the imaging code preloaded, safe
    # with threads in the parent (the progress bar) and cheap to start.
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(worker_preload())
    return ProcessPoolExecutor(
        max_workers=workers,
        mp_context=context,
        initializer=exit_with,
        initargs=(os.getpid(),),
    )
