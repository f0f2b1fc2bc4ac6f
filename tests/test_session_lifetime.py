"""A session ends KUDOS_SESSION_HOURS after sign-in, however busy the person
is (``test_sso.py`` walks the same through the real provider)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime

import pytest

from kudos.auth.sessions import SIGNED_IN_AT_KEY
from kudos.db import utcnow
from tests.conftest import sign_in

SIGNED_IN = datetime(2026, 3, 28, 20, 30, tzinfo=UTC)  # the night before Paris goes to summer time


@pytest.fixture
def clock(monkeypatch):
    now = [SIGNED_IN]
    monkeypatch.setattr("kudos.auth.sessions.utcnow", lambda: now[0])
    return now


def signed_in_at(client, person, moment: datetime | None) -> None:
    sign_in(client, person)
    with client.session_transaction() as flask_session:
        flask_session.permanent = True  # as sign-in makes it
        if moment is None:
            del flask_session[SIGNED_IN_AT_KEY]
        else:
            flask_session[SIGNED_IN_AT_KEY] = int(moment.timestamp())


@pytest.fixture
def app_overrides():
    return {"TIMEZONE": "Europe/Paris"}


def test_twelve_hours_after_sign_in_the_session_ends_however_busy(client, make, clock):
    signed_in_at(client, make.person(), SIGNED_IN)
    for minutes in range(0, 12 * 60, 90):
        clock[0] = SIGNED_IN + timedelta(minutes=minutes)
        assert client.get("/").status_code == 200

    clock[0] = SIGNED_IN + timedelta(hours=12, seconds=-1)
    assert client.get("/").status_code == 200
    clock[0] = SIGNED_IN + timedelta(hours=12)
    response = client.get("/leaderboard?month=2026-03")

    assert response.status_code == 302
    assert response.headers["Location"] == "/login?next=%2Fleaderboard%3Fmonth%3D2026-03"


def test_a_session_without_a_sign_in_time_has_ended(client, make):
    signed_in_at(client, make.person(), None)

    assert client.get("/").status_code == 302


@pytest.mark.parametrize("forged", ["yesterday", 10**20, True, -(10**15)])
def test_a_forged_sign_in_time_ends_the_session_without_a_500(client, make, forged):
    sign_in(client, make.person())
    with client.session_transaction() as flask_session:
        flask_session[SIGNED_IN_AT_KEY] = forged

    assert client.get("/").status_code == 302


class TestConfiguredLifetime:
    @pytest.fixture
    def app_overrides(self):
        return {"SESSION_HOURS": 1}

    def test_the_lifetime_follows_kudos_session_hours(self, client, make, clock):
        signed_in_at(client, make.person(), SIGNED_IN)

        clock[0] = SIGNED_IN + timedelta(minutes=59, seconds=59)
        assert client.get("/").status_code == 200
        clock[0] = SIGNED_IN + timedelta(hours=1)
        assert client.get("/").status_code == 302


def test_the_cookie_expires_with_the_session_not_later(client, make):
    begun = utcnow().replace(microsecond=0) - timedelta(hours=11)
    signed_in_at(client, make.person(), begun)

    response = client.get("/")

    assert response.status_code == 200
    cookie = next(v for v in response.headers.getlist("Set-Cookie") if v.startswith("session="))
    expires = next(p for p in cookie.split(";") if p.strip().lower().startswith("expires="))
    assert parsedate_to_datetime(expires.split("=", 1)[1]) == begun + timedelta(hours=12)


def test_a_reload_leaves_the_cookie_as_it_is(client, make):
    """The cookie's expiry is fixed at sign-in, so a request that changes
    nothing in the session writes no cookie (each one cost a signature)."""
    begun = utcnow().replace(microsecond=0) - timedelta(hours=1)
    signed_in_at(client, make.person(), begun)
    client.get("/")  # the first page may add the forms' CSRF secret

    again = client.get("/")

    assert again.status_code == 200
    assert not [v for v in again.headers.getlist("Set-Cookie") if v.startswith("session=")]
    assert client.get_cookie("session").expires == begun + timedelta(hours=12)
