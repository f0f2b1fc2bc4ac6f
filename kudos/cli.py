"""The ``kudos`` command (also available as ``flask --app kudos …``).

``kudos --demo COMMAND`` runs a command on the demo's database (what
``./scripts/demo`` serves) with the demo's settings. A command that needs a
database first checks that it is there and migrated, and otherwise says in
one line which database and what to do, before anything could create an
empty SQLite file.
"""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click
from alembic import command as alembic_command
from flask import current_app
from flask.cli import AppGroup, FlaskGroup, ScriptInfo, with_appcontext
from sqlalchemy import make_url
from sqlalchemy.exc import OperationalError, SQLAlchemyError

import config
from config import shown_url
from kudos import revisions
from kudos.db import first_line
from kudos.doctor import doctor_command
from kudos.extensions import db
from kudos.migrate import alembic_config

db_cli = AppGroup("db", help="Create and upgrade the database schema (Alembic).")
users_cli = AppGroup("users", help="Manage the people directory.")
admins_cli = AppGroup("admins", help="Grant and remove admin rights.")
outbox_cli = AppGroup("outbox", help="Deliver queued e-mail and Slack messages.")
tokens_cli = AppGroup("tokens", help="Personal API tokens.")
rollups_cli = AppGroup("rollups", help="Leaderboard rollups.")
summaries_cli = AppGroup("summaries", help="The managers' monthly summaries.")


Command = TypeVar("Command", bound=Callable[..., Any])


def _alembic() -> object:
    return alembic_config(current_app.config["DATABASE_URL"])


# Is the database there? ---------------------------------------------------------


def _sqlite_file(url: str) -> Path | None:
    """The file of a SQLite URL (None for other engines and in-memory ones)."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    return Path(parsed.database)


def _in_demo() -> bool:
    return bool(current_app.config.get("DEMO"))


def _upgrade_command() -> str:
    return "kudos --demo db upgrade" if _in_demo() else "kudos db upgrade"


def _no_file(path: Path) -> str:
    if _in_demo():
        return (
            f"there is no demo database at {path} yet: run ./scripts/demo first "
            "(or kudos demo --no-serve)"
        )
    if not path.parent.is_dir():
        return (
            f"there is no database at {path}, nor a folder {path.parent}: check "
            "KUDOS_DATABASE_URL, or create the folder and run `kudos db upgrade`"
        )
    from kudos.demo.runner import demo_database

    hint = ""
    if "KUDOS_DATABASE_URL" not in os.environ and demo_database().exists():
        command = " ".join(click.get_current_context().command_path.split()[1:])
        hint = f"; for the demo's database, run: kudos --demo {command} …"
    return (
        f"there is no database at {path}: create it with `kudos db upgrade`, or set "
        f"KUDOS_DATABASE_URL to the one to use{hint}"
    )


def _schema_problem(url: str) -> str | None:
    try:
        schema = revisions.state_of(db.session)
    except SQLAlchemyError as error:
        return f"cannot open the database {shown_url(url)}: {first_line(error)}"
    current, heads = schema.shown(schema.current), schema.shown(schema.heads)
    if schema.state == "at head":
        return None
    if schema.state == "empty":
        return f"the database {shown_url(url)} has no Kudos tables yet: run `{_upgrade_command()}`"
    if schema.state == "newer":
        return (
            f"the database {shown_url(url)} is at revision {current}, which "
            "this version of Kudos does not know: was it upgraded by a newer one?"
        )
    if schema.state == "foreign":
        return (
            f"the database {shown_url(url)} is at revision {current}, not one of Kudos': "
            "is it another application's database?"
        )
    return (
        f"the database {shown_url(url)} is at revision {current}, not {heads}: "
        f"run `{_upgrade_command()}`"
    )


def database_problem(*, migrated: bool = True) -> str | None:
    """Why the configured database cannot be used (one line), or None.
    A missing SQLite file is never opened: that would create it empty."""
    url = current_app.config["DATABASE_URL"]
    path = _sqlite_file(url)
    if path is not None and not path.exists():
        return _no_file(path)
    return _schema_problem(url) if migrated else None


def needs_database(*, migrated: bool = True) -> Callable[[Command], Command]:
    """Stop the command with one line when its database is missing, or (with
    ``migrated``) not at this version's schema."""

    def decorate(command: Command) -> Command:
        @functools.wraps(command)
        def checked(*args: Any, **kwargs: Any) -> Any:  # noqa: ANN401
            if (problem := database_problem(migrated=migrated)) is not None:
                raise click.ClickException(problem)
            return command(*args, **kwargs)

        return checked  # type: ignore[return-value]

    return decorate


