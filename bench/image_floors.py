#!/usr/bin/env python3
"""The floors of image_bench.py: bare loops that make a job's files and nothing else.

One loop with Pillow, one with pyvips, each the least code that makes every file of the job
the way a careful hand-written script would: decode once at the smallest scale the largest
size allows (Pillow ``draft()``, libvips shrink-on-load through ``thumbnail``), make the
largest size, each smaller size from the next larger one, the thumbnail's centre crop from
the smallest of them that covers its box, and encode every format from each of those
buffers. Lanczos in both (Pillow with ``reducing_gap=3.0``, as gallery-builder's Pillow
processor); the encoder settings given by the caller, the same as for the tools. No
metadata is written. The photos are spread over ``-j`` worker processes.

Run by image_bench.py as a command (so that it is measured like the tools)::

    python bench/image_floors.py pillow JOB.json SRC OUT -j 2
    python bench/image_floors.py vips JOB.json SRC OUT -j 2 --profile

``JOB.json``: ``{"sizes": [2048], "thumbnail": [200, 150], "formats": ["jpeg"],
"quality": {"jpeg": 85}, "options": {"jpeg": {"optimize": false, "progressive": false}}}``.
With ``--profile`` the photos are done in this process, one at a time, and the CPU time of
each step (decode, each resize, each encoder) is printed as JSON: where the time goes.
"""

from __future__ import annotations

import argparse
import ctypes
import ctypes.util
import io
import json
import os
import sys
import time
from collections import defaultdict
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

Job = dict[str, Any]
Steps = dict[str, float]

SUFFIX = {"jpeg": ".jpg", "webp": ".webp", "avif": ".avif", "png": ".png"}


def fit(width: int, height: int, edge: int) -> tuple[int, int]:
    """The size whose long edge is ``edge`` (never larger than the source)."""
    if max(width, height) <= edge:
        return width, height
    scale = edge / max(width, height)
    return max(1, round(width * scale)), max(1, round(height * scale))


def crop_box(width: int, height: int, box: tuple[int, int]) -> tuple[int, int, int, int]:
    """The centred region of a width x height image with the aspect ratio of ``box``."""
    bw, bh = box
    if width * bh > height * bw:  # wider than the box: cut the sides
        w = round(height * bw / bh)
        left = (width - w) // 2
        return left, 0, left + w, height
    h = round(width * bh / bw)
    top = (height - h) // 2
    return 0, top, width, top + h


