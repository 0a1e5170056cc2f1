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

import bisect
import datetime as _dt
import enum
import functools
import types
import typing
import uuid
from collections.abc import Iterable, Iterator, Sequence

import msgspec

from events import (
    EntityDelisted,
    EntityListed,
    EntityRegistered,
    EventRetracted,
    ExitAnnounced,
    PartialDate,
    ProductMassProduced,
    RuleIssued,
    RuleRescinded,
)
from events.types import (
    EntityRenamed,
    FinancialImpactDisclosed,
    GuidanceIssued,
    LicenseRequirementImposed,
    OwnershipChanged,
    ProductAnalyzed,
    ProductLaunched,
    RegulatoryReviewConcluded,
    RegulatoryReviewOpened,
    RuleSuspended,
    SupplyHalted,
)
from projections.encode import canonical_json
from projections.facts import Fact
from projections.fold import item_key
from projections.fold.core import owner_named
from projections.queries import ASPECTS, evolve_noting_removals, items_of
from projections.select import counts, known, world_key
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


def _first_differences(
    chosen: Sequence[Fact], sensitive: Sequence[tuple[_dt.date, ...]], days: Sequence[_dt.date]
) -> list[int]:
    """Per breakpoint index i >= 1, the first fact (world order) whose effect may differ between
    days[i - 1] and days[i]: it starts to count, turns definite, or has a date field in
    [days[i - 1] - 1, days[i] + 1]; len(chosen) where none does. Index 0 is unused.

    Each fact's days are placed among the breakpoints by bisection, so this costs about the
    number of facts times log(breakpoints), not facts times breakpoints."""
    last = len(days) - 1
    first = [len(chosen)] * len(days)
    for index in range(len(chosen) - 1, -1, -1):
        occurred = chosen[index].event.occurred
        # before < x <= day holds for exactly one breakpoint pair: where x would be inserted.
        for x in (occurred.start, occurred.end - _ONE_DAY):
            at = bisect.bisect_left(days, x)
            if 1 <= at <= last:
                first[at] = index
        for value in sensitive[index]:
            low, high = _day(value, -1), _day(value, 1)
            # days[i - 1] - 1 <= value <= days[i] + 1: days[i] >= value - 1 and
            # days[i - 1] <= value + 1.
            lo = 1 if low is None else max(1, bisect.bisect_left(days, low))
            hi = last if high is None else min(last, bisect.bisect_right(days, high))
            for at in range(lo, hi + 1):
                first[at] = index
    return first


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
    return WholeSegmentation(entity, known_at).update(facts)


def chosen_for(entity: str, facts: Sequence[Fact], known_at: _dt.datetime | None) -> list[Fact]:
    """The facts `segments()` folds for `entity`: effective at `known_at`, relevant to it, in
    world order, without the rule issuances that name other companies only.

    `relevant(entity, effective(facts, known_at))` filtered by `_may_touch`, in one pass
    and one sort: the projector and the rebuild ask this once per entity per append."""
    return _choice(entity, facts, known_at).chosen


class _Choice(typing.NamedTuple):
    chosen: list[Fact]
    rules: set[str]
    """The rules whose streams count for the entity: those an issuance or guidance that is not
    superseded names it in."""
    superseded: set[int]
    """Every event id (as an integer) some fact supersedes."""


def _choice(entity: str, facts: Sequence[Fact], known_at: _dt.datetime | None) -> _Choice:
    seen = known(facts, known_at)
    superseded: set[int] = set()  # as integers: UUID.__hash__ is Python code, int's is not
    for fact in seen:
        if fact.event.supersedes:
            superseded.update(old.int for old in fact.event.supersedes)
    rules: set[str] = set()
    for fact in seen:
        event = fact.event
        if (
            isinstance(event, _NAMING)
            and entity in event.targets
            and not (superseded and event.id.int in superseded)
        ):
            rules.add(event.entity)
    chosen: dict[int, Fact] = {}
    for fact in seen:
        event = fact.event
        if isinstance(event, EventRetracted) or (superseded and event.id.int in superseded):
            continue
        if _counts_for(entity, fact, rules):
            chosen[fact.position] = fact
    return _Choice(sorted(chosen.values(), key=world_key), rules, superseded)


