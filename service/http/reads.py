"""Read resources: entities, state as of (D, K), list members, changes.

Caching (contract section 3): an answer whose `known_at` is in the past is immutable (strong
ETag, `Cache-Control: public, max-age=31536000, immutable`). "In the past" means at or before
the `recorded_at` of the last committed event: appends are serialised and `recorded_at` never
goes backwards, so no later event can be known at such a K. An answer at "now" carries an ETag
tied to the log position, and `If-None-Match` gets a 304 with no database round trip until the
log moves. Rendered answers are kept in a bounded in-process cache keyed the same way, so a
repeated read of a log that has not moved does not touch the database either.
"""

from __future__ import annotations

import asyncio
import datetime as _dt
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated

import asyncpg
import msgspec
from litestar import Request, Response, get
from litestar.datastructures import State
from litestar.params import Parameter, QueryParameter

from events import EntityRegistered
from events.types import ENTITY_ID_PATTERN
from projections import Change, EntityState, Member, canonical_json, fact_of, state_as_of
from service import clock
from service.errors import BadRequest, DatabaseUnavailable, NotFound
from service.eventlog.store import CONNECTION_ERRORS, EventStore
from service.eventlog.watch import LogWatcher
from service.http import pages
from service.http.responses import IMMUTABLE, REVALIDATE, etag_matches, etag_of
from service.readmodels import queries as readmodel
from service.readmodels.queries import EntitySummary
from service.reads.replicas import ReadRouter, ReadSource

LOG_SIZE_HEADER = "Timeline-Log-Size"
READ_MODEL_WAIT_SECONDS = 5.0


class AnswerCache:
    """A bounded LRU of rendered answers (bytes and log size), keyed by what determines them."""

    def __init__(self, size: int = 10_000) -> None:
        self._size = size
        self._items: OrderedDict[tuple, tuple[bytes, int]] = OrderedDict()

    def get(self, key: tuple) -> tuple[bytes, int] | None:
        found = self._items.get(key)
        if found is not None:
            self._items.move_to_end(key)
        return found

    def put(self, key: tuple, value: tuple[bytes, int]) -> None:
        self._items[key] = value
        self._items.move_to_end(key)
        while len(self._items) > self._size:
            self._items.popitem(last=False)


class ReadModelGate:
    """How far the read models are; answers at a moment wait (briefly) for the projector."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool
        self.checkpoint = 0

    def advanced(self, position: int) -> None:
        self.checkpoint = max(self.checkpoint, position)

    async def reach(self, position: int, seconds: float = READ_MODEL_WAIT_SECONDS) -> None:
        deadline = clock.monotonic() + seconds
        while self.checkpoint < position:
            self.advanced(await self._pool.fetchval("SELECT position FROM rm_state"))
            if self.checkpoint >= position:
                return
            if clock.monotonic() > deadline:
                raise DatabaseUnavailable(
                    f"the read models are at position {self.checkpoint}, behind {position}; "
                    "retry shortly"
                )
            await asyncio.sleep(0.02)


# ------------------------------------------------------------------------------------ params


def parse_known_at(value: str | None) -> _dt.datetime | None:
    if value is None or value == "":
        return None
    try:
        moment = _dt.datetime.fromisoformat(value)
    except ValueError:
        raise BadRequest(
            "must be an ISO 8601 date-time with a time zone, e.g. 2024-06-01T00:00:00Z",
            field="known_at",
        ) from None
    if moment.tzinfo is None:
        raise BadRequest("must include a time zone (e.g. Z or +08:00)", field="known_at")
    return moment.astimezone(_dt.UTC)


def parse_day(value: str | None, field: str, default: _dt.date | None = None) -> _dt.date:
    if value is None or value == "":
        if default is None:
            raise BadRequest("is required: a date YYYY-MM-DD", field=field)
        return default
    try:
        return _dt.date.fromisoformat(value)
    except ValueError:
        raise BadRequest("must be a date YYYY-MM-DD", field=field) from None


@dataclass(frozen=True, slots=True)
class Moment:
    """Where an answer stands on the transaction-time axis, and where its log is read."""

    known_at: _dt.datetime | None
    position: int
    immutable: bool
    source: ReadSource
    """The primary, or a read replica for an immutable answer (service/routing.py)."""

    @property
    def store(self) -> EventStore:
        return self.source.store


async def resolve_moment(state: State, known_at: _dt.datetime | None) -> Moment:
    """`now` is the log position this process knows; a past K is immutable once the log's last
    committed `recorded_at` has reached it, and may then be read from a replica."""
    router: ReadRouter = state.router
    if known_at is None:
        watcher: LogWatcher = state.watcher
        return Moment(None, watcher.position, immutable=False, source=router.primary)
    source, position, immutable = await router.at(known_at)
    return Moment(known_at, position, immutable=immutable, source=source)


async def models_for(state: State, moment: Moment) -> asyncpg.Pool:
    """The pool whose read models answer at `moment`: the replica's once they include its log
    size, else the primary's, once its projector has reached it (a brief wait)."""
    router: ReadRouter = state.router
    source = await router.for_models(moment.source, moment.position)
    if source is router.primary:
        gate: ReadModelGate = state.gate
        await gate.reach(moment.position)
    return source.pool


