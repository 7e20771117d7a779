"""The Markdown report of image_bench.py (pure: the bench's figures in, text out)."""

from __future__ import annotations

from statistics import median
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from image_bench import Bench, Job

LABEL = {
    "sigal": "sigal",
    "ours-pillow": "gallery-builder, Pillow",
    "ours-vips": "gallery-builder, vips",
    "floor-pillow": "bare Pillow loop",
    "floor-vips": "bare pyvips loop",
}

#: (job, numerator, denominator, target or None)
RATIOS = [
    ("matched", "ours-vips", "sigal", 0.4),
    ("matched", "ours-vips", "floor-vips", 1.3),
    ("matched", "ours-pillow", "floor-pillow", 1.25),
    ("matched", "ours-pillow", "sigal", None),
    ("matched", "floor-vips", "floor-pillow", None),
    ("default", "ours-pillow", "floor-pillow", 1.1),
    ("default", "ours-vips", "floor-vips", None),
    ("default", "ours-vips", "ours-pillow", None),
    ("default", "floor-vips", "floor-pillow", None),
]


def fit(width: int, height: int, edge: int) -> tuple[int, int]:
    if max(width, height) <= edge:
        return width, height
    scale = edge / max(width, height)
    return max(1, round(width * scale)), max(1, round(height * scale))


def shape_class(job: Job, w: int, h: int) -> str:
    """Which of the job's outputs an image of w x h is (1 px of rounding allowed)."""
    pw, ph = job.photo
    if (w, h) == job.thumbnail:
        return "thumbnail"
    for edge in job.sizes:
        for src in ((pw, ph), (ph, pw)):
            ew, eh = fit(*src, edge)
            if abs(ew - w) <= 1 and abs(eh - h) <= 1:
                return f"{edge} px"
    return "other"


def cpu_per_photo(bench: Bench, job: Job, tool: str) -> float | None:
    runs = bench.runs.get((job.key, tool))
    return median(r.cpu for r in runs) / job.count if runs else None