def _counts_for(entity: str, fact: Fact, rules: set[str]) -> bool:
    """Whether `chosen_for` takes `fact` (neither retracted nor superseded) for `entity`."""
    event = fact.event
    if isinstance(event, RuleIssued):
        return entity in event.targets  # else not `_may_touch`; if so, relevant
    subject = event.entity
    return (
        subject == entity
        or (subject in rules and isinstance(event, _RULE_STREAM))
        or owner_named(fact) == entity
    )


_NAMING = (RuleIssued, GuidanceIssued)
_RULE_STREAM = (RuleIssued, RuleRescinded, RuleSuspended, GuidanceIssued)


class _Open(typing.NamedTuple):
    start: _dt.date
    value: object


class _Closed(typing.NamedTuple):
    ref: tuple[Aspect, tuple[str, ...]]
    start: _dt.date
    end: _dt.date
    value: object


class WholeSegmentation:
    """One entity's segments, kept up to date as its facts grow or change, the whole entity
    evaluated at every breakpoint (what `segments()` computes).

    `update(facts)` returns exactly `segments(entity, facts, known_at)`, but reuses the last
    evaluation up to the first breakpoint the difference can change: the earliest day on which
    a fact that was added, dropped (a correction, a retraction) or newly made relevant starts
    to count or crosses one of its dates. Before that day every breakpoint, every folded state
    and every closed segment is what it was. So a fact dated after everything known re-folds
    only the tail, and a backdated one or a correction from its own start, not from the
    beginning.

    Kept between updates: the chosen facts, the breakpoints, the fold's prefix states (each
    with the index of the breakpoint from which it holds) and the segments found.
    """

    def __init__(self, entity: str, known_at: _dt.datetime | None = None) -> None:
        self.entity = entity
        self.known_at = known_at
        self._chosen: list[Fact] = []
        self._sensitive: list[tuple[_dt.date, ...]] = []
        self._days: list[_dt.date] = []
        self._prefix: list[tuple[EntityState, dict]] = []
        self._since: list[int] = []
        """Per prefix state, the index of the breakpoint from which it holds."""
        self._segments: list[tuple[_Closed, Segment]] = []
        """The segments closed before the last breakpoint, with their encoding."""
        self._open: dict[tuple[Aspect, tuple[str, ...]], _Open] = {}
        """The segments still open after the last breakpoint."""
        self._result: list[Segment] = []
        self.refolded_from: int | None = None
        """Index of the breakpoint the last update evaluated from (None: nothing changed)."""

    def update(self, facts: Sequence[Fact]) -> list[Segment]:
        return self.update_chosen(chosen_for(self.entity, facts, self.known_at))

    def update_chosen(self, chosen: list[Fact]) -> list[Segment]:
        """`update` of facts already chosen (`chosen_for`)."""
        old = self._chosen
        same = 0
        limit = min(len(old), len(chosen))
        while same < limit and old[same].position == chosen[same].position:
            same += 1
        old_sensitive = self._sensitive
        sensitive = old_sensitive[:same] + [_sensitive_days(f) for f in chosen[same:]]
        gone = {f.position for f in old[same:]}
        came = {f.position for f in chosen[same:]}
        changed_days = [
            _earliest(old[i], old_sensitive[i])
            for i in range(same, len(old))
            if old[i].position not in came
        ]
        changed_days.extend(
            _earliest(chosen[i], sensitive[i])
            for i in range(same, len(chosen))
            if chosen[i].position not in gone
        )
        self._chosen, self._sensitive = chosen, sensitive
        if not changed_days:
            self.refolded_from = None
            return self._result
        if not chosen:
            self._reset()
            return self._result
        first_changed = min(changed_days)
        days = _breakpoints(chosen, sensitive)
        # Breakpoints before `first_changed` are the same in both lists, and so is everything
        # evaluated on them.
        start = min(
            bisect.bisect_left(self._days, first_changed), bisect.bisect_left(days, first_changed)
        )
        # When breakpoint `start` is the same day before and after, the states folded there for
        # the facts before the first that moved stand too (a fact appended on a day already
        # known, after the others of that day in world order, folds on from them).
        before_start = bisect.bisect_right(self._since, start - 1)
        held = before_start
        if start < min(len(self._days), len(days)) and self._days[start] == days[start]:
            held = bisect.bisect_right(self._since, start)
        held = min(held, same + 1)
        resume = held > before_start
        if start == 0:
            prefix, since = self._prefix[:held], self._since[:held]
            self._reset()
            self._prefix, self._since = prefix, since
        else:
            del self._prefix[held:]
            del self._since[held:]
            before = days[start - 1]
            still_open = {ref: o for ref, o in self._open.items() if o.start <= before}
            self._open = {
                c.ref: _Open(c.start, c.value)
                for c, _ in self._segments
                if c.start <= before < c.end
            }
            self._open.update(still_open)
            self._segments = [(c, s) for c, s in self._segments if c.end <= before]
        self._days = days
        self.refolded_from = start
        self._evaluate(start, resume=resume)
        return self._result

    def _reset(self) -> None:
        self._prefix, self._since, self._segments, self._open, self._result = [], [], [], {}, []

    def _evaluate(self, start: int, *, resume: bool = False) -> None:
        """Evaluate the breakpoints from `start` on. `resume`: the prefix states already hold
        the fold at breakpoint `start` of some facts; fold on from the last of them."""
        entity, known_at = self.entity, self.known_at
        chosen, sensitive, days = self._chosen, self._sensitive, self._days
        prefix, since, open_rows = self._prefix, self._since, self._open
        closed = [c for c, _ in self._segments]
        reused = {id(c): s for c, s in self._segments}
        first_difference = _first_differences(chosen, sensitive, days)
        seen: tuple[object, ...] = ()
        for index in range(start, len(days)):
            day = days[index]
            if resume and index == start:
                state, removed = prefix[-1]
                prefix[-1] = (msgspec.structs.replace(state, as_of=day), removed)
            elif index == 0:
                prefix[:] = [(initial_state(entity, day, known_at), {})]
                since[:] = [0]
            else:
                keep = min(first_difference[index], len(prefix) - 1)
                del prefix[keep + 1 :]
                del since[keep + 1 :]
                state, removed = prefix[keep]
                prefix[keep] = (msgspec.structs.replace(state, as_of=day), removed)
            state, removed = prefix[-1]
            for at in range(len(prefix) - 1, len(chosen)):
                fact = chosen[at]
                if not counts(fact, day):
                    break  # world order: every later fact starts later still
                state, removed = evolve_noting_removals(state, removed, fact)
                prefix.append((state, removed))
                since.append(index)

            # The items are the very objects of the breakpoint before (nothing was folded
            # again, or the fold gave back the same containers): the open segments stand.
            parts = (state.listings, state.rules, state.products, state.exits, removed)
            if len(parts) == len(seen) and all(a is b for a, b in zip(parts, seen, strict=True)):
                continue
            seen = parts
            now: dict[tuple[Aspect, tuple[str, ...]], object] = items_of(state)  # type: ignore[assignment]
            for ref, remover in removed.items():
                if ref not in now:
                    now[ref] = _Removed(remover)
            for ref in list(open_rows):
                began, value = open_rows[ref]
                if now.get(ref) != value:
                    closed.append(_Closed(ref, began, day, value))
                    del open_rows[ref]
            for ref, value in now.items():
                if ref not in open_rows:
                    open_rows[ref] = _Open(day, value)
        self._segments = [
            (c, reused.get(id(c)) or _segment(c.ref, c.start, c.end, c.value)) for c in closed
        ]
        out = [s for _, s in self._segments]
        out.extend(_segment(ref, o.start, OPEN_END, o.value) for ref, o in open_rows.items())
        out.sort(key=lambda s: (ASPECTS.index(s.aspect), s.key, s.valid_from))
        self._result = out


