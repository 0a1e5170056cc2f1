"""The event store: append-only log in PostgreSQL, with group commit.

Appends are serialised by a transaction-scoped advisory lock, taken before the writer reads
the log head. That is what makes positions gap-free *and* in commit order: position N+1 is
assigned only after the transaction holding N has committed and released the lock, so a
reader that sees N+1 always sees N, and a reader paging by `position > cursor` can never skip
an event that commits late. `recorded_at` is read from the database clock after the lock,
and never goes backwards, so an answer "as known at K" cannot change once K is below the head.

Throughput comes from group commit inside one process: concurrent `append` calls queue their
batches, and one writer task commits every batch queued so far in a single transaction (one
lock, one COPY, one fsync). Each batch is still all-or-nothing: batches are validated one by
one against the log plus the batches accepted before them in the group, and a refused batch
adds nothing. Several processes each do the same; the lock serialises them.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as _dt
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import asyncpg

from events import GENESIS_HASH, AnyEvent, RecordedEvent, canonical, type_name, with_id
from events.admission import Candidate, Rejection, admit
from events.codec import ChainAt
from service.errors import (
    DatabaseUnavailable,
    DomainError,
    IdConflict,
    StalePosition,
    UnknownReference,
)

APPEND_LOCK_KEY = 0x6C6F_6761_7070  # "logapp"
NOTIFY_CHANNEL = "timeline_log"
MAX_GROUP_EVENTS = 5000
WRITER_LINGER = 0.05
CONNECTION_ERRORS = (
    OSError,
    TimeoutError,
    asyncpg.InterfaceError,
    asyncpg.PostgresConnectionError,
    asyncpg.CannotConnectNowError,
    # The server is stopping or restarting (pg_ctl stop -m fast / a crash of another backend):
    # what a statement in flight gets. Transient, like the others: 503, retry later.
    asyncpg.AdminShutdownError,
    asyncpg.CrashShutdownError,
    asyncpg.TooManyConnectionsError,
)

EVENT_COLUMNS = (
    "position",
    "id",
    "entity",
    "type",
    "schema_version",
    "occurred",
    "occurred_start",
    "occurred_end",
    "precision",
    "recorded_at",
    "payload",
    "prev_hash",
    "hash",
)
SELECT_RECORDED = (
    "SELECT position, type, entity, recorded_at, schema_version, prev_hash, hash, payload"
)

# One round trip for both; the lock key is APPEND_LOCK_KEY (a literal: a simple-query message
# cannot carry parameters).
_BEGIN_AND_LOCK = f"BEGIN; SELECT pg_advisory_xact_lock({APPEND_LOCK_KEY})"
_COPY_ABOVE = 64
# Read in a statement of its own, after the lock: in READ COMMITTED each statement takes a new
# snapshot, so this one sees the transaction that released the lock.

_HEAD_CLOCK_REGISTERED = """
SELECT clock_timestamp() AS now, h.position, h.hash, h.recorded_at,
    ARRAY(
        SELECT DISTINCT entity FROM events
        WHERE type = 'EntityRegistered' AND entity = ANY($1::text[])
    ) AS registered,
    EXISTS (SELECT 1 FROM events WHERE id = ANY($2::uuid[])) AS any_known
