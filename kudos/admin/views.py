"""Admin pages: moderation (hide and restore kudos) and the audit log."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import joinedload
from werkzeug.wrappers import Response

from kudos import ratelimit
from kudos.audit.models import AuditEntry
from kudos.auth.access import admin_required
from kudos.db import utcnow
from kudos.extensions import db
from kudos.leaderboard.services import mutual_pairs
from kudos.leaderboard.views import parse_query
from kudos.recognition import feed
from kudos.recognition.forms import ActionForm, HideForm
from kudos.recognition.models import Kudos
from kudos.recognition.services import KudosRejected, hide_kudos, restore_kudos
from kudos.recognition.views import load_kudos
from kudos.recognition.visibility import visible_to
from kudos.timeutil import org_zone

bp = Blueprint("admin", __name__, url_prefix="/admin")

AUDIT_PAGE_SIZE = 50


@bp.get("/")
@admin_required
def index() -> str:
    hidden = db.session.scalars(
        select(Kudos)
        .where(Kudos.hidden_at.is_not(None), visible_to(current_user, include_hidden=True))
        .options(joinedload(Kudos.sender), joinedload(Kudos.hidden_by))
        .order_by(Kudos.hidden_at.desc())
        .limit(feed.PAGE_SIZE)
    ).unique()
    audit = db.session.scalars(
        select(AuditEntry)
        .options(joinedload(AuditEntry.actor))
        .order_by(AuditEntry.created_at.desc(), AuditEntry.id.desc())
        .limit(AUDIT_PAGE_SIZE)
    )
    return render_template(
        "admin/index.html", hidden=list(hidden), audit=list(audit), actions=ActionForm()
    )


@bp.post("/kudos/<id:kudos_id>/hide")
@admin_required
def hide(kudos_id: int) -> Response:
    kudos = load_kudos(kudos_id, include_hidden=True)
    form = HideForm()
    if not form.validate():
        flash(next(iter(form.errors.values()))[0], "error")
        return redirect(url_for("recognition.show", kudos_id=kudos_id))
    try:
        hide_kudos(db.session, current_user, kudos, form.reason.data, now=utcnow(), zone=org_zone())
    except KudosRejected as rejected:
        db.session.rollback()
        flash(rejected.message, "error")
        return redirect(url_for("recognition.show", kudos_id=kudos_id))
    db.session.commit()
    flash("The kudos is hidden from every feed, leaderboard and summary.", "success")
    return redirect(url_for("recognition.show", kudos_id=kudos_id))


@bp.post("/kudos/<id:kudos_id>/restore")
@admin_required
def restore(kudos_id: int) -> Response:
    kudos = load_kudos(kudos_id, include_hidden=True)
    restore_kudos(db.session, current_user, kudos, zone=org_zone())
    db.session.commit()
    flash("The kudos is visible again.", "success")
    return redirect(url_for("recognition.show", kudos_id=kudos_id))


@bp.get("/reciprocity")
@ratelimit.page
@admin_required
def reciprocity() -> str:
    """Pairs who mostly thank each other this month: worth a look, nothing more."""
    query, problems = parse_query({"month": request.args.get("month", "")})
    if query is None:
        abort(400, " ".join(problems.values()))
    start, end = query.month.bounds(org_zone())
    return render_template(
        "admin/reciprocity.html", month=query.month, pairs=mutual_pairs(db.session, start, end)
    )
