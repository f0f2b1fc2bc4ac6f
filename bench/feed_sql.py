"""Benchmark: the SQL of each feed page, for each kind of viewer (issue 13).

    .venv/bin/python bench/feed_sql.py [--users 20000] [--kudos 500000] [--months 12]
        [--database-url URL] [--plans]

Seeds a throwaway PostgreSQL as bench/load.py does (or uses
``--database-url``, seeded on the first run: 100,000 people and 5,000,000
kudos take about 12 minutes). Four viewers: an ordinary employee, somebody
with no team, a manager of many (a department head: about 250 reports at
20,000 people) and an admin. Each opens the company feed, their team's
feed (the employee's team for the one without), a colleague's profile and
a value's feed, once, in process, in a fresh app (nothing cached yet),
while every statement the page sends is recorded. Each SELECT then runs
again under EXPLAIN (ANALYZE, BUFFERS), and the page's SQL time is the
sum of their execution times, median of 7. Prints per page the statements,
that time, the buffers read (shared hit + read, the index and table pages
touched) and the slowest statement; ``--plans`` prints its plan too.
"""

from __future__ import annotations

import argparse
import re
import statistics
import sys
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Connection, func, select
from sqlalchemy.orm import Session

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import RUNS, recording_sql, session_cookie  # noqa: E402
from bench.workload import Request, app_for, check_answer, onboard, seeded  # noqa: E402
from kudos.db import make_engine, utcnow  # noqa: E402
from kudos.extensions import db  # noqa: E402
from kudos.people.models import Person  # noqa: E402
from kudos.recognition.models import Kudos, Value  # noqa: E402
from tests.pgserver import throwaway_postgres  # noqa: E402


@dataclass(frozen=True)
class Viewer:
    kind: str
    person_id: int
    name: str
    session: str  # "id:version"


@dataclass
class PageSql:
    statements: int
    ms: float
    buffers: int
    slowest_ms: float
    slowest: str
    plan: list[str]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--users", type=int, default=20_000)
    parser.add_argument("--kudos", type=int, default=500_000)
    parser.add_argument("--months", type=int, default=12)
    parser.add_argument("--database-url", help="a PostgreSQL database (seeded on the first run)")
    parser.add_argument("--plans", action="store_true", help="print each slowest statement's plan")
    args = parser.parse_args()
    if args.database_url:
        run(args.database_url, args)
        return
    with throwaway_postgres() as url:
        run(url, args)


def run(url: str, args: argparse.Namespace) -> None:
    print(seeded(url, users=args.users, kudos=args.kudos, months=args.months), flush=True)
    engine = make_engine(url)
    with Session(engine) as session:
        viewers = viewers_and_pages(session)
        people = session.scalar(select(func.count()).select_from(Person))
        kudos = session.scalar(select(func.count()).select_from(Kudos))
    print(
        f"\nFeed pages, first view in a fresh app; SQL = EXPLAIN ANALYZE execution time of "
        f"the page's statements, median of {RUNS} ({people:,} people, {kudos:,} kudos):\n"
    )
    print("| viewer | page | statements | SQL | buffers | slowest statement |")
    print("| --- | --- | --- | --- | --- | --- |")
    plans = []
    with engine.connect() as connection:
        for viewer, pages in viewers:
            for page, path in pages.items():
                sql = page_sql(url, connection, viewer, path)
                print(
                    f"| {viewer.kind} | {page} | {sql.statements} | {sql.ms:.2f} ms | "
                    f"{sql.buffers:,} | {sql.slowest_ms:.2f} ms, {sql.slowest} |",
                    flush=True,
                )
                plans.append((f"{viewer.kind}, {page}", sql.plan))
            connection.rollback()
    engine.dispose()
    if args.plans:
        for title, plan in plans:
            print(f"\nSlowest statement of {title}:")
            for line in plan:
                print("    " + line)


