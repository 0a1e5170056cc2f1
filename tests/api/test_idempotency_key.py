"""`Idempotency-Key` on `POST /v1/events`: retries of id-less appends are safe."""

from __future__ import annotations

import asyncio
import uuid

import asyncpg
from litestar.testing import AsyncTestClient

from service.access import tokens
from tests.support.apitools import assert_problem, listing, log_size


async def test_a_retry_with_the_same_key_and_body_is_answered_the_same_and_not_appended(
    writer: AsyncTestClient, pool: asyncpg.Pool
) -> None:
    key = {"Idempotency-Key": str(uuid.uuid4())}
    body = [listing("ymtc"), listing("huawei", "2019-05-16")]
    first = await writer.post("/v1/events", json=body, headers=key)
    assert first.status_code == 201, first.text
    assert "idempotent-replayed" not in first.headers
    again = await writer.post("/v1/events", json=body, headers=key)
    assert again.status_code == 201 and again.json() == first.json()
    assert again.headers["idempotent-replayed"] == "true"
    assert await log_size(pool) == 5


async def test_the_same_key_with_another_body_is_422_and_appends_nothing(
    writer: AsyncTestClient, pool: asyncpg.Pool
) -> None:
    key = {"Idempotency-Key": "retry-me"}
    assert (await writer.post("/v1/events", json=listing("ymtc"), headers=key)).status_code == 201
    other = await writer.post("/v1/events", json=listing("ymtc", "2023"), headers=key)
    body = assert_problem(other, 422, "Idempotency-Key")
    assert body["type"].endswith("idempotency-key-reused")
    assert await log_size(pool) == 4


async def test_overlapping_attempts_with_one_key_append_once_and_answer_alike(
    writer: AsyncTestClient, pool: asyncpg.Pool
) -> None:
    key = {"Idempotency-Key": str(uuid.uuid4())}
    answers = await asyncio.gather(
        *(writer.post("/v1/events", json=listing("ymtc"), headers=key) for _ in range(4))
    )
    assert {a.status_code for a in answers} == {201}
    assert len({a.text for a in answers}) == 1
    assert await log_size(pool) == 4


async def test_keys_are_scoped_by_token(writer: AsyncTestClient, pool: asyncpg.Pool) -> None:
    key = {"Idempotency-Key": "shared-name"}
    first = await writer.post("/v1/events", json=listing("ymtc"), headers=key)
    other_token = await tokens.create_token(pool, scope="write", name="other")
    second = await writer.post(
        "/v1/events",
        json=listing("ymtc"),
        headers=key | {"Authorization": f"Bearer {other_token}"},
    )
    assert first.status_code == second.status_code == 201
    assert first.json()["events"][0]["id"] != second.json()["events"][0]["id"]
    assert await log_size(pool) == 5


async def test_an_expired_key_may_be_used_again(
    writer: AsyncTestClient, pool: asyncpg.Pool
) -> None:
    key = {"Idempotency-Key": "daily"}
    assert (await writer.post("/v1/events", json=listing("ymtc"), headers=key)).status_code == 201
    await pool.execute("UPDATE idempotency_keys SET created_at = now() - interval '25 hours'")
    other = await writer.post("/v1/events", json=listing("huawei"), headers=key)
    assert other.status_code == 201, other.text
    assert await log_size(pool) == 5


async def test_a_malformed_key_is_400_naming_the_header(
    writer: AsyncTestClient, pool: asyncpg.Pool
) -> None:
    response = await writer.post(
        "/v1/events", json=listing("ymtc"), headers={"Idempotency-Key": "x" * 300}
    )
    assert_problem(response, 400, "Idempotency-Key")
    assert await log_size(pool) == 3
