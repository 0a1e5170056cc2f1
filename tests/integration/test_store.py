"""The event store against a real PostgreSQL."""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid

import asyncpg
import pytest

import events as ev
from service.errors import IdConflict, StalePosition, UnknownReference
from service.eventlog.store import EventStore
from tests.conftest import runtime_pool
from tests.support.builders import listed, registered, retracted

WRITERS = 8
PER_WRITER = 500


async def _log_size(pool: asyncpg.Pool) -> int:
    return await pool.fetchval("SELECT count(*) FROM events")


async def _seed(store: EventStore, *companies: str) -> None:
    await store.append([registered("us-entity-list", "list")] + [registered(c) for c in companies])


async def test_concurrent_appenders_get_gap_free_positions_and_a_valid_chain(
    database_url: str, pool: asyncpg.Pool
) -> None:
    # Each writer has its own pool and store, as separate processes would: only the database
    # lock serialises them.
    await _seed(EventStore(pool), *[f"company-{w}" for w in range(WRITERS)])
    base = await _log_size(pool)
    total = base + WRITERS * PER_WRITER
    seen: list[int] = []

    async def writer(w: int) -> None:
        async with runtime_pool(database_url, max_size=2) as own:
            store = EventStore(own)
            for i in range(PER_WRITER):
                await store.append([listed(f"company-{w}", f"20{10 + i % 15}-0{1 + i % 9}")])

    async def reader() -> None:
        store = EventStore(pool)
        cursor = 0
        while len(seen) < total:
            page = await store.read_after(cursor, 300)
            for recorded in page:
                seen.append(recorded.position)
                cursor = recorded.position
            if not page:
                await asyncio.sleep(0.001)

    reading = asyncio.create_task(reader())
    await asyncio.gather(*(writer(w) for w in range(WRITERS)))
    await asyncio.wait_for(reading, timeout=30)

    log = await EventStore(pool).read_after(0, total + 10)
    assert len(log) == total
    assert [r.position for r in log] == list(range(1, total + 1))
    assert ev.verify_chain(log) is None
    assert seen == list(range(1, total + 1)), "the polling reader saw each event once, in order"


async def test_update_delete_and_truncate_are_refused_by_the_database(
    store: EventStore, pool: asyncpg.Pool, database_url: str
) -> None:
    await _seed(store, "ymtc")
    await store.append([listed("ymtc", "2022-12-16")])  # so that event_refs has a row
    # The service's role may not even try (tests/integration/test_roles.py); the triggers
    # refuse the owner of the tables too.
    conn = await asyncpg.connect(database_url)
    try:
        for statement in (
            "UPDATE events SET entity = 'other'",
            "DELETE FROM events",
            "TRUNCATE events CASCADE",
            "TRUNCATE event_refs",
            "DELETE FROM event_refs",
        ):
            with pytest.raises(asyncpg.RaiseError, match="append-only"):
                await conn.execute(statement)
    finally:
        await conn.close()
    assert await _log_size(pool) == 3
    assert await pool.fetchval("SELECT count(*) FROM event_refs") == 1


async def test_database_refuses_a_row_that_does_not_continue_the_chain(
    store: EventStore, pool: asyncpg.Pool
) -> None:
    await _seed(store)
    head = await store.head()
    with pytest.raises(asyncpg.IntegrityConstraintViolationError, match="does not follow"):
        await pool.execute(
            "INSERT INTO events (position, id, entity, type, schema_version, occurred, "
            "occurred_start, occurred_end, precision, recorded_at, payload, prev_hash, hash) "
            "VALUES ($1, $2, 'x', 'EntityRegistered', 1, '2020', '2020-01-01', '2021-01-01', "
            "'year', now(), '\\x7b7d', $3, $3)",
            head.position + 5,
            uuid.uuid4(),
            head.hash,
        )
    with pytest.raises(asyncpg.IntegrityConstraintViolationError, match="prev_hash"):
        await pool.execute(
            "INSERT INTO events (position, id, entity, type, schema_version, occurred, "
            "occurred_start, occurred_end, precision, recorded_at, payload, prev_hash, hash) "
            "VALUES ($1, $2, 'x', 'EntityRegistered', 1, '2020', '2020-01-01', '2021-01-01', "
            "'year', now(), '\\x7b7d', $3, $3)",
            head.position + 1,
            uuid.uuid4(),
            bytes(32),
        )


