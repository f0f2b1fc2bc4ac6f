"""A throwaway PostgreSQL server for the test suite and the benchmarks.

``initdb`` + ``pg_ctl`` in a temporary directory, on a free port on
127.0.0.1, stopped and deleted afterwards whatever happens. As root (CI), the
server runs as the unprivileged ``postgres`` user, because PostgreSQL
refuses to run as root. ``postgres_server`` also lets a fault test stop the
server and start it again.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import socket
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path


def postgres_bindir() -> Path:
    candidates = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/initdb"),
        key=lambda path: int(Path(path).parts[-3]),
    )
    if not candidates:
        found = shutil.which("initdb")
        if found is None:
            sys.exit(
                "PostgreSQL server binaries (initdb, pg_ctl) not found: apt-get install postgresql"
            )
        return Path(found).parent
    return Path(candidates[-1]).parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class PostgresServer:
    """A running throwaway server that a fault test can stop and start again."""

    def __init__(self, pg_ctl: list[str], options: str, url: str) -> None:
        self.pg_ctl, self.options, self.url = pg_ctl, options, url

    def stop(self, mode: str = "fast") -> None:
        """``fast`` rolls back open transactions and disconnects everyone;
        ``immediate`` kills the server as a crash would (recovery at start)."""
        subprocess.run(
            [*self.pg_ctl, "-m", mode, "-w", "stop"], check=True, stdout=subprocess.DEVNULL
        )

    def start(self) -> None:
        subprocess.run(
            [*self.pg_ctl, "-o", self.options, "-w", "start"],
            check=True,
            stdout=subprocess.DEVNULL,
        )


@contextlib.contextmanager
def throwaway_postgres() -> Iterator[str]:
    with postgres_server() as server:
        yield server.url


@contextlib.contextmanager
def postgres_server(*, durable: bool = False) -> Iterator[PostgresServer]:
    """``durable`` keeps synchronous commits, so a commit the server has
    acknowledged survives ``stop("immediate")``; the fault tests need that.
    fsync stays off either way: the machine itself does not crash."""
    bindir = postgres_bindir()
    workdir = Path(tempfile.mkdtemp(prefix="kudos-pg-"))
    datadir, sockdir, logfile = workdir / "data", workdir / "sock", workdir / "server.log"
    sockdir.mkdir()
    run_as: list[str] = []
    if os.geteuid() == 0:
        account = pwd.getpwnam("postgres")
        for path in (workdir, sockdir):
            os.chown(path, account.pw_uid, account.pw_gid)
        run_as = ["runuser", "-u", "postgres", "--"]
    port = free_port()
    pg_ctl = [*run_as, str(bindir / "pg_ctl"), "-D", str(datadir), "-l", str(logfile)]
    try:
        subprocess.run(
            [
                *run_as,
                str(bindir / "initdb"),
                "-D",
                str(datadir),
                "-U",
                "kudos",
                "-A",
                "trust",
                "-E",
                "UTF8",
                "--no-locale",
                "--no-sync",
            ],
            check=True,
            stdout=subprocess.DEVNULL,
        )
        # Durability off (unless asked for): this server lives for one test run.
        options = (
            f"-h 127.0.0.1 -p {port} -k {sockdir} -F -c full_page_writes=off "
            f"-c synchronous_commit={'on' if durable else 'off'} -c max_connections=50"
        )
        server = PostgresServer(pg_ctl, options, "")
        server.start()
        subprocess.run(
            [
                *run_as,
                str(bindir / "createdb"),
                "-h",
                "127.0.0.1",
                "-p",
                str(port),
                "-U",
                "kudos",
                "kudos_test",
            ],
            check=True,
        )
        server.url = f"postgresql+psycopg://kudos@127.0.0.1:{port}/kudos_test"
        yield server
    finally:
        subprocess.run(
            [*pg_ctl, "-m", "immediate", "stop"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            check=False,
        )
        shutil.rmtree(workdir, ignore_errors=True)


@contextlib.contextmanager
def database_of_its_own(
    server_url: str, prefix: str, settings: dict[str, str] | None = None
) -> Iterator[str]:
    """A new, empty database on the server ``server_url`` names (with these
    ``ALTER DATABASE … SET`` settings), dropped afterwards whoever is still
    connected: for tests whose data must be committed for real."""
    from sqlalchemy import make_url, text

    from kudos.db import make_engine

    name = f"{prefix}_{uuid.uuid4().hex[:8]}"
    admin = make_engine(server_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
        for setting, value in (settings or {}).items():
            connection.execute(text(f"ALTER DATABASE \"{name}\" SET {setting} = '{value}'"))
    try:
        yield make_url(server_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
