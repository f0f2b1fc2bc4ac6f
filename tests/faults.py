"""Fault injection shared by tests/test_faults_pg.py and bench/faults.py.

Two scenarios, each on its own throwaway PostgreSQL (tests/pgserver.py) so
that the suite's shared server is never stopped:

- ``send_through_outages``: Kudos under gunicorn, clients sending kudos with
  an Idempotency-Key each and retrying the same key until acknowledged,
  while PostgreSQL is stopped and started again. ``check_sends`` then counts
  what was acknowledged against what the database holds.
- ``deliver_with_kills``: ``kudos outbox deliver`` killed with SIGKILL in
  the middle of a batch and run again, against a real, slow SMTP server.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from zoneinfo import ZoneInfo

import requests
from alembic import command as alembic_command
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from kudos.auth.tokens import create_token
from kudos.db import make_engine, utcnow
from kudos.leaderboard import rollups
from kudos.migrate import alembic_config
from kudos.outbox.models import OutboxMessage
from kudos.outbox.services import queue_email
from kudos.people.models import Person
from kudos.recognition.models import Kudos, Recognition, Value, kudos_value
from tests.factories import rollup_rows
from tests.pgserver import PostgresServer, free_port
from tests.secrets_in_logs import keep_server_log
from tests.smtp import Inbox, SmtpServer

ROOT = Path(__file__).resolve().parent.parent
SECRET = "faults-secret-key"  # noqa: S105 - a throwaway server's key
ZONE = ZoneInfo("UTC")


def migrate(url: str) -> None:
    engine = make_engine(url)
    with engine.begin() as connection:
        alembic_command.upgrade(alembic_config(connection=connection), "head")
    engine.dispose()


# --- Sending kudos through database outages --------------------------------


@dataclass(frozen=True)
class Client:
    token: str
    sender_id: int
    recipient_id: int


def make_clients(url: str, count: int) -> tuple[list[Client], list[str]]:
    """``count`` people with an API token each, each sending to the next
    person; and two value slugs to send with."""
    engine = make_engine(url)
    now = utcnow()
    tag = uuid.uuid4().hex[:6]
    with Session(engine) as session:
        people = [
            Person(
                email=f"fault-{tag}-{n}@acme.example.com",
                name=f"Fault {n}",
                onboarding_postponed_at=now,
            )
            for n in range(count + 1)
        ]
        session.add_all(people)
        session.flush()
        tokens = [create_token(session, person, "faults", now=now)[1] for person in people[:count]]
        values = list(session.scalars(select(Value.slug).order_by(Value.position).limit(2)))
        session.commit()
        clients = [Client(tokens[n], people[n].id, people[n + 1].id) for n in range(count)]
    engine.dispose()
    return clients, values


def gunicorn_env(url: str, port: int) -> dict[str, str]:
    return {
        **os.environ,
        "KUDOS_DATABASE_URL": url,
        "KUDOS_SECRET_KEY": SECRET,
        "KUDOS_BASE_URL": f"http://127.0.0.1:{port}",
        "KUDOS_COOKIE_SECURE": "false",
        # The daily limit and rate limits would refuse the load, not the fault.
        "KUDOS_DAILY_KUDOS_LIMIT": "1000000",
        "KUDOS_RATELIMIT_ENABLED": "false",
    }


@contextlib.contextmanager
def gunicorn(
    url: str, *, workers: int = 2, threads: int = 4, env: dict[str, str] | None = None
) -> Iterator[tuple[str, Path]]:
    """Kudos under gunicorn on a free port (``env`` on top of the settings
    the fault tests use): its address and its log file."""
    port = free_port()
    environ = {**gunicorn_env(url, port), **(env or {})}
    with serving("wsgi:app", environ, port, workers=workers, threads=threads) as served:
        yield served


@contextlib.contextmanager
def serving(
    app_spec: str,
    environ: dict[str, str],
    port: int,
    *,
    workers: int,
    threads: int,
    ready: str = "/healthz",
    timeout: int = 60,
) -> Iterator[tuple[str, Path]]:
    """``app_spec`` under gunicorn on ``port``, once ``ready`` answers 200:
    its address and its log file. Fails if it died meanwhile. The log goes
    to the run's check for secrets (tests/secrets_in_logs.py), then away."""
    log = Path(tempfile.mkstemp(prefix="kudos-gunicorn-", suffix=".log")[1])
    command = [
        str(Path(sys.executable).parent / "gunicorn"),
        f"--workers={workers}",
        f"--threads={threads}",
        f"--timeout={timeout}",
        "--log-level=warning",
        f"--bind=127.0.0.1:{port}",
        app_spec,
    ]
    with log.open("w") as output:
        process = subprocess.Popen(  # noqa: S603 - our own command line
            command, cwd=ROOT, env=environ, stdout=output, stderr=output
        )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            if process.poll() is not None:
                raise RuntimeError(f"gunicorn exited:\n{log.read_text()}")
            try:
                if requests.get(base + ready, timeout=10).status_code == 200:
                    break
            except requests.RequestException:
                pass
            time.sleep(0.1)
        else:
            raise RuntimeError(f"{app_spec} did not start")
        yield base, log
        if process.poll() is not None:
            raise RuntimeError(f"gunicorn died during the run:\n{log.read_text()}")
    finally:
        process.terminate()
        process.wait(timeout=30)
        keep_server_log(log, environ)
        log.unlink(missing_ok=True)


