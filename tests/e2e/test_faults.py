"""Faults, with the real `timeline serve` process and a real PostgreSQL.

- The database stops (or freezes) while the service runs: requests answer 503 within bounded
  time instead of hanging, `/health` says "down", `/health/live` stays 200; when the database
  returns the service answers again without a restart, and live streams get new events.
- `kill -9` of the service during a batch append: the log holds the whole batch or none of it,
  and its hash chain is intact.
- SIGTERM: the in-flight request completes, open live streams end, the process exits.

The database-outage tests run their own PostgreSQL cluster (tests/support/scratch_pg.py), which they
stop, start, freeze and thaw.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import httpx
import pytest

from events import GENESIS_HASH, chain_hash
from service.access import tokens
from service.db.migrate import migrate
from service.eventlog.store import APPEND_LOCK_KEY
from tests.support.apitools import PROBLEM, _free_port, registration
from tests.support.scratch_pg import ScratchCluster, scratch_cluster

SERVE = (sys.executable, "-m", "service.cli", "serve", "--no-seed")
BOUND = 5.0  # seconds: the most any request may take while the database is away


class Service:
    """`timeline serve` in a process group of its own (granian's workers included), its output
    in a file (a pipe nobody reads would fill up and stall the server)."""

    def __init__(self, database_url: str, **env: str) -> None:
        self.port = _free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self._folder = tempfile.mkdtemp(prefix="timeline-faults-")
        self.output = Path(self._folder) / "serve.log"
        self.env = os.environ | {
            "TIMELINE_DATABASE_URL": database_url,
            "TIMELINE_SIGNING_KEY_FILE": os.path.join(self._folder, "signing-key.pem"),
            "TIMELINE_SSE_HEARTBEAT_SECONDS": "0.5",
            **env,
        }
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 60) -> None:
        with open(self.output, "ab") as out:
            self.process = subprocess.Popen(
                [*SERVE, "--port", str(self.port)],
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + timeout
        while True:
            try:
                if httpx.get(f"{self.base}/health", timeout=2).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"timeline serve did not answer:\n{self.output.read_text()}")
            time.sleep(0.1)

    def kill9(self) -> None:
        """SIGKILL to the whole process group: the server and its workers die at once."""
        assert self.process is not None
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.kill9()


@contextlib.contextmanager
def running(database_url: str, **env: str) -> Iterator[Service]:
    service = Service(database_url, **env)
    service.start()
    try:
        yield service
    finally:
        service.stop()
        if service.process is not None and service.process.poll() is None:
            service.kill9()


async def _prepare(url: str) -> str:
    """Migrate and make a write token."""
    conn = await asyncpg.connect(url)
    try:
        await migrate(conn)
        return await tokens.create_token(conn, scope="write", name="faults")
    finally:
        await conn.close()


def _timed_get(client: httpx.Client, path: str) -> tuple[httpx.Response, float]:
    started = time.monotonic()
    response = client.get(path)
    return response, time.monotonic() - started


def _assert_unavailable(client: httpx.Client) -> None:
    health, took = _timed_get(client, "/health")
    assert health.status_code == 503 and took < BOUND, (health.text, took)
    assert health.json()["database"] == "down" and health.json()["status"] == "unavailable"
    events, took = _timed_get(client, "/v1/events")
    assert events.status_code == 503 and took < BOUND, (events.text, took)
    assert events.headers["content-type"].startswith(PROBLEM)
    assert events.json()["type"].endswith("/database-unavailable")
    started = time.monotonic()
    append = client.post("/v1/events", json=registration("late"))
    assert append.status_code == 503 and time.monotonic() - started < BOUND, append.text
    assert append.headers["content-type"].startswith(PROBLEM)
    live, took = _timed_get(client, "/health/live")
    assert live.status_code == 200 and took < 1, took
    assert client.get("/metrics").status_code == 200


def _wait_healthy(client: httpx.Client, within: float) -> float:
    started = time.monotonic()
    while True:
        with contextlib.suppress(httpx.TransportError):
            if client.get("/health").status_code == 200:
                return time.monotonic() - started
        assert time.monotonic() - started < within, "the service did not recover"
        time.sleep(0.2)


def _first_event_over_sse(base: str, after: int, within: float, on_caught_up) -> dict:
    """Open a stream after position `after`; once it is caught up, call `on_caught_up`; return
    the first logged event the stream sends."""

    deadline = time.monotonic() + within
    with httpx.stream(
        "GET", f"{base}/v1/events/stream", params={"after": after}, timeout=within
    ) as response:
        assert response.status_code == 200
        event_type = None
        for line in response.iter_lines():
            assert time.monotonic() < deadline, "no event reached the stream in time"
            if line.startswith("event:"):
                event_type = line.split(":", 1)[1].strip()
                if event_type == "caught-up":
                    on_caught_up()
            elif line.startswith("data:") and event_type not in (None, "caught-up"):
                return json.loads(line.split(":", 1)[1])
    raise AssertionError("the stream ended without an event")


async def _append_directly(url: str, *entities: str) -> None:
    """Append as another writer would (not through the service), so the service can only learn
    of it through the database: NOTIFY, or its polling backstop."""
    from service.eventlog.store import EventStore
    from tests.support.builders import registered

    async with asyncpg.create_pool(url, min_size=1, max_size=2) as pool:
        await EventStore(pool).append([registered(e) for e in entities])


@pytest.fixture
def cluster() -> Iterator[ScratchCluster]:
    with scratch_cluster() as cluster:
        yield cluster


def test_database_stop_gives_fast_503s_and_the_service_recovers_without_a_restart(
    cluster: ScratchCluster,
) -> None:
    token = asyncio.run(_prepare(cluster.url))
    with (
        running(cluster.url) as service,
        httpx.Client(
            base_url=service.base, headers={"Authorization": f"Bearer {token}"}, timeout=30
        ) as client,
    ):
        first = client.post("/v1/events", json=[registration("us-entity-list", "list")])
        assert first.status_code == 201, first.text

        cluster.stop("immediate")
        _assert_unavailable(client)
        time.sleep(1.5)  # the watcher, projector and tree builder meet the outage too
        _assert_unavailable(client)

        cluster.start()
        _wait_healthy(client, within=15)
        assert client.get("/health").json()["log"]["size"] == 1
        page = client.get("/v1/events")
        assert page.status_code == 200 and len(page.json()["events"]) == 1
        second = client.post("/v1/events", json=registration("ymtc"))
        assert second.status_code == 201, second.text
        assert second.json()["events"][0]["position"] == 2

        # Another writer's append reaches a waiting live stream: the watcher is back on the
        # database (the stream waits on it; only NOTIFY or its poll can wake it).
        got = _first_event_over_sse(
            service.base,
            after=2,
            within=10,
            on_caught_up=lambda: asyncio.run(_append_directly(cluster.url, "huawei")),
        )
        assert got["position"] == 3 and got["event"]["entity"] == "huawei"
        # ... and the read models caught up (the projector resumed by itself).
        found = client.get("/v1/entities", params={"q": "huawei"})
        assert found.status_code == 200, found.text
        assert [e["id"] for e in found.json()["entities"]] == ["huawei"]


def test_a_frozen_database_gives_503s_within_the_timeouts_then_recovers(
    cluster: ScratchCluster,
) -> None:
    """SIGSTOP on every PostgreSQL process: TCP still connects, nothing ever answers (a host
    gone from the network). Only the service's own timeouts can end the wait."""
    token = asyncio.run(_prepare(cluster.url))
    env = {
        "TIMELINE_DB_CONNECT_TIMEOUT": "1",
        "TIMELINE_DB_ACQUIRE_TIMEOUT": "1",
        "TIMELINE_DB_COMMAND_TIMEOUT": "2",
        "TIMELINE_HEALTH_TIMEOUT": "1",
    }
    with (
        running(cluster.url, **env) as service,
        httpx.Client(
            base_url=service.base, headers={"Authorization": f"Bearer {token}"}, timeout=30
        ) as client,
    ):
        assert client.post("/v1/events", json=registration("ymtc")).status_code == 201
        cluster.freeze()
        try:
            _assert_unavailable(client)
        finally:
            cluster.thaw()
        _wait_healthy(client, within=20)
        assert client.post("/v1/events", json=registration("huawei")).status_code == 201


def _batch(size: int) -> list[dict]:
    events = [registration(f"kill9-{i:05d}") | {"id": str(uuid.uuid4())} for i in range(size)]
    return events


async def _log_state(url: str, ids: list[str]) -> tuple[int, int]:
    """(how many of `ids` are in the log, the log's size), after checking the hash chain."""
    conn = await asyncpg.connect(url)
    try:
        rows = await conn.fetch(
            "SELECT position, recorded_at, schema_version, payload, prev_hash, hash "
            "FROM events ORDER BY position"
        )
        previous = GENESIS_HASH
        for expected_position, row in enumerate(rows, start=1):
            assert row["position"] == expected_position, "a gap in the log"
            assert bytes(row["prev_hash"]) == previous
            digest = chain_hash(
                previous,
                payload=bytes(row["payload"]),
                position=row["position"],
                recorded_at=row["recorded_at"],
                schema_version=row["schema_version"],
            )
            assert bytes(row["hash"]) == digest, f"hash chain broken at {expected_position}"
            previous = digest
        found = await conn.fetchval(
            "SELECT count(*) FROM events WHERE id = ANY($1::uuid[])", [uuid.UUID(i) for i in ids]
        )
        return found, len(rows)
    finally:
        await conn.close()


def _post_in_thread(base: str, token: str, body: object) -> tuple[threading.Thread, dict]:
    outcome: dict = {}

    def post() -> None:
        try:
            outcome["response"] = httpx.post(
                f"{base}/v1/events",
                json=body,
                headers={"Authorization": f"Bearer {token}"},
                timeout=60,
            )
        except httpx.HTTPError as exc:
            outcome["error"] = exc

    thread = threading.Thread(target=post, daemon=True)
    thread.start()
    return thread, outcome


# pg_locks shows every database of the server (other tests share it): this one's append lock.
_APPEND_LOCK_WAITERS = """
SELECT count(*) FROM pg_locks
WHERE locktype = 'advisory' AND NOT granted
  AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
  AND classid::bigint = $1 AND objid::bigint = $2 AND objsubid = 1
"""


async def _wait_for_lock_waiter(conn: asyncpg.Connection, within: float = 20) -> None:
    """Until another session waits on this database's append lock (the service's writer)."""
    deadline = time.monotonic() + within
    high, low = APPEND_LOCK_KEY >> 32, APPEND_LOCK_KEY & 0xFFFF_FFFF
    while not await conn.fetchval(_APPEND_LOCK_WAITERS, high, low):
        assert time.monotonic() < deadline, "the append never reached the lock"
        await asyncio.sleep(0.05)


def test_kill_9_while_a_batch_waits_for_the_append_lock_leaves_none_of_it(
    database_url: str,
) -> None:
    token = asyncio.run(_prepare(database_url))
    batch = _batch(1000)
    ids = [e["id"] for e in batch]

    async def scenario() -> None:
        holder = await asyncpg.connect(database_url)
        try:
            await holder.execute("SELECT pg_advisory_lock($1)", APPEND_LOCK_KEY)
            service = Service(database_url)
            service.start()
            try:
                thread, outcome = _post_in_thread(service.base, token, batch)
                await _wait_for_lock_waiter(holder)  # the batch's transaction is open
                service.kill9()
            finally:
                service.stop()
            await holder.execute("SELECT pg_advisory_unlock($1)", APPEND_LOCK_KEY)
            thread.join(30)
            assert "response" not in outcome  # the client saw the connection drop
        finally:
            await holder.close()
        # The dead client's transaction is rolled back once its backend notices.
        deadline = time.monotonic() + 10
        while True:
            found, size = await _log_state(database_url, ids)
            assert found == 0 and size == 0, (found, size)
            waiting = await _other_sessions(database_url)
            if not waiting or time.monotonic() > deadline:
                break
            await asyncio.sleep(0.1)

    asyncio.run(scenario())
    # After a restart a client may retry the very same batch (ids make it idempotent).
    with running(database_url) as service:
        response = httpx.post(
            f"{service.base}/v1/events",
            json=batch,
            headers={"Authorization": f"Bearer {token}"},
            timeout=60,
        )
        assert response.status_code == 201 and response.json()["appended"] == 1000
        again = httpx.post(
            f"{service.base}/v1/events",
            json=batch,
            headers={"Authorization": f"Bearer {token}"},
            timeout=60,
        )
        assert again.status_code == 200 and again.json()["appended"] == 0
    assert asyncio.run(_log_state(database_url, ids)) == (1000, 1000)


async def _other_sessions(url: str) -> int:
    conn = await asyncpg.connect(url)
    try:
        return await conn.fetchval(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND pid <> pg_backend_pid()"
        )
    finally:
        await conn.close()


@pytest.mark.parametrize("delay", [0.05, 0.2, 0.4])
def test_kill_9_during_a_batch_append_leaves_all_of_it_or_none(
    database_url: str, delay: float
) -> None:
    """The kill lands somewhere in reading, validating, writing or committing the batch, or
    after the commit; whichever, the batch is all there or not at all, and the chain holds."""
    token = asyncio.run(_prepare(database_url))
    batch = _batch(1000)
    ids = [e["id"] for e in batch]
    service = Service(database_url)
    service.start()
    try:
        thread, outcome = _post_in_thread(service.base, token, batch)
        time.sleep(delay)
        service.kill9()
    finally:
        service.stop()
    thread.join(30)
    deadline = time.monotonic() + 10
    while True:  # until the dead client's backend has finished (commit or rollback)
        found, size = asyncio.run(_log_state(database_url, ids))
        assert found in (0, 1000) and size == found, (found, size)
        if not asyncio.run(_other_sessions(database_url)) or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    if "response" in outcome:  # the answer came before the kill: then it is all there
        assert outcome["response"].status_code == 201 and found == 1000
    with running(database_url) as restarted:
        assert httpx.get(f"{restarted.base}/health").json()["log"]["size"] == found


def test_sigterm_finishes_the_request_in_flight_ends_live_streams_and_exits(
    database_url: str,
) -> None:
    token = asyncio.run(_prepare(database_url))
    batch = _batch(50)

    async def scenario() -> None:
        holder = await asyncpg.connect(database_url)
        try:
            service = Service(database_url)
            service.start()
            try:
                stream_open, stream_ended = threading.Event(), threading.Event()

                def follow() -> None:
                    with httpx.stream(
                        "GET", f"{service.base}/v1/events/stream", timeout=60
                    ) as response:
                        for chunk in response.iter_text():
                            if "caught-up" in chunk:
                                stream_open.set()
                    stream_ended.set()

                follower = threading.Thread(target=follow, daemon=True)
                follower.start()
                assert await asyncio.to_thread(stream_open.wait, 20), "the stream did not open"
                await holder.execute("SELECT pg_advisory_lock($1)", APPEND_LOCK_KEY)
                thread, outcome = _post_in_thread(service.base, token, batch)
                await _wait_for_lock_waiter(holder)
                assert service.process is not None
                service.process.send_signal(signal.SIGTERM)
                # The stream ends at once, though the append still waits.
                assert await asyncio.to_thread(stream_ended.wait, 10), "the stream did not end"
                assert service.process.poll() is None and "response" not in outcome
                await holder.execute("SELECT pg_advisory_unlock($1)", APPEND_LOCK_KEY)
                await asyncio.to_thread(thread.join, 30)
                assert outcome["response"].status_code == 201, outcome
                started = time.monotonic()
                code = await asyncio.to_thread(service.process.wait, 20)
                assert code == 0 and time.monotonic() - started < 20
            finally:
                service.stop()
        finally:
            await holder.close()
        found, size = await _log_state(database_url, [e["id"] for e in batch])
        assert found == size == 50

    asyncio.run(scenario())
