"""The live stream over a real socket: Litestar's in-process test transport waits for a
response to finish, which an endless Server-Sent Events stream never does."""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import AsyncIterator

import asyncpg
import httpx
import pytest

from service.access import tokens
from tests.support.apitools import listing, registration, serving


@pytest.fixture
async def served(database_url: str, pool: asyncpg.Pool) -> AsyncIterator[httpx.AsyncClient]:
    """The real `timeline serve` on this test's database, with a write token and 3 entities."""
    token = await tokens.create_token(pool, scope="write", name="sse")
    env = os.environ | {"TIMELINE_DATABASE_URL": database_url}
    with serving(env, []) as base:
        async with httpx.AsyncClient(
            base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=30
        ) as client:
            response = await client.post(
                "/v1/events",
                json=[
                    registration("us-entity-list", "list"),
                    registration("ymtc"),
                    registration("huawei"),
                ],
            )
            assert response.status_code == 201, response.text
            yield client


def _sse_messages(text: str) -> list[dict]:
    messages = []
    for block in text.replace("\r\n", "\n").split("\n\n"):
        fields: dict = {}
        for line in block.splitlines():
            if line.startswith(":"):
                fields.setdefault("comment", line[1:].strip())
                continue
            key, _, value = line.partition(":")
            fields[key] = value.strip()
        if fields:
            messages.append(fields)
    return messages


async def _read_sse(
    client: httpx.AsyncClient,
    until: str,
    headers: dict | None = None,
    params: dict | None = None,
    on_caught_up: object = None,
) -> list[dict]:
    got: list[dict] = []
    async with client.stream(
        "GET", "/v1/events/stream", headers=headers or {}, params=params or {}
    ) as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        buffer = ""
        async for chunk in response.aiter_text():
            buffer += chunk
            while "\r\n\r\n" in buffer or "\n\n" in buffer:
                sep = "\r\n\r\n" if "\r\n\r\n" in buffer else "\n\n"
                block, buffer = buffer.split(sep, 1)
                got.extend(_sse_messages(block))
                if got and got[-1].get("event") == "caught-up" and on_caught_up is not None:
                    await on_caught_up()  # type: ignore[operator]
                    on_caught_up = None
                if got and (got[-1].get("id") == until or got[-1].get("event") == until):
                    return got
    return got


async def test_sse_delivers_appends_to_a_connected_client_and_resumes_by_last_event_id(
    served: httpx.AsyncClient,
) -> None:
    async def append_two() -> None:
        response = await served.post(
            "/v1/events", json=[listing("ymtc"), listing("huawei", "2019-05-16")]
        )
        assert response.status_code == 201

    live = await asyncio.wait_for(_read_sse(served, until="5", on_caught_up=append_two), timeout=20)
    events = [m for m in live if "id" in m]
    assert [m["id"] for m in events] == ["1", "2", "3", "4", "5"]
    assert [m["event"] for m in live if m.get("event") == "caught-up"] == ["caught-up"]
    caught_up_at = next(i for i, m in enumerate(live) if m.get("event") == "caught-up")
    assert [m["id"] for m in live[:caught_up_at]] == ["1", "2", "3"], (
        "caught-up came after the log's events"
    )
    assert json.loads(events[3]["data"])["event"]["entity"] == "ymtc"

    resumed = await asyncio.wait_for(
        _read_sse(served, until="caught-up", headers={"Last-Event-ID": "3"}), timeout=20
    )
    assert [m["id"] for m in resumed if "id" in m] == ["4", "5"]
