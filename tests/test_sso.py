"""Signing in through a real OpenID provider (panva/oidc-provider on Node.js).

Every test here goes over HTTP to the provider: discovery, its login form,
the code exchange with PKCE, the ID token and its keys, the callback, and
the provider's sign-out.
"""

from __future__ import annotations

import re
from datetime import timedelta
from urllib.parse import parse_qs, urljoin, urlsplit

import pytest
from sqlalchemy import select

from kudos import create_app
from kudos.audit.models import AuditEntry
from kudos.auth.models import Identity
from kudos.db import utcnow
from kudos.people.models import Person
from tests.conftest import TEST_SECRET_KEY
from tests.oidc_provider import KUDOS_URL, ProviderBrowser, free_port, running_provider

ANA = {
    "email": "Ana@Acme.Example.com",
    "email_verified": True,
    "name": "Ana Souza",
    "title": "Platform Engineer",
    "department": "Engineering",
    "team": "Platform",
    "groups": ["staff"],
}


@pytest.fixture(scope="session")
def provider(tmp_path_factory):
    with running_provider(tmp_path_factory.mktemp("oidc")) as provider:
        yield provider


@pytest.fixture
def app_overrides(provider):
    return provider.app_settings(OIDC_ADMIN_GROUP="kudos-admins")


@pytest.fixture
def users(provider):
    """The provider's users; assign to change them before the next sign-in."""
    provider.set_users({"ana": dict(ANA)})

    class Users:
        def set(self, login: str, **claims: object) -> None:
            provider.set_users({login: claims})

        def update(self, login: str, **changes: object) -> None:
            provider.set_users({login: {**ANA, **changes}})

    return Users()


@pytest.fixture
def person_browser(client):
    return ProviderBrowser(client)


def find(session, email: str) -> Person | None:
    session.expire_all()
    return session.scalar(select(Person).where(Person.email == email))


def test_first_sign_in_links_a_verified_email_to_the_directory_person(
    session, make, users, person_browser, client
):
    ana = make.person(name="Ana (directory)", email="ana@acme.example.com")

    response = person_browser.sign_in("ana")

    assert response.status_code == 302
    assert response.headers["Location"] == "/"
    assert client.get("/").status_code == 200
    identity = session.scalars(select(Identity)).one()
    assert identity.person_id == ana.id
    assert identity.subject == "ana"
    assert identity.issuer == person_browser.kudos.application.config["OIDC_ISSUER"]
    assert find(session, "ana@acme.example.com").name == "Ana Souza"


def test_an_unverified_email_does_not_link(session, make, users, person_browser, client):
    make.person(email="ana@acme.example.com")
    users.update("ana", email_verified=False)

    response = person_browser.sign_in("ana")

    assert response.status_code == 403
    assert "confirmed your e-mail address" in response.get_data(as_text=True)
    assert session.scalars(select(Identity)).all() == []
    assert client.get("/").status_code == 302


def test_just_in_time_creation_makes_the_person_from_claims(session, users, person_browser):
    response = person_browser.sign_in("ana")

    assert response.status_code == 302
    ana = find(session, "ana@acme.example.com")
    assert (ana.name, ana.title, ana.department.name, ana.team.name) == (
        "Ana Souza",
        "Platform Engineer",
        "Engineering",
        "Platform",
    )
    assert ana.active
    assert not ana.is_admin


def test_without_just_in_time_creation_strangers_get_a_friendly_page(
    provider, connection, database_url, users, session
):
    app = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": TEST_SECRET_KEY,
            "DATABASE_URL": database_url,
            **provider.app_settings(OIDC_AUTO_CREATE=False),
        }
    )
    app.extensions["kudos.db"].configure(bind=connection, join_transaction_mode="create_savepoint")

    response = ProviderBrowser(app.test_client()).sign_in("ana")

    assert response.status_code == 403
    assert "not in the Kudos directory yet" in response.get_data(as_text=True)
    assert find(session, "ana@acme.example.com") is None


