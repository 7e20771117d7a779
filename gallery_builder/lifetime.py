"""Worker processes that end with the build that started them.

In the core, not in the executor plugin, because a worker imports the initializer by name: a
worker started from a checkout of the project (the current folder first on ``sys.path``) finds
``gallery_builder`` there, where the plugins are not a sub-package.
"""

from __future__ import annotations

import os
import select
import threading
import time


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
