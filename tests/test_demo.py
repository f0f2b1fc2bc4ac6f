"""The demo organisation and `kudos demo`."""

from __future__ import annotations

import re
import socket
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import create_engine, func, select

from kudos.demo.data import DOMAIN, load_demo
from kudos.people.models import Department, Person, Team
from kudos.preferences.models import RecognitionPreference
from kudos.recognition.models import Kudos, Recognition, Value, kudos_value
from kudos.timeutil import Month

NOW = datetime(2026, 11, 20, 15, 30, tzinfo=UTC)
ZONE = ZoneInfo("Europe/Berlin")


def count(session, model) -> int:
    return session.scalar(select(func.count()).select_from(model))


def test_demo_organisation_is_believable(session):
    report = load_demo(session, now=NOW, zone=ZONE)
    session.commit()

    assert not report.skipped
    people = list(session.scalars(select(Person)))
    assert 35 <= len(people) <= 45
    assert count(session, Department) == 5
    assert count(session, Team) >= 5
    assert all(person.email.endswith("@" + DOMAIN) for person in people)
    managers = {person.manager_id for person in people if person.manager_id}
    assert len(managers) >= 8, "an organisation with managers and reports"
    assert sum(1 for person in people if person.manager_id is None) == 1, "one top of the tree"
    assert any(person.is_admin for person in people)
    # Preferences for most people, with every behaviour represented.
    preferences = list(session.scalars(select(RecognitionPreference)))
    assert len(preferences) >= 0.75 * len(people)
    assert {p.audience for p in preferences} == {"public", "team", "private"}
    assert {p.style for p in preferences} == {"low_key", "celebratory"}
    assert {p.email_opt_in for p in preferences} == {True, False}
    assert {p.on_leaderboards for p in preferences} == {True, False}


def test_demo_kudos_span_three_months_and_every_value(session):
    load_demo(session, now=NOW, zone=ZONE)
    session.commit()

    assert 250 <= count(session, Kudos) <= 350
    oldest, newest = session.execute(
        select(func.min(Kudos.created_at), func.max(Kudos.created_at))
    ).one()
    assert NOW - timedelta(days=92) <= oldest < NOW - timedelta(days=60)
    assert NOW - timedelta(days=7) < newest <= NOW
    used = set(session.scalars(select(kudos_value.c.value_id).distinct()))
    assert used == set(session.scalars(select(Value.id)))
    assert (
        session.scalar(
            select(func.count())
            .select_from(Recognition)
            .where(Recognition.recipient_id == Recognition.sender_id)
        )
        == 0
    )


def test_loading_the_demo_twice_reuses_it(session):
    load_demo(session, now=NOW, zone=ZONE)
    session.commit()

    report = load_demo(session, now=NOW, zone=ZONE)

    assert report.skipped
    assert count(session, Kudos) == report.kudos


def test_the_demo_command_creates_migrates_and_reuses_a_sqlite_database(runner, tmp_path):
    from kudos.cli import demo_command

    database = tmp_path / "demo.sqlite3"
    first = runner.invoke(demo_command, ["--no-serve", "--database", str(database)])
    second = runner.invoke(demo_command, ["--no-serve", "--database", str(database)])

    assert first.exit_code == 0, first.output
    assert "Loaded the demo organisation: 40 people, 300 kudos" in first.output
    assert second.exit_code == 0, second.output
    assert "already present (40 people, 300 kudos)" in second.output
    engine = create_engine(f"sqlite:///{database}")
    with engine.connect() as connection:
        assert connection.scalar(select(func.count()).select_from(Kudos)) == 300
    engine.dispose()


