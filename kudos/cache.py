"""Pages and page pieces computed once and reused until the data changes.

Two things say whether a kept entry still holds, both read at the start of
each request in one statement (``freshness``):

- The token in the single row of ``cache_generation``. Every change a page
  shows puts a new random token there, in the same transaction, except new
  kudos (below): a name, a team or a manager, a hidden, restored or deleted
  kudos, an opt-out, a deactivation. The next request finds another token,
  and every entry kept under the old one is retired at once: a cached board
  never shows a hidden kudos, an opted-out person or somebody who left.
  An ORM flush or a bulk statement through the session on any table but
  those in ``NOT_SHOWN`` renews it; writes that bypass the session
  (``COPY``, ``TRUNCATE`` in raw SQL) call ``data_changed`` themselves.

- The newest kudos id. A send writes no shared row: concurrent sends would
  queue behind it, and every send would throw away every page for everyone.
  Inserts into the tables in ``COUNTED`` keep the token. What counts kudos
  (boards and summaries) is kept with the newest kudos id it saw
  (``cached(..., counts_kudos=True)``) and made again once there is a newer
  one, at most once every ``KUDOS_CACHE_REFRESH_SECONDS`` (5 by default),
  so that a stream of sends does not recompute a board for each view.
  Everything else (who is signed in, the filters, the kudos cards) is not
  touched by a send at all.

Why a random token rather than a counter: a rolled-back transaction puts
back the old token together with the old data, and its own token, which
entries computed inside it may be stored under, is never issued again.

Why entries that count kudos are also made again after ``COUNTED_MAX_AGE``:
on PostgreSQL two sends can commit in the other order than their ids. A
board made between the two commits, without the earlier id, would otherwise
stay as it is until the next send.
"""

from __future__ import annotations

import functools
import secrets
import sys
import threading
import time
from collections.abc import Callable, Hashable
from datetime import date, datetime, timedelta
from decimal import Decimal
from functools import wraps
from types import ModuleType
from typing import Any, NamedTuple, TypeVar

from cachetools import LRUCache
from flask import Flask, current_app, g, has_app_context, request, session
from flask_login import current_user
from flask_wtf.csrf import generate_csrf
from sqlalchemy import (
    ColumnElement,
    Select,
    String,
    bindparam,
    column,
    event,
    exists,
    func,
    inspect,
    null,
    or_,
    select,
    table,
    update,
)
from sqlalchemy.orm import (
    Mapped,
    ORMExecuteState,
    Session,
    SessionTransaction,
    mapped_column,
    scoped_session,
)

from kudos import metrics
from kudos.db import Base
from kudos.extensions import db
from kudos.reads import read_rows

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
        "slack_link",
        "slack_post",
        # A provisioning token's last use, and what SCIM keeps beside the
        # people and teams it writes (their own rows renew the token).
        "scim_token",
        "scim_user",
        "scim_group",
    }
)
# What a send inserts. A new kudos shows through the newest kudos id, not
# the token; updates and deletes here (hiding, deleting, deactivating,
# rebuilding the rollups) still renew it.
COUNTED = frozenset(
    {"kudos", "kudos_value", "recognition", "leaderboard_pair", "leaderboard_score"}
)
# Columns no cached page shows: a statement that sets only these keeps the
# token. Whether the signed-in person has news is read with each request.
QUIET_COLUMNS = {
    "recognition": frozenset({"acknowledged_at"}),
    "person": frozenset({"last_sign_in_at", "profile_sources"}),
    "kudos_report": frozenset({"reporter_told_at"}),
}
# Each worker's cache holds at most this much (KUDOS_CACHE_MAX_MB).
DEFAULT_MAX_BYTES = 64 * 1024 * 1024
# Entries that count kudos are made again at most this often while kudos
# arrive (KUDOS_CACHE_REFRESH_SECONDS) ...
DEFAULT_REFRESH_SECONDS = 5
# ... and at least this often whatever happens (see the docstring).
COUNTED_MAX_AGE = 60.0
# What an entry costs besides its value: the key, the LRU's bookkeeping.
ENTRY_OVERHEAD = 400
FRESHNESS = "kudos_cache_freshness"  # in flask.g
# In session.info: the transaction that put a new token in the row.
RENEWED = "kudos_cache_renewed"
# In session.info: renew at commit (``renew_at_commit``), and a renewal due.
RENEW_AT_COMMIT = "kudos_cache_renew_at_commit"
RENEWAL_PENDING = "kudos_cache_renewal_pending"
# In session.info: the transaction has inserted kudos that are not committed
# yet. SQLite hands a rolled-back kudos id out again, so nothing computed in
# it may be kept under that id.
NEW_KUDOS = "kudos_cache_new_kudos"
# What ``PageCache.lookup`` gives for a key it does not hold.
MISSING = object()


