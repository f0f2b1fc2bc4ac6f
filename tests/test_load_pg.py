"""The short version of bench/load.py: its workload at a tiny scale, in
process and without wrk, so that the benchmark cannot silently rot (a
cookie that lands on the sign-in page, a send the API refuses).

It needs a database of its own, seeded and committed, so it starts a
throwaway PostgreSQL, as the benchmark does.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from bench.workload import (
    Request,
    Workload,
    app_for,
    check_answer,
    page_requests,
    prepare,
    seeded,
    send_requests,
    statements_per_send,
)
from kudos.db import make_engine
from kudos.extensions import db
from tests.pgserver import throwaway_postgres

# A line as bench/requests.lua reads it.
LUA_LINE = re.compile(r"([A-Z]+)\t([^\t]*)\t([^\t:]+): ([^\t]*)\t(.*)")


@pytest.fixture(scope="module")
def company() -> Iterator[tuple[Flask, Workload]]:
    with throwaway_postgres() as url:
        seeded(url, users=60, kudos=400, months=2)
        app = app_for(url)
        engine = make_engine(url)
        with Session(engine) as session:
            workload = prepare(session, app, viewers=6, senders=6, managers=3)
        engine.dispose()
        yield app, workload
        db.engine(app).dispose()


def as_wrk(app: Flask) -> FlaskClient:
    """A client that sends only the request's own cookie and, like wrk, no
    User-Agent (part of the fingerprint the session cookie was made with)."""
    client = app.test_client(use_cookies=False)
    client.environ_base.pop("HTTP_USER_AGENT", None)
    return client


def answer(client: FlaskClient, request: Request) -> str | None:
    assert LUA_LINE.fullmatch(request.line())
    response = client.open(
        request.path, method=request.method, headers=request.headers(), data=request.body
    )
    sets_session = any(
        cookie.startswith("session=") for cookie in response.headers.getlist("Set-Cookie")
    )
    return check_answer(
        request, response.status_code, response.get_data(as_text=True), sets_session
    )


def test_rotating_cookies_are_different_people_each_shown_their_own_pages(company):
    app, workload = company
    client = as_wrk(app)
    requests = [
        *page_requests(workload.viewers, "/", "Company feed"),
        *page_requests(workload.viewers, "/leaderboard", "Top appreciators"),
        *page_requests(workload.managers, "/manager/summary", "Six-month trend"),
    ]

    assert len({person.person_id for person in workload.viewers}) == 6
    assert len({person.name for person in workload.viewers}) == 6
    assert len(workload.managers) == 3
    assert [answer(client, request) for request in requests] == [None] * len(requests)


def test_a_cookie_is_checked_against_the_person_it_should_greet(company):
    app, workload = company
    ada, grace = workload.viewers[:2]
    swapped = page_requests([ada], "/", "Company feed")[0]
    swapped = Request(swapped.method, swapped.path, swapped.header, signed_in_as=grace.name)

    assert answer(as_wrk(app), swapped) == f"/ is not signed in as {grace.name}"


def test_each_sender_of_the_send_workload_gets_a_201(company):
    app, workload = company
    client = as_wrk(app)
    first_round = send_requests(workload)[: len(workload.senders)]

    assert len({request.header for request in first_round}) == len(workload.senders)
    assert [answer(client, request) for request in first_round] == [None] * len(first_round)
    cost = statements_per_send(app, send_requests(workload, seed=23), runs=2)
    assert 0 < cost.statements <= 10  # the target of issue 13, reads around the session counted