# Commands -------------------------------------------------------------------------


@db_cli.command("upgrade")
@click.argument("revision", default="head")
def db_upgrade(revision: str) -> None:
    """Upgrade the schema to REVISION (default: the newest); creates the database."""
    path = _sqlite_file(current_app.config["DATABASE_URL"])
    if path is not None and not path.parent.is_dir():
        raise click.ClickException(
            f"cannot create the database {path}: the folder {path.parent} does not exist"
        )
    try:
        alembic_command.upgrade(_alembic(), revision)
    except OperationalError as error:
        raise click.ClickException(
            f"cannot open the database {shown_url(current_app.config['DATABASE_URL'])}: "
            f"{first_line(error)}"
        ) from None
    click.echo(f"Database is at revision {revision}.")


@db_cli.command("downgrade")
@click.argument("revision")
@needs_database(migrated=False)
def db_downgrade(revision: str) -> None:
    """Downgrade the schema to REVISION (e.g. -1, or base for an empty database)."""
    alembic_command.downgrade(_alembic(), revision)
    click.echo(f"Database downgraded to {revision}.")


@db_cli.command("current")
@needs_database(migrated=False)
def db_current() -> None:
    """Show the schema revision the database is at."""
    alembic_command.current(_alembic(), verbose=False)


@db_cli.command("revision")
@click.option("-m", "--message", required=True, help="What the migration does.")
@click.option("--autogenerate/--empty", default=True, help="Compare the models with the database.")
@needs_database(migrated=False)
def db_revision(message: str, autogenerate: bool) -> None:
    """Write a new migration (for developers)."""
    alembic_command.revision(_alembic(), message=message, autogenerate=autogenerate)


@users_cli.command("import")
@click.argument("csv_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--deactivate-missing",
    is_flag=True,
    help="Deactivate people who are active but absent from the file.",
)
@needs_database()
def users_import(csv_file: Path, deactivate_missing: bool) -> None:
    """Create or update people from CSV_FILE (email,name,title,department,team,manager_email).

    The whole file is checked first; if any row is bad, every problem is
    listed with its line number and nothing is imported.
    """
    from kudos import progress
    from kudos.people.directory import DirectoryImportError, import_directory

    try:
        with progress.shown("users import") as on_progress:
            report = import_directory(
                db.session,
                csv_file.read_bytes(),
                deactivate_missing=deactivate_missing,
                on_progress=on_progress,
            )
    except DirectoryImportError as exc:
        db.session.rollback()
        click.echo(
            f"{csv_file}: nothing was imported, because of {len(exc.problems)} "
            f"problem{'s' if len(exc.problems) != 1 else ''}:",
            err=True,
        )
        for problem in exc.problems:
            click.echo(f"  {problem}", err=True)
        sys.exit(1)
    db.session.commit()
    click.echo(f"{csv_file}: {report.summary()}")


def _person_by_email(email: str):  # noqa: ANN202
    from sqlalchemy import select

    from kudos.people.models import Person, normalize_email

    person = db.session.scalar(select(Person).where(Person.email == normalize_email(email)))
    if person is None:
        raise click.ClickException(f"nobody with the e-mail {email} is in the directory")
    return person


