"""Time in the organisation's zone: months, days and display.

Everything is stored in UTC. The organisation's zone (``KUDOS_TIMEZONE``) is
used only to cut months and days and to show times to people.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from flask import current_app

MONTH_PATTERN = re.compile(r"^(\d{4})-(\d{2})$", re.ASCII)
# Months people can ask for. The last is 9998-12 because a month's end is the
# first day of the next one, and Python's dates stop at year 9999.
FIRST_YEAR, LAST_YEAR = 1970, 9998


def org_zone() -> ZoneInfo:
    return ZoneInfo(current_app.config["TIMEZONE"])


def to_local(moment: datetime, zone: ZoneInfo | None = None) -> datetime:
    return moment.astimezone(zone or org_zone())


def _local_midnight_utc(day: date, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, time(0), tzinfo=zone).astimezone(UTC)


@dataclass(frozen=True, order=True)
class Month:
    year: int
    month: int

    @classmethod
    def parse(cls, text: str) -> Month:
        """``YYYY-MM`` to a Month; ``ValueError`` with a readable message otherwise."""
        match = MONTH_PATTERN.match(text.strip())
        if (
            not match
            or not 1 <= int(match.group(2)) <= 12
            or not FIRST_YEAR <= int(match.group(1)) <= LAST_YEAR
        ):
            raise ValueError(
                f"{text!r} is not a month; use the form YYYY-MM, e.g. 2026-03, "
                f"with a year from {FIRST_YEAR} to {LAST_YEAR}"
            )
        return cls(int(match.group(1)), int(match.group(2)))

    @classmethod
    def containing(cls, moment: datetime, zone: ZoneInfo) -> Month:
        local = moment.astimezone(zone)
        return cls(local.year, local.month)

    def next(self) -> Month:
        return Month(self.year + self.month // 12, self.month % 12 + 1)

    def previous(self) -> Month:
        return Month(self.year - (self.month == 1), (self.month - 2) % 12 + 1)

    def bounds(self, zone: ZoneInfo) -> tuple[datetime, datetime]:
        """The month as a half-open UTC interval [start, end).

        Computed from local midnights, so a month that crosses a daylight-
        saving change is exactly as long as the clocks on the wall say.
        """
        following = self.next()
        return (
            _local_midnight_utc(date(self.year, self.month, 1), zone),
            _local_midnight_utc(date(following.year, following.month, 1), zone),
        )

    def __str__(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"


def not_started(month: Month, now: datetime, zone: ZoneInfo) -> str | None:
    """Why ``month`` has nothing to show, if it has not begun in ``zone`` at
    ``now``: a sentence naming it and its first day. None once it has."""
    if month <= Month.containing(now, zone):
        return None
    first = date(month.year, month.month, 1)
    return (
        f"{first:%B %Y} hasn't started yet: it begins on 1 {first:%B %Y} "
        f"in the company's time zone ({zone.key})."
    )


def day_bounds(moment: datetime, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """The organisation's calendar day containing ``moment``, in UTC."""
    local_day = moment.astimezone(zone).date()
    return (
        _local_midnight_utc(local_day, zone),
        _local_midnight_utc(local_day + timedelta(days=1), zone),
    )


def relative(moment: datetime, now: datetime) -> str:
    """A short human phrase such as "5 minutes ago" or "3 days ago"."""
    seconds = int((now - moment).total_seconds())
    if seconds < 45:
        return "just now"
    minutes, hours, days = seconds // 60, seconds // 3600, seconds // 86400
    if minutes < 60:
        return _ago(max(minutes, 1), "minute")
    if hours < 24:
        return _ago(hours, "hour")
    if days < 7:
        return "yesterday" if days == 1 else _ago(days, "day")
    if days < 31:
        return _ago(days // 7, "week")
    if days < 365:
        return _ago(max(days // 30, 1), "month")
    return _ago(days // 365, "year")


def _ago(count: int, unit: str) -> str:
    return f"{count} {unit}{'' if count == 1 else 's'} ago"
