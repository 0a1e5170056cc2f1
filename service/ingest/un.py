"""The UN Security Council Consolidated List into the log: `timeline import-un FILE.xml`.

`service.ingest.un_list` reads the XML; this module maps its records to events and appends them,
idempotently (ids are uuid5 of each event's content, as in `import_csl`), and resumably (a run
stopped half-way is finished by running it again). docs/importers.md has the whole mapping; in
short:

- The list itself is registered once as `un-sc-consolidated` (kind `list`), dated by the
  earliest `LISTED_ON` of the first snapshot imported.
- Each record (one `REFERENCE_NUMBER`) is an entity of its own, `un-` and the reference number
  in lower case with its dot as a dash (`QDe.001` -> `un-qde-001`): the UN designates a name under
  a regime, not a company across regimes, and the reference number is the only id the list
  keeps stable. Its `EntityRegistered` (kind `person` for an individual, `other` for an entity:
  the log has no organisation kind) carries the name in `names.en`, the name in the original
  script first among the aliases (the log's `names` are keyed by `en`, `zh-Hans`, `zh-Hant` only,
  and the list's original scripts are Arabic and Cyrillic), the aliases, a country when the
  record has exactly one nationality that FollowTheMoney can name, and `un_reference` and
  `un_dataid` identifiers.
- Its `EntityListed` on `un-sc-consolidated`: `designation` = the reference number, `program` =
  `UN_LIST_TYPE`, `occurred` = `LISTED_ON`, authority `UN Security Council`, `reason` = the
  record's comments without the INTERPOL link boilerplate (None when nothing else is left).
- `LAST_DAY_UPDATED` makes no event by itself: a snapshot carries each record as amended, not
  the amendments, so there is nothing to say about an earlier update. When a later snapshot
  shows a record changed from what the log holds, the change is appended, dated by the record's
  latest `LAST_DAY_UPDATED` (the snapshot's `dateGenerated` when that is not later than what the
  log has): a re-listing under the same designation (the fold keeps its `since` and takes the new
  texts), an `EntityRenamed` for new names or aliases, a new `EntityRegistered` for anything
  else of the registration.
- A designation open in the log that is not in the snapshot is delisted: an `EntityDelisted`
  naming the designation, its programme and its listing event, dated by `dateGenerated`.
- Sources: the list gives none per record, so every event cites the publication itself, marked
  as dataset-level by its title: `UN Security Council Consolidated List (dataset), generated
  YYYY-MM-DD`, with the publication's URL.
"""

from __future__ import annotations

import asyncio
import datetime as _dt
import functools
import itertools
import re
import time
import uuid
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from followthemoney.types import registry

from events import AnyEvent, EventInvalid, PartialDate, RecordedEvent, encode, from_builtins
from events import with_id as _with_id
from events.types import EntityDelisted, EntityListed, EntityRegistered, EntityRenamed
from service.errors import DomainError
from service.eventlog.store import EventStore
from service.ingest.importers import BATCH_SIZE, ImportFailed, ImportReport, Progress, content_id
from service.ingest.un_list import UnDesignation, UnListRefused, read_un_list

UN_NAMESPACE = uuid.UUID("0c1f6b8e-5d0a-5a7e-9a53-5f0d3b7f2a61")
UN_LIST_ID = "un-sc-consolidated"
UN_URL = "https://scsanctions.un.org/resources/xml/en/consolidated.xml"
UN_AUTHORITY = "UN Security Council"
UN_LIST_NAME = "UN Security Council Consolidated List"

_NOT_IN_ID = re.compile(r"[^a-z0-9]+")
# The notice link with no white space before it: a pattern that starts with `\s*` is tried at
# every character of every comment; the white space before the link is taken off by hand.
_INTERPOL = re.compile(r"INTERPOL-UN Security Council Special Notice web link:\s*\S*", re.I)
_PAGE = 10_000
_STEP = 128  # events built between two turns of the event loop, during an import
_LIST_TYPES = ("EntityRegistered", "EntityRenamed", "EntityListed", "EntityDelisted")


def un_entity_id(reference_number: str) -> str:
    """The entity id of a UN designation: `QDe.001` -> `un-qde-001`."""
    slug = _NOT_IN_ID.sub("-", reference_number.lower()).strip("-")
    return f"un-{slug}"[:64]


def dataset_source(generated: _dt.date) -> dict[str, str]:
    """The publication itself as a source, for records that name none (all of the UN's)."""
    return {
        "url": UN_URL,
        "publisher": UN_AUTHORITY,
        "title": f"{UN_LIST_NAME} (dataset), generated {generated.isoformat()}",
    }


