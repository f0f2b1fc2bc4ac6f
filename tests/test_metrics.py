"""Prometheus metrics: ``/metrics`` off by default and closed to strangers,
each figure counted where it happens, and every request counted once when
several gunicorn workers answer (read with prometheus_client's own parser)."""

from __future__ import annotations

import glob
import ipaddress
import os
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

import config
from kudos.db import utcnow
from kudos.outbox.services import queue_email
from kudos.recognition.services import KudosRejected
from tests.faults import gunicorn, migrate

TOKEN = "metrics-scraper-token-0123456789"


@pytest.fixture
def app_overrides():
    return {
        "METRICS_ENABLED": True,
        "METRICS_TOKEN": TOKEN,
        "METRICS_NETWORKS": [ipaddress.ip_network("10.1.0.0/16")],
    }


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample by name and labels, as Prometheus reads the page."""
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def scrape(client, **headers) -> dict:
    response = client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}", **headers})
    assert response.status_code == 200
    assert response.content_type.startswith("text/plain")
    return samples(response.get_data(as_text=True))


def value(found: dict, name: str, **labels: str) -> float:
    return found.get((name, tuple(sorted(labels.items()))), 0.0)


# Who may read it ---------------------------------------------------------------


@pytest.mark.one_engine
def test_only_a_token_or_a_listed_network_reads_the_metrics(client):
    listed = {"REMOTE_ADDR": "10.1.2.3"}

    assert client.get("/metrics").status_code == 404
    assert client.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 404
    assert client.get("/metrics", environ_base={"REMOTE_ADDR": "10.2.0.1"}).status_code == 404
    assert client.get("/metrics", environ_base=listed).status_code == 200
    assert scrape(client)


@pytest.mark.one_engine
@pytest.mark.parametrize("app_overrides", [{"METRICS_TOKEN": TOKEN}])
def test_off_unless_turned_on(client, app_overrides):
    response = client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})

    assert response.status_code == 404


# What it counts -----------------------------------------------------------------


def test_requests_are_timed_by_endpoint_and_status_class(client):
    before = scrape(client)
    for _ in range(3):
        client.get("/healthz")
    client.get("/no/such/page")
    after = scrape(client)

    count = "kudos_http_request_duration_seconds_count"
    healthz = {"endpoint": "health.healthz", "method": "GET", "status": "2xx"}
    missing = {"endpoint": "unmatched", "method": "GET", "status": "4xx"}
    assert value(after, count, **healthz) - value(before, count, **healthz) == 3
    assert value(after, count, **missing) - value(before, count, **missing) == 1


def test_kudos_sent_and_refused_by_rule(client, session, make):
    sender, recipient = make.person(), make.person()
    before = scrape(client)
    make.kudos(sender, [recipient])
    with pytest.raises(KudosRejected):
        make.kudos(sender, [sender], message=" ")
    after = scrape(client)

    assert value(after, "kudos_sent_total") - value(before, "kudos_sent_total") == 1
    refused = "kudos_send_refused_total"
    for rule in ("recipients", "message"):
        assert value(after, refused, rule=rule) - value(before, refused, rule=rule) == 1


def test_cache_hits_and_misses(client, session, make):
    from tests.conftest import sign_in

    sign_in(client, make.person())
    client.get("/leaderboard")  # made, then kept
    before = scrape(client)
    client.get("/leaderboard")
    after = scrape(client)

    lookups = "kudos_cache_lookups_total"
    assert value(after, lookups, result="hit") > value(before, lookups, result="hit")


def test_sign_in_failures_by_reason(client):
    before = scrape(client)
    client.get("/auth/callback?error=access_denied")  # no provider here: misconfigured
    after = scrape(client)

    failures = "kudos_sign_in_failures_total"
    assert (
        value(after, failures, reason="misconfigured")
        - value(before, failures, reason="misconfigured")
        == 1
    )


def test_the_outbox_is_read_from_the_database(client, session, make):
    queue_email(
        session,
        kind="kudos",
        to_address=make.person().email,
        subject="Thanks",
        text_body="…",
        html_body=None,
        now=utcnow() - timedelta(minutes=10),
    )
    session.commit()

    found = scrape(client)

    assert value(found, "kudos_outbox_messages", transport="email", status="pending") == 1
    assert value(found, "kudos_outbox_oldest_pending_age_seconds", transport="email") >= 600


@pytest.mark.one_engine
@pytest.mark.parametrize(
    "app_overrides",
    [{"METRICS_ENABLED": True, "METRICS_TOKEN": TOKEN, "RATELIMIT_ENABLED": True}],
)
def test_rate_limit_refusals_by_limit(client, app, app_overrides):
    app.config["RATELIMIT_SIGN_IN"] = "2 per minute"
    before = scrape(client)
    statuses = [client.get("/auth/callback?error=x").status_code for _ in range(3)]
    after = scrape(client)

    assert statuses[-1] == 429
    limited = "kudos_rate_limited_total"
    assert value(after, limited, limit="sign_in") - value(before, limited, limit="sign_in") == 1


# Several workers ------------------------------------------------------------------


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """Kudos under gunicorn with 3 workers, metrics on; its address and the
    workers' metrics directory."""
    url = f"sqlite:///{tmp_path / 'metrics.sqlite3'}"
    migrate(url)
    directory = tmp_path / "metrics"
    env = {
        "KUDOS_METRICS_ENABLED": "true",
        "KUDOS_METRICS_TOKEN": TOKEN,
        "PROMETHEUS_MULTIPROC_DIR": str(directory),
        # Each worker is replaced after 10 requests: the counts of workers
        # gone must still be there.
        "GUNICORN_CMD_ARGS": "--max-requests=10 --preload",
    }
    with gunicorn(url, workers=3, threads=1, env=env) as (base, log):
        yield base, directory
        assert "Traceback" not in log.read_text(), log.read_text()


