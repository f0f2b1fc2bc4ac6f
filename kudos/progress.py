"""Progress of the long commands (``kudos seed``, ``rollups rebuild``, ``users
import``, ``summaries send``, ``outbox deliver``), on stderr so that stdout
keeps only each command's result.

In a terminal: a live bar per phase (rich), with the position, the rate and
an estimate of the time left. Anywhere else (cron, CI, a pipe, a log file):
a plain line at most every ``interval`` seconds while a phase runs, and one
when it ends, never a carriage return or an escape code::

    seed: kudos 12,000 of 100,000 (12%), 2,400/s, about 37 s left
    seed: kudos 100,000 of 100,000 (100%) done in 41 s, 2,439/s

The services do not import this (nor rich): they take an optional callback,
``on_progress(phase, done, total)`` (``kudos/progress_callback.py``), and a
new phase ends the one before. A ``Progress`` is such a callback::

    with progress.shown("seed") as on_progress:
        report = seed_synthetic(session, ..., on_progress=on_progress)
    click.echo(report)
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable
from types import TracebackType
from typing import TextIO

from rich.console import Console
from rich.progress import (
    BarColumn,
    ProgressColumn,
    SpinnerColumn,
    Task,
    TaskID,
    TextColumn,
)
from rich.progress import Progress as RichProgress
from rich.table import Column
from rich.text import Text

# Seconds between two plain lines of one command (the end of a phase is always shown).
INTERVAL = 5.0

Clock = Callable[[], float]


def shown(
    label: str,
    *,
    stream: TextIO | None = None,
    interval: float | None = None,
    clock: Clock = time.monotonic,
) -> Progress:
    """The progress of the command ``label``, on ``stream`` (default: stderr):
    live if the stream is a terminal, plain lines otherwise."""
    stream = sys.stderr if stream is None else stream
    interval = INTERVAL if interval is None else interval
    kind = LiveProgress if is_terminal(stream) else LineProgress
    return kind(label, stream=stream, interval=interval, clock=clock)


def is_terminal(stream: TextIO) -> bool:
    """Whether a person watches ``stream``: a TTY, and not a dumb one (an
    editor's shell, a CI log that claims to be a terminal)."""
    try:
        tty = stream.isatty()
    except (AttributeError, ValueError):  # no isatty, or closed
        return False
    return tty and os.environ.get("TERM") != "dumb"


class Progress:
    """``on_progress(phase, done, total)`` for a service; a context manager
    that ends the last phase."""

    def __init__(self, label: str, *, stream: TextIO, interval: float, clock: Clock) -> None:
        self.label = label
        self.stream = stream
        self.interval = interval
        self.clock = clock
        self.phase: str | None = None
        self.done = 0
        self.total: int | None = None
        self.started = clock()
        self.failed = False  # the command stopped with an error

    def __call__(self, phase: str, done: int, total: int | None = None) -> None:
        if phase != self.phase:
            self._end_phase()
            self.phase, self.started = phase, self.clock()
            self.begin()
        self.done, self.total = done, total
        self.moved()

    def close(self) -> None:
        """End the phase in progress, if any, and the display."""
        self._end_phase()
        self.stop()

    def _end_phase(self) -> None:
        if self.phase is not None:
            self.end()
            self.phase = None

    def __enter__(self) -> Progress:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.failed = kind is not None
        self.close()

    # What each kind does.
    def begin(self) -> None: ...

    def moved(self) -> None: ...

    def end(self) -> None: ...

    def stop(self) -> None: ...


class LineProgress(Progress):
    """A plain line now and then, and one at the end of each phase."""

    def __init__(self, label: str, *, stream: TextIO, interval: float, clock: Clock) -> None:
        super().__init__(label, stream=stream, interval=interval, clock=clock)
        self.last_line = self.started

    def moved(self) -> None:
        now = self.clock()
        if now - self.last_line >= self.interval:
            self._write(self._running(now - self.started))

    def end(self) -> None:
        if self.total == 0:
            return  # nothing to do, nothing to say (an empty outbox every minute)
        self._write(self._ended(self.clock() - self.started))

    def _running(self, elapsed: float) -> str:
        done, total = self.done, self.total
        rate = done / elapsed if elapsed > 0 and done else None
        if total is None:
            position = f"{done:,} so far" if done else f"running for {duration(elapsed)}"
            return self._line(position, f"{rate_text(rate)}/s" if rate else None)
        parts = [f"{rate_text(rate)}/s"] if rate else []
        if rate and done < total:
            parts.append(f"about {duration((total - done) / rate)} left")
        return self._line(f"{done:,} of {total:,} ({percent(done, total)})", *parts)

    def _ended(self, elapsed: float) -> str:
        done, total = self.done, self.total
        rate = f"{rate_text(done / elapsed)}/s" if elapsed > 0 and done else None
        if total is None:
            position = f"{done:,}" if done else ""
            return self._line(position, rate, ended=elapsed, stopped=self.failed)
        return self._line(
            f"{done:,} of {total:,} ({percent(done, total)})",
            rate,
            ended=elapsed,
            stopped=done < total,
        )

    def _line(
        self,
        position: str,
        *parts: str | None,
        ended: float | None = None,
        stopped: bool = False,
    ) -> str:
        text = f"{self.label}: {self.phase}"
        if position:
            text += f" {position.strip()}"
        if ended is not None:
            text += f" {'stopped after' if stopped else 'done in'} {duration(ended)}"
        return ", ".join([text, *(part for part in parts if part)])

    def _write(self, line: str) -> None:
        self.stream.write(line + "\n")
        self.stream.flush()
        self.last_line = self.clock()


class LiveProgress(Progress):
    """rich's live display: a bar for each phase, kept on screen when it ends."""

    def __init__(self, label: str, *, stream: TextIO, interval: float, clock: Clock) -> None:
        super().__init__(label, stream=stream, interval=interval, clock=clock)
        self.bars = RichProgress(
            SpinnerColumn(),
            # At 80 columns the description gives way, not the numbers.
            TextColumn(
                "{task.description}", table_column=Column(no_wrap=True, overflow="ellipsis")
            ),
            BarColumn(bar_width=20),
            PositionColumn(),
            RateColumn(),
            TimesColumn(),
            console=Console(file=stream, force_terminal=True),
            get_time=clock,
            # The command's own output goes to stdout as it is, never into the display.
            redirect_stdout=False,
            redirect_stderr=False,
        )
        self.task: TaskID | None = None

    def begin(self) -> None:
        if self.task is None:
            self.bars.start()
        self.task = self.bars.add_task(
            f"{self.label}: {self.phase}", total=None, done=0, counted=None
        )

    def moved(self) -> None:
        self.bars.update(
            self.task, completed=self.done, total=self.total, done=self.done, counted=self.total
        )

    def end(self) -> None:
        if self.total == 0:
            self.bars.remove_task(self.task)  # nothing to do, nothing to show
            return
        if self.failed:
            self.bars.stop_task(self.task)  # where it was, its time frozen
            return
        # Finished, whatever it counted: the bar full, the time frozen.
        total = self.total if self.total else max(self.done, 1)
        self.bars.update(self.task, completed=max(self.done, total), total=total)

    def stop(self) -> None:
        if self.task is not None:
            self.bars.stop()
            self.task = None


class PositionColumn(ProgressColumn):
    """12,000/100,000; 12,000 when the total is unknown (nothing before the first)."""

    def render(self, task: Task) -> Text:
        done, total = task.fields["done"], task.fields["counted"]
        if total is None:
            return Text(f"{done:,}" if done else "")
        return Text(f"{done:,}/{total:,}")


class RateColumn(ProgressColumn):
    """Items per second: over the last half minute (rich's ``task.speed``)
    while the phase runs, over all of it when it is done."""

    def render(self, task: Task) -> Text:
        if task.finished:
            took = task.finished_time
            speed = task.fields["done"] / took if took else None
        else:
            speed = task.speed
        return Text(f"{rate_text(speed)}/s" if speed else "")


class TimesColumn(ProgressColumn):
    """The time taken so far, and rich's estimate of the time left."""

    def render(self, task: Task) -> Text:
        if task.finished:
            return Text(f"done in {duration(task.finished_time or 0.0)}")
        elapsed = task.elapsed or 0.0
        left = task.time_remaining
        estimate = f", {duration(left)} left" if left is not None else ""
        return Text(f"{duration(elapsed)}{estimate}")


def duration(seconds: float) -> str:
    """4.2 s, 37 s, 4 min 10 s, 1 h 05 min."""
    if seconds < 9.95:
        return f"{seconds:.1f} s"
    seconds = round(seconds)
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min {seconds % 60} s"
    return f"{seconds // 3600} h {seconds % 3600 // 60:02d} min"


def rate_text(rate: float) -> str:
    """2,400; 3.5 when below ten."""
    return f"{rate:,.0f}" if rate >= 10 else f"{rate:.1f}"


def percent(done: int, total: int) -> str:
    return f"{100 * done // total}%" if total else "100%"
