"""Progress reporting: a bar on a terminal, plain lines otherwise."""

from __future__ import annotations

import sys
from typing import TextIO

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn


class Reporter:
    """Silent reporter; the base of the others and what library callers get by default."""

    def start(self, total: int) -> None: ...

    def advance(self, label: str) -> None: ...

    def stop(self) -> None: ...

    def warn(self, message: str) -> None: ...


class PlainReporter(Reporter):
    """One line per ~10% of the images, and each warning: fit for logs and CI."""

    def __init__(self, stream: TextIO | None = None):
        self.stream = stream or sys.stderr
        self.total = self.done = 0
        self._next_report = 0

    def start(self, total: int) -> None:
        self.total, self.done = total, 0
        self._next_report = max(1, total // 10)
        if total:
            print(f"making images of {total} pictures", file=self.stream, flush=True)

    def advance(self, label: str) -> None:
        self.done += 1
        if self.done >= self._next_report or self.done == self.total:
            print(f"  {self.done}/{self.total}", file=self.stream, flush=True)
            self._next_report = self.done + max(1, self.total // 10)

    def warn(self, message: str) -> None:
        print(message, file=self.stream, flush=True)


class BarReporter(Reporter):
    """A rich progress bar on a terminal."""

    def __init__(self) -> None:
        self.console = Console(stderr=True)
        self.progress = Progress(
            TextColumn("[bold]images"),
            BarColumn(),
            MofNCompleteColumn(),
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
