"""The API's contract: pydantic models of every request and answer of
``/api/v1``. They validate what comes in (``contract.validated``), make the
answers from the database's objects, and are the OpenAPI document's schemas.

Answers are built with ``Model.of(…)`` or, where the names match, read by
attribute; ``dump`` gives the JSON-ready dict the views send.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Field, computed_field

from kudos.api.contract import Answer, Query, QueryBool, Request, Say, Text, query_int
from kudos.db import MAX_ID
from kudos.preferences.models import BEST_WAY_MAX_LENGTH, MAX_FAVOURITE_VALUES
from kudos.preferences.services import AUDIENCE_CHOICE, STYLE_CHOICE
from kudos.recognition.services import (
    IDEMPOTENCY_KEY_MAX_LENGTH,
    MAX_MESSAGE_LENGTH,
    MAX_RECIPIENTS,
    MAX_VALUES,
    VISIBILITY_CHOICE,
)
from kudos.urls import external_url

Visibility = Literal["public", "team", "private"]
Style = Literal["low_key", "celebratory"]
Board = Literal["given", "received"]
Id = Annotated[int, Field(ge=1, le=MAX_ID)]
QueryId = query_int(1, MAX_ID)
Count = Annotated[int, Field(ge=0)]
Month = Annotated[str, Field(pattern=r"^[0-9]{4}-[0-9]{2}$", examples=["2026-11"])]
ReadOnly = {"readOnly": True}


def _name_of(thing: Any) -> Any:  # noqa: ANN401
    """A related team or department, answered by its name."""
    return getattr(thing, "name", thing)


def _share(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


Share = Annotated[
    Annotated[float, Field(ge=0, le=1)] | None,
    BeforeValidator(_share),
    Field(description="A fraction from 0 to 1; null when there is nobody to divide by."),
]


def dump(answer: Answer) -> dict[str, Any]:
    return answer.model_dump(mode="json")


# People, values, kudos ---------------------------------------------------------


class PersonRef(Answer):
    id: int = Field(json_schema_extra=ReadOnly)
    name: str


class ValueRef(Answer):
    slug: str
    name: str
    emoji: str


class Value(ValueRef):
    description: str


class Values(Answer):
    items: list[Value]


class User(Answer):
    id: int = Field(json_schema_extra=ReadOnly)
    name: str
    email: str
    title: str | None
    team: Annotated[str | None, BeforeValidator(_name_of)]
    department: Annotated[str | None, BeforeValidator(_name_of)]


class Users(Answer):
    items: list[User]


class Kudos(Answer):
    id: int = Field(json_schema_extra=ReadOnly)
    sender: PersonRef
    recipients: list[PersonRef]
    values: list[ValueRef]
    message: str
    visibility: Visibility = Field(
        description="Effective: the most private of the sender's choice and each "
        "recipient's preference."
    )
    requested_visibility: Visibility = Field(description="What the sender chose.")
    created_at: datetime = Field(json_schema_extra=ReadOnly)
    reactions: Annotated[int, BeforeValidator(len), Field(ge=0, description="Applause.")]

    @computed_field(json_schema_extra={"format": "uri", **ReadOnly})
    @property
    def url(self) -> str:
        """The kudos' page on the site."""
        return external_url("recognition.show", kudos_id=self.id)


class KudosPath(Query):
    kudos_id: Id


class KudosPage(Answer):
    items: list[Kudos]
    next: str | None = Field(description="Pass as `before` for the next (older) page.")


class KudosQuery(Query):
    team: Text | None = Field(
        None,
        description="Only kudos received by someone in this team (slug; unknown: 422)",
        json_schema_extra={"example": "platform"},
    )
    person: Annotated[QueryId | None, Say("Must be a person's id.")] = Field(
        None, description="Only kudos of this person (id)", json_schema_extra={"example": 42}
    )
    direction: Literal["received", "given"] = Field(
        "received", description="With person: received (default) or given"
    )
    value: Text | None = Field(
        None,
        description="Only kudos for this value (slug; unknown: 422)",
        json_schema_extra={"example": "mentor"},
    )
    before: Text | None = Field(
        None,
        description="The `next` of the previous page (anything else: 422). Pages stay "
        "stable while new kudos arrive.",
    )
    limit: query_int(1, 100) = Field(20, description="Page size")


