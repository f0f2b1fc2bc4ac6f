"""The `kudos` command line: migrations, synthetic data, and a database that
is missing (one line naming it and the fix, never a traceback or an empty
file); ``kudos --demo`` on the demo's database."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import delete, func, inspect, select, text

from kudos import create_app
from kudos.db import make_engine
from kudos.leaderboard.models import LeaderboardPair, LeaderboardScore
from kudos.people.models import Person
from kudos.recognition.models import Kudos, Recognition, Value, kudos_value
from tests.factories import rollup_rows

ROOT = Path(__file__).resolve().parent.parent


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


# A database that is not there -------------------------------------------------

# Every command that reads or writes the database, with the arguments it needs.
NEEDS_A_DATABASE = {
    "db current": [],
    "db downgrade": ["base"],
    "db revision": ["-m", "something"],
    "users import": ["people.csv"],
    "admins add": ["ana@acme.example.com"],
    "admins remove": ["ana@acme.example.com"],
    "admins list": [],
    "outbox deliver": [],
    "outbox status": [],
    "tokens create": ["ana@acme.example.com"],
    "rollups rebuild": [],
    "summaries send": [],
    "seed": [],
    "slack run": [],
    "scim token create": ["Okta"],
    "scim token list": [],
    "scim token revoke": ["1"],
    "scim release": [],
}
# Creates the database: it has checks of its own (below).
CREATES_THE_DATABASE = {"db upgrade"}
# Reads no database at all.
NO_DATABASE = {"slack manifest"}


def command_paths(group, prefix: str = "") -> set[str]:
    paths = set()
    for name, command in group.commands.items():
        path = f"{prefix}{name}"
        if hasattr(command, "commands"):
            paths |= command_paths(command, path + " ")
        else:
            paths.add(path)
    return paths


def cli_for(url: str, **settings):
    app = create_app({"TESTING": True, "SECRET_KEY": "x", "DATABASE_URL": url, **settings})
    return app.test_cli_runner()


def assert_one_line_error(result, *expected: str) -> None:
    assert result.exit_code == 1, result.output
    assert isinstance(result.exception, SystemExit)  # a message, not a crash
    lines = result.output.strip().splitlines()
    assert len(lines) == 1, result.output
    assert lines[0].startswith("Error: ")
    for part in expected:
        assert part in lines[0]


def test_every_command_that_needs_a_database_is_checked_here():
    app = create_app({"TESTING": True, "SECRET_KEY": "x"})
    ours = command_paths(app.cli) - {"routes", "run", "shell"}  # Flask's own

    assert ours == set(NEEDS_A_DATABASE) | CREATES_THE_DATABASE | NO_DATABASE


@pytest.mark.parametrize("command", sorted(NEEDS_A_DATABASE))
def test_a_missing_database_is_one_line_naming_it_and_the_fix(tmp_path, monkeypatch, command):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "people.csv").write_text("email,name,title,department,team,manager_email\n")
    database = tmp_path / "kudos.sqlite3"

    result = cli_for(f"sqlite:///{database}", SMTP_URL="smtp://127.0.0.1:1").invoke(
        args=[*command.split(), *NEEDS_A_DATABASE[command]]
    )

    assert_one_line_error(result, f"there is no database at {database}", "kudos db upgrade")
    assert sorted(path.name for path in tmp_path.iterdir()) == ["people.csv"]  # nothing created


def test_a_missing_folder_is_said_too_and_not_created(tmp_path):
    database = tmp_path / "nope" / "kudos.sqlite3"

    missing = cli_for(f"sqlite:///{database}").invoke(args=["tokens", "create", "a@b.c"])
    upgrade = cli_for(f"sqlite:///{database}").invoke(args=["db", "upgrade"])

    assert_one_line_error(missing, f"nor a folder {database.parent}", "KUDOS_DATABASE_URL")
    assert_one_line_error(upgrade, f"the folder {database.parent} does not exist")
    assert list(tmp_path.iterdir()) == []


def test_an_empty_or_old_database_asks_for_an_upgrade(tmp_path):
    database = tmp_path / "kudos.sqlite3"
    database.touch()  # what an older Kudos left behind
    url = f"sqlite:///{database}"

    empty = cli_for(url).invoke(args=["admins", "list"])
    assert cli_for(url).invoke(args=["db", "upgrade", "0009"]).exit_code == 0
    old = cli_for(url).invoke(args=["admins", "list"])
    assert cli_for(url).invoke(args=["db", "upgrade"]).exit_code == 0
    current = cli_for(url).invoke(args=["admins", "list"])

    assert_one_line_error(empty, f"the database {url} has no Kudos tables yet", "kudos db upgrade")
    assert_one_line_error(old, "is at revision 0009, not ", "run `kudos db upgrade`")
    assert current.exit_code == 0, current.output


def test_a_database_at_a_revision_kudos_does_not_know(tmp_path):
    database = tmp_path / "kudos.sqlite3"
    url = f"sqlite:///{database}"
    with sqlite3.connect(database) as connection:  # another application's
        connection.execute("CREATE TABLE alembic_version (version_num VARCHAR(32))")
        connection.execute("INSERT INTO alembic_version VALUES ('ae1027a6acf')")

    foreign = cli_for(url).invoke(args=["admins", "list"])
    with sqlite3.connect(database) as connection:  # Kudos' tables, from a newer Kudos
        connection.execute("DROP TABLE alembic_version")
    assert cli_for(url).invoke(args=["db", "upgrade"]).exit_code == 0
    with sqlite3.connect(database) as connection:
        connection.execute("UPDATE alembic_version SET version_num = '9999_from_the_future'")
    newer = cli_for(url).invoke(args=["admins", "list"])

    assert_one_line_error(foreign, "is at revision ae1027a6acf, not one of Kudos'")
    assert_one_line_error(newer, "is at revision 9999_from_the_future, which this version")


def test_an_unreachable_server_is_one_line_without_the_password(tmp_path):
    from tests.pgserver import free_port

    url = f"postgresql+psycopg://kudos:hunter2@127.0.0.1:{free_port()}/kudos"

    result = cli_for(url).invoke(args=["admins", "list"])

    assert_one_line_error(result, "cannot open the database postgresql+psycopg://kudos:***@")
    assert "hunter2" not in result.output


def test_the_console_script_prints_no_traceback(tmp_path):
    database = tmp_path / "nope" / "x.db"
    env = {
        **os.environ,
        "KUDOS_DATABASE_URL": f"sqlite:///{database}",
        "KUDOS_SECRET_KEY": "x",
        "KUDOS_BASE_URL": "http://127.0.0.1:5000",
    }

    result = subprocess.run(  # noqa: S603 - our own command line
        [sys.executable, "-c", "from kudos.cli import main; main()", "tokens", "create", "a@b.c"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr.strip().splitlines() == [
        f"Error: there is no database at {database}, nor a folder {database.parent}: check "
        "KUDOS_DATABASE_URL, or create the folder and run `kudos db upgrade`"
    ]
    assert not database.parent.exists()


# The demo's database -----------------------------------------------------------


@pytest.fixture
def instance(tmp_path, monkeypatch):
    """instance/ of a checkout of our own, where ./scripts/demo keeps its database."""
    from kudos.demo import runner

    folder = tmp_path / "instance"
    monkeypatch.setattr(runner, "instance_folder", lambda: folder)
    monkeypatch.delenv("KUDOS_DATABASE_URL", raising=False)
    monkeypatch.setenv("FLASK_RUN_FROM_CLI", "true")  # the CLI sets it; put back after
    return folder


def kudos_command(*args: str):
    """``kudos ARGS`` as the console script runs it (the real group, its app factory)."""
    from click.testing import CliRunner

    from kudos.cli import cli

    return CliRunner().invoke(cli, list(args), prog_name="kudos")


def test_kudos_demo_runs_any_command_on_the_demos_database(instance):
    from kudos.demo.runner import demo_database, prepare_demo

    prepare_demo(demo_database()).extensions["kudos.db"].kw["bind"].dispose()

    result = kudos_command("--demo", "tokens", "create", "priya.raman@northwind.example.com")

    assert result.exit_code == 0, result.output
    raw = result.stdout.strip()
    assert raw.startswith("kudos_")
    engine = make_engine(f"sqlite:///{demo_database()}")
    with engine.connect() as connection:
        owner = connection.scalar(
            text(
                "SELECT person.email FROM api_token JOIN person ON person.id = api_token.person_id"
            )
        )
    engine.dispose()
    assert owner == "priya.raman@northwind.example.com"


def test_kudos_demo_without_the_demo_says_to_run_it_first(instance):
    result = kudos_command("--demo", "admins", "list")

    assert result.exit_code == 1
    assert result.output.strip().splitlines() == [
        f"Error: there is no demo database at {instance / 'kudos-demo.sqlite3'} yet: "
        "run ./scripts/demo first (or kudos demo --no-serve)"
    ]
    assert sorted(path.name for path in instance.iterdir()) == []  # no database, no secret


def test_without_demo_a_missing_database_points_to_the_demos(instance, tmp_path):
    instance.mkdir()
    (instance / "kudos-demo.sqlite3").touch()
    database = tmp_path / "kudos.sqlite3"

    result = cli_for(f"sqlite:///{database}").invoke(args=["tokens", "create", "a@b.c"])

    assert_one_line_error(result, "for the demo's database, run: kudos --demo tokens create")
    assert not database.exists()


def test_a_configuration_error_points_to_the_demos_database_when_there_is_one(
    instance, monkeypatch
):
    monkeypatch.delenv("KUDOS_SECRET_KEY", raising=False)
    monkeypatch.delenv("KUDOS_BASE_URL", raising=False)
    without_demo = kudos_command("admins", "list")
    instance.mkdir()
    (instance / "kudos-demo.sqlite3").touch()

    with_demo = kudos_command("admins", "list")

    assert without_demo.exit_code == with_demo.exit_code == 2
    assert "KUDOS_SECRET_KEY is required" in with_demo.output
    assert "kudos --demo" not in without_demo.output
    assert "run the command as: kudos --demo" in with_demo.output
