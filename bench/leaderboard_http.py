"""Benchmark: the leaderboard page under gunicorn against a bare Flask endpoint.

    .venv/bin/python bench/leaderboard_http.py [--users 20000] [--kudos 500000]

Starts a throwaway PostgreSQL, seeds it, then serves both the Kudos app and
a bare Flask app (bench/bare_app.py) with the same gunicorn settings, and
loads each with wrk (Debian package `wrk`) for the same time. Prints the
requests per second of each and their ratio (the target is at least 1/4).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from zoneinfo import ZoneInfo

from alembic import command
from sqlalchemy import select
from sqlalchemy.orm import Session

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import page_against_bare  # noqa: E402
from kudos.db import make_engine, utcnow  # noqa: E402
from kudos.demo.synthetic import seed_synthetic  # noqa: E402
from kudos.migrate import alembic_config  # noqa: E402
from kudos.people.models import Person  # noqa: E402
from tests.pgserver import throwaway_postgres  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--users", type=int, default=20_000)
    parser.add_argument("--kudos", type=int, default=500_000)
    parser.add_argument("--seconds", type=int, default=10)
    args = parser.parse_args()
    with throwaway_postgres() as url:
        engine = make_engine(url)
        command.upgrade(alembic_config(url), "head")
        with Session(engine) as session:
            print(
                seed_synthetic(
                    session,
                    users=args.users,
                    kudos=args.kudos,
                    months=24,
                    seed=1,
                    zone=ZoneInfo("UTC"),
                )
            )
            viewer = session.scalar(select(Person).order_by(Person.id).limit(1))
            viewer.onboarding_postponed_at = utcnow()  # straight to the page, no onboarding
            session.commit()
            viewer_session = f"{viewer.id}:{viewer.session_version}"
        engine.dispose()
        bare, board = page_against_bare(
            url, viewer_session, "/leaderboard", "Top appreciators", args.seconds
        )
    print(f"gunicorn, 2 workers, wrk -t2 -c8 for {args.seconds} s each:")
    print(f"  bare Flask endpoint   {bare:9.0f} requests/s")
    print(
        f"  leaderboard page      {board:9.0f} requests/s  ({board / bare:.2f} of bare; "
        "target at least 0.25)"
    )


if __name__ == "__main__":
    main()
