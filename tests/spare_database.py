"""A new, empty database on the suite's engine, for tests that need one of
their own outside the rolled-back transaction (``/readyz`` and ``kudos
doctor`` on a database behind its migrations)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import make_url

from tests.pgserver import database_of_its_own


@contextmanager
def spare_database(database_url: str, folder: Path) -> Iterator[str]:
    """A SQLite file in ``folder``, or a PostgreSQL database next to the
    suite's, dropped afterwards."""
    if make_url(database_url).get_backend_name() == "sqlite":
        yield f"sqlite:///{folder / 'spare.sqlite3'}"
        return
    with database_of_its_own(database_url, "kudos_spare") as url:
        yield url
