"""`/v1/events`: append (token with write scope), page through the log, follow it live (SSE)."""

from __future__ import annotations

import datetime as _dt
import re
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Annotated

import msgspec
from litestar import Controller, Request, Response, get, post
from litestar.connection import ASGIConnection
from litestar.di import NamedDependency, Provide
from litestar.exceptions import NotAuthorizedException, PermissionDeniedException
from litestar.handlers.base import BaseRouteHandler
from litestar.openapi.datastructures import ResponseSpec
from litestar.openapi.spec import (
    Discriminator,
    OpenAPIMediaType,
    OpenAPIType,
    Operation,
    Reference,
    RequestBody,
    Schema,
)
from litestar.params import HeaderParameter, Parameter, QueryParameter
from litestar.response import ServerSentEvent, ServerSentEventMessage

from events import EVENT_TYPES, AnyEvent, EventInvalid, RecordedEvent, encode
from events.body import BodyMalformed, decode_append_body, field_in
from events.types import ENTITY_ID_PATTERN
from service import clock
from service.access.tokens import TokenChecker
from service.errors import (
    BadRequest,
    DatabaseUnavailable,
    DomainError,
    EventRejected,
    TooLarge,
    TooManyStreams,
)
from service.eventlog.idempotency import (
    MAX_KEY_LENGTH,
    Answer,
    IdempotencyKeys,
    fingerprint_of,
    with_derived_ids,
)
from service.eventlog.store import EventStore
from service.eventlog.watch import LogWatcher
from service.http.observability import Metrics
from service.http.reads import json_answer
from service.http.responses import (
    IMMUTABLE,
    PROBLEM_MEDIA_TYPE,
    REVALIDATE,
    Problem,
    etag_matches,
    etag_of,
)
from service.http.streams import StreamSlots

MAX_BATCH = 1000
NOT_MODIFIED = b""

# The append body as documented in /schema (it is decoded by `events.body`, which names the
# offending field of any body that does not fit): one event, a batch, or a batch with the
# writer's expected stream positions.
_EVENT_SCHEMA = Schema(
    one_of=[Reference(ref=f"#/components/schemas/{name}") for name in EVENT_TYPES],
    discriminator=Discriminator(
        property_name="type",
        mapping={name: f"#/components/schemas/{name}" for name in EVENT_TYPES},
    ),
)
_BATCH_SCHEMA = Schema(
    type=OpenAPIType.ARRAY, items=_EVENT_SCHEMA, min_items=1, max_items=MAX_BATCH
)
_BODY_SCHEMAS = [
    _EVENT_SCHEMA,
    _BATCH_SCHEMA,
    Schema(
        type=OpenAPIType.OBJECT,
        required=["events"],
        properties={
            "events": _BATCH_SCHEMA,
            "expected_position": Schema(
                type=OpenAPIType.OBJECT,
                description="entity id -> the position of the last event of its stream the "
                "writer has seen (0: none); the batch is refused (409) if a stream has moved",
                additional_properties=Schema(type=OpenAPIType.INTEGER, minimum=0),
            ),
        },
        additional_properties=False,
    ),
]


@dataclass
class _AppendOperation(Operation):
    """The append operation, with its body documented: the handler reads the body's bytes
    itself (`events.body`), so Litestar cannot derive the schema from a parameter."""

    def __post_init__(self) -> None:
        self.request_body = RequestBody(
            required=True,
            description="One event, an array of events, or {events, expected_position}. "
            "Events are tagged by `type`; see the event schemas (EntityListed, ...).",
            content={"application/json": OpenAPIMediaType(schema=Schema(one_of=_BODY_SCHEMAS))},
        )


MAX_POSITION = 2**62  # positions are bigint; a larger cursor is a client error, not a 500
MAX_PAGE = 1000


class AppendedEvent(msgspec.Struct, frozen=True):
    id: uuid.UUID
    entity: str
    type: str
    position: int
    recorded_at: _dt.datetime
    hash: str


class AppendResult(msgspec.Struct, frozen=True):
    appended: int
    """How many events are new; the others were already in the log with the same content."""
    events: list[AppendedEvent]


