"""Absolute URLs for redirects to the identity provider, links in e-mails
and API answers: always from ``KUDOS_BASE_URL``, never from the request."""

from __future__ import annotations

from typing import Any

from flask import current_app, url_for

# Only the demo and the tests may run without KUDOS_BASE_URL (config.check);
# they get a fixed address rather than whatever Host header a request carried.
FALLBACK_BASE_URL = "http://localhost"


def base_url() -> str:
    """The site's address, without a trailing slash.

    Not ``request.host_url``: the Host header is whatever the client sent,
    so links built from it would point colleagues' e-mails and API answers
    at an attacker's site; and e-mails are written outside requests anyway.
    """
    return current_app.config.get("BASE_URL") or FALLBACK_BASE_URL


def external_url(endpoint: str, **values: Any) -> str:
    """An absolute URL on this site (redirect URIs must match the provider's
    registration exactly, so they must not vary with the request either)."""
    return base_url() + url_for(endpoint, **values)
