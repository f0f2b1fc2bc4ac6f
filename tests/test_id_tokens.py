"""ID token validation and sign-in error pages, without the provider.

The provider is replaced here by what it would answer: a discovery document,
a key set and a token response, with ID tokens signed by a key the test
makes. Everything else (state, nonce, authlib's validation, the callback,
the pages) is the real code.
"""

from __future__ import annotations

import logging
import time
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from joserfc import jwt
from joserfc.jwk import KeySet, RSAKey
from sqlalchemy import select

from kudos.auth import oidc
from kudos.auth.models import Identity
from kudos.people.models import Person
from tests.oidc_provider import KUDOS_URL

ISSUER = "https://login.acme.example.com"
CLIENT_ID = "kudos"
SIGNING_KEY = RSAKey.generate_key(2048, parameters={"kid": "provider-key"})
OTHER_KEY = RSAKey.generate_key(2048, parameters={"kid": "provider-key"})


@pytest.fixture
def app_overrides():
    return {
        "OIDC_ISSUER": ISSUER,
        "OIDC_CLIENT_ID": CLIENT_ID,
        "OIDC_CLIENT_SECRET": "secret",
        "BASE_URL": KUDOS_URL,
    }


@pytest.fixture
def provider(app):
    """Stand in for the provider's HTTP answers; returns a function that sets
    the next token response."""
    with app.app_context():
        client = oidc.client()
    client.server_metadata = {
        "issuer": ISSUER,
        "authorization_endpoint": f"{ISSUER}/authorize",
        "token_endpoint": f"{ISSUER}/token",
        "jwks_uri": f"{ISSUER}/jwks",
        "id_token_signing_alg_values_supported": ["RS256"],
        "jwks": KeySet([SIGNING_KEY]).as_dict(private=False),
        "_loaded_at": time.time(),
    }
    answer: dict = {}
    client.fetch_access_token = lambda **params: dict(answer)
    return answer


def begin_sign_in(client) -> tuple[str, str]:
    """Press "Sign in"; return the state and nonce Kudos sent to the provider."""
    page = client.get("/login").get_data(as_text=True)
    token = page.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
    response = client.post("/login", data={"csrf_token": token})
    query = parse_qs(urlsplit(response.headers["Location"]).query)
    assert query["code_challenge_method"] == ["S256"]
    assert query["redirect_uri"] == [f"{KUDOS_URL}/auth/callback"]
    return query["state"][0], query["nonce"][0]


def id_token(nonce: str | None, *, key: RSAKey = SIGNING_KEY, **changes: object) -> str:
    now = int(time.time())
    claims = {
        "iss": ISSUER,
        "sub": "user-42",
        "aud": CLIENT_ID,
        "iat": now,
        "exp": now + 300,
        "nonce": nonce,
        "email": "ana@acme.example.com",
        "email_verified": True,
        "name": "Ana Souza",
    }
    claims.update(changes)
    claims = {name: value for name, value in claims.items() if value is not None}
    return jwt.encode({"alg": "RS256", "kid": key.kid}, claims, key)


def callback(client, provider, state: str, token: str):  # noqa: ANN201
    provider.clear()
    provider.update({"access_token": "opaque", "token_type": "Bearer", "id_token": token})
    return client.get(f"/auth/callback?code=the-code&state={state}&iss={ISSUER}")


def test_a_valid_id_token_signs_in(client, provider, session):
    state, nonce = begin_sign_in(client)

    response = callback(client, provider, state, id_token(nonce))

    assert response.status_code == 302
    assert session.scalars(select(Identity.subject)).all() == ["user-42"]


