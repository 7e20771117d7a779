"""The dask executor (``[build] executor = "dask"``, plugins/dask_executor.py) on a real
``LocalCluster`` of worker processes: the same site as the local executor, byte for byte;
incremental builds; a worker that dies is replaced and its picture made again; the cluster's
failures are one error line; dask is imported only when it is chosen.

One cluster of two workers serves the whole module (started once: it takes seconds); the
builds reach it by its address, as they would a cluster of other machines."""

from __future__ import annotations

import inspect
import json
import logging
import multiprocessing
import os
import socket
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import distributed
import pictures
import pytest
import test_build
import test_incremental
from conftest import gallery, read_manifest, site_files
from gallery_builder.plugins import dask_executor

from gallery_builder import hookimpl
from gallery_builder.model import ImageStep
from gallery_builder.testing import build_gallery, run_cli

WORKERS = 2
#: how many workers may die making one picture on the cluster of the tests that kill them
#: (a worker's death counts against every task it holds: two pictures that die once each may
#: count two deaths each)
MORTAL_FAILURES = 2
#: how long worker processes may take to start, in seconds, on a loaded machine
STARTUP = 120
#: the fixtures of the build tests re-run here (at the end), and used by this module's own
trip = test_build.trip
album = test_incremental.album


@pytest.fixture(scope="module")
def cluster() -> Iterator[distributed.LocalCluster]:
    cluster = dask_executor.local_cluster(distributed, WORKERS)  # as the build starts one
    yield cluster
    cluster.close()


@pytest.fixture(scope="module")
def mortal_cluster() -> Iterator[distributed.LocalCluster]:
    """A cluster for the tests that kill its workers: the others' cluster keeps its own. A
    task is given up after three deaths, not four: each death is a new worker process to
    start, seconds on a busy machine."""
    cluster = dask_executor.local_cluster(distributed, WORKERS, MORTAL_FAILURES)
    yield cluster
    cluster.close()


def use_cluster(source: Path, cluster: distributed.LocalCluster, settings: str = "") -> Path:
    """Make a source folder build on ``cluster``: its gallery.toml's [build]."""
    # a test before may have killed workers: their nannies start new ones, which takes a
    # while on a busy machine (a build waits for one worker, not for the full cluster)
    cluster.wait_for_workers(WORKERS, timeout=STARTUP)
    path = source / "gallery.toml"
    address = cluster.scheduler_address
    path.write_text(f'{settings}[build]\nexecutor = "dask"\nscheduler = "{address}"\n')
    return path


@pytest.fixture
def on_dask(cluster: distributed.LocalCluster) -> Callable[[Path], Path]:
    """Make a source folder build on the module's cluster."""
    return lambda source, settings="": use_cluster(source, cluster, settings)


def tasks_done(cluster: distributed.LocalCluster) -> int:
    """How many of the build's tasks the cluster has finished, ever."""
    prefix = cluster.scheduler.task_prefixes.get(dask_executor.TASK_PREFIX)
    return prefix.state_counts["memory"] if prefix is not None else 0


def deaths(cluster: distributed.LocalCluster) -> int:
    """How many times a worker died running one of the build's tasks."""
    prefix = cluster.scheduler.task_prefixes.get(dask_executor.TASK_PREFIX)
    return prefix.suspicious if prefix is not None else 0


# --- The same site -----------------------------------------------------------------------


@pytest.mark.parametrize("processor", ["pillow", "vips"])
def test_a_dask_build_is_byte_identical_to_a_local_one(
    trip: Path, tmp_path: Path, on_dask, cluster, processor: str
) -> None:
    images = f'[images]\nprocessor = "{processor}"\n'
    (trip / "gallery.toml").write_text(images)
    build_gallery(trip, tmp_path / "local", jobs=2)  # the process pool
    before = tasks_done(cluster)
    on_dask(trip, images)
    result = build_gallery(trip, tmp_path / "dask")
    assert (result.pictures, result.made) == (5, 5)
    assert tasks_done(cluster) - before == 5  # each picture one task, on the cluster
    local, remote = site_files(tmp_path / "local"), site_files(tmp_path / "dask")
    assert "manifest.json" in remote and len(remote) >= 30
    assert remote == local  # every derivative and the manifest


def test_switching_executor_rebuilds_nothing(album: Path, out: Path, on_dask, cluster) -> None:
    build_gallery(album, out, jobs=2)
    on_dask(album)
    before = tasks_done(cluster)
    again = build_gallery(album, out)
    assert (again.written, again.made, again.reused) == ([], 0, 4)
    assert tasks_done(cluster) == before


