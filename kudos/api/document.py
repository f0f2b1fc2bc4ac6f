"""What the OpenAPI document says beyond the models: each operation's answers
with their descriptions, headers and examples, and the document itself,
assembled from what flask-openapi3 collected from the views."""

from __future__ import annotations

from typing import Any

from flask import current_app
from flask_openapi3.models import Info, Tag

from kudos.api import models
from kudos.api.contract import document, header, ref, register, response
from kudos.urls import base_url

PREFIX = "/api/v1"
DOCUMENT = "kudos.openapi_document"  # in app.extensions
INFO = Info(
    title="Kudos API",
    version="1",
    description="Send and read kudos. Authenticate with a personal API token "
    "(create one on /settings/tokens or with `kudos tokens create`). "
    "The rendered reference is at /api/v1/docs.",
)
SECURITY_SCHEMES = {
    "bearer": {
        "type": "http",
        "scheme": "bearer",
        "description": "A personal API token: each person makes their own on "
        "/settings/tokens (an admin with `kudos tokens create EMAIL`). It expires "
        "as chosen when it was made, and dies with its owner's deactivation.",
    }
}

KUDOS_TAG = Tag(name="Kudos", description="Send kudos and read the ones you may see.")
DIRECTORY_TAG = Tag(
    name="Values and people", description="The company's values and who works here."
)
PREFERENCES_TAG = Tag(
    name="Preferences", description="How the token's owner likes to be recognised."
)
MONTHS_TAG = Tag(name="Months", description="Leaderboards and the manager's team summary.")

# Examples ----------------------------------------------------------------------

GRACE = {"id": 42, "name": "Grace Hopper"}
ALAN = {"id": 7, "name": "Alan Turing"}
KUDOS_ANSWER = {
    "id": 1234,
    "sender": ALAN,
    "recipients": [GRACE],
    "values": [{"slug": "mentor", "name": "Mentor", "emoji": "🧭"}],
    "message": "Thanks for pairing on the outage runbook!",
    "visibility": "public",
    "requested_visibility": "public",
    "created_at": "2026-11-30T09:41:07.120934Z",
    "reactions": 3,
    "url": "https://kudos.example.com/kudos/1234",
}
PREFERENCES = {
    "audience": "team",
    "style": "low_key",
    "email_opt_in": True,
    "slack_opt_in": False,
    "in_slack_channel": True,
    "on_leaderboards": False,
    "favourite_values": ["caring"],
    "best_way_to_thank": "A short note is plenty.",
    "onboarded": True,
}
ENTRY = {"rank": 1, "person": GRACE, "score": 12}
SHARES = {"share_recognised_by_manager": 0.5, "share_sent": 0.75, "share_received": 1.0}
SUMMARY = {
    "manager": ALAN,
    "month": "2026-10",
    "month_to_date": False,
    "indirect": False,
    "as_of": "2026-10-31T23:00:00Z",
    "totals": {
        "people": 4,
        "received": 9,
        "given": 7,
        "previous_received": 6,
        "previous_given": 8,
        "received_change": 3,
        "given_change": -1,
    },
    "manager_part": SHARES,
    "trend": [
        {
            "month": month,
            "received": 9,
            "given": 7,
            "recipients": 4,
            "senders": 3,
            "recognised_by_manager": 2,
            **SHARES,
        }
        for month in ("2026-05", "2026-06", "2026-07", "2026-08", "2026-09", "2026-10")
    ],
    "values": [{"slug": "mentor", "name": "Mentor", "emoji": "🧭", "count": 5}],
    "internal_customers": {
        "thanked_the_team": [{"department_id": 3, "name": "Finance", "count": 2}],
        "thanked_by_the_team": [{"department_id": None, "name": "No department", "count": 1}],
    },
    "people": [
        {
            **GRACE,
            "email": "grace@example.com",
            "title": "Rear admiral",
            "team": "Platform",
            "department": "Engineering",
            "direct": True,
            "received": 5,
            "given": 2,
            "distinct_senders": 4,
            "from_other_departments": 2,
            "share_from_other_departments": 0.4,
            "values": [{"slug": "mentor", "name": "Mentor", "emoji": "🧭", "count": 3}],
            "last_recognised_at": "2026-10-29T15:02:11Z",
            "days_since_recognised": 2,
            "none_this_month": False,
            "none_in_60_days": False,
            "recognised_by_manager": True,
            "preferences": {
                key: value for key, value in PREFERENCES.items() if key != "in_slack_channel"
            },
            "quotes": [
                {
                    "kudos_id": 1234,
                    "sender": ALAN,
                    "message": "Thanks for pairing on the outage runbook!",
                    "visibility": "public",
                    "created_at": "2026-10-29T15:02:11Z",
                }
            ],
        }
    ],
}


