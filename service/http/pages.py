"""Long read answers a page at a time, or streamed as NDJSON: list members and changes.

The members and changes routes answer in one JSON document, as they always have, unless asked
otherwise: with `limit` (and then `cursor`, the `next_cursor` of the page before) they answer
one page; with `count=true` they add how many there are in all; with
`Accept: application/x-ndjson` they stream one JSON object a line, read from the database as it
is sent. A cursor carries the `known_at` of its first page: a later page without `known_at`
is read at that same moment, so pages at a pinned moment are one answer cut in pieces.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

import msgspec
from litestar import Request, Response
from litestar.datastructures import State
from litestar.response import Stream

from projections import Change, Member, canonical_json
from service.errors import BadRequest
from service.readmodels import queries
from service.readmodels.queries import InvalidCursor, PageCursor, decode_cursor

if TYPE_CHECKING:
    from service.http.reads import Moment

NDJSON = "application/x-ndjson"
MAX_LIMIT = 10_000


class MembersPage(msgspec.Struct, frozen=True, omit_defaults=True):
    list: str
    as_of: _dt.date
    known_at: _dt.datetime | None
    members: tuple[Member, ...]
    next_cursor: str | None = None
    """The `cursor` of the next page; absent on the last one."""
    count: int | None = None
    """How many members there are in all (with `count=true`)."""


class ChangesPage(msgspec.Struct, frozen=True, omit_defaults=True):
    from_date: _dt.date = msgspec.field(name="from")
    to_date: _dt.date = msgspec.field(name="to")
    known_at: _dt.datetime | None = None
    changes: tuple[Change, ...] = ()
    next_cursor: str | None = None
    count: int | None = None


def wants_stream(request: Request) -> bool:
    return NDJSON in request.headers.get("accept", "")


LIMIT_TEXT = f"answer one page of at most this many (1-{MAX_LIMIT})"
CURSOR_TEXT = "the next page: the next_cursor of the page before"
COUNT_TEXT = "true: add how many there are in all"
DEFAULT_LIMIT = 1000
"""The page size when a `cursor` is given without a `limit`."""


@dataclass(frozen=True)
class Asked:
    """The paging a request asked for: page size, where to start, whether to count."""

    limit: int | None
    cursor: PageCursor | None
    cursor_text: str | None
    count: bool

    @classmethod
    def of(
        cls,
        limit: str | None,
        cursor: str | None,
        count: str | None,
        question: tuple[str, ...],
    ) -> Asked:
        found = parse_cursor(cursor, question)
        return cls(parse_limit(limit), found, cursor if found else None, parse_count(count))

    @property
    def paged(self) -> bool:
        return self.limit is not None or self.cursor is not None or self.count

    @property
    def after(self) -> str:
        return self.cursor.after if self.cursor is not None else ""

    def known_at(self, asked: _dt.datetime | None) -> _dt.datetime | None:
        """The moment to answer at: the request's, else the cursor's (the first page's)."""
        if self.cursor is None:
            return asked
        if asked is not None and self.cursor.known_at != asked:
            raise BadRequest("was given for another known_at", field="cursor")
        return self.cursor.known_at

    def key(self) -> tuple:
        return (self.limit, self.cursor_text, self.count)


def parse_limit(value: str | None) -> int | None:
    if value is None or value == "":
        return None
    try:
        limit = int(value)
    except ValueError:
        raise BadRequest(f"must be a whole number from 1 to {MAX_LIMIT}", field="limit") from None
    if not 1 <= limit <= MAX_LIMIT:
        raise BadRequest(f"must be a whole number from 1 to {MAX_LIMIT}", field="limit")
    return limit


def parse_count(value: str | None) -> bool:
    if value is None or value in ("", "false", "0"):
        return False
    if value in ("true", "1"):
        return True
    raise BadRequest("must be true or false", field="count")


def parse_cursor(value: str | None, question: tuple[str, ...]) -> PageCursor | None:
    if value is None or value == "":
        return None
    try:
        return decode_cursor(value, question)
    except InvalidCursor as exc:
        raise BadRequest(str(exc), field="cursor") from None


async def members(
    request: Request, state: State, list_id: str, day: _dt.date, moment: Moment, asked: Asked
) -> Response[bytes] | Stream:
    """The members route's answer when paged, counted or streamed."""
    from service.http.reads import cached_answer, models_for

    if wants_stream(request):
        pool = await models_for(state, moment)
        found = queries.stream_list_members(
            pool, list_id, day, moment.known_at, after=asked.after, limit=asked.limit
        )
        return ndjson(found, moment)

    async def render() -> bytes:
        pool = await models_for(state, moment)
        if asked.limit is None and asked.cursor is None:  # counted only: the whole answer
            page = queries.Page(
                await queries.list_members(pool, list_id, day, moment.known_at), None
            )
        else:
            page = await queries.list_members_page(
                pool,
                list_id,
                day,
                moment.known_at,
                limit=asked.limit or DEFAULT_LIMIT,
                cursor=asked.cursor,
            )
        total = None
        if asked.count:
            total = await queries.count_list_members(pool, list_id, day, moment.known_at)
        answer = MembersPage(
            list=list_id,
            as_of=day,
            known_at=moment.known_at,
            members=page.items,
            next_cursor=page.next_cursor,
            count=total,
        )
        return canonical_json(answer)  # type: ignore[arg-type]

    key = ("members-page", list_id, day, *asked.key())
    return await cached_answer(request, state, key, moment, render)


async def changes(
    request: Request, state: State, start: _dt.date, end: _dt.date, moment: Moment, asked: Asked
) -> Response[bytes] | Stream:
    """The changes route's answer when paged, counted or streamed."""
    from service.http.reads import cached_answer, models_for

    after, skip = (asked.cursor.after, asked.cursor.skip) if asked.cursor else ("", 0)
    if wants_stream(request):
        pool = await models_for(state, moment)
        found = queries.stream_changes(pool, start, end, moment.known_at, after=after, skip=skip)
        return ndjson(_at_most(found, asked.limit), moment)

    async def render() -> bytes:
        pool = await models_for(state, moment)
        if asked.limit is None and asked.cursor is None:
            page = queries.Page(await queries.changes(pool, start, end, moment.known_at), None)
        else:
            page = await queries.changes_page(
                pool,
                start,
                end,
                moment.known_at,
                limit=asked.limit or DEFAULT_LIMIT,
                cursor=asked.cursor,
            )
        total = None
        if asked.count:
            total = await queries.count_changes(pool, start, end, moment.known_at)
        answer = ChangesPage(
            from_date=start,
            to_date=end,
            known_at=moment.known_at,
            changes=page.items,
            next_cursor=page.next_cursor,
            count=total,
        )
        return canonical_json(answer)  # type: ignore[arg-type]

    key = ("changes-page", start, end, *asked.key())
    return await cached_answer(request, state, key, moment, render)


async def _at_most(items: AsyncIterator[Change], limit: int | None) -> AsyncIterator[Change]:
    given = 0
    async with contextlib.aclosing(items):  # type: ignore[type-var]
        async for item in items:
            if limit is not None and given >= limit:
                return
            given += 1
            yield item


def ndjson(lines: AsyncIterator[Member] | AsyncIterator[Change], moment: Moment) -> Stream:
    """One canonical JSON object a line, sent as read (in blocks of about 64 KiB)."""

    async def encoded() -> AsyncIterator[bytes]:
        batch = bytearray()
        async with contextlib.aclosing(lines):  # type: ignore[type-var]
            async for item in lines:
                batch += canonical_json(item)  # type: ignore[arg-type]
                batch += b"\n"
                if len(batch) >= 64 * 1024:
                    yield bytes(batch)
                    batch.clear()
        if batch:
            yield bytes(batch)

    headers = {"Timeline-Log-Size": str(moment.position), "Cache-Control": "no-store"}
    return Stream(encoded(), media_type=NDJSON, headers=headers)
