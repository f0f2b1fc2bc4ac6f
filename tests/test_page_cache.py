"""The page cache: reused until the data changes, never stale after a change."""

from __future__ import annotations

import itertools
import re
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from sqlalchemy import delete, event, func, select, update
from sqlalchemy.orm import Session

from kudos import cache, create_app
from kudos.db import make_engine, utcnow
from kudos.leaderboard import rollups
from kudos.leaderboard.services import (
    BOARDS,
    NO_FILTERS,
    Entry,
    _bound,
    _kind,
    _listed,
    _top,
    standings,
)
from kudos.people.models import Person
from kudos.preferences.models import RecognitionPreference
from kudos.recognition.models import Kudos, Reaction, Recognition, Value
from kudos.recognition.services import delete_kudos, hide_kudos, restore_kudos, send_kudos
from kudos.timeutil import Month
from tests.conftest import sign_in
from tests.test_rollups_property import BASE, ZONE, apply_step, operations

UTC_ZONE = ZoneInfo("UTC")
_runs = itertools.count()


def token(session) -> str:
    return session.scalar(select(cache.CacheGeneration.token))


def rank_in_database(session, board, month, viewer_id) -> Entry | None:
    """The viewer's line counted in the database, the slow way: what the
    cached line (a bisection among the kept board's scores) must equal."""
    bound = _bound(board, month, NO_FILTERS)
    listed = _listed(*_kind(NO_FILTERS)).params(**bound).subquery()
    row = session.execute(select(listed).where(listed.c.person_id == viewer_id)).first()
    if row is None:
        return None
    ahead = session.scalar(
        select(func.count()).select_from(listed).where(listed.c.score > row.score)
    )
    return Entry(ahead + 1, row.person_id, row.name, row.score)


def send_now(session, sender: Person, recipient: Person, value_id: int) -> None:
    """A send now, as a request makes it, not committed."""
    send_kudos(
        session,
        sender,
        [recipient.id],
        [value_id],
        "Thanks",
        "public",
        now=datetime.now(UTC),
        zone=UTC_ZONE,
        daily_limit=100,
    )


def this_month() -> Month:
    return Month.containing(datetime.now(UTC), UTC_ZONE)


def board_names(client, board_title: str = "Top appreciators") -> str:
    page = client.get("/leaderboard").get_data(as_text=True)
    start = page.index(board_title)
    return page[start : page.index("</section>", start)]


def test_a_second_view_reads_no_board_from_the_database(app, client, make):
    ann, ben = make.person(name="Ann Archer"), make.person(name="Ben Bell")
    make.kudos(ann, [ben])
    sign_in(client, ann)
    assert "Ann Archer" in board_names(client)

    statements = []
    with app.app_context():
        engine = app.extensions["kudos.db"].kw["bind"]
    listener = lambda *args: statements.append(args[2])  # noqa: E731
    event.listen(engine, "before_cursor_execute", listener)
    try:
        assert "Ann Archer" in board_names(client)
    finally:
        event.remove(engine, "before_cursor_execute", listener)
    assert not [sql for sql in statements if "leaderboard_score" in sql]


def test_every_change_a_board_shows_appears_at_once(client, session, make):
    ann, ben, cat = (make.person(name=name) for name in ("Ann Archer", "Ben Bell", "Cat Cole"))
    admin = make.person(name="Ada Admin", admin_granted=True)
    first = make.kudos(ann, [ben])
    sign_in(client, cat)
    assert "Ann Archer" in board_names(client)

    # A new kudos
    make.kudos(cat, [ben])
    assert "Cat Cole" in board_names(client)

    # Hidden, then restored
    hide_kudos(session, admin, first, "Off topic", now=first.created_at, zone=UTC_ZONE)
    session.commit()
    assert "Ann Archer" not in board_names(client)
    restore_kudos(session, admin, first, zone=UTC_ZONE)
    session.commit()
    assert "Ann Archer" in board_names(client)

    # A new name from the directory
    ann.name = "Ann Avery"
    session.commit()
    assert "Ann Avery" in board_names(client)

    # Opting out
    session.add(RecognitionPreference(person=ann, on_leaderboards=False))
    session.commit()
    assert "Ann Avery" not in board_names(client)

    # Leaving the company
    cat.active = False
    rollups.people_changed(session, [cat.id])
    session.commit()
    sign_in(client, ben)
    assert "Cat Cole" not in board_names(client)

    # Deleted by its sender
    delete_kudos(session, ann, first, now=first.created_at, zone=UTC_ZONE)
    session.commit()
    assert "Ben Bell" not in board_names(client, "Most appreciated")


