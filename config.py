"""Configuration from ``KUDOS_*`` environment variables.

Every variable is documented in the README. ``load(environ)`` turns the
environment into Flask config keys and collects every problem it finds, so an
operator sees all of them at once instead of fixing one per restart.
"""

from __future__ import annotations

import ipaddress
import os
import re
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import urlsplit, urlunsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import limits
from sqlalchemy import make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError

TRUE_WORDS = {"1", "true", "yes", "on"}
# Which ID token / userinfo claim carries each piece of a person's profile.
# Override per provider with KUDOS_OIDC_CLAIM_<FIELD>, e.g. KUDOS_OIDC_CLAIM_TITLE=jobTitle.
CLAIM_DEFAULTS = {
    "email": "email",
    "name": "name",
    "title": "title",
    "department": "department",
    "team": "team",
    "manager_email": "manager_email",
    "groups": "groups",
}
FALSE_WORDS = {"0", "false", "no", "off"}
# Upper bounds that keep dates computable and sessions short-lived enough.
MAX_SESSION_HOURS = 24 * 31
MAX_TOKEN_DAYS = 3650
# KUDOS_LOG_FORMAT: the server's log lines (kudos/logs.py).
LOG_FORMATS = {"text", "json"}
# Where rate-limit counters may live: this process, or a shared Redis.
# Slack workspace, user and channel ids (channels: public C…, private G…).
SLACK_ID = re.compile(r"[TE][A-Z0-9]{2,}")
SLACK_CHANNEL_ID = re.compile(r"[CG][A-Z0-9]{2,}")
RATELIMIT_STORAGES = {"memory", "redis", "rediss", "redis+sentinel", "redis+cluster"}


