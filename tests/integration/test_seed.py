"""The seed data set: its content (pure) and what it answers once appended (real PostgreSQL)."""

from __future__ import annotations

import datetime as _dt
import json
import pathlib
import uuid

import pytest

import events as ev
from events.types import FinancialImpactDisclosed
from projections import Fact, fact_of, list_members, state_as_of
from projections.present.headlines import headline
from service.eventlog.store import EventStore
from service.ingest.seed import (
    EVENT_FILES,
    FILES,
    event_id,
    list_definitions,
    load_seed_events,
    load_seed_parts,
    load_seed_records,
    seed,
    seed_if_empty,
    seed_registrations,
)
from tests.unit.test_seed_sources import is_mirror, is_primary

D = _dt.date
REFERENCE = pathlib.Path(__file__).resolve().parents[1] / "data" / "reference"
REFERENCE_EVENTS = REFERENCE / "chip-export-controls-events.json"


def _names() -> dict[str, dict[str, str]]:
    return {entity: dict(event.names) for entity, event in seed_registrations().items()}


# --- the data set, parsed -------------------------------------------------------------------


def test_seed_parses_in_file_order_with_a_part_per_file() -> None:
    parts = load_seed_parts()
    assert [name for name, _ in parts] == list(FILES)
    assert sum(len(events) for _, events in parts) == len(load_seed_events())
    assert all(event.id is not None for event in load_seed_events())


def test_every_seeded_event_has_at_least_one_source_url() -> None:
    for event in load_seed_events():
        assert event.sources, event
        assert all(source.url.startswith(("https://", "http://")) for source in event.sources)


def test_every_entity_has_names_in_the_three_languages() -> None:
    registrations = seed_registrations()
    assert len(registrations) > 40
    for entity, event in registrations.items():
        for lang in ev.LANGS:
            assert event.names.get(lang, "").strip(), (entity, lang)
    for definition in list_definitions():  # also the lists only the CSV importer registers
        for lang in ev.LANGS:
            assert definition.record["names"].get(lang, "").strip(), (definition.id, lang)


def test_well_known_names_and_aliases_are_there() -> None:
    registrations = seed_registrations()

    def every_name(entity: str) -> set[str]:
        event = registrations[entity]
        return {*event.names.values(), *event.aliases}

    assert {"YMTC", "長江存儲", "长江存储", "Yangtze Memory Technologies"} <= every_name("ymtc")
    assert {"Huawei", "華為", "华为"} <= every_name("huawei")
    assert {"SMIC", "中芯國際", "中芯国际"} <= every_name("smic")
    for entity in ("micron", "nvidia", "samsung", "tsmc", "asml", "cambricon", "zte"):
        assert entity in registrations
    assert registrations["fujian-jinhua"].kind == "company"
    for entity in ("us-entity-list", "us-unverified-list", "dod-1260h-list"):
        assert registrations[entity].kind == "list"
    assert registrations["us-bis-2022-10-advanced-computing"].kind == "rule"


def test_every_reference_and_name_is_registered_before_it_is_used() -> None:
    registered: set[str] = set()
    for record in load_seed_records():
        event = record.event
        if isinstance(event, ev.EntityRegistered):
            registered.add(event.entity)
        assert event.entity in registered, record.key
        for name, ref in event.referenced_entities().items():
            assert ref in registered, (record.key, name, ref)


def test_ids_are_stable_uuid5_of_the_keys() -> None:
    records = {record.key: record for record in load_seed_records()}
    listing = records["ymtc-entity-list-2022"].event
    assert listing.id == event_id("ymtc-entity-list-2022")
    # Pinned: changing the namespace would re-seed every event under new ids.
    assert str(event_id("ymtc-entity-list-2022")) == str(
        uuid.uuid5(uuid.UUID("144a268a-7d7f-564e-b05b-18ed66a50845"), "event:ymtc-entity-list-2022")
    )
    assert len({event.id for event in load_seed_events()}) == len(load_seed_events())


def test_corrections_supersede_earlier_events_of_the_same_entity() -> None:
    records = load_seed_records()
    position = {record.event.id: index for index, record in enumerate(records)}
    corrections = [record for record in records if record.event.supersedes]
    assert corrections
    for record in corrections:
        assert record.file == EVENT_FILES[-1]  # appended in a later transaction
        for target in record.event.supersedes:
            assert position[target] < position[record.event.id]
            assert records[position[target]].event.entity == record.event.entity


