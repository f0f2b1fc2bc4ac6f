"""The Slack app on Bolt for Python: one set of handlers for the HTTP
endpoint (``/slack/events`` in this Flask app) and for Socket Mode
(``kudos slack run``).

Bolt checks every request's signature (v0, with its timestamp) before any
handler runs. Then ``only_our_workspace`` refuses any other workspace,
and each handler works inside its own application context and database
session (``in_context``). Handlers finish before Slack gets its answer
(``process_before_response``): they take milliseconds, and a refused send
must answer with the modal's errors.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import Any, TypeVar

from flask import Blueprint, Flask, current_app, request
from slack_bolt import App, BoltResponse
from slack_bolt.adapter.flask import SlackRequestHandler
from slack_bolt.authorization import AuthorizeResult
from slack_bolt.request import BoltRequest
from slack_sdk import WebClient

from kudos.extensions import csrf
from kudos.slack import handlers
from kudos.urls import FALLBACK_BASE_URL

log = logging.getLogger(__name__)
Handler = TypeVar("Handler", bound=Callable[..., Any])
# Calls made while Slack waits for our answer must leave time to answer.
REQUEST_TIMEOUT = 2

bp = Blueprint("slack", __name__)
csrf.exempt(bp)  # Slack signs its requests; it has no CSRF token


@bp.post("/slack/events")
def events() -> Any:  # noqa: ANN401 - a Flask response
    try:
        return current_app.extensions["kudos.slack.handler"].handle(request)
    except (ValueError, LookupError, TypeError, AttributeError):
        # Bolt reads the body before it checks the signature: a body that is
        # not Slack's JSON or form fails there. (Handlers' own errors are
        # caught by Bolt, logged by ``handlers.on_error``.)
        log.info("slack: a request that is not one of Slack's was refused")
        return "Not a Slack request.", 400


def init_app(app: Flask) -> None:
    """Mount the app at ``/slack/events`` when Slack is configured."""
    if not app.config.get("SLACK_ENABLED"):
        return
    bolt = build(app)
    app.extensions["kudos.slack"] = bolt
    app.extensions["kudos.slack.handler"] = SlackRequestHandler(bolt)
    app.register_blueprint(bp)


def site_url(flask_app: Flask) -> str:
    return flask_app.config.get("BASE_URL") or FALLBACK_BASE_URL


def build(flask_app: Flask) -> App:
    config = flask_app.config
    team_id, token = config["SLACK_TEAM_ID"], config["SLACK_BOT_TOKEN"]

    def only_our_workspace(req: BoltRequest, next: Callable[[], BoltResponse]) -> BoltResponse:  # noqa: A002
        if req.context.team_id != team_id:
            log.warning("slack: refused a request from workspace %r", req.context.team_id)
            return BoltResponse(status=403, body="This Kudos app belongs to another workspace.")
        return next()

    def authorize(**_: Any) -> AuthorizeResult:
        # One workspace, one bot token: nothing to look up, no auth.test.
        return AuthorizeResult(enterprise_id=None, team_id=team_id, bot_token=token)

    def in_context(handler: Handler) -> Handler:
        """Run ``handler`` in an application context (a database session of
        its own) and a request context made from KUDOS_BASE_URL (links come
        from url_for), also in Socket Mode, where there is no request.
        Bolt runs listeners after its middleware, so this wraps each one;
        ``wraps`` keeps the argument names Bolt reads to call it."""

        @functools.wraps(handler)
        def run(**arguments: Any) -> Any:  # noqa: ANN401 - whatever the handler gives Bolt
            with (
                flask_app.app_context(),
                flask_app.test_request_context("/", base_url=site_url(flask_app)),
            ):
                return handler(**arguments)

        return run

    bolt = App(
        signing_secret=config["SLACK_SIGNING_SECRET"],
        client=WebClient(base_url=config["SLACK_API_URL"], timeout=REQUEST_TIMEOUT),
        authorize=authorize,
        before_authorize=only_our_workspace,
        process_before_response=True,
        name="Kudos",
    )
    handlers.register(bolt, in_context)
    return bolt
