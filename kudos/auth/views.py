"""Sign-in with OpenID Connect, and sign-out.

``POST /login`` starts the authorization code flow (PKCE S256, state and
nonce by authlib); ``GET /auth/callback`` finishes it: checks the state and
the ``iss`` parameter, exchanges the code, validates the ID token (signature
from the provider's keys, issuer, audience, expiry, nonce), and signs the
person in with a fresh session. Every failure is a page (``problems.py``).
"""

from __future__ import annotations

import requests
from authlib.common.errors import AuthlibBaseError
from authlib.integrations.base_client.errors import MismatchingStateError, OAuthError
from flask import (
    Blueprint,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_login import current_user, logout_user
from joserfc.errors import JoseError
from werkzeug.wrappers import Response

from kudos import ratelimit
from kudos.auth import oidc
from kudos.auth.access import login_exempt
from kudos.auth.models import Identity
from kudos.auth.problems import problem_page
from kudos.auth.redirects import is_local_path, safe_next_url
from kudos.auth.services import (
    ClaimSettings,
    SignInRefused,
    record_refusal,
    sign_in_with_claims,
)
from kudos.auth.sessions import begin_session
from kudos.db import utcnow
from kudos.extensions import db
from kudos.urls import external_url

bp = Blueprint("auth", __name__)

NEXT_KEY = "kudos_next"
IDENTITY_KEY = "kudos_identity"


@bp.get("/login")
@login_exempt
def login() -> str | Response:
    if current_user.is_authenticated:
        return redirect(safe_next_url())
    if current_app.config.get("DEMO") and not oidc.is_configured():
        return redirect(url_for("demo.sign_in", next=safe_next_url()))
    return render_template(
        "auth/login.html",
        sso=oidc.is_configured(),
        provider_name=current_app.config["OIDC_PROVIDER_NAME"],
        next_url=safe_next_url(),
    )


@bp.post("/login")
@login_exempt
@ratelimit.sign_in
def start_sign_in() -> str | Response | tuple[str, int]:
    if not oidc.is_configured():
        return redirect(request.path)
    session[NEXT_KEY] = safe_next_url()
    try:
        oidc.metadata()
        return oidc.client().authorize_redirect(external_url("auth.callback"))
    except requests.RequestException as exc:
        return problem_page("unreachable", type(exc).__name__)
    except oidc.ProviderMisconfigured as exc:
        return problem_page("misconfigured", str(exc))


@bp.get("/auth/callback")
@login_exempt
@ratelimit.sign_in
def callback() -> Response | tuple[str, int]:
    if not oidc.is_configured():
        return problem_page("misconfigured", "callback without KUDOS_OIDC_ISSUER")
    error = request.args.get("error")
    if error:
        # Drop the state of the abandoned attempt.
        oidc.client().framework.clear_state_data(session, request.args.get("state"))
        return problem_page("cancelled" if error == "access_denied" else "provider_error", error)
    try:
        issuer = oidc.metadata()["issuer"]
        # RFC 9207: when the provider names itself, it must be the one we asked.
        if "iss" in request.args and request.args["iss"] != issuer:
            return problem_page("wrong_issuer", "iss parameter does not match")
        token = oidc.client().authorize_access_token()
    except MismatchingStateError:
        return problem_page("stale", "unknown or reused state")
    except OAuthError as exc:  # e.g. invalid_grant for a replayed code
        return problem_page("stale", exc.error or "token request refused")
    except JoseError as exc:  # signature, issuer, audience, expiry, nonce
        return problem_page("invalid_token", type(exc).__name__)
    except requests.RequestException as exc:
        return problem_page("unreachable", type(exc).__name__)
    except oidc.ProviderMisconfigured as exc:
        return problem_page("misconfigured", str(exc))
    except AuthlibBaseError as exc:
        return problem_page("invalid_token", type(exc).__name__)
    if "userinfo" not in token:
        return problem_page("invalid_token", "no ID token in the token response")

    claims = dict(_userinfo(token))
    claims.update(token["userinfo"])  # the validated ID token wins over userinfo
    settings = ClaimSettings.from_config(current_app.config, issuer)
    try:
        person, identity = sign_in_with_claims(db.session, claims, settings, now=utcnow())
    except SignInRefused as refused:
        db.session.rollback()
        record_refusal(db.session, refused)
        db.session.commit()
        return problem_page(refused.reason, refused.detail)
    identity.id_token = token.get("id_token")
    db.session.commit()

    next_url = session.pop(NEXT_KEY, None)
    session.clear()  # a fresh session: nothing from before sign-in survives
    begin_session(person, now=utcnow())
    session[IDENTITY_KEY] = identity.id
    return redirect(next_url if next_url and is_local_path(next_url) else "/")


def _userinfo(token: dict) -> dict:
    """Claims from the userinfo endpoint, for providers that keep the ID
    token small (it is only used when its subject matches the ID token's)."""
    if "userinfo_endpoint" not in oidc.metadata() or "access_token" not in token:
        return {}
    try:
        info = oidc.client().userinfo(token=token)
    except (requests.RequestException, ValueError, AuthlibBaseError) as exc:
        current_app.logger.info("sign-in: userinfo unavailable: %s", type(exc).__name__)
        return {}
    return dict(info) if info.get("sub") == token["userinfo"].get("sub") else {}


@bp.post("/logout")
@login_exempt
def logout() -> Response:
    """Sign out here and everywhere (the session version changes, so copies
    of the cookie stop working), then at the provider when it offers that."""
    id_token = None
    if current_user.is_authenticated:
        person = current_user._get_current_object()
        person.session_version += 1
        identity = db.session.get(Identity, session.get(IDENTITY_KEY) or 0)
        if identity is not None and identity.person_id == person.id:
            id_token, identity.id_token = identity.id_token, None
        db.session.commit()
    logout_user()
    session.clear()
    flash("You are signed out.", "info")

    if oidc.is_configured():
        try:
            end_session = oidc.metadata().get("end_session_endpoint")
        except (requests.RequestException, oidc.ProviderMisconfigured):
            end_session = None
        if end_session:
            result = oidc.client().create_logout_url(
                post_logout_redirect_uri=external_url("auth.login"),
                id_token_hint=id_token,
                client_id=current_app.config["OIDC_CLIENT_ID"],
            )
            return redirect(result["url"])
    return redirect("/login")
