"""World-time segments: an entity's items as a piecewise-constant function of the day.

For a fixed `known_at`, the state of an entity as of day D only changes at days where a fact
starts to count, becomes definite, or crosses a date named in one of its fields (a rule's
`effective` date, ...). `segments()` evaluates the fold at each such breakpoint and returns,
per item, the world-time ranges [valid_from, valid_to) over which it is constant. The SQL read
models store these rows, stamped with the transaction-time range over which they were the
log's knowledge, so "members of L as of (D, K)" and "what changed between two dates" are
indexed lookups that equal the pure fold by construction.

Besides present items, a segment may be a *tombstone*: the item is absent, and `removed_by`
names the event that removed it (the last delisting or rescission that counts), which is what
`projections.queries.changes` reports for a lost item.
"""

from __future__ import annotations

import datetime as _dt
import enum
import functools
import types
import typing
import uuid
from collections.abc import Iterable, Iterator, Sequence

import msgspec

from events import PartialDate, RuleIssued
from projections.encode import canonical_json
from projections.facts import Fact
from projections.fold import item_key, relevant
from projections.queries import ASPECTS, evolve_noting_removals, items_of
from projections.select import counts, effective
from projections.state import Aspect, EntityState, initial_state

OPEN_END = _dt.date.max
_ONE_DAY = _dt.timedelta(days=1)


class Segment(msgspec.Struct, frozen=True, kw_only=True, order=True):
    """One item of one entity, constant for days in [valid_from, valid_to)."""

    aspect: Aspect
    key: tuple[str, ...]
    valid_from: _dt.date
    valid_to: _dt.date
    present: bool
    body: bytes
    """Canonical JSON of the item when present; of `{"removed_by": id}` for a tombstone."""


def _plain_dates(value: object) -> Iterator[_dt.date]:
    """Every date-typed field inside an event (not its `occurred`), recursively."""
    if isinstance(value, _dt.date) and not isinstance(value, _dt.datetime):
        yield value
    elif isinstance(value, msgspec.Struct):
        for name in _date_fields(type(value)):
            yield from _plain_dates(getattr(value, name))
    elif isinstance(value, tuple | list):
        for item in value:
            yield from _plain_dates(item)


_NO_DATES: frozenset[object] = frozenset(
    {str, int, float, bool, bytes, type(None), uuid.UUID, _dt.datetime, PartialDate}
)


@functools.cache
def _date_fields(cls: type[msgspec.Struct]) -> tuple[str, ...]:
    """The fields of a struct type (not `occurred`) whose values may hold a date, judged from
    their annotations: a field typed only with strings, numbers, ids, mappings (which
    `_plain_dates` does not enter) and the like is skipped without looking at its value."""
    hints = typing.get_type_hints(cls)
    return tuple(
        name
        for name in cls.__struct_fields__
        if name != "occurred" and _may_hold_date(hints.get(name, object))
    )


def _may_hold_date(annotation: object) -> bool:
    if annotation in _NO_DATES:
        return False
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return _may_hold_date(typing.get_args(annotation)[0])
    if origin is typing.Literal or origin is dict or annotation is dict:
        return False
    if origin in (tuple, list, typing.Union, types.UnionType):
        return any(_may_hold_date(a) for a in typing.get_args(annotation) if a is not Ellipsis)
    if isinstance(annotation, type) and issubclass(annotation, msgspec.Struct):
        return bool(_date_fields(annotation))
    if isinstance(annotation, type) and issubclass(annotation, enum.Enum | str | int):
        return False
    return True  # a date, or a type this does not know: look at the value


def _day(value: _dt.date, shift: int) -> _dt.date | None:
    try:
        return value + _dt.timedelta(days=shift)
    except OverflowError:
        return None


def breakpoints(facts: Iterable[Fact]) -> list[_dt.date]:
    """Every day on which the fold's answer may differ from the day before.

    For `occurred`: the first day it counts (its start) and the first day it is definite (its
    last day). For any other date field (a rule's `effective`, ...), generically, that day and
    the days either side, so a new event type with a date the fold compares needs no change
    here. Extra breakpoints cost time, never correctness: equal neighbours are merged.
    """
    facts = list(facts)
    return _breakpoints(facts, [_sensitive_days(f) for f in facts])


