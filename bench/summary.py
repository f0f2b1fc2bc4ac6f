"""Benchmark: the manager's monthly summary on a large organisation.

    .venv/bin/python bench/summary.py [--users 100000] [--kudos 5000000]
        [--months 24] [--http-seconds 10] [--no-http]

Starts a throwaway PostgreSQL, seeds it with `kudos seed`'s generator, and
gives the synthetic company a manager tree: everybody reports to someone in
blocks of 8, one manager has 50 direct reports, and one has 2,010 reports in
three levels (10 + 100 + 1,900) under them. Then, for each of those two
summaries (the second with ``indirect``), it prints the number of SQL
statements, the SQL time (the sum of each statement's EXPLAIN ANALYZE
execution time) and the whole service call, median of 7, against a baseline
measured in the same run (`SELECT 1` over the same connection), and each
statement's plan. Finally it serves the page with gunicorn and loads it with
wrk (Debian package `wrk`) against a bare Flask endpoint, as
bench/leaderboard_http.py does (target: at least a fifth of the bare rate).
"""

from __future__ import annotations

import argparse
import re
import statistics
import sys
import time
from pathlib import Path
from zoneinfo import ZoneInfo

from alembic import command
from sqlalchemy import event, func, select, text, update
from sqlalchemy.orm import Session

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import RUNS, median_ms, page_against_bare  # noqa: E402
from kudos.db import make_engine, utcnow  # noqa: E402
from kudos.demo.synthetic import seed_synthetic  # noqa: E402
from kudos.migrate import alembic_config  # noqa: E402
from kudos.people.models import Person  # noqa: E402
from kudos.summary.services import build_summary  # noqa: E402
from kudos.timeutil import Month  # noqa: E402
from tests.pgserver import throwaway_postgres  # noqa: E402

UTC = ZoneInfo("UTC")
BLOCK = 8
DIRECT = 50
LEVELS = (10, 100, 1900)  # 2,010 people below the big manager


