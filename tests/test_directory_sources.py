"""Directory sources with SCIM on: a field whose recorded source is SCIM is
the identity provider's. The directory import, sign-in claims and the admin
console leave it alone, while they still change the same person's other
fields; whom SCIM provisions, the identity provider (de)activates."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from io import BytesIO

import pytest
from sqlalchemy import select

import config
from kudos.audit.models import AuditEntry
from kudos.auth.services import ClaimSettings, sign_in_with_claims
from kudos.people import sources
from kudos.people.directory import DirectoryImportError, import_directory
from kudos.people.manage import PersonChangeRefused, set_active
from kudos.people.models import Department, Person, Team
from tests.conftest import sign_in
from tests.oidc_provider import ProviderBrowser, running_provider
from tests.statements import statements

NOW = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
HEADER = "email,name,title,department,team,manager_email\n"
ANA = "ana@acme.example.com"
SCIM_NOTE = "Managed by your identity provider through SCIM; change it there."


def scim_owns(session, person: Person, *fields: str) -> Person:
    """As SCIM provisioning leaves a person it created or updated."""
    sources.mark(person, fields, sources.SCIM)
    session.commit()
    return person


def people(session) -> dict[str, Person]:
    session.expire_all()
    return {person.email: person for person in session.scalars(select(Person))}


def run_import(session, text: str, **options):
    report = import_directory(session, text.encode(), **options)
    session.commit()
    return report


def audited(session, action: str) -> list[int | None]:
    query = select(AuditEntry.target_id).where(AuditEntry.action == action)
    return list(session.scalars(query.order_by(AuditEntry.id)))


def body(response) -> str:
    return response.get_data(as_text=True)


def profile(person: Person) -> dict[str, str | None]:
    return {
        "name": person.name,
        "title": person.title,
        "department": person.department.name if person.department else None,
        "team": person.team.name if person.team else None,
        "manager": person.manager.email if person.manager else None,
    }


# The directory import ----------------------------------------------------------


def test_the_import_keeps_the_fields_scim_owns_and_updates_the_others(session, make):
    platform, engineering = make.team("Platform"), make.department("Engineering")
    bo = make.person(name="Bo Boss", email="bo@acme.example.com")
    ana = make.person(
        name="Ana Souza",
        email=ANA,
        title="Engineer",
        team=platform,
        department=engineering,
        manager=bo,
    )
    scim_owns(session, ana, "name", "title", "team", "manager")

    # The name is SCIM's too, but the file agrees with it: nothing to keep.
    report = run_import(session, HEADER + f"{ANA},Ana Souza,Staff Engineer,Research,Labs,\n")

    ana = people(session)[ANA]
    assert profile(ana) == {
        "name": "Ana Souza",
        "title": "Engineer",
        "department": "Research",
        "team": "Platform",
        "manager": "bo@acme.example.com",
    }
    assert ana.profile_sources == {
        "name": "scim",
        "title": "scim",
        "team": "scim",
        "manager": "scim",
        "department": "import",
    }
    assert report.updated_fields == {ANA: ["department"]}
    assert report.scim_kept == {ANA: ["title", "team", "manager"]}
    assert report.summary() == (
        "0 created, 1 updated, 0 unchanged, 0 deactivated, "
        "3 fields left to SCIM provisioning, 1 new departments."
    )
    # The team only a kept field named is not created.
    assert report.teams_created == []
    assert session.scalar(select(Team).where(Team.slug == "labs")) is None
    entry = session.scalars(select(AuditEntry).where(AuditEntry.action == "directory.import")).one()
    assert entry.details["scim_kept"] == 3


def test_a_listed_person_whose_account_scim_owns_is_not_reactivated(session, make):
    gil = make.person(name="Gil Gone", email="gil@acme.example.com", active=False)
    scim_owns(session, gil, "active")
    ben = make.person(name="Ben Back", email="ben@acme.example.com", active=False)

    report = run_import(
        session,
        HEADER + "gil@acme.example.com,Gil Gone,Engineer,,,\nben@acme.example.com,Ben Back,,,,\n",
    )

    directory = people(session)
    gil, ben = directory["gil@acme.example.com"], directory["ben@acme.example.com"]
    assert (gil.active, gil.title) == (False, "Engineer")  # the title is the file's
    assert ben.active
    assert report.updated_fields == {
        "gil@acme.example.com": ["title"],
        "ben@acme.example.com": ["reactivated"],
    }
    assert report.scim_kept == {"gil@acme.example.com": ["active"]}
    assert audited(session, "person.reactivated") == [ben.id]


def test_deactivate_missing_leaves_whom_scim_provisions(session, make):
    make.person(email=ANA)
    kim = scim_owns(session, make.person(email="kim@acme.example.com"), "active", "team")
    # SCIM owns a field of Lee's, but not whether Lee is active.
    lee = scim_owns(session, make.person(email="lee@acme.example.com"), "team")

    report = run_import(session, HEADER + f"{ANA},Ana Souza,,,,\n", deactivate_missing=True)

    directory = people(session)
    assert directory["kim@acme.example.com"].active
    assert not directory["lee@acme.example.com"].active
    assert (report.deactivated, report.deactivated_emails) == (1, ["lee@acme.example.com"])
    assert report.scim_kept == {"kim@acme.example.com": ["active"]}
    assert "1 field left to SCIM provisioning" in report.summary()
    assert audited(session, "person.deactivated") == [lee.id]
    assert kim.id not in audited(session, "person.deactivated")


def test_the_cycle_check_walks_the_manager_scim_keeps(session, make):
    bo = make.person(name="Bo Boss", email="bo@acme.example.com")
    eve = scim_owns(
        session, make.person(name="Eve", email="eve@acme.example.com", manager=bo), "manager"
    )

    # The file drops Eve's manager, but SCIM keeps Bo: Bo under Eve is a cycle.
    with pytest.raises(DirectoryImportError) as caught:
        import_directory(
            session,
            (
                HEADER + "bo@acme.example.com,Bo Boss,,,,eve@acme.example.com\n"
                "eve@acme.example.com,Eve,Engineer,,,\n"
            ).encode(),
        )
    session.rollback()

    assert [str(problem) for problem in caught.value.problems] == [
        "line 2: manager cycle: bo@acme.example.com reports (directly or not) to themselves "
        "through bo@acme.example.com → eve@acme.example.com → bo@acme.example.com"
    ]
    directory = people(session)
    assert directory["bo@acme.example.com"].manager is None
    assert directory["eve@acme.example.com"].title is None  # all or nothing
    assert directory["eve@acme.example.com"].manager_id == bo.id
    assert eve.profile_sources == {"manager": "scim"}


def test_a_cycle_only_the_file_would_make_is_no_cycle_when_scim_keeps_the_manager(session, make):
    bo = make.person(name="Bo Boss", email="bo@acme.example.com")
    scim_owns(session, make.person(name="Eve", email="eve@acme.example.com"), "manager")

    # Eve under Bo and Bo under Eve; but SCIM keeps Eve without a manager.
    report = run_import(
        session,
        HEADER + "bo@acme.example.com,Bo Boss,,,,eve@acme.example.com\n"
        "eve@acme.example.com,Eve,,,,bo@acme.example.com\n",
    )

    directory = people(session)
    assert directory["bo@acme.example.com"].manager.email == "eve@acme.example.com"
    assert directory["eve@acme.example.com"].manager is None
    assert report.scim_kept == {"eve@acme.example.com": ["manager"]}
    assert bo.profile_sources["manager"] == "import"


def test_a_manager_scim_keeps_need_not_be_in_the_directory(session, make):
    bo = make.person(name="Bo Boss", email="bo@acme.example.com")
    scim_owns(session, make.person(name="Eve", email="eve@acme.example.com", manager=bo), "manager")

    report = run_import(session, HEADER + "eve@acme.example.com,Eve,,,,nobody@acme.example.com\n")

    assert people(session)["eve@acme.example.com"].manager_id == bo.id
    assert report.scim_kept == {"eve@acme.example.com": ["manager"]}


def test_the_import_stays_a_handful_of_statements_with_scim_people(session, make, connection):
    """Keeping SCIM's fields costs no query per row: importing thirty people
    SCIM provisions takes as many statements as importing three."""

    def directory(prefix: str, size: int) -> str:
        for number in range(size):
            person = make.person(
                name=f"Old {number}", email=f"{prefix}{number}@acme.example.com", active=False
            )
            sources.mark(person, ["title", "team", "active"], sources.SCIM)
        session.commit()
        return HEADER + "".join(
            f"{prefix}{number}@acme.example.com,New {number},Kept title,,Kept team,\n"
            for number in range(size)
        )

    few_people, many_people = directory("few", 3), directory("many", 30)

    with statements(connection) as few:
        few_report = run_import(session, few_people)
    with statements(connection) as many:
        many_report = run_import(session, many_people)

    assert len(many_report.scim_kept) == 30
    assert many_report.updated_fields["many0@acme.example.com"] == ["name"]
    assert few_report.scim_kept_count == 9
    assert len(many) == len(few), "\n".join(many)


def test_the_preview_and_the_import_say_what_was_left_to_scim(client, browser, make, session):
    admin = make.person(name="Ada Admin", email="ada@acme.example.com", admin_granted=True)
    platform = make.team("Platform")
    ana = make.person(name="Ana S.", email=ANA, title="Engineer", team=platform)
    scim_owns(session, ana, "title", "team")
    sign_in(client, admin)
    text = HEADER + f"{admin.email},Ada Admin,,,,\n" + f"{ANA},Ana Souza,Staff Engineer,,Labs,\n"

    preview = browser.submit(
        "/admin/import",
        data={"file": (BytesIO(text.encode()), "people.csv")},
        content_type="multipart/form-data",
    )

    page = body(preview)
    assert preview.status_code == 200
    assert "0 created, 1 updated, 1 unchanged, 0 deactivated" in page
    assert "2 fields left to SCIM provisioning" in page
    assert "Left to SCIM provisioning (2 fields)" in page
    assert f'{ANA}: <span class="muted">title, team</span>' in page
    assert f'{ANA}: <span class="muted">name</span>' in page  # under "Updated"
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
    upload = re.search(r'name="upload"[^>]*value="([^"]+)"', page).group(1)

    done = client.post(
        "/admin/import/confirm",
        data={"csrf_token": token, "upload": upload, "deactivate_missing": ""},
        follow_redirects=True,
    )

    assert "2 fields left to SCIM provisioning" in body(done)
    assert profile(people(session)[ANA]) == {
        "name": "Ana Souza",
        "title": "Engineer",
        "department": None,
        "team": "Platform",
        "manager": None,
    }


def test_the_command_line_says_what_was_left_to_scim(runner, make, session, tmp_path):
    scim_owns(session, make.person(email=ANA, title="Engineer"), "title")
    path = tmp_path / "people.csv"
    path.write_text(HEADER + f"{ANA},Ana Souza,Staff Engineer,,,\n")

    result = runner.invoke(args=["users", "import", str(path)])

    assert result.exit_code == 0, result.output
    assert "1 updated, 0 unchanged, 0 deactivated, 1 field left to SCIM provisioning" in (
        result.output
    )
    assert people(session)[ANA].title == "Engineer"


# Sign-in claims ----------------------------------------------------------------

ISSUER = "https://login.acme.example.com"
NEW_PROFILE = {
    "name": "Ana Souza-Lee",
    "title": "Staff Engineer",
    "department": "Research",
    "team": "Labs",
    "manager_email": "bo@acme.example.com",
}


def claim_settings() -> ClaimSettings:
    return ClaimSettings(
        issuer=ISSUER,
        auto_create=False,
        trust_email=False,
        admin_group="kudos-admins",
        claims=config.CLAIM_DEFAULTS,
    )


@pytest.mark.parametrize("owned", sources.FIELDS)
def test_sign_in_leaves_the_field_scim_owns_and_sets_the_others(session, make, owned):
    platform, engineering = make.team("Platform"), make.department("Engineering")
    make.person(name="Bo Boss", email="bo@acme.example.com")
    cy = make.person(name="Cy Chief", email="cy@acme.example.com")
    ana = make.person(
        name="Ana Souza",
        email=ANA,
        title="Engineer",
        team=platform,
        department=engineering,
        manager=cy,
    )
    scim_owns(session, ana, owned)
    before = profile(ana)
    claims = {
        "sub": "ana",
        "email": ANA,
        "email_verified": True,
        "groups": ["kudos-admins"],
        **NEW_PROFILE,
    }

    sign_in_with_claims(session, claims, claim_settings(), now=NOW)
    session.commit()

    ana = people(session)[ANA]
    after = profile(ana)
    assert after[owned] == before[owned]
    others = [field for field in sources.FIELDS if field != owned]
    assert [field for field in others if after[field] == before[field]] == []
    assert ana.profile_sources == {**dict.fromkeys(others, "sso"), owned: "scim"}
    # The admin group is no profile field: sign-in still decides it.
    assert ana.admin_from_group
    # A team or department only the kept field named is not created.
    assert (session.scalar(select(Team).where(Team.slug == "labs")) is None) == (owned == "team")
    assert (session.scalar(select(Department).where(Department.slug == "research")) is None) == (
        owned == "department"
    )


@pytest.fixture(scope="session")
def provider(tmp_path_factory):
    with running_provider(tmp_path_factory.mktemp("oidc")) as provider:
        yield provider


class TestThroughTheProvider:
    """The same rule over the real OpenID provider (as ``test_sso.py``)."""

    @pytest.fixture
    def app_overrides(self, provider):
        return provider.app_settings(OIDC_ADMIN_GROUP="kudos-admins")

    def test_a_sign_in_keeps_the_team_scim_owns_and_updates_the_title(
        self, session, make, provider, client
    ):
        platform = make.team("Platform")
        ana = make.person(name="Ana Souza", email=ANA, title="Engineer", team=platform)
        scim_owns(session, ana, "team")
        provider.set_users(
            {
                "ana": {
                    "email": ANA,
                    "email_verified": True,
                    "name": "Ana Souza",
                    "title": "Staff Engineer",
                    "team": "Labs",
                    "groups": ["staff"],
                }
            }
        )

        response = ProviderBrowser(client).sign_in("ana")

        assert response.status_code == 302
        ana = people(session)[ANA]
        assert (ana.title, ana.team.name) == ("Staff Engineer", "Platform")
        assert ana.profile_sources == {"team": "scim", "title": "sso"}


# The admin console ---------------------------------------------------------------


@pytest.fixture
def org(make):
    platform, sales = make.team("Platform"), make.team("Sales")
    engineering, finance = make.department("Engineering"), make.department("Finance")
    boss = make.person(name="Bo Boss", email="bo@acme.example.com")
    return {
        "admin": make.person(name="Ada Admin", email="ada@acme.example.com", admin_granted=True),
        "boss": boss,
        "chief": make.person(name="Cy Chief", email="cy@acme.example.com"),
        "eve": make.person(
            name="Eve Employee",
            email="eve@acme.example.com",
            team=platform,
            department=engineering,
            manager=boss,
        ),
        "platform": platform,
        "sales": sales,
        "engineering": engineering,
        "finance": finance,
    }


def as_admin(client, org) -> None:
    sign_in(client, org["admin"])


def opening_tag(page: str, name: str) -> str:
    """The ``<input>`` or ``<select>`` tag of the form field ``name``."""
    match = re.search(rf'<(?:input|select)\b[^>]*\bname="{name}"[^>]*>', page)
    assert match, f"no field {name}"
    return match.group(0)


def placement(person: Person) -> dict[str, object]:
    return {"team": person.team, "department": person.department, "manager": person.manager}


def test_the_person_page_shows_scim_fields_as_the_providers_and_locks_them(client, org, session):
    eve = scim_owns(session, org["eve"], "team", "manager", "title")
    as_admin(client, org)

    page = body(client.get(f"/admin/people/{eve.id}"))

    assert " disabled" in opening_tag(page, "team")
    assert " disabled" in opening_tag(page, "manager_email")
    assert " disabled" not in opening_tag(page, "department")
    assert f'id="team-hint">{SCIM_NOTE}</p>' in page
    assert f'id="manager_email-hint">{SCIM_NOTE}</p>' in page
    assert 'id="department-hint"' not in page
    assert 'type="submit" class="button">Save</button>' in page  # the department still is
    assert page.count("Last set by: SCIM provisioning (identity provider)") == 3
    assert page.count("Next set by: only the identity provider, through SCIM provisioning") == 3
    # Name and department: the directory import still sets them.
    assert page.count("Next set by: the next directory import that lists this person") == 2


def test_with_every_placement_field_scim_s_there_is_nothing_to_save(client, org, session):
    eve = scim_owns(session, org["eve"], "team", "department", "manager")
    as_admin(client, org)

    page = body(client.get(f"/admin/people/{eve.id}"))

    assert ">Save</button>" not in page
    assert "manages Eve's team, department and manager through SCIM; change them there." in page


def test_saving_changes_the_other_fields_and_leaves_scim_s(client, browser, org, session):
    eve = scim_owns(session, org["eve"], "team", "manager")
    as_admin(client, org)
    url = f"/admin/people/{eve.id}"

    # What a browser sends: the disabled team and manager are left out.
    response = browser.submit(url, data={"department": str(org["finance"].id)})

    assert response.status_code == 302
    session.expire_all()
    assert placement(eve) == {
        "team": org["platform"],
        "department": org["finance"],
        "manager": org["boss"],
    }
    assert eve.profile_sources == {"team": "scim", "manager": "scim", "department": "admin"}
    entry = session.scalars(select(AuditEntry).where(AuditEntry.action == "person.updated")).one()
    assert entry.details == {"department": ["Engineering", "Finance"]}


def test_a_form_sending_scim_s_fields_unchanged_may_change_the_others(
    client, browser, org, session
):
    eve = scim_owns(session, org["eve"], "team", "department", "manager")
    sources.mark(eve, ["department"], sources.SIGN_IN)  # the department is not SCIM's
    session.commit()
    as_admin(client, org)

    response = browser.submit(
        f"/admin/people/{eve.id}",
        data={
            "team": str(org["platform"].id),
            "department": str(org["finance"].id),
            "manager_email": " BO@acme.example.com ",
        },
    )

    assert response.status_code == 302
    session.expire_all()
    assert placement(eve)["department"] == org["finance"]
    assert eve.profile_sources == {"team": "scim", "manager": "scim", "department": "admin"}


@pytest.mark.parametrize(
    ("owned", "name", "new"),
    [
        ("team", "team", "sales"),
        ("department", "department", "finance"),
        ("manager", "manager_email", "chief"),
    ],
)
def test_a_crafted_change_to_a_scim_field_is_refused_and_changes_nothing(
    client, browser, org, session, owned, name, new
):
    eve = scim_owns(session, org["eve"], owned)
    as_admin(client, org)
    url = f"/admin/people/{eve.id}"
    before = placement(eve)
    # Everything changes: the field SCIM owns, and the others.
    data = {
        "team": str(org["sales"].id),
        "department": str(org["finance"].id),
        "manager_email": org["chief"].email,
    }

    response = browser.submit(url, data=data)

    assert response.status_code == 422
    page = body(response)
    assert f'id="{name}-error">{SCIM_NOTE}</p>' in page
    assert page.count('class="field__error"') == 1
    assert " disabled" in opening_tag(page, name)
    session.expire_all()
    assert placement(eve) == before
    assert eve.profile_sources == {owned: "scim"}
    assert audited(session, "person.updated") == []
    # The same change to a person SCIM does not provision goes through.
    sources.mark(eve, [owned], sources.IMPORT)
    session.commit()
    assert browser.submit(url, data=data).status_code == 302
    session.expire_all()
    assert placement(eve)[owned] == org[new]


def test_scim_decides_whether_someone_it_provisions_is_active_again(
    client, browser, org, session, make
):
    eve = org["eve"]
    eve.active = False
    scim_owns(session, eve, "active")
    # SCIM owns Fay's team, not her account: she can be reactivated here.
    fay = scim_owns(session, make.person(name="Fay", active=False), "team")
    as_admin(client, org)
    url = f"/admin/people/{eve.id}"

    page = body(client.get(url))

    assert f"{url}/reactivate" not in page
    assert "Your identity provider decides whether Eve is active, through SCIM" in page
    assert f"/admin/people/{fay.id}/reactivate" in body(client.get(f"/admin/people/{fay.id}"))
    refused = browser.submit(url, f"{url}/reactivate", follow_redirects=True)
    assert (
        "Eve Employee&#39;s account is managed by your identity provider through SCIM; "
        "reactivate them there." in body(refused)
    )
    browser.submit(url, f"/admin/people/{fay.id}/reactivate")
    session.expire_all()
    assert not eve.active
    assert fay.active
    assert audited(session, "person.reactivated") == [fay.id]
    with pytest.raises(PersonChangeRefused):
        set_active(session, org["admin"], eve, True, now=NOW)


def test_deactivating_someone_scim_provisions_is_an_emergency_stop(client, browser, org, session):
    eve = scim_owns(session, org["eve"], "active")
    as_admin(client, org)
    url = f"/admin/people/{eve.id}"

    page = body(client.get(url))

    assert f"{url}/deactivate" in page
    assert "may turn them back on at its next push unless they're deactivated there too" in (page)
    response = browser.submit(url, f"{url}/deactivate")
    assert response.status_code == 302
    session.expire_all()
    assert not eve.active
    assert audited(session, "person.deactivated") == [eve.id]
    # Still SCIM's: its next push decides, and the console cannot undo it.
    assert eve.profile_sources == {"active": "scim"}
    assert f"{url}/reactivate" not in body(client.get(url))


def test_overwritten_by_names_only_the_identity_provider_for_scim_fields(make, session):
    ana = scim_owns(session, make.person(email=ANA), "team")
    claims = config.CLAIM_DEFAULTS

    assert sources.overwritten_by("team", claims, True, person=ana) == [
        "only the identity provider, through SCIM provisioning (the directory import, "
        "sign-in and this console leave it alone)"
    ]
    assert sources.overwritten_by("title", claims, True, person=ana) == [
        "the next directory import that lists this person",
        "their next sign-in, when the provider sends “title”",
    ]
