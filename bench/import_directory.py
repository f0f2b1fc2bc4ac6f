"""Benchmark: importing a 10,000-person directory.

    .venv/bin/python bench/import_directory.py [--rows 10000] [--postgres | --database-url URL]

Measures, in one run and on the same database engine:
  baseline  a bare executemany INSERT of the same e-mails and names into a
            table with no rules (the floor any import must stand on);
  parse     reading and checking the CSV (no database);
  import    the real import into an empty directory (creates everyone);
  again     importing the same file again (idempotent: nothing changes).
Without options it uses a fresh SQLite file; --postgres starts a throwaway
PostgreSQL server (as the test command does); --database-url measures on an
empty database of your own (it will be migrated).
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from pathlib import Path

from alembic import command
from sqlalchemy import Column, Integer, MetaData, String, Table, insert
from sqlalchemy.orm import Session

from kudos.db import make_engine
from kudos.migrate import alembic_config
from kudos.people.directory import import_directory, parse

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from tests.pgserver import throwaway_postgres  # noqa: E402

DEPARTMENTS = ["Engineering", "Sales", "Finance", "IT", "People", "Marketing", "Support", "Legal"]


def make_csv(rows: int, seed: int = 1) -> bytes:
    """A realistic org chart: a tree of managers, listed in random order so
    many managers appear after their reports."""
    rng = random.Random(seed)
    lines = ["email,name,title,department,team,manager_email"]
    order = list(range(rows))
    rng.shuffle(order)
    for n in order:
        manager = "" if n == 0 else f"person{(n - 1) // 8}@bench.example.com"
        department = DEPARTMENTS[n % len(DEPARTMENTS)]
        lines.append(
            f"person{n}@bench.example.com,Person {n},Title {n % 40},{department},"
            f"{department} team {n // 50},{manager}"
        )
    return ("\n".join(lines) + "\n").encode()


def timed(action) -> float:  # noqa: ANN001
    start = time.perf_counter()
    action()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--database-url")
    parser.add_argument("--postgres", action="store_true")
    args = parser.parse_args()
    if args.postgres:
        with throwaway_postgres() as url:
            run(url, args.rows)
    else:
        workdir = tempfile.mkdtemp(prefix="kudos-bench-")
        run(args.database_url or f"sqlite:///{Path(workdir) / 'bench.sqlite3'}", args.rows)


def run(url: str, rows: int) -> None:
    data = make_csv(rows)
    engine = make_engine(url)
    command.upgrade(alembic_config(url), "head")

    bare = Table(
        "bench_bare_person",
        MetaData(),
        Column("id", Integer, primary_key=True),
        Column("email", String(320)),
        Column("name", String(200)),
    )
    bare.create(engine)
    bare_rows = [
        {"email": f"person{n}@bench.example.com", "name": f"Person {n}"} for n in range(rows)
    ]

    def baseline() -> None:
        with engine.begin() as connection:
            connection.execute(insert(bare), bare_rows)

    def run_import() -> None:
        with Session(engine) as session:
            import_directory(session, data)
            session.commit()

    results = {
        "baseline (bare INSERT)": timed(baseline),
        "parse and check only": timed(lambda: parse(data)),
        "import, empty directory": timed(run_import),
        "import again (no change)": timed(run_import),
    }
    bare.drop(engine)
    engine.dispose()

    floor = results["baseline (bare INSERT)"]
    print(f"Directory import of {rows:,} rows on {engine.dialect.name}")
    for name, seconds in results.items():
        print(
            f"  {name:<26} {seconds:7.3f} s  {seconds / floor:6.1f}x baseline  "
            f"{rows / seconds:9,.0f} rows/s"
        )


if __name__ == "__main__":
    main()
