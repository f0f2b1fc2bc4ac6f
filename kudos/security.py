"""Security headers on every response.

The pages use only local styles and scripts, so the Content Security Policy
can forbid everything else; framing is refused (clickjacking). When cookies
are Secure the site is served over HTTPS only, and browsers are told so
(HSTS). Pages for a signed-in person (what colleagues said, a new API token
shown once) are never stored by a browser or proxy cache.
"""

from __future__ import annotations

from flask import Flask, current_app, session
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


def init_app(app: Flask) -> None:
    app.after_request(_add_headers)
