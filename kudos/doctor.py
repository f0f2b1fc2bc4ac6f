"""``kudos doctor``: one line per thing Kudos depends on, and a non-zero exit
when any of them is wrong, so it can gate a deployment.

It runs without the Flask app, so it can report a configuration the app
would refuse: it reads the settings as start-up does (``config.load`` and
``config.check``), prints every problem, and still runs each check whose
settings are usable (a bad ``KUDOS_SMTP_URL`` skips the e-mail check only).
Each check is a small function returning a ``Result``: ``ok``, ``WARN``
(works, but look at it), ``FAIL`` (wrong: the exit code is non-zero) or
``skip`` (not configured, or not checkable). No line shows a secret: URLs
are shown with their password hidden, and every secret setting is masked
in whatever a server answered.

Exit codes: 0 nothing is wrong (warnings allowed), 1 a check failed,
2 the configuration is unusable (as for every ``kudos`` command).
"""

from __future__ import annotations

import math
import os
import re
import secrets
import smtplib
import ssl
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import Any
from urllib.error import URLError
from urllib.parse import urljoin

import click
import requests
from flask import Flask
from flask.cli import ScriptInfo
from limits.storage import storage_from_string
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from sqlalchemy import Connection, func, make_url, select
from sqlalchemy.engine import URL
from sqlalchemy.exc import SQLAlchemyError

import config
from config import shown_url
from kudos import revisions
from kudos.db import first_line, make_engine, utcnow
from kudos.outbox.models import OutboxMessage
from kudos.outbox.services import SmtpSettings

OK, WARN, FAIL, SKIP = MARKS = ("ok", "WARN", "FAIL", "skip")
# Flask signs sessions with the key; shorter ones are guessable offline.
MIN_SECRET_KEY = 32
# The outbox worker runs every 30 s to a minute (README): older mail is stuck.
OUTBOX_WARN = timedelta(minutes=15)
OUTBOX_FAIL = timedelta(hours=1)
UPGRADE = "kudos db upgrade"
VARIABLE = re.compile(r"KUDOS_[A-Z0-9_]+")
SECRET_SETTINGS = (
    "SECRET_KEY",
    "OIDC_CLIENT_SECRET",
    "SLACK_BOT_TOKEN",
    "SLACK_SIGNING_SECRET",
    "SLACK_APP_TOKEN",
)


@dataclass(frozen=True)
class Result:
    mark: str  # OK, WARN, FAIL or SKIP
    message: str
    details: tuple[str, ...] = ()  # further lines (the configuration's problems)


@dataclass
class Setup:
    """The settings as start-up reads them, what is wrong with them, and the
    command's options."""

    settings: Mapping[str, Any] | None  # None: not even the defaults load
    problems: list[str]
    unusable: set[str] = field(default_factory=set)  # KUDOS_* named by a problem
    timeout: float = 5.0
    send_to: str | None = None
    url: str | None = None

    def not_usable(self, *prefixes: str) -> Result | None:
        """A skip when a setting this check needs has a problem."""
        if self.settings is None:
            return Result(SKIP, "not checked: the configuration cannot be read (above)")
        names = sorted(name for name in self.unusable if name.startswith(prefixes))
        if names:
            return Result(SKIP, f"not checked: {', '.join(names)} (see configuration)")
        return None


# The configuration ------------------------------------------------------------


def load_setup(environ: Mapping[str, str], instance_path: str) -> Setup:
    """Every problem start-up would report, and settings for the checks:
    each variable a problem names is left out (its default is used, and the
    checks that need it say so), until the rest loads."""
    env, problems, unusable = dict(environ), [], set()
    for _ in range(len(environ) + 1):
        try:
            settings = config.load(env, instance_path=instance_path)
            break
        except config.ConfigError as error:
            problems = problems or list(error.problems)
            named = {name for problem in error.problems for name in VARIABLE.findall(problem)}
            unusable |= named
            if not named & env.keys():
                # "Slack needs KUDOS_SLACK_TEAM_ID as well": leave out the group.
                named = {name for name in env if name.startswith(tuple(map(_group, named)))}
            if not named & env.keys():
                return Setup(None, problems, unusable)
            unusable |= named
            env = {name: value for name, value in env.items() if name not in named}
    else:  # pragma: no cover - each round leaves out at least one variable
        return Setup(None, problems, unusable)
    try:
        config.check(settings)
    except config.ConfigError as error:
        for problem in error.problems:
            named = set(VARIABLE.findall(problem))
            if not named <= unusable:  # not "required" because it was left out
                problems.append(problem)
                unusable |= named
    return Setup(settings, problems, unusable)