def test_a_changed_picture_is_remade_on_the_cluster_alone(
    album: Path,
    out: Path,
    tmp_path: Path,
    on_dask,
    cluster,
) -> None:
    on_dask(album)
    build_gallery(album, out)
    pictures.jpeg(album / "b.jpg", (300, 200), taken="2024:01:02 10:00:00", quality=70)
    pictures.png(album / "Sub" / "new.png")
    before = tasks_done(cluster)
    result = build_gallery(album, out)
    assert (result.made, result.reused) == (2, 3)
    assert tasks_done(cluster) - before == 2
    (album / "gallery.toml").unlink()
    build_gallery(album, tmp_path / "clean", jobs=1)
    assert site_files(out) == site_files(tmp_path / "clean")


# --- Workers that die --------------------------------------------------------------------


class DyingSteps:
    """A plugin whose image step ends the worker process: ``once`` at the first try of each
    picture listed (a marker file remembers it), or on every try."""

    def __init__(self, markers: Path, relpaths: set[str], function: str = "exit_once") -> None:
        self.markers = markers
        self.relpaths = relpaths
        self.function = function
        markers.mkdir(exist_ok=True)

    def marker(self, relpath: str) -> Path:
        return self.markers / relpath.replace("/", "_")

    @hookimpl
    def gallery_image_steps(self, source, metadata, config):
        if source.relpath not in self.relpaths:
            return []
        params = {"marker": str(self.marker(source.relpath))}
        return [ImageStep(f"dying_steps:{self.function}", params, version="1")]


def test_a_worker_dying_mid_build_is_retried_and_the_build_succeeds(
    album: Path, tmp_path: Path, mortal_cluster: distributed.LocalCluster
) -> None:
    cluster = mortal_cluster
    use_cluster(album, cluster)
    dying = DyingSteps(tmp_path / "markers", {"a.jpg", "Sub/c.png"})
    died = deaths(cluster)
    result = build_gallery(album, tmp_path / "dask", dying)
    assert (result.pictures, result.made, result.skipped) == (4, 4, [])
    assert dying.marker("a.jpg").exists() and dying.marker("Sub/c.png").exists()
    assert deaths(cluster) - died >= 2  # a worker died for each of them
    # the images made on the second try are those a build without deaths makes
    (album / "gallery.toml").unlink()
    build_gallery(album, tmp_path / "local", dying, jobs=1)  # the markers exist: no exit
    assert site_files(tmp_path / "dask") == site_files(tmp_path / "local")


def test_a_picture_that_keeps_killing_workers_is_one_error_line(
    source: Path,
    out: Path,
    tmp_path: Path,
    mortal_cluster: distributed.LocalCluster,
    caplog: pytest.LogCaptureFixture,
) -> None:
    # the picture alone: a worker's death counts against each task it holds, and in a small
    # build (no queue) a worker may hold another picture's too
    album = source
    pictures.jpeg(album / "b.jpg")
    use_cluster(album, mortal_cluster)
    dying = DyingSteps(tmp_path / "markers", {"b.jpg"}, "exit_always")
    result = run_cli(["build", album, "-o", out], dying)
    assert result.exit_code == 1
    lines = result.output.strip().splitlines()
    assert lines[-1].startswith("Error: the workers of the dask scheduler at tcp://"), lines
    assert f"kept dying while making the images of {album / 'b.jpg'}" in lines[-1]
    assert "Traceback" not in result.output
    tries = dying.marker("b.jpg").read_text().count("died")
    assert tries == MORTAL_FAILURES + 1  # retried, then given up
    # the one line only: nothing from the build's client. (Not the nannies': this test's
    # cluster runs in the test's own process, and a nanny may log the restart of the worker
    # it lost after the build ended; a user's nannies run in processes of their own.)
    logged = [
        r for r in caplog.records
        if r.name.startswith("distributed") and not r.name.startswith("distributed.nanny")
    ]  # fmt: skip
    assert [r for r in logged if r.levelno >= logging.WARNING] == []


