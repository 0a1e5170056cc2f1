"""Long answers over HTTP: pages pinned to one moment, counts, and NDJSON streams.

What `/v1/lists/{id}/members` and `/v1/changes` share (service/http/reads.py): the typed
`limit`, `cursor`, `count` and `Accept` parameters and their OpenAPI description, the check
that pins a walk of pages to one `known_at` (`paging_for`), a page served through the answer
cache with its `Link` to the next (`serve_page`), and the whole answer streamed from a
server-side cursor as NDJSON (`ndjson_stream`). The cursors themselves are the read models'
(service/readmodels/queries.py); docs/read-models.md, "Long answers", says what they promise.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import weakref
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated
from urllib.parse import urlencode

import asyncpg
import msgspec
from litestar import Request, Response
from litestar.openapi.datastructures import ResponseSpec
from litestar.openapi.spec import OpenAPIMediaType, OpenAPIResponse, Operation, Reference
from litestar.params import HeaderParameter, Parameter
from litestar.response import Stream

from projections import canonical_json
from projections.fold.version import FOLD_VERSION
from service.errors import BadRequest, DatabaseUnavailable
from service.eventlog.watch import LogWatcher
from service.http.answers import FOLD_VERSION_HEADER, LOG_SIZE_HEADER, AnswerCache, serve_cached
from service.http.moment import Moment, moment_at
from service.http.streams import StreamSlot, StreamSlots
from service.readmodels import queries as readmodel
from service.reads.replicas import ReadRouter

NDJSON = "application/x-ndjson"
PAGE_LIMIT_MAX = 10_000
NDJSON_CHUNK_LINES = 500
"""Lines sent together in one body chunk of a stream: one `send` per line costs more than the
line."""
NDJSON_STREAMS_SHARE = 2
"""An NDJSON stream holds one of its pool's connections from its first row to its last: at
most 1/`NDJSON_STREAMS_SHARE` of a pool's connections (at least one) stream at once, so the
rest answer everything else. One more stream is refused, before it starts, with 503
`streams-busy` and `Retry-After`."""
NDJSON_RETRY_AFTER = 1


class StreamsBusy(DatabaseUnavailable):
    """As many NDJSON answers stream from a pool as it lends connections to (503)."""

    slug = "streams-busy"
    title = "Too many answers are streaming; retry shortly"


_STREAMS: weakref.WeakKeyDictionary[asyncpg.Pool, StreamSlots] = weakref.WeakKeyDictionary()


def stream_slot(pool: asyncpg.Pool) -> StreamSlot:
    """A hold on one of the streams `pool` may serve at once (`NDJSON_STREAMS_SHARE`), or
    StreamsBusy. The stream gives it back when it ends, however it ends (`ndjson_stream`)."""
    slots = _STREAMS.get(pool)
    if slots is None:
        slots = _STREAMS[pool] = StreamSlots(max(1, pool.get_max_size() // NDJSON_STREAMS_SHARE))
    slot = slots.take("")
    if slot is None:
        raise StreamsBusy(
            f"{slots.per_client} answers are streaming, the most this server streams at once "
            "(each holds a database connection); retry shortly, or read pages (`limit`)",
            retry_after=NDJSON_RETRY_AFTER,
        )
    return slot


PAGING_HELP = (
    "Without `limit` the answer is the whole list, as it always was. With `limit` (1 to "
    f"{PAGE_LIMIT_MAX:,}) it is a page, sorted by entity in code-point order, whose `next` "
    '(also sent as a `Link: <...>; rel="next"` header) is the opaque `cursor` of the next page '
    "(null on the last one). A walk of pages is read at one moment: the `known_at` asked for, "
    "or, when none is, the log's last `recorded_at` as the first page is read; it is carried in "
    "the cursor and given in each page's `known_at`, so the pages concatenate to exactly the "
    "whole answer at that moment however the log grows meanwhile. A cursor is refused (400 "
    "naming `cursor`) if it is not one this service gave, or was given for another question "
    "(another list, day, programme or dates) or another `known_at`. `count=true` answers "
    '`{"count": n}` (with the question) instead of the items. `Accept: application/x-ndjson` '
    "streams the whole answer, one item (as in the JSON answer) a line, read from a server-side "
    "cursor without building it in memory (one snapshot of the read models); `limit` and "
    "`cursor` are for JSON pages and are refused with it."
)
LimitParameter = Annotated[
    int | None,
    Parameter(
        ge=1, le=PAGE_LIMIT_MAX, description="Items per page (default: no paging, every item)"
    ),
]
CursorParameter = Annotated[
    str | None,
    Parameter(min_length=1, max_length=2000, description="`next` of the previous page"),
]
CountParameter = Annotated[
    bool, Parameter(description='Answer only how many items there are: {"count": n}')
]
# Declared so that the OpenAPI document names it; the answer is chosen by `wants_ndjson`.
AcceptHeader = Annotated[
    str | None,
    HeaderParameter(
        name="Accept",
        description=f"`{NDJSON}` streams the answer as NDJSON; otherwise JSON",
        required=False,
    ),
]


def ndjson_operation(item: str) -> type[Operation]:
    """The OpenAPI operation of a pageable read, whose 200 answer is also, with `Accept:
    application/x-ndjson`, a stream of `item` objects, one a line (the schema names one line)."""

    @dataclass
    class NdjsonOperation(Operation):
        def __post_init__(self) -> None:
            ok = (self.responses or {}).get("200")
            if isinstance(ok, OpenAPIResponse) and ok.content is not None:
                ok.content[NDJSON] = OpenAPIMediaType(
                    schema=Reference(ref=f"#/components/schemas/{item}")
                )

    return NdjsonOperation


def answers_in(description: str, answer: object) -> dict:
    """The 200 answer of a pageable read: JSON (`answer`: the union of the whole, a page and a
    count) or an NDJSON stream."""
    return {
        200: ResponseSpec(
            data_container=answer,
            description=description,
            media_type="application/json",
            generate_examples=False,
        )
    }


def wants_ndjson(request: Request) -> bool:
    return request.accept.best_match(["application/json", NDJSON], "application/json") == NDJSON


@dataclass(frozen=True, slots=True)
class Paging:
    """How one request reads a pageable answer: its moment (pinned for pages) and cursor."""

    moment: Moment
    cursor: readmodel.PageCursor | None


async def paging_for(
    request: Request,
    router: ReadRouter,
    watcher: LogWatcher,
    moment: Moment,
    question: tuple[str, ...],
    *,
    limit: int | None,
    cursor: str | None,
    count: bool,
) -> Paging:
    """Check `limit`, `cursor` and `count` together and pin the moment of a walk of pages."""
    if count and (limit is not None or cursor is not None):
        raise BadRequest(
            "answers how many items there are: it takes no `limit` or `cursor`", field="count"
        )
    if cursor is not None and limit is None:
        raise BadRequest("continues a walk of pages: give `limit` with it", field="cursor")
    if not count and wants_ndjson(request) and limit is not None:
        raise BadRequest("an NDJSON stream is the whole answer: page with JSON", field="limit")
    if limit is None:
        return Paging(moment, None)
    if cursor is not None:
        try:
            position = readmodel.decode_cursor(cursor, question)
        except readmodel.InvalidCursor as exc:
            raise BadRequest(str(exc), field="cursor") from None
        if moment.known_at is not None and moment.known_at != position.known_at:
            raise BadRequest("was given at another `known_at`", field="cursor")
        if moment.known_at is None and position.known_at is not None:
            moment = await moment_at(router, watcher, position.known_at)
        return Paging(moment, position)
    if moment.known_at is None:
        head = await moment.store.head()
        if head.recorded_at is not None:
            moment = await moment_at(router, watcher, head.recorded_at)
    return Paging(moment, None)


def next_link(request: Request, next_cursor: str | None, known_at: _dt.datetime | None) -> dict:
    """The `Link` header naming the next page (the same query, its cursor and moment)."""
    if next_cursor is None:
        return {}
    query = {k: v for k, v in request.query_params.items() if k not in ("cursor", "known_at")}
    if known_at is not None:
        query["known_at"] = msgspec.json.encode(known_at).decode().strip('"')  # as in the body
    query["cursor"] = next_cursor
    return {"Link": f'<{request.url.path}?{urlencode(query)}>; rel="next"'}


async def ndjson_lines(
    items: AsyncIterator[msgspec.Struct] | AsyncIterator[msgspec.Raw], slot: StreamSlot
) -> AsyncIterator[bytes]:
    """One canonical JSON line per item (a `msgspec.Raw` is one already), sent
    `NDJSON_CHUNK_LINES` lines at a time; `slot` is given back at the end."""
    try:
        async with contextlib.aclosing(items):
            chunk: list[bytes] = []
            async for item in items:
                chunk.append(canonical_json(item))
                if len(chunk) == NDJSON_CHUNK_LINES:
                    yield b"\n".join(chunk) + b"\n"
                    chunk = []
            if chunk:
                yield b"\n".join(chunk) + b"\n"
    finally:
        slot.release()


def ndjson_stream(
    items: AsyncIterator[msgspec.Struct] | AsyncIterator[msgspec.Raw],
    moment: Moment,
    slot: StreamSlot,
) -> Stream:
    """The items as an NDJSON answer; `slot` (`stream_slot`) is given back when it ends, or,
    never started (the client left first), when it is collected."""
    lines = ndjson_lines(items, slot)
    slot.release_with(lines)
    return Stream(
        lines,
        media_type=NDJSON,
        headers={
            "Cache-Control": "no-store",
            LOG_SIZE_HEADER: str(moment.position),
            FOLD_VERSION_HEADER: str(FOLD_VERSION),
        },
    )


async def serve_page(
    request: Request,
    answers: AnswerCache,
    router: ReadRouter,
    key: tuple,
    moment: Moment,
    render: Callable[[], Awaitable[tuple[bytes, str | None]]],
) -> Response[bytes]:
    """`serve_cached` for a page, with the `Link` header of its next page."""
    rendered: list[str | None] = []

    async def body() -> bytes:
        data, next_cursor = await render()
        rendered.append(next_cursor)
        return data

    response = await serve_cached(request, answers, router, key, moment, body)
    if response.status_code == 304:
        return response
    # A page from the answer cache was not rendered now: its next cursor is in its own bytes.
    next_cursor = rendered[0] if rendered else _NEXT.decode(response.content).next
    response.headers.update(next_link(request, next_cursor, moment.known_at))
    return response


class _Next(msgspec.Struct):
    next: str | None = None


_NEXT = msgspec.json.Decoder(_Next)
