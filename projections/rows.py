"""From facts to read-model rows: the fold the projector and the rebuild share, pure.

An entity's items as world-time segments (`projections.segments`) become rows `(aspect, key,
valid_from, valid_to, present, body)`; each append transaction (one `recorded_at`) that touches
an entity gives it a new version: the rows that no longer hold are closed at that `recorded_at`,
new ones open there, and rows that still hold keep their own `recorded_from`. `Folding` does this
one append transaction at a time for whatever facts it is fed, so the incremental projector (fed
the touched entities' facts) and the rebuild (fed the whole log) write the same rows byte for byte.
"""

from __future__ import annotations

import datetime as _dt
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import msgspec

from events import EntityRegistered, RuleIssued
from events.types import EntityRenamed, OwnershipChanged
from projections.facts import Fact
from projections.fold import state_as_of
from projections.name_index import NameSpan, entity_name_spans, key_rows
from projections.segments import OPEN_END, Segment, Segmentation
from projections.select import effective
from projections.state import EntityState

NOW_DAY = OPEN_END - _dt.timedelta(days=1)
OPEN_RECORDED = _dt.datetime.max.replace(tzinfo=_dt.UTC)
"""`recorded_to` of a row that is still the log's knowledge."""


@dataclass(frozen=True, slots=True)
class EntityRecord:
    entity: str
    kind: str | None
    country: str | None
    names: bytes
    aliases: bytes
    names_over_time: tuple[NameSpan, ...] = ()
    """Every name and alias it was ever registered under, with when it bore it (search)."""


Row = tuple[str, str, _dt.date, _dt.date, bool, bytes]
"""(aspect, key, valid_from, valid_to, present, body)"""
Rows = tuple[Row, ...]


def rows_of(found: Sequence[Segment]) -> Rows:
    return tuple(
        sorted(
            (
                s.aspect,
                msgspec.json.encode(list(s.key)).decode(),
                s.valid_from,
                s.valid_to,
                s.present,
                s.body,
            )
            for s in found
        )
    )


def entity_record(entity: str, facts: Sequence[Fact]) -> EntityRecord | None:
    """The entity as known now: names and aliases of its latest registration or rename (world
    order), and every name and alias it was ever registered or renamed under, for search."""
    chosen = effective(facts, None)
    if not any(isinstance(f.event, EntityRegistered) and f.event.entity == entity for f in chosen):
        return None
    state: EntityState = state_as_of(entity, chosen, NOW_DAY)
    return EntityRecord(
        entity=entity,
        kind=state.kind,
        country=state.country,
        names=msgspec.json.encode(state.names),
        aliases=msgspec.json.encode(list(state.aliases)),
        names_over_time=tuple(entity_name_spans(entity, facts)),
    )


def subjects_of(facts: Iterable[Fact]) -> tuple[set[str], set[str]]:
    """(entities whose facts these are directly, rules all of whose targets they may change).

    A rule's issuance touches the companies it names; any other event of a rule's stream
    (a rescission, a correction or retraction of an issuance, ...) may touch every company
    the rule ever named. A change of ownership (or a registration's `parent`) touches the owner.
    """
    direct: set[str] = set()
    fan_out: set[str] = set()
    for fact in facts:
        event = fact.event
        direct.add(event.entity)
        if isinstance(event, OwnershipChanged):
            direct.add(event.owner)
        elif isinstance(event, EntityRegistered) and event.parent is not None:
            direct.add(event.parent)
        if isinstance(event, RuleIssued):
            direct.update(event.targets)
            if event.supersedes:
                fan_out.add(event.entity)
        else:
            fan_out.add(event.entity)
    return direct, fan_out


def may_rename(fact: Fact) -> bool:
    """Only an entity's own registrations and renames, and corrections or retractions in its own
    stream (which may withdraw one), change its names, aliases, kind or country."""
    return isinstance(fact.event, EntityRegistered | EntityRenamed) or bool(fact.event.supersedes)


