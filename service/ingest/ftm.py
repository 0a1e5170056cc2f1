"""FollowTheMoney (FtM) entities in and out of the log: `timeline import-ftm FILE.ndjson` and
`timeline export-ftm`.

FtM is the entity model of Aleph, OpenSanctions and yente; its NDJSON has one entity a line
(`{"id", "schema", "properties": {prop: [values]}}`). Lines are read with the followthemoney
library itself (`model.get_proxy`), so a line the library refuses is refused here, naming it.
docs/importers.md has the whole mapping; in short:

- `Person`, `Company`, `Organization`, `LegalEntity` (and their sub-schemata) -> one
  `EntityRegistered` each. The log's id is `ftm-` and the FtM id as a slug; the FtM id is kept as
  the `ftm` identifier (the export gives it back). FtM entity JSON says nothing of the language
  of a name, so the first `name` is `names.en` and the others, with `alias` and `weakAlias`,
  are aliases. `previousName` values are kept among the aliases as well: FtM gives no date for a
  change of name, and an `EntityRenamed` with an invented date would tell a history the data
  does not.
- `Sanction` -> an `EntityListed` on the list of its `authority` (else its `publisher`, else
  the line's first dataset): list id `ftm-list-` and that as a slug, registered once as a list.
  `program` = `programId` (else `program`), `designation` = `authorityId` (else `unscId`, else
  the Sanction's FtM id), `occurred` = `listingDate` (else `startDate`, else `date`) at the
  precision given; `reason`, `provisions` -> `reason`, `measures`. An `endDate` adds an
  `EntityDelisted` naming the designation, its programme and the listing event.
- `Ownership` -> `OwnershipChanged` (subject: the `asset`; `owner`; `percentage` as `share`)
  on `startDate`, and another with `ended` on `endDate`.
- Other schemata are counted as skipped. A registration is dated by the entity's earliest
  sanction or ownership date, else its `incorporationDate`, else its `first_seen`.
- Sources: each entity's `sourceUrl`, else the `source_url` given to the import; a line with
  neither is refused.

Event ids are uuid5 of each event's content, so importing a file again adds nothing.

The export folds the log into FtM entities as it stands now: each registered company, person or
other entity (its latest names, its former names as `previousName`, aliases, country,
identifiers), each designation as a `Sanction` (an ended one with its `endDate`), and each
holding as an `Ownership`.
"""

from __future__ import annotations

import hashlib
import re
import time
import uuid
from collections.abc import AsyncIterator, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import msgspec
from followthemoney import model
from followthemoney.exc import InvalidData
from followthemoney.proxy import EntityProxy
from followthemoney.types import registry

from events import AnyEvent, EventInvalid, PartialDate, from_builtins, with_id
from events.types import (
    EntityDelisted,
    EntityListed,
    EntityRegistered,
    EntityRenamed,
    EventRetracted,
    OwnershipChanged,
)
from service.eventlog.store import EventStore
from service.ingest.importers import (
    BATCH_SIZE,
    ImportFailed,
    ImportReport,
    Progress,
    append_batch,
    content_id,
)

FTM_NAMESPACE = uuid.UUID("8e0c4c1a-3f5b-5b8e-8f0e-2a6f4d9c7b13")
LEGAL_ENTITY_KINDS = {"Person": "person", "Company": "company", "PublicBody": "government"}
SCHEMA_OF_KIND = {
    "person": "Person",
    "company": "Company",
    "government": "PublicBody",
    "other": "LegalEntity",
}
_NOT_IN_ID = re.compile(r"[^a-z0-9]+")
_DATE = re.compile(r"^[0-9]{4}(-[0-9]{2}(-[0-9]{2})?)?")
_IDENTIFIERS = ("registrationNumber", "leiCode", "innCode", "ogrnCode", "taxNumber", "imoNumber")
_PAGE = 10_000


def _slug(text: str, prefix: str) -> str:
    """`prefix` and `text` as an entity id; a hash keeps a long one unique within 64."""
    slug = _NOT_IN_ID.sub("-", text.lower()).strip("-") or "x"
    whole = f"{prefix}{slug}"
    if len(whole) <= 64:
        return whole
    digest = hashlib.sha1(text.encode("utf-8")).hexdigest()[:10]  # noqa: S324 - an id
    return f"{whole[: 64 - 11].rstrip('-')}-{digest}"


