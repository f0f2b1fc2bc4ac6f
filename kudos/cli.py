"""The ``kudos`` command (also available as ``flask --app kudos …``)."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from alembic import command as alembic_command
from flask import current_app
from flask.cli import AppGroup, FlaskGroup, with_appcontext

import config
from kudos.extensions import db
from kudos.migrate import alembic_config

db_cli = AppGroup("db", help="Create and upgrade the database schema (Alembic).")
users_cli = AppGroup("users", help="Manage the people directory.")
admins_cli = AppGroup("admins", help="Grant and remove admin rights.")
outbox_cli = AppGroup("outbox", help="Deliver queued e-mail.")
tokens_cli = AppGroup("tokens", help="Personal API tokens.")
rollups_cli = AppGroup("rollups", help="Leaderboard rollups.")
summaries_cli = AppGroup("summaries", help="The managers' monthly summaries.")


def _alembic() -> object:
    return alembic_config(current_app.config["DATABASE_URL"])


@db_cli.command("upgrade")
@click.argument("revision", default="head")
def db_upgrade(revision: str) -> None:
    """Upgrade the schema to REVISION (default: the newest)."""
    alembic_command.upgrade(_alembic(), revision)
    click.echo(f"Database is at revision {revision}.")


@db_cli.command("downgrade")
@click.argument("revision")
def db_downgrade(revision: str) -> None:
    """Downgrade the schema to REVISION (e.g. -1, or base for an empty database)."""
    alembic_command.downgrade(_alembic(), revision)
    click.echo(f"Database downgraded to {revision}.")


@db_cli.command("current")
def db_current() -> None:
    """Show the schema revision the database is at."""
    alembic_command.current(_alembic(), verbose=False)


@db_cli.command("revision")
@click.option("-m", "--message", required=True, help="What the migration does.")
@click.option("--autogenerate/--empty", default=True, help="Compare the models with the database.")
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
def users_import(csv_file: Path, deactivate_missing: bool) -> None:
    """Create or update people from CSV_FILE (email,name,title,department,team,manager_email).

    The whole file is checked first; if any row is bad, every problem is
    listed with its line number and nothing is imported.
    """
    from kudos.people.directory import DirectoryImportError, import_directory

    try:
        report = import_directory(
            db.session, csv_file.read_bytes(), deactivate_missing=deactivate_missing
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
def outbox_deliver(loop: bool, interval: int) -> None:
    """Send the e-mails that are due through KUDOS_SMTP_URL."""
    import time

    from kudos.db import utcnow
    from kudos.outbox.services import deliver_due

    smtp_url = current_app.config.get("SMTP_URL")
    if not smtp_url:
        raise click.ClickException("e-mail is off: set KUDOS_SMTP_URL to deliver e-mail")
    while True:
        report = deliver_due(db.session, smtp_url, current_app.config["MAIL_FROM"], now=utcnow())
        click.echo(f"Outbox: {report}")
        if not loop:
            return
        time.sleep(interval)


@outbox_cli.command("status")
def outbox_status() -> None:
    """Count queued, sent and failed e-mails."""
    from sqlalchemy import func, select

    from kudos.outbox.models import OutboxMessage

    counts = dict(
        db.session.execute(
            select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status)
        ).all()
    )
    click.echo(
        ", ".join(f"{counts.get(status, 0)} {status}" for status in ("pending", "sent", "failed"))
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
def rollups_rebuild() -> None:
    """Recompute the leaderboard rollups (after changing KUDOS_TIMEZONE)."""
    from zoneinfo import ZoneInfo

    from kudos.leaderboard.rollups import rebuild

    months = rebuild(db.session, ZoneInfo(current_app.config["TIMEZONE"]))
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
def summaries_send(month_text: str | None) -> None:
    """Queue each manager's summary for MONTH by e-mail (once: safe to run again)."""
    from zoneinfo import ZoneInfo

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
    with current_app.test_request_context("/", base_url=base_url()):
        report = send_digests(db.session, month, now=now, zone=zone)
    db.session.commit()
    click.echo(f"Summaries for {month}: {report}")


@click.command("demo")
@click.option("--port", default=5000, show_default=True, help="Port on 127.0.0.1.")
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
def seed_command(user_count: int, kudos_count: int, months: int, random_seed: int) -> None:
    """Add synthetic people and kudos (for benchmarks)."""
    from zoneinfo import ZoneInfo

    from kudos.demo.synthetic import seed_synthetic

    report = seed_synthetic(
        db.session,
        users=user_count,
        kudos=kudos_count,
        months=months,
        seed=random_seed,
        zone=ZoneInfo(current_app.config["TIMEZONE"]),
    )
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


def _create_app():  # noqa: ANN202 - FlaskGroup's factory signature
    from kudos import create_app

    return create_app()


class KudosGroup(FlaskGroup):
    def main(self, *args, **kwargs):  # noqa: ANN002, ANN003, ANN201
        try:
            return super().main(*args, **kwargs)
        except config.ConfigError as exc:
            click.echo("kudos: the configuration is not usable:", err=True)
            for problem in exc.problems:
                click.echo(f"  - {problem}", err=True)
            sys.exit(2)


cli = KudosGroup(
    create_app=_create_app,
    add_version_option=False,
    help="Kudos: peer recognition for internal customer service.",
)
cli.add_command(demo_command)


def main() -> None:
    cli.main(prog_name="kudos")
