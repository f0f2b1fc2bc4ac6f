"""Leaderboards: one named example per rule, the page and the API."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest

from kudos.auth.tokens import create_token
from kudos.db import utcnow
from kudos.leaderboard.services import Filters, standings
from kudos.preferences.models import RecognitionPreference
from kudos.timeutil import Month
from tests.conftest import sign_in

NOVEMBER = datetime(2026, 11, 10, 12, tzinfo=UTC)
MONTH = Month(2026, 11)


def board(session, which, **filters):
    result = standings(session, which, MONTH, filters=Filters(**filters), limit=50)
    return [(entry.rank, entry.name, entry.score) for entry in result.entries]


@pytest.fixture
def people(make):
    return {name: make.person(name=name) for name in ("Ann", "Ben", "Cat", "Dan", "Eve")}


def test_a_kudos_to_three_people_is_three_recognitions(session, make, people):
    make.kudos(people["Ann"], [people["Ben"], people["Cat"], people["Dan"]], at=NOVEMBER)

    assert board(session, "given") == [(1, "Ann", 3)]
    # A tie keeps a fixed order: the newest person first.
    assert board(session, "received") == [(1, "Dan", 1), (1, "Cat", 1), (1, "Ben", 1)]


def test_at_most_three_per_pair_count_each_month(session, make, people):
    for day in range(5):
        make.kudos(people["Ann"], [people["Ben"]], at=NOVEMBER + timedelta(days=day))
    make.kudos(people["Cat"], [people["Ben"]], at=NOVEMBER)

    assert board(session, "received") == [(1, "Ben", 4)]
    assert board(session, "given") == [(1, "Ann", 3), (2, "Cat", 1)]


def test_a_kudos_past_the_cap_for_one_recipient_still_counts_for_the_next(session, make, people):
    ann, ben, cat = people["Ann"], people["Ben"], people["Cat"]
    for day in range(3):
        make.kudos(ann, [ben], at=NOVEMBER + timedelta(days=day))
    make.kudos(ann, [ben, cat], values=["caring"], at=NOVEMBER + timedelta(days=4))

    assert board(session, "received") == [(1, "Ben", 3), (2, "Cat", 1)]
    assert board(session, "given") == [(1, "Ann", 4)]
    caring = make.value("caring").id
    assert sorted(board(session, "received", value_id=caring)) == [(1, "Ben", 1), (1, "Cat", 1)]


def test_ties_share_a_rank_and_the_next_rank_skips(session, make, people):
    make.kudos(people["Ann"], [people["Ben"], people["Cat"]], at=NOVEMBER)
    make.kudos(people["Dan"], [people["Ben"], people["Cat"]], at=NOVEMBER)
    make.kudos(people["Eve"], [people["Dan"]], at=NOVEMBER)

    assert board(session, "received") == [(1, "Cat", 2), (1, "Ben", 2), (3, "Dan", 1)]


def test_hidden_kudos_and_inactive_people_never_count(session, make, people):
    from zoneinfo import ZoneInfo

    from kudos.leaderboard.rollups import people_changed
    from kudos.recognition.services import hide_kudos

    hidden = make.kudos(people["Ann"], [people["Ben"]], at=NOVEMBER)
    hide_kudos(session, people["Eve"], hidden, "Moderated", now=NOVEMBER, zone=ZoneInfo("UTC"))
    make.kudos(people["Cat"], [people["Dan"]], at=NOVEMBER)
    people["Cat"].active = False
    people_changed(session, [people["Cat"].id])
    make.kudos(people["Eve"], [people["Ann"]], at=NOVEMBER)
    session.commit()

    assert board(session, "given") == [(1, "Eve", 1)]
    assert board(session, "received") == [(1, "Ann", 1)]


def test_people_who_opted_out_are_not_listed_but_still_count_for_others(session, make, people):
    session.add(RecognitionPreference(person=people["Ann"], on_leaderboards=False))
    session.commit()
    make.kudos(people["Ann"], [people["Ben"]], at=NOVEMBER)

    assert board(session, "given") == []
    assert board(session, "received") == [(1, "Ben", 1)]


def test_month_edges_follow_the_organisations_time_zone(session, make, people):
    from zoneinfo import ZoneInfo

    from kudos.leaderboard.rollups import rebuild

    tokyo = ZoneInfo("Asia/Tokyo")
    start, end = Month(2026, 11).bounds(tokyo)
    make.kudos(people["Ann"], [people["Ben"]], at=start - timedelta(seconds=1))
    make.kudos(people["Cat"], [people["Ben"]], at=start)
    make.kudos(people["Dan"], [people["Ben"]], at=end - timedelta(seconds=1))
    make.kudos(people["Eve"], [people["Ben"]], at=end)
    rebuild(session, tokyo)  # the company moved to Tokyo time: kudos rollups rebuild

    result = standings(session, "given", Month(2026, 11), limit=10)

    assert sorted(entry.name for entry in result.entries) == ["Cat", "Dan"]


def test_filters_by_value_team_and_department(session, make, people):
    team, department = make.team("Platform"), make.department("Engineering")
    people["Ben"].team, people["Ben"].department = team, department
    session.commit()
    make.kudos(people["Ann"], [people["Ben"]], values=["mentor"], at=NOVEMBER)
    make.kudos(people["Ann"], [people["Cat"]], values=["caring"], at=NOVEMBER)

    mentor = make.value("mentor").id
    assert board(session, "received", value_id=mentor) == [(1, "Ben", 1)]
    assert board(session, "received", team_id=team.id) == [(1, "Ben", 1)]
    assert board(session, "received", department_id=department.id) == [(1, "Ben", 1)]
    assert board(session, "given", value_id=mentor) == [(1, "Ann", 1)]


def test_the_viewer_sees_their_own_line_outside_the_top(session, make, people):
    for giver in ("Ann", "Ben", "Cat"):
        make.kudos(people[giver], [people["Eve"]], at=NOVEMBER)
        make.kudos(people[giver], [people["Dan"]], at=NOVEMBER)
    make.kudos(people["Dan"], [people["Eve"]], at=NOVEMBER)

    result = standings(session, "given", MONTH, limit=2, viewer_id=people["Dan"].id)

    assert [entry.name for entry in result.entries] == ["Cat", "Ben"]
    assert (result.viewer.rank, result.viewer.score) == (4, 1)
    assert standings(session, "given", MONTH, limit=2).viewer is None


def test_the_viewers_rank_leaves_out_people_ahead_who_are_not_listed(session, make, people):
    """Ann (opted out) and Ben (left) gave more than Dan, and so did Cat:
    only Cat is ahead of Dan on the board. Another value's scores and
    another month's never count."""
    ann, ben, cat, dan, eve = (people[name] for name in ("Ann", "Ben", "Cat", "Dan", "Eve"))
    for giver, times in ((ann, 3), (ben, 3), (cat, 2)):
        for _ in range(times):
            make.kudos(giver, [eve], values=["caring"], at=NOVEMBER)
    make.kudos(dan, [eve], values=["caring"], at=NOVEMBER)
    for _ in range(3):  # October, and another value: ahead of Dan there, not here
        make.kudos(eve, [cat], values=["mentor"], at=NOVEMBER - timedelta(days=30))
        make.kudos(eve, [dan], values=["mentor"], at=NOVEMBER)
    session.add(RecognitionPreference(person=ann, on_leaderboards=False))
    ben.active = False
    session.commit()

    caring = make.value("caring").id
    for value_id in (None, caring):
        result = standings(
            session, "given", MONTH, filters=Filters(value_id=value_id), limit=1, viewer_id=dan.id
        )
        assert [entry.name for entry in result.entries] == (
            ["Eve"] if value_id is None else ["Cat"]
        )
        expected_rank = 3 if value_id is None else 2  # behind Eve (4) and Cat (2), or Cat alone
        assert (result.viewer.rank, result.viewer.person_id, result.viewer.name) == (
            expected_rank,
            dan.id,
            "Dan",
        )