# --- The cluster out of reach, dask not installed ------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_a_scheduler_nothing_listens_on_is_one_error_line(source: Path, out: Path) -> None:
    pictures.jpeg(source / "a.jpg")
    address = f"tcp://127.0.0.1:{free_port()}"
    (source / "gallery.toml").write_text(f'[build]\nexecutor = "dask"\nscheduler = "{address}"\n')
    done = gallery(
        "build", source, "-o", out, env={"DASK_DISTRIBUTED__COMM__TIMEOUTS__CONNECT": "1s"}
    )
    assert done.returncode == 1
    assert (
        done.stderr.strip()
        .splitlines()[-1]
        .startswith(f"Error: cannot reach the dask scheduler at {address} ([build] scheduler): ")
    ), done.stderr
    assert "start it (`dask scheduler`)" in done.stderr
    assert "making images" not in done.stderr  # no progress bar started, then left behind
    assert "Traceback" not in done.stderr and "distributed." not in done.stderr


def test_executor_dask_without_dask_installed_says_how_to_install_it(
    source: Path, out: Path, tmp_path: Path
) -> None:
    # a folder first on the path whose `distributed` cannot be imported, as if not installed
    shim = tmp_path / "no-dask" / "distributed"
    shim.mkdir(parents=True)
    (shim / "__init__.py").write_text(
        "raise ModuleNotFoundError(\"No module named 'distributed'\", name='distributed')\n"
    )
    pictures.jpeg(source / "a.jpg")
    done = gallery(
        "build", source, "-o", out, "--executor", "dask",
        env={"PYTHONPATH": str(shim.parent)},
    )  # fmt: skip
    assert done.returncode == 1
    assert done.stderr.strip().splitlines()[-1] == (
        'Error: [build] executor = "dask" needs dask, which is not installed (No module '
        "named 'distributed'): pip install 'gallery-builder[dask]'"
    ), done.stderr
    # the same build with the local executor does not need it
    assert gallery("build", source, "-o", out, env={"PYTHONPATH": str(shim.parent)}).returncode == 0


def test_a_local_build_imports_no_dask(source: Path, out: Path) -> None:
    pictures.jpeg(source / "a.jpg")
    code = textwrap.dedent(f"""
        import sys
        from gallery_builder.cli import main
        try:
            main(["build", {str(source)!r}, "-o", {str(out)!r}, "-j", "2"])
        except SystemExit as exit:
            assert not exit.code, exit.code
        print(sorted(m for m in sys.modules if m.split(".")[0] in ("dask", "distributed")))
    """)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == "[]"
    assert (out / "manifest.json").is_file()


# --- A cluster of its own ----------------------------------------------------------------


def test_without_a_scheduler_the_build_starts_a_cluster_of_j_workers_and_stops_it() -> None:
    others = set(multiprocessing.active_children())
    executor = dask_executor.start("", 2)
    try:
        info = executor._client.scheduler_info()
        assert len(info["workers"]) == 2
        assert {w["nthreads"] for w in info["workers"].values()} == {1}
        assert executor._max_workers == 2
        assert executor.submit(os.getpid).result() != os.getpid()  # another process
        started = set(multiprocessing.active_children()) - others
        assert len(started) == 2
    finally:
        executor.shutdown(wait=True)
    assert executor._cluster.status.name == "closed"
    assert executor._client.status == "closed"
    assert not any(p.is_alive() for p in started)


def test_build_executor_dask_on_the_command_line(source: Path, out: Path, tmp_path: Path) -> None:
    pictures.jpeg(source / "a.jpg")
    pictures.png(source / "b.png")
    result = run_cli(["build", source, "-o", out, "--executor", "dask", "-j", "2"])
    assert result.exit_code == 0, result.output
    assert "2 built" in result.output
    build_gallery(source, tmp_path / "local")
    assert site_files(out) == site_files(tmp_path / "local")
    assert len(read_manifest(out)["images"]) == 2


def test_a_scheduler_in_the_file_serves_executor_dask_on_the_command_line(
    source: Path, out: Path, cluster: distributed.LocalCluster
) -> None:
    # docs/clusters.md: the address kept in gallery.toml, dask chosen for one build
    cluster.wait_for_workers(WORKERS, timeout=STARTUP)
    pictures.jpeg(source / "a.jpg")
    address = cluster.scheduler_address
    (source / "gallery.toml").write_text(f'[build]\nscheduler = "{address}"\n')
    before = tasks_done(cluster)
    result = run_cli(["build", source, "-o", out, "--executor", "dask"])
    assert result.exit_code == 0, result.output
    assert "1 built" in result.output
    assert tasks_done(cluster) == before + 1  # made on that cluster


# --- The build tests that can run on dask ----------------------------------------------------

