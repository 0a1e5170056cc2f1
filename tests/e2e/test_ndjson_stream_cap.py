"""Concurrent NDJSON streams are capped, against the real `timeline serve` process.

An NDJSON answer holds one pooled connection from its first row to its last. Uncapped, enough
slow streams at once would take every connection, and the reads and appends after them would
wait for the pool until they failed. At most half the pool's connections stream at once
(service/http/pages.py, `NDJSON_STREAMS_SHARE`); one more stream is refused before it starts
with 503 `streams-busy` and `Retry-After`, everything else is still answered, and the streams
held back give their places back when they end.

The streams are held mid-answer by a lock on the read models' table, taken by the test: each
one's query waits for it on its own connection, as a slow client's stream would hold it.
"""

from __future__ import annotations

import asyncio
import json
import time

import asyncpg
import httpx

from service.access import tokens
from tests.e2e.test_stream_disconnects import _errors_logged, serving
from tests.support.apitools import listing, registration

POOL = 4  # TIMELINE_POOL_MAX_SIZE: at most 2 streams at once
CAP = 2
MEMBERS = 30
PATH = "/v1/lists/us-entity-list/members?as_of=2024-01-01"
NDJSON = {"Accept": "application/x-ndjson"}
ANSWER_BOUND = 5.0  # seconds a refusal or another read may take while the streams are held


async def _streams_waiting(admin: asyncpg.Connection, count: int) -> None:
    """Until `count` sessions wait for the test's lock on rm_items."""
    deadline = time.monotonic() + 10
    while True:
        waiting = await admin.fetchval(
            "SELECT count(*) FROM pg_locks WHERE NOT granted AND relation = 'rm_items'::regclass"
        )
        if waiting >= count:
            return
        assert time.monotonic() < deadline, f"{waiting} of {count} streams wait for the lock"
        await asyncio.sleep(0.05)


async def test_streams_beyond_the_cap_are_refused_with_503_and_the_rest_still_answer(
    database_url: str, pool: asyncpg.Pool
) -> None:
    token = await tokens.create_token(pool, scope="write", name="ndjson-cap")
    companies = [f"member-{i:03d}" for i in range(MEMBERS)]
    # A held stream waits for the lock longer than a query may by default.
    with serving(
        database_url, TIMELINE_POOL_MAX_SIZE=str(POOL), TIMELINE_DB_COMMAND_TIMEOUT="60"
    ) as server:
        async with httpx.AsyncClient(
            base_url=server.base, headers={"Authorization": f"Bearer {token}"}, timeout=60
        ) as client:
            batch = [registration("us-entity-list", "list")]
            for company in companies:
                batch += [registration(company), listing(company, "2020-01-01")]
            assert (await client.post("/v1/events", json=batch)).status_code == 201
            count = await client.get(PATH + "&count=true")  # the read models have the list
            assert count.status_code == 200 and count.json()["count"] == MEMBERS, count.text

            admin = await asyncpg.connect(database_url)
            try:
                lock = admin.transaction()
                await lock.start()
                await admin.execute("LOCK TABLE rm_items IN ACCESS EXCLUSIVE MODE")
                held = [asyncio.create_task(client.get(PATH, headers=NDJSON)) for _ in range(CAP)]
                await _streams_waiting(admin, CAP)

                started = time.monotonic()
                refused = await asyncio.wait_for(client.get(PATH, headers=NDJSON), ANSWER_BOUND)
                assert refused.status_code == 503, refused.text
                assert refused.headers["retry-after"] == "1"
                assert refused.headers["content-type"].startswith("application/problem+json")
                assert refused.json()["type"].endswith("/streams-busy"), refused.text
                changes = await asyncio.wait_for(
                    client.get("/v1/changes?from=2019-01-01&to=2024-01-01", headers=NDJSON),
                    ANSWER_BOUND,
                )
                assert changes.status_code == 503, "the changes stream from the same pool"
                # The other connections still answer what does not stream.
                state = await asyncio.wait_for(
                    client.get(f"/v1/entities/{companies[0]}/state?as_of=2024-01-01"),
                    ANSWER_BOUND,
                )
                assert state.status_code == 200, state.text
                assert time.monotonic() - started < ANSWER_BOUND
                assert not any(task.done() for task in held)
                await lock.rollback()
            finally:
                await admin.close()

            for task in held:  # the held streams end whole once the lock goes
                answer = await asyncio.wait_for(task, 30)
                assert answer.status_code == 200, answer.text
                lines = [json.loads(line)["entity"] for line in answer.content.splitlines()]
                assert lines == companies
            # ... and give their places back: as many streams as the cap, at once, again.
            again = await asyncio.gather(*(client.get(PATH, headers=NDJSON) for _ in range(CAP)))
            assert [a.status_code for a in again] == [200] * CAP
        assert _errors_logged(server.log()) == []
