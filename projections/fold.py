"""The fold: an entity's state as of a date, from the facts that count (contract section 2).

`evolve(state, fact)` is one pure step; `fold(state, facts)` is the driver that skips the facts
that do not count yet on `state.as_of`; `state_as_of(entity, facts, as_of, known_at)` selects,
keeps what is relevant to the entity, folds in world order and settles the names.
"""

from __future__ import annotations

import datetime as _dt
import functools
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from typing import TypeVar

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
    FinancialImpactDisclosed,
    GuidanceIssued,
    LicenseRequirementImposed,
    ProductAnalyzed,
    ProductLaunched,
    RegulatoryReviewConcluded,
    RegulatoryReviewOpened,
    RuleSuspended,
    SupplyHalted,
)
from projections.facts import Fact
from projections.select import certainty, counts, effective, world_key
from projections.state import (
    Certainty,
    EntityState,
    Exit,
    FinancialDisclosure,
    GuidanceNaming,
    HaltStatus,
    Launch,
    LicenseRequirement,
    Listing,
    Product,
    ProductAnalysis,
    Review,
    RuleInForce,
    RuleState,
    RuleStatus,
    SupplyHalt,
    initial_state,
)

Item = TypeVar(
    "Item",
    Listing,
    RuleInForce,
    Product,
    Exit,
    LicenseRequirement,
    Review,
    FinancialDisclosure,
    Launch,
    ProductAnalysis,
    SupplyHalt,
    GuidanceNaming,
)
ProductItem = TypeVar("ProductItem", Product, Launch)
AnyItem = (
    Listing
    | RuleInForce
    | Product
    | Exit
    | LicenseRequirement
    | Review
    | FinancialDisclosure
    | Launch
    | ProductAnalysis
    | SupplyHalt
    | GuidanceNaming
)


def evolve(state: EntityState, fact: Fact) -> EntityState:
    """Apply one fact that counts on `state.as_of`; return a new state (the old one is untouched).

    Facts are expected in world order. Facts about other entities (other streams, rules that do
    not name the entity, rescissions of rules it is not under) and `EventRetracted` (whose effect
    is in the selection) leave the state as it is. Raises ValueError for a fact that does not
    count yet on `state.as_of`: skipping those is the driver's job (`fold`).
    """
    event = fact.event
    sure = certainty(event.occurred, state.as_of)
    if sure is None:
        raise ValueError(
            f"event {fact.event_id} ({event.occurred}) does not count as of {state.as_of}"
        )
    since = str(event.occurred)
    event_id = fact.event_id
    match event:
        case EntityRegistered():
            if event.entity != state.entity:
                return state
            return register(state, event)
        case EntityListed():
            if event.entity != state.entity:
                return state
            return msgspec.structs.replace(
                state, listings=_listed(state.listings, event, since, sure, event_id)
            )
        case EntityDelisted():
            if event.entity != state.entity:
                return state
            return msgspec.structs.replace(
                state, listings=_ended(state.listings, (event.list,), sure, event_id)
            )
        case RuleIssued():
            if event.entity == state.entity:
                state = msgspec.structs.replace(
                    state,
                    rule_state=_rule_issued(
                        state.rule_state, event, since, sure, event_id, state.as_of
                    ),
                )
            if state.entity not in event.targets:
                return state
            return msgspec.structs.replace(
                state, rules=_issued(state.rules, event, since, sure, event_id, state.as_of)
            )
        case RuleRescinded():
            if event.entity == state.entity and state.rule_state is not None:
                state = msgspec.structs.replace(
                    state, rule_state=_rule_rescinded(state.rule_state, since, sure, event_id)
                )
            return msgspec.structs.replace(
                state,
                rules=_ended(state.rules, (event.entity,), sure, event_id),
                guidance=_ended(state.guidance, (event.entity,), sure, event_id),
            )
        case RuleSuspended():
            return _suspended(state, event, sure, event_id)
        case GuidanceIssued():
            if state.entity not in event.targets:
                return state
            return msgspec.structs.replace(
                state, guidance=_guided(state.guidance, event, since, sure, event_id)
            )
        case ProductMassProduced():
            if event.entity != state.entity:
                return state
            return msgspec.structs.replace(
                state, products=_offered(Product, state.products, event, since, sure, event_id)
            )
        case ExitAnnounced():
            if event.entity != state.entity:
                return state
            return msgspec.structs.replace(
                state, exits=_exited(state.exits, event, since, sure, event_id)
            )
        case EventRetracted():
            return state
    if event.entity != state.entity:
        return state
    return _evolve_own(state, event, since, sure, event_id)


