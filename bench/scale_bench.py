"""100,000 pictures in 500 albums: the no-op rebuild, one changed picture, the publish diff
and the main process's peak memory (issue 12, "Scale").

    python bench/scale_bench.py --workdir /tmp/gb-scale              # 100,000 pictures
    python bench/scale_bench.py --workdir /tmp/gb-scale --count 10000

The pictures (tiny real JPEGs, 64x48 or 48x64, two in three with an EXIF date) are made once
per ``--count``/``--albums`` in the work folder, in parallel, and kept. The site is built into
the work folder once with small settings (:data:`SETTINGS`: the default's shape, 3 sizes in
WebP and JPEG plus a thumbnail in each, 8 images per picture, at sizes that keep the cold
build to minutes) and kept too: a later run only brings it up to date (untimed) before it
measures, unless ``--cold`` asks for a cold build again (timed, once).

Each measured build is a separate process (``gallery build`` through this script's
``--measured`` wrapper, which records the process's own peak RSS, VmHWM). CPU is the whole
process tree's: this script is a child subreaper, so the workers and the forkserver are
reaped here and their time counted by ``getrusage(RUSAGE_CHILDREN)``. The publish diff is
timed in a separate process too: read the built ``manifest.json`` and a remote one (the
manifest before the one-picture change), parse the remote as a publish does, plan
(gallery_builder.plan.plan_publish); and end to end as ``gallery publish --dry-run`` to a
``file://`` target holding that remote manifest.
"""

from __future__ import annotations

import argparse
import ctypes
import datetime as dt
import io
import json
import os
import platform
import random
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from multiprocessing import Pool
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
GENERATOR_VERSION = 1
#: the build settings: every picture gets 3 sizes x 2 formats + a thumbnail in each
SETTINGS = """\
[gallery]
name = "scale"
title = "Scale"

[images]
sizes = [24, 48, 96]
thumbnail = [32, 24]
formats = ["webp", "jpeg"]
quality = 70
"""
PR_SET_CHILD_SUBREAPER = 36


# --- the pictures ----------------------------------------------------------------------------


def album_folder(index: int) -> str:
    """``Year 2003/Album 017``: 500 albums in 25 year folders."""
    return f"Year {2000 + index % 25}/Album {index:03d}"


def picture_bytes(index: int, variant: int = 0) -> bytes:
    """A small real JPEG, different for each ``index`` (and ``variant``)."""
    from PIL import Image, ImageDraw

    rng = random.Random(index * 7919 + variant)
    size = (48, 64) if index % 5 == 0 else (64, 48)
    image = Image.new("RGB", size, tuple(rng.randrange(256) for _ in range(3)))
    draw = ImageDraw.Draw(image)
    for _ in range(4):
        x0, y0 = rng.randrange(size[0]), rng.randrange(size[1])
        box = (x0, y0, x0 + rng.randrange(4, 40), y0 + rng.randrange(4, 30))
        draw.rectangle(box, fill=tuple(rng.randrange(256) for _ in range(3)))
    exif = Image.Exif()
    if index % 3:
        taken = dt.datetime(2000 + index % 25, 1, 1) + dt.timedelta(minutes=index * 37)
        exif.get_ifd(0x8769)[0x9003] = taken.strftime("%Y:%m:%d %H:%M:%S")  # DateTimeOriginal
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=75, exif=exif.tobytes())
    return buffer.getvalue()


def picture_path(src: Path, index: int, albums: int) -> Path:
    return src / album_folder(index % albums) / f"IMG_{index:06d}.jpg"


def _write_pictures(job: tuple[str, int, int, int]) -> int:
    src, start, stop, albums = job
    for index in range(start, stop):
        path = picture_path(Path(src), index, albums)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(picture_bytes(index))
    return stop - start


def ensure_pictures(work: Path, count: int, albums: int, jobs: int) -> Path:
    """The source folder of ``count`` pictures, made once (marked complete outside it)."""
    cache = work / f"pictures-v{GENERATOR_VERSION}-n{count}-a{albums}"
    src, done = cache / "src", cache / "complete"
    if done.exists():
        return src
    shutil.rmtree(cache, ignore_errors=True)
    src.mkdir(parents=True)
    log(f"making {count} pictures in {albums} albums in {src} ...")
    started = time.perf_counter()
    step = 1000
    chunks = [(str(src), s, min(s + step, count), albums) for s in range(0, count, step)]
    with Pool(jobs) as pool:
        made = sum(pool.imap_unordered(_write_pictures, chunks))
    done.write_text(f"{made}\n")
    log(f"  made {made} in {time.perf_counter() - started:.0f} s")
    return src


