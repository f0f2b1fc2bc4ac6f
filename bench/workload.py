"""The company-at-once workload of bench/load.py, in pieces that
tests/test_load_pg.py runs at a tiny scale so that the benchmark cannot
silently rot.

- ``prepare``: signs in many different people (session cookies, each with
  onboarding done or postponed, so pages answer at once), picks managers of
  8 to 10 people, and gives senders API tokens.
- Requests: lines that bench/requests.lua replays with wrk, one request per
  line, each thread walking the lines from a random one (so people rotate
  with every request); ``check_answer`` says what is wrong with an answer.
- ``worker_rss``: the memory of gunicorn's workers.
- ``statements_per_send``: one ``POST /api/v1/kudos`` in process, its SQL
  statements counted, and the time per send.
"""

from __future__ import annotations

import json
import random
import re
import statistics
import subprocess
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from alembic import command
from flask import Flask
from markupsafe import escape
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session, selectinload

from bench.common import ROOT, SECRET, recording_sql, session_cookie
from kudos import create_app
from kudos.auth.tokens import create_token, expiry_for
from kudos.db import make_engine, utcnow
from kudos.demo.synthetic import seed_synthetic
from kudos.extensions import db
from kudos.migrate import alembic_config
from kudos.people.models import Person
from kudos.preferences.services import PreferenceChoices, needs_onboarding, save_preferences
from kudos.recognition.models import Value

LUA = ROOT / "bench" / "requests.lua"
SEND_PATH = "/api/v1/kudos"
# As `kudos seed` makes them: mostly public, some for the team, some private.
VISIBILITIES = ("public",) * 8 + ("team", "private")


@dataclass(frozen=True)
class SignedIn:
    person_id: int
    name: str
    cookie: str


@dataclass(frozen=True)
class Sender:
    person_id: int
    token: str


@dataclass
class Workload:
    viewers: list[SignedIn]
    managers: list[SignedIn]
    senders: list[Sender]
    people: list[int]  # everyone active: the recipients to choose from
    values: list[str]  # active value slugs


@dataclass(frozen=True)
class Request:
    """One line for bench/requests.lua, and what a good answer looks like."""

    method: str
    path: str
    header: str  # "Name: value"
    body: str = ""
    status: int = 200
    signed_in_as: str | None = None  # the name the page must greet
    shows: str | None = None  # text the page must contain

    def line(self) -> str:
        return "\t".join((self.method, self.path, self.header, self.body))

    def headers(self) -> dict[str, str]:
        name, _, value = self.header.partition(": ")
        headers = {name: value}
        if self.method == "POST":
            headers["Content-Type"] = "application/json"
            headers["Idempotency-Key"] = f"check-{uuid.uuid4().hex}"
        return headers


def seeded(url: str, *, users: int, kudos: int, months: int) -> str:
    """Migrate and seed the database at ``url`` (as `kudos seed`, which ends
    with ANALYZE), unless an earlier run seeded it; then VACUUM, as
    autovacuum would within a minute or two of the load (rather than in
    the middle of a measurement): the visibility map it sets lets index-only
    scans skip the table. Returns what it did."""
    engine = make_engine(url)
    with engine.begin() as connection:
        command.upgrade(alembic_config(connection=connection), "head")
    with Session(engine) as session:
        present = session.scalar(select(func.count()).select_from(Person))
        if present:
            report = f"reusing the database seeded before ({present:,} people)"
        else:
            started = time.perf_counter()
            report = seed_synthetic(
                session, users=users, kudos=kudos, months=months, seed=1, zone=ZoneInfo("UTC")
            )
            session.commit()
            report += f" ({time.perf_counter() - started:.0f} s)"
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(text("VACUUM"))
    engine.dispose()
    return report


def app_for(database_url: str) -> Flask:
    """Kudos in process, with the benchmark's key (its cookies are good for
    the served app too). Rate limits are off, as under gunicorn."""
    return create_app(
        {
            "DATABASE_URL": database_url,
            "SECRET_KEY": SECRET,
            "BASE_URL": "http://127.0.0.1",
            "SESSION_COOKIE_SECURE": False,
            "RATELIMIT_ENABLED": False,
        }
    )


