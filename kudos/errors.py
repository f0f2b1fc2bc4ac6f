"""Friendly error pages; JSON errors for the API (``/api/``).

A page names the request's id, which support finds in the logs; the API's
errors carry it in the ``X-Request-Id`` header only (kudos/logs.py)."""

from __future__ import annotations

from flask import Flask, current_app, g, render_template, request
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import DataError, OperationalError
from werkzeug.exceptions import HTTPException, InternalServerError, MethodNotAllowed

from kudos.extensions import db, login_manager
from kudos.logs import current_request_id

MESSAGES = {
    400: (
        "This request doesn't look right",
        "Something in the address or the form was not what we expected.",
    ),
    403: (
        "You don't have access to this page",
        "If you think you should, ask a Kudos admin at your company.",
    ),
    404: (
        "We couldn't find that page",
        "It may have been moved or deleted, or you may not have access to it.",
    ),
    405: ("That action isn't available here", "Try going back and using the page's buttons."),
    409: (
        "That can't be done right now",
        "Someone or something changed it first. Go back, reload and try again.",
    ),
    413: ("That's too much at once", "What you sent is larger than Kudos accepts."),
    415: ("That format isn't supported", "Send JSON with Content-Type: application/json."),
    429: ("Slow down a little", "You have reached a limit. Please try again later."),
    503: ("Kudos is taking a break", "Please try again in a moment."),
    500: (
        "Something went wrong on our side",
        "We've logged the problem. Please try again in a moment.",
    ),
}


def wants_json() -> bool:
    return request.path.startswith("/api/")


def render_error(status: int, description: str | None = None) -> tuple[object, int]:
    title, default_text = MESSAGES.get(status, (f"Error {status}", ""))
    if wants_json():
        # The body API clients know; the request id is in X-Request-Id.
        return {
            "error": {"code": error_code(status), "message": description or default_text}
        }, status
    return render_template(
        "errors/error.html",
        status=status,
        title=title,
        text=description or default_text,
        request_id=current_request_id(),
    ), status


def error_code(status: int) -> str:
    return {
        400: "bad_request",
        401: "unauthorized",
        403: "forbidden",
        404: "not_found",
        405: "method_not_allowed",
        409: "conflict",
        413: "too_large",
        415: "unsupported_media_type",
        422: "unprocessable",
        429: "rate_limited",
        500: "internal_error",
        503: "unavailable",
    }.get(status, "error")


def _handle_http(exc: HTTPException) -> tuple[object, int, list[tuple[str, str]]]:
    status = exc.code or 500
    # Werkzeug's stock descriptions are for developers; show ours instead
    # unless the view passed a message of its own with ``abort(status, msg)``.
    custom = exc.description if exc.description != type(exc).description else None
    if isinstance(exc, MethodNotAllowed) and wants_json() and not custom:
        custom = _methods_accepted(exc.valid_methods or [])
    body, status = render_error(status, custom)
    # Its own headers, such as a 405's Allow, but not its HTML content type.
    headers = [(name, value) for name, value in exc.get_headers() if name != "Content-Type"]
    return body, status, headers


def _methods_accepted(methods: list[str]) -> str:
    # HEAD and OPTIONS come with every route; the Allow header lists them.
    named = sorted(set(methods) - {"HEAD", "OPTIONS"}) or sorted(methods)
    return f"This address accepts {' or '.join(named)} only, not {request.method}."


def _handle_csrf(exc: CSRFError) -> tuple[object, int]:
    return render_error(
        400,
        "This form has expired or was sent from another site. Go back, reload the page "
        "and try again.",
    )


def _handle_server_error(exc: InternalServerError) -> tuple[object, int]:
    # Flask has already logged the original exception with its traceback.
    db.session.rollback()
    return render_error(500)


# Seconds a client should wait before trying again after a 503.
RETRY_AFTER_UNAVAILABLE = 5


def _handle_database_unavailable(exc: OperationalError) -> tuple[object, int, dict[str, str]]:
    # A lost connection, a deadlock PostgreSQL broke, or, on SQLite, a write
    # lock held too long: not the person's fault and usually gone in a moment.
    current_app.logger.warning("database unavailable: %s", type(exc.orig).__name__)
    db.session.rollback()
    # The page must not need the database to find out who is signed in.
    g._login_user = login_manager.anonymous_user()
    body, status = render_error(503, "Kudos is very busy right now. Please try again in a moment.")
    return body, status, {"Retry-After": str(RETRY_AFTER_UNAVAILABLE)}


def _handle_bad_data(exc: DataError) -> tuple[object, int]:
    # A value the database cannot hold (a number too large, say) that a check
    # missed: still the request's fault, never a 500.
    current_app.logger.warning("data error: %s", type(exc.orig).__name__)
    db.session.rollback()
    return render_error(400, "Something in the request is out of range.")


def init_app(app: Flask) -> None:
    app.register_error_handler(OperationalError, _handle_database_unavailable)
    app.register_error_handler(DataError, _handle_bad_data)
    app.register_error_handler(CSRFError, _handle_csrf)
    app.register_error_handler(HTTPException, _handle_http)
    app.register_error_handler(InternalServerError, _handle_server_error)