# --- measured processes ----------------------------------------------------------------------


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def become_subreaper() -> bool:
    """Orphaned descendants (the forkserver, its workers) are re-parented to this process, so
    their CPU time reaches RUSAGE_CHILDREN once reaped."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False


def reap_all() -> None:
    while True:
        try:
            os.wait()
        except ChildProcessError:
            return


def run_measured(args: list[str], label: str) -> dict[str, float]:
    """Run ``gallery ARGS`` in a child process; its wall time, the process tree's CPU time,
    the main process's peak RSS (MiB) and the last line it printed."""
    with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as f:
        report = Path(f.name)
    command = [sys.executable, __file__, "--measured", str(report), "--", *args]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    process = subprocess.run(command, capture_output=True, text=True)
    wall = time.perf_counter() - started
    reap_all()
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if process.returncode != 0:
        sys.exit(f"{label} failed ({process.returncode}):\n{process.stdout}{process.stderr}")
    own = json.loads(report.read_text())
    report.unlink()
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    lines = process.stdout.strip().splitlines()
    log(f"  {label}: {wall:.2f} s wall, {cpu:.2f} s CPU, {own['vmhwm_kib'] / 1024:.0f} MiB")
    return {
        "wall": wall,
        "cpu": cpu,
        "rss_mib": own["vmhwm_kib"] / 1024,
        "last": lines[-2] if len(lines) > 1 else (lines[-1] if lines else ""),
    }


def measured_main(report: Path, args: list[str]) -> None:
    """The ``--measured`` wrapper: the gallery CLI in this process, then its peak RSS."""
    from gallery_builder.cli import main

    code: object = 0
    try:
        main(args)
    except SystemExit as exc:
        code = exc.code
    finally:
        report.write_text(json.dumps({"vmhwm_kib": vmhwm_kib()}))
    sys.exit(code)