def _group(name: str) -> str:
    """``KUDOS_SLACK_TEAM_ID`` -> ``KUDOS_SLACK_``: the settings of one feature."""
    end = name.find("_", len("KUDOS_"))
    return name if end < 0 else name[: end + 1]


def check_configuration(setup: Setup) -> Result:
    if setup.problems:
        count = len(setup.problems)
        return Result(
            FAIL,
            f"{count} problem{'s' if count != 1 else ''}: Kudos does not start until "
            f"{'they are' if count != 1 else 'it is'} fixed",
            tuple(f"- {problem}" for problem in setup.problems),
        )
    return Result(OK, "the KUDOS_* settings are usable")


def check_secret_key(setup: Setup) -> Result:
    if skipped := setup.not_usable("KUDOS_SECRET_KEY"):
        return skipped
    length = len(setup.settings["SECRET_KEY"] or "")
    if length < MIN_SECRET_KEY:
        return Result(
            FAIL,
            f"KUDOS_SECRET_KEY has {length} characters; use at least {MIN_SECRET_KEY} random "
            "ones: python -c 'import secrets; print(secrets.token_urlsafe(48))' (changing it "
            "signs everybody out)",
        )
    return Result(OK, f"KUDOS_SECRET_KEY has {length} characters (at least {MIN_SECRET_KEY})")


# The database -------------------------------------------------------------------


@contextmanager
def _connection(url: str, timeout: float) -> Iterator[Connection]:
    options: dict[str, Any] = {}
    if make_url(url).get_backend_name() == "postgresql":
        options["connect_args"] = {"connect_timeout": max(1, math.ceil(timeout))}
    engine = make_engine(url, **options)
    try:
        with engine.connect() as connection:
            yield connection
    finally:
        engine.dispose()


def _missing_sqlite_file(parsed: URL) -> str | None:
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    path = os.path.abspath(parsed.database)
    if os.path.exists(path):
        return None
    if not os.path.isdir(os.path.dirname(path)):
        return (
            f"there is no database at {path}, nor a folder {os.path.dirname(path)}: check "
            f"KUDOS_DATABASE_URL, or create the folder and run `{UPGRADE}`"
        )
    return f"there is no database at {path}: create it with `{UPGRADE}`"


def check_database(setup: Setup) -> Result:
    """Reachable, and at this version's migrations. Never creates a SQLite file."""
    if skipped := setup.not_usable("KUDOS_DATABASE_URL"):
        return skipped
    url = setup.settings["DATABASE_URL"]  # config.load has parsed it and found its driver
    if problem := _missing_sqlite_file(make_url(url)):
        return Result(FAIL, problem)
    try:
        with _connection(url, setup.timeout) as connection:
            schema = (
                revisions.schema_state(connection)
                if connection.dialect.has_table(connection, "alembic_version")
                else None
            )
    except SQLAlchemyError as error:
        return Result(FAIL, f"cannot open the database {shown_url(url)}: {first_line(error)}")
    if schema is None or schema.state == "empty":
        return Result(FAIL, f"{shown_url(url)} has no Kudos tables yet: run `{UPGRADE}`")
    current, head = schema.shown(schema.current), schema.shown(schema.heads)
    if schema.state == "at head":
        return Result(OK, f"{shown_url(url)} answers, at revision {current} (the newest)")
    if schema.state == "newer":
        return Result(
            FAIL,
            f"{shown_url(url)} is at revision {current}, which this version of Kudos does "
            f"not know (its newest is {head}): was it upgraded by a newer one?",
        )
    if schema.state == "foreign":
        return Result(
            FAIL,
            f"{shown_url(url)} is at revision {current}, not one of Kudos': "
            "is it another application's database?",
        )
    return Result(FAIL, f"{shown_url(url)} is at revision {current}, not {head}: run `{UPGRADE}`")


