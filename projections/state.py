"""The state of one entity as of a world date, as the log knew it at a moment (contract 2).

All structs are frozen, keyword-only msgspec Structs whose fields are declared in a fixed order.
Every item says `since` (the `occurred` text of the event it comes from, exactly as precise as
that event), its `certainty` and the ids of the events it came from, in world order, so that
any answer can be explained.
"""

from __future__ import annotations

import datetime as _dt
from typing import Literal

import msgspec
from msgspec import UNSET, UnsetType

from events import Impact

Certainty = Literal["definite", "possible"]
# `suspended`: a `RuleSuspended` counts on the date and its `until` is after it.
RuleStatus = Literal["in_force", "pending", "suspended"]
OwnRuleStatus = Literal["in_force", "pending", "suspended", "rescinded"]
ReviewStatus = Literal["open", "concluded"]
HaltStatus = Literal["pending", "in_effect"]
Aspect = Literal["listing", "rule", "product", "exit"]
ChangeAspect = Literal["listing", "designation", "rule", "product", "exit"]
"""What a `Change` is about: an item of an aspect, or one designation of a listing."""
ChangeKind = Literal["gained", "lost", "changed"]

SpecValue = str | int | float


class Designation(msgspec.Struct, frozen=True, kw_only=True):
    """One open designation of the company on a list, as its source publishes it. Keyed within
    the list by (`program`, `designation`); None in both is the list's one unnamed designation.

    `since`: the earliest listing of it that counts; `authority`, `rule`, `reason` and the texts:
    of its latest listing (a listing that leaves one out keeps the earlier one's); `measures`:
    of its latest listing that names any. See docs/designations.md for the FollowTheMoney names.
    """

    program: str | None
    designation: str | None
    since: str
    authority: str
    rule: str | None
    reason: str | None
    measures: tuple[str, ...]
    license_policy: str | None
    license_requirement: str | None
    certainty: Certainty
    event_ids: tuple[str, ...]


class Listing(msgspec.Struct, frozen=True, kw_only=True):
    """The company is on `list`. Keyed by `list`: one listing per list, while at least one of
    its designations is open.

    `since`, `certainty` and `event_ids` sum up the open designations (the earliest since; any
    definite; every id, in world order); `authority`, `rule` and the texts are those of the
    latest listing event. `designations` lists each open designation on its own; it is left
    out (unset) when the only designation is the unnamed one with no reason and no measures,
    which says nothing the listing does not (every listing written before designations).
    """

    list: str
    since: str
    rule: str | None
    authority: str
    license_policy: str | None
    certainty: Certainty
    event_ids: tuple[str, ...]
    license_requirement: str | None = None
    designations: tuple[Designation, ...] | UnsetType = UNSET


class RuleInForce(msgspec.Struct, frozen=True, kw_only=True):
    """A rule that names the company. `pending`: issued as of the date, effective after it."""

    rule: str
    title: dict[str, str]
    authority: str
    since: str
    effective: _dt.date | None
    status: RuleStatus
    certainty: Certainty
    event_ids: tuple[str, ...]
    # While `suspended`: the day the rule applies again (None: until further notice).
    suspended_until: _dt.date | None = None


class Product(msgspec.Struct, frozen=True, kw_only=True):
    """A product in mass production. Keyed by `product`."""

    product: str
    category: str
    specs: dict[str, SpecValue]
    since: str
    certainty: Certainty
    event_ids: tuple[str, ...]


class Exit(msgspec.Struct, frozen=True, kw_only=True):
    """An announced exit from a market. Keyed by (`market`, `region`)."""

    market: str
    region: str
    impact: Impact | None
    since: str
    certainty: Certainty
    event_ids: tuple[str, ...]


class RuleState(msgspec.Struct, frozen=True, kw_only=True):
    """The state of a rule entity itself (its own stream): issued, pending, in force, suspended
    or rescinded. `since`: when it was issued; `ended`: the rescission's `occurred`."""

    title: dict[str, str]
    authority: str
    since: str
    effective: _dt.date | None
    status: OwnRuleStatus
    suspended_until: _dt.date | None
    ended: str | None
    certainty: Certainty
    event_ids: tuple[str, ...]


