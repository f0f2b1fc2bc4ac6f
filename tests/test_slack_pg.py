"""Slack delivery with real concurrent transactions, on PostgreSQL.

Several ``kudos outbox deliver`` workers at once, each with its own app
context, session and Web API client, against one stand-in Slack
(``tests/slack_api.py``, answering slowly or holding an answer on cue):
each message is posted once. A moderator hiding a kudos while its post is
on its way, in each order that matters: the post does not stay. Two
workers finding the same person in Slack at once; applause while the post
is being updated.

Everything is committed for real, in a database of this module's own on
the test server (created, migrated, dropped afterwards), since a worker
delivers whatever is due in the whole outbox. SQLite allows one writer at
a time, so this file is collected only for the PostgreSQL run (conftest.py).
"""

from __future__ import annotations

import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import Engine, select, text
from sqlalchemy.orm import Session

from kudos import create_app, timeutil
from kudos.db import make_engine, utcnow
from kudos.extensions import db
from kudos.outbox.models import OutboxMessage
from kudos.outbox.services import DeliveryReport
from kudos.people.models import Person, Team
from kudos.preferences.models import RecognitionPreference
from kudos.recognition.models import Kudos, Reaction, Value
from kudos.recognition.services import hide_kudos, send_kudos, toggle_reaction
from kudos.slack import delivery
from kudos.slack.models import SlackLink, SlackPost
from tests.conftest import TEST_SECRET_KEY
from tests.faults import migrate
from tests.pgserver import database_of_its_own
from tests.slack_api import SlackApi
from tests.slack_requests import CHANNEL, slack_settings

TEAM_CHANNELS = {"alpha": "C0ALPHA", "beta": "C0BETA", "gamma": "C0GAMMA"}
WAIT = 10  # seconds: longer than any step here takes, short enough to fail a hang
# PostgreSQL looks for a deadlock once a lock wait is this old (1 s by
# default): shorter in this module's database, so that its tests wait less.
DEADLOCK_TIMEOUT = 0.2


class SlowSlackApi(SlackApi):
    """The stand-in, answering ``chat.postMessage`` after ``delay`` seconds
    (outside its lock, so that several workers' posts overlap) and counting
    how many it was answering at once. While ``hold`` is set it keeps the
    answer of each call to ``hold_method`` it made (``holding`` says one
    is) until the test sets ``hold``. A method in ``meet`` is answered once
    that many calls to it are waiting."""

    def __init__(self) -> None:
        super().__init__()
        self._counting = threading.Lock()
        self.start_over()

    def start_over(self) -> None:
        self.reset()
        self.delay = 0.0
        self.hold: threading.Event | None = None
        self.hold_method = "chat.postMessage"
        self.holding = threading.Event()
        self.meet: dict[str, threading.Barrier] = {}
        self.in_flight = self.most_in_flight = 0

    def _serve(self, path: str, query: str, headers: dict[str, str], body: bytes) -> Any:  # noqa: ANN401
        method = path.removeprefix("/api/")
        if meeting := self.meet.get(method):
            meeting.wait(WAIT)
        posting = method == "chat.postMessage"
        with self._counting:
            self.in_flight += posting
            self.most_in_flight = max(self.most_in_flight, self.in_flight)
        try:
            time.sleep(self.delay if posting else 0)
            reply = super()._serve(path, query, headers, body)
            if (hold := self.hold) is not None and method == self.hold_method:
                self.holding.set()
                hold.wait(WAIT)
            return reply
        finally:
            with self._counting:
                self.in_flight -= posting


@pytest.fixture(scope="module")
def own_database(database_url: str) -> Iterator[str]:
    """A database of this module's own on the test server, migrated."""
    settings = {"deadlock_timeout": f"{DEADLOCK_TIMEOUT}s"}
    with database_of_its_own(database_url, "kudos_slack", settings) as url:
        migrate(url)
        yield url


@pytest.fixture(scope="module")
def own_engine(own_database: str) -> Iterator[Engine]:
    """For arranging and checking, and for watching lock waits."""
    engine = make_engine(own_database)
    yield engine
    engine.dispose()


