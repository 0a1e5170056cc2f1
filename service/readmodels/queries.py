"""Answers from the read models: list members, changes, search, and the projector's checkpoint."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as _dt
from collections import defaultdict
from collections.abc import Callable

import asyncpg
import msgspec

from projections import Change, Exit, Listing, Member, Product, RuleInForce
from projections.fold.listings import member_of
from projections.queries import diff_items
from projections.rows import normalize
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
        rows = await pool.fetch(sql.MEMBERS_NOW, _key(list_id), as_of)
    else:
        rows = await pool.fetch(sql.MEMBERS_AT, _key(list_id), as_of, known_at)
    members = []
    for row in rows:
        listing = msgspec.json.decode(bytes(row["body"]), type=Listing)
        member = member_of(row["entity"], listing, program)
        if member is not None:
            members.append(member)
    return tuple(members)


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
        before_rows = await pool.fetch(sql.ITEMS_ON_NOW, from_date)
        after_rows = await pool.fetch(sql.ITEMS_ON_NOW, to_date)
    else:
        before_rows = await pool.fetch(sql.ITEMS_ON_AT, from_date, known_at)
        after_rows = await pool.fetch(sql.ITEMS_ON_AT, to_date, known_at)
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


class EntitySummary(msgspec.Struct, frozen=True):
    id: str
    kind: str | None
    country: str | None
    names: dict[str, str]
    aliases: list[str]


async def search_entities(
    pool: asyncpg.Pool,
    query: str | None,
    *,
    kind: str | None = None,
    country: str | None = None,
    limit: int = 50,
) -> list[EntitySummary]:
    needle = normalize(query) if query else None
    rows = await pool.fetch(sql.SEARCH, needle or None, kind, country, limit)
    return [
        EntitySummary(
            id=r["entity"],
            kind=r["kind"],
            country=r["country"],
            names=msgspec.json.decode(bytes(r["names"])),
            aliases=msgspec.json.decode(bytes(r["aliases"])),
        )
        for r in rows
    ]


def _key(*parts: str) -> str:
    return msgspec.json.encode(list(parts)).decode()


async def stop_quietly(task: asyncio.Task[None] | None) -> None:
    if task is not None:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
