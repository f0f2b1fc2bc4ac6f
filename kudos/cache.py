"""Leaderboards and summaries computed once and reused until the data changes.

One row, ``cache_generation``, holds a random token. Any write that could
change what a page shows puts a new token there in the same transaction: an
ORM flush or a bulk statement through the session on any table but those in
``NOT_SHOWN``. Each request reads the token once (``current_token``) and
keeps what it computes in a per-process cache under that token, so the next
change retires every entry at once: a cached board never shows a hidden
kudos, an opted-out person or a stale count.

Why a random token rather than a counter: a rolled-back transaction puts
back the old token together with the old data, and its own token, which
entries computed inside it may be stored under, is never issued again.

Writes that bypass the session (``COPY``, ``TRUNCATE`` in raw SQL) call
``data_changed`` themselves.
"""

from __future__ import annotations

import secrets
import sys
import threading
from collections.abc import Callable, Hashable
from datetime import date, datetime, timedelta
from decimal import Decimal
from functools import wraps
from types import ModuleType
from typing import Any, TypeVar

from cachetools import LRUCache
from flask import Flask, current_app, g, has_app_context, request, session
from flask_login import current_user
from flask_wtf.csrf import generate_csrf
from sqlalchemy import Engine, String, event, select, update
from sqlalchemy.orm import (
    Mapped,
    ORMExecuteState,
    Session,
    SessionTransaction,
    mapped_column,
    scoped_session,
)

from kudos.db import Base
from kudos.extensions import db

T = TypeVar("T")

# Tables no cached page reads: writing them keeps every entry.
NOT_SHOWN = frozenset(
    {
        "identity",
        "api_token",
        "audit_entry",
        "outbox_message",
        "reaction",
        "cache_generation",
        "deleted_send",  # a deletion also removes the kudos, which pages do show
    }
)
# Each worker's cache holds at most this much (KUDOS_CACHE_MAX_MB).
DEFAULT_MAX_BYTES = 64 * 1024 * 1024
# What an entry costs besides its value: the key, the LRU's bookkeeping.
ENTRY_OVERHEAD = 400
TOKEN = "kudos_cache_token"  # noqa: S105 - a name in flask.g, not a secret
# In session.info: the transaction that put a new token in the row.
RENEWED = "kudos_cache_renewed"
# What ``PageCache.lookup`` gives for a key it does not hold.
MISSING = object()


class CacheGeneration(Base):
    """The single row whose token changes with every change pages show."""

    __tablename__ = "cache_generation"

    id: Mapped[int] = mapped_column(primary_key=True)
    token: Mapped[str] = mapped_column(String(32))


def new_token() -> str:
    return secrets.token_hex(16)


def data_changed(session: Session) -> None:
    """Retire every cached entry when this transaction commits (and make
    readers inside it see the change at once).

    Once per transaction while nothing is cached in between: a send flushes
    and writes several times, and one new token covers them all. An entry
    stored under the new token makes the next write take another one, and a
    savepoint keeps its own mark, since rolling it back puts the old token
    back."""
    if RENEWED in session.info:
        return  # this transaction, or one it is part of, has a new token already
    generation = CacheGeneration.__table__
    session.connection().execute(update(generation).values(token=new_token()))
    session.info[RENEWED] = session.get_nested_transaction() or session.get_transaction()
    if has_app_context():
        g.pop(TOKEN, None)  # this request reads the new token next


@event.listens_for(Session, "after_transaction_end")
def _forget_renewal(session: Session, transaction: SessionTransaction) -> None:
    if session.info.get(RENEWED) is transaction:
        del session.info[RENEWED]


def _shown(instance: object) -> bool:
    return getattr(instance, "__tablename__", None) not in (None, *NOT_SHOWN)


@event.listens_for(Session, "after_flush")
def _after_flush(session: Session, _context: Any) -> None:
    changed = [*session.new, *session.deleted]
    changed += [item for item in session.dirty if session.is_modified(item)]
    if any(_shown(instance) for instance in changed):
        data_changed(session)