@pytest.mark.parametrize(
    "forgery",
    [
        "tampered",
        "wrong key",
        "expired",
        "wrong audience",
        "wrong issuer",
        "wrong nonce",
        "no nonce",
        "unsigned",
    ],
)
def test_a_bad_id_token_is_refused(client, provider, session, forgery, caplog):
    state, nonce = begin_sign_in(client)
    now = int(time.time())
    if forgery == "tampered":
        header, payload, signature = id_token(nonce).split(".")
        other_payload = id_token(nonce, sub="admin").split(".")[1]
        token = ".".join([header, other_payload, signature])
    elif forgery == "wrong key":
        token = id_token(nonce, key=OTHER_KEY)
    elif forgery == "expired":
        token = id_token(nonce, iat=now - 3600, exp=now - 1800)
    elif forgery == "wrong audience":
        token = id_token(nonce, aud="some-other-app")
    elif forgery == "wrong issuer":
        token = id_token(nonce, iss="https://evil.example.com")
    elif forgery == "wrong nonce":
        token = id_token("a-nonce-from-another-sign-in")
    elif forgery == "no nonce":
        token = id_token(None)
    else:
        header, payload, _ = id_token(nonce).split(".")
        token = "eyJhbGciOiJub25lIn0." + payload + "."

    response = callback(client, provider, state, token)

    assert response.status_code == 401
    assert "couldn" in response.get_data(as_text=True)
    assert "verify your sign-in" in response.get_data(as_text=True)
    assert session.scalars(select(Identity)).all() == []
    assert client.get("/").status_code == 302
    assert "sign-in failed: invalid_token" in caplog.text
    assert token not in caplog.text
    assert "the-code" not in caplog.text


def test_a_token_response_without_an_id_token_is_refused(client, provider):
    state, _ = begin_sign_in(client)
    provider.update({"access_token": "opaque", "token_type": "Bearer"})

    response = client.get(f"/auth/callback?code=c&state={state}")

    assert response.status_code == 401


def test_a_callback_without_a_sign_in_in_progress_is_stale(client, provider):
    response = client.get("/auth/callback?code=c&state=never-issued")

    assert response.status_code == 400
    assert "sign-in link has expired" in response.get_data(as_text=True)


def test_a_state_mismatch_is_stale(client, provider):
    begin_sign_in(client)

    response = client.get("/auth/callback?code=c&state=not-the-one-we-sent")

    assert response.status_code == 400


@pytest.mark.parametrize(
    ("error", "status", "text"),
    [
        ("access_denied", 401, "Sign-in was cancelled"),
        ("temporarily_unavailable", 401, "sign-in service said no"),
    ],
)
def test_errors_from_the_provider_get_pages(client, provider, error, status, text):
    state, _ = begin_sign_in(client)

    response = client.get(f"/auth/callback?error={error}&state={state}")

    assert response.status_code == status
    assert text in response.get_data(as_text=True)
    assert "Try again" in response.get_data(as_text=True)


def test_a_discovery_document_for_another_issuer_is_a_configuration_error(client, provider, app):
    with app.app_context():
        oidc.client().server_metadata["issuer"] = "https://someone-else.example.com"
    page = client.get("/login").get_data(as_text=True)
    token = page.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]

    response = client.post("/login", data={"csrf_token": token})

    assert response.status_code == 503
    assert "Sign-in is not set up correctly" in response.get_data(as_text=True)


def test_starting_sign_in_needs_a_csrf_token(client, provider):
    assert client.post("/login").status_code == 400


def test_without_sso_configured_login_explains_it(app_overrides, connection, database_url):
    from kudos import create_app

    app = create_app({"TESTING": True, "SECRET_KEY": "x", "DATABASE_URL": database_url})

    page = app.test_client().get("/login").get_data(as_text=True)

    assert "Single sign-on is not configured yet" in page


# The userinfo endpoint -------------------------------------------------------------


