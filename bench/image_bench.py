#!/usr/bin/env python3
"""Image processing: gallery-builder (Pillow and vips) against sigal and bare loops.

A measurement tool, not a test. Every command runs under bench/benchlib.py's reaper, so
its CPU time is that of its whole process tree (forkserver workers included), and every
one makes the same files from the same photos with the same ``-j`` (sigal ``-n``):

1. **matched** (the issue's job): N photos of 4000x3000 (every 5th portrait), each made
   into one JPEG of long edge 2048 px and one 200x150 centre crop, quality 85: sigal,
   gallery-builder with Pillow, with vips, and the bare Pillow and pyvips loops of
   bench/image_floors.py (the floors). CPU seconds per photo and the ratios.
2. **default**: gallery-builder's default image settings (640, 1280 and 2048 px and the
   400x300 thumbnail, each in WebP and JPEG) on 24 MP photos (6000x4000), each processor
   against the bare loops making the same files; where the time goes, measured in-process
   in the bare loops (``image_floors.py --profile``); peak RSS of the main process and of
   the largest worker.
3. **encoders**: bench/encoder_settings.py's table (cost, size and SSIM of the encoder
   settings), when it is there.

The output files of every run are read back (format, dimensions, bytes, progressive JPEG)
and summed up in the report, so that "the same work" is checked, not assumed. The photos
are cached in ``--workdir``. See bench/README.md.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import photos as ph
from benchlib import (
    BENCH_DIR,
    REPO_ROOT,
    CommandFailed,
    Measured,
    command_line,
    dist_version,
    emit_report,
    log,
    machine_lines,
    now_stamp,
    probe,
    run_measured,
    which_script,
)
from image_report import report

TOOLS = {
    "sigal": "sigal",
    "ours-pillow": "gallery-builder, Pillow",
    "ours-vips": "gallery-builder, vips",
    "floor-pillow": "bare Pillow loop",
    "floor-vips": "bare pyvips loop",
}


def balanced_options() -> dict[str, dict[str, Any]]:
    """The encoder options every tool and floor is given: gallery-builder's default effort
    ("balanced"), read from its code so that the floors follow it."""
    try:
        from gallery_builder.encoder_settings import DEFAULT_EFFORT, EFFORTS
    except ImportError:  # a gallery-builder without effort presets: its fixed options
        return {"jpeg": {"optimize": True, "progressive": True}, "webp": {"method": 4}}
    return EFFORTS[DEFAULT_EFFORT]


OPTIONS = balanced_options()
JPEG_OPTIONS = OPTIONS["jpeg"]
WEBP_OPTIONS = OPTIONS["webp"]


@dataclass(frozen=True)
class Job:
    key: str
    title: str
    sizes: tuple[int, ...]
    thumbnail: tuple[int, int]
    formats: tuple[str, ...]
    quality: dict[str, int]
    photo: tuple[int, int]
    count: int
    tools: tuple[str, ...]

    def as_json(self) -> dict[str, Any]:
        options = {"jpeg": JPEG_OPTIONS, "webp": WEBP_OPTIONS}
        return {
            "sizes": list(self.sizes),
            "thumbnail": list(self.thumbnail),
            "formats": list(self.formats),
            "quality": self.quality,
            "options": {f: options[f] for f in self.formats if f in options},
        }

    def our_config(self, processor: str) -> str:
        fmts = ", ".join(f'"{f}"' for f in self.formats)
        quality = ", ".join(f"{f} = {q}" for f, q in self.quality.items())
        lines = [
            "# Written by bench/image_bench.py",
            "[gallery]",
            'name = "bench"',
            'title = "Bench"',
            "[images]",
            f"sizes = [{', '.join(map(str, self.sizes))}]",
            f"thumbnail = [{self.thumbnail[0]}, {self.thumbnail[1]}]",
            f"formats = [{fmts}]",
            f"quality = {{ {quality} }}",
        ]
        if processor != "pillow":
            lines.append(f'processor = "{processor}"')
        return "\n".join(lines) + "\n"

    def sigal_config(self) -> str:
        edge = max(self.sizes)
        jpg = {"quality": self.quality["jpeg"], **JPEG_OPTIONS}
        return f"""\