#: tests of test_build.py and test_incremental.py that run as they are on a build whose
#: gallery.toml says executor = "dask" (those that write their own gallery.toml, or replace
#: the executor, cannot)
ON_DASK = [
    test_build.test_build_writes_the_site_layout,
    test_build.test_manifest_lists_every_file_with_md5_size_type_and_cache_control,
    test_build.test_manifest_describes_every_picture,
    test_build.test_every_local_link_resolves_to_a_file_in_the_site,
    test_build.test_same_slug_in_one_album_gets_a_suffix,
    test_build.test_output_folder_inside_the_source_is_not_scanned,
    test_incremental.test_noop_rebuild_rewrites_nothing,
    test_incremental.test_noop_rebuild_reads_no_picture_and_starts_no_worker,
    test_incremental.test_changed_picture_rebuilds_only_its_own_images,
    test_incremental.test_removed_picture_leaves_the_site_and_the_manifest,
    test_incremental.test_force_rebuilds_everything,
    test_incremental.test_a_deleted_output_file_is_made_again,
    test_incremental.test_a_failed_strict_build_does_not_fool_the_next_build,
]


@pytest.mark.parametrize("test", ON_DASK, ids=lambda test: test.__name__)
def test_the_build_tests_pass_on_dask(
    test: Callable[..., Any], request: pytest.FixtureRequest, source: Path, on_dask, cluster
) -> None:
    on_dask(source)  # before the test's fixtures fill the folder
    before = tasks_done(cluster)
    test(**{name: request.getfixturevalue(name) for name in inspect.signature(test).parameters})
    assert (source / "gallery.toml").read_text().count('executor = "dask"') == 1
    assert tasks_done(cluster) > before  # its pictures were made on the cluster


# --- A scheduler lost during the build -------------------------------------------------------


def scheduler_address(info: Path) -> str:
    """The address in the scheduler's file, once it has written it whole."""
    for _ in range(STARTUP * 10):
        try:
            return json.loads(info.read_text())["address"]
        except (OSError, ValueError, KeyError):  # not there yet, or half-written
            time.sleep(0.1)
    pytest.fail(f"the scheduler wrote no {info} in {STARTUP} s")


@pytest.fixture
def own_scheduler(tmp_path: Path) -> Iterator[tuple[str, subprocess.Popen]]:
    """A scheduler and one worker in processes of their own, as `dask scheduler` and
    `dask worker` start them (the test may kill the scheduler)."""
    info = tmp_path / "scheduler.json"
    tests = str(Path(__file__).resolve().parent)  # the workers import dying_steps
    env = {**os.environ, "PYTHONPATH": tests}
    scheduler = subprocess.Popen(
        [sys.executable, "-m", "distributed.cli.dask_scheduler", "--host", "127.0.0.1",
         "--port", "0", "--no-dashboard", "--scheduler-file", str(info)],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    worker = subprocess.Popen(
        [sys.executable, "-m", "distributed.cli.dask_worker", "--scheduler-file", str(info),
         "--nthreads", "1", "--no-dashboard"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        address = scheduler_address(info)
        with distributed.Client(address, timeout=STARTUP) as client:
            client.wait_for_workers(1, timeout=STARTUP)
        yield address, scheduler
    finally:
        for process in (worker, scheduler):
            process.kill()
            process.wait(timeout=60)


def test_a_scheduler_lost_during_the_build_is_one_error_line(
    album: Path,
    out: Path,
    own_scheduler: tuple[str, subprocess.Popen],
    caplog: pytest.LogCaptureFixture,
) -> None:
    address, scheduler = own_scheduler
    (album / "gallery.toml").write_text(f'[build]\nexecutor = "dask"\nscheduler = "{address}"\n')

    class KillScheduler:
        @hookimpl
        def gallery_image_steps(self, source, metadata, config):
            if source.relpath != "a.jpg":
                return []
            return [ImageStep("dying_steps:kill_scheduler", {"pid": scheduler.pid})]

    result = run_cli(["build", album, "-o", out], KillScheduler())
    assert scheduler.poll() is not None  # the step did kill it
    assert result.exit_code == 1
    assert result.output.strip().splitlines()[-1] == (
        f"Error: lost the connection to the dask scheduler at {address} during the build; "
        "the images made so far are kept: check that the scheduler runs, and build again"
    )
    assert "Traceback" not in result.output
    # and distributed logged nothing of it (it would, with a traceback, on the terminal)
    logged = [r for r in caplog.records if r.name.startswith("distributed")]
    assert [r for r in logged if r.levelno >= logging.WARNING] == []