def _evolve_own(
    state: EntityState, event: object, since: str, sure: Certainty, event_id: str
) -> EntityState:
    """The post-v1 types whose effect is on their subject's own state."""
    replace = msgspec.structs.replace
    match event:
        case LicenseRequirementImposed():
            return replace(
                state,
                license_requirements=_required(
                    state.license_requirements, event, since, sure, event_id
                ),
            )
        case RegulatoryReviewOpened():
            return replace(
                state, reviews=_review_opened(state.reviews, event, since, sure, event_id)
            )
        case RegulatoryReviewConcluded():
            return replace(
                state, reviews=_review_concluded(state.reviews, event, since, sure, event_id)
            )
        case FinancialImpactDisclosed():
            return replace(
                state,
                financial_disclosures=_disclosed(
                    state.financial_disclosures, event, since, sure, event_id
                ),
            )
        case ProductLaunched():
            return replace(
                state, launches=_offered(Launch, state.launches, event, since, sure, event_id)
            )
        case ProductAnalyzed():
            return replace(
                state,
                product_analyses=_analyzed(state.product_analyses, event, since, sure, event_id),
            )
        case SupplyHalted():
            return replace(
                state,
                supply_halts=_halted(state.supply_halts, event, since, sure, event_id, state.as_of),
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
    effective `RuleIssued` (or `GuidanceIssued`) naming it in `targets`.
    """

    def __init__(self, facts: Iterable[Fact]) -> None:
        self._own: dict[str, list[Fact]] = defaultdict(list)
        self._rule_facts: dict[str, list[Fact]] = defaultdict(list)
        self._rules_of: dict[str, set[str]] = defaultdict(set)
        for fact in facts:
            event = fact.event
            self._own[event.entity].append(fact)
            if isinstance(event, RuleIssued | RuleRescinded | RuleSuspended | GuidanceIssued):
                self._rule_facts[event.entity].append(fact)
            if isinstance(event, RuleIssued | GuidanceIssued):
                for target in event.targets:
                    self._rules_of[target].add(event.entity)

    def entities(self) -> list[str]:
        """Every entity with a relevant fact (subjects and rule targets), sorted."""
        return sorted(set(self._own) | set(self._rules_of))

    def own(self, entity: str) -> list[Fact]:
        """The entity's own stream, in world order."""
        return list(self._own.get(entity, ()))

    def relevant(self, entity: str) -> list[Fact]:
        """The facts relevant to `entity`, in world order, each once."""
        chosen = {fact.position: fact for fact in self._own.get(entity, ())}
        for rule in self._rules_of.get(entity, ()):
            for fact in self._rule_facts[rule]:
                chosen[fact.position] = fact
        return sorted(chosen.values(), key=world_key)


def relevant(entity: str, facts: Iterable[Fact]) -> list[Fact]:
    """The facts (already selected, see `effective`) relevant to `entity`, in world order."""
    return Relevance(facts).relevant(entity)


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
        return register(state, event)
    return state


# --- items -------------------------------------------------------------------------------


@functools.lru_cache(maxsize=4096)
def since_key(since: str) -> tuple[_dt.date, _dt.date]:
    """Order of `since` texts: interval start, then the narrower interval first."""
    return PartialDate(since).sort_key()


def earliest(current: str, new: str) -> str:
    """The earlier of two `since` texts (the current one on a tie)."""
    return new if since_key(new) < since_key(current) else current


def stronger(current: Certainty, new: Certainty) -> Certainty:
    """An item backed by any definite event is definite."""
    return "definite" if "definite" in (current, new) else "possible"


def item_key(item: AnyItem) -> tuple[str, ...]:
    """The key of an item within its aspect."""
    match item:
        case Listing():
            return (item.list,)
        case RuleInForce():
            return (item.rule,)
        case Product():
            return (item.product,)
        case Exit():
            return (item.market, item.region)
        case LicenseRequirement():
            return (item.items,)
        case Review():
            return (item.regulator or item.authority, item.review)
        case FinancialDisclosure():
            return (item.measure, item.period or "")
        case Launch():
            return (item.product,)
        case ProductAnalysis():
            return (item.product, item.analyst or "")
        case SupplyHalt():
            return (item.customer,)
        case GuidanceNaming():
            return (item.guidance,)
    raise TypeError(f"not an item: {item!r}")  # pragma: no cover


def _sorted(items: Iterable[Item]) -> tuple[Item, ...]:
    return tuple(sorted(items, key=lambda item: (since_key(item.since), item_key(item))))


def _find(items: Sequence[Item], key: tuple[str, ...]) -> Item | None:
    for item in items:
        if item_key(item) == key:
            return item
    return None


def _put(items: Sequence[Item], new: Item) -> tuple[Item, ...]:
    key = item_key(new)
    return _sorted([*(item for item in items if item_key(item) != key), new])


def _merge(
    items: Sequence[Item],
    key: tuple[str, ...],
    make: Callable[[Item | None], Item],
) -> tuple[Item, ...]:
    return _put(items, make(_find(items, key)))


def _listed(
    items: Sequence[Listing], event: EntityListed, since: str, sure: Certainty, event_id: str
) -> tuple[Listing, ...]:
    def make(current: Listing | None) -> Listing:
        if current is None:
            return Listing(
                list=event.list,
                since=since,
                rule=event.rule,
                authority=event.authority,
                license_policy=event.license_policy,
                certainty=sure,
                event_ids=(event_id,),
                license_requirement=event.license_requirement,
            )
        return Listing(
            list=event.list,
            since=earliest(current.since, since),
            rule=event.rule if event.rule is not None else current.rule,
            authority=event.authority,
            license_policy=(
                event.license_policy if event.license_policy is not None else current.license_policy
            ),
            certainty=stronger(current.certainty, sure),
            event_ids=(*current.event_ids, event_id),
            license_requirement=(
                event.license_requirement
                if event.license_requirement is not None
                else current.license_requirement
            ),
        )

    return _merge(items, (event.list,), make)


def _status(effective_on: _dt.date | None, as_of: _dt.date) -> RuleStatus:
    return "pending" if effective_on is not None and effective_on > as_of else "in_force"


def _issued(
    items: Sequence[RuleInForce],
    event: RuleIssued,
    since: str,
    sure: Certainty,
    event_id: str,
    as_of: _dt.date,
) -> tuple[RuleInForce, ...]:
    def make(current: RuleInForce | None) -> RuleInForce:
        if current is None:
            return RuleInForce(
                rule=event.entity,
                title=dict(sorted(event.title.items())),
                authority=event.authority,
                since=since,
                effective=event.effective,
                status=_status(event.effective, as_of),
                certainty=sure,
                event_ids=(event_id,),
            )
        effective_on = event.effective if event.effective is not None else current.effective
        suspended = current.status == "suspended"
        return RuleInForce(
            rule=event.entity,
            title=dict(sorted(event.title.items())),
            authority=event.authority,
            since=earliest(current.since, since),
            effective=effective_on,
            status="suspended" if suspended else _status(effective_on, as_of),
            certainty=stronger(current.certainty, sure),
            event_ids=(*current.event_ids, event_id),
            suspended_until=current.suspended_until if suspended else None,
        )

    return _merge(items, (event.entity,), make)


def _offered(
    cls: type[ProductItem],
    items: Sequence[ProductItem],
    event: ProductMassProduced | ProductLaunched,
    since: str,
    sure: Certainty,
    event_id: str,
) -> tuple[ProductItem, ...]:
    """A product in mass production (`Product`) or launched (`Launch`): the same fields, kept
    apart in the state because they are different claims. Later specs replace earlier ones."""

    def make(current: ProductItem | None) -> ProductItem:
        if current is None:
            return cls(
                product=event.product,
                category=event.category,
                specs=dict(sorted(event.specs.items())),
                since=since,
                certainty=sure,
                event_ids=(event_id,),
            )
        return cls(
            product=event.product,
            category=event.category,
            specs=dict(sorted(event.specs.items())) if event.specs else current.specs,
            since=earliest(current.since, since),
            certainty=stronger(current.certainty, sure),
            event_ids=(*current.event_ids, event_id),
        )

    return _merge(items, (event.product,), make)


def _exited(
    items: Sequence[Exit], event: ExitAnnounced, since: str, sure: Certainty, event_id: str
) -> tuple[Exit, ...]:
    def make(current: Exit | None) -> Exit:
        if current is None:
            return Exit(
                market=event.market,
                region=event.region,
                impact=event.impact,
                since=since,
                certainty=sure,
                event_ids=(event_id,),
            )
        return Exit(
            market=event.market,
            region=event.region,
            impact=event.impact if event.impact is not None else current.impact,
            since=earliest(current.since, since),
            certainty=stronger(current.certainty, sure),
            event_ids=(*current.event_ids, event_id),
        )

    return _merge(items, (event.market, event.region), make)


def _ended(
    items: Sequence[Item], key: tuple[str, ...], sure: Certainty, event_id: str
) -> tuple[Item, ...]:
    """A delisting or rescission: definite removes the item; possible makes it possible
    ("possibly ended") and adds the event's id; of an absent item, it changes nothing."""
    current = _find(items, key)
    if current is None:
        return tuple(items)
    if sure == "definite":
        return tuple(item for item in items if item_key(item) != key)
    ended = msgspec.structs.replace(
        current, certainty="possible", event_ids=(*current.event_ids, event_id)
    )
    return _put(items, ended)


# --- post-v1 types ---------------------------------------------------------------------------


def _rule_issued(
    current: RuleState | None,
    event: RuleIssued,
    since: str,
    sure: Certainty,
    event_id: str,
    as_of: _dt.date,
) -> RuleState:
    """The rule's own state. A re-issue after a definite rescission starts a new life."""
    if current is None or current.status == "rescinded":
        return RuleState(
            title=dict(sorted(event.title.items())),
            authority=event.authority,
            since=since,
            effective=event.effective,
            status=_status(event.effective, as_of),
            suspended_until=None,
            ended=None,
            certainty=sure,
            event_ids=(event_id,),
        )
    effective_on = event.effective if event.effective is not None else current.effective
    suspended = current.status == "suspended"
    return RuleState(
        title=dict(sorted(event.title.items())),
        authority=event.authority,
        since=earliest(current.since, since),
        effective=effective_on,
        status="suspended" if suspended else _status(effective_on, as_of),
        suspended_until=current.suspended_until if suspended else None,
        ended=None,
        certainty=stronger(current.certainty, sure),
        event_ids=(*current.event_ids, event_id),
    )


def _rule_rescinded(current: RuleState, since: str, sure: Certainty, event_id: str) -> RuleState:
    """Definite: `rescinded` (kept, so the rule's page says so); possible: `possible`."""
    if current.status == "rescinded":
        return msgspec.structs.replace(current, event_ids=(*current.event_ids, event_id))
    if sure == "definite":
        return msgspec.structs.replace(
            current,
            status="rescinded",
            suspended_until=None,
            ended=since,
            event_ids=(*current.event_ids, event_id),
        )
    return msgspec.structs.replace(
        current, certainty="possible", event_ids=(*current.event_ids, event_id)
    )


def _suspension(
    status: str,
    effective_on: _dt.date | None,
    event: RuleSuspended,
    sure: Certainty,
    as_of: _dt.date,
) -> tuple[str, _dt.date | None, bool]:
    """(status, suspended_until, possibly) after a suspension that counts on `as_of`.

    Definite and not yet over: `suspended`. Over (`until` <= as_of): the rule applies again,
    with the status its `effective` date gives. Possible (its interval straddles the day): the
    status is unchanged and the item becomes `possible`, as with a possible rescission.
    """
    if event.until is not None and event.until <= as_of:
        return _status(effective_on, as_of), None, False
    if sure == "possible":
        return status, None, True
    return "suspended", event.until, False


def _suspended(
    state: EntityState, event: RuleSuspended, sure: Certainty, event_id: str
) -> EntityState:
    """A suspension of rule `event.entity`: in the rule's own state and in every company's
    `rules` item of that rule. Of a rule not (or no longer) in force: nothing."""
    own = state.rule_state
    if event.entity == state.entity and own is not None and own.status != "rescinded":
        status, until, possibly = _suspension(own.status, own.effective, event, sure, state.as_of)
        own = msgspec.structs.replace(
            own,
            status=status,  # type: ignore[arg-type]
            suspended_until=until,
            certainty="possible" if possibly else own.certainty,
            event_ids=(*own.event_ids, event_id),
        )
        state = msgspec.structs.replace(state, rule_state=own)
    current = _find(state.rules, (event.entity,))
    if current is None:
        return state
    status, until, possibly = _suspension(
        current.status, current.effective, event, sure, state.as_of
    )
    item = msgspec.structs.replace(
        current,
        status=status,  # type: ignore[arg-type]
        suspended_until=until,
        certainty="possible" if possibly else current.certainty,
        event_ids=(*current.event_ids, event_id),
    )
    return msgspec.structs.replace(state, rules=_put(state.rules, item))


def _guided(
    items: Sequence[GuidanceNaming],
    event: GuidanceIssued,
    since: str,
    sure: Certainty,
    event_id: str,
) -> tuple[GuidanceNaming, ...]:
    def make(current: GuidanceNaming | None) -> GuidanceNaming:
        return GuidanceNaming(
            guidance=event.entity,
            title=dict(sorted(event.title.items())),
            authority=event.authority,
            since=since if current is None else earliest(current.since, since),
            certainty=sure if current is None else stronger(current.certainty, sure),
            event_ids=(event_id,) if current is None else (*current.event_ids, event_id),
        )

    return _merge(items, (event.entity,), make)


def _required(
    items: Sequence[LicenseRequirement],
    event: LicenseRequirementImposed,
    since: str,
    sure: Certainty,
    event_id: str,
) -> tuple[LicenseRequirement, ...]:
    def make(current: LicenseRequirement | None) -> LicenseRequirement:
        if current is None:
            return LicenseRequirement(
                items=event.items,
                authority=event.authority,
                destinations=tuple(event.destinations),
                rule=event.rule,
                license_policy=event.license_policy,
                since=since,
                certainty=sure,
                event_ids=(event_id,),
            )
        return LicenseRequirement(
            items=event.items,
            authority=event.authority,
            destinations=tuple(event.destinations) or current.destinations,
            rule=event.rule if event.rule is not None else current.rule,
            license_policy=(
                event.license_policy if event.license_policy is not None else current.license_policy
            ),
            since=earliest(current.since, since),
            certainty=stronger(current.certainty, sure),
            event_ids=(*current.event_ids, event_id),
        )

    return _merge(items, (event.items,), make)


def _review_key(event: RegulatoryReviewOpened | RegulatoryReviewConcluded) -> tuple[str, str]:
    return (event.regulator or event.authority, event.review)


def _review_opened(
    items: Sequence[Review],
    event: RegulatoryReviewOpened,
    since: str,
    sure: Certainty,
    event_id: str,
) -> tuple[Review, ...]:
    """Opens a review; merges into an open one; after a conclusion, a new review starts."""

    def make(current: Review | None) -> Review:
        if current is None or current.status == "concluded":
            return Review(
                authority=event.authority,
                regulator=event.regulator,
                review=event.review,
                status="open",
                outcome=None,
                since=since,
                concluded=None,
                certainty=sure,
                event_ids=(event_id,),
            )
        return msgspec.structs.replace(
            current,
            since=earliest(current.since, since),
            certainty=stronger(current.certainty, sure),
            event_ids=(*current.event_ids, event_id),
        )

    return _merge(items, _review_key(event), make)


def _review_concluded(
    items: Sequence[Review],
    event: RegulatoryReviewConcluded,
    since: str,
    sure: Certainty,
    event_id: str,
) -> tuple[Review, ...]:
    """Definite: the review is `concluded` with the outcome (a review never seen opened is
    created concluded). Possible, of an open review: it stays open and becomes `possible`
    ("possibly concluded"), like a possible delisting."""

    def make(current: Review | None) -> Review:
        if current is None:
            return Review(
                authority=event.authority,
                regulator=event.regulator,
                review=event.review,
                status="concluded",
                outcome=event.outcome,
                since=since,
                concluded=since,
                certainty=sure,
                event_ids=(event_id,),
            )
        if sure == "possible" and current.status == "open":
            return msgspec.structs.replace(
                current, certainty="possible", event_ids=(*current.event_ids, event_id)
            )
        return msgspec.structs.replace(
            current,
            status="concluded",
            outcome=event.outcome,
            concluded=since,
            event_ids=(*current.event_ids, event_id),
        )

    return _merge(items, _review_key(event), make)


def _disclosed(
    items: Sequence[FinancialDisclosure],
    event: FinancialImpactDisclosed,
    since: str,
    sure: Certainty,
    event_id: str,
) -> tuple[FinancialDisclosure, ...]:
    """The latest disclosure of a figure (in world order) replaces the earlier one; the ids of
    both are kept."""

    def make(current: FinancialDisclosure | None) -> FinancialDisclosure:
        return FinancialDisclosure(
            measure=event.measure,
            period=event.period,
            amount=event.amount,
            qualifier=event.qualifier,
            estimate=event.estimate,
            since=since,
            certainty=sure,
            event_ids=(event_id,) if current is None else (*current.event_ids, event_id),
        )

    return _merge(items, (event.measure, event.period or ""), make)


def _analyzed(
    items: Sequence[ProductAnalysis],
    event: ProductAnalyzed,
    since: str,
    sure: Certainty,
    event_id: str,
) -> tuple[ProductAnalysis, ...]:
    def make(current: ProductAnalysis | None) -> ProductAnalysis:
        if current is None:
            return ProductAnalysis(
                product=event.product,
                category=event.category,
                analyst=event.analyst,
                manufacturer=event.manufacturer,
                findings=dict(sorted(event.findings.items())),
                since=since,
                certainty=sure,
                event_ids=(event_id,),
            )
        return ProductAnalysis(
            product=event.product,
            category=event.category,
            analyst=event.analyst,
            manufacturer=(
                event.manufacturer if event.manufacturer is not None else current.manufacturer
            ),
            findings=dict(sorted(event.findings.items())) if event.findings else current.findings,
            since=earliest(current.since, since),
            certainty=stronger(current.certainty, sure),
            event_ids=(*current.event_ids, event_id),
        )

    return _merge(items, (event.product, event.analyst or ""), make)


def _halt_status(effective_on: _dt.date | None, as_of: _dt.date) -> HaltStatus:
    return "pending" if effective_on is not None and effective_on > as_of else "in_effect"


def _halted(
    items: Sequence[SupplyHalt],
    event: SupplyHalted,
    since: str,
    sure: Certainty,
    event_id: str,
    as_of: _dt.date,
) -> tuple[SupplyHalt, ...]:
    def make(current: SupplyHalt | None) -> SupplyHalt:
        if current is None:
            return SupplyHalt(
                customer=event.customer,
                items=event.items,
                since=since,
                effective=event.effective,
                status=_halt_status(event.effective, as_of),
                certainty=sure,
                event_ids=(event_id,),
            )
        effective_on = event.effective if event.effective is not None else current.effective
        return SupplyHalt(
            customer=event.customer,
            items=event.items if event.items is not None else current.items,
            since=earliest(current.since, since),
            effective=effective_on,
            status=_halt_status(effective_on, as_of),
            certainty=stronger(current.certainty, sure),
            event_ids=(*current.event_ids, event_id),
        )

    return _merge(items, (event.customer,), make)