def reason_of(comments: str | None) -> str | None:
    """The record's comments as a reason, without the INTERPOL notice link every individual's
    comments end with (it says nothing about the designation); None when nothing is left."""
    if not comments:
        return None
    text = _without_interpol_links(comments).strip()
    return text[:20_000] or None


def _without_interpol_links(text: str) -> str:
    """Each INTERPOL notice link, and the white space before it, replaced by one space."""
    pieces: list[str] = []
    end = 0
    for link in _INTERPOL.finditer(text):
        start = link.start()
        while start > end and text[start - 1].isspace():
            start -= 1
        pieces += (text[end:start], " ")
        end = link.end()
    if not pieces:
        return text
    pieces.append(text[end:])
    return "".join(pieces)


@functools.lru_cache(maxsize=1024)
def _country_code(name: str) -> str | None:
    return registry.country.clean(name)


def _country(nationalities: Sequence[str]) -> str | None:
    if len(nationalities) != 1:
        return None
    code = _country_code(nationalities[0])
    return code.upper() if code and len(code) == 2 else None


def _names(d: UnDesignation) -> tuple[dict[str, str], list[str]]:
    name = d.name[:500]
    aliases: list[str] = []
    seen = {name.casefold()}
    candidates = ([d.name_original_script] if d.name_original_script else []) + [
        a.name for a in d.aliases
    ]
    for alias in candidates:
        alias = alias[:500]
        if alias.casefold() not in seen:
            seen.add(alias.casefold())
            aliases.append(alias)
    return {"en": name}, aliases[:200]


def registration_raw(d: UnDesignation, occurred: str, source: dict[str, str]) -> dict[str, Any]:
    names, aliases = _names(d)
    raw: dict[str, Any] = {
        "type": "EntityRegistered",
        "entity": un_entity_id(d.reference_number),
        "occurred": occurred,
        "sources": [source],
        "kind": "person" if d.kind == "person" else "other",
        "names": names,
        "aliases": aliases,
        "identifiers": {"un_reference": d.reference_number, "un_dataid": str(d.dataid)},
    }
    country = _country(d.nationalities)
    if country is not None:
        raw["country"] = country
    return raw


def listing_raw(d: UnDesignation, occurred: str, source: dict[str, str]) -> dict[str, Any]:
    raw: dict[str, Any] = {
        "type": "EntityListed",
        "entity": un_entity_id(d.reference_number),
        "occurred": occurred,
        "sources": [source],
        "list": UN_LIST_ID,
        "authority": UN_AUTHORITY,
        "designation": d.reference_number,
        "program": d.list_type[:500],
    }
    reason = reason_of(d.comments)
    if reason is not None:
        raw["reason"] = reason
    return raw


def list_registration_raw(occurred: str, source: dict[str, str]) -> dict[str, Any]:
    return {
        "type": "EntityRegistered",
        "entity": UN_LIST_ID,
        "occurred": occurred,
        "sources": [source],
        "kind": "list",
        "names": {"en": UN_LIST_NAME},
        "aliases": ["UN Consolidated List", "UNSC Consolidated List"],
        "identifiers": {"url": UN_URL},
    }


def _listing_fields(e: EntityListed) -> tuple[Any, ...]:
    return (e.program, e.authority, e.reason, e.measures)


def _registration_fields(e: EntityRegistered) -> tuple[Any, ...]:
    return (e.kind, e.country, tuple(sorted(e.identifiers.items())))


@dataclass(slots=True)
class OpenDesignation:
    """A UN designation open in the log: its entity and the listing event that stands for it."""

    entity: str
    listing: EntityListed


