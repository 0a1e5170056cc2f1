"""The README's read examples answer what it says, on a freshly seeded `timeline serve`: each
`curl` line is sent as curl sends it (raw UTF-8 in the query string) over a plain socket."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import asyncpg
import httpx

from service.access import tokens
from service.eventlog.store import EventStore
from service.ingest.seed import seed_if_empty
from tests.e2e.test_raw_query import raw_get
from tests.support.apitools import serving

README = Path(__file__).resolve().parents[2] / "README.md"
EXAMPLE = re.compile(r"^curl '(http://127\.0\.0\.1:8000)(/[^']*)'$", re.MULTILINE)


def examples() -> list[str]:
    return [target for _, target in EXAMPLE.findall(README.read_text("utf-8"))]


def test_the_readme_lists_its_read_examples() -> None:
    targets = examples()
    assert len(targets) >= 5
    assert targets[0].startswith("/v1/entities?q=")


def _non_empty(body: dict) -> bool:
    return any(value not in (None, [], {}, "", 0) for value in body.values())


async def test_every_readme_example_answers_on_a_seeded_server(
    database_url: str, store: EventStore
) -> None:
    assert await seed_if_empty(store) > 0  # what `timeline serve` does to an empty log
    env = os.environ | {"TIMELINE_DATABASE_URL": database_url}
    with serving(env, []) as base:
        answers = {}
        for target in examples():
            status, body = raw_get(base, target.encode())
            assert status == 200, (target, body)
            assert _non_empty(body), (target, body)
            answers[target.split("?")[0]] = body
        found = answers["/v1/entities"]["entities"]
        assert found[0]["id"] == "ymtc", found[:3]
        assert found[0]["matched"]["kind"] == "exact"
        state = answers["/v1/entities/ymtc/state"]
        assert any(x["list"] == "us-entity-list" for x in state["listings"])
        members = answers["/v1/lists/us-entity-list/members"]["members"]
        assert "huawei" in {m["entity"] for m in members}
        assert answers["/v1/timeline"]["events"]
        assert answers["/v1/log/head"]["size"] > 0


WRITE = re.compile(
    r"^curl -X POST '(http://127\.0\.0\.1:8000)(/v1/events)'.*?-d '(.*?)'$", re.M | re.S
)
IDEMPOTENCY = re.compile(r"-H 'Idempotency-Key: ([^']+)'")


async def test_the_readme_write_example_appends_once_as_it_says(
    database_url: str, store: EventStore, pool: asyncpg.Pool
) -> None:
    """The README's write (token, body, answer) works as written: the body it shows is
    appended, its answer names the stored event, and the same request again appends nothing."""
    text = README.read_text("utf-8")
    ((_, path, body),) = WRITE.findall(text)
    (key,) = IDEMPOTENCY.findall(text)
    event = json.loads(body)
    assert await seed_if_empty(store) > 0
    token = await tokens.create_token(pool, scope="write", name="readme")
    env = os.environ | {"TIMELINE_DATABASE_URL": database_url}
    headers = {"Authorization": f"Bearer {token}", "Idempotency-Key": key}
    with serving(env, []) as base:
        async with httpx.AsyncClient(base_url=base, timeout=30) as client:
            first = await client.post(path, json=event, headers=headers)
            again = await client.post(path, json=event, headers=headers)
        assert first.status_code == 201, first.text
        answer = first.json()
        assert answer["appended"] == 1
        (stored,) = answer["events"]
        assert stored["entity"] == event["entity"] and stored["type"] == event["type"]
        assert {"id", "position", "recorded_at", "hash"} <= set(stored)
        assert again.status_code == 201 and again.json() == answer
