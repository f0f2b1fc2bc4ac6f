"""The alert rules in the operations guide, checked by Prometheus' own
``promtool`` (Debian's ``prometheus`` package).

The rules are read from the ``<!-- alert-rules -->`` block of
docs/operations.md. promtool loads them, then runs unit tests that feed
each alert series at its threshold (quiet) and just above it (fires, once
its ``for`` has passed), so a number changed in the guide fails here until
the cases below say the same. Every metric the rules name must be in a
real scrape of Kudos' ``/metrics``, with the labels they match on, and
promtool's linter must find nothing wrong with that scrape.
"""

from __future__ import annotations

import copy
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families

from kudos.auth.problems import PROBLEMS
from tests.docs_blocks import guide_block

TOKEN = "metrics-scraper-token-0123456789"


@pytest.fixture(scope="session")
def promtool() -> str:
    """scripts/test unpacks it into the virtual environment; one on the
    PATH (Debian's prometheus package) does as well."""
    unpacked = Path(sys.executable).parent / "promtool"
    found = str(unpacked) if unpacked.exists() else shutil.which("promtool")
    if found is None:
        pytest.fail(
            "promtool is not installed: the alert-rule tests need it (scripts/test unpacks it "
            "from Debian's prometheus package into .venv/bin; or apt-get install prometheus).",
            pytrace=False,
        )
    return found


def run(*command: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        command, input=stdin, capture_output=True, text=True, timeout=60, check=False
    )


@pytest.fixture
def rules_file(tmp_path: Path) -> Path:
    path = tmp_path / "kudos-alerts.yml"
    path.write_text(guide_block("alert-rules", "yaml"))
    return path


def alerts(rules_file: Path) -> dict[str, dict]:
    """Each alerting rule by its name."""
    groups = yaml.safe_load(rules_file.read_text())["groups"]
    return {rule["alert"]: rule for group in groups for rule in group["rules"]}


# The rules load ------------------------------------------------------------------


@pytest.mark.one_engine
def test_promtool_accepts_the_guides_rules(promtool, rules_file):
    checked = run(promtool, "check", "rules", str(rules_file))

    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert f"SUCCESS: {len(alerts(rules_file))} rules found" in checked.stdout


# Each alert, at its threshold and just above ---------------------------------------
#
# promtool's unit tests: each scenario feeds series sampled every minute
# ("0+99x30": 0, then 99 more each minute, 31 samples; "_" is no sample)
# and says which alerts fire at a given time. Pending alerts (inside their
# ``for``) do not fire. The annotations are taken from the rules, so the
# cases pin the numbers, not the wording.


def scenario(name: str, series: dict[str, str], *checks: dict) -> dict:
    return {
        "name": name,
        "interval": "1m",
        "input_series": [{"series": s, "values": values} for s, values in series.items()],
        "alert_rule_test": list(checks),
    }


def fires(alert: str, at: str, **labels: str) -> dict:
    return {"eval_time": at, "alertname": alert, "exp_alerts": [{"exp_labels": labels}]}


def quiet(alert: str, at: str) -> dict:
    return {"eval_time": at, "alertname": alert, "exp_alerts": []}


def requests_per_minute(ok: int, failed: int) -> dict[str, str]:
    count = "kudos_http_request_duration_seconds_count"
    return {
        f'{count}{{endpoint="kudos.feed",method="GET",status="2xx"}}': f"0+{ok}x30",
        f'{count}{{endpoint="auth.callback",method="GET",status="5xx"}}': f"0+{failed}x30",
    }


# The request histogram's buckets, as kudos/metrics.py declares them.
BUCKETS = ["0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1.0", "2.5", "5.0", "10.0"]


def latencies_per_minute(up_to_1s: int, up_to_2_5s: int) -> dict[str, str]:
    """Requests a minute that took between 0.5 and 1 s, and between 1 and
    2.5 s, counted in those buckets."""
    series = {}
    for le in [*BUCKETS, "+Inf"]:
        bound = float(le)
        at_most = (up_to_1s if bound >= 1 else 0) + (up_to_2_5s if bound >= 2.5 else 0)
        labels = f'endpoint="kudos.feed",method="GET",status="2xx",le="{le}"'
        series[f"kudos_http_request_duration_seconds_bucket{{{labels}}}"] = f"0+{at_most}x30"
    return series


def sign_in_failures(**at_minute_16: int) -> dict[str, str]:
    """None for 15 minutes, then these many by reason."""
    return {
        f'kudos_sign_in_failures_total{{reason="{reason}"}}': f"0x15 {count}x15"
        for reason, count in at_minute_16.items()
    }