def job_section(bench: Bench, job: Job) -> list[str]:
    photos = bench.photos[job.key]
    portrait = sum(1 for s in photos.specs if s.size[1] > s.size[0])
    lines = [
        f"#### {job.title}",
        "",
        f"{job.count} synthetic photos of {job.photo[0]}x{job.photo[1]} ({portrait} portrait), "
        f"JPEG q{90}, {photos.total_bytes / job.count / 1e6:.1f} MB each; quality "
        + ", ".join(f"{f} {q}" for f, q in job.quality.items())
        + f"; `-j {bench.args.j}` for every tool; median of {bench.args.repeat} cold run(s).",
        "",
        "| tool | CPU s per photo | (min–max) | wall s | main process peak RSS MiB "
        "| largest worker peak RSS MiB | processes | fixed CPU s |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for tool in job.tools:
        runs = bench.runs.get((job.key, tool))
        if not runs:
            why = bench.unavailable.get((job.key, tool), "not run")
            lines.append(f"| {LABEL[tool]} | — | not measured: {why} | | | | | |")
            continue
        cpus = [r.cpu / job.count for r in runs]
        fixed_runs = bench.fixed.get((job.key, tool))
        fixed = f"{median(fixed_runs):.2f}" if fixed_runs else "—"
        lines.append(
            f"| {LABEL[tool]} | **{median(cpus):.3f}** | {min(cpus):.3f}–{max(cpus):.3f} "
            f"| {median(r.wall for r in runs):.1f} "
            f"| {max(r.main_rss_kib for r in runs) / 1024:.0f} "
            f"| {max(r.worker_rss_kib for r in runs) / 1024:.0f} "
            f"| {max(r.processes for r in runs)} | {fixed} |"
        )
    lines += [
        "",
        "*CPU s per photo*: the whole process tree's CPU seconds (start-up, scan, pages, every "
        "worker) over the number of photos. *Fixed CPU s*: the same command on one 64x48 "
        "photo (start-up, imports, the pool, the pages), which every figure per photo carries "
        f"divided by {job.count}. Peak RSS: `VmHWM` of each process, sampled every 50 ms.",
    ]
    ratio_lines = []
    for key, num, den, target in RATIOS:
        if key != job.key:
            continue
        a, b = cpu_per_photo(bench, job, num), cpu_per_photo(bench, job, den)
        if a is None or b is None:
            ratio_lines.append(f"- {LABEL[num]} / {LABEL[den]}: not measured")
            continue
        verdict = ""
        if target is not None:
            verdict = f" (target ≤ {target}: **{'met' if a / b <= target else 'MISSED'}**)"
        ratio_lines.append(f"- {LABEL[num]} / {LABEL[den]} CPU: **{a / b:.2f}**{verdict}")
    lines += ["", "Ratios of CPU seconds per photo:", "", *ratio_lines]
    lines += outputs_section(bench, job)
    lines += profile_section(bench, job)
    lines += ours_profile_section(bench, job)
    return lines


def outputs_section(bench: Bench, job: Job) -> list[str]:
    classes = [f"{e} px" for e in sorted(job.sizes, reverse=True)] + ["thumbnail"]
    lines = [
        "",
        "What each tool wrote (last run, read back from the files): count and mean KB per "
        "format and size; *other* images are the theme's; JPEGs progressive / all.",
        "",
        "| tool | "
        + " | ".join(f"{f} {c}" for c in classes for f in job.formats)
        + " | other | progressive JPEG |",
        "| --- |" + " ---: |" * (len(classes) * len(job.formats) + 2),
    ]
    written: dict[str, list[str]] = {}
    for tool in job.tools:
        out = bench.outputs.get((job.key, tool))
        if out is None:
            continue
        cells: dict[tuple[str, str], list[int]] = {}
        dims: dict[tuple[str, str], set[str]] = {}
        other = 0
        for (fmt, w, h), n in out.shapes.items():
            cls = shape_class(job, w, h)
            if cls == "other" or fmt not in job.formats:
                other += n
                continue
            cell = cells.setdefault((fmt, cls), [0, 0])
            cell[0] += n
            cell[1] += out.bytes[(fmt, w, h)]
            dims.setdefault((fmt, cls), set()).add(f"{w}x{h}")
        row = []
        for c in classes:
            for f in job.formats:
                n, size = cells.get((f, c), [0, 0])
                row.append(f"{n} × {size / max(n, 1) / 1024:.0f}" if n else "0")
        prog = f"{out.progressive[True]} / {sum(out.progressive.values())}"
        lines.append(f"| {LABEL[tool]} | " + " | ".join(row) + f" | {other} | {prog} |")
        written[tool] = sorted({d for v in dims.values() for d in v}, key=_area, reverse=True)
    lines += [
        "",
        "Dimensions written: "
        + "; ".join(f"{LABEL[t]} {', '.join(d)}" for t, d in written.items()),
    ]
    return lines


def _area(dims: str) -> int:
    w, h = dims.split("x")
    return int(w) * int(h)


def profile_section(bench: Bench, job: Job) -> list[str]:
    profiles = {
        k: bench.profiles[(job.key, k)]
        for k in ("pillow", "vips")
        if (job.key, k) in bench.profiles
    }
    if not profiles:
        return []
    n = next(iter(profiles.values()))["photos"]
    steps: list[str] = []
    for data in profiles.values():
        steps += [s for s in data["steps"] if s not in steps]

    def groups(data: dict[str, Any]) -> dict[str, float]:
        total: dict[str, float] = {}
        for step, sec in data["steps"].items():
            group = (
                step
                if step == "decode"
                else " ".join(step.split()[:2])
                if step.startswith("encode")
                else "resize"
            )
            total[group] = total.get(group, 0.0) + sec
        return total

    lines = [
        "",
        f"Where the time goes in the bare loops: CPU ms per photo of each step, measured in "
        f"one process (`image_floors.py --profile`, {n} of the photos; libvips with one thread):",
        "",
        "| step | " + " | ".join(f"{k} ms | {k} %" for k in profiles) + " |",
        "| --- |" + " ---: | ---: |" * len(profiles),
    ]
    totals = {k: sum(d["steps"].values()) for k, d in profiles.items()}
    grouped = {k: groups(d) for k, d in profiles.items()}
    names = list(dict.fromkeys(g for d in grouped.values() for g in d))
    for name in names:
        row = [
            f"{grouped[k].get(name, 0) / n * 1000:.0f} | "
            f"{grouped[k].get(name, 0) / totals[k] * 100:.0f}"
            for k in profiles
        ]
        lines.append(f"| **{name}** | " + " | ".join(row) + " |")
    if len(job.sizes) > 1:
        for step in steps:
            if step == "decode":
                continue
            row = [
                f"{profiles[k]['steps'].get(step, 0) / n * 1000:.0f} | "
                f"{profiles[k]['steps'].get(step, 0) / totals[k] * 100:.0f}"
                for k in profiles
            ]
            lines.append(f"| {step} | " + " | ".join(row) + " |")
    lines.append(
        "| total | " + " | ".join(f"{totals[k] / n * 1000:.0f} | 100" for k in profiles) + " |"
    )
    return lines


def ours_profile_section(bench: Bench, job: Job) -> list[str]:
    n = min(bench.args.profile_count, job.count)
    lines = []
    for tool in ("ours-pillow", "ours-vips"):
        data = bench.profiles.get((job.key, tool))
        if not data:
            continue
        total = data["total"]
        lines += [
            "",
            f"{LABEL[tool]} with `-j 1` under cProfile (CPU clock, `bench/ours_profile.py`, the "
            f"same {n} photos): {total / n * 1000:.0f} ms per photo in all, fixed costs included; "
            "its own functions with the most CPU time under them (ms per photo, % of the total):",
            "",
        ]
        lines += [
            f"- `{r['where'].removeprefix('bench/')}`: {r['cumulative'] / n * 1000:.0f} ms, "
            f"{r['cumulative'] / total * 100:.0f}%"
            for r in data["ours"]
        ]
    return lines


def report(bench: Bench, jobs: list[Job], header: list[str], encoders: str | None) -> str:
    lines = [*header, ""]
    for job in jobs:
        lines += job_section(bench, job)
        lines.append("")
    if encoders:
        lines += ["#### Encoder settings", "", encoders, ""]
    lines += ["Commands (SRC: the photos, OUT: an empty folder, WORKDIR: `--workdir`):", ""]
    for (key, tool), cmd in bench.commands.items():
        lines.append(f"- {key}, {LABEL[tool]}: `{cmd}`")
    lines += ["", "All runs, CPU s per photo:", ""]
    for job in jobs:
        for tool in job.tools:
            runs = bench.runs.get((job.key, tool))
            if runs:
                values = ", ".join(f"{r.cpu / job.count:.3f}" for r in runs)
                lines.append(f"- {job.key}, {LABEL[tool]}: {values}")
    return "\n".join(lines) + "\n"