@event.listens_for(Session, "do_orm_execute")
def _on_execute(state: ORMExecuteState) -> None:
    if not (state.is_insert or state.is_update or state.is_delete):
        return
    table = getattr(state.statement, "table", None)
    if table is not None and getattr(table, "name", None) not in NOT_SHOWN:
        data_changed(state.session)


class PageCache:
    """Entries per process, each under the token it was computed with, and
    at most ``max_bytes`` of them (least recently used go first)."""

    def __init__(self, max_bytes: int = DEFAULT_MAX_BYTES) -> None:
        # Each entry is (version, value, size); the size is estimated once,
        # when the entry is stored, never when it is read.
        self._entries: LRUCache[Hashable, tuple[Hashable, Any, int]] = LRUCache(
            maxsize=max_bytes, getsizeof=lambda entry: entry[2]
        )
        self._token: str | None = None
        self._lock = threading.Lock()

    def lookup(self, token: str, key: Hashable, version: Hashable = None) -> object:
        """What is kept for ``key`` at ``version`` under ``token``, or ``MISSING``."""
        with self._lock:
            if token != self._token:
                # A new token retires everything: free the memory now.
                self._entries.clear()
                self._token = token
            stored = self._entries.get(key)
            if stored is not None and stored[0] == version:
                return stored[1]
        return MISSING

    def store(self, token: str, key: Hashable, value: object, version: Hashable = None) -> None:
        """Keep ``value``, unless the token changed since ``lookup`` (or it is
        larger than the whole cache)."""
        size = ENTRY_OVERHEAD + estimate_size(key) + estimate_size(value)
        with self._lock:
            if token == self._token and size <= self._entries.maxsize:
                self._entries[key] = (version, value, size)

    def get_or_compute(
        self, token: str, key: Hashable, compute: Callable[[], T], version: Hashable = None
    ) -> T:
        value = self.lookup(token, key, version)
        if value is MISSING:
            value = compute()
            self.store(token, key, value, version)
        return value  # type: ignore[return-value]

    def __len__(self) -> int:
        return len(self._entries)

    @property
    def size(self) -> int:
        """Bytes held, as estimated (at most ``max_bytes``)."""
        return int(self._entries.currsize)

    @property
    def max_bytes(self) -> int:
        return int(self._entries.maxsize)


# Values with nothing inside worth walking into.
_LEAVES = (str, bytes, int, float, bool, type(None), datetime, date, timedelta, Decimal)
# Past this many objects an estimate stops walking: it is an estimate.
_MAX_WALK = 100_000


def estimate_size(value: object) -> int:
    """Roughly what ``value`` takes in memory: ``sys.getsizeof`` of it and of
    everything it holds (containers, dataclass and object attributes), each
    object once. Pages are strings and cost one call; SQLAlchemy's
    per-object state and classes, modules and functions are not counted
    (they are shared, not made for the entry)."""
    if isinstance(value, _LEAVES):
        return sys.getsizeof(value)
    total, seen, stack = 0, set(), [value]
    while stack and len(seen) < _MAX_WALK:
        item = stack.pop()
        if id(item) in seen or callable(item) or isinstance(item, ModuleType):
            continue
        seen.add(id(item))
        total += sys.getsizeof(item)
        if isinstance(item, _LEAVES):
            continue
        if isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list | tuple | set | frozenset):
            stack.extend(item)
        else:
            fields = getattr(item, "__dict__", None)
            if fields:
                stack.extend(v for k, v in fields.items() if k != "_sa_instance_state")
            for cls in type(item).__mro__:
                for slot in getattr(cls, "__slots__", ()):
                    if slot != "__weakref__" and hasattr(item, slot):
                        stack.append(getattr(item, slot))
    return total


def current_token(session: Session) -> str | None:
    """This request's token (read once); None when there is no row."""
    if TOKEN not in g:
        setattr(g, TOKEN, _read_token(session))
    return g.get(TOKEN)