def prepare(
    session: Session, app: Flask, *, viewers: int, senders: int, managers: int, seed: int = 13
) -> Workload:
    """Sign in ``viewers`` people and ``managers`` managers of 8 to 10
    people, and give ``senders`` people an API token; commits. The same
    database and seed always pick the same people."""
    rng = random.Random(seed)
    now = utcnow()
    everyone = list(session.scalars(select(Person.id).where(Person.active).order_by(Person.id)))
    chosen = rng.sample(everyone, min(len(everyone), max(viewers, senders)))
    reports = (
        select(Person.manager_id)
        .where(Person.active, Person.manager_id.is_not(None))
        .group_by(Person.manager_id)
        .having(func.count().between(8, 10))
        .order_by(Person.manager_id)
    )
    candidates = list(session.scalars(reports))
    picked_managers = rng.sample(candidates, min(managers, len(candidates)))
    people = {
        person.id: person
        for person in session.scalars(
            select(Person)
            .where(Person.id.in_(chosen[:viewers] + picked_managers))
            .options(selectinload(Person.preference))
        )
    }
    onboard(session, [people[n] for n in chosen[:viewers] + picked_managers], now=now)
    tokens = [
        Sender(
            person_id,
            create_token(
                session,
                session.get(Person, person_id),
                "load benchmark",
                now=now,
                expires_at=expiry_for(90, now=now),
            )[1],
        )
        for person_id in chosen[:senders]
    ]
    values = list(session.scalars(select(Value.slug).where(Value.active).order_by(Value.position)))

    def signed_in(person_id: int) -> SignedIn:
        person = people[person_id]
        return SignedIn(person.id, person.name, session_cookie(app, person.get_id()))

    workload = Workload(
        viewers=[signed_in(n) for n in chosen[:viewers]],
        managers=[signed_in(n) for n in picked_managers],
        senders=tokens,
        people=everyone,
        values=values,
    )
    session.commit()
    return workload


