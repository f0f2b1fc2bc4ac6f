"""Migrations create exactly the models' schema, on SQLite and PostgreSQL,
and every step can be undone."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, inspect, select, text

from kudos.db import make_engine
from kudos.migrate import alembic_config
from kudos.models import Base, Value
from tests.spare_database import spare_database


@pytest.fixture
def empty_database(database_url: str, tmp_path: Path) -> Iterator[str]:
    """A brand-new, empty database on the same engine as the suite."""
    with spare_database(database_url, tmp_path) as url:
        yield url


@pytest.fixture
def empty_engine(empty_database: str) -> Iterator[Engine]:
    engine = make_engine(empty_database)
    yield engine
    engine.dispose()


def schema_differences(engine: Engine) -> list:
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return compare_metadata(context, Base.metadata)


def test_upgrade_gives_exactly_the_models_schema(empty_database, empty_engine):
    command.upgrade(alembic_config(empty_database), "head")

    assert schema_differences(empty_engine) == []


def test_upgrade_seeds_the_eight_default_values(empty_database, empty_engine):
    command.upgrade(alembic_config(empty_database), "head")

    with empty_engine.connect() as connection:
        names = connection.scalars(select(Value.name).order_by(Value.position)).all()
    assert names == [
        "Responsive",
        "Caring",
        "Competent",
        "Integrity",
        "Collaborative",
        "Clear communicator",
        "Ownership",
        "Mentor",
    ]


def test_downgrade_to_base_removes_everything_and_upgrade_works_again(empty_database, empty_engine):
    config = alembic_config(empty_database)
    command.upgrade(config, "head")
    command.downgrade(config, "base")

    assert set(inspect(empty_engine).get_table_names()) == {"alembic_version"}

    command.upgrade(config, "head")
    assert schema_differences(empty_engine) == []


def test_every_migration_can_go_down_and_up_again(empty_database, empty_engine):
    """The "stairway": each revision upgrades, downgrades and upgrades cleanly."""
    config = alembic_config(empty_database)
    revisions = list(reversed(list(ScriptDirectory.from_config(config).walk_revisions())))
    assert revisions, "no migrations found"
    for revision in revisions:
        command.upgrade(config, revision.revision)
        command.downgrade(config, revision.down_revision or "base")
        command.upgrade(config, revision.revision)
    assert schema_differences(empty_engine) == []


def test_every_constraint_and_index_is_named_by_the_convention(empty_database, empty_engine):
    command.upgrade(alembic_config(empty_database), "head")
    inspector = inspect(empty_engine)
    for table in Base.metadata.sorted_tables:
        for index in inspector.get_indexes(table.name):
            # PostgreSQL reports a unique constraint's index under the constraint's name.
            prefix = "uq_" if index.get("duplicates_constraint") else "ix_"
            assert index["name"].startswith(prefix), index
        for unique in inspector.get_unique_constraints(table.name):
            assert unique["name"].startswith("uq_"), unique
        for foreign_key in inspector.get_foreign_keys(table.name):
            assert foreign_key["name"].startswith("fk_"), foreign_key


def test_0002_keeps_admins_and_data_of_an_existing_database(empty_database, empty_engine):
    """Upgrading a database in use: rows survive the table rebuild SQLite needs."""
    config = alembic_config(empty_database)
    command.upgrade(config, "0001")
    with empty_engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO person (id, email, name, is_admin, active, session_version,"
                " created_at, updated_at) VALUES"
                " (1, 'boss@acme.example.com', 'Boss', true, true, 1, CURRENT_TIMESTAMP,"
                " CURRENT_TIMESTAMP),"
                " (2, 'ana@acme.example.com', 'Ana', false, true, 1, CURRENT_TIMESTAMP,"
                " CURRENT_TIMESTAMP)"
            )
        )
        connection.execute(
            text(
                "INSERT INTO kudos (id, sender_id, message, requested_visibility, visibility,"
                " created_at) VALUES (1, 2, 'Thanks!', 'public', 'public', CURRENT_TIMESTAMP)"
            )
        )
        connection.execute(
            text(
                "INSERT INTO recognition (kudos_id, recipient_id, sender_id, created_at, position)"
                " VALUES (1, 1, 2, CURRENT_TIMESTAMP, 0)"
            )
        )

    command.upgrade(config, "head")

    with empty_engine.connect() as connection:
        rows = connection.execute(
            text("SELECT email, admin_granted, admin_from_group FROM person ORDER BY id")
        ).all()
        assert [(email, bool(granted), bool(group)) for email, granted, group in rows] == [
            ("boss@acme.example.com", True, False),
            ("ana@acme.example.com", False, False),
        ]
        assert connection.scalar(text("SELECT count(*) FROM recognition")) == 1


def test_0003_fills_the_rollups_from_existing_kudos(empty_database, empty_engine):
    from datetime import UTC, datetime
    from zoneinfo import ZoneInfo

    from sqlalchemy.orm import Session

    from kudos.leaderboard.models import LeaderboardPair, LeaderboardScore
    from kudos.leaderboard.rollups import rebuild

    config = alembic_config(empty_database)
    command.upgrade(config, "0002")
    when = datetime(2026, 5, 4, 10, tzinfo=UTC)
    stamp = when.replace(tzinfo=None) if empty_engine.dialect.name == "sqlite" else when
    with empty_engine.begin() as connection:
        for person_id in (1, 2, 3):
            connection.execute(
                text(
                    "INSERT INTO person (id, email, name, admin_granted, admin_from_group, active,"
                    " session_version, created_at, updated_at) VALUES (:id, :email, 'P', false,"
                    " false, true, 1, :at, :at)"
                ),
                {"id": person_id, "email": f"p{person_id}@acme.example.com", "at": stamp},
            )
        for kudos_id, sender, recipient in ((1, 1, 2), (2, 1, 2), (3, 3, 2)):
            connection.execute(
                text(
                    "INSERT INTO kudos (id, sender_id, message, requested_visibility, visibility,"
                    " created_at) VALUES (:id, :sender, 'x', 'public', 'public', :at)"
                ),
                {"id": kudos_id, "sender": sender, "at": stamp},
            )
            connection.execute(
                text(
                    "INSERT INTO recognition (kudos_id, recipient_id, sender_id, created_at,"
                    " position) VALUES (:id, :recipient, :sender, :at, 0)"
                ),
                {"id": kudos_id, "recipient": recipient, "sender": sender, "at": stamp},
            )
            connection.execute(
                text("INSERT INTO kudos_value (kudos_id, value_id) VALUES (:id, 1)"),
                {"id": kudos_id},
            )

    command.upgrade(config, "head")

    with Session(empty_engine) as session:

        def rows():
            return (
                sorted(session.execute(select(LeaderboardPair.__table__)).all()),
                sorted(session.execute(select(LeaderboardScore.__table__)).all()),
            )

        migrated = rows()
        rebuild(session, ZoneInfo("UTC"))
        assert migrated == rows()
        assert (202605, 0, "received", 2, 3) in migrated[1]


def test_privacy_reports_applies_recipients_current_audiences(empty_database, empty_engine):
    """Kudos received before a recipient narrowed their audience become at
    least that private; none becomes more visible than its sender asked."""
    config = alembic_config(empty_database)
    command.upgrade(config, "0005")
    with empty_engine.begin() as connection:
        for person_id, audience in ((1, None), (2, "team"), (3, "private"), (4, "public")):
            connection.execute(
                text(
                    "INSERT INTO person (id, email, name, admin_granted, admin_from_group, active,"
                    " session_version, created_at, updated_at) VALUES (:id, :email, 'P', false,"
                    " false, true, 1, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"
                ),
                {"id": person_id, "email": f"p{person_id}@acme.example.com"},
            )
            if audience:
                connection.execute(
                    text(
                        "INSERT INTO recognition_preference (person_id, audience, style,"
                        " email_opt_in, on_leaderboards, created_at, updated_at) VALUES (:id,"
                        " :audience, 'low_key', false, true, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"
                    ),
                    {"id": person_id, "audience": audience},
                )
        # kudos id: (requested, stored before, recipients)
        kudos = {
            1: ("public", "public", [2]),
            2: ("public", "public", [2, 3]),
            3: ("team", "private", [4]),  # recipient 4 widened since
            4: ("public", "public", [4]),
        }
        for kudos_id, (requested, stored, recipients) in kudos.items():
            connection.execute(
                text(
                    "INSERT INTO kudos (id, sender_id, message, requested_visibility, visibility,"
                    " created_at) VALUES (:id, 1, 'x', :requested, :stored, CURRENT_TIMESTAMP)"
                ),
                {"id": kudos_id, "requested": requested, "stored": stored},
            )
            for recipient in recipients:
                connection.execute(
                    text(
                        "INSERT INTO recognition (kudos_id, recipient_id, sender_id, created_at,"
                        " position) VALUES (:id, :recipient, 1, CURRENT_TIMESTAMP, 0)"
                    ),
                    {"id": kudos_id, "recipient": recipient},
                )

    command.upgrade(config, "head")

    with empty_engine.connect() as connection:
        rows = dict(connection.execute(text("SELECT id, visibility FROM kudos")).all())
    assert rows == {1: "team", 2: "private", 3: "team", 4: "public"}