def is_unavailable(response: requests.Response) -> bool:
    """The API's 503: JSON in the error format, code ``unavailable``, with
    ``Retry-After``."""
    if response.status_code != 503:
        return False
    if not response.headers.get("Content-Type", "").startswith("application/json"):
        return False
    if not response.headers.get("Retry-After", "").isdigit():
        return False
    try:
        error = response.json()["error"]
    except (ValueError, KeyError, TypeError):
        return False
    return error.get("code") == "unavailable" and isinstance(error.get("message"), str)


@dataclass
class SenderLog:
    """What one client saw. Times are ``time.monotonic()``."""

    sent: list[str] = field(default_factory=list)
    acknowledged: dict[str, int] = field(default_factory=dict)  # key -> kudos id
    given_up: list[str] = field(default_factory=list)
    statuses: Counter = field(default_factory=Counter)
    unavailable: int = 0  # clean 503s
    connection_errors: list[str] = field(default_factory=list)
    unexpected: list[str] = field(default_factory=list)  # anything but 2xx or a clean 503
    successes: list[float] = field(default_factory=list)
    ack_seconds: list[float] = field(default_factory=list)  # first try to 2xx
    request_seconds: list[float] = field(default_factory=list)  # the 2xx request alone


class Sender(threading.Thread):
    """Sends kudos one after another until ``stop``; each with its own
    Idempotency-Key, retried with the same key until a 2xx or ``retry_for``."""

    def __init__(
        self,
        base: str,
        client: Client,
        values: list[str],
        stop: threading.Event,
        *,
        retry_for: float,
        pause: float,
    ) -> None:
        super().__init__(daemon=True)
        self.base, self.client, self.values, self.stop = base, client, values, stop
        self.retry_for, self.pause = retry_for, pause
        self.log = SenderLog()

    def run(self) -> None:
        http = requests.Session()
        while not self.stop.is_set():
            self.send(http, f"fault-{self.client.sender_id}-{uuid.uuid4().hex}")
            self.stop.wait(self.pause)

    def send(self, http: requests.Session, key: str) -> None:
        log = self.log
        log.sent.append(key)
        body = {
            "recipients": [self.client.recipient_id],
            "values": self.values,
            "message": f"Thanks for holding up! {key}",
        }
        headers = {"Authorization": f"Bearer {self.client.token}", "Idempotency-Key": key}
        first = time.monotonic()
        while True:
            began = time.monotonic()
            try:
                response = http.post(
                    f"{self.base}/api/v1/kudos", json=body, headers=headers, timeout=30
                )
            except requests.RequestException as error:
                log.connection_errors.append(type(error).__name__)
            else:
                log.statuses[response.status_code] += 1
                if 200 <= response.status_code < 300:
                    done = time.monotonic()
                    log.acknowledged[key] = response.json()["id"]
                    log.successes.append(done)
                    log.ack_seconds.append(done - first)
                    log.request_seconds.append(done - began)
                    return
                if is_unavailable(response):
                    log.unavailable += 1
                else:
                    log.unexpected.append(f"{response.status_code}: {response.text[:300]}")
                    if response.status_code < 500:
                        return  # a refusal: retrying the same request cannot help
            if time.monotonic() - first > self.retry_for:
                log.given_up.append(key)
                return
            time.sleep(0.1)


