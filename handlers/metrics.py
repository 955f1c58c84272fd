"""`GET /metrics`: Prometheus text (docs/contract.md §12), through prometheus-client.

Who may read it: this machine (`is_loopback_request`: the TCP peer is loopback and no
reverse proxy forwarded the request), or anyone sending
`Authorization: Bearer <ICETA_METRICS_TOKEN>` when that variable is set (at least 16
characters). Everything else answers 403.

Where each number comes from:

- `iceta_webhook_requests_total{channel,code}` and `iceta_webhook_seconds{channel}`:
  counted in the web process by a hook around every request to an intake route (each
  `/webhooks/…` route, the local channel's `POST /local/messages`, Open311's
  `POST …/requests`), labelled by the route that matched, never by the raw path;
- `iceta_outbox_backlog{channel}`, `iceta_outbox_oldest_seconds{channel}`,
  `iceta_tickets_open{agency}`, `iceta_tickets_overdue{agency}`: read from SQLite
  at each scrape, with the queries /healthz and the desk use, so they agree with them;
- `iceta_deliveries_total{channel,result}` (sent, retry, held, failed): counted by
  storage/outbox.py in `delivery_counts`, in the very transaction that records each
  outcome. So the sends of the delivery process (or of `check-deadlines`) count
  exactly like this process's, nothing is counted that was not recorded, and a
  restart loses no count;
- `iceta_database_up`, `iceta_database_writable`: the /healthz verdict.
"""

from __future__ import annotations

import hmac
import logging
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any

from flask import Flask, Request, Response, g, jsonify, request
from prometheus_client import (
    CollectorRegistry,
    Counter,
    GCCollector,
    Histogram,
    PlatformCollector,
    ProcessCollector,
)
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.exposition import choose_encoder

from bot.config import Config
from handlers.local import is_loopback_request
from storage.clock import Clock
from storage.connections import Databases
from storage.db import ping
from storage.desk import open_by_agency, overdue_by_agency
from storage.health import write_problem
from storage.outbox import RESULTS, backlog_by_channel, delivery_counts

log = logging.getLogger(__name__)

TOKEN_VARIABLE = "ICETA_METRICS_TOKEN"
SECRETS = (TOKEN_VARIABLE,)  # never to reach a log line (run_bot.py redacts them)
MIN_TOKEN_LENGTH = 16
DISPATCH = "dispatch"  # the agency label of unrouted tickets (an id config.yaml reserves)
WEBHOOK_PREFIX = "/webhooks/"
_STARTED = "iceta_metrics_started"


def webhook_channel(req: Request) -> str | None:
    """The intake a request is for (its metrics label), or None for any other route.

    Read from the route that matched, so an unknown path (404) or method (405) adds no
    label value: `/webhooks/whatsapp/status` is `whatsapp_status`."""
    rule = req.url_rule
    if rule is None:
        return None
    path = rule.rule
    if path.startswith(WEBHOOK_PREFIX):
        return path[len(WEBHOOK_PREFIX) :].strip("/").replace("/", "_").replace("-", "_")
    if req.method != "POST":
        return None
    if path == "/local/messages":
        return "local"
    if path.startswith("/open311/") and str((req.view_args or {}).get("name", "")).startswith(
        "requests."
    ):
        return "open311"
    return None


class DatabaseFigures:
    """A collector of what SQLite knows, read at each scrape (a few indexed queries)."""

    def __init__(
        self, config: Config, databases: Databases, channels: Iterable[str], clock: Clock
    ) -> None:
        self.config = config
        self.databases = databases
        self.channels = list(channels)
        self.clock = clock

    def collect(self) -> Iterator[Metric]:
        now = self.clock()
        up = GaugeMetricFamily("iceta_database_up", "1 when the database answers a query")
        writable = GaugeMetricFamily(
            "iceta_database_writable",
            "1 when the database can be written (0: the disk is full, read-only or failing; "
            "webhooks answer 503)",
        )
        try:
            db = self.databases.get()
            if not ping(db):
                raise RuntimeError("the database does not answer")
            waiting = backlog_by_channel(db)
            counts = delivery_counts(db)
            opened = open_by_agency(db)
            overdue = overdue_by_agency(db, now)
        except Exception:
            log.exception("reading the figures for /metrics failed")
            up.add_metric([], 0)
            writable.add_metric([], 0)
            yield from (up, writable)
            return
        up.add_metric([], 1)
        try:
            problem = write_problem(self.databases, now)
        except Exception:
            log.exception("checking whether the database can be written failed")
            problem = "unknown"
        writable.add_metric([], 0 if problem else 1)
        yield from (up, writable)

        backlog = GaugeMetricFamily(
            "iceta_outbox_backlog",
            "Outbox rows waiting to be sent (retries included), per channel",
            labels=["channel"],
        )
        oldest = GaugeMetricFamily(
            "iceta_outbox_oldest_seconds",
            "Age of the oldest outbox row waiting to be sent, per channel (0: none waits)",
            labels=["channel"],
        )
        for channel in sorted(set(self.channels) | set(waiting)):
            count, since = waiting.get(channel, (0, None))
            backlog.add_metric([channel], count)
            oldest.add_metric([channel], 0 if since is None else (now - since).total_seconds())
        yield from (backlog, oldest)

        deliveries = CounterMetricFamily(
            "iceta_deliveries",
            "Delivery attempts by outcome (sent, retry, held, failed), per channel, "
            "whichever process made them",
            labels=["channel", "result"],
        )
        channels = sorted(set(self.channels) | {channel for channel, _ in counts})
        for channel in channels:
            for result in sorted(set(RESULTS) | {r for c, r in counts if c == channel}):
                deliveries.add_metric([channel, result], counts.get((channel, result), 0))
        yield deliveries

        open_now = GaugeMetricFamily(
            "iceta_tickets_open",
            "Open tickets per agency (dispatch: not routed yet)",
            labels=["agency"],
        )
        late = GaugeMetricFamily(
            "iceta_tickets_overdue",
            "Tickets past their response deadline without a first response, per agency",
            labels=["agency"],
        )
        agencies = [a.id for a in self.config.agencies]
        known = [DISPATCH, *agencies]
        for agency_id in [*known, *sorted((set(opened) | set(overdue)) - {"", *agencies})]:
            stored_as = "" if agency_id == DISPATCH else agency_id
            open_now.add_metric([agency_id], opened.get(stored_as, 0))
            late.add_metric([agency_id], overdue.get(stored_as, 0))
        yield from (open_now, late)


