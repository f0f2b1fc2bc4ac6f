"""Benchmark: kudos sent through PostgreSQL outages, and the outbox worker killed.

    .venv/bin/python bench/faults.py [--clients 20] [--seconds 60] [--outages 4]

Starts its own throwaway PostgreSQL (synchronous commits on) and Kudos
under gunicorn. First the clients send for ``--baseline`` seconds with no
fault (the latency to compare with); then for ``--seconds`` while
PostgreSQL is stopped ``--outages`` times for ``--down`` seconds, by turns
with ``pg_ctl stop -m fast`` and ``-m immediate``. Each client sends kudos
with an Idempotency-Key each and retries the same key until acknowledged.
Then ``kudos outbox deliver`` is killed with SIGKILL ``--kills`` times in
the middle of a batch of ``--emails`` e-mails and run again to completion.
Prints what clients were told against what the database and the SMTP
server hold. The short version runs in the suite: tests/test_faults_pg.py.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.faults import (  # noqa: E402
    SendRun,
    SlowInbox,
    check_sends,
    deliver_with_kills,
    gunicorn,
    make_clients,
    migrate,
    send_through_outages,
)
from tests.pgserver import postgres_server  # noqa: E402
from tests.smtp import SmtpServer  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--baseline", type=float, default=10.0, help="seconds with no fault")
    parser.add_argument("--outages", type=int, default=4)
    parser.add_argument("--down", type=float, default=2.0, help="seconds each outage lasts")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers")
    parser.add_argument("--threads", type=int, default=4, help="threads per gunicorn worker")
    parser.add_argument("--emails", type=int, default=500)
    parser.add_argument("--kills", type=int, default=6)
    args = parser.parse_args()

    spacing = args.seconds / (args.outages + 1)
    outages = [
        (spacing * (n + 1), "fast" if n % 2 == 0 else "immediate", args.down)
        for n in range(args.outages)
    ]
    failed = False
    with postgres_server(durable=True) as server:
        migrate(server.url)
        clients, values = make_clients(server.url, args.clients)
        with gunicorn(server.url, workers=args.workers, threads=args.threads) as (base, log):
            calm = send_through_outages(
                server, base, clients, values, outages=[], seconds=args.baseline, server_log=log
            )
            stormy = send_through_outages(
                server, base, clients, values, outages=outages, seconds=args.seconds, server_log=log
            )
        baseline = check_sends(server.url, calm, clients, values)
        # Latencies of the stormy phase alone; the counts over both phases.
        during = check_sends(server.url, stormy, clients, values)
        both = SendRun(calm.logs + stormy.logs, stormy.outages, stormy.server_log, 0.0)
        figures = check_sends(server.url, both, clients, values)
        print(
            f"gunicorn {args.workers} workers x {args.threads} threads, {args.clients} clients; "
            f"{args.seconds:.0f} s with {args.outages} outages of {args.down:.1f} s "
            f"({', '.join(mode for _, mode, _ in outages)})"
        )
        print(
            f"no fault ({args.baseline:.0f} s): {baseline.acknowledged} acknowledged; one 2xx "
            f"request p50 {baseline.request_p50 * 1000:.0f} ms, "
            f"p99 {baseline.request_p99 * 1000:.0f} ms"
        )
        print("both phases:")
        for line in figures.lines()[:-1]:
            print(f"  {line}")
        print(f"  with outages: {during.lines()[-1]}")
        for text in figures.unexpected[:5]:
            print(f"  unexpected: {text}")
        failed |= bool(
            figures.lost
            or figures.duplicated
            or figures.half_written
            or figures.unexpected
            or not figures.rollups_equal_rebuild
            or None in figures.recover_seconds
        )

        inbox = SlowInbox(delay=0.005)
        smtp = SmtpServer()
        smtp.inbox = inbox
        smtp.start()
        try:
            step = args.emails // (args.kills + 1)
            delivery = deliver_with_kills(
                server.url,
                smtp,
                inbox,
                count=args.emails,
                kill_after=[step * (n + 1) for n in range(args.kills)],
                jitter=0.05,
            )
        finally:
            smtp.stop()
        print("outbox worker killed mid-batch:")
        for line in delivery.lines():
            print(f"  {line}")
        failed |= bool(
            delivery.lost
            or delivery.duplicates_with_new_message_id
            or delivery.duplicated > delivery.kills
        )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