# The page --------------------------------------------------------------------


@pytest.fixture
def current_month_kudos(make, people):
    make.kudos(people["Ann"], [people["Ben"]], message="This month", at=utcnow())


def test_the_page_shows_both_boards_givers_first(client, people, current_month_kudos):
    sign_in(client, people["Cat"])

    page = client.get("/leaderboard").get_data(as_text=True)

    assert page.index("Top appreciators") < page.index("Most appreciated")
    assert "month to date" in page
    assert "At most 3 recognitions from the same person" in page
    assert ">Ann<" in page
    assert ">Ben<" in page


def test_the_page_shows_my_line_when_i_am_outside_the_top(client, make, people):
    givers = [make.person(name=f"Giver {n:02}") for n in range(10)]
    for giver in givers:
        make.kudos(giver, [people["Ann"]])
        make.kudos(giver, [people["Ben"]])
    make.kudos(people["Cat"], [people["Ann"]])
    sign_in(client, people["Cat"])

    page = client.get("/leaderboard").get_data(as_text=True)

    assert "You: rank 11, with 1." in page


def test_past_months_stay_browsable_and_the_next_link_stops_at_now(client, people):
    sign_in(client, people["Cat"])

    page = client.get("/leaderboard?month=2025-01").get_data(as_text=True)

    assert "January 2025" in page
    assert "month to date" not in page
    assert "February 2025 →" in page
    assert "← December 2024" in page
    assert page.count("Nothing was recognised this month.") == 2  # not "be the first"
    assert "Nobody yet" not in page