@dataclass
class FactIndex:
    """Facts in memory, indexed like the projector reads them: an entity's own stream, and
    the streams of the rules that name it.

    Of a rule's stream, an entity needs every fact but the issuances that neither name it nor
    take part in a correction (they neither supersede nor are superseded): `evolve` leaves the
    entity's state as it is for those, and no selection depends on them. Leaving them out keeps
    a company's facts small when a rule has been issued thousands of times.

    An entity's facts only ever grow: a fact once in `facts_for(entity)` stays there. The list
    of each entity asked for is kept, and a fact added later with a higher position than any
    (the log's order) is appended to the lists it joins; only a fact that joins a list behind
    its end (an issuance superseded after the fact, the earlier stream of a rule that names the
    entity for the first time) drops the kept list, to be gathered again when next asked for.
    """

    own: dict[str, list[Fact]] = field(default_factory=lambda: defaultdict(list))
    rules_naming: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    targets_of: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    naming: dict[tuple[str, str], list[Fact]] = field(default_factory=lambda: defaultdict(list))
    shared: dict[str, dict[int, Fact]] = field(default_factory=lambda: defaultdict(dict))
    issuances: dict[object, Fact] = field(default_factory=dict)
    superseded: set[object] = field(default_factory=set)
    kept: dict[str, list[Fact]] = field(default_factory=dict)
    """Per entity asked for, `facts_for` as it stands (in position order)."""
    positions: set[int] = field(default_factory=set)
    """The position of every fact added (the projector, loading an entity's history into an
    index it keeps between pages, adds only what it does not hold yet)."""

    def __len__(self) -> int:
        return len(self.positions)

    def __contains__(self, position: object) -> bool:
        return position in self.positions

    def add(self, fact: Fact) -> None:
        event = fact.event
        self.positions.add(fact.position)
        entity = event.entity
        kept = self.kept
        self.own[entity].append(fact)
        self._join(entity, fact)
        for old in event.supersedes:
            self.superseded.add(old)
            earlier = self.issuances.get(old)
            if earlier is not None:
                rule = earlier.event.entity
                if earlier.position not in self.shared[rule]:
                    self.shared[rule][earlier.position] = earlier
                    for target in self.targets_of.get(rule, ()):
                        kept.pop(target, None)  # joins behind the end
        if isinstance(event, RuleIssued):
            self.issuances[event.id] = fact
            for target in event.targets:
                if entity not in self.rules_naming[target]:
                    self.rules_naming[target].add(entity)
                    self.targets_of[entity].add(target)
                    if self.shared.get(entity):
                        kept.pop(target, None)  # the rule's stream so far joins
                self.naming[(entity, target)].append(fact)
                self._join(target, fact)
            if event.supersedes or event.id in self.superseded:
                self.shared[entity][fact.position] = fact
                for target in self.targets_of.get(entity, ()):
                    self._join(target, fact)
        else:
            self.shared[entity][fact.position] = fact
            for target in self.targets_of.get(entity, ()):
                self._join(target, fact)

    def _join(self, entity: str, fact: Fact) -> None:
        """`fact` is now among `entity`'s facts (in the log's order: after all of them)."""
        facts = self.kept.get(entity)
        if facts is None:
            return
        if not facts or facts[-1].position < fact.position:
            facts.append(fact)
        elif facts[-1].position != fact.position:  # added out of the log's order
            del self.kept[entity]

    def facts_for(self, entity: str) -> list[Fact]:
        """The entity's facts, in position order (a new list each time)."""
        facts = self.kept.get(entity)
        if facts is None:
            facts = self.kept[entity] = self._gather(entity)
        return list(facts)

    def _gather(self, entity: str) -> list[Fact]:
        chosen = {f.position: f for f in self.own.get(entity, ())}
        for rule in self.rules_naming.get(entity, ()):
            chosen.update(self.shared.get(rule, {}))
            for fact in self.naming.get((rule, entity), ()):
                chosen[fact.position] = fact
        return [chosen[p] for p in sorted(chosen)]