@pytest.mark.one_engine
def test_every_workers_requests_are_counted_once(served):
    base, directory = served
    calls = 60

    for _ in range(calls):
        response = requests.get(f"{base}/api/v1/openapi.json", timeout=10)
        assert response.status_code == 200

    workers = {Path(path).stem for path in glob.glob(f"{directory}/histogram_*.db")}
    assert len(workers) >= calls // 10, "each worker answers 10 requests, then another takes over"
    for _ in range(3):  # whichever worker answers the scrape
        page = requests.get(
            f"{base}/metrics", headers={"Authorization": f"Bearer {TOKEN}"}, timeout=10
        )
        assert page.status_code == 200
        found = samples(page.text)
        assert (
            value(
                found,
                "kudos_http_request_duration_seconds_count",
                endpoint="api.openapi",
                method="GET",
                status="2xx",
            )
            == calls
        )
    assert os.environ.get("PROMETHEUS_MULTIPROC_DIR") is None  # the suite's own process


# Settings ------------------------------------------------------------------------


def settings(**environ: str) -> dict:
    return config.load(environ, instance_path="/srv/kudos/instance")


@pytest.mark.one_engine
def test_metrics_are_off_and_closed_by_default():
    found = settings()

    assert (found["METRICS_ENABLED"], found["METRICS_TOKEN"], found["METRICS_NETWORKS"]) == (
        False,
        None,
        [],
    )


@pytest.mark.one_engine
def test_metrics_settings_are_read():
    found = settings(
        KUDOS_METRICS_ENABLED="yes",
        KUDOS_METRICS_TOKEN=TOKEN,
        KUDOS_METRICS_NETWORKS="10.0.0.0/8, 127.0.0.1",
    )

    assert found["METRICS_ENABLED"] is True
    assert found["METRICS_TOKEN"] == TOKEN
    assert found["METRICS_NETWORKS"] == [
        ipaddress.ip_network("10.0.0.0/8"),
        ipaddress.ip_network("127.0.0.1/32"),
    ]


@pytest.mark.one_engine
@pytest.mark.parametrize(
    ("environ", "says"),
    [
        ({"KUDOS_METRICS_ENABLED": "true"}, "never open to everyone"),
        ({"KUDOS_METRICS_TOKEN": "short"}, "at least 16 characters"),
        ({"KUDOS_METRICS_NETWORKS": "10.0.0.0/8,the office"}, "'the office'"),
    ],
)
def test_unsafe_or_wrong_metrics_settings_are_refused(environ, says):
    with pytest.raises(config.ConfigError) as refused:
        settings(**environ)

    assert any(says in problem for problem in refused.value.problems)
