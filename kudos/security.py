"""Security headers on every response, and CSRF tokens signed once a minute.

The pages use only local styles and scripts, so the Content Security Policy
can forbid everything else; framing is refused (clickjacking). When cookies
are Secure the site is served over HTTPS only, and browsers are told so
(HSTS). Pages for a signed-in person (what colleagues said, a new API token
shown once) are never stored by a browser or proxy cache.

Flask-WTF signs the session's CSRF token with a time stamp for each page;
a page reuses the token signed for the same session less than a minute
before instead (``SIGNED_TOKEN_REUSED_FOR``).
"""

from __future__ import annotations

import threading

from cachetools import TTLCache
from flask import Flask, current_app, g, session
from werkzeug.wrappers import Response

STRICT_TRANSPORT_SECURITY = "max-age=31536000; includeSubDomains"

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "img-src 'self' data:",
        "style-src 'self'",
        "script-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "frame-ancestors 'none'",
    ]
)


def _add_headers(response: Response) -> Response:
    headers = response.headers
    headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("X-Frame-Options", "DENY")
    headers.setdefault("Referrer-Policy", "same-origin")
    if current_app.config.get("SESSION_COOKIE_SECURE"):
        headers.setdefault("Strict-Transport-Security", STRICT_TRANSPORT_SECURITY)
    # Read from the session cookie, not current_user: no database query,
    # so it holds on the error pages of a database outage too.
    if response.mimetype == "text/html" and "_user_id" in session:
        headers["Cache-Control"] = "no-store"
    return response


# A session's signed CSRF token is used again for at most this long: signing
# a new one for every page took a twentieth of a page served from the cache.
# It is the same session's token, signed with the same key, only not as new.
SIGNED_TOKEN_REUSED_FOR = 60.0  # seconds
SIGNED_TOKENS_KEPT = 4096  # sessions, in each worker
SIGNED_TOKENS = "kudos.signed_csrf_tokens"  # in app.extensions
CSRF_FIELD = "csrf_token"  # Flask-WTF's default, in the session and in g
_lock = threading.Lock()


def _reuse_signed_token() -> None:
    """Give Flask-WTF's ``generate_csrf`` this session's recently signed
    token (it signs one only when ``g`` has none)."""
    raw = session.get(CSRF_FIELD)
    if raw is not None:
        with _lock:
            signed = current_app.extensions[SIGNED_TOKENS].get(raw)
        if signed is not None:
            setattr(g, CSRF_FIELD, signed)


def _keep_signed_token(response: Response) -> Response:
    signed, raw = g.get(CSRF_FIELD), session.get(CSRF_FIELD)
    if signed is not None and raw is not None:
        with _lock:
            current_app.extensions[SIGNED_TOKENS].setdefault(raw, signed)
    return response


def init_app(app: Flask) -> None:
    app.after_request(_add_headers)
    app.extensions[SIGNED_TOKENS] = TTLCache(SIGNED_TOKENS_KEPT, SIGNED_TOKEN_REUSED_FOR)
    app.before_request(_reuse_signed_token)
    app.after_request(_keep_signed_token)
