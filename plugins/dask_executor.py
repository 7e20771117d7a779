"""The dask executor: the image work of a build on a ``distributed`` cluster.

Chosen with ``[build] executor = "dask"`` (or ``gallery build --executor dask``). With
``[build] scheduler = "tcp://host:port"`` the work goes to that running cluster; without, the
build starts a cluster of ``-j`` worker processes on this machine (one per CPU) and stops it
at the end. Each task is the same picklable call the local pool runs, over plain data with
absolute paths: a real cluster needs those paths on every worker (docs/clusters.md).

dask is an optional extra (``pip install 'gallery-builder[dask]'``) and is imported only when
it is chosen: a build with the local executor never imports it. A worker that dies while
making a picture's images is replaced and the picture tried again on another, up to
:data:`ALLOWED_FAILURES` times; a scheduler that cannot be reached, or is lost, or a picture
that keeps killing workers, is one :class:`~gallery_builder.errors.GalleryError` line.
"""

from __future__ import annotations

import logging
import os
import threading
import uuid
from concurrent.futures import CancelledError, Executor, Future
from typing import Any

from gallery_builder import hookimpl
from gallery_builder.config import Config
from gallery_builder.errors import GalleryError

INSTALL = "pip install 'gallery-builder[dask]'"
#: times a task may be on a worker that dies before the scheduler gives up on it; the
#: scheduler's own setting, so it applies to the cluster this plugin starts (a running
#: scheduler has its own: docs/clusters.md)
ALLOWED_FAILURES = 3
#: the environment of the workers this plugin starts: glibc's per-thread malloc arenas make a
#: long-running image worker's memory creep (libvips especially)
WORKER_ENVIRONMENT = {"MALLOC_ARENA_MAX": "2"}
#: how long the build's own cluster may be without a worker before its pictures fail
NO_WORKERS_TIMEOUT = "2 minutes"
#: the name of the build's tasks on the cluster (its dashboard, its logs)
TASK_PREFIX = "gallery-images"


@hookimpl
def gallery_executor(config: Config, jobs: int | None) -> Executor | None:
    if config.build.executor != "dask":
        return None
    return start(config.build.scheduler, jobs)


def start(scheduler: str, jobs: int | None) -> DaskExecutor:
    """A client of the cluster at ``scheduler``, or of a new local one of ``jobs`` workers."""
    try:
        import distributed
    except ImportError as exc:
        raise GalleryError(
            f'[build] executor = "dask" needs dask, which is not installed ({exc}): {INSTALL}'
        ) from None
    if scheduler:
        return DaskExecutor(
            _connect(distributed, scheduler), None, f"the dask scheduler at {scheduler}"
        )
    workers = jobs or os.cpu_count() or 1
    cluster = local_cluster(distributed, workers)
    try:
        client = distributed.Client(cluster, set_as_default=False)
    except BaseException:
        cluster.close()
        raise
    return DaskExecutor(client, cluster, f"the local dask cluster ({workers} workers)")


def local_cluster(distributed: Any, workers: int, allowed_failures: int = ALLOWED_FAILURES) -> Any:
    """A ``LocalCluster`` of ``workers`` single-threaded worker processes, for one build; a
    task is tried again on a new worker until ``allowed_failures`` workers died making it."""
    import dask

    with dask.config.set(
        {
            "distributed.scheduler.allowed-failures": allowed_failures,
            # one task on a worker at a time (not 1.1 per thread): a worker that dies takes
            # the blame of only the picture it was making, not of the one queued behind it
            "distributed.scheduler.worker-saturation": 1.0,
            # workers that cannot be started again (a machine out of memory) fail the build
            # rather than leave it waiting for good
            "distributed.scheduler.no-workers-timeout": NO_WORKERS_TIMEOUT,
            "distributed.nanny.pre-spawn-environ": {
                **dask.config.get("distributed.nanny.pre-spawn-environ", {}),
                **WORKER_ENVIRONMENT,
            },
        }
    ):
        return distributed.LocalCluster(
            n_workers=workers,
            threads_per_worker=1,
            processes=True,
            dashboard_address=None,  # no dashboard; its health routes on a port of their own:
            scheduler_kwargs={"dashboard_address": "127.0.0.1:0"},  # no clash, no warning
            silence_logs=logging.ERROR,  # a worker's death is retried; say nothing of it
        )


