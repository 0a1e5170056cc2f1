"""Timelines: one entity's events, or several entities' on one timeline; TimelineJS3 JSON.

The events shown are those that count as the log knew it at `known_at` (corrections applied:
a superseded or retracted event is not shown; its corrector lists it in `corrects`), in world
order. Headlines are the event's own in the asked language, or written from its type and
fields (`projections.present.headlines`), with entity names as registered at `known_at`.
Caching follows the state resources (service/http/answers.py).
"""

from __future__ import annotations

import datetime as _dt
import html
import re
from typing import Annotated, Literal

import msgspec
from litestar import Controller, Request, Response, get
from litestar.di import NamedDependency
from litestar.params import Parameter, QueryParameter

from events import EVENT_TYPES, EntityRegistered, RuleIssued, Source
from events.types import ENTITY_ID_PATTERN, Lang
from projections import Fact, effective, fact_of, relevant
from projections.present.dates import display_date
from projections.present.headlines import headline_at, localized, text_language
from projections.present.story import NameBook, listing_notes
from service.errors import BadRequest, NotFound
from service.eventlog.store import EventStore
from service.http.moment import Moment, parse_day
from service.http.read_request import ReadRequest
from service.http.reads import json_answer, require_registered

MAX_ENTITIES = 50


class TimelineItem(msgspec.Struct, frozen=True, omit_defaults=True):
    id: str
    entity: str
    type: str
    occurred: str
    precision: str
    headline: str
    sources: tuple[Source, ...]
    position: int
    recorded_at: _dt.datetime
    confidence: str = "high"
    text: str | None = None
    text_lang: str | None = None
    """The language of `text` when it is not the asked one (no text in that language)."""
    corrects: tuple[str, ...] = ()
    # `designated_again`, `unmatched_delisting` or `unregistered_list` (projections.present.story)
    note: str | None = None


class TimelineJSDate(msgspec.Struct, frozen=True, omit_defaults=True):
    year: int
    month: int | None = None
    day: int | None = None
    display_date: str | None = None


class TimelineJSText(msgspec.Struct, frozen=True, omit_defaults=True):
    headline: str
    text: str | None = None


class TimelineJSSlide(msgspec.Struct, frozen=True):
    unique_id: str
    start_date: TimelineJSDate
    text: TimelineJSText
    group: str


class TimelineJSTitle(msgspec.Struct, frozen=True):
    text: TimelineJSText


class TimelineJSDocument(msgspec.Struct, frozen=True):
    """Knight Lab TimelineJS3 JSON (format=timelinejs)."""

    title: TimelineJSTitle
    events: list[TimelineJSSlide]


class Timeline(msgspec.Struct, frozen=True):
    entities: tuple[str, ...]
    lang: str
    known_at: _dt.datetime | None
    events: tuple[TimelineItem, ...]


def _names(facts: list[Fact]) -> dict[str, dict[str, str]]:
    """Entity names from the registrations among `facts` (latest in world order wins)."""
    names: dict[str, dict[str, str]] = {}
    for fact in sorted(facts, key=lambda f: (f.event.occurred.start, f.position)):
        if isinstance(fact.event, EntityRegistered):
            names[fact.event.entity] = dict(fact.event.names)
    return names


def _items(
    facts: list[Fact],
    names: dict,
    lang: str,
    registrations: list[Fact] | None = None,
    story: list[Fact] | None = None,
) -> tuple[TimelineItem, ...]:
    """Timeline items of `facts`; `story`: the facts (a superset, world order) that notes and
    names over time are read from (default: `facts`)."""
    story = facts if story is None else story
    notes = listing_notes(story, registrations or ())
    book = NameBook([*(registrations or ()), *story])
    now = {**names, **book.latest()}
    out = []
    for fact in facts:
        event = fact.event
        note = notes.get(fact.event_id)
        out.append(
            TimelineItem(
                id=fact.event_id,
                entity=event.entity,
                type=EVENT_TYPES_BY_CLASS[type(event)],
                occurred=str(event.occurred),
                precision=event.occurred.precision,
                headline=headline_at(event, lang, now, book.told(event), note),
                text=localized(event.text, lang),
                text_lang=text_language(event.text, lang),
                sources=tuple(event.sources),
                position=fact.position,
                recorded_at=fact.recorded_at,
                confidence=getattr(event, "confidence", "high"),
                corrects=tuple(str(s) for s in event.supersedes),
                note=note,
            )
        )
    return tuple(out)


EVENT_TYPES_BY_CLASS = {cls: tag for tag, cls in EVENT_TYPES.items()}


