"""Absolute links come from KUDOS_BASE_URL, never from the request's Host header."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from kudos.auth.tokens import create_token
from kudos.db import utcnow
from kudos.outbox.models import OutboxMessage
from kudos.preferences.models import RecognitionPreference
from kudos.recognition.models import Value
from kudos.urls import external_url
from tests.conftest import sign_in
from tests.smtp import mail_settings

EVIL = {"Host": "evil.example"}
# The test client picks cookies by its own server name; the app sees this Host.
AS_EVIL = {"environ_overrides": {"HTTP_HOST": "evil.example"}}


@pytest.fixture
def colleague(make, session):
    person = make.person(name="Eva Mail")
    session.add(RecognitionPreference(person=person, email_opt_in=True))
    session.commit()
    return person


def everything_queued(session) -> str:
    session.expire_all()
    return "\n".join(
        f"{message.subject}\n{message.text_body}\n{message.html_body}"
        for message in session.scalars(select(OutboxMessage))
    )


def send_from_the_web_as_evil_host(client, session, colleague) -> None:
    # The signed-in session, now also sent to the forged host.
    client.set_cookie("session", client.get_cookie("session").value, domain="evil.example")
    form = client.get("/kudos/new", **AS_EVIL).get_data(as_text=True)
    csrf_token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', form).group(1)
    caring = session.scalar(select(Value.id).where(Value.slug == "caring"))
    response = client.post(
        "/kudos/new",
        data={
            "csrf_token": csrf_token,
            "recipients": [str(colleague.id)],
            "values": [str(caring)],
            "message": "Thanks!",
            "visibility": "public",
            "action": "send",
        },
        **AS_EVIL,
    )
    assert response.status_code == 302


def api_answers_as_evil_host(client, session, me, colleague) -> str:
    _, token = create_token(session, me, "links", now=utcnow())
    session.commit()
    headers = {"Authorization": f"Bearer {token}"}
    sent = client.post(
        "/api/v1/kudos",
        json={"recipients": [colleague.id], "values": ["caring"], "message": "Thanks again!"},
        headers=headers,
        **AS_EVIL,
    )
    assert sent.status_code == 201
    answers = [sent.headers["Location"], sent.get_data(as_text=True)]
    for path in ["/kudos", f"/kudos/{sent.json['id']}", "/openapi.json"]:
        response = client.get("/api/v1" + path, headers=headers, **AS_EVIL)
        assert response.status_code == 200
        answers.append(response.get_data(as_text=True))
    return "\n".join(answers)


@pytest.mark.parametrize(
    ("base_url", "expected"),
    [
        ("https://kudos.acme.example.com", "https://kudos.acme.example.com/"),
        # Only the tests and the demo may leave it unset; still not the Host header.
        (None, "http://localhost/"),
    ],
)
def test_a_kudos_sent_with_a_forged_host_links_only_to_the_base_url(
    app, client, session, signed_in, colleague, smtp, base_url, expected
):
    app.config.update({**mail_settings(smtp), "BASE_URL": base_url})

    send_from_the_web_as_evil_host(client, session, colleague)
    api = api_answers_as_evil_host(client, session, signed_in, colleague)
    mail = everything_queued(session)

    assert mail.count(expected + "kudos/") == 4  # text and HTML of two e-mails
    assert expected + "api/v1/kudos/" in api
    assert "evil.example" not in mail
    assert "evil.example" not in api


def test_the_sign_in_redirect_uri_ignores_the_host_header(app):
    app.config["BASE_URL"] = "https://kudos.acme.example.com"

    with app.test_request_context("/login", headers=EVIL):
        assert external_url("auth.callback") == "https://kudos.acme.example.com/auth/callback"


# Addresses built once per worker (templating._kept_urls) -----------------------


def test_kept_addresses_are_what_url_for_builds_under_each_script_root(app, make, client):
    from flask import url_for

    ann = make.person(name="Ann Archer")
    for root in ("", "/kudos", "/other"):
        for _ in range(2):  # built, then kept
            with app.test_request_context("/", base_url=f"http://localhost{root}/"):
                assert url_for("leaderboard.page") == f"{root}/leaderboard"
                assert url_for("people.profile", person_id=ann.id) == f"{root}/people/{ann.id}"
                assert url_for("leaderboard.page", month="2026-11") == (
                    f"{root}/leaderboard?month=2026-11"
                )
                assert url_for("leaderboard.page", _anchor="top").endswith("/leaderboard#top")
                assert url_for("leaderboard.page", _external=True) == (
                    f"http://localhost{root}/leaderboard"
                )
    sign_in(client, ann)
    page = client.get("/leaderboard", base_url="http://localhost/kudos/")
    assert 'href="/kudos/leaderboard"' in page.get_data(as_text=True)
