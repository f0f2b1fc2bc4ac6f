"""Prometheus metrics at ``/metrics``: off unless ``KUDOS_METRICS_ENABLED``,
and then only for a bearer token (``KUDOS_METRICS_TOKEN``) or the networks
in ``KUDOS_METRICS_NETWORKS``.

prometheus_client in multiprocess mode when ``PROMETHEUS_MULTIPROC_DIR``
names a directory (``gunicorn.conf.py`` sets one up): each gunicorn worker
writes its counts there and a scrape, whichever worker answers it, adds
them all up. The outbox figures are read from the database at each scrape,
so they hold whatever process queued or sent the messages.

The counters are module-level, so any part of Kudos may count something
with a line: this module imports only the database's modules, which import
nothing of the rest of Kudos.
"""

from __future__ import annotations

import hmac
import ipaddress
import logging
import os
import time
from collections.abc import Iterable
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
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import case, func, select
from sqlalchemy.exc import SQLAlchemyError

from kudos.db import utcnow
from kudos.extensions import db
from kudos.outbox.models import STATUSES, TRANSPORTS, OutboxMessage

MULTIPROCESS_DIR = "PROMETHEUS_MULTIPROC_DIR"
log = logging.getLogger(__name__)

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

# The label values known in advance start at 0 in every process: a series
# that first appears at 1 shows no increase to Prometheus (rate() and
# increase() need a sample before it), so a first refusal would go unseen.
LIMITS = ("sign_in", "pages", "api", "scim", "send")
REFUSAL_RULES = ("recipients", "values", "message", "visibility", "daily_limit")
REFUSAL_RULES += ("idempotency_conflict",)


# Requests ------------------------------------------------------------------------


def _start_timer() -> None:
    g.setdefault(TIMED, time.perf_counter())


# A label value for each, "other" for the rest: a client may send any word
# as its method, and each new label value would be a series of its own.
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


def _observe(response: Response) -> Response:
    started = g.pop(TIMED, None)
    if started is not None:
        endpoint = request.url_rule.endpoint if request.url_rule is not None else "unmatched"
        method = request.method if request.method in METHODS else "other"
        REQUEST_SECONDS.labels(endpoint, method, f"{response.status_code // 100}xx").observe(
            time.perf_counter() - started
        )
    return response


def _observe_failure(error: BaseException | None) -> None:
    """A request that ended in an exception no handler turned into an answer."""
    if error is not None and g.get(TIMED) is not None:
        _observe(Response(status=500))


# What the database says --------------------------------------------------------


class OutboxCollector(Collector):
    """The outbox at scrape time: messages by transport and status, those
    waiting after a failed attempt, and the age of the oldest one waiting.
    The cron job that delivers them is another process, so the database,
    not a counter, is what knows. With the database down, the scrape goes
    on without them: the request counts matter most just then."""

    def collect(self) -> Iterable[GaugeMetricFamily]:
        try:
            families = self._families()
        except SQLAlchemyError:
            db.session.rollback()
            log.warning("metrics: the outbox could not be read", exc_info=True)
            return []
        return families

    def _families(self) -> list[GaugeMetricFamily]:
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
        retrying = GaugeMetricFamily(
            "kudos_outbox_retrying_messages",
            "Messages still waiting after at least one failed attempt",
            labels=["transport"],
        )
        rows = db.session.execute(
            select(
                OutboxMessage.transport,
                OutboxMessage.status,
                func.count(),
                func.min(OutboxMessage.created_at),
                func.sum(case((OutboxMessage.attempts > 0, 1), else_=0)),
            ).group_by(OutboxMessage.transport, OutboxMessage.status)
        ).all()
        # (transport, status) -> (count, oldest created_at, how many tried before)
        found = {(transport, status): rest for transport, status, *rest in rows}
        none = (0, None, 0)
        now = utcnow()
        for transport in TRANSPORTS:
            for status in STATUSES:  # 0 too: the first failure is then an increase
                counts.add_metric([transport, status], found.get((transport, status), none)[0])
            _, first, tried = found.get((transport, "pending"), none)
            waited = max((now - first).total_seconds(), 0.0) if first is not None else 0.0
            oldest.add_metric([transport], waited)
            retrying.add_metric([transport], int(tried or 0))
        return [counts, oldest, retrying]


# /metrics ------------------------------------------------------------------------

bp = Blueprint("metrics", __name__)


def _allowed() -> bool:
    token = current_app.config.get("METRICS_TOKEN")
    scheme, _, sent = request.headers.get("Authorization", "").partition(" ")
    # As bytes: compare_digest refuses a str with characters beyond ASCII.
    if (
        token
        and scheme.lower() == "bearer"
        and hmac.compare_digest(sent.strip().encode(), token.encode())
    ):
        return True
    networks = current_app.config.get("METRICS_NETWORKS") or ()
    try:
        address = ipaddress.ip_address(request.remote_addr or "")
    except ValueError:
        return False
    return any(address in network for network in networks)


class _ThisProcess(Collector):
    """This process's counters (prometheus_client's default registry)."""

    def collect(self) -> Iterable[Metric]:
        return REGISTRY.collect()


def _scrape() -> bytes:
    """Every worker's counts (or this process's), and the outbox, in a
    registry of this scrape's own: two scrapes at once share nothing."""
    registry = CollectorRegistry()
    if os.environ.get(MULTIPROCESS_DIR):
        multiprocess.MultiProcessCollector(registry)
    else:
        registry.register(_ThisProcess())
    registry.register(OutboxCollector())
    return generate_latest(registry)


@bp.get("/metrics")
def metrics() -> Response:
    if not current_app.config.get("METRICS_ENABLED"):
        abort(404)
    if not _allowed():
        # Who may not see it is not told it exists.
        abort(404)
    return Response(_scrape(), content_type=CONTENT_TYPE_LATEST)


def _count_sent(_session: Any, _kudos: Any) -> None:  # noqa: ANN401
    KUDOS_SENT.inc()


def _count_refused(rules: list[str]) -> None:
    for rule in rules:
        KUDOS_REFUSED.labels(rule).inc()


def _start_at_zero() -> None:
    from kudos.auth.problems import PROBLEMS

    for reason in PROBLEMS:
        SIGN_IN_FAILURES.labels(reason)
    for limit in LIMITS:
        RATE_LIMITED.labels(limit)
    for rule in REFUSAL_RULES:
        KUDOS_REFUSED.labels(rule)
    for result in ("hit", "miss"):
        CACHE_LOOKUPS.labels(result)


def init_app(app: Flask) -> None:
    from kudos.auth.access import login_exempt
    from kudos.recognition import events

    _start_at_zero()

    login_exempt(metrics)
    app.before_request(_start_timer)
    app.after_request(_observe)
    app.teardown_request(_observe_failure)
    app.register_blueprint(bp)
    events.kudos_sent.listen(_count_sent)
    events.kudos_refused.listen(_count_refused)
