"""What the benchmarks share: a median timer, and a signed-in Kudos page
served by gunicorn and loaded with wrk against a bare Flask endpoint served
the same way in the same run (machines are noisy; the ratio is the figure)."""

from __future__ import annotations

import http.client
import os
import re
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import requests
from flask import Flask
from flask_login.utils import _create_identifier
from sqlalchemy import Engine, event

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from kudos import create_app, reads  # noqa: E402
from kudos.auth.sessions import SIGNED_IN_AT_KEY  # noqa: E402
from tests.oidc_provider import free_port  # noqa: E402

RUNS = 7
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


def median_ms(action: Callable[[], object], runs: int = RUNS) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        action()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def serve(
    app_spec: str, port: int, env: dict[str, str], *, log: Path | None = None
) -> subprocess.Popen:
    """gunicorn, once it answers (a busy machine may take a few seconds).
    Its standard error, Kudos' log among it (one line a request), goes to a
    file as a server's would, ``log`` or one in the temporary directory: to
    the terminal, thousands of lines a second would slow it down."""
    log = log or Path(tempfile.gettempdir()) / f"kudos-bench-{port}.log"
    with log.open("ab") as stderr:
        process = subprocess.Popen(
            [*GUNICORN, "--bind", f"127.0.0.1:{port}", app_spec], cwd=ROOT, env=env, stderr=stderr
        )
    for _ in range(300):
        try:
            requests.get(f"http://127.0.0.1:{port}/", timeout=10, allow_redirects=False)
            return process
        except requests.RequestException:
            time.sleep(0.2)
    process.terminate()
    raise RuntimeError(f"{app_spec} did not start: see {log}")


def wrk(url: str, cookie: str | None, seconds: int) -> float:
    command_line = ["wrk", "-t2", "-c8", f"-d{seconds}s", url]
    if cookie:
        command_line[1:1] = ["-H", f"Cookie: session={cookie}"]
    output = subprocess.run(command_line, capture_output=True, text=True, check=True).stdout
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    if non_2xx:
        raise RuntimeError(f"{url}: {non_2xx.group(1)} failed requests\n{output}")
    return float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))


def kudos_env(database_url: str, base_url: str) -> dict[str, str]:
    """The environment Kudos runs with under gunicorn in the benchmarks."""
    return {
        **os.environ,
        "KUDOS_DATABASE_URL": database_url,
        "KUDOS_SECRET_KEY": SECRET,
        "KUDOS_BASE_URL": base_url,
        "KUDOS_COOKIE_SECURE": "false",
        # wrk is one person asking thousands of times a second: a script,
        # which the rate limits would stop.
        "KUDOS_RATELIMIT_ENABLED": "false",
    }


def session_cookie(app: Flask, person_session: str, *, user_agent: str | None = None) -> str:
    """The session cookie of ``person_session`` ("id:version") signed in just
    now, as sign-in makes it, for a client from 127.0.0.1 sending
    ``user_agent`` (wrk sends none).

    It is permanent, as sign-in makes it, and holds Flask-Login's
    fingerprint of the client and a CSRF secret, as a browser's does after
    its first page, so pages never rewrite it."""
    headers = {"User-Agent": user_agent} if user_agent is not None else {}
    with app.test_request_context(environ_base={"REMOTE_ADDR": "127.0.0.1"}, headers=headers):
        identifier = _create_identifier()
    return app.session_interface.get_signing_serializer(app).dumps(
        {
            "_permanent": True,
            "_user_id": person_session,
            "_fresh": True,
            "_id": identifier,
            SIGNED_IN_AT_KEY: int(time.time()),
            "csrf_token": secrets.token_hex(20),
        }
    )


@dataclass(frozen=True)
class Answer:
    status: int
    text: str
    sets_session: bool


def fetch(port: int, method: str, path: str, headers: dict[str, str], body: str = "") -> Answer:
    """One request sent as wrk sends it: no User-Agent (which Flask-Login's
    fingerprint of the client includes; requests and urllib3 add one)."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        connection.request(method, path, body=body.encode() or None, headers=headers)
        response = connection.getresponse()
        cookies = response.headers.get_all("Set-Cookie") or []
        return Answer(
            response.status,
            response.read().decode(errors="replace"),
            any(cookie.startswith("session=") for cookie in cookies),
        )
    finally:
        connection.close()


def page_against_bare(
    database_url: str, viewer_session: str, path: str, expected: str, seconds: int
) -> tuple[float, float]:
    """Requests per second of the bare endpoint and of Kudos' ``path`` as
    the person ``viewer_session`` ("id:version"), both under gunicorn."""
    if shutil.which("wrk") is None:
        sys.exit("wrk is needed: apt-get install wrk")
    kudos_port, bare_port = free_port(), free_port()
    base_url = f"http://127.0.0.1:{kudos_port}"
    env = kudos_env(database_url, base_url)
    app = create_app({"DATABASE_URL": database_url, "SECRET_KEY": SECRET, "BASE_URL": base_url})
    cookie = session_cookie(app, viewer_session)
    servers = [serve("wsgi:app", kudos_port, env), serve("bench.bare_app:app", bare_port, env)]
    try:
        check = fetch(kudos_port, "GET", path, {"Cookie": f"session={cookie}"})
        if check.status != 200 or expected not in check.text:
            raise RuntimeError(f"{path} answered {check.status}")
        if check.sets_session:
            raise RuntimeError(f"{path} rewrites the session on every request")
        bare = wrk(f"http://127.0.0.1:{bare_port}/", None, seconds)
        measured = wrk(f"http://127.0.0.1:{kudos_port}{path}", cookie, seconds)
    finally:
        for server in servers:
            server.terminate()
            server.wait()
    return bare, measured


@contextmanager
def recording_sql(engine: Engine) -> Iterator[list[tuple[str, object]]]:
    """Every statement the app sends while the block runs, with its
    parameters: through ``engine``, and the reads that go around the
    session (``kudos/reads.py``), which run straight on the driver without
    SQLAlchemy's events and are recorded where they run."""
    recorded: list[tuple[str, object]] = []

    def record(_conn, _cursor, statement, parameters, *_args) -> None:  # noqa: ANN001
        recorded.append((statement, parameters))

    fetch = reads._fetch_in_autocommit

    def fetch_recorded(engine_, sql, parameters):  # noqa: ANN001, ANN202
        recorded.append((sql, parameters))
        return fetch(engine_, sql, parameters)

    event.listen(engine, "before_cursor_execute", record)
    reads._fetch_in_autocommit = fetch_recorded
    try:
        yield recorded
    finally:
        reads._fetch_in_autocommit = fetch
        event.remove(engine, "before_cursor_execute", record)
