"""Configuration from the environment, and the app factory."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from pathlib import Path

import pytest

import config
from kudos import create_app


def load(**environ: str) -> dict:
    return config.load(environ, instance_path="/srv/kudos/instance")


def test_defaults_when_nothing_is_set():
    settings = load()

    assert settings["DATABASE_URL"] == "sqlite:////srv/kudos/instance/kudos.sqlite3"
    assert settings["TIMEZONE"] == "UTC"
    assert settings["DAILY_KUDOS_LIMIT"] == 20
    assert settings["SMTP_URL"] is None
    assert settings["OIDC_AUTO_CREATE"] is True
    assert settings["SESSION_COOKIE_SECURE"] is True
    assert settings["SESSION_COOKIE_HTTPONLY"] is True
    assert settings["SESSION_COOKIE_SAMESITE"] == "Lax"


def test_every_variable_is_read():
    settings = load(
        KUDOS_DATABASE_URL="postgresql+psycopg://kudos@db/kudos",
        KUDOS_SECRET_KEY="s3cret",
        KUDOS_OIDC_ISSUER="https://login.example.com",
        KUDOS_OIDC_CLIENT_ID="kudos",
        KUDOS_OIDC_CLIENT_SECRET="shh",
        KUDOS_OIDC_ADMIN_GROUP="kudos-admins",
        KUDOS_TIMEZONE="Europe/Paris",
        KUDOS_DAILY_KUDOS_LIMIT="5",
        KUDOS_SMTP_URL="smtp://mail.example.com:25",
    )

    assert settings["DATABASE_URL"] == "postgresql+psycopg://kudos@db/kudos"
    assert settings["SECRET_KEY"] == "s3cret"
    assert settings["OIDC_ISSUER"] == "https://login.example.com"
    assert settings["OIDC_CLIENT_ID"] == "kudos"
    assert settings["OIDC_CLIENT_SECRET"] == "shh"
    assert settings["OIDC_ADMIN_GROUP"] == "kudos-admins"
    assert settings["TIMEZONE"] == "Europe/Paris"
    assert settings["DAILY_KUDOS_LIMIT"] == 5
    assert settings["SMTP_URL"] == "smtp://mail.example.com:25"


def test_all_bad_values_are_reported_together():
    with pytest.raises(config.ConfigError) as caught:
        load(
            KUDOS_TIMEZONE="Mars/Olympus_Mons",
            KUDOS_DAILY_KUDOS_LIMIT="lots",
            KUDOS_SMTP_URL="mail.example.com",
            KUDOS_OIDC_AUTO_CREATE="perhaps",
        )

    problems = "\n".join(caught.value.problems)
    assert len(caught.value.problems) == 4
    assert "KUDOS_TIMEZONE" in problems
    assert "Mars/Olympus_Mons" in problems
    assert "KUDOS_DAILY_KUDOS_LIMIT" in problems
    assert "KUDOS_SMTP_URL" in problems
    assert "KUDOS_OIDC_AUTO_CREATE" in problems


@pytest.mark.parametrize("limit", ["0", "-3", "2.5"])
def test_daily_limit_must_be_a_positive_whole_number(limit):
    with pytest.raises(config.ConfigError, match="KUDOS_DAILY_KUDOS_LIMIT"):
        load(KUDOS_DAILY_KUDOS_LIMIT=limit)


def test_sessions_last_12_hours_and_tokens_90_days_by_default():
    settings = load()

    assert settings["SESSION_HOURS"] == 12
    assert settings["PERMANENT_SESSION_LIFETIME"] == 12 * 3600
    assert settings["API_TOKEN_DAYS"] == 90


def test_session_and_token_lifetimes_are_read():
    settings = load(KUDOS_SESSION_HOURS="8", KUDOS_API_TOKEN_DAYS="30")

    assert (settings["SESSION_HOURS"], settings["PERMANENT_SESSION_LIFETIME"]) == (8, 8 * 3600)
    assert settings["API_TOKEN_DAYS"] == 30


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("KUDOS_SESSION_HOURS", "0"),
        ("KUDOS_SESSION_HOURS", "1.5"),
        ("KUDOS_SESSION_HOURS", "745"),
        ("KUDOS_API_TOKEN_DAYS", "-1"),
        ("KUDOS_API_TOKEN_DAYS", "never"),
        ("KUDOS_API_TOKEN_DAYS", "3651"),
    ],
)
def test_lifetimes_must_be_sensible_whole_numbers(name, value):
    with pytest.raises(config.ConfigError, match=name):
        load(**{name: value})


def test_secret_key_is_required_outside_demo_and_tests(monkeypatch):
    monkeypatch.delenv("KUDOS_SECRET_KEY", raising=False)

    with pytest.raises(config.ConfigError, match="KUDOS_SECRET_KEY is required"):
        create_app({"DATABASE_URL": "sqlite://"})


def test_base_url_is_required_outside_demo_and_tests_and_listed_with_the_others(monkeypatch):
    monkeypatch.delenv("KUDOS_SECRET_KEY", raising=False)
    monkeypatch.delenv("KUDOS_BASE_URL", raising=False)

    with pytest.raises(config.ConfigError) as refused:
        create_app({"DATABASE_URL": "sqlite://"})

    assert [problem.split(" ")[0] for problem in refused.value.problems] == [
        "KUDOS_SECRET_KEY",
        "KUDOS_BASE_URL",
    ]


def test_secret_key_and_base_url_are_not_required_in_tests_or_demo(monkeypatch):
    monkeypatch.delenv("KUDOS_SECRET_KEY", raising=False)
    monkeypatch.delenv("KUDOS_BASE_URL", raising=False)

    assert create_app({"TESTING": True, "DATABASE_URL": "sqlite://"}).testing
    assert create_app({"DEMO": True, "DATABASE_URL": "sqlite://"}).config["DEMO"]


def test_the_factory_reads_the_environment(monkeypatch):
    monkeypatch.setenv("KUDOS_SECRET_KEY", "from-the-environment")
    monkeypatch.setenv("KUDOS_BASE_URL", "https://kudos.example.com")
    monkeypatch.setenv("KUDOS_TIMEZONE", "America/New_York")

    app = create_app({"DATABASE_URL": "sqlite://"})

    assert app.secret_key == "from-the-environment"
    assert app.config["TIMEZONE"] == "America/New_York"
    assert not app.config.get("DEMO")


def test_the_factory_touches_no_database(tmp_path):
    database = tmp_path / "never-created.sqlite3"

    create_app({"TESTING": True, "DATABASE_URL": f"sqlite:///{database}"})

    assert not database.exists()


def test_demo_sign_in_cannot_be_enabled_from_the_environment(monkeypatch):
    monkeypatch.setenv("KUDOS_SECRET_KEY", "x")
    monkeypatch.setenv("KUDOS_BASE_URL", "https://kudos.example.com")
    monkeypatch.setenv("KUDOS_DEMO", "1")
    monkeypatch.setenv("DEMO", "1")
    monkeypatch.setenv("FLASK_DEMO", "1")

    app = create_app({"DATABASE_URL": "sqlite://"})

    assert "demo.sign_in" not in app.view_functions
    assert app.test_client().get("/demo/sign-in").status_code == 404


def test_cli_reports_configuration_problems_without_a_traceback(monkeypatch, capsys):
    from kudos.cli import cli

    monkeypatch.setenv("KUDOS_TIMEZONE", "Nowhere/Special")
    with pytest.raises(SystemExit) as exited:
        cli.main(["db", "current"], prog_name="kudos")

    assert exited.value.code == 2
    err = capsys.readouterr().err
    assert "KUDOS_TIMEZONE" in err
    assert "Traceback" not in err


def test_single_sign_on_settings():
    settings = load(
        KUDOS_OIDC_ISSUER="https://login.example.com/realms/acme/",
        KUDOS_OIDC_CLIENT_ID="kudos",
        KUDOS_OIDC_CLIENT_SECRET="shh",
        KUDOS_OIDC_TRUST_EMAIL="yes",
        KUDOS_OIDC_CLAIM_TITLE="jobTitle",
        KUDOS_BASE_URL="https://kudos.example.com/",
    )

    assert settings["OIDC_ISSUER"] == "https://login.example.com/realms/acme"
    assert settings["OIDC_TRUST_EMAIL"] is True
    assert settings["OIDC_CLAIMS"]["title"] == "jobTitle"
    assert settings["OIDC_CLAIMS"]["email"] == "email"
    assert settings["BASE_URL"] == "https://kudos.example.com"


def test_an_issuer_needs_a_client_registration():
    with pytest.raises(
        config.ConfigError, match="KUDOS_OIDC_CLIENT_ID and KUDOS_OIDC_CLIENT_SECRET"
    ):
        load(KUDOS_OIDC_ISSUER="https://login.example.com")


@pytest.mark.parametrize("url", ["kudos.example.com", "https://kudos.example.com/?x=1"])
def test_a_bad_base_url_is_reported(url):
    with pytest.raises(config.ConfigError, match="KUDOS_BASE_URL"):
        load(KUDOS_BASE_URL=url)


def test_the_provisioning_rate_limit_is_a_rate():
    assert load()["RATELIMIT_SCIM"] == "1200 per minute"
    assert load(KUDOS_RATELIMIT_SCIM="20/second")["RATELIMIT_SCIM"] == "20/second"
    with pytest.raises(config.ConfigError, match="KUDOS_RATELIMIT_SCIM must be a rate"):
        load(KUDOS_RATELIMIT_SCIM="lots")


class Asked(dict):
    """An environment that notes every name Kudos looks up in it."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.asked: set[str] = set()

    def get(self, name, default=None):  # noqa: ANN001, ANN201
        self.asked.add(name)
        return super().get(name, default)

    def __getitem__(self, name):  # noqa: ANN001, ANN204
        self.asked.add(name)
        return super().__getitem__(name)

    def __contains__(self, name):  # noqa: ANN001, ANN204
        self.asked.add(name)
        return super().__contains__(name)