class LicenseRequirement(msgspec.Struct, frozen=True, kw_only=True):
    """A licence requirement on the company's exports of `items`. Keyed by `items`."""

    items: str
    authority: str
    destinations: tuple[str, ...]
    rule: str | None
    license_policy: str | None
    since: str
    certainty: Certainty
    event_ids: tuple[str, ...]


class Review(msgspec.Struct, frozen=True, kw_only=True):
    """A regulatory review of the company. Keyed by (`regulator` or `authority`, `review`).

    `since`: when it was opened (or, without an opening event, concluded); `concluded`: the
    conclusion's `occurred`, with its `outcome`.
    """

    authority: str
    regulator: str | None
    review: str
    status: ReviewStatus
    outcome: str | None
    since: str
    concluded: str | None
    certainty: Certainty
    event_ids: tuple[str, ...]


class FinancialDisclosure(msgspec.Struct, frozen=True, kw_only=True):
    """A disclosed figure. Keyed by (`measure`, `period`); the latest disclosure wins."""

    measure: str
    period: str | None
    amount: Impact
    qualifier: str
    estimate: bool
    since: str
    certainty: Certainty
    event_ids: tuple[str, ...]


class Launch(msgspec.Struct, frozen=True, kw_only=True):
    """A launched (announced) product. Keyed by `product`."""

    product: str
    category: str
    specs: dict[str, SpecValue]
    since: str
    certainty: Certainty
    event_ids: tuple[str, ...]


class ProductAnalysis(msgspec.Struct, frozen=True, kw_only=True):
    """A third party's finding about a product. Keyed by (`product`, `analyst`)."""

    product: str
    category: str
    analyst: str | None
    manufacturer: str | None
    findings: dict[str, SpecValue]
    since: str
    certainty: Certainty
    event_ids: tuple[str, ...]


class SupplyHalt(msgspec.Struct, frozen=True, kw_only=True):
    """Supplies to `customer` halted (`pending` until `effective`). Keyed by `customer`."""

    customer: str
    items: str | None
    since: str
    effective: _dt.date | None
    status: HaltStatus
    certainty: Certainty
    event_ids: tuple[str, ...]


class GuidanceNaming(msgspec.Struct, frozen=True, kw_only=True):
    """Guidance (an entity of its own) that names the company. Keyed by `guidance`."""

    guidance: str
    title: dict[str, str]
    authority: str
    since: str
    certainty: Certainty
    event_ids: tuple[str, ...]


AnomalyKind = Literal["unmatched_delisting"]


class Anomaly(msgspec.Struct, frozen=True, kw_only=True):
    """An event kept in the log that does not fit the state it meets: shown, not refused.

    `unmatched_delisting`: a delisting that ended no open designation when it happened (the
    company was not on the list, or not under the designation it names).
    """

    kind: AnomalyKind
    list: str | None
    since: str
    certainty: Certainty
    event_id: str


class FormerName(msgspec.Struct, frozen=True, kw_only=True):
    """Names the entity had in [`since`, `until`): `until` is the `occurred` of the rename."""

    names: dict[str, str]
    aliases: tuple[str, ...]
    since: str | None
    until: str
    event_ids: tuple[str, ...]


class Ownership(msgspec.Struct, frozen=True, kw_only=True):
    """A holding in a company: as a parent, `entity` is the owner; as a subsidiary, the owned
    company. `share` in percent (None: not stated). Keyed by `entity`."""

    entity: str
    share: float | None
    since: str
    certainty: Certainty
    event_ids: tuple[str, ...]