async def test_database_refuses_a_multi_row_statement_with_a_broken_link_and_keeps_none_of_it(
    store: EventStore, pool: asyncpg.Pool
) -> None:
    await _seed(store)
    head = await store.head()
    row = (
        "($1 + {k}, gen_random_uuid(), 'x', 'EntityRegistered', 1, '2020', '2020-01-01', "
        "'2021-01-01', 'year', now(), '\\x7b7d', {prev}, $2)"
    )
    insert = (
        "INSERT INTO events (position, id, entity, type, schema_version, occurred, "
        "occurred_start, occurred_end, precision, recorded_at, payload, prev_hash, hash) VALUES "
    )
    # The first row continues the log; the second names a prev_hash that is not the first's.
    with pytest.raises(asyncpg.IntegrityConstraintViolationError, match="prev_hash of position"):
        await pool.execute(
            insert + row.format(k=1, prev="$3") + ", " + row.format(k=2, prev="$3"),
            head.position,
            bytes(range(32)),
            head.hash,
        )
    assert (await store.head()).position == head.position


async def test_database_refuses_an_event_ref_to_a_position_not_in_the_log(
    store: EventStore, pool: asyncpg.Pool
) -> None:
    await _seed(store)
    with pytest.raises(asyncpg.ForeignKeyViolationError, match="not in the log"):
        await pool.execute("INSERT INTO event_refs (position, ref, field) VALUES (999, 'x', 'y')")
    assert await pool.fetchval("SELECT count(*) FROM event_refs WHERE position = 999") == 0


async def test_idempotent_reappend_adds_nothing_and_returns_the_stored_events(
    store: EventStore, pool: asyncpg.Pool
) -> None:
    await _seed(store, "ymtc")
    event = listed("ymtc", "2022-12-16", event_id=uuid.uuid4())
    first = await store.append([event])
    again = await store.append([event])
    assert first.new == 1 and again.new == 0
    assert again.events == first.events
    assert await _log_size(pool) == 3


async def test_reused_id_with_other_content_is_a_conflict(
    store: EventStore, pool: asyncpg.Pool
) -> None:
    await _seed(store, "ymtc")
    event_id = uuid.uuid4()
    await store.append([listed("ymtc", "2022-12-16", event_id=event_id)])
    with pytest.raises(IdConflict) as caught:
        await store.append([listed("ymtc", "2022-12-15", event_id=event_id)])
    assert caught.value.field == "id"
    assert await _log_size(pool) == 3


async def test_stale_expected_position_is_refused_distinctly_from_an_id_conflict(
    store: EventStore, pool: asyncpg.Pool
) -> None:
    await _seed(store, "ymtc")
    stream = await store.entity_events("ymtc")
    at = stream[-1].position
    await store.append([listed("ymtc", "2019")], expected={"ymtc": at})
    with pytest.raises(StalePosition) as caught:
        await store.append([listed("ymtc", "2020")], expected={"ymtc": at})
    assert not isinstance(caught.value, IdConflict)
    assert caught.value.field == "expected_position.ymtc"
    assert caught.value.extra["actual"] == at + 1, "the stream moved to the accepted listing"
    assert await _log_size(pool) == 3


async def test_expected_position_zero_means_a_new_stream(store: EventStore) -> None:
    await store.append([registered("us-entity-list", "list")], expected={"us-entity-list": 0})
    with pytest.raises(StalePosition):
        await store.append([registered("us-entity-list", "list")], expected={"us-entity-list": 0})


async def test_unregistered_subject_is_refused(store: EventStore, pool: asyncpg.Pool) -> None:
    await _seed(store)
    with pytest.raises(UnknownReference) as caught:
        await store.append([listed("nobody", "2022")])
    assert caught.value.field == "entity"
    assert await _log_size(pool) == 1


async def test_unregistered_referenced_list_is_refused(
    store: EventStore, pool: asyncpg.Pool
) -> None:
    await _seed(store, "ymtc")
    with pytest.raises(UnknownReference) as caught:
        await store.append([listed("ymtc", "2022", on="no-such-list")])
    assert caught.value.field == "list"
    assert await _log_size(pool) == 2


