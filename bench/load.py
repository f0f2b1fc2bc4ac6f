"""Benchmark: the whole company at once (issue 13).

    .venv/bin/python bench/load.py [--users 20000] [--kudos 500000] [--months 12]
        [--viewers 2000] [--senders 2000] [--managers 200] [--seconds 6]
        [--database-url URL] [--only feed,leaderboard,one,sending,summary,send]

Starts a throwaway PostgreSQL (or uses ``--database-url``, seeded on the
first run), seeds it as `kudos seed` does (which ends with ANALYZE) and
VACUUMs it. Signs in ``--viewers`` different people (session cookies, half
of them with onboarding done, half postponed), picks ``--managers``
managers of 8 to 10 people, and gives ``--senders`` people an API token.
Then serves Kudos and a bare Flask endpoint (bench/bare_app.py) with
gunicorn, 2 sync workers each, and loads them with wrk (Debian package
`wrk`) through bench/requests.lua, for ``--seconds`` each:

- the bare endpoint, the baseline every other figure is divided by;
- the company feed, each request as the next of the signed-in people;
- the same from a Kudos run as an IT team runs it (issue 18): metrics on,
  every worker counting into prometheus_client's files, and one JSON log
  line per request written to a file; then ``/metrics`` is scraped and the
  log read, and each must count every answered request once;
- the leaderboard, the same way, and as one person reloading it;
- the leaderboard the same way while 2 clients keep sending kudos;
- the manager summary, rotating among the managers;
- ``POST /api/v1/kudos`` from 8 clients, rotating among the senders, each
  to random colleagues with random values and a fresh Idempotency-Key;

then the gunicorn workers' memory, and in process the SQL statements of one
send and the time per send. Prints one table; any answer other than the
expected one (a redirect, a 429 from the daily limit, a 500) or connection
error is reported below it and fails the run. Rate limits are off (wrk is
a script); the daily limit is the product's default, 20, and each sender
sends again only after all the others, so it holds up to about 10 sends
per sender (20,000 for 2,000 senders).
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import requests
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy.orm import Session

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import fetch, kudos_env, serve  # noqa: E402
from bench.workload import (  # noqa: E402
    Request,
    SendCost,
    Workload,
    Wrk,
    WrkResult,
    app_for,
    check_answer,
    page_requests,
    prepare,
    seeded,
    send_requests,
    statements_per_send,
    worker_rss,
)
from kudos.db import make_engine  # noqa: E402
from kudos.extensions import db  # noqa: E402
from tests.pgserver import free_port, throwaway_postgres  # noqa: E402

SAMPLE = 20  # answers checked by hand before each kind of run
METRICS_TOKEN = "bench-metrics-token-0123456789"  # noqa: S105 - a throwaway server's


@dataclass
class Row:
    what: str
    result: WrkResult
    unit: str = "req/s"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--users", type=int, default=20_000)
    parser.add_argument("--kudos", type=int, default=500_000)
    parser.add_argument("--months", type=int, default=12)
    parser.add_argument("--viewers", type=int, default=2_000, help="signed-in people")
    parser.add_argument("--senders", type=int, default=2_000, help="people with an API token")
    parser.add_argument("--managers", type=int, default=200, help="managers of 8 to 10 people")
    parser.add_argument("--seconds", type=int, default=6, help="for each run")
    parser.add_argument("--database-url", help="a PostgreSQL database (seeded on the first run)")
    parser.add_argument(
        "--only",
        type=lambda text: set(text.split(",")),
        default=set(RUNS),
        help=f"some of the runs, comma-separated: {','.join(RUNS)} (the bare endpoint always)",
    )
    args = parser.parse_args()
    if not args.only <= set(RUNS):
        parser.error(f"--only takes some of {','.join(RUNS)}")
    if shutil.which("wrk") is None:
        sys.exit("wrk is needed: apt-get install wrk")
    if args.database_url:
        return run(args.database_url, args)
    with throwaway_postgres() as url:
        return run(url, args)


def run(url: str, args: argparse.Namespace) -> int:
    print(seeded(url, users=args.users, kudos=args.kudos, months=args.months), flush=True)
    engine = make_engine(url)
    with engine.connect() as connection:
        version = connection.exec_driver_sql("SHOW server_version").scalar()
    app = app_for(url)
    with Session(engine) as session:
        workload = prepare(
            session, app, viewers=args.viewers, senders=args.senders, managers=args.managers
        )
    engine.dispose()
    if not workload.managers:
        sys.exit("nobody manages 8 to 10 people: seed more people (--users)")
    print(
        f"PostgreSQL {version}; {len(workload.viewers):,} people signed in, "
        f"{len(workload.managers)} managers of 8-10, {len(workload.senders):,} senders; "
        f"gunicorn 2 sync workers, wrk -t2 -c8 for {args.seconds} s each",
        flush=True,
    )
    rows, rss, problems = http_runs(url, workload, args.seconds, args.only)
    try:
        cost = statements_per_send(app, send_requests(workload, seed=23))
    except RuntimeError as error:
        problems.append(f"statements per send: {error}")
        cost = None
    db.engine(app).dispose()
    print_table(rows, cost, rss)
    for problem in problems:
        print(f"!!! {problem}")
    if problems:
        print("!!! THE RUN HAD ERRORS: the figures above are not comparable.")
    return 1 if problems else 0


# The runs ``--only`` can pick.
RUNS = ("feed", "observed", "leaderboard", "one", "sending", "summary", "send")


def http_runs(
    url: str, workload: Workload, seconds: int, only: set[str]
) -> tuple[list[Row], list[float], list[str]]:
    people = f"{len(workload.viewers):,} rotating people"
    feed = page_requests(workload.viewers, "/", "Company feed")
    board = page_requests(workload.viewers, "/leaderboard", "Top appreciators")
    summary = page_requests(workload.managers, "/manager/summary", "Six-month trend")
    sends = send_requests(workload)
    kudos_port, bare_port = free_port(), free_port()
    kudos_url, bare_url = f"http://127.0.0.1:{kudos_port}", f"http://127.0.0.1:{bare_port}"
    env = kudos_env(url, kudos_url)
    servers = [serve("wsgi:app", kudos_port, env), serve("bench.bare_app:app", bare_port, env)]
    problems: list[str] = []
    try:
        for sample in (feed, board, summary, sends[:3]):
            problems += check_sample(kudos_port, sample[:SAMPLE])
        if problems:
            return [], [], problems

        def load(
            what: str, lines: list[Request], base: str = kudos_url, unit: str = "req/s"
        ) -> Row:
            print(f"  {what} ...", flush=True)
            return Row(what, Wrk(base, lines, seconds).result(), unit)

        rows = [load("bare Flask endpoint", feed, bare_url)]
        if "feed" in only:
            rows.append(load(f"company feed `/`, {people}", feed))
        if "observed" in only:
            print("  company feed, metrics on and JSON logs ...", flush=True)
            row, counted = observed(url, feed, seconds, f"company feed `/`, {people}")
            rows.append(row)
            problems += counted
        if "leaderboard" in only:
            rows.append(load(f"leaderboard, {people}", board))
        if "one" in only:
            rows.append(load("leaderboard, one person reloading", board[:1]))
        if "sending" in only:
            print("  leaderboard while 2 clients send ...", flush=True)
            sending = Wrk(kudos_url, sends, seconds, clients=2, threads=2)
            reading = Wrk(kudos_url, board, seconds)
            rows.append(
                Row(f"leaderboard, {people}, while 2 clients keep sending kudos", reading.result())
            )
            rows.append(
                Row("(meanwhile: kudos sent by the 2 clients)", sending.result(), "kudos/s")
            )
        if "summary" in only:
            managers = f"rotating among {len(workload.managers)} managers of 8-10 people"
            rows.append(load(f"manager summary, {managers}", summary))
        if "send" in only:
            senders = f"{len(workload.senders):,} different senders"
            rows.append(
                load(
                    f"`POST /api/v1/kudos`, 8 concurrent clients, {senders}", sends, unit="kudos/s"
                )
            )
        rss = worker_rss(servers[0].pid)
    finally:
        for server in servers:
            server.terminate()
            server.wait()
    problems += [f"{row.what}: {row.result.errors()}" for row in rows if row.result.errors()]
    return rows, rss, problems


def observed(url: str, feed: list[Request], seconds: int, what: str) -> tuple[Row, list[str]]:
    """The feed from a Kudos with metrics on (prometheus_client's
    multiprocess files, as ``gunicorn.conf.py`` sets them up) and JSON logs
    in a file; then what ``/metrics`` and the log say were answered. Both
    must hold wrk's requests and the checked sample, plus at most the 8
    that were still in flight when wrk stopped counting."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = kudos_env(url, base) | {
        "KUDOS_METRICS_ENABLED": "true",
        "KUDOS_METRICS_TOKEN": METRICS_TOKEN,
        "KUDOS_LOG_FORMAT": "json",
    }
    with tempfile.TemporaryDirectory(prefix="kudos-observed-") as directory:
        env["PROMETHEUS_MULTIPROC_DIR"] = str(Path(directory) / "metrics")
        log = Path(directory) / "kudos.log"
        server = serve("wsgi:app", port, env, log=log)
        try:
            problems = check_sample(port, feed[:SAMPLE])
            result = Wrk(base, feed, seconds).result()
            time.sleep(1)  # the last requests wrk left in flight
            scrape = requests.get(
                f"{base}/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"}, timeout=30
            )
            scrape.raise_for_status()
        finally:
            server.terminate()
            server.wait()
        answered = _feed_answers_counted(scrape.text)
        lines, size = _feed_answers_logged(log)
    low = result.requests + SAMPLE
    for source, count in (("/metrics", answered), ("the JSON log", lines)):
        if not low <= count <= low + 8:
            problems.append(f"{source} counted {count:,} feed answers, wrk and the check {low:,}")
    print(
        f"    /metrics counted {answered:,} feed answers and the log has {lines:,} lines for "
        f"them (wrk {result.requests:,} + {SAMPLE} checked; up to 8 more in flight); "
        f"{size / max(lines, 1):.0f} bytes of log a request",
        flush=True,
    )
    return Row(f"{what}, metrics on and JSON logs", result), problems


