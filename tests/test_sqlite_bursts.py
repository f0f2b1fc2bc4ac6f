"""SQLite, the embedded default, holds a small team's bursts: a real threaded
server on a SQLite file, real threads, real HTTP. Collected only for the
SQLite run (conftest.py): it is about SQLite's own locking."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import requests
from alembic import command as alembic_command
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from werkzeug.serving import make_server

from kudos import create_app
from kudos.auth.sessions import SIGNED_IN_AT_KEY
from kudos.auth.tokens import create_token
from kudos.db import make_engine, utcnow
from kudos.migrate import alembic_config
from kudos.people.models import Person
from kudos.recognition.models import Kudos
from kudos.recognition.services import send_kudos
from tests.conftest import TEST_SECRET_KEY

PEOPLE = 30


@pytest.fixture
def server(tmp_path: Path) -> Iterator[dict]:
    """Kudos on a fresh SQLite file, served by werkzeug's threaded server;
    30 people, each with an API token, one welcome kudos each."""
    url = f"sqlite:///{tmp_path / 'burst.sqlite3'}"
    engine = make_engine(url)
    with engine.begin() as connection:
        alembic_command.upgrade(alembic_config(connection=connection), "head")
    with Session(engine) as session:
        people = [
            Person(
                name=f"Person {n}", email=f"p{n}@acme.example.com", onboarding_postponed_at=utcnow()
            )
            for n in range(PEOPLE + 1)
        ]
        session.add_all(people)
        session.flush()
        tokens = [create_token(session, person, "burst", now=utcnow())[1] for person in people]
        # Unseen kudos for everyone: each one's first page view writes (the celebration).
        send_kudos(
            session,
            people[0],
            [person.id for person in people[1:11]],
            [1],
            "Welcome!",
            "public",
            now=utcnow(),
            zone=ZoneInfo("UTC"),
            daily_limit=100,
        )
        session.commit()
        ids = [person.id for person in people]
        sessions = [person.get_id() for person in people]
    engine.dispose()
    app = create_app(
        {"SECRET_KEY": TEST_SECRET_KEY, "DATABASE_URL": url, "BASE_URL": "http://127.0.0.1"}
    )
    app.config.update(SESSION_COOKIE_SECURE=False)
    http = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=http.serve_forever, daemon=True)
    thread.start()
    serializer = app.session_interface.get_signing_serializer(app)
    try:
        yield {
            "base": f"http://127.0.0.1:{http.port}",
            "url": url,
            "ids": ids,
            "tokens": tokens,
            "cookies": [
                serializer.dumps(
                    {"_user_id": sid, "_fresh": True, SIGNED_IN_AT_KEY: int(utcnow().timestamp())}
                )
                for sid in sessions
            ],
        }
    finally:
        http.shutdown()
        thread.join(timeout=10)
        http.server_close()
        app.extensions["kudos.db"].kw["bind"].dispose()


def in_parallel(calls: list) -> list[int]:
    start = threading.Barrier(len(calls))

    def run(call):  # noqa: ANN001, ANN202
        start.wait()
        return call().status_code

    with ThreadPoolExecutor(len(calls)) as pool:
        return list(pool.map(run, calls))


def kudos_count(url: str) -> int:
    engine = make_engine(url)
    with engine.connect() as connection:
        count = connection.scalar(select(func.count()).select_from(Kudos))
    engine.dispose()
    return count


def test_thirty_people_sending_at_once_all_succeed(server):
    def send(n: int):  # noqa: ANN202
        return lambda: requests.post(
            server["base"] + "/api/v1/kudos",
            json={"recipients": [server["ids"][0]], "values": ["caring"], "message": f"#{n}"},
            headers={"Authorization": f"Bearer {server['tokens'][n]}"},
            timeout=60,
        )

    statuses = in_parallel([send(n) for n in range(1, PEOPLE + 1)])

    assert Counter(statuses) == {201: PEOPLE}
    assert kudos_count(server["url"]) == 1 + PEOPLE


def test_one_person_sending_past_the_daily_limit_at_once_gets_exactly_the_limit(server):
    def send(n: int):  # noqa: ANN202
        return lambda: requests.post(
            server["base"] + "/api/v1/kudos",
            json={"recipients": [server["ids"][1]], "values": ["caring"], "message": f"#{n}"},
            headers={"Authorization": f"Bearer {server['tokens'][2]}"},
            timeout=60,
        )

    statuses = in_parallel([send(n) for n in range(25)])

    assert Counter(statuses) == {201: 20, 429: 5}
    assert kudos_count(server["url"]) == 1 + 20


def test_page_views_just_after_sign_in_never_get_a_503(server):
    def view(n: int, path: str):  # noqa: ANN202
        return lambda: requests.get(
            server["base"] + path,
            cookies={"session": server["cookies"][n]},
            allow_redirects=False,
            timeout=60,
        )

    paths = ["/", "/leaderboard", f"/people/{server['ids'][1]}"]
    calls = [view(n % 11 or 1, paths[n % 3]) for n in range(PEOPLE)]

    statuses = in_parallel(calls)

    assert Counter(statuses) == {200: PEOPLE}
