"""Run the suite on SQLite and on a throwaway PostgreSQL server, side by side.

Both runs go at once (two cores), each to its own log; then both logs are
printed, each engine's result, and a total. Extra arguments go to pytest.
Both runs share a throwaway Redis server for the rate-limit tests (each test
uses keys of its own).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.pgserver import throwaway_postgres  # noqa: E402
from tests.redisserver import throwaway_redis  # noqa: E402

PYTHON = sys.executable


def start_suite(
    engine: str, database_url: str | None, redis_url: str, args: list[str]
) -> tuple[subprocess.Popen, Path]:
    env = dict(os.environ)
    env.pop("KUDOS_TEST_DATABASE_URL", None)
    env["KUDOS_TEST_REDIS_URL"] = redis_url
    if database_url:
        env["KUDOS_TEST_DATABASE_URL"] = database_url
    log = Path(tempfile.mkstemp(prefix=f"kudos-tests-{engine}-", suffix=".log")[1])
    process = subprocess.Popen(
        [PYTHON, "-m", "pytest", "-p", "no:cacheprovider", *args],
        cwd=ROOT,
        env=env,
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
    )
    return process, log


def last_line(log: Path) -> str:
    lines = [line for line in log.read_text(errors="replace").splitlines() if line.strip()]
    return lines[-1].strip("= ") if lines else "(no output)"


def counts(summary: str) -> dict[str, int]:
    """{"passed": 3, "failed": 1, ...} from pytest's closing line."""
    return {word: int(number) for number, word in re.findall(r"(\d+) (\w+)", summary)}


def lint() -> bool:
    """ruff's rules from pyproject.toml (the security rules ``S`` among them)
    and its formatter, on the whole tree; a finding fails the run."""
    ruff = Path(PYTHON).with_name("ruff")
    ok = True
    for command in ([str(ruff), "check", "."], [str(ruff), "format", "--check", "."]):
        result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
        if result.returncode != 0:
            print(result.stdout + result.stderr, end="")
            ok = False
    print(f"lint (ruff check, ruff format --check): {'ok' if ok else 'FAILED'}")
    return ok


def main(args: list[str]) -> int:
    started = time.monotonic()
    linted = lint()
    with throwaway_postgres() as postgres_url, throwaway_redis() as redis_url:
        suites = {
            "sqlite": start_suite("sqlite", None, redis_url, args),
            "postgresql": start_suite("postgresql", postgres_url, redis_url, args),
        }
        codes = {engine: process.wait() for engine, (process, _) in suites.items()}
    for engine, (_, log) in suites.items():
        print(f"\n{'=' * 30} {engine} {'=' * 30}")
        print(log.read_text(errors="replace"), end="")
    print(f"\n{'=' * 30} summary ({time.monotonic() - started:.0f} s) {'=' * 30}")
    total = {"passed": 0, "failed": 0, "errors": 0}
    for engine, (_, log) in suites.items():
        verdict = "ok" if codes[engine] == 0 else f"FAILED (exit {codes[engine]})"
        summary = last_line(log)
        print(f"{engine:>10}: {verdict}: {summary}")
        for word, number in counts(summary).items():
            key = "errors" if word.startswith("error") else word
            if key in total:
                total[key] += number
        log.unlink()
    failed = total["failed"] + total["errors"]
    ok = linted and all(code == 0 for code in codes.values())
    if not ok and failed == 0:
        failed = 1  # a suite that crashed or collected nothing counts as a failure
    print(f"total: {total['passed']} passed, {failed} failed")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