def _error(code: str, message: str, fields: dict[str, str] | None = None) -> dict[str, Any]:
    detail: dict[str, Any] = {"code": code, "message": message}
    if fields:
        detail["fields"] = fields
    return {"error": detail}


# Answers -----------------------------------------------------------------------

RETRY_AFTER = {"Retry-After": header("Seconds until trying again", {"type": "integer"})}


def _failure(
    description: str, example: dict[str, Any], headers: dict[str, Any] | None = None
) -> dict[str, Any]:
    return response(description, ref(models.Error), example, headers)


UNAUTHORIZED = _failure(
    "No token, or a wrong or revoked one, or its owner is inactive (`error.code` "
    "`unauthorized`); or the token has expired (`error.code` `token_expired`: make a new one)",
    _error("unauthorized", "Send a personal API token: Authorization: Bearer <token>."),
    {"WWW-Authenticate": header('`Bearer realm="kudos"`', {"type": "string"})},
)
RATE_LIMITED = _failure(
    "Too many calls with this token in a short time (code `rate_limited`)",
    _error("rate_limited", "That was a lot of requests in a short time. Wait a moment."),
    RETRY_AFTER,
)


def _invalid(description: str, fields: dict[str, str], *, query: bool = True) -> dict[str, Any]:
    what = "parameters" if query else "fields"
    return _failure(description, _error("invalid", f"Some {what} are not valid.", fields))


INVALID_QUERY = _invalid(
    "Invalid parameters (an unknown team or value slug too), with a message per parameter "
    "in `error.fields`: every problem at once",
    {"limit": "Must be a whole number from 1 to 100.", "team": "No team with the slug 'x'."},
)
MONTH_INVALID = _failure(
    "Invalid parameters, with a message per parameter in `error.fields` (code `invalid`); "
    "or a month that has not begun yet in the company's time zone (code "
    "`month_not_started`, with a message naming the month and its first day, also in "
    "`error.fields.month`)",
    _error("invalid", "Some parameters are not valid.", {"month": "Write the month as YYYY-MM."}),
)
BAD_BODY = {
    "400": _failure("The body is not JSON", _error("invalid_json", "The body is not valid JSON.")),
    "413": _failure(
        "The body is larger than 1 MiB",
        _error("too_large", "The request is larger than the server accepts."),
    ),
    "415": _failure(
        "Not application/json",
        _error("unsupported_media_type", "Send JSON with Content-Type: application/json."),
    ),
}


def _ok(model: type, example: Any, description: str = "OK", **headers: Any) -> dict[str, Any]:  # noqa: ANN401
    return response(description, ref(model), example, headers or None)


