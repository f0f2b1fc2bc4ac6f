"""Faults: PostgreSQL stopped under load, and the outbox worker killed.

Short versions of bench/faults.py. They need a server they can stop, so they
start their own throwaway PostgreSQL (never the suite's shared one), and
they run only in the PostgreSQL run of the suite (conftest.py).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.faults import (
    SlowInbox,
    check_sends,
    deliver_with_kills,
    gunicorn,
    make_clients,
    migrate,
    send_through_outages,
)
from tests.pgserver import PostgresServer, postgres_server
from tests.smtp import SmtpServer

CLIENTS = 20


@pytest.fixture(scope="module")
def server() -> Iterator[PostgresServer]:
    with postgres_server(durable=True) as server:
        migrate(server.url)
        yield server


def test_sends_survive_postgresql_stopping_and_starting(server):
    clients, values = make_clients(server.url, CLIENTS)
    with gunicorn(server.url) as (base, log):
        run = send_through_outages(
            server,
            base,
            clients,
            values,
            # Both ways PostgreSQL goes away: a clean shutdown that rolls
            # back what is in flight, and a crash with recovery at start.
            outages=[(1.5, "fast", 1.5), (5.0, "immediate", 1.5)],
            seconds=8.0,
            server_log=log,
        )
    figures = check_sends(server.url, run, clients, values)
    print("\n".join(figures.lines()))

    assert figures.unavailable > 0, "the clients never saw the outage"
    assert figures.unexpected == []  # no 500, no HTML page, no other refusal
    assert figures.connection_errors == 0  # gunicorn and its workers stayed up
    assert figures.tracebacks == 0
    # The app recovered on its own, after each restart.
    assert None not in figures.recover_seconds
    assert figures.given_up == 0
    assert figures.acknowledged == figures.sent
    assert figures.found == figures.acknowledged
    assert figures.lost == 0
    assert figures.duplicated == 0
    assert figures.half_written == 0
    assert figures.rollups_equal_rebuild


def test_outbox_worker_killed_mid_batch_delivers_each_message(server):
    inbox = SlowInbox(delay=0.005)
    smtp = SmtpServer()
    smtp.inbox = inbox
    smtp.start()
    try:
        figures = deliver_with_kills(server.url, smtp, inbox, count=120, kill_after=[40, 80])
    finally:
        smtp.stop()
    print("\n".join(figures.lines()))

    assert figures.kills == 2
    assert figures.lost == 0
    assert figures.not_sent_in_database == 0
    # The kill from inside the SMTP server lands after the server stored the
    # message and before the worker heard "250": that one comes twice.
    assert 1 <= figures.duplicated <= figures.kills
    assert figures.duplicates_with_new_message_id == 0