class Folding:
    """Feeds the log, one append transaction (`recorded_at` group) at a time, into versions of
    each entity's rows and its search record. Shared by the incremental projector (which seeds
    it with the facts and current rows of the entities a page touches) and the rebuild (which
    feeds it the whole log), so both write the same rows byte for byte.
    """

    def __init__(
        self,
        generation: int,
        memory: FactIndex | None = None,
        *,
        only: set[str] | None = None,
        isolate: bool = False,
    ) -> None:
        self.generation = generation
        self.memory = memory if memory is not None else FactIndex()
        self.only = only
        """Fold these entities only (None: every entity the facts touch)."""
        self.isolate = isolate
        """An entity whose fold raises is set aside in `failed` (and folded no more) instead of
        the error stopping the whole fold."""
        self.failed: dict[str, tuple[int, str]] = {}
        """entity -> (position of the group at which its fold failed, the error)."""
        self.current: dict[str, dict[Row, _dt.datetime | None]] = {}
        """entity -> its current rows, each with its recorded_from (None: already stored)."""
        self.closed: list[tuple] = []
        self.db_closes: list[tuple[str, str, str, _dt.date, _dt.datetime]] = []
        """Stored current rows to close: (entity, aspect, key, valid_from, recorded_to)."""
        self.dirty: set[str] = set()
        self.records: dict[str, EntityRecord] = {}
        self.position = 0
        self._pending: list[Fact] = []
        self._segmentations: dict[str, Segmentation] = {}
        """Per entity, its segments as last folded: the next group re-folds only from the
        first breakpoint its facts can change."""
        self._found: dict[str, list[Segment]] = {}
        """Per entity, the list its segmentation last returned (the same list: no change)."""
        self._given: dict[str, tuple[int, Fact]] = {}
        """Per entity, how many facts its segmentation was last given, and the last of them."""

    def stored(self, entity: str, rows: Rows) -> None:
        if rows:
            self.current[entity] = dict.fromkeys(rows)

    def written(self) -> None:
        """What this folding gave has been stored: the rows it opened are now stored rows, and
        it has nothing more to write. The projector, keeping a folding from one page to the
        next, calls this once a page is committed; an entity's segmentation and current rows
        then carry over, so the next page folds only what that page changes."""
        for entity in self.dirty:
            self.current[entity] = dict.fromkeys(self.current[entity])
        self.closed, self.db_closes, self.dirty, self.records = [], [], set(), {}

    def forget(self, entity: str) -> None:
        """Keep nothing of `entity`'s fold (its facts stay in `memory`): before it is folded
        again it must be given its stored rows (`stored`), as a fresh folding would be."""
        self.current.pop(entity, None)
        self._segmentations.pop(entity, None)
        self._found.pop(entity, None)
        self._given.pop(entity, None)

    def feed(self, fact: Fact) -> None:
        # A group is applied before the next group's first fact joins the memory, so the
        # facts it sees are exactly those up to its own last position.
        if self._pending and self._pending[-1].recorded_at != fact.recorded_at:
            self.flush()
        self.memory.add(fact)
        self._pending.append(fact)
        self.position = fact.position

    def flush(self) -> None:
        if self._pending:
            group, self._pending = self._pending, []
            self._apply(group)

    def _apply(self, group: list[Fact]) -> None:
        recorded_at = group[-1].recorded_at
        direct, subjects = subjects_of(group)
        affected = set(direct)
        for subject in subjects:
            affected.update(self.memory.targets_of.get(subject, ()))
        if self.only is not None:
            affected &= self.only
        affected -= self.failed.keys()
        renamed = {f.event.entity for f in group if may_rename(f)}
        for entity in sorted(affected):
            if not self.isolate:
                self._apply_entity(entity, recorded_at, renamed)
                continue
            try:
                self._apply_entity(entity, recorded_at, renamed)
            except Exception as exc:
                self.set_aside(entity, group[0].position, exc)

    def set_aside(self, entity: str, position: int, error: BaseException) -> None:
        """Fold `entity` no more; drop whatever of it is not yet written."""
        self.failed.setdefault(entity, (position, f"{type(error).__name__}: {error}"))
        self.current.pop(entity, None)
        self._segmentations.pop(entity, None)
        self._found.pop(entity, None)
        self._given.pop(entity, None)
        self.dirty.discard(entity)
        self.records.pop(entity, None)
        self.closed = [row for row in self.closed if row[1] != entity]
        self.db_closes = [row for row in self.db_closes if row[0] != entity]

    def _apply_entity(self, entity: str, recorded_at: _dt.datetime, renamed: set[str]) -> None:
        facts = self.memory.facts_for(entity)
        segmentation = self._segmentations.get(entity)
        if segmentation is None:
            segmentation = self._segmentations[entity] = Segmentation(entity)
        # An entity's facts in the index only ever grow, in position order: when the fact
        # last given is at the same index, every fact before it is the same one too.
        given, last = self._given.get(entity, (0, None))
        unchanged = given if given and len(facts) >= given and facts[given - 1] is last else 0
        found = segmentation.update(facts, unchanged=unchanged)
        if facts:
            self._given[entity] = (len(facts), facts[-1])
        if found is self._found.get(entity):
            rows = None  # the very segments of its last update: its rows stand
        else:
            self._found[entity] = found
            rows = rows_of(found)
        previous = self.current.get(entity, {})
        if rows is not None and (
            len(rows) != len(previous) or any(row not in previous for row in rows)
        ):
            # Only rows that changed are closed and opened: a row that is still true keeps
            # the recorded_from at which it became the log's knowledge.
            now = {row: previous[row] if row in previous else recorded_at for row in rows}
            for row, since in previous.items():
                if row in now:
                    continue
                if since is None:
                    self.db_closes.append((entity, row[0], row[1], row[2], recorded_at))
                else:
                    self.closed.extend(
                        item_tuples(self.generation, entity, (row,), since, recorded_at)
                    )
            self.current[entity] = now
            self.dirty.add(entity)
        if entity in renamed:
            record = entity_record(entity, facts)
            if record is not None:
                self.records[entity] = record

    def open_rows(self) -> list[tuple]:
        """The current version of every entity whose rows changed, open-ended."""
        out: list[tuple] = []
        for entity in sorted(self.dirty):
            for row, since in self.current[entity].items():
                if since is not None:
                    out.extend(item_tuples(self.generation, entity, (row,), since))
        return out

    def record_rows(self) -> list[tuple]:
        return [
            (self.generation, r.entity, r.kind, r.country, r.names, r.aliases)
            for _, r in sorted(self.records.items())
        ]

    def name_rows(self) -> list[tuple]:
        """rm_entity_names rows of the entities whose names changed: (generation, entity,
        ordinal, name as JSON, valid_from, valid_to), one per span."""
        return [
            (self.generation, entity, span.ordinal, msgspec.json.encode(span.name), a, b)
            for entity, r in sorted(self.records.items())
            for span in r.names_over_time
            for a, b in span.spans
        ]

    def name_key_rows(self) -> list[tuple]:
        """rm_name_keys rows of the same entities: (generation, entity, ordinal, roles, key,
        reversed key)."""
        return [
            (self.generation, entity, *row)
            for entity, r in sorted(self.records.items())
            for row in key_rows(r.names_over_time)
        ]


def item_tuples(
    generation: int,
    entity: str,
    rows: Rows,
    recorded_from: _dt.datetime,
    recorded_to: _dt.datetime | None = None,
) -> list[tuple]:
    out = []
    for aspect, key, valid_from, valid_to, present, body in rows:
        record = [generation, entity, aspect, key, valid_from, valid_to, recorded_from]
        record.append(recorded_to if recorded_to is not None else OPEN_RECORDED)
        record.extend((present, body))
        out.append(tuple(record))
    return out
