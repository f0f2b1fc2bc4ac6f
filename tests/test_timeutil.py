"""Months and days in the organisation's time zone."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from kudos.timeutil import Month, day_bounds, relative

PARIS = ZoneInfo("Europe/Paris")


def test_month_bounds_are_local_midnights_in_utc():
    start, end = Month(2026, 1).bounds(PARIS)

    assert start == datetime(2025, 12, 31, 23, 0, tzinfo=UTC)
    assert end == datetime(2026, 1, 31, 23, 0, tzinfo=UTC)


def test_a_month_crossing_a_daylight_saving_change_is_an_hour_shorter():
    start, end = Month(2026, 3).bounds(PARIS)  # clocks go forward on 29 March

    assert start == datetime(2026, 2, 28, 23, 0, tzinfo=UTC)
    assert end == datetime(2026, 3, 31, 22, 0, tzinfo=UTC)
    assert (end - start).total_seconds() == 31 * 86400 - 3600


def test_a_moment_near_midnight_belongs_to_the_local_month():
    late_utc = datetime(2026, 3, 31, 22, 30, tzinfo=UTC)  # already 1 April in Paris

    assert Month.containing(late_utc, PARIS) == Month(2026, 4)
    assert Month.containing(late_utc, ZoneInfo("UTC")) == Month(2026, 3)


@pytest.mark.parametrize(
    "text",
    ["2026-13", "2026-00", "26-01", "2026/01", "", "abcd-ef", "0999-01", "1969-12", "9999-01"]
    + ["9999-12", "\u0662\u0660\u0662\u0666-03"],  # Arabic-Indic digits
)
def test_bad_months_are_refused_with_a_readable_message(text):
    with pytest.raises(ValueError, match="use the form YYYY-MM"):
        Month.parse(text)


def test_the_first_and_last_months_have_bounds_in_every_zone():
    for zone in (PARIS, ZoneInfo("Pacific/Kiritimati"), ZoneInfo("America/Adak")):
        assert Month.parse("1970-01").previous().bounds(zone)[0].year == 1969
        start, end = Month.parse("9998-12").bounds(zone)
        assert (start.year, end.year) in {(9998, 9999), (9998, 9998)}


def test_months_step_across_years():
    assert Month(2026, 12).next() == Month(2027, 1)
    assert Month(2026, 1).previous() == Month(2025, 12)
    assert str(Month.parse("2026-03")) == "2026-03"


def test_day_bounds_follow_the_local_day():
    start, end = day_bounds(datetime(2026, 7, 1, 22, 30, tzinfo=UTC), PARIS)

    assert start == datetime(2026, 7, 1, 22, 0, tzinfo=UTC)
    assert end == datetime(2026, 7, 2, 22, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("seconds", "phrase"),
    [
        (10, "just now"),
        (60, "1 minute ago"),
        (7200, "2 hours ago"),
        (86400, "yesterday"),
        (3 * 86400, "3 days ago"),
        (14 * 86400, "2 weeks ago"),
        (90 * 86400, "3 months ago"),
        (800 * 86400, "2 years ago"),
    ],
)
def test_relative_times_read_naturally(seconds, phrase):
    now = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)

    assert relative(datetime.fromtimestamp(now.timestamp() - seconds, UTC), now) == phrase