async def test_unknown_supersedes_is_refused(store: EventStore, pool: asyncpg.Pool) -> None:
    await _seed(store, "ymtc")
    with pytest.raises(UnknownReference) as caught:
        await store.append([retracted("ymtc", "2023", uuid.uuid4())])
    assert caught.value.field == "supersedes[0]"
    assert await _log_size(pool) == 2


async def test_supersedes_of_another_entity_is_refused(
    store: EventStore, pool: asyncpg.Pool
) -> None:
    await _seed(store, "ymtc", "huawei")
    huawei_listing = uuid.uuid4()
    await store.append([listed("huawei", "2019-05-16", event_id=huawei_listing)])
    with pytest.raises(UnknownReference) as caught:
        await store.append([retracted("ymtc", "2023", huawei_listing)])
    assert caught.value.field == "supersedes[0]"
    assert "huawei" in caught.value.detail
    assert await _log_size(pool) == 4


async def test_a_batch_with_one_bad_event_appends_nothing(
    store: EventStore, pool: asyncpg.Pool
) -> None:
    await _seed(store, "ymtc")
    with pytest.raises(UnknownReference) as caught:
        await store.append([listed("ymtc", "2022-12-16"), listed("nobody", "2022")])
    assert caught.value.field == "entity" and caught.value.extra["index"] == 1
    assert await _log_size(pool) == 2


async def test_a_batch_may_register_an_entity_and_use_it(store: EventStore) -> None:
    result = await store.append(
        [registered("us-entity-list", "list"), registered("ymtc"), listed("ymtc", "2022-12-16")]
    )
    assert [r.position for r in result.events] == [1, 2, 3]


async def test_a_refused_batch_does_not_spoil_batches_committed_beside_it(
    store: EventStore, pool: asyncpg.Pool
) -> None:
    await _seed(store, "ymtc")
    outcomes = await asyncio.gather(
        store.append([listed("ymtc", "2022-12-16")]),
        store.append([listed("nobody", "2022")]),
        store.append([listed("ymtc", "2023")]),
        return_exceptions=True,
    )
    assert isinstance(outcomes[1], UnknownReference)
    assert not isinstance(outcomes[0], BaseException) and not isinstance(outcomes[2], BaseException)
    log = await store.read_after(0, 100)
    assert [r.position for r in log] == [1, 2, 3, 4]
    assert ev.verify_chain(log) is None


async def test_recorded_at_never_goes_backwards_and_known_at_reads_the_past(
    store: EventStore,
) -> None:
    await _seed(store, "ymtc")
    first = await store.append([listed("ymtc", "2019")])
    second = await store.append([listed("ymtc", "2020")])
    cut = first.events[0].recorded_at
    assert second.events[0].recorded_at > cut
    as_known = await store.entity_events("ymtc", known_at=cut)
    assert [r.position for r in as_known] == [2, 3]
    assert len(await store.entity_events("ymtc")) == 3


async def test_events_read_back_decode_to_what_was_appended(store: EventStore) -> None:
    await _seed(store, "ymtc")
    event = listed("ymtc", "2022-12", event_id=uuid.uuid4())
    await store.append([event])
    (stored,) = await store.read_after(2, 10)
    assert stored.event == event
    assert stored.recorded_at.tzinfo is not None


async def test_read_after_filters_by_entity_and_type(store: EventStore) -> None:
    await _seed(store, "ymtc", "huawei")
    await store.append([listed("ymtc", "2022"), listed("huawei", "2019")])
    only_ymtc = await store.read_after(0, 100, entity="ymtc")
    assert {r.entity for r in only_ymtc} == {"ymtc"} and len(only_ymtc) == 2
    listings = await store.read_after(0, 100, types=["EntityListed"])
    assert [r.entity for r in listings] == ["ymtc", "huawei"]


async def test_head_of_an_empty_log_is_position_zero(store: EventStore) -> None:
    head = await store.head()
    assert head.position == 0 and head.hash == ev.GENESIS_HASH and head.recorded_at is None


def test_recorded_at_must_be_timezone_aware() -> None:
    with pytest.raises(ValueError, match="timezone"):
        ev.envelope_bytes(
            payload=b"{}", position=1, recorded_at=dt.datetime(2024, 1, 1), schema_version=1
        )