def test_demo_sign_in_lists_people_and_signs_in(tmp_path):
    from kudos.demo.runner import prepare_demo

    app = prepare_demo(tmp_path / "demo.sqlite3")
    client = app.test_client()
    page = client.get("/demo/sign-in").get_data(as_text=True)
    assert "Priya Raman" in page
    token = page.split('name="csrf_token" type="hidden" value="', 1)[1].split('"', 1)[0]
    with app.app_context():
        from kudos.extensions import db

        priya = db.session.scalar(select(Person).where(Person.name == "Priya Raman"))

    response = client.post("/demo/sign-in", data={"csrf_token": token, "person_id": priya.id})

    assert response.status_code == 302
    feed = client.get("/").get_data(as_text=True)
    assert "Company feed" in feed
    assert "Priya Raman" in feed
    # The session's lifetime runs from this sign-in (see test_session_lifetime.py).
    with client.session_transaction() as flask_session:
        assert abs(flask_session["kudos_signed_in_at"] - time.time()) < 60
    app.extensions["kudos.db"].kw["bind"].dispose()


def test_login_redirects_to_the_demo_sign_in_in_demo_mode(tmp_path):
    from kudos.demo.runner import prepare_demo

    app = prepare_demo(tmp_path / "demo.sqlite3")

    response = app.test_client().get("/login?next=/")

    assert response.status_code == 302
    assert response.headers["Location"].startswith("/demo/sign-in")
    app.extensions["kudos.db"].kw["bind"].dispose()


def test_a_port_in_use_is_said_before_anything_else(runner, tmp_path):
    from kudos.cli import demo_command

    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen()
    port = taken.getsockname()[1]
    database = tmp_path / "demo.sqlite3"
    try:
        result = runner.invoke(demo_command, ["--port", str(port), "--database", str(database)])
    finally:
        taken.close()

    assert result.exit_code == 1
    assert result.output.strip().splitlines() == [
        f"Error: port {port} on 127.0.0.1 is already in use (another Kudos demo, or another "
        "program): stop it, or choose another port with --port, e.g. ./scripts/demo "
        f"--port {port + 1}"
    ]
    assert "open http://" not in result.output
    assert not database.exists()  # said at once, before the demo is prepared


def test_the_demo_listens_before_it_prepares_and_prints_the_address(runner, tmp_path, monkeypatch):
    from kudos.cli import demo_command
    from kudos.demo import runner as demo_runner

    served = []
    monkeypatch.setattr(
        demo_runner.serving.BaseWSGIServer,
        "serve_forever",
        lambda server: served.append(server.socket.getsockname()) or server.server_close(),
    )
    with socket.socket() as probe:  # a port free a moment ago
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]

    result = runner.invoke(
        demo_command, ["--port", str(port), "--database", str(tmp_path / "demo.sqlite3")]
    )

    assert result.exit_code == 0, result.output
    assert (
        result.output.strip()
        .splitlines()[-1]
        .startswith(f"Kudos demo: open http://127.0.0.1:{port}/ and pick a person to sign in as.")
    )
    assert served == [("127.0.0.1", port)]


# The sign-in page, the stories and the newest kudos --------------------------------


def test_the_demo_sign_in_labels_managers_and_people_not_onboarded(tmp_path):
    from kudos.demo.data import PEOPLE, PREFERENCES
    from kudos.demo.runner import prepare_demo

    app = prepare_demo(tmp_path / "demo.sqlite3")
    page = app.test_client().get("/demo/sign-in").get_data(as_text=True)
    app.extensions["kudos.db"].kw["bind"].dispose()

    buttons = re.findall(r'<button type="submit" name="person_id".*?</button>', page, re.S)
    labels = {
        re.search(r'person-button__name"><span dir="auto">([^<]+)<', button).group(1): button
        for button in buttons
    }
    reports = Counter(manager for *_, manager in PEOPLE if manager)
    assert set(labels) == {name for name, *_ in PEOPLE}
    for name, button in labels.items():
        manages = re.findall(r"Manager of (\d+)", button)
        assert manages == ([str(reports[name])] if reports[name] else []), name
        assert ("not onboarded yet" in button) == (name not in PREFERENCES), name
    assert "Manager of 4" in labels["Priya Raman"]  # Tomás, Hannah, Kwame and Sofia
    assert "not onboarded yet" in labels["Felix Novak"]


