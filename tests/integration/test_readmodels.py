"""SQL read models against the pure fold, rebuild against incremental, readers during a rebuild."""

from __future__ import annotations

import asyncio
import datetime as _dt
import itertools
import os
import random
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable

import asyncpg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import projections
from events import (
    EntityDelisted,
    EntityListed,
    EntityRegistered,
    EventRetracted,
    PartialDate,
    ProductMassProduced,
    RuleIssued,
    Source,
)
from projections import Fact, fact_of
from projections.rows import rows_of
from projections.segments import segments
from service.db.roles import drop_runtime_role
from service.eventlog.store import EventStore
from service.readmodels import queries as readmodel
from service.readmodels import search as name_search
from service.readmodels import sql as readmodel_sql
from service.readmodels.projector import Projector
from service.readmodels.rebuild import rebuild
from tests.conftest import runtime_pool, with_database
from tests.support.strategies import LISTS, PROGRAMS, logs

NewDatabase = Callable[[], Awaitable[str]]

# CI sets 100000 for its run against the machine's PostgreSQL; the README command stays quick.
BIG_LOG_EVENTS = int(os.environ.get("TIMELINE_BIG_LOG_EVENTS", "3000"))
KEPT_FOLD_LOG_EVENTS = min(BIG_LOG_EVENTS, 10_000)
"""The kept-fold tests step the projector every append, in small pages, and make it forget and
read histories again all the time: what they test needs many pages, not CI's 100k-event log
(at that size the forgetful one ran for more than five minutes; at 10,000 both take ~35 s)."""


@pytest.fixture
async def new_database(pg_admin_url: str, template_database: str) -> AsyncIterator[NewDatabase]:
    """A factory of fresh migrated databases (for Hypothesis: one per example)."""
    made: list[str] = []
    admin = await asyncpg.connect(pg_admin_url)

    async def make() -> str:
        name = f"timeline_h_{uuid.uuid4().hex[:12]}"
        await admin.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template_database}"')
        made.append(name)
        return with_database(pg_admin_url, name)

    try:
        yield make
    finally:
        for name in made:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            await drop_runtime_role(admin, name)
        await admin.close()


async def _append_grouped(store: EventStore, facts: list[Fact]) -> None:
    """Append in the generated order; facts generated with one recorded_at share a batch."""
    for _, group in itertools.groupby(facts, key=lambda f: f.recorded_at):
        await store.append([f.event for f in group])


async def _stored_facts(store: EventStore) -> list[Fact]:
    return [fact_of(r) for r in await store.read_after(0, 1_000_000)]


def _moments(facts: list[Fact]) -> list[_dt.datetime | None]:
    stamps = sorted({f.recorded_at for f in facts})
    return [None, *stamps, *(t - _dt.timedelta(microseconds=1) for t in stamps)]


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(log=logs(max_events=30), seed=st.integers(0, 2**32))
async def test_sql_members_and_changes_equal_the_pure_fold(
    new_database: NewDatabase, log: list[Fact], seed: int
) -> None:
    url = await new_database()
    async with runtime_pool(url, max_size=4) as pool:
        store = EventStore(pool)
        await _append_grouped(store, log)
        await Projector(pool).catch_up()
        facts = await _stored_facts(store)
        rnd = random.Random(seed)
        days = sorted({d for f in facts for d in (f.event.occurred.start, f.event.occurred.end)})
        days += [_dt.date(2019, 6, 1), _dt.date(2025, 6, 1)]
        one = _dt.timedelta(days=1)
        days = sorted({x for d in days for x in (d - one, d, d + one)})
        days += [_dt.date.min, _dt.date.max]  # the calendar's ends, where PostgreSQL has infinity
        for _ in range(12):
            day = rnd.choice(days)
            known_at = rnd.choice(_moments(facts))
            for list_id in LISTS:
                assert await readmodel.list_members(
                    pool, list_id, day, known_at
                ) == projections.list_members(facts, list_id, day, known_at), (list_id, day)
                for program in PROGRAMS:
                    assert await readmodel.list_members(
                        pool, list_id, day, known_at, program
                    ) == projections.list_members(facts, list_id, day, known_at, program), (
                        list_id,
                        day,
                        program,
                    )
                by_program = {
                    program: len(projections.list_members(facts, list_id, day, known_at, program))
                    for program in PROGRAMS
                }
                assert await readmodel.count_list_members_by_program(
                    pool, list_id, day, known_at
                ) == {program: n for program, n in by_program.items() if n}, (list_id, day)
            other = rnd.choice(days)
            start, end = min(day, other), max(day, other)
            assert await readmodel.changes(pool, start, end, known_at) == projections.changes(
                facts, start, end, known_at
            ), (start, end, known_at)
            await _pages_and_streams_equal_the_whole_answer(
                pool, day, start, end, known_at, limit=rnd.randint(1, 4)
            )


