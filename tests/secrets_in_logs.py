"""No secret in the logs: the check that runs over a whole test run.

Every record of the run, at INFO as a server logs, is written as JSON to
LOG_FILE, and the logs of the servers the tests start as processes of their
own (gunicorn, in ``tests/faults.py``) are added to SERVER_LOG_FILE.
Meanwhile SECRETS collects every secret the run makes or sends, and at the
end the run fails if any of them is in either file. What records them (from
``start``, called by ``pytest_configure``, for every test and app):
  - ``Flask.__call__``, wrapped for every app of the run: the app's own
    secrets (secret key, OIDC client secret, Slack tokens and signing
    secret, passwords in the SMTP and database URLs), and, from each
    request and answer, the Authorization header's credentials (API and
    SCIM tokens), every cookie sent or set (sessions), and an OIDC
    callback's ``code`` and ``state``;
  - the ``secrets`` module as the API- and SCIM-token modules see it: each
    token minted, even one only shown on a page;
  - SQLAlchemy attribute events: every kudos message, and every ID token
    kept for signing out;
  - ``keep_server_log``: the secrets in a server process's environment.
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import types
from collections.abc import Iterable, Mapping
from http.cookies import SimpleCookie
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from flask import Flask
from sqlalchemy import event

import kudos.auth.tokens
import kudos.scim.tokens
from kudos.auth.models import Identity
from kudos.logs import JsonFormatter
from kudos.recognition.models import Kudos

# One file per run (runs may overlap); removed when it holds no secret.
OUTPUT = Path(__file__).resolve().parent.parent / "test-output"
LOG_FILE = OUTPUT / f"log-{os.getpid()}.jsonl"
SERVER_LOG_FILE = OUTPUT / f"servers-{os.getpid()}.log"
# Shorter values (a test's "x", a made-up "secret") would match by chance.
MIN_SECRET_LENGTH = 12
SECRETS: dict[str, str] = {}  # the secret -> what it is


def record_secret(kind: str, value: object) -> None:
    if isinstance(value, str) and meaningful(value):
        SECRETS.setdefault(value, kind)


def meaningful(secret: str) -> bool:
    """Long and varied enough not to turn up by chance (a test's state of
    "9999…" is in the path of a test's 404 for a huge id)."""
    return len(secret) >= MIN_SECRET_LENGTH and len(set(secret)) >= 5


def find_secrets(lines: Iterable[str], secrets: Mapping[str, str]) -> list[tuple[int, str, str]]:
    """``(line number, what, line)`` for each secret found in ``lines``, as
    it is or as JSON writes it. One pass over the text: each secret is
    looked for only where its first characters are."""
    probes: dict[str, list[tuple[str, str]]] = {}
    for secret, kind in secrets.items():
        if not meaningful(secret):
            continue
        for form in {secret, json.dumps(secret)[1:-1]}:
            probes.setdefault(form[:MIN_SECRET_LENGTH], []).append((form, kind))
    found = []
    for number, line in enumerate(lines, 1):
        seen = set()
        for start in range(len(line) - MIN_SECRET_LENGTH + 1):
            for form, kind in probes.get(line[start : start + MIN_SECRET_LENGTH], ()):
                if form not in seen and line.startswith(form, start):
                    seen.add(form)
                    found.append((number, kind, line))
    return found


def _record_app_secrets(config: Mapping[str, Any]) -> None:
    for key in ("SECRET_KEY", "OIDC_CLIENT_SECRET", "SLACK_BOT_TOKEN", "SLACK_APP_TOKEN"):
        record_secret(key, config.get(key))
    record_secret("SLACK_SIGNING_SECRET", config.get("SLACK_SIGNING_SECRET"))
    for key in ("SMTP_URL", "DATABASE_URL"):
        if config.get(key):
            record_secret(f"password in {key}", urlsplit(config[key]).password)


def _record_request_secrets(environ: Mapping[str, Any]) -> None:
    record_secret("Authorization header", environ.get("HTTP_AUTHORIZATION", "").partition(" ")[2])
    _record_cookies("cookie sent", environ.get("HTTP_COOKIE", ""))
    query = environ.get("QUERY_STRING", "")
    if "code=" in query or "state=" in query:
        for name, values in parse_qs(query).items():
            if name in ("code", "state"):
                for value in values:
                    record_secret(f"OIDC {name}", value)


def _record_cookies(kind: str, header: str) -> None:
    if header:
        cookies: SimpleCookie = SimpleCookie()
        cookies.load(header)
        for morsel in cookies.values():
            record_secret(f"{kind}: {morsel.key}", morsel.value)


def _recording_wsgi(call: Any) -> Any:  # noqa: ANN401
    def recording_call(self: Flask, environ: dict, start_response: Any) -> Any:  # noqa: ANN401
        _record_app_secrets(self.config)
        _record_request_secrets(environ)

        def recording_start_response(status: str, headers: list, *args: Any) -> Any:  # noqa: ANN401
            for name, value in headers:
                if name.lower() == "set-cookie":
                    _record_cookies("cookie set", value)
            return start_response(status, headers, *args)

        return call(self, environ, recording_start_response)

    return recording_call


class _RecordingSecrets(types.SimpleNamespace):
    """The ``secrets`` module as a token-minting module sees it."""

    def __getattr__(self, name: str) -> Any:  # noqa: ANN401
        return getattr(secrets, name)

    def token_urlsafe(self, nbytes: int | None = None) -> str:
        token = secrets.token_urlsafe(nbytes)
        record_secret(f"token minted by {self.minter}", token)
        return token


def _start_recording_secrets(known: Mapping[str, str]) -> None:
    from tests.oidc_provider import CLIENT_SECRET
    from tests.slack_requests import SIGNING_SECRET

    for kind, secret in known.items():
        record_secret(kind, secret)
    record_secret("OIDC_CLIENT_SECRET", CLIENT_SECRET)
    record_secret("SLACK_SIGNING_SECRET", SIGNING_SECRET)
    Flask.__call__ = _recording_wsgi(Flask.__call__)  # type: ignore[method-assign]
    for module in (kudos.auth.tokens, kudos.scim.tokens):
        module.secrets = _RecordingSecrets(minter=module.__name__)  # type: ignore[attr-defined]
    for attribute, kind in ((Kudos.message, "kudos message"), (Identity.id_token, "ID token")):
        event.listen(attribute, "set", _recording_set(kind))


def _recording_set(kind: str) -> Any:  # noqa: ANN401
    def record(target: object, value: object, *rest: object) -> None:
        record_secret(kind, value)

    return record


def _start_capturing_logs() -> logging.Handler:
    LOG_FILE.parent.mkdir(exist_ok=True)
    handler = logging.FileHandler(LOG_FILE, mode="w", encoding="utf-8")
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.addHandler(handler)
    root.setLevel(logging.INFO)  # what a server logs (kudos.logs.configure)
    return handler


_handler: list[logging.Handler] = []  # while the run's records are captured


def start(known: Mapping[str, str]) -> None:
    """Capture every record and record every secret, from now to ``finish``;
    ``known``: secrets the run has from the start (kind -> secret)."""
    _handler.append(_start_capturing_logs())
    _start_recording_secrets(known)
    SERVER_LOG_FILE.unlink(missing_ok=True)


def keep_server_log(log: Path, environ: Mapping[str, str]) -> None:
    """A server process's log, for the check at the end, and the secrets it
    was started with. Outside a test run (``bench/``), nothing."""
    if not _handler:
        return
    for name, value in environ.items():
        if any(word in name for word in ("SECRET", "TOKEN", "PASSWORD")):
            record_secret(name, value)
        elif name.endswith("_URL") and "@" in value:
            record_secret(f"password in {name}", urlsplit(value).password)
    with SERVER_LOG_FILE.open("a", encoding="utf-8") as kept:
        kept.write(log.read_text(encoding="utf-8", errors="replace"))


def finish() -> bool:
    """Stop capturing; whether the logs are free of the run's secrets
    (if not, they are printed, and the files kept to look at)."""
    if not _handler:
        return True
    handler = _handler.pop()
    logging.getLogger().removeHandler(handler)
    handler.close()
    clean = True
    for path in (LOG_FILE, SERVER_LOG_FILE):
        if not path.exists():
            continue
        with path.open(encoding="utf-8") as lines:
            found = find_secrets(lines, SECRETS)
        if found:
            clean = False
            kinds = sorted({kind for _, kind, _ in found})
            print(f"\n{len(found)} secrets in this run's logs ({', '.join(kinds)}), in {path}:")
            for number, kind, line in found[:20]:
                print(f"  line {number}: {kind}: {line.strip()[:300]}")
        else:
            path.unlink()
    return clean