def viewers_and_pages(session: Session) -> list[tuple[Viewer, dict[str, str]]]:
    """The four viewers (made once: a database seeded before has them), each
    with the paths of the four feeds."""
    members = (
        select(Person)
        .where(Person.active, Person.manager_id.is_not(None), ~Person.has_reports)
        .where(Person.team_id.is_not(None), ~Person.admin_granted)
        .order_by(Person.id)
    )
    employee = session.scalars(members.limit(1)).one()
    no_team = session.scalar(select(Person).where(Person.active, Person.team_id.is_(None)))
    if no_team is None:
        no_team = session.scalars(members.offset(1).limit(1)).one()
        no_team.team_id = None  # a new hire not placed in a team yet
    admin = session.scalar(select(Person).where(Person.admin_granted).order_by(Person.id))
    if admin is None:
        admin = session.scalars(members.offset(2).limit(1)).one()
        admin.admin_granted = True
    head = session.scalars(
        select(Person.manager_id)
        .where(Person.active, Person.manager_id.is_not(None))
        .group_by(Person.manager_id)
        .order_by(func.count().desc(), Person.manager_id)
        .limit(1)
    ).one()
    manager = session.get(Person, head)
    onboard(session, [employee, no_team, admin, manager], now=utcnow())
    reports = session.scalar(select(func.count()).where(Person.manager_id == manager.id))
    value = session.scalar(select(Value.slug).where(Value.active).order_by(Value.position))
    colleague = employee.manager_id
    chosen = []
    for kind, person in (
        ("employee", employee),
        ("no team", no_team),
        (f"manager of {reports}", manager),
        ("admin", admin),
    ):
        team = person.team or employee.team
        pages = {
            "company": "/",
            "team": f"/teams/{team.slug}",
            "person": f"/people/{colleague}",
            "value": f"/values/{value}",
        }
        chosen.append((Viewer(kind, person.id, person.name, person.get_id()), pages))
    session.commit()
    return chosen


def page_sql(url: str, connection: Connection, viewer: Viewer, path: str) -> PageSql:
    app = app_for(url)
    engine = db.engine(app)
    client = app.test_client(use_cookies=False)
    client.environ_base.pop("HTTP_USER_AGENT", None)
    cookie = session_cookie(app, viewer.session)
    request = Request("GET", path, f"Cookie: session={cookie}", signed_in_as=viewer.name)
    try:
        with recording_sql(engine) as recorded:
            response = client.get(path, headers=request.headers())
    finally:
        engine.dispose()
    problem = check_answer(request, response.status_code, response.get_data(as_text=True), False)
    if problem:
        raise RuntimeError(problem)
    totals, plans = [], {}
    for _ in range(RUNS):
        total = 0.0
        for sql, params in recorded:
            if "set_config(" in sql:
                connection.exec_driver_sql(sql, params or {})
            elif _is_query(sql):
                plan = [row[0] for row in connection.exec_driver_sql(_explain(sql), params or {})]
                ms = float(re.search(r"Execution Time: ([\d.]+) ms", plan[-1]).group(1))
                plans.setdefault(sql, []).append((ms, plan))
                total += ms
        totals.append(total)
    medians = {sql: statistics.median(ms for ms, _ in runs) for sql, runs in plans.items()}
    slowest = max(medians, key=medians.get, default="")
    last_plans = {sql: runs[-1][1] for sql, runs in plans.items()}
    return PageSql(
        statements=len(recorded),
        ms=statistics.median(totals),
        buffers=sum(_buffers(plan) for plan in last_plans.values()),
        slowest_ms=medians.get(slowest, 0.0),
        slowest=_reads(slowest),
        plan=last_plans.get(slowest, []),
    )


def _reads(sql: str) -> str:
    """What a statement reads, for the table: the tables it names."""
    tables = dict.fromkeys(re.findall(r"\b(?:FROM|JOIN) (\w+)", sql))
    return "reads " + ", ".join(tables) if tables else ""


def _is_query(sql: str) -> bool:
    return sql.lstrip().upper().startswith(("SELECT", "WITH")) and "set_config(" not in sql


def _explain(sql: str) -> str:
    return "EXPLAIN (ANALYZE, BUFFERS) " + sql


def _buffers(plan: list[str]) -> int:
    """Pages the statement touched: its top node's shared hit + read."""
    for line in plan:
        if line.strip().startswith("Planning"):
            break
        if "Buffers:" in line:
            found = re.search(r"shared(?: hit=(\d+))?(?: read=(\d+))?", line)
            return sum(int(n) for n in found.groups() if n) if found else 0
    return 0


if __name__ == "__main__":
    main()
