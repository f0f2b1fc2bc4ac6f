"""Settings: personal API tokens (list, create, revoke your own)."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, redirect, render_template, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from werkzeug.wrappers import Response
from wtforms import SelectField, StringField

from kudos.auth.tokens import (
    LIFETIME_CHOICES,
    NAME_MAX_LENGTH,
    TokenRejected,
    create_token,
    expiry_for,
    revoke_token,
    tokens_of,
)
from kudos.db import utcnow
from kudos.extensions import db

bp = Blueprint("tokens", __name__, url_prefix="/settings/tokens")


NO_EXPIRY = "never"


class NewTokenForm(FlaskForm):
    name = StringField(
        "Name",
        render_kw={"maxlength": NAME_MAX_LENGTH, "placeholder": "e.g. Slack bot, weekly report"},
    )
    # Choices and default come from KUDOS_API_TOKEN_DAYS (see ``_new_token_form``).
    expires_in = SelectField("Expires")


def _new_token_form(**kwargs: object) -> NewTokenForm:
    """The form with the lifetimes on offer: 30, 90 and 365 days, the
    configured default (first chosen) and, as an explicit choice, no expiry."""
    default = current_app.config["API_TOKEN_DAYS"]
    form = NewTokenForm(**kwargs)
    form.expires_in.choices = [
        (str(days), f"{days} days") for days in sorted({*LIFETIME_CHOICES, default})
    ] + [(NO_EXPIRY, "No expiry")]
    if not form.expires_in.data or form.expires_in.data == "None":
        form.expires_in.data = str(default)
    return form


class RevokeForm(FlaskForm):
    pass


def _page(
    form: NewTokenForm,
    *,
    new_token: str | None = None,
    new_token_model: object = None,
    errors: dict | None = None,
    status: int = 200,
) -> tuple[str, int]:
    return render_template(
        "settings/tokens.html",
        form=form,
        revoke_form=RevokeForm(),
        tokens=tokens_of(db.session, current_user),
        new_token=new_token,
        new_token_model=new_token_model,
        errors=errors or {},
        now=utcnow(),
    ), status


@bp.get("/")
def index() -> tuple[str, int]:
    return _page(_new_token_form())


@bp.post("/")
def create() -> tuple[str, int]:
    form = _new_token_form()
    choice = form.expires_in.data
    if choice not in dict(form.expires_in.choices):
        return _page(form, errors={"expires_in": "Choose when the token expires."}, status=422)
    now = utcnow()
    expires_at = expiry_for(None if choice == NO_EXPIRY else int(choice), now=now)
    try:
        token, raw = create_token(
            db.session, current_user, form.name.data or "", now=now, expires_at=expires_at
        )
    except TokenRejected as rejected:
        db.session.rollback()
        return _page(form, errors=rejected.fields, status=422)
    db.session.commit()
    # Shown once, on this response only: it is never stored in the clear.
    return _page(_new_token_form(formdata=None), new_token=raw, new_token_model=token, status=201)


@bp.post("/<id:token_id>/revoke")
def revoke(token_id: int) -> Response:
    RevokeForm().validate_on_submit()  # CSRF is already checked for every POST
    if not revoke_token(db.session, current_user, token_id, now=utcnow()):
        abort(404)
    db.session.commit()
    flash("The token is revoked. Anything using it will get 401 from now on.", "info")
    return redirect(url_for("tokens.index"))