def vmhwm_kib() -> int:
    """This process's peak resident set (not its parent's, as ru_maxrss after a fork is)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def plan_main(site: Path, remote: Path) -> None:
    """The ``--plan`` mode: time the publish diff in this process; print JSON."""
    from gallery_builder.manifest import read_remote_manifest, read_site_manifest
    from gallery_builder.plan import plan_publish

    clocks = [(time.perf_counter(), time.process_time())]
    manifest, _ = read_site_manifest(site)
    clocks.append((time.perf_counter(), time.process_time()))
    state = read_remote_manifest(remote.read_bytes())
    clocks.append((time.perf_counter(), time.process_time()))
    plan = plan_publish(manifest["files"], state)
    clocks.append((time.perf_counter(), time.process_time()))
    stages = ("local", "remote", "plan")
    times = {f"{name}": clocks[i + 1][0] - clocks[i][0] for i, name in enumerate(stages)}
    times |= {f"{name}_cpu": clocks[i + 1][1] - clocks[i][1] for i, name in enumerate(stages)}
    times["diff"], times["diff_cpu"] = clocks[3][0] - clocks[1][0], clocks[3][1] - clocks[1][1]
    times["total"], times["total_cpu"] = clocks[3][0] - clocks[0][0], clocks[3][1] - clocks[0][1]
    counts = {"files": len(manifest["files"]), "uploads": len(plan.uploads)}
    counts |= {"deletes": len(plan.deletes), "vmhwm_kib": vmhwm_kib()}
    print(json.dumps(times | counts))


def gallery_build(src: Path, out: Path, conf: Path, jobs: int) -> list[str]:
    return ["build", str(src), "-o", str(out), "--config", str(conf), "-j", str(jobs)]


# --- the benchmark ---------------------------------------------------------------------------


def median_of(runs: list[dict[str, float]], key: str) -> float:
    return statistics.median(r[key] for r in runs)


def machine_line() -> str:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    from PIL import Image

    return (
        f"{os.cpu_count()} CPUs ({cpu}), {memory:.1f} GiB RAM, {platform.platform()}, "
        f"Python {platform.python_version()}, Pillow {Image.__version__}"
    )


def commit() -> str:
    try:
        head = subprocess.run(
            ["git", "-C", str(REPO_ROOT), "log", "-1", "--format=%h"],
            capture_output=True, text=True, check=True,
        ).stdout.strip()  # fmt: skip
        dirty = subprocess.run(
            ["git", "-C", str(REPO_ROOT), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True, text=True, check=True,
        ).stdout.strip()  # fmt: skip
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return head + ("+changes" if dirty else "")


def run(args: argparse.Namespace) -> str:
    work = args.workdir.resolve()
    work.mkdir(parents=True, exist_ok=True)
    if not become_subreaper():
        log("warning: not a child subreaper: the workers' CPU may be missed")
    src = ensure_pictures(work, args.count, args.albums, args.jobs)
    conf = work / "scale.toml"
    conf.write_text(SETTINGS)
    out = work / f"site-n{args.count}-a{args.albums}"
    build = gallery_build(src, out, conf, args.jobs)
    cold = None
    if args.cold or not (out / "manifest.json").exists():
        shutil.rmtree(out, ignore_errors=True)
        log("cold build ...")
        cold = run_measured(build, "cold build")
    else:
        log("bringing the kept site up to date (not timed) ...")
        run_measured(build, "update")
    noops = [run_measured(build, f"no-op #{i + 1}") for i in range(args.repeat)]

    changed = picture_path(src, args.count // 2, args.albums)
    original = changed.read_bytes()
    remote = work / f"remote-manifest-n{args.count}-a{args.albums}.json"
    changes = []
    try:
        for i in range(args.repeat):
            shutil.copyfile(out / "manifest.json", remote)  # what the last publish sent
            changed.write_bytes(picture_bytes(args.count // 2, variant=i + 1))
            changes.append(run_measured(build, f"one changed #{i + 1}"))
    finally:
        changed.write_bytes(original)

    plans = []
    for _ in range(args.repeat):
        process = subprocess.run(
            [sys.executable, __file__, "--plan", str(out), str(remote)],
            capture_output=True, text=True, check=True,
        )  # fmt: skip
        plans.append(json.loads(process.stdout))
    target = work / "publish-target"
    shutil.rmtree(target, ignore_errors=True)
    (target / "scale").mkdir(parents=True)
    shutil.copyfile(remote, target / "scale" / "manifest.json")
    dry = ["publish", target.as_uri(), "--site", str(out), "-d", "scale", "--dry-run"]
    dry_runs = [run_measured(dry, f"publish --dry-run #{i + 1}") for i in range(args.repeat)]
    return report(args, cold, noops, changes, plans, dry_runs)


def report(
    args: argparse.Namespace,
    cold: dict[str, float] | None,
    noops: list[dict[str, float]],
    changes: list[dict[str, float]],
    plans: list[dict[str, float]],
    dry_runs: list[dict[str, float]],
) -> str:
    keys = [f"{s}{c}" for s in ("local", "remote", "plan", "diff", "total") for c in ("", "_cpu")]
    plan = {k: statistics.median(p[k] for p in plans) for k in keys}
    now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    rows = []
    if cold is not None:
        rows.append(("cold build (once)", cold["wall"], cold["cpu"], "", cold["rss_mib"]))
    for name, runs, target in (
        ("no-op rebuild", noops, "< 3 s"),
        ("one changed picture", changes, "< 5 s"),
        ("`gallery publish --dry-run` (one change)", dry_runs, ""),
    ):
        wall, cpu, rss = (median_of(runs, k) for k in ("wall", "cpu", "rss_mib"))
        rows.append((name, wall, cpu, target, rss))
    rows += [
        ("publish: read the built manifest (JSON)", plan["local"], plan["local_cpu"], "", None),
        ("publish diff: check the remote manifest", plan["remote"], plan["remote_cpu"], "", None),
        ("publish diff: plan", plan["plan"], plan["plan_cpu"], "", None),
        ("publish diff (check + plan)", plan["diff"], plan["diff_cpu"], "< 1 s", None),
    ]
    table = [
        f"| {name} | {wall:.2f} | {cpu:.2f} | {target} | {'' if rss is None else f'{rss:.0f}'} |"
        for name, wall, cpu, target, rss in rows
    ]
    lines = [
        f"### {args.count:,} pictures in {args.albums} albums ({now}, commit {commit()})",
        "",
        f"- Machine: {machine_line()}",
        f"- Command: `python bench/scale_bench.py {' '.join(sys.argv[1:])}`",
        f"- Settings: `[images] sizes = [24, 48, 96]`, `thumbnail = [32, 24]`, "
        f'`formats = ["webp", "jpeg"]`, `quality = 70`; `-j {args.jobs}`; '
        f"{plans[0]['files']:,} files in the manifest",
        f"- Load average at the end: {' / '.join(f'{x:.1f}' for x in os.getloadavg())}",
        f"- Median of {args.repeat} run(s) each; each build a separate `gallery build` process; "
        "the publish diff is "
        f"{int(statistics.median(p['uploads'] for p in plans))} uploads and "
        f"{int(statistics.median(p['deletes'] for p in plans))} deletes",
        "",
        "| figure | wall (s) | CPU of the process tree (s) | target "
        "| main process peak RSS (MiB) |",
        "| --- | ---: | ---: | ---: | ---: |",
        *table,
        "",
        f"Last line of a no-op build: `{noops[-1]['last']}`; "
        f"of a one-change build: `{changes[-1]['last']}`",
    ]
    return "\n".join(lines) + "\n"


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/gb-scale"))
    parser.add_argument("--count", type=int, default=100_000, help="pictures (100000)")
    parser.add_argument("--albums", type=int, default=500, help="album folders (500)")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="-j of builds")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each measurement")
    parser.add_argument("--cold", action="store_true", help="time a cold build again")
    parser.add_argument("--output", type=Path, help="also write the report here")
    return parser.parse_args(argv)


def main(argv: list[str]) -> None:
    if argv[:1] == ["--measured"]:
        measured_main(Path(argv[1]), argv[3:])
    if argv[:1] == ["--plan"]:
        plan_main(Path(argv[1]), Path(argv[2]))
        return
    args = parse_args(argv)
    text = run(args)
    print(text)
    if args.output:
        args.output.write_text(text)


if __name__ == "__main__":
    main(sys.argv[1:])
