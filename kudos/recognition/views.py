"""Recognition pages: feeds, composing, a single kudos, reactions, deletion."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user
from flask_wtf.csrf import generate_csrf
from sqlalchemy import ColumnElement, select
from werkzeug.wrappers import Response

from kudos import ratelimit
from kudos.auth.redirects import is_local_path
from kudos.db import utcnow, valid_ids
from kudos.extensions import db
from kudos.people import former_slugs
from kudos.people.models import Person
from kudos.people.services import search_people
from kudos.recognition import cards, feed, reports
from kudos.recognition.compose import join_names, kudos_left_today, preview
from kudos.recognition.forms import (
    VISIBILITY_CHOICES,
    ActionForm,
    ComposeForm,
    HideForm,
    ReportForm,
)
from kudos.recognition.models import Kudos, Reaction, Value
from kudos.recognition.services import (
    MAX_RECIPIENTS,
    KudosRejected,
    can_delete,
    delete_kudos,
    send_kudos,
    toggle_reaction,
)
from kudos.recognition.values import KIND as VALUE_SLUGS
from kudos.recognition.visibility import can_see
from kudos.timeutil import org_zone

bp = Blueprint("recognition", __name__)


def cursor_from_request() -> feed.Cursor | None:
    raw = request.args.get("before")
    if raw is None:
        return None
    try:
        return feed.Cursor.decode(raw)
    except ValueError:
        abort(400, "That feed position is not valid. Start again from the newest kudos.")


def viewing() -> cards.Viewing:
    """This request's part of every kudos card."""
    here = request.full_path if request.query_string else request.path
    return cards.Viewing(generate_csrf(), here, utcnow())


def feed_page(where: ColumnElement[bool] | None = None) -> cards.CardPage:
    return cards.feed_page(
        db.session, current_user, viewing(), where=where, before=cursor_from_request()
    )


@bp.get("/")
@ratelimit.page
def company_feed() -> str:
    return render_template("feed/company.html", page=feed_page(), actions=ActionForm())


@bp.get("/values/<slug>")
@ratelimit.page
def value_feed(slug: str) -> str | Response:
    value = db.session.scalar(select(Value).where(Value.slug == slug))
    if value is None:
        # A renamed value: old links lead to its new address, for good.
        moved = former_slugs.target_of(db.session, VALUE_SLUGS, slug)
        value = db.session.get(Value, moved) if moved is not None else abort(404)
        return redirect(url_for("recognition.value_feed", slug=value.slug), 301)
    return render_template(
        "feed/value.html",
        value=value,
        page=feed_page(feed.with_value(value.id)),
        actions=ActionForm(),
    )


# Composing ---------------------------------------------------------------------


def _ids(name: str) -> list[int]:
    """Ids from repeated form fields; anything that is not a number is dropped."""
    return [int(item) for item in request.form.getlist(name) if item.strip().isdigit()][:50]


def _people(ids: list[int]) -> list[Person]:
    found = {
        person.id: person
        for person in db.session.scalars(select(Person).where(Person.id.in_(valid_ids(ids))))
    }
    return [found[person_id] for person_id in dict.fromkeys(ids) if person_id in found]


@bp.get("/kudos/new/preview")
def compose_preview() -> str:
    """The preview again, for the page's script as recipients change: who
    will see the kudos, the choices overridden and the recipients' cards."""
    ids = [int(item) for item in request.args.getlist("recipients") if item.isdigit()][:50]
    chosen = [person for person in _people(ids) if person.id != current_user.id]
    return render_template(
        "kudos/_preview.html",
        preview=preview(chosen, request.args.get("visibility", "public")),
    )


def _render_compose(
    form: ComposeForm,
    chosen: list[Person],
    value_ids: list[int],
    *,
    errors: dict[str, str] | None = None,
    matches: list[Person] | None = None,
    status: int = 200,
) -> tuple[str, int]:
    values = db.session.scalars(select(Value).where(Value.active).order_by(Value.position))
    errors = errors or {}
    if len(chosen) > MAX_RECIPIENTS and "recipients" not in errors:
        # Ticked past the limit without the page's script: said before Send.
        errors["recipients"] = (
            f"Choose at most {MAX_RECIPIENTS} people: remove {len(chosen) - MAX_RECIPIENTS}."
        )
    daily_limit = current_app.config["DAILY_KUDOS_LIMIT"]
    return render_template(
        "kudos/new.html",
        form=form,
        chosen=chosen,
        chosen_value_ids=set(value_ids),
        values=list(values),
        errors=errors,
        matches=matches,
        max_recipients=MAX_RECIPIENTS,
        visibility_choices=VISIBILITY_CHOICES,
        preview=preview(chosen, form.visibility.data or ""),
        daily_limit=daily_limit,
        kudos_left=kudos_left_today(
            db.session, current_user, now=utcnow(), zone=org_zone(), daily_limit=daily_limit
        ),
    ), status