def test_a_rolled_back_change_leaves_nothing_behind(app, session, make):
    ann, ben = make.person(name="Ann Archer"), make.person(name="Ben Bell")
    make.kudos(ann, [ben])
    before = token(session)

    responsive = make.value().id
    nested = session.begin_nested()
    cat = Person(name="Cat Cole", email="cat.cole@acme.example.com")
    session.add(cat)
    session.flush()
    send_now(session, cat, ben, responsive)
    with app.test_request_context():
        # Computed inside the transaction: stored under its own new token.
        inside = standings(session, "given", this_month())
        assert [entry.name for entry in inside.entries] == ["Cat Cole", "Ann Archer"]
    nested.rollback()

    assert token(session) == before
    with app.test_request_context():
        after = standings(session, "given", this_month())
    assert [entry.name for entry in after.entries] == ["Ann Archer"]


def test_a_change_made_in_the_request_is_read_back_by_the_same_request(app, session, make):
    """A request that writes and then reads a board sees its own change, and
    stores that board under the new token, not the one it started with."""
    ann, ben, cat = (make.person(name=name) for name in ("Ann Archer", "Ben Bell", "Cat Cole"))
    make.kudos(ann, [ben])
    responsive = make.value().id
    with app.test_request_context():
        before = standings(session, "given", this_month())
        assert [entry.name for entry in before.entries] == ["Ann Archer"]
        send_now(session, cat, ben, responsive)
        after = standings(session, "given", this_month())
        assert sorted(entry.name for entry in after.entries) == ["Ann Archer", "Cat Cole"]


def test_writes_no_page_shows_keep_the_token(session, make):
    ann, ben = make.person(), make.person()
    kudos = make.kudos(ann, [ben])
    before = token(session)

    session.add(Reaction(kudos_id=kudos.id, person_id=ben.id))
    session.commit()
    assert token(session) == before

    ann.title = "Head of Thanks"
    session.commit()
    assert token(session) != before


def test_a_bulk_update_with_values_per_row_renews_the_token(session, make):
    """Only a statement known to set nothing but unshown columns keeps the
    token; values given per row could set anything."""
    ann, ben = make.person(), make.person()
    kudos = make.kudos(ann, [ben])
    before = token(session)
    session.execute(
        update(Recognition), [{"kudos_id": kudos.id, "recipient_id": ben.id, "position": 0}]
    )
    session.commit()
    assert token(session) != before


def test_without_the_token_row_nothing_is_cached(app, session, make):
    ann, ben = make.person(name="Ann Archer"), make.person(name="Ben Bell")
    session.execute(cache.CacheGeneration.__table__.delete())
    make.kudos(ann, [ben])
    with app.test_request_context():
        assert [e.name for e in standings(session, "given", this_month()).entries] == ["Ann Archer"]
        make.kudos(ben, [ann])
        names = {e.name for e in standings(session, "given", this_month()).entries}
    assert names == {"Ann Archer", "Ben Bell"}


