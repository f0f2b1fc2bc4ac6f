"""Absolute URLs for redirects to the identity provider and links in e-mails."""

from __future__ import annotations

from typing import Any

from flask import current_app, has_request_context, url_for


def external_url(endpoint: str, **values: Any) -> str:
    """An absolute URL on this site, from KUDOS_BASE_URL when it is set.

    Redirect URIs must match the provider's registration exactly, so they must
    not depend on the Host header a request happened to carry; e-mails are
    written outside requests, where there is no Host header at all.
    """
    base = current_app.config.get("BASE_URL")
    if base:
        return base + url_for(endpoint, **values)
    if has_request_context():
        return url_for(endpoint, _external=True, **values)
    return "http://localhost" + url_for(endpoint, **values)
