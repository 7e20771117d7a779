"""What the benchmarks in bench/ share: measuring a command's whole process tree, the
machine line, tool versions and writing the report.

Measuring (``run_measured``): the command runs under a small *reaper* process (this file
run as a script) that makes itself a child subreaper (``prctl(PR_SET_CHILD_SUBREAPER)``),
starts the command and reaps every process of its tree with ``wait4(-1)`` until
``ECHILD``. Orphans are re-parented to the reaper instead of init, so the CPU time of
processes nobody else waits for (workers of a ``ProcessPoolExecutor`` started through a
forkserver, whose forkserver outlives the main process) is counted: ``RUSAGE_CHILDREN``
of the command alone misses it. The reaper also samples every live process of the tree
every 50 ms for its peak RSS (``VmHWM``, the high-water mark of its own address space,
reset at exec), so the main process and the biggest worker are told apart. The reaper is
its own process so that the benchmark's other children (a moto server) are never reaped
by mistake, and so that a command's high-water mark does not start at the benchmark's own
(the kernel carries ``ru_maxrss`` over fork and exec). Linux only.

Only the standard library: the reaper starts fast and small.
"""

from __future__ import annotations

import contextlib
import ctypes
import dataclasses
import json
import os
import platform
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from importlib import metadata
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
REPO_ROOT = BENCH_DIR.parent

PR_SET_CHILD_SUBREAPER = 36
SAMPLE_INTERVAL = 0.05  # seconds between two RSS samples of the tree
LINGER = 60.0  # seconds the reaper waits for descendants after the main process ended


def log(msg: str) -> None:
    print(f"[bench] {msg}", file=sys.stderr, flush=True)


class CommandFailed(Exception):
    pass


@dataclasses.dataclass
class Measured:
    """One command's run: its whole process tree."""

    cmd: list[str]
    returncode: int
    wall: float  #: seconds from the start until the main process ended
    tree_wall: float  #: ... until the last process of the tree ended
    user: float  #: user CPU seconds of every process of the tree
    system: float  #: system CPU seconds of every process of the tree
    main_rss_kib: int  #: peak RSS of the main process alone (sampled VmHWM)
    worker_rss_kib: int  #: the largest peak RSS of any other process (0 if there was none)
    maxrss_kib: int  #: the largest ru_maxrss wait4 reported (the biggest single process)
    processes: int  #: processes seen in the tree (sampled or reaped)
    tree_pss_kib: int | None  #: peak of the summed PSS of the tree, if asked for
    stdout: str
    stderr: str
    peaks: list[dict[str, Any]]  #: per process: pid, name, main, rss_kib

    @property
    def cpu(self) -> float:
        return self.user + self.system

    @property
    def seconds(self) -> float:  # the name the older benchmarks use for wall time
        return self.wall

    @property
    def summary(self) -> str:
        """The command's last non-empty output line."""
        lines = [ln.strip() for ln in self.stdout.splitlines() if ln.strip()]
        return lines[-1] if lines else ""

    @property
    def first_line(self) -> str:
        lines = [ln.strip() for ln in self.stdout.splitlines() if ln.strip()]
        return lines[0] if lines else ""


def run_measured(
    cmd: Sequence[str],
    *,
    cwd: Path = REPO_ROOT,
    env: dict[str, str] | None = None,
    tree_pss: bool = False,
    check: bool = True,
) -> Measured:
    """Run ``cmd`` under the reaper and measure its whole process tree (see the module's
    docstring). Raises CommandFailed with the output's tail if it exits non-zero and
    ``check``."""
    cmd = list(cmd)
    fd, result_path = tempfile.mkstemp(prefix="reaper-", suffix=".json")
    os.close(fd)
    try:
        with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
            reaper = [sys.executable, "-I", str(Path(__file__).resolve()), "--reap"]
            reaper += [result_path, str(cwd), "1" if tree_pss else "0", "--", *cmd]
            proc = subprocess.Popen(
                reaper, stdin=subprocess.DEVNULL, stdout=out, stderr=err, env=env
            )
            try:
                proc.wait()
            except BaseException:
                proc.send_signal(signal.SIGTERM)  # the reaper ends its tree
                proc.wait()
                raise
            out.seek(0)
            err.seek(0)
            stdout = out.read().decode(errors="replace")
            stderr = err.read().decode(errors="replace")
        try:
            data = json.loads(Path(result_path).read_text())
        except (OSError, ValueError) as exc:
            raise CommandFailed(
                f"the reaper did not report ({exc}); exit {proc.returncode}:\n{stderr[-2000:]}"
            ) from None
    finally:
        with contextlib.suppress(OSError):
            os.unlink(result_path)
    measured = Measured(cmd=cmd, stdout=stdout, stderr=stderr, **data)
    if check and measured.returncode != 0:
        tail = "\n".join((stderr or stdout).splitlines()[-25:])
        raise CommandFailed(
            f"command failed with exit code {measured.returncode}:\n  {shlex.join(cmd)}\n{tail}"
        )
    return measured


