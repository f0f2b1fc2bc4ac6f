"""SCIM 2.0 provisioning at /scim/v2: who may call it, what each request
does to the directory, and what it refuses (leaving nothing written)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from kudos.audit.models import AuditEntry
from kudos.auth.tokens import create_token as create_api_token
from kudos.db import utcnow
from kudos.people import sources
from kudos.people.models import Department, Person, Team
from kudos.recognition.models import Kudos
from kudos.scim.models import ScimGroup, ScimToken, ScimUser
from kudos.scim.tokens import create_token, revoke_token
from tests.conftest import sign_in
from tests.scim_client import ENTERPRISE, GROUP, MEDIA_TYPE, USER, Scim, user

ERROR = "urn:ietf:params:scim:api:messages:2.0:Error"


def created(scim: Scim, user_name: str, **attributes) -> dict:
    response = scim.post("/Users", user(user_name, **attributes))
    assert response.status_code == 201, response.get_data(as_text=True)
    return response.get_json()


def person_of(session, resource: dict) -> Person:
    session.expire_all()
    return session.scalars(select(Person).where(Person.scim_id == resource["id"])).one()


def enterprise(**fields) -> dict:
    return {"schemas": [USER, ENTERPRISE], ENTERPRISE: fields}


def assert_error(response, status: int, scim_type: str | None = None) -> dict:
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == MEDIA_TYPE
    body = response.get_json()
    assert body["schemas"] == [ERROR]
    assert body["status"] == str(status)
    if scim_type is not None:
        assert body.get("scimType") == scim_type, body
    return body


def audit_count(session) -> int:
    return session.scalar(select(func.count()).select_from(AuditEntry))


# -- who may call ------------------------------------------------------------


@pytest.mark.parametrize(
    "header",
    [None, "Bearer kudos_scim_wrong", "Basic a3Vkb3M6a3Vkb3M=", "Bearer "],
    ids=["none", "wrong token", "basic", "empty"],
)
def test_a_request_without_the_provisioning_token_is_refused(client, session, header):
    headers = {"Authorization": header} if header else {}
    response = client.get("/scim/v2/Users", headers=headers)
    assert_error(response, 401)
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    response = client.post("/scim/v2/Users", json=user("ada@acme.example.com"), headers=headers)
    assert_error(response, 401)
    assert session.scalar(select(func.count()).select_from(ScimUser)) == 0


def test_a_personal_api_token_does_not_open_scim_nor_the_reverse(client, session, make, scim):
    admin = make.person(email="root@acme.example.com", admin_granted=True)
    _, personal = create_api_token(session, admin, "script", now=utcnow())
    session.commit()
    assert_error(client.get("/scim/v2/Users", headers={"Authorization": f"Bearer {personal}"}), 401)
    provisioning = scim.headers["Authorization"]
    answer = client.get("/api/v1/values", headers={"Authorization": provisioning})
    assert answer.status_code == 401
    assert scim.get("/Users").status_code == 200


def test_a_revoked_token_is_refused_at_once_and_the_others_still_work(client, session, scim):
    token = session.scalars(select(ScimToken)).one()
    _, other = create_token(session, "Entra ID", now=utcnow())
    session.commit()
    assert scim.get("/Users").status_code == 200
    revoke_token(session, token.id, now=utcnow())
    session.commit()
    assert_error(scim.get("/Users"), 401)
    assert Scim(client, other).get("/Users").status_code == 200


def test_a_token_expires_at_its_expiry_to_the_second(client, session):
    now = utcnow()
    token, raw = create_token(session, "Okta", now=now - timedelta(days=1), days=1)
    session.commit()
    assert token.expires_at == now
    assert_error(Scim(client, raw).get("/Users"), 401)
    token.expires_at = utcnow() + timedelta(seconds=30)
    session.commit()
    assert Scim(client, raw).get("/Users").status_code == 200


def test_the_token_is_stored_only_as_its_hash(session, scim_token):
    stored = session.scalars(select(ScimToken)).one()
    assert scim_token.startswith("kudos_scim_")
    assert scim_token not in (stored.token_hash, stored.prefix)
    assert scim_token.startswith(stored.prefix)


def test_the_command_line_creates_lists_and_revokes_tokens(runner, session):
    made = runner.invoke(args=["scim", "token", "create", "Okta"])
    assert made.exit_code == 0, made.output
    raw = made.stdout.strip()
    assert raw.startswith("kudos_scim_")
    assert "/scim/v2" in made.stderr
    listed = runner.invoke(args=["scim", "token", "list"])
    assert "Okta" in listed.output
    assert "live" in listed.output
    assert raw not in listed.output
    token = session.scalars(select(ScimToken)).one()
    revoked = runner.invoke(args=["scim", "token", "revoke", str(token.id)])
    assert revoked.exit_code == 0
    assert "revoked" in runner.invoke(args=["scim", "token", "list"]).output
    missing = runner.invoke(args=["scim", "token", "revoke", "999999"])
    assert missing.exit_code != 0
    assert "No provisioning token" in missing.output
    assert runner.invoke(args=["scim", "token", "create", "  "]).exit_code != 0


@pytest.mark.parametrize(
    "app_overrides", [{"RATELIMIT_ENABLED": True, "RATELIMIT_SCIM": "3 per minute"}]
)
def test_each_token_has_a_rate_limit(client, session, scim):
    for _ in range(3):
        assert scim.get("/Users").status_code == 200
    refused = scim.get("/Users")
    body = assert_error(refused, 429, "tooMany")
    assert body["detail"]
    assert 1 <= int(refused.headers["Retry-After"]) <= 60
    _, other = create_token(session, "Entra ID", now=utcnow())
    session.commit()
    assert Scim(client, other).get("/Users").status_code == 200
    # A wrong token is refused before it is counted: it fills nobody's bucket.
    for _ in range(5):
        assert_error(Scim(client, "kudos_scim_nope").get("/Users"), 401)


# -- users -------------------------------------------------------------------


def test_creating_a_user_makes_a_person_with_what_scim_sent(scim, session):
    resource = created(
        scim,
        "ada@acme.example.com",
        externalId="00u1ada",
        name={"givenName": "Ada", "familyName": "Lovelace"},
        title="Analyst",
        **enterprise(department="Engineering"),
    )
    ada = person_of(session, resource)
    assert (ada.email, ada.name, ada.title, ada.department.name, ada.active) == (
        "ada@acme.example.com",
        "Ada Lovelace",
        "Analyst",
        "Engineering",
        True,
    )
    assert session.get(ScimUser, ada.id).external_id == "00u1ada"
    assert {field: sources.source_of(ada, field) for field in ("name", "title", "active")} == {
        "name": "scim",
        "title": "scim",
        "active": "scim",
    }
    assert sources.source_of(ada, "team") is None  # never sent: other sources still own it
    entry = session.scalars(
        select(AuditEntry).where(AuditEntry.action == "scim.user_created")
    ).one()
    assert (entry.actor_id, entry.actor_label, entry.target_id) == (None, "provisioning", ada.id)
    assert resource["userName"] == "ada@acme.example.com"
    assert resource["meta"]["location"].endswith(f"/scim/v2/Users/{resource['id']}")


def test_a_user_without_emails_is_known_by_a_username_that_is_an_address(scim, session):
    body = {"schemas": [USER], "userName": "Grace@Acme.example.com", "active": True}
    answer = scim.post("/Users", body)
    assert answer.status_code == 201
    assert person_of(session, answer.get_json()).email == "grace@acme.example.com"
    # …and a creation without ``active`` makes an active person.
    answer = scim.post("/Users", {"schemas": [USER], "userName": "joan@acme.example.com"})
    assert person_of(session, answer.get_json()).active


def test_a_user_kudos_cannot_reach_by_email_is_refused_and_nothing_is_written(scim, session):
    before = audit_count(session)
    body = {"schemas": [USER], "userName": "ada.lovelace", "active": True}
    assert_error(scim.post("/Users", body), 400, "invalidValue")
    assert session.scalar(select(func.count()).select_from(Person)) == 0
    assert audit_count(session) == before


def test_a_username_is_unique_whatever_its_case(scim, session, make):
    created(scim, "ada@acme.example.com")
    again = scim.post(
        "/Users", user("ADA@acme.example.com", emails=[{"value": "ada2@acme.example.com"}])
    )
    assert_error(again, 409, "uniqueness")
    # A person SCIM never wrote is known by their e-mail: that userName is theirs.
    make.person(email="grace@acme.example.com")
    assert_error(scim.post("/Users", user("grace@acme.example.com")), 409, "uniqueness")
    assert session.scalar(select(func.count()).select_from(ScimUser)) == 1


def test_a_new_username_for_someone_already_in_kudos_provisions_that_person(scim, session, make):
    grace = make.person(name="Grace Hopper", email="grace@acme.example.com")
    make.kudos(make.person(), [grace])
    resource = created(
        scim, "ghopper", emails=[{"value": "Grace@acme.example.com", "type": "work"}]
    )
    assert person_of(session, resource).id == grace.id
    assert session.scalar(select(func.count()).select_from(Kudos)) == 1
    assert resource["userName"] == "ghopper"


def test_an_account_with_an_unconfirmed_address_is_not_taken_over(scim, session, make):
    make.person(email="mallory@acme.example.com", unverified_sign_in=True)
    answer = scim.post("/Users", user("mhacker", emails=[{"value": "mallory@acme.example.com"}]))
    assert "not confirmed" in assert_error(answer, 409, "uniqueness")["detail"]
    assert session.scalar(select(func.count()).select_from(ScimUser)) == 0


def test_people_already_in_kudos_are_found_by_username_before_any_write(scim, make):
    make.person(name="Old Timer", email="old@acme.example.com")
    found = scim.get('/Users?filter=userName eq "OLD@acme.example.com"').get_json()
    assert found["totalResults"] == 1
    (resource,) = found["Resources"]
    assert (resource["userName"], resource["displayName"]) == ("old@acme.example.com", "Old Timer")
    assert resource["emails"] == [
        {"value": "old@acme.example.com", "type": "work", "primary": True}
    ]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ('userName eq "ada@acme.example.com"', {"ada"}),
        ('externalId eq "E-2"', {"grace"}),
        ('externalId eq "e-2"', set()),  # caseExact
        ('emails[type eq "work"].value eq "Grace@acme.example.com"', {"grace"}),
        ('emails[type eq "home"].value eq "grace@acme.example.com"', set()),
        ('emails.value co "acme"', {"ada", "grace", "joan"}),
        ('userName eq "ada@acme.example.com" or externalId eq "E-2"', {"ada", "grace"}),
        ('userName sw "ada" and active eq true', {"ada"}),
        ("active eq false", {"joan"}),
        ('active eq "False"', {"joan"}),
        ("not (active eq false)", {"ada", "grace"}),
        ('title pr and title ew "ER"', {"grace"}),
        (f'{ENTERPRISE}:department eq "engineering"', {"ada"}),
    ],
)
def test_filters(scim, query, expected):
    created(scim, "ada@acme.example.com", **enterprise(department="Engineering"))
    created(scim, "grace@acme.example.com", externalId="E-2", title="Rear Admiral... Programmer")
    joan = created(scim, "joan@acme.example.com")
    scim.patch(f"/Users/{joan['id']}", {"op": "replace", "path": "active", "value": False})
    found = scim.get("/Users", query_string={"filter": query}).get_json()
    assert {resource["userName"].split("@")[0] for resource in found["Resources"]} == expected
    assert found["totalResults"] == len(expected)


def test_a_filter_on_an_attribute_kudos_cannot_search_is_an_invalid_filter(scim):
    for query in ('name.givenName eq "Ada"', 'nickName eq "x"', 'userName eq "unclosed'):
        assert_error(scim.get("/Users", query_string={"filter": query}), 400, "invalidFilter")


def test_paging_and_attributes(scim):
    for number in range(5):
        created(scim, f"p{number}@acme.example.com", title=f"T{number}")
    page = scim.get("/Users?startIndex=2&count=2&attributes=userName").get_json()
    assert (page["totalResults"], page["startIndex"], page["itemsPerPage"]) == (5, 2, 2)
    assert [r["userName"] for r in page["Resources"]] == [
        "p1@acme.example.com",
        "p2@acme.example.com",
    ]
    assert all(set(r) <= {"schemas", "id", "userName"} for r in page["Resources"])
    last = scim.get("/Users?startIndex=5&count=10&excludedAttributes=title").get_json()
    assert [r["userName"] for r in last["Resources"]] == ["p4@acme.example.com"]
    assert "title" not in last["Resources"][0]
    assert scim.get("/Users?count=0").get_json()["totalResults"] == 5


def test_put_replaces_what_scim_owns_and_leaves_what_it_never_sent(scim, session, make):
    team = make.team("Platform")
    resource = created(scim, "ada@acme.example.com", **enterprise(department="Ops"))
    ada = person_of(session, resource)
    ada.team, ada.title = team, "Analyst"  # set by the directory import, say
    sources.mark(ada, ["team", "title"], sources.IMPORT)
    session.commit()
    body = user("ada@acme.example.com", displayName="Ada King", active=True)  # no title, no dept
    answer = scim.put(f"/Users/{resource['id']}", body)
    assert answer.status_code == 200, answer.get_data(as_text=True)
    ada = person_of(session, resource)
    # SCIM's department is cleared; the import's title and team stay.
    assert (ada.name, ada.title, ada.department, ada.team) == ("Ada King", "Analyst", None, team)
    assert sources.source_of(ada, "title") == "import"


def test_patch_changes_only_what_it_names(scim, session):
    resource = created(scim, "ada@acme.example.com", title="Analyst", displayName="Ada")
    answer = scim.patch(
        f"/Users/{resource['id']}",
        {"op": "Replace", "path": "title", "value": "Engineer"},
        {"op": "Add", "path": f"{ENTERPRISE}:department", "value": "Maths"},
    )
    assert answer.status_code == 200
    assert answer.get_json()["title"] == "Engineer"
    ada = person_of(session, resource)
    assert (ada.name, ada.title, ada.department.name) == ("Ada", "Engineer", "Maths")
    scim.patch(f"/Users/{resource['id']}", {"op": "remove", "path": "title"})
    assert person_of(session, resource).title is None


def test_departments_are_found_by_name_whatever_the_case(scim, session, make):
    make.department("Customer Success")
    created(scim, "a@acme.example.com", **enterprise(department="customer success"))
    created(scim, "b@acme.example.com", **enterprise(department="Customer  Success"))
    assert session.scalar(select(func.count()).select_from(Department)) == 1


@pytest.mark.parametrize("value", [False, "False", "false"])
def test_deactivation_ends_sessions_and_tokens_at_once(scim, session, client, value):
    resource = created(scim, "ada@acme.example.com")
    ada = person_of(session, resource)
    _, api_token = create_api_token(session, ada, "script", now=utcnow())
    session.commit()
    sign_in(client, ada)
    assert client.get("/onboarding").status_code == 200
    answer = scim.patch(
        f"/Users/{resource['id']}", {"op": "Replace", "path": "active", "value": value}
    )
    assert answer.status_code == 200
    assert answer.get_json()["active"] is False
    assert client.get("/onboarding").status_code == 302  # signed out
    assert (
        client.get("/api/v1/values", headers={"Authorization": f"Bearer {api_token}"}).status_code
        == 401
    )
    actions = session.scalars(
        select(AuditEntry.action).where(AuditEntry.actor_label == "provisioning")
    ).all()
    assert {"person.deactivated", "token.revoked", "scim.user_updated"} <= set(actions)
    # Reactivation brings the person back, not their credentials.
    scim.patch(f"/Users/{resource['id']}", {"op": "replace", "value": {"active": True}})
    assert person_of(session, resource).active
    assert client.get("/onboarding").status_code == 302
    assert (
        client.get("/api/v1/values", headers={"Authorization": f"Bearer {api_token}"}).status_code
        == 401
    )


def test_delete_deactivates_and_the_user_leaves_scim_with_their_kudos_kept(scim, session, make):
    resource = created(scim, "ada@acme.example.com")
    ada = person_of(session, resource)
    make.kudos(ada, [make.person()])
    answer = scim.delete(f"/Users/{resource['id']}")
    assert answer.status_code == 204
    assert_error(scim.get(f"/Users/{resource['id']}"), 404)
    assert (
        scim.get('/Users?filter=userName eq "ada@acme.example.com"').get_json()["totalResults"] == 0
    )
    session.expire_all()
    ada = session.get(Person, ada.id)
    assert (ada.active, ada.scim_id) == (False, None)
    assert session.scalar(select(func.count()).select_from(Kudos)) == 1
    assert_error(scim.delete(f"/Users/{resource['id']}"), 404)
    # Provisioned again (a rehire), they come back as the same person, with a new id.
    again = created(scim, "ada@acme.example.com")
    assert again["id"] != resource["id"]
    assert person_of(session, again).id == ada.id
    assert person_of(session, again).active


def test_unknown_users_and_groups_are_not_found(scim):
    for path in ("/Users/00000000-0000-0000-0000-000000000000", "/Users/1", "/Groups/nope"):
        assert_error(scim.get(path), 404)
        assert_error(scim.patch(path, {"op": "replace", "path": "title", "value": "x"}), 404)


# -- managers ----------------------------------------------------------------


def test_a_manager_is_set_by_scim_id(scim, session):
    boss = created(scim, "boss@acme.example.com")
    ada = created(scim, "ada@acme.example.com", **enterprise(manager={"value": boss["id"]}))
    assert person_of(session, ada).manager_id == person_of(session, boss).id
    shown = ada[ENTERPRISE]["manager"]
    assert shown["value"] == boss["id"]
    assert shown["$ref"].endswith(f"/Users/{boss['id']}")


def test_a_manager_who_arrives_later_is_set_when_they_arrive(scim, session):
    ada = created(scim, "ada@acme.example.com", **enterprise(manager={"value": "E-100"}))
    assert person_of(session, ada).manager_id is None
    assert scim.get(f"/Users/{ada['id']}").get_json()[ENTERPRISE]["manager"] == {"value": "E-100"}
    boss = created(scim, "boss@acme.example.com", externalId="E-100")
    assert person_of(session, ada).manager_id == person_of(session, boss).id
    assert sources.source_of(person_of(session, ada), "manager") == "scim"


@pytest.mark.parametrize(
    "operation",
    [
        lambda boss: {"op": "Replace", "path": f"{ENTERPRISE}:manager", "value": boss},
        lambda boss: {"op": "replace", "path": f"{ENTERPRISE}:manager.value", "value": boss},
        lambda boss: {"op": "Add", "path": f"{ENTERPRISE}:manager", "value": {"value": boss}},
    ],
    ids=["entra bare id", "value path", "object"],
)
def test_a_manager_cycle_is_refused_and_nothing_changes(scim, session, operation):
    boss = created(scim, "boss@acme.example.com")
    ada = created(scim, "ada@acme.example.com", **enterprise(manager={"value": boss["id"]}))
    before = audit_count(session)
    answer = scim.patch(f"/Users/{boss['id']}", operation(ada["id"]))
    assert "cycle" in assert_error(answer, 400, "invalidValue")["detail"]
    assert person_of(session, boss).manager_id is None
    assert audit_count(session) == before
    own = scim.patch(f"/Users/{boss['id']}", operation(boss["id"]))
    assert_error(own, 400, "invalidValue")


# -- groups ------------------------------------------------------------------


def group(name: str, *member_ids: str, **attributes) -> dict:
    return {
        "schemas": [GROUP],
        "displayName": name,
        "members": [{"value": member} for member in member_ids],
        **attributes,
    }


def test_groups_are_teams_and_membership_moves_people(scim, session):
    ada = created(scim, "ada@acme.example.com")
    grace = created(scim, "grace@acme.example.com")
    platform = scim.post("/Groups", group("Platform", ada["id"], grace["id"], externalId="g1"))
    assert platform.status_code == 201
    platform = platform.get_json()
    team = session.scalars(select(Team).where(Team.scim_id == platform["id"])).one()
    assert {person_of(session, p).team_id for p in (ada, grace)} == {team.id}
    assert session.get(ScimGroup, team.id).external_id == "g1"
    payments = scim.post("/Groups", group("Payments")).get_json()
    moved = scim.patch(
        f"/Groups/{payments['id']}",
        {"op": "Add", "path": "members", "value": [{"value": ada["id"]}]},
    )
    assert moved.status_code == 200
    assert person_of(session, ada).team.name == "Payments"  # one team at a time
    assert [m["value"] for m in scim.get(f"/Groups/{platform['id']}").get_json()["members"]] == [
        grace["id"]
    ]
    assert scim.get(f"/Users/{ada['id']}").get_json()["groups"][0]["display"] == "Payments"
    scim.patch(
        f"/Groups/{platform['id']}",
        {"op": "Remove", "path": "members", "value": [{"value": grace["id"]}]},
    )
    assert person_of(session, grace).team is None
    assert sources.source_of(person_of(session, grace), "team") == "scim"
    renamed = scim.patch(
        f"/Groups/{platform['id']}",
        {"op": "Replace", "path": "displayName", "value": "Platform Eng"},
    )
    assert renamed.get_json()["displayName"] == "Platform Eng"


def test_an_unknown_member_is_refused_and_nobody_moves(scim, session):
    ada = created(scim, "ada@acme.example.com")
    before = audit_count(session)
    answer = scim.post("/Groups", group("Platform", ada["id"], "not-a-user"))
    assert "not-a-user" in assert_error(answer, 400, "invalidValue")["detail"]
    assert person_of(session, ada).team is None
    assert session.scalar(select(func.count()).select_from(Team)) == 0
    assert audit_count(session) == before


def test_a_group_named_like_a_provisioned_one_is_a_conflict(scim, session, make):
    make.team("Platform")  # from the import: adopted by the first group of that name
    first = scim.post("/Groups", group("platform"))
    assert first.status_code == 201
    assert session.scalar(select(func.count()).select_from(Team)) == 1
    assert_error(scim.post("/Groups", group("Platform")), 409, "uniqueness")


def test_deleting_a_group_empties_the_team_and_keeps_it(scim, session):
    ada = created(scim, "ada@acme.example.com")
    platform = scim.post("/Groups", group("Platform", ada["id"])).get_json()
    assert scim.delete(f"/Groups/{platform['id']}").status_code == 204
    assert_error(scim.get(f"/Groups/{platform['id']}"), 404)
    assert person_of(session, ada).team is None
    assert session.scalar(select(func.count()).select_from(Team)) == 1


# -- bad requests ------------------------------------------------------------


def test_bad_bodies_get_scim_errors(scim, session):
    assert_error(scim.request("POST", "/Users", b"{not json"), 400, "invalidSyntax")
    assert_error(scim.request("POST", "/Users", b"[1, 2]"), 400)
    answer = scim.request("POST", "/Users", "userName=x", headers={"Content-Type": "text/plain"})
    assert answer.status_code == 415
    assert_error(scim.post("/Users", {"schemas": [USER]}), 400)
    assert_error(
        scim.patch("/Users/x", {"op": "explode", "path": "title", "value": 1}), 400, "invalidValue"
    )
    big = user("ada@acme.example.com", title="x" * (1024 * 1024))
    assert_error(scim.post("/Users", big), 413)
    assert session.scalar(select(func.count()).select_from(Person)) == 0


def test_discovery_describes_what_kudos_keeps(scim):
    config = scim.get("/ServiceProviderConfig").get_json()
    assert config["patch"]["supported"]
    assert config["filter"]["supported"]
    assert not config["bulk"]["supported"]
    assert not config["etag"]["supported"]
    assert config["authenticationSchemes"][0]["type"] == "oauthbearertoken"
    schemas = {s["id"]: s for s in scim.get("/Schemas").get_json()["Resources"]}
    user_attributes = {a["name"] for a in schemas[USER]["attributes"]}
    assert user_attributes == {
        "userName",
        "name",
        "displayName",
        "title",
        "active",
        "emails",
        "groups",
    }
    assert {a["name"] for a in schemas[ENTERPRISE]["attributes"]} == {"department", "manager"}
    types = {t["name"]: t["endpoint"] for t in scim.get("/ResourceTypes").get_json()["Resources"]}
    assert types == {"User": "/Users", "Group": "/Groups"}


def test_a_patch_makes_scim_own_only_what_it_names(scim, session, make):
    boss = make.person(email="boss@acme.example.com")
    ada = make.person(name="Ada", email="ada@acme.example.com", title="Analyst", manager=boss)
    sources.mark(ada, ["name", "title", "manager"], sources.IMPORT)
    session.commit()
    (found,) = scim.get('/Users?filter=userName eq "ada@acme.example.com"').get_json()["Resources"]
    answer = scim.patch(
        f"/Users/{found['id']}", {"op": "Replace", "path": "title", "value": "Lead"}
    )
    assert answer.status_code == 200
    ada = person_of(session, found)
    assert (ada.title, ada.manager_id) == ("Lead", boss.id)
    assert {f: sources.source_of(ada, f) for f in ("name", "title", "manager")} == {
        "name": "import",
        "title": "scim",
        "manager": "import",
    }
    assert session.get(ScimUser, ada.id) is not None  # provisioned from now on


def test_the_console_shows_how_a_person_is_provisioned_escaped(scim, session, client, make):
    admin = make.person(email="root@acme.example.com", admin_granted=True)
    resource = created(
        scim, "<b>ada</b>", externalId="<i>E1</i>", emails=[{"value": "ada@acme.example.com"}]
    )
    sign_in(client, admin)
    page = client.get(f"/admin/people/{person_of(session, resource).id}").get_data(as_text=True)
    assert "user name <code>&lt;b&gt;ada&lt;/b&gt;</code>" in page
    assert "external id <code>&lt;i&gt;E1&lt;/i&gt;</code>" in page
    assert "<b>ada</b>" not in page
    other = client.get(f"/admin/people/{admin.id}").get_data(as_text=True)
    assert "not provisioned by SCIM" in other


def test_reading_keeps_cached_pages_and_a_change_people_see_retires_them(scim, session):
    from kudos import cache

    def token() -> str:
        session.expire_all()
        return session.scalar(select(cache.CacheGeneration.token))

    resource = created(scim, "ada@acme.example.com", displayName="Ada")
    # The next request writes the token's last use: not something pages show.
    session.execute(ScimToken.__table__.update().values(last_used_at=None))
    session.commit()
    before = token()
    assert scim.get(f"/Users/{resource['id']}").status_code == 200
    assert scim.get("/Users").status_code == 200
    assert token() == before
    scim.patch(
        f"/Users/{resource['id']}", {"op": "replace", "path": "displayName", "value": "Ada K"}
    )
    assert token() != before


def test_a_patch_of_the_whole_enterprise_extension(scim, session):
    boss = created(scim, "boss@acme.example.com")
    ada = created(scim, "ada@acme.example.com", **enterprise(department="Ops"))
    value = {"department": "Maths", "manager": {"value": boss["id"]}}
    answer = scim.patch(
        f"/Users/{ada['id']}", {"op": "replace", "path": ENTERPRISE, "value": value}
    )
    assert answer.status_code == 200
    person = person_of(session, ada)
    assert (person.department.name, person.manager_id) == ("Maths", person_of(session, boss).id)
    scim.patch(f"/Users/{ada['id']}", {"op": "remove", "path": ENTERPRISE})
    person = person_of(session, ada)
    assert (person.department, person.manager_id) == (None, None)


def test_releasing_hands_scims_fields_back_once_provisioning_stops(scim, session, runner):
    from kudos.people.directory import import_directory

    resource = created(scim, "ada@acme.example.com", title="Analyst")
    refused = runner.invoke(args=["scim", "token", "release"])  # not a command
    assert refused.exit_code != 0
    live = runner.invoke(args=["scim", "release"])
    assert live.exit_code != 0
    assert "Okta" in live.output
    assert sources.owned_by_scim(person_of(session, resource), "title")

    token = session.scalars(select(ScimToken)).one()
    revoke_token(session, token.id, now=utcnow())
    session.commit()
    released = runner.invoke(args=["scim", "release"])
    assert released.exit_code == 0, released.output
    assert "2 fields of 1 people" in released.output  # title and active (name was derived)
    ada = person_of(session, resource)
    assert sources.source_of(ada, "title") == "scim_released"
    csv = b"email,name,title,department,team,manager_email\nada@acme.example.com,Ada,Lead,,,\n"
    import_directory(session, csv)
    session.commit()
    assert person_of(session, resource).title == "Lead"