@pytest.fixture(scope="module")
def slow_slack() -> Iterator[SlowSlackApi]:
    with SlowSlackApi() as api:
        for channel in (CHANNEL, *TEAM_CHANNELS.values()):
            api.add_channel(channel)
        yield api


@pytest.fixture
def slack(slow_slack: SlowSlackApi) -> SlowSlackApi:
    slow_slack.start_over()
    return slow_slack


@pytest.fixture
def app(own_database: str, own_engine: Engine, slack: SlowSlackApi) -> Iterator[Flask]:
    """The app on the module's database, with nothing left by an earlier test."""
    with own_engine.begin() as connection:
        connection.execute(text("TRUNCATE person, team, outbox_message, audit_entry CASCADE"))
    app = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": TEST_SECRET_KEY,
            "DATABASE_URL": own_database,
            "RATELIMIT_ENABLED": False,
            **slack_settings(slack, SLACK_TEAM_CHANNELS=TEAM_CHANNELS),
        }
    )
    yield app
    # What a failed test left running must not reach into the next one.
    if slack.hold is not None:
        slack.hold.set()
    while Running.started:
        Running.started.pop().thread.join(WAIT)
    db.engine(app).dispose()


# -- arranging ----------------------------------------------------------------


def person(
    engine: Engine, slack: SlackApi, *, team: str | None = None, slack_messages: bool = False
) -> int:
    """A person, committed, in Slack with their e-mail address (not linked
    yet); ``slack_messages``: they chose Slack messages."""
    tag = uuid.uuid4().hex[:8]
    with Session(engine) as session:
        found = None
        if team is not None:
            found = session.scalar(select(Team).where(Team.slug == team))
            found = found or Team(name=team.title(), slug=team)
        someone = Person(
            name=f"Person {tag}",
            email=f"person-{tag}@acme.example.com",
            team=found,
            onboarding_postponed_at=utcnow(),
        )
        session.add(someone)
        if slack_messages:
            session.add(RecognitionPreference(person=someone, slack_opt_in=True))
        session.commit()
        slack.add_user(user_id(someone.id), someone.email, someone.name)
        return someone.id


def user_id(person_id: int) -> str:
    """The person's id in Slack."""
    return f"U{person_id:08d}"


def send(app: Flask, sender_id: int, recipient_ids: list[int], visibility: str = "public") -> int:
    with app.test_request_context():
        value_id = db.session.scalar(select(Value.id).where(Value.slug == "responsive"))
        kudos = send_kudos(
            db.session,
            db.session.get(Person, sender_id),
            recipient_ids,
            [value_id],
            "Thanks for the fix!",
            visibility,
            now=utcnow(),
            zone=timeutil.org_zone(),
            daily_limit=1000,
        ).kudos
        db.session.commit()
        return kudos.id


def hide(app: Flask, admin_id: int, kudos_id: int) -> None:
    with app.test_request_context():
        hide_kudos(
            db.session,
            db.session.get(Person, admin_id),
            db.session.get(Kudos, kudos_id),
            "Names a customer",
            now=utcnow(),
            zone=timeutil.org_zone(),
        )
        db.session.commit()


def deliver(app: Flask) -> DeliveryReport:
    with app.app_context():
        return delivery.deliver_due(db.session, delivery.web_client(), now=utcnow())


# -- running at the same time -------------------------------------------------


class Running:
    """``work()`` in a thread of its own; ``result()`` is what it returned or raised."""

    started: list[Running] = []  # joined after each test (the ``app`` fixture)

    def __init__(self, work: Callable[[], Any]) -> None:
        self.value: Any = None
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, args=(work,), daemon=True)
        self.thread.start()
        Running.started.append(self)

    def _run(self, work: Callable[[], Any]) -> None:
        try:
            self.value = work()
        except BaseException as error:  # noqa: BLE001 - result() raises it
            self.error = error

    def done(self) -> bool:
        return not self.thread.is_alive()

    def result(self) -> Any:  # noqa: ANN401
        self.thread.join(WAIT)
        assert self.done(), "still running"
        if self.error is not None:
            raise self.error
        return self.value