class ConfigError(RuntimeError):
    """The environment does not describe a runnable Kudos."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("; ".join(problems))


def default_database_url(instance_path: str) -> str:
    return "sqlite:///" + os.path.join(instance_path, "kudos.sqlite3")


# user:password@ in any URL, even one that does not parse.
URL_PASSWORD = re.compile(r"([a-z][a-z0-9+.-]*://[^\s:/@]*:)[^\s@/]+@")


def shown_url(url: str) -> str:
    """``url`` with its password hidden, for messages and logs, even a URL
    that does not parse."""
    try:
        parts = urlsplit(url)
        if parts.password is None:
            return url
        host = parts.netloc.rsplit("@", 1)[1]
        return urlunsplit(parts._replace(netloc=f"{parts.username}:***@{host}"))
    except ValueError:
        return URL_PASSWORD.sub(r"\1***@", url)


def database_url_problem(url: str) -> str | None:
    """Why SQLAlchemy cannot use ``url`` (it does not parse, or its driver
    is not installed), or None. The driver is imported, as the first
    connection would."""
    try:
        make_url(url).get_dialect().import_dbapi()
    except (ArgumentError, ValueError, NoSuchModuleError) as error:
        reasons = {ValueError: "its port is not a number", NoSuchModuleError: "an unknown engine"}
        reason = reasons.get(type(error), "it does not parse")
        return (
            "KUDOS_DATABASE_URL must be a database URL such as "
            f"postgresql+psycopg://db.example.com/kudos, not {shown_url(url)!r} ({reason})"
        )
    except ImportError as error:
        return (
            f"KUDOS_DATABASE_URL {shown_url(url)} needs the Python module {error.name}, which "
            "is not installed: Kudos runs on postgresql+psycopg:// or sqlite:///"
        )
    return None


def smtp_url_problem(url: str) -> str | None:
    if not url.startswith(("smtp://", "smtps://")):
        return f"KUDOS_SMTP_URL must start with smtp:// or smtps://, not {shown_url(url)!r}"
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - urllib checks the port only when asked for it
    except ValueError as error:
        reason = str(error)
    else:
        if parts.hostname:
            return None
        reason = "no server named"
    return (
        "KUDOS_SMTP_URL must be an SMTP URL such as smtp://mail.example.com:587?starttls=true, "
        f"not {shown_url(url)!r} ({reason})"
    )


def load(environ: Mapping[str, str], *, instance_path: str) -> dict[str, Any]:
    """Read the environment; raise ``ConfigError`` listing every bad value."""
    problems: list[str] = []

    def text(name: str, default: str | None = None) -> str | None:
        value = environ.get(name, "").strip()
        return value or default

    def boolean(name: str, default: bool) -> bool:
        raw = environ.get(name, "").strip().lower()
        if not raw:
            return default
        if raw in TRUE_WORDS:
            return True
        if raw in FALSE_WORDS:
            return False
        problems.append(f"{name} must be one of true/false, yes/no, on/off or 1/0, not {raw!r}")
        return default

    def positive_int(name: str, default: int, maximum: int | None = None) -> int:
        raw = environ.get(name, "").strip()
        if not raw:
            return default
        try:
            value = int(raw)
        except ValueError:
            value = 0
        if value < 1:
            problems.append(f"{name} must be a whole number of at least 1, not {raw!r}")
            return default
        if maximum is not None and value > maximum:
            problems.append(f"{name} must be at most {maximum}, not {raw!r}")
            return default
        return value

    def whole_number(name: str, default: int) -> int:
        raw = environ.get(name, "").strip()
        if not raw:
            return default
        if not raw.isascii() or not raw.isdigit():
            problems.append(f"{name} must be a whole number (0 or more), not {raw!r}")
            return default
        return int(raw)

    def rate(name: str, default: str) -> str:
        value = text(name, default) or default
        try:
            limits.parse_many(value)
        except ValueError:
            problems.append(
                f"{name} must be a rate such as '60 per minute' or '10/second;500/hour', "
                f"not {value!r}"
            )
            return default
        return value

    timezone = text("KUDOS_TIMEZONE", "UTC")
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        problems.append(
            f"KUDOS_TIMEZONE must be an IANA time zone name such as Europe/Paris, not {timezone!r}"
        )
        timezone = "UTC"

    base_url = text("KUDOS_BASE_URL")
    if base_url:
        base_url = base_url.rstrip("/")
        if not base_url.startswith(("https://", "http://")) or "?" in base_url or "#" in base_url:
            problems.append(
                f"KUDOS_BASE_URL must be the site's address such as https://kudos.example.com, "
                f"not {base_url!r}"
            )

    issuer = text("KUDOS_OIDC_ISSUER")
    if issuer and not issuer.startswith(("https://", "http://")):
        problems.append(f"KUDOS_OIDC_ISSUER must be an https:// URL, not {issuer!r}")
    if issuer and not (text("KUDOS_OIDC_CLIENT_ID") and text("KUDOS_OIDC_CLIENT_SECRET")):
        problems.append(
            "KUDOS_OIDC_CLIENT_ID and KUDOS_OIDC_CLIENT_SECRET are required with KUDOS_OIDC_ISSUER"
        )

    ratelimit_storage = text("KUDOS_RATELIMIT_STORAGE_URL", "memory://")
    if ratelimit_storage.split("://")[0] not in RATELIMIT_STORAGES:
        problems.append(
            "KUDOS_RATELIMIT_STORAGE_URL must be a Redis URL such as redis://127.0.0.1:6379/0, "
            f"not {ratelimit_storage!r}"
        )
        ratelimit_storage = "memory://"

    smtp_url = text("KUDOS_SMTP_URL")
    if smtp_url and (problem := smtp_url_problem(smtp_url)):
        problems.append(problem)
    database_url = text("KUDOS_DATABASE_URL")
    if database_url and (problem := database_url_problem(database_url)):
        problems.append(problem)

    log_format = (text("KUDOS_LOG_FORMAT", "text") or "text").lower()
    if log_format not in LOG_FORMATS:
        problems.append(f"KUDOS_LOG_FORMAT must be text or json, not {log_format!r}")
        log_format = "text"

    session_hours = positive_int("KUDOS_SESSION_HOURS", 12, MAX_SESSION_HOURS)
    slack = _slack(text, problems)
    metrics = _metrics(text, boolean, problems)

    settings: dict[str, Any] = {
        "SECRET_KEY": text("KUDOS_SECRET_KEY"),
        "DATABASE_URL": database_url or default_database_url(instance_path),
        "BASE_URL": base_url,
        "OIDC_ISSUER": issuer.rstrip("/") if issuer else None,
        "OIDC_CLIENT_ID": text("KUDOS_OIDC_CLIENT_ID"),
        "OIDC_CLIENT_SECRET": text("KUDOS_OIDC_CLIENT_SECRET"),
        "OIDC_ADMIN_GROUP": text("KUDOS_OIDC_ADMIN_GROUP"),
        "OIDC_SCOPES": text("KUDOS_OIDC_SCOPES", "openid email profile"),
        "OIDC_AUTO_CREATE": boolean("KUDOS_OIDC_AUTO_CREATE", True),
        "OIDC_TRUST_EMAIL": boolean("KUDOS_OIDC_TRUST_EMAIL", False),
        "OIDC_PROVIDER_NAME": text("KUDOS_OIDC_PROVIDER_NAME", "your company account"),
        "OIDC_CLAIMS": {
            field: text(f"KUDOS_OIDC_CLAIM_{field.upper()}", default)
            for field, default in CLAIM_DEFAULTS.items()
        },
        "TIMEZONE": timezone,
        "DAILY_KUDOS_LIMIT": positive_int("KUDOS_DAILY_KUDOS_LIMIT", 20),
        # Each worker's page cache (kudos/cache.py) holds at most this much.
        "CACHE_MAX_BYTES": positive_int("KUDOS_CACHE_MAX_MB", 64) * 1024 * 1024,
        # Boards and summaries count new kudos within this many seconds
        # (0: at once, recomputed for each new kudos; see kudos/cache.py).
        "CACHE_REFRESH_SECONDS": whole_number("KUDOS_CACHE_REFRESH_SECONDS", 5),
        # Rate limits (kudos/ratelimit.py; Flask-Limiter reads RATELIMIT_*).
        "RATELIMIT_ENABLED": boolean("KUDOS_RATELIMIT_ENABLED", True),
        "RATELIMIT_STORAGE_URI": ratelimit_storage,
        "RATELIMIT_SIGN_IN": rate("KUDOS_RATELIMIT_SIGN_IN", "60 per minute"),
        "RATELIMIT_SEND": rate("KUDOS_RATELIMIT_SEND", "20 per minute"),
        "RATELIMIT_PAGES": rate("KUDOS_RATELIMIT_PAGES", "60 per minute"),
        "RATELIMIT_API": rate("KUDOS_RATELIMIT_API", "300 per minute"),
        "RATELIMIT_SCIM": rate("KUDOS_RATELIMIT_SCIM", "1200 per minute"),
        "RATELIMIT_NAMESPACE": "kudos",
        "RATELIMIT_STRATEGY": "fixed-window",
        # Redis down: count in each process's memory rather than fail pages.
        "RATELIMIT_IN_MEMORY_FALLBACK_ENABLED": True,
        "TRUSTED_PROXIES": whole_number("KUDOS_TRUSTED_PROXIES", 0),
        **metrics,
        # Server logs: plain text lines, or one JSON object per line (kudos/logs.py).
        "LOG_FORMAT": log_format,
        "SMTP_URL": smtp_url,
        "MAIL_FROM": text("KUDOS_MAIL_FROM", "Kudos <kudos@localhost>"),
        "SESSION_COOKIE_SECURE": boolean("KUDOS_COOKIE_SECURE", True),
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "REMEMBER_COOKIE_SECURE": True,
        "REMEMBER_COOKIE_HTTPONLY": True,
        "REMEMBER_COOKIE_SAMESITE": "Lax",
        # No form or API call needs more; bigger bodies get a 413.
        "MAX_CONTENT_LENGTH": 1024 * 1024,
        # A signed-in session lasts a working day from sign-in, however busy
        # (see ``auth/sessions.py``); then the provider is asked again, and
        # the admin group and profile claims are read again.
        "SESSION_HOURS": session_hours,
        "PERMANENT_SESSION_LIFETIME": session_hours * 3600,
        # New API tokens expire after this many days unless "no expiry" is chosen.
        "API_TOKEN_DAYS": positive_int("KUDOS_API_TOKEN_DAYS", 90, MAX_TOKEN_DAYS),
        **slack,
    }
    if problems:
        raise ConfigError(problems)
    return settings


def _slack(text: Any, problems: list[str]) -> dict[str, Any]:  # noqa: ANN401
    """The Slack app's settings (``kudos/slack``). Slack is on when the bot
    token, the signing secret and the workspace id are all set."""
    token = text("KUDOS_SLACK_BOT_TOKEN")
    secret = text("KUDOS_SLACK_SIGNING_SECRET")
    team_id = text("KUDOS_SLACK_TEAM_ID")
    app_token = text("KUDOS_SLACK_APP_TOKEN")
    channel = text("KUDOS_SLACK_CHANNEL")
    required = {
        "KUDOS_SLACK_BOT_TOKEN": token,
        "KUDOS_SLACK_SIGNING_SECRET": secret,
        "KUDOS_SLACK_TEAM_ID": team_id,
    }
    missing = [name for name, value in required.items() if not value]
    if missing and (len(missing) < len(required) or app_token or channel):
        problems.append(f"Slack needs {', '.join(missing)} as well")
    if token and not token.startswith("xoxb-"):
        problems.append("KUDOS_SLACK_BOT_TOKEN must be the app's bot token (xoxb-…)")
    if app_token and not app_token.startswith("xapp-"):
        problems.append("KUDOS_SLACK_APP_TOKEN must be an app-level token (xapp-…)")
    if team_id and not SLACK_ID.fullmatch(team_id):
        problems.append(
            f"KUDOS_SLACK_TEAM_ID must be a workspace id such as T0123ABCD, not {team_id!r}"
        )
    if channel and not SLACK_CHANNEL_ID.fullmatch(channel):
        problems.append(
            f"KUDOS_SLACK_CHANNEL must be a channel id such as C0123ABCD, not {channel!r}"
        )
    team_channels: dict[str, str] = {}
    for pair in filter(None, (text("KUDOS_SLACK_TEAM_CHANNELS") or "").split(",")):
        team, _, team_channel = (part.strip() for part in pair.partition("="))
        if not team or not SLACK_CHANNEL_ID.fullmatch(team_channel):
            problems.append(
                "KUDOS_SLACK_TEAM_CHANNELS must be team=channel pairs such as "
                f"platform=C0123ABCD,design=C0456EFGH, not {pair.strip()!r}"
            )
            continue
        team_channels[team.casefold()] = team_channel
    api_url = text("KUDOS_SLACK_API_URL", "https://slack.com/api/")
    if not api_url.startswith(("https://", "http://")):
        problems.append(f"KUDOS_SLACK_API_URL must be an https:// URL, not {api_url!r}")
    return {
        "SLACK_ENABLED": all(required.values()),
        "SLACK_BOT_TOKEN": token,
        "SLACK_SIGNING_SECRET": secret,
        "SLACK_TEAM_ID": team_id,
        "SLACK_APP_TOKEN": app_token,
        "SLACK_CHANNEL": channel,
        # Team name (case-folded) to the channel its team kudos go to.
        "SLACK_TEAM_CHANNELS": team_channels,
        "SLACK_API_URL": api_url.rstrip("/") + "/",
    }


def _metrics(
    text: Callable[..., str | None], boolean: Callable[[str, bool], bool], problems: list[str]
) -> dict[str, Any]:
    """``/metrics``: off unless enabled, then open to a bearer token and/or
    to listed networks, never to everyone."""
    enabled = boolean("KUDOS_METRICS_ENABLED", False)
    token = text("KUDOS_METRICS_TOKEN")
    networks = []
    for item in (text("KUDOS_METRICS_NETWORKS") or "").split(","):
        if not item.strip():
            continue
        try:
            networks.append(ipaddress.ip_network(item.strip(), strict=False))
        except ValueError:
            problems.append(
                "KUDOS_METRICS_NETWORKS must list networks such as 10.0.0.0/8,127.0.0.1, "
                f"not {item.strip()!r}"
            )
    if token is not None and len(token) < 16:
        problems.append("KUDOS_METRICS_TOKEN must be at least 16 characters long")
    if enabled and token is None and not networks:
        problems.append(
            "KUDOS_METRICS_ENABLED needs KUDOS_METRICS_TOKEN or KUDOS_METRICS_NETWORKS: "
            "/metrics is never open to everyone"
        )
    return {"METRICS_ENABLED": enabled, "METRICS_TOKEN": token, "METRICS_NETWORKS": networks}


def check(settings: Mapping[str, Any]) -> None:
    """Refuse settings that are only acceptable in the demo or the tests."""
    if settings.get("TESTING") or settings.get("DEMO"):
        return
    problems = []
    if not settings.get("SECRET_KEY"):
        problems.append(
            "KUDOS_SECRET_KEY is required: set it to a long random string, for example "
            "the output of `python -c 'import secrets; print(secrets.token_urlsafe(48))'`"
        )
    if not settings.get("BASE_URL"):
        # Without it, links would have to come from the Host header, which
        # the client chooses: an attacker's site in colleagues' e-mails.
        problems.append(
            "KUDOS_BASE_URL is required: set it to the address people use, "
            "such as https://kudos.example.com"
        )
    if problems:
        raise ConfigError(problems)
