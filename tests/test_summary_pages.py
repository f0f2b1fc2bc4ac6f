"""The summary page, its CSV and its API: who may see them, bad parameters,
what they show, CSV formula injection, and how they reuse the summary until
the data changes (never stale, never somebody else's, at most a minute old for
the month in progress)."""

from __future__ import annotations

import csv
import io
import time
from contextlib import contextmanager
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from flask import template_rendered
from sqlalchemy import event

from kudos.auth.tokens import create_token
from kudos.db import utcnow
from kudos.preferences.models import RecognitionPreference
from kudos.recognition.services import hide_kudos
from kudos.summary.export import CSV_COLUMNS, neutralise
from kudos.timeutil import Month
from tests.conftest import sign_in

ZONE = ZoneInfo("UTC")
NOW = utcnow()
THIS_MONTH = Month.containing(NOW, ZONE)
PAGE, CSV_URL, API = "/manager/summary", "/manager/summary.csv", "/api/v1/manager/summary"


@pytest.fixture
def org(make, session):
    sales = make.department("Sales")
    maya = make.person(name="Maya Manager")
    sam = make.person(name="Sam Report", manager=maya)
    tom = make.person(name="Tom Report", manager=maya)
    stranger = make.person(name="Una Related", department=sales)
    admin = make.person(name="Ada Admin", admin_granted=True)
    other_manager = make.person(name="Otto Other")
    make.person(name="Olga Otto's", manager=other_manager)
    make.kudos(stranger, [tom], message="Thanks for the demo!", values=["mentor"])
    return {
        "maya": maya,
        "sam": sam,
        "tom": tom,
        "stranger": stranger,
        "admin": admin,
        "other_manager": other_manager,
    }


def token_for(session, person):
    _, raw = create_token(session, person, "test", now=utcnow())
    session.commit()
    return {"Authorization": f"Bearer {raw}"}


# Who may see it -------------------------------------------------------------------

VIEWERS = {
    # viewer, ?manager=..., expected status
    "the manager": ("maya", None, 200),
    "the manager, naming themself": ("maya", "maya", 200),
    "an admin, any manager": ("admin", "maya", 200),
    "an admin, their own (no reports)": ("admin", None, 200),
    "a report": ("sam", None, 403),
    "a report, naming their manager": ("sam", "maya", 403),
    "an unrelated person": ("stranger", None, 403),
    "an unrelated person, naming a manager": ("stranger", "maya", 403),
    "another manager, naming a manager": ("other_manager", "maya", 403),
}


@pytest.mark.parametrize("case", list(VIEWERS))
@pytest.mark.parametrize("url", [PAGE, CSV_URL])
def test_page_and_csv_access(client, org, case, url):
    viewer, manager, status = VIEWERS[case]
    sign_in(client, org[viewer])
    query = {"manager": str(org[manager].id)} if manager else {}

    response = client.get(url, query_string=query)

    assert response.status_code == status
    if status == 403:
        assert "Tom Report" not in response.get_data(as_text=True)


@pytest.mark.parametrize("case", list(VIEWERS))
def test_api_access(client, session, org, case):
    viewer, manager, status = VIEWERS[case]
    query = {"manager": str(org[manager].id)} if manager else {}

    response = client.get(API, query_string=query, headers=token_for(session, org[viewer]))

    assert response.status_code == status
    if status == 403:
        assert response.json["error"]["code"] == "forbidden"
    elif viewer != "admin" or manager:
        assert {person["name"] for person in response.json["people"]} == {
            "Sam Report",
            "Tom Report",
        }


@pytest.mark.parametrize("url", [PAGE, CSV_URL])
def test_signed_out_visitors_are_sent_to_sign_in(client, org, url):
    response = client.get(url)

    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login")


def test_the_api_needs_a_token(client, org):
    response = client.get(API)

    assert response.status_code == 401
    assert response.json["error"]["code"] == "unauthorized"


def test_an_admin_asking_for_nobody_gets_404(client, session, org):
    sign_in(client, org["admin"])

    assert client.get(PAGE, query_string={"manager": "2147483647"}).status_code == 404
    assert client.get(CSV_URL, query_string={"manager": "2147483647"}).status_code == 404
    api = client.get(
        API, query_string={"manager": "2147483647"}, headers=token_for(session, org["admin"])
    )
    assert api.status_code == 404


