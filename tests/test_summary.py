"""The manager's summary service: named examples for every number and flag,
the month edges, visibility of quotes and the number of SQL statements."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import event

from kudos.db import utcnow
from kudos.people.models import Person
from kudos.preferences.models import FavouriteValue, RecognitionPreference
from kudos.summary.services import (
    SummaryForbidden,
    SummaryNotFound,
    build_summary,
    suggested_actions,
    summary_subject,
)
from kudos.timeutil import Month

UTC_ZONE = ZoneInfo("UTC")
PARIS = ZoneInfo("Europe/Paris")
OCTOBER = Month(2026, 10)
MID_OCTOBER = datetime(2026, 10, 15, 12, tzinfo=UTC)
AFTER_OCTOBER = datetime(2026, 11, 20, 12, tzinfo=UTC)


def summarise(session, manager, month=OCTOBER, *, now=AFTER_OCTOBER, zone=UTC_ZONE, **options):
    session.expire_all()
    return build_summary(session, manager, month, now=now, zone=zone, **options)


def person_in(summary, person):
    return next(item for item in summary.people if item.id == person.id)


@pytest.fixture
def org(make):
    """Platform (Engineering) managed by Maya; Finance and Sales outside."""
    engineering, finance, sales = (
        make.department("Engineering"),
        make.department("Finance"),
        make.department("Sales"),
    )
    maya = make.person(name="Maya Manager", department=engineering)
    sam = make.person(name="Sam Quiet", department=engineering, manager=maya)
    tom = make.person(name="Tom Busy", department=engineering, manager=maya)
    lee = make.person(name="Lee Lead", department=engineering, manager=maya)
    ivy = make.person(name="Ivy Indirect", department=engineering, manager=lee)
    fay = make.person(name="Fay Finance", department=finance)
    sol = make.person(name="Sol Sales", department=sales)
    return {
        "maya": maya,
        "sam": sam,
        "tom": tom,
        "lee": lee,
        "ivy": ivy,
        "fay": fay,
        "sol": sol,
        "finance": finance,
        "sales": sales,
    }


def test_counts_per_person(make, session, org):
    tom = org["tom"]
    make.kudos(org["fay"], [tom], values=["mentor", "caring"], at=MID_OCTOBER)
    make.kudos(org["fay"], [tom, org["sam"]], values=["mentor"], at=MID_OCTOBER)
    make.kudos(org["lee"], [tom], values=["caring"], at=MID_OCTOBER)
    make.kudos(tom, [org["sol"]], at=MID_OCTOBER)

    summary = summarise(session, org["maya"])
    line = person_in(summary, tom)

    assert (line.received, line.given, line.distinct_senders) == (3, 1, 2)
    assert line.from_other_departments == 2
    assert line.share_from_other_departments == pytest.approx(2 / 3)
    # Most received first, ties in the company's order of values.
    assert [(value.slug, value.count) for value in line.values] == [("caring", 2), ("mentor", 2)]
    assert [(value.slug, value.count) for value in summary.values] == [
        ("mentor", 3),
        ("caring", 2),
    ]
    assert summary.totals.received == 4  # Tom 3, Sam 1
    assert summary.totals.given == 2  # tom to sol, lee to tom
    assert [person.name for person in summary.people] == ["Lee Lead", "Sam Quiet", "Tom Busy"]
    assert line.last_recognised_at == MID_OCTOBER


def test_totals_compare_with_the_previous_month(make, session, org):
    make.kudos(org["fay"], [org["tom"]], at=datetime(2026, 9, 3, tzinfo=UTC))
    make.kudos(org["fay"], [org["tom"], org["sam"]], at=datetime(2026, 9, 4, tzinfo=UTC))
    make.kudos(org["fay"], [org["sam"]], at=MID_OCTOBER)

    totals = summarise(session, org["maya"]).totals

    assert (totals.received, totals.previous_received, totals.received_change) == (1, 3, -2)
    assert (totals.given, totals.previous_given, totals.given_change) == (0, 0, 0)


def test_direct_reports_by_default_and_every_report_on_request(make, session, org):
    make.kudos(org["fay"], [org["ivy"]], at=MID_OCTOBER)

    direct = summarise(session, org["maya"])
    everyone = summarise(session, org["maya"], indirect=True)

    assert {person.name for person in direct.people} == {"Sam Quiet", "Tom Busy", "Lee Lead"}
    assert {person.name for person in everyone.people} == {
        "Sam Quiet",
        "Tom Busy",
        "Lee Lead",
        "Ivy Indirect",
    }
    assert not person_in(everyone, org["ivy"]).direct
    assert person_in(everyone, org["lee"]).direct
    assert direct.totals.received == 0
    assert everyone.totals.received == 1


def test_people_who_left_and_hidden_kudos_do_not_count(make, session, org):
    gone = make.person(name="Gone Sender", department=org["finance"])
    make.kudos(gone, [org["tom"]], at=MID_OCTOBER)
    hidden = make.kudos(org["fay"], [org["tom"]], at=MID_OCTOBER)
    hidden.hidden_at, hidden.hidden_reason = MID_OCTOBER, "spam"
    left = make.person(name="Left Report", manager=org["maya"])
    make.kudos(org["fay"], [left], at=MID_OCTOBER)
    gone.active = False
    left.active = False
    session.commit()

    summary = summarise(session, org["maya"])

    assert "Left Report" not in {person.name for person in summary.people}
    line = person_in(summary, org["tom"])
    assert (line.received, line.last_recognised_at, line.quotes) == (0, None, [])
    assert summary.totals.received == 0


def test_none_this_month_but_recognised_lately(make, session, org):
    make.kudos(org["fay"], [org["sam"]], at=datetime(2026, 9, 25, tzinfo=UTC))

    line = person_in(summarise(session, org["maya"]), org["sam"])

    assert line.none_this_month
    assert not line.none_in_60_days
    assert line.days_since_recognised == 37  # from 25 September to 1 November


@pytest.mark.parametrize(
    ("days_before_the_end", "flagged"),
    [(59, False), (60, True), (64, True)],
)
def test_none_in_60_days_counts_back_from_the_end_of_a_past_month(
    make, session, org, days_before_the_end, flagged
):
    end = datetime(2026, 11, 1, tzinfo=UTC)
    make.kudos(org["fay"], [org["sam"]], at=end - timedelta(days=days_before_the_end, hours=1))

    line = person_in(summarise(session, org["maya"]), org["sam"])

    assert line.days_since_recognised == days_before_the_end
    assert line.none_in_60_days is flagged
    assert line.none_this_month


def test_never_recognised_is_flagged(session, org):
    line = person_in(summarise(session, org["maya"]), org["sam"])

    assert line.last_recognised_at is None
    assert line.days_since_recognised is None
    assert line.none_in_60_days
    assert line.none_this_month


def test_the_month_in_progress_looks_back_from_now(make, session, org):
    make.kudos(org["fay"], [org["sam"]], at=datetime(2026, 10, 1, tzinfo=UTC))
    make.kudos(org["fay"], [org["sam"]], at=datetime(2026, 10, 20, tzinfo=UTC))  # after "now"

    summary = summarise(session, org["maya"], now=MID_OCTOBER)
    line = person_in(summary, org["sam"])

    assert summary.month_to_date
    assert summary.as_of == MID_OCTOBER
    assert line.received == 1
    assert line.days_since_recognised == 14


def test_month_edges_follow_the_organisation_time_zone(make, session, org):
    start, end = OCTOBER.bounds(PARIS)  # 30 Sep 22:00 UTC to 31 Oct 23:00 UTC
    for moment in (
        start - timedelta(seconds=1),
        start,
        end - timedelta(seconds=1),
        end,
    ):
        make.kudos(org["fay"], [org["sam"]], at=moment)

    paris = person_in(summarise(session, org["maya"], zone=PARIS), org["sam"])
    utc = person_in(summarise(session, org["maya"], zone=UTC_ZONE), org["sam"])

    assert paris.received == 2  # start and end - 1 s
    assert utc.received == 2  # end - 1 s and end: 31 October 22:59:59 and 23:00 UTC
    assert paris.last_recognised_at == end - timedelta(seconds=1)
    assert utc.last_recognised_at == end


def test_internal_customers_leave_out_thanks_inside_the_team(make, session, org):
    make.kudos(org["fay"], [org["sam"], org["tom"]], at=MID_OCTOBER)
    make.kudos(org["sol"], [org["sam"]], at=MID_OCTOBER)
    make.kudos(org["tom"], [org["sam"]], at=MID_OCTOBER)  # inside the team
    make.kudos(org["tom"], [org["fay"]], at=MID_OCTOBER)
    make.kudos(org["ivy"], [org["tom"]], at=MID_OCTOBER)  # Ivy is outside the direct team

    summary = summarise(session, org["maya"])

    assert [(d.name, d.count) for d in summary.thanked_the_team] == [
        ("Finance", 2),
        ("Engineering", 1),
        ("Sales", 1),
    ]
    assert [(d.name, d.count) for d in summary.thanked_by_the_team] == [("Finance", 1)]


def test_the_managers_own_part_and_six_month_trend(make, session, org):
    maya, sam, tom = org["maya"], org["sam"], org["tom"]
    make.kudos(maya, [sam], at=MID_OCTOBER)
    make.kudos(sam, [org["fay"]], at=MID_OCTOBER)
    make.kudos(maya, [sam, tom], at=datetime(2026, 5, 10, tzinfo=UTC))
    make.kudos(maya, [tom], at=datetime(2026, 4, 30, tzinfo=UTC))  # seven months back

    summary = summarise(session, maya)
    trend = summary.trend

    assert [str(point.month) for point in trend] == [
        "2026-05",
        "2026-06",
        "2026-07",
        "2026-08",
        "2026-09",
        "2026-10",
    ]
    october, may = trend[-1], trend[0]
    assert (october.recognised_by_manager, october.recipients, october.senders) == (1, 1, 1)
    assert october.share_recognised_by_manager == pytest.approx(1 / 3)
    assert october.share_sent == pytest.approx(1 / 3)
    assert (may.recognised_by_manager, may.received, may.given) == (2, 2, 0)
    assert [point.received for point in trend[1:5]] == [0, 0, 0, 0]
    assert person_in(summary, sam).recognised_by_manager
    assert not person_in(summary, tom).recognised_by_manager


def _private_kudos(make, session, sender, recipient, message):
    session.add(RecognitionPreference(person=recipient, audience="private"))
    session.commit()
    return make.kudos(sender, [recipient], message=message, at=MID_OCTOBER)


def test_quotes_are_the_newest_three_the_manager_may_see(make, session, org):
    for day in range(1, 6):
        make.kudos(
            org["fay"], [org["tom"]], message=f"day {day}", at=datetime(2026, 10, day, tzinfo=UTC)
        )
    _private_kudos(make, session, org["fay"], org["ivy"], "private to Ivy")

    direct = summarise(session, org["maya"], indirect=True)
    lee = summarise(session, org["lee"])

    assert [quote.message for quote in person_in(direct, org["tom"]).quotes] == [
        "day 5",
        "day 4",
        "day 3",
    ]
    # Ivy's kudos is private: her manager (Lee) sees it, her manager's manager does not.
    assert person_in(direct, org["ivy"]).received == 1
    assert person_in(direct, org["ivy"]).quotes == []
    assert [quote.message for quote in person_in(lee, org["ivy"]).quotes] == ["private to Ivy"]


def test_an_admin_sees_only_quotes_both_may_see(make, session, org):
    admin = make.person(name="Ada Admin", admin_granted=True)
    _private_kudos(make, session, org["fay"], org["sam"], "private to Sam")
    make.kudos(org["fay"], [org["tom"]], message="public to Tom", at=MID_OCTOBER)

    as_maya = summarise(session, org["maya"])
    as_admin = summarise(session, org["maya"], viewer=admin)

    assert [q.message for q in person_in(as_maya, org["sam"]).quotes] == ["private to Sam"]
    assert person_in(as_admin, org["sam"]).quotes == []
    assert person_in(as_admin, org["sam"]).received == 1
    assert [q.message for q in person_in(as_admin, org["tom"]).quotes] == ["public to Tom"]


def test_team_quotes_follow_the_manager_s_team_and_the_admin_s_own(make, session, org):
    """A team kudos to Tom shows to his manager, to an admin in his team, and
    to nobody else: each viewer's team is their own, whatever was read before."""
    platform, other_team = make.team("Platform"), make.team("Other")
    org["tom"].team = platform
    org["maya"].team = other_team
    in_team = make.person(name="Ann Admin", admin_granted=True, team=platform)
    outside = make.person(name="Oli Admin", admin_granted=True, team=other_team)
    teamless = make.person(name="Nia Admin", admin_granted=True)
    make.kudos(org["fay"], [org["tom"]], message="team thanks", visibility="team", at=MID_OCTOBER)

    def quotes(viewer: Person | None) -> list[str]:
        summary = summarise(session, org["maya"], viewer=viewer)
        return [quote.message for quote in person_in(summary, org["tom"]).quotes]

    assert quotes(None) == ["team thanks"]
    assert quotes(in_team) == ["team thanks"]
    assert quotes(outside) == []
    assert quotes(teamless) == []
    assert quotes(in_team) == ["team thanks"]