@dataclass(slots=True)
class UnLogState:
    """What the log already holds of the UN list: the open designations by reference number,
    the last delisting date of each closed one, and each UN entity's registration and names."""

    list_registered: bool = False
    open: dict[str, OpenDesignation] = field(default_factory=dict)
    closed: dict[str, PartialDate] = field(default_factory=dict)
    registrations: dict[str, EntityRegistered] = field(default_factory=dict)
    names: dict[str, tuple[dict[str, str], tuple[str, ...]]] = field(default_factory=dict)

    def evolve(self, event: AnyEvent) -> None:
        """Take one event of the log, in position order."""
        if isinstance(event, EntityRegistered):
            if event.entity == UN_LIST_ID:
                self.list_registered = True
            elif event.entity.startswith("un-"):
                self.registrations[event.entity] = event
                self.names[event.entity] = (dict(event.names), event.aliases)
        elif isinstance(event, EntityRenamed) and event.entity.startswith("un-"):
            self.names[event.entity] = (dict(event.names), event.aliases)
        elif isinstance(event, EntityListed) and event.list == UN_LIST_ID and event.designation:
            self.open[event.designation] = OpenDesignation(event.entity, event)
            self.closed.pop(event.designation, None)
        elif isinstance(event, EntityDelisted) and event.list == UN_LIST_ID:
            ended = [
                ref
                for ref, d in self.open.items()
                if d.entity == event.entity
                and (event.designation is None or event.designation == ref)
                and (event.program is None or event.program == d.listing.program)
                and (event.listing is None or event.listing == d.listing.id)
            ]
            for ref in ended:
                del self.open[ref]
                self.closed[ref] = event.occurred

    @classmethod
    def of(cls, events: Iterable[AnyEvent]) -> UnLogState:
        state = cls()
        for event in events:
            state.evolve(event)
        return state


def _event(raw: dict[str, Any], record: str) -> AnyEvent:
    try:
        event = from_builtins(raw)
    except EventInvalid as exc:
        raise ImportFailed(None, f"{record}: {exc.field}", exc.detail) from None
    return _with_id(event, content_id(event, UN_NAMESPACE))


def _amended_on(d: UnDesignation, after: PartialDate, generated: _dt.date) -> str:
    """The day a change seen in this snapshot is dated by: the record's latest amendment, or
    the snapshot's date when the amendment is not later than what the log holds."""
    latest = max(d.last_day_updated, default=None)
    if latest is not None and latest > after:
        return str(latest)
    return generated.isoformat()


def snapshot_events(
    designations: Iterable[UnDesignation],
    generated_at: _dt.datetime,
    state: UnLogState | None = None,
) -> list[tuple[AnyEvent, str]]:
    """The events that bring the log from `state` (empty: a log without the UN list) to this
    snapshot, each with the record it comes from. Pure: the same snapshot and state give the
    same events with the same ids."""
    return list(iter_snapshot_events(list(designations), generated_at, state))


def iter_snapshot_events(
    designations: Sequence[UnDesignation],
    generated_at: _dt.datetime,
    state: UnLogState | None = None,
) -> Iterator[tuple[AnyEvent, str]]:
    """`snapshot_events`, made as they are taken (an import appends the first batches while
    it builds the next ones). A reference number given twice is refused before the first
    event: a snapshot that is not a list of distinct designations adds nothing."""
    state = state or UnLogState()
    generated = generated_at.date()
    today = PartialDate(generated.isoformat())
    source = dataset_source(generated)
    seen: set[str] = set()
    earliest: PartialDate | None = None
    for d in designations:
        ref = d.reference_number
        if ref in seen:
            raise ImportFailed(None, f"{ref}: REFERENCE_NUMBER", "appears twice in the snapshot")
        seen.add(ref)
        earliest = d.listed_on if earliest is None or d.listed_on < earliest else earliest
    if not state.list_registered and earliest is not None:
        yield _event(list_registration_raw(str(earliest), source), "the list"), "list"
    for d in designations:
        ref = d.reference_number
        entity = un_entity_id(ref)
        held = state.open.get(ref)
        if held is None:
            delisted = state.closed.get(ref)
            occurred = (
                str(d.listed_on) if delisted is None or d.listed_on > delisted else str(today)
            )
            registration = _event(registration_raw(d, occurred, source), ref)
            known = state.registrations.get(entity)
            if known is None or _registration_fields(known) != _registration_fields(
                registration  # type: ignore[arg-type]
            ):
                yield registration, ref
            yield _event(listing_raw(d, occurred, source), ref), ref
            continue
        amended = _amended_on(d, held.listing.occurred, generated)
        wanted = _event(registration_raw(d, amended, source), ref)
        assert isinstance(wanted, EntityRegistered)
        known = state.registrations.get(entity)
        if known is None or _registration_fields(known) != _registration_fields(wanted):
            yield wanted, ref
        elif state.names.get(entity) != (dict(wanted.names), wanted.aliases):
            raw = {
                "type": "EntityRenamed",
                "entity": entity,
                "occurred": amended,
                "sources": [source],
                "names": dict(wanted.names),
                "aliases": list(wanted.aliases),
            }
            yield _event(raw, ref), ref
        relisting = _event(listing_raw(d, amended, source), ref)
        assert isinstance(relisting, EntityListed)
        if _listing_fields(relisting) != _listing_fields(held.listing):
            yield relisting, ref
    for ref, held in state.open.items():
        if ref in seen or held.listing.occurred > today:
            continue
        raw = {
            "type": "EntityDelisted",
            "entity": held.entity,
            "occurred": str(today),
            "sources": [source],
            "list": UN_LIST_ID,
            "designation": ref,
            "program": held.listing.program,
        }
        if held.listing.id is not None:
            raw["listing"] = str(held.listing.id)
        yield _event(raw, ref), ref


