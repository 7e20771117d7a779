"""How a worker process runs libvips: its threads, no operation cache, and fewer malloc arenas.

Imported by the worker (never by the main process unless the vips processor is chosen).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os

import pyvips
from gallery_builder.plugins.vips import ARENA_VARIABLE, ARENAS

#: glibc's mallopt() parameter for the most arenas (malloc.h: M_ARENA_MAX). The variable
#: MALLOC_ARENA_MAX=2 (ARENA_VARIABLE, ARENAS): by default each of libvips' threads gets an
#: arena of its own (up to 8 per core), which a long-lived worker never gives back, so its
#: memory creeps up picture after picture
_M_ARENA_MAX = -8

_state = {"threads": 0, "ready": False}


def limit_malloc_arenas() -> None:
    """``MALLOC_ARENA_MAX=2`` in this process: in its environment (for the processes it starts)
    and, since glibc reads the variable only when a process starts (a forked worker has its
    parent's setting), through mallopt() now. A value the user set is kept."""
    os.environ.setdefault(ARENA_VARIABLE, ARENAS)
    try:
        arenas = int(os.environ[ARENA_VARIABLE])
    except ValueError:
        return
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name) if name else None
        if libc is not None and hasattr(libc, "mallopt"):
            libc.mallopt(_M_ARENA_MAX, arenas)
    except OSError:  # not glibc (musl, macOS): nothing to limit
        pass


def prepare(threads: int) -> None:
    """Set this process up for a job allowed ``threads`` threads: libvips' own thread pool
    sized to fit the worker count, and its operation cache off (it keys loads by file name,
    so a picture rewritten in place would be read from the cache, and it keeps files open)."""
    if not _state["ready"]:
        limit_malloc_arenas()
        pyvips.cache_set_max(0)
        pyvips.cache_set_max_files(0)
        pyvips.cache_set_max_mem(0)
        _state["ready"] = True
    threads = max(1, int(threads))
    if _state["threads"] != threads:
        pyvips.concurrency_set(threads)
        _state["threads"] = threads
