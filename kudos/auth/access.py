"""Access rules in one place.

Every view needs a signed-in, active person unless it is marked
``@login_exempt``: the safe default is enforced by a ``before_request`` hook,
so a new page cannot forget it.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from flask import Flask, abort, current_app, request
from flask_login import current_user

from kudos.extensions import login_manager

View = TypeVar("View", bound=Callable[..., Any])
# Blueprints that authenticate on their own: the JSON API and SCIM take
# bearer tokens, and Slack signs its requests (``kudos/slack/app.py``).
SELF_AUTHENTICATING_BLUEPRINTS = {"api", "scim", "slack"}


def login_exempt(view: View) -> View:
    view.login_exempt = True  # type: ignore[attr-defined]
    return view


def admin_required(view: View) -> View:
    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if not current_user.is_authenticated:
            return login_manager.unauthorized()
        if not current_user.is_admin:
            abort(403)
        return view(*args, **kwargs)

    return wrapper  # type: ignore[return-value]


def _require_login() -> Any:
    if request.endpoint is None or request.endpoint == "static":
        return None  # 404s and static files
    view = current_app.view_functions.get(request.endpoint)
    if request.blueprint in SELF_AUTHENTICATING_BLUEPRINTS or getattr(view, "login_exempt", False):
        return None
    if not current_user.is_authenticated:
        return login_manager.unauthorized()
    return None


def init_app(app: Flask) -> None:
    app.before_request(_require_login)