async def _member_json_is_the_members_encoded(
    pool: asyncpg.Pool,
    list_id: str,
    day: _dt.date,
    known_at: _dt.datetime | None,
    program: str | None,
    limit: int,
) -> None:
    """What the routes write (each member's JSON cut from its stored listing): the whole list,
    the stream and the pages are the members encoded, byte for byte, with the same cursors."""
    members = await readmodel.list_members(pool, list_id, day, known_at, program)
    encoded = [projections.canonical_json(m) for m in members]
    whole = await readmodel.list_members_json(pool, list_id, day, known_at, program)
    assert [bytes(m) for m in whole] == encoded
    stream = readmodel.stream_list_members_json(pool, list_id, day, known_at, program)
    assert [bytes(m) async for m in stream] == encoded
    paged: list[bytes] = []
    cursor = None
    for _ in range(len(members) + 1):
        page = await readmodel.list_members_page_json(
            pool, list_id, day, known_at, program, limit=limit, cursor=cursor
        )
        same = await readmodel.list_members_page(
            pool, list_id, day, known_at, program, limit=limit, cursor=cursor
        )
        assert page.next_cursor == same.next_cursor
        assert [bytes(m) for m in page.items] == [projections.canonical_json(m) for m in same.items]
        paged.extend(bytes(m) for m in page.items)
        if page.next_cursor is None:
            break
        cursor = readmodel.decode_cursor(
            page.next_cursor, readmodel.members_question(list_id, day, program)
        )
    assert page.next_cursor is None
    assert paged == encoded


async def _pages_and_streams_equal_the_whole_answer(
    pool: asyncpg.Pool,
    day: _dt.date,
    start: _dt.date,
    end: _dt.date,
    known_at: _dt.datetime | None,
    limit: int,
) -> None:
    """Members and changes cut in pages of `limit` (a page may end inside an entity's changes),
    streamed, and counted, give exactly the whole answer."""
    for list_id in LISTS:
        whole = await readmodel.list_members(pool, list_id, day, known_at)
        streamed = [m async for m in readmodel.stream_list_members(pool, list_id, day, known_at)]
        assert tuple(streamed) == whole
        assert await readmodel.count_list_members(pool, list_id, day, known_at) == len(whole)
        paged: list = []
        cursor = None
        for _ in range(len(whole) + 1):  # a cursor that goes nowhere fails, not hangs
            page = await readmodel.list_members_page(
                pool, list_id, day, known_at, limit=limit, cursor=cursor
            )
            assert len(page.items) <= limit
            paged.extend(page.items)
            if page.next_cursor is None:
                break
            cursor = readmodel.decode_cursor(
                page.next_cursor, readmodel.members_question(list_id, day)
            )
        assert page.next_cursor is None
        assert tuple(paged) == whole
        for program in (None, *PROGRAMS):
            await _member_json_is_the_members_encoded(pool, list_id, day, known_at, program, limit)
    whole_changes = await readmodel.changes(pool, start, end, known_at)
    streamed_changes = [c async for c in readmodel.stream_changes(pool, start, end, known_at)]
    assert tuple(streamed_changes) == whole_changes
    assert await readmodel.count_changes(pool, start, end, known_at) == len(whole_changes)
    paged = []
    cursor = None
    for _ in range(len(whole_changes) + 1):
        page = await readmodel.changes_page(pool, start, end, known_at, limit=limit, cursor=cursor)
        assert len(page.items) <= limit
        paged.extend(page.items)
        if page.next_cursor is None:
            break
        cursor = readmodel.decode_cursor(page.next_cursor, readmodel.changes_question(start, end))
    assert page.next_cursor is None
    assert tuple(paged) == whole_changes