RESPONSES: dict[str, dict[str, Any]] = {
    "list_kudos": {
        "200": _ok(
            models.KudosPage, {"items": [KUDOS_ANSWER], "next": "MjAyNi0xMS0zMFQwOTo0MToxMHwxMjM0"}
        ),
        "401": UNAUTHORIZED,
        "422": INVALID_QUERY,
        "429": RATE_LIMITED,
    },
    "create_kudos": {
        "201": _ok(
            models.Kudos,
            KUDOS_ANSWER,
            "Created",
            Location=header("The new kudos in this API", {"type": "string"}),
        ),
        "200": _ok(
            models.Kudos,
            KUDOS_ANSWER,
            "Replayed: a kudos with this Idempotency-Key already existed",
            **{
                "Idempotent-Replayed": header("Always `true`", {"type": "string", "enum": ["true"]})
            },
        ),
        **BAD_BODY,
        "400": _failure(
            "The body is not JSON, or a bad Idempotency-Key",
            _error(
                "invalid",
                "A header is not valid.",
                {"idempotency_key": "Must not contain control characters."},
            ),
        ),
        "401": UNAUTHORIZED,
        "409": _failure(
            "The Idempotency-Key was used for a different kudos",
            _error(
                "idempotency_conflict",
                "This Idempotency-Key was already used for a different kudos.",
            ),
        ),
        "422": _invalid(
            "Invalid fields (unknown people or values too), with a message per field in "
            "`error.fields`: every problem at once",
            {
                "recipients": "Not in the directory: nobody@example.com",
                "message": "This field is required.",
                "visibility": "Choose who can see this kudos: public, team or private.",
            },
            query=False,
        ),
        "429": _failure(
            "The sender's daily limit is reached (code `daily_limit`), or too many sends or "
            "calls in a short time (`rate_limited`)",
            _error(
                "daily_limit",
                "You have sent 20 kudos today, the daily limit. Thank you for being "
                "generous! You can send more tomorrow.",
            ),
            RETRY_AFTER,
        ),
    },
    "get_kudos": {
        "200": _ok(models.Kudos, KUDOS_ANSWER),
        "401": UNAUTHORIZED,
        "404": _failure(
            "No such kudos, or you may not see it",
            _error("not_found", "No such kudos, or you may not see it."),
        ),
        "429": RATE_LIMITED,
    },
    "list_values": {
        "200": _ok(
            models.Values,
            {
                "items": [
                    {
                        "slug": "mentor",
                        "name": "Mentor",
                        "emoji": "🧭",
                        "description": "Helped someone learn or grow.",
                    }
                ]
            },
        ),
        "401": UNAUTHORIZED,
        "429": RATE_LIMITED,
    },
    "list_users": {
        "200": _ok(
            models.Users,
            {
                "items": [
                    {
                        **GRACE,
                        "email": "grace@example.com",
                        "title": "Rear admiral",
                        "team": "Platform",
                        "department": "Engineering",
                    }
                ]
            },
        ),
        "401": UNAUTHORIZED,
        "422": _invalid(
            "Invalid parameters, with a message per parameter in `error.fields`",
            {"limit": "Must be a whole number from 1 to 20."},
        ),
        "429": RATE_LIMITED,
    },
    "get_preferences": {
        "200": _ok(models.Preferences, PREFERENCES),
        "401": UNAUTHORIZED,
        "429": RATE_LIMITED,
    },
    "put_preferences": {
        "200": _ok(models.Preferences, PREFERENCES),
        **BAD_BODY,
        "401": UNAUTHORIZED,
        "422": _invalid(
            "Invalid fields (unknown values too), with a message per field in "
            "`error.fields`: every problem at once",
            {
                "style": "This field is required.",
                "favourite_values": "Unknown values: no-such-value",
            },
            query=False,
        ),
        "429": RATE_LIMITED,
    },
    "leaderboard": {
        "200": _ok(
            models.Leaderboard,
            {
                "month": "2026-11",
                "board": "received",
                "month_to_date": True,
                "entries": [ENTRY, {"rank": 2, "person": ALAN, "score": 9}],
                "me": ENTRY,
            },
        ),
        "401": UNAUTHORIZED,
        "422": MONTH_INVALID,
        "429": RATE_LIMITED,
    },
    "manager_summary": {
        "200": _ok(models.ManagerSummary, SUMMARY),
        "401": UNAUTHORIZED,
        "403": _failure(
            "Not a manager (nobody active reports to the token's owner), or someone else's "
            "summary and not an admin",
            _error(
                "forbidden", "Only a manager and Kudos admins may see a manager's team summary."
            ),
        ),
        "404": _failure("Admins: no person with that id", _error("not_found", "No such manager.")),
        "422": MONTH_INVALID,
        "429": RATE_LIMITED,
    },
}
# The models in the document's components.
REQUESTS = (models.NewKudos, models.PreferencesUpdate)
ANSWERS = (
    models.KudosPage,
    models.Kudos,
    models.Values,
    models.Users,
    models.Preferences,
    models.Leaderboard,
    models.ManagerSummary,
    models.Error,
)


def responses(operation: str) -> dict[str, Any]:
    return RESPONSES[operation]


def openapi_document() -> dict[str, Any]:
    """The document, made once per application (30 ms): read it, don't change it."""
    if DOCUMENT not in current_app.extensions:
        current_app.extensions[DOCUMENT] = _document()
    return current_app.extensions[DOCUMENT]


def _document() -> dict[str, Any]:
    from kudos.api.views import bp

    schemas: dict[str, Any] = {}
    register(schemas, *REQUESTS, mode="validation")
    register(schemas, *ANSWERS)
    return document(
        bp.paths,
        schemas,
        prefix=PREFIX,
        server=base_url() + PREFIX,
        info=INFO,
        tags=bp.tags,
        security_schemes=SECURITY_SCHEMES,
    )
