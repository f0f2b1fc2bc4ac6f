"""Prometheus metrics: ``/metrics`` off by default and closed to strangers,
each figure counted where it happens, and every request counted once when
several gunicorn workers answer (read with prometheus_client's own parser)."""

from __future__ import annotations

import contextlib
import glob
import ipaddress
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy.exc import OperationalError

import config
import kudos_gunicorn
from kudos import metrics
from kudos.auth.problems import PROBLEMS
from kudos.auth.tokens import create_token
from kudos.db import utcnow
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
def test_a_token_beyond_ascii_is_refused_like_any_wrong_one(client):
    response = client.get("/metrics", headers={"Authorization": "Bearer élan-vital-0123456789"})

    assert response.status_code == 404


@pytest.mark.one_engine
@pytest.mark.parametrize(
    "app_overrides",
    [
        {
            "METRICS_ENABLED": True,
            "METRICS_NETWORKS": [ipaddress.ip_network("10.1.0.0/16")],
            "TRUSTED_PROXIES": 1,
        }
    ],
)
def test_behind_a_proxy_the_network_is_the_clients(client, app_overrides):
    """The proxy's own address (127.0.0.1) is not the one that counts, and
    only the hop the proxy added is believed."""

    def through_proxy(forwarded_for: str) -> int:
        return client.get(
            "/metrics",
            headers={"X-Forwarded-For": forwarded_for},
            environ_base={"REMOTE_ADDR": "127.0.0.1"},
        ).status_code

    assert through_proxy("10.1.2.3") == 200
    assert through_proxy("10.9.9.9") == 404
    assert through_proxy("10.1.2.3, 10.9.9.9") == 404  # a client naming a listed address


@pytest.mark.one_engine
def test_without_trusted_proxies_a_forwarded_address_is_ignored(client):
    response = client.get(
        "/metrics",
        headers={"X-Forwarded-For": "10.1.2.3"},
        environ_base={"REMOTE_ADDR": "10.2.0.1"},
    )

    assert response.status_code == 404


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


@pytest.mark.one_engine
def test_a_made_up_method_is_counted_as_other(client):
    other = {"endpoint": "unmatched", "method": "other", "status": "4xx"}  # a 405
    count = "kudos_http_request_duration_seconds_count"
    before = scrape(client)
    for method in ("FOOA", "FOOB"):
        client.open("/healthz", method=method)
    after = scrape(client)

    labels = {labels for name, labels in after if name.startswith("kudos_http_request")}
    assert not any(("method", made_up) in each for each in labels for made_up in ("FOOA", "FOOB"))
    assert value(after, count, **other) - value(before, count, **other) == 2


@pytest.mark.one_engine
def test_two_scrapes_at_once_both_answer(app, monkeypatch):
    """Without gunicorn's shared directory (``kudos demo``, threaded
    servers), each scrape still has its own registry."""
    read = metrics.OutboxCollector._families

    def slow_read(collector):
        time.sleep(0.3)  # long enough for the other scrape to start meanwhile
        return read(collector)

    monkeypatch.setattr(metrics.OutboxCollector, "_families", slow_read)
    statuses: list[int] = []

    def scrape_once() -> None:
        with app.test_client() as client:
            statuses.append(
                client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"}).status_code
            )

    scrapers = [threading.Thread(target=scrape_once) for _ in range(2)]
    for scraper in scrapers:
        scraper.start()
    for scraper in scrapers:
        scraper.join()

    assert statuses == [200, 200]


@pytest.mark.one_engine
def test_with_the_database_down_the_request_counts_still_answer(client, monkeypatch):
    def unreachable(_collector):
        raise OperationalError("SELECT", {}, Exception("connection refused"))

    client.get("/healthz")
    monkeypatch.setattr(metrics.OutboxCollector, "_families", unreachable)
    found = scrape(client)

    names = {name for name, _ in found}
    healthz = {"endpoint": "health.healthz", "method": "GET", "status": "2xx"}
    assert value(found, "kudos_http_request_duration_seconds_count", **healthz) >= 1
    assert not any(name.startswith("kudos_outbox") for name in names)


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


def test_sends_through_the_api_refused_by_rule(client, session, make):
    sender, recipient = make.person(), make.person()
    _, token = create_token(session, sender, "tests", now=utcnow())
    session.commit()
    before = scrape(client)
    for recipients, values in (([recipient.id + 1000], ["responsive"]), ([sender.id], ["nope"])):
        response = client.post(
            "/api/v1/kudos",
            headers={"Authorization": f"Bearer {token}"},
            json={"recipients": recipients, "values": values, "message": "Thanks!"},
        )
        assert response.status_code == 422
    after = scrape(client)

    refused = "kudos_send_refused_total"
    for rule, times in (("recipients", 2), ("values", 1)):
        assert value(after, refused, rule=rule) - value(before, refused, rule=rule) == times


def test_cache_hits_and_misses(client, session, make):
    from tests.conftest import sign_in

    sign_in(client, make.person())
    client.get("/leaderboard")  # made, then kept
    before = scrape(client)
    client.get("/leaderboard")
    after = scrape(client)

    lookups = "kudos_cache_lookups_total"
    assert value(after, lookups, result="hit") > value(before, lookups, result="hit")