SCENARIOS = [
    scenario(
        "1% of requests failing is not more than 1%",
        requests_per_minute(ok=99, failed=1),
        quiet("KudosErrors", "30m"),
    ),
    scenario(
        "1.01% failing fires once it has lasted 10 minutes",
        requests_per_minute(ok=9899, failed=101),
        quiet("KudosErrors", "10m"),
        fires("KudosErrors", "11m"),
    ),
    scenario(
        "p99 just under 1 s is not slow",
        latencies_per_minute(up_to_1s=991, up_to_2_5s=9),
        quiet("KudosSlow", "30m"),
    ),
    scenario(
        "p99 just over 1 s fires once it has lasted 15 minutes",
        latencies_per_minute(up_to_1s=989, up_to_2_5s=11),
        quiet("KudosSlow", "15m"),
        fires("KudosSlow", "16m"),
    ),
    scenario(
        "a message waiting 900 s is not stuck",
        {
            'kudos_outbox_oldest_pending_age_seconds{transport="email"}': "900x30",
            'kudos_outbox_oldest_pending_age_seconds{transport="slack"}': "0x30",
        },
        quiet("KudosOutboxStuck", "30m"),
    ),
    scenario(
        "a message waiting 901 s fires after 5 minutes",
        {
            'kudos_outbox_oldest_pending_age_seconds{transport="email"}': "0x30",
            'kudos_outbox_oldest_pending_age_seconds{transport="slack"}': "901x30",
        },
        quiet("KudosOutboxStuck", "4m"),
        fires("KudosOutboxStuck", "5m"),
    ),
    scenario(
        "failed messages that stay as many are quiet; pending ones never count",
        {
            'kudos_outbox_messages{transport="email",status="failed"}': "3x120",
            'kudos_outbox_messages{transport="email",status="pending"}': "0+1x120",
        },
        quiet("KudosDeliveriesFailing", "90m"),
    ),
    scenario(
        "one more failed message fires, for an hour",
        {'kudos_outbox_messages{transport="email",status="failed"}': "3x70 4x70"},
        quiet("KudosDeliveriesFailing", "70m"),
        fires("KudosDeliveriesFailing", "71m", transport="email", status="failed"),
        fires("KudosDeliveriesFailing", "130m", transport="email", status="failed"),
        quiet("KudosDeliveriesFailing", "131m"),
    ),
    scenario(
        "the first failed message ever fires (Kudos shows 0 failed before it)",
        {'kudos_outbox_messages{transport="slack",status="failed"}': "0x70 1x70"},
        quiet("KudosDeliveriesFailing", "70m"),
        fires("KudosDeliveriesFailing", "71m", transport="slack", status="failed"),
    ),
    scenario(
        "5 provider-side failures in 15 minutes are not more than 5; people's own never count",
        sign_in_failures(unreachable=2, misconfigured=3, cancelled=100, stale=100),
        quiet("KudosSignInFailing", "20m"),
    ),
    scenario(
        "6 provider-side failures in 15 minutes fire, until they are 15 minutes old",
        sign_in_failures(unreachable=2, misconfigured=3, invalid_token=1),
        quiet("KudosSignInFailing", "15m"),
        fires("KudosSignInFailing", "20m"),
        quiet("KudosSignInFailing", "31m"),
    ),
    scenario(
        "50 refusals by one limit in 15 minutes are not more than 50, whatever the others",
        {
            'kudos_rate_limited_total{instance="kudos-1",limit="api"}': "0x15 25x15",
            'kudos_rate_limited_total{instance="kudos-2",limit="api"}': "0x15 25x15",
            'kudos_rate_limited_total{instance="kudos-1",limit="sign_in"}': "0x15 40x15",
        },
        quiet("KudosRateLimited", "20m"),
    ),
    scenario(
        "51 refusals by one limit, added up over the servers, fire with the limit's name",
        {
            'kudos_rate_limited_total{instance="kudos-1",limit="api"}': "0x15 25x15",
            'kudos_rate_limited_total{instance="kudos-2",limit="api"}': "0x15 26x15",
        },
        quiet("KudosRateLimited", "15m"),
        fires("KudosRateLimited", "20m", limit="api"),
    ),
    scenario(
        "Kudos unreachable for 2 minutes fires; another job's target does not",
        {
            'up{job="kudos",instance="kudos.example.com:443"}': "1 1 0 0 0 0",
            'up{job="node",instance="db.example.com:9100"}': "0x5",
        },
        quiet("KudosDown", "3m"),
        fires("KudosDown", "4m", job="kudos", instance="kudos.example.com:443"),
    ),
]


def unit_tests(rules_file: Path) -> dict:
    """promtool's test file: the scenarios, each expected alert with its
    rule's annotations."""
    annotations = {name: rule.get("annotations", {}) for name, rule in alerts(rules_file).items()}
    tests = copy.deepcopy(SCENARIOS)
    for test in tests:
        for check in test["alert_rule_test"]:
            for expected in check["exp_alerts"]:
                expected["exp_annotations"] = annotations.get(check["alertname"], {})
    return {"rule_files": [rules_file.name], "evaluation_interval": "1m", "tests": tests}


@pytest.mark.one_engine
def test_every_alert_has_a_quiet_and_a_firing_case(rules_file):
    checks = [check for test in SCENARIOS for check in test["alert_rule_test"]]

    for alert in alerts(rules_file):
        ours = [check for check in checks if check["alertname"] == alert]
        assert any(check["exp_alerts"] for check in ours), f"no case where {alert} fires"
        assert any(not check["exp_alerts"] for check in ours), f"no case where {alert} is quiet"
    assert {check["alertname"] for check in checks} <= set(alerts(rules_file))