def test_claims_update_the_person_at_each_sign_in(session, make, users, app):
    boss = make.person(email="boss@acme.example.com")
    ProviderBrowser(app.test_client()).sign_in("ana")
    users.update(
        "ana",
        name="Ana Souza-Lee",
        title="Staff Engineer",
        department="Research",
        team="Labs",
        manager_email="BOSS@acme.example.com",
        email="ana.new@acme.example.com",
    )

    response = ProviderBrowser(app.test_client()).sign_in("ana")

    assert response.status_code == 302
    ana = find(session, "ana@acme.example.com")  # found by identity, e-mail not taken over
    assert (ana.name, ana.title, ana.department.name, ana.team.name, ana.manager_id) == (
        "Ana Souza-Lee",
        "Staff Engineer",
        "Research",
        "Labs",
        boss.id,
    )
    assert find(session, "ana.new@acme.example.com") is None


def test_claims_the_provider_does_not_send_leave_the_directory_alone(session, make, users, client):
    make.person(email="ana@acme.example.com", title="From the directory")
    users.set("ana", email="ana@acme.example.com", email_verified=True)

    ProviderBrowser(client).sign_in("ana")

    assert find(session, "ana@acme.example.com").title == "From the directory"


def test_the_admin_group_grants_admin_and_its_removal_takes_it_away(session, users, app):
    users.update("ana", groups=["staff", "kudos-admins"])
    ProviderBrowser(app.test_client()).sign_in("ana")
    assert find(session, "ana@acme.example.com").is_admin

    users.update("ana", groups=["staff"])
    ProviderBrowser(app.test_client()).sign_in("ana")

    assert not find(session, "ana@acme.example.com").is_admin


def test_admin_rights_granted_in_kudos_survive_sign_in(session, make, users, client):
    make.person(email="ana@acme.example.com", admin_granted=True)

    ProviderBrowser(client).sign_in("ana")

    assert find(session, "ana@acme.example.com").is_admin


def test_a_deactivated_person_is_refused(session, make, users, person_browser, client):
    make.person(email="ana@acme.example.com", active=False)

    response = person_browser.sign_in("ana")

    assert response.status_code == 403
    assert "account is deactivated" in response.get_data(as_text=True)
    assert client.get("/").status_code == 302


def test_sign_out_ends_the_session_everywhere_and_at_the_provider(
    session, users, person_browser, client
):
    person_browser.sign_in("ana")
    with client.session_transaction() as flask_session:
        copied_cookie = dict(flask_session)
    # A new person lands on onboarding, which has the sign-out button too.
    assert client.get("/").headers["Location"].startswith("/onboarding")
    page = client.get("/onboarding").get_data(as_text=True)
    token = page.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]

    response = client.post("/logout", data={"csrf_token": token})

    # Off to the provider's end-session endpoint, with the hint and our return address.
    location = response.headers["Location"]
    assert location.startswith(person_browser.kudos.application.config["OIDC_ISSUER"])
    query = parse_qs(urlsplit(location).query)
    assert query["post_logout_redirect_uri"] == [f"{KUDOS_URL}/login"]
    assert query["id_token_hint"][0].count(".") == 2
    confirm = person_browser.follow(location)
    form_action = confirm.text.split('action="', 1)[1].split('"', 1)[0]
    form_fields = dict(re.findall(r'name="([^"]+)" value="([^"]*)"', confirm.text))
    back_home = person_browser.follow(
        urljoin(confirm.url, form_action), method="POST", data={**form_fields, "logout": "yes"}
    )
    assert back_home.startswith("/login")
    # This browser is signed out, and so is a copy of its old cookie.
    assert client.get("/onboarding").status_code == 302
    with client.session_transaction() as flask_session:
        flask_session.update(copied_cookie)
    assert client.get("/onboarding").headers["Location"].startswith("/login")


def test_next_goes_back_to_the_page_asked_for(users, person_browser):
    response = person_browser.sign_in("ana", next_url="/?before=1.1")

    assert response.headers["Location"] == "/?before=1.1"


def test_next_to_another_host_is_refused(users, person_browser):
    response = person_browser.sign_in("ana", next_url="https://evil.example.com/steal")

    assert response.headers["Location"] == "/"


def test_cancelling_at_the_provider_gets_a_friendly_page(users, person_browser, client):
    response = person_browser.cancel()

    assert response.status_code == 401
    page = response.get_data(as_text=True)
    assert "Sign-in was cancelled" in page
    assert "Try again" in page
    assert client.get("/").status_code == 302


def test_a_replayed_callback_is_refused(users, person_browser, client):
    person_browser.sign_in("ana")

    response = client.get(person_browser.last_callback)

    assert response.status_code == 400
    assert "sign-in link has expired" in response.get_data(as_text=True)