def _connect(distributed: Any, scheduler: str) -> Any:
    """A client of the running scheduler, with at least one worker."""
    import dask

    timeout = dask.config.get("distributed.comm.timeouts.connect")
    try:
        client = distributed.Client(scheduler, set_as_default=False, timeout=timeout)
    except (OSError, TimeoutError) as exc:
        raise GalleryError(
            f"cannot reach the dask scheduler at {scheduler} ([build] scheduler): "
            f"{_reason(exc)}; start it (`dask scheduler`) and its workers (`dask worker "
            f"{scheduler}`), or leave scheduler empty for a cluster on this machine"
        ) from None
    try:
        client.wait_for_workers(1, timeout=timeout)
    except (OSError, TimeoutError):
        client.close()
        raise GalleryError(
            f"the dask scheduler at {scheduler} has no workers (waited {timeout}): start some "
            f"with `dask worker {scheduler}` on machines that share the build's folders "
            f"(docs/clusters.md)"
        ) from None
    return client


def _quiet(package: str) -> list[tuple[logging.Logger, int]]:
    """Only critical messages from the loggers of ``package`` (each has its own level); the
    levels they had, to restore."""
    names = [package, *(n for n in logging.root.manager.loggerDict if n.startswith(package + "."))]
    loggers = [logging.getLogger(name) for name in names]
    levels = [(logger, logger.level) for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.CRITICAL)
    return levels


def _reason(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__


class DaskExecutor(Executor):
    """A :class:`concurrent.futures.Executor` over a ``distributed`` client; shutting it down
    closes the client and the cluster it started, if any.

    A task's own exception comes back as it is; the failures of the cluster come back as a
    :class:`GalleryError` naming it: a task that killed :data:`ALLOWED_FAILURES` workers
    (``KilledWorker``), or tasks cancelled because the scheduler was lost."""

    def __init__(self, client: Any, cluster: Any | None, where: str) -> None:
        self._client = client
        self._cluster = cluster
        self._where = where
        self._pending: set[Any] = set()  # dask forgets a task whose future is dropped
        self._lock = threading.Lock()
        self._shutdown = False
        #: what derivatives.py sizes its window of jobs in flight by: the cluster's threads
        self._max_workers = sum(client.nthreads().values()) or 1
        # distributed logs, with tracebacks, what this executor reports in one line (a lost
        # scheduler, a dead worker): quiet until shut down
        self._log_levels = _quiet("distributed")

    def submit(self, fn: Any, /, *args: Any, **kwargs: Any) -> Future:
        if self._shutdown:
            raise RuntimeError("cannot schedule new futures after shutdown")
        result: Future = Future()
        result.set_running_or_notify_cancel()
        # named for the dashboard and the scheduler's counts: "gallery-images-<hex>"
        key = f"{TASK_PREFIX}-{uuid.uuid4().hex}"
        # no retries of a task that raised: that is a bug, the same on every try (a worker
        # that dies is another matter: the scheduler tries again, up to allowed-failures)
        task = self._client.submit(fn, *args, key=key, pure=False, retries=0, **kwargs)
        with self._lock:
            self._pending.add(task)
        subject = getattr(args[0], "source_path", None) if args else None
        task.add_done_callback(lambda done: self._settle(done, result, subject))
        return result

    def _settle(self, task: Any, result: Future, subject: str | None) -> None:
        from distributed import KilledWorker
        from distributed.scheduler import NoValidWorkerError

        with self._lock:
            self._pending.discard(task)
        try:
            result.set_result(task.result())
        except KilledWorker:
            what = f"the images of {subject}" if subject else "a task"
            result.set_exception(
                GalleryError(
                    f"the workers of {self._where} kept dying while making {what} (out "
                    f"of memory, or a crash in an image library); the images made so far "
                    f"are kept: see the workers' logs, leave the picture out, or give the "
                    f"workers more memory"
                )
            )
        except NoValidWorkerError:
            result.set_exception(
                GalleryError(
                    f"{self._where} has had no worker to make the images for a while (its "
                    f"workers died, and none was started again); the images made so far are "
                    f"kept: start workers, or give them more memory"
                )
            )
        except CancelledError:
            result.set_exception(
                GalleryError(
                    f"lost the connection to {self._where} during the build; the images "
                    f"made so far are kept: check that the scheduler runs, and build again"
                )
            )
        except BaseException as exc:
            result.set_exception(exc)

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        if self._shutdown:
            return
        self._shutdown = True
        with self._lock:
            pending = list(self._pending)
        try:
            if pending and (cancel_futures or not wait):
                self._client.cancel(pending)
            elif pending:
                from distributed import wait as wait_for

                wait_for(pending)
        finally:
            try:
                self._client.close()
                if self._cluster is not None:
                    self._cluster.close()
            finally:
                for logger, level in self._log_levels:
                    logger.setLevel(level)
