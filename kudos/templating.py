"""Jinja filters and globals shared by every page."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from flask import Flask, current_app, g, request, url_for
from flask_login import current_user

from kudos import timeutil
from kudos.db import utcnow
from kudos.extensions import db
from kudos.preferences.celebrations import take_pending

# Left as they are in a query string, as url_for leaves them.
URL_SAFE = "!$'()*,/:;?@"


def local_datetime(moment: datetime) -> str:
    """ "Mon 3 Nov 2026, 14:05 CET" in the organisation's zone."""
    local = timeutil.to_local(moment)
    return f"{local:%a} {local.day} {local:%b %Y, %H:%M} {local.tzname()}"


def relative_time(moment: datetime) -> str:
    return timeutil.relative(moment, utcnow())


def month_name(month: timeutil.Month) -> str:
    """ "March 2026"."""
    return datetime(month.year, month.month, 1).strftime("%B %Y")


def iso(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds")


def this_page(**changes: str | None) -> str:
    """The current page's URL with some query arguments changed (None removes).

    The query string is added here, not by ``url_for``: a query argument named
    like a view argument or like ``_external``, ``_anchor``, ``_method`` or
    ``_scheme`` would otherwise change how the URL is built, or fail (a 500)."""
    args = request.args.to_dict()
    args.update(changes)
    query = urlencode(
        [(name, value) for name, value in args.items() if value is not None], safe=URL_SAFE
    )
    path = url_for(request.endpoint, **(request.view_args or {}))
    return f"{path}?{query}" if query else path


def pending_celebration() -> object:
    """New kudos to show the signed-in person, once (see preferences.celebrations).

    Called by the base template, so only pages that render (not redirects or
    JSON) use them up.
    """
    if "kudos_celebration" not in g:
        g.kudos_celebration = None
        if (
            current_user.is_authenticated
            and request.method == "GET"
            and current_user.has_unseen_recognitions
        ):
            g.kudos_celebration = take_pending(db.session, current_user, now=utcnow())
            db.session.commit()
    return g.kudos_celebration


def init_app(app: Flask) -> None:
    app.add_template_global(pending_celebration)
    app.add_template_global(this_page)
    app.add_template_filter(local_datetime)
    app.add_template_filter(relative_time)
    app.add_template_filter(iso)
    app.add_template_filter(month_name)

    @app.context_processor
    def globals_for_every_page() -> dict[str, Any]:
        return {
            "demo_mode": bool(current_app.config.get("DEMO")),
            "sso_configured": "kudos.oidc" in current_app.extensions,
        }
