"""How a long service tells how far it got: it takes an optional
``on_progress(phase, done, total)`` (``total`` None when unknown), and a new
phase ends the one before. The commands pass ``kudos.progress.shown(...)``,
which shows it; the services import only this, not the display."""

from __future__ import annotations

from collections.abc import Callable

OnProgress = Callable[[str, int, int | None], None]


def silent(phase: str, done: int, total: int | None = None) -> None:
    """No one listening."""