@settings(
    max_examples=120, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck)
)
@given(steps=operations)
def test_cached_boards_always_equal_a_fresh_read(app, session, steps):
    """Any sequence of sends, deletes, hides, restores, opt-outs and
    (de)activations, each followed by a page view: the cached boards and
    the viewer's line equal what the database says at that moment."""
    nested = session.begin_nested()
    try:
        run = next(_runs)
        people = [Person(email=f"c{run}-{n}@acme.example.com", name=f"C {n}") for n in range(5)]
        admin = Person(email=f"c{run}-admin@acme.example.com", name="Admin", admin_granted=True)
        session.add_all([*people, admin])
        session.flush()
        value_ids = list(session.scalars(select(Value.id).order_by(Value.position)))[:3]
        months = {Month.containing(BASE + timedelta(minutes=m * 30), ZONE) for m in (0, 120)}
        sent: list[int] = []

        def check() -> None:
            with app.test_request_context():
                for month, board, viewer in itertools.product(months, BOARDS, people):
                    cached = standings(session, board, month, viewer_id=viewer.id)
                    fresh = _top(session, board, month, NO_FILTERS, 10)
                    assert cached.entries == fresh
                    if viewer.id not in {entry.person_id for entry in fresh}:
                        line = rank_in_database(session, board, month, viewer.id)
                        assert cached.viewer == line

        for step in steps:
            apply_step(session, step, people, admin, value_ids, sent)
            check()
    finally:
        nested.rollback()
        # Rows loaded inside the example would otherwise stay in this
        # session's identity map for the next example, where SQLite hands
        # out the same ids again.
        session.expunge_all()


# The signed-in person is cached too -------------------------------------------


def test_sign_out_everywhere_and_leaving_end_a_cached_session_at_once(client, session, make):
    ann, ben = make.person(name="Ann Archer"), make.person(name="Ben Bell")
    sign_in(client, ann)
    assert client.get("/leaderboard").status_code == 200  # Ann is now cached
    ann.session_version += 1  # "sign out everywhere"
    session.commit()
    assert client.get("/leaderboard").status_code == 302

    sign_in(client, ben)
    assert client.get("/leaderboard").status_code == 200
    ben.active = False
    session.commit()
    assert client.get("/leaderboard").status_code == 302


def test_a_cached_person_is_a_copy_each_request_may_change(client, session, make):
    ann = make.person(name="Ann Archer")
    sign_in(client, ann)
    assert "Ann Archer" in client.get("/leaderboard").get_data(as_text=True)
    ann.name = "Ann Avery"
    session.commit()
    page = client.get("/leaderboard").get_data(as_text=True)
    assert "Ann Avery" in page
    assert "Ann Archer" not in page


def test_a_server_on_its_own_connections_sees_each_committed_change(engine, database_url):
    """The production path: the app's own engine (not the tests' shared
    connection), where the token is read before any transaction begins.
    (``engine``: the database migrated, also when this test runs alone.)"""
    app = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "x",
            "DATABASE_URL": database_url,
            "SESSION_COOKIE_SECURE": False,
        }
    )
    engine = make_engine(database_url)
    email = f"own-engine-{secrets.token_hex(4)}@acme.example.com"
    try:
        # Not expired on commit: reading it again would open a transaction,
        # and on SQLite every transaction takes the write lock first.
        with Session(engine, expire_on_commit=False) as writer:
            person = Person(name="Olive Own", email=email, onboarding_postponed_at=utcnow())
            writer.add(person)
            writer.commit()
            client = app.test_client()
            sign_in(client, person)
            assert "Olive Own" in client.get("/leaderboard").get_data(as_text=True)
            assert "Olive Own" in client.get("/leaderboard").get_data(as_text=True)

            person.name = "Olive Other"
            writer.commit()
            assert "Olive Other" in client.get("/leaderboard").get_data(as_text=True)

            # News comes with the same read, on this path too: shown once.
            sender = Person(name="Sam Sender", email=f"sender-{email}")
            writer.add(sender)
            writer.flush()
            value_id = writer.scalar(select(Value.id).order_by(Value.position).limit(1))
            send_kudos(
                writer,
                sender,
                [person.id],
                [value_id],
                "Thanks for trying your own engine!",
                "public",
                now=utcnow(),
                zone=UTC_ZONE,
                daily_limit=100,
            )
            writer.commit()
            news = "Thanks for trying your own engine!"
            assert news in client.get("/leaderboard").get_data(as_text=True)
            assert news not in client.get("/leaderboard").get_data(as_text=True)

            person.session_version += 1
            writer.commit()
            assert client.get("/leaderboard").status_code == 302
    finally:
        with Session(engine) as cleaner:
            emails = [email, f"sender-{email}"]
            senders = select(Person.id).where(Person.email.in_(emails))
            cleaner.execute(delete(Kudos).where(Kudos.sender_id.in_(senders)))
            cleaner.execute(delete(Person).where(Person.email.in_(emails)))
            cleaner.commit()
        engine.dispose()
        app.extensions["kudos.db"].kw["bind"].dispose()