def test_the_chosen_filters_stay_selected(client, make, people):
    make.team("Platform"), make.team("Payroll"), make.department("Finance")
    sign_in(client, people["Cat"])

    # The filters panel is kept per month and filters: the unfiltered one,
    # made first, is not shown for another choice.
    assert not re.findall(r'" selected', client.get("/leaderboard").get_data(as_text=True))
    page = client.get("/leaderboard?team=payroll&department=finance&value=mentor")

    html = page.get_data(as_text=True)
    selected = re.findall(r'<option value="([^"]*)" selected', html)
    assert sorted(selected) == ["finance", "mentor"]
    assert re.search(r'<input type="search" name="team" value="Payroll"', html)


def test_the_page_filters_narrow_both_boards(client, session, make, people):
    team, department = make.team("Platform Tools"), make.department("Finance")
    people["Ben"].team = team
    people["Cat"].department = department
    session.commit()
    make.kudos(people["Ann"], [people["Ben"]], values=["mentor"])
    make.kudos(people["Dan"], [people["Cat"]], values=["caring"])
    sign_in(client, people["Eve"])

    def names(query: str) -> set[str]:
        page = client.get(f"/leaderboard?{query}").get_data(as_text=True)
        return {name for name in ("Ann", "Ben", "Cat", "Dan") if f">{name}<" in page}

    assert names("") == {"Ann", "Ben", "Cat", "Dan"}
    assert names("value=mentor") == {"Ann", "Ben"}
    assert names("team=platform-tools") == {"Ben"}  # the slug, as links carry it
    assert names("department=finance") == {"Cat"}


def test_the_filters_list_values_in_their_order_and_groups_by_name(client, make, people):
    for name in ("Zeta", "Alpha", "Mid"):
        make.team(f"{name} team"), make.department(f"{name} department")
    sign_in(client, people["Cat"])

    html = client.get("/leaderboard").get_data(as_text=True)

    def options(name: str) -> list[str]:
        select = re.search(rf'<select[^>]*name="{name}".*?</select>', html, re.S)
        return re.findall(r'<option value="([^"]+)"', select.group(0) if select else "")

    values = options("value")
    assert values[:3] == ["responsive", "caring", "competent"]  # the admins' order
    assert options("department") == ["alpha-department", "mid-department", "zeta-department"]
    # Each option says what it is: the value's emoji and name, the department's name.
    caring = make.value("caring")
    assert re.search(rf'<option value="caring"[^>]*>\s*{caring.emoji} Caring\s*</option>', html)
    assert re.search(r'<option value="mid-department"[^>]*>\s*Mid department\s*</option>', html)


def test_a_team_can_be_typed_by_name_in_any_case(client, make, people):
    team = make.team("Platform Tools")
    people["Ben"].team = team
    make.kudos(people["Ann"], [people["Ben"]])
    sign_in(client, people["Cat"])

    page = client.get("/leaderboard?team=platform+TOOLS").get_data(as_text=True)

    received = page[page.index("Most appreciated") :]
    assert "Ben" in received
    assert 'value="Platform Tools"' in page


def test_thousands_of_teams_keep_the_page_light(client, session, make, people):
    from kudos.people.models import Team

    session.add_all(Team(name=f"Squad {n:04}", slug=f"squad-{n:04}") for n in range(1500))
    session.commit()
    sign_in(client, people["Cat"])

    page = client.get("/leaderboard").get_data(as_text=True)

    assert page.count("<option") < 100
    assert len(page) < 40_000