# --------------------------------------------------------------------------
# The reaper (this file run as a script)
# --------------------------------------------------------------------------


def _set_subreaper() -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_CHILD_SUBREAPER) failed")


def _descendants(root: int) -> list[int]:
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        try:
            tasks = os.listdir(f"/proc/{pid}/task")
        except OSError:
            continue
        for tid in tasks:
            try:
                with open(f"/proc/{pid}/task/{tid}/children") as fh:
                    kids = [int(k) for k in fh.read().split()]
            except (OSError, ValueError):
                continue
            found += kids
            todo += kids
    return found


def _status(pid: int) -> tuple[str, int] | None:
    """(name, VmHWM in KiB) of a live process, None if it is gone or a zombie."""
    name, hwm = "?", None
    try:
        with open(f"/proc/{pid}/status") as fh:
            for line in fh:
                if line.startswith("Name:"):
                    name = line.split(None, 1)[1].strip()
                elif line.startswith("VmHWM:"):
                    hwm = int(line.split()[1])
                    break
    except (OSError, ValueError, IndexError):
        return None
    return None if hwm is None else (name, hwm)


def _pss_kib(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/smaps_rollup") as fh:
            for line in fh:
                if line.startswith("Pss:"):
                    return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return 0


class _Sampler(threading.Thread):
    def __init__(self, main_pid: int, tree_pss: bool) -> None:
        super().__init__(daemon=True)
        self.main_pid = main_pid
        self.tree_pss = tree_pss
        self.peaks: dict[int, list[Any]] = {}  # pid -> [name, rss_kib]
        self.pss_peak = 0
        self.stop_event = threading.Event()
        self.lock = threading.Lock()

    def sample(self) -> None:
        pids = _descendants(os.getpid())
        pss = 0
        with self.lock:
            for pid in pids:
                got = _status(pid)
                if got is None:
                    continue
                entry = self.peaks.setdefault(pid, [got[0], 0])
                entry[0] = got[0]
                entry[1] = max(entry[1], got[1])
                if self.tree_pss:
                    pss += _pss_kib(pid)
            self.pss_peak = max(self.pss_peak, pss)

    def run(self) -> None:
        while not self.stop_event.is_set():
            self.sample()
            self.stop_event.wait(SAMPLE_INTERVAL)


def _reap(result_path: str, cwd: str, tree_pss: bool, cmd: list[str]) -> int:
    _set_subreaper()
    os.chdir(cwd)
    t0 = time.perf_counter()
    main = os.posix_spawnp(cmd[0], cmd, os.environ)
    sampler = _Sampler(main, tree_pss)
    sampler.start()

    def end_tree(signum: int, _frame: Any) -> None:
        for pid in _descendants(os.getpid()):
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)

    signal.signal(signal.SIGTERM, end_tree)
    user = system = 0.0
    maxrss = 0
    reaped: set[int] = set()
    returncode = -1
    wall = None
    while True:
        try:
            if wall is not None and time.perf_counter() - t0 - wall > LINGER:
                end_tree(0, None)
            pid, status, usage = os.wait4(-1, os.WNOHANG if wall is not None else 0)
        except ChildProcessError:
            break
        except InterruptedError:
            continue
        if pid == 0:  # the main process has ended, descendants live on
            time.sleep(0.01)
            continue
        user += usage.ru_utime
        system += usage.ru_stime
        maxrss = max(maxrss, usage.ru_maxrss)
        reaped.add(pid)
        if pid == main:
            wall = time.perf_counter() - t0
            returncode = os.waitstatus_to_exitcode(status)
    tree_wall = time.perf_counter() - t0
    sampler.stop_event.set()
    sampler.join()
    peaks = [
        {"pid": pid, "name": name, "main": pid == main, "rss_kib": rss}
        for pid, (name, rss) in sorted(sampler.peaks.items())
    ]
    others = [p["rss_kib"] for p in peaks if not p["main"]]
    data = {
        "returncode": returncode,
        "wall": wall if wall is not None else tree_wall,
        "tree_wall": tree_wall,
        "user": user,
        "system": system,
        "main_rss_kib": sum(p["rss_kib"] for p in peaks if p["main"]),
        "worker_rss_kib": max(others, default=0),
        "maxrss_kib": maxrss,
        "processes": len(reaped | set(sampler.peaks)),
        "tree_pss_kib": sampler.pss_peak if tree_pss else None,
        "peaks": peaks,
    }
    Path(result_path).write_text(json.dumps(data))
    return 0


