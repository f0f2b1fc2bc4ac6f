"""Reads that go around the request's transaction on PostgreSQL.

Most requests only read, and most of what they read is in the page cache:
a round trip for the cache's freshness, one for the feed's card list, one
for a signed-in person not seen before in this worker (and a recipient's
page acknowledges a celebration, a write whole by itself). Each of those inside
a transaction would cost BEGIN and ROLLBACK besides, and SQLAlchemy's ORM
loading costs more in Python than the round trip itself. So until the
request has begun a transaction in the database (it reads with the ORM, or
writes), these run in autocommit straight on a pooled psycopg connection.
Under READ COMMITTED each statement sees what was committed when it began,
inside a transaction or not, so the answers are the same; a request that
has begun one (and may have written) reads inside it, and so does SQLite.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC
from typing import Any, TypeVar

from sqlalchemy import Engine, Select, TextClause, Update, event, literal, literal_column
from sqlalchemy.engine import Compiled, Dialect
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, SessionTransaction, make_transient_to_detached, scoped_session
from sqlalchemy.sql import visitors
from sqlalchemy.sql.elements import BindParameter

from kudos.db import UTCDateTime

T = TypeVar("T")
AnySession = Session | scoped_session[Session]

# In session.info while a transaction is open in the database (not merely in
# the session, which begins one as soon as it is used).
BEGUN = "kudos_db_transaction_begun"


@event.listens_for(Session, "after_begin")
def _on_begin(session: Session, _transaction: Any, _connection: Any) -> None:
    session.info[BEGUN] = True


@event.listens_for(Session, "after_transaction_end")
def _on_transaction_end(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is None:
        session.info.pop(BEGUN, None)


def read_rows(
    session: AnySession, statement: Select[Any] | TextClause | Update, params: Mapping[str, Any]
) -> list[tuple[Any, ...]]:
    """The rows of a read-only ``statement`` (or of a write whole by itself,
    see ``write_alone``): in autocommit when the session has begun no
    transaction in the database and holds no change, otherwise through the
    session. ``statement`` is compiled once for the
    driver, so build it once (module level or ``functools.cache``).

    Values as the driver gives them, except ``UTCDateTime`` columns, which
    come back in UTC as that type gives them: columns of other decorated
    types, or timestamps in a text statement, need their own conversion."""
    engine = _autocommit_engine(session)
    if engine is None:
        return [tuple(row) for row in session.execute(statement, params)]
    compiled, defaults, timestamps = _compiled(statement, engine.dialect)
    values = {**defaults, **params}
    if compiled.post_compile_params:  # a list parameter: IN (...) as long as the list
        expanded = compiled.construct_expanded_state(values)
        sql, values = expanded.statement, expanded.parameters
    else:
        sql = compiled.string
    rows = _fetch_in_autocommit(engine, sql, values)
    if not timestamps:
        return rows
    rows = [list(row) for row in rows]
    for row in rows:
        for position in timestamps:
            if row[position] is not None:
                row[position] = row[position].astimezone(UTC)
    return [tuple(row) for row in rows]


def write_alone(
    session: AnySession, statement: Update, params: Mapping[str, Any]
) -> list[tuple[Any, ...]]:
    """The rows a write that is whole by itself gives back (``RETURNING``):
    committed at once, in autocommit, when the session has begun no
    transaction in the database, as ``read_rows`` reads; otherwise part of
    the session's transaction, which the caller commits. For writes no
    cached page shows (``kudos/cache.py`` does not see them)."""
    return read_rows(session, statement, params)


@contextmanager
def loading_session(session: AnySession) -> Iterator[Session]:
    """A session of its own, for objects read to be kept beyond the request
    (detached when it closes): in autocommit, or in the request's
    transaction, as for ``read_rows``."""
    engine = _autocommit_engine(session)
    if engine is None:
        with Session(bind=session.connection()) as loader:
            yield loader
        return
    with (
        engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection,
        Session(bind=connection) as loader,
    ):
        yield loader


def detached(cls: type[T], values: Mapping[str, Any]) -> T:
    """An instance of the mapped ``cls`` as a query would have loaded it,
    detached, from its columns' values (by attribute name): ready to keep
    and to ``merge(..., load=False)`` into a request's session, for a
    fraction of what the ORM's loading costs."""
    instance = cls(**values)
    make_transient_to_detached(instance)
    return instance