class NewKudos(Request):
    model_config = {
        "openapi_extra": {
            "examples": {
                "by_id": {
                    "summary": "Recipients by id",
                    "value": {
                        "recipients": [42],
                        "values": ["mentor"],
                        "message": "Thanks for pairing on the outage runbook!",
                    },
                },
                "by_email": {
                    "summary": "By e-mail, seen by the team only",
                    "value": {
                        "recipients": ["grace@example.com", 7],
                        "values": ["caring", "ownership"],
                        "message": "You both stayed late to get payroll out. Thank you.",
                        "visibility": "team",
                    },
                },
            }
        }
    }

    # The counts and the length are the service's rules, which count as
    # people mean: distinct people and values, the message without the space
    # around it. The document states them; the service enforces them.
    recipients: list[Id | Annotated[Text, Field(json_schema_extra={"format": "email"})]] = Field(
        description="People's ids or e-mail addresses; never yourself. At most "
        f"{MAX_RECIPIENTS} different people.",
        json_schema_extra={"minItems": 1, "maxItems": MAX_RECIPIENTS},
    )
    values: list[Text] = Field(
        description=f"Value slugs: at most {MAX_VALUES} different ones.",
        json_schema_extra={"minItems": 1, "maxItems": MAX_VALUES},
    )
    message: Text = Field(
        description=f"At most {MAX_MESSAGE_LENGTH} characters, not counting space around it.",
        json_schema_extra={"minLength": 1, "maxLength": MAX_MESSAGE_LENGTH},
    )
    visibility: Annotated[Visibility | None, Say(literal_error=VISIBILITY_CHOICE)] = Field(
        "public",
        description="Absent or null means public. Recipients' preferences may make the "
        "kudos more private (see `visibility` in the answer).",
    )


class SendHeaders(Query):
    model_config = {"strict": True}

    idempotency_key: Annotated[
        Annotated[
            str,
            Field(
                min_length=1, max_length=IDEMPOTENCY_KEY_MAX_LENGTH, pattern=r"^[^\x00-\x1f\x7f]*$"
            ),
        ]
        | None,
        Say(string_pattern_mismatch="Must not contain control characters."),
    ] = Field(
        None,
        alias="Idempotency-Key",
        description="Repeat a request with the same key to get the same kudos instead of "
        f"a second one (1 to {IDEMPOTENCY_KEY_MAX_LENGTH} characters, no control characters).",
        json_schema_extra={"example": "2f0c6d1e-retry-1"},
    )


# Users -------------------------------------------------------------------------


class UsersQuery(Query):
    q: Text = Field(
        "",
        description="Words of a name or e-mail address",
        json_schema_extra={"example": "grace"},
    )
    limit: query_int(1, 20) = Field(10, description="At most this many")


# Preferences -------------------------------------------------------------------


class Preferences(Answer):
    audience: Visibility
    style: Style
    email_opt_in: bool
    slack_opt_in: bool = Field(
        description="A Slack direct message for each kudos received, when the company has "
        "connected Slack."
    )
    in_slack_channel: bool = Field(
        description="For a public kudos announced in the company Slack channel: true names "
        "this person in the post; false leaves them out of it and tells them by Slack direct "
        "message instead."
    )
    on_leaderboards: bool
    favourite_values: list[str] = Field(description="Value slugs.")
    best_way_to_thank: str | None
    onboarded: bool = Field(
        description="Whether the person has chosen their preferences; read-only.",
        json_schema_extra=ReadOnly,
    )

    @classmethod
    def of(cls, preference: Any) -> Preferences:  # noqa: ANN401 - a RecognitionPreference
        if preference is None:
            return cls(**NOT_CHOSEN)
        return cls(
            audience=preference.audience,
            style=preference.style,
            email_opt_in=preference.email_opt_in,
            slack_opt_in=preference.slack_opt_in,
            in_slack_channel=preference.in_slack_channel,
            on_leaderboards=preference.on_leaderboards,
            favourite_values=[value.slug for value in preference.favourite_values],
            best_way_to_thank=preference.best_way_to_thank,
            onboarded=True,
        )