BAD_PARAMETERS = [
    {"month": "2026-13"},
    {"month": "October"},
    {"month": "1969-12"},
    {"manager": "abc"},
    {"manager": "-1"},
    {"manager": "99999999999999999999"},
    {"manager": "٣"},  # an Arabic-Indic digit: isdigit() but not an id
    {"indirect": "maybe"},
]


@pytest.mark.parametrize("args", BAD_PARAMETERS)
def test_bad_parameters_are_a_clear_400_page(client, org, args):
    sign_in(client, org["maya"])

    for url in (PAGE, CSV_URL):
        response = client.get(url, query_string=args)
        assert response.status_code == 400
        assert "Error 400" in response.get_data(as_text=True)


@pytest.mark.parametrize(
    "args", [*BAD_PARAMETERS, {"indirect": ""}, {"indirect": "yes"}, {"manager": ""}]
)
def test_bad_parameters_are_a_422_in_the_api(client, session, org, args):
    response = client.get(API, query_string=args, headers=token_for(session, org["maya"]))

    assert response.status_code == 422
    assert set(response.json["error"]["fields"]) == set(args)


# What the page shows ----------------------------------------------------------------


def test_the_page_shows_people_flags_preferences_charts_and_actions(client, make, session, org):
    sam = org["sam"]
    session.add(
        RecognitionPreference(
            person=sam, audience="private", style="celebratory", best_way_to_thank="Tea & cake"
        )
    )
    session.commit()
    make.kudos(org["stranger"], [sam], at=NOW - timedelta(days=70))
    sign_in(client, org["maya"])

    page = client.get(PAGE).get_data(as_text=True)

    assert "Team summary" in page  # the nav link
    assert "Sam Report" in page
    assert "Tom Report" in page
    assert "Thanks for the demo!" in page  # a quote
    assert "Tea &amp; cake" in page
    assert '<svg class="chart chart--trend"' in page
    assert 'role="img"' in page
    assert '<svg class="chart chart--values"' in page
    assert "Mentor: 1" in page  # the chart's description reads the numbers
    assert "none in 70 days" in page or "none in 69 days" in page
    assert "Sam prefers private notes and likes air horns and balloons" in page
    assert "Sales" in page  # an internal customer
    assert f'href="/manager/summary?month={THIS_MONTH.previous()}"' in page


def test_month_navigation_and_indirect_reports(client, make, org):
    deep = make.person(name="Deep Indirect", manager=org["sam"])
    sign_in(client, org["maya"])

    past = client.get(PAGE, query_string={"month": "2026-01", "indirect": "true"})

    text = past.get_data(as_text=True)
    assert past.status_code == 200
    assert "January 2026" in text
    assert deep.name in text
    assert 'href="/manager/summary?month=2026-02&amp;indirect=true"' in text
    assert deep.name not in client.get(PAGE).get_data(as_text=True)


def test_an_admin_without_reports_sees_a_helpful_empty_state(client, org):
    sign_in(client, org["admin"])

    page = client.get(PAGE).get_data(as_text=True)

    assert "No one reports to you yet" in page
    assert "Maya Manager" in page  # managers to pick from
    assert f"/manager/summary?manager={org['maya'].id}" in page


def test_someone_without_reports_is_told_why(client, org):
    sign_in(client, org["sam"])

    response = client.get(PAGE)

    assert response.status_code == 403
    assert "The team summary is for managers" in response.get_data(as_text=True)


def test_the_nav_link_is_only_for_managers_and_admins(client, org):
    for person, shown in (("maya", True), ("admin", True), ("sam", False), ("stranger", False)):
        sign_in(client, org[person])
        page = client.get("/leaderboard").get_data(as_text=True)
        assert ('href="/manager/summary"' in page) is shown, person


# CSV ----------------------------------------------------------------------------------


def test_csv_download(client, org):
    sign_in(client, org["maya"])

    response = client.get(CSV_URL, query_string={"month": str(THIS_MONTH)})

    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert (
        response.headers["Content-Disposition"]
        == f'attachment; filename="team-summary-{THIS_MONTH}.csv"'
    )
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    assert list(rows[0]) == list(CSV_COLUMNS)
    by_name = {row["name"]: row for row in rows}
    assert set(by_name) == {"Sam Report", "Tom Report"}
    tom = by_name["Tom Report"]
    assert (tom["received"], tom["given"], tom["values_received"]) == ("1", "0", "Mentor: 1")
    assert tom["quotes"] == "Una Related: Thanks for the demo!"
    assert tom["none_this_month"] == "no"
    assert by_name["Sam Report"]["none_in_60_days"] == "yes"


