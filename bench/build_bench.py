#!/usr/bin/env python3
"""Benchmark ``gallery build`` against the peer tool sigal, in the same run.

This is a measurement tool, not a test. It generates a deterministic set of
synthetic photos (cached in the work dir), configures both tools to do the same
work (one 1280px JPEG web image + one 280x210 cropped thumbnail per photo, JPEG
quality 85, no copies of the originals, same number of worker processes) and
times each scenario by wall clock around a subprocess run of each CLI.

Scenarios (median of ``--repeat`` runs each):

1. cold build into an empty output directory;
2. no-op rebuild into the same output directory, nothing changed;
3. one picture changed (re-saved with different content), rebuild;
   3b. (sigal only) the same, after deleting that picture's outputs, because
   sigal only checks that the output file exists and would otherwise leave the
   stale image in place;
4. forced rebuild (``gallery build --force`` / ``sigal build -f``).

``--noop-scale COUNT`` is a separate mode: COUNT tiny JPEGs, one build, then the
no-op rebuild time compared with a plain ``os.walk`` + ``os.stat`` of the tree.

Measured with benchlib.py (the whole process tree's CPU and memory), photos from photos.py;
the standard library and Pillow only. See bench/README.md.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import re
import shlex
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

try:
    import photos as ph
except ImportError:  # pragma: no cover - depends on the machine
    sys.exit("build_bench.py needs Pillow: pip install pillow")
from benchlib import (
    REPO_ROOT,
    CommandFailed,
    Measured,
    command_line,
    dist_version,
    emit_report,
    fmt_mib,
    log,
    machine_lines,
    probe,
    run_measured,
    which_script,
)
from photos import (
    PhotoSet,
    PhotoSpec,
    ensure_photos,
    plan_photos,
    render_photo,  # noqa: F401  (bench/encoder_settings.py imports it from here)
)

GENERATOR_VERSION = ph.GENERATOR_VERSION
SOURCE_QUALITY = ph.SOURCE_QUALITY

WEB_SIZE = 1280  # long edge of the one web image, pixels
THUMB_SIZE = (280, 210)  # thumbnail crop box, pixels
OUTPUT_QUALITY = 85  # JPEG quality of the outputs
IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".webp", ".avif", ".gif"}

OUR_CONFIG = f"""\
# Written by bench/build_bench.py: one web size, one thumbnail, JPEG only.
[gallery]
name = "bench"
title = "Bench"

