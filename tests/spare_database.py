"""A new, empty database on the suite's engine, for tests that need one of
their own outside the rolled-back transaction (``/readyz`` and ``kudos
doctor`` on a database behind its migrations)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import make_url, text

from kudos.db import make_engine


@contextmanager
def spare_database(database_url: str, folder: Path) -> Iterator[str]:
    """A SQLite file in ``folder``, or a PostgreSQL database next to the
    suite's, dropped afterwards."""
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        yield f"sqlite:///{folder / 'spare.sqlite3'}"
        return
    name = f"kudos_spare_{uuid.uuid4().hex[:12]}"
    admin = make_engine(database_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
        admin.dispose()
