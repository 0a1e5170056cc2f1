"""Answers from the read models: list members, changes and the projector's checkpoint (name
search is `service.readmodels.search`)."""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import datetime as _dt
from collections import defaultdict
from collections.abc import AsyncIterator, Callable

import anyio
import asyncpg
import msgspec

from projections import Change, Exit, Listing, Member, Product, RuleInForce, canonical_json
from projections.fold.listings import member_of
from projections.queries import diff_items
from service.eventlog.store import CONNECTION_ERRORS
from service.readmodels import sql

_ITEM_TYPES: dict[str, type[msgspec.Struct]] = {
    "listing": Listing,
    "rule": RuleInForce,
    "product": Product,
    "exit": Exit,
}


async def checkpoint(pool: asyncpg.Pool) -> int:
    """The last log position the read models (of this database) include."""
    return await pool.fetchval(sql.CHECKPOINT)


async def follow_projector(
    pool: asyncpg.Pool, on_progress: Callable[[int], None], poll: float = 1.0
) -> None:
    """With the projector in a process of its own (`timeline projections run`): report its
    progress, read from the database every `poll` seconds, for metrics and the read-model
    gate. Forever; connection errors just skip a beat."""
    while True:
        with contextlib.suppress(*CONNECTION_ERRORS, asyncpg.PostgresError):
            on_progress(await checkpoint(pool))
        await asyncio.sleep(poll)


def _decode_item(aspect: str, body: bytes) -> msgspec.Struct:
    return msgspec.json.decode(body, type=_ITEM_TYPES[aspect])


async def list_members(
    pool: asyncpg.Pool | asyncpg.Connection,
    list_id: str,
    as_of: _dt.date,
    known_at: _dt.datetime | None = None,
    program: str | None = None,
) -> tuple[Member, ...]:
    """Who was on `list_id` (under `program`) on `as_of`, as known at `known_at`: equals
    projections.list_members."""
    if known_at is None:
        rows = await pool.fetch(sql.MEMBERS_NOW, _key(list_id), as_of.isoformat())
    else:
        rows = await pool.fetch(sql.MEMBERS_AT, _key(list_id), as_of.isoformat(), known_at)
    members = []
    for row in rows:
        member = _member(row, program)
        if member is not None:
            members.append(member)
    return tuple(members)


async def list_members_json(
    pool: asyncpg.Pool | asyncpg.Connection,
    list_id: str,
    as_of: _dt.date,
    known_at: _dt.datetime | None = None,
    program: str | None = None,
) -> tuple[msgspec.Raw, ...]:
    """`list_members` as each member's canonical JSON (`msgspec.Raw`), made from the stored
    listings' bytes: the whole list's answer without a `Member` per member."""
    if known_at is None:
        rows = await pool.fetch(sql.MEMBERS_NOW, _key(list_id), as_of.isoformat())
    else:
        rows = await pool.fetch(sql.MEMBERS_AT, _key(list_id), as_of.isoformat(), known_at)
    found = (_member_json(row, program) for row in rows)
    return tuple(member for member in found if member is not None)


async def changes(
    pool: asyncpg.Pool | asyncpg.Connection,
    from_date: _dt.date,
    to_date: _dt.date,
    known_at: _dt.datetime | None = None,
) -> tuple[Change, ...]:
    """What changed between two world dates, as known at `known_at`: equals projections.changes."""
    if from_date > to_date:
        raise ValueError(f"from ({from_date}) must be on or before to ({to_date})")
    if known_at is None:
        before_rows = await pool.fetch(sql.ITEMS_ON_NOW, from_date.isoformat())
        after_rows = await pool.fetch(sql.ITEMS_ON_NOW, to_date.isoformat())
    else:
        before_rows = await pool.fetch(sql.ITEMS_ON_AT, from_date.isoformat(), known_at)
        after_rows = await pool.fetch(sql.ITEMS_ON_AT, to_date.isoformat(), known_at)
    old: dict[str, dict] = defaultdict(dict)
    new: dict[str, dict] = defaultdict(dict)
    removed: dict[str, dict] = defaultdict(dict)
    for row in before_rows:
        if row["present"]:
            ref = (row["aspect"], tuple(msgspec.json.decode(row["key"])))
            old[row["entity"]][ref] = _decode_item(row["aspect"], bytes(row["body"]))
    for row in after_rows:
        ref = (row["aspect"], tuple(msgspec.json.decode(row["key"])))
        if row["present"]:
            new[row["entity"]][ref] = _decode_item(row["aspect"], bytes(row["body"]))
        else:
            removed[row["entity"]][ref] = msgspec.json.decode(bytes(row["body"]))["removed_by"]
    out: list[Change] = []
    for entity in sorted(set(old) | set(new)):
        out.extend(diff_items(entity, old[entity], new[entity], removed[entity]))
    return tuple(out)


