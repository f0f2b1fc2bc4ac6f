"""The operations guide's backup and restore, run as written (PostgreSQL).

The shell lines between ``<!-- backup-steps -->`` and ``<!-- restore-steps
-->`` in docs/operations.md are read from the guide and run with bash,
against a database holding a bit of everything; then every table of the
restored copy must hold the same rows, and Kudos must serve from it.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, make_url, select, text
from sqlalchemy.orm import Session

from kudos import create_app
from kudos.auth.tokens import create_token
from kudos.db import make_engine, utcnow
from kudos.extensions import db
from kudos.models import Base  # every table mapped
from kudos.outbox.services import queue_email
from kudos.preferences.models import RecognitionPreference
from tests.conftest import TEST_SECRET_KEY
from tests.docs_blocks import guide_block
from tests.factories import Factory
from tests.faults import migrate
from tests.pgserver import database_of_its_own, postgres_bindir

MESSAGES = ["Спасибо за помощь с отчётом 🎉", "شكراً على المساعدة", "謝謝你的耐心 — merci!"]


def libpq(url: str) -> str:
    """The address as psql writes it (no SQLAlchemy driver name)."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def run_steps(steps: str, env: dict[str, str], bin_dir: Path) -> subprocess.CompletedProcess:
    path = f"{bin_dir}:{postgres_bindir()}:{os.environ['PATH']}"
    return subprocess.run(
        ["bash", "-euo", "pipefail", "-c", steps],
        env={**os.environ, **env, "PATH": path},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.fixture(scope="module")
def source(database_url: str) -> Iterator[str]:
    with database_of_its_own(database_url, "kudos_backup") as url:
        migrate(url)
        yield url


@pytest.fixture(scope="module")
def filled(source: str) -> Iterator[tuple[Engine, str]]:
    """People, kudos in several scripts, a preference, an API token and a
    queued e-mail; the token's secret."""
    engine = make_engine(source)
    with Session(engine) as session:
        make = Factory(session)
        team = make.team("Платформа")
        people = [make.person(name, team=team) for name in ("Zoë Ñúñez", "王小明", "Ольга")]
        for message, (sender, recipient) in zip(MESSAGES, [(0, 1), (1, 2), (2, 0)], strict=True):
            make.kudos(people[sender], [people[recipient]], message=message)
        session.add(RecognitionPreference(person=people[0], audience="team", style="celebratory"))
        _, raw = create_token(session, people[0], "backup", now=utcnow())
        queue_email(
            session,
            kind="kudos",
            to_address=people[1].email,
            subject="Zoë thanked you",
            text_body="…",
            html_body=None,
            now=utcnow(),
        )
        session.commit()
    yield engine, raw
    engine.dispose()


@pytest.fixture
def kudos_command(tmp_path: Path) -> Path:
    """``kudos`` on the PATH, as the installed console script is."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    script = bin_dir / "kudos"
    script.write_text(
        f'#!/bin/sh\nexec {sys.executable} -c "from kudos.cli import main; main()" "$@"\n'
    )
    script.chmod(0o755)
    return bin_dir


def row_counts(engine: Engine) -> dict[str, int]:
    with engine.connect() as connection:
        return {
            table.name: connection.scalar(select(func.count()).select_from(table))
            for table in Base.metadata.sorted_tables
        }


def test_the_guides_backup_and_restore_bring_everything_back(
    database_url, filled, source, tmp_path, kudos_command
):
    engine, token = filled
    backup = tmp_path / "kudos.dump"
    restored_name = "kudos_restored_" + os.urandom(4).hex()
    restored_url = (
        make_url(source).set(database=restored_name).render_as_string(hide_password=False)
    )
    env = {
        "DATABASE": libpq(source),
        "BACKUP": str(backup),
        "SERVER": libpq(make_url(source).set(database="postgres").render_as_string(False)),
        "RESTORED_NAME": restored_name,
        "RESTORED": libpq(restored_url),
        "RESTORED_URL": restored_url,
        "KUDOS_SECRET_KEY": TEST_SECRET_KEY,
        "KUDOS_BASE_URL": "http://localhost",
    }
    try:
        dumped = run_steps(guide_block("backup-steps", "sh"), env, kudos_command)
        assert dumped.returncode == 0, dumped.stderr
        assert backup.stat().st_size > 0

        restored = run_steps(guide_block("restore-steps", "sh"), env, kudos_command)
        assert restored.returncode == 0, restored.stderr
        assert "(head)" in restored.stdout  # kudos db current, as the guide says

        copy = make_engine(restored_url)
        before, after = row_counts(engine), row_counts(copy)
        assert after == before
        assert before["kudos"] == len(MESSAGES)
        assert before["outbox_message"] == 1
        with copy.connect() as connection:
            messages = connection.scalars(text("SELECT message FROM kudos ORDER BY id")).all()
        assert messages == MESSAGES
        copy.dispose()

        app = create_app(
            {"TESTING": True, "SECRET_KEY": TEST_SECRET_KEY, "DATABASE_URL": restored_url}
        )
        answer = app.test_client().get(
            "/api/v1/kudos", headers={"Authorization": f"Bearer {token}"}
        )
        assert answer.status_code == 200
        assert {item["message"] for item in answer.json["items"]} >= {MESSAGES[0], MESSAGES[2]}
        db.engine(app).dispose()
    finally:
        admin = make_engine(database_url, isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{restored_name}" WITH (FORCE)'))
        admin.dispose()


def test_a_restore_that_fails_stops_at_once(source, tmp_path, kudos_command):
    """``--exit-on-error`` and ``set -e``: a broken backup is not half restored quietly."""
    broken = tmp_path / "broken.dump"
    broken.write_bytes(b"PGDMP not really a dump")
    env = {
        "BACKUP": str(broken),
        "SERVER": libpq(make_url(source).set(database="postgres").render_as_string(False)),
        "RESTORED_NAME": "kudos_broken_" + os.urandom(4).hex(),
        "RESTORED_URL": "unused",
        "KUDOS_SECRET_KEY": TEST_SECRET_KEY,
        "KUDOS_BASE_URL": "http://localhost",
    }
    env["RESTORED"] = libpq(
        make_url(source).set(database=env["RESTORED_NAME"]).render_as_string(False)
    )
    try:
        result = run_steps(guide_block("restore-steps", "sh"), env, kudos_command)
        assert result.returncode != 0
        # It stopped at pg_restore: nothing ran after it.
        assert result.stderr.strip().splitlines()[-1].startswith("pg_restore: error")
        assert result.stdout == ""
    finally:
        admin = make_engine(source, isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            connection.execute(
                text(f'DROP DATABASE IF EXISTS "{env["RESTORED_NAME"]}" WITH (FORCE)')
            )
        admin.dispose()