FROM (SELECT 1) AS one
LEFT JOIN LATERAL (
    SELECT position, hash, recorded_at FROM events ORDER BY position DESC LIMIT 1
) AS h ON true
"""
_INSERT_SMALL = """
WITH appended AS (
    INSERT INTO events (position, id, entity, type, schema_version, occurred, occurred_start,
                        occurred_end, precision, recorded_at, payload, prev_hash, hash)
    SELECT * FROM unnest($1::bigint[], $2::uuid[], $3::text[], $4::text[], $5::int[],
                         $6::text[], $7::date[], $8::date[], $9::text[], $10::timestamptz[],
                         $11::bytea[], $12::bytea[], $13::bytea[])
    RETURNING position
)
INSERT INTO event_refs (position, ref, field)
SELECT * FROM unnest($14::bigint[], $15::text[], $16::text[])
WHERE (SELECT count(*) FROM appended) > 0
"""
_BY_IDS = f"{SELECT_RECORDED}, id FROM events WHERE id = ANY($1::uuid[])"
_STREAM_HEADS = (
    "SELECT entity, max(position) AS position FROM events WHERE entity = ANY($1::text[]) "
    "GROUP BY entity"
)
_HEAD = "SELECT position, hash, recorded_at FROM events ORDER BY position DESC LIMIT 1"
LOG_SIZE = "SELECT coalesce(max(position), 0) FROM events"
"""The log's size: its last position (0 when empty). The one copy of this query."""
_POSITION_AT = "SELECT coalesce(max(position), 0) FROM events WHERE recorded_at <= $1"
_FAR_FUTURE = _dt.datetime.max.replace(tzinfo=_dt.UTC)
_ENTITY_EVENTS = (
    f"{SELECT_RECORDED} FROM events WHERE entity = $1 AND recorded_at <= $2 ORDER BY position"
)
_ENTITY_EVENTS_ALL = f"{SELECT_RECORDED} FROM events WHERE entity = $1 ORDER BY position"
# An entity's own stream and the streams of rules whose issuance names it, as known at $2.
_RELEVANT = f"""
{SELECT_RECORDED} FROM events
WHERE recorded_at <= $2 AND position <= $3
  -- `= ANY(array)` rather than `= $1 OR IN (subquery)`, so the (entity, position) index is used
  AND entity = ANY(ARRAY[$1::text] || ARRAY(
        SELECT e.entity FROM event_refs r JOIN events e ON e.position = r.position
        WHERE r.ref = $1 AND e.recorded_at <= $2
          AND (e.type = 'RuleIssued' OR r.field IN ('owner', 'parent'))
  ))
ORDER BY position
"""  # noqa: S608 - built once from constants
_REGISTRATIONS = f"""
{SELECT_RECORDED} FROM events
WHERE type = 'EntityRegistered' AND entity = ANY($1::text[]) AND recorded_at <= $2
ORDER BY position
"""
_EVENTS_OF = f"""
{SELECT_RECORDED} FROM events
WHERE ($1::text[] IS NULL OR entity = ANY($1::text[])) AND recorded_at <= $2 AND position <= $3
ORDER BY position
"""
_AFTER = f"{SELECT_RECORDED} FROM events WHERE position > $1 ORDER BY position LIMIT $2"
_AFTER_FILTERED = (
    f"{SELECT_RECORDED} FROM events WHERE position > $1 "
    "AND ($3::text IS NULL OR entity = $3) AND ($4::text[] IS NULL OR type = ANY($4::text[])) "
    "ORDER BY position LIMIT $2"
)


@dataclass(frozen=True, slots=True)
class LogHead:
    position: int
    hash: bytes
    recorded_at: _dt.datetime | None


@dataclass(frozen=True, slots=True)
class Appended:
    """The answer to one batch: every event as stored, its id (assigned by the log when the
    writer gave none), and how many were new."""

    events: list[RecordedEvent]
    new: int
    ids: list[uuid.UUID] = field(default_factory=list)


@dataclass(slots=True)
class _Batch:
    events: list[Candidate]
    expected: dict[str, int]
    future: asyncio.Future[Appended]


@dataclass(slots=True)
class _Overlay:
    """What the group has accepted so far, on top of what the database held at lock time."""

    known: dict[uuid.UUID, RecordedEvent] = field(default_factory=dict)
    registered: set[str] = field(default_factory=set)
    stream_heads: dict[str, int] = field(default_factory=dict)


_REFUSALS: dict[str, type[DomainError]] = {
    "unknown-reference": UnknownReference,
    "id-conflict": IdConflict,
    "stale-position": StalePosition,
}


def _refusal(rejection: Rejection) -> DomainError:
    """The service error for a rejection by the admission rules."""
    extra = dict(rejection.extra)
    if rejection.index is not None:
        extra["index"] = rejection.index
    return _REFUSALS[rejection.kind](rejection.detail, field=rejection.field, **extra)


def recorded_from_row(row: asyncpg.Record) -> RecordedEvent:
    return RecordedEvent(
        position=row["position"],
        type=row["type"],
        entity=row["entity"],
        recorded_at=row["recorded_at"],
        schema_version=row["schema_version"],
        prev_hash=bytes(row["prev_hash"]),
        hash=bytes(row["hash"]),
        payload=bytes(row["payload"]),
    )