def _breakpoints(
    facts: Sequence[Fact], sensitive: Sequence[tuple[_dt.date, ...]]
) -> list[_dt.date]:
    days: set[_dt.date] = set()
    for fact, dates in zip(facts, sensitive, strict=True):
        occurred = fact.event.occurred
        days.add(occurred.start)
        days.add(occurred.end - _ONE_DAY)
        for value in dates:
            days.update(d for d in (_day(value, -1), value, _day(value, 1)) if d is not None)
    return sorted(day for day in days if day < OPEN_END)


def _sensitive_days(fact: Fact) -> tuple[_dt.date, ...]:
    return tuple(_plain_dates(fact.event))


def _first_difference(
    chosen: Sequence[Fact],
    sensitive: Sequence[tuple[_dt.date, ...]],
    before: _dt.date,
    day: _dt.date,
) -> int:
    """The first fact (world order) whose effect may differ between `before` and `day`: it starts
    to count, turns definite, or has a date field in (before - 1, day + 1]."""
    for index, fact in enumerate(chosen):
        occurred = fact.event.occurred
        if before < occurred.start <= day:
            return index
        if before < occurred.end - _ONE_DAY <= day:
            return index
        for value in sensitive[index]:
            if before - _ONE_DAY <= value <= day + _ONE_DAY:
                return index
    return len(chosen)


def segments(
    entity: str, facts: Sequence[Fact], known_at: _dt.datetime | None = None
) -> list[Segment]:
    """The entity's items over world time, as known at `known_at`, merged and sorted.

    `facts` must hold everything relevant to the entity (its own stream and the streams of
    rules that name it); other facts are ignored.

    The fold is evaluated on every breakpoint. Facts are in world order (interval start first),
    so from one breakpoint to the next only the facts from the first one whose effect may
    differ need folding again: the states after each prefix are kept and reused.
    """
    chosen = [f for f in relevant(entity, effective(facts, known_at)) if _may_touch(entity, f)]
    if not chosen:
        return []
    sensitive = [_sensitive_days(f) for f in chosen]
    prefix: list[tuple[EntityState, dict]] = []
    previous: _dt.date | None = None
    open_rows: dict[tuple[Aspect, tuple[str, ...]], tuple[_dt.date, object]] = {}
    out: list[Segment] = []
    for day in _breakpoints(chosen, sensitive):
        if previous is None:
            prefix = [(initial_state(entity, day, known_at), {})]
        else:
            keep = min(_first_difference(chosen, sensitive, previous, day), len(prefix) - 1)
            del prefix[keep + 1 :]
            state, removed = prefix[keep]
            prefix[keep] = (msgspec.structs.replace(state, as_of=day), removed)
        state, removed = prefix[-1]
        for fact in chosen[len(prefix) - 1 :]:
            if not counts(fact, day):
                break  # world order: every later fact starts later still
            state, removed = evolve_noting_removals(state, removed, fact)
            prefix.append((state, removed))
        previous = day

        now: dict[tuple[Aspect, tuple[str, ...]], object] = dict(items_of(state))
        for ref, remover in removed.items():
            if ref not in now:
                now[ref] = _Removed(remover)
        for ref in list(open_rows):
            start, value = open_rows[ref]
            if now.get(ref) != value:
                out.append(_segment(ref, start, day, value))
                del open_rows[ref]
        for ref, value in now.items():
            if ref not in open_rows:
                open_rows[ref] = (day, value)
    for ref, (start, value) in open_rows.items():
        out.append(_segment(ref, start, OPEN_END, value))
    out.sort(key=lambda s: (ASPECTS.index(s.aspect), s.key, s.valid_from))
    return out


def _may_touch(entity: str, fact: Fact) -> bool:
    """False for a rule's issuance that names other companies only: `evolve` leaves the
    entity's state as it is for it, so it adds nothing but breakpoints."""
    event = fact.event
    return not (isinstance(event, RuleIssued) and entity not in event.targets)


class _Removed(msgspec.Struct, frozen=True):
    removed_by: str


def _segment(
    ref: tuple[Aspect, tuple[str, ...]], start: _dt.date, end: _dt.date, value: object
) -> Segment:
    present = not isinstance(value, _Removed)
    body = canonical_json(value if present else {"removed_by": value.removed_by})  # type: ignore[arg-type, union-attr]
    return Segment(
        aspect=ref[0], key=ref[1], valid_from=start, valid_to=end, present=present, body=body
    )


__all__ = ["OPEN_END", "Segment", "breakpoints", "item_key", "segments"]
