"""HSTS when cookies are Secure; signed-in pages are never stored by caches."""

from __future__ import annotations

import pytest

from tests.conftest import sign_in

SIGNED_IN_PAGES = [
    "/",
    "/kudos/new",
    "/leaderboard",
    "/settings/recognition",
    "/settings/tokens/",
    "/kudos/999999",  # an error page, still for a signed-in person
]


@pytest.mark.parametrize("app_overrides", [{"SESSION_COOKIE_SECURE": True}])
@pytest.mark.parametrize("url", ["/login", "/healthz", "/static/css/kudos.css"])
def test_hsts_on_every_response_when_cookies_are_secure(client, url):
    response = client.get(url, base_url="https://localhost")
    response.close()

    assert response.headers["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains"


@pytest.mark.parametrize("url", ["/login", "/healthz"])
def test_no_hsts_when_cookies_are_not_secure(client, url):
    assert "Strict-Transport-Security" not in client.get(url).headers


@pytest.mark.parametrize("url", SIGNED_IN_PAGES)
def test_signed_in_pages_are_never_stored(browser, signed_in, url):
    response = browser.get(url)

    assert response.mimetype == "text/html"
    assert response.headers["Cache-Control"] == "no-store"


def test_the_page_that_shows_a_new_token_once_is_never_stored(browser, signed_in):
    response = browser.submit(
        "/settings/tokens/", data={"name": "Slack bot"}, follow_redirects=True
    )

    assert 'id="new-token"' in response.get_data(as_text=True)
    assert "no-store" in response.headers["Cache-Control"]


def test_pages_for_nobody_signed_in_and_static_files_may_be_cached(client, make):
    assert "no-store" not in client.get("/login").headers.get("Cache-Control", "")
    sign_in(client, make.person())
    with client.get("/static/css/kudos.css") as static:
        assert "no-store" not in static.headers.get("Cache-Control", "")