def build_tree(session: Session) -> tuple[int, int]:
    """Managers for everyone; returns (manager of 50, manager of 2,010)."""
    first, last = session.execute(select(func.min(Person.id), func.max(Person.id))).one()
    session.execute(update(Person).values(manager_id=None))  # this tree, not the seed's
    # Everybody reports to the first person of their block of 8.
    session.execute(
        update(Person)
        .where((Person.id - first) % BLOCK != 0)
        .values(manager_id=Person.id - (Person.id - first) % BLOCK)
    )
    # The small team: 50 people after ``small`` report to ``small``.
    small = first + 8
    session.execute(
        update(Person).where(Person.id.between(small + 1, small + DIRECT)).values(manager_id=small)
    )
    session.execute(update(Person).where(Person.id == small).values(manager_id=first))
    # The large organisation: three levels below ``large``.
    large = first + 1000
    level_start = large + 1
    parents = [large]
    for size in LEVELS:
        ids = list(range(level_start, level_start + size))
        per_parent = -(-size // len(parents))
        session.execute(
            text(
                "UPDATE person SET manager_id = :first_parent + (id - :start) / :per "
                "WHERE id BETWEEN :start AND :end"
            ),
            {
                "first_parent": parents[0],
                "start": ids[0],
                "end": ids[-1],
                "per": per_parent,
            },
        )
        parents = ids
        level_start += size
    session.execute(update(Person).where(Person.id == large).values(manager_id=first))
    assert last >= level_start, "not enough people for the large organisation"
    session.commit()
    return small, large


class Recorder:
    """Every statement and its parameters, as the service sends them."""

    def __init__(self, engine) -> None:  # noqa: ANN001
        self.engine = engine
        self.statements: list[tuple[str, object]] = []

    def __enter__(self) -> Recorder:
        event.listen(self.engine, "before_cursor_execute", self._record)
        return self

    def __exit__(self, *exc: object) -> None:
        event.remove(self.engine, "before_cursor_execute", self._record)

    def _record(self, conn, cursor, statement, parameters, context, many) -> None:  # noqa: ANN001
        self.statements.append((statement, parameters))


def explain(session: Session, statement: str, parameters: object) -> list[str]:
    connection = session.connection()
    result = connection.exec_driver_sql("EXPLAIN (ANALYZE, BUFFERS) " + statement, parameters or {})
    return [row[0] for row in result]


def _is_setting(sql: str) -> bool:
    return "set_config(" in sql


def sql_ms(session: Session, statements: list) -> float:
    """The queries' execution time, with the SETs the service runs around them."""
    total = 0.0
    for sql, params in statements:
        if _is_setting(sql):
            session.connection().exec_driver_sql(sql)
        else:
            total += execution_ms(explain(session, sql, params))
    return total


def execution_ms(plan: list[str]) -> float:
    return float(re.search(r"Execution Time: ([\d.]+) ms", plan[-1]).group(1))


def measure(session: Session, engine, name: str, manager_id: int, indirect: bool) -> list:  # noqa: ANN001
    month = Month.containing(utcnow(), UTC).previous()
    manager = session.get(Person, manager_id)

    def call():  # noqa: ANN202
        session.expire_all()
        return build_summary(session, manager, month, now=utcnow(), zone=UTC, indirect=indirect)

    summary = call()
    manager = session.get(Person, manager_id)
    with Recorder(engine) as recorder:
        build_summary(session, manager, month, now=utcnow(), zone=UTC, indirect=indirect)
    statements = recorder.statements
    queries = sum(1 for sql, _ in statements if not _is_setting(sql))
    sql = statistics.median(sql_ms(session, statements) for _ in range(RUNS))
    wall = median_ms(call)
    print(
        f"  {name:<34} {len(summary.people):>5} people  {len(statements)} statements "
        f"({queries} queries)  "
        f"{sql:8.2f} ms SQL  {wall:8.2f} ms call  "
        f"({summary.totals.received} received, {summary.totals.given} given)"
    )
    return statements


def run(url: str, users: int, kudos: int, months: int, http_seconds: int) -> None:
    engine = make_engine(url)
    command.upgrade(alembic_config(url), "head")
    with Session(engine) as session:
        started = time.perf_counter()
        if session.scalar(select(func.count()).select_from(Person)):
            # --database-url with a database seeded by an earlier run: measure again.
            first = session.scalar(select(func.min(Person.id)))
            small, large = first + 8, first + 1000
            print("reusing the seeded database")
        else:
            print(
                seed_synthetic(session, users=users, kudos=kudos, months=months, seed=1, zone=UTC)
            )
            session.commit()
            small, large = build_tree(session)
            print(f"seeded in {time.perf_counter() - started:.0f} s")
            with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as raw:
                raw.execute(text("VACUUM ANALYZE"))
        print(f"\n{kudos:,} kudos, {users:,} people, {months} months (median of {RUNS}):")
        baseline = median_ms(lambda: session.execute(text("SELECT 1")))
        print(f"  {'baseline SELECT 1':<34} {baseline:8.2f} ms")
        plans = {}
        for name, manager_id, indirect in (
            (f"{DIRECT} direct reports", small, False),
            (f"{sum(LEVELS):,} indirect reports", large, True),
        ):
            plans[name] = measure(session, engine, name, manager_id, indirect)
        for name, statements in plans.items():
            print(f"\nPlans for {name}:")
            for number, (sql, params) in enumerate(statements, start=1):
                if _is_setting(sql):
                    session.connection().exec_driver_sql(sql)
                    print(f"  statement {number}: {sql}")
                    continue
                plan = explain(session, sql, params)
                print(
                    f"  statement {number} ({execution_ms(plan):.2f} ms): "
                    f"{sql.splitlines()[0][:90]}…"
                )
                for line in plan:
                    print("    " + line)
        viewer = session.get(Person, small)
        viewer.onboarding_postponed_at = utcnow()
        session.commit()
        viewer_session = f"{viewer.id}:{viewer.session_version}"
    engine.dispose()
    if http_seconds:
        http(url, viewer_session, http_seconds)


def http(url: str, viewer_session: str, seconds: int) -> None:
    bare, summary = page_against_bare(
        url, viewer_session, "/manager/summary", "Six-month trend", seconds
    )
    print(f"\ngunicorn, 2 workers, wrk -t2 -c8 for {seconds} s each:")
    print(f"  bare Flask endpoint        {bare:9.0f} requests/s")
    print(
        f"  summary page (50 reports)  {summary:9.0f} requests/s  ({summary / bare:.2f} of bare; "
        "target at least 0.20)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--users", type=int, default=100_000)
    parser.add_argument("--kudos", type=int, default=5_000_000)
    parser.add_argument("--months", type=int, default=24)
    parser.add_argument("--http-seconds", type=int, default=10)
    parser.add_argument("--no-http", action="store_true")
    parser.add_argument(
        "--database-url", help="an existing PostgreSQL database (seeded on the first run)"
    )
    args = parser.parse_args()
    http_seconds = 0 if args.no_http else args.http_seconds
    if args.database_url:
        run(args.database_url, args.users, args.kudos, args.months, http_seconds)
        return
    with throwaway_postgres() as url:
        run(url, args.users, args.kudos, args.months, http_seconds)


if __name__ == "__main__":
    main()