class CacheGeneration(Base):
    """The single row whose token changes with every change pages show."""

    __tablename__ = "cache_generation"

    id: Mapped[int] = mapped_column(primary_key=True)
    token: Mapped[str] = mapped_column(String(32))


def new_token() -> str:
    return secrets.token_hex(16)


def data_changed(session: Session | scoped_session[Session]) -> None:
    """Retire every cached entry when this transaction commits (and make
    readers inside it see the change at once).

    Once per transaction while nothing is cached in between: a send flushes
    and writes several times, and one new token covers them all. An entry
    stored under the new token makes the next write take another one, and a
    savepoint keeps its own mark, since rolling it back puts the old token
    back."""
    if isinstance(session, scoped_session):
        session = session()  # the command line's ``db.session``
    if session.info.get(RENEW_AT_COMMIT):
        session.info[RENEWAL_PENDING] = True
        return
    if RENEWED in session.info:
        return  # this transaction, or one it is part of, has a new token already
    _renew(session)


def renew_at_commit(session: Session | scoped_session[Session]) -> None:
    """For a request that keeps nothing in the cache and mostly writes (SCIM
    provisioning): take the new token as its transaction commits, not at its
    first change. On PostgreSQL the token's row is then locked for the
    commit only, and a stream of such requests don't queue behind each
    other's whole request. Pages keep nothing computed inside it."""
    if isinstance(session, scoped_session):
        session = session()
    session.info[RENEW_AT_COMMIT] = True


@event.listens_for(Session, "before_commit")
def _renew_pending(session: Session) -> None:
    if session.info.pop(RENEWAL_PENDING, None):
        _renew(session)


def _renew(session: Session) -> None:
    generation = CacheGeneration.__table__
    session.connection().execute(update(generation).values(token=new_token()))
    session.info[RENEWED] = session.get_nested_transaction() or session.get_transaction()
    _read_again()


def _read_again() -> None:
    """This request reads the token and the newest kudos again, next."""
    if has_app_context():
        g.pop(FRESHNESS, None)


@event.listens_for(Session, "after_transaction_end")
def _forget_renewal(session: Session, transaction: SessionTransaction) -> None:
    if session.info.get(RENEWED) is transaction:
        del session.info[RENEWED]
    if transaction.parent is None:
        session.info.pop(RENEWAL_PENDING, None)  # rolled back: nothing to retire
    if session.info.get(NEW_KUDOS) is transaction:
        del session.info[NEW_KUDOS]


def _table_of(instance: object) -> str | None:
    return getattr(instance, "__tablename__", None)


def _shown(table: str | None, inserted: bool, columns: frozenset[str] | None = None) -> bool:
    """Whether writing ``columns`` of ``table`` (all of them: None) changes
    what a page shows, beyond a new kudos."""
    if table is None or table in NOT_SHOWN or (inserted and table in COUNTED):
        return False
    quiet = QUIET_COLUMNS.get(table)
    return not (quiet and columns is not None and columns <= quiet)


def _modified_columns(instance: object) -> frozenset[str]:
    state = inspect(instance)
    return frozenset(attr.key for attr in state.attrs if attr.history.has_changes())


@event.listens_for(Session, "after_flush")
def _after_flush(session: Session, _context: Any) -> None:
    if any(_table_of(item) == "kudos" for item in session.new):
        _new_kudos(session)
    shown = any(_shown(_table_of(item), True) for item in session.new) or any(
        _shown(_table_of(item), False) for item in session.deleted
    )
    shown = shown or any(
        _shown(_table_of(item), False, _modified_columns(item))
        for item in session.dirty
        if session.is_modified(item)
    )
    if shown:
        data_changed(session)


def _new_kudos(session: Session) -> None:
    """Kudos inserted and not committed: this request reads the newest id
    again, and keeps nothing it computes until the transaction ends."""
    session.info.setdefault(NEW_KUDOS, session.get_transaction())
    _read_again()


