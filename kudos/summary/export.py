"""The summary as CSV (one row per person) and as JSON (the API).

CSV cells that a spreadsheet would read as a formula (starting with ``=``,
``+``, ``-``, ``@``, a tab or a carriage return) get a leading ``'``, so a
kudos message or a name can never run as a formula when the file is opened.
"""

from __future__ import annotations

import csv
import io
from typing import Any

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


def _iso(moment) -> str | None:  # noqa: ANN001
    return moment.isoformat().replace("+00:00", "Z") if moment is not None else None


def _share(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


def summary_json(summary: Summary) -> dict[str, Any]:
    """The API's answer (see ``ManagerSummary`` in the OpenAPI document)."""
    current = summary.current
    return {
        "manager": {"id": summary.manager_id, "name": summary.manager_name},
        "month": str(summary.month),
        "month_to_date": summary.month_to_date,
        "indirect": summary.indirect,
        "as_of": _iso(summary.as_of),
        "totals": {
            "people": len(summary.people),
            "received": summary.totals.received,
            "given": summary.totals.given,
            "previous_received": summary.totals.previous_received,
            "previous_given": summary.totals.previous_given,
            "received_change": summary.totals.received_change,
            "given_change": summary.totals.given_change,
        },
        "manager_part": {
            "share_recognised_by_manager": _share(current.share_recognised_by_manager),
            "share_sent": _share(current.share_sent),
            "share_received": _share(current.share_received),
        },
        "trend": [
            {
                "month": str(point.month),
                "received": point.received,
                "given": point.given,
                "recipients": point.recipients,
                "senders": point.senders,
                "recognised_by_manager": point.recognised_by_manager,
                "share_recognised_by_manager": _share(point.share_recognised_by_manager),
                "share_sent": _share(point.share_sent),
                "share_received": _share(point.share_received),
            }
            for point in summary.trend
        ],
        "values": [_value(value) for value in summary.values],
        "internal_customers": {
            "thanked_the_team": [_department(item) for item in summary.thanked_the_team],
            "thanked_by_the_team": [_department(item) for item in summary.thanked_by_the_team],
        },
        "people": [_person(person) for person in summary.people],
    }


def _value(value) -> dict[str, Any]:  # noqa: ANN001
    return {"slug": value.slug, "name": value.name, "emoji": value.emoji, "count": value.count}


def _department(item) -> dict[str, Any]:  # noqa: ANN001
    return {"department_id": item.department_id, "name": item.name, "count": item.count}


def _person(person: PersonSummary) -> dict[str, Any]:
    prefs = person.preferences
    return {
        "id": person.id,
        "name": person.name,
        "email": person.email,
        "title": person.title,
        "team": person.team,
        "department": person.department,
        "direct": person.direct,
        "received": person.received,
        "given": person.given,
        "distinct_senders": person.distinct_senders,
        "from_other_departments": person.from_other_departments,
        "share_from_other_departments": _share(person.share_from_other_departments),
        "values": [_value(value) for value in person.values],
        "last_recognised_at": _iso(person.last_recognised_at),
        "days_since_recognised": person.days_since_recognised,
        "none_this_month": person.none_this_month,
        "none_in_60_days": person.none_in_60_days,
        "recognised_by_manager": person.recognised_by_manager,
        "preferences": {
            "onboarded": prefs.onboarded,
            "audience": prefs.audience,
            "style": prefs.style,
            "email_opt_in": prefs.email_opt_in,
            "slack_opt_in": prefs.slack_opt_in,
            "on_leaderboards": prefs.on_leaderboards,
            "favourite_values": list(prefs.favourite_values),
            "best_way_to_thank": prefs.best_way_to_thank,
        },
        "quotes": [
            {
                "kudos_id": quote.kudos_id,
                "sender": {"id": quote.sender_id, "name": quote.sender_name},
                "message": quote.message,
                "visibility": quote.visibility,
                "created_at": _iso(quote.created_at),
            }
            for quote in person.quotes
        ],
    }
