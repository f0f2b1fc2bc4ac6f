"""Benchmark: provisioning 10,000 people through SCIM, as Okta and Entra do.

    .venv/bin/python bench/scim_load.py [--users 10000] [--groups 100] [--clients 8]
        [--workers 2] [--threads 4] [--postgres | --database-url URL]

Serves Kudos and a bare Flask endpoint (bench/bare_app.py) with gunicorn,
``--workers`` workers of ``--threads`` threads each, on a fresh database:
a temporary SQLite file by default; ``--postgres`` starts a throwaway
PostgreSQL server (as the test command does); ``--database-url`` takes an
empty database of your own, e.g. ``createdb -h 127.0.0.1 -p 55432 -U kudos
scimload`` then ``--database-url
postgresql+psycopg://kudos@127.0.0.1:55432/scimload`` (and ``dropdb``
afterwards). It migrates the database, makes a provisioning token, and then
``--clients`` concurrent clients (threads, a requests.Session each) send:

- the bare endpoint, ``--baseline-requests`` GETs: the baseline (requests
  per second and p99 with the same clients) every phase is compared with;
- users, as Okta provisions them: for each person ``GET
  /Users?filter=userName eq "…"`` (no match) then ``POST /Users`` with a
  name, a title, a work e-mail, one of 40 departments and their manager
  (the SCIM id the manager's own POST answered: reporting lines form a
  tree of 8 reports a manager, managers first);
- then ANALYZE (the later phases run on a database whose statistics know
  the people);
- groups, as Entra pushes them: ``POST /Groups`` for each of ``--groups``
  teams, then ``PATCH`` adding the members in batches of ``--batch`` (one
  team's batches one after the other, the teams concurrently);
- ``--deactivate`` of the people (5 %) deactivated with ``PATCH
  {"op": "replace", "value": {"active": false}}``;
- every page of ``GET /Users?startIndex=…&count=100`` (the first page, then
  the others concurrently).

Prints, for each phase, the requests, seconds, requests per second (and its
ratio to the bare endpoint's), p50/p95/p99 latency. Then checks the
database: exactly the people sent, each with the SCIM id their POST
answered, the manager and department sent, the team their group's PATCHes
put them in, exactly the deactivated ones inactive, and every person once
in the pages. Last, in process on the same database, the SQL statements
and time of each kind of request, and the slowest statements of a POST.
Exits non-zero on any unexpected answer or any difference.

The SCIM rate limit stays on (its cost is measured) but is raised:
``--rate``, default 1,000,000 per minute. The product's default, 1,200 per
minute per token, would stretch the 20,000 requests of 10,000 people over
8 to 17 minutes (each gunicorn worker counts apart unless the counters are
in Redis). The short version, 200 people, runs in the suite:
tests/test_scim_load.py.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import shutil
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import requests
from sqlalchemy import Engine, event, func, inspect, make_url, select
from sqlalchemy.orm import Session

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import kudos_env  # noqa: E402
from bench.workload import app_for  # noqa: E402
from kudos.db import make_engine, utcnow  # noqa: E402
from kudos.extensions import db  # noqa: E402
from kudos.people.models import Department, Person, Team  # noqa: E402
from kudos.scim.models import ScimGroup, ScimUser  # noqa: E402
from kudos.scim.tokens import create_token  # noqa: E402
from tests.faults import migrate, percentile, serving  # noqa: E402
from tests.pgserver import free_port, throwaway_postgres  # noqa: E402
from tests.scim_client import ENTERPRISE, GROUP, MEDIA_TYPE, PATCH_OP, USER  # noqa: E402

T = TypeVar("T")

LIST = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
DOMAIN = "scim-bench.example.com"
DEPARTMENTS = [
    f"{area} {region}"
    for area in (
        "Engineering",
        "Sales",
        "Marketing",
        "Finance",
        "Support",
        "People",
        "Legal",
        "Operations",
    )
    for region in ("Americas", "EMEA", "APAC", "India", "Nordics")
]
FANOUT = 8  # reports a manager
PAGE = 100  # people a page, as Okta asks
TIMEOUT = 120  # seconds a request may take before it counts as failed
SAVEPOINTS = ("SAVEPOINT", "RELEASE SAVEPOINT", "ROLLBACK TO SAVEPOINT")


# --- The company sent --------------------------------------------------------


@dataclass(frozen=True)
class User:
    number: int
    user_name: str
    given_name: str
    family_name: str
    title: str
    department: str
    manager: int | None  # the manager's number: always a smaller one
    group: int


@dataclass(frozen=True)
class Company:
    users: list[User]
    groups: list[str]
    deactivated: list[int]  # numbers of the people deactivated

    def members(self, group: int) -> list[int]:
        return [user.number for user in self.users if user.group == group]


def make_company(users: int, groups: int, *, deactivate: float = 0.05, seed: int = 1) -> Company:
    """``users`` people in a tree of managers (numbered so that a manager
    comes before their reports), each in one of ``groups`` teams of
    uneven sizes (some need several PATCHes), and the ``deactivate`` share
    of them picked to leave."""
    rng = random.Random(seed)
    weights = [1 / (k + 1) ** 0.5 for k in range(groups)]
    people = [
        User(
            number=n,
            user_name=f"person{n}@{DOMAIN}",
            given_name=f"Given{n}",
            family_name=rng.choice(("Lovelace", "Hopper", "Turing", "Noether", "Okafor", "Tanaka")),
            title=f"Title {n % 60}",
            department=DEPARTMENTS[n % len(DEPARTMENTS)],
            manager=None if n == 0 else (n - 1) // FANOUT,
            group=rng.choices(range(groups), weights)[0],
        )
        for n in range(users)
    ]
    names = [f"Team {k:03d}" for k in range(groups)]
    leaving = sorted(rng.sample(range(users), round(users * deactivate)))
    return Company(people, names, leaving)


def user_body(user: User, manager_id: str | None) -> dict[str, Any]:
    """A User as Okta creates it, with the enterprise extension."""
    enterprise: dict[str, Any] = {"department": user.department}
    if manager_id is not None:
        enterprise["manager"] = {"value": manager_id}
    return {
        "schemas": [USER, ENTERPRISE],
        "userName": user.user_name,
        "name": {"givenName": user.given_name, "familyName": user.family_name},
        "emails": [{"primary": True, "value": user.user_name, "type": "work"}],
        "displayName": f"{user.given_name} {user.family_name}",
        "locale": "en-US",
        "externalId": f"00u{user.number:017d}",
        "groups": [],
        "title": user.title,
        "active": True,
        ENTERPRISE: enterprise,
    }


def patch(*operations: dict[str, Any]) -> dict[str, Any]:
    return {"schemas": [PATCH_OP], "Operations": list(operations)}


# --- Measuring ---------------------------------------------------------------


@dataclass
class Phase:
    """The requests of one phase: the latency of each, by kind, and what
    went wrong."""

    name: str
    seconds: float = 0.0
    latencies: dict[str, list[float]] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def record(self, kind: str, seconds: float) -> None:
        with self.lock:
            self.latencies.setdefault(kind, []).append(seconds)

    def problem(self, text: str) -> None:
        with self.lock:
            self.problems.append(text)

    def all_latencies(self) -> list[float]:
        return [seconds for kind in self.latencies.values() for seconds in kind]

    @property
    def requests(self) -> int:
        return len(self.all_latencies())

    @property
    def per_second(self) -> float:
        return self.requests / self.seconds if self.seconds else float("nan")


class Client:
    """One client's HTTP connection, its answers timed into a phase."""

    def __init__(self, base: str, token: str | None, phase: Phase) -> None:
        self.http = requests.Session()
        self.base, self.phase = base, phase
        self.http.headers["Accept"] = MEDIA_TYPE
        if token is not None:
            self.http.headers["Authorization"] = f"Bearer {token}"

    def call(
        self,
        kind: str,
        method: str,
        path: str,
        expected: int,
        body: dict[str, Any] | None = None,
        params: dict[str, Any] | None = None,
    ) -> Any:  # noqa: ANN401 - a JSON value
        """The answer's JSON (or text), or None after noting what went wrong."""
        headers = {"Content-Type": MEDIA_TYPE} if body is not None else None
        data = None if body is None else json.dumps(body)
        started = time.perf_counter()
        try:
            response = self.http.request(
                method,
                self.base + path,
                params=params,
                data=data,
                headers=headers,
                timeout=TIMEOUT,
            )
        except requests.RequestException as error:
            self.phase.problem(f"{kind}: {type(error).__name__}: {error}")
            return None
        self.phase.record(kind, time.perf_counter() - started)
        if response.status_code != expected:
            self.phase.problem(f"{kind}: {response.status_code} {response.text[:300]}")
            return None
        if response.headers.get("Content-Type", "").endswith("json"):
            return response.json()
        return response.text

    def close(self) -> None:
        self.http.close()