NOT_CHOSEN: dict[str, Any] = {
    "audience": "public",
    "style": "low_key",
    "email_opt_in": False,
    "slack_opt_in": False,
    "in_slack_channel": True,
    "on_leaderboards": True,
    "favourite_values": [],
    "best_way_to_thank": None,
    "onboarded": False,
}


def _kept(what: str, new: str) -> str:
    return f"{what} Optional: absent or null keeps the current answer ({new} for someone new)."


class PreferencesUpdate(Request):
    """A GET answer may be sent back as it is: its read-only fields are ignored."""

    model_config = {
        "openapi_extra": {
            "examples": {
                "quiet": {
                    "summary": "A quiet pat on the back, in the team",
                    "value": {
                        "audience": "team",
                        "style": "low_key",
                        "email_opt_in": True,
                        "on_leaderboards": False,
                        "favourite_values": ["caring"],
                        "best_way_to_thank": "A short note is plenty.",
                    },
                },
                "loud": {
                    "summary": "Air horns, everywhere",
                    "value": {
                        "audience": "public",
                        "style": "celebratory",
                        "email_opt_in": True,
                        "slack_opt_in": True,
                        "in_slack_channel": True,
                        "on_leaderboards": True,
                        "favourite_values": ["ownership", "mentor"],
                        "best_way_to_thank": None,
                        "onboarded": True,
                    },
                },
            }
        }
    }

    audience: Annotated[Visibility, Say(literal_error=AUDIENCE_CHOICE)]
    style: Annotated[Style, Say(literal_error=STYLE_CHOICE)]
    email_opt_in: bool
    slack_opt_in: bool | None = Field(
        None, description=_kept(Preferences.model_fields["slack_opt_in"].description, "false")
    )
    in_slack_channel: bool | None = Field(
        None, description=_kept(Preferences.model_fields["in_slack_channel"].description, "true")
    )
    on_leaderboards: bool
    favourite_values: Annotated[
        list[Text] | None,
        Field(max_length=MAX_FAVOURITE_VALUES),
        Say(too_long=f"Pick up to {MAX_FAVOURITE_VALUES} values."),
    ] = Field(None, description="Value slugs; absent or null means none.")
    best_way_to_thank: Annotated[Text | None, Field(max_length=BEST_WAY_MAX_LENGTH)] = None
    # Not marked readOnly here: tools read that in a request as "must not be
    # sent" (schemathesis sends it expecting a refusal), and it is accepted.
    onboarded: Any = Field(
        None, exclude=True, description="Read-only (see GET): ignored, whatever its value."
    )


# Leaderboards ------------------------------------------------------------------


class LeaderboardQuery(Query):
    month: Text | None = Field(
        None,
        description="YYYY-MM in the company's time zone (default: this month)",
        json_schema_extra={"example": "2026-11"},
    )
    board: Board = Field("given", description="given (top appreciators, default) or received")
    value: Text | None = Field(None, description="Only recognitions for this value (slug)")
    team: Text | None = Field(None, description="Only people in this team (slug)")
    department: Text | None = Field(None, description="Only people in this department (slug)")
    limit: query_int(1, 100) = Field(10, description="How many lines")


class LeaderboardEntry(Answer):
    rank: int = Field(ge=1)
    person: PersonRef
    score: int = Field(ge=1)


class Leaderboard(Answer):
    month: Month
    board: Board
    month_to_date: bool
    entries: list[LeaderboardEntry]
    me: LeaderboardEntry | None = Field(description="The token owner's own line, wherever it is.")


# The manager's summary ---------------------------------------------------------


class SummaryQuery(Query):
    month: Text | None = Field(
        None,
        description="YYYY-MM in the company's time zone (default: this month)",
        json_schema_extra={"example": "2026-11"},
    )
    indirect: QueryBool = Field(
        False, description="true: every report below the manager, not just direct reports"
    )
    manager: Annotated[QueryId | None, Say("Must be a person's id (a whole number).")] = Field(
        None,
        description="Admins only: whose summary (a person's id; default: the token's owner)",
    )


class ValueCount(Answer):
    slug: str
    name: str
    emoji: str
    count: Count