[images]
sizes = [{WEB_SIZE}]
thumbnail = [{THUMB_SIZE[0]}, {THUMB_SIZE[1]}]
formats = ["jpeg"]
quality = {OUTPUT_QUALITY}
"""

# sigal's own default jpg_options are quality 85 + optimize + progressive.
SIGAL_JPG_OPTIONS = {
    "stock": {"quality": OUTPUT_QUALITY, "optimize": True, "progressive": True},
    "plain": {"quality": OUTPUT_QUALITY},
}

SIGAL_CONFIG = """\
# Written by bench/build_bench.py for sigal {version}.
# Matches gallery-builder's benchmark config: one web image whose long edge is
# {web}px (ResizeToFit with a square box, never upscaled), one {tw}x{th}
# cropped thumbnail, JPEG output, no originals, no videos, no zip, no plugins.
# The number of processes is passed on the command line (-n): sigal has no
# ncpu setting in this file.
title = "Bench"
img_processor = "ResizeToFit"
img_size = ({web}, {web})
img_format = "JPEG"
jpg_options = {jpg_options!r}
autorotate_images = True
copy_exif_data = False
make_thumbs = True
thumb_size = ({tw}, {th})
thumb_fit = True
thumb_fit_centering = (0.5, 0.5)
keep_orig = False
use_orig = False
video_extensions = []
zip_gallery = False
write_html = True
theme = "colorbox"
medias_sort_attr = "filename"
albums_sort_attr = "name"
plugins = {plugins!r}
"""


@dataclass
class Tool:
    key: str
    label: str
    base_cmd: list[str]
    version: str
    config: Path
    jobs: int
    cwd: Path

    def build_cmd(self, src: Path, out: Path, force: bool = False) -> list[str]:
        if self.key == "ours":
            cmd = [*self.base_cmd, "build", str(src), "-o", str(out), "-j", str(self.jobs)]
            cmd += ["--config", str(self.config)]
            return [*cmd, "--force"] if force else cmd
        cmd = [*self.base_cmd, "build", "-c", str(self.config), "-n", str(self.jobs)]
        cmd += ["-f"] if force else []
        return [*cmd, str(src), str(out)]

    def display_cmd(self, force: bool = False) -> str:
        cmd = self.build_cmd(Path("SRC"), Path("OUT"), force)
        cmd = ["CONF" if c == str(self.config) else c for c in cmd]
        if cmd[0] == sys.executable:
            cmd[0] = "python"
        return shlex.join(cmd)


def _probe_error(cmd: list[str], msg: str) -> str:
    last = msg.splitlines()[-1] if msg else "?"
    return f"  {shlex.join(cmd)} -> {last}"


def find_ours(override: str | None) -> list[str]:
    if override:
        candidates = [shlex.split(override)]
    else:
        exe = which_script("gallery")
        candidates = [[exe]] if exe else []
        candidates.append([sys.executable, "-m", "gallery_builder.cli"])
    errors = []
    for cmd in candidates:
        ok, msg = probe([*cmd, "build", "--help"], REPO_ROOT)
        if ok:
            return cmd
        errors.append(_probe_error([*cmd, "build", "--help"], msg))
    raise SystemExit(
        "error: gallery-builder's CLI is not available (yet).\n"
        "Looked for the `gallery` console script, then "
        "`python -m gallery_builder.cli` from the repo root:\n"
        + "\n".join(errors)
        + "\nInstall it (pip install -e .) or run with --tools sigal."
    )


def find_sigal(override: str | None) -> list[str]:
    if override:
        cmd = shlex.split(override)
    else:
        exe = which_script("sigal")
        cmd = [exe] if exe else [sys.executable, "-m", "sigal"]
    ok, msg = probe([*cmd, "--version"], REPO_ROOT)
    if not ok:
        raise SystemExit(
            "error: sigal is not available:\n"
            + _probe_error([*cmd, "--version"], msg)
            + "\nInstall it with: pip install sigal   (or run with --tools ours)"
        )
    return cmd


def make_tools(names: list[str], args: argparse.Namespace, work: Path) -> list[Tool]:
    tools = []
    conf_dir = work / "config"
    conf_dir.mkdir(parents=True, exist_ok=True)
    for name in names:
        if name == "ours":
            cmd = find_ours(args.ours_cmd)
            conf = conf_dir / "gallery-bench.toml"
            if args.our_config:
                shutil.copyfile(args.our_config, conf)
            else:
                conf.write_text(OUR_CONFIG)
            version = dist_version("gallery-builder")
            tools.append(Tool("ours", "gallery-builder", cmd, version, conf, args.jobs, REPO_ROOT))
        else:
            cmd = find_sigal(args.sigal_cmd)
            version = dist_version("sigal")
            conf = conf_dir / "sigal.conf.py"
            plugins = ["sigal.plugins.extended_caching"] if args.sigal_caching else []
            conf.write_text(
                SIGAL_CONFIG.format(
                    version=version,
                    web=WEB_SIZE,
                    tw=THUMB_SIZE[0],
                    th=THUMB_SIZE[1],
                    jpg_options=SIGAL_JPG_OPTIONS[args.sigal_jpeg],
                    plugins=plugins,
                )
            )
            tools.append(Tool("sigal", "sigal", cmd, version, conf, args.jobs, REPO_ROOT))
    return tools


Snapshot = dict[str, tuple[int, int, int]]


def snapshot(root: Path) -> Snapshot:
    snap: Snapshot = {}
    for dirpath, _dirs, files in os.walk(root):
        for name in files:
            path = os.path.join(dirpath, name)
            st = os.stat(path)
            snap[os.path.relpath(path, root)] = (st.st_mtime_ns, st.st_size, st.st_ctime_ns)
    return snap


def written_since(before: Snapshot, after: Snapshot) -> list[str]:
    return sorted(p for p, sig in after.items() if before.get(p) != sig)


def _norm(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", name.lower())


def _is_image(path: str) -> bool:
    return os.path.splitext(path)[1].lower() in IMAGE_SUFFIXES


def derived_images(paths: Iterable[str]) -> int:
    """Output images named after a source photo (IMG_0001 -> img0001 after slugging)."""
    return sum(
        1 for p in paths if _is_image(p) and re.search(r"img\d{4,}", _norm(os.path.basename(p)))
    )


def outputs_of(paths: Iterable[str], stem: str) -> list[str]:
    """Output images whose file name contains the (slug-normalised) source stem."""
    key = _norm(stem)
    return [p for p in paths if _is_image(p) and key in _norm(os.path.basename(p))]


def median(values: Sequence[float]) -> float:
    return statistics.median(values)


# --------------------------------------------------------------------------
# Report helpers
# --------------------------------------------------------------------------


def fmt_s(value: float | None) -> str:
    return "—" if value is None else f"{value:.2f}"


def fmt_ratio(ours: float | None, sigal: float | None) -> str:
    if ours is None or sigal is None or ours <= 0:
        return "—"
    return f"{sigal / ours:.2f}×"


def sigal_option_lines(args: argparse.Namespace, tools: list[Tool]) -> list[str]:
    if not any(t.key == "sigal" for t in tools):
        return []
    plugins = "extended_caching" if args.sigal_caching else "none"
    return [
        f"- sigal jpg_options: `{SIGAL_JPG_OPTIONS[args.sigal_jpeg]}` "
        f"(`--sigal-jpeg {args.sigal_jpeg}`); sigal plugins: {plugins}"
    ]


# --------------------------------------------------------------------------
# Main benchmark
# --------------------------------------------------------------------------

SCENARIOS = [
    ("cold", "1. cold build (empty output dir)"),
    ("noop", "2. no-op rebuild (nothing changed)"),
    ("changed", "3. one picture changed, rebuild"),
    ("changed_deleted", "3b. one picture changed + its outputs deleted, rebuild"),
    ("force", "4. forced rebuild (`--force` / `sigal -f`)"),
]


@dataclass
class BenchState:
    runs: dict[str, dict[str, list[Measured]]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    # per tool and run of scenario 3: did the changed photo's outputs get rewritten?
    # None when the tool's output names do not reveal which photo they belong to.
    refreshed: dict[str, list[bool | None]] = field(default_factory=dict)

    def add(self, scenario: str, tool: str, result: Measured) -> None:
        self.runs.setdefault(scenario, {}).setdefault(tool, []).append(result)

    def med(self, scenario: str, tool: str, attr: str = "seconds") -> float | None:
        runs = self.runs.get(scenario, {}).get(tool)
        return median([getattr(r, attr) for r in runs]) if runs else None


def timed(tool: Tool, cmd: list[str], args: argparse.Namespace, what: str) -> Measured:
    result = run_measured(cmd, cwd=tool.cwd, tree_pss=args.tree_rss)
    log(
        f"{tool.label:>15} {what:<28} {result.seconds:8.2f} s {result.cpu:7.2f} CPU-s"
        f"  | {result.summary[:80]}"
    )
    return result


def run_build_bench(args: argparse.Namespace, work: Path, tools: list[Tool]) -> str:
    size = (args.width, args.height)
    specs = plan_photos(args.count, size, args.albums, args.seed, SOURCE_QUALITY)
    cache = work / (
        f"photos-v{GENERATOR_VERSION}-{args.width}x{args.height}-n{args.count}"
        f"-a{args.albums}-s{args.seed}"
    )
    photos = ensure_photos(cache, specs, args.jobs, "photos")
    landscape = [s for s in specs if s.size[0] >= s.size[1]]
    target = landscape[len(landscape) // 2] if landscape else specs[len(specs) // 2]
    stem = Path(target.relpath).stem
    outs = {t.key: work / "out" / t.key for t in tools}
    state = BenchState()
    by_key = {t.key: t for t in tools}

    with ph.mutable_photo(photos, target):
        # 1. cold builds: fresh output dir every repeat; the last one is kept.
        for rep in range(args.repeat):
            for tool in tools:
                shutil.rmtree(outs[tool.key], ignore_errors=True)
                cmd = tool.build_cmd(photos.src, outs[tool.key])
                state.add("cold", tool.key, timed(tool, cmd, args, f"cold #{rep + 1}"))
        snaps = {t.key: snapshot(outs[t.key]) for t in tools}
        named = {t.key: derived_images(snaps[t.key]) > 0 for t in tools}
        for tool in tools:
            n = derived_images(snaps[tool.key])
            files = len(snaps[tool.key])
            state.notes.append(
                f"{tool.label} cold build wrote {files} files, {n} of them images named "
                f"after a source photo (expected {2 * args.count}: web image + thumbnail). "
                f"Its last line: `{state.runs['cold'][tool.key][-1].summary}`"
            )

        # 2. no-op rebuilds into the same output dir.
        for rep in range(args.repeat):
            for tool in tools:
                before = snapshot(outs[tool.key])
                cmd = tool.build_cmd(photos.src, outs[tool.key])
                state.add("noop", tool.key, timed(tool, cmd, args, f"no-op #{rep + 1}"))
                if rep == 0:
                    written = written_since(before, snapshot(outs[tool.key]))
                    imgs = derived_images(written)
                    state.notes.append(
                        f"{tool.label} no-op rebuild wrote or re-created {len(written)} "
                        f"output files ({imgs} photo derivatives)."
                    )

        # 3. one picture changed (a different change every repeat), rebuild.
        for rep in range(args.repeat):
            ph.change_photo(photos, target, variant=rep)
            for tool in tools:
                before = snapshot(outs[tool.key])
                cmd = tool.build_cmd(photos.src, outs[tool.key])
                state.add("changed", tool.key, timed(tool, cmd, args, f"changed #{rep + 1}"))
                written = written_since(before, snapshot(outs[tool.key]))
                flag = bool(outputs_of(written, stem)) if named[tool.key] else None
                state.refreshed.setdefault(tool.key, []).append(flag)

        # 3b. sigal only: same change, after deleting that picture's outputs
        # (what a sigal user has to do, since it only checks existence).
        if "sigal" in by_key:
            tool = by_key["sigal"]
            for rep in range(args.repeat):
                ph.change_photo(photos, target, variant=args.repeat + rep)
                for rel in outputs_of(list(snapshot(outs["sigal"])), stem):
                    os.unlink(outs["sigal"] / rel)
                cmd = tool.build_cmd(photos.src, outs["sigal"])
                state.add(
                    "changed_deleted", "sigal", timed(tool, cmd, args, f"changed+rm #{rep + 1}")
                )

        # 4. forced rebuilds.
        for rep in range(args.repeat):
            for tool in tools:
                cmd = tool.build_cmd(photos.src, outs[tool.key], force=True)
                state.add("force", tool.key, timed(tool, cmd, args, f"force #{rep + 1}"))

    for tool in tools:
        flags = state.refreshed.get(tool.key, [])
        if None in flags:
            state.notes.append(
                f"{tool.label}'s output file names do not contain the source names, so "
                "whether scenario 3 re-rendered the changed picture was not checked."
            )
        elif flags and not all(flags):
            state.notes.append(
                f"**{tool.label} did not re-render the changed picture** in "
                f"{flags.count(False)} of {len(flags)} runs of scenario 3 (stale output)."
            )
    if not args.keep_outputs:
        for out in outs.values():
            shutil.rmtree(out, ignore_errors=True)
    return build_report(args, tools, photos, target, state)


def build_report(
    args: argparse.Namespace,
    tools: list[Tool],
    photos: PhotoSet,
    target: PhotoSpec,
    state: BenchState,
) -> str:
    keys = {t.key for t in tools}
    portrait = sum(1 for s in photos.specs if s.size[1] > s.size[0])
    now = dt.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z")
    lines = [
        f"## Build benchmark: gallery-builder vs sigal ({now})",
        "",
        *machine_lines([f"{t.label} {t.version}" for t in tools]),
        f"- Photos: N={args.count} synthetic JPEGs, {args.width}x{args.height} "
        f"({portrait} of them portrait), quality {SOURCE_QUALITY}, "
        f"{photos.total_bytes / len(photos.specs) / 1e6:.2f} MB average, "
        f"{photos.total_bytes / 1e6:.0f} MB total, in {min(args.albums, args.count)} albums",
        f"- Work per photo: one JPEG web image, long edge {WEB_SIZE} px, quality "
        f"{OUTPUT_QUALITY}; one {THUMB_SIZE[0]}x{THUMB_SIZE[1]} cropped thumbnail; "
        f"no originals copied; HTML pages written; {args.jobs} worker processes",
        f"- Timing: wall clock around each CLI process, median of {args.repeat} "
        "run(s), warm page cache",
        f"- Command: `{command_line()}`",
    ]
    for tool in tools:
        lines.append(f"- {tool.label} runs as: `{tool.display_cmd()}`")
    lines += sigal_option_lines(args, tools)
    lines += [
        "",
        "| scenario | gallery-builder (s) | sigal (s) | ratio (sigal/ours, >1: we are faster) |",
        "| --- | ---: | ---: | ---: |",
    ]
    sigal_stale = False in state.refreshed.get("sigal", [])
    ours_stale = False in state.refreshed.get("ours", [])
    for key, title in SCENARIOS:
        if key not in state.runs:
            continue
        ours = state.med(key, "ours")
        sigal = state.med(key, "sigal")
        ours_cell, sigal_cell = fmt_s(ours), fmt_s(sigal)
        ratio = fmt_ratio(ours, sigal)
        if key == "changed" and (sigal_stale or ours_stale):
            stale = [
                name
                for name, flag in (("gallery-builder", ours_stale), ("sigal", sigal_stale))
                if flag
            ]
            ours_cell += " (stale)" if ours_stale else ""
            sigal_cell += " (stale)" if sigal_stale else ""
            ratio = f"n/a: {' and '.join(stale)} kept the stale output"
        if key == "changed_deleted":
            ours_cell = "—"
            ratio = fmt_ratio(state.med("changed", "ours"), sigal) + " (vs ours in 3)"
            if "ours" not in keys:
                ratio = "—"
        lines.append(f"| {title} | {ours_cell} | {sigal_cell} | {ratio} |")

    lines += [
        "",
        "CPU seconds (user + system) of the whole process tree, workers included "
        "(bench/benchlib.py reaps every descendant as a child subreaper), median:",
        "",
        "| scenario | gallery-builder CPU s | sigal CPU s |",
        "| --- | ---: | ---: |",
    ]
    for key, title in SCENARIOS:
        if key in state.runs:
            cells = [fmt_s(state.med(key, k, "cpu")) for k in ("ours", "sigal")]
            lines.append(f"| {title} | {cells[0]} | {cells[1]} |")
    lines += [
        "",
        "Peak memory (MiB). *Largest process* is the largest `ru_maxrss` that `wait4()` "
        "reported for any process of the CLI's tree (main process or one worker, workers "
        "of a forkserver included), not a sum; max over repeats.",
    ]
    if args.tree_rss:
        lines[-1] += (
            " *Tree PSS* is the summed proportional set size of the CLI process and all "
            "its descendants (shared pages split between them), sampled every 50 ms: "
            "peaks shorter than that can be missed."
        )
    header = "| scenario | gallery-builder largest process | sigal largest process |"
    sep = "| --- | ---: | ---: |"
    if args.tree_rss:
        header += " gallery-builder tree PSS | sigal tree PSS |"
        sep += " ---: | ---: |"
    lines += ["", header, sep]
    for key, title in SCENARIOS:
        if key not in state.runs:
            continue
        row = [title]
        per_tool = {k: state.runs[key].get(k, []) for k in ("ours", "sigal")}
        row += [fmt_mib(max((r.maxrss_kib for r in rs), default=None)) for rs in per_tool.values()]
        if args.tree_rss:
            row += [
                fmt_mib(max((r.tree_pss_kib or 0 for r in rs), default=None))
                for rs in per_tool.values()
            ]
        lines.append("| " + " | ".join(row) + " |")

    lines += ["", "All runs (s):", ""]
    for key, title in SCENARIOS:
        for tool in tools:
            runs = state.runs.get(key, {}).get(tool.key)
            if runs:
                values = ", ".join(f"{r.seconds:.2f}" for r in runs)
                lines.append(f"- {title}, {tool.label}: {values}")
    lines += ["", "Notes:", ""]
    lines.append(
        f"- Scenario 3 re-saves `{target.relpath}` with new pixels (same size, name and "
        "EXIF date) before each rebuild."
    )
    lines += [f"- {n}" for n in state.notes]
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------
# No-op at scale
# --------------------------------------------------------------------------


def stat_walk(root: Path) -> int:
    n = 0
    for dirpath, _dirs, files in os.walk(root):
        for name in files:
            os.stat(os.path.join(dirpath, name))
            n += 1
    return n


def run_noop_scale(args: argparse.Namespace, work: Path, tools: list[Tool]) -> str:
    count = args.noop_scale
    albums = max(1, count // args.scale_album_size)
    specs = plan_photos(count, (64, 48), albums, args.seed, 75)
    cache = work / f"tiny-v{GENERATOR_VERSION}-n{count}-a{albums}-s{args.seed}"
    photos = ensure_photos(cache, specs, args.jobs, "tiny photos")
    results: dict[str, dict[str, float]] = {}
    notes: list[str] = []

    floors = []
    for _ in range(max(3, args.repeat)):
        t0 = time.perf_counter()
        nfiles = stat_walk(photos.src)
        floors.append(time.perf_counter() - t0)
    floor = median(floors)
    startup = median(
        [
            run_measured([sys.executable, "-c", "pass"], cwd=REPO_ROOT, tree_pss=False).seconds
            for _ in range(max(3, args.repeat))
        ]
    )

    for tool in tools:
        out = work / "out-scale" / tool.key
        shutil.rmtree(out, ignore_errors=True)
        cmd = tool.build_cmd(photos.src, out)
        first = timed(tool, cmd, args, "initial build")
        noops = [timed(tool, cmd, args, f"no-op #{i + 1}") for i in range(args.repeat)]
        help_cmd = [*tool.base_cmd, "build", "--help"]
        helps = [
            run_measured(help_cmd, cwd=tool.cwd, tree_pss=False).seconds
            for _ in range(max(3, args.repeat))
        ]
        noop = median([r.seconds for r in noops])
        results[tool.key] = {
            "first": first.seconds,
            "noop": noop,
            "beyond": noop - floor,
            "help": median(helps),
            "rss": max(r.maxrss_kib for r in noops) / 1024,
        }
        notes.append(f"{tool.label} initial build's last line: `{first.summary}`")
        if not args.keep_outputs:
            shutil.rmtree(out, ignore_errors=True)

    def cell(key: str, metric: str, fmt: str = "{:.3f}") -> str:
        return fmt.format(results[key][metric]) if key in results else "—"

    now = dt.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z")
    lines = [
        f"## No-op rebuild at scale: {count} pictures ({now})",
        "",
        *machine_lines([f"{t.label} {t.version}" for t in tools]),
        f"- Photos: {count} tiny JPEGs (64x48) in {albums} albums ({nfiles} files); "
        f"same settings as the main benchmark; {args.jobs} worker processes",
        f"- Timing: median of {args.repeat} no-op rebuild(s) after one initial build; "
        "warm page cache",
        f"- Command: `{command_line()}`",
        *[f"- {t.label} runs as: `{t.display_cmd()}`" for t in tools],
        *sigal_option_lines(args, tools),
        "",
        "| metric | gallery-builder | sigal |",
        "| --- | ---: | ---: |",
        f"| no-op rebuild seconds | {cell('ours', 'noop')} | {cell('sigal', 'noop')} |",
        f"| stat-walk floor seconds (os.walk + os.stat of SRC, in-process) "
        f"| {floor:.3f} | {floor:.3f} |",
        f"| work beyond stat (no-op − floor) | {cell('ours', 'beyond')} "
        f"| {cell('sigal', 'beyond')} |",
        f"| CLI start-up: `build --help` seconds | {cell('ours', 'help')} "
        f"| {cell('sigal', 'help')} |",
        f"| (bare `python -c pass` seconds) | {startup:.3f} | {startup:.3f} |",
        f"| initial build seconds (once) | {cell('ours', 'first', '{:.1f}')} "
        f"| {cell('sigal', 'first', '{:.1f}')} |",
        f"| no-op largest process RSS (MiB) | {cell('ours', 'rss', '{:.0f}')} "
        f"| {cell('sigal', 'rss', '{:.0f}')} |",
    ]
    if "ours" in results and "sigal" in results:
        lines.append(
            f"| no-op ratio (sigal/ours, >1: we are faster) | "
            f"{results['sigal']['noop'] / results['ours']['noop']:.2f}× | |"
        )
    lines += ["", "Notes:", "", *[f"- {n}" for n in notes]]
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------
# CLI
# --------------------------------------------------------------------------


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    cpus = os.cpu_count() or 1
    p = argparse.ArgumentParser(
        description="Time `gallery build` against sigal on the same synthetic photos.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    p.add_argument("--count", type=int, default=200, help="number of photos")
    p.add_argument("--width", type=int, default=3000, help="photo width (landscape)")
    p.add_argument("--height", type=int, default=2000, help="photo height (landscape)")
    p.add_argument("--albums", type=int, default=4, help="number of album folders")
    p.add_argument("--seed", type=int, default=1, help="generator seed")
    p.add_argument("--jobs", "-j", type=int, default=cpus, help="worker processes, both tools")
    p.add_argument("--repeat", type=int, default=3, help="runs per scenario (median)")
    p.add_argument("--tools", default="ours,sigal", help="comma-separated subset of: ours, sigal")
    p.add_argument(
        "--workdir",
        type=Path,
        help="keep photos (cached between runs), configs and outputs here "
        "(default: a temporary dir, removed at the end)",
    )
    p.add_argument("--output", type=Path, help="also append the Markdown report to this file")
    p.add_argument(
        "--noop-scale",
        type=int,
        metavar="COUNT",
        help="instead: measure no-op rebuilds of COUNT tiny pictures against a stat-walk",
    )
    p.add_argument(
        "--scale-album-size", type=int, default=200, help="pictures per album in --noop-scale"
    )
    p.add_argument(
        "--sigal-jpeg",
        choices=sorted(SIGAL_JPG_OPTIONS),
        default="stock",
        help="sigal JPEG options: 'stock' = sigal's default (q85, optimize, progressive); "
        "'plain' = quality 85 only. Match what gallery-builder writes.",
    )
    p.add_argument(
        "--sigal-caching",
        action="store_true",
        help="enable sigal's extended_caching plugin (caches EXIF/metadata between builds)",
    )
    p.add_argument(
        "--our-config", type=Path, help="use this gallery.toml instead of the generated one"
    )
    p.add_argument(
        "--ours-cmd",
        help="how to invoke gallery-builder instead of auto-detection, e.g. "
        "'python -m gallery_builder.cli' (shell-split; 'build ...' is appended)",
    )
    p.add_argument(
        "--sigal-cmd", help="how to invoke sigal instead of auto-detection, e.g. 'python -m sigal'"
    )
    p.add_argument(
        "--tree-rss",
        action="store_true",
        help="also sample the summed PSS of each process tree every 50 ms "
        "(costs a little CPU during the timed runs)",
    )
    p.add_argument("--keep-outputs", action="store_true", help="do not delete the built galleries")
    args = p.parse_args(argv)
    names = [t.strip() for t in args.tools.split(",") if t.strip()]
    bad = [t for t in names if t not in ("ours", "sigal")]
    if bad or not names:
        p.error(f"--tools takes ours and/or sigal, got {args.tools!r}")
    args.tool_names = list(dict.fromkeys(names))
    for name in ("count", "width", "height", "albums", "jobs", "repeat", "scale_album_size"):
        if getattr(args, name) < 1:
            p.error(f"--{name.replace('_', '-')} must be >= 1")
    if args.noop_scale is not None and args.noop_scale < 1:
        p.error("--noop-scale must be >= 1")
    if args.our_config and not args.our_config.is_file():
        p.error(f"--our-config: no such file: {args.our_config}")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if args.workdir:
        work = args.workdir.resolve()
        work.mkdir(parents=True, exist_ok=True)
        cleanup = False
    else:
        work = Path(tempfile.mkdtemp(prefix="gallery-bench-"))
        cleanup = True
    t0 = time.perf_counter()
    try:
        tools = make_tools(args.tool_names, args, work)
        log(f"work dir: {work}")
        if args.noop_scale:
            report = run_noop_scale(args, work, tools)
        else:
            report = run_build_bench(args, work, tools)
    except CommandFailed as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    finally:
        if cleanup:
            shutil.rmtree(work, ignore_errors=True)
    log(f"total benchmark time {time.perf_counter() - t0:.0f} s")
    emit_report(report, args.output)
    return 0


if __name__ == "__main__":
    sys.exit(main())
