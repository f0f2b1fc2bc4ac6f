"""Personal API tokens: the settings page and `kudos tokens create`."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import event, select

from kudos.audit.models import AuditEntry
from kudos.auth.models import ApiToken
from kudos.auth.tokens import (
    TokenExpired,
    TokenRejected,
    authenticate,
    create_token,
    revoke_token,
    tokens_of,
)
from kudos.db import utcnow
from tests.conftest import sign_in

NOW = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)


# The service -------------------------------------------------------------------


def test_a_token_authenticates_its_owner_and_is_stored_only_as_a_hash(session, make):
    ana = make.person()

    token, raw = create_token(session, ana, "  cron  ", now=NOW)

    assert raw.startswith("kudos_")
    assert len(raw) > 40
    assert (token.name, token.created_at, token.prefix) == ("cron", NOW, raw[:10])
    assert raw not in token.token_hash
    assert authenticate(session, raw, now=NOW) is ana
    assert authenticate(session, raw + "x", now=NOW) is None
    assert authenticate(session, "not-even-a-kudos-token", now=NOW) is None


def test_last_use_is_written_at_most_once_a_minute(session, make):
    token, raw = create_token(session, make.person(), "bot", now=NOW)

    def last_use() -> datetime | None:
        return session.scalar(select(ApiToken.last_used_at).where(ApiToken.id == token.id))

    authenticate(session, raw, now=NOW + timedelta(seconds=5))
    authenticate(session, raw, now=NOW + timedelta(seconds=50))
    assert last_use() == NOW + timedelta(seconds=5)

    authenticate(session, raw, now=NOW + timedelta(seconds=65))
    assert last_use() == NOW + timedelta(seconds=65)


def test_an_api_call_keeps_the_last_use_even_when_it_fails(client, session, make):
    """Written in a transaction of its own, so a refused request keeps it;
    a call within the minute writes nothing."""
    token, raw = create_token(session, make.person(), "bot", now=utcnow() - timedelta(hours=1))
    session.commit()
    writes: list[str] = []
    engine = session.get_bind()
    listener = lambda _c, _cu, sql, *_a: writes.append(sql)  # noqa: E731
    event.listen(engine, "before_cursor_execute", listener)
    try:
        headers = {"Authorization": f"Bearer {raw}"}
        refused = client.post("/api/v1/kudos", json={"message": ""}, headers=headers)
        assert refused.status_code == 422
        first_use = session.scalar(select(ApiToken.last_used_at).where(ApiToken.id == token.id))
        assert utcnow() - first_use < timedelta(minutes=1)
        assert client.get("/api/v1/values", headers=headers).status_code == 200
    finally:
        event.remove(engine, "before_cursor_execute", listener)
    assert len([sql for sql in writes if sql.startswith("UPDATE api_token")]) == 1


def test_a_token_stops_working_when_it_expires_to_the_second(session, make):
    ana = make.person()
    _, raw = create_token(session, ana, "bot", now=NOW, expires_at=NOW + timedelta(days=1))

    assert authenticate(session, raw, now=NOW + timedelta(days=1, seconds=-1)) is ana
    with pytest.raises(TokenExpired) as caught:
        authenticate(session, raw, now=NOW + timedelta(days=1))
    assert caught.value.expires_at == NOW + timedelta(days=1)


def test_a_token_of_someone_deactivated_stops_working(session, make):
    ana = make.person()
    _, raw = create_token(session, ana, "bot", now=NOW)

    ana.active = False

    assert authenticate(session, raw, now=NOW) is None


def test_only_the_owner_revokes_and_both_steps_are_audited(session, make):
    ana, ben = make.person(), make.person()
    token, raw = create_token(session, ana, "bot", now=NOW)

    assert revoke_token(session, ben, token.id, now=NOW) is False
    assert authenticate(session, raw, now=NOW) is ana
    assert revoke_token(session, ana, token.id, now=NOW) is True
    assert revoke_token(session, ana, token.id, now=NOW + timedelta(hours=1)) is True

    assert token.revoked_at == NOW
    assert authenticate(session, raw, now=NOW) is None
    assert revoke_token(session, ana, 2**31 - 1, now=NOW) is False
    entries = session.scalars(select(AuditEntry).order_by(AuditEntry.id)).all()
    assert [(e.actor_id, e.action, e.target_type, e.target_id) for e in entries] == [
        (ana.id, "token.created", "api_token", token.id),
        (ana.id, "token.revoked", "api_token", token.id),
    ]


def test_tokens_are_listed_newest_first(session, make):
    ana = make.person()
    first, _ = create_token(session, ana, "first", now=NOW)
    second, _ = create_token(session, ana, "second", now=NOW)  # the same instant
    third, _ = create_token(session, ana, "third", now=NOW - timedelta(days=1))
    create_token(session, make.person(), "someone else's", now=NOW)

    assert tokens_of(session, ana) == [second, first, third]


@pytest.mark.parametrize(
    ("name", "problem"),
    [
        ("", "Give the token a name, e.g. the script that uses it."),
        ("   ", "Give the token a name, e.g. the script that uses it."),
        ("x" * 101, "Keep the name under 100 characters."),
    ],
)
def test_a_token_needs_a_short_name(session, make, name, problem):
    with pytest.raises(TokenRejected) as caught:
        create_token(session, make.person(), name, now=NOW)

    assert caught.value.fields == {"name": problem}
    assert session.scalars(select(ApiToken)).all() == []


def test_a_name_of_exactly_100_characters_is_kept_and_audited(session, make):
    ana = make.person()
    expires = NOW + timedelta(days=90, microseconds=5)

    token, raw = create_token(session, ana, "x" * 100, now=NOW, expires_at=expires)

    assert token.name == "x" * 100
    # "kudos_" and 32 random bytes in URL-safe base64 (43 characters).
    assert len(raw) == len("kudos_") + 43
    entry = session.scalars(select(AuditEntry)).one()
    assert (entry.action, entry.target_type, entry.target_id) == (
        "token.created",
        "api_token",
        token.id,
    )
    assert entry.details == {"name": "x" * 100, "expires_at": "2027-02-21T10:00:00+00:00"}
    create_token(session, ana, "forever", now=NOW)
    forever = session.scalars(select(AuditEntry).order_by(AuditEntry.id.desc())).first()
    assert forever.details == {"name": "forever", "expires_at": None}


# The settings page -------------------------------------------------------------


NEW_TOKEN_FIELD = re.compile(r'<input[^>]*id="new-token"[^>]*value="(kudos_[^"]+)"[^>]*>')


def test_create_a_token_see_it_once_after_a_redirect_and_use_it(
    browser, client, session, signed_in
):
    response = browser.submit("/settings/tokens/", data={"name": "Slack bot"})

    # POST/redirect/GET: reloading the page that follows sends nothing again.
    assert response.status_code == 303
    assert response.headers["Location"] == "/settings/tokens/"
    page = browser.get("/settings/tokens/").get_data(as_text=True)
    field = NEW_TOKEN_FIELD.search(page)
    raw = field.group(1)
    assert "readonly" in field.group(0)  # selectable and copyable without JavaScript
    assert "won't be shown again" in page
    assert "js/copy.js" in page
    assert (
        client.get("/api/v1/values", headers={"Authorization": f"Bearer {raw}"}).status_code == 200
    )
    reloaded = browser.get("/settings/tokens/").get_data(as_text=True)
    assert "Slack bot" in reloaded
    assert raw not in reloaded
    assert "won't be shown again" not in reloaded
    assert "js/copy.js" not in reloaded
    assert len(session.scalars(select(ApiToken)).all()) == 1


def test_the_new_token_crosses_the_redirect_encrypted(browser, client, session, signed_in):
    browser.submit("/settings/tokens/", data={"name": "Slack bot"})
    with client.session_transaction() as flask_session:
        kept = dict(flask_session)
    raw = NEW_TOKEN_FIELD.search(browser.get("/settings/tokens/").get_data(as_text=True)).group(1)

    assert kept  # something is kept for the next page...
    assert raw not in repr(kept)  # ...but not the token as it is
    assert raw[len("kudos_") :] not in repr(kept)
    with client.session_transaction() as flask_session:
        assert dict(flask_session).keys() < kept.keys()  # and it is gone once shown


def test_a_new_token_revoked_before_the_page_shows_it_is_not_shown(browser, session, signed_in):
    browser.submit("/settings/tokens/", data={"name": "revoked at once"})
    token = session.scalars(select(ApiToken)).one()
    revoke_token(session, signed_in, token.id, now=utcnow())
    session.commit()

    assert not NEW_TOKEN_FIELD.search(browser.get("/settings/tokens/").get_data(as_text=True))


@pytest.mark.parametrize(
    ("name", "error"), [("  ", "Give the token a name"), ("x" * 101, "under 100 characters")]
)
def test_a_token_needs_a_short_name_on_the_page_too(browser, session, signed_in, name, error):
    response = browser.submit("/settings/tokens/", data={"name": name})

    assert response.status_code == 422
    assert error in response.get_data(as_text=True)
    assert session.scalars(select(ApiToken)).all() == []


def test_the_page_tells_active_expired_and_revoked_tokens_apart(browser, session, signed_in):
    now = utcnow()
    create_token(session, signed_in, "works", now=now)
    create_token(
        session,
        signed_in,
        "too old",
        now=now - timedelta(days=2),
        expires_at=now - timedelta(days=1),
    )
    token, _ = create_token(session, signed_in, "taken back", now=now)
    revoke_token(session, signed_in, token.id, now=now)
    session.commit()

    page = browser.get("/settings/tokens/").get_data(as_text=True)
    rows = {}  # name -> (status, offers a revoke button)
    for row in re.findall(r"<tr>(.*?)</tr>", page, re.S)[1:]:
        cells = re.findall(r"<td>(.*?)</td>", row, re.S)
        status = re.sub(r"<[^>]+>", "", cells[5]).strip()
        rows[cells[0]] = (status, "tokens/" in cells[6] and "/revoke" in cells[6])

    assert rows == {
        "works": ("Active", True),
        "too old": ("Expired", False),
        "taken back": ("Revoked", False),
    }


def test_each_revoke_button_posts_its_own_csrf_token(browser, session, signed_in):
    create_token(session, signed_in, "works", now=utcnow())
    session.commit()

    response = browser.get("/settings/tokens/")

    assert response.status_code == 200
    (revoke,) = re.findall(
        r'<form[^>]*action="[^"]*/revoke"[^>]*>(.*?)</form>', response.text, re.S
    )
    assert re.search(r'name="csrf_token" (type="hidden" )?value="[^"]+"', revoke)


def test_revoking_a_token(browser, client, session, signed_in):
    _, raw = create_token(session, signed_in, "old script", now=utcnow())
    session.commit()
    token_id = session.scalar(select(ApiToken.id))

    response = browser.submit("/settings/tokens/", f"/settings/tokens/{token_id}/revoke")

    assert response.status_code == 302
    assert (
        client.get("/api/v1/values", headers={"Authorization": f"Bearer {raw}"}).status_code == 401
    )
    assert "Revoked" in browser.get("/settings/tokens/").get_data(as_text=True)


def test_another_persons_token_is_404_and_unchanged(browser, client, session, make, signed_in):
    other = make.person()
    create_token(session, other, "theirs", now=utcnow())
    session.commit()
    token_id = session.scalar(select(ApiToken.id))

    response = browser.submit("/settings/tokens/", f"/settings/tokens/{token_id}/revoke")

    assert response.status_code == 404
    session.expire_all()
    assert session.get(ApiToken, token_id).revoked_at is None
    assert "theirs" not in browser.get("/settings/tokens/").get_data(as_text=True)


def test_token_forms_need_csrf(client, session, signed_in):
    assert client.post("/settings/tokens/", data={"name": "x"}).status_code == 400
    assert session.scalars(select(ApiToken)).all() == []

    token, _ = create_token(session, signed_in, "kept", now=utcnow())
    session.commit()
    assert client.post(f"/settings/tokens/{token.id}/revoke").status_code == 400
    session.expire_all()
    assert session.get(ApiToken, token.id).revoked_at is None


def test_the_tokens_page_needs_sign_in(client):
    assert client.get("/settings/tokens/").status_code == 302


def test_cli_prints_a_working_token(runner, client, make):
    make.person(email="ana@acme.example.com")

    result = runner.invoke(args=["tokens", "create", "ana@acme.example.com", "--name", "cron"])

    raw = result.stdout.strip()
    assert result.exit_code == 0, result.output
    assert raw.startswith("kudos_")
    assert "shown only once" in result.stderr
    assert (
        client.get("/api/v1/values", headers={"Authorization": f"Bearer {raw}"}).status_code == 200
    )


def test_cli_refuses_an_unknown_person(runner):
    result = runner.invoke(args=["tokens", "create", "nobody@acme.example.com"])

    assert result.exit_code == 1
    assert "nobody with the e-mail" in result.output


def test_cli_refuses_a_name_too_long(runner, session, make):
    make.person(email="ana@acme.example.com")

    result = runner.invoke(args=["tokens", "create", "ana@acme.example.com", "--name", "x" * 101])

    assert result.exit_code == 1
    assert "under 100 characters" in result.output
    assert session.scalars(select(ApiToken)).all() == []


def test_a_person_sees_only_their_own_tokens(client, session, make):
    ana, ben = make.person(), make.person()
    create_token(session, ana, "ana's", now=utcnow())
    session.commit()
    sign_in(client, ben)

    assert "ana&#39;s" not in client.get("/settings/tokens/").get_data(as_text=True)


# Expiry --------------------------------------------------------------------------


def test_an_expired_token_gets_a_401_that_says_so_at_the_exact_second(
    client, session, make, monkeypatch
):
    ana = make.person()
    _, raw = create_token(session, ana, "bot", now=NOW, expires_at=NOW + timedelta(days=90))
    session.commit()
    clock = [NOW + timedelta(days=90, seconds=-1)]
    monkeypatch.setattr("kudos.api.views.utcnow", lambda: clock[0])
    headers = {"Authorization": f"Bearer {raw}"}

    assert client.get("/api/v1/values", headers=headers).status_code == 200
    clock[0] = NOW + timedelta(days=90)
    response = client.get("/api/v1/values", headers=headers)

    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == 'Bearer realm="kudos"'
    error = response.get_json()["error"]
    assert error["code"] == "token_expired"
    assert error["message"].startswith("This API token expired on 2027-02-21 10:00 UTC.")
    wrong = client.get("/api/v1/values", headers={"Authorization": f"Bearer {raw}x"})
    assert wrong.status_code == 401
    assert wrong.get_json()["error"]["code"] == "unauthorized"
    assert "expired" not in wrong.get_json()["error"]["message"]


def test_the_api_document_describes_both_401s(client):
    document = client.get("/api/v1/openapi.json").get_json()

    description = document["paths"]["/kudos"]["get"]["responses"]["401"]["description"]
    assert "token_expired" in description
    assert "unauthorized" in description


def created_token(session) -> ApiToken:
    session.expire_all()
    return session.scalars(select(ApiToken).order_by(ApiToken.id.desc())).first()


def test_a_new_token_expires_in_90_days_unless_chosen_otherwise(browser, session, signed_in):
    page = browser.get("/settings/tokens/").get_data(as_text=True)
    options = re.findall(r'<option([^>]*)value="([^"]+)">([^<]+)</option>', page)
    assert [(value, label, "selected" in attributes) for attributes, value, label in options] == [
        ("30", "30 days", False),
        ("90", "90 days", True),
        ("365", "365 days", False),
        ("never", "No expiry", False),
    ]
    before = utcnow()

    # Without a choice (a form from before the select existed): the default.
    response = browser.submit("/settings/tokens/", data={"name": "bot"}, follow_redirects=True)

    token = created_token(session)
    assert before + timedelta(days=90) <= token.expires_at <= utcnow() + timedelta(days=90)
    assert "It expires on" in response.get_data(as_text=True)

    browser.submit("/settings/tokens/", data={"name": "a year", "expires_in": "365"})
    assert created_token(session).expires_at - created_token(session).created_at == timedelta(
        days=365
    )
    browser.submit("/settings/tokens/", data={"name": "forever", "expires_in": "never"})
    assert created_token(session).expires_at is None
    listing = browser.get("/settings/tokens/").get_data(as_text=True)
    cells = {
        re.findall(r"<td>(.*?)</td>", row, re.S)[0]: re.findall(r"<td>(.*?)</td>", row, re.S)[4]
        for row in re.findall(r"<tr>(.*?)</tr>", listing, re.S)[1:]
    }
    assert cells["forever"] == "never"
    local = token.expires_at
    assert f"{local.day} {local:%b %Y}" in cells["bot"]


@pytest.mark.parametrize("choice", ["7", "forever", "90.5", "0"])
def test_only_the_offered_lifetimes_are_accepted(browser, session, signed_in, choice):
    response = browser.submit("/settings/tokens/", data={"name": "bot", "expires_in": choice})

    assert response.status_code == 422
    assert "Choose when the token expires" in response.get_data(as_text=True)
    assert session.scalars(select(ApiToken)).all() == []


class TestConfiguredLifetime:
    @pytest.fixture
    def app_overrides(self):
        return {"API_TOKEN_DAYS": 14, "TIMEZONE": "America/Los_Angeles"}

    def test_the_configured_lifetime_is_offered_first(self, browser, session, signed_in):
        page = browser.get("/settings/tokens/").get_data(as_text=True)
        assert re.search(r'<option selected value="14">14 days</option>', page)

        response = browser.submit(
            "/settings/tokens/", data={"name": "bot", "expires_in": "14"}, follow_redirects=True
        )

        token = created_token(session)
        assert token.expires_at - token.created_at == timedelta(days=14)
        # Shown in the organisation's zone.
        assert " PST." in response.get_data(as_text=True) or " PDT." in response.get_data(
            as_text=True
        )

    def test_the_cli_uses_it_too(self, runner, session, make):
        make.person(email="ana@acme.example.com")

        runner.invoke(args=["tokens", "create", "ana@acme.example.com"])

        token = created_token(session)
        assert token.expires_at - token.created_at == timedelta(days=14)


def test_cli_tokens_expire_in_90_days_by_default_and_say_when(runner, session, make):
    make.person(email="ana@acme.example.com")

    result = runner.invoke(args=["tokens", "create", "ana@acme.example.com"])

    token = created_token(session)
    assert result.exit_code == 0, result.output
    assert token.expires_at - token.created_at == timedelta(days=90)
    assert f"expires {token.expires_at:%Y-%m-%d %H:%M} UTC" in result.stderr


@pytest.mark.parametrize(
    ("options", "lifetime", "said"),
    [
        (["--expires-in-days", "30"], timedelta(days=30), "expires "),
        (["--no-expiry"], None, "never"),
    ],
)
def test_cli_lifetime_options(runner, session, make, options, lifetime, said):
    make.person(email="ana@acme.example.com")

    result = runner.invoke(args=["tokens", "create", "ana@acme.example.com", *options])

    token = created_token(session)
    assert result.exit_code == 0, result.output
    assert (token.expires_at - token.created_at if token.expires_at else None) == lifetime
    assert said in result.stderr


@pytest.mark.parametrize(
    "options", [["--expires-in-days", "0"], ["--expires-in-days", "30", "--no-expiry"]]
)
def test_cli_refuses_bad_lifetimes(runner, session, make, options):
    make.person(email="ana@acme.example.com")

    result = runner.invoke(args=["tokens", "create", "ana@acme.example.com", *options])

    assert result.exit_code == 2
    assert session.scalars(select(ApiToken)).all() == []