def _overlaps(fact: Fact, start: _dt.date | None, end: _dt.date | None) -> bool:
    occurred = fact.event.occurred
    if start is not None and occurred.end <= start:
        return False
    return not (end is not None and occurred.start > end)


async def _registrations_for(
    store: EventStore,
    facts: list[Fact],
    known_at: _dt.datetime | None,
    also: tuple[str, ...] = (),
) -> list[Fact]:
    wanted = set(also)
    for fact in facts:
        wanted.add(fact.event.entity)
        wanted.update(fact.event.referenced_entities().values())
    registrations = await store.registrations(sorted(wanted), known_at=known_at)
    return [fact_of(r) for r in registrations]


async def _names_for(
    store: EventStore,
    facts: list[Fact],
    known_at: _dt.datetime | None,
    also: tuple[str, ...] = (),
) -> dict:
    return _names(await _registrations_for(store, facts, known_at, also))


async def entity_names(
    store: EventStore, ids: tuple[str, ...], known_at: _dt.datetime | None
) -> dict[str, dict[str, str]]:
    """{entity id: {lang: name}} of `ids` as registered at `known_at` (None: now)."""
    return await _names_for(store, [], known_at, also=ids)


class TimelineQuery(msgspec.Struct, frozen=True):
    """What a multi-entity timeline shows: entities (none: all), a world-date range, types."""

    ids: tuple[str, ...]
    start: _dt.date | None
    end: _dt.date | None
    types: tuple[str, ...]

    def key(self) -> tuple:
        return (self.ids, self.start, self.end, self.types)


def parse_timeline_query(
    entities: str | None, from_: str | None, to: str | None, types: str | None
) -> TimelineQuery:
    """Validate the query of /v1/timeline (and of the embed); BadRequest names the field."""
    ids = tuple(sorted({e for e in (entities or "").split(",") if e}))
    if len(ids) > MAX_ENTITIES:
        raise BadRequest(f"at most {MAX_ENTITIES} entities", field="entities")
    for entity in ids:
        if not ENTITY_ID.fullmatch(entity):
            raise BadRequest(f"{entity!r} is not an entity id", field="entities")
    wanted_types = tuple(sorted({t for t in (types or "").split(",") if t}))
    for name in wanted_types:
        if name not in EVENT_TYPES:
            raise BadRequest(f"unknown event type {name!r}", field="types")
    start = parse_day(from_, "from") if from_ else None
    end = parse_day(to, "to") if to else None
    if start and end and start > end:
        raise BadRequest("must be on or before `to`", field="from")
    return TimelineQuery(ids=ids, start=start, end=end, types=wanted_types)


async def timeline_items(
    store: EventStore, query: TimelineQuery, moment: Moment, lang: str
) -> tuple[tuple[TimelineItem, ...], dict[str, dict[str, str]]]:
    """The events of `query` as the log knew them at `moment`, in world order, with the names
    ({entity id: {lang: name}}) of the asked entities and of every entity they mention."""
    recorded = await store.events_of(
        list(query.ids) or None, known_at=moment.known_at, upto=moment.position
    )
    story = effective([fact_of(r) for r in recorded], moment.known_at)
    facts = [
        f
        for f in story
        if _overlaps(f, query.start, query.end)
        and (not query.types or EVENT_TYPES_BY_CLASS[type(f.event)] in query.types)
    ]
    facts.sort(key=lambda f: (f.event.occurred.start, f.position))
    registrations = await _registrations_for(store, story, moment.known_at, also=query.ids)
    names = _names(registrations)
    return _items(facts, names, lang, registrations, story), names


ENTITY_ID = re.compile(ENTITY_ID_PATTERN)


def _date(occurred: str, display: str) -> TimelineJSDate:
    parts = [int(p) for p in occurred.split("-")]
    return TimelineJSDate(
        year=parts[0],
        month=parts[1] if len(parts) > 1 else None,
        day=parts[2] if len(parts) > 2 else None,
        display_date=display,
    )


def is_uncertain(item: TimelineItem) -> bool:
    """Shown with a (?) marker: a date known only to the month or year, or less than high
    confidence in the sources."""
    return item.precision != "day" or item.confidence != "high"