def onboard(session: Session, people: list[Person], *, now: datetime) -> None:
    """Every other person states their preferences (the defaults, through
    the service, so everything that follows them stays right); the others
    choose "later". Either way pages answer without the onboarding step."""
    for number, person in enumerate(people):
        if not needs_onboarding(person):
            continue
        if number % 2:
            person.onboarding_postponed_at = now
            continue
        choices = PreferenceChoices(
            audience="public",
            style=("low_key", "celebratory")[number // 2 % 2],
            email_opt_in=False,
            on_leaderboards=True,
            favourite_value_ids=[],
            best_way_to_thank=None,
        )
        save_preferences(session, person, choices, now=now)
    session.flush()


# Requests --------------------------------------------------------------------


def page_requests(people: list[SignedIn], path: str, shows: str) -> list[Request]:
    return [
        Request(
            "GET", path, f"Cookie: session={person.cookie}", signed_in_as=person.name, shows=shows
        )
        for person in people
    ]


def send_requests(workload: Workload, *, rounds: int = 4, seed: int = 17) -> list[Request]:
    """Each sender ``rounds`` times, in a shuffled order, each time to 1 to 3
    random colleagues with 1 or 2 random values. wrk walks the lines, so a
    sender sends again only after everyone else has: thousands of sends stay
    within the daily limit (20 a day by default)."""
    rng = random.Random(seed)
    requests = []
    for _ in range(rounds):
        senders = list(workload.senders)
        rng.shuffle(senders)
        for sender in senders:
            recipients: set[int] = set()
            wanted = rng.choice((1, 1, 1, 2, 3))
            while len(recipients) < wanted:
                recipients.add(rng.choice(workload.people))
                recipients.discard(sender.person_id)
            body = {
                "recipients": sorted(recipients),
                "values": rng.sample(workload.values, rng.choice((1, 1, 2))),
                "message": "Thanks for turning my request around the same day!",
                "visibility": rng.choice(VISIBILITIES),
            }
            requests.append(
                Request(
                    "POST",
                    SEND_PATH,
                    f"Authorization: Bearer {sender.token}",
                    json.dumps(body),
                    status=201,
                )
            )
    return requests


def check_answer(request: Request, status: int, body: str, sets_session: bool) -> str | None:
    """What is wrong with this answer to ``request``; None when nothing is."""
    if status != request.status:
        return f"{request.method} {request.path} answered {status}, not {request.status}"
    if request.signed_in_as is not None:
        greeting = f'<span class="account__name">{escape(request.signed_in_as)}</span>'
        if greeting not in body:
            return f"{request.path} is not signed in as {request.signed_in_as}"
    if request.shows is not None and request.shows not in body:
        return f"{request.path} does not show {request.shows!r}"
    if sets_session:
        return f"{request.path} rewrites the session cookie"
    return None


# wrk -------------------------------------------------------------------------


@dataclass
class WrkResult:
    requests: int
    seconds: float
    p99_ms: float
    unexpected: dict[str, int] = field(default_factory=dict)  # status -> count
    socket_errors: int = 0

    @property
    def per_second(self) -> float:
        return self.requests / self.seconds

    def errors(self) -> str | None:
        if not self.unexpected and not self.socket_errors:
            return None
        parts = [f"{count} answered {status}" for status, count in sorted(self.unexpected.items())]
        if self.socket_errors:
            parts.append(f"{self.socket_errors} connection errors or timeouts")
        return ", ".join(parts)


class Wrk:
    """wrk replaying ``requests`` against ``base_url`` for ``seconds``, with
    ``clients`` connections over ``threads`` threads (started at once, so
    that two can run together)."""

    def __init__(
        self,
        base_url: str,
        requests: list[Request],
        seconds: int,
        *,
        clients: int = 8,
        threads: int = 2,
    ) -> None:
        statuses = {request.status for request in requests}
        if len(statuses) != 1:
            raise ValueError("one expected status per run")
        self.file = tempfile.NamedTemporaryFile("w", prefix="kudos-wrk-", suffix=".txt")  # noqa: SIM115
        self.file.write("".join(request.line() + "\n" for request in requests))
        self.file.flush()
        command = [
            "wrk",
            f"-t{threads}",
            f"-c{clients}",
            f"-d{seconds}s",
            "--latency",
            "--timeout",
            "30s",
            "-s",
            str(LUA),
            base_url,
            "--",
            self.file.name,
            str(statuses.pop()),
            uuid.uuid4().hex[:12],  # this run's Idempotency-Keys
        ]
        self.process = subprocess.Popen(  # noqa: S603 - our own command line
            command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )

    def result(self) -> WrkResult:
        output, errors = self.process.communicate()
        self.file.close()
        found = re.search(r"^kudos-wrk (\{.*\})$", output, re.MULTILINE)
        if self.process.returncode != 0 or found is None:
            raise RuntimeError(f"wrk failed:\n{output}\n{errors}")
        figures = json.loads(found.group(1))
        return WrkResult(
            requests=figures["requests"],
            seconds=figures["seconds"],
            p99_ms=figures["p99_ms"],
            unexpected=figures["unexpected"] or {},
            socket_errors=figures["socket_errors"],
        )


# Memory and statements ---------------------------------------------------------


def worker_rss(master_pid: int) -> list[float]:
    """Resident memory of each of gunicorn's workers, in MB."""
    children = Path(f"/proc/{master_pid}/task/{master_pid}/children").read_text().split()
    sizes = []
    for child in children:
        status = Path(f"/proc/{child}/status").read_text()
        sizes.append(int(re.search(r"^VmRSS:\s+(\d+) kB", status, re.MULTILINE).group(1)) / 1024)
    return sorted(sizes)


@dataclass
class SendCost:
    statements: int
    ms: float  # median per send


def statements_per_send(app: Flask, requests: list[Request], *, runs: int = 7) -> SendCost:
    """Sends through the API test client, in process: the median number of
    statements (reads around the session too) and time of ``runs`` sends
    (after one to warm up)."""
    engine = db.engine(app)
    client = app.test_client()
    times, counts = [], []
    for number, request in enumerate(requests[: runs + 1]):
        with recording_sql(engine) as statements:
            started = time.perf_counter()
            response = client.post(request.path, data=request.body, headers=request.headers())
        elapsed = (time.perf_counter() - started) * 1000
        problem = check_answer(
            request, response.status_code, response.get_data(as_text=True), False
        )
        if problem:
            raise RuntimeError(f"{problem}: {response.get_data(as_text=True)[:300]}")
        if number:
            times.append(elapsed)
            counts.append(len(statements))
    return SendCost(round(statistics.median(counts)), statistics.median(times))
