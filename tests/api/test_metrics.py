"""`/metrics` (Prometheus text format), request ids and the JSON access log."""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import logging
import os
import re
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg
import httpx
import pytest
from litestar.testing import AsyncTestClient
from prometheus_client.parser import text_string_to_metric_families

from service.access import tokens
from service.eventlog.store import EventStore
from service.http.app import create_app
from service.http.observability import Metrics
from service.logs import REQUEST_ID, JsonFormatter
from service.settings import Settings
from tests.e2e.test_faults import running
from tests.support.apitools import listing, registration
from tests.support.builders import registered


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of a scrape by (name, sorted labels), parsed by prometheus_client."""
    out = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            out[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return out


def value(text: str, name: str, **labels: str) -> float | None:
    return samples(text).get((name, tuple(sorted(labels.items()))))


@contextlib.contextmanager
def access_log_lines() -> Iterator[io.StringIO]:
    """The access log as the served process writes it (JSON lines), into a buffer."""
    logger = logging.getLogger("timeline.access")
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        yield stream
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)


@pytest.fixture
async def observed(
    database_url: str, tmp_path: Path, pool: asyncpg.Pool
) -> AsyncIterator[tuple[AsyncTestClient, Metrics]]:
    """A client of an app with metrics of its own, with a write token."""
    metrics = Metrics()
    app = create_app(Settings(database_url=database_url, data_dir=tmp_path), metrics=metrics)
    token = await tokens.create_token(pool, scope="write", name="metrics")
    async with AsyncTestClient(app) as client:
        client.headers["Authorization"] = f"Bearer {token}"
        yield client, metrics


async def test_request_latency_is_a_histogram_by_route_template_method_and_status_class(
    observed: tuple[AsyncTestClient, Metrics],
) -> None:
    client, _ = observed
    for _ in range(3):
        assert (await client.get("/health")).status_code == 200
    for entity in ("ymtc", "huawei"):
        assert (await client.get(f"/v1/entities/{entity}")).status_code == 404
    scrape = await client.get("/metrics")
    assert scrape.status_code == 200
    assert scrape.headers["content-type"].startswith("text/plain")
    text = scrape.text
    name = "timeline_http_request_duration_seconds"
    health = {"method": "GET", "route": "/health", "status": "2xx"}
    assert value(text, f"{name}_count", **health) == 3
    assert value(text, f"{name}_bucket", le="+Inf", **health) == 3
    assert value(text, f"{name}_sum", **health) > 0
    # Two entity paths, one series: labelled by the route template, never the raw path.
    entity_routes = {
        labels
        for (sample, labels) in samples(text)
        if sample == f"{name}_count" and "/v1/entities/" in dict(labels)["route"]
    }
    assert len(entity_routes) == 1
    (labels,) = entity_routes
    assert dict(labels)["status"] == "4xx" and "ymtc" not in dict(labels)["route"]
    assert value(text, f"{name}_count", **dict(labels)) == 2
    assert "# TYPE timeline_http_request_duration_seconds histogram" in text


async def test_log_size_append_counter_and_projector_lag_follow_the_log(
    observed: tuple[AsyncTestClient, Metrics], pool: asyncpg.Pool
) -> None:
    client, _ = observed
    batch = [
        registration("us-entity-list", "list"),
        registration("ymtc"),
        registration("huawei") | {"id": "0b5f4c4e-1d2a-4c53-9a8e-6c1d3f0e7a11"},
    ]
    assert (await client.post("/v1/events", json=batch)).status_code == 201
    # A replay adds nothing new; a refused batch adds nothing at all.
    assert (await client.post("/v1/events", json=batch[2])).json()["appended"] == 0
    refused = await client.post("/v1/events", json=listing("nobody"))
    assert refused.status_code == 422
    text = (await client.get("/metrics")).text
    assert value(text, "timeline_events_appended_total") == 3
    assert value(text, "timeline_log_events") == 3
    batches = "timeline_append_batch_duration_seconds_count"
    assert value(text, batches, outcome="ok") == 2
    assert value(text, batches, outcome="refused") == 1

    # Another writer appends: the service learns of it through the database, without a query
    # per scrape; the projector then catches up and the lag returns to 0.
    await EventStore(pool).append([registered("smic"), registered("cxmt")])
    deadline = time.monotonic() + 10
    while True:
        text = (await client.get("/metrics")).text
        size = value(text, "timeline_log_events")
        projected = value(text, "timeline_read_model_position")
        lag = value(text, "timeline_projector_lag_events")
        assert lag == max(size - projected, 0)
        if size == 5 and lag == 0:
            break
        assert time.monotonic() < deadline, text
        await asyncio.sleep(0.1)
    assert projected == 5
    # Appended by another process: not counted as appended through this one.
    assert value(text, "timeline_events_appended_total") == 3


async def test_request_id_is_taken_when_safe_else_made_and_always_echoed_and_logged(
    observed: tuple[AsyncTestClient, Metrics],
) -> None:
    client, _ = observed
    with access_log_lines() as stream:
        given = await client.get("/health", headers={"X-Request-ID": "req-42.a:b"})
        unsafe = await client.get("/health", headers={"X-Request-ID": "no spaces <or> tags"})
        too_long = await client.get("/health", headers={"X-Request-ID": "a" * 65})
        none = await client.get("/v1/entities/nobody")
    assert given.headers["x-request-id"] == "req-42.a:b"
    made = [r.headers["x-request-id"] for r in (unsafe, too_long, none)]
    assert all(re.fullmatch(r"[0-9a-f]{32}", m) for m in made) and len(set(made)) == 3
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert [line["request_id"] for line in lines] == ["req-42.a:b", *made]
    first = lines[0]
    assert first["method"] == "GET" and first["route"] == "/health" and first["status"] == 200
    assert first["path"] == "/health" and first["level"] == "info"
    assert isinstance(first["duration_ms"], float) and first["duration_ms"] >= 0
    assert first["time"].endswith("Z")
    assert lines[-1]["status"] == 404 and lines[-1]["path"] == "/v1/entities/nobody"


def test_records_logged_while_a_request_runs_carry_its_id() -> None:
    record = logging.LogRecord("timeline.x", logging.WARNING, __file__, 1, "odd: %s", ("y",), None)
    token = REQUEST_ID.set("abc")
    try:
        inside = json.loads(JsonFormatter().format(record))
    finally:
        REQUEST_ID.reset(token)
    outside = json.loads(JsonFormatter().format(record))
    assert inside["request_id"] == "abc" and inside["message"] == "odd: y"
    assert inside["level"] == "warning" and "request_id" not in outside


def test_timeline_serve_logs_json_lines_with_request_ids_on_stderr(database_url: str) -> None:
    with running(database_url) as service:
        response = httpx.get(f"{service.base}/health", headers={"X-Request-ID": "from-client-1"})
        assert response.headers["x-request-id"] == "from-client-1"
        deadline = time.monotonic() + 5
        while "from-client-1" not in service.output.read_text():
            assert time.monotonic() < deadline
            time.sleep(0.05)
    lines = [line for line in service.output.read_text().splitlines() if line.startswith("{")]
    records = [json.loads(line) for line in lines]  # every line the server wrote is JSON
    (access,) = [r for r in records if r.get("request_id") == "from-client-1"]
    assert access["route"] == "/health" and access["status"] == 200
    assert {"time", "level", "logger", "message", "duration_ms"} <= set(access)


def test_with_several_workers_a_scrape_counts_the_requests_of_all_of_them(
    database_url: str,
) -> None:
    """`timeline serve --workers 2`: the workers share metrics (prometheus_client multiprocess
    mode), so a scrape, whichever worker answers it, counts every request."""
    with running(database_url, TIMELINE_WORKERS="2") as service:
        count = 40
        for _ in range(count):  # a new connection each: the kernel spreads them over workers
            assert httpx.get(f"{service.base}/health/live").status_code == 200
        for _ in range(3):
            text = httpx.get(f"{service.base}/metrics").text
            got = value(
                text,
                "timeline_http_request_duration_seconds_count",
                method="GET",
                route="/health/live",
                status="2xx",
            )
            assert got == count, text
            assert value(text, "timeline_log_events") == 0
    assert not os.environ.get("PROMETHEUS_MULTIPROC_DIR")