class LoggedEvent(msgspec.Struct, frozen=True):
    position: int
    recorded_at: _dt.datetime
    schema_version: int
    hash: str
    prev_hash: str
    event: AnyEvent


class EventPage(msgspec.Struct, frozen=True):
    events: list[LoggedEvent]
    next_after: int | None
    """Pass as `after` for the next page; null when this page reached the end of the log."""


def logged(recorded: RecordedEvent) -> LoggedEvent:
    return LoggedEvent(
        position=recorded.position,
        recorded_at=recorded.recorded_at,
        schema_version=recorded.schema_version,
        hash=recorded.hash.hex(),
        prev_hash=recorded.prev_hash.hex(),
        event=recorded.event,
    )


async def require_write(connection: ASGIConnection, _handler: BaseRouteHandler) -> None:
    header = connection.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise NotAuthorizedException("send Authorization: Bearer <token> (timeline tokens create)")
    checker: TokenChecker = connection.app.state.tokens
    scope = await checker.scope_of(token.strip())
    if scope is None:
        raise NotAuthorizedException("the bearer token is not valid (or was revoked)")
    if scope != "write":
        raise PermissionDeniedException("the token does not have the write scope")


_KEY = re.compile(rf"[\x21-\x7e]{{1,{MAX_KEY_LENGTH}}}")


def _idempotency(
    request: Request, key: str | None, events: list[AnyEvent], expected: dict[str, int]
) -> tuple[str, str, bytes] | None:
    """(token id, key, request fingerprint) of a request with an Idempotency-Key, else None."""
    if key is None:
        return None
    # The draft's header is a structured-field string: a quoted key is taken without quotes.
    if len(key) >= 2 and key[0] == key[-1] == '"':
        key = key[1:-1]
    if _KEY.fullmatch(key) is None:
        raise BadRequest(
            f"1 to {MAX_KEY_LENGTH} printable ASCII characters, e.g. a UUID",
            field="Idempotency-Key",
        )
    token = request.headers.get("authorization", "").partition(" ")[2].strip()
    token_id = token.split("_")[1]  # `tl_<id>_<secret>`, checked by `require_write`
    return token_id, key, fingerprint_of(events, expected)


def _answer(answer: Answer, *, replayed: bool) -> Response[bytes]:
    headers = {"Idempotent-Replayed": "true"} if replayed else None
    return Response(
        answer.body, status_code=answer.status, media_type="application/json", headers=headers
    )


def _check_types(types: list[str] | None) -> list[str] | None:
    if not types:
        return None
    names = [name for value in types for name in value.split(",") if name]
    for name in names:
        if name not in EVENT_TYPES:
            raise EventRejected(
                f"unknown event type {name!r}; known: {', '.join(EVENT_TYPES)}", field="type"
            )
    return names


@dataclass(frozen=True, slots=True)
class EventLog:
    """What the events resource works with, as one dependency: Litestar resolves the several
    dependencies of one handler concurrently, a task each, which on the append path cost more
    than the handler itself (py-spy: 15 % of the worker under 32 writers)."""

    store: EventStore
    watcher: LogWatcher
    metrics: Metrics
    keys: IdempotencyKeys
    stream_slots: StreamSlots
    heartbeat_seconds: float


def _event_log(request: Request) -> EventLog:
    """The app's EventLog, made on first use after each start of its lifespan (which makes the
    store and the rest). Taking `request`, not `state`: Litestar hands a provider that asks for
    `state` a copy of it on every request (py-spy: 12 % of the worker's CPU on appends)."""
    state = request.app.state
    log: EventLog | None = getattr(state, "event_log", None)
    if log is None or log.store is not state.store:
        log = state.event_log = EventLog(
            store=state.store,
            watcher=state.watcher,
            metrics=state.metrics,
            keys=IdempotencyKeys(state.pool),
            stream_slots=state.stream_slots,
            heartbeat_seconds=state.settings.sse_heartbeat_seconds,
        )
    return log


APPEND_PROBLEMS: dict[int, str] = {
    400: "Malformed body or header (an RFC 9457 problem; `field` names the input at fault)",
    401: "No bearer token, or an unknown one",
    403: "The token has no write scope",
    409: "An event id already stored with other content, or `expected_position` not met",
    413: "Body over the size limit, or a batch of more events than a batch may hold",
    422: "An event the log refuses: a field out of range, an unknown reference, a text it "
    "cannot store (`field` names it)",
}
"""The problems an append answers with, as documented in the OpenAPI document."""


