"""A throwaway PostgreSQL server for the test suite and the benchmarks.

``initdb`` + ``pg_ctl`` in a temporary directory, on a free port on
127.0.0.1, stopped and deleted afterwards whatever happens. As root (CI), the
server runs as the unprivileged ``postgres`` user, because PostgreSQL
refuses to run as root.
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


@contextlib.contextmanager
def throwaway_postgres() -> Iterator[str]:
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
        # Durability off: this server lives for one test run.
        options = (
            f"-h 127.0.0.1 -p {port} -k {sockdir} -F -c synchronous_commit=off "
            "-c full_page_writes=off -c max_connections=50"
        )
        subprocess.run(
            [*pg_ctl, "-o", options, "-w", "start"], check=True, stdout=subprocess.DEVNULL
        )
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
        yield f"postgresql+psycopg://kudos@127.0.0.1:{port}/kudos_test"
    finally:
        subprocess.run(
            [*pg_ctl, "-m", "immediate", "stop"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            check=False,
        )
        shutil.rmtree(workdir, ignore_errors=True)
