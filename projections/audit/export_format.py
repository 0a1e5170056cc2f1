"""The export format: the log as NDJSON, one line per event, written and read back.

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

import datetime as _dt
import hashlib
from collections.abc import Callable, Iterable, Iterator
from typing import Annotated

import msgspec

from events import GENESIS_HASH, RecordedEvent, envelope_bytes

AwareDatetime = Annotated[_dt.datetime, msgspec.Meta(tz=True)]
Progress = Callable[[int], None]


class OutLine(msgspec.Struct, frozen=True):
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
            OutLine(
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
    envelope = envelope_of(recorded)
    if hashlib.sha256(prev_hash + envelope).digest() != recorded.hash:
        raise VerifyFault(position, "hash does not match the event's content", line=line)
    try:
        subject = _subject_decoder.decode(recorded.payload)
    except msgspec.DecodeError as exc:
        raise VerifyFault(position, f"the event is not valid JSON: {exc}", line=line) from None
    if subject.type != recorded.type or subject.entity != recorded.entity:
        raise VerifyFault(position, "type or entity differ from the event's own", line=line)


def envelope_of(recorded: RecordedEvent) -> bytes:
    return envelope_bytes(
        payload=recorded.payload,
        position=recorded.position,
        recorded_at=recorded.recorded_at,
        schema_version=recorded.schema_version,
    )