def test_preferences_and_suggested_actions(make, session, org):
    sam = org["sam"]
    preference = RecognitionPreference(
        person=sam, audience="private", style="low_key", best_way_to_thank=None
    )
    session.add(preference)
    session.flush()
    session.add(FavouriteValue(person_id=sam.id, value_id=make.value("mentor").id, position=1))
    session.commit()
    end = datetime(2026, 11, 1, tzinfo=UTC)
    make.kudos(org["fay"], [sam], at=end - timedelta(days=64, hours=2))
    make.kudos(org["fay"], [org["tom"]], at=MID_OCTOBER)

    summary = summarise(session, org["maya"])
    actions = suggested_actions(summary)

    prefs = person_in(summary, sam).preferences
    assert (prefs.onboarded, prefs.audience, prefs.favourite_values) == (
        True,
        "private",
        ("Mentor",),
    )
    assert (
        "Sam Quiet has not been recognised in 64 days; Sam prefers private notes, "
        "likes a quiet pat on the back and values Mentor."
    ) in actions
    assert any("Lee Lead has never been recognised" in action for action in actions)
    assert any("hasn't said how they like to be thanked" in action for action in actions)
    assert any("You recognised 0 of 3 people" in action for action in actions)


def test_a_manager_without_reports_gets_an_empty_summary(make, session):
    lonely = make.person(name="Lonely", admin_granted=True)

    summary = summarise(session, lonely)

    assert summary.is_empty
    assert len(summary.trend) == 6
    assert summary.totals.received == 0