def check_outbox(setup: Setup) -> Result:
    """How long the oldest queued message has waited (``kudos outbox deliver``)."""
    query = (
        select(OutboxMessage.transport, func.count(), func.min(OutboxMessage.created_at))
        .where(OutboxMessage.status == "pending")
        .group_by(OutboxMessage.transport)
    )
    try:
        with _connection(setup.settings["DATABASE_URL"], setup.timeout) as connection:
            queued = connection.execute(query).all()
    except SQLAlchemyError as error:
        return Result(FAIL, f"cannot read the outbox: {first_line(error)}")
    if not queued:
        return Result(OK, "nothing is waiting to be sent")
    now = utcnow()
    oldest = max(now - created_at for _, _, created_at in queued)
    parts = []
    for transport, count, created_at in queued:
        noun = {"email": "e-mail", "slack": "Slack message"}.get(transport, transport)
        parts.append(
            f"{count} {noun}{'s' if count != 1 else ''} queued, the oldest for "
            f"{_duration(now - created_at)}"
        )
    summary = "; ".join(parts)
    if oldest <= OUTBOX_WARN:
        return Result(OK, summary)
    fix = (
        "is `kudos outbox deliver` running (the worker, or its cron line)? "
        "`kudos outbox status` counts the messages"
    )
    return Result(FAIL if oldest > OUTBOX_FAIL else WARN, f"{summary}: {fix}")


def _duration(delta: timedelta) -> str:
    seconds = max(int(delta.total_seconds()), 0)
    if seconds < 120:
        return f"{seconds} s"
    if seconds < 2 * 3600:
        return f"{seconds // 60} min"
    if seconds < 2 * 86400:
        return f"{seconds // 3600} h"
    return f"{seconds // 86400} days"


# The site's address ---------------------------------------------------------------


def _is_kudos_health(response: requests.Response) -> bool:
    try:
        answer = response.json()
    except ValueError:
        return False
    return isinstance(answer, dict) and "status" in answer and "database" in answer


def check_base_url(setup: Setup) -> Result:
    """``GET <address>/healthz``: does it answer, and does it stay at
    KUDOS_BASE_URL (a redirect elsewhere means links and sign-in break)?"""
    if skipped := setup.not_usable("KUDOS_BASE_URL"):
        return skipped
    base = setup.settings["BASE_URL"]
    url = (setup.url or base).rstrip("/") + "/healthz"
    try:
        with requests.Session() as http:
            for _ in range(10):
                response = http.get(url, timeout=setup.timeout, allow_redirects=False)
                if not response.is_redirect:
                    break
                url = urljoin(url, response.headers["Location"])
                if not url.startswith(base + "/"):
                    break  # no need to follow it: it leaves KUDOS_BASE_URL
    except requests.RequestException as error:
        return Result(
            WARN,
            f"{url} does not answer from here ({_request_error(error)}): check that people "
            "reach Kudos at KUDOS_BASE_URL",
        )
    if not url.startswith(base + "/"):
        arrived = url.removesuffix("/healthz")
        if setup.url:
            message = f"{setup.url} leads to {arrived}, but KUDOS_BASE_URL is {base}"
        else:
            message = f"KUDOS_BASE_URL {base} redirects to {arrived}"
        return Result(
            FAIL,
            f"{message}: set KUDOS_BASE_URL to the address people end up at (links, "
            "sign-in and cookies use it)",
        )
    if not _is_kudos_health(response):
        return Result(
            WARN,
            f"{url} answers HTTP {response.status_code}, not Kudos' health check: is Kudos "
            "running behind that address?",
        )
    if response.status_code != 200:
        return Result(WARN, f"{url} answers, but Kudos there cannot use its database")
    return Result(OK, f"{url} answers (Kudos, at KUDOS_BASE_URL)")


def _request_error(error: requests.RequestException) -> str:
    if isinstance(error, requests.Timeout):
        return "no answer in time"
    if isinstance(error, requests.ConnectionError):
        reason = str(error)
        for known in ("Connection refused", "Name or service not known", "certificate verify"):
            if known in reason:
                return known.lower()
        return "cannot connect"
    return type(error).__name__


# Sign-in ------------------------------------------------------------------------