def workers(app: Flask, count: int) -> list[Running]:
    """``count`` delivery workers, each with its own app context, session
    and client, connected and then set off together."""
    barrier = threading.Barrier(count)

    def work() -> DeliveryReport:
        with app.app_context():
            client = delivery.web_client()
            db.session.execute(select(1))
            db.session.rollback()
            barrier.wait(WAIT)
            return delivery.deliver_due(db.session, client, now=utcnow())

    return [Running(work) for _ in range(count)]


def lock_waits(engine: Engine) -> int:
    """How many other connections to this database wait for a lock now."""
    with engine.connect() as connection:
        return connection.scalar(
            text(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()"
            )
        )


def blocked_or_done(engine: Engine, running: Running) -> float:
    """Wait until ``running`` waits for a lock, or is over; when that was."""
    deadline = time.monotonic() + WAIT
    while not running.done() and not lock_waits(engine):
        assert time.monotonic() < deadline, "neither waiting for a lock nor done"
        time.sleep(0.005)
    return time.monotonic()


# -- what Slack got -----------------------------------------------------------


def block_id(message: dict[str, Any]) -> str:
    """Names the kudos: ``kudos_<id>`` in a channel, ``dm_<id>`` in a direct message."""
    [found] = [b["block_id"] for b in message["blocks"] if b.get("type") == "actions"]
    return found


def stored(slack: SlackApi, where: list[str]) -> list[tuple[str, str, str]]:
    """The messages the stand-in has now: ``(conversation, ts, block id)``."""
    return sorted(
        (message["channel"], message["ts"], block_id(message))
        for conversation in where
        for message in slack.messages_in(conversation)
    )


def slack_posts(engine: Engine) -> list[tuple[int, str, str]]:
    with Session(engine) as session:
        rows = session.execute(select(SlackPost.kudos_id, SlackPost.channel, SlackPost.ts))
        return sorted(tuple(row) for row in rows)


# -- several workers ----------------------------------------------------------


def test_three_workers_at_once_post_each_message_exactly_once(app, own_engine, slack):
    """30 messages (channel posts of public and team kudos, and direct
    messages to the recipients, who chose them), three workers at once,
    each post taking Slack a moment. Each message is posted once, marked
    sent and remembered once; and the workers did post at the same time
    (none waited for the message another had taken)."""
    sender = person(own_engine, slack)
    expected: Counter[tuple[str, str]] = Counter()
    # Ten kudos, each a post and two direct messages; at most three posts
    # in a channel (Slack's burst; then it allows one a second).
    plan = [("public", None)] * 3 + [("team", "alpha")] * 3
    plan += [("team", "beta")] * 2 + [("team", "gamma")] * 2
    for visibility, team in plan:
        recipients = [person(own_engine, slack, team=team, slack_messages=True) for _ in "ab"]
        kudos_id = send(app, sender, recipients, visibility)
        channel = TEAM_CHANNELS[team] if team else CHANNEL
        expected[(channel, f"kudos_{kudos_id}")] += 1
        expected.update((user_id(recipient), f"dm_{kudos_id}") for recipient in recipients)
    with Session(own_engine) as session:
        queued = session.scalars(select(OutboxMessage.status)).all()
    assert queued == ["pending"] * len(expected) == ["pending"] * 30
    slack.delay = 0.02

    reports = [running.result() for running in workers(app, 3)]

    posts = Counter(
        (call["args"]["channel"], block_id(call["args"]))
        for call in slack.calls_to("chat.postMessage")
    )
    assert posts == expected  # every message, each once
    assert [(report.failed, report.retrying) for report in reports] == [(0, 0)] * 3
    assert sum(report.sent for report in reports) == 30
    assert all(report.sent for report in reports)  # each worker had its share
    assert slack.most_in_flight >= 2  # at the same time, none waiting for another
    with Session(own_engine) as session:
        assert session.scalars(select(OutboxMessage.status)).all() == ["sent"] * 30
    users = sorted({user for user, _ in expected if user.startswith("U")})
    made = stored(slack, [CHANNEL, *TEAM_CHANNELS.values(), *users])
    kept = slack_posts(own_engine)
    assert len(made) == 30
    assert sorted((channel, ts) for _, channel, ts in kept) == [(c, ts) for c, ts, _ in made]
    assert sorted(Counter(kudos_id for kudos_id, _, _ in kept).values()) == [3] * 10