class ReplicationFigures:
    """The Litestream replica's state, from its supervisor's health (read at scrape time)."""

    def __init__(self, health: Callable[[], Mapping[str, Any]]) -> None:
        self.health = health

    def collect(self) -> Iterator[Metric]:
        shown = self.health()
        up = GaugeMetricFamily("iceta_replication_up", "1 while litestream replicate runs")
        up.add_metric([], 1.0 if shown.get("running") else 0.0)
        yield up
        lag = GaugeMetricFamily(
            "iceta_replication_lag_seconds",
            "Age of the oldest committed transaction the replica does not have (0: caught up)",
        )
        lag.add_metric([], float(shown.get("lag_seconds") or 0.0))
        yield lag
        restarts = CounterMetricFamily(
            "iceta_replication_restarts", "Times litestream was started again after it died"
        )
        restarts.add_metric([], float(shown.get("restarts") or 0))
        yield restarts


def install_metrics(
    app: Flask,
    config: Config,
    databases: Databases,
    channels: Iterable[str],
    clock: Clock,
    token: str | None = None,
    replication: Callable[[], Mapping[str, Any]] | None = None,
) -> CollectorRegistry:
    """Count the app's intake requests and serve `GET /metrics` from a registry of its own
    (one per app: tests build many apps in one process)."""
    if token and len(token) < MIN_TOKEN_LENGTH:
        log.warning(
            "%s is shorter than %d characters: ignored, /metrics answers only this machine",
            TOKEN_VARIABLE,
            MIN_TOKEN_LENGTH,
        )
        token = None
    expected = token.encode() if token else None
    registry = CollectorRegistry()
    requests = Counter(
        "iceta_webhook_requests",
        "Webhook (intake) requests answered, by channel and HTTP status",
        ["channel", "code"],
        registry=registry,
    )
    seconds = Histogram(
        "iceta_webhook_seconds",
        "Time to answer a webhook (intake) request, stored included, by channel",
        ["channel"],
        registry=registry,
    )
    ProcessCollector(registry=registry)
    PlatformCollector(registry=registry)
    GCCollector(registry=registry)
    registry.register(DatabaseFigures(config, databases, channels, clock))
    if replication is not None:
        registry.register(ReplicationFigures(replication))

    @app.before_request
    def start_timer() -> None:
        g.setdefault(_STARTED, time.perf_counter())

    @app.after_request
    def count_webhook(response: Response) -> Response:
        channel = webhook_channel(request)
        if channel is not None:
            requests.labels(channel, str(response.status_code)).inc()
            started = g.get(_STARTED)
            if started is not None:
                seconds.labels(channel).observe(time.perf_counter() - started)
        return response

    def allowed() -> bool:
        if expected is not None:
            scheme, _, given = request.headers.get("Authorization", "").partition(" ")
            if scheme.lower() == "bearer" and hmac.compare_digest(
                given.strip().encode("utf-8", "replace"), expected
            ):
                return True
        return is_loopback_request()

    @app.get("/metrics")
    def metrics() -> Response | tuple[Response, int]:
        if not allowed():
            return jsonify(
                {"error": "metrics are only served to this machine or with the token"}
            ), 403
        encode, content_type = choose_encoder(request.headers.get("Accept", ""))
        response = Response(encode(registry), status=200)
        response.headers["Content-Type"] = content_type
        response.headers["Cache-Control"] = "no-store"
        return response

    return registry
