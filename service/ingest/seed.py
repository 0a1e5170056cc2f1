"""The seed data set: the chip export-control story of 2018-2025, in three languages.

The data lives in TOML files under `service/seed/` (package data), one file per concern, read in
this order, which is the append order:

1. `lists.toml` - the lists (kind `list`), each also mapped to its Consolidated Screening List
   source code where it has one;
2. `organisations.toml` - governments and companies, parents before subsidiaries;
3. `rules.toml` - rules and guidance (kind `rule`);
4. `events.toml` - the events of the story;
5. `corrections.toml` - corrections of earlier events, appended in a transaction of their own.

Event ids are uuid5 of the record's stable key (`entity:<id>` for registrations, `event:<key>`
for events), so seeding twice adds nothing. `load_seed_events()` only parses; `seed(store)`
appends through `EventStore.append`, the same path as any client. See docs/seed.md.
"""

from __future__ import annotations

import tomllib
import unicodedata
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any

from events import AnyEvent, EntityRegistered, EventInvalid, from_builtins
from service.eventlog.store import EventStore

SEED_NAMESPACE = uuid.UUID("144a268a-7d7f-564e-b05b-18ed66a50845")
ENTITY_FILES = ("lists.toml", "organisations.toml", "rules.toml")
EVENT_FILES = ("events.toml", "corrections.toml")
FILES = (*ENTITY_FILES, *EVENT_FILES)
BATCH_SIZE = 500

# Keys of a record that describe it in the seed but are not fields of its event.
_ENTITY_META = ("id", "csl_source", "seed")
_EVENT_META = ("key", "reference")


class SeedError(ValueError):
    """A seed file that does not parse into valid events. Names the file, record and field."""


def entity_event_id(entity: str) -> uuid.UUID:
    """The id of the seed's registration of `entity`."""
    return uuid.uuid5(SEED_NAMESPACE, f"entity:{entity}")


def event_id(key: str) -> uuid.UUID:
    """The id of the seed event with `key`."""
    return uuid.uuid5(SEED_NAMESPACE, f"event:{key}")


@dataclass(frozen=True, slots=True)
class SeedRecord:
    """One seed event with where it comes from: its file, its key and (events) its reference id."""

    file: str
    key: str
    event: AnyEvent
    reference: str | None = None


@dataclass(frozen=True, slots=True)
class ListDefinition:
    """A list of `lists.toml`: its id, CSL source code, whether the seed registers it, and the
    raw record (for importers that register it themselves)."""

    id: str
    csl_source: str | None
    seeded: bool
    record: dict[str, Any] = field(repr=False)


