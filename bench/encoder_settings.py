#!/usr/bin/env python3
"""Measure the encoder settings behind ``[images] effort``: cost, file size and SSIM.

This is a measurement tool, not a test. It renders one deterministic, photo-like picture
(``build_bench.render_photo``, 6000×4000 by default: a 24 MP camera's), resizes it to the
derivative size measured (2048 px by default, the largest of the default sizes) the way the
build does, then encodes that image with each setting: WebP ``method`` 0-6, JPEG baseline,
optimised and optimised+progressive, AVIF ``speed`` 4-10 and PNG ``compress_level`` 1-9, at
the default qualities (``gallery_builder.config.DEFAULT_QUALITY``). For each: the CPU time of
one encode (the median of ``--repeat``), the file size, and the SSIM of the decoded file
against the image before encoding (luma, 8×8 windows).

    python bench/encoder_settings.py                  # a Markdown table
    python bench/encoder_settings.py --json out.json  # and the figures as JSON
    python bench/encoder_settings.py --formats webp,jpeg --size 4000x3000

:func:`measure_all` is importable (the image benchmark reuses it). Needs Pillow and numpy.
"""

from __future__ import annotations

import argparse
import io
import json
import statistics
import sys
import time
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent))
from build_bench import render_photo

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from gallery_builder.config import DEFAULT_QUALITY
from gallery_builder.encoder_settings import EFFORTS

#: (format, label, Pillow save options) of every setting measured
SETTINGS: tuple[tuple[str, str, dict[str, Any]], ...] = (
    *(("webp", f"method {m}", {"method": m}) for m in range(7)),
    ("jpeg", "baseline", {"optimize": False, "progressive": False}),
    ("jpeg", "optimize", {"optimize": True, "progressive": False}),
    ("jpeg", "optimize + progressive", {"optimize": True, "progressive": True}),
    *(("avif", f"speed {s}", {"speed": s}) for s in range(4, 11)),
    *(("png", f"compress_level {c}", {"compress_level": c}) for c in range(1, 10)),
)
_PILLOW = {"jpeg": "JPEG", "webp": "WEBP", "avif": "AVIF", "png": "PNG"}
_C1, _C2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2


@dataclass(frozen=True)
class Measurement:
    format: str
    setting: str
    options: dict[str, Any]
    ms: float  #: CPU milliseconds of one encode (median)
    bytes: int
    ssim: float  #: of the decoded file against the image encoded (1.0: identical)


def ssim(a: Image.Image, b: Image.Image, window: int = 8) -> float:
    """Mean SSIM of the luma of two pictures of one size (uniform ``window``, the usual
    constants); the same measure as tests/image_quality.py."""

    def means(v: np.ndarray) -> np.ndarray:
        s = np.pad(v, ((1, 0), (1, 0))).cumsum(0).cumsum(1)
        return (
            s[window:, window:] - s[:-window, window:] - s[window:, :-window]
            + s[:-window, :-window]
        ) / (window * window)  # fmt: skip

    x = np.asarray(a.convert("L"), dtype=np.float64)
    y = np.asarray(b.convert("L"), dtype=np.float64)
    mx, my = means(x), means(y)
    vx, vy, cov = means(x * x) - mx * mx, means(y * y) - my * my, means(x * y) - mx * my
    index = ((2 * mx * my + _C1) * (2 * cov + _C2)) / ((mx * mx + my * my + _C1) * (vx + vy + _C2))
    return float(index.mean())


def test_image(size: tuple[int, int], target: int, seed: int = 5) -> Image.Image:
    """The photo at ``size``, resized to ``target`` px on its long edge as the build does."""
    photo = render_photo(size, seed)
    scale = target / max(size)
    out = (round(size[0] * scale), round(size[1] * scale))
    return photo.resize(out, Image.Resampling.LANCZOS, reducing_gap=3.0)


def measure(image: Image.Image, fmt: str, options: dict[str, Any], repeat: int) -> tuple:
    """(median CPU ms, bytes, SSIM) of encoding ``image`` as ``fmt`` with ``options``."""
    quality = {} if fmt == "png" else {"quality": DEFAULT_QUALITY[fmt]}
    times, data = [], b""
    for _ in range(repeat):
        buffer = io.BytesIO()
        started = time.process_time()
        image.save(buffer, _PILLOW[fmt], **quality, **options)
        times.append((time.process_time() - started) * 1000)
        data = buffer.getvalue()
    with Image.open(io.BytesIO(data)) as decoded:
        similarity = ssim(image, decoded.convert("RGB"))
    return statistics.median(times), len(data), similarity


def measure_all(image: Image.Image, formats: Iterable[str], repeat: int = 3) -> list[Measurement]:
    """Every setting of :data:`SETTINGS` for ``formats``; AVIF once (it is slow)."""
    wanted = set(formats)
    found = []
    for fmt, label, options in SETTINGS:
        if fmt not in wanted:
            continue
        ms, size, similarity = measure(image, fmt, options, 1 if fmt == "avif" else repeat)
        found.append(Measurement(fmt, label, options, round(ms, 1), size, round(similarity, 4)))
        print(f"  {fmt} {label}: {ms:.0f} ms, {size} B, SSIM {similarity:.4f}", file=sys.stderr)
    return found


def _effort_of(fmt: str, options: dict[str, Any]) -> str:
    return ", ".join(e for e, presets in EFFORTS.items() if presets[fmt] == options)


def markdown(rows: Sequence[Measurement]) -> str:
    """The table docs/building.md shows: per format, size and cost against its balanced
    setting."""
    lines = [
        "| Format | Setting | Effort | CPU ms | Size (KiB) | Size vs balanced | SSIM |",
        "|---|---|---|---:|---:|---:|---:|",
    ]
    for row in rows:
        balanced = next(
            r for r in rows if r.format == row.format and r.options == EFFORTS["balanced"][r.format]
        )
        lines.append(
            f"| {row.format} | {row.setting} | {_effort_of(row.format, row.options)} "
            f"| {row.ms:.0f} | {row.bytes / 1024:.0f} | {row.bytes / balanced.bytes - 1:+.1%} "
            f"| {row.ssim:.4f} |"
        )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", default="6000x4000", help="the photo, WxH (default 24 MP)")
    parser.add_argument("--target", type=int, default=2048, help="long edge encoded")
    parser.add_argument("--formats", default="webp,jpeg,avif,png")
    parser.add_argument("--repeat", type=int, default=3, help="encodes per setting (median)")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    parser.add_argument("--table", type=Path, help="print the table of figures saved by --json")
    args = parser.parse_args(argv)
    if args.table:
        print(markdown([Measurement(**row) for row in json.loads(args.table.read_text())]))
        return 0
    width, height = (int(v) for v in args.size.lower().split("x"))
    image = test_image((width, height), args.target)
    print(
        f"encoding a {image.width}x{image.height} image of a {width}x{height} photo",
        file=sys.stderr,
    )
    rows = measure_all(image, args.formats.split(","), args.repeat)
    print(markdown(rows))
    if args.json:
        args.json.write_text(json.dumps([asdict(r) for r in rows], indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
