"""The log as NDJSON, and what an auditor does with it offline: verify and replay.

One line per event, in position order, keys in this order:

    {"position": 1, "recorded_at": "2025-01-02T03:04:05.000006Z", "schema_version": 1,
     "type": "EntityRegistered", "entity": "ymtc", "prev_hash": "<hex>", "hash": "<hex>",
     "event": <the stored canonical payload, byte for byte>}

`recorded_at` is UTC with six fraction digits. `event` is the exact bytes the hash chain
covers, so `hash = SHA-256(prev_hash || envelope(event, position, recorded_at,
schema_version))` can be recomputed from the line alone; `type` and `entity` repeat the
payload's (for grep and jq) and are checked against it.

`export` needs the database; `verify` and `replay` need nothing but the file (and, for
`verify`, the signed head and the public key to check it against).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import datetime as _dt
import hashlib
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Annotated, BinaryIO

import asyncpg
import msgspec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from events import GENESIS_HASH, RecordedEvent, envelope_bytes, merkle, signing
from projections import (
    Fact,
    Relevance,
    canonical_json,
    effective,
    fact_of,
    fold,
    initial_state,
    known,
    settle_identity,
    state_as_of,
)
from projections.state import EntityState

EXPORT_PAGE = 5_000

AwareDatetime = Annotated[_dt.datetime, msgspec.Meta(tz=True)]
Progress = Callable[[int], None]


class _OutLine(msgspec.Struct, frozen=True):
    position: int
    recorded_at: str
    schema_version: int
    type: str
    entity: str
    prev_hash: str
    hash: str
    event: msgspec.Raw


class ExportLine(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """One line of an export, as read back."""

    position: int
    recorded_at: AwareDatetime
    schema_version: int
    type: str
    entity: str
    prev_hash: str
    hash: str
    event: msgspec.Raw


class _Subject(msgspec.Struct):
    type: str
    entity: str


_encoder = msgspec.json.Encoder()
_line_decoder = msgspec.json.Decoder(ExportLine)
_subject_decoder = msgspec.json.Decoder(_Subject)


def timestamp_text(moment: _dt.datetime) -> str:
    """UTC, `YYYY-MM-DDTHH:MM:SS.ffffffZ` (always six fraction digits)."""
    return moment.astimezone(_dt.UTC).replace(tzinfo=None).isoformat(timespec="microseconds") + "Z"


def encode_line(recorded: RecordedEvent) -> bytes:
    """The export line of one event, with its line feed."""
    return (
        _encoder.encode(
            _OutLine(
                position=recorded.position,
                recorded_at=timestamp_text(recorded.recorded_at),
                schema_version=recorded.schema_version,
                type=recorded.type,
                entity=recorded.entity,
                prev_hash=recorded.prev_hash.hex(),
                hash=recorded.hash.hex(),
                event=msgspec.Raw(recorded.payload),
            )
        )
        + b"\n"
    )


# --------------------------------------------------------------------------- export (database)


def _lines(rows: Sequence[asyncpg.Record]) -> bytes:
    """Export lines of rows (position, type, entity, recorded_at, schema_version, prev_hash,
    hash, payload), each with its line feed."""
    chunk = [
        _encoder.encode(
            _OutLine(
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


_LAST = "SELECT coalesce(max(position), 0) FROM events"
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
    end = await conn.fetchval(_LAST)
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


# --------------------------------------------------------------------------- reading (offline)


class VerifyFault(Exception):
    """The export (or the head) is not what it should be. `position`: the first bad one, when
    there is one to name (a root that does not match names none)."""

    def __init__(self, position: int | None, reason: str, *, line: int | None = None) -> None:
        where = f"position {position}" if position is not None else "export"
        if line is not None:
            where += f" (line {line})"
        super().__init__(f"{where}: {reason}")
        self.position = position
        self.reason = reason
        self.line = line


def read_export(stream: Iterable[bytes], *, check: bool = True) -> Iterator[RecordedEvent]:
    """The events of an export, in order. With `check`, each must take the next position,
    link to the previous hash, hash to its own `hash` and repeat its payload's type and
    entity; the first that does not raises VerifyFault naming its position."""
    prev_hash = GENESIS_HASH
    expected = 1
    pending_blank: int | None = None
    for number, raw in enumerate(stream, start=1):
        text = raw.rstrip(b"\r\n")
        if not text.strip():
            pending_blank = number if pending_blank is None else pending_blank
            continue
        if pending_blank is not None:
            raise VerifyFault(expected, "a blank line inside the export", line=pending_blank)
        try:
            line = _line_decoder.decode(text)
            prev = bytes.fromhex(line.prev_hash)
            digest = bytes.fromhex(line.hash)
        except (msgspec.DecodeError, ValueError) as exc:
            raise VerifyFault(expected, f"not an export line: {exc}", line=number) from None
        payload = bytes(line.event)
        recorded = RecordedEvent(
            position=line.position,
            type=line.type,
            entity=line.entity,
            recorded_at=line.recorded_at,
            schema_version=line.schema_version,
            prev_hash=prev,
            hash=digest,
            payload=payload,
        )
        if check:
            _check(recorded, expected, prev_hash, number)
        prev_hash = digest
        expected = recorded.position + 1
        yield recorded


def _check(recorded: RecordedEvent, expected: int, prev_hash: bytes, line: int) -> None:
    position = recorded.position
    if position != expected:
        if position > expected:
            what = f"missing: the line in its place has position {position}"
        else:
            what = f"out of order: the line in its place has position {position}"
        raise VerifyFault(expected, what, line=line)
    if recorded.prev_hash != prev_hash:
        raise VerifyFault(position, "prev_hash is not the hash of the event before it", line=line)
    envelope = _envelope(recorded)
    if hashlib.sha256(prev_hash + envelope).digest() != recorded.hash:
        raise VerifyFault(position, "hash does not match the event's content", line=line)
    try:
        subject = _subject_decoder.decode(recorded.payload)
    except msgspec.DecodeError as exc:
        raise VerifyFault(position, f"the event is not valid JSON: {exc}", line=line) from None
    if subject.type != recorded.type or subject.entity != recorded.entity:
        raise VerifyFault(position, "type or entity differ from the event's own", line=line)


def _envelope(recorded: RecordedEvent) -> bytes:
    return envelope_bytes(
        payload=recorded.payload,
        position=recorded.position,
        recorded_at=recorded.recorded_at,
        schema_version=recorded.schema_version,
    )


# --------------------------------------------------------------------------- verify (offline)


@dataclasses.dataclass(frozen=True, slots=True)
class VerifyReport:
    events: int
    root: bytes
    """The Merkle root of the whole export."""
    last_hash: bytes
    head_size: int | None
    """The size of the head checked against (its root matched), or None without a head."""
    signature_checked: bool


def load_public_key(data: bytes) -> Ed25519PublicKey:
    """A public key from PEM, raw 32 bytes, base64 of them, or `GET /v1/log/key` JSON."""
    text = data.strip()
    if text.startswith(b"{"):
        try:
            info = msgspec.json.decode(text, type=signing.KeyInfo)
        except msgspec.DecodeError as exc:
            raise ValueError(f"not a key document: {exc}") from None
        return signing.public_key_from_info(info)
    if len(data) == 32:
        return signing.load_public_key(data)
    if text.startswith(b"-----BEGIN"):
        return signing.load_public_key(text)
    import base64
    import binascii

    try:
        raw = base64.b64decode(text, validate=True)
    except binascii.Error:
        raise ValueError("expected a PEM public key, 32 raw bytes, base64, or key JSON") from None
    return signing.load_public_key(raw)


def verify(
    stream: Iterable[bytes],
    *,
    head: signing.SignedHead | None = None,
    key: Ed25519PublicKey | None = None,
    progress: Progress | None = None,
    progress_every: int = 50_000,
) -> VerifyReport:
    """Check an export: the hash chain, every event's leaf, and, given a head, that the root of
    its first `head.size` events is the head's root (and, given a key, the head's signature).
    Raises VerifyFault at the first fault."""
    if head is not None and key is not None:
        if head.key_id != signing.key_id(key):
            raise VerifyFault(
                None, f"the head names key {head.key_id}, not the given key {signing.key_id(key)}"
            )
        if not signing.verify_head(key, head):
            raise VerifyFault(None, "the head's signature is not valid for the given key")
    tree = merkle.CompactTree()
    head_root: bytes | None = merkle.EMPTY_ROOT if head is not None and head.size == 0 else None
    last_hash = GENESIS_HASH
    count = 0
    for recorded in read_export(stream):
        tree.append(merkle.leaf_hash(_envelope(recorded)))
        last_hash = recorded.hash
        count += 1
        if head is not None and count == head.size:
            head_root = tree.root()
        if progress is not None and count % progress_every == 0:
            progress(count)
    if progress is not None:
        progress(count)
    if head is not None:
        if count < head.size:
            raise VerifyFault(
                count + 1,
                f"truncated: the export ends at position {count} but the head covers "
                f"{head.size} events",
            )
        if head_root != head.root:
            raise VerifyFault(
                None,
                f"the Merkle root of the first {head.size} events is {head_root.hex()}, "  # type: ignore[union-attr]
                f"not the head's {head.root_hash}: the log differs from what was signed",
            )
    return VerifyReport(
        events=count,
        root=tree.root(),
        last_hash=last_hash,
        head_size=head.size if head is not None else None,
        signature_checked=head is not None and key is not None,
    )


# --------------------------------------------------------------------------- replay (offline)


def facts_of(stream: Iterable[bytes], *, check: bool = True) -> list[Fact]:
    """Every event of an export as a projection `Fact` (the chain checked on the way)."""
    return [fact_of(recorded) for recorded in read_export(stream, check=check)]


def replay_states(
    facts: list[Fact],
    as_of: _dt.date,
    known_at: _dt.datetime | None = None,
    entities: Iterable[str] | None = None,
) -> Iterator[EntityState]:
    """`state_as_of(entity, facts, as_of, known_at)` for each entity (default: every entity
    the log names as a subject by `known_at`, sorted), selecting the facts once for all."""
    chosen = effective(facts, known_at)
    relevance = Relevance(chosen)
    if entities is None:
        entities = sorted({fact.event.entity for fact in known(facts, known_at)})
    for entity in entities:
        mine = relevance.relevant(entity)
        yield settle_identity(fold(initial_state(entity, as_of, known_at), mine), mine)


def replay(
    facts: list[Fact],
    as_of: _dt.date,
    known_at: _dt.datetime | None = None,
    entity: str | None = None,
) -> Iterator[bytes]:
    """The canonical JSON bytes of one entity's state (no line feed: the API's exact body), or
    of every entity's, one NDJSON line each."""
    if entity is not None:
        yield canonical_json(state_as_of(entity, facts, as_of, known_at))
        return
    for state in replay_states(facts, as_of, known_at):
        yield canonical_json(state) + b"\n"
