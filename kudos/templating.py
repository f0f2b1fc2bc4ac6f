"""Jinja filters and globals shared by every page."""

from __future__ import annotations

from collections.abc import Callable, Hashable
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from flask import Flask, current_app, g, has_request_context, request, url_for
from flask_login import current_user

from kudos import timeutil
from kudos.db import utcnow
from kudos.extensions import db
from kudos.preferences.celebrations import take_pending
from kudos.recognition.reports import take_outcomes

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
            g.kudos_report_outcomes = take_outcomes(db.session, current_user, now=utcnow())
            db.session.commit()
    return g.kudos_celebration


def report_outcomes() -> list:
    """What moderators did about the signed-in person's reports, told once
    (taken with the celebration, by the same page)."""
    pending_celebration()
    return g.get("kudos_report_outcomes") or []


# Addresses built per worker, at most (then it starts again).
URLS_KEPT = 10_000


def _kept_urls(build: Callable[..., str]) -> Callable[..., str]:
    """``url_for``, each address built once: the URL map does not change
    once the app runs, and a page links to a dozen of the same pages every
    time (about 5 % of a leaderboard view with everything else cached). Only plain addresses
    in a request (no ``_external``, ``_anchor``…: those go to ``build``),
    under the request's script root (and blueprint, for ".endpoint")."""
    kept: dict[Hashable, str] = {}

    def url_for(endpoint: str, **values: Any) -> str:  # noqa: ANN401 - url_for's own values
        special = [name for name in values if name.startswith("_")]
        if not has_request_context() or any(values[name] is not None for name in special):
            return build(endpoint, **values)
        for name in special:  # flask.url_for passes each of them, None
            del values[name]
        key = (
            request.script_root,
            request.blueprint if endpoint.startswith(".") else None,
            endpoint,
            *sorted(values.items()),
        )
        try:
            return kept[key]
        except KeyError:
            pass
        except TypeError:  # a list of values: not a key
            return build(endpoint, **values)
        if len(kept) >= URLS_KEPT:
            kept.clear()
        kept[key] = url = build(endpoint, **values)
        return url

    return url_for


def init_app(app: Flask) -> None:
    app.url_for = _kept_urls(app.url_for)  # type: ignore[method-assign]
    app.jinja_env.globals["url_for"] = app.url_for
    app.add_template_global(pending_celebration)
    app.add_template_global(report_outcomes)
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