def _autocommit_engine(session: AnySession) -> Engine | None:
    """The PostgreSQL engine to read from outside ``session``'s transaction,
    or None when that would not read the same data."""
    if isinstance(session, scoped_session):
        session = session()
    bind = session.get_bind()
    if not isinstance(bind, Engine) or bind.dialect.name != "postgresql":
        return None
    if session.info.get(BEGUN) or session.new or session.dirty or session.deleted:
        return None  # it must see its own writes
    return bind


@functools.cache
def _compiled(
    statement: Select[Any] | TextClause | Update, dialect: Dialect
) -> tuple[Compiled, dict[str, Any], tuple[int, ...]]:
    """The statement compiled for the driver, its own parameters' values,
    and which of its columns are timestamps (a text statement's columns are
    not known: none).

    Values fixed when the statement was built (a LIMIT, ``'public'``) are
    written into the SQL; only the named parameters stay parameters. The
    driver prepares a statement it runs often, and PostgreSQL then plans it
    once, for any parameters, unless that generic plan looks dearer than
    planning each time: with its LIMIT a parameter the feed's looked a
    thousand times dearer, so it was planned again at every request, which
    took longer than running it."""
    if isinstance(statement, Select):
        statement = _constants_written_in(statement, dialect)
    columns = statement.selected_columns if isinstance(statement, Select) else ()
    timestamps = tuple(
        position for position, column in enumerate(columns) if isinstance(column.type, UTCDateTime)
    )
    compiled = statement.compile(dialect=dialect)
    return compiled, dict(compiled.params), timestamps


def _constants_written_in(statement: Select[Any], dialect: Dialect) -> Select[Any]:
    def written(element: Any) -> Any:  # noqa: ANN401 - any clause element
        if (
            isinstance(element, BindParameter)
            and not element.required
            and not element.expanding
            and element.value is not None
        ):
            constant = literal(element.value, element.type).compile(
                dialect=dialect, compile_kwargs={"literal_binds": True}
            )
            return literal_column(str(constant), element.type)
        return None

    return visitors.replacement_traverse(statement, {}, written)


def _fetch_in_autocommit(engine: Engine, sql: str, params: dict[str, Any]) -> list[tuple[Any, ...]]:
    """Straight on the pooled psycopg connection: SQLAlchemy's own
    autocommit connection costs as much again in Python as the round trip.

    The driver's errors are raised as SQLAlchemy raises them (a database
    that is down, or dropped the connection, is an ``OperationalError``,
    which the app answers with 503), and a connection the database dropped
    is thrown away, not pooled."""
    dbapi_error = engine.dialect.loaded_dbapi.Error
    try:
        pooled = engine.raw_connection()
    except dbapi_error as error:  # refused: down, or starting up
        raise _as_sqlalchemy_error(engine, sql, params, error, lost=False) from error
    driver = pooled.driver_connection
    try:
        driver.autocommit = True
        with driver.cursor() as cursor:
            cursor.execute(sql, params)
            rows = cursor.fetchall()
        driver.autocommit = False
    except dbapi_error as error:
        lost = engine.dialect.is_disconnect(error, driver, None)
        if not lost:
            try:
                driver.autocommit = False
            except dbapi_error:
                lost = True
        if lost:
            pooled.invalidate(error)
        raise _as_sqlalchemy_error(engine, sql, params, error, lost=lost) from error
    finally:
        pooled.close()  # back to the pool, or gone if invalidated
    return rows


def _as_sqlalchemy_error(
    engine: Engine, sql: str, params: dict[str, Any], error: Exception, *, lost: bool
) -> DBAPIError:
    return DBAPIError.instance(
        sql,
        params,
        error,
        engine.dialect.loaded_dbapi.Error,
        connection_invalidated=lost,
        dialect=engine.dialect,
    )
