"""Settings: personal API tokens (list, create, revoke your own).

Creating a token redirects to the list (POST/redirect/GET), so a reload
never makes a second one. The new token crosses that redirect in the
session, encrypted (the session cookie is only signed, readable by whoever
holds it), for the next page to show once: reading it takes it out.
"""

from __future__ import annotations

import base64
import hashlib
import hmac

from cryptography.fernet import Fernet, InvalidToken
from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    session,
    url_for,
)
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
# In the session until the next page shows it (a key's name, not a secret).
NEW_TOKEN_KEY = "kudos_new_token"  # noqa: S105
# The redirect is followed at once; a cookie replayed later shows nothing.
NEW_TOKEN_SHOWN_FOR = 300  # seconds


def _fernet() -> Fernet:
    # A key of its own, derived from the secret key: the session's signing
    # key is not used for anything else.
    secret = current_app.secret_key
    secret = secret.encode() if isinstance(secret, str) else bytes(secret)
    key = hmac.new(secret, b"kudos new api token", hashlib.sha256).digest()
    return Fernet(base64.urlsafe_b64encode(key))


def _keep_for_next_page(token_id: int, raw: str) -> None:
    session[NEW_TOKEN_KEY] = f"{token_id}:{_fernet().encrypt(raw.encode()).decode()}"


def _take_new_token() -> tuple[int, str] | None:
    """The token created just before, once: it leaves the session now."""
    kept = session.pop(NEW_TOKEN_KEY, None)
    if not isinstance(kept, str):
        return None
    token_id, _, secret = kept.partition(":")
    try:
        raw = _fernet().decrypt(secret.encode(), ttl=NEW_TOKEN_SHOWN_FOR).decode()
    except (InvalidToken, ValueError):
        return None
    return (int(token_id), raw) if token_id.isdigit() else None


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


def _page(form: NewTokenForm, *, errors: dict | None = None, status: int = 200) -> tuple[str, int]:
    tokens = tokens_of(db.session, current_user)
    new_token = new_token_model = None
    if (taken := _take_new_token()) is not None:
        token_id, raw = taken
        # Only a token of the person signed in, and still usable.
        new_token_model = next(
            (t for t in tokens if t.id == token_id and t.revoked_at is None), None
        )
        new_token = raw if new_token_model is not None else None
    return render_template(
        "settings/tokens.html",
        form=form,
        revoke_form=RevokeForm(),
        tokens=tokens,
        new_token=new_token,
        new_token_model=new_token_model,
        errors=errors or {},
        now=utcnow(),
    ), status


@bp.get("/")
def index() -> tuple[str, int]:
    return _page(_new_token_form())


@bp.post("/")
def create() -> Response | tuple[str, int]:
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
    # Shown once, on the page this redirects to; it is never stored in the clear.
    _keep_for_next_page(token.id, raw)
    return redirect(url_for("tokens.index"), 303)


@bp.post("/<id:token_id>/revoke")
def revoke(token_id: int) -> Response:
    RevokeForm().validate_on_submit()  # CSRF is already checked for every POST
    if not revoke_token(db.session, current_user, token_id, now=utcnow()):
        abort(404)
    db.session.commit()
    flash("The token is revoked. Anything using it will get 401 from now on.", "info")
    return redirect(url_for("tokens.index"))
