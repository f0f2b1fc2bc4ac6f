"""The base pages: sign-in required, the company feed, friendly errors."""

from __future__ import annotations

from datetime import timedelta

import pytest

from kudos.db import utcnow
from kudos.recognition import feed as feed_module
from tests.conftest import sign_in


def test_pages_require_sign_in(client):
    response = client.get("/")

    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login?next=")


def test_static_files_need_no_sign_in(client):
    """The sign-in page's own style sheet must load before anyone signs in."""
    with client.get("/static/css/kudos.css") as response:
        assert response.status_code == 200
        assert response.mimetype == "text/css"


def test_login_page_explains_that_sso_is_not_configured(client):
    response = client.get("/login")

    assert response.status_code == 200
    assert "Single sign-on is not configured yet" in response.get_data(as_text=True)


def test_an_inactive_person_is_signed_out(client, make):
    person = make.person(active=False)
    sign_in(client, person)

    assert client.get("/").status_code == 302


def test_an_old_session_version_is_signed_out(client, make, session):
    person = make.person()
    sign_in(client, person)
    person.session_version += 1  # "sign out everywhere"
    session.commit()

    assert client.get("/").status_code == 302


def test_feed_lists_kudos_newest_first(client, signed_in, make):
    colleague = make.person(name="Grace Hopper")
    now = utcnow()
    make.kudos(colleague, [signed_in], message="Older thanks", at=now - timedelta(days=2))
    make.kudos(signed_in, [colleague], message="Newer thanks", at=now - timedelta(hours=1))

    page = client.get("/").get_data(as_text=True).split('class="feed"', 1)[1]

    assert page.index("Newer thanks") < page.index("Older thanks")
    assert "Grace Hopper" in page


def test_feed_escapes_messages_and_keeps_line_breaks(client, signed_in, make):
    colleague = make.person(name="Mallory <b>Evil</b>")
    make.kudos(colleague, [signed_in], message="<script>alert(1)</script>\nSecond line")

    page = client.get("/").get_data(as_text=True)

    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;\nSecond line" in page
    assert "Mallory &lt;b&gt;Evil&lt;/b&gt;" in page


def test_feed_hides_what_the_viewer_may_not_see(client, signed_in, make):
    alice, bob = make.person(), make.person()
    make.kudos(alice, [bob], message="A private word", visibility="private")
    make.kudos(alice, [signed_in], message="Private to me", visibility="private")

    page = client.get("/").get_data(as_text=True)

    assert "A private word" not in page
    assert "Private to me" in page


def test_feed_pages_with_an_older_link(client, signed_in, make, monkeypatch):
    monkeypatch.setattr(feed_module, "PAGE_SIZE", 2)
    colleague = make.person()
    now = utcnow()
    for number in range(5):
        make.kudos(
            colleague,
            [signed_in],
            message=f"Thanks number {number}",
            at=now - timedelta(minutes=number),
        )

    seen = []
    url, pages = "/", 0
    while url:
        pages += 1
        page = client.get(url).get_data(as_text=True)
        seen += [n for n in range(5) if f"Thanks number {n}<" in page]
        marker = 'href="/?before='
        url = ("/?before=" + page.split(marker, 1)[1].split('"', 1)[0]) if marker in page else ""

    assert seen == [0, 1, 2, 3, 4]
    assert pages == 3  # two per page


@pytest.mark.parametrize("cursor", ["nonsense", "12.", ".5", "1" * 30 + ".1"])
def test_a_bad_feed_position_is_a_friendly_400(client, signed_in, cursor):
    response = client.get(f"/?before={cursor}")

    assert response.status_code == 400
    assert "<p>That feed position is not valid. Start again from the newest kudos.</p>" in (
        response.get_data(as_text=True)
    )


def test_unknown_pages_get_a_friendly_404(client, signed_in):
    response = client.get("/no/such/page")

    assert response.status_code == 404
    assert "find that page" in response.get_data(as_text=True)


def test_forms_without_a_csrf_token_are_refused(client, signed_in):
    response = client.post("/logout")

    assert response.status_code == 400
    assert "This form has expired" in response.get_data(as_text=True)


def test_sign_out_ends_the_session(browser, signed_in):
    response = browser.submit("/", "/logout")

    assert response.status_code == 302
    assert browser.get("/").status_code == 302


def test_errors_under_the_api_are_json(client, signed_in):
    response = client.get("/api/v1/nothing-here")

    assert response.status_code == 404
    assert response.json["error"]["code"] == "not_found"


def test_server_errors_get_a_friendly_page(app, client, signed_in):
    app.config["PROPAGATE_EXCEPTIONS"] = False

    @app.get("/boom")
    def boom():  # pragma: no cover - the body is the point
        raise RuntimeError("kaboom")

    response = client.get("/boom")

    assert response.status_code == 500
    assert "Something went wrong on our side" in response.get_data(as_text=True)
    assert "kaboom" not in response.get_data(as_text=True)


def test_session_cookie_is_http_only_and_same_site(client, make):
    person = make.person()
    sign_in(client, person)
    response = client.get("/")
    cookie = response.headers.get("Set-Cookie", "")

    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie


def test_every_response_carries_security_headers(client):
    response = client.get("/login")

    assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in response.headers["Content-Security-Policy"]
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["X-Frame-Options"] == "DENY"


def test_admin_only_views_refuse_other_people(app, client, make):
    from kudos.auth.access import admin_required

    @app.get("/admin-only")
    @admin_required
    def admin_only():
        return "secret admin page"

    sign_in(client, make.person())
    refused = client.get("/admin-only")
    sign_in(client, make.person(admin_granted=True))
    allowed = client.get("/admin-only")

    assert refused.status_code == 403
    assert "have access to this page" in refused.get_data(as_text=True)
    assert allowed.get_data(as_text=True) == "secret admin page"


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ("/people/3?tab=given", "/people/3?tab=given"),
        ("//evil.example.com", "/"),
        ("https://evil.example.com/", "/"),
        ("/\\evil.example.com", "/"),
        ("javascript:alert(1)", "/"),
        ("", "/"),
        ("feed", "/"),  # relative: not a path on this site
        ("///evil.example.com", "/"),  # browsers read it as //evil.example.com
        ("/feed\r\nSet-Cookie: x=1", "/"),
        ("/\tfeed", "/"),
        ("/people/Xavier", "/people/Xavier"),
    ],
)
def test_next_only_goes_to_a_local_path(app, target, expected):
    from kudos.auth.redirects import safe_next_url

    with app.test_request_context("/login", query_string={"next": target}):
        assert safe_next_url() == expected


@pytest.mark.parametrize(
    "text",
    [
        "",
        "12",
        ".5",
        "5.",
        "1.2.3",
        "-1.2",
        "１２.3",  # digits, but not ASCII ones
        "12.３",
        "1234567890123456789.1",  # more than 18 digits
        "999999999999999999.1",  # past year 9999
        "12.99999999999999999999",  # past the id column's range
    ],
)
def test_a_feed_position_encode_cannot_have_written_is_refused(text):
    with pytest.raises(ValueError, match="is not a feed position") as caught:
        feed_module.Cursor.decode(text)
    assert str(caught.value) == f"{text!r} is not a feed position"


def test_the_longest_feed_position_is_read_back():
    cursor = feed_module.Cursor.decode("123456789012345678.7")

    assert cursor.kudos_id == 7
    assert cursor.encode() == "123456789012345678.7"