@pytest.mark.one_engine
def test_what_can_be_counted_is_there_at_zero_before_it_happens(client):
    """A series that first appears at 1 is no increase to Prometheus."""
    found = scrape(client)

    for reason in PROBLEMS:
        assert ("kudos_sign_in_failures_total", (("reason", reason),)) in found
    for limit in ("sign_in", "pages", "api", "scim", "send"):
        assert ("kudos_rate_limited_total", (("limit", limit),)) in found
    for rule in ("recipients", "values", "message", "daily_limit"):
        assert ("kudos_send_refused_total", (("rule", rule),)) in found
    for transport in ("email", "slack"):
        for status in ("pending", "sent", "failed"):
            labels = (("status", status), ("transport", transport))
            assert ("kudos_outbox_messages", labels) in found


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
    now = utcnow()
    make.queued_email(at=now - timedelta(minutes=10))
    make.queued_email(at=now - timedelta(minutes=3), attempts=2)  # waiting for its next try
    make.queued_email(at=now - timedelta(minutes=30), attempts=5, status="failed")  # given up

    found = scrape(client)

    assert value(found, "kudos_outbox_messages", transport="email", status="pending") == 2
    assert value(found, "kudos_outbox_messages", transport="email", status="failed") == 1
    assert value(found, "kudos_outbox_retrying_messages", transport="email") == 1
    assert 600 <= value(found, "kudos_outbox_oldest_pending_age_seconds", transport="email") < 900
    assert value(found, "kudos_outbox_oldest_pending_age_seconds", transport="slack") == 0
    assert value(found, "kudos_outbox_retrying_messages", transport="slack") == 0


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


@contextlib.contextmanager
def served(tmp_path: Path, **env: str) -> Iterator[str]:
    """Kudos under gunicorn with 3 workers and metrics on (``env`` on top);
    its address."""
    url = f"sqlite:///{tmp_path / 'metrics.sqlite3'}"
    if not Path(url.removeprefix("sqlite:///")).exists():
        migrate(url)
    env = {"KUDOS_METRICS_ENABLED": "true", "KUDOS_METRICS_TOKEN": TOKEN, **env}
    with gunicorn(url, workers=3, threads=1, env=env) as (base, log):
        yield base
        assert "Traceback" not in log.read_text(), log.read_text()


def openapi_calls(base: str) -> float:
    """The ``GET /api/v1/openapi.json`` that the workers have counted."""
    page = requests.get(f"{base}/metrics", headers={"Authorization": f"Bearer {TOKEN}"}, timeout=10)
    assert page.status_code == 200
    return value(
        samples(page.text),
        "kudos_http_request_duration_seconds_count",
        endpoint="api.openapi",
        method="GET",
        status="2xx",
    )


def call_openapi(base: str, times: int) -> None:
    for _ in range(times):
        assert requests.get(f"{base}/api/v1/openapi.json", timeout=10).status_code == 200


@pytest.mark.one_engine
def test_every_workers_requests_are_counted_once(tmp_path):
    calls = 60
    # Each worker is replaced after 10 requests: the counts of workers gone
    # must still be there. The directory is gunicorn.conf.py's own, made in
    # the temporary directory and removed when gunicorn stops.
    env = {"GUNICORN_CMD_ARGS": "--max-requests=10 --preload", "TMPDIR": str(tmp_path)}
    with served(tmp_path, **env) as base:
        call_openapi(base, calls)
        (directory,) = glob.glob(f"{tmp_path}/kudos-metrics-*")
        workers = {Path(path).stem for path in glob.glob(f"{directory}/histogram_*.db")}
        assert len(workers) >= calls // 10, "each worker answers 10 requests, then another"
        for _ in range(3):  # whichever worker answers the scrape
            assert openapi_calls(base) == calls

    assert not Path(directory).exists()
    assert os.environ.get("PROMETHEUS_MULTIPROC_DIR") is None  # the suite's own process


@pytest.mark.one_engine
def test_counts_start_from_zero_when_the_server_starts_again(tmp_path):
    directory = str(tmp_path / "metrics")
    with served(tmp_path, PROMETHEUS_MULTIPROC_DIR=directory) as base:
        call_openapi(base, 5)
        assert openapi_calls(base) == 5
    assert glob.glob(f"{directory}/*.db"), "a directory named in the settings is kept"

    with served(tmp_path, PROMETHEUS_MULTIPROC_DIR=directory) as base:
        call_openapi(base, 3)
        assert openapi_calls(base) == 3


@pytest.mark.one_engine
def test_gunicorns_master_loads_no_kudos_code():
    """What the master imports, workers started after a HUP would reuse
    instead of the new version's code."""
    loaded = subprocess.run(
        [sys.executable, "-c", "import sys, kudos_gunicorn; print(sorted(sys.modules))"],
        capture_output=True,
        text=True,
        check=True,
        cwd=Path(__file__).resolve().parent.parent,
        env={**os.environ, "KUDOS_METRICS_ENABLED": "true"},
    ).stdout

    assert "'kudos'" not in loaded
    assert "'config'" not in loaded
    assert "'prometheus_client'" not in loaded  # its directory must be named first
    assert kudos_gunicorn.TRUE_WORDS == config.TRUE_WORDS


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
