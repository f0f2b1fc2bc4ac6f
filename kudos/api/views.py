"""JSON API v1, authenticated by personal API tokens (``Authorization: Bearer``).

Never by the session cookie: a cookie-authenticated JSON API would need CSRF
protection; a bearer token cannot be sent by another site's page. Every
endpoint calls the same services and visibility helper as the web pages.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from functools import wraps
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from flask import Blueprint, Response, current_app, g, jsonify, request
from sqlalchemy import select

from kudos import ratelimit
from kudos.api import errors
from kudos.api.errors import ApiError
from kudos.api.openapi import openapi_document
from kudos.api.schemas import (
    Body,
    kudos_json,
    preferences_json,
    user_json,
    value_json,
)
from kudos.auth.tokens import TokenExpired, authenticate, hash_token, last_use_pending
from kudos.db import utcnow, valid_ids
from kudos.extensions import csrf, db
from kudos.leaderboard.services import BOARDS, DEFAULT_LIMIT, Entry, standings
from kudos.leaderboard.views import parse_query
from kudos.people.models import Person, Team, normalize_email
from kudos.people.services import search_people
from kudos.preferences.services import (
    PreferenceChoices,
    PreferencesRejected,
    check_preferences,
    save_preferences,
    stored_slack_choices,
)
from kudos.recognition import feed
from kudos.recognition.models import Value
from kudos.recognition.services import (
    CONTROL_CHARACTERS,
    KudosRejected,
    check_kudos,
    known_values,
    send_kudos,
)
from kudos.recognition.visibility import can_see
from kudos.summary import views as summary_views
from kudos.summary.export import summary_json
from kudos.summary.services import (
    SummaryForbidden,
    SummaryNotFound,
    summary_subject,
)
from kudos.timeutil import Month, not_started
from kudos.urls import external_url

bp = Blueprint("api", __name__, url_prefix="/api/v1")
csrf.exempt(bp)
errors.init_blueprint(bp)

View = TypeVar("View", bound=Callable[..., Any])
MAX_LIMIT = 100


@bp.before_request
def refuse_nul_characters() -> None:
    """No text field may hold a NUL character (PostgreSQL cannot store one)."""
    bad = {
        name: "Must not contain NUL characters."
        for name, value in request.args.items(multi=True)
        if "\x00" in value
    }
    if bad:
        raise ApiError(422, "invalid", "Some parameters are not valid.", bad)


def token_required(view: View) -> View:
    # The per-token rate limit is counted once the token is known to be good.
    limited = ratelimit.api(view)

    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:  # noqa: ANN401
        scheme, _, raw = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not raw.strip():
            raise ApiError(
                401, "unauthorized", "Send a personal API token: Authorization: Bearer <token>."
            )
        try:
            person = authenticate(db.session, raw.strip(), now=utcnow())
        except TokenExpired as expired:
            raise ApiError(
                401,
                "token_expired",
                f"This API token expired on {expired.expires_at:%Y-%m-%d %H:%M} UTC. "
                "Create a new one under Settings, API tokens.",
            ) from None
        if person is None:
            raise ApiError(
                401,
                "unauthorized",
                "This API token is not valid (wrong or revoked, or its owner is no longer active).",
            )
        if last_use_pending(db.session):
            # Its last use is kept whatever the request goes on to do (at
            # most once a minute; otherwise the request has one transaction).
            db.session.commit()
        g.api_person = person
        g.api_token_key = hash_token(raw.strip())  # the rate limit's key, never the token
        return limited(*args, **kwargs)

    return wrapper  # type: ignore[return-value]


def viewer() -> Person:
    return g.api_person


def json_body() -> dict[str, Any]:
    if not request.is_json:
        raise ApiError(
            415, "unsupported_media_type", "Send JSON with Content-Type: application/json."
        )
    raw = request.get_data(cache=True)  # over MAX_CONTENT_LENGTH: 413
    try:
        data = json.loads(raw or b"null")
    except (ValueError, UnicodeDecodeError):
        raise ApiError(400, "invalid_json", "The body is not valid JSON.") from None
    except RecursionError:  # thousands of nested brackets fit in 1 MiB
        raise ApiError(400, "invalid_json", "The body is nested too deeply.") from None
    if not isinstance(data, dict):
        raise ApiError(422, "invalid", "The body must be a JSON object.")
    return data


@bp.get("/openapi.json")
def openapi() -> Response:
    return jsonify(openapi_document())


# Kudos -------------------------------------------------------------------------


@bp.get("/kudos")
@token_required
def list_kudos() -> Response:
    problems: dict[str, str] = {}
    conditions = []
    limit_text = request.args.get("limit", str(feed.PAGE_SIZE))
    limit = int(limit_text) if limit_text.isdigit() else 0
    if not 1 <= limit <= MAX_LIMIT:
        problems["limit"] = f"Must be a whole number from 1 to {MAX_LIMIT}."
    if team_slug := request.args.get("team"):
        team_id = db.session.scalar(select(Team.id).where(Team.slug == team_slug))
        if team_id is None:
            problems["team"] = f"No team with the slug {team_slug!r}."
        else:
            conditions.append(feed.for_team(team_id))
    if value_slug := request.args.get("value"):
        value_id = db.session.scalar(select(Value.id).where(Value.slug == value_slug))
        if value_id is None:
            problems["value"] = f"No value with the slug {value_slug!r}."
        else:
            conditions.append(feed.with_value(value_id))
    direction = request.args.get("direction", "received")
    if direction not in ("received", "given"):
        problems["direction"] = "Must be received or given."
    if (person := request.args.get("person")) is not None:
        if not person.isdigit() or not valid_ids([int(person)]):
            problems["person"] = "Must be a person's id."
        elif direction == "given":
            conditions.append(feed.given_by(int(person)))
        else:
            conditions.append(feed.received_by(int(person)))
    before = None
    if (cursor := request.args.get("before")) is not None:
        before = _cursor(cursor)
        if before is None:
            problems["before"] = "Not a cursor from a previous page's next."
    if problems:
        raise ApiError(422, "invalid", "Some parameters are not valid.", problems)
    where = None
    for condition in conditions:
        where = condition if where is None else (where & condition)
    page = feed.feed_page(db.session, viewer(), where=where, before=before, size=limit)
    return jsonify(
        items=[kudos_json(kudos) for kudos in page.items],
        next=page.older.encode() if page.older else None,
    )


def _cursor(text: str) -> feed.Cursor | None:
    """A cursor from ``next``, or None for anything else. A forged one may
    overflow the date range or the id column: refuse it here, not in SQL."""
    try:
        cursor = feed.Cursor.decode(text)
    except (ValueError, OverflowError):
        return None
    return cursor if valid_ids([cursor.kudos_id]) else None


def _idempotency_key() -> str | None:
    """The header as sent; control characters (NUL above all) cannot be stored
    alike on both engines, so they are refused before the service sees them."""
    key = request.headers.get("Idempotency-Key")
    if key is not None and CONTROL_CHARACTERS.search(key):
        raise ApiError(
            400,
            "invalid",
            "The Idempotency-Key header is not valid.",
            {"idempotency_key": "Must not contain control characters."},
        )
    return key


def _recipient_ids(items: list[int | str]) -> tuple[list[int], list[str]]:
    """Ids as given, e-mail addresses looked up; also the unknown addresses."""
    emails = [normalize_email(item) for item in items if isinstance(item, str)]
    found = (
        dict(
            db.session.execute(
                select(Person.email, Person.id).where(Person.email.in_(emails))
            ).all()
        )
        if emails
        else {}  # recipients by id only: nothing to look up
    )
    ids = [
        item if isinstance(item, int) else found.get(normalize_email(item), -1) for item in items
    ]
    return ids, [email for email in emails if email not in found]


@bp.post("/kudos")
@token_required
@ratelimit.sending
def create_kudos() -> tuple[Response, int]:
    body = Body(json_body()).allow("recipients", "values", "message", "visibility")
    recipients = body.list_of("recipients", (int, str))
    value_slugs = body.list_of("values", (str,))
    message = body.string("message")
    visibility = body.string("visibility", required=False, default="public")
    recipient_ids, unknown_people = _recipient_ids(recipients)
    values = {value.slug: value.id for value in known_values(db.session).values()}
    value_ids = [values.get(slug, -1) for slug in value_slugs]
    if unknown_people:
        body.problem("recipients", "Not in the directory: " + ", ".join(unknown_people))
    if unknown_values := [slug for slug in value_slugs if slug not in values]:
        body.problem("values", "Unknown values: " + ", ".join(unknown_values))
    if body.problems:
        # The service's rules for the other fields too, so that one answer
        # lists every problem (sending would stop at the first ones).
        try:
            check_kudos(db.session, viewer(), recipient_ids, value_ids, message, visibility)
        except KudosRejected as rejected:
            body.add_rule_problems(rejected.fields)
    body.check()
    key = _idempotency_key()
    try:
        result = send_kudos(
            db.session,
            viewer(),
            recipient_ids,
            value_ids,
            message,
            visibility,
            now=utcnow(),
            zone=ZoneInfo(current_app.config["TIMEZONE"]),
            daily_limit=current_app.config["DAILY_KUDOS_LIMIT"],
            idempotency_key=key,
        )
    except KudosRejected as rejected:
        db.session.rollback()
        fields = {name: text for name, text in rejected.fields.items() if name != "__all__"}
        retry = (
            {"Retry-After": str(rejected.retry_after)} if rejected.retry_after is not None else None
        )
        raise ApiError(
            rejected.status, rejected.code, rejected.message, fields or None, headers=retry
        ) from None
    if not result.created:
        db.session.commit()
        kudos = feed.kudos_with_details(db.session, result.kudos.id)
        response = jsonify(kudos_json(kudos))
        response.headers["Idempotent-Replayed"] = "true"
        return response, 200
    # A new kudos: the send holds everything the answer shows, so it is
    # written out before the commit expires it, without reading it back.
    answer = kudos_json(result.kudos)
    db.session.commit()
    response = jsonify(answer)
    response.headers["Location"] = external_url("api.get_kudos", kudos_id=answer["id"])
    return response, 201


@bp.get("/kudos/<id:kudos_id>")
@token_required
def get_kudos(kudos_id: int) -> Response:
    kudos = feed.kudos_with_details(db.session, kudos_id)
    if kudos is None or not can_see(viewer(), kudos):
        raise ApiError(404, "not_found", "No such kudos, or you may not see it.")
    return jsonify(kudos_json(kudos))


# Values and people -------------------------------------------------------------


@bp.get("/values")
@token_required
def list_values() -> Response:
    values = db.session.scalars(select(Value).where(Value.active).order_by(Value.position))
    return jsonify(items=[value_json(value) for value in values])


@bp.get("/users")
@token_required
def list_users() -> Response:
    limit_text = request.args.get("limit", "10")
    if not limit_text.isdigit() or not 1 <= int(limit_text) <= 20:
        raise ApiError(
            422,
            "invalid",
            "Some parameters are not valid.",
            {"limit": "Must be a whole number from 1 to 20."},
        )
    people = search_people(db.session, request.args.get("q", "")[:100], limit=int(limit_text))
    return jsonify(items=[user_json(person) for person in people])


# My preferences ----------------------------------------------------------------


@bp.get("/me/preferences")
@token_required
def get_preferences() -> Response:
    return jsonify(preferences_json(viewer().preference))


@bp.put("/me/preferences")
@token_required
def put_preferences() -> Response:
    body = Body(json_body()).allow(
        "audience",
        "style",
        "email_opt_in",
        "slack_opt_in",
        "in_slack_channel",
        "on_leaderboards",
        "favourite_values",
        "best_way_to_thank",
        read_only=("onboarded",),
    )
    audience = body.string("audience")
    style = body.string("style")
    email_opt_in = body.boolean("email_opt_in")
    # Optional: a client that does not send them keeps the stored answers.
    kept = stored_slack_choices(viewer().preference)
    slack_opt_in = body.boolean("slack_opt_in", required=False, default=kept["slack_opt_in"])
    in_slack_channel = body.boolean(
        "in_slack_channel", required=False, default=kept["in_slack_channel"]
    )
    on_leaderboards = body.boolean("on_leaderboards")
    favourites = body.list_of("favourite_values", (str,), required=False, max_items=10)
    best_way = body.string("best_way_to_thank", required=False, default=None)
    ids = dict(
        db.session.execute(select(Value.slug, Value.id).where(Value.slug.in_(favourites))).all()
    )
    if unknown := [slug for slug in favourites if slug not in ids]:
        body.problem("favourite_values", "Unknown values: " + ", ".join(unknown))
    favourite_ids = [ids.get(slug, -1) for slug in favourites]
    choices = PreferenceChoices(
        audience,
        style,
        email_opt_in,
        on_leaderboards,
        favourite_ids,
        best_way,
        slack_opt_in=slack_opt_in,
        in_slack_channel=in_slack_channel,
    )
    if body.problems:
        # The service's rules for the other fields too: one answer, every problem.
        try:
            check_preferences(db.session, choices)
        except PreferencesRejected as rejected:
            body.add_rule_problems(rejected.fields)
    body.check()
    try:
        save_preferences(db.session, viewer(), choices, now=utcnow())
    except PreferencesRejected as rejected:
        db.session.rollback()
        raise ApiError(422, "invalid", "Some fields are not valid.", rejected.fields) from None
    db.session.commit()
    return jsonify(preferences_json(viewer().preference))


# Leaderboards ------------------------------------------------------------------


def refuse_unstarted_month(month: Month, now: datetime, zone: ZoneInfo) -> None:
    """A month still to come has no board or summary yet: say so (422)."""
    if (why := not_started(month, now, zone)) is not None:
        raise ApiError(422, "month_not_started", why, {"month": why})


@bp.get("/leaderboard")
@token_required
def leaderboard() -> Response:
    query, problems = parse_query(request.args.to_dict())
    board = request.args.get("board", "given")
    if board not in BOARDS:
        problems["board"] = "Must be given or received."
    limit_text = request.args.get("limit", str(DEFAULT_LIMIT))
    if not limit_text.isdigit() or not 1 <= int(limit_text) <= MAX_LIMIT:
        problems["limit"] = f"Must be a whole number from 1 to {MAX_LIMIT}."
    if problems or query is None:
        raise ApiError(422, "invalid", "Some parameters are not valid.", problems)
    now, zone = utcnow(), ZoneInfo(current_app.config["TIMEZONE"])
    refuse_unstarted_month(query.month, now, zone)
    result = standings(
        db.session,
        board,
        query.month,
        filters=query.filters,
        limit=int(limit_text),
        viewer_id=viewer().id,
    )

    def entry(item: Entry) -> dict[str, object]:
        return {
            "rank": item.rank,
            "person": {"id": item.person_id, "name": item.name},
            "score": item.score,
        }

    return jsonify(
        month=str(query.month),
        board=board,
        month_to_date=query.month == Month.containing(now, zone),
        entries=[entry(item) for item in result.entries],
        me=entry(result.viewer) if result.viewer else None,
    )


# Manager's summary -------------------------------------------------------------


@bp.get("/manager/summary")
@token_required
def manager_summary() -> Response:
    now = utcnow()
    query, problems = summary_views.parse_query(request.args.to_dict(), strict=True, now=now)
    if query is None:
        raise ApiError(422, "invalid", "Some parameters are not valid.", problems)
    try:
        subject = summary_subject(db.session, viewer(), query.manager_id)
    except SummaryForbidden:
        own = query.manager_id in (None, viewer().id)
        message = summary_views.NOT_A_MANAGER if own else summary_views.NOT_YOURS
        raise ApiError(403, "forbidden", message) from None
    except SummaryNotFound:
        raise ApiError(404, "not_found", "No such manager.") from None
    refuse_unstarted_month(query.month, now, ZoneInfo(current_app.config["TIMEZONE"]))
    summary = summary_views.cached_summary(viewer(), subject, query, now=now)
    return jsonify(summary_json(summary))
