"""`/health` through Litestar's test client, and the real `timeline serve` over a socket."""

from __future__ import annotations

import os
import time
from pathlib import Path

import httpx
from litestar.testing import AsyncTestClient

from service.eventlog.store import EventStore
from service.http.app import create_app
from service.settings import Settings
from tests.support.apitools import serving
from tests.support.builders import registered


async def test_health_reports_the_log_size_and_head(
    database_url: str, store: EventStore, tmp_path: Path
) -> None:
    app = create_app(Settings(database_url=database_url, data_dir=tmp_path))
    async with AsyncTestClient(app) as client:
        empty = await client.get("/health")
        assert empty.status_code == 200
        assert empty.json() == {
            "status": "ok",
            "database": "up",
            "log": {"size": 0, "head_hash": None},
        }
        appended = await store.append([registered("us-entity-list", "list"), registered("ymtc")])
        body = (await client.get("/health")).json()
        assert body["log"] == {"size": 2, "head_hash": appended.events[-1].hash.hex()}


async def test_liveness_answers_without_the_database(client: AsyncTestClient) -> None:
    response = await client.get("/health/live")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert response.headers["cache-control"] == "no-store"


def _serve_and_get_health(env: dict[str, str], args: list[str]) -> dict:
    with serving(env, args) as base:
        response = httpx.get(f"{base}/health", timeout=5)
        return response.json() | {"_status": response.status_code}


def test_timeline_serve_answers_health_over_a_socket(database_url: str) -> None:
    env = os.environ | {"TIMELINE_DATABASE_URL": database_url}
    body = _serve_and_get_health(env, [])
    assert body == {
        "status": "ok",
        "database": "up",
        "log": {"size": 0, "head_hash": None},
        "_status": 200,
    }


def test_sse_over_a_real_socket_sends_caught_up_then_heartbeats(database_url: str) -> None:
    env = os.environ | {"TIMELINE_DATABASE_URL": database_url}
    with serving(env, []) as base:
        got = ""
        with httpx.stream("GET", f"{base}/v1/events/stream", timeout=30) as response:
            assert response.headers["content-type"].startswith("text/event-stream")
            for chunk in response.iter_text():
                got += chunk
                if ": heartbeat" in got:
                    break
        assert "event: caught-up" in got
        assert got.index("event: caught-up") < got.index(": heartbeat")


def test_timeline_serve_without_a_database_url_starts_embedded_postgres(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "TIMELINE_DATABASE_URL"}
    data_dir = tmp_path / "data"
    body = _serve_and_get_health(env, ["--data-dir", str(data_dir)])
    assert body["database"] == "up" and body["_status"] == 200
    assert (data_dir / "pgdata" / "PG_VERSION").exists()
    # It stopped cleanly with the service: no postmaster left running on that folder.
    deadline = time.monotonic() + 15
    while (data_dir / "pgdata" / "postmaster.pid").exists() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not (data_dir / "pgdata" / "postmaster.pid").exists()
