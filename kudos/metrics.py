"""Prometheus metrics at ``/metrics``: off unless ``KUDOS_METRICS_ENABLED``,
and then only for a bearer token (``KUDOS_METRICS_TOKEN``) or the networks
in ``KUDOS_METRICS_NETWORKS``.

prometheus_client in multiprocess mode when ``PROMETHEUS_MULTIPROC_DIR``
names a directory (``gunicorn.conf.py`` sets one up): each gunicorn worker
writes its counts there and a scrape, whichever worker answers it, adds
them all up. The outbox figures are read from the database at each scrape,
so they hold whatever process queued or sent the messages.

The counters are module-level, so any part of Kudos may count something
with a line; this module imports nothing of Kudos' at import time.
"""

from __future__ import annotations

import hmac
import ipaddress
import os
import time
from collections.abc import Iterator
from typing import Any

from flask import Blueprint, Flask, Response, abort, current_app, g, request
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

MULTIPROCESS_DIR = "PROMETHEUS_MULTIPROC_DIR"

REQUEST_SECONDS = Histogram(
    "kudos_http_request_duration_seconds",
    "Time to answer a request, by endpoint (the route's name), method and status class",
    ["endpoint", "method", "status"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
KUDOS_SENT = Counter("kudos_sent", "Kudos sent, from the pages, the API and Slack")
KUDOS_REFUSED = Counter(
    "kudos_send_refused",
    "Sends refused, by the rule they broke (a field, daily_limit, idempotency_conflict)",
    ["rule"],
)
CACHE_LOOKUPS = Counter(
    "kudos_cache_lookups", "Page cache lookups: hit (kept) or miss (made)", ["result"]
)
RATE_LIMITED = Counter(
    "kudos_rate_limited",
    "Requests refused by a rate limit (sign_in, api, scim, send, pages)",
    ["limit"],
)
SIGN_IN_FAILURES = Counter(
    "kudos_sign_in_failures", "Sign-ins that did not end signed in, by reason", ["reason"]
)
TIMED = "kudos.metrics.started"  # in flask.g


# Requests ------------------------------------------------------------------------


def _start_timer() -> None:
    g.setdefault(TIMED, time.perf_counter())


def _observe(response: Response) -> Response:
    started = g.pop(TIMED, None)
    if started is not None:
        endpoint = request.url_rule.endpoint if request.url_rule is not None else "unmatched"
        REQUEST_SECONDS.labels(
            endpoint, request.method, f"{response.status_code // 100}xx"
        ).observe(time.perf_counter() - started)
    return response


def _observe_failure(error: BaseException | None) -> None:
    """A request that ended in an exception no handler turned into an answer."""
    if error is not None and g.get(TIMED) is not None:
        _observe(Response(status=500))


# What the database says --------------------------------------------------------


class OutboxCollector(Collector):
    """The outbox at scrape time: messages by transport and status, and the
    age of the oldest one still waiting."""

    def collect(self) -> Iterator[GaugeMetricFamily]:
        from sqlalchemy import func, select

        from kudos.db import utcnow
        from kudos.extensions import db
        from kudos.outbox.models import OutboxMessage

        counts = GaugeMetricFamily(
            "kudos_outbox_messages",
            "Outbox messages by transport and status (pending, sent, failed)",
            labels=["transport", "status"],
        )
        oldest = GaugeMetricFamily(
            "kudos_outbox_oldest_pending_age_seconds",
            "Age of the oldest message waiting to be sent (0 when none)",
            labels=["transport"],
        )
        rows = db.session.execute(
            select(
                OutboxMessage.transport,
                OutboxMessage.status,
                func.count(),
                func.min(OutboxMessage.created_at),
            ).group_by(OutboxMessage.transport, OutboxMessage.status)
        ).all()
        now = utcnow()
        waiting: dict[str, float] = {}
        for transport, status, count, first in rows:
            counts.add_metric([transport, status], count)
            if status == "pending" and first is not None:
                waiting[transport] = max((now - first).total_seconds(), 0.0)
        from kudos.outbox.models import TRANSPORTS

        for transport in TRANSPORTS:
            oldest.add_metric([transport], waiting.get(transport, 0.0))
        yield counts
        yield oldest


# /metrics ------------------------------------------------------------------------

bp = Blueprint("metrics", __name__)


def _allowed() -> bool:
    token = current_app.config.get("METRICS_TOKEN")
    scheme, _, sent = request.headers.get("Authorization", "").partition(" ")
    if token and scheme.lower() == "bearer" and hmac.compare_digest(sent.strip(), token):
        return True
    networks = current_app.config.get("METRICS_NETWORKS") or ()
    try:
        address = ipaddress.ip_address(request.remote_addr or "")
    except ValueError:
        return False
    return any(address in network for network in networks)


def _registry() -> CollectorRegistry:
    if os.environ.get(MULTIPROCESS_DIR):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return registry
    return REGISTRY


@bp.get("/metrics")
def metrics() -> Response:
    if not current_app.config.get("METRICS_ENABLED"):
        abort(404)
    if not _allowed():
        # Who may not see it is not told it exists.
        abort(404)
    registry = _registry()
    registry.register(collector := OutboxCollector())
    try:
        body = generate_latest(registry)
    finally:
        registry.unregister(collector)
    return Response(body, content_type=CONTENT_TYPE_LATEST)


def _count_sent(_session: Any, _kudos: Any) -> None:  # noqa: ANN401
    KUDOS_SENT.inc()


def _count_refused(rules: list[str]) -> None:
    for rule in rules:
        KUDOS_REFUSED.labels(rule).inc()


def init_app(app: Flask) -> None:
    from kudos.auth.access import login_exempt
    from kudos.recognition import events

    login_exempt(metrics)
    app.before_request(_start_timer)
    app.after_request(_observe)
    app.teardown_request(_observe_failure)
    app.register_blueprint(bp)
    events.kudos_sent.listen(_count_sent)
    events.kudos_refused.listen(_count_refused)
