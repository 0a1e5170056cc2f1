"""Export the log from PostgreSQL as NDJSON (the format: `projections.audit.export_format`).

Paged by position: positions are immutable and gap-free, so the export is a consistent prefix of
the log without holding a snapshot open.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
from collections.abc import Sequence
from typing import BinaryIO

import asyncpg
import msgspec

from events import GENESIS_HASH
from projections.audit.export_format import OutLine, Progress, timestamp_text
from service.eventlog.store import LOG_SIZE

EXPORT_PAGE = 5_000
_encoder = msgspec.json.Encoder()


def _lines(rows: Sequence[asyncpg.Record]) -> bytes:
    """Export lines of rows (position, type, entity, recorded_at, schema_version, prev_hash,
    hash, payload), each with its line feed."""
    chunk = [
        _encoder.encode(
            OutLine(
                position=position,
                recorded_at=timestamp_text(recorded_at),
                schema_version=version,
                type=tag,
                entity=entity,
                prev_hash=prev_hash.hex(),
                hash=digest.hex(),
                event=msgspec.Raw(payload),
            )
        )
        for position, tag, entity, recorded_at, version, prev_hash, digest, payload in rows
    ]
    chunk.append(b"")
    return b"\n".join(chunk)


_PAGE = (
    "SELECT position, type, entity, recorded_at, schema_version, prev_hash, hash, payload "
    "FROM events WHERE position > $1 AND position <= $2 ORDER BY position LIMIT $3"
)


@dataclasses.dataclass(frozen=True, slots=True)
class ExportSummary:
    events: int
    last_position: int
    last_hash: bytes


async def export(
    conn: asyncpg.Connection,
    out: BinaryIO,
    *,
    until: int | None = None,
    page: int = EXPORT_PAGE,
    progress: Progress | None = None,
) -> ExportSummary:
    """Write the log (positions 1..`until`, or all of it as it is when the export starts) to
    `out` as NDJSON, a page at a time. Positions are immutable and gap-free, so paging by
    position gives a consistent prefix of the log without holding a snapshot open."""
    end = await conn.fetchval(LOG_SIZE)
    if until is not None:
        end = min(end, until)
    cursor, count, last_hash = 0, 0, GENESIS_HASH
    pending = asyncio.ensure_future(conn.fetch(_PAGE, 0, end, page)) if end > 0 else None
    try:
        while pending is not None:
            rows = await pending
            if not rows:  # pragma: no cover - positions are gap-free
                raise RuntimeError(f"the log has no position after {cursor}")
            pending = None
            if rows[-1][0] < end:  # ask for the next page now: the server reads it meanwhile
                pending = asyncio.ensure_future(conn.fetch(_PAGE, rows[-1][0], end, page))
                await asyncio.sleep(0)
            out.write(_lines(rows))
            cursor = rows[-1][0]
            last_hash = bytes(rows[-1][6])
            count += len(rows)
            if progress is not None:
                progress(count)
    finally:
        if pending is not None and not pending.done():
            pending.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await pending
    return ExportSummary(events=count, last_position=cursor, last_hash=last_hash)
