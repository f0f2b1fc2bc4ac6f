"""Admin console: the company's values (create, edit, reorder, retire, bring back)."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, url_for
from flask_login import current_user
from werkzeug.wrappers import Response

from kudos.admin.blueprint import bp
from kudos.admin.forms import MoveForm, ValueForm
from kudos.extensions import db
from kudos.recognition.forms import ActionForm
from kudos.recognition.models import Value
from kudos.recognition.values import (
    ValueFields,
    ValueRejected,
    all_values,
    create_value,
    kudos_counts,
    move_value,
    restore_value,
    retire_value,
    update_value,
)


def _value(value_id: int) -> Value:
    return db.session.get(Value, value_id) or abort(404)


def _fields(form: ValueForm) -> ValueFields:
    return ValueFields.cleaned(
        form.name.data or "",
        form.slug.data or "",
        form.description.data or "",
        form.emoji.data or "",
    )


@bp.get("/values")
def values() -> str:
    return render_template(
        "admin/values.html",
        values=all_values(db.session),
        counts=kudos_counts(db.session),
        actions=ActionForm(),
    )


@bp.route("/values/new", methods=["GET", "POST"])
def value_new() -> str | Response | tuple[str, int]:
    form = ValueForm()
    if form.validate_on_submit():
        try:
            value = create_value(db.session, current_user, _fields(form))
        except ValueRejected as rejected:
            db.session.rollback()
            return _value_form(form, None, rejected.fields), 422
        db.session.commit()
        flash(f"{value.emoji} {value.name} is offered for new kudos now.", "success")
        return redirect(url_for("admin.values"))
    return _value_form(form, None, _csrf_problem(form))


@bp.route("/values/<id:value_id>/edit", methods=["GET", "POST"])
def value_edit(value_id: int) -> str | Response | tuple[str, int]:
    value = _value(value_id)
    form = ValueForm(obj=value)
    if form.validate_on_submit():
        old_slug = value.slug
        try:
            changed = update_value(db.session, current_user, value, _fields(form))
        except ValueRejected as rejected:
            db.session.rollback()
            return _value_form(form, value, rejected.fields), 422
        db.session.commit()
        if not changed:
            flash("Nothing changed.", "info")
        elif value.slug != old_slug:
            flash(
                f"Saved. Old links to /values/{old_slug} lead to /values/{value.slug}.", "success"
            )
        else:
            flash(f"{value.name} is saved.", "success")
        return redirect(url_for("admin.values"))
    return _value_form(form, value, _csrf_problem(form))


def _csrf_problem(form: ValueForm) -> dict[str, str]:
    if form.errors.get("csrf_token"):
        return {"__all__": "The form had expired; check the fields and save again."}
    return {}


def _value_form(form: ValueForm, value: Value | None, errors: dict[str, str]) -> str:
    return render_template(
        "admin/value_form.html",
        form=form,
        value=value,
        errors=errors,
        uses=kudos_counts(db.session).get(value.id, 0) if value else 0,
    )


@bp.post("/values/<id:value_id>/move")
def value_move(value_id: int) -> Response:
    value = _value(value_id)
    form = MoveForm()
    if (
        form.validate_on_submit()
        and form.step.data in (-1, 1)
        and move_value(db.session, current_user, value, form.step.data)
    ):
        db.session.commit()
    return redirect(url_for("admin.values") + f"#value-{value.id}")


@bp.route("/values/<id:value_id>/retire", methods=["GET", "POST"])
def value_retire(value_id: int) -> str | Response:
    """A confirmation first, saying how many kudos carry the value."""
    value = _value(value_id)
    form = ActionForm()
    if form.validate_on_submit():
        try:
            retire_value(db.session, current_user, value)
        except ValueRejected as rejected:
            db.session.rollback()
            flash(rejected.fields["__all__"], "error")
            return redirect(url_for("admin.values"))
        db.session.commit()
        flash(
            f"{value.name} is retired: no new kudos can carry it; the kudos that do keep it.",
            "success",
        )
        return redirect(url_for("admin.values"))
    return render_template(
        "admin/value_retire.html",
        value=value,
        uses=kudos_counts(db.session).get(value.id, 0),
        form=form,
    )


@bp.post("/values/<id:value_id>/restore")
def value_restore(value_id: int) -> Response:
    value = _value(value_id)
    if ActionForm().validate_on_submit():
        restore_value(db.session, current_user, value)
        db.session.commit()
        flash(f"{value.name} is offered for new kudos again, last in the list.", "success")
    return redirect(url_for("admin.values"))