def check_oidc(setup: Setup) -> Result:
    """The provider's discovery document, then whether it accepts the client."""
    if skipped := setup.not_usable("KUDOS_OIDC_"):
        return skipped
    issuer = setup.settings["OIDC_ISSUER"]
    if not issuer:
        return Result(SKIP, "sign-in through an identity provider is off (KUDOS_OIDC_ISSUER)")
    discovery = issuer + "/.well-known/openid-configuration"
    try:
        response = requests.get(discovery, timeout=setup.timeout)
        response.raise_for_status()
        document = response.json()
    except requests.HTTPError as error:
        return Result(FAIL, f"{discovery} answers HTTP {error.response.status_code}")
    except requests.JSONDecodeError:  # a RequestException too: catch it first
        return Result(FAIL, f"{discovery} is not a discovery document (not JSON)")
    except requests.RequestException as error:
        return Result(FAIL, f"cannot fetch {discovery}: {_request_error(error)}")
    if not isinstance(document, dict):
        return Result(FAIL, f"{discovery} is not a discovery document")
    named = str(document.get("issuer", "")).rstrip("/")
    if named != issuer:
        return Result(
            FAIL,
            f"{discovery} names the issuer {named or 'nothing'}, not {issuer}: set "
            "KUDOS_OIDC_ISSUER to the provider's issuer exactly",
        )
    missing = [
        key
        for key in ("authorization_endpoint", "token_endpoint", "jwks_uri")
        if not document.get(key)
    ]
    if missing:
        return Result(FAIL, f"{discovery} names no {', '.join(missing)}")
    methods = document.get("token_endpoint_auth_methods_supported") or ["client_secret_basic"]
    if "client_secret_basic" not in methods:
        return Result(
            FAIL,
            "the provider does not take the client secret as Kudos sends it "
            f"(client_secret_basic; it takes {', '.join(map(str, methods))})",
        )
    return _check_client(setup, document["token_endpoint"])


def _check_client(setup: Setup, token_endpoint: str) -> Result:
    """Redeem a made-up sign-in code: a provider authenticates the client
    before it looks at the code (RFC 6749 §5.2), so ``invalid_client`` means
    the id or secret is wrong, and ``invalid_grant`` that they are right."""
    settings = setup.settings
    issuer = settings["OIDC_ISSUER"]
    try:
        response = requests.post(
            token_endpoint,
            data={
                "grant_type": "authorization_code",
                "code": secrets.token_urlsafe(32),
                "redirect_uri": f"{settings['BASE_URL'] or 'http://localhost'}/auth/callback",
                "code_verifier": secrets.token_urlsafe(48),
            },
            auth=(settings["OIDC_CLIENT_ID"], settings["OIDC_CLIENT_SECRET"]),
            timeout=setup.timeout,
        )
        answer = response.json()
    except requests.JSONDecodeError:  # a RequestException too: catch it first
        # A token endpoint answers JSON (RFC 6749 §5.2): a page in front of the
        # provider, or not its token endpoint?
        return Result(
            WARN,
            f"{issuer} answers, but {token_endpoint} answers HTTP {response.status_code} and "
            "not JSON as a token endpoint does: whether it accepts the client cannot be "
            "checked, the first sign-in tells",
        )
    except requests.RequestException as failure:
        return Result(FAIL, f"cannot reach {token_endpoint}: {_request_error(failure)}")
    error = answer.get("error") if isinstance(answer, dict) else None
    if error == "invalid_client":
        return Result(
            FAIL,
            f"{issuer} refuses the client (invalid_client): check KUDOS_OIDC_CLIENT_ID and "
            "KUDOS_OIDC_CLIENT_SECRET against the provider's registration",
        )
    if error == "unauthorized_client":
        return Result(
            FAIL,
            f"{issuer} knows the client but does not let it sign people in with the "
            "authorization code flow (unauthorized_client): allow it at the provider",
        )
    if error == "invalid_grant":
        return Result(OK, f"{issuer} answers and accepts the client id and secret")
    return Result(
        OK,
        f"{issuer} answers; whether it accepts the client cannot be checked without a "
        f"person (the provider answered {error or f'HTTP {response.status_code}'}): "
        "the first sign-in tells",
    )


# E-mail -------------------------------------------------------------------------


