"""Metrics in the Prometheus text format, request ids and the access log.

`Metrics` holds this app's metrics in a registry of its own (no process-wide singleton).
With several worker processes (`timeline serve --workers N`, N > 1) each worker would count
only what it served, and a scrape reaches one of them at random; so `timeline serve` then sets
`PROMETHEUS_MULTIPROC_DIR` to a fresh folder, every worker writes its values there, and a scrape
of any worker adds up the counters and histograms of all of them (gauges: the largest value of
the live workers). See docs/operations.md.

`ObservedRequests` (middleware) gives each request an id (the caller's `X-Request-ID` when it is
short and safe, else a new one), echoes it in the response, times the request into the latency
histogram by route template (never the raw path, so the number of series stays bounded), and
writes one access-log record.
"""

from __future__ import annotations

import logging
import os
import re
import uuid

from litestar import Response, get
from litestar.di import NamedDependency
from litestar.enums import ScopeType
from litestar.middleware import ASGIMiddleware
from litestar.types import ASGIApp, HTTPResponseStartEvent, Message, Receive, Scope, Send
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    values,
)
from prometheus_client.multiprocess import MultiProcessCollector

from service import clock
from service.logs import REQUEST_ID

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
REQUEST_ID_HEADER = "x-request-id"
_SAFE_REQUEST_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,63}")
_UNMATCHED = "unmatched"

# Seconds. Reads answer in milliseconds; appends of big batches and group commits take longer.
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


def request_id_of(header: str | None) -> str:
    """The caller's request id when it is 1-64 characters of [A-Za-z0-9._:-]; else a new one."""
    if header is not None and _SAFE_REQUEST_ID.fullmatch(header):
        return header
    return uuid.uuid4().hex


def status_class(status: int) -> str:
    return f"{status // 100}xx"


class Metrics:
    """This app's metrics. Cheap to update: no database round trip, no lock."""

    def __init__(self, *, multiprocess_dir: str | None = None) -> None:
        self.multiprocess_dir = multiprocess_dir
        self.registry = CollectorRegistry(auto_describe=True)
        # In multiprocess mode the values live in files and are collected from there; the
        # metric objects must not also be registered, or each would be reported twice.
        own = None if multiprocess_dir else self.registry
        if multiprocess_dir:
            if values.ValueClass is values.MutexValue:
                raise RuntimeError(
                    f"{MULTIPROC_ENV} was set after prometheus_client was imported in this "
                    "process: the metrics would not be shared; set it before"
                )
            MultiProcessCollector(self.registry, path=multiprocess_dir)
        self.request_seconds = Histogram(
            "timeline_http_request_duration_seconds",
            "HTTP request latency, by method, route template and status class "
            "(for the live stream: how long the stream stayed open)",
            ("method", "route", "status"),
            buckets=LATENCY_BUCKETS,
            registry=own,
        )
        self.log_events = Gauge(
            "timeline_log_events",
            "Events in the log (its head position: positions are gap-free), as this service "
            "knows it",
            registry=own,
            multiprocess_mode="livemax",
        )
        self.read_model_position = Gauge(
            "timeline_read_model_position",
            "The log position the read models have been projected to",
            registry=own,
            multiprocess_mode="livemax",
        )
        self.projector_lag = Gauge(
            "timeline_projector_lag_events",
            "Events in the log not yet in the read models (log head minus read-model position)",
            registry=own,
            multiprocess_mode="livemax",
        )
        self.set_aside_entities = Gauge(
            "timeline_projector_set_aside_entities",
            "Entities the projector could not project and set aside (see /health); the read "
            "models are current for every other one",
            registry=own,
            multiprocess_mode="livemax",
        )
        self.appended = Counter(
            "timeline_events_appended_total",
            "Events appended through this service (new ones; replays of known ids not counted); "
            "rate() of it is the append rate",
            registry=own,
        )
        self.append_seconds = Histogram(
            "timeline_append_batch_duration_seconds",
            "Time to append one batch (POST /v1/events, from validated body to commit), by outcome",
            ("outcome",),
            buckets=LATENCY_BUCKETS,
            registry=own,
        )
        self._head = 0
        self._checkpoint = 0

    # ------------------------------------------------------------ updates

    def observe_request(self, method: str, route: str, status: int, seconds: float) -> None:
        self.request_seconds.labels(method, route, status_class(status)).observe(seconds)

    def log_head(self, position: int) -> None:
        """The log's head moved (LogWatcher): log size and projector lag."""
        if position > self._head:
            self._head = position
            self.log_events.set(position)
            self.projector_lag.set(max(self._head - self._checkpoint, 0))

    def projected(self, position: int) -> None:
        """The projector reached `position`."""
        if position > self._checkpoint:
            self._checkpoint = position
            self.read_model_position.set(position)
        self.projector_lag.set(max(self._head - self._checkpoint, 0))

    def set_aside(self, entities: int) -> None:
        """How many entities the read models have set aside (as /health or the projector found)."""
        self.set_aside_entities.set(entities)

    def append_done(self, outcome: str, new_events: int, seconds: float) -> None:
        """A batch append finished: `ok`, `refused` (a domain error) or `unavailable`."""
        self.append_seconds.labels(outcome).observe(seconds)
        if new_events:
            self.appended.inc(new_events)

    # ------------------------------------------------------------ exposition

    def render(self) -> bytes:
        return generate_latest(self.registry)


