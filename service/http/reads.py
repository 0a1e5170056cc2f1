"""Read resources: entities, state as of (D, K), list members, changes.

One `Controller` per resource. The moment of a read (`as_of`, `known_at`) and the objects the
app is built from (store, router, caches) are Litestar dependencies (service/http/dependencies.py):
a read at a moment is given them all as one, `read` (service/http/read_request.py), dated
where the route takes `as_of`; caching follows service/http/answers.py.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Sequence
from typing import Annotated

import msgspec
from litestar import Controller, Request, Response, get
from litestar.di import NamedDependency
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import Parameter, QueryParameter

from events import EntityRegistered
from events.types import ENTITY_ID_PATTERN
from projections import Change, EntityState, Member, canonical_json, fact_of, state_as_of
from service import clock
from service.errors import BadRequest, NotFound
from service.eventlog.store import EventStore
from service.http.answers import (
    models_for,
    serve_cached,
)
from service.http.moment import parse_day
from service.http.pages import (
    NDJSON,
    PAGING_HELP,
    AcceptHeader,
    CountParameter,
    CursorParameter,
    LimitParameter,
    answers_in,
    ndjson_operation,
    ndjson_stream,
    paging_for,
    serve_page,
    stream_slot,
    wants_ndjson,
)
from service.http.read_request import DATED_READ, DatedReadRequest, ReadRequest
from service.readmodels import queries as readmodel
from service.readmodels import search

SEARCH_MAX_CHARS = 200


def json_answer(model: object, description: str = "Request fulfilled, document follows") -> dict:
    """The declared 200 answer of a route that serves pre-encoded JSON bytes of `model`."""
    return {
        200: ResponseSpec(
            data_container=model,
            description=description,
            media_type="application/json",
            generate_examples=False,
        )
    }


async def require_registered(
    store: EventStore, ids: Sequence[str], known_at: _dt.datetime | None, field: str
) -> None:
    """NotFound naming `field` unless every one of `ids` is registered as known at `known_at`."""
    if not ids:
        return
    found = {r.entity for r in await store.registrations(list(ids), known_at=known_at)}
    missing = [entity for entity in ids if entity not in found]
    if missing:
        names = ", ".join(repr(entity) for entity in missing)
        raise NotFound(f"no entity {names} is registered (as known then)", field=field)


# ------------------------------------------------------------------------------------ routes


class EntityList(msgspec.Struct, frozen=True):
    entities: list[search.Hit]
    cursor: str | None
    """Pass it back as `cursor` for the next page; null on the last page."""


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


def _cursor(cursor: str | None, scope: str, what: str):
    """The position a cursor continues after, or BadRequest naming `cursor`."""
    if cursor is None:
        return None
    try:
        after = search.decode_cursor(cursor, scope)
    except search.BadCursor as exc:
        raise BadRequest(str(exc), field="cursor") from None
    if what == "id":
        if len(after) != 1 or not isinstance(after[0], str):
            raise BadRequest("is not a cursor of this listing", field="cursor")
        return after[0]
    if len(after) != 5 or not all(isinstance(x, int) for x in after[:4]):
        raise BadRequest("is not a cursor of this search", field="cursor")
    return after


def _encode(after: object, scope: str, what: str) -> str | None:
    if after is None:
        return None
    return search.encode_cursor(scope, [after] if what == "id" else after)


def search_text(q: str | None) -> str | None:
    """The search text, or BadRequest naming `q` for a control character (NUL included)."""
    if q is not None and any(ord(c) < 0x20 or 0x7F <= ord(c) < 0xA0 for c in q):
        raise BadRequest("must not contain control characters", field="q")
    return q


class EntityController(Controller):
    path = "/v1/entities"

    @get(
        "/",
        operation_id="searchEntities",
        dependencies={"read": DATED_READ},  # a read as of a world date: takes `as_of`
        summary="Search entities by any name or alias, in any language",
        tags=["entities"],
    )
    async def search(
        self,
        read: NamedDependency[DatedReadRequest],
        q: Annotated[
            str | None,
            Parameter(
                max_length=SEARCH_MAX_CHARS,
                description="A name, alias, former name or id, or part of one, in any script",
            ),
        ] = None,
        kind: Annotated[
            str | None,
            Parameter(pattern="^(company|government|list|rule|person|other)$"),
        ] = None,
        country: Annotated[str | None, Parameter(pattern="^[A-Z]{2}$")] = None,
        limit: Annotated[int, Parameter(ge=1, le=500)] = 50,
        cursor: Annotated[
            str | None, Parameter(max_length=1000, description="From the previous page")
        ] = None,
    ) -> EntityList:
        text = search_text(q)
        pool = await read.models()
        day, moment = read.day, read.moment
        if text is None or not text.strip():
            found, after = await search.list_entities(
                pool, kind=kind, country=country, limit=limit, after=_cursor(cursor, "", "id")
            )
            return EntityList(entities=found, cursor=_encode(after, "", "id"))
        scope = search.scope_of(text, kind, country, day, moment.known_at)
        hits, more = await search.search(
            pool,
            text,
            day=day,
            kind=kind,
            country=country,
            limit=limit,
            after=_cursor(cursor, scope, "score"),
            known_at=moment.known_at,
            store=moment.store,
        )
        return EntityList(entities=hits, cursor=_encode(more, scope, "score"))

    @get(
        "/{entity_id:str}",
        operation_id="getEntity",
        summary="An entity's registration and names",
        tags=["entities"],
    )
    async def detail(
        self, store: NamedDependency[EventStore], entity_id: EntityIdPath
    ) -> EntityDetail:
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
        "/{entity_id:str}/state",
        operation_id="getEntityState",
        dependencies={"read": DATED_READ},  # a read as of a world date: takes `as_of`
        summary="The entity's state as of a world date, as the log knew it at a moment",
        description=(
            "`as_of` (default: today, UTC) is a world date; `known_at` (default: now) a "
            "transaction time with a time zone. The body is the canonical JSON of the state, byte "
            "for byte what `timeline replay` computes from an export. `Timeline-Log-Size` names "
            "the log size the answer was computed at."
        ),
        tags=["state"],
        responses=json_answer(EntityState),
    )
    async def state(
        self,
        request: Request,
        entity_id: EntityIdPath,
        read: NamedDependency[DatedReadRequest],
    ) -> Response[bytes]:
        day, moment = read.day, read.moment

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

        return await read.serve(request, ("state", entity_id, day), render)


class Members(msgspec.Struct, frozen=True):
    list: str
    as_of: _dt.date
    known_at: _dt.datetime | None
    members: tuple[Member, ...]


class MembersPage(msgspec.Struct, frozen=True):
    """A page of members (`limit` given). `known_at` is the moment every page of this walk is
    read at: the one asked for, or else the log's last `recorded_at` when the first page was
    read. `next` is the cursor of the next page; null on the last one."""

    list: str
    as_of: _dt.date
    known_at: _dt.datetime | None
    members: tuple[Member, ...]
    next: str | None


class MembersCount(msgspec.Struct, frozen=True):
    list: str
    as_of: _dt.date
    known_at: _dt.datetime | None
    count: int


class Changes(msgspec.Struct, frozen=True):
    from_date: _dt.date = msgspec.field(name="from")
    to_date: _dt.date = msgspec.field(name="to")
    known_at: _dt.datetime | None = None
    changes: tuple[Change, ...] = ()


class ChangesPage(msgspec.Struct, frozen=True):
    """A page of changes (`limit` given); `known_at` and `next` as in a page of members."""

    from_date: _dt.date = msgspec.field(name="from")
    to_date: _dt.date = msgspec.field(name="to")
    known_at: _dt.datetime | None = None
    changes: tuple[Change, ...] = ()
    next: str | None = None


class ChangesCount(msgspec.Struct, frozen=True):
    from_date: _dt.date = msgspec.field(name="from")
    to_date: _dt.date = msgspec.field(name="to")
    known_at: _dt.datetime | None = None
    count: int = 0


class ListController(Controller):
    path = "/v1/lists"
    tags = ("state",)

    @get(
        "/{list_id:str}/members",
        operation_id="getListMembers",
        dependencies={"read": DATED_READ},  # a read as of a world date: takes `as_of`
        summary="Who was on a list as of a world date, as the log knew it at a moment",
        description=PAGING_HELP,
        responses=answers_in(
            f"The members (JSON), a page of them, their count, or ({NDJSON}) one member a line",
            Members | MembersPage | MembersCount,
        ),
        operation_class=ndjson_operation("Member"),
    )
    async def members(
        self,
        request: Request,
        list_id: Annotated[str, Parameter(pattern=ENTITY_ID_PATTERN)],
        read: NamedDependency[DatedReadRequest],
        program: Annotated[
            str | None,
            Parameter(
                min_length=1,
                max_length=500,
                description="Only members with an open designation under this programme",
            ),
        ] = None,
        limit: LimitParameter = None,
        cursor: CursorParameter = None,
        count: CountParameter = False,
        accept: AcceptHeader = None,
    ) -> Response:
        answers, router, gate, watcher = read.answers, read.router, read.gate, read.watcher
        day, moment = read.day, read.moment
        question = readmodel.members_question(list_id, day, program)
        paging = await paging_for(
            request, router, watcher, moment, question, limit=limit, cursor=cursor, count=count
        )
        moment = paging.moment
        key = ("members", list_id, day, program)

        if count:

            async def render_count() -> bytes:
                await require_registered(moment.store, [list_id], moment.known_at, "list_id")
                pool = await models_for(router, gate, moment)
                found = await readmodel.count_list_members(
                    pool, list_id, day, moment.known_at, program
                )
                return canonical_json(
                    MembersCount(list=list_id, as_of=day, known_at=moment.known_at, count=found)
                )

            return await serve_cached(
                request, answers, router, (*key, "count"), moment, render_count
            )

        if wants_ndjson(request):
            await require_registered(moment.store, [list_id], moment.known_at, "list_id")
            pool = await models_for(router, gate, moment)
            slot = stream_slot(pool)
            members = readmodel.stream_list_members_json(
                pool, list_id, day, moment.known_at, program
            )
            return ndjson_stream(members, moment, slot)

        if limit is not None:
            page_limit = limit

            async def render_page() -> tuple[bytes, str | None]:
                if paging.cursor is None:  # a later page: its first was read at the same moment
                    await require_registered(moment.store, [list_id], moment.known_at, "list_id")
                pool = await models_for(router, gate, moment)
                page = await readmodel.list_members_page_json(
                    pool,
                    list_id,
                    day,
                    moment.known_at,
                    program,
                    limit=page_limit,
                    cursor=paging.cursor,
                )
                body = MembersPage(
                    list=list_id,
                    as_of=day,
                    known_at=moment.known_at,
                    members=page.items,
                    next=page.next_cursor,
                )
                return canonical_json(body), page.next_cursor

            page_key = (*key, "page", limit, cursor)
            return await serve_page(request, answers, router, page_key, moment, render_page)

        async def render() -> bytes:
            await require_registered(moment.store, [list_id], moment.known_at, "list_id")
            pool = await models_for(router, gate, moment)
            members = await readmodel.list_members_json(
                pool, list_id, day, moment.known_at, program
            )
            return canonical_json(
                Members(list=list_id, as_of=day, known_at=moment.known_at, members=members)
            )

        return await serve_cached(
            request, answers, router, key[:3] if program is None else key, moment, render
        )


class ChangesController(Controller):
    path = "/v1/changes"
    tags = ("state",)

    @get(
        "/",
        operation_id="getChanges",
        summary="What changed between two world dates, as the log knew it at a moment",
        description=PAGING_HELP.replace("the whole list", "every change"),
        responses=answers_in(
            f"The changes (JSON), a page of them, their count, or ({NDJSON}) one change a line",
            Changes | ChangesPage | ChangesCount,
        ),
        operation_class=ndjson_operation("Change"),
    )
    async def changes(
        self,
        request: Request,
        from_: Annotated[str, QueryParameter(name="from", description="YYYY-MM-DD")],
        read: NamedDependency[ReadRequest],
        to: Annotated[str | None, Parameter(description="YYYY-MM-DD (default: today)")] = None,
        limit: LimitParameter = None,
        cursor: CursorParameter = None,
        count: CountParameter = False,
        accept: AcceptHeader = None,
    ) -> Response:
        answers, router, gate, watcher = read.answers, read.router, read.gate, read.watcher
        moment = read.moment
        start = parse_day(from_, "from")
        end = parse_day(to, "to", clock.now().date())
        if start > end:
            raise BadRequest("must be on or before `to`", field="from")
        question = readmodel.changes_question(start, end)
        paging = await paging_for(
            request, router, watcher, moment, question, limit=limit, cursor=cursor, count=count
        )
        moment = paging.moment
        key = ("changes", start, end)

        if count:

            async def render_count() -> bytes:
                pool = await models_for(router, gate, moment)
                found = await readmodel.count_changes(pool, start, end, moment.known_at)
                return canonical_json(
                    ChangesCount(
                        from_date=start, to_date=end, known_at=moment.known_at, count=found
                    )
                )

            return await serve_cached(
                request, answers, router, (*key, "count"), moment, render_count
            )

        if wants_ndjson(request):
            pool = await models_for(router, gate, moment)
            slot = stream_slot(pool)
            return ndjson_stream(
                readmodel.stream_changes(pool, start, end, moment.known_at), moment, slot
            )

        if limit is not None:
            page_limit = limit

            async def render_page() -> tuple[bytes, str | None]:
                pool = await models_for(router, gate, moment)
                page = await readmodel.changes_page(
                    pool, start, end, moment.known_at, limit=page_limit, cursor=paging.cursor
                )
                body = ChangesPage(
                    from_date=start,
                    to_date=end,
                    known_at=moment.known_at,
                    changes=page.items,
                    next=page.next_cursor,
                )
                return canonical_json(body), page.next_cursor

            page_key = (*key, "page", limit, cursor)
            return await serve_page(request, answers, router, page_key, moment, render_page)

        async def render() -> bytes:
            pool = await models_for(router, gate, moment)
            found = await readmodel.changes(pool, start, end, moment.known_at)
            return canonical_json(
                Changes(from_date=start, to_date=end, known_at=moment.known_at, changes=found)
            )

        return await serve_cached(request, answers, router, key, moment, render)