def check_smtp(setup: Setup) -> Result:
    """Connect, STARTTLS and log in as the URL says, NOOP; with
    ``--send-test-email``, send a message too."""
    if skipped := setup.not_usable("KUDOS_SMTP_URL", "KUDOS_MAIL_FROM"):
        return skipped
    url = setup.settings["SMTP_URL"]
    if not url:
        if setup.send_to:
            return Result(FAIL, "cannot send a test message: KUDOS_SMTP_URL is not set")
        return Result(SKIP, "e-mail is off (KUDOS_SMTP_URL is not set)")
    server = shown_url(url)
    smtp_settings = SmtpSettings.from_url(url)  # config.load has checked that it parses
    smtp_class = smtplib.SMTP_SSL if smtp_settings.use_ssl else smtplib.SMTP
    try:
        with smtp_class(smtp_settings.host, smtp_settings.port, timeout=setup.timeout) as smtp:
            if smtp_settings.starttls:
                smtp.ehlo_or_helo_if_needed()
                if not smtp.has_extn("starttls"):
                    return Result(
                        FAIL,
                        f"{server} offers no STARTTLS: check the port (587 usually has it), or "
                        "use smtps:// on 465 (drop ?starttls=true only for a relay on a trusted "
                        "network that asks for no login)",
                    )
                smtp.starttls(context=ssl.create_default_context())
            if smtp_settings.username:
                smtp.ehlo_or_helo_if_needed()
                if not smtp.has_extn("auth"):
                    return Result(FAIL, _no_login(server, smtp, smtp_settings))
                smtp.login(smtp_settings.username, smtp_settings.password or "")
            smtp.noop()
            if setup.send_to:
                smtp.send_message(_test_message(setup.settings["MAIL_FROM"], setup.send_to))
    except smtplib.SMTPAuthenticationError as error:
        return Result(FAIL, f"{server} refuses the user name and password ({error.smtp_code})")
    except smtplib.SMTPRecipientsRefused as error:
        return Result(FAIL, f"{server} refuses the test message to {setup.send_to}: {error}")
    except (smtplib.SMTPException, OSError) as error:
        return Result(FAIL, f"cannot talk to {server}: {_socket_error(error)}")
    if setup.send_to:
        return Result(
            OK, f"{server} accepts a connection, and took a test message for {setup.send_to}"
        )
    return Result(OK, f"{server} accepts a connection")


def _no_login(server: str, smtp: smtplib.SMTP, settings: SmtpSettings) -> str:
    """The URL has a user name, but the server offers no AUTH (yet)."""
    if not settings.use_ssl and not settings.starttls and smtp.has_extn("starttls"):
        # Usual on port 587: AUTH is offered only once the connection is encrypted.
        return f"{server} offers a login only after STARTTLS: add ?starttls=true to KUDOS_SMTP_URL"
    return (
        f"{server} offers no login (AUTH): remove the user name and password from "
        "KUDOS_SMTP_URL if it takes mail without one, or use the server's port for "
        "logged-in senders (587 with ?starttls=true, or smtps:// on 465)"
    )


def _socket_error(error: BaseException) -> str:
    if isinstance(error, URLError):  # urllib (Slack's client)
        return (
            _socket_error(error.reason) if isinstance(error.reason, OSError) else str(error.reason)
        )
    if isinstance(error, TimeoutError):
        return "no answer in time"
    if isinstance(error, OSError) and error.strerror:
        return error.strerror.lower()
    return first_line(error)