# ------------------------------------------------------------------- pages and streams
#
# A long answer (a list of tens of thousands of members, the changes of a year) is read a page
# at a time, or streamed: rows are read through a server-side cursor, entity by entity in
# code-point order, and turned into members or changes as they come, never the whole answer
# in memory. A page's cursor names where the next one starts (the last entity given and, for
# changes, how many of its changes were given) and the question it belongs to; it carries
# `known_at`, so with a pinned `known_at` the pages are exactly the whole answer cut in
# pieces, however the log grows meanwhile. Without one, each page is read as of now.

STREAM_PREFETCH = 1000


class InvalidCursor(ValueError):
    """A cursor that is not one this service made, or made for another question."""


class PageCursor(msgspec.Struct, frozen=True, array_like=True):
    question: tuple[str, ...]
    known_at: _dt.datetime | None
    after: str
    skip: int = 0


def encode_cursor(cursor: PageCursor) -> str:
    return base64.urlsafe_b64encode(msgspec.json.encode(cursor)).rstrip(b"=").decode()


def decode_cursor(text: str, question: tuple[str, ...]) -> PageCursor:
    """The cursor `text` stands for; InvalidCursor unless it was made for `question`."""
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
        cursor = msgspec.json.decode(raw, type=PageCursor)
    except (binascii.Error, ValueError, msgspec.ValidationError):
        raise InvalidCursor("is not a cursor this service gave") from None
    if cursor.question != question or cursor.skip < 0:
        raise InvalidCursor("was given for another question") from None
    if cursor.known_at is not None and cursor.known_at.tzinfo is None:
        raise InvalidCursor("is not a cursor this service gave")
    return cursor


class Page(msgspec.Struct, frozen=True):
    items: tuple
    next_cursor: str | None
    """None on the last page."""


def members_question(list_id: str, as_of: _dt.date, program: str | None = None) -> tuple[str, ...]:
    """What a members cursor belongs to: the list, the day and the programme ('' for none)."""
    return ("members", list_id, as_of.isoformat(), program or "")


def changes_question(from_date: _dt.date, to_date: _dt.date) -> tuple[str, ...]:
    return ("changes", from_date.isoformat(), to_date.isoformat())


def _member(row: asyncpg.Record, program: str | None) -> Member | None:
    """The row's listing as a member (under `program`: None when it has no open designation
    under it)."""
    listing = msgspec.json.decode(row["body"], type=Listing)
    return member_of(row["entity"], listing, program)


class _MemberFields(msgspec.Struct):
    """What a member takes from its listing, as the listing's canonical JSON has it."""

    since: msgspec.Raw
    certainty: msgspec.Raw
    event_ids: msgspec.Raw


_MEMBER_FIELDS = msgspec.json.Decoder(_MemberFields)


def member_json(entity: str, listing_json: bytes) -> msgspec.Raw:
    """`canonical_json(member_of(entity, listing))` from the listing's canonical JSON (a
    stored row's body), without decoding the listing: a member is the listing's `since`,
    `certainty` and `event_ids`, whose bytes in the body are already canonical, with `entity`.
    The fields are written in sorted order, as `canonical_json` writes them."""
    fields = _MEMBER_FIELDS.decode(listing_json)
    return msgspec.Raw(
        b"".join(
            (
                b'{"certainty":',
                fields.certainty,
                b',"entity":',
                msgspec.json.encode(entity),
                b',"event_ids":',
                fields.event_ids,
                b',"since":',
                fields.since,
                b"}",
            )
        )
    )


def _member_json(row: asyncpg.Record, program: str | None) -> msgspec.Raw | None:
    """`_member`'s canonical JSON: without a programme straight from the body; with one the
    listing is decoded (which designations are open under it decides the member)."""
    if program is None:
        return member_json(row["entity"], row["body"])
    member = _member(row, program)
    return None if member is None else msgspec.Raw(canonical_json(member))


def _members_args(
    list_id: str, as_of: _dt.date, known_at: _dt.datetime | None, after: str, limit: int | None
) -> tuple[str, list]:
    args: list = [_key(list_id), as_of.isoformat(), after, limit]
    if known_at is None:
        return sql.MEMBERS_PAGE_NOW, args
    return sql.MEMBERS_PAGE_AT, [*args, known_at]


async def stream_list_members(
    pool: asyncpg.Pool,
    list_id: str,
    as_of: _dt.date,
    known_at: _dt.datetime | None = None,
    program: str | None = None,
    *,
    after: str = "",
    limit: int | None = None,
) -> AsyncIterator[Member]:
    """The members of `list_id` (under `program`) as `list_members` gives them, in entity order
    after `after`, read through a server-side cursor `STREAM_PREFETCH` rows at a time: only
    those rows are held. `limit` caps the rows read (each row is at most one member)."""
    query, args = _members_args(list_id, as_of, known_at, after, limit)
    async with contextlib.aclosing(_rows(pool, query, args)) as rows:
        async for row in rows:
            member = _member(row, program)
            if member is not None:
                yield member


