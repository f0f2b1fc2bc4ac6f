"""JSON API v1, authenticated by personal API tokens (``Authorization: Bearer``).

Never by the session cookie: a cookie-authenticated JSON API would need CSRF
protection; a bearer token cannot be sent by another site's page. Every
endpoint calls the same services and visibility helper as the web pages.

The requests and answers are the pydantic models of ``kudos.api.models``;
flask-openapi3 collects them, with what each route declares here, into the
OpenAPI document (``kudos.api.document``).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from functools import wraps
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from flask import Response, current_app, g, jsonify, request
from flask_openapi3 import APIBlueprint
from sqlalchemy import select

from kudos import ratelimit
from kudos.api import document, errors
from kudos.api.contract import invalid, operation_id, validated
from kudos.api.errors import ApiError
from kudos.api.models import (
    Kudos,
    KudosPage,
    KudosPath,
    KudosQuery,
    Leaderboard,
    LeaderboardEntry,
    LeaderboardQuery,
    ManagerSummary,
    NewKudos,
    PersonRef,
    Preferences,
    PreferencesUpdate,
    SendHeaders,
    SummaryQuery,
    Users,
    UsersQuery,
    Values,
    dump,
)
from kudos.auth.tokens import TokenExpired, authenticate, hash_token, last_use_pending
from kudos.db import utcnow, valid_ids
from kudos.extensions import csrf, db
from kudos.leaderboard.services import Entry, standings
from kudos.leaderboard.views import parse_query as parse_leaderboard_query
from kudos.people.models import Person, Team, normalize_email
from kudos.people.services import search_people
from kudos.preferences.services import (
    PreferenceChoices,
    PreferencesRejected,
    check_preferences,
    save_preferences,
    stored_slack_choices,
)
from kudos.recognition import events, feed
from kudos.recognition.models import Value
from kudos.recognition.services import KudosRejected, check_kudos, known_values, send_kudos
from kudos.recognition.visibility import can_see
from kudos.summary import views as summary_views
from kudos.summary.services import SummaryForbidden, SummaryNotFound, summary_subject
from kudos.timeutil import Month, not_started
from kudos.urls import external_url

bp = APIBlueprint("api", __name__, url_prefix="/api/v1", operation_id_callback=operation_id)
csrf.exempt(bp)
errors.init_blueprint(bp)

View = TypeVar("View", bound=Callable[..., Any])


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


@bp.get("/openapi.json", doc_ui=False)
def openapi() -> Response:
    return jsonify(document.openapi_document())


# Kudos -------------------------------------------------------------------------


def _feed_filters(fields: dict[str, Any]) -> tuple[list[Any], feed.Cursor | None, dict[str, str]]:
    """The feed's conditions and cursor from well-formed parameters; a message
    per one that names nothing (an unknown slug, a forged cursor)."""
    problems: dict[str, str] = {}
    conditions = []
    if team_slug := fields.get("team"):
        team_id = db.session.scalar(select(Team.id).where(Team.slug == team_slug))
        if team_id is None:
            problems["team"] = f"No team with the slug {team_slug!r}."
        else:
            conditions.append(feed.for_team(team_id))
    if value_slug := fields.get("value"):
        value_id = db.session.scalar(select(Value.id).where(Value.slug == value_slug))
        if value_id is None:
            problems["value"] = f"No value with the slug {value_slug!r}."
        else:
            conditions.append(feed.with_value(value_id))
    if (person := fields.get("person")) is not None:
        given = fields.get("direction") == "given"
        conditions.append(feed.given_by(person) if given else feed.received_by(person))
    before = None
    if (cursor := fields.get("before")) is not None:
        before = _cursor(cursor)
        if before is None:
            problems["before"] = "Not a cursor from a previous page's next."
    return conditions, before, problems


def _cursor(text: str) -> feed.Cursor | None:
    """A cursor from ``next``, or None for anything else. A forged one may
    overflow the date range or the id column: refuse it here, not in SQL."""
    try:
        cursor = feed.Cursor.decode(text)
    except (ValueError, OverflowError):
        return None
    return cursor if valid_ids([cursor.kudos_id]) else None


@bp.get("/kudos", responses=document.responses("list_kudos"), tags=[document.KUDOS_TAG])
@token_required
@validated(rules=lambda fields: _feed_filters(fields)[2])
def list_kudos(query: KudosQuery) -> Response:
    """Kudos the token's owner may see, newest first"""
    conditions, before, problems = _feed_filters(query.model_dump())
    if problems:
        raise invalid(problems, query=True)
    where = None
    for condition in conditions:
        where = condition if where is None else (where & condition)
    page = feed.feed_page(db.session, viewer(), where=where, before=before, size=query.limit)
    answer = KudosPage(items=page.items, next=page.older.encode() if page.older else None)
    return jsonify(dump(answer))


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


