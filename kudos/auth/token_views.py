"""Settings: personal API tokens (list, create, revoke your own)."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from werkzeug.wrappers import Response
from wtforms import StringField

from kudos.auth.tokens import NAME_MAX_LENGTH, TokenRejected, create_token, revoke_token, tokens_of
from kudos.db import utcnow
from kudos.extensions import db

bp = Blueprint("tokens", __name__, url_prefix="/settings/tokens")


class NewTokenForm(FlaskForm):
    name = StringField(
        "Name",
        render_kw={"maxlength": NAME_MAX_LENGTH, "placeholder": "e.g. Slack bot, weekly report"},
    )


class RevokeForm(FlaskForm):
    pass


def _page(
    form: NewTokenForm,
    *,
    new_token: str | None = None,
    errors: dict | None = None,
    status: int = 200,
) -> tuple[str, int]:
    return render_template(
        "settings/tokens.html",
        form=form,
        revoke_form=RevokeForm(),
        tokens=tokens_of(db.session, current_user),
        new_token=new_token,
        errors=errors or {},
        now=utcnow(),
    ), status


@bp.get("/")
def index() -> tuple[str, int]:
    return _page(NewTokenForm())


@bp.post("/")
def create() -> tuple[str, int]:
    form = NewTokenForm()
    try:
        _, raw = create_token(db.session, current_user, form.name.data or "", now=utcnow())
    except TokenRejected as rejected:
        db.session.rollback()
        return _page(form, errors=rejected.fields, status=422)
    db.session.commit()
    # Shown once, on this response only: it is never stored in the clear.
    return _page(NewTokenForm(formdata=None), new_token=raw, status=201)


@bp.post("/<id:token_id>/revoke")
def revoke(token_id: int) -> Response:
    RevokeForm().validate_on_submit()  # CSRF is already checked for every POST
    if not revoke_token(db.session, current_user, token_id, now=utcnow()):
        abort(404)
    db.session.commit()
    flash("The token is revoked. Anything using it will get 401 from now on.", "info")
    return redirect(url_for("tokens.index"))