@pytest.fixture
def userinfo(app, provider):
    """The provider offers a userinfo endpoint; returns a function that sets
    what it answers (claims, or an exception to raise), and the tokens it
    was called with."""
    with app.app_context():
        client = oidc.client()
    client.server_metadata["userinfo_endpoint"] = f"{ISSUER}/userinfo"
    calls: list[dict] = []
    answer: list = [{}]

    def fake_userinfo(**params: object) -> dict:
        calls.append(params)
        if isinstance(answer[0], Exception):
            raise answer[0]
        return dict(answer[0])

    client.userinfo = fake_userinfo
    return answer, calls


def person_signed_in(session) -> Person:
    return session.scalars(select(Identity)).one().person


def test_userinfo_adds_claims_the_id_token_leaves_out(client, provider, session, userinfo):
    answer, calls = userinfo
    answer[0] = {"sub": "user-42", "title": "Engineer", "name": "Not The ID Token's Name"}
    state, nonce = begin_sign_in(client)

    assert callback(client, provider, state, id_token(nonce)).status_code == 302

    person = person_signed_in(session)
    assert (person.title, person.name) == ("Engineer", "Ana Souza")  # the ID token wins
    assert [call["token"]["access_token"] for call in calls] == ["opaque"]


def test_userinfo_about_another_subject_is_ignored(client, provider, session, userinfo):
    answer, _ = userinfo
    answer[0] = {"sub": "user-99", "title": "Admin of everything", "groups": ["kudos-admins"]}
    state, nonce = begin_sign_in(client)

    assert callback(client, provider, state, id_token(nonce)).status_code == 302

    assert person_signed_in(session).title is None


def test_an_unreachable_userinfo_endpoint_does_not_stop_sign_in(
    client, provider, session, userinfo, caplog
):
    answer, _ = userinfo
    answer[0] = requests.ConnectionError("provider down")
    caplog.set_level(logging.INFO)
    state, nonce = begin_sign_in(client)

    assert callback(client, provider, state, id_token(nonce)).status_code == 302

    assert person_signed_in(session).email == "ana@acme.example.com"
    assert "sign-in: userinfo unavailable: ConnectionError" in caplog.text


# The discovery document ------------------------------------------------------------


@pytest.mark.parametrize(
    ("configured", "discovered"),
    [(ISSUER, ISSUER + "/"), (ISSUER + "/", ISSUER), (ISSUER + "/", ISSUER + "/")],
)
def test_an_issuer_may_differ_by_a_trailing_slash(app, provider, configured, discovered):
    app.config["OIDC_ISSUER"] = configured
    with app.app_context():
        oidc.client().server_metadata["issuer"] = discovered

        assert oidc.metadata()["issuer"] == discovered


def test_another_issuer_in_discovery_is_a_misconfiguration(app, provider):
    with app.app_context():
        oidc.client().server_metadata["issuer"] = "https://login.evil.example"
        with pytest.raises(oidc.ProviderMisconfigured) as caught:
            oidc.metadata()
        assert str(caught.value) == (
            f"discovery names issuer 'https://login.evil.example', configured {ISSUER!r}"
        )

        del oidc.client().server_metadata["issuer"]
        with pytest.raises(oidc.ProviderMisconfigured) as caught:
            oidc.metadata()
        assert str(caught.value) == f"discovery names issuer None, configured {ISSUER!r}"


def test_a_refusal_without_detail_is_logged_as_its_reason_alone(client, provider, session, caplog):
    state, nonce = begin_sign_in(client)

    response = callback(client, provider, state, id_token(nonce, email=None))

    assert response.status_code == 403
    assert [r.getMessage() for r in caplog.records if "sign-in failed" in r.getMessage()] == [
        "sign-in failed: no_email"
    ]


def test_the_provider_is_discovered_at_its_well_known_address_with_a_timeout(app):
    with app.app_context():
        client = oidc.client()

    # authlib keeps the discovery address unexposed; the name is its own.
    assert client._server_metadata_url == f"{ISSUER}/.well-known/openid-configuration"
    assert client.client_kwargs["timeout"] == oidc.PROVIDER_TIMEOUT
    assert client.client_kwargs["code_challenge_method"] == "S256"
