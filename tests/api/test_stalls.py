"""`/health` says "degraded" when something that follows the log is stuck.

The database answering is not enough: a service whose read models (or Merkle tree) stopped
following the log answers reads with 503 and signs no new head, and must say so where its
readiness is checked.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from litestar.testing import AsyncTestClient

from service.access import tokens
from service.http.app import create_app
from service.http.stall import Follower
from service.settings import Settings
from tests.support.apitools import registration

Sample = tuple[int, int, float]  # head, follower position, seconds since the previous sample

samples = st.lists(
    st.tuples(
        st.integers(min_value=0, max_value=20),
        st.integers(min_value=0, max_value=20),
        st.floats(min_value=0, max_value=100, allow_nan=False),
    ),
    min_size=1,
    max_size=40,
)


@settings(max_examples=300, deadline=None)
@given(samples=samples)
def test_a_follower_at_the_head_or_that_just_moved_is_not_stuck(samples: list[Sample]) -> None:
    follower = Follower()
    now = 0.0
    previous: int | None = None
    for head, position, elapsed in samples:
        now += elapsed
        stuck = follower.stuck_for(head, position, now)
        assert stuck >= 0
        if position >= head or previous is None or position > previous:
            assert stuck == 0
        previous = position


@settings(max_examples=300, deadline=None)
@given(samples=samples)
@example(samples=[(1, 0, 0.0), (1, 0, 1.0), (1, 0, 0.0)])  # stuck since time 0.0, which is falsy
def test_a_follower_behind_and_not_moving_is_stuck_for_the_time_since_it_last_moved(
    samples: list[Sample],
) -> None:
    follower = Follower()
    now = 0.0
    previous: int | None = None
    stuck_since: float | None = None
    for head, position, elapsed in samples:
        now += elapsed
        stuck = follower.stuck_for(head, position, now)
        behind_still = position < head and previous is not None and position <= previous
        if behind_still and stuck_since is not None:
            assert stuck == pytest.approx(now - stuck_since)
        stuck_since = (
            None
            if position >= head
            else (stuck_since if behind_still and stuck_since is not None else now)
        )
        previous = position


@pytest.fixture
async def quick_to_stall(
    database_url: str, pool: asyncpg.Pool, tmp_path: Path
) -> AsyncIterator[AsyncTestClient]:
    """The app, saying "degraded" after one second of a stall, with a write token."""
    settings = Settings(database_url=database_url, data_dir=tmp_path, stall_seconds=1.0)
    token = await tokens.create_token(pool, scope="write", name="stalls")
    async with AsyncTestClient(create_app(settings)) as client:
        client.headers["Authorization"] = f"Bearer {token}"
        yield client


async def _health_until(
    client: AsyncTestClient, status: str, within: float, code: int | None = None
) -> dict:
    deadline = time.monotonic() + within
    code = code if code is not None else (200 if status == "ok" else 503)
    while True:
        response = await client.get("/health")
        body = response.json()
        if body["status"] == status:
            assert response.status_code == code, body
            return body
        assert time.monotonic() < deadline, f"/health did not say {status}: {body}"
        await asyncio.sleep(0.1)


async def test_health_says_degraded_while_the_read_models_and_tree_cannot_follow_the_log(
    quick_to_stall: AsyncTestClient, database_url: str
) -> None:
    client = quick_to_stall
    response = await client.post("/v1/events", json=registration("ymtc"))
    assert response.status_code == 201, response.text
    await _health_until(client, "ok", within=10)

    blocker = await asyncpg.connect(database_url)
    try:
        async with blocker.transaction():
            # The projector and the tree builder write their progress into these rows: holding
            # them stops both, as a stuck follower would be stopped, while the log, and reads of
            # those rows, go on.
            await blocker.execute("SELECT * FROM rm_state FOR UPDATE")
            await blocker.execute("SELECT * FROM merkle_state FOR UPDATE")
            response = await client.post("/v1/events", json=registration("huawei"))
            assert response.status_code == 201, response.text

            body = await _health_until(client, "degraded", within=10)
            assert body["database"] == "up" and body["log"]["size"] == 2
            assert set(body["stalled"]) <= {"read-models", "merkle-tree"}, body
            assert all(seconds >= 1.0 for seconds in body["stalled"].values()), body
            deadline = time.monotonic() + 5  # the two got stuck moments apart
            while set(body["stalled"]) != {"read-models", "merkle-tree"}:
                assert time.monotonic() < deadline, body
                await asyncio.sleep(0.1)
                body = (await client.get("/health")).json()
    finally:
        await blocker.close()

    body = await _health_until(client, "ok", within=15)
    assert "stalled" not in body and body["log"]["size"] == 2


async def test_a_stuck_projector_of_its_own_is_reported_without_taking_the_api_out(
    database_url: str, pool: asyncpg.Pool, tmp_path: Path
) -> None:
    """With TIMELINE_PROJECTOR=0 and no projector process running, the read models never
    move: /health says degraded, with 200, as every API process would."""
    settings = Settings(
        database_url=database_url, data_dir=tmp_path, stall_seconds=1.0, projector=False
    )
    token = await tokens.create_token(pool, scope="write", name="stalls")
    async with AsyncTestClient(create_app(settings)) as client:
        client.headers["Authorization"] = f"Bearer {token}"
        response = await client.post("/v1/events", json=registration("ymtc"))
        assert response.status_code == 201, response.text
        body = await _health_until(client, "degraded", within=10, code=200)
        assert set(body["stalled"]) == {"read-models"}, body