def test_nvidia_estimate_is_superseded_by_the_booked_charge() -> None:
    records = {record.key: record.event for record in load_seed_records()}
    estimate = records["nvidia-h20-charge-estimate-2025-04"]
    booked = records["nvidia-q1-fy2026-h20-charge-2025"]
    assert isinstance(estimate, FinancialImpactDisclosed)
    assert isinstance(booked, FinancialImpactDisclosed)
    assert (estimate.amount.amount, estimate.qualifier, estimate.estimate) == (
        5_500_000_000,
        "up_to",
        True,
    )
    assert (booked.amount.amount, booked.estimate) == (4_500_000_000, False)
    assert booked.supersedes == (estimate.id,)


def test_dubious_claims_are_not_seeded_as_facts() -> None:
    text = json.dumps([json.loads(ev.encode(event)) for event in load_seed_events()])
    records = {record.key: record.event for record in load_seed_records()}
    micron_exit = records["micron-exit-china-server-chips-2025"]
    assert isinstance(micron_exit, ev.ExitAnnounced)
    assert micron_exit.impact is None  # claim (b): $3.4B was all China revenue
    assert micron_exit.confidence == "medium"
    nand = records["ymtc-294-layer-shipping-2025"]
    assert isinstance(nand, ev.ProductMassProduced)
    assert "7000" not in json.dumps(nand.specs)  # claim (a): an SSD figure, not the NAND's
    assert "23%" not in text and "Hua Hong" not in text  # claims (d), (e): unsourced here


@pytest.mark.skipif(not REFERENCE_EVENTS.exists(), reason="the shared reference is not here")
def test_every_reference_event_is_seeded_with_its_confidence() -> None:
    reference = {item["id"]: item for item in json.loads(REFERENCE_EVENTS.read_text("utf-8"))}
    records = load_seed_records()
    seeded = {record.reference for record in records if record.reference}
    assert set(reference) <= seeded
    for record in records:
        item = reference.get(record.key)
        if item is not None:  # the primary event of a reference event
            assert record.event.confidence == item["confidence"], record.key
            # The seed cites the research's sources, or a primary source (the Federal Register,
            # govinfo.gov, the agency) where the research had only a mirror or a press copy.
            urls = {source["url"] for source in item["sources"]}
            seeded_urls = {source.url for source in record.event.sources}
            assert all(url in urls or is_primary(url) for url in seeded_urls) or any(
                url in urls for url in seeded_urls
            ), record.key
            assert not any(is_mirror(url) for url in seeded_urls), record.key


@pytest.mark.skipif(not REFERENCE_EVENTS.exists(), reason="the shared reference is not here")
def test_federal_register_citations_of_the_reference_are_kept() -> None:
    seeded = {source.citation for event in load_seed_events() for source in event.sources}
    for cite in ("87 FR 77505", "84 FR 22961", "85 FR 83416", "87 FR 61971", "90 FR 42321"):
        assert cite in seeded


def test_every_seed_event_has_a_headline_in_every_language() -> None:
    names = _names()
    for event in load_seed_events():
        for lang in ev.LANGS:
            assert headline(event, lang, names).strip()
    records = {record.key: record.event for record in load_seed_records()}
    listing = records["ymtc-entity-list-2022"]
    assert headline(listing, "en", names) == "YMTC added to the US Entity List"
    assert headline(listing, "zh-Hans", names) == "长江存储被列入美国实体清单"
    assert headline(listing, "zh-Hant", names) == "長江存儲被列入美國實體清單"


# --- appended to a real log -----------------------------------------------------------------


async def _facts(store: EventStore) -> list[Fact]:
    return [fact_of(recorded) for recorded in await store.read_after(0, 100_000)]


async def test_seed_appends_into_an_empty_store_and_a_second_seed_adds_nothing(
    store: EventStore,
) -> None:
    added = await seed(store)
    assert added == len(load_seed_events())
    assert (await store.head()).position == added
    assert await seed(store) == 0
    assert await seed_if_empty(store) == 0
    assert (await store.head()).position == added


async def test_seed_if_empty_seeds_an_empty_log_only(store: EventStore) -> None:
    assert await seed_if_empty(store) == len(load_seed_events())


async def test_seed_if_empty_leaves_a_used_log_alone(store: EventStore) -> None:
    first = load_seed_events()[0]
    await store.append([first])
    assert await seed_if_empty(store) == 0
    assert (await store.head()).position == 1


