"""Progress reporting: a bar on a terminal, plain lines otherwise; both say how many pictures
a second are made and when the images will be done (an ETA)."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import TextIO

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    Task,
    TextColumn,
    TimeRemainingColumn,
)
from rich.text import Text


def rate_text(done: int, seconds: float) -> str:
    """``"12.5 pictures/s"``; ``"– pictures/s"`` before there is anything to go by."""
    if done <= 0 or seconds <= 0:
        return "– pictures/s"
    rate = done / seconds
    return f"{rate:.1f} pictures/s" if rate < 100 else f"{rate:.0f} pictures/s"


def eta_text(done: int, total: int, seconds: float) -> str:
    """The time left at the rate so far, as ``"ETA 0:01:05"``; ``"ETA –"`` before any."""
    if done <= 0 or seconds <= 0:
        return "ETA –"
    left = round((total - done) * seconds / done)
    hours, rest = divmod(max(0, left), 3600)
    return f"ETA {hours}:{rest // 60:02d}:{rest % 60:02d}"


class Reporter:
    """Silent reporter; the base of the others and what library callers get by default."""

    def start(self, total: int) -> None: ...

    def advance(self, label: str) -> None: ...

    def stop(self) -> None: ...

    def warn(self, message: str) -> None: ...


class PlainReporter(Reporter):
    """One line per ~10% of the images (with the rate and the ETA), and each warning: fit
    for logs and CI. ``clock``: seconds from any fixed point (time.monotonic)."""

    def __init__(self, stream: TextIO | None = None, clock: Callable[[], float] = time.monotonic):
        self.stream = stream or sys.stderr
        self.clock = clock
        self.total = self.done = 0
        self._next_report = 0
        self._started = 0.0

    def start(self, total: int) -> None:
        self.total, self.done = total, 0
        self._next_report = max(1, total // 10)
        self._started = self.clock()
        if total:
            print(f"making images of {total} pictures", file=self.stream, flush=True)

    def advance(self, label: str) -> None:
        self.done += 1
        if self.done >= self._next_report or self.done == self.total:
            seconds = self.clock() - self._started
            rate = rate_text(self.done, seconds)
            if self.done < self.total:
                rate += ", " + eta_text(self.done, self.total, seconds)
            print(f"  {self.done}/{self.total} ({rate})", file=self.stream, flush=True)
            self._next_report = self.done + max(1, self.total // 10)

    def warn(self, message: str) -> None:
        print(message, file=self.stream, flush=True)


class RateColumn(ProgressColumn):
    """The bar's pictures a second (rich's own estimate, over its recent samples)."""

    def render(self, task: Task) -> Text:
        speed = task.finished_speed or task.speed
        if speed is None:
            return Text("– pictures/s", style="progress.data.speed")
        shown = f"{speed:.1f}" if speed < 100 else f"{speed:.0f}"
        return Text(f"{shown} pictures/s", style="progress.data.speed")


class BarReporter(Reporter):
    """A rich progress bar on a terminal: done/total, pictures a second, the ETA."""

    def __init__(self) -> None:
        self.console = Console(stderr=True)
        self.progress = Progress(
            TextColumn("[bold]images"),
            BarColumn(),
            MofNCompleteColumn(),
            RateColumn(),
            TextColumn("ETA"),
            TimeRemainingColumn(),
            TextColumn("{task.description}"),
            console=self.console,
            transient=True,
        )
        self.task = None

    def start(self, total: int) -> None:
        if total:
            self.progress.start()
            self.task = self.progress.add_task("", total=total)

    def advance(self, label: str) -> None:
        if self.task is not None:
            self.progress.update(self.task, advance=1, description=label[-40:])

    def stop(self) -> None:
        self.progress.stop()

    def warn(self, message: str) -> None:
        self.console.print(message, markup=False, highlight=False)


class WarningsReporter(PlainReporter):
    """Warnings only (``--quiet``)."""

    def start(self, total: int) -> None: ...

    def advance(self, label: str) -> None: ...


def reporter_for(stream: TextIO, quiet: bool = False) -> Reporter:
    if quiet:
        return WarningsReporter(stream)
    return BarReporter() if stream.isatty() else PlainReporter(stream)