@admins_cli.command("add")
@click.argument("email")
@needs_database()
def admins_add(email: str) -> None:
    """Make EMAIL an admin (kept whatever the identity provider's groups say)."""
    from kudos.audit.services import record

    person = _person_by_email(email)
    person.admin_granted = True
    record(db.session, None, "admin.granted", target_type="person", target_id=person.id)
    db.session.commit()
    click.echo(f"{person.name} <{person.email}> is an admin.")


@admins_cli.command("remove")
@click.argument("email")
@needs_database()
def admins_remove(email: str) -> None:
    """Remove the admin rights granted in Kudos (not those from the provider's group)."""
    from kudos.audit.services import record

    person = _person_by_email(email)
    person.admin_granted = False
    record(db.session, None, "admin.removed", target_type="person", target_id=person.id)
    db.session.commit()
    note = " (still an admin through the identity provider's group)" if person.is_admin else ""
    click.echo(f"{person.name} <{person.email}> is no longer an admin in Kudos{note}.")


@admins_cli.command("list")
@needs_database()
def admins_list() -> None:
    """List admins and where their rights come from."""
    from sqlalchemy import select

    from kudos.people.models import Person

    admins = db.session.scalars(select(Person).where(Person.is_admin).order_by(Person.email))
    for person in admins:
        sources = [
            label
            for label, flag in (
                ("kudos", person.admin_granted),
                ("provider group", person.admin_from_group),
            )
            if flag
        ]
        click.echo(f"{person.email}\t{person.name}\t{', '.join(sources)}")


@outbox_cli.command("deliver")
@click.option("--loop", is_flag=True, help="Keep running as a worker (Ctrl+C to stop).")
@click.option(
    "--interval",
    default=30,
    show_default=True,
    type=click.IntRange(1, 3600),
    help="Seconds between runs with --loop.",
)
@needs_database()
def outbox_deliver(loop: bool, interval: int) -> None:
    """Send the e-mails (KUDOS_SMTP_URL) and Slack messages that are due."""
    import time

    from kudos import progress
    from kudos.db import utcnow
    from kudos.outbox.services import deliver_due
    from kudos.slack import delivery

    smtp_url = current_app.config.get("SMTP_URL")
    slack = current_app.config.get("SLACK_ENABLED")
    if not smtp_url and not slack:
        raise click.ClickException(
            "nothing to deliver through: set KUDOS_SMTP_URL for e-mail, or connect Slack"
        )
    client = delivery.web_client() if slack else None
    while True:
        if smtp_url:
            with progress.shown("outbox deliver") as on_progress:
                report = deliver_due(
                    db.session,
                    smtp_url,
                    current_app.config["MAIL_FROM"],
                    now=utcnow(),
                    on_progress=on_progress,
                )
            click.echo(f"Outbox (e-mail): {report}")
        if client is not None:
            with progress.shown("outbox deliver") as on_progress:
                slack_report = delivery.deliver_due(
                    db.session, client, now=utcnow(), on_progress=on_progress
                )
            click.echo(f"Outbox (Slack): {slack_report}")
        if not loop:
            return
        time.sleep(interval)


@outbox_cli.command("status")
@needs_database()
def outbox_status() -> None:
    """Count queued, sent and failed e-mails and Slack messages."""
    from sqlalchemy import func, select

    from kudos.outbox.models import TRANSPORTS, OutboxMessage

    counts = {
        (transport, status): count
        for transport, status, count in db.session.execute(
            select(OutboxMessage.transport, OutboxMessage.status, func.count()).group_by(
                OutboxMessage.transport, OutboxMessage.status
            )
        )
    }
    for transport in TRANSPORTS:
        label = {"email": "E-mail", "slack": "Slack"}[transport]
        click.echo(
            f"{label}: "
            + ", ".join(
                f"{counts.get((transport, status), 0)} {status}"
                for status in ("pending", "sent", "failed")
            )
        )