async def test_key_facts_hold_over_the_seeded_log(store: EventStore) -> None:
    await seed(store)
    facts = await _facts(store)

    def on_entity_list(entity: str, day: _dt.date) -> bool:
        members = list_members(facts, "us-entity-list", day)
        listed = {member.entity for member in members}
        state = state_as_of(entity, facts, day)
        assert (entity in listed) == any(x.list == "us-entity-list" for x in state.listings)
        return entity in listed

    assert not on_entity_list("ymtc", D(2022, 12, 15))
    assert on_entity_list("ymtc", D(2022, 12, 16))
    assert on_entity_list("huawei", D(2019, 5, 16))
    assert not on_entity_list("huawei", D(2019, 5, 15))

    def nand_294(day: _dt.date) -> str | None:
        products = state_as_of("ymtc", facts, day).products
        found = [p for p in products if p.product.startswith("294-layer")]
        return found[0].certainty if found else None

    assert nand_294(D(2024, 12, 31)) is None
    assert nand_294(D(2025, 1, 15)) == "possible"
    assert nand_294(D(2025, 2, 1)) == "definite"

    state = state_as_of("ymtc", facts, D(2022, 12, 16))
    assert state.names == {"en": "YMTC", "zh-Hans": "长江存储", "zh-Hant": "長江存儲"}


async def test_ymtc_moves_from_the_unverified_list_to_the_entity_list(store: EventStore) -> None:
    await seed(store)
    facts = await _facts(store)
    lists = {listing.list for listing in state_as_of("ymtc", facts, D(2022, 12, 15)).listings}
    assert lists == {"us-unverified-list"}
    after = state_as_of("ymtc", facts, D(2022, 12, 16))
    assert {listing.list for listing in after.listings} == {"us-entity-list"}
    assert [rule.rule for rule in after.rules] == ["us-bis-2022-12-entity-list-additions"]
    on_1260h = state_as_of("ymtc", facts, D(2024, 2, 1))
    assert {listing.list for listing in on_1260h.listings} == {"us-entity-list", "dod-1260h-list"}


async def test_rules_pending_and_suspended_over_the_seeded_log(store: EventStore) -> None:
    await seed(store)
    facts = await _facts(store)
    (veu,) = state_as_of("samsung-china-semiconductor", facts, D(2025, 10, 1)).rules
    assert veu.status == "pending"
    (veu,) = state_as_of("samsung-china-semiconductor", facts, D(2025, 12, 31)).rules
    assert veu.status == "in_force"
    rule = "us-bis-2025-09-affiliates-rule"
    statuses = {
        day: state_as_of(rule, facts, day).rule_state.status  # type: ignore[union-attr]
        for day in (D(2025, 10, 1), D(2025, 12, 1), D(2026, 11, 10))
    }
    assert statuses == {
        D(2025, 10, 1): "in_force",
        D(2025, 12, 1): "suspended",
        D(2026, 11, 10): "in_force",
    }
    own = state_as_of("us-bis-2025-01-ai-diffusion", facts, D(2025, 6, 1)).rule_state
    assert own is not None and own.status == "rescinded"


async def test_zte_denial_order_is_a_listing_from_april_to_july_2018(store: EventStore) -> None:
    await seed(store)
    facts = await _facts(store)
    members = {m.entity for m in list_members(facts, "us-denied-persons-list", D(2018, 5, 1))}
    assert members == {"zte", "zte-kangxun"}
    assert list_members(facts, "us-denied-persons-list", D(2018, 7, 13)) == ()


async def test_correction_is_recorded_later_so_the_estimate_stays_as_known_before(
    store: EventStore,
) -> None:
    await seed(store)
    recorded = await store.read_after(0, 100_000)
    facts = [fact_of(r) for r in recorded]
    by_id = {fact.event.id: fact for fact in facts}
    estimate = by_id[event_id("nvidia-h20-charge-estimate-2025-04")]
    booked = by_id[event_id("nvidia-q1-fy2026-h20-charge-2025")]
    assert booked.recorded_at > estimate.recorded_at
    (now,) = state_as_of("nvidia", facts, D(2025, 6, 1)).financial_disclosures
    assert now.amount.amount == 4_500_000_000
    (before,) = state_as_of(
        "nvidia", facts, D(2025, 6, 1), known_at=estimate.recorded_at
    ).financial_disclosures
    assert (before.amount.amount, before.estimate) == (5_500_000_000, True)
