"""Cross-entity answers, by replaying the log: the reference the SQL read models must equal.

- `list_members(facts, list_id, as_of, known_at, program)`: who was on a list (under a
  programme) as of a date.
- `changes(facts, from_date, to_date, known_at)`: which items of which entities differ between
  the states as of two dates (see `projections.state.Change` for the exact definition).
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Iterable, Sequence

from events import EntityDelisted, EntityListed, RuleRescinded
from projections.facts import Fact
from projections.fold import Relevance, evolve, fold, item_key
from projections.fold.listings import designations_of, member_of
from projections.select import counts, effective
from projections.state import (
    Aspect,
    Change,
    ChangeAspect,
    Designation,
    EntityState,
    Exit,
    Listing,
    Member,
    Product,
    RuleInForce,
    initial_state,
)

ASPECTS: tuple[Aspect, ...] = ("listing", "rule", "product", "exit")
CHANGE_ASPECTS: tuple[ChangeAspect, ...] = ("listing", "designation", "rule", "product", "exit")
"""The order of an entity's changes."""

AnyItem = Listing | RuleInForce | Product | Exit
ItemRef = tuple[Aspect, tuple[str, ...]]


def list_members(
    facts: Iterable[Fact],
    list_id: str,
    as_of: _dt.date,
    known_at: _dt.datetime | None = None,
    program: str | None = None,
) -> tuple[Member, ...]:
    """The entities on `list_id` on day `as_of`, as known at `known_at`, sorted by entity.

    A member is exactly the `Listing` of that list in the entity's `state_as_of`; with
    `program`, only the entities with an open designation under it, each summed up from those
    designations alone (see `projections.fold.listings.member_of`).
    """
    index = Relevance(effective(facts, known_at))
    members: list[Member] = []
    for entity in index.entities():
        on_list = [
            fact
            for fact in index.own(entity)
            if isinstance(fact.event, EntityListed | EntityDelisted) and fact.event.list == list_id
        ]
        if not on_list:
            continue
        state = fold(initial_state(entity, as_of, known_at), on_list)
        for listing in state.listings:
            member = member_of(entity, listing, program)
            if member is not None:
                members.append(member)
    return tuple(members)


def changes(
    facts: Iterable[Fact],
    from_date: _dt.date,
    to_date: _dt.date,
    known_at: _dt.datetime | None = None,
) -> tuple[Change, ...]:
    """What changed between the states as of `from_date` and as of `to_date` (both as known at
    `known_at`), for every entity. Sorted by entity, then aspect (listing, designation, rule,
    product, exit), then key. Names are not compared. Raises ValueError when `from_date` is
    after `to_date`.
    """
    if from_date > to_date:
        raise ValueError(f"from ({from_date}) must be on or before to ({to_date})")
    index = Relevance(effective(facts, known_at))
    out: list[Change] = []
    for entity in index.entities():
        chosen = index.relevant(entity)
        before = fold(initial_state(entity, from_date, known_at), chosen)
        after, removed_by = _fold_noting_removals(initial_state(entity, to_date, known_at), chosen)
        out.extend(diff(before, after, removed_by))
    return tuple(out)


def items_of(state: EntityState) -> dict[ItemRef, AnyItem]:
    """Every item of a state by (aspect, key)."""
    groups: tuple[tuple[Aspect, Sequence[AnyItem]], ...] = (
        ("listing", state.listings),
        ("rule", state.rules),
        ("product", state.products),
        ("exit", state.exits),
    )
    return {(aspect, item_key(item)): item for aspect, items in groups for item in items}


def diff(
    before: EntityState, after: EntityState, removed_by: dict[ItemRef, str] | None = None
) -> list[Change]:
    """The `Change`s from `before` to `after` (same entity), sorted by aspect then key.

    `removed_by` names, per item, the event that removed it (used for `lost`).
    """
    return diff_items(after.entity, items_of(before), items_of(after), removed_by)


