"""``kudos demo``: a migrated SQLite database under instance/, demo data, a local server."""

from __future__ import annotations

import secrets
from pathlib import Path
from zoneinfo import ZoneInfo

import click
from alembic import command as alembic_command
from flask import Flask
from werkzeug import serving

from kudos import create_app
from kudos.db import utcnow
from kudos.extensions import db
from kudos.migrate import alembic_config


def _demo_secret(instance: Path) -> str:
    """A random key kept under instance/, so demo sessions survive a restart."""
    path = instance / "demo-secret-key"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(48))
        path.chmod(0o600)
    return path.read_text().strip()


def prepare_demo(database: Path | None = None, *, port: int = 5000) -> Flask:
    """Create (or reuse) the demo database and return the demo app."""
    from kudos.demo.data import load_demo

    instance = Path(Flask("kudos").instance_path)
    instance.mkdir(parents=True, exist_ok=True)
    database = database or instance / "kudos-demo.sqlite3"
    database.parent.mkdir(parents=True, exist_ok=True)
    url = f"sqlite:///{database}"
    app = create_app(
        {
            "DEMO": True,
            "DATABASE_URL": url,
            "SECRET_KEY": _demo_secret(instance),
            # The demo is served over plain HTTP on 127.0.0.1.
            "SESSION_COOKIE_SECURE": False,
            "REMEMBER_COOKIE_SECURE": False,
        }
    )
    # Links in e-mails and API answers name the address the demo is served on
    # (scripts/demo-sso sets KUDOS_BASE_URL itself), never a request's Host.
    app.config["BASE_URL"] = app.config["BASE_URL"] or f"http://127.0.0.1:{port}"
    alembic_command.upgrade(alembic_config(url), "head")
    with app.app_context():
        report = load_demo(db.session, now=utcnow(), zone=ZoneInfo(app.config["TIMEZONE"]))
        db.session.commit()
    click.echo(f"{report} Database: {database}")
    return app


def run_demo(*, port: int, serve: bool, database: Path | None = None) -> None:
    app = prepare_demo(database, port=port)
    if not serve:
        return
    click.echo(
        f"Kudos demo: open http://127.0.0.1:{port}/ and pick a person to sign in as. "
        "Press Ctrl+C to stop."
    )
    # Werkzeug's server directly: Flask's app.run() refuses to run inside a CLI command.
    # Its request lines without terminal colours: the log escapes control
    # characters (kudos/logs.py), so colour codes would print as "\x1b[33m".
    serving._log_add_style = False
    serving.run_simple("127.0.0.1", port, app, threaded=True)