@dataclass
class Outage:
    mode: str
    stopping: float  # pg_ctl stop called
    starting: float  # pg_ctl start called
    started: float  # pg_ctl start returned: the server accepts connections
    recovered: float | None = None  # the first 2xx after that


@dataclass
class SendRun:
    logs: list[SenderLog]
    outages: list[Outage]
    server_log: str
    seconds: float


def send_through_outages(
    server: PostgresServer,
    base: str,
    clients: list[Client],
    values: list[str],
    *,
    outages: list[tuple[float, str, float]],
    seconds: float,
    retry_for: float = 30.0,
    pause: float = 0.05,
    server_log: Path | None = None,
) -> SendRun:
    """Run the clients for ``seconds``; each outage is (seconds after the
    start, ``fast`` or ``immediate``, seconds down)."""
    stop = threading.Event()
    senders = [
        Sender(base, client, values, stop, retry_for=retry_for, pause=pause) for client in clients
    ]
    began = time.monotonic()
    for sender in senders:
        sender.start()
    done: list[Outage] = []
    try:
        for at, mode, down in outages:
            time.sleep(max(0.0, began + at - time.monotonic()))
            stopping = time.monotonic()
            server.stop(mode)
            time.sleep(down)
            starting = time.monotonic()
            server.start()
            done.append(Outage(mode, stopping, starting, time.monotonic()))
        time.sleep(max(0.0, began + seconds - time.monotonic()))
    finally:
        stop.set()
        for sender in senders:
            sender.join(timeout=retry_for + 60)
    successes = sorted(moment for sender in senders for moment in sender.log.successes)
    for outage in done:
        outage.recovered = next((t for t in successes if t >= outage.started), None)
    return SendRun(
        logs=[sender.log for sender in senders],
        outages=done,
        server_log=server_log.read_text() if server_log else "",
        seconds=time.monotonic() - began,
    )