# Written by bench/image_bench.py for sigal {dist_version("sigal")}: one JPEG of long edge
# {edge} px (ResizeToFit in a square box, never upscaled) and one {self.thumbnail[0]}x
# {self.thumbnail[1]} centre crop per photo; no originals, videos, zip or plugins.
title = "Bench"
img_processor = "ResizeToFit"
img_size = ({edge}, {edge})
img_format = "JPEG"
jpg_options = {jpg!r}
autorotate_images = True
copy_exif_data = False
make_thumbs = True
thumb_size = ({self.thumbnail[0]}, {self.thumbnail[1]})
thumb_fit = True
thumb_fit_centering = (0.5, 0.5)
keep_orig = False
use_orig = False
video_extensions = []
zip_gallery = False
write_html = True
theme = "colorbox"
plugins = []
"""


def make_jobs(args: argparse.Namespace) -> list[Job]:
    jobs = []
    if "matched" in args.jobs_to_run:
        jobs.append(
            Job(
                "matched",
                "matched job: one 2048 px JPEG and one 200x150 crop per photo",
                (2048,),
                (200, 150),
                ("jpeg",),
                {"jpeg": 85},
                (args.width, args.height),
                args.count,
                tuple(TOOLS),
            )
        )
    if "default" in args.jobs_to_run:
        jobs.append(
            Job(
                "default",
                "default settings: 640, 1280, 2048 px and the 400x300 thumbnail, WebP and JPEG",
                (640, 1280, 2048),
                (400, 300),
                ("webp", "jpeg"),
                {"webp": 80, "jpeg": 85},
                (args.big_width, args.big_height),
                args.big_count,
                ("ours-pillow", "ours-vips", "floor-pillow", "floor-vips"),
            )
        )
    return jobs


@dataclass
class Outputs:
    """What a run wrote: per (format, width x height) the count and bytes."""

    shapes: Counter[tuple[str, int, int]] = field(default_factory=Counter)
    bytes: Counter[tuple[str, int, int]] = field(default_factory=Counter)
    progressive: Counter[bool] = field(default_factory=Counter)

    def add(self, path: Path) -> None:
        from PIL import Image

        try:
            with Image.open(path) as im:
                key = (im.format.lower(), *im.size)
                if im.format == "JPEG":
                    self.progressive[bool(im.info.get("progressive"))] += 1
        except OSError:
            return
        self.shapes[key] += 1
        self.bytes[key] += path.stat().st_size


def outputs_of(root: Path) -> Outputs:
    found = Outputs()
    for path in sorted(root.rglob("*")):
        if (
            path.suffix.lower() in (".jpg", ".jpeg", ".webp", ".avif", ".png")
            and ".gallery" not in path.parts
        ):
            found.add(path)
    return found


@dataclass
class Bench:
    args: argparse.Namespace
    work: Path
    ours: list[str]
    sigal: list[str] | None
    runs: dict[tuple[str, str], list[Measured]] = field(default_factory=lambda: defaultdict(list))
    outputs: dict[tuple[str, str], Outputs] = field(default_factory=dict)
    unavailable: dict[tuple[str, str], str] = field(default_factory=dict)
    profiles: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    fixed: dict[tuple[str, str], list[float]] = field(default_factory=lambda: defaultdict(list))
    photos: dict[str, ph.PhotoSet] = field(default_factory=dict)
    commands: dict[tuple[str, str], str] = field(default_factory=dict)

    def command(self, job: Job, tool: str, src: Path, out: Path) -> list[str]:
        conf_dir = self.work / "config"
        conf_dir.mkdir(exist_ok=True)
        n = str(self.args.j)
        if tool.startswith("ours-"):
            conf = conf_dir / f"{job.key}-{tool}.toml"
            conf.write_text(job.our_config(tool.removeprefix("ours-")))
            return [*self.ours, "build", str(src), "-o", str(out), "-j", n, "--config", str(conf)]
        if tool == "sigal":
            assert self.sigal is not None
            conf = conf_dir / f"{job.key}-sigal.conf.py"
            conf.write_text(job.sigal_config())
            return [*self.sigal, "build", "-c", str(conf), "-n", n, str(src), str(out)]
        spec = conf_dir / f"{job.key}.json"
        spec.write_text(json.dumps(job.as_json()))
        floor = str(BENCH_DIR / "image_floors.py")
        kind = tool.removeprefix("floor-")
        return [sys.executable, floor, kind, str(spec), str(src), str(out), "-j", n]

    def display(self, cmd: list[str], src: Path, out: Path) -> str:
        swap = {str(src): "SRC", str(out): "OUT", sys.executable: "python"}
        shown = [swap.get(c, c) for c in cmd]
        shown = [
            c.replace(str(self.work), "WORKDIR").replace(str(REPO_ROOT) + "/", "") for c in shown
        ]
        return shlex.join(shown)

    def run_job(self, job: Job) -> None:
        specs = ph.plan_photos(job.count, job.photo, 2, self.args.seed, ph.SOURCE_QUALITY)
        cache = ph.cache_dir(self.work, job.photo, job.count, 2, self.args.seed)
        photos = ph.ensure_photos(
            cache, specs, self.args.j, f"{job.photo[0]}x{job.photo[1]} photos"
        )
        self.photos[job.key] = photos
        tools = [t for t in job.tools if t in self.args.tool_names]
        if self.sigal is None and "sigal" in tools:
            tools.remove("sigal")
        for rep in range(self.args.repeat):
            # a different order each round, so that drift in the machine's load is shared
            order = tools[rep % len(tools) :] + tools[: rep % len(tools)]
            for tool in order:
                if (job.key, tool) in self.unavailable:
                    continue
                out = self.work / "out" / job.key / tool
                shutil.rmtree(out, ignore_errors=True)
                cmd = self.command(job, tool, photos.src, out)
                self.commands[(job.key, tool)] = self.display(cmd, photos.src, out)
                try:
                    m = run_measured(cmd)
                except CommandFailed as exc:
                    line = str(exc).strip().splitlines()[-1]
                    self.unavailable[(job.key, tool)] = line
                    log(f"{job.key} {tool}: failed, left out: {line}")
                    continue
                self.runs[(job.key, tool)].append(m)
                log(
                    f"{job.key:<8} {tool:<13} #{rep + 1} {m.wall:7.2f} s wall {m.cpu:8.2f} CPU-s "
                    f"({m.cpu / job.count:.3f}/photo) main {m.main_rss_kib // 1024} MiB, "
                    f"worker {m.worker_rss_kib // 1024} MiB | {m.summary[:60]}"
                )
                if rep == self.args.repeat - 1:
                    self.outputs[(job.key, tool)] = outputs_of(out)
                    if not self.args.keep_outputs:
                        shutil.rmtree(out, ignore_errors=True)
        self.fixed_cost(job, tools)
        self.profile(job, photos)

    def fixed_cost(self, job: Job, tools: list[str]) -> None:
        """CPU seconds of each command on one tiny photo: start-up, imports, the pool, the
        pages; what every figure per photo carries, divided by the number of photos."""
        specs = ph.plan_photos(1, (64, 48), 1, self.args.seed, ph.SOURCE_QUALITY)
        tiny = ph.ensure_photos(self.work / "tiny-1", specs, 1, "tiny photo")
        for tool in tools:
            if (job.key, tool) in self.unavailable:
                continue
            out = self.work / "out" / job.key / f"{tool}-tiny"
            for _ in range(self.args.repeat):
                shutil.rmtree(out, ignore_errors=True)
                try:
                    m = run_measured(self.command(job, tool, tiny.src, out))
                except CommandFailed as exc:
                    log(f"fixed cost of {tool}: {str(exc).splitlines()[-1]}")
                    break
                self.fixed[(job.key, tool)].append(m.cpu)
            shutil.rmtree(out, ignore_errors=True)

    def profile_ours(self, job: Job, src: Path, tmp: str) -> None:
        """gallery-builder with ``-j 1`` under cProfile (bench/ours_profile.py)."""
        for tool in ("ours-pillow", "ours-vips"):
            if tool not in self.args.tool_names or (job.key, tool) in self.unavailable:
                continue
            conf = Path(tmp, f"{tool}.toml")
            conf.write_text(job.our_config(tool.removeprefix("ours-")))
            cmd = [sys.executable, str(BENCH_DIR / "ours_profile.py"), str(src)]
            cmd += [str(Path(tmp, tool)), str(conf)]
            try:
                m = run_measured(cmd)
            except CommandFailed as exc:
                log(f"profile {tool}: {str(exc).splitlines()[-1]}")
                continue
            self.profiles[(job.key, tool)] = json.loads(m.stdout.strip().splitlines()[-1])

    def profile(self, job: Job, photos: ph.PhotoSet) -> None:
        """Where the time goes: the bare loops in one process, CPU time per step."""
        n = min(self.args.profile_count, job.count)
        with tempfile.TemporaryDirectory(dir=self.work) as tmp:
            src = Path(tmp, "src")
            src.mkdir()
            for spec in photos.specs[:n]:
                shutil.copy(photos.src / spec.relpath, src / Path(spec.relpath).name)
            spec_file = Path(tmp, "job.json")
            spec_file.write_text(json.dumps(job.as_json()))
            for kind in ("pillow", "vips"):
                cmd = [sys.executable, str(BENCH_DIR / "image_floors.py"), kind, str(spec_file)]
                cmd += [str(src), str(Path(tmp, kind)), "--profile"]
                try:
                    m = run_measured(cmd)
                except CommandFailed as exc:
                    log(f"profile {kind}: {exc}")
                    continue
                data = json.loads(m.stdout.strip().splitlines()[-1])
                data["cpu"] = m.cpu
                self.profiles[(job.key, kind)] = data
                log(f"profile {job.key} {kind}: {sum(data['steps'].values()) / n:.3f} CPU-s/photo")
            self.profile_ours(job, src, tmp)


def encoder_table(args: argparse.Namespace) -> str | None:
    """bench/encoder_settings.py's Markdown table (the core's script), if it is there."""
    script = BENCH_DIR / "encoder_settings.py"
    if not script.is_file() or not args.encoders:
        return None
    cmd = [sys.executable, str(script), *shlex.split(args.encoder_args)]
    log(f"running {shlex.join(cmd)}")
    res = subprocess.run(cmd, cwd=REPO_ROOT, capture_output=True, text=True, check=False)
    if res.returncode != 0:
        return f"(bench/encoder_settings.py failed: {res.stderr.strip().splitlines()[-1:]})"
    shown = ["python", str(script.relative_to(REPO_ROOT)), *cmd[2:]]
    return res.stdout.strip() + f"\n\nCommand: `{shlex.join(shown)}`"


def find_tools(args: argparse.Namespace) -> tuple[list[str], list[str] | None]:
    ours = shlex.split(args.ours_cmd) if args.ours_cmd else None
    if ours is None:
        exe = which_script("gallery")
        ours = [exe] if exe else [sys.executable, "-m", "gallery_builder.cli"]
    ok, msg = probe([*ours, "build", "--help"])
    if not ok:
        raise SystemExit(f"error: gallery-builder's CLI does not run: {msg.splitlines()[-1:]}")
    sigal = None
    if "sigal" in args.tool_names:
        exe = which_script("sigal")
        sigal = [exe] if exe else [sys.executable, "-m", "sigal"]
        ok, msg = probe([*sigal, "--version"])
        if not ok:
            log(f"sigal does not run, left out: {msg.splitlines()[-1:]}")
            sigal = None
    return ours, sigal


def tool_versions() -> list[str]:
    try:
        import pyvips

        libvips = ".".join(str(pyvips.version(i)) for i in range(3))
        vips = f"pyvips {pyvips.__version__} (libvips {libvips})"
    except Exception as exc:
        vips = f"pyvips unavailable ({type(exc).__name__})"
    return [
        f"gallery-builder {dist_version('gallery-builder')}",
        f"sigal {dist_version('sigal')}",
        vips,
    ]


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        description="gallery-builder's image processing against sigal and bare loops.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    p.add_argument("--count", type=int, default=40, help="photos of the matched job")
    p.add_argument("--width", type=int, default=4000, help="matched job's photo width")
    p.add_argument("--height", type=int, default=3000, help="matched job's photo height")
    p.add_argument("--big-count", type=int, default=16, help="photos of the default job")
    p.add_argument("--big-width", type=int, default=6000, help="default job's photo width")
    p.add_argument("--big-height", type=int, default=4000, help="default job's photo height")
    p.add_argument("-j", type=int, default=os.cpu_count() or 1, help="worker processes, all tools")
    p.add_argument("--repeat", type=int, default=3, help="runs of each command (median)")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--jobs", dest="jobs_csv", default="matched,default", help="which jobs")
    p.add_argument("--tools", default=",".join(TOOLS), help=f"subset of {', '.join(TOOLS)}")
    p.add_argument("--profile-count", type=int, default=6, help="photos of the in-process profile")
    p.add_argument(
        "--no-encoders", dest="encoders", action="store_false", help="skip encoder_settings.py"
    )
    p.add_argument("--encoder-args", default="", help="arguments for encoder_settings.py")
    p.add_argument(
        "--ours-cmd", help="how to run gallery-builder, e.g. 'python -m gallery_builder.cli'"
    )
    p.add_argument("--workdir", type=Path, help="keep the photos (cached) and configs here")
    p.add_argument("--output", type=Path, help="also append the Markdown report to this file")
    p.add_argument("--keep-outputs", action="store_true", help="keep the last run's files")
    args = p.parse_args(argv)
    args.jobs_to_run = [j.strip() for j in args.jobs_csv.split(",") if j.strip()]
    args.tool_names = [t.strip() for t in args.tools.split(",") if t.strip()]
    if bad := [t for t in args.tool_names if t not in TOOLS]:
        p.error(f"--tools: unknown {', '.join(bad)}; known: {', '.join(TOOLS)}")
    if bad := [j for j in args.jobs_to_run if j not in ("matched", "default")]:
        p.error(f"--jobs: unknown {', '.join(bad)}; known: matched, default")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    work = (args.workdir or Path(tempfile.mkdtemp(prefix="image-bench-"))).resolve()
    work.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    ours, sigal = find_tools(args)
    bench = Bench(args, work, ours, sigal)
    try:
        jobs = make_jobs(args)
        for job in jobs:
            bench.run_job(job)
        encoders = encoder_table(args)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    finally:
        if not args.workdir:
            shutil.rmtree(work, ignore_errors=True)
    header = [
        f"### Image processing run ({now_stamp()})",
        "",
        *machine_lines(tool_versions()),
        f"- Command: `{command_line()}` ({time.perf_counter() - t0:.0f} s)",
    ]
    emit_report(report(bench, jobs, header, encoders), args.output)
    return 0


if __name__ == "__main__":
    sys.exit(main())