def log_entity_id(ftm_id: str) -> str:
    """The log's id of an FtM entity: `NK-abc.1` -> `ftm-nk-abc-1`."""
    return _slug(ftm_id, "ftm-")


def list_id_of(authority: str) -> str:
    return _slug(authority, "ftm-list-")


def _date(value: str | None) -> str | None:
    """An FtM date (`2020`, `2020-03`, `2020-03-04`, `2020-03-04T10:00:00`) at its precision."""
    match = _DATE.match(value or "")
    if match is None:
        return None
    try:
        return str(PartialDate(match[0]))
    except (ValueError, TypeError):
        return None


def _first(proxy: EntityProxy, *props: str) -> str | None:
    for prop in props:
        if prop in proxy.schema.properties:
            for value in proxy.get(prop):
                if value and value.strip():
                    return value.strip()
    return None


def _earliest(dates: Iterable[str | None]) -> str | None:
    found = [PartialDate(d) for d in dates if d]
    return str(min(found)) if found else None


@dataclass(slots=True)
class FtmLine:
    number: int
    proxy: EntityProxy
    datasets: list[str]
    first_seen: str | None


def read_ftm(lines: Iterable[bytes | str]) -> Iterator[FtmLine]:
    """Each non-blank line as an FtM entity through the library; `ImportFailed` naming the line."""
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            data = msgspec.json.decode(line)
        except msgspec.DecodeError as exc:
            raise ImportFailed(number, "$", f"malformed JSON: {exc}") from None
        if not isinstance(data, dict):
            raise ImportFailed(number, "$", "an FtM entity is a JSON object")
        if not isinstance(data.get("schema"), str) or model.get(data["schema"]) is None:
            raise ImportFailed(
                number, "schema", f"not a FollowTheMoney schema: {data.get('schema')!r}"
            )
        if not data.get("id") or not isinstance(data["id"], str):
            raise ImportFailed(number, "id", "an FtM entity needs an id")
        try:
            proxy = model.get_proxy(data, cleaned=False)
        except InvalidData as exc:
            raise ImportFailed(number, "properties", str(exc)) from None
        datasets = [d for d in data.get("datasets") or [] if isinstance(d, str)]
        seen = data.get("first_seen")
        yield FtmLine(number, proxy, datasets, seen if isinstance(seen, str) else None)


def _event(raw: dict[str, Any], line: int) -> AnyEvent:
    try:
        event = from_builtins(raw)
    except EventInvalid as exc:
        raise ImportFailed(line, exc.field, exc.detail) from None
    return with_id(event, content_id(event, FTM_NAMESPACE))


def _share(value: str | None, line: int) -> float | None:
    if value is None:
        return None
    try:
        share = float(value.strip().rstrip("%"))
    except ValueError:
        raise ImportFailed(line, "percentage", f"not a number: {value!r}") from None
    if not 0 <= share <= 100:
        raise ImportFailed(line, "percentage", f"not between 0 and 100: {value!r}")
    return share


@dataclass(slots=True)
class FtmPlan:
    """The events of a file, each with its line, in the order they are appended."""

    events: list[tuple[AnyEvent, int]] = field(default_factory=list)
    skipped: dict[str, int] = field(default_factory=dict)
    read: int = 0
    entities: int = 0
    lists: int = 0


