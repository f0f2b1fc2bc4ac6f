"""Rate limits (Flask-Limiter): enough for anyone using Kudos by hand, too
few for a script.

Five kinds, each a setting (``KUDOS_RATELIMIT_*``, see the README):

- ``sign_in``: starting sign-in (``POST /login``) and the provider's
  callback, per client address;
- ``api``: every JSON API call, per API token (its hash, never the token),
  counted after the token is checked, so a wrong token fills nothing;
- ``scim``: every SCIM provisioning request, per provisioning token, alike;
- ``send``: sending kudos, from the compose page and the API together, per
  person (on top of the daily limit, which counts kudos sent);
- ``pages``: the pages that cost the most to make (feeds, leaderboard,
  team summary and its CSV, the reciprocity report), per person and page.

Counters live in memory, per process, unless ``KUDOS_RATELIMIT_STORAGE_URL``
names a Redis server that several servers share. If Redis stops answering,
each process counts in memory until it is back rather than failing pages.
Every 429 says when to try again (``Retry-After``) in the usual error format
(a page, or JSON under ``/api/``) with the code ``rate_limited``; the daily
limit's is ``daily_limit``.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import Any, TypeVar

from flask import Flask, current_app, g, request
from flask_login import current_user
from limits.storage import MemoryStorage
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.wrappers import Response

from kudos import metrics
from kudos.extensions import limiter

View = TypeVar("View", bound=Callable[..., Any])

MESSAGE = (
    "That was a lot of requests in a short time, more than a person makes by hand. "
    "Wait a moment and try again."
)


class SweptMemoryStorage(MemoryStorage):
    """limits' in-memory counters, with expired ones swept on the request's
    own thread every few seconds. limits starts a timer thread for that on
    most requests, which cost more than the rest of a cached page (0.5 ms)."""

    STORAGE_SCHEME = ["kudos-memory"]  # noqa: RUF012 - as limits declares it
    SWEEP_EVERY = 5.0  # seconds

    def __init__(self, uri: str | None = None, **options: Any) -> None:  # noqa: ANN401
        super().__init__(uri, **options)
        self.timer.cancel()  # the one started by MemoryStorage
        self._next_sweep = time.monotonic() + self.SWEEP_EVERY

    def _MemoryStorage__schedule_expiry(self) -> None:  # noqa: N802 - replaces limits' own
        now = time.monotonic()
        if now >= self._next_sweep:
            self._next_sweep = now + self.SWEEP_EVERY
            self._MemoryStorage__expire_events()  # type: ignore[attr-defined]


def _setting(name: str) -> Callable[[], str]:
    """The limit from the current app's settings, read at each request."""
    return lambda: current_app.config[name]


def _key(what: str) -> str:
    # Flask-Limiter keeps the key prefix of the first app it was bound to;
    # the namespace is read per request instead (several apps, one Redis).
    return f"{current_app.config['RATELIMIT_NAMESPACE']}/{what}"


def client_address() -> str:
    return _key(f"address:{request.remote_addr or 'unknown'}")


def signed_in_person() -> str:
    return _key(f"person:{current_user.id}")


def api_token() -> str:
    return _key(f"token:{g.api_token_key}")


def sender() -> str:
    """The person sending, whether from a page or the API."""
    person = g.get("api_person") or current_user
    return _key(f"person:{person.id}")


def _not_a_send() -> bool:
    # The compose form also posts to search for people and to remove one.
    return request.method != "POST" or request.form.get("action", "send") != "send"


def provisioning_token() -> str:
    return _key(f"scim:{g.scim_token_key}")


def sign_in(view: View) -> View:
    return limiter.limit(
        _setting("RATELIMIT_SIGN_IN"), key_func=client_address, error_message=MESSAGE
    )(view)


def api(view: View) -> View:
    # One count per token across every endpoint of the API.
    return limiter.shared_limit(
        _setting("RATELIMIT_API"), scope="api", key_func=api_token, error_message=MESSAGE
    )(view)


def provisioning(view: View) -> View:
    # One count per provisioning token, after the token is checked.
    return limiter.shared_limit(
        _setting("RATELIMIT_SCIM"), scope="scim", key_func=provisioning_token, error_message=MESSAGE
    )(view)


def sending(view: View) -> View:
    return limiter.shared_limit(
        _setting("RATELIMIT_SEND"),
        scope="send",
        key_func=sender,
        exempt_when=_not_a_send,
        error_message=MESSAGE,
    )(view)


def page(view: View) -> View:
    return limiter.limit(
        _setting("RATELIMIT_PAGES"), key_func=signed_in_person, error_message=MESSAGE
    )(view)


def _kind(breached: Any) -> str:  # noqa: ANN401 - Flask-Limiter's RequestLimit
    """Which limit: a shared one's scope (api, scim, send), else by its key."""
    if breached.shared:
        return str(breached.request_args[-1])
    return "sign_in" if "/address:" in breached.key else "pages"


def _retry_after(response: Response) -> Response:
    """``Retry-After`` on a 429 from a rate limit: seconds to the window's end."""
    if response.status_code == 429 and "Retry-After" not in response.headers:
        breached = limiter.current_limit
        if breached is not None and breached.breached:
            metrics.RATE_LIMITED.labels(_kind(breached)).inc()
            wait = math.ceil(breached.window.reset_time - time.time())
            response.headers["Retry-After"] = str(max(wait, 1))
    return response


def init_app(app: Flask) -> None:
    proxies = app.config.get("TRUSTED_PROXIES", 0)
    if proxies:
        # Behind a reverse proxy every request comes from the proxy: take
        # the client's address from the X-Forwarded-For it adds.
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies)  # type: ignore[method-assign]
    if app.config.get("RATELIMIT_STORAGE_URI", "memory://").startswith("memory://"):
        app.config["RATELIMIT_STORAGE_URI"] = "kudos-memory://"
    limiter.init_app(app)
    app.after_request(_retry_after)