class EventStore:
    """Append and read the log. One per process; safe for concurrent use by many tasks."""

    def __init__(self, pool: asyncpg.Pool, *, max_group_events: int = MAX_GROUP_EVENTS) -> None:
        self._pool = pool
        self._max_group_events = max_group_events
        self._queue: list[_Batch] = []
        self._writer: asyncio.Task[None] | None = None
        self._more = asyncio.Event()

    # ---------------------------------------------------------------- append

    async def append(
        self, events: Sequence[AnyEvent], *, expected: Mapping[str, int] | None = None
    ) -> Appended:
        """Append a batch atomically. Idempotent by event id; raises a DomainError if refused.

        `expected` maps an entity id to the position of the last event of its stream the
        writer has seen (0: none); if the stream has moved, the batch is refused.
        """
        prepared = []
        for event in events:
            event_id = event.id
            if event_id is None:
                event_id = uuid.uuid4()
                event = with_id(event, event_id)
            prepared.append(Candidate(event=event, id=event_id, payload=canonical(event)))
        if not prepared:
            return Appended(events=[], new=0)
        future: asyncio.Future[Appended] = asyncio.get_running_loop().create_future()
        self._queue.append(_Batch(prepared, dict(expected or {}), future))
        self._more.set()
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._drain())
        return await future

    async def _drain(self) -> None:
        # Loop until the queue is empty *after* the connection went back to the pool: an append
        # that arrived while it was being released saw this task still running and relies on
        # it (there is no await between the last check and the end of the task).
        while self._queue:
            try:
                async with self._pool.acquire() as conn:
                    await self._drain_on(conn)
            except BaseException as exc:
                # No connection to be had (or a bug): fail what is queued, never leave a waiter
                # hanging; the next append starts afresh.
                error: BaseException = (
                    DatabaseUnavailable(f"the log could not be written: {exc}")
                    if isinstance(exc, CONNECTION_ERRORS)
                    else exc
                )
                while self._queue:
                    batch = self._queue.pop(0)
                    if not batch.future.done():
                        batch.future.set_exception(error)
                if not isinstance(exc, Exception):
                    raise

    async def _drain_on(self, conn: asyncpg.Connection) -> None:
        """Commit groups on one connection (no pool round trip per group) until none is queued,
        then keep the connection a moment (`WRITER_LINGER` s) for the next append: a client
        appending one event after another would otherwise pay a connection reset each time."""
        while True:
            if not self._queue:
                self._more.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._more.wait(), WRITER_LINGER)
                if not self._queue:
                    return
            group: list[_Batch] = []
            size = 0
            while self._queue and (
                not group or size + len(self._queue[0].events) <= self._max_group_events
            ):
                batch = self._queue.pop(0)
                group.append(batch)
                size += len(batch.events)
            broken = False
            try:
                outcomes = await self._commit_group(conn, group)
            except CONNECTION_ERRORS as exc:
                error: BaseException = DatabaseUnavailable(f"the log could not be written: {exc}")
                outcomes = [error] * len(group)
                broken = True
            except asyncpg.UniqueViolationError as exc:
                # Only a writer that bypasses the lock can cause this; say it in domain terms.
                outcomes = [
                    IdConflict(f"an event id is already in the log: {exc.detail}", field="id")
                ] * len(group)
            except BaseException as exc:  # pragma: no cover - unexpected; fail every waiter
                outcomes = [exc] * len(group)
            for batch, outcome in zip(group, outcomes, strict=True):
                if batch.future.done():
                    continue
                if isinstance(outcome, BaseException):
                    batch.future.set_exception(outcome)
                else:
                    batch.future.set_result(outcome)
            if broken:
                return

    async def _commit_group(
        self, conn: asyncpg.Connection, group: list[_Batch]
    ) -> list[Appended | BaseException]:
        # The ids the group names, as a list: hashing 1,000 UUIDs into a set costs more (a
        # Python __hash__ each) than the database spends on a repeated element of `= ANY`.
        wanted = [p.id for b in group for p in b.events]
        wanted += [s for b in group for p in b.events for s in p.event.supersedes]
        entities = set()
        for batch in group:
            for p in batch.events:
                entities.add(p.event.entity)
                entities.update(p.event.referenced_entities().values())
        expected_entities = {e for b in group for e in b.expected}

        await conn.execute(_BEGIN_AND_LOCK)
        try:
            outcomes = await self._write_group(conn, group, wanted, entities, expected_entities)
            await conn.execute("COMMIT")
        except BaseException:
            if not conn.is_closed():
                with contextlib.suppress(*CONNECTION_ERRORS, asyncpg.PostgresError):
                    await conn.execute("ROLLBACK")
            raise
        return outcomes

    async def _write_group(
        self,
        conn: asyncpg.Connection,
        group: list[_Batch],
        wanted: list[uuid.UUID],
        entities: set[str],
        expected_entities: set[str],
    ) -> list[Appended | BaseException]:
        """Under the append lock: validate each batch, chain and insert the accepted ones."""
        head = await conn.fetchrow(_HEAD_CLOCK_REGISTERED, list(entities), wanted)
        known_rows = await conn.fetch(_BY_IDS, wanted) if head["any_known"] else []
        registered = set(head["registered"])
        stream_heads: dict[str, int] = {}
        if expected_entities:
            stream_heads = {
                r["entity"]: r["position"]
                for r in await conn.fetch(_STREAM_HEADS, list(expected_entities))
            }

        position = head["position"] or 0
        prev_hash = bytes(head["hash"]) if head["hash"] is not None else GENESIS_HASH
        recorded_at: _dt.datetime = head["now"]
        if head["recorded_at"] is not None and recorded_at <= head["recorded_at"]:
            recorded_at = head["recorded_at"] + _dt.timedelta(microseconds=1)

        chain = ChainAt(recorded_at)
        overlay = _Overlay(
            known={r["id"]: recorded_from_row(r) for r in known_rows},
            registered=registered,
            stream_heads=stream_heads,
        )
        rows: list[tuple] = []
        refs: list[tuple[int, str, str]] = []
        outcomes: list[Appended | BaseException] = []
        for batch in group:
            try:
                accepted, stored, position, prev_hash = self._apply(
                    batch, overlay, position, prev_hash, recorded_at, chain
                )
            except (UnknownReference, IdConflict, StalePosition) as exc:
                outcomes.append(exc)
                continue
            rows.extend(row for row, _ in accepted)
            refs.extend(ref for _, row_refs in accepted for ref in row_refs)
            outcomes.append(
                Appended(events=stored, new=len(accepted), ids=[p.id for p in batch.events])
            )
        if len(rows) > _COPY_ABOVE:
            await conn.copy_records_to_table("events", records=rows, columns=EVENT_COLUMNS)
            if refs:
                await conn.copy_records_to_table(
                    "event_refs", records=refs, columns=("position", "ref", "field")
                )
        elif rows:
            # Few rows: one statement for both tables saves the COPY round trips.
            columns = list(zip(*rows, strict=True))
            ref_columns = list(zip(*refs, strict=True)) if refs else [[], [], []]
            await conn.execute(_INSERT_SMALL, *columns, *ref_columns)
        return outcomes

    def _apply(
        self,
        batch: _Batch,
        overlay: _Overlay,
        position: int,
        prev_hash: bytes,
        recorded_at: _dt.datetime,
        chain: ChainAt,
    ) -> tuple[list[tuple[tuple, list[tuple[int, str, str]]]], list[RecordedEvent], int, bytes]:
        """Validate one batch against the overlay; on success fold it in. All or nothing.

        Returns (row, its references) for each new event, the stored events, and the new head.
        """
        try:
            fresh = admit(
                batch.events,
                batch.expected,
                known=overlay.known,
                registered=overlay.registered,
                stream_heads=overlay.stream_heads,
            )
        except Rejection as rejection:
            raise _refusal(rejection) from None
        # Admitted as a whole: fold it into the overlay.
        known = overlay.known
        rows: list[tuple[tuple, list[tuple[int, str, str]]]] = []
        stored: list[RecordedEvent] = []
        for p, is_new in zip(batch.events, fresh, strict=True):
            if not is_new:
                stored.append(known[p.id])
                continue
            event = p.event
            tag = type_name(event)
            position += 1
            schema_version = type(event).schema_version
            digest = chain.hash(
                prev_hash, payload=p.payload, position=position, schema_version=schema_version
            )
            recorded = RecordedEvent(
                position=position,
                type=tag,
                entity=event.entity,
                recorded_at=recorded_at,
                schema_version=schema_version,
                prev_hash=prev_hash,
                hash=digest,
                payload=p.payload,
            )
            occurred = event.occurred
            refs = [(position, ref, name) for name, ref in event.referenced_entities().items()]
            rows.append(
                (
                    (
                        position,
                        p.id,
                        event.entity,
                        tag,
                        schema_version,
                        str(occurred),
                        occurred.start,
                        occurred.end,
                        occurred.precision,
                        recorded_at,
                        p.payload,
                        prev_hash,
                        digest,
                    ),
                    refs,
                )
            )
            stored.append(recorded)
            known[p.id] = recorded
            if tag == "EntityRegistered":
                overlay.registered.add(event.entity)
            prev_hash = digest

        heads = overlay.stream_heads
        for r in stored:
            if r.position > heads.get(r.entity, 0):
                heads[r.entity] = r.position
        return rows, stored, position, prev_hash

    # ---------------------------------------------------------------- read

    async def head(self) -> LogHead:
        row = await self._pool.fetchrow(_HEAD)
        if row is None:
            return LogHead(position=0, hash=GENESIS_HASH, recorded_at=None)
        return LogHead(
            position=row["position"], hash=bytes(row["hash"]), recorded_at=row["recorded_at"]
        )

    async def entity_events(
        self, entity: str, *, known_at: _dt.datetime | None = None
    ) -> list[RecordedEvent]:
        """One entity's events in position order, those recorded at or before `known_at`."""
        if known_at is None:
            rows = await self._pool.fetch(_ENTITY_EVENTS_ALL, entity)
        else:
            rows = await self._pool.fetch(_ENTITY_EVENTS, entity, known_at)
        return [recorded_from_row(r) for r in rows]

    async def relevant_events(
        self, entity: str, *, known_at: _dt.datetime | None = None, upto: int | None = None
    ) -> list[RecordedEvent]:
        """What an entity's state is folded from: its own stream, the streams of the rules
        that name it and of the companies that name it as owner or parent, recorded at or
        before `known_at` and at or below position `upto` (None: no bound), by position."""
        rows = await self._pool.fetch(
            _RELEVANT, entity, known_at or _FAR_FUTURE, upto if upto is not None else 2**62
        )
        return [recorded_from_row(r) for r in rows]

    async def registrations(
        self, entities: Sequence[str], *, known_at: _dt.datetime | None = None
    ) -> list[RecordedEvent]:
        """The registration events of `entities` recorded at or before `known_at`."""
        rows = await self._pool.fetch(_REGISTRATIONS, list(entities), known_at or _FAR_FUTURE)
        return [recorded_from_row(r) for r in rows]

    async def events_of(
        self,
        entities: Sequence[str] | None,
        *,
        known_at: _dt.datetime | None = None,
        upto: int | None = None,
    ) -> list[RecordedEvent]:
        """The events of `entities` (None: every entity) as known at `known_at`, by position."""
        rows = await self._pool.fetch(
            _EVENTS_OF,
            list(entities) if entities is not None else None,
            known_at or _FAR_FUTURE,
            upto if upto is not None else 2**62,
        )
        return [recorded_from_row(r) for r in rows]

    async def position_known_at(self, known_at: _dt.datetime) -> int:
        """The last position recorded at or before `known_at` (0: none)."""
        return await self._pool.fetchval(_POSITION_AT, known_at)

    async def read_after(
        self,
        after: int,
        limit: int,
        *,
        entity: str | None = None,
        types: Sequence[str] | None = None,
    ) -> list[RecordedEvent]:
        """A page of the log: events with position > `after`, in position order."""
        if entity is None and types is None:
            rows = await self._pool.fetch(_AFTER, after, limit)
        else:
            rows = await self._pool.fetch(
                _AFTER_FILTERED, after, limit, entity, list(types) if types is not None else None
            )
        return [recorded_from_row(r) for r in rows]