def _feed_answers_counted(text: str) -> int:
    return int(
        sum(
            sample.value
            for family in text_string_to_metric_families(text)
            for sample in family.samples
            if sample.name == "kudos_http_request_duration_seconds_count"
            and sample.labels.get("endpoint") == "recognition.company_feed"
            and sample.labels.get("status") == "2xx"
        )
    )


def _feed_answers_logged(log: Path) -> tuple[int, int]:
    """The access lines of the feed's 200s, and the log's size in bytes."""
    lines = 0
    with log.open(encoding="utf-8") as records:
        for line in records:
            if not line.startswith("{"):
                continue  # gunicorn's own lines
            record = json.loads(line)
            if record.get("logger") == "kudos.request" and record.get("path") == "/":
                lines += record.get("status") == 200
    return lines, log.stat().st_size


def check_sample(port: int, sample: list[Request]) -> list[str]:
    """The answers to a few requests, read whole: right status, the right
    person signed in, the page's own text, the session left as it was."""
    problems = []
    for request in sample:
        answer = fetch(port, request.method, request.path, request.headers(), request.body)
        problem = check_answer(request, answer.status, answer.text, answer.sets_session)
        if problem:
            problems.append(problem)
    return problems


def print_table(rows: list[Row], cost: SendCost | None, rss: list[float]) -> None:
    bare = rows[0].result.per_second if rows else float("nan")
    print("\n| what | ratio | req/s | p99 |")
    print("| --- | --- | --- | --- |")
    for row in rows:
        result = row.result
        unit = "" if row.unit == "req/s" else f" {row.unit}"
        print(
            f"| {row.what} | {result.per_second / bare:.3f} | {result.per_second:,.0f}{unit} "
            f"| {result.p99_ms:.0f} ms |"
        )
    if cost is not None:
        print(
            f"| statements per send (in process) | {cost.statements} "
            f"({cost.ms:.0f} ms a send) | | |"
        )
    sizes = ", ".join(f"{size:.0f}" for size in rss)
    print(f"| gunicorn worker RSS after all of the above | {sizes} MB | | |")


if __name__ == "__main__":
    sys.exit(main())