def test_a_new_version_replaces_its_entry_and_a_new_token_retires_all():
    store = cache.PageCache()
    assert store.get_or_compute("token", "key", lambda: "first", version=1) == "first"
    assert store.get_or_compute("token", "key", lambda: "again", version=1) == "first"
    # The next minute of a month in progress: computed again, in the same slot.
    assert store.get_or_compute("token", "key", lambda: "later", version=2) == "later"
    assert store.get_or_compute("token", "other", lambda: "other") == "other"
    assert len(store) == 2
    assert store.get_or_compute("new token", "key", lambda: "fresh", version=2) == "fresh"
    assert len(store) == 1


# Whole pages ------------------------------------------------------------------


def test_a_cached_page_gets_a_fresh_csrf_token_and_skips_flashes(client, make):
    ann, ben = make.person(name="Ann Archer"), make.person(name="Ben Bell")
    make.kudos(ann, [ben])
    sign_in(client, ann)
    first = client.get("/leaderboard").get_data(as_text=True)
    second = client.get("/leaderboard").get_data(as_text=True)

    assert cache.CSRF_MARK not in second
    token = re.search(r'name="csrf_token" value="([^"]+)"', second).group(1)
    assert token
    # The sign-out form on the cached page works.
    assert client.post("/logout", data={"csrf_token": token}).status_code == 302
    assert first.replace(re.search(r'name="csrf_token" value="([^"]+)"', first).group(1), "") == (
        second.replace(token, "")
    )


def test_a_cached_page_is_per_person_and_per_address(client, make):
    ann, ben = make.person(name="Ann Archer"), make.person(name="Ben Bell")
    make.kudos(ann, [ben])
    sign_in(client, ann)
    assert "Ann Archer" in client.get("/leaderboard").get_data(as_text=True)
    assert "board__row--me" in client.get("/leaderboard").get_data(as_text=True)

    sign_in(client, ben)
    page = client.get("/leaderboard").get_data(as_text=True)
    assert '<span class="account__name">Ben Bell</span>' in page
    assert "Ann Archer" in page
    past = client.get("/leaderboard?month=2020-01").get_data(as_text=True)
    assert past.count("Nothing was recognised this month") == 2


def test_flashed_messages_and_celebrations_are_never_cached(client, session, make):
    ann, ben = make.person(name="Ann Archer"), make.person(name="Ben Bell")
    sign_in(client, ben)
    client.get("/leaderboard")
    make.kudos(ann, [ben], message="Thanks for the dashboards!")

    shown = client.get("/leaderboard").get_data(as_text=True)
    assert "Thanks for the dashboards!" in shown  # the quiet notice, once
    again = client.get("/leaderboard").get_data(as_text=True)
    assert "Thanks for the dashboards!" not in again

    with client.session_transaction() as flask_session:
        flask_session["_flashes"] = [("success", "Saved, just for this page.")]
    assert "Saved, just for this page." in client.get("/leaderboard").get_data(as_text=True)
    assert "Saved, just for this page." not in client.get("/leaderboard").get_data(as_text=True)


# New kudos: seen by their id, not by a shared row ----------------------------


def test_a_send_and_its_celebration_keep_the_token(client, session, make):
    """A send writes no row every other send writes too, and the signed-in
    person stays cached while their news is read with each request."""
    ann, ben = make.person(name="Ann Archer"), make.person(name="Ben Bell")
    sign_in(client, ben)
    client.get("/leaderboard")  # Ben is cached now
    before = token(session)

    make.kudos(ann, [ben], message="Thanks for the dashboards!")
    assert token(session) == before
    assert "Thanks for the dashboards!" in client.get("/leaderboard").get_data(as_text=True)
    assert token(session) == before  # shown and acknowledged: still no new token
    assert "Thanks for the dashboards!" not in client.get("/leaderboard").get_data(as_text=True)