def in_parallel(
    clients: int,
    base: str,
    token: str | None,
    phase: Phase,
    jobs: Iterable[T],
    work: Callable[[Client, T], None],
) -> None:
    """``work(client, job)`` for every job, ``clients`` at a time, in order
    of the jobs; the phase's seconds are the whole run's."""
    pending = iter(jobs)
    lock = threading.Lock()
    failures: list[BaseException] = []

    def loop() -> None:
        client = Client(base, token, phase)
        try:
            while True:
                with lock:
                    job = next(pending, None)
                if job is None:
                    return
                work(client, job)
        except BaseException as error:  # a bug in the benchmark itself
            failures.append(error)
            raise
        finally:
            client.close()

    threads = [threading.Thread(target=loop, daemon=True) for _ in range(clients)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    phase.seconds += time.perf_counter() - started
    if failures:
        raise RuntimeError(f"{phase.name}: a client failed") from failures[0]


# --- The phases --------------------------------------------------------------


def bare_endpoint(base: str, clients: int, count: int) -> Phase:
    phase = Phase("bare Flask endpoint, GET /")

    def work(client: Client, _n: int) -> None:
        client.call("GET /", "GET", "/", 200)

    in_parallel(clients, base, None, phase, range(count), work)
    return phase


def provision_users(
    base: str, token: str, company: Company, clients: int, *, progress: bool = False
) -> tuple[Phase, list[str | None]]:
    """Each person looked up by userName, then created with their manager's
    SCIM id (a report waits for their manager's POST to be answered).
    Returns the phase and the SCIM id each POST answered (None if it failed)."""
    phase = Phase("users: GET ?filter + POST /Users")
    ids: list[str | None] = [None] * len(company.users)
    answered = [threading.Event() for _ in company.users]
    count_lock = threading.Lock()
    counted = [0, time.perf_counter(), time.perf_counter()]  # done, start, last report

    def work(client: Client, user: User) -> None:
        try:
            manager_id = None
            if user.manager is not None:
                answered[user.manager].wait()
                manager_id = ids[user.manager]
            found = client.call(
                "GET /Users?filter=userName eq …",
                "GET",
                "/scim/v2/Users",
                200,
                params={
                    "filter": f'userName eq "{user.user_name}"',
                    "startIndex": 1,
                    "count": PAGE,
                },
            )
            if found is not None and found.get("totalResults") != 0:
                phase.problem(f"{user.user_name} found before being created: {found}")
            created = client.call(
                "POST /Users", "POST", "/scim/v2/Users", 201, user_body(user, manager_id)
            )
            if created is not None:
                ids[user.number] = created["id"]
        finally:
            answered[user.number].set()
        if progress:
            with count_lock:
                counted[0] += 1
                if counted[0] % 1000 == 0:
                    now = time.perf_counter()
                    print(
                        f"    {counted[0]:,} people in {now - counted[1]:.1f} s "
                        f"({1000 / (now - counted[2]):,.0f} people/s over the last 1,000)",
                        flush=True,
                    )
                    counted[2] = now

    in_parallel(clients, base, token, phase, company.users, work)
    return phase, ids


def push_groups(
    base: str, token: str, company: Company, ids: list[str | None], clients: int, batch: int
) -> tuple[Phase, Phase, list[str | None]]:
    """``POST /Groups`` for each team (no members), then PATCHes adding its
    members ``batch`` at a time. Returns both phases and each group's id."""
    created = Phase("groups: POST /Groups")
    group_ids: list[str | None] = [None] * len(company.groups)

    def create(client: Client, number: int) -> None:
        body = {
            "schemas": [GROUP],
            "displayName": company.groups[number],
            "externalId": f"grp-{number}",
            "members": [],
        }
        answer = client.call("POST /Groups", "POST", "/scim/v2/Groups", 201, body)
        if answer is not None:
            group_ids[number] = answer["id"]

    in_parallel(clients, base, token, created, range(len(company.groups)), create)

    filled = Phase(f"groups: PATCH add members, {batch} a request")
    members = {number: [] for number in range(len(company.groups))}
    for user in company.users:
        members[user.group].append(user.number)

    def fill(client: Client, number: int) -> None:
        group_id = group_ids[number]
        if group_id is None:
            return
        people = [ids[n] for n in members[number] if ids[n] is not None]
        for start in range(0, len(people), batch):
            values = [{"value": scim_id} for scim_id in people[start : start + batch]]
            client.call(
                "PATCH /Groups/… add members",
                "PATCH",
                f"/scim/v2/Groups/{group_id}",
                200,
                patch({"op": "add", "path": "members", "value": values}),
            )

    # The biggest teams first, so that the last client is not left alone
    # with one.
    order = sorted(members, key=lambda number: -len(members[number]))
    in_parallel(clients, base, token, filled, order, fill)
    return created, filled, group_ids


def deactivate(
    base: str, token: str, company: Company, ids: list[str | None], clients: int
) -> Phase:
    phase = Phase(f"deactivate {len(company.deactivated):,}: PATCH active false")

    def work(client: Client, number: int) -> None:
        if ids[number] is None:
            return
        answer = client.call(
            "PATCH /Users/… active false",
            "PATCH",
            f"/scim/v2/Users/{ids[number]}",
            200,
            patch({"op": "replace", "value": {"active": False}}),
        )
        if answer is not None and answer.get("active") is not False:
            phase.problem(f"{company.users[number].user_name} still active in the answer")

    in_parallel(clients, base, token, phase, company.deactivated, work)
    return phase


@dataclass
class Pages:
    phase: Phase
    total: int | None = None
    seen: list[tuple[str, bool]] = field(default_factory=list)  # (id, active)


def page_users(base: str, token: str, clients: int) -> Pages:
    """Every page of ``GET /Users``: the first, which gives the total, then
    the others concurrently."""
    pages = Pages(Phase(f"GET /Users?startIndex=…&count={PAGE}, every page"))
    lock = threading.Lock()

    def read(client: Client, start: int) -> None:
        answer = client.call(
            "GET /Users page",
            "GET",
            "/scim/v2/Users",
            200,
            params={"startIndex": start, "count": PAGE},
        )
        if answer is None:
            return
        resources = answer.get("Resources", [])
        if LIST not in answer.get("schemas", []) or answer.get("itemsPerPage") != len(resources):
            pages.phase.problem(f"page {start}: not a ListResponse of its itemsPerPage")
        with lock:
            pages.total = answer["totalResults"]
            pages.seen += [(resource["id"], resource["active"]) for resource in resources]

    in_parallel(1, base, token, pages.phase, [1], read)
    if pages.total is not None:
        rest = range(1 + PAGE, pages.total + 1, PAGE)
        in_parallel(clients, base, token, pages.phase, rest, read)
    return pages


# --- Checking the database ---------------------------------------------------


@dataclass
class Verification:
    expected: int
    people: int  # every person in the directory
    provisioned: int  # people with a SCIM link
    ids_wrong: int  # missing, or another SCIM id than their POST answered
    managers_wrong: int
    departments_wrong: int
    groups_expected: int
    groups_provisioned: int
    members_wrong: int  # not in the team their group's PATCH put them in
    inactive: int
    inactive_expected: int
    active_wrong: int  # active when deactivated, or the other way round
    paged: int  # people in the pages, repeats counted
    paged_total: int | None  # the pages' totalResults
    paged_wrong: int  # missing from the pages, there twice, unknown, or active wrong

    def problems(self) -> list[str]:
        problems = []
        if not self.expected == self.people == self.provisioned:
            problems.append(
                f"{self.expected:,} people sent, {self.people:,} in the directory, "
                f"{self.provisioned:,} provisioned"
            )
        for count, what in (
            (self.ids_wrong, "without the SCIM id their POST answered"),
            (self.managers_wrong, "without the manager sent"),
            (self.departments_wrong, "without the department sent"),
            (self.members_wrong, "not in the team their group's PATCHes put them in"),
            (self.active_wrong, "active when deactivated or inactive when not"),
        ):
            if count:
                problems.append(f"{count:,} people {what}")
        if self.groups_expected != self.groups_provisioned:
            problems.append(
                f"{self.groups_expected} groups sent, {self.groups_provisioned} provisioned"
            )
        if self.inactive != self.inactive_expected:
            problems.append(f"{self.inactive:,} inactive, {self.inactive_expected:,} expected")
        if self.paged != self.expected or self.paged_total != self.expected or self.paged_wrong:
            problems.append(
                f"the pages listed {self.paged:,} people (totalResults {self.paged_total}), "
                f"{self.paged_wrong:,} of them wrong"
            )
        return problems


def verify(
    url: str,
    company: Company,
    ids: list[str | None],
    group_ids: list[str | None],
    pages: Pages,
) -> Verification:
    engine = make_engine(url)
    with Session(engine) as session:
        rows = {
            row.user_name_key: row
            for row in session.execute(
                select(
                    ScimUser.user_name_key,
                    Person.id,
                    Person.scim_id,
                    Person.manager_id,
                    Person.team_id,
                    Person.active,
                    Department.name.label("department"),
                )
                .join(Person, Person.id == ScimUser.person_id)
                .outerjoin(Department, Department.id == Person.department_id)
            )
        }
        people = session.scalar(select(func.count()).select_from(Person))
        teams = dict(
            session.execute(
                select(Team.scim_id, Team.id).join(ScimGroup, ScimGroup.team_id == Team.id)
            ).all()
        )
    engine.dispose()
    leaving = set(company.deactivated)
    row_of = [rows.get(user.user_name.lower()) for user in company.users]
    person_id = [row.id if row is not None else None for row in row_of]
    team_of_group = [teams.get(group_id) if group_id else None for group_id in group_ids]
    wrong = {"ids": 0, "managers": 0, "departments": 0, "members": 0, "active": 0}
    for user, row in zip(company.users, row_of, strict=True):
        if row is None or ids[user.number] is None or row.scim_id != ids[user.number]:
            wrong["ids"] += 1
            continue
        manager = None if user.manager is None else person_id[user.manager]
        wrong["managers"] += row.manager_id != manager or (
            user.manager is not None and manager is None
        )
        wrong["departments"] += row.department != user.department
        team = team_of_group[user.group]
        wrong["members"] += team is None or row.team_id != team
        wrong["active"] += row.active == (user.number in leaving)
    expected_active = {
        ids[user.number]: user.number not in leaving
        for user in company.users
        if ids[user.number] is not None
    }
    seen_ids = [scim_id for scim_id, _ in pages.seen]
    paged_wrong = (
        len(seen_ids)
        - len(set(seen_ids))
        + len(set(expected_active) - set(seen_ids))
        + sum(
            1
            for scim_id, active in pages.seen
            if scim_id not in expected_active or expected_active[scim_id] != active
        )
    )
    return Verification(
        expected=len(company.users),
        people=people,
        provisioned=len(rows),
        ids_wrong=wrong["ids"],
        managers_wrong=wrong["managers"],
        departments_wrong=wrong["departments"],
        groups_expected=len(company.groups),
        groups_provisioned=len(teams),
        members_wrong=wrong["members"],
        inactive=sum(1 for row in rows.values() if not row.active),
        inactive_expected=len(leaving),
        active_wrong=wrong["active"],
        paged=len(seen_ids),
        paged_total=pages.total,
        paged_wrong=paged_wrong,
    )


# --- Serving and running -----------------------------------------------------


@contextlib.contextmanager
def served(
    app_spec: str, env: dict[str, str], *, workers: int, threads: int, ready: str
) -> Iterator[str]:
    """``app_spec`` under gunicorn on a free port, once ``ready`` answers:
    its address. Fails if it died or logged a traceback meanwhile."""
    with serving(
        app_spec, env, free_port(), workers=workers, threads=threads, ready=ready, timeout=TIMEOUT
    ) as (base, log):
        yield base
        if "Traceback" in log.read_text():
            raise RuntimeError(f"gunicorn logged errors:\n{log.read_text()[-3000:]}")


@dataclass(frozen=True)
class Settings:
    users: int = 10_000
    groups: int = 100
    clients: int = 8
    workers: int = 2
    threads: int = 4
    batch: int = 100  # members a group PATCH
    deactivate: float = 0.05
    baseline_requests: int = 5_000  # 0: no bare endpoint
    rate: str = "1000000 per minute"
    progress: bool = False
    cost_runs: int = 5  # in process, each kind of request (0: not measured)


@dataclass
class Outcome:
    engine: str
    company: Company
    baseline: Phase | None
    phases: list[Phase]
    ids: list[str | None]  # each person's, as their POST answered
    group_ids: list[str | None]
    pages: Pages
    verification: Verification
    costs: list[Cost]
    load: tuple[float, float]  # the machine's 1-minute load average, before and after

    def problems(self) -> list[str]:
        phases = [self.baseline, *self.phases] if self.baseline else self.phases
        found = [
            f"{phase.name}: {len(phase.problems):,} failed, e.g. {phase.problems[0]}"
            for phase in phases
            if phase.problems
        ]
        return found + self.verification.problems()


def prepare(url: str) -> str:
    """Migrate an empty database and make a provisioning token: its plaintext."""
    engine = make_engine(url)
    if inspect(engine).get_table_names():
        engine.dispose()
        raise SystemExit(f"{url} is not empty: the benchmark needs a fresh database")
    engine.dispose()
    migrate(url)
    engine = make_engine(url)
    with Session(engine) as session:
        _, raw = create_token(session, "Okta (benchmark)", now=utcnow())
        session.commit()
    engine.dispose()
    return raw


def analyze(url: str) -> None:
    engine = make_engine(url)
    with engine.begin() as connection:
        connection.exec_driver_sql("ANALYZE")
    engine.dispose()


def run(url: str, settings: Settings) -> Outcome:
    """The whole benchmark on the empty database ``url``."""
    load = os.getloadavg()[0]
    token = prepare(url)
    company = make_company(settings.users, settings.groups, deactivate=settings.deactivate)
    env = {
        **kudos_env(url, "http://127.0.0.1"),
        "KUDOS_RATELIMIT_ENABLED": "true",
        "KUDOS_RATELIMIT_SCIM": settings.rate,
    }
    workers = {"workers": settings.workers, "threads": settings.threads}
    say = print if settings.progress else lambda *_args, **_kwargs: None
    baseline = None
    if settings.baseline_requests:
        with served("bench.bare_app:app", env, ready="/", **workers) as bare:
            say("  bare Flask endpoint ...", flush=True)
            baseline = bare_endpoint(bare, settings.clients, settings.baseline_requests)
    with served("wsgi:app", env, ready="/healthz", **workers) as base:
        say(f"  {settings.users:,} people ...", flush=True)
        users, ids = provision_users(
            base, token, company, settings.clients, progress=settings.progress
        )
        say("  ANALYZE, groups ...", flush=True)
        analyze(url)
        created, filled, group_ids = push_groups(
            base, token, company, ids, settings.clients, settings.batch
        )
        say("  deactivations ...", flush=True)
        leaving = deactivate(base, token, company, ids, settings.clients)
        say("  pages ...", flush=True)
        pages = page_users(base, token, settings.clients)
    verification = verify(url, company, ids, group_ids, pages)
    costs = []
    if settings.cost_runs:
        say("  statements per request, in process ...", flush=True)
        costs = request_costs(url, token, company, ids, group_ids, runs=settings.cost_runs)
    return Outcome(
        engine=make_url(url).get_backend_name(),
        company=company,
        baseline=baseline,
        phases=[users, created, filled, leaving, pages.phase],
        ids=ids,
        group_ids=group_ids,
        pages=pages,
        verification=verification,
        costs=costs,
        load=(load, os.getloadavg()[0]),
    )


# --- In process: the statements of each kind of request ----------------------


@dataclass
class Cost:
    what: str
    statements: int  # median
    ms: float  # median
    slowest: list[tuple[float, str]]  # of the last run: (ms, statement)


@contextlib.contextmanager
def timing_sql(engine: Engine) -> Iterator[list[tuple[float, str]]]:
    """Every statement sent through ``engine`` while the block runs, with
    its time in ms: the driver's ``execute``, which on SQLite leaves out
    the rows fetched after the first. (SCIM reads nothing around the session: see
    bench.common.recording_sql for what else would need recording.)"""
    recorded: list[tuple[float, str]] = []
    started: dict[int, float] = {}

    def before(_conn, cursor, *_args) -> None:  # noqa: ANN001
        started[id(cursor)] = time.perf_counter()

    def after(_conn, cursor, statement, *_args) -> None:  # noqa: ANN001
        elapsed = (time.perf_counter() - started.pop(id(cursor), time.perf_counter())) * 1000
        recorded.append((elapsed, " ".join(statement.split())))

    event.listen(engine, "before_cursor_execute", before)
    event.listen(engine, "after_cursor_execute", after)
    try:
        yield recorded
    finally:
        event.remove(engine, "before_cursor_execute", before)
        event.remove(engine, "after_cursor_execute", after)


def request_costs(
    url: str,
    token: str,
    company: Company,
    ids: list[str | None],
    group_ids: list[str | None],
    *,
    runs: int = 5,
) -> list[Cost]:
    """Each kind of request once to warm up, then ``runs`` times, through the
    test client on the benchmark's database: statements and time. The
    requests make ``runs + 1`` people (reporting to someone at the bottom
    of the tree, then deactivated and moved into the biggest team) inside a
    transaction rolled back at the end (each request's commit releases a
    savepoint; those statements are not counted), so the database stays as
    the run left it."""
    app = app_for(url)
    engine = db.engine(app)
    connection = engine.connect()
    outer = connection.begin()
    app.extensions["kudos.db"].configure(bind=connection, join_transaction_mode="create_savepoint")
    client = app.test_client()
    headers = {"Authorization": f"Bearer {token}", "Content-Type": MEDIA_TYPE}
    manager = ids[-1]
    biggest = max(range(len(company.groups)), key=lambda k: len(company.members(k)))
    probes = [
        User(-1, f"probe{n}@{DOMAIN}", f"Probe{n}", "Probe", "Title", DEPARTMENTS[0], None, 0)
        for n in range(runs + 1)
    ]
    made: list[str] = []

    def find(n: int) -> Any:  # noqa: ANN401
        query = f'userName eq "{probes[n].user_name}"'
        return client.get(
            "/scim/v2/Users", query_string={"filter": query, "count": PAGE}, headers=headers
        )

    def create(n: int) -> Any:  # noqa: ANN401
        answer = client.post("/scim/v2/Users", json=user_body(probes[n], manager), headers=headers)
        if answer.status_code == 201:
            made.append(answer.get_json()["id"])
        return answer

    def leave(n: int) -> Any:  # noqa: ANN401
        body = patch({"op": "replace", "value": {"active": False}})
        return client.patch(f"/scim/v2/Users/{made[n]}", json=body, headers=headers)

    def join(n: int) -> Any:  # noqa: ANN401
        body = patch({"op": "add", "path": "members", "value": [{"value": made[n]}]})
        return client.patch(f"/scim/v2/Groups/{group_ids[biggest]}", json=body, headers=headers)

    def page(n: int) -> Any:  # noqa: ANN401
        start = 1 + (len(company.users) // 2 // PAGE) * PAGE
        return client.get(
            "/scim/v2/Users", query_string={"startIndex": start, "count": PAGE}, headers=headers
        )

    costs = []
    biggest_size = len(company.members(biggest))
    for what, action, expected in (
        ("GET /Users?filter=userName eq … (no match)", find, 200),
        ("POST /Users (with a manager)", create, 201),
        ("PATCH /Users/… active false", leave, 200),
        (f"PATCH /Groups/… add 1 member (a team of {biggest_size:,})", join, 200),
        (f"GET /Users?startIndex=…&count={PAGE} (the middle page)", page, 200),
    ):
        counts, times = [], []
        for n in range(runs + 1):
            with timing_sql(engine) as statements:
                started = time.perf_counter()
                answer = action(n)
                elapsed = (time.perf_counter() - started) * 1000
            if answer.status_code != expected:
                raise RuntimeError(f"{what}: {answer.status_code} {answer.get_data(as_text=True)}")
            statements = [(ms, sql) for ms, sql in statements if not sql.startswith(SAVEPOINTS)]
            if n:
                counts.append(len(statements))
                times.append(elapsed)
        slowest = sorted(statements, reverse=True)[:3]
        costs.append(
            Cost(what, round(statistics.median(counts)), statistics.median(times), slowest)
        )
    outer.rollback()
    connection.close()
    engine.dispose()
    return costs


# --- Printing ----------------------------------------------------------------


def print_outcome(outcome: Outcome, settings: Settings) -> None:
    bare = outcome.baseline.per_second if outcome.baseline else float("nan")
    print(
        f"\n{settings.users:,} people, {settings.groups} groups on {outcome.engine}; gunicorn "
        f"{settings.workers} workers x {settings.threads} threads; {settings.clients} clients; "
        f"SCIM rate limit {settings.rate}"
    )
    print(f"load average before and after: {outcome.load[0]:.1f}, {outcome.load[1]:.1f}")
    print("\n| phase | requests | seconds | req/s | ratio to bare | p50 | p95 | p99 |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")

    def line(name: str, latencies: list[float], seconds: float | None) -> None:
        rate = len(latencies) / seconds if seconds else None
        figures = [
            f"{len(latencies):,}",
            f"{seconds:.1f}" if seconds else "",
            f"{rate:,.0f}" if rate else "",
            f"{rate / bare:.3f}" if rate else "",
            *(f"{percentile(latencies, share) * 1000:.1f} ms" for share in (0.5, 0.95, 0.99)),
        ]
        print(f"| {name} | {' | '.join(figures)} |")

    phases = [outcome.baseline, *outcome.phases] if outcome.baseline else outcome.phases
    for phase in phases:
        line(phase.name, phase.all_latencies(), phase.seconds)
        if len(phase.latencies) > 1:
            for kind, latencies in phase.latencies.items():
                line(f"&nbsp;&nbsp;of which {kind}", latencies, None)
    users = outcome.phases[0]
    print(
        f"\n{settings.users:,} people provisioned in {users.seconds:.1f} s: "
        f"{settings.users / users.seconds:,.0f} people/s"
    )
    if outcome.costs:
        print(
            f"\nIn process, on the same database (median of {settings.cost_runs} "
            "after one to warm up):\n"
        )
        print("| request | statements | ms | slowest statements (ms) |")
        print("| --- | --- | --- | --- |")
        for cost in outcome.costs:
            slowest = "; ".join(f"{ms:.1f}: {sql[:70]}" for ms, sql in cost.slowest)
            print(f"| {cost.what} | {cost.statements} | {cost.ms:.1f} | {slowest} |")
    verification = outcome.verification
    print(
        f"\nChecked in the database: {verification.provisioned:,} of {verification.expected:,} "
        f"provisioned ({verification.people:,} people in all); wrong: ids "
        f"{verification.ids_wrong}, managers {verification.managers_wrong}, departments "
        f"{verification.departments_wrong}, team memberships {verification.members_wrong} "
        f"({verification.groups_provisioned} groups); inactive {verification.inactive:,} of "
        f"{verification.inactive_expected:,} expected; pages listed {verification.paged:,} "
        f"(totalResults {verification.paged_total}), {verification.paged_wrong} wrong"
    )


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    defaults = Settings()
    parser.add_argument("--users", type=int, default=defaults.users)
    parser.add_argument("--groups", type=int, default=defaults.groups)
    parser.add_argument("--clients", type=int, default=defaults.clients, help="concurrent clients")
    parser.add_argument("--workers", type=int, default=defaults.workers, help="gunicorn workers")
    parser.add_argument("--threads", type=int, default=defaults.threads, help="threads a worker")
    parser.add_argument("--batch", type=int, default=defaults.batch, help="members a group PATCH")
    parser.add_argument("--deactivate", type=float, default=defaults.deactivate, help="share")
    parser.add_argument(
        "--baseline-requests", type=int, default=defaults.baseline_requests, help="0: none"
    )
    parser.add_argument("--rate", default=defaults.rate, help="KUDOS_RATELIMIT_SCIM")
    parser.add_argument("--postgres", action="store_true", help="a throwaway PostgreSQL server")
    parser.add_argument("--database-url", help="an empty database of your own")
    args = parser.parse_args()
    settings = Settings(
        users=args.users,
        groups=args.groups,
        clients=args.clients,
        workers=args.workers,
        threads=args.threads,
        batch=args.batch,
        deactivate=args.deactivate,
        baseline_requests=args.baseline_requests,
        rate=args.rate,
        progress=True,
    )
    if args.postgres:
        with throwaway_postgres() as url:
            outcome = run(url, settings)
    elif args.database_url:
        outcome = run(args.database_url, settings)
    else:
        workdir = Path(tempfile.mkdtemp(prefix="kudos-bench-scim-"))
        try:
            outcome = run(f"sqlite:///{workdir / 'bench.sqlite3'}", settings)
        finally:
            shutil.rmtree(workdir, ignore_errors=True)
    print_outcome(outcome, settings)
    problems = outcome.problems()
    for problem in problems:
        print(f"!!! {problem}")
    if problems:
        print("!!! THE RUN HAD ERRORS: the figures above are not comparable.")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
