"""Reporting lines: the one check that no change makes someone their own
(indirect) manager. The directory import, the admin console and sign-in
claims all ask it, keyed by whatever they know people by."""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping
from typing import TypeVar

K = TypeVar("K", bound=Hashable)


def people_in_cycles(manager_of: Mapping[K, K | None], starts: Iterable[K]) -> set[K]:
    """Everyone on a reporting cycle reached by walking up from ``starts``,
    in the reporting lines ``manager_of`` (each person's manager, or None)."""
    in_cycle: set[K] = set()
    settled: set[K] = set()
    for start in starts:
        path: list[K] = []
        seen_on_path: set[K] = set()
        current: K | None = start
        while current is not None and current not in settled:
            if current in seen_on_path:
                in_cycle.update(path[path.index(current) :])
                break
            seen_on_path.add(current)
            path.append(current)
            current = manager_of.get(current)
        settled.update(path)
    return in_cycle


def cycle_from(start: K, manager_of: Mapping[K, K | None]) -> list[K]:
    """The cycle ``start`` is on, from and back to ``start`` (at most 50 long)."""
    chain, current = [start], manager_of.get(start)
    while current is not None and current != start and len(chain) < 50:
        chain.append(current)
        current = manager_of.get(current)
    return [*chain, start]
