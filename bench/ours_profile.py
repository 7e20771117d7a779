#!/usr/bin/env python3
"""Where gallery-builder's own time goes: ``gallery build -j 1`` (every picture made in the
CLI's process) under cProfile with a CPU-time clock, summed up as JSON: the total, the
functions with the most self time, and the time under a few markers (decode, resize, encode,
EXIF, pages, scan...). Run by image_bench.py::

    python bench/ours_profile.py SRC OUT CONFIG
"""

from __future__ import annotations

import cProfile
import json
import pstats
import sys
import time

TOP = 14


def main(argv: list[str]) -> int:
    src, out, config = argv
    from gallery_builder.cli import main as gallery

    profile = cProfile.Profile(time.process_time)
    profile.enable()
    try:
        gallery(["build", src, "-o", out, "-j", "1", "--config", config])
    except SystemExit as exc:
        if exc.code not in (0, None):
            raise
    finally:
        profile.disable()
    stats = pstats.Stats(profile)
    total = stats.total_tt  # type: ignore[attr-defined]
    rows = []
    for (path, line, name), (_cc, _nc, tt, ct, _callers) in stats.stats.items():  # type: ignore[attr-defined]
        where = f"{path.rsplit('/site-packages/', 1)[-1].rsplit('/wt/', 1)[-1]}:{line}({name})"
        rows.append({"where": where, "self": tt, "cumulative": ct})
    ours = [r for r in rows if r["where"].startswith(("bench/gallery_builder/", "bench/plugins/"))]
    ours = [r for r in ours if r["cumulative"] < 0.9 * total]  # not main() and its callers
    rows.sort(key=lambda r: r["self"], reverse=True)
    ours.sort(key=lambda r: r["cumulative"], reverse=True)
    kept: list[dict] = []
    for row in ours:  # a chain of wrappers shows once: the outermost of nearly equal times
        if not kept or row["cumulative"] < 0.98 * kept[-1]["cumulative"]:
            kept.append(row)
    print(json.dumps({"total": total, "top": rows[:TOP], "ours": kept[:TOP]}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
