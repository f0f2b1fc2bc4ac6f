"""The declarative base, shared column types and the request-scoped session.

Services use ``db.session`` and only ``flush()``; the request (or CLI command)
boundary commits once. The session is scoped to the Flask application context
and removed when that context ends, so every request starts clean.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from flask import Flask, current_app
from flask.globals import app_ctx
from sqlalchemy import DateTime, Engine, MetaData, Table, create_engine, event, make_url, text
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DisconnectionError, SQLAlchemyError
from sqlalchemy.orm import DeclarativeBase, Session, scoped_session, sessionmaker
from sqlalchemy.types import TypeDecorator

log = logging.getLogger(__name__)

# Named constraints from the first migration on, so later migrations can
# alter or drop them by name on every engine (SQLite batch mode needs names).
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_N_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp stored in UTC and always handed back timezone-aware.

    SQLite has no time zones and returns naive values; PostgreSQL returns
    aware ones. This type makes both look the same to the application and
    refuses naive datetimes, which are the usual source of off-by-hours bugs.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; pass an aware datetime in UTC")
        value = value.astimezone(UTC)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


# Primary keys are 32-bit integers on every engine; anything larger names nothing.
MAX_ID = 2**31 - 1


def valid_ids(ids: list[int]) -> list[int]:
    """Only the ids that can exist (others would be an error on PostgreSQL)."""
    return [item for item in ids if 0 < item <= MAX_ID]


def utcnow() -> datetime:
    return datetime.now(UTC)


def first_line(error: BaseException) -> str:
    """What went wrong, in one line: the driver's own words when SQLAlchemy
    wraps them (never the statement nor its values)."""
    text = str(getattr(error, "orig", None) or error).strip()
    return text.splitlines()[0] if text else type(error).__name__


@contextmanager
def indexes_built_after(session: Session, tables: Iterable[Table]) -> Iterator[None]:
    """Bulk loads of millions of rows on PostgreSQL: drop the tables'
    secondary indexes, load, then build each index once in one sorted pass,
    which is many times faster than updating it row by row. The drops lock
    the tables until the transaction ends; primary keys and unique
    constraints stay, so the rows are checked as they go in."""
    connection = session.connection()
    connection.execute(text("SET LOCAL maintenance_work_mem = '256MB'"))
    indexes = [index for table in tables for index in table.indexes]
    for index in indexes:
        index.drop(connection)
    yield
    for index in indexes:
        index.create(connection)


def make_engine(url: str, *, ping_after_idle: bool = False, **options: Any) -> Engine:
    # A failed statement's error (and so a logged traceback) shows the SQL,
    # never its values: they may be a kudos message or a token's hash.
    options.setdefault("hide_parameters", True)
    if make_url(url).get_backend_name() == "postgresql":
        options["connect_args"] = _without_jit(url, options.get("connect_args", {}))
    engine = create_engine(url, **options)
    if engine.dialect.name == "sqlite":
        _configure_sqlite(engine)
    if ping_after_idle:
        _ping_after_idle(engine)
    return engine


def _without_jit(url: str, connect_args: dict[str, Any]) -> dict[str, Any]:
    """Connection options with JIT off, added to any given in the URL or here.

    PostgreSQL JIT-compiles a plan whose estimated cost is high, which pays
    off for long analytic queries, never for the app's: each needs a few
    milliseconds at most, and when the planner over-costed one (statistics
    missing or stale) compiling it took ~300 ms of every feed request."""
    given = connect_args.get("options", make_url(url).query.get("options", ""))
    return {**connect_args, "options": f"{given} -c jit=off".strip()}


# A pooled connection that sat idle may have been closed by the server (a
# restart, an idle timeout). SQLAlchemy's pool_pre_ping pings before every
# use, a round trip on every request; this pings only connections that sat
# idle this long, and a busy server's connections are never idle.
IDLE_BEFORE_PING = 10.0  # seconds


def _ping_after_idle(engine: Engine) -> None:
    @event.listens_for(engine, "checkin")
    def _on_checkin(_dbapi_connection: Any, record: Any) -> None:
        record.info["idle_since"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _on_checkout(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        idle_since = record.info.get("idle_since")
        if idle_since is None or time.monotonic() - idle_since < IDLE_BEFORE_PING:
            return
        try:
            engine.dialect.do_ping(dbapi_connection)
        except engine.dialect.loaded_dbapi.Error as error:
            if engine.dialect.is_disconnect(error, dbapi_connection, None):
                # The pool drops this connection and checks out a new one.
                raise DisconnectionError from error
            raise


# How long a SQLite connection waits for another's write to finish before
# giving up (then the request gets a 503). Writes take milliseconds; this is
# room for a burst of a few hundred of them.
SQLITE_BUSY_TIMEOUT_MS = 15_000


def _configure_sqlite(engine: Engine) -> None:
    """Foreign keys on, WAL, and transactions that take the write lock first.

    pysqlite starts transactions lazily and breaks SAVEPOINT; SQLAlchemy's
    documented recipe (``isolation_level = None`` and our own BEGIN) makes
    nested transactions work, which the test isolation and the all-or-
    nothing directory import rely on.

    SQLite allows one writer at a time. A transaction that reads first and
    writes later (the daily limit is counted before the kudos is added; a
    page view acknowledges a celebration) cannot wait for the lock: SQLite
    refuses it at once with "database is locked", because waiting could
    deadlock. ``BEGIN IMMEDIATE`` takes the write lock at the start, so
    concurrent requests queue on the busy timeout instead of failing, and
    read-then-write rules such as the daily limit hold. WAL lets
    connections outside a transaction (the page cache's token) read while
    one writes, and with ``synchronous=NORMAL`` a commit costs no fsync.
    The price: one request at a time works in the database. That is plenty
    for a small team; larger ones use PostgreSQL.
    """

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")


class Database:
    """Binds an engine and a session factory to each app (``init_app``)."""

    def __init__(self) -> None:
        self.session: scoped_session[Session] = scoped_session(
            self._new_session, scopefunc=_app_context_id
        )

    def init_app(self, app: Flask) -> None:
        engine = make_engine(app.config["DATABASE_URL"], ping_after_idle=True)
        app.extensions["kudos.db"] = sessionmaker(bind=engine, expire_on_commit=False)
        app.teardown_appcontext(self._remove_session)

    @staticmethod
    def engine(app: Flask | None = None) -> Engine:
        factory = (app or current_app).extensions["kudos.db"]
        return factory.kw["bind"]

    @staticmethod
    def _new_session() -> Session:
        return current_app.extensions["kudos.db"]()

    def _remove_session(self, _exc: BaseException | None) -> None:
        # Closing rolls back whatever the request left open. When the
        # database went away meanwhile, that fails; the answer is ready by
        # then and anything it reports was committed, so it stands: failing
        # here would turn it into the server's bare 500 page.
        # (SQLAlchemy has dropped the lost connection from the pool already.)
        try:
            self.session.remove()
        except SQLAlchemyError as error:
            log.warning("database session not closed cleanly: %s", type(error).__name__)
        finally:
            self.session.registry.clear()  # never handed to a later request


def _app_context_id() -> int:
    return id(app_ctx._get_current_object())