@tokens_cli.command("create")
@click.argument("email")
@click.option("--name", default="Created on the command line", show_default=True)
@click.option(
    "--expires-in-days",
    type=click.IntRange(1, config.MAX_TOKEN_DAYS),
    help="Days until the token expires (default: KUDOS_API_TOKEN_DAYS, 90 unless set).",
)
@click.option("--no-expiry", is_flag=True, help="A token that never expires (revoke it by hand).")
@needs_database()
def tokens_create(email: str, name: str, expires_in_days: int | None, no_expiry: bool) -> None:
    """Create an API token for EMAIL and print it (it is shown only once)."""
    from kudos.auth.tokens import TokenRejected, create_token, expiry_for
    from kudos.db import utcnow

    if no_expiry and expires_in_days is not None:
        raise click.UsageError("choose either --expires-in-days or --no-expiry, not both")
    person = _person_by_email(email)
    now = utcnow()
    days = None if no_expiry else expires_in_days or current_app.config["API_TOKEN_DAYS"]
    try:
        token, raw = create_token(
            db.session, person, name, now=now, expires_at=expiry_for(days, now=now)
        )
    except TokenRejected as rejected:
        raise click.ClickException(str(rejected)) from None
    db.session.commit()
    click.echo(raw)
    expiry = (
        f"expires {token.expires_at:%Y-%m-%d %H:%M} UTC" if token.expires_at else "never expires"
    )
    click.echo(f"API token for {person.email}; it {expiry} and is shown only once.", err=True)


@rollups_cli.command("rebuild")
@needs_database()
def rollups_rebuild() -> None:
    """Recompute the leaderboard rollups (after changing KUDOS_TIMEZONE)."""
    from zoneinfo import ZoneInfo

    from kudos import progress
    from kudos.leaderboard.rollups import rebuild

    with progress.shown("rollups rebuild") as on_progress:
        months = rebuild(
            db.session, ZoneInfo(current_app.config["TIMEZONE"]), on_progress=on_progress
        )
        on_progress("committing", 0, None)
        db.session.commit()
    click.echo(
        f"Leaderboard rollups rebuilt for {months} months ({current_app.config['TIMEZONE']})."
    )


@summaries_cli.command("send")
@click.option(
    "--month",
    "month_text",
    help="YYYY-MM in the company's time zone (default: last month).",
)
@needs_database()
def summaries_send(month_text: str | None) -> None:
    """Queue each manager's summary for MONTH by e-mail (once: safe to run again)."""
    from zoneinfo import ZoneInfo

    from kudos import progress
    from kudos.db import utcnow
    from kudos.summary.digest import send_digests
    from kudos.timeutil import Month
    from kudos.urls import base_url

    if not current_app.config.get("SMTP_URL"):
        raise click.ClickException("e-mail is off: set KUDOS_SMTP_URL to send summaries")
    zone = ZoneInfo(current_app.config["TIMEZONE"])
    now = utcnow()
    try:
        month = Month.parse(month_text) if month_text else Month.containing(now, zone).previous()
    except ValueError as error:
        raise click.BadParameter(str(error), param_hint="--month") from None
    # Templates need a request context; every link in them comes from KUDOS_BASE_URL.
    with (
        current_app.test_request_context("/", base_url=base_url()),
        progress.shown("summaries send") as on_progress,
    ):
        report = send_digests(db.session, month, now=now, zone=zone, on_progress=on_progress)
    db.session.commit()
    click.echo(f"Summaries for {month}: {report}")


@click.command("demo")
@click.option(
    "--port",
    default=5000,
    show_default=True,
    type=click.IntRange(1, 65535),
    help="Port on 127.0.0.1 (if it is taken, the demo says so and stops).",
)
@click.option("--no-serve", is_flag=True, help="Prepare the demo database and exit.")
@click.option(
    "--database",
    type=click.Path(dir_okay=False, path_type=Path),
    help="SQLite file to use (default: instance/kudos-demo.sqlite3).",
)
def demo_command(port: int, no_serve: bool, database: Path | None) -> None:
    """Run Kudos with a demo organisation on a local SQLite database."""
    from kudos.demo.runner import run_demo

    run_demo(port=port, serve=not no_serve, database=database)


