#!/usr/bin/env python3
"""Check that ``benchlib.run_measured`` counts the CPU and memory of a whole process tree.

A command burns a known amount of CPU in the workers of a forkserver
``ProcessPoolExecutor`` (the way ``gallery build -j N`` runs its image work), each worker
first touching a block of memory; the workers report their own ``process_time()``. The check
passes when ``run_measured``'s CPU figure covers all the workers' CPU (and not much more), the
biggest worker's peak RSS covers its block and the main process's does not; it also shows
what a plain ``wait4()`` on the main process reports (the workers missing). Takes about
5 s of CPU. Not a test run in CI (timing): run it by hand after changing benchlib.py::

    python bench/check_benchlib.py
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import benchlib

BURN_SECONDS = 0.6  # CPU seconds per task
TASKS = 6
WORKERS = 2
BLOCK_MIB = 200  # memory each worker touches

BURNER = f"""
import json, multiprocessing, os, time
from concurrent.futures import ProcessPoolExecutor

def burn(seconds):
    block = bytearray({BLOCK_MIB} * 2**20)
    for i in range(0, len(block), 4096):
        block[i] = 1
    t0 = time.process_time()
    while time.process_time() - t0 < seconds:
        pass
    return os.getpid(), time.process_time()

if __name__ == "__main__":
    ctx = multiprocessing.get_context("forkserver")
    with ProcessPoolExecutor({WORKERS}, mp_context=ctx) as pool:
        done = list(pool.map(burn, [{BURN_SECONDS}] * {TASKS}))
    workers = {{}}
    for pid, cpu in done:
        workers[pid] = max(cpu, workers.get(pid, 0.0))
    print(json.dumps({{"workers": workers, "main": time.process_time()}}))
"""


def plain_wait4(cmd: list[str]) -> float:
    """CPU seconds a plain wait4() on the main process reports (no subreaper)."""
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL)
    _, _, usage = os.wait4(proc.pid, 0)
    proc.returncode = 0
    return usage.ru_utime + usage.ru_stime


def main() -> int:
    with tempfile.TemporaryDirectory() as tmp:
        script = Path(tmp, "burner.py")
        script.write_text(BURNER)
        cmd = [sys.executable, str(script)]
        measured = benchlib.run_measured(cmd, cwd=Path(tmp))
        plain = plain_wait4(cmd)
        time.sleep(0.5)  # let the orphaned forkserver of the plain run end
    inside = json.loads(measured.stdout)
    reported = sum(inside["workers"].values()) + inside["main"]
    burnt = BURN_SECONDS * TASKS
    checks = [
        (
            measured.cpu >= reported,
            f"measured CPU {measured.cpu:.2f} s >= the processes' own total {reported:.2f} s",
        ),
        (
            measured.cpu <= reported + 1.0,
            f"measured CPU {measured.cpu:.2f} s <= their total + 1 s of start-ups "
            f"({reported + 1.0:.2f} s)",
        ),
        (
            measured.worker_rss_kib >= BLOCK_MIB * 1024,
            f"largest worker peak RSS {measured.worker_rss_kib / 1024:.0f} MiB >= {BLOCK_MIB} MiB",
        ),
        (
            measured.main_rss_kib < BLOCK_MIB * 1024 / 2,
            f"main process peak RSS {measured.main_rss_kib / 1024:.0f} MiB < {BLOCK_MIB // 2} MiB",
        ),
        (
            measured.processes >= WORKERS + 2,
            f"{measured.processes} processes seen (main, forkserver, {WORKERS} workers, ...)",
        ),
    ]
    print(
        f"burnt {burnt:.2f} s in {WORKERS} forkserver workers; workers report "
        f"{sum(inside['workers'].values()):.2f} s, main {inside['main']:.2f} s"
    )
    print(
        f"run_measured: cpu {measured.cpu:.2f} s, wall {measured.wall:.2f} s, "
        f"{measured.processes} processes: "
        + ", ".join(
            f"{p['name']}{'*' if p['main'] else ''} {p['rss_kib'] // 1024} MiB"
            for p in measured.peaks
        )
    )
    print(f"plain wait4 on the main process: cpu {plain:.2f} s (the workers are missing)")
    failed = 0
    for ok, text in checks:
        print(("ok    " if ok else "FAIL  ") + text)
        failed += not ok
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