@event.listens_for(Session, "do_orm_execute")
def _on_execute(state: ORMExecuteState) -> None:
    if not (state.is_insert or state.is_update or state.is_delete):
        return
    table = getattr(getattr(state.statement, "table", None), "name", None)
    if state.is_insert and table == "kudos":
        _new_kudos(state.session)
    columns = None
    if state.is_update:
        # The columns set by ``update(...).values(...)``; anything else (values
        # per row in the parameters) counts as every column.
        values = getattr(state.statement, "_values", None) or {}
        columns = frozenset(getattr(key, "key", key) for key in values) or None
    if _shown(table, state.is_insert, columns):
        data_changed(state.session)


class PageCache:
    """Entries per process, each under the token it was computed with, and
    at most ``max_bytes`` of them (least recently used go first)."""

    def __init__(self, max_bytes: int = DEFAULT_MAX_BYTES) -> None:
        # Each entry is (version, value, size, newest kudos id, made at);
        # the size is estimated once, when the entry is stored, never when
        # it is read.
        self._entries: LRUCache[Hashable, tuple[Hashable, Any, int, int | None, float]] = LRUCache(
            maxsize=max_bytes, getsizeof=lambda entry: entry[2]
        )
        self._token: str | None = None
        self._lock = threading.Lock()

    def lookup(
        self,
        token: str,
        key: Hashable,
        version: Hashable = None,
        *,
        newest_kudos: int | None = None,
        refresh: float = 0.0,
    ) -> object:
        """What is kept for ``key`` at ``version`` under ``token``, or
        ``MISSING``. With ``newest_kudos`` (an entry that counts kudos), an
        entry that saw an older newest kudos holds for ``refresh`` seconds
        from when it was made, and none holds past ``COUNTED_MAX_AGE``."""
        with self._lock:
            if token != self._token:
                # A new token retires everything: free the memory now.
                self._entries.clear()
                self._token = token
            stored = self._entries.get(key)
            if stored is None or stored[0] != version:
                return MISSING
            if newest_kudos is not None:
                age = time.monotonic() - stored[4]
                if age >= COUNTED_MAX_AGE or (stored[3] != newest_kudos and age >= refresh):
                    return MISSING
            return stored[1]

    def store(
        self,
        token: str,
        key: Hashable,
        value: object,
        version: Hashable = None,
        *,
        newest_kudos: int | None = None,
        made_at: float | None = None,
    ) -> None:
        """Keep ``value``, unless the token changed since ``lookup`` (or it is
        larger than the whole cache)."""
        size = ENTRY_OVERHEAD + estimate_size(key) + estimate_size(value)
        made_at = time.monotonic() if made_at is None else made_at
        with self._lock:
            if token == self._token and size <= self._entries.maxsize:
                self._entries[key] = (version, value, size, newest_kudos, made_at)

    def get_or_compute(
        self,
        token: str,
        key: Hashable,
        compute: Callable[[], T],
        version: Hashable = None,
        *,
        newest_kudos: int | None = None,
        refresh: float = 0.0,
    ) -> T:
        value = self.lookup(token, key, version, newest_kudos=newest_kudos, refresh=refresh)
        metrics.CACHE_LOOKUPS.labels("miss" if value is MISSING else "hit").inc()
        if value is MISSING:
            # Stamped before computing: what it read is at least this old.
            made_at = time.monotonic()
            value = compute()
            self.store(token, key, value, version, newest_kudos=newest_kudos, made_at=made_at)
        return value  # type: ignore[return-value]

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, key: Hashable) -> bool:
        return key in self._entries

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


class Freshness(NamedTuple):
    """What a request checks its kept entries against (see the docstring)."""

    token: str | None  # None: there is no row, and nothing is kept
    newest_kudos: int  # 0 before the first kudos
    # Whether the signed-in person has received kudos not yet shown to them
    # (a celebration or a quiet notice): None when no person was named.
    unseen: bool | None = None


def freshness(session: Session, viewer_id: int | None = None) -> Freshness:
    """This request's token and newest kudos (read once), and with
    ``viewer_id``, whether that person has news."""
    fresh: Freshness | None = g.get(FRESHNESS)
    if fresh is None or (viewer_id is not None and fresh.unseen is None):
        statement = _freshness_statement(with_viewer=viewer_id is not None)
        [row] = read_rows(session, statement, {"viewer": viewer_id})
        fresh = remember_freshness(*row)
    return fresh