def diff_items(
    entity: str,
    old: dict[ItemRef, AnyItem],
    new: dict[ItemRef, AnyItem],
    removed_by: dict[ItemRef, str] | None = None,
) -> list[Change]:
    """`diff` on the items of two states (as `items_of` gives them), e.g. read from storage."""
    refs = sorted(set(old) | set(new), key=lambda ref: (ASPECTS.index(ref[0]), ref[1]))
    out: list[Change] = []
    designations: list[Change] = []
    for ref in refs:
        was = old.get(ref)
        now = new.get(ref)
        if isinstance(was, Listing) and isinstance(now, Listing):
            designations.extend(_designation_changes(entity, was, now))
        if was is not None and now is not None and _face(was) == _face(now):
            continue
        if was is None:
            kind = "gained"
        elif now is None:
            kind = "lost"
        else:
            kind = "changed"
        if now is not None:
            event_ids = now.event_ids
        else:
            assert was is not None
            event_ids = was.event_ids
            remover = (removed_by or {}).get(ref)
            if remover is not None and remover not in event_ids:
                event_ids = (*event_ids, remover)
        out.append(
            Change(
                entity=entity,
                aspect=ref[0],
                key=ref[1],
                change=kind,
                since_before=was.since if was is not None else None,
                since_after=now.since if now is not None else None,
                certainty_before=was.certainty if was is not None else None,
                certainty_after=now.certainty if now is not None else None,
                status_before=was.status if isinstance(was, RuleInForce) else None,
                status_after=now.status if isinstance(now, RuleInForce) else None,
                event_ids=event_ids,
            )
        )
    if designations:  # after the listings, before the rules: the order of CHANGE_ASPECTS
        listings = sum(1 for change in out if change.aspect == "listing")
        out[listings:listings] = sorted(designations, key=lambda change: change.key)
    return out


def _designation_key(designation: Designation) -> tuple[str, str]:
    return (designation.program or "", designation.designation or "")


def _designation_changes(entity: str, was: Listing, now: Listing) -> list[Change]:
    """The designations of a listing kept from `was` to `now` that started or ended."""
    before = {_designation_key(d): d for d in designations_of(was)}
    after = {_designation_key(d): d for d in designations_of(now)}
    out: list[Change] = []
    for key in sorted(before.keys() ^ after.keys()):
        started = key in after
        designation = after[key] if started else before[key]
        out.append(
            Change(
                entity=entity,
                aspect="designation",
                key=(now.list, *key),
                change="gained" if started else "lost",
                since_before=None if started else designation.since,
                since_after=designation.since if started else None,
                certainty_before=None if started else designation.certainty,
                certainty_after=designation.certainty if started else None,
                status_before=None,
                status_after=None,
                event_ids=designation.event_ids,
            )
        )
    return out


def _face(item: AnyItem) -> tuple[str, str, str | None]:
    """What a change is about: since, certainty and (rules) status."""
    return (item.since, item.certainty, item.status if isinstance(item, RuleInForce) else None)


def _fold_noting_removals(
    state: EntityState, facts: Iterable[Fact]
) -> tuple[EntityState, dict[ItemRef, str]]:
    """`fold`, also noting for each item the last event that removed it."""
    removed_by: dict[ItemRef, str] = {}
    for fact in facts:
        if not counts(fact, state.as_of):
            continue
        state, removed_by = evolve_noting_removals(state, removed_by, fact)
    return state, removed_by


def evolve_noting_removals(
    state: EntityState, removed_by: dict[ItemRef, str], fact: Fact
) -> tuple[EntityState, dict[ItemRef, str]]:
    """One `evolve` step that also notes which items the fact removed (`removed_by` is not
    modified: a new dict is returned when it changes)."""
    new = evolve(state, fact)
    if isinstance(fact.event, REMOVING_EVENTS):
        gone = set(items_of(state)) - set(items_of(new))
        if gone:
            removed_by = dict(removed_by)
            for ref in gone:
                removed_by[ref] = fact.event_id
    return new, removed_by


# Events whose effect can be to take an item away (as opposed to supersession, in selection).
REMOVING_EVENTS: tuple[type, ...] = (EntityDelisted, RuleRescinded)