def metrics_from_env() -> Metrics:
    """Multiprocess mode when `timeline serve` (workers > 1) set the folder for it."""
    return Metrics(multiprocess_dir=os.environ.get(MULTIPROC_ENV) or None)


class ObservedRequests(ASGIMiddleware):
    scopes = (ScopeType.HTTP,)

    def __init__(self, metrics: Metrics, access_log: logging.Logger | None) -> None:
        self.metrics = metrics
        self.access_log = access_log

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        incoming = None
        for name, value in scope["headers"]:
            if name == b"x-request-id":
                incoming = value.decode("latin-1")
                break
        request_id = request_id_of(incoming)
        token = REQUEST_ID.set(request_id)
        scope.setdefault("state", {})["request_id"] = request_id
        status = 500
        started = clock.monotonic()

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = [*message.get("headers", ()), (b"x-request-id", request_id.encode())]
                started: HTTPResponseStartEvent = {**message, "headers": headers}
                await send(started)
                return
            await send(message)

        try:
            await next_app(scope, receive, send_with_id)
        finally:
            seconds = clock.monotonic() - started
            route = scope.get("path_template") or _UNMATCHED
            method = scope["method"]
            self.metrics.observe_request(method, route, status, seconds)
            if self.access_log is not None and self.access_log.isEnabledFor(logging.INFO):
                self.access_log.info(
                    "%s %s %s",
                    method,
                    scope["path"],
                    status,
                    extra={
                        "request_id": request_id,
                        "method": method,
                        "route": route,
                        "path": scope["path"],
                        "status": status,
                        "duration_ms": round(seconds * 1000, 3),
                    },
                )
            REQUEST_ID.reset(token)


# Litestar adds `charset=utf-8` to a text/* media type itself: without this, it would be twice.
METRICS_MEDIA_TYPE = "; ".join(
    part.strip()
    for part in CONTENT_TYPE_LATEST.split(";")
    if not part.strip().startswith("charset=")
)


@get(
    "/metrics",
    operation_id="metrics",
    summary="Metrics in the Prometheus text format",
    tags=["operations"],
    cache_control=None,
    include_in_schema=False,
)
async def metrics_endpoint(metrics: NamedDependency[Metrics]) -> Response[bytes]:
    return Response(
        metrics.render(),
        media_type=METRICS_MEDIA_TYPE,
        headers={"Cache-Control": "no-store"},
    )