def test_two_workers_finding_the_same_person_in_slack_both_deliver(app, own_engine, slack):
    """Two private kudos for someone not linked to Slack yet: two direct
    messages, and two workers that look the person up at the same moment.
    Both messages go; the person is linked once."""
    sender = person(own_engine, slack)
    recipient = person(own_engine, slack, slack_messages=True)
    first, second = (send(app, sender, [recipient], "private") for _ in "ab")
    slack.meet["users.lookupByEmail"] = threading.Barrier(2)

    reports = [running.result() for running in workers(app, 2)]

    assert sorted(block_id(m) for m in slack.messages_in(user_id(recipient))) == sorted(
        [f"dm_{first}", f"dm_{second}"]
    )
    assert sum(report.sent for report in reports) == 2, [r.errors for r in reports]
    with Session(own_engine) as session:
        assert session.scalars(select(SlackLink.slack_user_id)).all() == [user_id(recipient)]


# -- a moderator hiding a kudos while its post is on the way ------------------


def a_kudos_for_the_channel(app, engine, slack) -> tuple[int, int]:
    """A public kudos (its post queued, and nothing else) and a moderator."""
    moderator, sender, recipient = (person(engine, slack) for _ in "abc")
    return send(app, sender, [recipient]), moderator


def assert_gone(app, engine, slack, kudos_id: int) -> None:
    """The kudos is hidden; after another delivery (a deletion the hide
    queued) no post of it is in the channel, and none is remembered."""
    deliver(app)
    with Session(engine) as session:
        assert session.get(Kudos, kudos_id).hidden_at is not None
        failed = session.scalars(
            select(OutboxMessage.last_error).where(OutboxMessage.status == "failed")
        ).all()
    assert stored(slack, [CHANNEL]) == []
    assert slack_posts(engine) == []
    assert failed == []


@pytest.mark.parametrize(
    "slack_answers",
    [
        pytest.param("at once", id="slack-answers-at-once"),
        pytest.param("slowly", id="slack-answers-slowly"),
    ],
)
def test_a_kudos_hidden_while_slack_makes_its_post_loses_the_post(
    app, own_engine, slack, slack_answers
):
    """Slack has made the post and its answer is on the way when a
    moderator hides the kudos (and commits, or waits for the delivery).
    When the answer comes, the delivery finds the kudos hidden and queues
    the post's deletion, or the hide finds the post recorded and queues
    it. Either way the hide succeeds and the post does not stay.
    "Slowly": Slack answers after PostgreSQL has looked for a deadlock
    (today the worker then loses, and the post stays, with nothing left to
    delete it); "at once": before (today the moderator's hide fails)."""
    kudos_id, moderator = a_kudos_for_the_channel(app, own_engine, slack)
    slack.hold = threading.Event()
    worker = Running(lambda: deliver(app))
    assert slack.holding.wait(WAIT)  # the post is made; its answer held

    hiding = Running(lambda: hide(app, moderator, kudos_id))
    since = blocked_or_done(own_engine, hiding)
    if slack_answers == "slowly":
        time.sleep(max(0, since + 3 * DEADLOCK_TIMEOUT - time.monotonic()))
    slack.hold.set()

    hiding.result()  # the moderator's hide went through
    assert worker.result().failed == 0
    assert_gone(app, own_engine, slack, kudos_id)


def test_a_kudos_hidden_as_its_post_is_recorded_loses_the_post_on_the_next_delivery(
    app, own_engine, slack, monkeypatch
):
    """Slack answered and the worker has recorded the post (holding a share
    lock on the kudos) but not committed, when a moderator hides the kudos:
    the hide waits, then finds the post and queues its deletion, which the
    next delivery makes."""
    kudos_id, moderator = a_kudos_for_the_channel(app, own_engine, slack)
    kept, go_on = threading.Event(), threading.Event()
    keep = delivery.SlackSender._keep

    def keep_then_wait(sender: delivery.SlackSender, *args: Any) -> None:
        keep(sender, *args)
        kept.set()
        go_on.wait(WAIT)

    monkeypatch.setattr(delivery.SlackSender, "_keep", keep_then_wait)
    worker = Running(lambda: deliver(app))
    assert kept.wait(WAIT)

    hiding = Running(lambda: hide(app, moderator, kudos_id))
    blocked_or_done(own_engine, hiding)
    waited = not hiding.done()
    go_on.set()

    assert worker.result().sent == 1
    hiding.result()
    assert waited  # the share lock held the hide back until the post was recorded
    assert [block_id(m) for m in slack.messages_in(CHANNEL)] == [f"kudos_{kudos_id}"]
    assert_gone(app, own_engine, slack, kudos_id)
    assert len(slack.calls_to("chat.delete")) == 1


