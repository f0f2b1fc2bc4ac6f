"""Admin console: the people directory, and one person's placement, rights
and account (with where each field came from).

A field SCIM provisioning owns is shown disabled: browsers do not send a
disabled input, so a field missing from the form means "unchanged" (and
``change_placement`` refuses a crafted change to one).
"""

from __future__ import annotations

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import func, select
from werkzeug.datastructures import MultiDict
from werkzeug.wrappers import Response

from kudos.admin.blueprint import bp
from kudos.admin.forms import PersonForm
from kudos.auth.models import ApiToken, Identity
from kudos.db import utcnow
from kudos.extensions import db
from kudos.people import sources
from kudos.people.manage import (
    PLACEMENT_INPUTS,
    SCIM_MANAGED,
    STATUSES,
    PersonChangeRefused,
    change_placement,
    directory_page,
    set_active,
    set_admin,
)
from kudos.people.models import Department, Person, Team
from kudos.recognition.forms import ActionForm
from kudos.scim.models import ScimUser

NOBODY = ""


@bp.get("/people")
def people() -> str:
    query = request.args.get("q", "").strip()[:200]
    status = request.args.get("status", "active")
    if status not in STATUSES:
        status = "active"
    page = request.args.get("page", "1")
    listing = directory_page(db.session, query, status, int(page) if page.isdigit() else 1)
    return render_template(
        "admin/people.html", listing=listing, query=query, status=status, statuses=STATUSES
    )


def _person(person_id: int) -> Person:
    return db.session.get(Person, person_id) or abort(404)


def _groups(model: type[Team] | type[Department]) -> list[tuple[str, str]]:
    rows = db.session.execute(select(model.id, model.name).order_by(func.lower(model.name)))
    return [(NOBODY, "(none)")] + [(str(group_id), name) for group_id, name in rows]


def _placement_values(person: Person) -> dict[str, str]:
    return {
        "team": str(person.team_id or NOBODY),
        "department": str(person.department_id or NOBODY),
        "manager_email": person.manager.email if person.manager else "",
    }


def _placement_form(person: Person, formdata: MultiDict | None = None) -> PersonForm:
    """The form with the person's placement, then ``formdata`` over it: an
    input the form did not send keeps the person's value."""
    form = PersonForm(formdata=formdata, **_placement_values(person))
    form.team.choices = _groups(Team)
    form.department.choices = _groups(Department)
    for field, name in PLACEMENT_INPUTS.items():
        if sources.owned_by_scim(person, field):
            form[name].render_kw = {**(form[name].render_kw or {}), "disabled": True}
            form[name].description = SCIM_MANAGED
    return form


def _person_page(person: Person, form: PersonForm, errors: dict[str, str]) -> str:
    config = current_app.config
    sso_on = bool(config.get("OIDC_ISSUER"))
    return render_template(
        "admin/person.html",
        person=person,
        form=form,
        errors=errors,
        actions=ActionForm(),
        fields=[
            (
                field,
                sources.SOURCE_NAMES.get(sources.source_of(person, field) or "", "not recorded"),
                sources.overwritten_by(field, config["OIDC_CLAIMS"], sso_on, person=person),
            )
            for field in sources.FIELDS
        ],
        scim_fields=[field for field in sources.FIELDS if sources.owned_by_scim(person, field)],
        scim_active=sources.owned_by_scim(person, "active"),
        identities=list(
            db.session.scalars(select(Identity).where(Identity.person_id == person.id))
        ),
        scim_user=db.session.get(ScimUser, person.id),
        live_tokens=db.session.scalar(
            select(func.count()).where(
                ApiToken.person_id == person.id, ApiToken.revoked_at.is_(None)
            )
        ),
        reports=db.session.scalar(
            select(func.count()).where(Person.manager_id == person.id, Person.active)
        ),
    )


@bp.get("/people/<id:person_id>")
def person(person_id: int) -> str:
    found = _person(person_id)
    return _person_page(found, _placement_form(found), {})


@bp.post("/people/<id:person_id>")
def person_placement(person_id: int) -> str | Response | tuple[str, int]:
    found = _person(person_id)
    form = _placement_form(found, request.form)
    if not form.validate():
        return _person_page(
            found, form, {name: errors[0] for name, errors in form.errors.items()}
        ), 422
    team = db.session.get(Team, int(form.team.data)) if form.team.data else None
    department = (
        db.session.get(Department, int(form.department.data)) if form.department.data else None
    )
    try:
        changed = change_placement(
            db.session,
            current_user,
            found,
            team=team,
            department=department,
            manager_email=form.manager_email.data or "",
        )
    except PersonChangeRefused as refused:
        db.session.rollback()
        found = _person(person_id)
        # A field SCIM owns shows what it is, not the change refused.
        current = _placement_values(found)
        for field, name in PLACEMENT_INPUTS.items():
            if sources.owned_by_scim(found, field):
                form[name].data = current[name]
        return _person_page(found, form, refused.fields), 422
    db.session.commit()
    flash(
        f"Saved {', '.join(changed)} for {found.name}." if changed else "Nothing changed.",
        "success" if changed else "info",
    )
    return redirect(url_for("admin.person", person_id=found.id))


def _account_change(person_id: int, change) -> Response:  # noqa: ANN001 - a callable on the person
    found = _person(person_id)
    if not ActionForm().validate_on_submit():
        flash("The form had expired; try again.", "error")
        return redirect(url_for("admin.person", person_id=person_id))
    try:
        message = change(found)
    except PersonChangeRefused as refused:
        db.session.rollback()
        flash(next(iter(refused.fields.values())), "error")
        return redirect(url_for("admin.person", person_id=person_id))
    db.session.commit()
    flash(message, "success")
    return redirect(url_for("admin.person", person_id=person_id))


@bp.post("/people/<id:person_id>/deactivate")
def person_deactivate(person_id: int) -> Response:
    def change(person: Person) -> str:
        set_active(db.session, current_user, person, False, now=utcnow())
        return f"{person.name} is deactivated: signed out everywhere, API tokens revoked."

    return _account_change(person_id, change)


@bp.post("/people/<id:person_id>/reactivate")
def person_reactivate(person_id: int) -> Response:
    def change(person: Person) -> str:
        set_active(db.session, current_user, person, True, now=utcnow())
        return f"{person.name} is active again; they sign in afresh and make new API tokens."

    return _account_change(person_id, change)


@bp.post("/people/<id:person_id>/admin")
def person_admin(person_id: int) -> Response:
    granted = request.form.get("grant") == "1"

    def change(person: Person) -> str:
        set_admin(db.session, current_user, person, granted)
        return f"{person.name} {'is an admin now' if granted else 'is no longer an admin'}."

    return _account_change(person_id, change)
