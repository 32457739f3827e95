"""Progress of model work: the `Tracker` protocol the callers of a backend report to, and a rich display
(rate, ETA) of it for translation (records, segments) and synthesis (images, requests).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Protocol

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    Task,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.text import Text


class Tracker(Protocol):
    """Progress of the model work: texts that must go to the model, and those answered."""

    def add_total(self, n: int) -> None: ...

    def advance(self, n: int) -> None: ...


class RateColumn(ProgressColumn):
    """Items per second, from rich's moving estimate."""

    def render(self, task: Task) -> Text:
        speed = task.finished_speed or task.speed
        return Text(f"{speed:,.1f}/s" if speed else "-/s", style="progress.data.speed")


class ProgressTracker:
    """Two bars: items written (total known), and requests to the model (total grows per chunk).

    Translation counts records and segments; synthesis counts images and requests (`labels`).
    """

    def __init__(
        self,
        progress: Progress | None,
        records_total: int,
        labels: tuple[str, str] = ("records", "segments from the model"),
    ) -> None:
        self._p = progress
        self._records: TaskID | None = None
        self._segments: TaskID | None = None
        if progress is not None:
            self._records = progress.add_task(labels[0], total=records_total)
            self._segments = progress.add_task(labels[1], total=0)

    def add_total(self, n: int) -> None:
        if self._p is not None and self._segments is not None:
            task = self._p.tasks[self._segments]
            self._p.update(self._segments, total=(task.total or 0) + n)

    def advance(self, n: int) -> None:
        if self._p is not None and self._segments is not None:
            self._p.advance(self._segments, n)

    def records(self, n: int) -> None:
        if self._p is not None and self._records is not None:
            self._p.advance(self._records, n)


@contextmanager
def progress_tracker(
    enabled: bool, records_total: int, labels: tuple[str, str] = ("records", "segments from the model")
) -> Iterator[ProgressTracker]:
    """A tracker drawing on stderr when `enabled` (rich hides it when stderr is not a terminal)."""
    if not enabled:
        yield ProgressTracker(None, records_total, labels)
        return
    columns = (
        TextColumn("{task.description:<24}"),
        BarColumn(),
        MofNCompleteColumn(),
        RateColumn(),
        TimeElapsedColumn(),
        TextColumn("eta"),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=Console(stderr=True), transient=False) as progress:
        yield ProgressTracker(progress, records_total, labels)