def _big_log(n: int, seed: int = 7) -> list[list]:
    """Batches of events for a generated log of about `n` events (deterministic)."""
    rnd = random.Random(seed)
    source = (Source(url="https://example.org/a"),)
    companies = [f"co-{i}" for i in range(max(10, n // 15))]
    lists = ["us-entity-list", "eu-list", "uk-list"]
    rules = [f"rule-{i}" for i in range(5)]
    batches: list[list] = [
        [
            EntityRegistered(
                entity=e,
                occurred=PartialDate("2018"),
                sources=source,
                kind=kind,
                names={"en": e.upper(), "zh-Hans": e, "zh-Hant": e},
                id=uuid.UUID(int=i + 1),
            )
            for i, (e, kind) in enumerate(
                [(x, "list") for x in lists]
                + [(x, "rule") for x in rules]
                + [(x, "company") for x in companies]
            )
        ]
    ]
    ids: dict[str, list[uuid.UUID]] = {c: [] for c in companies}
    counter = itertools.count(10_000)
    made = len(batches[0])
    while made < n:
        batch = []
        for _ in range(rnd.choice([1, 1, 5, 50])):
            company = rnd.choice(companies)
            year = rnd.randint(2019, 2025)
            occurred = PartialDate(
                rnd.choice(
                    [
                        f"{year}",
                        f"{year}-{rnd.randint(1, 12):02d}",
                        f"{year}-{rnd.randint(1, 12):02d}-{rnd.randint(1, 28):02d}",
                    ]
                )
            )
            event_id = uuid.UUID(int=next(counter))
            roll = rnd.random()
            if roll < 0.4:
                event = EntityListed(
                    entity=company,
                    occurred=occurred,
                    sources=source,
                    list=rnd.choice(lists),
                    authority="BIS",
                    id=event_id,
                )
            elif roll < 0.6:
                event = EntityDelisted(
                    entity=company,
                    occurred=occurred,
                    sources=source,
                    list=rnd.choice(lists),
                    id=event_id,
                )
            elif roll < 0.75:
                event = ProductMassProduced(
                    entity=company,
                    occurred=occurred,
                    sources=source,
                    product=rnd.choice(["nand", "dram"]),
                    category="memory",
                    id=event_id,
                )
            elif roll < 0.78:
                rule = rnd.choice(rules)
                event = RuleIssued(
                    entity=rule,
                    occurred=occurred,
                    sources=source,
                    title={"en": rule},
                    authority="BIS",
                    targets=tuple(rnd.sample(companies, 2)),
                    id=event_id,
                )
            elif ids[company]:
                event = EventRetracted(
                    entity=company,
                    occurred=occurred,
                    sources=source,
                    supersedes=(rnd.choice(ids[company]),),
                    id=event_id,
                )
            else:
                continue
            if event.entity in ids:
                ids[event.entity].append(event_id)
            batch.append(event)
        if batch:
            batches.append(batch)
            made += len(batch)
    return batches


_DUMP_ITEMS = """
SELECT entity, aspect, key, valid_from, valid_to, recorded_from, recorded_to, present, body
FROM rm_items WHERE generation = (SELECT live FROM rm_state)
ORDER BY entity, aspect, key, recorded_from, valid_from
"""
_DUMP_ENTITIES = """
SELECT entity, kind, country, names, aliases FROM rm_entities
WHERE generation = (SELECT live FROM rm_state) ORDER BY entity
"""


async def _dump(pool: asyncpg.Pool) -> tuple[list, list]:
    return (
        [tuple(r) for r in await pool.fetch(_DUMP_ITEMS)],
        [tuple(r) for r in await pool.fetch(_DUMP_ENTITIES)],
    )


async def test_rebuild_equals_incremental_byte_for_byte(
    store: EventStore, pool: asyncpg.Pool
) -> None:
    projector = Projector(pool)
    for i, batch in enumerate(_big_log(BIG_LOG_EVENTS)):
        await store.append(batch)
        if i % 7 == 0:
            await projector.catch_up()  # the incremental projector runs while the log grows
    await projector.catch_up()
    incremental = await _dump(pool)
    assert len(incremental[0]) > 500
    generation = await rebuild(pool)
    assert generation == 2
    assert await _dump(pool) == incremental
    assert await pool.fetchval("SELECT count(*) FROM rm_items WHERE generation <> 2") == 0


async def test_rebuild_in_partitions_and_worker_processes_equals_incremental(
    store: EventStore, pool: asyncpg.Pool
) -> None:
    projector = Projector(pool)
    for i, batch in enumerate(_big_log(BIG_LOG_EVENTS, seed=11)):
        await store.append(batch)
        if i % 5 == 0:
            await projector.catch_up()
    await projector.catch_up()
    incremental = await _dump(pool)
    await rebuild(pool, workers=2, partition_events=max(BIG_LOG_EVENTS // 6, 1))
    assert await _dump(pool) == incremental


async def _project_in_pages(projector: Projector, page: int) -> None:
    while not (await projector.step(page))[0]:
        pass


async def test_a_projector_keeping_few_entities_and_facts_writes_what_the_rebuild_writes(
    store: EventStore, pool: asyncpg.Pool
) -> None:
    """The projector keeps its fold from page to page. Kept for 3 entities only, in pages of
    about 40 events, it forgets entities and reads their history and rows again all the time,
    and past a fifth of the log's facts drops the whole fold: its rows are still the rebuild's."""
    projector = Projector(pool, keep_entities=3, keep_facts=max(KEPT_FOLD_LOG_EVENTS // 5, 50))
    for i, batch in enumerate(_big_log(KEPT_FOLD_LOG_EVENTS, seed=19)):
        await store.append(batch)
        if i % 3 == 0:
            await _project_in_pages(projector, 40)
    await projector.catch_up()
    incremental = await _dump(pool)
    assert len(incremental[0]) > 500
    await rebuild(pool)
    assert await _dump(pool) == incremental


async def test_projectors_taking_turns_across_a_rebuild_write_what_the_rebuild_writes(
    store: EventStore, pool: asyncpg.Pool
) -> None:
    """A kept fold holds only where the next page starts from the state its last page left:
    here two projectors take turns (each moving the checkpoint under the other's kept fold),
    and a rebuild swaps the generation beneath both half way."""
    projectors = [Projector(pool), Projector(pool)]
    batches = _big_log(KEPT_FOLD_LOG_EVENTS // 2, seed=23)
    half = len(batches) // 2
    for i, batch in enumerate(batches):
        await store.append(batch)
        # The projector that stepped just before the rebuild steps again just after it: at
        # the checkpoint its fold was kept at, but in another generation.
        await _project_in_pages(projectors[(i if i <= half else i + 1) % 2], 60)
        if i == half:
            await rebuild(pool)
    incremental = await _dump(pool)
    assert await pool.fetchval("SELECT live FROM rm_state") == 2
    await rebuild(pool)
    assert await _dump(pool) == incremental


_CURRENT_ROWS = """
SELECT entity, aspect, key, valid_from, valid_to, present, body FROM rm_items
WHERE generation = (SELECT live FROM rm_state) AND recorded_to = 'infinity'
"""


async def test_rebuilt_rows_equal_the_whole_entity_segments_of_every_entity(
    store: EventStore, pool: asyncpg.Pool
) -> None:
    """The rebuild folds item by item (`Segmentation`); what it leaves current for every
    entity is, byte for byte, `segments()` of the whole log: every breakpoint of the whole
    entity evaluated. At TIMELINE_BIG_LOG_EVENTS events (100,000 in CI)."""
    for batch in _big_log(BIG_LOG_EVENTS, seed=17):
        await store.append(batch)
    await rebuild(pool, workers=2, partition_events=max(BIG_LOG_EVENTS // 4, 1))
    stored: dict[str, list[tuple]] = {}
    for r in await pool.fetch(_CURRENT_ROWS):
        row = (r["aspect"], r["key"], r["valid_from"], r["valid_to"], r["present"], r["body"])
        stored.setdefault(r["entity"], []).append(row)
    facts = [fact_of(r) for r in await store.read_after(0, BIG_LOG_EVENTS + 1_000)]
    index = projections.Relevance(facts)
    expected = {}
    for entity in index.entities():
        found = rows_of(segments(entity, index.relevant(entity)))
        if found:
            expected[entity] = found
    assert len(expected) > 50
    assert {entity: tuple(sorted(rows)) for entity, rows in stored.items()} == expected


class _Killed(Exception):
    """Stands for the rebuild's process being killed."""


async def test_a_killed_rebuild_resumes_from_its_written_partitions_and_catches_up(
    store: EventStore, pool: asyncpg.Pool
) -> None:
    batches = _big_log(BIG_LOG_EVENTS, seed=13)
    later = batches[len(batches) * 4 // 5 :]
    for batch in batches[: len(batches) * 4 // 5]:
        await store.append(batch)
    projector = Projector(pool)
    await projector.catch_up()
    seen: list[tuple[int, int]] = []

    def die_after_two_partitions(done: int, total: int) -> None:
        seen.append((done, total))
        if len(seen) == 3:  # the first call reports none done; then one per partition
            raise _Killed

    with pytest.raises(_Killed):
        await rebuild(
            pool,
            workers=1,
            partition_events=max(BIG_LOG_EVENTS // 8, 1),
            progress=die_after_two_partitions,
        )
    assert await pool.fetchval("SELECT count(*) FROM rm_rebuild_partitions") == 2
    assert await pool.fetchval("SELECT live FROM rm_state") == 1  # not swapped in
    for batch in later:  # appended while no rebuild runs: the resumed one catches up on them
        await store.append(batch)
    await projector.catch_up()
    incremental = await _dump(pool)

    resumed: list[tuple[int, int]] = []
    await rebuild(
        pool,
        workers=2,
        partition_events=10**9,  # ignored: the killed rebuild's partitions are kept
        progress=lambda done, total: resumed.append((done, total)),
    )
    assert resumed[0][1] == seen[0][1]  # built up to the same position as the killed one
    assert resumed[0][0] > 0  # and did not fold the written partitions again
    assert await _dump(pool) == incremental
    assert await pool.fetchval("SELECT count(*) FROM rm_rebuild_partitions") == 0


async def test_readers_during_a_rebuild_never_see_an_error_or_a_partial_answer(
    store: EventStore, pool: asyncpg.Pool
) -> None:
    for batch in _big_log(2000, seed=3):
        await store.append(batch)
    await Projector(pool).catch_up()
    day = _dt.date(2024, 6, 1)
    expected = await readmodel.list_members(pool, "us-entity-list", day)
    expected_changes = await readmodel.changes(pool, _dt.date(2020, 1, 1), day)
    assert expected
    stop = asyncio.Event()
    answers = 0

    async def reader() -> None:
        nonlocal answers
        while not stop.is_set():
            assert await readmodel.list_members(pool, "us-entity-list", day) == expected
            assert await readmodel.changes(pool, _dt.date(2020, 1, 1), day) == expected_changes
            answers += 1
            await asyncio.sleep(0)

    readers = [asyncio.create_task(reader()) for _ in range(3)]
    await rebuild(pool)
    await rebuild(pool)
    stop.set()
    await asyncio.gather(*readers)
    assert answers > 3


async def test_projector_follows_appends_made_after_it_caught_up(
    store: EventStore, pool: asyncpg.Pool
) -> None:
    source = (Source(url="https://example.org/a"),)
    await store.append(
        [
            EntityRegistered(
                entity="us-entity-list",
                occurred=PartialDate("2018"),
                sources=source,
                kind="list",
                names={"en": "Entity List"},
            ),
            EntityRegistered(
                entity="ymtc",
                occurred=PartialDate("2016"),
                sources=source,
                kind="company",
                names={"en": "YMTC", "zh-Hans": "长江存储", "zh-Hant": "長江存儲"},
                aliases=("Yangtze Memory Technologies",),
            ),
        ]
    )
    projector = Projector(pool)
    await projector.catch_up()
    await store.append(
        [
            EntityListed(
                entity="ymtc",
                occurred=PartialDate("2022-12-16"),
                sources=source,
                list="us-entity-list",
                authority="BIS",
            )
        ]
    )
    before = await readmodel.list_members(pool, "us-entity-list", _dt.date(2022, 12, 16))
    assert before == ()
    await projector.catch_up()
    members = await readmodel.list_members(pool, "us-entity-list", _dt.date(2022, 12, 16))
    assert [m.entity for m in members] == ["ymtc"]
    assert await readmodel.list_members(pool, "us-entity-list", _dt.date(2022, 12, 15)) == ()
    for query in ("長江存儲", "长江存储", "YMTC", "yangtze memory", "Yangtze"):
        found, _ = await name_search.search(pool, query, day=_dt.date.today())
        assert [e.id for e in found] == ["ymtc"], query


async def test_a_version_bump_triggers_a_rebuild(store: EventStore, pool: asyncpg.Pool) -> None:
    for batch in _big_log(200, seed=5):
        await store.append(batch)
    projector = Projector(pool)
    assert await projector.ensure_version() is True  # a fresh database has version 0
    assert await projector.ensure_version() is False
    assert await pool.fetchval("SELECT version FROM rm_state") == readmodel_sql.PROJECTION_VERSION
