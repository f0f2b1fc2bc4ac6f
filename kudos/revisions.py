"""Where a database's schema stands against this version's migrations.

Shared by ``/readyz`` (``kudos/health.py``), ``kudos doctor`` and the
commands' database check: one query on Alembic's version table, compared
with the heads of ``migrations/`` (read from disk once per process).
"""

from __future__ import annotations

import dataclasses
import functools
from dataclasses import dataclass

from alembic.script import ScriptDirectory
from alembic.util import CommandError
from sqlalchemy import Connection, inspect, text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from kudos.migrate import alembic_config


@functools.cache
def _scripts() -> ScriptDirectory:
    return ScriptDirectory.from_config(alembic_config())


def heads() -> frozenset[str]:
    """The newest revisions of this version of Kudos."""
    return frozenset(_scripts().get_heads())


def current(connection: Connection) -> frozenset[str]:
    """The revisions the database is at. Raises SQLAlchemy's error when the
    database does not answer or has no version table (no Kudos tables)."""
    return frozenset(connection.scalars(text("SELECT version_num FROM alembic_version")))


# Every Kudos has had these since its first migration, and will keep them.
KUDOS_TABLES = ("person", "kudos")


@dataclass(frozen=True)
class SchemaState:
    current: frozenset[str]
    heads: frozenset[str]
    kudos_tables: bool = True  # looked at only when the revision is not ours

    @property
    def state(self) -> str:
        """``at head``, ``empty`` (no revision), ``behind`` (an older
        revision of ours: ``kudos db upgrade``), ``newer`` (a revision this
        version does not know, beside Kudos' tables: a newer Kudos upgraded
        it) or ``foreign`` (neither: another application's database)."""
        if self.current == self.heads:
            return "at head"
        if not self.current:
            return "empty"
        try:
            for revision in self.current:
                _scripts().get_revision(revision)
        except CommandError:
            return "newer" if self.kudos_tables else "foreign"
        return "behind"

    @staticmethod
    def shown(revisions: frozenset[str]) -> str:
        return ", ".join(sorted(revisions)) or "none"


def schema_state(connection: Connection) -> SchemaState:
    found = SchemaState(current(connection), heads())
    if found.state == "newer":
        tables = inspect(connection)
        if not all(tables.has_table(name) for name in KUDOS_TABLES):
            return dataclasses.replace(found, kudos_tables=False)
    return found


def state_of(session: Session) -> SchemaState:
    """The schema's state through ``session``: ``empty`` when the database
    answers but has no version table. Raises SQLAlchemy's error (the
    session rolled back) when the database does not answer."""
    try:
        return schema_state(session.connection())
    except SQLAlchemyError:
        session.rollback()
    try:  # no version table, or no database: which one?
        session.execute(text("SELECT 1"))
    except SQLAlchemyError:
        session.rollback()
        raise
    return SchemaState(frozenset(), heads())