def timelinejs(
    items: tuple[TimelineItem, ...], names: dict, lang: str, ids: tuple[str, ...]
) -> TimelineJSDocument:
    """Knight Lab TimelineJS3 JSON. TimelineJS renders `text` as HTML: every text from an event
    is escaped here (`group` twice, see below), and only http(s) source URLs become links."""
    title_names = [localized(names.get(e, {}), lang) or e for e in ids]
    title = (
        ", ".join(title_names)
        if title_names
        else {"en": "Timeline", "zh-Hans": "时间线", "zh-Hant": "時間線"}[lang]
    )
    events: list[TimelineJSSlide] = []
    for item in items:
        links = []
        for source in item.sources:
            label = html.escape(source.citation or source.publisher or source.url)
            if source.url.startswith(("https://", "http://")):
                href = html.escape(source.url, quote=True)
                links.append(f'<a href="{href}" rel="noopener noreferrer">{label}</a>')
            else:
                links.append(label)
        body = html.escape(item.text) if item.text else ""
        text = (f"<p>{body}</p>" if body else "") + "<p>" + " · ".join(links) + "</p>"
        display = display_date(item.occurred, item.precision, lang)
        if is_uncertain(item):
            display += " (?)" if lang == "en" else "（?）"
        events.append(
            TimelineJSSlide(
                unique_id=item.id,
                start_date=_date(item.occurred, display),
                text=TimelineJSText(headline=html.escape(item.headline), text=text),
                # TimelineJS "strips markup" from `group` by parsing it as HTML and taking its
                # text (which decodes entities), then sets that text as innerHTML: escaped once,
                # a name would become markup again. Escaped twice, it shows literally.
                group=html.escape(
                    html.escape(localized(names.get(item.entity, {}), lang) or item.entity)
                ),
            )
        )
    return TimelineJSDocument(
        title=TimelineJSTitle(text=TimelineJSText(headline=html.escape(title))), events=events
    )


class TimelineController(Controller):
    path = "/v1"
    tags = ("timelines",)

    @get(
        "/entities/{entity_id:str}/timeline",
        operation_id="getEntityTimeline",
        summary="An entity's events in world order, with headlines and sources",
        responses=json_answer(Timeline),
    )
    async def entity_timeline(
        self,
        request: Request,
        entity_id: Annotated[str, Parameter(pattern=ENTITY_ID_PATTERN)],
        read: NamedDependency[ReadRequest],
        lang: Annotated[Lang, QueryParameter()] = "en",
    ) -> Response[bytes]:
        moment = read.moment
        store = moment.store

        async def render() -> bytes:
            recorded = await store.relevant_events(
                entity_id, known_at=moment.known_at, upto=moment.position
            )
            if not any(r.entity == entity_id and r.type == "EntityRegistered" for r in recorded):
                raise NotFound(f"no entity {entity_id!r} is registered", field="entity_id")
            facts = relevant(entity_id, effective([fact_of(r) for r in recorded], moment.known_at))
            # A rule's issuances that name other companies only are not this entity's story.
            facts = [
                f
                for f in facts
                if not (
                    isinstance(f.event, RuleIssued)
                    and f.event.entity != entity_id
                    and entity_id not in f.event.targets
                )
            ]
            registrations = await _registrations_for(store, facts, moment.known_at)
            names = _names(registrations)
            body = Timeline(
                entities=(entity_id,),
                lang=lang,
                known_at=moment.known_at,
                events=_items(facts, names, lang, registrations),
            )
            return msgspec.json.encode(body)

        return await read.serve(request, ("timeline", entity_id, lang), render)

    @get(
        "/timeline",
        operation_id="getTimeline",
        summary="Several entities on one timeline; format=timelinejs gives Knight Lab TimelineJS3 "
        "JSON",
        responses=json_answer(Timeline | TimelineJSDocument),
    )
    async def timeline(
        self,
        request: Request,
        read: NamedDependency[ReadRequest],
        entities: Annotated[
            str | None, Parameter(description="Comma-separated ids; none: all")
        ] = None,
        from_: Annotated[str | None, QueryParameter(name="from", description="YYYY-MM-DD")] = None,
        to: Annotated[str | None, Parameter(description="YYYY-MM-DD")] = None,
        types: Annotated[str | None, Parameter(description="Comma-separated event types")] = None,
        lang: Annotated[Lang, QueryParameter()] = "en",
        format: Annotated[Literal["json", "timelinejs"], QueryParameter()] = "json",
    ) -> Response[bytes]:
        query = parse_timeline_query(entities, from_, to, types)
        moment = read.moment
        store = moment.store

        async def render() -> bytes:
            await require_registered(store, query.ids, moment.known_at, "entities")
            items, names = await timeline_items(store, query, moment, lang)
            if format == "timelinejs":
                return msgspec.json.encode(timelinejs(items, names, lang, query.ids))
            body = Timeline(entities=query.ids, lang=lang, known_at=moment.known_at, events=items)
            return msgspec.json.encode(body)

        key = ("timeline*", *query.key(), lang, format)
        return await read.serve(request, key, render)
