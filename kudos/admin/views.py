"""Admin pages: moderation (reports, hide and restore kudos) and the audit log.

Moderation is not reading: an admin may hide, restore and dismiss reports
about any kudos, found by id or reported, but reads the message of a kudos
outside their audience only by opening it on purpose, which is audited.
"""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import exists, select
from sqlalchemy.orm import joinedload, selectinload
from werkzeug.wrappers import Response

from kudos import ratelimit
from kudos.admin.blueprint import bp
from kudos.audit.models import AuditEntry
from kudos.auth.access import admin_required
from kudos.auth.redirects import is_local_path
from kudos.db import utcnow
from kudos.extensions import db
from kudos.leaderboard.services import mutual_pairs
from kudos.leaderboard.views import parse_query
from kudos.recognition import feed, reports
from kudos.recognition.forms import ActionForm, HideForm
from kudos.recognition.models import Kudos, Recognition
from kudos.recognition.services import KudosRejected, hide_kudos, restore_kudos
from kudos.timeutil import Month, not_started, org_zone

AUDIT_PAGE_SIZE = 50


@bp.get("/moderation")
@admin_required
def moderation() -> str:
    # Every hidden kudos, also those the admin may not read; the template
    # shows a message only where ``readable`` says so.
    hidden = list(
        db.session.scalars(
            select(Kudos)
            .where(Kudos.hidden_at.is_not(None))
            .options(
                joinedload(Kudos.sender),
                joinedload(Kudos.hidden_by),
                selectinload(Kudos.recognitions).joinedload(Recognition.recipient),
            )
            .order_by(Kudos.hidden_at.desc(), Kudos.id.desc())
            .limit(feed.PAGE_SIZE)
        ).unique()
    )
    audit = db.session.scalars(
        select(AuditEntry)
        .options(joinedload(AuditEntry.actor))
        .order_by(AuditEntry.created_at.desc(), AuditEntry.id.desc())
        .limit(AUDIT_PAGE_SIZE)
    )
    return render_template(
        "admin/index.html",
        hidden=hidden,
        readable={kudos.id for kudos in hidden if reports.may_read(current_user, kudos)},
        open_reports=len(reports.open_reports(db.session)),
        audit=list(audit),
        actions=ActionForm(),
    )


@bp.get("/reports")
@admin_required
def report_list() -> str:
    return render_template("admin/reports.html", reports=reports.open_reports(db.session))


def _moderated(kudos_id: int) -> Kudos:
    """Any kudos by id, whoever may read it: moderation is not reading."""
    return feed.kudos_with_details(db.session, kudos_id) or abort(404)


def _back(kudos: Kudos) -> Response:
    """To the page the form was on: the moderation page sends its own path;
    the kudos page sends none, and the admin goes back to it when they may
    read it there, or to the moderation page when they may not."""
    target = request.form.get("next", "")
    if is_local_path(target):
        return redirect(target)
    if reports.may_read(current_user, kudos):
        return redirect(url_for("recognition.show", kudos_id=kudos.id))
    return redirect(url_for("admin.moderate", kudos_id=kudos.id))


def _moderation_page(kudos: Kudos, *, opened: bool = False) -> str:
    return render_template(
        "admin/kudos.html",
        kudos=kudos,
        readable=opened or reports.may_read(current_user, kudos),
        opened=opened,
        reports=reports.open_reports(db.session, kudos),
        hide_form=HideForm(),
        actions=ActionForm(),
    )


@bp.get("/kudos/<id:kudos_id>")
@admin_required
def moderate(kudos_id: int) -> str:
    return _moderation_page(_moderated(kudos_id))


@bp.post("/kudos/<id:kudos_id>/open")
@admin_required
def open_message(kudos_id: int) -> tuple[str, int, dict[str, str]]:
    """Show the message to an admin outside its audience, this once, audited
    (CSRF-checked like every POST). Answered directly rather than redirected,
    so no URL shows the text without a new audit entry."""
    kudos = _moderated(kudos_id)
    reports.open_for_moderation(db.session, current_user, kudos)
    db.session.commit()
    return _moderation_page(kudos, opened=True), 200, {"Cache-Control": "no-store"}


@bp.post("/kudos/<id:kudos_id>/hide")
@admin_required
def hide(kudos_id: int) -> Response:
    kudos = _moderated(kudos_id)
    form = HideForm()
    if not form.validate():
        flash(next(iter(form.errors.values()))[0], "error")
        return _back(kudos)
    try:
        hide_kudos(db.session, current_user, kudos, form.reason.data, now=utcnow(), zone=org_zone())
    except KudosRejected as rejected:
        db.session.rollback()
        flash(rejected.message, "error")
        return _back(kudos)
    db.session.commit()
    flash("The kudos is hidden from every feed, leaderboard and summary.", "success")
    return _back(kudos)


@bp.post("/kudos/<id:kudos_id>/restore")
@admin_required
def restore(kudos_id: int) -> Response:
    kudos = _moderated(kudos_id)
    restore_kudos(db.session, current_user, kudos, zone=org_zone())
    db.session.commit()
    flash("The kudos is visible again.", "success")
    return _back(kudos)


@bp.post("/kudos/<id:kudos_id>/dismiss")
@admin_required
def dismiss(kudos_id: int) -> Response:
    kudos = _moderated(kudos_id)
    count = reports.dismiss_reports(db.session, current_user, kudos, now=utcnow())
    db.session.commit()
    flash(f"{count} report{'s' if count != 1 else ''} dismissed; the kudos stays as it is.", "info")
    return redirect(url_for("admin.report_list"))


@bp.get("/reciprocity")
@ratelimit.page
@admin_required
def reciprocity() -> str:
    """Pairs who mostly thank each other this month: worth a look, nothing more."""
    query, problems = parse_query({"month": request.args.get("month", "")})
    if query is None:
        abort(400, " ".join(problems.values()))
    now, zone = utcnow(), org_zone()
    page = {"month": query.month, "current": Month.containing(now, zone)}
    if (why := not_started(query.month, now, zone)) is not None:
        return render_template("admin/reciprocity.html", not_started=why, pairs=[], **page)
    start, end = query.month.bounds(zone)
    # "Nothing stands out" only means something in a month with kudos.
    recognised = db.session.scalar(
        select(
            exists().where(
                Recognition.kudos_id == Kudos.id,
                Kudos.hidden_at.is_(None),
                Recognition.created_at >= start,
                Recognition.created_at < end,
            )
        )
    )
    return render_template(
        "admin/reciprocity.html",
        pairs=mutual_pairs(db.session, start, end),
        recognised=recognised,
        **page,
    )