def test_the_example_environment_names_every_setting():
    """.env.example is where an operator starts: a setting missing there
    is a setting nobody finds."""
    example = Path(__file__).resolve().parent.parent / ".env.example"
    listed = {
        line.split("=", 1)[0]
        for line in example.read_text(encoding="utf-8").splitlines()
        if line.startswith("KUDOS_")
    }
    environ = Asked(
        {name: "" for name in listed}
        | {"KUDOS_SLACK_BOT_TOKEN": "xoxb-1-2-abc", "KUDOS_METRICS_ENABLED": "true"}
    )
    with contextlib.suppress(config.ConfigError):  # the Slack settings are incomplete
        config.load(environ, instance_path="/srv/kudos/instance")

    assert {name for name in environ.asked if name.startswith("KUDOS_")} - listed == set()
    assert len(environ.asked) > 40


@pytest.mark.parametrize(
    ("name", "value", "says"),
    [
        ("KUDOS_DATABASE_URL", "not a url", "(it does not parse)"),
        ("KUDOS_DATABASE_URL", "postgresql+psycopg://k:hunter22@db:abc/kudos", "port is not"),
        ("KUDOS_DATABASE_URL", "mysql://k:hunter22@db/kudos", "needs the Python module MySQLdb"),
        ("KUDOS_DATABASE_URL", "cockroach://k:hunter22@db/kudos", "(an unknown engine)"),
        ("KUDOS_SMTP_URL", "smtp://k:hunter22@mail:abc", "Port could not be cast"),
        ("KUDOS_SMTP_URL", "smtp://k:hunter22@mail:70000", "Port out of range"),
        ("KUDOS_SMTP_URL", "smtp://[::1", "Invalid IPv6 URL"),
        ("KUDOS_SMTP_URL", "mail://k:hunter22@mail", "must start with smtp://"),
    ],
)
def test_a_url_kudos_could_not_use_is_refused_at_start_up_without_its_password(name, value, says):
    with pytest.raises(config.ConfigError) as refused:
        load(**{name: value})

    (problem,) = refused.value.problems
    assert problem.startswith(name)
    assert says in problem
    assert "hunter22" not in problem


def test_a_command_says_so_in_one_line(tmp_path):
    environ = {
        **os.environ,
        "KUDOS_DATABASE_URL": "not a url",
        "KUDOS_SECRET_KEY": "a-secret-key-long-enough-for-kudos-0123456789",
        "KUDOS_BASE_URL": "https://kudos.example.com",
    }
    ran = subprocess.run(
        [sys.executable, "-c", "from kudos.cli import main; main()", "admins", "list"],
        capture_output=True,
        text=True,
        env=environ,
        cwd=tmp_path,
    )

    assert ran.returncode != 0
    assert "Traceback" not in ran.stderr
    assert "KUDOS_DATABASE_URL must be a database URL" in ran.stderr
