"""The fold: an entity's state as of a date, from the facts that count.

`evolve(state, fact)` is one pure step; `fold(state, facts)` is the driver that skips the facts
that do not count yet on `state.as_of`; `state_as_of(entity, facts, as_of, known_at)` selects,
keeps what is relevant to the entity, folds in world order and settles the names.
"""

from __future__ import annotations

import datetime as _dt
from collections import defaultdict
from collections.abc import Iterable, Sequence

import msgspec

from events import (
    EntityDelisted,
    EntityListed,
    EntityRegistered,
    EventRetracted,
    ExitAnnounced,
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
from projections.facts import Fact
from projections.fold.finance import add_disclosure
from projections.fold.items import end_items
from projections.fold.listings import add_listing, end_listing
from projections.fold.markets import add_exit
from projections.fold.names import rename
from projections.fold.ownership import change_ownership
from projections.fold.products import add_analysis, add_product
from projections.fold.reviews import conclude_review, open_review
from projections.fold.rules import (
    add_guidance,
    add_license_requirement,
    add_rule_in_force,
    issue_rule,
    rescind_rule,
    suspend_rule,
)
from projections.fold.supply import add_halt
from projections.select import certainty as certainty_on
from projections.select import counts, effective, world_key
from projections.state import (
    Anomaly,
    Certainty,
    EntityState,
    Launch,
    Product,
    initial_state,
)


def evolve(state: EntityState, fact: Fact) -> EntityState:
    """Apply one fact that counts on `state.as_of`; return a new state (the old one is untouched).

    Facts are expected in world order. Facts about other entities (other streams, rules that do
    not name the entity, rescissions of rules it is not under) and `EventRetracted` (whose effect
    is in the selection) leave the state as it is. Raises ValueError for a fact that does not
    count yet on `state.as_of`: skipping those is the driver's job (`fold`).
    """
    event = fact.event
    certainty = certainty_on(event.occurred, state.as_of)
    if certainty is None:
        raise ValueError(
            f"event {fact.event_id} ({event.occurred}) does not count as of {state.as_of}"
        )
    since = str(event.occurred)
    event_id = fact.event_id
    match event:
        case EntityRegistered():
            if event.parent is not None:
                state = change_ownership(state, event, since, certainty, event_id)
            if event.entity != state.entity:
                return state
            return register(state, event)
        case OwnershipChanged():
            return change_ownership(state, event, since, certainty, event_id)
        case EntityListed():
            if event.entity != state.entity:
                return state
            return msgspec.structs.replace(
                state, listings=add_listing(state.listings, event, since, certainty, event_id)
            )
        case EntityDelisted():
            if event.entity != state.entity:
                return state
            listings, ended = end_listing(state.listings, event, certainty, event_id)
            if ended:
                return msgspec.structs.replace(state, listings=listings)
            unmatched = Anomaly(
                kind="unmatched_delisting",
                list=event.list,
                since=since,
                certainty=certainty,
                event_id=event_id,
            )
            anomalies = () if state.anomalies is msgspec.UNSET else state.anomalies
            return msgspec.structs.replace(state, anomalies=(*anomalies, unmatched))  # type: ignore[misc]
        case RuleIssued():
            if event.entity == state.entity:
                state = msgspec.structs.replace(
                    state,
                    rule_state=issue_rule(
                        state.rule_state, event, since, certainty, event_id, state.as_of
                    ),
                )
            if state.entity not in event.targets:
                return state
            return msgspec.structs.replace(
                state,
                rules=add_rule_in_force(
                    state.rules, event, since, certainty, event_id, state.as_of
                ),
            )
        case RuleRescinded():
            if event.entity == state.entity and state.rule_state is not None:
                state = msgspec.structs.replace(
                    state, rule_state=rescind_rule(state.rule_state, since, certainty, event_id)
                )
            return msgspec.structs.replace(
                state,
                rules=end_items(state.rules, (event.entity,), certainty, event_id),
                guidance=end_items(state.guidance, (event.entity,), certainty, event_id),
            )
        case RuleSuspended():
            return suspend_rule(state, event, certainty, event_id)
        case GuidanceIssued():
            if state.entity not in event.targets:
                return state
            return msgspec.structs.replace(
                state, guidance=add_guidance(state.guidance, event, since, certainty, event_id)
            )
        case ProductMassProduced():
            if event.entity != state.entity:
                return state
            return msgspec.structs.replace(
                state,
                products=add_product(Product, state.products, event, since, certainty, event_id),
            )
        case ExitAnnounced():
            if event.entity != state.entity:
                return state
            return msgspec.structs.replace(
                state, exits=add_exit(state.exits, event, since, certainty, event_id)
            )
        case EventRetracted():
            return state
    if event.entity != state.entity:
        return state
    return _evolve_own(state, event, since, certainty, event_id)


def _evolve_own(
    state: EntityState, event: object, since: str, certainty: Certainty, event_id: str
) -> EntityState:
    """Event types whose effect is only on their subject's own state."""
    replace = msgspec.structs.replace
    match event:
        case LicenseRequirementImposed():
            return replace(
                state,
                license_requirements=add_license_requirement(
                    state.license_requirements, event, since, certainty, event_id
                ),
            )
        case RegulatoryReviewOpened():
            return replace(
                state, reviews=open_review(state.reviews, event, since, certainty, event_id)
            )
        case RegulatoryReviewConcluded():
            return replace(
                state, reviews=conclude_review(state.reviews, event, since, certainty, event_id)
            )
        case FinancialImpactDisclosed():
            return replace(
                state,
                financial_disclosures=add_disclosure(
                    state.financial_disclosures, event, since, certainty, event_id
                ),
            )
        case ProductLaunched():
            return replace(
                state,
                launches=add_product(Launch, state.launches, event, since, certainty, event_id),
            )
        case ProductAnalyzed():
            return replace(
                state,
                product_analyses=add_analysis(
                    state.product_analyses, event, since, certainty, event_id
                ),
            )
        case EntityRenamed():
            return rename(state, event, since, event_id)
        case SupplyHalted():
            return replace(
                state,
                supply_halts=add_halt(
                    state.supply_halts, event, since, certainty, event_id, state.as_of
                ),
            )
    raise TypeError(f"unknown event type {type(event).__name__}")  # pragma: no cover


def fold(state: EntityState, facts: Iterable[Fact]) -> EntityState:
    """Evolve `state` by each fact, in the order given (world order), skipping the facts that do
    not count yet on `state.as_of`."""
    for fact in facts:
        if counts(fact, state.as_of):
            state = evolve(state, fact)
    return state


def register(state: EntityState, event: EntityRegistered) -> EntityState:
    """Names, aliases, kind and country of a registration; a later one replaces them all."""
    return msgspec.structs.replace(
        state,
        names=dict(sorted(event.names.items())),
        aliases=tuple(event.aliases),
        kind=event.kind,
        country=event.country,
    )


class Relevance:
    """An index of effective facts (in world order) by the entities whose state they touch.

    Relevant to an entity: its own stream, plus the `RuleIssued`, `RuleRescinded`,
    `RuleSuspended` and `GuidanceIssued` facts of every rule (or guidance) that has an
    effective `RuleIssued` (or `GuidanceIssued`) naming it in `targets`, plus the
    `OwnershipChanged` facts (and registrations with a `parent`) that name it as the owner.
    """

    def __init__(self, facts: Iterable[Fact]) -> None:
        self._own: dict[str, list[Fact]] = defaultdict(list)
        self._rule_facts: dict[str, list[Fact]] = defaultdict(list)
        self._rules_of: dict[str, set[str]] = defaultdict(set)
        self._holdings: dict[str, list[Fact]] = defaultdict(list)
        for fact in facts:
            event = fact.event
            self._own[event.entity].append(fact)
            if isinstance(event, RuleIssued | RuleRescinded | RuleSuspended | GuidanceIssued):
                self._rule_facts[event.entity].append(fact)
            if isinstance(event, RuleIssued | GuidanceIssued):
                for target in event.targets:
                    self._rules_of[target].add(event.entity)
            owner = owner_named(fact)
            if owner is not None and owner != event.entity:
                self._holdings[owner].append(fact)

    def entities(self) -> list[str]:
        """Every entity with a relevant fact (subjects, rule targets and owners), sorted."""
        return sorted(set(self._own) | set(self._rules_of) | set(self._holdings))

    def own(self, entity: str) -> list[Fact]:
        """The entity's own stream, in world order."""
        return list(self._own.get(entity, ()))

    def relevant(self, entity: str) -> list[Fact]:
        """The facts relevant to `entity`, in world order, each once."""
        chosen = {fact.position: fact for fact in self._own.get(entity, ())}
        for rule in self._rules_of.get(entity, ()):
            for fact in self._rule_facts[rule]:
                chosen[fact.position] = fact
        for fact in self._holdings.get(entity, ()):
            chosen[fact.position] = fact
        return sorted(chosen.values(), key=world_key)


def owner_named(fact: Fact) -> str | None:
    """The owner an `OwnershipChanged` (or a registration's `parent`) names, if any."""
    event = fact.event
    if isinstance(event, OwnershipChanged):
        return event.owner
    if isinstance(event, EntityRegistered):
        return event.parent
    return None


_RULE_STREAM = (RuleIssued, RuleRescinded, RuleSuspended, GuidanceIssued)
_NAMING = (RuleIssued, GuidanceIssued)


def relevant(entity: str, facts: Iterable[Fact]) -> list[Fact]:
    """The facts (already selected, see `effective`) relevant to `entity`, in world order:
    `Relevance(facts).relevant(entity)` for one entity, without indexing every other one."""
    facts = facts if isinstance(facts, list | tuple) else list(facts)
    rules = {
        fact.event.entity
        for fact in facts
        if isinstance(fact.event, _NAMING) and entity in fact.event.targets
    }
    chosen: dict[int, Fact] = {}
    for fact in facts:
        event = fact.event
        subject = event.entity
        if (
            subject == entity
            or (subject in rules and isinstance(event, _RULE_STREAM))
            or owner_named(fact) == entity
        ):
            chosen[fact.position] = fact
    return sorted(chosen.values(), key=world_key)


def state_as_of(
    entity: str,
    facts: Iterable[Fact],
    as_of: _dt.date,
    known_at: _dt.datetime | None = None,
) -> EntityState:
    """The state of `entity` on day `as_of`, as the log knew it at `known_at` (None: all of it).

    Names, aliases, kind and country come from the registrations that count on `as_of` (the last
    in world order wins). When none counts yet, they come from the earliest known registration
    in world order: names are identity, and an entity is still called by its name on a date
    before the registration's own date.
    """
    chosen = relevant(entity, effective(facts, known_at))
    return settle_identity(fold(initial_state(entity, as_of, known_at), chosen), chosen)


def settle_identity(state: EntityState, facts: Sequence[Fact]) -> EntityState:
    """When no registration of the entity counts on `state.as_of`, take names, aliases, kind and
    country from the earliest (world order) registration among `facts` (in world order)."""
    registrations = [
        fact
        for fact in facts
        if isinstance(fact.event, EntityRegistered) and fact.event.entity == state.entity
    ]
    if registrations and not any(counts(fact, state.as_of) for fact in registrations):
        event = registrations[0].event
        assert isinstance(event, EntityRegistered)
        renamed = any(
            isinstance(fact.event, EntityRenamed)
            and fact.event.entity == state.entity
            and counts(fact, state.as_of)
            for fact in facts
        )
        if renamed:  # names from the rename that counts; the rest from the registration
            return msgspec.structs.replace(state, kind=event.kind, country=event.country)
        return register(state, event)
    return state
