"""The summary as CSV, one row per person (the API's JSON is
``kudos.api.models.ManagerSummary``).

CSV cells that a spreadsheet would read as a formula (starting with ``=``,
``+``, ``-``, ``@``, a tab or a carriage return) get a leading ``'``, so a
kudos message or a name can never run as a formula when the file is opened.
"""

from __future__ import annotations

import csv
import io

from kudos.summary.services import PersonSummary, Summary
from kudos.timeutil import to_local

CSV_COLUMNS = (
    "month",
    "person_id",
    "name",
    "email",
    "title",
    "team",
    "department",
    "reports_to_manager",
    "received",
    "given",
    "distinct_senders",
    "from_other_departments",
    "share_from_other_departments",
    "values_received",
    "last_recognised",
    "days_since_recognised",
    "none_this_month",
    "none_in_60_days",
    "recognised_by_manager",
    "onboarded",
    "audience",
    "style",
    "email_opt_in",
    "on_leaderboards",
    "favourite_values",
    "best_way_to_thank",
    "quotes",
    "slack_opt_in",
)
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralise(cell: object) -> str:
    """A cell as text that no spreadsheet runs as a formula."""
    text = "" if cell is None else str(cell)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def _yes(flag: bool) -> str:
    return "yes" if flag else "no"


def _row(summary: Summary, person: PersonSummary) -> list[object]:
    prefs = person.preferences
    share = person.share_from_other_departments
    last = person.last_recognised_at
    return [
        summary.month,
        person.id,
        person.name,
        person.email,
        person.title,
        person.team,
        person.department,
        "direct" if person.direct else "indirect",
        person.received,
        person.given,
        person.distinct_senders,
        person.from_other_departments,
        "" if share is None else f"{share:.2f}",
        "; ".join(f"{value.name}: {value.count}" for value in person.values),
        to_local(last).date().isoformat() if last else "",
        "" if person.days_since_recognised is None else person.days_since_recognised,
        _yes(person.none_this_month),
        _yes(person.none_in_60_days),
        _yes(person.recognised_by_manager),
        _yes(prefs.onboarded),
        prefs.audience if prefs.onboarded else "",
        prefs.style if prefs.onboarded else "",
        _yes(prefs.email_opt_in) if prefs.onboarded else "",
        _yes(prefs.on_leaderboards) if prefs.onboarded else "",
        "; ".join(prefs.favourite_values),
        prefs.best_way_to_thank or "",
        " | ".join(f"{quote.sender_name}: {quote.message}" for quote in person.quotes),
        # Added after the first release: at the end, so no column moves.
        _yes(prefs.slack_opt_in) if prefs.onboarded else "",
    ]


def summary_csv(summary: Summary) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for person in summary.people:
        writer.writerow([neutralise(cell) for cell in _row(summary, person)])
    return out.getvalue()