def plan_ftm(lines: Iterable[bytes | str], *, source_url: str | None = None) -> FtmPlan:
    """The events an FtM file gives (pure: the same file gives the same events, same ids)."""
    plan = FtmPlan()
    parties: dict[str, FtmLine] = {}
    sanctions: list[FtmLine] = []
    ownerships: list[FtmLine] = []
    for item in read_ftm(lines):
        plan.read += 1
        schema = item.proxy.schema
        if schema.is_a("Sanction"):
            sanctions.append(item)
        elif schema.is_a("Ownership"):
            ownerships.append(item)
        elif schema.is_a("LegalEntity"):
            if item.proxy.id in parties:
                raise ImportFailed(item.number, "id", f"{item.proxy.id} appears twice")
            parties[item.proxy.id] = item
        else:
            plan.skipped[f"{schema.name} entities"] = (
                plan.skipped.get(f"{schema.name} entities", 0) + 1
            )

    def party(ftm_id: str | None, line: int, prop: str) -> FtmLine:
        if not ftm_id or ftm_id not in parties:
            raise ImportFailed(line, prop, f"names {ftm_id!r}, not an entity of this file")
        return parties[ftm_id]

    def sources(*items: FtmLine) -> list[dict[str, str]]:
        for item in items:
            urls = [u for u in item.proxy.get("sourceUrl") if u.startswith(("http://", "https://"))]
            if urls:
                return [{"url": u[:2048]} for u in urls[:50]]
        if source_url:
            return [{"url": source_url}]
        raise ImportFailed(items[0].number, "sourceUrl", "no source URL (give one to the import)")

    dates: dict[str, list[str | None]] = {key: [] for key in parties}
    lists: dict[str, tuple[str, list[str | None], int, list[dict[str, str]]]] = {}
    listings: list[tuple[dict[str, Any], int, dict[str, Any] | None]] = []
    for item in sanctions:
        p = item.proxy
        subject = party(_first(p, "entity"), item.number, "entity")
        authority = _first(p, "authority", "publisher") or (item.datasets[:1] or [None])[0]
        if authority is None:
            raise ImportFailed(item.number, "authority", "no authority, publisher or dataset")
        listed_on = _date(_first(p, "listingDate", "startDate", "date"))
        if listed_on is None:
            raise ImportFailed(item.number, "listingDate", "no listingDate, startDate or date")
        list_id = list_id_of(authority)
        cited = sources(item, subject)
        known = lists.setdefault(list_id, (authority[:500], [], item.number, cited))
        known[1].append(listed_on)
        dates[subject.proxy.id].append(listed_on)
        raw: dict[str, Any] = {
            "type": "EntityListed",
            "entity": log_entity_id(subject.proxy.id),
            "occurred": listed_on,
            "sources": cited,
            "list": list_id,
            "authority": authority[:500],
            "designation": (_first(p, "authorityId", "unscId") or p.id)[:500],
        }
        program = _first(p, "programId", "program")
        if program:
            raw["program"] = program[:500]
        reason = _first(p, "reason")
        if reason:
            raw["reason"] = reason[:20_000]
        measures = [m.strip()[:500] for m in p.get("provisions") if m.strip()]
        if measures:
            raw["measures"] = measures[:50]
        ended = _date(_first(p, "endDate"))
        delisted = None
        if ended is not None:
            delisted = {
                "type": "EntityDelisted",
                "entity": raw["entity"],
                "occurred": ended,
                "sources": raw["sources"],
                "list": list_id,
                "designation": raw["designation"],
            }
            if program:
                delisted["program"] = raw["program"]
        listings.append((raw, item.number, delisted))

    holdings: list[tuple[dict[str, Any], int]] = []
    for item in ownerships:
        p = item.proxy
        owner = party(_first(p, "owner"), item.number, "owner")
        asset = party(_first(p, "asset"), item.number, "asset")
        began = _date(_first(p, "startDate", "date"))
        if began is None:
            raise ImportFailed(item.number, "startDate", "an ownership needs a startDate or date")
        dates[asset.proxy.id].append(began)
        dates[owner.proxy.id].append(began)
        raw = {
            "type": "OwnershipChanged",
            "entity": log_entity_id(asset.proxy.id),
            "occurred": began,
            "sources": sources(item, asset),
            "owner": log_entity_id(owner.proxy.id),
        }
        share = _share(_first(p, "percentage"), item.number)
        if share is not None:
            raw["share"] = share
        holdings.append((raw, item.number))
        ended = _date(_first(p, "endDate"))
        if ended is not None:
            holdings.append(
                (
                    {
                        **{k: v for k, v in raw.items() if k != "share"},
                        "occurred": ended,
                        "ended": True,
                    },
                    item.number,
                )
            )

    for list_id, (authority, listed, number, cited) in lists.items():
        raw = {
            "type": "EntityRegistered",
            "entity": list_id,
            "occurred": _earliest(listed),
            "sources": cited,
            "kind": "list",
            "names": {"en": authority},
        }
        plan.events.append((_event(raw, number), number))
    for ftm_id, item in parties.items():
        plan.events.append(
            (_event(_registration(item, dates[ftm_id], sources(item)), item.number), item.number)
        )
    for raw, number, delisted in listings:
        listed = _event(raw, number)
        plan.events.append((listed, number))
        if delisted is not None:
            delisted["listing"] = str(listed.id)
            plan.events.append((_event(delisted, number), number))
    for raw, number in holdings:
        plan.events.append((_event(raw, number), number))
    plan.entities = len(parties)
    plan.lists = len(lists)
    return plan


