"""The OpenAPI 3.1 document for /api/v1, kept beside the code it describes.

Tests check it against the real endpoints with schemathesis, so a change to
an endpoint that is not reflected here fails the suite.
"""

from __future__ import annotations

from typing import Any

from kudos.recognition.services import (
    IDEMPOTENCY_KEY_MAX_LENGTH,
    MAX_MESSAGE_LENGTH,
    MAX_RECIPIENTS,
    MAX_VALUES,
)
from kudos.urls import base_url


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _error(description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": _ref("Error")}}}


def _json(
    schema: dict[str, Any], description: str = "OK", headers: dict[str, Any] | None = None
) -> dict[str, Any]:
    response = {"description": description, "content": {"application/json": {"schema": schema}}}
    if headers:
        response["headers"] = headers
    return response


def _header(description: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"description": description, "required": True, "schema": schema}


ERRORS = {
    "401": {
        **_error(
            "No token, or a wrong or revoked one, or its owner is inactive "
            "(`error.code` `unauthorized`); or the token has expired "
            "(`error.code` `token_expired`: make a new one)"
        ),
        "headers": {"WWW-Authenticate": _header('`Bearer realm="kudos"`', {"type": "string"})},
    },
    "422": _error(
        "Invalid fields or parameters (an unknown team or value slug too), "
        "with a message per field in `error.fields`: every problem at once"
    ),
    "429": {
        **_error("Too many calls with this token in a short time (code `rate_limited`)"),
        "headers": {"Retry-After": _header("Seconds until trying again", {"type": "integer"})},
    },
}
ID = {"type": "integer", "minimum": 1}
# The 422 of the monthly endpoints: bad parameters, or a month still to come.
MONTH_ERRORS = _error(
    "Invalid parameters, with a message per parameter in `error.fields` (code `invalid`); "
    "or a month that has not begun yet in the company's time zone (code `month_not_started`, "
    "with a message naming the month and its first day, also in `error.fields.month`)"
)

VISIBILITY = {"type": "string", "enum": ["public", "team", "private"]}
PERSON_REF = {
    "type": "object",
    "required": ["id", "name"],
    "properties": {"id": {"type": "integer"}, "name": {"type": "string"}},
}

PREFERENCE_FIELDS = {
    "audience": VISIBILITY,
    "style": {"type": "string", "enum": ["low_key", "celebratory"]},
    "email_opt_in": {"type": "boolean"},
    "on_leaderboards": {"type": "boolean"},
    "favourite_values": {
        "type": ["array", "null"],
        "items": {"type": "string"},
        "maxItems": 3,
        "description": "Value slugs; absent or null means none.",
    },
    "best_way_to_thank": {"type": ["string", "null"], "maxLength": 280},
}
# Slack, beside e-mail. Always answered (whether or not the company has
# connected Slack); optional in PUT, so clients written before them still work.
SLACK_FIELDS = {
    "slack_opt_in": {
        "type": "boolean",
        "description": "A Slack direct message for each kudos received, when the "
        "company has connected Slack.",
    },
    "in_slack_channel": {
        "type": "boolean",
        "description": "For a public kudos announced in the company Slack channel: "
        "true names this person in the post; false leaves them out of it and tells "
        "them by Slack direct message instead.",
    },
}


def _kept_when_absent(schema: dict[str, Any], new: str) -> dict[str, Any]:
    """A PUT field that may be left out, keeping the current answer."""
    return {
        **schema,
        "type": [schema["type"], "null"],
        "description": f"{schema['description']} Optional: absent or null keeps the "
        f"current answer ({new} for someone new).",
    }


SLACK_UPDATE_FIELDS = {
    "slack_opt_in": _kept_when_absent(SLACK_FIELDS["slack_opt_in"], "false"),
    "in_slack_channel": _kept_when_absent(SLACK_FIELDS["in_slack_channel"], "true"),
}
# Answered by GET, ignored by PUT, so that a GET answer can be sent back
# unchanged. The PUT schema does not say readOnly: tools read that as "must
# not be sent" (schemathesis expects a refusal), and it is not refused.
ONBOARDED = {
    "type": "boolean",
    "readOnly": True,
    "description": "Whether the person has chosen their preferences; read-only.",
}
IGNORED_ONBOARDED = {"description": "Read-only (see GET): ignored, whatever its value."}

SHARE = {
    "type": ["number", "null"],
    "minimum": 0,
    "maximum": 1,
    "description": "A fraction from 0 to 1; null when there is nobody to divide by.",
}
COUNT = {"type": "integer", "minimum": 0}
MONTH = {"type": "string", "pattern": "^[0-9]{4}-[0-9]{2}$"}


def _object(properties: dict[str, Any]) -> dict[str, Any]:
    return {"type": "object", "required": list(properties), "properties": properties}


VALUE_COUNT = _object(
    {
        "slug": {"type": "string"},
        "name": {"type": "string"},
        "emoji": {"type": "string"},
        "count": COUNT,
    }
)
DEPARTMENT_COUNT = _object(
    {
        "department_id": {"type": ["integer", "null"]},
        "name": {"type": "string"},
        "count": COUNT,
    }
)
SUMMARY_SCHEMAS: dict[str, Any] = {
    "ManagerSummary": _object(
        {
            "manager": PERSON_REF,
            "month": MONTH,
            "month_to_date": {"type": "boolean"},
            "indirect": {"type": "boolean"},
            "as_of": {
                "type": "string",
                "format": "date-time",
                "description": "The end of the month, or now for the month in progress: "
                "when last recognised and the 60-day flag look back from.",
            },
            "totals": _object(
                {
                    "people": COUNT,
                    "received": COUNT,
                    "given": COUNT,
                    "previous_received": COUNT,
                    "previous_given": COUNT,
                    "received_change": {"type": "integer"},
                    "given_change": {"type": "integer"},
                }
            ),
            "manager_part": _object(
                {
                    "share_recognised_by_manager": SHARE,
                    "share_sent": SHARE,
                    "share_received": SHARE,
                }
            ),
            "trend": {
                "type": "array",
                "minItems": 6,
                "maxItems": 6,
                "description": "The six months ending with `month`, oldest first.",
                "items": _object(
                    {
                        "month": MONTH,
                        "received": COUNT,
                        "given": COUNT,
                        "recipients": COUNT,
                        "senders": COUNT,
                        "recognised_by_manager": COUNT,
                        "share_recognised_by_manager": SHARE,
                        "share_sent": SHARE,
                        "share_received": SHARE,
                    }
                ),
            },
            "values": {"type": "array", "items": VALUE_COUNT},
            "internal_customers": _object(
                {
                    "thanked_the_team": {"type": "array", "items": DEPARTMENT_COUNT},
                    "thanked_by_the_team": {"type": "array", "items": DEPARTMENT_COUNT},
                }
            ),
            "people": {"type": "array", "items": _ref("ManagerSummaryPerson")},
        }
    ),
    "ManagerSummaryPerson": _object(
        {
            "id": {"type": "integer"},
            "name": {"type": "string"},
            "email": {"type": "string"},
            "title": {"type": ["string", "null"]},
            "team": {"type": ["string", "null"]},
            "department": {"type": ["string", "null"]},
            "direct": {"type": "boolean"},
            "received": COUNT,
            "given": COUNT,
            "distinct_senders": COUNT,
            "from_other_departments": COUNT,
            "share_from_other_departments": SHARE,
            "values": {"type": "array", "items": VALUE_COUNT},
            "last_recognised_at": {"type": ["string", "null"], "format": "date-time"},
            "days_since_recognised": {"type": ["integer", "null"], "minimum": 0},
            "none_this_month": {"type": "boolean"},
            "none_in_60_days": {"type": "boolean"},
            "recognised_by_manager": {"type": "boolean"},
            "preferences": _object(
                {
                    "onboarded": {"type": "boolean"},
                    "audience": VISIBILITY,
                    "style": {"type": "string", "enum": ["low_key", "celebratory"]},
                    "email_opt_in": {"type": "boolean"},
                    "slack_opt_in": {"type": "boolean"},
                    "on_leaderboards": {"type": "boolean"},
                    "favourite_values": {"type": "array", "items": {"type": "string"}},
                    "best_way_to_thank": {"type": ["string", "null"]},
                }
            ),
            "quotes": {
                "type": "array",
                "maxItems": 3,
                "description": "The newest kudos this month that the manager (and the "
                "token's owner) may see.",
                "items": _object(
                    {
                        "kudos_id": {"type": "integer"},
                        "sender": PERSON_REF,
                        "message": {"type": "string"},
                        "visibility": VISIBILITY,
                        "created_at": {"type": "string", "format": "date-time"},
                    }
                ),
            },
        }
    ),
}

SCHEMAS: dict[str, Any] = {
    "Error": {
        "type": "object",
        "required": ["error"],
        "properties": {
            "error": {
                "type": "object",
                "required": ["code", "message"],
                "properties": {
                    "code": {"type": "string"},
                    "message": {"type": "string"},
                    "fields": {"type": "object", "additionalProperties": {"type": "string"}},
                },
            }
        },
    },
    "Kudos": {
        "type": "object",
        "required": [
            "id",
            "sender",
            "recipients",
            "values",
            "message",
            "visibility",
            "requested_visibility",
            "created_at",
            "reactions",
            "url",
        ],
        "properties": {
            "id": {"type": "integer"},
            "sender": PERSON_REF,
            "recipients": {"type": "array", "items": PERSON_REF},
            "values": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["slug", "name", "emoji"],
                    "properties": {
                        "slug": {"type": "string"},
                        "name": {"type": "string"},
                        "emoji": {"type": "string"},
                    },
                },
            },
            "message": {"type": "string"},
            "visibility": {
                **VISIBILITY,
                "description": "Effective: the most private of the "
                "sender's choice and each recipient's preference.",
            },
            "requested_visibility": VISIBILITY,
            "created_at": {"type": "string", "format": "date-time"},
            "reactions": {"type": "integer", "minimum": 0},
            "url": {"type": "string", "format": "uri"},
        },
    },
    "KudosPage": {
        "type": "object",
        "required": ["items", "next"],
        "properties": {
            "items": {"type": "array", "items": _ref("Kudos")},
            "next": {
                "type": ["string", "null"],
                "description": "Pass as `before` for the next (older) page.",
            },
        },
    },
    "NewKudos": {
        "type": "object",
        "required": ["recipients", "values", "message"],
        "additionalProperties": False,
        "properties": {
            "recipients": {
                "type": "array",
                "minItems": 1,
                "maxItems": MAX_RECIPIENTS,
                "items": {"oneOf": [{"type": "integer"}, {"type": "string", "format": "email"}]},
                "description": "People's ids or e-mail addresses; never yourself.",
            },
            "values": {
                "type": "array",
                "minItems": 1,
                "maxItems": MAX_VALUES,
                "items": {"type": "string"},
                "description": "Value slugs.",
            },
            "message": {"type": "string", "minLength": 1, "maxLength": MAX_MESSAGE_LENGTH},
            "visibility": {
                "type": ["string", "null"],
                "enum": [*VISIBILITY["enum"], None],
                "default": "public",
                "description": "Absent or null means public. Recipients' preferences may "
                "make the kudos more private (see `visibility` in the answer).",
            },
        },
    },
    "Value": {
        "type": "object",
        "required": ["slug", "name", "emoji", "description"],
        "properties": {
            "slug": {"type": "string"},
            "name": {"type": "string"},
            "emoji": {"type": "string"},
            "description": {"type": "string"},
        },
    },
    "User": {
        "type": "object",
        "required": ["id", "name", "email", "title", "team", "department"],
        "properties": {
            "id": {"type": "integer"},
            "name": {"type": "string"},
            "email": {"type": "string"},
            "title": {"type": ["string", "null"]},
            "team": {"type": ["string", "null"]},
            "department": {"type": ["string", "null"]},
        },
    },
    "Preferences": {
        "type": "object",
        "required": [
            "audience",
            "style",
            "email_opt_in",
            "slack_opt_in",
            "in_slack_channel",
            "on_leaderboards",
            "favourite_values",
            "best_way_to_thank",
            "onboarded",
        ],
        "properties": {**PREFERENCE_FIELDS, **SLACK_FIELDS, "onboarded": ONBOARDED},
    },
    "Leaderboard": {
        "type": "object",
        "required": ["month", "board", "month_to_date", "entries", "me"],
        "properties": {
            "month": {"type": "string", "pattern": "^[0-9]{4}-[0-9]{2}$"},
            "board": {"type": "string", "enum": ["given", "received"]},
            "month_to_date": {"type": "boolean"},
            "entries": {"type": "array", "items": _ref("LeaderboardEntry")},
            "me": {
                "oneOf": [_ref("LeaderboardEntry"), {"type": "null"}],
                "description": "The token owner's own line, wherever it is.",
            },
        },
    },
    "LeaderboardEntry": {
        "type": "object",
        "required": ["rank", "person", "score"],
        "properties": {
            "rank": {"type": "integer", "minimum": 1},
            "person": PERSON_REF,
            "score": {"type": "integer", "minimum": 1},
        },
    },
    **SUMMARY_SCHEMAS,
    "PreferencesUpdate": {
        "type": "object",
        "required": ["audience", "style", "email_opt_in", "on_leaderboards"],
        "additionalProperties": False,
        "properties": {
            **PREFERENCE_FIELDS,
            **SLACK_UPDATE_FIELDS,
            "onboarded": IGNORED_ONBOARDED,
        },
    },
}