def _test_message(mail_from: str, to: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = mail_from
    message["To"] = to
    message["Subject"] = "Kudos: a test message from kudos doctor"
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = make_msgid(domain="kudos.doctor")
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(
        "This message comes from `kudos doctor --send-test-email`: Kudos can send e-mail.\n"
    )
    return message


# Rate limits and Slack ----------------------------------------------------------------


def check_rate_limits(setup: Setup) -> Result:
    if skipped := setup.not_usable("KUDOS_RATELIMIT_ENABLED", "KUDOS_RATELIMIT_STORAGE_URL"):
        return skipped
    if not setup.settings["RATELIMIT_ENABLED"]:
        return Result(SKIP, "rate limits are off (KUDOS_RATELIMIT_ENABLED)")
    uri = setup.settings["RATELIMIT_STORAGE_URI"]
    if uri.startswith("memory://"):
        return Result(
            OK,
            "counted in each process's memory: every worker counts alone (share the counts "
            "with KUDOS_RATELIMIT_STORAGE_URL=redis://…)",
        )
    storage = None
    try:
        storage = storage_from_string(
            uri, socket_connect_timeout=setup.timeout, socket_timeout=setup.timeout
        )
        storage.get_connection().ping()
    except Exception as error:  # noqa: BLE001 - whatever the client raises, say it in one line
        return Result(
            FAIL,
            f"{shown_url(uri)} does not answer ({first_line(error)}): until it does, each "
            "process counts in its own memory",
        )
    finally:
        if storage is not None:
            storage.storage.close()
    return Result(OK, f"{shown_url(uri)} answers")


def check_slack(setup: Setup) -> Result:
    """``auth.test`` with the bot token: valid, and for KUDOS_SLACK_TEAM_ID."""
    if skipped := setup.not_usable("KUDOS_SLACK_"):
        return skipped
    settings = setup.settings
    if not settings["SLACK_ENABLED"]:
        return Result(SKIP, "Slack is not connected (KUDOS_SLACK_BOT_TOKEN …)")
    client = WebClient(
        token=settings["SLACK_BOT_TOKEN"],
        base_url=settings["SLACK_API_URL"],
        timeout=setup.timeout,  # type: ignore[arg-type] - urllib takes a float
        retry_handlers=[],
    )
    try:
        answer = client.auth_test()
    except SlackApiError as error:
        return Result(
            FAIL,
            f"Slack refuses the bot token ({error.response.get('error')}): copy it again "
            "from the app's OAuth & Permissions page into KUDOS_SLACK_BOT_TOKEN",
        )
    except OSError as error:
        return Result(
            FAIL, f"cannot reach Slack at {settings['SLACK_API_URL']}: {_socket_error(error)}"
        )
    team = answer.get("team_id")
    if team != settings["SLACK_TEAM_ID"]:
        return Result(
            FAIL,
            f"the bot token is for the workspace {team}, but KUDOS_SLACK_TEAM_ID is "
            f"{settings['SLACK_TEAM_ID']}",
        )
    return Result(OK, f"the bot token is valid for the workspace {team} ({answer.get('team')})")


# The command ----------------------------------------------------------------------


def run_checks(setup: Setup) -> list[tuple[str, Result]]:
    checks: list[tuple[str, Callable[[Setup], Result]]] = [
        ("configuration", check_configuration),
        ("secret key", check_secret_key),
        ("database", check_database),
        ("base URL", check_base_url),
        ("sign-in (OIDC)", check_oidc),
        ("e-mail (SMTP)", check_smtp),
        ("rate limits", check_rate_limits),
        ("Slack", check_slack),
    ]
    results = [(name, check(setup)) for name, check in checks]
    database = dict(results)["database"]
    outbox = (
        check_outbox(setup)
        if database.mark == OK
        else Result(SKIP, "not checked: needs the database (above)")
    )
    return [*results, ("outbox", outbox)]


def _masked(text: str, setup: Setup) -> str:
    """No password in a URL (a configuration problem quotes the value), and,
    belt and braces, no secret setting, whatever a server put in its answer."""
    text = config.URL_PASSWORD.sub(r"\1***@", text)
    values = [setup.settings.get(name) for name in SECRET_SETTINGS] if setup.settings else []
    for value in values:
        if value and len(value) >= 8:
            text = text.replace(value, "***")
    return text


@click.command("doctor")
@click.option(
    "--send-test-email",
    "send_to",
    metavar="ADDRESS",
    help="Also send a test message to ADDRESS through KUDOS_SMTP_URL.",
)
@click.option(
    "--url",
    metavar="URL",
    help="The address people use, if not KUDOS_BASE_URL: it must lead to KUDOS_BASE_URL.",
)
@click.option(
    "--timeout",
    default=5.0,
    show_default=True,
    type=click.FloatRange(0.1, 120),
    help="Seconds to wait for each server.",
)
def doctor_command(send_to: str | None, url: str | None, timeout: float) -> None:
    """Check the configuration and everything Kudos depends on, one line each.

    Exits with 0 when nothing is wrong (warnings allowed), 1 when a check
    failed, 2 when the configuration is unusable.
    """
    context = click.get_current_context()
    info = context.find_object(ScriptInfo)
    if info is not None and info.data.get("demo"):
        raise click.UsageError("kudos doctor checks a deployment's KUDOS_* settings, not the demo")
    setup = load_setup(os.environ, instance_path=Flask("kudos").instance_path)
    setup.timeout, setup.send_to, setup.url = timeout, send_to, url
    results = run_checks(setup)
    width = max(len(name) for name, _ in results)
    for name, result in results:
        click.echo(_masked(f"{result.mark:<4}  {name:<{width}}  {result.message}", setup))
        for detail in result.details:
            click.echo(_masked(f"{'':<4}  {'':<{width}}  {detail}", setup))
    counts = {mark: sum(result.mark == mark for _, result in results) for mark in MARKS}
    click.echo(
        f"{counts[FAIL]} failed, {counts[WARN]} to look at, "
        f"{counts[OK]} ok, {counts[SKIP]} skipped."
    )
    if counts[FAIL]:
        context.exit(2 if setup.problems else 1)
