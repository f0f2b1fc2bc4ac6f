"""Alembic, driven from the application's configuration.

``kudos db upgrade`` and friends build an Alembic ``Config`` in code, so no
``alembic.ini`` has to agree with ``KUDOS_DATABASE_URL``.
"""

from __future__ import annotations

from pathlib import Path

from alembic.config import Config
from sqlalchemy import Connection

import migrations

MIGRATIONS_DIR = Path(migrations.__file__).parent


def alembic_config(database_url: str | None = None, connection: Connection | None = None) -> Config:
    """An Alembic config for a URL, or for an open connection (tests)."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    if database_url is not None:
        # ConfigParser treats % as interpolation; URLs may contain %-escapes.
        cfg.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    if connection is not None:
        cfg.attributes["connection"] = connection
    return cfg