def test_who_may_see_whose_summary(make, session, org):
    admin = make.person(name="Ada Admin", admin_granted=True)
    session.expire_all()

    assert summary_subject(session, org["maya"], None) == org["maya"]
    assert summary_subject(session, org["maya"], org["maya"].id) == org["maya"]
    assert summary_subject(session, admin, org["maya"].id) == org["maya"]
    assert summary_subject(session, admin, None) == admin
    for viewer, manager_id in (
        (org["sam"], None),  # a report, not a manager
        (org["fay"], None),  # unrelated
        (org["sam"], org["maya"].id),
        (org["lee"], org["maya"].id),  # a manager asking for another's
        (org["fay"], 2**31 - 1),  # no such person: not said to non-admins
    ):
        with pytest.raises(SummaryForbidden):
            summary_subject(session, viewer, manager_id)
    with pytest.raises(SummaryNotFound):
        summary_subject(session, admin, 2**31 - 1)


class StatementCounter:
    def __init__(self, engine):
        self.engine, self.count = engine, 0

    def __enter__(self):
        event.listen(self.engine, "before_cursor_execute", self._count)
        return self

    def __exit__(self, *exc):
        event.remove(self.engine, "before_cursor_execute", self._count)

    def _count(self, conn, cursor, statement, *args):
        if not statement.startswith(("SAVEPOINT", "RELEASE")):
            self.count += 1


