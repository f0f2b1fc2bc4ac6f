"""Progress on the long commands (``kudos/progress.py``): a live bar with the
rate and the time left in a terminal, plain lines now and then elsewhere;
and the five commands that show it, their results on stdout as before."""

from __future__ import annotations

import io
import re
import time
from datetime import UTC, datetime

import pytest

from kudos import progress
from kudos.db import utcnow
from kudos.outbox.services import queue_email
from tests.smtp import mail_settings

ESCAPE = "\x1b"


class Terminal(io.StringIO):
    """What a person watches."""

    def isatty(self) -> bool:
        return True


class Clock:
    """Time that moves when the test says so."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def lines(stream: io.StringIO) -> list[str]:
    return stream.getvalue().splitlines()


# The display ----------------------------------------------------------------------


@pytest.mark.one_engine
def test_a_terminal_gets_a_live_bar_with_the_rate_and_the_time_left(monkeypatch):
    monkeypatch.setenv("TERM", "xterm-256color")
    screen, clock = Terminal(), Clock()

    with progress.shown("seed", stream=screen, clock=clock) as on_progress:
        on_progress("kudos", 0, 100)
        clock.now = 1.0
        on_progress("kudos", 20, 100)
        clock.now = 2.0
        on_progress("kudos", 40, 100)
        # rich redraws ten times a second, on a thread of its own.
        deadline = time.monotonic() + 5
        while "left" not in screen.getvalue() and time.monotonic() < deadline:
            time.sleep(0.01)
        running = screen.getvalue()
        clock.now = 5.0
        on_progress("kudos", 100, 100)

    assert "seed: kudos" in running
    assert "40/100" in running
    assert "20/s" in running  # 20 more each second
    assert "2.0 s, 3.0 s left" in running  # elapsed, and 60 to go at 20/s
    assert ESCAPE in running  # drawn in place, not line after line
    assert "100/100" in screen.getvalue()
    assert "done in 5.0 s" in screen.getvalue()


@pytest.mark.one_engine
def test_elsewhere_a_plain_line_at_most_every_interval_and_one_when_a_phase_ends():
    log, clock = io.StringIO(), Clock()

    with progress.shown("seed", stream=log, interval=5, clock=clock) as on_progress:
        for now, done in ((0, 0), (1, 10), (4, 40), (5, 50), (6, 60), (10, 90), (11, 100)):
            clock.now = now
            on_progress("kudos", done, 100)
        clock.now = 12
        on_progress("statistics", 0, None)
        clock.now = 15

    assert lines(log) == [
        "seed: kudos 50 of 100 (50%), 10/s, about 5.0 s left",
        "seed: kudos 90 of 100 (90%), 9.0/s, about 1.1 s left",
        "seed: kudos 100 of 100 (100%) done in 12 s, 8.3/s",
        "seed: statistics done in 3.0 s",
    ]
    assert "\r" not in log.getvalue()
    assert ESCAPE not in log.getvalue()


@pytest.mark.one_engine
def test_the_last_line_says_how_far_it_got_and_an_empty_phase_says_nothing():
    log, clock = io.StringIO(), Clock()

    with progress.shown("outbox deliver", stream=log, clock=clock) as on_progress:
        on_progress("e-mails", 0, 0)  # nothing due
        on_progress("Slack messages", 0, 300)
        clock.now = 250
        on_progress("Slack messages", 100, 300)  # then Slack said "later"

    assert lines(log) == [
        "outbox deliver: Slack messages 100 of 300 (33%), 0.4/s, about 8 min 20 s left",
        "outbox deliver: Slack messages 100 of 300 (33%) stopped after 4 min 10 s, 0.4/s",
    ]


@pytest.mark.one_engine
def test_a_command_that_fails_says_where_it_stopped():
    log, clock = io.StringIO(), Clock()

    def import_a_bad_file() -> None:
        with progress.shown("users import", stream=log, clock=clock) as on_progress:
            on_progress("reading the directory", 0, None)
            clock.now = 2
            raise ValueError("line 2: missing e-mail")

    with pytest.raises(ValueError, match="missing e-mail"):
        import_a_bad_file()

    assert lines(log) == ["users import: reading the directory stopped after 2.0 s"]


@pytest.mark.one_engine
def test_a_dumb_terminal_gets_plain_lines(monkeypatch):
    monkeypatch.setenv("TERM", "dumb")
    screen = Terminal()

    with progress.shown("seed", stream=screen, interval=0) as on_progress:
        on_progress("kudos", 5, 10)

    assert ESCAPE not in screen.getvalue()
    assert lines(screen)[-1].startswith("seed: kudos 5 of 10 (50%) stopped after")


# The commands ---------------------------------------------------------------------


@pytest.fixture
def app_overrides(smtp):
    return mail_settings(smtp)


@pytest.fixture
def every_step(monkeypatch):
    """A line for each step, as a slow run gets one every few seconds."""
    monkeypatch.setattr(progress, "INTERVAL", 0)


def steps(stderr: str, prefix: str) -> list[str]:
    """The progress lines of one phase, checked plain."""
    assert "\r" not in stderr
    assert ESCAPE not in stderr
    return [line for line in stderr.splitlines() if line.startswith(prefix)]


def test_seed_shows_its_progress(runner, every_step):
    result = runner.invoke(args=["seed", "--users", "20", "--kudos", "30", "--months", "2"])

    assert result.exit_code == 0, result.output
    assert result.stdout == "Seeded 20 people and 30 kudos over 2 months.\n"
    people = steps(result.stderr, "seed: people ")
    assert people[0] == "seed: people 0 of 20 (0%)"
    assert people[-1].startswith("seed: people 20 of 20 (100%) done in ")
    assert len(people) == 5  # the start, heads, team managers, the others, the end
    assert re.search(r"^seed: leaderboard months \d of \d \(100%\) done in ", result.stderr, re.M)
    assert steps(result.stderr, "seed: committing done in ")


def test_rollups_rebuild_shows_its_progress(runner, make, every_step):
    ann, ben = make.person(name="Ann"), make.person(name="Ben")
    make.kudos(ann, [ben], at=datetime(2026, 9, 10, tzinfo=UTC))
    make.kudos(ben, [ann], at=datetime(2026, 11, 10, tzinfo=UTC))

    result = runner.invoke(args=["rollups", "rebuild"])

    assert result.exit_code == 0, result.output
    assert result.stdout == "Leaderboard rollups rebuilt for 3 months (UTC).\n"
    months = steps(result.stderr, "rollups rebuild: leaderboard months ")
    assert [line.split(" (")[0] for line in months] == [
        "rollups rebuild: leaderboard months 0 of 3",
        "rollups rebuild: leaderboard months 1 of 3",
        "rollups rebuild: leaderboard months 2 of 3",
        "rollups rebuild: leaderboard months 3 of 3",
        "rollups rebuild: leaderboard months 3 of 3",  # done
    ]
    assert months[-1].startswith("rollups rebuild: leaderboard months 3 of 3 (100%) done in ")
    assert steps(result.stderr, "rollups rebuild: leaderboard scores done in ")


def test_users_import_shows_its_progress(runner, tmp_path, every_step):
    path = tmp_path / "people.csv"
    path.write_text(
        "email,name,title,department,team,manager_email\n"
        "ana@acme.example.com,Ana Souza,,,,\n"
        "bo@acme.example.com,Bo Ss,,,,ana@acme.example.com\n"
        "cy@acme.example.com,Cy Press,,,,ana@acme.example.com\n"
    )

    result = runner.invoke(args=["users", "import", str(path)])

    assert result.exit_code == 0, result.output
    assert result.stdout == f"{path}: 3 created, 0 updated, 0 unchanged, 0 deactivated.\n"
    checked = steps(result.stderr, "users import: checking lines ")
    assert checked[-1].startswith("users import: checking lines 3 of 3 (100%) done in ")
    people = steps(result.stderr, "users import: people ")
    assert [line.split(" (")[0] for line in people] == [
        "users import: people 0 of 3",
        "users import: people 1 of 3",
        "users import: people 2 of 3",
        "users import: people 3 of 3",
        "users import: people 3 of 3",  # done
    ]
    assert people[-1].startswith("users import: people 3 of 3 (100%) done in ")


def test_summaries_send_shows_its_progress(runner, make, every_step):
    maya = make.person(name="Maya Manager", email="maya@acme.example.com")
    tom = make.person(name="Tom", manager=maya)
    fay = make.person(name="Fay")
    make.kudos(fay, [tom], at=datetime(2026, 10, 12, tzinfo=UTC))

    result = runner.invoke(args=["summaries", "send", "--month", "2026-10"])

    assert result.exit_code == 0, result.output
    assert result.stdout == (
        "Summaries for 2026-10: 1 summaries queued, 0 already queued before "
        "(run `kudos outbox deliver` to send them).\n"
    )
    managers = steps(result.stderr, "summaries send: managers ")
    assert managers[-1].startswith("summaries send: managers 1 of 1 (100%) done in ")


def test_outbox_deliver_shows_its_progress(runner, session, smtp, every_step):
    for name in ("ana", "bo"):
        queue_email(
            session,
            kind="kudos",
            to_address=f"{name}@acme.example.com",
            subject=f"Hi {name}",
            text_body="Hello",
            html_body=None,
            now=utcnow(),
        )
    session.commit()

    result = runner.invoke(args=["outbox", "deliver"])

    assert result.exit_code == 0, result.output
    assert result.stdout == "Outbox (e-mail): 2 sent, 0 to retry later, 0 failed.\n"
    sent = steps(result.stderr, "outbox deliver: e-mails ")
    assert [line.split(" (")[0] for line in sent] == [
        "outbox deliver: e-mails 0 of 2",
        "outbox deliver: e-mails 1 of 2",
        "outbox deliver: e-mails 2 of 2",
        "outbox deliver: e-mails 2 of 2",  # done
    ]
    assert sent[-1].startswith("outbox deliver: e-mails 2 of 2 (100%) done in ")
    assert len(smtp.inbox.messages) == 2