class Segmentation:
    """One entity's segments, kept up to date as its facts grow or change, item by item.

    `update(facts)` returns exactly `segments(entity, facts, known_at)`. Each of the events
    below changes one item of the entity's state (a listing, a rule in force, a product, an
    exit) and reads nothing of the state but that item and `as_of`; the others change no item
    at all. So an item's segments are those of the fold of its own facts alone, and an update
    re-evaluates only the items whose facts changed (each with `WholeSegmentation`, from the
    first breakpoint the change can move), not the whole entity from the change onwards.

    An entity with a fact this does not know to be confined to one item (a rule's own stream,
    an event type not listed below) is evaluated whole, as `segments()` does.

    When the caller vouches that the facts only grew at the end (`unchanged`), only the new
    ones are looked at, as long as none of them changes the choice of earlier ones (see
    `_grow`); otherwise every fact is chosen and grouped by item again.
    """

    def __init__(self, entity: str, known_at: _dt.datetime | None = None) -> None:
        self.entity = entity
        self.known_at = known_at
        self._items: dict[ItemRef, WholeSegmentation] = {}
        self._whole: WholeSegmentation | None = None
        self._result: list[Segment] = []
        self._refs: dict[int, object] = {}
        """`_item_of` each fact seen, by position (the log never changes a position's event)."""
        self._given = 0
        """How many facts the last update was given."""
        self._choice = _Choice([], set(), set())
        """`_choice` of those facts."""
        self._by_item: dict[ItemRef, list[Fact]] = {}
        """The chosen facts of each item, in world order (none while evaluated whole)."""
        self._order: list[ItemRef] = []
        """The items of `_items` in the order of their segments."""

    def update(self, facts: Sequence[Fact], *, unchanged: int = 0) -> list[Segment]:
        """`unchanged`: the caller's word that the first `unchanged` of `facts` are the very
        facts the last update was given, in the same order (0: nothing is vouched for)."""
        if unchanged and unchanged == self._given and self._grow(facts[unchanged:]):
            self._given = len(facts)
            return self._result
        self._given = len(facts)
        self._choice = _choice(self.entity, facts, self.known_at)
        by_item: dict[ItemRef, list[Fact]] = {}
        for fact in self._choice.chosen:
            ref = self._item_of(fact)
            if ref is _ANY_ITEM:
                return self._evaluate_whole()
            if ref is not None:
                by_item.setdefault(ref, []).append(fact)
        # Evaluated whole before: the items' segments replace the whole's, even if none.
        changed = self._whole is not None or by_item.keys() != self._items.keys()
        self._whole = None
        self._by_item = by_item
        parts = {}
        for ref, mine in by_item.items():
            part = self._items.get(ref)
            if part is None:
                part = WholeSegmentation(self.entity, self.known_at)
            elif part._chosen == mine:  # the same facts (the very objects, mostly): as it was
                parts[ref] = part
                continue
            part.update_chosen(mine)
            changed = changed or part.refolded_from is not None
            parts[ref] = part
        if parts.keys() != self._items.keys():
            self._order = sorted(parts, key=_item_order)
        self._items = parts
        if changed:
            self._collect()
        return self._result

    def _item_of(self, fact: Fact) -> ItemRef | None:
        """`_item_of` the fact, each position looked at once (its event never changes)."""
        ref = self._refs.get(fact.position, _UNSEEN)
        if ref is _UNSEEN:
            ref = self._refs[fact.position] = _item_of(self.entity, fact)
        return ref  # type: ignore[return-value]

    def _evaluate_whole(self) -> list[Segment]:
        self._items, self._by_item, self._order = {}, {}, []
        if self._whole is None:
            self._whole = WholeSegmentation(self.entity, self.known_at)
        # A copy: the chosen facts grow in place, and the evaluation compares with the last.
        self._result = self._whole.update_chosen(list(self._choice.chosen))
        return self._result

    def _collect(self) -> None:
        items = self._items
        self._result = [s for ref in self._order for s in items[ref]._result]

    def _grow(self, new: Sequence[Fact]) -> bool:
        """Take the facts added after those of the last update, if none of them changes the
        choice of an earlier one: none supersedes or retracts anything, none is superseded
        already, and none names the entity in a rule whose stream did not count yet. False
        (nothing done) when one does: then the whole choice is made again."""
        entity, known_at = self.entity, self.known_at
        rules, superseded = self._choice.rules, self._choice.superseded
        taken: list[Fact] = []
        for fact in new:
            if known_at is not None and fact.recorded_at > known_at:
                continue  # not known: as `known` leaves it out
            event = fact.event
            if event.supersedes or isinstance(event, EventRetracted):
                return False
            if superseded and event.id.int in superseded:
                return False
            if isinstance(event, _NAMING) and entity in event.targets and event.entity not in rules:
                return False
            if _counts_for(entity, fact, rules):
                taken.append(fact)
        if not taken:
            return True
        chosen = self._choice.chosen
        for fact in taken:
            bisect.insort(chosen, fact, key=world_key)
        if self._whole is not None:
            self._evaluate_whole()
            return True
        grown: dict[ItemRef, list[Fact]] = {}
        for fact in taken:
            ref = self._item_of(fact)
            if ref is _ANY_ITEM:
                self._evaluate_whole()
                return True
            if ref is not None:
                mine = grown.get(ref)
                if mine is None:
                    # A copy: the item's evaluation compares its new facts with its last.
                    mine = grown[ref] = list(self._by_item.get(ref, ()))
                bisect.insort(mine, fact, key=world_key)
        if not grown:
            return True
        changed = False
        items = self._items
        for ref, mine in grown.items():
            self._by_item[ref] = mine
            part = items.get(ref)
            if part is None:
                part = items[ref] = WholeSegmentation(entity, known_at)
                changed = True
                self._order = sorted(items, key=_item_order)
            part.update_chosen(mine)
            changed = changed or part.refolded_from is not None
        if changed:
            self._collect()
        return True


