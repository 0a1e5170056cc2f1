"""`import_ndjson`: batches, idempotency, resuming after a crash, errors naming line and field
(real PostgreSQL)."""

from __future__ import annotations

import json
import uuid

import msgspec
import pytest

import events as ev
from service.eventlog.store import EventStore
from service.ingest.importers import ImportFailed, content_id, import_ndjson, parse_ndjson_line
from tests.support.apitools import SOURCE as API_SOURCE

(SOURCE,) = API_SOURCE  # the one source of the test builders, as JSON


def _line(doc: dict) -> bytes:
    return json.dumps(doc, ensure_ascii=False).encode("utf-8")


def _file(companies: int, *, with_ids: bool = True) -> list[bytes]:
    """Registrations of a list and `companies` companies, then one listing each."""
    docs: list[dict] = [
        {
            "type": "EntityRegistered",
            "entity": "us-entity-list",
            "occurred": "1997",
            "kind": "list",
            "names": {"en": "US Entity List", "zh-Hans": "美国实体清单"},
            "sources": [SOURCE],
        }
    ]
    for i in range(companies):
        docs.append(
            {
                "type": "EntityRegistered",
                "entity": f"company-{i}",
                "occurred": "2020",
                "kind": "company",
                "names": {"en": f"Company {i}"},
                "sources": [SOURCE],
            }
        )
    for i in range(companies):
        docs.append(
            {
                "type": "EntityListed",
                "entity": f"company-{i}",
                "occurred": f"2022-12-{1 + i % 28:02d}",
                "list": "us-entity-list",
                "authority": "BIS",
                "sources": [SOURCE],
            }
        )
    if with_ids:
        for i, doc in enumerate(docs):
            doc["id"] = str(uuid.UUID(int=i + 1))
    return [_line(doc) for doc in docs]


async def _ids(store: EventStore) -> list[uuid.UUID]:
    return [r.event.id for r in await store.read_after(0, 1_000_000)]  # type: ignore[misc]


async def test_import_appends_every_line_in_batches(store: EventStore) -> None:
    lines = _file(120)
    calls: list[tuple[int, int | None]] = []
    report = await import_ndjson(
        store, lines, batch_size=50, progress=lambda d, t: calls.append((d, t)), total=len(lines)
    )
    assert (report.read, report.events, report.new) == (241, 241, 241)
    assert calls == [(50, 241), (100, 241), (150, 241), (200, 241), (241, 241)]
    assert (await store.head()).position == 241
    assert report.rate > 0 and "241 events (241 new" in report.summary()


async def test_second_import_of_the_same_file_adds_nothing(store: EventStore) -> None:
    lines = _file(30)
    await import_ndjson(store, lines, batch_size=7)
    again = await import_ndjson(store, lines, batch_size=7)
    assert (again.events, again.new, again.existing) == (61, 0, 61)
    assert (await store.head()).position == 61


async def test_rerun_after_a_crash_half_way_ends_with_each_event_once(store: EventStore) -> None:
    lines = _file(100)
    half = len(lines) // 2
    # The "crash": only the first batches made it (a kill -9 loses at most the open batch).
    await import_ndjson(store, lines[:half], batch_size=25)
    report = await import_ndjson(store, lines, batch_size=25)
    assert report.new == len(lines) - half
    ids = await _ids(store)
    assert len(ids) == len(set(ids)) == len(lines)
    assert ids == [uuid.UUID(int=i + 1) for i in range(len(lines))]  # file order kept


async def test_lines_without_ids_get_deterministic_ids_so_a_rerun_adds_nothing(
    store: EventStore,
) -> None:
    lines = _file(20, with_ids=False)
    first = await import_ndjson(store, lines[:15], batch_size=10)
    second = await import_ndjson(store, lines, batch_size=10)
    assert first.new + second.new == len(lines)
    assert (await import_ndjson(store, lines)).new == 0
    event = parse_ndjson_line(lines[0])
    assert event.id == content_id(msgspec.structs.replace(event, id=None))
    assert (await store.head()).position == len(lines)


async def test_blank_lines_are_skipped_and_line_numbers_still_count_them(
    store: EventStore,
) -> None:
    lines = _file(2)
    with_blanks = [lines[0], b"", b"   ", *lines[1:]]
    report = await import_ndjson(store, with_blanks)
    assert (report.read, report.new) == (len(lines), len(lines))
    broken = [*with_blanks, b'{"type": "EntityListed"}']
    with pytest.raises(ImportFailed) as info:
        await import_ndjson(store, broken)
    assert info.value.line == len(broken)


async def test_malformed_line_names_its_line_and_field_and_earlier_batches_stay(
    store: EventStore,
) -> None:
    lines = _file(10)
    bad = json.loads(lines[15])
    bad["sources"] = [{"url": "not a url"}]
    lines[15] = _line(bad)
    with pytest.raises(ImportFailed) as info:
        await import_ndjson(store, lines, batch_size=5)
    assert (info.value.line, info.value.field) == (16, "sources[0].url")
    assert str(info.value).startswith("line 16: sources[0].url: ")
    assert (await store.head()).position == 15  # three whole batches before it


async def test_store_refusal_names_the_line_and_the_batch_adds_nothing(store: EventStore) -> None:
    lines = _file(3)
    orphan = json.loads(lines[-1])
    orphan["id"] = str(uuid.uuid4())
    orphan["entity"] = "not-registered"
    lines.insert(5, _line(orphan))
    with pytest.raises(ImportFailed) as info:
        await import_ndjson(store, lines, batch_size=4)
    assert (info.value.line, info.value.field) == (6, "entity")
    assert (await store.head()).position == 4


async def test_id_reused_with_other_content_names_the_line(store: EventStore) -> None:
    lines = _file(2)
    await import_ndjson(store, lines)
    changed = json.loads(lines[1])
    changed["names"] = {"en": "Another name"}
    with pytest.raises(ImportFailed) as info:
        await import_ndjson(store, [lines[0], _line(changed)])
    assert (info.value.line, info.value.field) == (2, "id")


async def test_export_lines_with_an_envelope_are_imported_as_their_events(
    store: EventStore,
) -> None:
    lines = _file(1)
    envelopes = [
        _line(
            {
                "event": json.loads(line),
                "hash": "00",
                "position": n,
                "prev_hash": "00",
                "recorded_at": "2025-01-01T00:00:00Z",
                "schema_version": 1,
            }
        )
        for n, line in enumerate(lines, start=1)
    ]
    report = await import_ndjson(store, envelopes)
    assert report.new == len(lines)
    assert (await import_ndjson(store, lines)).new == 0  # the same events


async def test_old_schema_in_an_envelope_is_upcast(store: EventStore) -> None:
    lines = _file(1)
    exit_v1 = {
        "type": "ExitAnnounced",
        "entity": "company-0",
        "occurred": "2025-10-17",
        "market": "server chips",
        "region": "CN",
        "impact_usd": 1000,
        "sources": [SOURCE],
    }
    envelope = _line({"event": exit_v1, "schema_version": 1})
    await import_ndjson(store, [*lines, envelope])
    (*_, last) = await store.read_after(0, 100)
    assert last.event.impact == ev.Impact(amount=1000, currency="USD")  # type: ignore[union-attr]