def test_csv_cells_never_run_as_formulas(client, make, session, org):
    evil = make.person(name='=HYPERLINK("http://evil.example","x")', manager=org["maya"])
    session.add(RecognitionPreference(person=evil, best_way_to_thank="@SUM(1+1)"))
    session.commit()
    make.kudos(org["stranger"], [evil], message="+cmd|' /C calc'!A0")
    make.kudos(org["stranger"], [org["sam"]], message="-2+3")
    sign_in(client, org["maya"])

    text = client.get(CSV_URL).get_data(as_text=True)

    rows = list(csv.reader(io.StringIO(text)))
    cells = [cell for row in rows[1:] for cell in row]
    assert not [cell for cell in cells if cell[:1] in ("=", "+", "-", "@", "\t", "\r")]
    assert '\'=HYPERLINK("http://evil.example","x")' in cells
    assert "'@SUM(1+1)" in cells
    # A quote cell starts with the sender's name; a message that starts the cell is neutralised.
    assert neutralise("+cmd") == "'+cmd"
    assert neutralise("\tx") == "'\tx"
    assert neutralise("\rx") == "'\rx"
    assert neutralise("-2") == "'-2"
    assert neutralise(None) == ""
    assert neutralise(12) == "12"


# The API ---------------------------------------------------------------------------------


def test_the_api_answers_the_whole_summary(client, session, org):
    response = client.get(
        API,
        query_string={"month": str(THIS_MONTH), "indirect": "false"},
        headers=token_for(session, org["maya"]),
    )

    body = response.json
    assert response.status_code == 200
    assert body["month"] == str(THIS_MONTH)
    assert body["manager"] == {"id": org["maya"].id, "name": "Maya Manager"}
    assert body["totals"]["received"] == 1
    assert len(body["trend"]) == 6
    tom = next(person for person in body["people"] if person["name"] == "Tom Report")
    assert tom["quotes"][0]["message"] == "Thanks for the demo!"
    assert tom["values"] == [
        {"slug": "mentor", "name": "Mentor", "emoji": tom["values"][0]["emoji"], "count": 1}
    ]
    assert body["internal_customers"]["thanked_the_team"] == [
        {"department_id": org["stranger"].department_id, "name": "Sales", "count": 1}
    ]
    assert body["manager_part"]["share_received"] == 0.5


def test_private_quotes_in_the_api_follow_visibility(client, make, session, org):
    session.add(RecognitionPreference(person=org["sam"], audience="private"))
    session.commit()
    make.kudos(org["stranger"], [org["sam"]], message="Private thanks", at=datetime.now(NOW.tzinfo))

    as_manager = client.get(API, headers=token_for(session, org["maya"])).json
    as_admin = client.get(
        API,
        query_string={"manager": org["maya"].id},
        headers=token_for(session, org["admin"]),
    ).json

    def quotes(body):
        sam = next(person for person in body["people"] if person["name"] == "Sam Report")
        return [quote["message"] for quote in sam["quotes"]]

    assert quotes(as_manager) == ["Private thanks"]
    assert quotes(as_admin) == []


# Reused until the data changes --------------------------------------------------

# Words only build_summary's statements hold: the favourite values, the
# month's recognitions on both sides, the quotes and the trend's buckets.
SUMMARY_SQL = ("favourite_value", "AS recognitions", "AS ranked", "AS bucket")


@contextmanager
def recorded(app):
    """The SQL statements sent, and the templates rendered, inside the block."""
    statements: list[str] = []
    templates: list[str] = []
    with app.app_context():
        engine = app.extensions["kudos.db"].kw["bind"]

    def on_statement(_conn, _cursor, statement, *_args) -> None:  # noqa: ANN001
        statements.append(statement)

    def on_render(_app, template, **_extra) -> None:  # noqa: ANN001, ANN003
        templates.append(template.name)

    event.listen(engine, "before_cursor_execute", on_statement)
    template_rendered.connect(on_render, app)
    try:
        yield statements, templates
    finally:
        event.remove(engine, "before_cursor_execute", on_statement)
        template_rendered.disconnect(on_render, app)


def summary_sql(statements: list[str]) -> list[str]:
    return [sql for sql in statements if any(word in sql for word in SUMMARY_SQL)]


