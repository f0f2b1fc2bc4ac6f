"""``kudos demo``: a migrated SQLite database under instance/, demo data, a local server.

``kudos --demo COMMAND`` runs any other command on the same database, with
the same settings (``demo_app``).
"""

from __future__ import annotations

import errno
import secrets
import socket
import socketserver
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

DEFAULT_PORT = 5000
HOST = "127.0.0.1"


def instance_folder() -> Path:
    """instance/ beside the code in a checkout (Flask's instance folder)."""
    return Path(Flask("kudos").instance_path)


def demo_database() -> Path:
    return instance_folder() / "kudos-demo.sqlite3"


def _demo_secret(instance: Path, *, create: bool = True) -> str:
    """A random key kept under instance/, so demo sessions survive a restart.
    Without ``create``, a missing one is not written (a throwaway is used)."""
    path = instance / "demo-secret-key"
    if not path.exists():
        if not create:
            return secrets.token_urlsafe(48)
        path.write_text(secrets.token_urlsafe(48))
        path.chmod(0o600)
    return path.read_text().strip()


def demo_app(database: Path, *, port: int = DEFAULT_PORT, for_serving: bool = True) -> Flask:
    """The app with the demo's settings over ``database`` (touches no database)."""
    instance = instance_folder()
    instance.mkdir(parents=True, exist_ok=True)
    app = create_app(
        {
            "DEMO": True,
            "DATABASE_URL": f"sqlite:///{database}",
            "SECRET_KEY": _demo_secret(instance, create=for_serving),
            # The demo is served over plain HTTP on 127.0.0.1.
            "SESSION_COOKIE_SECURE": False,
            "REMEMBER_COOKIE_SECURE": False,
        }
    )
    # Links in e-mails and API answers name the address the demo is served on
    # (scripts/demo-sso sets KUDOS_BASE_URL itself), never a request's Host.
    app.config["BASE_URL"] = app.config["BASE_URL"] or f"http://{HOST}:{port}"
    return app


def prepare_demo(database: Path | None = None, *, port: int = DEFAULT_PORT) -> Flask:
    """Create (or reuse) the demo database and return the demo app."""
    from kudos.demo.data import load_demo

    database = database or demo_database()
    database.parent.mkdir(parents=True, exist_ok=True)
    new = not database.exists()
    click.echo(f"{'Creating' if new else 'Opening'} the demo database {database}…")
    app = demo_app(database, port=port)
    alembic_command.upgrade(alembic_config(app.config["DATABASE_URL"]), "head")
    with app.app_context():
        report = load_demo(db.session, now=utcnow(), zone=ZoneInfo(app.config["TIMEZONE"]))
        db.session.commit()
    click.echo(f"{report} Database: {database}")
    return app


def listen(port: int) -> socket.socket:
    """The server's socket, bound before anything else happens: a port that
    is taken is said at once, never after the address has been printed."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    # As werkzeug's server does: a port left in TIME_WAIT by a demo that just
    # stopped is free, one another program listens on is not.
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((HOST, port))
        sock.listen(socketserver.TCPServer.request_queue_size)
    except OSError as error:
        sock.close()
        raise click.ClickException(_port_problem(port, error)) from None
    return sock


def _port_problem(port: int, error: OSError) -> str:
    other = port + 1 if port < 65535 else port - 1
    choose = f"choose another port with --port, e.g. ./scripts/demo --port {other}"
    if error.errno == errno.EADDRINUSE:
        return (
            f"port {port} on {HOST} is already in use (another Kudos demo, or another "
            f"program): stop it, or {choose}"
        )
    if error.errno == errno.EACCES:
        return f"port {port} needs more rights than this user has: {choose}"
    return f"cannot listen on {HOST}:{port} ({error.strerror}): {choose}"


def run_demo(*, port: int, serve: bool, database: Path | None = None) -> None:
    sock = listen(port) if serve else None
    try:
        app = prepare_demo(database, port=port)
        if sock is None:
            return
        # Werkzeug's server directly: Flask's app.run() refuses to run inside a
        # CLI command. It takes over the socket bound above.
        server = serving.make_server(HOST, port, app, threaded=True, fd=sock.fileno())
    finally:
        if sock is not None:
            sock.close()  # the server holds its own copy
    click.echo(
        f"Kudos demo: open http://{HOST}:{port}/ and pick a person to sign in as. "
        "Press Ctrl+C to stop."
    )
    # Its request lines without terminal colours: the log escapes control
    # characters (kudos/logs.py), so colour codes would print as "\x1b[33m".
    serving._log_add_style = False
    server.serve_forever()
