"""Benchmark: monthly leaderboards as the history grows.

    .venv/bin/python bench/leaderboard.py --postgres [--users 100000]
        [--sizes 500000,1000000,5000000] [--months 24]

Seeds people once, then kudos (with `kudos seed`'s COPY path) up to each
size in turn, and at each size times each board for a recent month, with
and without a filter: the SQL alone (EXPLAIN ANALYZE execution time) and the
whole service call, median of 7, against a baseline measured in the same run
(`SELECT 1` over the same connection). Prints the plans at the largest size.
"""

from __future__ import annotations

import argparse
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path
from zoneinfo import ZoneInfo

from alembic import command
from sqlalchemy import select, text
from sqlalchemy.orm import Session

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import RUNS, median_ms  # noqa: E402
from kudos.db import make_engine, utcnow  # noqa: E402
from kudos.demo.synthetic import seed_synthetic  # noqa: E402
from kudos.leaderboard.models import LeaderboardScore  # noqa: E402
from kudos.leaderboard.services import Filters, _best, _bound, _kind, standings  # noqa: E402
from kudos.migrate import alembic_config  # noqa: E402
from kudos.people.models import Team  # noqa: E402
from kudos.recognition.models import Value  # noqa: E402
from kudos.timeutil import Month  # noqa: E402
from tests.pgserver import throwaway_postgres  # noqa: E402

UTC = ZoneInfo("UTC")


def board_sql(board: str, month: Month, filters: Filters):  # noqa: ANN201
    return _best(*_kind(filters), 10).params(**_bound(board, month, filters))


def explain(session: Session, engine, stmt, *, analyze: bool = True) -> list[str]:  # noqa: ANN001
    compiled = stmt.compile(engine, compile_kwargs={"literal_binds": True})
    options = "ANALYZE, BUFFERS" if analyze else "COSTS OFF"
    return list(session.execute(text(f"EXPLAIN ({options}) {compiled}")).scalars())


def sql_ms(session: Session, engine, stmt) -> float:  # noqa: ANN001
    def once() -> float:
        plan = explain(session, engine, stmt)
        return float(re.search(r"Execution Time: ([\d.]+) ms", plan[-1]).group(1))

    return statistics.median(once() for _ in range(RUNS))


def measure(session: Session, engine, size: int, users: int, months: int) -> None:  # noqa: ANN001
    month = Month.containing(utcnow(), UTC).previous()
    value_id = session.scalar(select(Value.id).where(Value.slug == "mentor"))
    team_id = session.scalar(select(Team.id).order_by(Team.id).limit(1))
    low = session.scalar(
        select(LeaderboardScore.person_id)
        .where(
            LeaderboardScore.month == month.year * 100 + month.month,
            LeaderboardScore.value_id == 0,
            LeaderboardScore.board == "received",
        )
        .order_by(LeaderboardScore.score, LeaderboardScore.person_id)
        .limit(1)
    )
    postgres = engine.dialect.name == "postgresql"
    cases = {
        "given": ("given", Filters()),
        "received": ("received", Filters()),
        "received, value filter": ("received", Filters(value_id=value_id)),
        "given, team filter": ("given", Filters(team_id=team_id)),
    }
    print(
        f"\n{size:,} kudos, {users:,} people, {months} months; board for {month} "
        f"(median of {RUNS}):"
    )
    baseline = median_ms(lambda: session.execute(text("SELECT 1")))
    print(f"  {'baseline SELECT 1':<30} {baseline:8.2f} ms")
    for name, (board, filters) in cases.items():
        call = median_ms(lambda b=board, f=filters: standings(session, b, month, filters=f))
        sql = (
            f"{sql_ms(session, engine, board_sql(board, month, filters)):8.3f} ms SQL"
            if postgres
            else ""
        )
        print(f"  {name:<30} {call:8.2f} ms call  {sql}")
    viewer = median_ms(lambda: standings(session, "received", month, viewer_id=low))
    print(f"  {'received + lowest viewer line':<30} {viewer:8.2f} ms call")


def run(url: str, users: int, sizes: list[int], months: int) -> None:
    engine = make_engine(url)
    command.upgrade(alembic_config(url), "head")
    seeded, people = 0, users
    with Session(engine) as session:
        for size in sizes:
            started = time.perf_counter()
            seed_synthetic(
                session, users=people, kudos=size - seeded, months=months, seed=size, zone=UTC
            )
            session.commit()
            print(f"seeded up to {size:,} kudos in {time.perf_counter() - started:.0f} s")
            seeded, people = size, 0
            if engine.dialect.name == "postgresql":
                session.commit()
                # VACUUM sets the visibility map that index-only scans rely on;
                # autovacuum does the same in production.
                with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as raw:
                    raw.execute(text("VACUUM ANALYZE"))
            measure(session, engine, size, users, months)
        if engine.dialect.name == "postgresql":
            month = Month.containing(utcnow(), UTC).previous()
            for title, stmt in (
                ("received board", board_sql("received", month, Filters())),
                (
                    "given board, team filter",
                    board_sql(
                        "given",
                        month,
                        Filters(team_id=session.scalar(select(Team.id).order_by(Team.id).limit(1))),
                    ),
                ),
            ):
                print(f"\nPlan of the {title}:")
                for line in explain(session, engine, stmt):
                    print("  " + line)
    engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--users", type=int, default=100_000)
    parser.add_argument("--sizes", default="500000,1000000,5000000")
    parser.add_argument("--months", type=int, default=24)
    parser.add_argument("--database-url")
    parser.add_argument("--postgres", action="store_true")
    args = parser.parse_args()
    sizes = sorted(int(size) for size in args.sizes.split(","))
    if args.postgres:
        with throwaway_postgres() as url:
            run(url, args.users, sizes, args.months)
    else:
        workdir = tempfile.mkdtemp(prefix="kudos-bench-")
        run(
            args.database_url or f"sqlite:///{Path(workdir) / 'bench.sqlite3'}",
            args.users,
            sizes,
            args.months,
        )


if __name__ == "__main__":
    main()