def page(client, **query) -> str:
    response = client.get(PAGE, query_string=query)
    assert response.status_code == 200
    return response.get_data(as_text=True)


def quotes_of(body: dict, name: str) -> list[str]:
    person = next(person for person in body["people"] if person["name"] == name)
    return [quote["message"] for quote in person["quotes"]]


@pytest.mark.parametrize("month", [None, "previous"])
def test_a_second_view_runs_no_summary_sql_and_renders_no_report(app, client, org, month):
    sign_in(client, org["maya"])
    query = {"month": str(Month.containing(utcnow(), ZONE).previous())} if month else {}
    if month is None and (left := 60 - utcnow().second) < 5:
        # The month in progress is made again each minute (summary_clock):
        # both views must fall within one minute.
        time.sleep(left)
    with recorded(app) as (first_sql, first_templates):
        first = page(client, **query)
    assert summary_sql(first_sql), "the markers must match the summary's statements"
    assert "summary/_report.html" in first_templates

    with recorded(app) as (statements, templates):
        second = page(client, **query)

    assert summary_sql(statements) == []
    assert "summary/_report.html" not in templates
    assert second == first


def test_the_csv_and_the_api_reuse_the_pages_summary(app, client, session, org):
    headers = token_for(session, org["maya"])
    sign_in(client, org["maya"])
    page(client)

    with recorded(app) as (statements, _):
        csv_text = client.get(CSV_URL).get_data(as_text=True)
        body = client.get(API, headers=headers).json

    assert summary_sql(statements) == []
    assert "Thanks for the demo!" in csv_text
    assert quotes_of(body, "Tom Report") == ["Thanks for the demo!"]


# Never stale ----------------------------------------------------------------------------


def test_every_change_the_summary_shows_appears_at_once(client, make, session, org):
    maya, sam, tom, stranger = org["maya"], org["sam"], org["tom"], org["stranger"]
    sign_in(client, maya)
    assert "Thanks for the demo!" in page(client)

    # A new kudos to a report
    kudos = make.kudos(stranger, [sam], message="Great pairing session")
    assert "Great pairing session" in page(client)

    # Hidden by a moderator
    hide_kudos(session, org["admin"], kudos, "Off topic", now=utcnow(), zone=ZONE)
    session.commit()
    assert "Great pairing session" not in page(client)

    # A report tells how they like to be thanked, then changes their mind
    preference = RecognitionPreference(person=sam, best_way_to_thank="Tea and cake")
    session.add(preference)
    session.commit()
    assert "Tea and cake" in page(client)
    preference.best_way_to_thank = "A walk in the park"
    session.commit()
    text = page(client)
    assert "A walk in the park" in text
    assert "Tea and cake" not in text

    # A new name from the directory
    tom.name = "Tom Renamed"
    session.commit()
    text = page(client)
    assert "Tom Renamed" in text
    assert "Tom Report" not in text

    # A new report
    make.person(name="Nia Newcomer", manager=maya)
    assert "Nia Newcomer" in page(client)

    # A report leaves the company
    sam.active = False
    session.commit()
    assert "Sam Report" not in page(client)
    assert "Sam Report" not in client.get(CSV_URL).get_data(as_text=True)


def test_the_api_sees_a_change_made_after_the_page_was_cached(client, make, session, org):
    headers = token_for(session, org["maya"])
    sign_in(client, org["maya"])
    page(client)
    assert quotes_of(client.get(API, headers=headers).json, "Sam Report") == []

    make.kudos(org["stranger"], [org["sam"]], message="Thanks for the review")

    assert quotes_of(client.get(API, headers=headers).json, "Sam Report") == [
        "Thanks for the review"
    ]


# Never somebody else's ----------------------------------------------------------------------


@pytest.fixture
def private_kudos(make, session, org):
    """A private kudos to Sam: his manager may see it, an unrelated admin not."""
    session.add(RecognitionPreference(person=org["sam"], audience="private"))
    session.commit()
    return make.kudos(org["stranger"], [org["sam"]], message="Private thanks")


@pytest.mark.parametrize("first", ["admin", "maya"])
def test_each_viewer_sees_their_own_quotes_whoever_looked_first(
    client, session, org, private_kudos, first
):
    maya_args = {"manager": str(org["maya"].id)}
    views = {"admin": (org["admin"], maya_args), "maya": (org["maya"], {})}
    expected = {"admin": False, "maya": True}
    headers = {name: token_for(session, person) for name, (person, _) in views.items()}

    for name in (first, *(other for other in views if other != first), first):
        person, args = views[name]
        sign_in(client, person)
        assert ("Private thanks" in page(client, **args)) is expected[name], name
        body = client.get(API, query_string=args, headers=headers[name]).json
        assert ("Private thanks" in quotes_of(body, "Sam Report")) is expected[name], name


