#!/usr/bin/env python3
"""What encrypting a gallery costs at build time: ``gallery build`` with and without a
password (``GALLERY_PASSWORD``), on the same synthetic photos, in the same run.

This is a measurement tool, not a test. Scenarios, each a ``gallery build`` CLI process:

1. cold build in the clear into an empty folder;
2. cold build encrypted into an empty folder (the clear site is built into
   its clear copy (outside OUT, in the cache folder), then every file is sealed into ``OUT/_x/``);
3. no-op rebuild of each (nothing changed: the encrypted one still derives the key,
   PBKDF2-SHA256 at 600,000 iterations, to check the password is unchanged);
4. one picture changed, rebuilt, each.

CPU seconds are the CLI process's (``RUSAGE_CHILDREN`` before and after), which is the whole
build's with the default ``-j 1`` (the images made in that process); wall seconds are around
the process. The photos come from
``photos.py``'s generator (cached in the work dir). See bench/README.md.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from statistics import median

BENCH_DIR = Path(__file__).resolve().parent
REPO_ROOT = BENCH_DIR.parent
for _extra in (BENCH_DIR, REPO_ROOT):
    if str(_extra) not in sys.path:
        sys.path.insert(0, str(_extra))

import benchlib  # noqa: E402  (machine info)
import photos as ph  # noqa: E402  (the photo generator)
from benchlib import log  # noqa: E402

from gallery_builder.encryption_state import CLEAR_DIR_ENV, clear_site_dir  # noqa: E402

PASSWORD = "bench: correct horse battery staple"
CONFIG = '[gallery]\nname = "bench"\ntitle = "Bench"\n'


@dataclass
class Run:
    wall: float
    cpu: float
    last_line: str


def gallery_build(source: Path, out: Path, config: Path, jobs: int, password: bool) -> Run:
    env = {k: v for k, v in os.environ.items() if k != "GALLERY_PASSWORD"}
    if password:
        env["GALLERY_PASSWORD"] = PASSWORD
    cmd = [sys.executable, "-m", "gallery_builder", "build", str(source), "-o", str(out)]
    cmd += ["--config", str(config), "-j", str(jobs)]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=REPO_ROOT)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        sys.exit(f"gallery build failed ({done.returncode}): {done.stderr.strip()[-500:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    lines = done.stdout.strip().splitlines()  # the summary, then "site: OUT"
    return Run(wall, cpu, lines[0] if lines else "")


def published_files(out: Path) -> tuple[int, int]:
    files = [p for p in out.rglob("*") if p.is_file() and ".gallery" not in p.parts]
    return len(files), sum(p.stat().st_size for p in files)


def derive_seconds() -> float:
    from gallery_builder.encryption import derive, new_salt

    started = time.process_time()
    derive(PASSWORD, new_salt())
    return time.process_time() - started


def seal_seconds(clear_site: Path) -> tuple[float, int, int]:
    """CPU seconds to read, hash and seal every file of the clear site in this process
    (what the encrypted build adds per file sealed), the file count and their bytes."""
    import hashlib

    from gallery_builder.encryption import derive, file_id, new_salt, seal

    keys = derive(PASSWORD, new_salt())
    files = [
        p
        for p in clear_site.rglob("*")
        if p.is_file() and ".gallery" not in p.relative_to(clear_site).parts
    ]
    started = time.process_time()
    total = 0
    for path in files:
        data = path.read_bytes()
        hashlib.md5(data).hexdigest()
        sealed = seal(keys, file_id(keys, path.relative_to(clear_site).as_posix()), data)
        hashlib.md5(sealed).hexdigest()
        total += len(data)
    return time.process_time() - started, len(files), total


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=100)
    parser.add_argument("--width", type=int, default=1600)
    parser.add_argument("--height", type=int, default=1067)
    parser.add_argument("--albums", type=int, default=5)
    # -j 1: the images are made in the CLI process itself, so its CPU time is all of the
    # build's (the image workers of -j N are not reaped by it, and their CPU is not counted)
    parser.add_argument("--jobs", type=int, default=1)
    parser.add_argument("--repeat", type=int, default=1, help="runs of each no-op rebuild")
    parser.add_argument("--workdir", type=Path)
    parser.add_argument("--output", type=Path, help="also append the Markdown report here")
    args = parser.parse_args(argv)
    work = args.workdir or Path(tempfile.mkdtemp(prefix="enc-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    specs = ph.plan_photos(args.count, (args.width, args.height), args.albums, 1, 90)
    label = f"photos-v{ph.GENERATOR_VERSION}-{args.width}x{args.height}-n{args.count}"
    photos = ph.ensure_photos(work / f"{label}-a{args.albums}-s1", specs, args.jobs, "photos")
    config = work / "encryption-bench.toml"
    config.write_text(CONFIG, encoding="utf-8")
    outs = {mode: work / f"out-{mode}" for mode in ("clear", "encrypted")}
    clear_cache = work / "clear-cache"  # the encrypted build's clear copy (outside OUT)
    os.environ[CLEAR_DIR_ENV] = str(clear_cache)
    rows: dict[str, dict[str, list[Run]]] = {}

    def timed(scenario: str, mode: str) -> None:
        run = gallery_build(photos.src, outs[mode], config, args.jobs, mode == "encrypted")
        rows.setdefault(scenario, {}).setdefault(mode, []).append(run)
        log(f"{scenario} {mode}: {run.wall:.2f} s wall, {run.cpu:.2f} s CPU; {run.last_line}")

    shutil.rmtree(clear_cache, ignore_errors=True)
    for mode in outs:
        shutil.rmtree(outs[mode], ignore_errors=True)
        timed("1. cold build", mode)
    for _ in range(args.repeat):
        for mode in outs:
            timed("2. no-op rebuild", mode)
    with ph.mutable_photo(photos, specs[0]):
        ph.change_photo(photos, specs[0], 1)
        for mode in outs:
            timed("3. one picture changed", mode)
    sizes = {mode: published_files(out) for mode, out in outs.items()}
    sealing, n_sealed, sealed_bytes = seal_seconds(clear_site_dir(outs["encrypted"]))
    report = [
        f"## Build-time cost of encryption ({time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())})",
        "",
        f"- Photos: {args.count} synthetic JPEGs of {args.width}x{args.height} "
        f"({photos.total_bytes / 1e6:.1f} MB) in {args.albums} albums; default image settings; "
        f"`-j {args.jobs}`",
        f"- Command: `python bench/encryption_bench.py {' '.join(argv or sys.argv[1:])}`".rstrip(),
        f"- Load average at the end: {benchlib.load_average()}",
        f"- PBKDF2-SHA256 600,000 iterations + HKDF in-process: {derive_seconds():.2f} s CPU",
        f"- Reading, hashing and sealing every file of the clear site in-process "
        f"({n_sealed} files, {sealed_bytes / 1e6:.1f} MB): {sealing:.2f} s CPU",
        "",
        "| scenario | clear CPU s | encrypted CPU s | difference | clear wall s "
        "| encrypted wall s |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for scenario, by_mode in rows.items():
        clear_cpu = median(r.cpu for r in by_mode["clear"])
        enc_cpu = median(r.cpu for r in by_mode["encrypted"])
        clear_wall = median(r.wall for r in by_mode["clear"])
        enc_wall = median(r.wall for r in by_mode["encrypted"])
        report.append(
            f"| {scenario} | {clear_cpu:.2f} | {enc_cpu:.2f} | {enc_cpu - clear_cpu:+.2f} "
            f"({(enc_cpu / clear_cpu - 1) * 100:+.0f}%) | {clear_wall:.2f} | {enc_wall:.2f} |"
        )
    (clear_n, clear_bytes), (enc_n, enc_bytes) = sizes["clear"], sizes["encrypted"]
    cold = rows["1. cold build"]
    report += [
        "",
        f"- Published: clear {clear_n} files, {clear_bytes / 1e6:.2f} MB; encrypted {enc_n} "
        f"files, {enc_bytes / 1e6:.2f} MB (each sealed file is 28 bytes longer: nonce and tag)",
        f"- Summaries of the cold builds: clear `{cold['clear'][-1].last_line}`; encrypted "
        f"`{cold['encrypted'][-1].last_line}`",
        "",
    ]
    text = "\n".join(report)
    print(text)
    if args.output:
        with args.output.open("a", encoding="utf-8") as f:
            f.write("\n" + text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