def _read_token(session: Session | scoped_session[Session]) -> str | None:
    query = select(CacheGeneration.token)
    if isinstance(session, scoped_session):
        session = session()
    bind = session.get_bind()
    if (
        isinstance(bind, Engine)
        and bind.dialect.name == "postgresql"
        and not session.in_transaction()
    ):
        return _read_token_in_autocommit(bind)
    return session.scalar(query)


def _read_token_in_autocommit(engine: Engine) -> str | None:
    """Before the request's transaction has begun: one round trip on its own
    rather than BEGIN, SELECT and ROLLBACK, so a request that finds everything
    in the cache never opens a transaction at all. Straight on the pooled
    psycopg connection: SQLAlchemy's own autocommit connection costs as much
    again in Python as the round trip itself."""
    pooled = engine.raw_connection()
    try:
        driver = pooled.driver_connection
        driver.autocommit = True
        try:
            with driver.cursor() as cursor:
                cursor.execute("SELECT token FROM cache_generation")
                row = cursor.fetchone()
        finally:
            driver.autocommit = False
    finally:
        pooled.close()  # back to the pool
    return row[0] if row else None


def cached(
    session: Session, key: Hashable, compute: Callable[[], T], *, version: Hashable = None
) -> T:
    """``compute()``, or what it gave for ``key`` since the data last changed.

    ``version`` is for what else the result depends on, such as the clock: a
    different version computes again and replaces the entry (one per key)."""
    if not has_app_context():
        return compute()
    session.flush()  # so that a change made in this request has its new token
    token = current_token(session)
    session.info.pop(RENEWED, None)  # a later write must not leave this entry current
    if token is None:
        return compute()
    cache: PageCache = current_app.extensions["kudos.cache"]
    return cache.get_or_compute(token, key, compute, version)


def init_app(app: Flask) -> None:
    app.extensions["kudos.cache"] = PageCache(app.config.get("CACHE_MAX_BYTES", DEFAULT_MAX_BYTES))


# Whole pages ---------------------------------------------------------------

# Stands for the request's CSRF token in a cached page (the token is signed
# with a time stamp, so each response gets a fresh one).
CSRF_MARK = "\x00kudos-csrf\x00"


def cached_page(
    params: Callable[[], Hashable | None], version: Callable[[], Hashable] | None = None
) -> Callable:
    """Keep a view's whole HTML page per signed-in person and parameters
    until the data changes (and ``version()``, for pages that depend on the
    clock).

    ``params()`` gives the page's query parameters, parsed and normalised:
    everything the page reads from the address, and nothing else, so junk
    arguments or other spellings of the same month or team reuse one entry
    rather than filling the cache. None (the parameters are wrong) makes
    the view answer without the cache.

    Only plain 200 pages are kept, and a page is neither kept nor served
    from the cache when it has something for this request only: flashed
    messages, or a celebration waiting for the viewer. The CSRF token is
    put in afresh for each response."""

    def decorate(view: Callable[..., Any]) -> Callable[..., Any]:
        @wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:  # noqa: ANN401 - what the view returns
            if (
                not current_user.is_authenticated
                or "_flashes" in session
                or current_user.has_unseen_recognitions
            ):
                return view(*args, **kwargs)
            parsed = params()
            if parsed is None:
                return view(*args, **kwargs)
            made_now = []

            def make() -> str | None:
                made_now.append(view(*args, **kwargs))
                return _page_for_cache(made_now[0])

            page = cached(
                db.session,
                (
                    "page",
                    request.script_root,
                    request.endpoint,
                    tuple(sorted(kwargs.items())),  # from the route, already converted
                    parsed,
                    current_user.id,
                ),
                make,
                version=version() if version else None,
            )
            if made_now:
                return made_now[0]
            if page is None:  # not a page to keep (a redirect, a download)
                return view(*args, **kwargs)
            return page.replace(CSRF_MARK, generate_csrf())

        return wrapper

    return decorate


def _page_for_cache(result: Any) -> str | None:  # noqa: ANN401 - what the view returned
    if not isinstance(result, str):
        return None
    token = g.get("csrf_token")
    return result.replace(token, CSRF_MARK) if token else result