def test_a_board_read_inside_an_uncommitted_send_is_never_kept(app, session, make):
    """SQLite gives a rolled-back kudos id to the next kudos: a board read
    inside the send that rolled back must not pass for the next one's."""
    ann, ben, cat = (make.person(name=name) for name in ("Ann Archer", "Ben Bell", "Cat Cole"))
    make.kudos(ann, [ben])
    responsive = make.value().id
    nested = session.begin_nested()
    send_now(session, cat, ben, responsive)
    with app.test_request_context():
        inside = standings(session, "given", this_month())
        assert {entry.name for entry in inside.entries} == {"Ann Archer", "Cat Cole"}
    nested.rollback()
    session.commit()

    make.kudos(ben, [ann])
    with app.test_request_context():
        after = standings(session, "given", this_month())
    assert {entry.name for entry in after.entries} == {"Ann Archer", "Ben Bell"}


class Clock:
    """Stands in for ``time.monotonic`` in kudos.cache."""

    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch) -> Clock:
    fake = Clock()
    monkeypatch.setattr(cache.time, "monotonic", fake)
    return fake


class TestWithARefreshWindow:
    """As in production: boards count new kudos within
    KUDOS_CACHE_REFRESH_SECONDS, and show every other change at once."""

    @pytest.fixture
    def app_overrides(self):
        return {"CACHE_REFRESH_SECONDS": 5}

    def test_a_new_kudos_counts_once_the_window_has_passed(self, client, session, make, clock):
        ann, ben, cat = (make.person(name=n) for n in ("Ann Archer", "Ben Bell", "Cat Cole"))
        make.kudos(ann, [ben])
        sign_in(client, ben)
        assert "Cat Cole" not in board_names(client)

        make.kudos(cat, [ben])
        clock.now += 4.9
        assert "Cat Cole" not in board_names(client)  # the board read 4.9 s ago
        clock.now += 0.1
        assert "Cat Cole" in board_names(client)

    def test_every_other_change_shows_within_the_window(self, client, session, make, clock):
        ann, ben, cat = (make.person(name=n) for n in ("Ann Archer", "Ben Bell", "Cat Cole"))
        admin = make.person(name="Ada Admin", admin_granted=True)
        make.kudos(ann, [ben])
        second = make.kudos(cat, [ben])
        sign_in(client, admin)
        assert "Ann Archer" in board_names(client)
        assert "Cat Cole" in board_names(client)
        assert "Ben Bell" in board_names(client, "Most appreciated")

        # Each at the same instant as the first view.
        session.add(RecognitionPreference(person=ann, on_leaderboards=False))
        session.commit()
        assert "Ann Archer" not in board_names(client)

        hide_kudos(session, admin, second, "Off topic", now=second.created_at, zone=UTC_ZONE)
        session.commit()
        assert "Cat Cole" not in board_names(client)

        ben.active = False
        rollups.people_changed(session, [ben.id])
        session.commit()
        assert "Ben Bell" not in board_names(client, "Most appreciated")


def test_an_entry_that_counts_kudos_is_made_again_after_its_longest_age(clock):
    """Two sends can commit in the other order than their ids: a board read
    between the two commits is made again anyway, after COUNTED_MAX_AGE."""
    store = cache.PageCache()
    made = store.get_or_compute("t", "board", lambda: "old", newest_kudos=7, refresh=5)
    assert made == "old"
    clock.now += cache.COUNTED_MAX_AGE - 0.1
    assert store.get_or_compute("t", "board", lambda: "new", newest_kudos=7, refresh=5) == "old"
    clock.now += 0.1
    assert store.get_or_compute("t", "board", lambda: "new", newest_kudos=7, refresh=5) == "new"
    # Entries that count no kudos are never too old.
    store.get_or_compute("t", "filters", lambda: "kept")
    clock.now += 10 * cache.COUNTED_MAX_AGE
    assert store.get_or_compute("t", "filters", lambda: "again") == "kept"