@pytest.mark.parametrize(
    ("viewer", "manager"),
    [("sam", None), ("sam", "maya"), ("stranger", "maya"), ("other_manager", "maya")],
)
def test_a_cached_summary_is_still_refused_to_others(client, session, org, viewer, manager):
    sign_in(client, org["maya"])
    page(client)
    client.get(CSV_URL)
    query = {"manager": str(org[manager].id)} if manager else {}

    sign_in(client, org[viewer])
    for url in (PAGE, CSV_URL):
        response = client.get(url, query_string=query)
        assert response.status_code == 403
        assert "Thanks for the demo!" not in response.get_data(as_text=True)
    api = client.get(API, query_string=query, headers=token_for(session, org[viewer]))
    assert api.status_code == 403


def test_an_admin_and_the_manager_see_their_own_headings(client, org):
    sign_in(client, org["admin"])
    as_admin = page(client, manager=str(org["maya"].id))
    sign_in(client, org["maya"])
    as_maya = page(client)

    assert "Team summary · <bdi>Maya Manager</bdi>" in as_admin
    assert "Recognised by Maya" in as_admin
    assert "Team summary · <bdi>Maya Manager</bdi>" not in as_maya
    assert "Recognised by you" in as_maya


# The month in progress ----------------------------------------------------------------------


@pytest.fixture
def clock(monkeypatch):
    """The summary views' clock, set by the test."""
    now = [utcnow()]
    monkeypatch.setattr("kudos.summary.views.utcnow", lambda: now[0])
    monkeypatch.setattr("kudos.api.views.utcnow", lambda: now[0])
    return now


def test_the_month_in_progress_is_at_most_a_minute_old(app, client, make, org, clock):
    """Sam was last thanked exactly 60 days before minute ``turn``: "none in
    60 days" appears once the clock reaches that minute, not before."""
    start, _ = Month.containing(utcnow(), ZONE).bounds(ZONE)
    turn = start + timedelta(days=15, hours=12)  # a minute well inside the month
    make.kudos(org["stranger"], [org["sam"]], message="Long ago", at=turn - timedelta(days=60))
    sign_in(client, org["maya"])

    clock[0] = turn - timedelta(seconds=50)
    assert "none in 60 days" not in page(client)
    clock[0] = turn - timedelta(seconds=10)  # the same minute: reused
    with recorded(app) as (statements, _):
        assert "none in 60 days" not in page(client)
    assert summary_sql(statements) == []

    clock[0] = turn + timedelta(seconds=10)  # the next minute: counted again
    with recorded(app) as (statements, _):
        assert "none in 60 days" in page(client)
    assert summary_sql(statements)


def test_a_past_month_does_not_depend_on_the_clock(app, client, org, clock):
    previous = Month.containing(utcnow(), ZONE).previous()
    sign_in(client, org["maya"])
    first = page(client, month=str(previous))

    clock[0] = utcnow() + timedelta(hours=5)
    with recorded(app) as (statements, _):
        later = page(client, month=str(previous))

    assert summary_sql(statements) == []
    assert later == first


def test_a_month_still_to_come_has_no_summary_until_it_begins(client, session, org, clock):
    """A month still to come is refused (it has not started); from its first
    minute it is the month in progress, whose "days since last recognised"
    looks back from now."""
    next_month = Month.containing(utcnow(), ZONE).next()
    begins, _ = next_month.bounds(ZONE)
    headers = token_for(session, org["maya"])

    def answer():  # noqa: ANN202
        return client.get(API, query_string={"month": str(next_month)}, headers=headers)

    clock[0] = begins - timedelta(minutes=1)
    assert answer().status_code == 422
    assert answer().json["error"]["code"] == "month_not_started"

    def days_since_tom_was_thanked() -> int:
        tom = next(person for person in answer().json["people"] if person["name"] == "Tom Report")
        return tom["days_since_recognised"]

    clock[0] = begins
    before = days_since_tom_was_thanked()
    clock[0] += timedelta(days=2)

    assert days_since_tom_was_thanked() == before + 2
