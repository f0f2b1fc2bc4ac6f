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
import threading
from collections.abc import Callable, Hashable
from typing import Any, TypeVar

from cachetools import LRUCache
from flask import Flask, current_app, g, has_app_context
from sqlalchemy import String, event, inspect, select, update
from sqlalchemy.orm import Mapped, ORMExecuteState, Session, mapped_column

from kudos.db import Base

T = TypeVar("T")

# Tables no cached page reads: writing them keeps every entry.
NOT_SHOWN = frozenset(
    {"identity", "api_token", "audit_entry", "outbox_message", "reaction", "cache_generation"}
)
# Columns whose changes no cached page shows: a recipient's celebration being
# seen, a session ended, onboarding postponed.
UNSEEN_COLUMNS = {
    "recognition": frozenset({"acknowledged_at"}),
    "person": frozenset({"session_version", "onboarding_postponed_at", "updated_at"}),
}
# Bulk statements that only touch unseen columns say so with this option.
UNSEEN = "kudos_unseen_by_pages"
ENTRIES = 4096
TOKEN = "kudos_cache_token"  # noqa: S105 - a name in flask.g, not a secret


class CacheGeneration(Base):
    """The single row whose token changes with every change pages show."""

    __tablename__ = "cache_generation"

    id: Mapped[int] = mapped_column(primary_key=True)
    token: Mapped[str] = mapped_column(String(32))


def new_token() -> str:
    return secrets.token_hex(16)


def data_changed(session: Session) -> None:
    """Retire every cached entry when this transaction commits (and make
    readers inside it see the change at once)."""
    generation = CacheGeneration.__table__
    session.connection().execute(update(generation).values(token=new_token()))
    if has_app_context():
        g.pop(TOKEN, None)  # this request reads the new token next


def _shows(table: str, changed_columns: set[str] | None = None) -> bool:
    if table in NOT_SHOWN:
        return False
    if changed_columns is None:
        return True
    return bool(changed_columns - UNSEEN_COLUMNS.get(table, frozenset()))


def _changed_columns(instance: object) -> set[str]:
    state = inspect(instance)
    return {attr.key for attr in state.attrs if attr.history.has_changes()}


@event.listens_for(Session, "after_flush")
def _after_flush(session: Session, _context: Any) -> None:
    changes = [(instance, None) for instance in (*session.new, *session.deleted)]
    changes += [(instance, _changed_columns(instance)) for instance in session.dirty]
    for instance, columns in changes:
        table = getattr(instance, "__tablename__", None)
        if table is not None and (columns is None or columns) and _shows(table, columns):
            data_changed(session)
            return


@event.listens_for(Session, "do_orm_execute")
def _on_execute(state: ORMExecuteState) -> None:
    if not (state.is_insert or state.is_update or state.is_delete):
        return
    if state.execution_options.get(UNSEEN):
        return
    table = getattr(state.statement, "table", None)
    if table is not None and _shows(getattr(table, "name", "")):
        data_changed(state.session)


class PageCache:
    """Entries per process, each under the token it was computed with."""

    def __init__(self, entries: int = ENTRIES) -> None:
        self._entries: LRUCache[Hashable, Any] = LRUCache(maxsize=entries)
        self._token: str | None = None
        self._lock = threading.Lock()

    def get_or_compute(self, token: str, key: Hashable, compute: Callable[[], T]) -> T:
        with self._lock:
            if token != self._token:
                # A new token retires everything: free the memory now.
                self._entries.clear()
                self._token = token
            if key in self._entries:
                return self._entries[key]
        value = compute()
        with self._lock:
            if token == self._token:
                self._entries[key] = value
        return value

    def __len__(self) -> int:
        return len(self._entries)


def token_column() -> Any:  # noqa: ANN401 - a labelled scalar subquery
    """The token as a column, for a statement the request runs anyway
    (``auth.sessions.load_person``), which saves a round trip."""
    return select(CacheGeneration.token).scalar_subquery().label("cache_token")


def remember_token(token: str | None) -> None:
    setattr(g, TOKEN, token)


def current_token(session: Session) -> str | None:
    """This request's token (read once); None when there is no row."""
    if TOKEN not in g:
        remember_token(session.scalar(select(CacheGeneration.token)))
    return g.get(TOKEN)


def cached(session: Session, key: Hashable, compute: Callable[[], T]) -> T:
    """``compute()``, or what it gave for ``key`` since the data last changed."""
    if not has_app_context():
        return compute()
    session.flush()  # so that a change made in this request has its new token
    token = current_token(session)
    if token is None:
        return compute()
    cache: PageCache = current_app.extensions["kudos.cache"]
    return cache.get_or_compute(token, key, compute)


def init_app(app: Flask) -> None:
    app.extensions["kudos.cache"] = PageCache()
