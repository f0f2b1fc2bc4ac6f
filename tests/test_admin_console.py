"""The admin console: only admins get in, every change is audited, and each
page keeps the rules the command line and the import keep."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from kudos.audit.models import AuditEntry
from kudos.auth.models import ApiToken
from kudos.auth.tokens import create_token
from kudos.db import utcnow
from kudos.people.models import FormerSlug, Person, Team
from kudos.recognition.models import Value
from kudos.recognition.services import KudosRejected, send_kudos
from tests.conftest import sign_in


@pytest.fixture
def org(make):
    platform, sales = make.team("Platform"), make.team("Sales")
    engineering = make.department("Engineering")
    admin = make.person(name="Ada Admin", team=platform, admin_granted=True)
    boss = make.person(name="Bo Boss", team=platform, department=engineering)
    return {
        "admin": admin,
        "boss": boss,
        "employee": make.person(name="Eve Employee", team=platform, manager=boss),
        "seller": make.person(name="Sid Seller", team=sales),
        "platform": platform,
        "sales": sales,
        "engineering": engineering,
    }


def body(response) -> str:
    return response.get_data(as_text=True)


def actions(session) -> list[str]:
    return list(session.scalars(select(AuditEntry.action).order_by(AuditEntry.id)))


def as_admin(client, browser, org):
    sign_in(client, org["admin"])
    return browser


# Who gets in -------------------------------------------------------------------

PAGES = [
    "/admin/",
    "/admin/overview.csv",
    "/admin/people",
    "/admin/people/{employee}",
    "/admin/teams",
    "/admin/teams/{platform}",
    "/admin/departments",
    "/admin/departments/{engineering}",
    "/admin/values",
    "/admin/values/new",
    "/admin/values/{value}/edit",
    "/admin/values/{value}/retire",
    "/admin/import",
    "/admin/moderation",
    "/admin/reports",
]
ACTIONS = [
    "/admin/people/{employee}",
    "/admin/people/{employee}/deactivate",
    "/admin/people/{employee}/reactivate",
    "/admin/people/{employee}/admin",
    "/admin/teams/{platform}/rename",
    "/admin/teams/{platform}/merge",
    "/admin/values/new",
    "/admin/values/{value}/edit",
    "/admin/values/{value}/move",
    "/admin/values/{value}/retire",
    "/admin/values/{value}/restore",
    "/admin/import",
    "/admin/import/confirm",
]


def _url(template: str, org, make) -> str:
    return template.format(
        employee=org["employee"].id,
        platform=org["platform"].id,
        engineering=org["engineering"].id,
        value=make.value("responsive").id,
    )


@pytest.mark.parametrize("who", ["employee", "boss"])
@pytest.mark.parametrize("page", PAGES)
def test_employees_and_managers_are_refused_every_page(client, make, org, who, page):
    sign_in(client, org[who])
    assert client.get(_url(page, org, make)).status_code == 403


@pytest.mark.parametrize("who", ["employee", "boss"])
@pytest.mark.parametrize("action", ACTIONS)
def test_employees_and_managers_are_refused_every_action(
    client, browser, make, org, session, who, action
):
    sign_in(client, org[who])
    response = browser.submit("/", _url(action, org, make), data={"name": "Hacked", "grant": "1"})
    assert response.status_code == 403
    session.expire_all()
    assert org["employee"].active
    assert not org["employee"].admin_granted
    assert org["platform"].name == "Platform"
    assert not [a for a in actions(session) if not a.startswith("kudos.")]


@pytest.mark.parametrize("page", PAGES)
def test_signed_out_people_are_sent_to_sign_in(client, make, org, page):
    response = client.get(_url(page, org, make))
    assert response.status_code == 302
    assert "/login" in response.headers["Location"]


@pytest.mark.parametrize("page", PAGES)
def test_admins_open_every_page(client, make, org, page):
    sign_in(client, org["admin"])
    assert client.get(_url(page, org, make)).status_code == 200


def test_a_form_without_its_csrf_token_changes_nothing(client, org, session):
    sign_in(client, org["admin"])
    response = client.post(f"/admin/people/{org['employee'].id}/deactivate")
    assert response.status_code == 400
    session.expire_all()
    assert org["employee"].active


# Values ------------------------------------------------------------------------


def test_an_admin_adds_a_value_that_compose_then_offers_last(client, browser, org, session):
    as_admin(client, browser, org)
    response = browser.submit(
        "/admin/values/new",
        data={"name": "  Curious  ", "slug": "", "emoji": "🔎", "description": "Asks why."},
    )
    assert response.status_code == 302
    value = session.scalars(select(Value).where(Value.slug == "curious")).one()
    assert (value.name, value.emoji, value.active) == ("Curious", "🔎", True)
    assert value.position == max(session.scalars(select(Value.position)))
    assert "Curious" in body(client.get("/kudos/new"))
    entry = session.scalars(select(AuditEntry).where(AuditEntry.action == "value.created")).one()
    assert (entry.actor_id, entry.target_id) == (org["admin"].id, value.id)


def test_a_bad_value_is_shown_beside_each_field_and_nothing_is_saved(client, browser, org, session):
    as_admin(client, browser, org)
    before = session.scalar(select(Value.id).order_by(Value.id.desc()).limit(1))
    response = browser.submit(
        "/admin/values/new",
        data={"name": "responsive", "slug": "Not A Slug!", "emoji": "x" * 17, "description": ""},
    )
    page = body(response)
    assert response.status_code == 422
    assert re.search(r'id="name-error">There is already a value called Responsive', page)
    assert 'id="slug-error">Use lower-case letters' in page
    assert 'id="emoji-error"' in page
    assert 'value="Not A Slug!"' in page  # what was typed stays
    assert session.scalar(select(Value.id).order_by(Value.id.desc()).limit(1)) == before
    assert "value.created" not in actions(session)


def test_a_new_slug_keeps_old_links_working(client, browser, make, org, session):
    as_admin(client, browser, org)
    value = make.value("responsive")
    response = browser.submit(
        f"/admin/values/{value.id}/edit",
        data={"name": "Quick to answer", "slug": "quick", "emoji": value.emoji, "description": ""},
    )
    assert response.status_code == 302
    old = client.get("/values/responsive")
    assert old.status_code == 301
    assert old.headers["Location"].endswith("/values/quick")
    assert client.get("/values/quick").status_code == 200
    entry = session.scalars(select(AuditEntry).where(AuditEntry.action == "value.updated")).one()
    assert entry.details["slug"] == ["responsive", "quick"]
    assert entry.details["name"] == ["Responsive", "Quick to answer"]


def test_another_value_cannot_take_an_old_address(client, browser, make, org):
    as_admin(client, browser, org)
    responsive, caring = make.value("responsive"), make.value("caring")
    fields = {"name": responsive.name, "slug": "quick", "emoji": "", "description": ""}
    browser.submit(f"/admin/values/{responsive.id}/edit", data=fields)
    taken = browser.submit(
        f"/admin/values/{caring.id}/edit",
        data={"name": caring.name, "slug": "responsive", "emoji": "", "description": ""},
    )
    assert taken.status_code == 422
    assert "Old links to another value use this address" in body(taken)
    # Renamed back, the value takes its old address again, and it is no redirect.
    back = browser.submit(
        f"/admin/values/{responsive.id}/edit", data={**fields, "slug": "responsive"}
    )
    assert back.status_code == 302
    assert client.get("/values/responsive").status_code == 200
    assert client.get("/values/quick").status_code == 301


def test_retiring_says_how_many_kudos_use_the_value_and_keeps_them(
    client, browser, make, org, session
):
    as_admin(client, browser, org)
    value = make.value("caring")
    make.kudos(org["boss"], [org["employee"]], values=["caring"])
    make.kudos(org["seller"], [org["employee"]], values=["caring", "responsive"])
    confirm = body(client.get(f"/admin/values/{value.id}/retire"))
    assert "<strong>2 kudos</strong> carry Caring" in confirm
    response = browser.submit(f"/admin/values/{value.id}/retire")
    assert response.status_code == 302
    session.expire_all()
    assert not value.active
    # Old kudos still show it, and its page and filter still work ...
    assert "Caring" in body(client.get(f"/people/{org['employee'].id}"))
    assert client.get("/values/caring").status_code == 200
    # ... but nobody can choose it for a new kudos.
    with pytest.raises(KudosRejected):
        send_kudos(
            session,
            org["boss"],
            [org["employee"].id],
            [value.id],
            "Again",
            "public",
            now=utcnow(),
            zone=__import__("zoneinfo").ZoneInfo("UTC"),
            daily_limit=100,
        )
    assert f'value="{value.id}"' not in body(client.get("/kudos/new"))
    entry = session.scalars(select(AuditEntry).where(AuditEntry.action == "value.retired")).one()
    assert entry.details == {"kudos": 2}


def test_the_last_active_value_cannot_be_retired(client, browser, org, session):
    as_admin(client, browser, org)
    values = list(session.scalars(select(Value).where(Value.active)))
    for value in values[:-1]:
        browser.submit(f"/admin/values/{value.id}/retire")
    last = values[-1]
    response = browser.submit(f"/admin/values/{last.id}/retire", follow_redirects=True)
    assert "is the only active value" in body(response)
    session.expire_all()
    assert last.active
    assert session.scalar(select(Value.id).where(Value.active)) == last.id


def test_a_retired_value_comes_back_last(client, browser, make, org, session):
    as_admin(client, browser, org)
    value = make.value("responsive")
    browser.submit(f"/admin/values/{value.id}/retire")
    browser.submit(f"/admin/values/{value.id}/restore")
    session.expire_all()
    active = list(session.scalars(select(Value).where(Value.active).order_by(Value.position)))
    assert active[-1] == value
    assert actions(session)[-2:] == ["value.retired", "value.restored"]


def test_values_move_up_and_down_in_compose_order(client, browser, org, session):
    as_admin(client, browser, org)
    first, second = session.scalars(
        select(Value).where(Value.active).order_by(Value.position)
    ).all()[:2]
    browser.submit("/admin/values", f"/admin/values/{second.id}/move", data={"step": "-1"})
    session.expire_all()
    order = session.scalars(select(Value.slug).where(Value.active).order_by(Value.position)).all()
    assert order[:2] == [second.slug, first.slug]
    compose = body(client.get("/kudos/new"))
    assert compose.index(second.name) < compose.index(first.name)
    entry = session.scalars(select(AuditEntry).where(AuditEntry.action == "value.moved")).one()
    assert entry.details == {"position": 1}
    # Past the top it stays where it is, and nothing is written.
    browser.submit("/admin/values", f"/admin/values/{second.id}/move", data={"step": "-1"})
    assert actions(session).count("value.moved") == 1


# People ------------------------------------------------------------------------


def test_the_directory_searches_name_email_team_and_department(client, make, org):
    sign_in(client, org["admin"])
    make.person(name="Zed Gone", team=org["sales"], active=False)
    page = body(client.get("/admin/people?q=sales"))
    assert "Sid Seller" in page
    assert "Eve Employee" not in page
    assert "Zed Gone" not in page  # deactivated people only when asked for
    assert "Zed Gone" in body(client.get("/admin/people?q=sales&status=inactive"))
    assert "Bo Boss" in body(client.get("/admin/people?q=engineering"))
    assert "Eve Employee" in body(client.get("/admin/people?q=EVE"))


def test_the_directory_is_paged(client, make, org):
    sign_in(client, org["admin"])
    for number in range(55):
        make.person(name=f"Paged {number:02d}")
    first = body(client.get("/admin/people?q=paged"))
    assert "55 people" in first
    assert "Page 1 of 2" in first
    assert "Paged 49" in first
    assert "Paged 50" not in first
    second = body(client.get("/admin/people?q=paged&page=2"))
    assert "Paged 50" in second
    assert "Paged 49" not in second
    assert "Page 2 of 2" in body(client.get("/admin/people?q=paged&page=99"))


def test_search_wildcards_are_literal(client, make, org):
    sign_in(client, org["admin"])
    make.person(name="Ann 50% Off")
    page = body(client.get("/admin/people?q=50%25"))
    assert "Ann 50% Off" in page
    assert "Eve Employee" not in page


def test_deactivating_ends_sessions_and_revokes_tokens_for_good(client, browser, app, org, session):
    employee = org["employee"]
    token, _ = create_token(session, employee, "script", now=utcnow())
    session.commit()
    theirs = app.test_client()
    sign_in(theirs, employee)
    assert theirs.get("/").status_code == 200
    as_admin(client, browser, org)
    response = browser.submit(
        f"/admin/people/{employee.id}", f"/admin/people/{employee.id}/deactivate"
    )
    assert response.status_code == 302
    session.expire_all()
    assert not employee.active
    assert theirs.get("/").status_code == 302  # signed out
    headers = {"Authorization": f"Bearer {token}"}
    assert theirs.get("/api/v1/values", headers=headers).status_code == 401
    # Reactivated, the person is back; the old session and token are not.
    browser.submit(f"/admin/people/{employee.id}", f"/admin/people/{employee.id}/reactivate")
    session.expire_all()
    assert employee.active
    assert theirs.get("/").status_code == 302
    assert theirs.get("/api/v1/values", headers=headers).status_code == 401
    assert session.scalars(select(ApiToken.revoked_at)).one() is not None
    done = [a for a in actions(session) if a.startswith("person.")]
    assert done == ["person.deactivated", "person.reactivated"]
    assert "token.revoked" in actions(session)


def test_an_admin_cannot_deactivate_themselves(client, browser, org, session):
    as_admin(client, browser, org)
    admin = org["admin"]
    page = browser.submit(
        f"/admin/people/{admin.id}", f"/admin/people/{admin.id}/deactivate", follow_redirects=True
    )
    assert "deactivate yourself; ask another admin" in body(page)
    session.expire_all()
    assert admin.active


def test_admin_rights_are_granted_and_removed(client, browser, org, session):
    as_admin(client, browser, org)
    employee = org["employee"]
    url = f"/admin/people/{employee.id}"
    browser.submit(url, f"{url}/admin", data={"grant": "1"})
    session.expire_all()
    assert employee.admin_granted
    browser.submit(url, f"{url}/admin", data={"grant": "0"})
    session.expire_all()
    assert not employee.admin_granted
    assert actions(session)[-2:] == ["person.admin_granted", "person.admin_removed"]


def test_provider_group_admins_and_the_last_admin_stay(client, browser, make, org, session):
    as_admin(client, browser, org)
    grouped = make.person(name="Gus Group", admin_from_group=True, admin_granted=True)
    url = f"/admin/people/{grouped.id}"
    assert "through the identity provider" in body(client.get(url))
    page = browser.submit(url, f"{url}/admin", data={"grant": "0"}, follow_redirects=True)
    assert "remove them from that group there" in body(page)
    session.expire_all()
    assert grouped.admin_granted
    grouped.admin_from_group = grouped.admin_granted = False
    session.commit()
    own = f"/admin/people/{org['admin'].id}"
    page = browser.submit(own, f"{own}/admin", data={"grant": "0"}, follow_redirects=True)
    assert "the only admin" in body(page)
    session.expire_all()
    assert org["admin"].admin_granted
    assert "person.admin_removed" not in actions(session)


def test_team_department_and_manager_change_and_are_recorded_as_manual(
    client, browser, org, session
):
    as_admin(client, browser, org)
    seller = org["seller"]
    url = f"/admin/people/{seller.id}"
    response = browser.submit(
        url,
        data={
            "team": str(org["platform"].id),
            "department": str(org["engineering"].id),
            "manager_email": f"  {org['boss'].email.upper()} ",
        },
    )
    assert response.status_code == 302
    session.expire_all()
    assert (seller.team, seller.department, seller.manager) == (
        org["platform"],
        org["engineering"],
        org["boss"],
    )
    assert seller.profile_sources == {"team": "admin", "department": "admin", "manager": "admin"}
    entry = session.scalars(select(AuditEntry).where(AuditEntry.action == "person.updated")).one()
    assert entry.details["team"] == ["Sales", "Platform"]
    page = body(client.get(url))
    assert "changed by an admin" in page
    assert "the next directory import that lists this person" in page


def test_a_manager_cycle_is_refused_beside_the_field(client, browser, make, org, session):
    as_admin(client, browser, org)
    boss, employee = org["boss"], org["employee"]  # employee reports to boss
    url = f"/admin/people/{boss.id}"
    response = browser.submit(
        url,
        data={"team": str(org["platform"].id), "department": "", "manager_email": employee.email},
    )
    assert response.status_code == 422
    page = body(response)
    assert 'id="manager_email-error">That would make a manager cycle' in page
    assert "Bo Boss → Eve Employee → Bo Boss" in page
    session.expire_all()
    assert boss.manager is None
    assert boss.department == org["engineering"]
    unknown = browser.submit(
        url, data={"team": "", "department": "", "manager_email": "nobody@x.example"}
    )
    assert unknown.status_code == 422
    assert "Nobody in the directory has the e-mail" in body(unknown)
    assert "person.updated" not in actions(session)


def test_the_person_page_says_what_the_next_sign_in_overwrites(client, make, org, app):
    app.config["OIDC_ISSUER"] = "https://id.example.com"
    sign_in(client, org["admin"])
    page = body(client.get(f"/admin/people/{org['employee'].id}"))
    assert "their next sign-in, when the provider sends “team”" in page
    assert "not recorded" in page


# Teams and departments ---------------------------------------------------------

CSV_HEADER = "email,name,title,department,team,manager_email\n"


def test_a_renamed_team_keeps_its_links_and_the_next_import_finds_it(client, browser, org, session):
    as_admin(client, browser, org)
    platform = org["platform"]
    response = browser.submit(
        f"/admin/teams/{platform.id}",
        f"/admin/teams/{platform.id}/rename",
        data={"rename-name": "Infrastructure"},
    )
    assert response.status_code == 302
    session.expire_all()
    assert (platform.name, platform.slug) == ("Infrastructure", "infrastructure")
    old = client.get("/teams/platform")
    assert old.status_code == 301
    assert old.headers["Location"].endswith("/teams/infrastructure")
    entry = session.scalars(select(AuditEntry).where(AuditEntry.action == "team.renamed")).one()
    assert entry.details == {"name": ["Platform", "Infrastructure"]}
    # A directory file that still says "Platform" puts people in the renamed team.
    from kudos.people.directory import import_directory

    report = import_directory(
        session, (CSV_HEADER + "new@acme.example.com,New Person,,,Platform,\n").encode()
    )
    assert report.teams_created == []
    new = session.scalars(select(Person).where(Person.email == "new@acme.example.com")).one()
    assert new.team == platform


def test_a_rename_to_an_existing_name_is_refused_beside_the_field(client, browser, org, session):
    as_admin(client, browser, org)
    platform = org["platform"]
    response = browser.submit(
        f"/admin/teams/{platform.id}",
        f"/admin/teams/{platform.id}/rename",
        data={"rename-name": " sales "},
    )
    assert response.status_code == 422
    assert (
        'id="rename-name-error">There is already a team called Sales: merge into it instead.'
        in body(response)
    )
    session.expire_all()
    assert platform.name == "Platform"


def test_merging_moves_everyone_and_old_links_follow(client, browser, make, org, session):
    as_admin(client, browser, org)
    platform, sales = org["platform"], org["sales"]
    moved = {org["admin"].id, org["boss"].id, org["employee"].id}
    platform_id = platform.id
    response = browser.submit(
        f"/admin/teams/{platform_id}",
        f"/admin/teams/{platform_id}/merge",
        data={"merge-into": str(sales.id)},
    )
    assert response.status_code == 302
    session.expire_all()
    assert session.get(Team, platform_id) is None
    assert set(session.scalars(select(Person.id).where(Person.team_id == sales.id))) == moved | {
        org["seller"].id
    }
    assert client.get("/teams/platform").headers["Location"].endswith("/teams/sales")
    assert (
        session.scalars(select(FormerSlug.target_id).where(FormerSlug.slug == "platform")).one()
        == sales.id
    )
    entry = session.scalars(select(AuditEntry).where(AuditEntry.action == "team.merged")).one()
    assert entry.details == {"merged": "Platform", "into": "Sales", "people": 3}
    page = body(client.get(f"/admin/teams/{sales.id}"))
    assert "Eve Employee" in page
    assert "Sid Seller" in page


def test_a_team_cannot_be_merged_into_itself(client, browser, org, session):
    as_admin(client, browser, org)
    platform = org["platform"]
    response = browser.submit(
        f"/admin/teams/{platform.id}",
        f"/admin/teams/{platform.id}/merge",
        data={"merge-into": str(platform.id)},
    )
    assert response.status_code == 422
    session.expire_all()
    assert session.get(Team, platform.id) is not None


def test_departments_merge_too(client, browser, make, org, session):
    as_admin(client, browser, org)
    research = make.department("Research")
    engineering = org["engineering"]
    url = f"/admin/departments/{research.id}"
    make.person(name="Rae Research", department=research)
    browser.submit(url, f"{url}/merge", data={"merge-into": str(engineering.id)})
    session.expire_all()
    rae = session.scalars(select(Person).where(Person.name == "Rae Research")).one()
    assert rae.department == engineering
    entry = session.scalars(
        select(AuditEntry).where(AuditEntry.action == "department.merged")
    ).one()
    assert entry.details == {"merged": "Research", "into": "Engineering", "people": 1}


def test_departments_rename_too(client, browser, org, session):
    as_admin(client, browser, org)
    engineering = org["engineering"]
    url = f"/admin/departments/{engineering.id}"
    browser.submit(url, f"{url}/rename", data={"rename-name": "R&D"})
    session.expire_all()
    assert engineering.name == "R&D"
    assert "department.renamed" in actions(session)
    assert "Bo Boss" in body(client.get(url))


# The directory import from the browser ----------------------------------------


def upload(browser, text: str, *, deactivate: bool = False):
    from io import BytesIO

    data = {"file": (BytesIO(text.encode()), "people.csv")}
    if deactivate:
        data["deactivate_missing"] = "y"
    return browser.submit("/admin/import", data=data, content_type="multipart/form-data")


def test_a_bad_file_lists_every_problem_and_imports_nothing(client, browser, org, session):
    as_admin(client, browser, org)
    before = session.scalar(select(Person.id).order_by(Person.id.desc()).limit(1))
    response = upload(
        browser,
        CSV_HEADER
        + "ok@acme.example.com,Ok,,,,\nnot-an-email,Bad,,,,\nmissing@acme.example.com,,,,,\n",
    )
    page = body(response)
    assert response.status_code == 422
    assert "Nothing was imported: 2 problems" in page
    assert "<strong>Line 3</strong>: malformed e-mail" in page
    assert "<strong>Line 4</strong>: missing name" in page
    assert session.scalar(select(Person.id).order_by(Person.id.desc()).limit(1)) == before


def test_a_good_file_is_previewed_then_imported_on_confirmation(client, browser, org, session):
    as_admin(client, browser, org)
    text = (
        CSV_HEADER
        + f"{org['employee'].email},Eve Employee,Engineer,Engineering,Sales,{org['boss'].email}\n"
        + "new@acme.example.com,Nia New,,,Sales,\n"
        + f"{org['admin'].email},Ada Admin,,,Platform,\n"
        + f"{org['boss'].email},Bo Boss,,Engineering,Platform,\n"
    )
    preview = upload(browser, text, deactivate=True)
    page = body(preview)
    assert preview.status_code == 200
    assert "1 created, 1 updated, 2 unchanged, 1 deactivated" in page
    assert "new@acme.example.com" in page
    assert f'{org["employee"].email}: <span class="muted">title, department, team</span>' in page
    assert org["seller"].email in page  # the one to be deactivated
    session.expire_all()
    assert session.scalar(select(Person).where(Person.email == "new@acme.example.com")) is None
    assert org["seller"].active
    assert "directory.import" not in actions(session)

    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
    upload_field = re.search(r'name="upload"[^>]*value="([^"]+)"', page).group(1)
    done = client.post(
        "/admin/import/confirm",
        data={"csrf_token": token, "upload": upload_field, "deactivate_missing": "1"},
    )
    assert done.status_code == 302
    session.expire_all()
    new = session.scalars(select(Person).where(Person.email == "new@acme.example.com")).one()
    assert new.team == org["sales"]
    assert new.profile_sources["team"] == "import"
    assert not org["seller"].active
    entry = session.scalars(select(AuditEntry).where(AuditEntry.action == "directory.import")).one()
    assert entry.actor_id == org["admin"].id
    assert entry.details["created"] == 1


def test_a_confirmation_without_its_file_imports_nothing(client, browser, org, session):
    as_admin(client, browser, org)
    response = browser.submit("/admin/import", "/admin/import/confirm", data={"upload": "!!!"})
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/admin/import")
    assert "directory.import" not in actions(session)


def test_no_file_chosen_says_so_beside_the_field(client, browser, org):
    as_admin(client, browser, org)
    response = browser.submit("/admin/import", data={}, content_type="multipart/form-data")
    assert response.status_code == 422
    assert 'id="file-error">Choose the CSV file to import.' in body(response)


# The company overview ----------------------------------------------------------


@pytest.fixture
def auckland(app):
    app.config["TIMEZONE"] = "Pacific/Auckland"


def test_the_overview_counts_by_month_in_the_company_time_zone(client, make, org, auckland):
    from datetime import UTC, datetime

    sign_in(client, org["admin"])
    # 31 March 12:00 UTC is already 1 April in Auckland (UTC+13).
    make.kudos(
        org["boss"],
        [org["employee"], org["seller"]],
        at=datetime(2026, 3, 31, 12, tzinfo=UTC),
        values=["caring"],
    )
    make.kudos(org["boss"], [org["employee"]], at=datetime(2026, 3, 31, 10, 59, tzinfo=UTC))
    make.kudos(org["seller"], [org["employee"]], at=datetime(2026, 4, 2, tzinfo=UTC))
    hidden = make.kudos(org["employee"], [org["seller"]], at=datetime(2026, 4, 3, tzinfo=UTC))
    hidden.hidden_at, hidden.hidden_reason = utcnow(), "spam"
    make.session.commit()
    rows = client.get("/admin/overview.csv?month=2026-04").get_data(as_text=True).splitlines()
    assert "month,2026-04,,kudos,2" in rows
    assert "month,2026-04,,active senders,2" in rows
    assert "month,2026-03,,kudos,1" in rows
    assert "value,2026-04,Caring,kudos,1" in rows
    assert "value,2026-04,Responsive,kudos,1" in rows
    # Engineering has one person (Bo), who sent; Platform people without a
    # department: Ada, Eve (received) and Sid (received and sent).
    assert "department,2026-04,Engineering,sent kudos,1" in rows
    assert "department,2026-04,No department,people,3" in rows
    assert "department,2026-04,No department,received kudos,2" in rows
    assert "department,2026-04,No department,sent kudos,1" in rows
    page = body(client.get("/admin/?month=2026-04"))
    assert "Participation by department in April 2026" in page
    assert 'width="100.0"' in page  # the busiest month's bar is full


def test_the_overview_csv_is_safe_in_a_spreadsheet(client, make, org, session):
    sign_in(client, org["admin"])
    org["engineering"].name = "=HYPERLINK(1)"
    make.session.commit()
    text = client.get("/admin/overview.csv").get_data(as_text=True)
    assert ",'=HYPERLINK(1),people,1" in text


def test_a_month_that_has_not_started_says_so(client, org, auckland):
    """As on the leaderboard and the summary: in the company's zone, at the
    boundary. At 11:00 UTC on 31 January it is already 1 February in
    Auckland, and 2 February has not begun."""
    from datetime import UTC, datetime
    from unittest import mock

    sign_in(client, org["admin"])
    with mock.patch(
        "kudos.admin.overview.utcnow", return_value=datetime(2027, 1, 31, 11, tzinfo=UTC)
    ):
        started = client.get("/admin/?month=2027-02")
        response = client.get("/admin/?month=2027-03")
        export = client.get("/admin/overview.csv?month=2027-03")
    assert started.status_code == 200
    assert "This month hasn" not in body(started)
    assert response.status_code == 200
    assert "This month hasn" in body(response)
    assert "March 2027 hasn" in body(response)
    assert export.status_code == 422
    assert client.get("/admin/?month=nonsense").status_code == 400


# Reports: the reporter is told what happened ------------------------------------


def test_the_reporter_is_told_once_what_a_moderator_did(app, client, browser, make, org, session):
    kudos = make.kudos(org["boss"], [org["employee"]], message="Nice one")
    other = make.kudos(org["boss"], [org["employee"]], message="Another")
    reporter = org["seller"]
    sign_in(client, reporter)
    for each in (kudos, other):
        browser.submit(
            f"/kudos/{each.id}", f"/kudos/{each.id}/report", data={"reason": "Off-topic"}
        )
    assert "A moderator looked" not in body(client.get("/"))  # nothing decided yet

    moderator = app.test_client()
    sign_in(moderator, org["admin"])
    from tests.conftest import Browser

    admin_browser = Browser(moderator)
    admin_browser.submit(
        f"/admin/kudos/{kudos.id}", f"/admin/kudos/{kudos.id}/hide", data={"reason": "Spam"}
    )
    admin_browser.submit(f"/admin/kudos/{other.id}", f"/admin/kudos/{other.id}/dismiss")

    page = body(client.get("/leaderboard"))
    assert page.count("A moderator looked at the kudos you reported") == 2
    assert "Nice one" not in page  # nothing of the kudos itself
    assert "it is now hidden from every feed" in page
    assert "they decided it can stay" in page
    assert "A moderator looked" not in body(client.get("/"))  # told once
    # The others who had nothing reported are told nothing.
    sign_in(client, org["employee"])
    assert "A moderator looked" not in body(client.get("/"))


def test_a_retired_value_still_filters_the_leaderboard_of_its_months(
    client, browser, make, org, session
):
    from datetime import UTC, datetime

    as_admin(client, browser, org)
    make.kudos(
        org["seller"], [org["employee"]], values=["caring"], at=datetime(2026, 5, 4, tzinfo=UTC)
    )
    value = make.value("caring")
    browser.submit(f"/admin/values/{value.id}/retire")
    page = client.get("/leaderboard?month=2026-05&value=caring")
    assert page.status_code == 200
    assert "Eve Employee" in body(page)
    assert "Sid Seller" in body(page)
    assert "Caring" in body(client.get("/leaderboard?month=2026-05"))  # still offered as a filter