async def cached_answer(
    request: Request,
    state: State,
    key: tuple,
    moment: Moment,
    render: Callable[[], Awaitable[bytes]],
) -> Response[bytes]:
    """Serve `render()`'s bytes with the caching rules of the contract."""
    if moment.immutable:
        etag = etag_of(*key, "K", moment.known_at.isoformat() if moment.known_at else "")
        headers = {"ETag": etag, "Cache-Control": IMMUTABLE}
        cache_key = (*key, "K", moment.known_at)
    else:
        etag = etag_of(*key, "P", moment.position, moment.known_at)
        headers = {"ETag": etag, "Cache-Control": REVALIDATE}
        cache_key = (*key, "P", moment.position, moment.known_at)
    headers[LOG_SIZE_HEADER] = str(moment.position)
    if etag_matches(request, etag):
        return Response(b"", status_code=304, headers=headers)
    cache: AnswerCache = state.answers
    found = cache.get(cache_key)
    if found is None:
        try:
            body = await render()
        except CONNECTION_ERRORS:
            router: ReadRouter = state.router
            router.failed(moment.source)  # a replica that failed is left alone for a while
            raise
        cache.put(cache_key, (body, moment.position))
    else:
        body = found[0]
    return Response(body, media_type="application/json", headers=headers)


# ------------------------------------------------------------------------------------ routes


class EntityList(msgspec.Struct, frozen=True):
    entities: list[EntitySummary]


class EntityDetail(msgspec.Struct, frozen=True):
    id: str
    kind: str | None
    country: str | None
    names: dict[str, str]
    aliases: list[str]
    identifiers: dict[str, str]
    parent: str | None
    registered_by: list[str]
    """Ids of the registration events, in position order."""


EntityIdPath = Annotated[str, Parameter(pattern=ENTITY_ID_PATTERN, description="Entity id")]


@get(
    "/v1/entities",
    operation_id="searchEntities",
    summary="Search entities by any name or alias, in any language",
    tags=["entities"],
)
async def search_entities(
    state: State,
    q: Annotated[
        str | None, Parameter(max_length=200, description="Part of a name or alias")
    ] = None,
    kind: Annotated[
        str | None,
        Parameter(pattern="^(company|government|list|rule|person|other)$"),
    ] = None,
    country: Annotated[str | None, Parameter(pattern="^[A-Z]{2}$")] = None,
    limit: Annotated[int, Parameter(ge=1, le=500)] = 50,
) -> EntityList:
    gate: ReadModelGate = state.gate
    watcher: LogWatcher = state.watcher
    await gate.reach(watcher.position)
    found = await readmodel.search_entities(state.pool, q, kind=kind, country=country, limit=limit)
    return EntityList(entities=found)


@get(
    "/v1/entities/{entity_id:str}",
    operation_id="getEntity",
    summary="An entity's registration and names",
    tags=["entities"],
)
async def get_entity(state: State, entity_id: EntityIdPath) -> EntityDetail:
    store: EventStore = state.store
    events = await store.entity_events(entity_id)
    registrations = [r for r in events if r.type == "EntityRegistered"]
    if not registrations:
        raise NotFound(f"no entity {entity_id!r} is registered", field="entity_id")
    facts = [fact_of(r) for r in events]
    current = state_as_of(entity_id, facts, _dt.date.max - _dt.timedelta(days=1))
    latest = max(
        (f for f in facts if isinstance(f.event, EntityRegistered)),
        key=lambda f: (f.event.occurred.start, f.position),
    ).event
    assert isinstance(latest, EntityRegistered)
    return EntityDetail(
        id=entity_id,
        kind=current.kind,
        country=current.country,
        names=current.names,
        aliases=list(current.aliases),
        identifiers=dict(latest.identifiers),
        parent=latest.parent,
        registered_by=[str(f.event.id) for f in facts if isinstance(f.event, EntityRegistered)],
    )