def _read(name: str) -> dict[str, Any]:
    data = resources.files("service.ingest").joinpath("seed", name).read_bytes()
    try:
        return tomllib.loads(data.decode("utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise SeedError(f"{name}: {exc}") from None


def _convert(raw: dict[str, Any], where: str) -> AnyEvent:
    try:
        return from_builtins(raw)
    except EventInvalid as exc:
        raise SeedError(f"{where}: {exc.field}: {exc.detail}") from None


def registration_raw(record: dict[str, Any], *, occurred: str | None = None) -> dict[str, Any]:
    """The `EntityRegistered` document of an entity record (`occurred` overrides the record's)."""
    raw = {k: v for k, v in record.items() if k not in _ENTITY_META}
    raw["type"] = "EntityRegistered"
    raw["entity"] = record["id"]
    if occurred is not None:
        raw["occurred"] = occurred
    if record.get("csl_source"):
        raw["identifiers"] = {**raw.get("identifiers", {}), "csl_source": record["csl_source"]}
    return raw


def _entity_records(name: str) -> Iterator[SeedRecord]:
    for index, record in enumerate(_read(name).get("entity", [])):
        where = f"{name} entity #{index + 1} ({record.get('id', '?')})"
        if not isinstance(record.get("id"), str):
            raise SeedError(f"{where}: id: missing")
        if record.get("seed", True) is False:
            continue
        raw = registration_raw(record)
        raw["id"] = str(entity_event_id(record["id"]))
        yield SeedRecord(file=name, key=f"entity:{record['id']}", event=_convert(raw, where))


def _event_records(name: str, seen: set[str]) -> Iterator[SeedRecord]:
    for index, record in enumerate(_read(name).get("event", [])):
        key = record.get("key")
        where = f"{name} event #{index + 1} ({key or '?'})"
        if not isinstance(key, str) or not key:
            raise SeedError(f"{where}: key: missing")
        if key in seen:
            raise SeedError(f"{where}: key: used twice")
        raw = {k: v for k, v in record.items() if k not in _EVENT_META}
        raw["id"] = str(event_id(key))
        targets = raw.get("supersedes", [])
        for i, target in enumerate(targets):
            if target not in seen:
                raise SeedError(f"{where}: supersedes[{i}]: no earlier seed event {target!r}")
        raw["supersedes"] = [str(event_id(target)) for target in targets]
        seen.add(key)
        yield SeedRecord(
            file=name, key=key, event=_convert(raw, where), reference=record.get("reference")
        )


@cache
def _load() -> tuple[tuple[str, tuple[SeedRecord, ...]], ...]:
    parts: list[tuple[str, tuple[SeedRecord, ...]]] = []
    for name in ENTITY_FILES:
        parts.append((name, tuple(_entity_records(name))))
    seen: set[str] = set()
    for name in EVENT_FILES:
        parts.append((name, tuple(_event_records(name, seen))))
    return tuple(parts)


def load_seed_parts() -> list[tuple[str, list[AnyEvent]]]:
    """The seed, file by file, in append order. Each file is appended in its own batches."""
    return [(name, [record.event for record in records]) for name, records in _load()]


def load_seed_records() -> list[SeedRecord]:
    """Every seed event with its file, key and reference id, in append order."""
    return [record for _, records in _load() for record in records]


def load_seed_events() -> list[AnyEvent]:
    """Every seed event, in append order: a pure parse of the packaged files."""
    return [record.event for record in load_seed_records()]


@cache
def list_definitions() -> tuple[ListDefinition, ...]:
    """The lists of `lists.toml`, seeded or not (for the Consolidated Screening List importer)."""
    return tuple(
        ListDefinition(
            id=record["id"],
            csl_source=record.get("csl_source"),
            seeded=record.get("seed", True) is not False,
            record=record,
        )
        for record in _read("lists.toml").get("entity", [])
    )


def seed_registrations() -> dict[str, EntityRegistered]:
    """The seed's registration of each entity, by entity id."""
    out: dict[str, EntityRegistered] = {}
    for record in load_seed_records():
        if isinstance(record.event, EntityRegistered):
            out[record.event.entity] = record.event
    return out


def normalized_name(name: str) -> str:
    """A name as compared for matching: NFKC, case-folded, letters and digits only, one space
    between words ("Huawei Technologies Co., Ltd." -> "huawei technologies co ltd")."""
    text = unicodedata.normalize("NFKC", name).casefold()
    words = "".join(ch if ch.isalnum() else " " for ch in text).split()
    return " ".join(words)


@cache
def company_name_index() -> dict[str, str]:
    """Normalised names and aliases of the seed's companies -> entity id (unambiguous ones)."""
    index: dict[str, str] = {}
    clashes: set[str] = set()
    for entity, event in seed_registrations().items():
        if event.kind != "company":
            continue
        for name in (*event.names.values(), *event.aliases):
            key = normalized_name(name)
            if not key:
                continue
            if index.get(key, entity) != entity:
                clashes.add(key)
            index[key] = entity
    for key in clashes:
        del index[key]
    return index


async def seed(store: EventStore, *, batch_size: int = BATCH_SIZE) -> int:
    """Append the seed through `store.append`, file by file in batches; return how many events
    were new. Idempotent: a second call adds 0. Callers seed only an empty log
    (`seed_if_empty`)."""
    new = 0
    for _, events in load_seed_parts():
        for start in range(0, len(events), batch_size):
            appended = await store.append(events[start : start + batch_size])
            new += appended.new
    return new


async def seed_if_empty(store: EventStore) -> int:
    """Seed the log if it has no event yet; return how many events were added (0 otherwise)."""
    head = await store.head()
    if head.position:
        return 0
    return await seed(store)
