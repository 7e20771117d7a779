"""The progress output says how many pictures a second are made and when they will be done."""

from __future__ import annotations

import io
from collections.abc import Iterator

from gallery_builder.progress import PlainReporter, eta_text, rate_text


def ticking(step: float) -> Iterator[float]:
    now = 0.0
    while True:
        yield now
        now += step


def test_plain_lines_give_the_rate_and_the_eta() -> None:
    stream = io.StringIO()
    clock = ticking(1.0)  # each reading a second after the last
    reporter = PlainReporter(stream, clock=lambda: next(clock))
    reporter.start(20)
    for i in range(20):
        reporter.advance(f"p{i}.jpg")
    lines = stream.getvalue().splitlines()
    assert lines[0] == "making images of 20 pictures"
    # 2 done at the second reading (1 s after the start): 2 a second, 18 left: 9 s
    assert lines[1] == "  2/20 (2.0 pictures/s, ETA 0:00:09)"
    assert lines[-1].startswith("  20/20 (") and "ETA" not in lines[-1]
    assert len(lines) == 11


def test_rate_and_eta_texts() -> None:
    assert rate_text(0, 0.0) == "– pictures/s"
    assert rate_text(3, 2.0) == "1.5 pictures/s"
    assert rate_text(1000, 2.0) == "500 pictures/s"
    assert eta_text(0, 10, 1.0) == "ETA –"
    assert eta_text(10, 100_010, 1.0) == "ETA 2:46:40"