def test_a_kudos_being_hidden_when_a_worker_comes_is_never_posted(app, own_engine, slack):
    """The moderator's hide is under way (not committed) when a worker
    runs: the worker passes the post by (the hide has it locked, to cancel
    it) instead of waiting, and once the hide commits there is nothing to
    post."""
    kudos_id, moderator = a_kudos_for_the_channel(app, own_engine, slack)
    with app.test_request_context():
        hide_kudos(
            db.session,
            db.session.get(Person, moderator),
            db.session.get(Kudos, kudos_id),
            "Names a customer",
            now=utcnow(),
            zone=timeutil.org_zone(),
        )
        report = Running(lambda: deliver(app)).result()
        db.session.commit()

    assert (report.sent, report.failed) == (0, 0)
    assert deliver(app).sent == 0
    assert slack.calls_to("chat.postMessage") == []
    assert_gone(app, own_engine, slack, kudos_id)


# -- applause while the post is being updated ---------------------------------


def applaud(app: Flask, person_id: int, kudos_id: int) -> None:
    """``person_id`` applauds the kudos, in a request of its own."""
    with app.test_request_context():
        toggle_reaction(
            db.session,
            db.session.get(Person, person_id),
            db.session.get(Kudos, kudos_id),
            now=utcnow(),
        )
        db.session.commit()


def applause_shown(slack: SlackApi, kudos_id: int) -> str:
    [post] = slack.messages_in(CHANNEL)
    [button] = [
        element
        for block in post["blocks"]
        if block.get("block_id") == f"kudos_{kudos_id}"
        for element in block["elements"]
        if element.get("value") == str(kudos_id)
    ]
    return button["text"]["text"]


def reactions(engine: Engine, kudos_id: int) -> int:
    with Session(engine) as session:
        return len(session.scalars(select(Reaction).where(Reaction.kudos_id == kudos_id)).all())


def test_two_colleagues_applauding_a_posted_kudos_at_once_both_count(app, own_engine, slack):
    """Two people applaud at the same moment, the first not committed yet
    when the second comes (both would queue the post's update, under one
    dedupe key; the kudos' revision makes the second wait): both applause
    count, and the post shows both."""
    kudos_id, _ = a_kudos_for_the_channel(app, own_engine, slack)
    first, second = person(own_engine, slack), person(own_engine, slack)
    deliver(app)
    with app.test_request_context():
        toggle_reaction(
            db.session, db.session.get(Person, first), db.session.get(Kudos, kudos_id), now=utcnow()
        )
        other = Running(lambda: applaud(app, second, kudos_id))
        blocked_or_done(own_engine, other)
        waited = not other.done()
        db.session.commit()
    other.result()
    assert waited

    deliver(app)
    assert reactions(own_engine, kudos_id) == 2
    assert applause_shown(slack, kudos_id) == ":clap: Applaud (2)"


def test_applause_while_the_post_is_being_updated_reaches_the_post(app, own_engine, slack):
    """The post's update (for one applause) is on its way, its count made,
    when a second person applauds: the post ends up showing both."""
    kudos_id, _ = a_kudos_for_the_channel(app, own_engine, slack)
    first, second = person(own_engine, slack), person(own_engine, slack)
    deliver(app)
    applaud(app, first, kudos_id)
    slack.hold, slack.hold_method = threading.Event(), "chat.update"
    worker = Running(lambda: deliver(app))
    assert slack.holding.wait(WAIT)  # Slack is updating the post: "Applaud (1)"

    applaud(app, second, kudos_id)
    slack.hold.set()
    assert worker.result().sent == 1

    deliver(app)
    assert reactions(own_engine, kudos_id) == 2
    assert applause_shown(slack, kudos_id) == ":clap: Applaud (2)"
