"""Read-replica routing, with two databases on one server.

The "replica" database holds a prefix of the primary's log, copied row by row as a standby
would have replayed it, and its own read models. To see which database answered, one event in
the replica's copy is marked: its payload says the company was listed a day earlier. (The
replica is a real database with real rows; only that one payload differs from the primary.)

Rules under test (service/routing.py): an answer at a past `known_at` comes from the replica
once the replica has replayed past that moment; an answer at "now", or at a moment the replica
has not reached, comes from the primary; so does everything while the replica is unreachable.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest
from litestar.testing import AsyncTestClient

from service.eventlog.store import EVENT_COLUMNS, EventStore
from service.http.app import create_app
from service.readmodels.projector import Projector
from service.settings import Settings
from tests.conftest import fresh_database, with_database
from tests.support.builders import listed, registered

MARKED = "2022-12-15"  # the replica's copy of the listing says this
TRUE = "2022-12-16"  # the primary's


@pytest.fixture
async def replica_url(pg_admin_url: str, template_database: str) -> AsyncIterator[str]:
    async with fresh_database(pg_admin_url, template_database, "timeline_r") as url:
        yield url


async def _replay_prefix(primary: asyncpg.Pool, replica_url: str, upto: int) -> None:
    """Copy events 1..upto and their refs to the replica (marking the listing), then project."""
    rows = await primary.fetch(
        f"SELECT {', '.join(EVENT_COLUMNS)} FROM events WHERE position <= $1 ORDER BY position",  # noqa: S608
        upto,
    )
    refs = await primary.fetch(
        "SELECT position, ref, field FROM event_refs WHERE position <= $1", upto
    )
    copied = []
    for row in rows:
        values = list(row)
        if row["type"] == "EntityListed":
            values[EVENT_COLUMNS.index("payload")] = bytes(row["payload"]).replace(
                TRUE.encode(), MARKED.encode()
            )
        copied.append(tuple(values))
    async with asyncpg.create_pool(replica_url, min_size=1, max_size=2) as replica:
        async with replica.acquire() as conn, conn.transaction():
            await conn.copy_records_to_table("events", records=copied, columns=EVENT_COLUMNS)
            await conn.copy_records_to_table(
                "event_refs", records=[tuple(r) for r in refs], columns=("position", "ref", "field")
            )
        await Projector(replica).catch_up()


@pytest.fixture
async def log(store: EventStore, pool: asyncpg.Pool, replica_url: str) -> dict:
    """Primary: registrations, the listing (moment `listed`), then a later product (moment
    `later`). Replica: the first two append transactions only."""
    await store.append([registered("us-entity-list", "list"), registered("ymtc")])
    listing = await store.append([listed("ymtc", TRUE)])
    await _replay_prefix(pool, replica_url, listing.events[-1].position)
    later = await store.append([registered("micron")])
    return {
        "listed": listing.events[-1].recorded_at.isoformat(),
        "later": later.events[-1].recorded_at.isoformat(),
    }


async def _since(client: AsyncTestClient, **params: str) -> str:
    response = await client.get("/v1/entities/ymtc/state", params={"as_of": "2023-01-01", **params})
    assert response.status_code == 200, response.text
    (listing,) = response.json()["listings"]
    return listing["since"]


async def _member_since(client: AsyncTestClient, **params: str) -> str:
    response = await client.get(
        "/v1/lists/us-entity-list/members", params={"as_of": "2023-01-01", **params}
    )
    assert response.status_code == 200, response.text
    (member,) = response.json()["members"]
    return member["since"]


def _app(primary: str, replica: str, tmp_path: Path):
    return create_app(Settings(database_url=primary, read_database_url=replica, data_dir=tmp_path))


async def test_past_known_at_the_replica_has_replayed_is_read_from_the_replica(
    database_url: str, replica_url: str, log: dict, tmp_path: Path
) -> None:
    async with AsyncTestClient(_app(database_url, replica_url, tmp_path)) as client:
        assert await _since(client, known_at=log["listed"]) == MARKED
        assert await _member_since(client, known_at=log["listed"]) == MARKED


async def test_answer_at_now_never_comes_from_the_replica(
    database_url: str, replica_url: str, log: dict, tmp_path: Path
) -> None:
    async with AsyncTestClient(_app(database_url, replica_url, tmp_path)) as client:
        assert await _since(client) == TRUE
        assert await _member_since(client) == TRUE


async def test_past_known_at_beyond_the_replica_is_read_from_the_primary(
    database_url: str, replica_url: str, log: dict, tmp_path: Path
) -> None:
    async with AsyncTestClient(_app(database_url, replica_url, tmp_path)) as client:
        assert await _since(client, known_at=log["later"]) == TRUE
        assert await _member_since(client, known_at=log["later"]) == TRUE


async def test_unreachable_replica_sends_every_read_to_the_primary(
    database_url: str, pg_admin_url: str, log: dict, tmp_path: Path
) -> None:
    gone = with_database(pg_admin_url, f"timeline_missing_{uuid.uuid4().hex[:8]}")
    async with AsyncTestClient(_app(database_url, gone, tmp_path)) as client:
        assert await _since(client, known_at=log["listed"]) == TRUE
        assert await _member_since(client, known_at=log["listed"]) == TRUE
        assert await _since(client) == TRUE
