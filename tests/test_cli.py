"""The `kudos` command line: migrations and synthetic data."""

from __future__ import annotations

from collections import Counter

from sqlalchemy import delete, func, inspect, select

from kudos import create_app
from kudos.db import make_engine
from kudos.leaderboard.models import LeaderboardPair, LeaderboardScore
from kudos.people.models import Person
from kudos.recognition.models import Kudos, Recognition, Value, kudos_value
from tests.factories import rollup_rows


def test_db_upgrade_and_downgrade_from_the_command_line(tmp_path):
    url = f"sqlite:///{tmp_path / 'cli.sqlite3'}"
    runner = create_app({"TESTING": True, "SECRET_KEY": "x", "DATABASE_URL": url}).test_cli_runner()

    upgraded = runner.invoke(args=["db", "upgrade"])
    engine = make_engine(url)
    tables_after_upgrade = set(inspect(engine).get_table_names())
    downgraded = runner.invoke(args=["db", "downgrade", "base"])
    tables_after_downgrade = set(inspect(engine).get_table_names())
    engine.dispose()

    assert upgraded.exit_code == 0, upgraded.output
    assert {"person", "kudos", "recognition", "value"} <= tables_after_upgrade
    assert downgraded.exit_code == 0, downgraded.output
    assert tables_after_downgrade == {"alembic_version"}


def test_seed_adds_synthetic_people_and_kudos(runner, session):
    result = runner.invoke(args=["seed", "--users", "50", "--kudos", "200", "--months", "2"])

    assert result.exit_code == 0, result.output
    assert session.scalar(select(func.count()).select_from(Person)) == 50
    assert session.scalar(select(func.count()).select_from(Kudos)) == 200
    self_thanks = (
        select(func.count())
        .select_from(Recognition)
        .where(Recognition.sender_id == Recognition.recipient_id)
    )
    assert session.scalar(self_thanks) == 0


def test_seed_can_run_twice(runner, session):
    runner.invoke(args=["seed", "--users", "10", "--kudos", "5"])
    result = runner.invoke(args=["seed", "--users", "10", "--kudos", "5"])

    assert result.exit_code == 0, result.output
    assert session.scalar(select(func.count()).select_from(Person)) == 20


def test_admins_add_list_and_remove(runner, make, session):
    make.person(name="Ana Souza", email="ana@acme.example.com")

    added = runner.invoke(args=["admins", "add", "ANA@acme.example.com"])
    listed = runner.invoke(args=["admins", "list"])
    session.expire_all()
    ana = session.scalar(select(Person).where(Person.email == "ana@acme.example.com"))
    assert added.exit_code == 0, added.output
    assert ana.is_admin
    assert "ana@acme.example.com\tAna Souza\tkudos" in listed.output

    removed = runner.invoke(args=["admins", "remove", "ana@acme.example.com"])
    session.expire_all()
    assert removed.exit_code == 0, removed.output
    assert not session.scalar(select(Person).where(Person.email == "ana@acme.example.com")).is_admin


def test_admins_add_an_unknown_person_fails_clearly(runner):
    result = runner.invoke(args=["admins", "add", "nobody@acme.example.com"])

    assert result.exit_code == 1
    assert "nobody with the e-mail nobody@acme.example.com" in result.output


def test_seed_gives_each_team_a_manager_and_each_department_a_head(runner, session):
    result = runner.invoke(args=["seed", "--users", "90", "--kudos", "0"])

    assert result.exit_code == 0, result.output
    people = {person.id: person for person in session.scalars(select(Person))}
    in_team = Counter(
        person.manager_id
        for person in people.values()
        if person.manager_id and people[person.manager_id].team_id == person.team_id
    )
    # Teams of 9, 10 and 11 in turn, each with its manager.
    assert sorted(in_team.values()) == [8, 8, 8, 9, 9, 9, 10, 10, 10]
    top = [person for person in people.values() if person.manager_id is None]
    assert len({person.department_id for person in top}) == len(top) == 8
    for person in people.values():
        manager = people.get(person.manager_id)
        if manager is not None and manager.team_id != person.team_id:
            # A team manager, reporting to the head of their department.
            assert manager.manager_id is None
            assert manager.department_id == person.department_id


def test_seed_spreads_kudos_over_the_values(runner, session):
    # Enough kudos for PostgreSQL to plan the values' insert the way that
    # once drew the values a single time for all of them.
    result = runner.invoke(args=["seed", "--users", "30", "--kudos", "5000"])

    assert result.exit_code == 0, result.output
    per_value = session.execute(
        select(kudos_value.c.value_id, func.count()).group_by(kudos_value.c.value_id)
    ).all()
    values = session.scalar(select(func.count()).select_from(Value).where(Value.active))
    assert len(per_value) == values  # every value has kudos
    assert max(count for _, count in per_value) < 2500  # none has (nearly) all of them
    assert sum(count for _, count in per_value) > 5000  # some kudos have two


def test_rollups_rebuild_from_the_command_line_recomputes_the_boards(runner, make, session):
    ann, ben = make.person(name="Ann"), make.person(name="Ben")
    make.kudos(ann, [ben])
    make.kudos(ben, [ann])
    kept_up_to_date = rollup_rows(session)
    session.execute(delete(LeaderboardScore))
    session.execute(delete(LeaderboardPair))
    session.commit()

    result = runner.invoke(args=["rollups", "rebuild"])

    assert result.exit_code == 0, result.output
    assert "rebuilt" in result.output
    session.expire_all()
    assert rollup_rows(session) == kept_up_to_date
    assert kept_up_to_date != (set(), set())