def test_a_callback_from_another_browser_is_refused(app, users, person_browser):
    # The victim is sent a callback that belongs to the attacker's sign-in.
    attacker = ProviderBrowser(app.test_client())
    login_page = attacker.follow(attacker.start())
    form = re.search(r'<form[^>]*action="([^"]+)"', login_page.text).group(1)
    callback = attacker.follow(
        urljoin(login_page.url, form),
        method="POST",
        data={"prompt": "login", "login": "ana", "password": "x"},
    )

    response = person_browser.kudos.get(callback)

    assert response.status_code == 400
    assert person_browser.kudos.get("/").status_code == 302


def test_a_callback_naming_another_issuer_is_refused(users, person_browser):
    login_page = person_browser.follow(person_browser.start())
    form = re.search(r'<form[^>]*action="([^"]+)"', login_page.text).group(1)
    callback = person_browser.follow(
        urljoin(login_page.url, form),
        method="POST",
        data={"prompt": "login", "login": "ana", "password": "x"},
    )
    assert "iss=" in callback
    forged = callback.replace("iss=", "iss=https%3A%2F%2Fevil.example.com&ignored=")

    response = person_browser.kudos.get(forged)

    assert response.status_code == 400
    assert "wrong place" in response.get_data(as_text=True)


def test_the_session_cookie_is_small_and_has_the_right_flags(
    provider, connection, database_url, users
):
    app = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": TEST_SECRET_KEY,
            "DATABASE_URL": database_url,
            "SESSION_COOKIE_SECURE": True,
            **provider.app_settings(),
        }
    )
    app.extensions["kudos.db"].configure(bind=connection, join_transaction_mode="create_savepoint")
    client = app.test_client()

    response = ProviderBrowser(client).sign_in("ana")

    cookie = next(
        value for value in response.headers.getlist("Set-Cookie") if value.startswith("session=")
    )
    attributes = [part.strip().lower() for part in cookie.split(";")]
    assert "httponly" in attributes
    assert "secure" in attributes
    assert "samesite=lax" in attributes
    assert any(part.startswith("expires=") for part in attributes)
    value = cookie.split(";")[0].split("=", 1)[1]
    assert len(value) < 4096
    # Only who is signed in, never tokens or group lists.
    contents = app.session_interface.get_signing_serializer(app).loads(value)
    assert set(contents) <= {
        "_user_id",
        "_fresh",
        "_id",
        "_permanent",
        "kudos_identity",
        "kudos_signed_in_at",
        "csrf_token",
    }


def test_an_unreachable_provider_gets_a_friendly_page_and_the_app_still_runs(
    connection, database_url
):
    closed = f"http://127.0.0.1:{free_port()}"
    app = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": TEST_SECRET_KEY,
            "DATABASE_URL": database_url,
            "OIDC_ISSUER": closed,
            "OIDC_CLIENT_ID": "x",
            "OIDC_CLIENT_SECRET": "y",
            "BASE_URL": KUDOS_URL,
        }
    )
    app.extensions["kudos.db"].configure(bind=connection, join_transaction_mode="create_savepoint")
    client = app.test_client()

    assert client.get("/healthz").status_code == 200
    login = client.get("/login")
    assert login.status_code == 200
    token = login.get_data(as_text=True).split('name="csrf_token" value="', 1)[1].split('"')[0]
    response = client.post("/login", data={"csrf_token": token})

    assert response.status_code == 503
    assert "reach your company&#39;s sign-in service" in response.get_data(as_text=True)


def test_sign_in_starts_a_fresh_session(users, person_browser, client):
    client.get("/login")
    with client.session_transaction() as flask_session:
        flask_session["planted_by_someone_else"] = "x"

    person_browser.sign_in("ana")

    with client.session_transaction() as flask_session:
        assert "planted_by_someone_else" not in flask_session
        assert flask_session["_user_id"].endswith(":1")


# Accounts cannot be claimed in advance (see also test_accounts.py) ------------

DIRECTORY = (
    "email,name,title,department,team,manager_email\n"
    "ana@acme.example.com,Ana Souza,VP Engineering,Engineering,Leadership,\n"
    "raj@acme.example.com,Raj Patel,Engineer,Engineering,Platform,ana@acme.example.com\n"
)