async def stream_list_members_json(
    pool: asyncpg.Pool,
    list_id: str,
    as_of: _dt.date,
    known_at: _dt.datetime | None = None,
    program: str | None = None,
) -> AsyncIterator[msgspec.Raw]:
    """`stream_list_members` as each member's canonical JSON (what an NDJSON line is), made
    from the stored listing's bytes (`member_json`) rather than through a `Member`."""
    query, args = _members_args(list_id, as_of, known_at, "", None)
    async with contextlib.aclosing(_rows(pool, query, args)) as rows:
        async for row in rows:
            member = _member_json(row, program)
            if member is not None:
                yield member


async def _rows(pool: asyncpg.Pool, query: str, args: list) -> AsyncIterator[asyncpg.Record]:
    """The rows of `query` through a server-side cursor, in a read-only transaction on a
    connection of its own. However the reading ends (the last row, an early `aclose`, or the
    reader cancelled because its client left an HTTP stream) the transaction is rolled back
    shielded from cancellation, so the connection goes back to the pool clean."""
    async with pool.acquire() as conn:
        transaction = conn.transaction(readonly=True)
        await transaction.start()
        try:
            async for row in conn.cursor(query, *args, prefetch=STREAM_PREFETCH):
                yield row
        finally:
            with anyio.CancelScope(shield=True):
                await transaction.rollback()


async def list_members_page(
    pool: asyncpg.Pool | asyncpg.Connection,
    list_id: str,
    as_of: _dt.date,
    known_at: _dt.datetime | None = None,
    program: str | None = None,
    *,
    limit: int,
    cursor: PageCursor | None = None,
) -> Page:
    """At most `limit` members (under `program`), from `cursor` on (None: the first page).
    Without a programme one keyset query of `limit + 1` rows; with one, rows are read through
    a cursor until `limit + 1` members are found (rows outside the programme are passed by)."""
    return await _members_page(
        pool, list_id, as_of, known_at, program, limit=limit, cursor=cursor, member=_member
    )


async def list_members_page_json(
    pool: asyncpg.Pool | asyncpg.Connection,
    list_id: str,
    as_of: _dt.date,
    known_at: _dt.datetime | None = None,
    program: str | None = None,
    *,
    limit: int,
    cursor: PageCursor | None = None,
) -> Page:
    """`list_members_page` whose items are the members' canonical JSON (`msgspec.Raw`, encoded
    as they are inside a larger answer), made from the stored listings' bytes."""
    return await _members_page(
        pool, list_id, as_of, known_at, program, limit=limit, cursor=cursor, member=_member_json
    )


async def _members_page(
    pool: asyncpg.Pool | asyncpg.Connection,
    list_id: str,
    as_of: _dt.date,
    known_at: _dt.datetime | None,
    program: str | None,
    *,
    limit: int,
    cursor: PageCursor | None,
    member: Callable[[asyncpg.Record, str | None], object | None],
) -> Page:
    if limit < 1:
        raise ValueError("limit must be at least 1")
    after = cursor.after if cursor is not None else ""
    found: list = []
    last_entity = after
    if program is None:
        query, args = _members_args(list_id, as_of, known_at, after, limit + 1)
        rows = await pool.fetch(query, *args)
        for row in rows[:limit]:
            found.append(member(row, None))
        more = len(rows) > limit
        if found:
            last_entity = rows[len(found) - 1]["entity"]
    else:
        assert isinstance(pool, asyncpg.Pool), "a programme's page streams from a pool"
        query, args = _members_args(list_id, as_of, known_at, after, None)
        more = False
        async with contextlib.aclosing(_rows(pool, query, args)) as stream:
            async for row in stream:
                item = member(row, program)
                if item is None:
                    continue
                if len(found) == limit:
                    more = True
                    break
                found.append(item)
                last_entity = row["entity"]
    next_cursor = None
    if more:
        question = members_question(list_id, as_of, program)
        next_cursor = encode_cursor(PageCursor(question, known_at, last_entity))
    return Page(items=tuple(found), next_cursor=next_cursor)


async def count_list_members(
    pool: asyncpg.Pool,
    list_id: str,
    as_of: _dt.date,
    known_at: _dt.datetime | None = None,
    program: str | None = None,
) -> int:
    """How many members `list_members` gives: a count(*) of rows, or with `program` a count of
    the members streamed by (a row outside the programme is no member of it)."""
    if program is not None:
        counted = 0
        async for _ in stream_list_members(pool, list_id, as_of, known_at, program):
            counted += 1
        return counted
    if known_at is None:
        return await pool.fetchval(sql.MEMBERS_COUNT_NOW, _key(list_id), as_of.isoformat())
    return await pool.fetchval(sql.MEMBERS_COUNT_AT, _key(list_id), as_of.isoformat(), known_at)