@pytest.mark.one_engine
def test_each_alert_fires_just_above_its_threshold_and_not_at_it(promtool, rules_file):
    tests = rules_file.with_name("kudos-alerts-test.yml")
    tests.write_text(yaml.safe_dump(unit_tests(rules_file), sort_keys=False))

    tested = run(promtool, "test", "rules", str(tests))

    assert tested.returncode == 0, tested.stdout + tested.stderr


# The metrics they name are Kudos' ---------------------------------------------------
#
# No PromQL parser in Python here, and promtool does not list an
# expression's series: a small reader of the selectors the rules use
# (``name{label="value", label=~"regex"}``) is enough. A function or a label
# misread as a metric fails the test; an alert read as reading nothing does too.

GROUPING = re.compile(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)")
NAME_OR_SKIP = re.compile(
    r"\[[^\]]*\]"  # a range: [5m]
    r'|"(?:[^"\\]|\\.)*"'  # a string
    r"|(?<![\w:.])([a-zA-Z_:][\w:]*)(?![\w:])(?!\s*\()(\s*\{[^}]*\})?"  # name{...}, not f(
)
MATCHER = re.compile(r'(\w+)\s*(=~|!~|!=|=)\s*"((?:[^"\\]|\\.)*)"')
KEYWORDS = {"and", "or", "unless", "bool", "offset", "inf", "nan"}
# Prometheus' own: up, and the labels it adds to every series it scrapes.
PROMETHEUS_SERIES = {"up"}
TARGET_LABELS = {"job", "instance"}


def selectors(expr: str) -> list[tuple[str, list[tuple[str, str, str]]]]:
    """``(metric name, [(label, operator, value), ...])`` for each series
    the expression reads."""
    found = []
    for match in NAME_OR_SKIP.finditer(GROUPING.sub(" ", expr)):
        name, braces = match.groups()
        if name is None or name in KEYWORDS:
            continue
        found.append((name, MATCHER.findall(braces or "")))
    return found


def matches(labels: dict[str, str], matchers: list[tuple[str, str, str]]) -> bool:
    tests = {
        "=": lambda have, want: have == want,
        "!=": lambda have, want: have != want,
        "=~": lambda have, want: re.fullmatch(want, have) is not None,
        "!~": lambda have, want: re.fullmatch(want, have) is None,
    }
    return all(
        tests[op](labels.get(label, ""), want)
        for label, op, want in matchers
        if label not in TARGET_LABELS
    )


@pytest.fixture
def app_overrides():
    return {"METRICS_ENABLED": True, "METRICS_TOKEN": TOKEN, "RATELIMIT_ENABLED": True}


@pytest.fixture
def scraped(client, app, make) -> str:
    """/metrics after some of everything the rules watch: a request, a
    sign-in that fails on Kudos' side (no provider here: misconfigured, a
    503), one refused by the rate limit, and a message that failed for good."""
    app.config["RATELIMIT_SIGN_IN"] = "1 per minute"
    assert client.get("/healthz").status_code == 200
    assert client.get("/auth/callback?error=access_denied").status_code == 503
    assert client.get("/auth/callback?error=access_denied").status_code == 429
    make.queued_email(attempts=5, status="failed")

    response = client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 200
    return response.get_data(as_text=True)


@pytest.mark.one_engine
def test_every_series_the_rules_read_is_in_a_scrape_of_kudos(rules_file, scraped):
    series = [
        (sample.name, sample.labels)
        for family in text_string_to_metric_families(scraped)
        for sample in family.samples
    ]
    read = [
        (alert, name, matchers)
        for alert, rule in alerts(rules_file).items()
        for name, matchers in selectors(rule["expr"])
    ]
    for alert in alerts(rules_file):
        assert any(reader == alert for reader, _, _ in read), f"found no series in {alert}"
    for alert, name, matchers in read:
        if name in PROMETHEUS_SERIES:
            continue
        assert any(found == name and matches(labels, matchers) for found, labels in series), (
            f"{alert} reads {name}{matchers}, which no series of Kudos' /metrics matches"
        )


@pytest.mark.one_engine
def test_the_sign_in_failures_the_rules_count_are_kudos_reasons(rules_file):
    reasons = [
        want
        for rule in alerts(rules_file).values()
        for name, matchers in selectors(rule["expr"])
        if name == "kudos_sign_in_failures_total"
        for label, _, want in matchers
        if label == "reason"
    ]

    assert reasons
    for pattern in reasons:
        assert set(pattern.split("|")) <= set(PROBLEMS), pattern


@pytest.mark.one_engine
def test_promtool_finds_nothing_wrong_with_kudos_metrics(promtool, scraped):
    linted = run(promtool, "check", "metrics", stdin=scraped)

    assert linted.returncode == 0, linted.stdout + linted.stderr
    assert linted.stdout + linted.stderr == ""