def import_directory(runner, tmp_path) -> None:
    path = tmp_path / "people.csv"
    path.write_text(DIRECTORY)
    result = runner.invoke(args=["users", "import", str(path)])
    assert result.exit_code == 0, result.output


def test_an_unverified_email_creates_nobody_and_says_why(session, users, person_browser, client):
    users.update("ana", email_verified=False)

    response = person_browser.sign_in("ana")

    assert response.status_code == 403
    assert "hasn&#39;t confirmed your e-mail address" in response.get_data(as_text=True)
    assert find(session, "ana@acme.example.com") is None
    assert session.scalars(select(Identity)).all() == []
    assert client.get("/").status_code == 302


def test_an_early_unverified_sign_in_gets_nothing_of_the_directory_entry(
    session, provider, app, runner, tmp_path
):
    provider.set_users(
        {"mallory": {**ANA, "email_verified": False, "name": "Mallory"}, "ana": dict(ANA)}
    )
    mallory = ProviderBrowser(app.test_client())

    assert mallory.sign_in("mallory").status_code == 403
    import_directory(runner, tmp_path)
    assert ProviderBrowser(mallory.kudos).sign_in("mallory").status_code == 403
    assert mallory.kudos.get("/").status_code == 302
    response = ProviderBrowser(app.test_client()).sign_in("ana")

    assert response.status_code == 302
    ana = find(session, "ana@acme.example.com")
    assert ana.name == "Ana Souza"  # never "Mallory"
    assert [(i.subject, i.person_id) for i in session.scalars(select(Identity))] == [
        ("ana", ana.id)
    ]
    assert find(session, "raj@acme.example.com").manager_id == ana.id


def test_a_second_account_with_the_same_address_is_refused_and_audited(
    session, provider, app, runner, tmp_path
):
    provider.set_users({"ana": dict(ANA), "ana-2": dict(ANA)})
    import_directory(runner, tmp_path)
    assert ProviderBrowser(app.test_client()).sign_in("ana").status_code == 302
    other = ProviderBrowser(app.test_client())

    response = other.sign_in("ana-2")

    assert response.status_code == 403
    assert "belongs to another account" in response.get_data(as_text=True)
    assert other.kudos.get("/").status_code == 302
    assert [i.subject for i in session.scalars(select(Identity))] == ["ana"]
    refused = session.scalars(
        select(AuditEntry).where(AuditEntry.action == "auth.refused.email_reassigned")
    ).one()
    assert refused.target_id == find(session, "ana@acme.example.com").id


def test_control_characters_in_claims_are_cleaned(session, users, person_browser):
    users.update("ana", name="Ana\r\nSouza", title="Platform\u0000Engineer\u007f")

    assert person_browser.sign_in("ana").status_code == 302

    ana = find(session, "ana@acme.example.com")
    assert (ana.name, ana.title) == ("Ana Souza", "Platform Engineer")


# Sessions have an absolute lifetime -------------------------------------------


def test_after_twelve_hours_the_provider_is_asked_again(
    session, make, users, person_browser, client, monkeypatch
):
    make.person(email="ana@acme.example.com")
    users.update("ana", groups=["kudos-admins"])
    start = utcnow().replace(microsecond=0)
    clock = [start]
    monkeypatch.setattr("kudos.auth.views.utcnow", lambda: clock[0])
    monkeypatch.setattr("kudos.auth.sessions.utcnow", lambda: clock[0])
    person_browser.sign_in("ana")
    assert find(session, "ana@acme.example.com").is_admin
    users.update("ana", groups=["staff"])  # removed from the admin group

    # Busy all day: requests go on, the lifetime does not grow.
    for hours in (1, 6, 11):
        clock[0] = start + timedelta(hours=hours)
        assert client.get("/admin/").status_code == 200
    clock[0] = start + timedelta(hours=12, seconds=-1)
    assert client.get("/admin/").status_code == 200
    clock[0] = start + timedelta(hours=12)
    response = client.get("/admin/?x=1")

    assert response.status_code == 302
    assert response.headers["Location"] == "/login?next=%2Fadmin%2F%3Fx%3D1"
    again = ProviderBrowser(client).sign_in("ana", next_url="/admin/?x=1")
    assert again.headers["Location"] == "/admin/?x=1"
    assert client.get("/admin/").status_code == 403
