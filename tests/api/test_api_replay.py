"""An auditor's replay of an export equals the API's state answer, byte for byte."""

from __future__ import annotations

import datetime as dt
import io
import itertools
import random

import asyncpg
from litestar.testing import AsyncTestClient

from projections.audit.replay import facts_of, replay
from service.audit import export
from service.eventlog.store import EventStore
from service.ingest.seed import seed_if_empty
from tests.integration.test_readmodels import _big_log


async def test_replay_of_an_export_equals_the_api_state_byte_for_byte(
    client: AsyncTestClient, store: EventStore, pool: asyncpg.Pool
) -> None:
    await seed_if_empty(store)
    for batch in _big_log(600, seed=11):  # generated companies beside the seeded story
        await store.append(batch)
    out = io.BytesIO()
    async with pool.acquire() as conn:
        await export.export(conn, out)
    facts = facts_of(out.getvalue().splitlines())
    stamps = sorted({f.recorded_at for f in facts})
    entities = sorted({f.event.entity for f in facts})
    rnd = random.Random(5)
    checked = 0
    for entity, day, known_at in itertools.islice(
        (
            (
                rnd.choice(entities),
                dt.date(rnd.randint(2017, 2026), rnd.randint(1, 12), 1),
                rnd.choice([None, *stamps]),
            )
            for _ in itertools.count()
        ),
        60,
    ):
        params = {"as_of": day.isoformat()}
        if known_at is not None:
            params["known_at"] = known_at.isoformat()
        response = await client.get(f"/v1/entities/{entity}/state", params=params)
        if response.status_code == 404:  # not registered as known then
            continue
        assert response.status_code == 200, response.text
        (replayed,) = replay(facts, day, known_at, entity)
        assert response.content == replayed, (entity, day, known_at)
        checked += 1
    assert checked > 30