ItemRef = tuple[Aspect, tuple[str, ...]]
_ANY_ITEM: typing.Final = ("*", ("*",))
_UNSEEN: typing.Final = object()
"""`_item_of` of a fact that may change any item, or something else that items depend on."""


def _item_order(ref: ItemRef) -> tuple[int, tuple[str, ...]]:
    return (ASPECTS.index(ref[0]), ref[1])


_NO_ITEM: tuple[type, ...] = (
    EntityRegistered,
    EntityRenamed,
    OwnershipChanged,
    GuidanceIssued,
    EventRetracted,
    LicenseRequirementImposed,
    RegulatoryReviewOpened,
    RegulatoryReviewConcluded,
    FinancialImpactDisclosed,
    ProductLaunched,
    ProductAnalyzed,
    SupplyHalted,
)
"""Events whose `evolve` changes none of an entity's listings, rules, products and exits (names,
ownership, guidance, licence requirements, reviews, disclosures, launches, analyses, halts)."""


def _item_of(entity: str, fact: Fact) -> ItemRef | None:
    """The one item of `entity` that `evolve` may change for `fact` (reading no other item),
    None when it changes none, `_ANY_ITEM` when this cannot say."""
    event = fact.event
    own = event.entity == entity
    match event:
        case EntityListed() | EntityDelisted():
            return ("listing", (event.list,)) if own else None
        case ProductMassProduced():
            return ("product", (event.product,)) if own else None
        case ExitAnnounced():
            return ("exit", (event.market, event.region)) if own else None
        case RuleIssued():
            if own:
                return _ANY_ITEM  # the rule's own state
            return ("rule", (event.entity,)) if entity in event.targets else None
        case RuleRescinded() | RuleSuspended():
            return _ANY_ITEM if own else ("rule", (event.entity,))
    if isinstance(event, _NO_ITEM):
        return None
    return _ANY_ITEM


def _earliest(fact: Fact, dates: tuple[_dt.date, ...]) -> _dt.date:
    """The first day on which `fact` may make a difference to the fold."""
    days = [fact.event.occurred.start]
    days.extend(_day(value, -1) or value for value in dates)
    return min(days)


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


__all__ = [
    "OPEN_END",
    "Segment",
    "Segmentation",
    "WholeSegmentation",
    "breakpoints",
    "chosen_for",
    "item_key",
    "segments",
]
