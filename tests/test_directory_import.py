"""`kudos users import FILE.csv`: the directory import."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from kudos.audit.models import AuditEntry
from kudos.people.directory import DirectoryImportError, import_directory
from kudos.people.models import Department, Person, Team

HEADER = "email,name,title,department,team,manager_email\n"

GOOD = HEADER + (
    "ana@acme.example.com,Ana Souza,Engineer,Engineering,Platform,ben@acme.example.com\n"
    "Ben@Acme.Example.com,Ben Okoro,Engineering Manager,Engineering,Platform,"
    "cleo@acme.example.com\n"
    "cleo@acme.example.com,Cleo Park,CTO,Engineering,Leadership,\n"
    "dan@acme.example.com,Dan Moreau,Accountant,Finance,Accounting,cleo@acme.example.com\n"
)


def people(session) -> dict[str, Person]:
    session.expire_all()
    return {person.email: person for person in session.scalars(select(Person))}


def count(session, model) -> int:
    return session.scalar(select(func.count()).select_from(model))


def run_import(session, text: str | bytes, **options):
    data = text.encode() if isinstance(text, str) else text
    report = import_directory(session, data, **options)
    session.commit()
    return report


def problems_of(session, text: str | bytes) -> list[str]:
    data = text.encode() if isinstance(text, str) else text
    with pytest.raises(DirectoryImportError) as caught:
        import_directory(session, data)
    session.rollback()
    return [str(problem) for problem in caught.value.problems]


# Good files ------------------------------------------------------------------


def test_a_good_file_creates_people_teams_departments_and_managers(session):
    report = run_import(session, GOOD)

    directory = people(session)
    assert report.created == 4
    assert report.updated == 0
    assert set(directory) == {
        "ana@acme.example.com",
        "ben@acme.example.com",
        "cleo@acme.example.com",
        "dan@acme.example.com",
    }
    ana = directory["ana@acme.example.com"]
    assert (ana.name, ana.title, ana.department.name, ana.team.name) == (
        "Ana Souza",
        "Engineer",
        "Engineering",
        "Platform",
    )
    # Ana's manager Ben appears later in the file; resolved in the second pass.
    assert ana.manager.email == "ben@acme.example.com"
    assert directory["ben@acme.example.com"].manager.email == "cleo@acme.example.com"
    assert directory["cleo@acme.example.com"].manager is None
    assert sorted(session.scalars(select(Department.name))) == ["Engineering", "Finance"]
    assert sorted(session.scalars(select(Team.slug))) == ["accounting", "leadership", "platform"]
    assert all(person.active and not person.is_admin for person in directory.values())


def test_teams_named_in_any_script_get_an_address(session, client, make):
    """A team called "فريق الدعم" is created with a slug of its own letters
    (not an empty one), and its page opens."""
    from tests.conftest import sign_in

    run_import(
        session,
        HEADER + "rana@acme.example.com,رنا,,قسم الهندسة,فريق الدعم,\n"
        "noa@acme.example.com,Noa,,,צוות תמיכה,\n",
    )
    arabic = session.scalars(select(Team).where(Team.name == "فريق الدعم")).one()
    hebrew = session.scalars(select(Team).where(Team.name == "צוות תמיכה")).one()
    assert (arabic.slug, hebrew.slug) == ("فريق-الدعم", "צוות-תמיכה")
    sign_in(client, make.person(name="Viewer"))
    page = client.get(f"/teams/{arabic.slug}")
    assert page.status_code == 200
    assert "رنا" in page.get_data(as_text=True)


def test_importing_the_same_file_twice_changes_nothing(session):
    run_import(session, GOOD)
    before = {
        email: (p.name, p.title, p.team_id, p.department_id, p.manager_id, p.updated_at)
        for email, p in people(session).items()
    }

    report = run_import(session, GOOD)

    after = {
        email: (p.name, p.title, p.team_id, p.department_id, p.manager_id, p.updated_at)
        for email, p in people(session).items()
    }
    assert (report.created, report.updated, report.unchanged) == (0, 0, 4)
    assert after == before
    assert count(session, Team) == 3
    assert count(session, Department) == 2


def test_people_are_matched_by_email_case_insensitively_and_updated(session, make):
    existing = make.person(name="Ana S.", email="ana@acme.example.com", title="Intern")

    report = run_import(
        session, HEADER + ("ANA@ACME.EXAMPLE.COM,Ana Souza,Engineer,Engineering,Platform,\n")
    )

    directory = people(session)
    assert list(directory) == ["ana@acme.example.com"]
    assert directory["ana@acme.example.com"].id == existing.id
    assert directory["ana@acme.example.com"].title == "Engineer"
    assert (report.created, report.updated) == (0, 1)


def test_a_manager_may_already_be_in_the_directory(session, make):
    boss = make.person(email="boss@acme.example.com")

    run_import(session, HEADER + "new@acme.example.com,New Hire,,,,BOSS@acme.example.com\n")

    assert people(session)["new@acme.example.com"].manager_id == boss.id


def test_teams_and_departments_match_by_name_ignoring_case(session, make):
    make.team("Customer Success")

    run_import(session, HEADER + "a@acme.example.com,A,,,customer success,\n")

    assert count(session, Team) == 1
    assert people(session)["a@acme.example.com"].team.name == "Customer Success"


def test_blank_optional_columns_clear_the_old_values(session):
    run_import(session, GOOD)

    run_import(session, HEADER + "ana@acme.example.com,Ana Souza,,,,\n")

    ana = people(session)["ana@acme.example.com"]
    assert (ana.title, ana.team, ana.department, ana.manager) == (None, None, None, None)


def test_quoted_fields_with_commas_and_a_bom_are_read(session):
    data = (
        "\ufeff" + HEADER + '"ana@acme.example.com","Souza, Ana","Engineer, Senior",R&D,'
        '"Platform, Core",\n'
    ).encode()

    run_import(session, data)

    ana = people(session)["ana@acme.example.com"]
    assert (ana.name, ana.title, ana.team.name) == (
        "Souza, Ana",
        "Engineer, Senior",
        "Platform, Core",
    )


def test_columns_may_come_in_any_order(session):
    run_import(
        session,
        "name,email,manager_email,team,department,title\n"
        "Ana Souza,ana@acme.example.com,,Platform,Engineering,Engineer\n",
    )

    assert people(session)["ana@acme.example.com"].title == "Engineer"


def test_people_missing_from_a_later_file_are_kept(session):
    run_import(session, GOOD)

    report = run_import(session, HEADER + "ana@acme.example.com,Ana Souza,,,,\n")

    directory = people(session)
    assert len(directory) == 4
    assert all(person.active for person in directory.values())
    assert report.deactivated == 0


def test_deactivate_missing_deactivates_the_people_not_listed(session):
    run_import(session, GOOD)

    report = run_import(
        session, HEADER + "ana@acme.example.com,Ana Souza,,,,\n", deactivate_missing=True
    )

    directory = people(session)
    assert report.deactivated == 3
    assert {email for email, person in directory.items() if person.active} == {
        "ana@acme.example.com"
    }
    assert len(directory) == 4  # deactivated, never deleted


def test_a_deactivated_person_listed_again_is_reactivated(session, make):
    make.person(email="ana@acme.example.com", active=False)

    report = run_import(session, HEADER + "ana@acme.example.com,Ana Souza,,,,\n")

    assert people(session)["ana@acme.example.com"].active
    assert report.updated == 1


def test_an_import_is_written_to_the_audit_log(session):
    run_import(session, GOOD)

    entry = session.scalars(select(AuditEntry).where(AuditEntry.action == "directory.import")).one()
    assert entry.details["created"] == 4


# Bad files: every problem reported with its line, nothing imported -----------


@pytest.mark.parametrize(
    ("row", "message"),
    [
        (",No Email,,,,", "line 2: missing e-mail"),
        ("not-an-email,Bad Email,,,,", "line 2: malformed e-mail 'not-an-email'"),
        ("x@acme.example.com,Bad Manager,,,,nobody-at-all", "line 2: malformed manager e-mail"),
        ("x@acme.example.com,,,,,", "line 2: missing name"),
        (
            "x@acme.example.com,Self Managed,,,,X@acme.example.com",
            "line 2: x@acme.example.com is listed as their own manager",
        ),
        ("x@acme.example.com,Short Row", "line 2: expected 6 columns, found 2"),
        ("x@acme.example.com,Tab\tName,,,,", "line 2: contains control characters"),
        ("x@acme.example.com,A,,,!!!,", "line 2: team '!!!' has no letters or digits"),
    ],
)
def test_a_bad_row_is_reported_with_its_line(session, row, message):
    problems = problems_of(session, HEADER + row + "\n")

    assert any(problem.startswith(message) for problem in problems), problems
    assert count(session, Person) == 0


@pytest.mark.parametrize("column", range(6))
@pytest.mark.parametrize("character", ["\r", "\n", "\x00", "\x1b", "\x7f"])
def test_control_characters_are_refused_in_every_column(session, column, character):
    fields = ["x@acme.example.com", "Ana", "Title", "Dept", "Team", "boss@acme.example.com"]
    fields[column] = fields[column][:1] + character + fields[column][1:]
    row = ",".join(f'"{field}"' for field in fields)
    text = HEADER + "boss@acme.example.com,Boss,,,,\n" + row + "\n"

    problems = problems_of(session, text)

    assert any(p.endswith("contains control characters") for p in problems), problems
    assert count(session, Person) == 0


def test_an_unknown_manager_is_reported(session):
    problems = problems_of(session, HEADER + "a@acme.example.com,A,,,,ghost@acme.example.com\n")

    assert problems == [
        "line 2: unknown manager ghost@acme.example.com: not in this file nor in the directory"
    ]


def test_a_manager_cycle_is_reported_on_every_line_in_it(session):
    problems = problems_of(
        session,
        HEADER
        + (
            "a@acme.example.com,A,,,,b@acme.example.com\n"
            "b@acme.example.com,B,,,,c@acme.example.com\n"
            "c@acme.example.com,C,,,,a@acme.example.com\n"
            "d@acme.example.com,D,,,,a@acme.example.com\n"  # reports into the cycle, not in it
        ),
    )

    assert [problem.split(":")[0] for problem in problems] == ["line 2", "line 3", "line 4"]
    assert all("manager cycle" in problem for problem in problems)


def test_a_cycle_through_someone_already_in_the_directory_is_found(session):
    run_import(
        session, HEADER + "a@acme.example.com,A,,,,\nb@acme.example.com,B,,,,a@acme.example.com\n"
    )

    # A now reports to B, who (already, and not in this file) reports to A.
    problems = problems_of(session, HEADER + "a@acme.example.com,A,,,,b@acme.example.com\n")

    assert len(problems) == 1
    assert problems[0].startswith("line 2: manager cycle")


def test_a_duplicate_email_in_the_file_is_reported_with_both_lines(session):
    problems = problems_of(
        session,
        HEADER + "a@acme.example.com,A,,,,\n"
        "b@acme.example.com,B,,,,\n"
        "A@ACME.example.com,A again,,,,\n",
    )

    assert problems == ["line 4: duplicate e-mail a@acme.example.com, already on line 2"]


@pytest.mark.parametrize(
    "header",
    [
        "email,name,title,department,team",
        "email,name,title,department,team,manager_email,salary",
        "mail,name,title,department,team,manager_email",
        "email,email,title,department,team,manager_email",
    ],
)
def test_a_wrong_header_is_reported(session, header):
    problems = problems_of(session, header + "\na@acme.example.com,A,,,,\n")

    assert len(problems) == 1
    assert problems[0].startswith("line 1: wrong header")
    assert "email,name,title,department,team,manager_email" in problems[0]


def test_a_file_that_is_not_utf8_is_reported(session):
    data = (HEADER + "a@acme.example.com,Ana,,,,\n" + "b@acme.example.com,Zoë,,,,\n").encode(
        "latin-1"
    )

    assert problems_of(session, data) == [
        "line 3: the file is not UTF-8 text; save it as CSV UTF-8 and try again"
    ]


@pytest.mark.parametrize("content", ["", "\n\n  \n"])
def test_an_empty_file_is_reported(session, content):
    problems = problems_of(session, content)

    assert len(problems) == 1
    assert problems[0].startswith("line 1: the file is empty")


def test_a_header_without_people_is_reported(session):
    assert problems_of(session, HEADER) == ["line 2: the file has a header but no people"]


def test_every_bad_row_is_reported_and_nothing_is_imported(session, make):
    make.person(email="keep@acme.example.com", name="Keep Me", title="Original")
    text = HEADER + (
        "keep@acme.example.com,Keep Me,Changed,,,\n"  # fine, but must not be applied
        ",No Email,,,,\n"  # line 3
        "good@acme.example.com,Good,,New Department,New Team,\n"
        "bad-email,Bad,,,,\n"  # line 5
        "good@acme.example.com,Good Again,,,,\n"  # line 6, duplicate
    )

    problems = problems_of(session, text)

    assert [problem.split(":")[0] for problem in problems] == ["line 3", "line 5", "line 6"]
    assert set(people(session)) == {"keep@acme.example.com"}
    assert people(session)["keep@acme.example.com"].title == "Original"
    assert count(session, Team) == 0
    assert count(session, Department) == 0


# The command line ------------------------------------------------------------


def test_cli_imports_a_file(runner, session, tmp_path):
    path = tmp_path / "people.csv"
    path.write_text(GOOD)

    result = runner.invoke(args=["users", "import", str(path)])

    assert result.exit_code == 0, result.output
    assert "4 created, 0 updated, 0 unchanged, 0 deactivated" in result.output
    assert count(session, Person) == 4


def test_cli_lists_every_problem_and_exits_non_zero(runner, session, tmp_path):
    path = tmp_path / "people.csv"
    path.write_text(HEADER + ",No Email,,,,\nbad,Bad,,,,\n")

    result = runner.invoke(args=["users", "import", str(path)])

    assert result.exit_code == 1
    assert "nothing was imported, because of 2 problems" in result.output
    assert "line 2: missing e-mail" in result.output
    assert "line 3: malformed e-mail 'bad'" in result.output
    assert count(session, Person) == 0


def test_cli_deactivate_missing(runner, session, tmp_path):
    path = tmp_path / "people.csv"
    path.write_text(GOOD)
    runner.invoke(args=["users", "import", str(path)])
    path.write_text(HEADER + "ana@acme.example.com,Ana Souza,,,,\n")

    result = runner.invoke(args=["users", "import", "--deactivate-missing", str(path)])

    assert result.exit_code == 0, result.output
    assert "3 deactivated" in result.output