async def count_list_members_by_program(
    pool: asyncpg.Pool | asyncpg.Connection,
    list_id: str,
    as_of: _dt.date,
    known_at: _dt.datetime | None = None,
) -> dict[str, int]:
    """How many members `list_id` had under each programme on `as_of`, as known at `known_at`,
    in one query: `{program: len(list_members(..., program=program))}` for every programme
    with a member (a member designated under two programmes counts in both)."""
    if known_at is None:
        rows = await pool.fetch(sql.MEMBERS_BY_PROGRAM_NOW, _key(list_id), as_of.isoformat())
    else:
        rows = await pool.fetch(
            sql.MEMBERS_BY_PROGRAM_AT, _key(list_id), as_of.isoformat(), known_at
        )
    return {row["program"]: row["members"] for row in rows}


async def stream_changes(
    pool: asyncpg.Pool,
    from_date: _dt.date,
    to_date: _dt.date,
    known_at: _dt.datetime | None = None,
    *,
    after: str = "",
    skip: int = 0,
) -> AsyncIterator[Change]:
    """The changes `changes` gives, in the same order, from the entity `after` on (less the
    first `skip` of its own), one entity's at a time: only one entity's items are held."""
    if from_date > to_date:
        raise ValueError(f"from ({from_date}) must be on or before to ({to_date})")
    args: list = [from_date.isoformat(), to_date.isoformat(), after]
    query = sql.ITEMS_ON_EITHER_NOW
    if known_at is not None:
        query, args = sql.ITEMS_ON_EITHER_AT, [*args, known_at]
    async with contextlib.aclosing(_rows(pool, query, args)) as rows:
        entity: str | None = None
        old: dict = {}
        new: dict = {}
        removed: dict = {}
        async for row in rows:
            if row["entity"] != entity:
                if entity is not None:
                    for change in _diff(entity, old, new, removed, skip if entity == after else 0):
                        yield change
                entity, old, new, removed = row["entity"], {}, {}, {}
            ref = (row["aspect"], tuple(msgspec.json.decode(row["key"])))
            body = bytes(row["body"])
            if row["on_from"] and row["present"]:
                old[ref] = _decode_item(row["aspect"], body)
            if row["on_to"]:
                if row["present"]:
                    new[ref] = _decode_item(row["aspect"], body)
                else:
                    removed[ref] = msgspec.json.decode(body)["removed_by"]
        if entity is not None:
            for change in _diff(entity, old, new, removed, skip if entity == after else 0):
                yield change


def _diff(entity: str, old: dict, new: dict, removed: dict, skip: int) -> list[Change]:
    if not old and not new:
        return []
    return diff_items(entity, old, new, removed)[skip:]


async def changes_page(
    pool: asyncpg.Pool,
    from_date: _dt.date,
    to_date: _dt.date,
    known_at: _dt.datetime | None = None,
    *,
    limit: int,
    cursor: PageCursor | None = None,
) -> Page:
    """At most `limit` changes, from `cursor` on (None: the first page)."""
    if limit < 1:
        raise ValueError("limit must be at least 1")
    after, skip = (cursor.after, cursor.skip) if cursor is not None else ("", 0)
    found: list[Change] = []
    more = False
    taken_of_last = skip
    stream = stream_changes(pool, from_date, to_date, known_at, after=after, skip=skip)
    async with contextlib.aclosing(stream):
        async for change in stream:
            if len(found) == limit:
                more = True
                break
            if (found and change.entity == found[-1].entity) or (
                not found and change.entity == after
            ):
                taken_of_last += 1
            else:
                taken_of_last = 1
            found.append(change)
    next_cursor = None
    if more:
        question = changes_question(from_date, to_date)
        next_cursor = encode_cursor(PageCursor(question, known_at, found[-1].entity, taken_of_last))
    return Page(items=tuple(found), next_cursor=next_cursor)


async def count_changes(
    pool: asyncpg.Pool,
    from_date: _dt.date,
    to_date: _dt.date,
    known_at: _dt.datetime | None = None,
) -> int:
    """How many changes `changes` gives (counted as they stream by)."""
    counted = 0
    async for _ in stream_changes(pool, from_date, to_date, known_at):
        counted += 1
    return counted


def _key(*parts: str) -> str:
    return msgspec.json.encode(list(parts)).decode()


async def stop_quietly(task: asyncio.Task[None] | None) -> None:
    if task is not None:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
