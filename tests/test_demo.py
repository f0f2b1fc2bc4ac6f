"""The demo organisation and `kudos demo`."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import create_engine, func, select

from kudos.demo.data import DOMAIN, load_demo
from kudos.people.models import Department, Person, Team
from kudos.preferences.models import RecognitionPreference
from kudos.recognition.models import Kudos, Recognition, Value, kudos_value

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