def percentile(values: list[float], share: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


@dataclass
class SendFigures:
    sent: int
    acknowledged: int
    found: int
    lost: int
    duplicated: int
    half_written: int
    stored_unacknowledged: int
    given_up: int
    unavailable: int  # clean 503s
    unexpected: list[str]
    connection_errors: int
    rollups_equal_rebuild: bool
    recover_seconds: list[float | None]
    ack_p50: float
    ack_p99: float
    request_p50: float
    request_p99: float
    tracebacks: int
    first_traceback: str = ""

    def lines(self) -> list[str]:
        recover = ", ".join(
            "never" if seconds is None else f"{seconds:.2f} s" for seconds in self.recover_seconds
        )
        return [
            f"requests sent {self.sent}, acknowledged {self.acknowledged}, found {self.found}, "
            f"lost {self.lost}, duplicated {self.duplicated}, half-written {self.half_written}",
            f"given up {self.given_up}, stored but not acknowledged {self.stored_unacknowledged}",
            f"503 (JSON, unavailable) {self.unavailable}, other errors {len(self.unexpected)}, "
            f"connection errors {self.connection_errors}, tracebacks logged {self.tracebacks}",
            f"rollups equal a rebuild: {self.rollups_equal_rebuild}; "
            f"first acknowledgement after each restart: {recover or '-'}",
            f"acknowledged sends (with retries) p50 {self.ack_p50 * 1000:.0f} ms, "
            f"p99 {self.ack_p99 * 1000:.0f} ms; one 2xx request p50 "
            f"{self.request_p50 * 1000:.0f} ms, p99 {self.request_p99 * 1000:.0f} ms",
        ] + ([f"first traceback logged:\n{self.first_traceback}"] if self.first_traceback else [])


def check_sends(url: str, run: SendRun, clients: list[Client], values: list[str]) -> SendFigures:
    """Compare what clients were told with what the database holds."""
    logs = run.logs
    acknowledged = {key: kudos_id for log in logs for key, kudos_id in log.acknowledged.items()}
    sent = [key for log in logs for key in log.sent]
    engine = make_engine(url)
    with Session(engine) as session:
        senders = [client.sender_id for client in clients]
        rows = session.execute(
            select(Kudos.id, Kudos.idempotency_key, Kudos.message).where(
                Kudos.sender_id.in_(senders)
            )
        ).all()
        stored_by_key = Counter(row.idempotency_key for row in rows)
        # The key is in the message too: a duplicate that slipped past the
        # key (stored without it, say) would still show here.
        stored_by_message = Counter(row.message.rsplit(" ", 1)[-1] for row in rows)
        ids_by_key = {row.idempotency_key: row.id for row in rows}
        recognitions = dict(
            session.execute(
                select(Recognition.kudos_id, func.count())
                .where(Recognition.sender_id.in_(senders))
                .group_by(Recognition.kudos_id)
            ).all()
        )
        value_counts = dict(
            session.execute(
                select(kudos_value.c.kudos_id, func.count())
                .join(Kudos, Kudos.id == kudos_value.c.kudos_id)
                .where(Kudos.sender_id.in_(senders))
                .group_by(kudos_value.c.kudos_id)
            ).all()
        )
        half_written = sum(
            1
            for row in rows
            if recognitions.get(row.id, 0) != 1 or value_counts.get(row.id, 0) != len(values)
        )
        maintained = rollup_rows(session)
        rollups.rebuild(session, ZONE)
        rebuilt = rollup_rows(session)
        session.rollback()
    engine.dispose()
    found = sum(1 for key, kudos_id in acknowledged.items() if ids_by_key.get(key) == kudos_id)
    duplicated = sum(count - 1 for count in stored_by_key.values() if count > 1) + sum(
        count - 1 for count in stored_by_message.values() if count > 1
    )
    ack_seconds = [s for log in logs for s in log.ack_seconds]
    request_seconds = [s for log in logs for s in log.request_seconds]
    return SendFigures(
        sent=len(sent),
        acknowledged=len(acknowledged),
        found=found,
        lost=len(acknowledged) - found,
        duplicated=duplicated,
        half_written=half_written,
        stored_unacknowledged=sum(1 for key in stored_by_key if key not in acknowledged),
        given_up=sum(len(log.given_up) for log in logs),
        unavailable=sum(log.unavailable for log in logs),
        unexpected=[text for log in logs for text in log.unexpected],
        connection_errors=sum(len(log.connection_errors) for log in logs),
        rollups_equal_rebuild=maintained == rebuilt,
        recover_seconds=[
            None if outage.recovered is None else outage.recovered - outage.started
            for outage in run.outages
        ],
        ack_p50=statistics.median(ack_seconds) if ack_seconds else float("nan"),
        ack_p99=percentile(ack_seconds, 0.99),
        request_p50=statistics.median(request_seconds) if request_seconds else float("nan"),
        request_p99=percentile(request_seconds, 0.99),
        tracebacks=run.server_log.count("Traceback"),
        first_traceback=first_traceback(run.server_log),
    )


def first_traceback(log: str, lines: int = 12) -> str:
    """The end of the first traceback in a server log (its indented frames
    and the exception line): what an unexpected 500 in a fault run was."""
    start = log.find("Traceback")
    if start < 0:
        return ""
    header, *rest = log[start:].splitlines()
    frames = []
    for line in rest:
        frames.append(line)
        if not line.startswith(" "):
            break  # the exception itself
    return "\n".join([header, *frames[-lines:]])


# --- Killing the outbox worker mid-batch ------------------------------------


class SlowInbox(Inbox):
    """Takes ``delay`` seconds per message, so a kill lands mid-batch;
    ``on_message(count)`` runs after a message is stored and before the
    server answers 250."""

    def __init__(self, delay: float) -> None:
        super().__init__()
        self.delay = delay
        self.on_message: Callable[[int], None] | None = None

    async def handle_DATA(self, server, session, envelope):  # noqa: ANN001, ANN201, N802
        await asyncio.sleep(self.delay)
        answer = await super().handle_DATA(server, session, envelope)
        if self.on_message is not None:
            self.on_message(len(self.messages))
        return answer


MAIL_FROM = "Kudos <kudos@acme.example.com>"


def queue_messages(url: str, count: int) -> None:
    engine = make_engine(url)
    now = utcnow()
    with Session(engine) as session:
        for n in range(count):
            queue_email(
                session,
                kind="fault",
                to_address=f"person{n}@acme.example.com",
                subject=f"Fault {n}",
                text_body=f"Message {n}",
                html_body=None,
                now=now,
            )
        session.commit()
    engine.dispose()


def deliver_command(url: str, smtp: SmtpServer) -> tuple[list[str], dict[str, str]]:
    env = {
        **os.environ,
        "KUDOS_DATABASE_URL": url,
        "KUDOS_SECRET_KEY": SECRET,
        "KUDOS_BASE_URL": "https://kudos.acme.example.com",
        "KUDOS_SMTP_URL": smtp.url,
        "KUDOS_MAIL_FROM": MAIL_FROM,
        # This checkout's code, not whatever the environment has installed.
        "PYTHONPATH": str(ROOT),
    }
    program = "from kudos.cli import main; main()"
    return [sys.executable, "-c", program, "outbox", "deliver"], env


@dataclass
class DeliveryFigures:
    queued: int
    kills: int
    killed_at: list[int]  # messages the SMTP server had when each kill landed
    runs: int
    delivered: int  # messages the SMTP server accepted, duplicates included
    distinct: int
    lost: int
    duplicated: int
    duplicates_with_new_message_id: int
    not_sent_in_database: int
    seconds: float

    def lines(self) -> list[str]:
        return [
            f"e-mails queued {self.queued}, SIGKILLs {self.kills} (at messages "
            f"{', '.join(map(str, self.killed_at))}), runs {self.runs}, {self.seconds:.1f} s",
            f"delivered {self.delivered}, distinct {self.distinct}, lost {self.lost}, "
            f"duplicated {self.duplicated} (with a different Message-ID "
            f"{self.duplicates_with_new_message_id}), not marked sent {self.not_sent_in_database}",
        ]


def deliver_with_kills(
    url: str,
    smtp: SmtpServer,
    inbox: SlowInbox,
    *,
    count: int,
    kill_after: list[int],
    jitter: float = 0.0,
) -> DeliveryFigures:
    """Queue ``count`` e-mails, then run ``kudos outbox deliver`` again and
    again until none is left. Kill number ``i`` lands when the SMTP server
    has ``kill_after[i]`` messages: the even ones from inside the server,
    after it stored the message and before it answers (the reply is lost),
    the odd ones from outside, up to ``jitter`` seconds later, at whatever
    the worker is doing then."""
    queue_messages(url, count)
    command, env = deliver_command(url, smtp)
    began = time.monotonic()
    killed_at: list[int] = []
    runs = 0
    for number, threshold in enumerate(kill_after):
        runs += 1
        process = subprocess.Popen(  # noqa: S603 - our own command line
            command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
        )
        if number % 2 == 0:

            def kill_in_server(seen: int, process=process, threshold=threshold) -> None:  # noqa: ANN001
                if seen == threshold and process.poll() is None:
                    killed_at.append(seen)
                    os.kill(process.pid, signal.SIGKILL)

            inbox.on_message = kill_in_server
        else:
            inbox.on_message = None
            while len(inbox.messages) < threshold and process.poll() is None:
                time.sleep(0.001)
            time.sleep(random.uniform(0, jitter))  # noqa: S311 - not for secrets
            if process.poll() is None:
                killed_at.append(len(inbox.messages))
                process.send_signal(signal.SIGKILL)
        output = process.communicate(timeout=120)[0].decode(errors="replace")
        inbox.on_message = None
        if process.returncode != -signal.SIGKILL:
            raise RuntimeError(f"the worker was not killed (exit {process.returncode}):\n{output}")
    engine = make_engine(url)
    while True:  # to completion: each run sends at most a batch
        runs += 1
        result = subprocess.run(  # noqa: S603 - our own command line
            command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, check=False
        )
        if result.returncode != 0:
            raise RuntimeError(f"deliver failed:\n{result.stdout}{result.stderr}")
        with Session(engine) as session:
            pending = session.scalar(select(func.count()).where(OutboxMessage.status == "pending"))
        if pending == 0 or runs > 50:
            break
    with Session(engine) as session:
        not_sent = session.scalar(select(func.count()).where(OutboxMessage.status != "sent"))
    engine.dispose()
    ids_by_subject: dict[str, list[str]] = {}
    for message in inbox.messages:
        ids_by_subject.setdefault(str(message["Subject"]), []).append(str(message["Message-ID"]))
    expected = {f"Fault {n}" for n in range(count)}
    return DeliveryFigures(
        queued=count,
        kills=len(killed_at),
        killed_at=killed_at,
        runs=runs,
        delivered=len(inbox.messages),
        distinct=len(ids_by_subject),
        lost=len(expected - set(ids_by_subject)),
        duplicated=sum(len(ids) - 1 for ids in ids_by_subject.values()),
        duplicates_with_new_message_id=sum(len(set(ids)) - 1 for ids in ids_by_subject.values()),
        not_sent_in_database=not_sent,
        seconds=time.monotonic() - began,
    )