def _registration(
    item: FtmLine, dates: list[str | None], sources: list[dict[str, str]]
) -> dict[str, Any]:
    p = item.proxy
    occurred = _earliest(dates) or _date(_first(p, "incorporationDate")) or _date(item.first_seen)
    if occurred is None:
        raise ImportFailed(
            item.number,
            "incorporationDate",
            "no date: no sanction, ownership, incorporationDate or first_seen",
        )
    names = [n.strip()[:500] for n in p.get("name") if n.strip()]
    if not names:
        raise ImportFailed(item.number, "name", "an entity needs a name")
    aliases: list[str] = []
    seen = {names[0].casefold()}
    others = [*names[1:], *p.get("alias"), *p.get("weakAlias"), *p.get("previousName")]
    for alias in others:
        alias = alias.strip()[:500]
        if alias and alias.casefold() not in seen:
            seen.add(alias.casefold())
            aliases.append(alias)
    kind = next((k for schema, k in LEGAL_ENTITY_KINDS.items() if p.schema.is_a(schema)), "other")
    raw: dict[str, Any] = {
        "type": "EntityRegistered",
        "entity": log_entity_id(p.id),
        "occurred": occurred,
        "sources": sources,
        "kind": kind,
        "names": {"en": names[0]},
        "aliases": aliases[:200],
        "identifiers": {"ftm": p.id[:500]},
    }
    countries = {c.upper() for c in p.get_type_values(registry.country) if len(c) == 2}
    if len(countries) == 1:
        raw["country"] = next(iter(countries))
    for prop in _IDENTIFIERS:
        value = _first(p, prop)
        if value:
            raw["identifiers"][prop] = value[:500]
    return raw


async def import_ftm(
    store: EventStore,
    path: str | Path,
    *,
    source_url: str | None = None,
    progress: Progress | None = None,
    batch_size: int = BATCH_SIZE,
) -> ImportReport:
    """Import an FtM NDJSON file (see the module's docstring). Idempotent."""
    started = time.perf_counter()
    with open(path, "rb") as lines:  # noqa: ASYNC230 - read whole before any append
        plan = plan_ftm(lines, source_url=source_url)
    report = ImportReport(read=plan.read, entities=plan.entities, lists=plan.lists)
    report.skipped = plan.skipped
    for start in range(0, len(plan.events), batch_size):
        chunk = plan.events[start : start + batch_size]
        await append_batch(store, [e for e, _ in chunk], [n for _, n in chunk], report)
        if progress is not None:
            progress(report.events, len(plan.events))
    report.seconds = time.perf_counter() - started
    return report


# --- export ---------------------------------------------------------------------------------


@dataclass(slots=True)
class _Designation:
    entity: str
    list: str
    listing: EntityListed
    since: PartialDate
    ended: PartialDate | None = None


@dataclass(slots=True)
class _Holding:
    since: PartialDate
    share: float | None
    ended: PartialDate | None = None


