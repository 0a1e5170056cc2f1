"""The UN list as NDJSON (`timeline import-un --ndjson`) posted in batches to `POST /v1/events`:
each regime's members through `GET /v1/lists/un-sc-consolidated/members?program=` equal the plain
count from the XML, and posting the same batches again adds nothing."""

from __future__ import annotations

import datetime as _dt
import json
import pathlib

import asyncpg
from litestar.testing import AsyncTestClient

from service.ingest.un import UN_LIST_ID, snapshot_ndjson
from tests.support.apitools import log_size
from tests.support.un_counts import members_as_of

XML = pathlib.Path(__file__).resolve().parents[1] / "data" / "un-sc-consolidated"
XML /= "consolidated.xml"
BATCH = 500


async def test_the_list_posted_as_ndjson_batches_gives_each_regime_its_members(
    client: AsyncTestClient, token: str, pool: asyncpg.Pool
) -> None:
    client.headers["Authorization"] = f"Bearer {token}"
    lines = [json.loads(line) for line in snapshot_ndjson(XML)]
    for start in range(0, len(lines), BATCH):
        response = await client.post("/v1/events", json=lines[start : start + BATCH])
        assert response.status_code == 201, response.text
    size = await log_size(pool)
    assert size == len(lines)
    again = await client.post("/v1/events", json=lines[:BATCH])
    assert again.status_code in (200, 201), again.text
    assert await log_size(pool) == size
    head = await client.get("/v1/lists/un-sc-consolidated/members", params={"as_of": "2026-02-27"})
    assert len(head.json()["members"]) == len(lines) // 2

    for day in (_dt.date(2001, 1, 25), _dt.date(2010, 6, 30), _dt.date(2026, 2, 27)):
        expected = members_as_of(XML, day)
        for program, count in expected.items():
            response = await client.get(
                f"/v1/lists/{UN_LIST_ID}/members",
                params={"as_of": day.isoformat(), "program": program},
            )
            assert response.status_code == 200, response.text
            assert len(response.json()["members"]) == count, (day, program)