def _query(name: str, description: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {
        "name": name,
        "in": "query",
        "required": False,
        "description": description,
        "schema": schema,
    }


PATHS: dict[str, Any] = {
    "/kudos": {
        "get": {
            "summary": "Kudos the token's owner may see, newest first",
            "parameters": [
                _query(
                    "team",
                    "Only kudos received by someone in this team (slug; unknown: 422)",
                    {"type": "string"},
                ),
                _query("person", "Only kudos of this person (id)", ID),
                _query(
                    "direction",
                    "With person: received (default) or given",
                    {"type": "string", "enum": ["received", "given"]},
                ),
                _query(
                    "value", "Only kudos for this value (slug; unknown: 422)", {"type": "string"}
                ),
                _query(
                    "before",
                    "The `next` of the previous page (anything else: 422). Pages stay "
                    "stable while new kudos arrive.",
                    {"type": "string"},
                ),
                _query(
                    "limit",
                    "Page size",
                    {"type": "integer", "minimum": 1, "maximum": 100, "default": 20},
                ),
            ],
            "responses": {"200": _json(_ref("KudosPage")), **ERRORS},
        },
        "post": {
            "summary": "Send kudos",
            "parameters": [
                {
                    "name": "Idempotency-Key",
                    "in": "header",
                    "required": False,
                    "description": "Repeat a request with the same key to get the same kudos "
                    "instead of a second one (1 to 128 characters, no control characters).",
                    "schema": {
                        "type": "string",
                        "minLength": 1,
                        "maxLength": IDEMPOTENCY_KEY_MAX_LENGTH,
                        "pattern": "^[^\\x00-\\x1f\\x7f]*$",
                    },
                }
            ],
            "requestBody": {
                "required": True,
                "content": {"application/json": {"schema": _ref("NewKudos")}},
            },
            "responses": {
                "201": _json(
                    _ref("Kudos"),
                    "Created",
                    {"Location": _header("The new kudos in this API", {"type": "string"})},
                ),
                "200": _json(
                    _ref("Kudos"),
                    "Replayed: a kudos with this Idempotency-Key already existed",
                    {
                        "Idempotent-Replayed": _header(
                            "Always `true`", {"type": "string", "enum": ["true"]}
                        )
                    },
                ),
                **ERRORS,  # the 429 below says more
                "400": _error("The body is not JSON, or a bad Idempotency-Key"),
                "409": _error("The Idempotency-Key was used for a different kudos"),
                "413": _error("The body is larger than 1 MiB"),
                "415": _error("Not application/json"),
                "429": {
                    **_error(
                        "The sender's daily limit is reached (code `daily_limit`), or too "
                        "many sends or calls in a short time (`rate_limited`)"
                    ),
                    "headers": {
                        "Retry-After": _header("Seconds until trying again", {"type": "integer"})
                    },
                },
            },
        },
    },
    "/kudos/{kudos_id}": {
        "get": {
            "summary": "One kudos",
            "parameters": [{"name": "kudos_id", "in": "path", "required": True, "schema": ID}],
            "responses": {
                "200": _json(_ref("Kudos")),
                "404": _error("No such kudos, or you may not see it"),
                **ERRORS,
            },
        },
    },
    "/values": {
        "get": {
            "summary": "The company's active values",
            "responses": {
                "200": _json(
                    {
                        "type": "object",
                        "required": ["items"],
                        "properties": {"items": {"type": "array", "items": _ref("Value")}},
                    }
                ),
                **ERRORS,
            },
        },
    },
    "/users": {
        "get": {
            "summary": "Find active people by name or e-mail",
            "parameters": [
                _query("q", "Words of a name or e-mail address", {"type": "string"}),
                _query(
                    "limit",
                    "At most this many",
                    {"type": "integer", "minimum": 1, "maximum": 20, "default": 10},
                ),
            ],
            "responses": {
                "200": _json(
                    {
                        "type": "object",
                        "required": ["items"],
                        "properties": {"items": {"type": "array", "items": _ref("User")}},
                    }
                ),
                **ERRORS,
            },
        },
    },
    "/leaderboard": {
        "get": {
            "summary": "A monthly leaderboard (recognitions given or received)",
            "parameters": [
                _query(
                    "month",
                    "YYYY-MM in the company's time zone (default: this month)",
                    {"type": "string"},
                ),
                _query(
                    "board",
                    "given (top appreciators, default) or received",
                    {"type": "string", "enum": ["given", "received"]},
                ),
                _query("value", "Only recognitions for this value (slug)", {"type": "string"}),
                _query("team", "Only people in this team (slug)", {"type": "string"}),
                _query("department", "Only people in this department (slug)", {"type": "string"}),
                _query(
                    "limit",
                    "How many lines",
                    {"type": "integer", "minimum": 1, "maximum": 100, "default": 10},
                ),
            ],
            "responses": {
                "200": _json(_ref("Leaderboard")),
                **ERRORS,
                "422": MONTH_ERRORS,
            },
        },
    },
    "/manager/summary": {
        "get": {
            "summary": "A manager's monthly team summary (the manager and admins only)",
            "parameters": [
                _query(
                    "month",
                    "YYYY-MM in the company's time zone (default: this month)",
                    {"type": "string"},
                ),
                _query(
                    "indirect",
                    "true: every report below the manager, not just direct reports",
                    {"type": "boolean", "default": False},
                ),
                _query(
                    "manager",
                    "Admins only: whose summary (a person's id; default: the token's owner)",
                    ID,
                ),
            ],
            "responses": {
                "200": _json(_ref("ManagerSummary")),
                "403": _error(
                    "Not a manager (nobody active reports to the token's owner), or "
                    "someone else's summary and not an admin"
                ),
                "404": _error("Admins: no person with that id"),
                **ERRORS,
                "422": MONTH_ERRORS,
            },
        },
    },
    "/me/preferences": {
        "get": {
            "summary": "How the token's owner likes to be recognised",
            "responses": {"200": _json(_ref("Preferences")), **ERRORS},
        },
        "put": {
            "summary": "Change how the token's owner likes to be recognised",
            "requestBody": {
                "required": True,
                "content": {"application/json": {"schema": _ref("PreferencesUpdate")}},
            },
            "responses": {
                "200": _json(_ref("Preferences")),
                "400": _error("The body is not JSON"),
                "413": _error("The body is larger than 1 MiB"),
                "415": _error("Not application/json"),
                **ERRORS,
            },
        },
    },
}


def openapi_document() -> dict[str, Any]:
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Kudos API",
            "version": "1",
            "description": "Send and read kudos. Authenticate with a personal API token "
            "(create one on /settings/tokens or with `kudos tokens create`).",
        },
        "servers": [{"url": base_url() + "/api/v1"}],
        "security": [{"bearer": []}],
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": SCHEMAS,
        },
        "paths": PATHS,
    }