@bp.route("/kudos/new", methods=["GET", "POST"])
@ratelimit.sending
def compose() -> Response | tuple[str, int]:
    form = ComposeForm()
    if request.method == "GET":
        to = request.args.get("to", "")
        chosen = _people([int(to)]) if to.isdigit() and int(to) != current_user.id else []
        # ``?value=slug`` (from a value's page) ticks that value to start with.
        value_ids = db.session.scalars(
            select(Value.id).where(Value.slug == request.args.get("value", ""), Value.active)
        ).all()
        return _render_compose(form, chosen, list(value_ids))

    recipient_ids = _ids("recipients")
    chosen = _people(recipient_ids)
    value_ids = _ids("values")
    action = request.form.get("action", "send")
    if action.startswith("remove:"):
        chosen = [person for person in chosen if str(person.id) != action.split(":", 1)[1]]
        return _render_compose(form, chosen, value_ids)
    if action == "search" and len(chosen) >= MAX_RECIPIENTS:
        return _render_compose(form, chosen, value_ids)  # the page says it is full
    if action == "search":
        matches = [
            person
            for person in search_people(
                db.session, form.q.data or "", limit=10, exclude_id=current_user.id
            )
            if person not in chosen
        ]
        return _render_compose(form, chosen, value_ids, matches=matches)

    try:
        result = send_kudos(
            db.session,
            current_user,
            recipient_ids,
            value_ids,
            form.message.data or "",
            form.visibility.data or "",
            now=utcnow(),
            zone=ZoneInfo(current_app.config["TIMEZONE"]),
            daily_limit=current_app.config["DAILY_KUDOS_LIMIT"],
            idempotency_key=(form.idempotency_key.data or None),
        )
    except KudosRejected as rejected:
        db.session.rollback()
        page, status = _render_compose(
            form, chosen, value_ids, errors=rejected.fields, status=rejected.status
        )
        if rejected.retry_after is not None:
            return page, status, {"Retry-After": str(rejected.retry_after)}
        return page, status
    db.session.commit()
    kudos = result.kudos
    names = join_names([person.first_name for person in kudos.recipients])
    text = f"Your kudos to {names} is on its way. Thank you for noticing!"
    if can_delete(current_user, kudos, utcnow()):
        # With an "Undo" button (base.html): the take-back, while it is allowed.
        flash({"text": text, "undo": url_for("recognition.delete", kudos_id=kudos.id)}, "success")
    else:
        flash(text, "success")
    return redirect(url_for("recognition.company_feed"))


# One kudos, reactions, deletion ------------------------------------------------


def load_kudos(kudos_id: int, *, include_hidden: bool = False) -> Kudos:
    """The kudos if the viewer may see it; 404 otherwise (never reveal it exists)."""
    kudos = feed.kudos_with_details(db.session, kudos_id)
    if kudos is None or not can_see(current_user, kudos, include_hidden=include_hidden):
        abort(404)
    return kudos


@bp.get("/kudos/<id:kudos_id>")
def show(kudos_id: int) -> str:
    kudos = load_kudos(kudos_id, include_hidden=current_user.is_admin)
    return render_template(
        "kudos/show.html",
        kudos=kudos,
        card=cards.card(kudos, current_user, viewing()),
        actions=ActionForm(),
        hide_form=HideForm(),
        report_form=ReportForm(),
        deletable=can_delete(current_user, kudos, utcnow()),
    )


def _back(default: str) -> Response:
    target = request.form.get("next", "")
    return redirect(target if is_local_path(target) else default)


@bp.post("/kudos/<id:kudos_id>/react")
def react(kudos_id: int) -> Response | tuple[Response, int]:
    kudos = load_kudos(kudos_id)
    wants_json = request.accept_mimetypes.best == "application/json"
    try:
        reacted = toggle_reaction(db.session, current_user, kudos, now=utcnow())
    except KudosRejected as rejected:  # their own kudos
        db.session.rollback()
        if wants_json:
            error = {"code": "forbidden", "message": rejected.message}
            return jsonify(error=error), rejected.status
        flash(rejected.message, "error")
        return _back(url_for("recognition.show", kudos_id=kudos.id))
    db.session.commit()
    if wants_json:
        count = len(db.session.scalars(select(Reaction).where(Reaction.kudos_id == kudos.id)).all())
        return jsonify(reacted=reacted, count=count)
    return _back(url_for("recognition.show", kudos_id=kudos.id))


@bp.post("/kudos/<id:kudos_id>/delete")
def delete(kudos_id: int) -> Response | tuple[str, int]:
    kudos = load_kudos(kudos_id)
    try:
        delete_kudos(db.session, current_user, kudos, now=utcnow(), zone=org_zone())
    except KudosRejected as rejected:
        db.session.rollback()
        flash(rejected.message, "error")
        return redirect(url_for("recognition.show", kudos_id=kudos_id))
    db.session.commit()
    flash("Your kudos was deleted.", "info")
    return redirect(url_for("recognition.company_feed"))


@bp.post("/kudos/<id:kudos_id>/report")
def report(kudos_id: int) -> Response:
    """Ask the moderators to look at a kudos the person can see (404 otherwise)."""
    kudos = load_kudos(kudos_id)
    try:
        reports.report_kudos(
            db.session, current_user, kudos, ReportForm().reason.data or "", now=utcnow()
        )
    except KudosRejected as rejected:
        db.session.rollback()
        flash(rejected.message, "error")
        return redirect(url_for("recognition.show", kudos_id=kudos_id))
    db.session.commit()
    flash(
        "Thank you. A moderator will look at it; nobody else is told who reported it.",
        "success",
    )
    return redirect(url_for("recognition.show", kudos_id=kudos_id))