@click.command("seed")
@click.option(
    "--users",
    "user_count",
    default=1000,
    show_default=True,
    type=click.IntRange(0),
    help="New people to add (kudos go between everyone active).",
)
@click.option("--kudos", "kudos_count", default=10000, show_default=True, type=click.IntRange(0))
@click.option("--months", default=6, show_default=True, type=click.IntRange(1, 60))
@click.option("--seed", "random_seed", default=1, show_default=True, help="Random seed.")
@with_appcontext
@needs_database()
def seed_command(user_count: int, kudos_count: int, months: int, random_seed: int) -> None:
    """Add synthetic people and kudos (for benchmarks)."""
    from zoneinfo import ZoneInfo

    from kudos import progress
    from kudos.demo.synthetic import seed_synthetic

    with progress.shown("seed") as on_progress:
        report = seed_synthetic(
            db.session,
            users=user_count,
            kudos=kudos_count,
            months=months,
            seed=random_seed,
            zone=ZoneInfo(current_app.config["TIMEZONE"]),
            on_progress=on_progress,
        )
        on_progress("committing", 0, None)
        db.session.commit()
    click.echo(report)


def register(group: click.Group) -> None:
    group.add_command(db_cli)
    group.add_command(users_cli)
    group.add_command(admins_cli)
    group.add_command(outbox_cli)
    group.add_command(tokens_cli)
    group.add_command(rollups_cli)
    group.add_command(summaries_cli)
    group.add_command(seed_command)
    from kudos.scim.cli import scim_cli  # they use needs_database, from here
    from kudos.slack.cli import slack_cli

    group.add_command(scim_cli)
    group.add_command(slack_cli)


def _create_app():  # noqa: ANN202 - FlaskGroup's factory signature
    ctx = click.get_current_context(silent=True)
    info = ctx.find_object(ScriptInfo) if ctx is not None else None
    if info is not None and info.data.get("demo"):
        from kudos.demo.runner import demo_app, demo_database

        # A command on the demo's database writes nothing else (no secret file).
        return demo_app(demo_database(), for_serving=False)
    from kudos import create_app

    return create_app()


def _use_demo(ctx: click.Context, _param: click.Parameter, demo: bool) -> None:
    if demo:
        ctx.ensure_object(ScriptInfo).data["demo"] = True


class KudosGroup(FlaskGroup):
    def main(self, *args, **kwargs):  # noqa: ANN002, ANN003, ANN201
        try:
            return super().main(*args, **kwargs)
        except config.ConfigError as exc:
            click.echo("kudos: the configuration is not usable:", err=True)
            for problem in exc.problems:
                click.echo(f"  - {problem}", err=True)
            _suggest_demo()
            sys.exit(2)
        except OperationalError as exc:
            # The commands check their database first; this is for one that
            # went away while a command ran.
            click.echo(f"kudos: the database could not be used: {first_line(exc)}", err=True)
            sys.exit(1)


def _suggest_demo() -> None:
    """After a configuration error, in a checkout where the demo has run."""
    from kudos.demo.runner import demo_database

    if "KUDOS_DATABASE_URL" not in os.environ and demo_database().exists():
        click.echo(
            "For the demo's database (./scripts/demo), run the command as: kudos --demo …",
            err=True,
        )


cli = KudosGroup(
    create_app=_create_app,
    add_version_option=False,
    help="Kudos: peer recognition for internal customer service.",
    params=[
        click.Option(
            ["--demo"],
            is_flag=True,
            expose_value=False,
            is_eager=True,
            callback=_use_demo,
            help="Use the demo's database and settings (what ./scripts/demo serves), "
            "e.g. kudos --demo tokens create EMAIL.",
        )
    ],
)
cli.add_command(demo_command)
cli.add_command(doctor_command)  # runs without an app: it reports a broken configuration


def main() -> None:
    cli.main(prog_name="kudos")