@get(
    "/v1/entities/{entity_id:str}/state",
    operation_id="getEntityState",
    summary="The entity's state as of a world date, as the log knew it at a moment",
    description=(
        "`as_of` (default: today, UTC) is a world date; `known_at` (default: now) a transaction "
        "time with a time zone. The body is the canonical JSON of the state, byte for byte what "
        "`timeline replay` computes from an export. `Timeline-Log-Size` names the log size the "
        "answer was computed at."
    ),
    tags=["state"],
)
async def get_entity_state(
    request: Request,
    state: State,
    entity_id: EntityIdPath,
    as_of: Annotated[str | None, Parameter(description="YYYY-MM-DD")] = None,
    known_at: Annotated[str | None, Parameter(description="ISO 8601 date-time with zone")] = None,
) -> Response[EntityState]:
    day = parse_day(as_of, "as_of", clock.now().date())
    moment = await resolve_moment(state, parse_known_at(known_at))

    async def render() -> bytes:
        events = await moment.store.relevant_events(
            entity_id, known_at=moment.known_at, upto=moment.position
        )
        if not any(r.entity == entity_id and r.type == "EntityRegistered" for r in events):
            raise NotFound(
                f"no entity {entity_id!r} is registered (as known then)", field="entity_id"
            )
        return canonical_json(
            state_as_of(entity_id, [fact_of(r) for r in events], day, moment.known_at)
        )

    return await cached_answer(request, state, ("state", entity_id, day), moment, render)  # type: ignore[return-value]


class Members(msgspec.Struct, frozen=True):
    list: str
    as_of: _dt.date
    known_at: _dt.datetime | None
    members: tuple[Member, ...]


class Changes(msgspec.Struct, frozen=True):
    from_date: _dt.date = msgspec.field(name="from")
    to_date: _dt.date = msgspec.field(name="to")
    known_at: _dt.datetime | None = None
    changes: tuple[Change, ...] = ()


@get(
    "/v1/lists/{list_id:str}/members",
    operation_id="getListMembers",
    summary="Who was on a list as of a world date, as the log knew it at a moment",
    tags=["state"],
)
async def get_list_members(
    request: Request,
    state: State,
    list_id: Annotated[str, Parameter(pattern=ENTITY_ID_PATTERN)],
    as_of: Annotated[str | None, Parameter(description="YYYY-MM-DD")] = None,
    known_at: Annotated[str | None, Parameter(description="ISO 8601 date-time with zone")] = None,
    limit: Annotated[str | None, Parameter(description=pages.LIMIT_TEXT)] = None,
    cursor: Annotated[str | None, Parameter(description=pages.CURSOR_TEXT)] = None,
    count: Annotated[str | None, Parameter(description=pages.COUNT_TEXT)] = None,
) -> Response[Members]:
    day = parse_day(as_of, "as_of", clock.now().date())
    asked = pages.Asked.of(limit, cursor, count, readmodel.members_question(list_id, day))
    moment = await resolve_moment(state, asked.known_at(parse_known_at(known_at)))
    if pages.wants_stream(request) or asked.paged:
        return await pages.members(request, state, list_id, day, moment, asked)  # type: ignore[return-value]

    async def render() -> bytes:
        pool = await models_for(state, moment)
        members = await readmodel.list_members(pool, list_id, day, moment.known_at)
        return canonical_json(
            Members(list=list_id, as_of=day, known_at=moment.known_at, members=members)
        )  # type: ignore[arg-type]

    return await cached_answer(request, state, ("members", list_id, day), moment, render)  # type: ignore[return-value]


@get(
    "/v1/changes",
    operation_id="getChanges",
    summary="What changed between two world dates, as the log knew it at a moment",
    tags=["state"],
)
async def get_changes(
    request: Request,
    state: State,
    from_: Annotated[str, QueryParameter(name="from", description="YYYY-MM-DD")],
    to: Annotated[str | None, Parameter(description="YYYY-MM-DD (default: today)")] = None,
    known_at: Annotated[str | None, Parameter(description="ISO 8601 date-time with zone")] = None,
    limit: Annotated[str | None, Parameter(description=pages.LIMIT_TEXT)] = None,
    cursor: Annotated[str | None, Parameter(description=pages.CURSOR_TEXT)] = None,
    count: Annotated[str | None, Parameter(description=pages.COUNT_TEXT)] = None,
) -> Response[Changes]:
    start = parse_day(from_, "from")
    end = parse_day(to, "to", clock.now().date())
    if start > end:
        raise BadRequest("must be on or before `to`", field="from")
    asked = pages.Asked.of(limit, cursor, count, readmodel.changes_question(start, end))
    moment = await resolve_moment(state, asked.known_at(parse_known_at(known_at)))
    if pages.wants_stream(request) or asked.paged:
        return await pages.changes(request, state, start, end, moment, asked)  # type: ignore[return-value]

    async def render() -> bytes:
        pool = await models_for(state, moment)
        found = await readmodel.changes(pool, start, end, moment.known_at)
        return canonical_json(
            Changes(from_date=start, to_date=end, known_at=moment.known_at, changes=found)
        )  # type: ignore[arg-type]

    return await cached_answer(request, state, ("changes", start, end), moment, render)  # type: ignore[return-value]


ROUTES = [search_entities, get_entity, get_entity_state, get_list_members, get_changes]
