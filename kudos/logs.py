"""Log lines that requests cannot forge, one access line per request, and a
request id that ties them together.

Text from requests (a callback's ``?error=``, a claim, a path) reaches log
messages. A CR or LF in it would start a line that looks like Kudos wrote
it. Every record's message is escaped when the record is made, so each log
call gives exactly one line whatever its arguments hold.

A record factory, not a ``logging.Filter``: a filter on the ``kudos`` logger
misses records of its child loggers, and a filter on handlers misses
handlers added later (gunicorn's, pytest's). Tracebacks are left alone:
they are many lines on purpose (in JSON they are one string field).

The same factory stamps each record made during a request with the
request's id (``record.request_id``). The id lives in a context variable
set by ``RequestLog``, the outermost WSGI layer: it is known before Flask
starts on the request, still known when the access line is written after
Flask has finished, and never shared between requests (``flask.g`` is, when
a test keeps an app context pushed).

The access line (logger ``kudos.request``) names the path without its query
string: query strings carry OIDC codes and states and API cursors. It names
the signed-in person or the API token's owner by id only. The request lines
of werkzeug's development server (``kudos demo``) lose their query string
too.
"""

from __future__ import annotations

import logging
import re
import secrets
import sys
import time
from collections.abc import Callable, Iterable
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

from flask import Flask, g, request
from pythonjsonlogger.json import JsonFormatter as _JsonFormatter
from sqlalchemy import inspect

from kudos.text import LINE_BREAKING

HEADER = "X-Request-Id"
# An incoming id is kept only if it is this plain; anything else is replaced,
# never echoed (it goes into a header, a page and every log line).
SAFE_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")
# The query string in werkzeug's request lines (``"GET /auth/callback?code=…
# HTTP/1.1" 302``): its development server serves ``kudos demo``.
QUERY_IN_REQUEST_LINE = re.compile(r"\?[^\s\"]*(?= HTTP/)")
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s %(message)s"

access_log = logging.getLogger("kudos.request")
_request_id: ContextVar[str | None] = ContextVar("kudos_request_id", default=None)
_ENVIRON_KEY = "kudos.request_log"


def escape(text: str) -> str:
    """``"a\\r\\nb"`` -> ``"a\\\\r\\\\nb"``: control characters and line
    breaks shown as Python escapes, never acted on."""
    return LINE_BREAKING.sub(lambda found: found.group().encode("unicode_escape").decode(), text)


