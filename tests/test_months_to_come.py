"""Months that have not begun in the company's time zone get a clear "this
month hasn't started" on the leaderboard, the team summary, the reciprocity
page and the API (422, code ``month_not_started``), not an empty board that
invites you to be first. Past months with nothing say so.

The clocks sit where UTC and the company disagree about the month: early
on 1 March in Auckland (still February in UTC), and the evening of 28
February in Los Angeles (already March in UTC)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from html import unescape
from zoneinfo import ZoneInfo

import pytest

from kudos.auth.tokens import create_token
from kudos.db import utcnow
from kudos.timeutil import Month
from tests.conftest import sign_in

CLOCKS = ("leaderboard", "summary", "api", "admin")


@dataclass(frozen=True)
class Boundary:
    zone: str
    now: datetime  # UTC
    current: str  # the month in progress there
    to_come: str  # the next one, already begun in UTC or not
    to_come_name: str


BOUNDARIES = [
    # 01:00 on 1 March in Auckland (UTC+13): UTC is still in February.
    Boundary(
        "Pacific/Auckland", datetime(2026, 2, 28, 12, 0, tzinfo=UTC), "2026-03", "2026-04", "April"
    ),
    # 19:00 on 28 February in Los Angeles (UTC-8): UTC is in March already.
    Boundary(
        "America/Los_Angeles", datetime(2026, 3, 1, 3, 0, tzinfo=UTC), "2026-02", "2026-03", "March"
    ),
]


@pytest.fixture(params=BOUNDARIES, ids=[b.zone for b in BOUNDARIES])
def boundary(request) -> Boundary:
    return request.param


@pytest.fixture
def app_overrides(boundary):
    return {"TIMEZONE": boundary.zone}


@pytest.fixture
def clock(monkeypatch, boundary) -> list[datetime]:
    """Every monthly page's and the API's clock, set by the test."""
    now = [boundary.now]
    for name in CLOCKS:
        monkeypatch.setattr(f"kudos.{name}.views.utcnow", lambda: now[0])
    return now


@pytest.fixture
def org(make, session):
    maya = make.person(name="Maya Manager")
    return {
        "maya": maya,
        "sam": make.person(name="Sam Report", manager=maya),
        "admin": make.person(name="Ada Admin", admin_granted=True),
    }


def token_for(session, person) -> dict[str, str]:
    _, raw = create_token(session, person, "test", now=utcnow())
    session.commit()
    return {"Authorization": f"Bearer {raw}"}


def page(client, url: str) -> str:
    response = client.get(url)
    assert response.status_code == 200, url
    return unescape(response.get_data(as_text=True))


def not_started_sentence(boundary: Boundary) -> str:
    name = f"{boundary.to_come_name} {boundary.to_come[:4]}"
    return (
        f"{name} hasn't started yet: it begins on 1 {name} "
        f"in the company's time zone ({boundary.zone})."
    )


# Pages --------------------------------------------------------------------------------


def test_the_leaderboard_of_a_month_to_come_says_it_has_not_started(client, org, boundary, clock):
    sign_in(client, org["sam"])

    board = page(client, f"/leaderboard?month={boundary.to_come}")

    assert "This month hasn't started" in board
    assert not_started_sentence(boundary) in board
    assert "be the first" not in board
    assert "Nobody yet" not in board
    assert 'class="panel board"' not in board

    current = page(client, f"/leaderboard?month={boundary.current}")
    assert "month to date" in current
    assert "hasn't started" not in current
    assert current.count("and be the first") == 2  # the month in progress may invite


def test_the_summary_of_a_month_to_come_says_it_has_not_started(client, org, boundary, clock):
    sign_in(client, org["maya"])

    summary = page(client, f"/manager/summary?month={boundary.to_come}")

    assert "This month hasn't started" in summary
    assert not_started_sentence(boundary) in summary
    assert "Download CSV" not in summary
    assert "Sam Report" not in summary

    csv = client.get(f"/manager/summary.csv?month={boundary.to_come}")
    assert csv.status_code == 422
    assert not_started_sentence(boundary) in unescape(csv.get_data(as_text=True))

    current = page(client, f"/manager/summary?month={boundary.current}")
    assert "hasn't started" not in current
    assert "Sam Report" in current


def test_the_summary_checks_access_before_the_month(client, org, boundary, clock):
    sign_in(client, org["sam"])  # not a manager

    assert client.get(f"/manager/summary?month={boundary.to_come}").status_code == 403


def test_reciprocity_of_a_month_to_come_says_it_has_not_started(client, org, boundary, clock):
    sign_in(client, org["admin"])

    answer = page(client, f"/admin/reciprocity?month={boundary.to_come}")

    assert "This month hasn't started" in answer
    assert not_started_sentence(boundary) in answer
    assert "Nothing stands out" not in answer

    current = page(client, f"/admin/reciprocity?month={boundary.current}")
    assert "hasn't started" not in current
    assert "Nothing stands out this month so far." in current
    assert f"?month={boundary.to_come}" not in current  # no link to the month to come


# The API ------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/api/v1/leaderboard", "/api/v1/manager/summary"])
def test_the_api_refuses_a_month_to_come_with_a_clear_422(
    client, session, org, boundary, clock, path
):
    headers = token_for(session, org["maya"])

    answer = client.get(path, query_string={"month": boundary.to_come}, headers=headers)

    assert answer.status_code == 422
    error = answer.json["error"]
    assert error["code"] == "month_not_started"
    assert error["message"] == not_started_sentence(boundary)
    assert error["fields"] == {"month": not_started_sentence(boundary)}

    current = client.get(path, query_string={"month": boundary.current}, headers=headers)
    assert current.status_code == 200
    assert current.json["month"] == boundary.current


def test_a_month_begins_at_midnight_in_the_companys_zone(client, session, org, boundary, clock):
    zone = ZoneInfo(boundary.zone)
    begins, _ = Month.parse(boundary.to_come).bounds(zone)
    headers = token_for(session, org["sam"])

    def status() -> int:
        query = {"month": boundary.to_come}
        return client.get("/api/v1/leaderboard", query_string=query, headers=headers).status_code

    clock[0] = begins - timedelta(microseconds=1)
    assert status() == 422
    clock[0] = begins
    assert status() == 200


def test_the_openapi_document_names_the_month_not_started_answer(client):
    paths = client.get("/api/v1/openapi.json").json["paths"]

    for path in ("/leaderboard", "/manager/summary"):
        assert "month_not_started" in paths[path]["get"]["responses"]["422"]["description"]


# Past months with nothing --------------------------------------------------------------


def test_past_months_with_nothing_say_nothing_was_recognised(client, make, org, boundary, clock):
    past = Month.parse(boundary.current).previous()
    sign_in(client, org["maya"])

    board = page(client, f"/leaderboard?month={past}")
    assert board.count("Nothing was recognised this month.") == 2
    assert "be the first" not in board

    summary = page(client, f"/manager/summary?month={past}")
    assert "Nothing was recognised this month" in summary
    assert "Sam Report" in summary  # the team, with its zeros

    sign_in(client, org["admin"])
    assert "Nothing was recognised this month." in page(client, f"/admin/reciprocity?month={past}")


def test_a_past_month_with_kudos_says_what_it_had(client, make, org, boundary, clock):
    zone = ZoneInfo(boundary.zone)
    past = Month.parse(boundary.current).previous()
    start, _ = past.bounds(zone)
    make.kudos(org["maya"], [org["sam"]], at=start + timedelta(days=2))
    sign_in(client, org["maya"])

    board = page(client, f"/leaderboard?month={past}")
    assert "Nothing was recognised" not in board
    assert "Sam Report" in board

    assert "Nothing was recognised" not in page(client, f"/manager/summary?month={past}")

    sign_in(client, org["admin"])
    reciprocity = page(client, f"/admin/reciprocity?month={past}")
    assert "Nothing stands out this month." in reciprocity
    assert "Nothing was recognised" not in reciprocity