def test_demo_messages_name_every_recipient_and_fit_who_sends_and_gets_them(session):
    from kudos.demo.stories import ANY_TEAM, MANAGER, OUTSIDE, REPORT, STORIES, TEAMMATE

    load_demo(session, now=NOW, zone=ZONE)
    session.commit()
    patterns = [
        (re.compile(re.escape(story.text).replace(re.escape("{names}"), "(.+?)") + "$"), story)
        for story in STORIES
    ]

    kudos_list = session.scalars(select(Kudos)).all()
    told = set()
    for kudos in kudos_list:
        found = [(m, story) for pattern, story in patterns if (m := pattern.match(kudos.message))]
        assert len(found) == 1, kudos.message
        match, story = found[0]
        told.add(story)
        recipients, sender = kudos.recipients, kudos.sender
        # Every recipient by name, and nobody else: "Ana", "Ana and Ben", "Ana, Ben and Cleo".
        assert sorted(re.split(r", | and ", match.group(1))) == sorted(
            person.first_name for person in recipients
        ), kudos.message
        # The story is about the recipients' kind of work...
        teams = {person.team.name for person in recipients}
        assert story.to == ANY_TEAM or teams == {story.to}, (kudos.message, teams)
        assert all(story.names_fit(person.title) for person in recipients), kudos.message
        assert not story.solo or len(recipients) == 1
        # ...told by the kind of sender it was written for...
        if story.sender == OUTSIDE:
            assert sender.team.name not in teams, kudos.message
        if story.sender == TEAMMATE:
            assert {sender.team.name} == teams, kudos.message
        if story.sender == REPORT:
            assert sender.manager_id == recipients[0].id, kudos.message
        if story.sender == MANAGER:
            assert all(person.manager_id == sender.id for person in recipients), kudos.message
        if story.from_teams:
            assert sender.team.name in story.from_teams, kudos.message
        # ...and tagged with the values it is about.
        slugs = {value.slug for value in kudos.values}
        assert story.values[0] in slugs, kudos.message
        assert slugs <= set(story.values), kudos.message
    assert len(told) >= 0.9 * len(STORIES), "the demo tells (nearly) every story"
    assert any(len(kudos.recipients) > 1 for kudos in kudos_list)


@pytest.mark.parametrize(
    "now",
    [
        datetime(2026, 12, 1, 0, 20, tzinfo=ZONE),  # 20 minutes into the month, in Berlin
        datetime(2027, 3, 1, 0, 0, 30, tzinfo=ZONE),  # 30 seconds into it
        datetime(2026, 11, 20, 15, 30, tzinfo=ZONE),
    ],
    ids=["first-of-month", "first-seconds", "mid-month"],
)
def test_the_newest_demo_kudos_fill_this_month_even_on_its_first_day(app, session, now):
    from kudos.demo.data import RECENT
    from kudos.leaderboard.services import standings
    from kudos.summary.services import build_summary

    load_demo(session, now=now.astimezone(UTC), zone=ZONE)
    session.commit()
    month = Month.containing(now, ZONE)
    start, _ = month.bounds(ZONE)

    this_month = session.scalars(select(Kudos).where(Kudos.created_at >= start)).all()
    assert len(this_month) >= RECENT
    assert max(kudos.created_at for kudos in this_month) <= now, "nothing in the future"
    managers = session.scalars(
        select(Person).where(Person.name.in_(["Priya Raman", "Grace Liu", "Marcus Reid"]))
    ).all()
    for manager in managers:
        summary = build_summary(session, manager, month, now=now, zone=ZONE)
        assert summary.totals.received > 0, f"{manager.name}'s summary of {month} is empty"
    with app.app_context():
        for board in ("given", "received"):
            assert standings(session, board, month).entries, f"the {board} board is empty"