def _escaping(make_record: Any) -> Any:
    def make_escaped_record(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = make_record(*args, **kwargs)
        request_id = _request_id.get()
        if request_id is not None:
            record.request_id = request_id
        try:
            message = record.getMessage()
        except (TypeError, ValueError):
            return record  # a broken format: logging reports it when the record is handled
        escaped = escape(message)
        if record.name == "werkzeug":  # its server's request line, as for the access line
            escaped = QUERY_IN_REQUEST_LINE.sub("", escaped)
        if escaped != message:
            record.msg, record.args = escaped, ()
        return record

    make_escaped_record.kudos_escaping = True  # type: ignore[attr-defined]
    return make_escaped_record


def install() -> None:
    """Escape every record made from now on, in this process, and stamp it
    with the current request's id (idempotent)."""
    factory = logging.getLogRecordFactory()
    if not getattr(factory, "kudos_escaping", False):
        logging.setLogRecordFactory(_escaping(factory))


# Request ids ------------------------------------------------------------------


def request_id_for(incoming: str | None) -> str:
    """The caller's id if it is plain enough to repeat, else a new one."""
    if incoming and SAFE_ID.fullmatch(incoming):
        return incoming
    return secrets.token_hex(8)


def current_request_id() -> str | None:
    """The id of the request being handled, or None outside a request."""
    return _request_id.get()


# Log formats ------------------------------------------------------------------


class JsonFormatter(_JsonFormatter):
    """One JSON object per line: time (ISO 8601, UTC), level, logger,
    message, the request id inside a request, any ``extra`` fields, and a
    traceback as one string field, ``exception``."""

    def __init__(self) -> None:
        super().__init__(
            "%(levelname)s %(name)s %(message)s",
            rename_fields={"levelname": "level", "name": "logger", "exc_info": "exception"},
        )

    def add_fields(
        self, log_data: dict[str, Any], record: logging.LogRecord, message_dict: dict[str, Any]
    ) -> None:
        created = datetime.fromtimestamp(record.created, tz=UTC)
        log_data["time"] = created.isoformat(timespec="milliseconds").replace("+00:00", "Z")
        super().add_fields(log_data, record, message_dict)


def formatter(log_format: str) -> logging.Formatter:
    if log_format == "json":
        return JsonFormatter()
    return logging.Formatter(TEXT_FORMAT)


def configure(log_format: str) -> None:
    """What a server logs: INFO and above to stderr, as text or JSON. Left
    alone when something (a test runner) has set up the root logger already."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(formatter(log_format))
    logging.basicConfig(level=logging.INFO, handlers=[handler])


# The access line --------------------------------------------------------------

StartResponse = Callable[..., Any]


class RequestLog:
    """WSGI middleware, outermost: gives each request its id, returns it in
    ``X-Request-Id`` on every answer, and writes one access line whatever
    the answer, an unhandled exception included."""

    def __init__(self, wsgi_app: Callable[[dict, StartResponse], Iterable[bytes]]) -> None:
        self.wsgi_app = wsgi_app

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        request_id = request_id_for(environ.get("HTTP_X_REQUEST_ID"))
        token = _request_id.set(request_id)
        started = time.perf_counter()
        status = [500]  # if the application raises, the server answers 500

        def start_with_id(status_line: str, headers: list, exc_info: Any = None) -> Any:  # noqa: ANN401
            status[0] = int(status_line.split(" ", 1)[0])
            headers = [(name, value) for name, value in headers if name.lower() != "x-request-id"]
            headers.append((HEADER, request_id))
            return start_response(status_line, headers, exc_info)

        try:
            return self.wsgi_app(environ, start_with_id)
        finally:
            _log_access(environ, status[0], (time.perf_counter() - started) * 1000)
            _request_id.reset(token)


def _log_access(environ: dict[str, Any], status: int, duration_ms: float) -> None:
    seen = environ.get(_ENVIRON_KEY) or {}
    method = environ.get("REQUEST_METHOD", "")
    # request.path (decoded, without the query string) from inside the
    # request; the raw PATH_INFO only if Flask never got that far.
    path = seen.get("path") or environ.get("PATH_INFO", "")
    endpoint = seen.get("endpoint")
    person_id = seen.get("person_id")
    access_log.info(
        "%s %s %s %.1f ms endpoint=%s person=%s",
        method,
        path,
        status,
        duration_ms,
        endpoint or "-",
        person_id if person_id is not None else "-",
        extra={
            "method": method,
            "path": path,
            "endpoint": endpoint,
            "status": status,
            "duration_ms": round(duration_ms, 1),
            "person_id": person_id,
        },
    )


def _remember_request(exc: BaseException | None = None) -> None:
    """At the end of the request, while Flask still knows it: what the
    access line needs from inside (the path, the endpoint, who)."""
    request.environ[_ENVIRON_KEY] = {
        "path": request.path,
        "endpoint": request.url_rule.endpoint if request.url_rule else None,
        "person_id": _person_id(),
    }


def _person_id() -> int | None:
    # Only someone already loaded: the access line must not query the
    # database (it may be the reason for a 503).
    person = g.get("api_person")
    if person is None:
        person = g.get("_login_user")
        if person is None or not getattr(person, "is_authenticated", False):
            return None
    state = inspect(person, raiseerr=False)
    identity = state.identity if state is not None else None
    return identity[0] if identity else None


def init_app(app: Flask) -> None:
    """Request ids and the access line for this app."""
    app.teardown_request(_remember_request)
    app.wsgi_app = RequestLog(app.wsgi_app)  # type: ignore[method-assign]