class DepartmentCount(Answer):
    department_id: int | None
    name: str
    count: Count


class SummaryTotals(Answer):
    people: Count
    received: Count
    given: Count
    previous_received: Count
    previous_given: Count
    received_change: int
    given_change: int


class ManagerPart(Answer):
    share_recognised_by_manager: Share
    share_sent: Share
    share_received: Share


class TrendPoint(ManagerPart):
    month: Annotated[Month, BeforeValidator(str)]
    received: Count
    given: Count
    recipients: Count
    senders: Count
    recognised_by_manager: Count


class InternalCustomers(Answer):
    thanked_the_team: list[DepartmentCount]
    thanked_by_the_team: list[DepartmentCount]


class SummaryPreferences(Answer):
    onboarded: bool
    audience: Visibility
    style: Style
    email_opt_in: bool
    slack_opt_in: bool
    on_leaderboards: bool
    favourite_values: list[str]
    best_way_to_thank: str | None


class Quote(Answer):
    kudos_id: int
    sender: PersonRef
    message: str
    visibility: Visibility
    created_at: datetime

    @classmethod
    def of(cls, quote: Any) -> Quote:  # noqa: ANN401 - a summary's quote
        return cls(
            kudos_id=quote.kudos_id,
            sender=PersonRef(id=quote.sender_id, name=quote.sender_name),
            message=quote.message,
            visibility=quote.visibility,
            created_at=quote.created_at,
        )


class ManagerSummaryPerson(Answer):
    id: int
    name: str
    email: str
    title: str | None
    team: str | None
    department: str | None
    direct: bool
    received: Count
    given: Count
    distinct_senders: Count
    from_other_departments: Count
    share_from_other_departments: Share
    values: list[ValueCount]
    last_recognised_at: datetime | None
    days_since_recognised: Count | None
    none_this_month: bool
    none_in_60_days: bool
    recognised_by_manager: bool
    preferences: SummaryPreferences
    quotes: Annotated[
        list[Quote],
        BeforeValidator(lambda quotes: [Quote.of(quote) for quote in quotes]),
        Field(
            max_length=3,
            description="The newest kudos this month that the manager (and the token's "
            "owner) may see.",
        ),
    ]


class ManagerSummary(Answer):
    manager: PersonRef
    month: Annotated[Month, BeforeValidator(str)]
    month_to_date: bool
    indirect: bool
    as_of: datetime = Field(
        description="The end of the month, or now for the month in progress: when last "
        "recognised and the 60-day flag look back from."
    )
    totals: SummaryTotals
    manager_part: ManagerPart
    trend: list[TrendPoint] = Field(
        min_length=6, max_length=6, description="The six months ending with `month`, oldest first."
    )
    values: list[ValueCount]
    internal_customers: InternalCustomers
    people: list[ManagerSummaryPerson]

    @classmethod
    def of(cls, summary: Any) -> ManagerSummary:  # noqa: ANN401 - a summary.services.Summary
        return cls(
            manager=PersonRef(id=summary.manager_id, name=summary.manager_name),
            month=summary.month,
            month_to_date=summary.month_to_date,
            indirect=summary.indirect,
            as_of=summary.as_of,
            totals=SummaryTotals(
                people=len(summary.people),
                received=summary.totals.received,
                given=summary.totals.given,
                previous_received=summary.totals.previous_received,
                previous_given=summary.totals.previous_given,
                received_change=summary.totals.received_change,
                given_change=summary.totals.given_change,
            ),
            manager_part=ManagerPart.model_validate(summary.current),
            trend=summary.trend,
            values=summary.values,
            internal_customers=InternalCustomers(
                thanked_the_team=summary.thanked_the_team,
                thanked_by_the_team=summary.thanked_by_the_team,
            ),
            people=summary.people,
        )


# Errors ------------------------------------------------------------------------


class ErrorDetail(Answer):
    model_config = {"json_schema_serialization_defaults_required": False}

    code: str = Field(examples=["invalid"])
    message: str
    fields: dict[str, str] = Field(
        default_factory=dict,
        description="A message per field or parameter: every problem at once. Absent when "
        "the problem is not one field's.",
    )


class Error(Answer):
    error: ErrorDetail