def test_team_suggestions_as_the_viewer_types(client, session, make, people):
    for name in ("Payroll", "Platform", "Pay Ops", "Sales"):
        make.team(name)

    assert client.get("/leaderboard/teams?q=pay").status_code == 302  # signed in only
    sign_in(client, people["Cat"])
    names = client.get("/leaderboard/teams?q=PAY").get_json()

    assert names == ["Pay Ops", "Payroll"]
    assert client.get("/leaderboard/teams?q=").get_json() == []
    assert client.get("/leaderboard/teams?q=zzz").get_json() == []


@pytest.mark.parametrize(
    ("query", "reason"),
    [
        ("month=2026-13", "is not a month; use the form YYYY-MM"),
        ("month=last", "is not a month; use the form YYYY-MM"),
        ("value=nope", "There is no value"),
        ("team=nope", "There is no team"),
        ("department=nope", "There is no department"),
    ],
)
def test_bad_parameters_get_a_clear_400_page(client, people, query, reason):
    sign_in(client, people["Cat"])

    response = client.get(f"/leaderboard?{query}")

    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "Error 400" in page
    assert reason in page


def test_the_page_needs_sign_in(client):
    assert client.get("/leaderboard").status_code == 302


# The API -----------------------------------------------------------------------


def test_the_api_answers_each_board(client, session, people, current_month_kudos):
    _, raw = create_token(session, people["Ben"], "t", now=utcnow())
    session.commit()
    headers = {"Authorization": f"Bearer {raw}"}

    given = client.get("/api/v1/leaderboard", headers=headers).json
    received = client.get("/api/v1/leaderboard?board=received&limit=5", headers=headers).json

    assert given["board"] == "given"
    assert given["month_to_date"] is True
    assert given["entries"] == [
        {"rank": 1, "person": {"id": people["Ann"].id, "name": "Ann"}, "score": 1}
    ]
    assert given["me"] is None
    assert received["me"] == {
        "rank": 1,
        "person": {"id": people["Ben"].id, "name": "Ben"},
        "score": 1,
    }


def test_the_api_gives_my_line_outside_the_top_of_a_team_board(client, session, make, people):
    team = make.team("Platform")
    for name in ("Ben", "Cat", "Dan"):
        people[name].team = team
    _, raw = create_token(session, people["Dan"], "t", now=utcnow())
    session.commit()
    for giver in ("Ben", "Cat"):
        make.kudos(people[giver], [people["Ann"]])
        make.kudos(people[giver], [people["Eve"]])
    make.kudos(people["Dan"], [people["Ann"]])

    answer = client.get(
        "/api/v1/leaderboard?team=platform&limit=1", headers={"Authorization": f"Bearer {raw}"}
    ).json

    assert [entry["score"] for entry in answer["entries"]] == [2]
    assert answer["me"] == {
        "rank": 3,
        "person": {"id": people["Dan"].id, "name": "Dan"},
        "score": 1,
    }


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("month=2026-1", "month"),
        ("board=best", "board"),
        ("limit=0", "limit"),
        ("team=nope", "team"),
    ],
)
def test_bad_api_parameters_get_422(client, session, people, query, field):
    _, raw = create_token(session, people["Ben"], "t", now=utcnow())
    session.commit()

    response = client.get(
        f"/api/v1/leaderboard?{query}", headers={"Authorization": f"Bearer {raw}"}
    )

    assert response.status_code == 422
    assert field in response.json["error"]["fields"]


def test_the_api_needs_a_token(client):
    assert client.get("/api/v1/leaderboard").status_code == 401


def test_admins_see_pairs_who_mostly_thank_each_other(client, make, people):
    # A past month, whatever today is (minutes before now may be last month).
    noon = datetime(2026, 5, 10, 12, tzinfo=UTC)
    for day in range(3):
        make.kudos(people["Ann"], [people["Ben"]], at=noon - timedelta(minutes=day))
        make.kudos(people["Ben"], [people["Ann"]], at=noon - timedelta(minutes=day))
        make.kudos(people["Cat"], [people["Dan"]], at=noon - timedelta(minutes=day))
    make.kudos(people["Cat"], [people["Eve"]], at=noon)
    admin = make.person(name="Ada Admin", admin_granted=True)
    sign_in(client, admin)

    page = client.get("/admin/reciprocity?month=2026-05").get_data(as_text=True)

    assert "Ann</a> and <a" in page
    assert "Ben</a>" in page
    assert "3 and 3" in page
    assert "100%" in page
    assert "Cat</a> and" not in page


def test_the_reciprocity_page_is_for_admins_only(client, people):
    sign_in(client, people["Ann"])

    assert client.get("/admin/reciprocity").status_code == 403
