"""Through HTTP: a poison event planted in the log leaves the other entities' members and
search current, and /health and /metrics say the read side is degraded and where."""

from __future__ import annotations

import asyncio

import asyncpg
from litestar.testing import AsyncTestClient

from tests.support.apitools import listing, registration
from tests.support.poison import plant_poison


async def eventually_members(client: AsyncTestClient, expected: list[str]) -> list[str]:
    found: list[str] = []
    for _ in range(100):
        response = await client.get("/v1/lists/us-entity-list/members")
        if response.status_code == 200:
            found = [m["entity"] for m in response.json()["members"]]
            if found == expected:
                break
        await asyncio.sleep(0.1)
    return found


async def test_health_is_ok_with_nothing_set_aside(writer: AsyncTestClient) -> None:
    response = await writer.get("/health")
    assert response.status_code == 200
    assert response.json()["status"] == "ok"
    assert "set_aside" not in response.json()  # left out when nothing is set aside


async def test_a_poison_event_degrades_health_and_the_rest_stays_current(
    writer: AsyncTestClient, pool: asyncpg.Pool
) -> None:
    assert (await writer.post("/v1/events", json=[listing("ymtc")])).status_code == 201
    assert await eventually_members(writer, ["ymtc"]) == ["ymtc"]
    poison = await plant_poison(pool, "huawei")
    response = await writer.post(
        "/v1/events", json=[registration("smic"), listing("smic"), listing("huawei")]
    )
    assert response.status_code == 201, response.text

    assert await eventually_members(writer, ["smic", "ymtc"]) == ["smic", "ymtc"]
    search = await writer.get("/v1/entities", params={"q": "smic"})
    assert search.status_code == 200
    assert [e["id"] for e in search.json()["entities"]] == ["smic"]
    health = await writer.get("/health")
    assert health.status_code == 200
    body = health.json()
    assert body["status"] == "degraded"
    assert [(a["entity"], a["position"]) for a in body["set_aside"]] == [("huawei", poison)]
    assert "DecodeError" in body["set_aside"][0]["error"]
    metrics = (await writer.get("/metrics")).text
    assert "timeline_projector_set_aside_entities 1.0" in metrics
