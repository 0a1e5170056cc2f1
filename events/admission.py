"""Admission: may a batch of events join the log, given what the log already holds? Pure.

The store reads, under its append lock, what these rules need (the events the batch names by
id, which entities are registered, the heads of the streams the writer expects), calls
`admit`, and writes what was admitted. A batch is all or nothing: the first broken rule
raises a `Rejection` and nothing of the batch is admitted.

The rules, in order for each event of the batch:
- an id already in the log (or earlier in the batch) with the same canonical bytes is a
  replay (admitted as nothing new); with other bytes, an id conflict;
- the subject must be registered (an `EntityRegistered` registers it), and so must every
  entity the event references;
- every superseded event must be in the log, and be of the same subject;
and for the batch: if it adds anything, each stream the writer named in `expected` must be at
the position the writer expected (0: no event yet).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence, Set
from dataclasses import dataclass
from typing import Literal, Protocol

from events.types import AnyEvent, type_name

RejectionKind = Literal["unknown-reference", "id-conflict", "stale-position"]


class Rejection(Exception):
    """Why a batch is refused: `kind`, a `detail`, the `field` of the event at `index`
    (None: the batch as a whole), and for a stale stream its entity, expected and actual."""

    def __init__(
        self,
        kind: RejectionKind,
        detail: str,
        *,
        field: str,
        index: int | None = None,
        **extra: object,
    ) -> None:
        super().__init__(detail)
        self.kind = kind
        self.detail = detail
        self.field = field
        self.index = index
        self.extra = extra


class Logged(Protocol):
    """What admission needs of an event already in the log."""

    @property
    def entity(self) -> str: ...

    @property
    def payload(self) -> bytes: ...


@dataclass(frozen=True, slots=True)
class Candidate:
    """An event offered to the log, with its id (assigned if it had none) and canonical bytes."""

    event: AnyEvent
    id: uuid.UUID
    payload: bytes

    @property
    def entity(self) -> str:
        return self.event.entity


class _InLog:
    """What the log will hold: the events admitted so far in the batch over those it held.
    A `get` of one Python call: `ChainMap.get` cost three per event of a batch."""

    __slots__ = ("known", "seen")

    def __init__(self, seen: dict[uuid.UUID, Logged], known: Mapping[uuid.UUID, Logged]) -> None:
        self.seen = seen
        self.known = known

    def get(self, key: uuid.UUID) -> Logged | None:
        found = self.seen.get(key)
        return found if found is not None else self.known.get(key)


def is_replay(candidate: Candidate, known: Mapping[uuid.UUID, Logged] | _InLog, index: int) -> bool:
    """True if the log holds this very event already; refuses an id reused for other bytes."""
    existing = known.get(candidate.id)
    if existing is None:
        return False
    if existing.payload != candidate.payload:
        raise Rejection(
            "id-conflict",
            f"event id {candidate.id} is already in the log with other content",
            field="id",
            index=index,
        )
    return True


def check_references(event: AnyEvent, registered: Set[str], index: int) -> None:
    """The subject and every referenced entity are registered (a registration may name its
    own subject, which it registers)."""
    tag = type_name(event)
    if tag != "EntityRegistered" and event.entity not in registered:
        raise Rejection(
            "unknown-reference",
            f"entity {event.entity!r} is not registered",
            field="entity",
            index=index,
        )
    for name, ref in event.referenced_entities().items():
        if ref not in registered and not (tag == "EntityRegistered" and ref == event.entity):
            raise Rejection(
                "unknown-reference", f"entity {ref!r} is not registered", field=name, index=index
            )


def check_supersedes(
    event: AnyEvent, known: Mapping[uuid.UUID, Logged] | _InLog, index: int
) -> None:
    """Every superseded event is in the log and belongs to the same subject."""
    for i, target in enumerate(event.supersedes):
        old = known.get(target)
        if old is None:
            raise Rejection(
                "unknown-reference",
                f"event {target} is not in the log",
                field=f"supersedes[{i}]",
                index=index,
            )
        if old.entity != event.entity:
            raise Rejection(
                "unknown-reference",
                f"event {target} belongs to entity {old.entity!r}, not {event.entity!r}",
                field=f"supersedes[{i}]",
                index=index,
            )


def check_expected(expected: Mapping[str, int], stream_heads: Mapping[str, int]) -> None:
    """Each named stream is at the position the writer expected (absent: 0)."""
    for entity, want in expected.items():
        have = stream_heads.get(entity, 0)
        if have != want:
            raise Rejection(
                "stale-position",
                f"stream {entity!r} is at position {have}, not {want}",
                field=f"expected_position.{entity}",
                entity=entity,
                expected=want,
                actual=have,
            )


def admit(
    batch: Sequence[Candidate],
    expected: Mapping[str, int],
    *,
    known: Mapping[uuid.UUID, Logged],
    registered: Set[str],
    stream_heads: Mapping[str, int],
) -> list[bool]:
    """For each event of the batch: True if it is new, False if the log already holds it.

    `known`: the logged events the batch names by id (its own ids and the ones it
    supersedes); `registered`: the registered entities among those it names;
    `stream_heads`: the last position of each stream in `expected`. Raises `Rejection`.
    """
    # What the log will hold once the events before this one are in: later events of the
    # batch may supersede or reference earlier ones.
    seen: dict[uuid.UUID, Logged] = {}
    in_log = _InLog(seen, known)
    registered_now = set(registered)
    new: list[bool] = []
    for index, candidate in enumerate(batch):
        if is_replay(candidate, in_log, index):
            new.append(False)
            continue
        event = candidate.event
        check_references(event, registered_now, index)
        check_supersedes(event, in_log, index)
        new.append(True)
        seen[candidate.id] = candidate
        if type_name(event) == "EntityRegistered":
            registered_now.add(event.entity)
    if expected and any(new):
        check_expected(expected, stream_heads)
    return new
