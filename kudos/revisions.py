"""Where a database's schema stands against this version's migrations.

Shared by ``/readyz`` (``kudos/health.py``) and ``kudos doctor``: one query
on Alembic's version table, compared with the heads of ``migrations/``
(read from disk once per process).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

from alembic.script import ScriptDirectory
from alembic.util import CommandError
from sqlalchemy import Connection, text

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


@dataclass(frozen=True)
class SchemaState:
    current: frozenset[str]
    heads: frozenset[str]

    @property
    def state(self) -> str:
        """``at head``, ``empty`` (no revision), ``behind`` (an older
        revision of ours: ``kudos db upgrade``) or ``newer`` (a revision this
        version does not know: a newer Kudos upgraded it)."""
        if self.current == self.heads:
            return "at head"
        if not self.current:
            return "empty"
        try:
            for revision in self.current:
                _scripts().get_revision(revision)
        except CommandError:
            return "newer"
        return "behind"

    @staticmethod
    def shown(revisions: frozenset[str]) -> str:
        return ", ".join(sorted(revisions)) or "none"


def schema_state(connection: Connection) -> SchemaState:
    return SchemaState(current(connection), heads())