class EventController(Controller):
    """The log as a resource: append to it, page through it, follow it live."""

    path = "/v1/events"
    tags = ("events",)
    dependencies = {"log": Provide(_event_log, sync_to_thread=False)}  # noqa: RUF012

    @post(
        "/",
        operation_id="appendEvents",
        summary="Append one event or a batch (atomic)",
        description=(
            "The body is one event, an array of events, or `{events: [...], expected_position: "
            "{entity: position}}`. Idempotent by event id, and by an `Idempotency-Key` header "
            "(per token, kept 24 hours: the same key with the same body is answered as before, "
            "with another body refused with 422). Needs a bearer token with write scope."
        ),
        guards=[require_write],
        status_code=201,
        operation_class=_AppendOperation,
        responses={
            201: ResponseSpec(
                data_container=AppendResult,
                description="Document created, URL follows",
                media_type="application/json",
                generate_examples=False,
            ),
            **{
                status: ResponseSpec(
                    data_container=Problem,
                    description=why,
                    media_type=PROBLEM_MEDIA_TYPE,
                    generate_examples=False,
                )
                for status, why in APPEND_PROBLEMS.items()
            },
        },
    )
    async def append_events(
        self,
        request: Request,
        log: NamedDependency[EventLog],
        idempotency_key: Annotated[
            str | None,
            HeaderParameter(
                name="Idempotency-Key",
                description="Any 1 to 255 printable ASCII characters, e.g. a UUID (quoted or "
                "not): a retry with the same key and body gets the first answer",
            ),
        ] = None,
    ) -> Response[bytes]:
        try:
            decoded = decode_append_body(await request.body())
        except BodyMalformed as exc:
            raise BadRequest(exc.detail, field=exc.field) from None
        except EventInvalid as exc:
            raise EventRejected(exc.detail, field=exc.field) from None
        events, expected, prefix = decoded.events, decoded.expected, decoded.prefix
        if len(events) > MAX_BATCH:
            raise TooLarge(f"a batch holds at most {MAX_BATCH} events; this one has {len(events)}")
        keyed = _idempotency(request, idempotency_key, events, expected)
        keys, metrics = log.keys, log.metrics
        if keyed is not None:
            token_id, key, fingerprint = keyed
            replay = await keys.claim(token_id, key, fingerprint)
            if replay is not None:
                return _answer(replay, replayed=True)
            events = with_derived_ids(events, token_id=token_id, key=key, fingerprint=fingerprint)
        started = clock.monotonic()
        try:
            result = await log.store.append(events, expected=expected)
        except DomainError as exc:
            metrics.append_done(
                "unavailable" if isinstance(exc, DatabaseUnavailable) else "refused",
                0,
                clock.monotonic() - started,
            )
            index = exc.extra.get("index")
            if isinstance(index, int) and exc.field is not None and prefix is not None:
                exc.field = field_in(prefix, index, exc.field)
            raise
        metrics.append_done("ok", result.new, clock.monotonic() - started)
        if result.events:
            log.watcher.advance(max(r.position for r in result.events))
        body = encode(
            AppendResult(
                appended=result.new,
                events=[
                    AppendedEvent(
                        id=event_id,
                        entity=recorded.entity,
                        type=recorded.type,
                        position=recorded.position,
                        recorded_at=recorded.recorded_at,
                        hash=recorded.hash.hex(),
                    )
                    for event_id, recorded in zip(result.ids, result.events, strict=True)
                ],
            )
        )
        answer = Answer(status=201 if result.new else 200, body=body)
        if keyed is None:
            return _answer(answer, replayed=False)
        kept = await keys.record(token_id, key, fingerprint, answer)
        return _answer(kept, replayed=kept.body != body)

    @get(
        "/",
        operation_id="listEvents",
        summary="The log in position order, a page at a time",
        responses=json_answer(EventPage),
    )
    async def list_events(
        self,
        request: Request,
        log: NamedDependency[EventLog],
        after: Annotated[
            int, Parameter(ge=0, le=MAX_POSITION, description="Return events with position > after")
        ] = 0,
        limit: Annotated[int, Parameter(ge=1, le=MAX_PAGE)] = 100,
        entity: Annotated[str | None, Parameter(pattern=ENTITY_ID_PATTERN)] = None,
        types: Annotated[
            list[str] | None,
            QueryParameter(name="type", description="Event types, repeated or comma-separated"),
        ] = None,
    ) -> Response[bytes]:
        names = _check_types(types)
        head = log.watcher.position
        etag = etag_of("events", after, limit, entity, names, head)
        if etag_matches(request, etag):
            return Response(NOT_MODIFIED, status_code=304, headers={"ETag": etag})
        page = await log.store.read_after(after, limit, entity=entity, types=names)
        full = len(page) == limit
        body = EventPage(
            events=[logged(r) for r in page], next_after=page[-1].position if full else None
        )
        if full:
            # A full page can never change: positions are immutable and gap-free.
            etag = etag_of("events", after, limit, entity, names, "full")
            headers = {"ETag": etag, "Cache-Control": IMMUTABLE}
        else:
            headers = {"ETag": etag, "Cache-Control": REVALIDATE}
        return Response(encode(body), media_type="application/json", headers=headers)

    @get(
        "/stream",
        operation_id="streamEvents",
        summary="The live log as Server-Sent Events",
        description=(
            "Each event is an SSE message with `id` = position, `event` = the event type and "
            "`data` = the logged event as JSON. Resume with `Last-Event-ID` (or `after`). A "
            "`caught-up` message says the client has every event the log had; a comment line is "
            "sent as a heartbeat every 15 s. One client (remote address) may hold a limited number "
            "of streams open at once (100 by default); one more is refused with 429."
        ),
    )
    async def stream_events(
        self,
        request: Request,
        log: NamedDependency[EventLog],
        after: Annotated[int | None, Parameter(ge=0, le=MAX_POSITION)] = None,
        last_event_id: Annotated[str | None, HeaderParameter(name="Last-Event-ID")] = None,
    ) -> ServerSentEvent:
        cursor = after or 0
        if last_event_id is not None:
            try:
                cursor = int(last_event_id)
            except ValueError:
                raise EventRejected("must be a log position", field="Last-Event-ID") from None
            if not 0 <= cursor <= MAX_POSITION:
                raise EventRejected("must be a log position", field="Last-Event-ID")
        store, watcher, slots = log.store, log.watcher, log.stream_slots
        heartbeat = log.heartbeat_seconds
        client = request.client.host if request.client is not None else ""
        slot = slots.take(client)
        if slot is None:
            raise TooManyStreams(
                f"this client ({client}) has {slots.open_for(client)} live streams open, the most "
                "it may; close one (or resume it with Last-Event-ID) before opening another"
            )

        async def messages() -> AsyncIterator[ServerSentEventMessage]:
            position = cursor
            caught_up_sent = False
            try:
                while True:
                    page = await store.read_after(position, 500)
                    for recorded in page:
                        position = recorded.position
                        yield ServerSentEventMessage(
                            data=encode(logged(recorded)).decode(),
                            event=recorded.type,
                            id=recorded.position,
                        )
                    if len(page) == 500:
                        continue
                    if not caught_up_sent:
                        caught_up_sent = True
                        yield ServerSentEventMessage(
                            data=msgspec.json.encode({"position": position}).decode(),
                            event="caught-up",
                        )
                    # Read again only once the log has moved past what was sent: an idle stream
                    # costs no query, whatever its heartbeat (hundreds of streams re-reading the log
                    # every heartbeat would keep the pool busy for nothing).
                    while not await watcher.wait_in_stream(position, heartbeat):
                        if watcher.closing:
                            return  # the server is stopping: end; the client resumes elsewhere
                        yield ServerSentEventMessage(comment="heartbeat")
                    if watcher.closing:
                        return
            finally:
                slot.release()

        stream = messages()
        slot.release_with(stream)
        return ServerSentEvent(stream, headers={"Cache-Control": "no-store"})


ROUTES = [EventController]
