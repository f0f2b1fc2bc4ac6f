"""Deactivation ends sessions and revokes API tokens for good; reactivation
gives back the person, never the old credentials."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select

from kudos.audit.models import AuditEntry
from kudos.auth.models import ApiToken
from kudos.auth.tokens import authenticate, create_token
from kudos.db import utcnow
from kudos.people.services import (
    deactivate_people,
    deactivate_person,
    reactivate_person,
)
from tests.conftest import sign_in

NOW = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
HEADER = "email,name,title,department,team,manager_email\n"


def audit(session, action: str) -> list[tuple[int | None, int | None, dict]]:
    entries = session.scalars(
        select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id)
    )
    return [(entry.actor_id, entry.target_id, entry.details) for entry in entries]


def api(client, raw: str):  # noqa: ANN201
    return client.get("/api/v1/values", headers={"Authorization": f"Bearer {raw}"})


# The service -------------------------------------------------------------------


def test_deactivating_ends_sessions_and_revokes_every_token_audited(session, make):
    admin, ana, ben = make.person(), make.person(), make.person()
    kept, kept_raw = create_token(session, ben, "ben's", now=NOW)
    first, raw = create_token(session, ana, "bot", now=NOW)
    second, _ = create_token(session, ana, "cron", now=NOW)
    version = ana.session_version

    assert deactivate_person(session, ana, actor=admin, now=NOW) is True

    assert (ana.active, ana.session_version) == (False, version + 1)
    assert (first.revoked_at, second.revoked_at, kept.revoked_at) == (NOW, NOW, None)
    assert authenticate(session, kept_raw, now=NOW) == ben
    assert audit(session, "person.deactivated") == [(admin.id, ana.id, {})]
    assert sorted(audit(session, "token.revoked")) == sorted(
        [
            (admin.id, token.id, {"reason": "owner deactivated", "person_id": ana.id})
            for token in (first, second)
        ]
    )
    # Again: nothing more happens.
    assert deactivate_person(session, ana, actor=admin, now=NOW) is False
    assert ana.session_version == version + 1

    assert reactivate_person(session, ana, actor=admin, now=NOW) is True

    assert (ana.active, ana.session_version) == (True, version + 1)
    assert authenticate(session, raw, now=NOW) is None
    assert session.get(ApiToken, first.id).revoked_at == NOW
    assert audit(session, "person.reactivated") == [(admin.id, ana.id, {})]


def test_deactivating_many_people_at_once(session, make):
    crowd = [make.person() for _ in range(3)]
    tokens = [create_token(session, person, "bot", now=NOW)[1] for person in crowd]

    changed = deactivate_people(session, [p.id for p in crowd] * 2, actor=None, now=NOW)

    assert sorted(changed) == sorted(p.id for p in crowd)
    assert all(authenticate(session, raw, now=NOW) is None for raw in tokens)
    assert session.scalars(select(ApiToken.revoked_at)).all() == [NOW] * 3


def test_a_deactivated_person_gets_no_new_token(session, make, runner):
    ana = make.person(email="ana@acme.example.com")
    deactivate_person(session, ana, actor=None, now=NOW)
    session.commit()

    result = runner.invoke(args=["tokens", "create", "ana@acme.example.com"])

    assert result.exit_code == 1
    assert "ana@acme.example.com is deactivated" in result.output
    assert session.scalars(select(ApiToken)).all() == []


# Through the directory import, with the page cache warm ------------------------


def test_import_deactivation_is_final_for_the_old_cookie_and_token(
    session, make, client, runner, tmp_path
):
    make.person(email="boss@acme.example.com", name="Bo Ss")
    ana = make.person(email="ana@acme.example.com", name="Ana Souza")
    _, raw = create_token(session, ana, "bot", now=utcnow())
    session.commit()
    sign_in(client, ana)
    # Warm every cache: the signed-in person and the pages.
    assert client.get("/").status_code == 200
    assert client.get("/leaderboard").status_code == 200
    assert api(client, raw).status_code == 200
    with client.session_transaction() as flask_session:
        old_cookie = dict(flask_session)
    without_ana = tmp_path / "without.csv"
    without_ana.write_text(HEADER + "boss@acme.example.com,Bo Ss,,,,\n")
    with_ana = tmp_path / "with.csv"
    with_ana.write_text(HEADER + "boss@acme.example.com,Bo Ss,,,,\nana@acme.example.com,Ana,,,,\n")

    result = runner.invoke(args=["users", "import", "--deactivate-missing", str(without_ana)])

    assert "1 deactivated" in result.output, result.output
    # At once, although her session and pages were cached a moment ago.
    assert client.get("/leaderboard").status_code == 302
    assert client.get("/").headers["Location"].startswith("/login")
    assert api(client, raw).status_code == 401

    result = runner.invoke(args=["users", "import", str(with_ana)])

    assert "1 updated" in result.output, result.output
    session.expire_all()
    assert session.get(type(ana), ana.id).active
    with client.session_transaction() as flask_session:
        flask_session.clear()
        flask_session.update(old_cookie)
    assert client.get("/").headers["Location"].startswith("/login")
    assert api(client, raw).status_code == 401
    assert api(client, raw).get_json()["error"]["code"] == "unauthorized"
    # Ana herself is back: a new sign-in works.
    sign_in(client, session.get(type(ana), ana.id))
    assert client.get("/").status_code == 200
    assert [entry[1] for entry in audit(session, "person.deactivated")] == [ana.id]
    assert [entry[1] for entry in audit(session, "person.reactivated")] == [ana.id]