class EntityState(msgspec.Struct, frozen=True, kw_only=True):
    """Per-entity state as of (`as_of`, `known_at`); `known_at` None means the whole log.

    `known_at`, when set, is in UTC. Items are sorted by their `since` (interval start, then the
    narrower interval first), then by key.
    """

    entity: str
    as_of: _dt.date
    known_at: _dt.datetime | None
    names: dict[str, str]
    aliases: tuple[str, ...]
    kind: str | None
    country: str | None
    listings: tuple[Listing, ...]
    rules: tuple[RuleInForce, ...]
    products: tuple[Product, ...]
    exits: tuple[Exit, ...]
    # Items of the other event types (empty, or None, for entities they do not touch).
    rule_state: RuleState | None = None
    license_requirements: tuple[LicenseRequirement, ...] = ()
    reviews: tuple[Review, ...] = ()
    financial_disclosures: tuple[FinancialDisclosure, ...] = ()
    launches: tuple[Launch, ...] = ()
    product_analyses: tuple[ProductAnalysis, ...] = ()
    supply_halts: tuple[SupplyHalt, ...] = ()
    guidance: tuple[GuidanceNaming, ...] = ()
    # Added with designations; unset (left out of the answer) while empty, so the state of a
    # log that has none of them keeps its bytes.
    former_names: tuple[FormerName, ...] | UnsetType = UNSET
    parents: tuple[Ownership, ...] | UnsetType = UNSET
    subsidiaries: tuple[Ownership, ...] | UnsetType = UNSET
    anomalies: tuple[Anomaly, ...] | UnsetType = UNSET


class Member(msgspec.Struct, frozen=True, kw_only=True):
    """An entity on a list as of a date: the `Listing` of that list in the entity's state."""

    entity: str
    since: str
    certainty: Certainty
    event_ids: tuple[str, ...]


class Change(msgspec.Struct, frozen=True, kw_only=True):
    """One item of one entity that differs between the states as of `from` and as of `to`.

    `key` identifies the item within its aspect: `(list,)`, `(rule,)`, `(product,)` or
    `(market, region)`. `change` is `gained` (absent before, present after), `lost` (present
    before, absent after) or `changed` (present in both, with a different `since`, `certainty`
    or, for rules, `status`). The `*_before` fields describe the item as of `from` (None when
    absent), the `*_after` fields as of `to`; `status_*` is None except for rules.

    Aspect `designation`, key `(list, program, designation)` ('' for a part the designation
    does not name): a designation that started (`gained`) or ended (`lost`) on a list the
    company is on both as of `from` and as of `to` (a second programme, one of two ended), which
    the listing's own change may not show: its `since` is the earliest of its designations'. A
    listing gained or lost is told by the listing alone. `event_ids` are the designation's.

    `event_ids`: for `gained` and `changed`, the ids of the item as of `to`; for `lost`, the ids
    of the item as of `from`, followed by the id of the event that removed it (the last
    delisting or rescission, in world order, that is definite as of `to`).
    """

    entity: str
    aspect: ChangeAspect
    key: tuple[str, ...]
    change: ChangeKind
    since_before: str | None
    since_after: str | None
    certainty_before: Certainty | None
    certainty_after: Certainty | None
    status_before: RuleStatus | None
    status_after: RuleStatus | None
    event_ids: tuple[str, ...]


def initial_state(
    entity: str, as_of: _dt.date, known_at: _dt.datetime | None = None
) -> EntityState:
    """The state before any fact is folded: nothing known about `entity`."""
    if isinstance(as_of, _dt.datetime) or not isinstance(as_of, _dt.date):
        raise TypeError("as_of is a calendar date (datetime.date), not a datetime")
    return EntityState(
        entity=entity,
        as_of=as_of,
        known_at=_utc(known_at),
        names={},
        aliases=(),
        kind=None,
        country=None,
        listings=(),
        rules=(),
        products=(),
        exits=(),
    )


def _utc(moment: _dt.datetime | None) -> _dt.datetime | None:
    if moment is None:
        return None
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("known_at must be timezone-aware")
    return moment.astimezone(_dt.UTC)
