"""The SQL a block of a test sends, for tests that count or look for
statements."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Connection, Engine, event

# The tests' shared transaction wraps each request in these: not the app's.
SAVEPOINTS = ("SAVEPOINT", "RELEASE", "ROLLBACK TO")


@contextmanager
def statements(target: Engine | Connection) -> Iterator[list[str]]:
    """Each statement sent through ``target`` while the block runs,
    savepoints left out. Reads that go around SQLAlchemy (``kudos.reads``)
    are not seen: a test can tell by this that a page made none through it."""
    seen: list[str] = []

    def listener(_conn, _cursor, sql, *_args) -> None:  # noqa: ANN001
        if not sql.startswith(SAVEPOINTS):
            seen.append(sql)

    event.listen(target, "before_cursor_execute", listener)
    try:
        yield seen
    finally:
        event.remove(target, "before_cursor_execute", listener)