@dataclass(slots=True)
class FtmExportState:
    """The log as FtM needs it, now: registrations and names, designations, holdings."""

    registrations: dict[str, EntityRegistered] = field(default_factory=dict)
    names: dict[str, tuple[dict[str, str], tuple[str, ...]]] = field(default_factory=dict)
    former: dict[str, list[str]] = field(default_factory=dict)
    designations: dict[tuple[str, str, str | None, str | None], _Designation] = field(
        default_factory=dict
    )
    holdings: dict[tuple[str, str], _Holding] = field(default_factory=dict)

    def evolve(self, event: AnyEvent) -> None:
        if isinstance(event, EntityRegistered):
            self.registrations[event.entity] = event
            self.names[event.entity] = (dict(event.names), event.aliases)
        elif isinstance(event, EntityRenamed):
            before = self.names.get(event.entity)
            if before is not None:
                self.former.setdefault(event.entity, []).extend(before[0].values())
            self.names[event.entity] = (dict(event.names), event.aliases)
        elif isinstance(event, EntityListed):
            key = (event.entity, event.list, event.program, event.designation)
            held = self.designations.get(key)
            since = held.since if held is not None and held.ended is None else event.occurred
            self.designations[key] = _Designation(event.entity, event.list, event, since)
        elif isinstance(event, EntityDelisted):
            for (entity, list_, program, designation), held in self.designations.items():
                if (
                    entity == event.entity
                    and list_ == event.list
                    and held.ended is None
                    and (event.designation is None or event.designation == designation)
                    and (event.program is None or event.program == program)
                    and (event.listing is None or event.listing == held.listing.id)
                ):
                    held.ended = event.occurred
        elif isinstance(event, OwnershipChanged):
            key = (event.owner, event.entity)
            held = self.holdings.get(key)
            if event.ended:
                if held is not None and held.ended is None:
                    held.ended = event.occurred
            elif held is None or held.ended is not None:
                self.holdings[key] = _Holding(event.occurred, event.share)
            else:
                held.share = event.share

    def ftm_id(self, entity: str) -> str:
        registration = self.registrations.get(entity)
        if registration is not None and registration.identifiers.get("ftm"):
            return registration.identifiers["ftm"]
        return f"tl-{entity}"

    def entities(self) -> Iterator[dict[str, Any]]:
        """Every FtM entity of the state, as `EntityProxy.to_dict()`."""
        for entity, registration in self.registrations.items():
            schema = SCHEMA_OF_KIND.get(registration.kind)
            if schema is None:  # lists and rules are not parties
                continue
            proxy = model.make_entity(schema)
            proxy.id = self.ftm_id(entity)
            names, aliases = self.names[entity]
            proxy.add("name", list(names.values()))
            proxy.add("alias", list(aliases))
            proxy.add("previousName", self.former.get(entity, []))
            if registration.country:
                proxy.add("country", registration.country.lower())
            for prop in _IDENTIFIERS:
                if registration.identifiers.get(prop):
                    proxy.add(prop, registration.identifiers[prop])
            proxy.add("sourceUrl", [s.url for s in registration.sources])
            yield proxy.to_dict()
        for (entity, list_, program, designation), held in self.designations.items():
            if SCHEMA_OF_KIND.get(getattr(self.registrations.get(entity), "kind", "")) is None:
                continue
            listing = held.listing
            proxy = model.make_entity("Sanction")
            proxy.make_id("timeline-sanction", entity, list_, program or "", designation or "")
            proxy.add("entity", self.ftm_id(entity))
            proxy.add("authority", listing.authority)
            if program:
                proxy.add("programId", program)
            if designation:
                proxy.add("authorityId", designation)
            proxy.add("listingDate", str(held.since))
            proxy.add("startDate", str(held.since))
            if held.ended is not None:
                proxy.add("endDate", str(held.ended))
            if listing.reason:
                proxy.add("reason", listing.reason)
            proxy.add("provisions", list(listing.measures))
            proxy.add("sourceUrl", [s.url for s in listing.sources])
            yield proxy.to_dict()
        for (owner, asset), held in self.holdings.items():
            proxy = model.make_entity("Ownership")
            proxy.make_id("timeline-ownership", owner, asset)
            proxy.add("owner", self.ftm_id(owner))
            proxy.add("asset", self.ftm_id(asset))
            proxy.add("startDate", str(held.since))
            if held.share is not None:
                proxy.add("percentage", f"{held.share:g}")
            if held.ended is not None:
                proxy.add("endDate", str(held.ended))
            yield proxy.to_dict()


_EXPORT_TYPES = (
    "EntityRegistered",
    "EntityRenamed",
    "EntityListed",
    "EntityDelisted",
    "OwnershipChanged",
)


async def export_state(store: EventStore) -> FtmExportState:
    """The log's state for the export: events superseded or retracted by a later one are left
    out (as the fold leaves them out), the rest taken in world order (by `occurred`, then
    position), as the fold takes them."""
    events: list[tuple[int, AnyEvent]] = []
    superseded: set[uuid.UUID] = set()
    after = 0
    while True:
        page = await store.read_after(after, _PAGE, types=(*_EXPORT_TYPES, "EventRetracted"))
        for recorded in page:
            superseded.update(recorded.event.supersedes)
            if not isinstance(recorded.event, EventRetracted):
                events.append((recorded.position, recorded.event))
        if len(page) < _PAGE:
            break
        after = page[-1].position
    state = FtmExportState()
    kept = [(e.occurred, position, e) for position, e in events if e.id not in superseded]
    for _, _, event in sorted(kept, key=lambda item: (item[0], item[1])):
        state.evolve(event)
    return state


async def export_ftm(store: EventStore) -> AsyncIterator[bytes]:
    """The log, now, as FtM NDJSON lines."""
    state = await export_state(store)
    for entity in state.entities():
        yield msgspec.json.encode(entity) + b"\n"