# --------------------------------------------------------------------------
# The machine and the tools
# --------------------------------------------------------------------------


def dist_version(name: str) -> str:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "not installed"


def which_script(name: str) -> str | None:
    """A console script, preferring the running interpreter's bin dir; a pyenv shim
    (a shell script that costs 0.1-0.3 s per call) is resolved to the real script."""
    bindir = str(Path(sys.executable).parent)
    found = shutil.which(name, path=os.pathsep.join([bindir, os.environ.get("PATH", "")]))
    if found and f"{os.sep}shims{os.sep}" in found:
        try:
            real = subprocess.run(
                ["pyenv", "which", name], capture_output=True, text=True, timeout=30, check=True
            ).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            real = ""
        if real and Path(real).is_file():
            return real
        log(f"warning: {found} is a shim; its start-up overhead is included in the timings")
    return found


def probe(cmd: list[str], cwd: Path = REPO_ROOT) -> tuple[bool, str]:
    """Whether ``cmd`` runs and exits 0, and its output."""
    try:
        res = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=120, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return False, str(exc)
    return res.returncode == 0, (res.stdout + res.stderr).strip()


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.lower().startswith(("model name", "hardware", "cpu model")):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def mem_total() -> str:
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemTotal:"):
                    return f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
    except OSError:
        pass
    return "unknown"


def load_average() -> str:
    try:
        return " / ".join(f"{v:.2f}" for v in os.getloadavg()) + " (1 / 5 / 15 min)"
    except OSError:
        return "unknown"


def pillow_line() -> str:
    try:
        import PIL
        from PIL import features
    except ImportError:
        return "Pillow not installed"
    jpeg = features.version("libjpeg_turbo") or features.version("jpg") or "?"
    turbo = "libjpeg-turbo" if features.check("libjpeg_turbo") else "libjpeg"
    webp = features.version("webp") or "?"
    return f"Pillow {PIL.__version__} ({turbo} {jpeg}, libwebp {webp})"


def machine_lines(tool_versions: Sequence[str] = ()) -> list[str]:
    """The report's machine and tool lines; ``tool_versions`` like ``["sigal 2.6.1"]``."""
    affinity = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None
    lines = [
        f"- Machine: {os.cpu_count()} CPUs (usable: {affinity}), {cpu_model()}, "
        f"{mem_total()} RAM, {platform.platform()}",
        f"- Python {platform.python_version()}, {pillow_line()}",
        f"- Load average when the report was written: {load_average()}",
    ]
    if tool_versions:
        lines.append(f"- Tools: {', '.join(tool_versions)}")
    return lines


def command_line() -> str:
    """How this benchmark was started, for the report."""
    return shlex.join(["python", *sys.argv])


def now_stamp() -> str:
    return time.strftime("%Y-%m-%d %H:%M %Z", time.localtime())


def emit_report(report: str, output: Path | None) -> None:
    """Print the report; with ``--output``, append it to that file too."""
    print(report)
    if output:
        output.parent.mkdir(parents=True, exist_ok=True)
        with output.open("a", encoding="utf-8") as fh:
            if fh.tell() > 0:
                fh.write("\n")
            fh.write(report)
        log(f"appended the report to {output}")


def fmt_mib(kib: int | None) -> str:
    return "—" if kib is None else f"{kib / 1024:.0f}"


if __name__ == "__main__" and sys.argv[1:2] == ["--reap"]:
    _path, _cwd, _pss, _sep, *_cmd = sys.argv[2:]
    sys.exit(_reap(_path, _cwd, _pss == "1", _cmd))