def _refused(exc: UnListRefused) -> ImportFailed:
    return ImportFailed(None, f"{exc.record}: {exc.field}", exc.detail)


def read_snapshot(path: str | Path) -> tuple[_dt.datetime, list[UnDesignation]]:
    """The snapshot's `dateGenerated` and its records; `ImportFailed` naming the record."""
    try:
        with read_un_list(path) as snapshot:
            return snapshot.generated_at, list(snapshot)
    except UnListRefused as exc:
        raise _refused(exc) from None


def snapshot_ndjson(path: str | Path) -> Iterator[bytes]:
    """The events of a snapshot for a log without the UN list, one JSON line each (what
    `timeline import-un --ndjson` prints, and `POST /v1/events` takes in batches)."""
    generated_at, designations = read_snapshot(path)
    for event, _ in snapshot_events(designations, generated_at):
        yield encode(event) + b"\n"


async def log_state(store: EventStore) -> UnLogState:
    """What the log holds of the UN list: registrations, renames, listings and delistings,
    read in pages in position order."""
    state = UnLogState()
    after = 0
    while True:
        page: list[RecordedEvent] = await store.read_after(after, _PAGE, types=_LIST_TYPES)
        for recorded in page:
            state.evolve(recorded.event)
        if len(page) < _PAGE:
            return state
        after = page[-1].position


async def _append(
    store: EventStore, chunk: Sequence[tuple[AnyEvent, str]], report: ImportReport
) -> None:
    try:
        appended = await store.append([event for event, _ in chunk])
    except DomainError as exc:
        index = exc.extra.get("index")
        record = chunk[index][1] if isinstance(index, int) and 0 <= index < len(chunk) else "?"
        raise ImportFailed(
            None, f"{record}: {exc.field or '$'}", exc.detail, appended=report.new
        ) from None
    report.events += len(chunk)
    report.new += appended.new


async def import_un(
    store: EventStore,
    path: str | Path,
    *,
    progress: Progress | None = None,
    batch_size: int = BATCH_SIZE,
) -> ImportReport:
    """Import a UN Security Council Consolidated List snapshot (see the module's docstring).

    The whole file is read first (a file that cannot be read adds nothing); then events are
    built batch by batch, each batch built while the one before it commits, and sent once that
    one has succeeded. `progress(events_appended, None)` is called after each batch (the total
    is known at the end). `report.read` is the number of records; `report.new` how many events
    the log did not have.
    """
    if batch_size < 1:
        raise ValueError("batch_size must be at least 1")
    started = time.perf_counter()
    generated_at, designations = await asyncio.to_thread(read_snapshot, path)
    state = await log_state(store)
    planned = iter_snapshot_events(designations, generated_at, state)
    report = ImportReport(read=len(designations), entities=len(designations), lists=1)
    pending: asyncio.Task[None] | None = None

    async def settle() -> None:
        nonlocal pending
        if pending is not None:
            task, pending = pending, None
            await task
            if progress is not None:
                progress(report.events, None)

    try:
        while True:
            batch: list[tuple[AnyEvent, str]] = []
            while len(batch) < batch_size:
                step = list(itertools.islice(planned, min(_STEP, batch_size - len(batch))))
                batch.extend(step)
                if len(step) < _STEP:
                    break
                await asyncio.sleep(0)  # let the batch in flight make progress
            if not batch:
                break
            await settle()
            pending = asyncio.create_task(_append(store, batch, report))
        await settle()
    except BaseException:
        if pending is not None:  # an earlier batch's failure is the one to report
            task, pending = pending, None
            await task
        raise
    if progress is not None:
        progress(report.events, report.events)
    report.seconds = time.perf_counter() - started
    return report


def delistings(planned: Iterable[tuple[AnyEvent, str]]) -> list[str]:
    """The reference numbers a plan delists (for summaries and tests)."""
    return [ref for event, ref in planned if isinstance(event, EntityDelisted)]