def _kudos_problems(fields: dict[str, Any]) -> dict[str, str]:
    """Every rule the well-formed fields break: unknown people and values,
    then the service's own rules (sending would stop at the first ones)."""
    problems: dict[str, str] = {}
    recipient_ids, unknown_people = _recipient_ids(fields.get("recipients", []))
    values = {value.slug: value.id for value in known_values(db.session).values()}
    value_slugs = fields.get("values", [])
    if unknown_people:
        problems["recipients"] = "Not in the directory: " + ", ".join(unknown_people)
    if unknown_values := [slug for slug in value_slugs if slug not in values]:
        problems["values"] = "Unknown values: " + ", ".join(unknown_values)
    try:
        check_kudos(
            db.session,
            viewer(),
            recipient_ids,
            [values.get(slug, -1) for slug in value_slugs],
            fields.get("message", ""),
            fields.get("visibility") or "public",
        )
    except KudosRejected as rejected:
        for name, message in rejected.fields.items():
            if name != "__all__":
                problems.setdefault(name, message)
    return {name: text for name, text in problems.items() if name in fields}


@bp.post("/kudos", responses=document.responses("create_kudos"), tags=[document.KUDOS_TAG])
@token_required
@ratelimit.sending
@validated(rules=_kudos_problems)
def create_kudos(body: NewKudos, header: SendHeaders) -> tuple[Response, int]:
    """Send kudos"""
    recipient_ids, unknown_people = _recipient_ids(body.recipients)
    values = {value.slug: value.id for value in known_values(db.session).values()}
    if unknown_people or any(slug not in values for slug in body.values):
        problems = _kudos_problems(body.model_dump())
        events.kudos_refused.announce(list(problems))  # sending would have refused them too
        raise invalid(problems)
    try:
        result = send_kudos(
            db.session,
            viewer(),
            recipient_ids,
            [values[slug] for slug in body.values],
            body.message,
            body.visibility or "public",
            now=utcnow(),
            zone=ZoneInfo(current_app.config["TIMEZONE"]),
            daily_limit=current_app.config["DAILY_KUDOS_LIMIT"],
            idempotency_key=header.idempotency_key,
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
        response = jsonify(dump(Kudos.model_validate(kudos)))
        response.headers["Idempotent-Replayed"] = "true"
        return response, 200
    # A new kudos: the send holds everything the answer shows, so it is
    # written out before the commit expires it, without reading it back.
    answer = dump(Kudos.model_validate(result.kudos))
    db.session.commit()
    response = jsonify(answer)
    response.headers["Location"] = external_url("api.get_kudos", kudos_id=answer["id"])
    return response, 201


@bp.get(
    "/kudos/<id:kudos_id>", responses=document.responses("get_kudos"), tags=[document.KUDOS_TAG]
)
@token_required
@validated()
def get_kudos(path: KudosPath) -> Response:
    """One kudos"""
    kudos = feed.kudos_with_details(db.session, path.kudos_id)
    if kudos is None or not can_see(viewer(), kudos):
        raise ApiError(404, "not_found", "No such kudos, or you may not see it.")
    return jsonify(dump(Kudos.model_validate(kudos)))


# Values and people -------------------------------------------------------------


@bp.get("/values", responses=document.responses("list_values"), tags=[document.DIRECTORY_TAG])
@token_required
def list_values() -> Response:
    """The company's active values"""
    values = db.session.scalars(select(Value).where(Value.active).order_by(Value.position))
    return jsonify(dump(Values(items=list(values))))


@bp.get("/users", responses=document.responses("list_users"), tags=[document.DIRECTORY_TAG])
@token_required
@validated()
def list_users(query: UsersQuery) -> Response:
    """Find active people by name or e-mail"""
    people = search_people(db.session, query.q[:100], limit=query.limit)
    return jsonify(dump(Users(items=people)))


# My preferences ----------------------------------------------------------------


@bp.get(
    "/me/preferences",
    responses=document.responses("get_preferences"),
    tags=[document.PREFERENCES_TAG],
)
@token_required
def get_preferences() -> Response:
    """How the token's owner likes to be recognised"""
    return jsonify(dump(Preferences.of(viewer().preference)))


def _choices(fields: dict[str, Any]) -> tuple[PreferenceChoices, list[str]]:
    """The choices in the service's terms, and the favourite slugs that name no value."""
    favourites = fields.get("favourite_values") or []
    ids = dict(
        db.session.execute(select(Value.slug, Value.id).where(Value.slug.in_(favourites))).all()
    )
    # Optional: a client that does not send them keeps the stored answers.
    kept = stored_slack_choices(viewer().preference)
    slack = {
        name: kept[name] if fields.get(name) is None else fields[name]
        for name in ("slack_opt_in", "in_slack_channel")
    }
    choices = PreferenceChoices(
        fields.get("audience", "public"),
        fields.get("style", "low_key"),
        fields.get("email_opt_in", False),
        fields.get("on_leaderboards", True),
        [ids.get(slug, -1) for slug in favourites],
        fields.get("best_way_to_thank"),
        **slack,
    )
    return choices, [slug for slug in favourites if slug not in ids]


def _preference_problems(fields: dict[str, Any]) -> dict[str, str]:
    choices, unknown = _choices(fields)
    problems = {"favourite_values": "Unknown values: " + ", ".join(unknown)} if unknown else {}
    try:
        check_preferences(db.session, choices)
    except PreferencesRejected as rejected:
        for name, message in rejected.fields.items():
            problems.setdefault(name, message)
    return {name: text for name, text in problems.items() if name in fields}


@bp.put(
    "/me/preferences",
    responses=document.responses("put_preferences"),
    tags=[document.PREFERENCES_TAG],
)
@token_required
@validated(rules=_preference_problems)
def put_preferences(body: PreferencesUpdate) -> Response:
    """Change how the token's owner likes to be recognised"""
    fields = body.model_dump()
    choices, unknown = _choices(fields)
    if unknown:
        raise invalid(_preference_problems(fields))
    try:
        save_preferences(db.session, viewer(), choices, now=utcnow())
    except PreferencesRejected as rejected:
        db.session.rollback()
        raise invalid(rejected.fields) from None
    db.session.commit()
    return jsonify(dump(Preferences.of(viewer().preference)))


# Leaderboards ------------------------------------------------------------------


def refuse_unstarted_month(month: Month, now: datetime, zone: ZoneInfo) -> None:
    """A month still to come has no board or summary yet: say so (422)."""
    if (why := not_started(month, now, zone)) is not None:
        raise ApiError(422, "month_not_started", why, {"month": why})


def _board_query(fields: dict[str, Any]) -> tuple[Any, dict[str, str]]:
    wanted = ("month", "value", "team", "department")
    return parse_leaderboard_query({name: fields[name] for name in wanted if fields.get(name)})


@bp.get("/leaderboard", responses=document.responses("leaderboard"), tags=[document.MONTHS_TAG])
@token_required
@validated(rules=lambda fields: _board_query(fields)[1])
def leaderboard(query: LeaderboardQuery) -> Response:
    """A monthly leaderboard (recognitions given or received)"""
    board_query, problems = _board_query(query.model_dump())
    if board_query is None:
        raise invalid(problems, query=True)
    now, zone = utcnow(), ZoneInfo(current_app.config["TIMEZONE"])
    refuse_unstarted_month(board_query.month, now, zone)
    result = standings(
        db.session,
        query.board,
        board_query.month,
        filters=board_query.filters,
        limit=query.limit,
        viewer_id=viewer().id,
    )

    def entry(item: Entry) -> LeaderboardEntry:
        return LeaderboardEntry(
            rank=item.rank, person=PersonRef(id=item.person_id, name=item.name), score=item.score
        )

    answer = Leaderboard(
        month=str(board_query.month),
        board=query.board,
        month_to_date=board_query.month == Month.containing(now, zone),
        entries=[entry(item) for item in result.entries],
        me=entry(result.viewer) if result.viewer else None,
    )
    return jsonify(dump(answer))


# Manager's summary -------------------------------------------------------------


def _month_problems(fields: dict[str, Any]) -> dict[str, str]:
    try:
        Month.parse(fields["month"]) if fields.get("month") else None
    except ValueError as error:
        return {"month": str(error)}
    return {}


@bp.get(
    "/manager/summary", responses=document.responses("manager_summary"), tags=[document.MONTHS_TAG]
)
@token_required
@validated(rules=_month_problems)
def manager_summary(query: SummaryQuery) -> Response:
    """A manager's monthly team summary (the manager and admins only)"""
    now = utcnow()
    zone = ZoneInfo(current_app.config["TIMEZONE"])
    if problems := _month_problems(query.model_dump()):
        raise invalid(problems, query=True)
    month = Month.parse(query.month) if query.month else Month.containing(now, zone)
    try:
        subject = summary_subject(db.session, viewer(), query.manager)
    except SummaryForbidden:
        own = query.manager in (None, viewer().id)
        message = summary_views.NOT_A_MANAGER if own else summary_views.NOT_YOURS
        raise ApiError(403, "forbidden", message) from None
    except SummaryNotFound:
        raise ApiError(404, "not_found", "No such manager.") from None
    refuse_unstarted_month(month, now, zone)
    wanted = summary_views.SummaryQuery(month, query.manager, query.indirect)
    summary = summary_views.cached_summary(viewer(), subject, wanted, now=now)
    return jsonify(dump(ManagerSummary.of(summary)))
