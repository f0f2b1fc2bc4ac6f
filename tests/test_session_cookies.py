"""A verified session cookie is kept decoded for a minute, and a session's
signed CSRF token is used again for a minute (``auth.sessions``,
``security``): neither may let through what a fresh check would refuse, nor
let one request's session leak into another's."""

from __future__ import annotations

import re
import time
from datetime import timedelta

import pytest
from cachetools import TTLCache

from kudos import security
from tests.conftest import sign_in

TOKEN = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


def cookie_of(client) -> str:  # noqa: ANN001
    return client.get_cookie("session").value


@pytest.fixture
def open_cookie(app):  # noqa: ANN001, ANN201
    def open_(cookie: str):  # noqa: ANN202
        with app.test_request_context(headers={"Cookie": f"session={cookie}"}) as context:
            return app.session_interface.open_session(app, context.request)

    return open_


def test_each_request_gets_its_own_copy_of_a_kept_session(client, make, open_cookie):
    sign_in(client, make.person())
    cookie = cookie_of(client)

    first = open_cookie(cookie)
    first["_user_id"] = "999:1"
    first["extra"] = "changed"
    second = open_cookie(cookie)

    assert second["_user_id"] != "999:1"
    assert "extra" not in second


def test_a_session_with_messages_is_decoded_each_time(client, make, open_cookie):
    """Flashed messages are a list: a kept copy would be shared."""
    sign_in(client, make.person())
    with client.session_transaction() as changing:
        changing["_flashes"] = [("info", "Saved.")]
    cookie = cookie_of(client)

    open_cookie(cookie)["_flashes"].append(("info", "Injected."))

    assert open_cookie(cookie)["_flashes"] == [("info", "Saved.")]


def test_a_tampered_cookie_is_refused_after_the_real_one_was_kept(client, make, open_cookie):
    sign_in(client, make.person())
    cookie = cookie_of(client)
    assert open_cookie(cookie)["_user_id"]  # kept now

    payload, _, signature = cookie.rpartition(".")
    forged = f"{payload}.{signature[:-2]}{'AA' if signature[-2:] != 'AA' else 'BB'}"

    assert dict(open_cookie(forged)) == {}


def test_a_kept_cookie_is_refused_once_its_signature_expires(app, client, make, open_cookie):
    app.permanent_session_lifetime = timedelta(seconds=1)
    sign_in(client, make.person())
    cookie = cookie_of(client)
    assert open_cookie(cookie)["_user_id"]  # kept, for what is left of its second

    time.sleep(2.05)  # the signature counts whole seconds

    assert dict(open_cookie(cookie)) == {}


def signed_token(client, url: str = "/") -> str:  # noqa: ANN001
    return TOKEN.search(client.get(url).get_data(as_text=True)).group(1)


def test_a_sessions_signed_csrf_token_is_used_again_and_still_accepted(app, browser, make):
    person = make.person()
    sign_in(browser.client, person)
    first, again = signed_token(browser.client), signed_token(browser.client, "/leaderboard")
    other = app.test_client()
    sign_in(other, make.person())

    assert again == first
    assert signed_token(other) != first  # another session, another token
    response = browser.client.post("/logout", data={"csrf_token": first})
    assert response.status_code == 302


def test_a_signed_csrf_token_is_used_again_for_a_minute_only(app, client, make):
    now = [0.0]
    app.extensions[security.SIGNED_TOKENS] = TTLCache(
        security.SIGNED_TOKENS_KEPT, security.SIGNED_TOKEN_REUSED_FOR, timer=lambda: now[0]
    )
    sign_in(client, make.person())
    first = signed_token(client)
    time.sleep(1.05)  # a new signature would carry another second

    now[0] = security.SIGNED_TOKEN_REUSED_FOR - 0.01
    assert signed_token(client) == first
    now[0] = security.SIGNED_TOKEN_REUSED_FOR
    assert signed_token(client) != first