class Clock:
    """CPU seconds of this process per step (all threads: libvips works in its own)."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self.steps: Steps = defaultdict(float)
        self._t = time.process_time()

    def lap(self, name: str) -> None:
        if self.enabled:
            now = time.process_time()
            self.steps[name] += now - self._t
            self._t = now


def write(out: Path, stem: str, label: str, fmt: str, data: bytes) -> None:
    (out / f"{stem}-{label}{SUFFIX[fmt]}").write_bytes(data)


# --------------------------------------------------------------------------
# Pillow
# --------------------------------------------------------------------------


def pillow_encode(image: Any, fmt: str, job: Job) -> bytes:
    options = {"quality": job["quality"][fmt], **job["options"].get(fmt, {})}
    buffer = io.BytesIO()
    image.save(buffer, {"jpeg": "JPEG", "webp": "WEBP", "avif": "AVIF"}[fmt], **options)
    return buffer.getvalue()


def pillow_photo(path: str, out: str, job: Job, profile: bool) -> Steps:
    from PIL import Image

    clock = Clock(profile)
    stem, dest = Path(path).stem, Path(out)
    sizes = sorted(job["sizes"], reverse=True)
    tw, th = job["thumbnail"]
    with Image.open(path) as im:
        width, height = im.size
        first = fit(width, height, sizes[0])
        # the smallest decode scale that still covers the largest size (and the thumbnail)
        im.draft("RGB", (max(first[0], tw), max(first[1], th)))
        im.load()
        base = im if im.mode == "RGB" else im.convert("RGB")
        clock.lap("decode")
        buffers = []
        source = base
        for edge in sizes:
            size = fit(width, height, edge)
            image = (
                source
                if source.size == size
                else source.resize(size, Image.Resampling.LANCZOS, reducing_gap=3.0)
            )
            clock.lap(f"resize {edge}")
            buffers.append(image)
            for fmt in job["formats"]:
                write(dest, stem, str(edge), fmt, pillow_encode(image, fmt, job))
                clock.lap(f"encode {fmt} {edge}")
            source = image
        cover = [b for b in buffers if b.width >= tw and b.height >= th] or [base]
        small = cover[-1]
        thumb = small.resize(
            (tw, th),
            Image.Resampling.LANCZOS,
            box=crop_box(*small.size, (tw, th)),
            reducing_gap=3.0,
        )
        clock.lap("resize thumbnail")
        for fmt in job["formats"]:
            write(dest, stem, "thumb", fmt, pillow_encode(thumb, fmt, job))
            clock.lap(f"encode {fmt} thumbnail")
    return dict(clock.steps)


# --------------------------------------------------------------------------
# libvips
# --------------------------------------------------------------------------


def vips_encode(image: Any, fmt: str, job: Job) -> bytes:
    options = job["options"].get(fmt, {})
    q = job["quality"][fmt]
    if fmt == "jpeg":
        return image.jpegsave_buffer(
            Q=q,
            optimize_coding=bool(options.get("optimize", False)),
            interlace=bool(options.get("progressive", False)),
            keep="none",
        )
    if fmt == "webp":
        return image.webpsave_buffer(Q=q, effort=int(options.get("method", 4)), keep="none")
    return image.heifsave_buffer(
        Q=q, compression="av1", effort=int(options.get("speed", 6)), keep="none"
    )


def vips_photo(path: str, out: str, job: Job, profile: bool) -> Steps:
    import pyvips

    clock = Clock(profile)
    stem, dest = Path(path).stem, Path(out)
    sizes = sorted(job["sizes"], reverse=True)
    tw, th = job["thumbnail"]
    # shrink-on-load, resize and decode in one pass; in memory, since every format and the
    # next size read it
    if profile:  # the decode alone first, to tell it from the resize
        header = pyvips.Image.new_from_file(path)
        first = fit(header.width, header.height, sizes[0])
        shrink = 1
        while shrink < 8 and header.width // (shrink * 2) >= first[0]:
            shrink *= 2
        loaded = pyvips.Image.new_from_file(path, shrink=shrink, access="sequential")
        loaded = loaded.copy_memory()
        clock.lap("decode")
        source = loaded.thumbnail_image(sizes[0], height=sizes[0], size="down").copy_memory()
    else:
        source = pyvips.Image.thumbnail(path, sizes[0], height=sizes[0], size="down")
        source = source.copy_memory()
    clock.lap(f"resize {sizes[0]}")
    buffers = []
    for i, edge in enumerate(sizes):
        if i:
            source = source.thumbnail_image(edge, height=edge, size="down").copy_memory()
            clock.lap(f"resize {edge}")
        buffers.append(source)
        for fmt in job["formats"]:
            write(dest, stem, str(edge), fmt, vips_encode(source, fmt, job))
            clock.lap(f"encode {fmt} {edge}")
    cover = [b for b in buffers if b.width >= tw and b.height >= th] or buffers[:1]
    thumb = cover[-1].thumbnail_image(tw, height=th, crop="centre").copy_memory()
    clock.lap("resize thumbnail")
    for fmt in job["formats"]:
        write(dest, stem, "thumb", fmt, vips_encode(thumb, fmt, job))
        clock.lap(f"encode {fmt} thumbnail")
    return dict(clock.steps)


# --------------------------------------------------------------------------
# CLI
# --------------------------------------------------------------------------

WORKERS = {"pillow": pillow_photo, "vips": vips_photo}


def _init_worker(kind: str, threads: int) -> None:
    """The worker's runtime, as gallery-builder's vips processor sets its own: libvips with
    ``threads`` threads and no operation cache, and 2 malloc arenas (``mallopt``: glibc
    reads ``MALLOC_ARENA_MAX`` only when a process starts, and a forked worker has started)."""
    os.environ.setdefault("MALLOC_ARENA_MAX", "2")
    libc = ctypes.CDLL(ctypes.util.find_library("c"))
    if hasattr(libc, "mallopt"):
        libc.mallopt(-8, int(os.environ["MALLOC_ARENA_MAX"]))  # M_ARENA_MAX
    if kind == "vips":
        import pyvips

        pyvips.cache_set_max(0)
        pyvips.cache_set_max_files(0)
        pyvips.cache_set_max_mem(0)
        pyvips.concurrency_set(threads)


def _run_one(kind: str, path: str, out: str, job: Job) -> Steps:
    return WORKERS[kind](path, out, job, False)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description="Bare Pillow / pyvips loops making a job's files.")
    p.add_argument("kind", choices=sorted(WORKERS))
    p.add_argument("job", type=Path, help="the job as JSON (sizes, thumbnail, formats, ...)")
    p.add_argument("src", type=Path)
    p.add_argument("out", type=Path)
    p.add_argument("-j", "--jobs", type=int, default=os.cpu_count() or 1)
    p.add_argument("--profile", action="store_true", help="in this process; print step times")
    args = p.parse_args(argv)
    job = json.loads(args.job.read_text())
    photos = sorted(str(x) for x in args.src.rglob("*.jpg"))
    args.out.mkdir(parents=True, exist_ok=True)
    threads = max(1, (os.cpu_count() or 1) // args.jobs)
    if args.profile:
        _init_worker(args.kind, threads)
        total: Steps = defaultdict(float)
        for path in photos:
            for name, seconds in WORKERS[args.kind](path, str(args.out), job, True).items():
                total[name] += seconds
        print(json.dumps({"photos": len(photos), "steps": total}))
        return 0
    with ProcessPoolExecutor(
        args.jobs, initializer=_init_worker, initargs=(args.kind, threads)
    ) as pool:
        futures = [pool.submit(_run_one, args.kind, path, str(args.out), job) for path in photos]
        for future in futures:
            future.result()
    print(f"{len(photos)} photos done by the bare {args.kind} loop")
    return 0


if __name__ == "__main__":
    sys.exit(main())
