"""Benchmark: the leaderboard page under gunicorn against a bare Flask endpoint.

    .venv/bin/python bench/leaderboard_http.py [--users 20000] [--kudos 500000]

Starts a throwaway PostgreSQL, seeds it, then serves both the Kudos app and
a bare Flask app (bench/bare_app.py) with the same gunicorn settings, and
loads each with wrk (Debian package `wrk`) for the same time. Prints the
requests per second of each and their ratio (the target is at least 1/4).
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path
from zoneinfo import ZoneInfo

import requests
from alembic import command
from sqlalchemy import select
from sqlalchemy.orm import Session

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from kudos import create_app  # noqa: E402
from kudos.db import make_engine, utcnow  # noqa: E402
from kudos.demo.synthetic import seed_synthetic  # noqa: E402
from kudos.migrate import alembic_config  # noqa: E402
from kudos.people.models import Person  # noqa: E402
from tests.oidc_provider import free_port  # noqa: E402
from tests.pgserver import throwaway_postgres  # noqa: E402

SECRET = "bench-secret-key"  # noqa: S105 - a throwaway server's key
GUNICORN = [
    str(Path(sys.executable).parent / "gunicorn"),
    "--workers",
    "2",
    "--threads",
    "1",
    "--log-level",
    "warning",
]


def serve(app_spec: str, port: int, env: dict[str, str]) -> subprocess.Popen:
    process = subprocess.Popen(
        [*GUNICORN, "--bind", f"127.0.0.1:{port}", app_spec], cwd=ROOT, env=env
    )
    for _ in range(100):
        try:
            requests.get(f"http://127.0.0.1:{port}/", timeout=5, allow_redirects=False)
            return process
        except (requests.ConnectionError, requests.Timeout):  # not up yet, or a busy machine
            time.sleep(0.1)
    process.terminate()
    raise RuntimeError(f"{app_spec} did not start")


def wrk(url: str, cookie: str | None, seconds: int) -> float:
    command_line = ["wrk", "-t2", "-c8", f"-d{seconds}s", url]
    if cookie:
        command_line[1:1] = ["-H", f"Cookie: session={cookie}"]
    output = subprocess.run(command_line, capture_output=True, text=True, check=True).stdout
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    if non_2xx:
        raise RuntimeError(f"{url}: {non_2xx.group(1)} failed requests\n{output}")
    return float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--users", type=int, default=20_000)
    parser.add_argument("--kudos", type=int, default=500_000)
    parser.add_argument("--seconds", type=int, default=10)
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("wrk is needed: apt-get install wrk")
    with throwaway_postgres() as url:
        engine = make_engine(url)
        command.upgrade(alembic_config(url), "head")
        with Session(engine) as session:
            print(
                seed_synthetic(
                    session,
                    users=args.users,
                    kudos=args.kudos,
                    months=24,
                    seed=1,
                    zone=ZoneInfo("UTC"),
                )
            )
            viewer = session.scalar(select(Person).order_by(Person.id).limit(1))
            viewer.onboarding_postponed_at = utcnow()  # straight to the page, no onboarding
            session.commit()
            viewer_session = f"{viewer.id}:{viewer.session_version}"
        engine.dispose()
        env = {
            **os.environ,
            "KUDOS_DATABASE_URL": url,
            "KUDOS_SECRET_KEY": SECRET,
            "KUDOS_COOKIE_SECURE": "false",
        }
        app = create_app({"DATABASE_URL": url, "SECRET_KEY": SECRET})
        cookie = app.session_interface.get_signing_serializer(app).dumps(
            {"_user_id": viewer_session, "_fresh": True}
        )
        kudos_port, bare_port = free_port(), free_port()
        servers = [serve("wsgi:app", kudos_port, env), serve("bench.bare_app:app", bare_port, env)]
        try:
            page = f"http://127.0.0.1:{kudos_port}/leaderboard"
            check = requests.get(
                page, cookies={"session": cookie}, allow_redirects=False, timeout=30
            )
            if check.status_code != 200 or "Top appreciators" not in check.text:
                raise RuntimeError(f"the page answered {check.status_code}")
            bare = wrk(f"http://127.0.0.1:{bare_port}/", None, args.seconds)
            board = wrk(page, cookie, args.seconds)
        finally:
            for server in servers:
                server.terminate()
                server.wait()
    print(f"gunicorn, 2 workers, wrk -t2 -c8 for {args.seconds} s each:")
    print(f"  bare Flask endpoint   {bare:9.0f} requests/s")
    print(
        f"  leaderboard page      {board:9.0f} requests/s  ({board / bare:.2f} of bare; "
        "target at least 0.25)"
    )


if __name__ == "__main__":
    main()
