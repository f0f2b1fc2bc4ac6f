"""The OpenID Connect client: authlib, configured by discovery.

Each app gets its own authlib ``OAuth`` registry (authlib caches clients per
registry, not per app, so a shared one would leak settings between apps).
Nothing here talks to the provider at start-up: discovery happens on the
first sign-in, so Kudos starts, and ``/healthz`` answers, while the
provider is down.
"""

from __future__ import annotations

from typing import Any

from authlib.integrations.flask_client import OAuth
from flask import Flask, current_app

PROVIDER = "idp"
# Seconds to wait for the provider (discovery, token, keys, userinfo).
PROVIDER_TIMEOUT = 10


class ProviderMisconfigured(Exception):
    """The provider's discovery document does not match the configuration."""


def init_app(app: Flask) -> None:
    if not app.config.get("OIDC_ISSUER"):
        return
    oauth = OAuth(app)
    oauth.register(
        PROVIDER,
        client_id=app.config["OIDC_CLIENT_ID"],
        client_secret=app.config["OIDC_CLIENT_SECRET"],
        server_metadata_url=app.config["OIDC_ISSUER"] + "/.well-known/openid-configuration",
        client_kwargs={
            "scope": app.config["OIDC_SCOPES"],
            "code_challenge_method": "S256",
            "timeout": PROVIDER_TIMEOUT,
        },
    )
    app.extensions["kudos.oidc"] = oauth


def is_configured() -> bool:
    return "kudos.oidc" in current_app.extensions


def client() -> Any:
    return current_app.extensions["kudos.oidc"].create_client(PROVIDER)


def metadata() -> dict[str, Any]:
    """The provider's discovery document, fetched once and checked.

    Raises ``requests.RequestException`` when the provider is unreachable
    and ``ProviderMisconfigured`` when it names another issuer.
    """
    document = client().load_server_metadata()
    configured = current_app.config["OIDC_ISSUER"]
    if document.get("issuer", "").rstrip("/") != configured.rstrip("/"):
        raise ProviderMisconfigured(
            f"discovery names issuer {document.get('issuer')!r}, configured {configured!r}"
        )
    return document