def freshness_columns(viewer: ColumnElement[int] | None) -> list[ColumnElement[Any]]:
    """What ``freshness`` reads, as columns of a statement: token, newest
    kudos, and whether ``viewer`` (a column or a bound parameter) has news.
    The signed-in person is read in the same statement (``auth.sessions``),
    then ``remember_freshness`` the first three values: one round trip."""
    generation = CacheGeneration.__table__
    kudos = table("kudos", column("id"))
    recognition = table("recognition", column("recipient_id"), column("acknowledged_at"))
    report = table(
        "kudos_report", column("reporter_id"), column("resolved_at"), column("reporter_told_at")
    )
    # News: kudos received not shown yet, or a report a moderator has dealt
    # with that the reporter has not been told about (two small partial indexes).
    unseen = (
        or_(
            exists().where(
                recognition.c.recipient_id == viewer, recognition.c.acknowledged_at.is_(None)
            ),
            exists().where(
                report.c.reporter_id == viewer,
                report.c.resolved_at.is_not(None),
                report.c.reporter_told_at.is_(None),
            ),
        ).label("unseen")
        if viewer is not None
        else null().label("unseen")
    )
    return [
        select(generation.c.token).scalar_subquery().label("token"),
        select(func.max(kudos.c.id)).scalar_subquery().label("newest_kudos"),
        unseen,
    ]


def remember_freshness(token: str | None, newest: int | None, unseen: bool | None) -> Freshness:
    """This request's freshness, as read by ``freshness_columns`` (kept for
    the request; a service called outside one, as a command or a test may,
    keeps nothing)."""
    fresh = Freshness(token, newest or 0, None if unseen is None else bool(unseen))
    if has_app_context():
        setattr(g, FRESHNESS, fresh)
    return fresh


@functools.cache
def _freshness_statement(*, with_viewer: bool) -> Select[Any]:
    """One statement, one round trip, whatever the request goes on to do."""
    return select(*freshness_columns(bindparam("viewer") if with_viewer else None))


def cached(
    session: Session,
    key: Hashable,
    compute: Callable[[], T],
    *,
    version: Hashable = None,
    counts_kudos: bool = False,
) -> T:
    """``compute()``, or what it gave for ``key`` since the data last changed.

    ``version`` is for what else the result depends on, such as the clock: a
    different version computes again and replaces the entry (one per key).
    ``counts_kudos``: the result changes with new kudos too (see the
    docstring)."""
    if not has_app_context():
        return compute()
    session.flush()  # so that a change made in this request has its new token
    fresh = freshness(session)
    session.info.pop(RENEWED, None)  # a later write must not leave this entry current
    if fresh.token is None:
        return compute()
    cache: PageCache = current_app.extensions["kudos.cache"]
    if not counts_kudos:
        return cache.get_or_compute(fresh.token, key, compute, version)
    if NEW_KUDOS in session.info:
        return compute()
    return cache.get_or_compute(
        fresh.token,
        key,
        compute,
        version,
        newest_kudos=fresh.newest_kudos,
        refresh=current_app.config.get("CACHE_REFRESH_SECONDS", DEFAULT_REFRESH_SECONDS),
    )


def probably_kept(key: Hashable) -> bool:
    """Whether this worker keeps an entry for ``key`` under the token it
    read last: a request can then expect to find it, and need not read
    what would make it together with its freshness. Only a hint: the token
    may have changed since, and ``cached`` still decides."""
    return has_app_context() and key in current_app.extensions["kudos.cache"]


def init_app(app: Flask) -> None:
    app.extensions["kudos.cache"] = PageCache(app.config.get("CACHE_MAX_BYTES", DEFAULT_MAX_BYTES))


# Whole pages ---------------------------------------------------------------

# Stands for the request's CSRF token in a cached page (the token is signed
# with a time stamp, so each response gets a fresh one).
CSRF_MARK = "\x00kudos-csrf\x00"


def cached_page(
    params: Callable[[], Hashable | None],
    version: Callable[[], Hashable] | None = None,
    *,
    counts_kudos: bool = False,
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
    put in afresh for each response. ``counts_kudos`` as for ``cached``."""

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
                counts_kudos=counts_kudos,
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
