"""The short version of bench/scim_load.py, so that the benchmark cannot
silently rot: the same code, at 200 people and 4 groups. Kudos runs under
gunicorn; the people are provisioned as Okta does it (a lookup by userName,
then a POST naming the manager), the groups pushed as Entra does it (a
POST, then PATCHes adding members, 25 a request here so that the big teams
take several), 5 % deactivated, and every page of users read. It checks
what the directory holds afterwards, not how fast it got there.

Kudos under gunicorn needs a committed database of its own: a temporary
SQLite file, or in the PostgreSQL run of the suite a throwaway server, as
tests/test_load_pg.py does.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from bench.scim_load import Outcome, Settings, make_company, run, verify
from tests.pgserver import throwaway_postgres

SETTINGS = Settings(users=200, groups=4, clients=4, batch=25, baseline_requests=0, cost_runs=1)


@pytest.fixture(scope="module")
def provisioned(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Outcome]]:
    """The database's URL and what the run saw."""
    if os.environ.get("KUDOS_TEST_DATABASE_URL", "").startswith("postgresql"):
        with throwaway_postgres() as url:
            yield url, run(url, SETTINGS)
        return
    path: Path = tmp_path_factory.mktemp("scim-load") / "kudos.sqlite3"
    url = f"sqlite:///{path}"
    yield url, run(url, SETTINGS)


def test_every_request_got_the_answer_an_identity_provider_expects(provisioned):
    _, outcome = provisioned
    users, created, filled, leaving, pages = outcome.phases

    assert [phase.problems for phase in outcome.phases] == [[]] * 5
    assert users.requests == 2 * 200  # a lookup and a POST each
    assert created.requests == 4
    # Uneven teams, 25 members a PATCH: the biggest take several.
    team_sizes = [len(outcome.company.members(k)) for k in range(4)]
    assert max(team_sizes) > 25
    assert filled.requests == sum(-(-size // 25) for size in team_sizes)
    assert leaving.requests == 10
    assert pages.requests == 2


def test_exactly_the_people_sent_are_provisioned_with_the_ids_they_were_given(provisioned):
    _, outcome = provisioned
    checked = outcome.verification

    assert checked.expected == checked.people == checked.provisioned == 200
    assert None not in outcome.ids
    assert len(set(outcome.ids)) == 200
    assert checked.ids_wrong == 0


def test_every_manager_and_department_is_as_sent(provisioned):
    _, outcome = provisioned
    checked = outcome.verification

    assert checked.managers_wrong == 0
    assert checked.departments_wrong == 0


def test_each_person_is_in_the_team_their_group_patches_put_them_in(provisioned):
    _, outcome = provisioned
    checked = outcome.verification

    assert checked.groups_provisioned == 4
    assert checked.members_wrong == 0


def test_exactly_the_deactivated_five_percent_are_inactive(provisioned):
    _, outcome = provisioned
    checked = outcome.verification

    assert checked.inactive == checked.inactive_expected == 10
    assert checked.active_wrong == 0


def test_the_pages_list_everyone_once_as_they_are(provisioned):
    _, outcome = provisioned
    checked = outcome.verification

    assert checked.paged == checked.paged_total == 200
    assert checked.paged_wrong == 0
    assert outcome.problems() == []


def test_the_check_finds_a_wrong_manager_a_wrong_team_and_a_missed_deactivation(provisioned):
    url, outcome = provisioned
    company = outcome.company
    users = list(company.users)
    users[10] = dataclasses.replace(users[10], manager=3)  # really 1
    users[11] = dataclasses.replace(users[11], group=(users[11].group + 1) % 4)
    stayed = [n for n in range(200) if n not in company.deactivated][0]
    told = dataclasses.replace(
        company, users=users, deactivated=sorted([*company.deactivated, stayed])
    )

    checked = verify(url, told, outcome.ids, outcome.group_ids, outcome.pages)

    assert checked.managers_wrong == 1
    assert checked.members_wrong == 1
    assert (checked.inactive, checked.inactive_expected) == (10, 11)
    assert checked.active_wrong == 1
    assert checked.paged_wrong == 1
    problems = "\n".join(checked.problems())
    for found in ("without the manager sent", "not in the team", "11 expected", "1 of them wrong"):
        assert found in problems


def test_the_company_is_a_tree_of_managers_sent_before_their_reports():
    company = make_company(200, 4)

    assert [user.manager for user in company.users[:10]] == [None, *[0] * 8, 1]
    assert all(user.manager < user.number for user in company.users[1:])
    assert len({user.department for user in company.users}) == 40
    assert len(company.deactivated) == 10


def test_each_kind_of_request_is_measured_in_process(provisioned):
    _, outcome = provisioned

    assert len(outcome.costs) == 5
    assert all(cost.statements > 0 and cost.ms > 0 for cost in outcome.costs)