@pytest.mark.parametrize("team_size", [3, 40])
@pytest.mark.parametrize("indirect", [False, True])
def test_at_most_ten_statements_whatever_the_team_size(make, session, team_size, indirect):
    boss = make.person(name="Big Boss")
    middle = make.person(name="Middle", manager=boss)
    reports = [make.person(manager=middle if n % 2 else boss) for n in range(team_size)]
    for number, report in enumerate(reports):
        make.kudos(reports[number - 1], [report], at=MID_OCTOBER, values=["mentor", "caring"])
        make.kudos(boss, [report], at=datetime(2026, 8, 1, tzinfo=UTC))
    session.expire_all()
    assert boss.name  # loaded before counting
    engine = session.get_bind().engine

    with StatementCounter(engine) as counter:
        summary = build_summary(
            session, boss, OCTOBER, now=AFTER_OCTOBER, zone=UTC_ZONE, indirect=indirect
        )
        suggested_actions(summary)

    assert counter.count <= 10
    # Six queries, and on PostgreSQL two set_config (no parallel workers, no JIT).
    assert counter.count == (8 if engine.dialect.name == "postgresql" else 6)
    direct = sum(1 for n in range(team_size) if n % 2 == 0) + 1  # with Middle
    assert len(summary.people) == (team_size + 1 if indirect else direct)


def test_a_large_team_is_selected_inside_each_statement(make, session, org, monkeypatch):
    make.kudos(org["fay"], [org["sam"], org["ivy"]], values=["mentor"], at=MID_OCTOBER)
    monkeypatch.setattr("kudos.summary.services.MAX_INLINE_IDS", 1)
    session.expire_all()

    small = build_summary(session, org["maya"], OCTOBER, now=utcnow(), zone=UTC_ZONE)
    large = summarise(session, org["maya"], indirect=True)

    assert person_in(large, org["ivy"]).received == 1
    assert person_in(large, org["sam"]).values[0].slug == "mentor"
    assert large.totals.received == 2
    assert len(small.people) == 3