def test_an_entry_is_as_old_as_the_data_it_read(clock):
    """Stamped before it is computed: a board that took 3 s to read is
    3 s old when it is kept, and made again 5 s after it began."""
    store = cache.PageCache()

    def slow() -> str:
        clock.now += 3
        return "board"

    store.get_or_compute("t", "board", slow, newest_kudos=1, refresh=5)
    clock.now += 1.9
    assert store.lookup("t", "board", newest_kudos=2, refresh=5) == "board"
    clock.now += 0.1
    assert store.lookup("t", "board", newest_kudos=2, refresh=5) is cache.MISSING


def test_an_entry_stored_by_hand_counts_its_age_from_then(clock):
    store = cache.PageCache()
    store.lookup("t", "other")  # takes the token
    store.store("t", "board", "board", newest_kudos=1)
    assert store.lookup("t", "board", newest_kudos=2, refresh=5) == "board"
    # Without a refresh window, a newer kudos retires it at once.
    assert store.lookup("t", "board", newest_kudos=2) is cache.MISSING
    assert store.lookup("t", "board", newest_kudos=1) == "board"


def test_news_is_read_for_the_person_even_after_a_read_without_them(app, session, make):
    ann, ben = make.person(name="Ann Archer"), make.person(name="Ben Bell")
    make.kudos(ann, [ben])
    with app.test_request_context():
        assert cache.freshness(session).unseen is None
        assert cache.freshness(session, viewer_id=ben.id).unseen is True
        assert cache.freshness(session, viewer_id=ben.id).unseen is True
    with app.test_request_context():
        assert cache.freshness(session, viewer_id=ann.id).unseen is False


def test_a_board_is_kept_again_once_the_send_is_committed(app, session, make):
    """Nothing is kept while a transaction holds kudos not committed yet,
    and everything is again once it ends."""
    ann, ben = make.person(name="Ann Archer"), make.person(name="Ben Bell")
    make.kudos(ann, [ben])  # sent and committed in this session
    with app.test_request_context():
        standings(session, "given", this_month())
        with statements_seen(session) as seen:
            assert [e.name for e in standings(session, "given", this_month()).entries] == [
                "Ann Archer"
            ]
    assert not [sql for sql in seen if "leaderboard_score" in sql]


@contextmanager
def statements_seen(session) -> Iterator[list[str]]:
    seen: list[str] = []
    engine = session.get_bind()
    listener = lambda _c, _cu, sql, *_a: seen.append(sql)  # noqa: E731
    event.listen(engine, "before_cursor_execute", listener)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", listener)


def test_the_first_kudos_ever_shows_on_a_board_seen_before_it(client, session, make):
    """Before any kudos the newest id is 0, never a kudos' own id."""
    assert session.scalar(select(func.count()).select_from(Kudos)) == 0
    ann, ben = make.person(name="Ann Archer"), make.person(name="Ben Bell")
    sign_in(client, ben)
    assert "Ann Archer" not in board_names(client)
    make.kudos(ann, [ben])
    assert "Ann Archer" in board_names(client)


def test_a_second_change_in_one_transaction_retires_what_was_kept_after_the_first(
    app, session, make
):
    ann, ben = make.person(name="Ann Archer"), make.person(name="Ben Bell")
    make.kudos(ann, [ben])
    with app.test_request_context():
        board = standings(session, "given", this_month())
        assert [e.name for e in board.entries] == ["Ann Archer"]
        ann.name = "Ann Avery"
        session.flush()
        assert [e.name for e in standings(session, "given", this_month()).entries] == ["Ann Avery"]
        ann.name = "Ann Adams"
        session.flush()
        assert [e.name for e in standings(session, "given", this_month()).entries] == ["Ann Adams"]


def test_a_new_version_of_an_entry_is_computed_again(app, session):
    with app.test_request_context():
        assert cache.cached(session, "k", lambda: "first", version=1) == "first"
        assert cache.cached(session, "k", lambda: "again", version=1) == "first"
        assert cache.cached(session, "k", lambda: "second", version=2) == "second"
