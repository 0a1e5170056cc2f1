"""Event types of the timeline log (contract v1, section 1).

Every event is a frozen, keyword-only msgspec Struct, tagged by `type`. Fields are added only
with defaults (so the canonical bytes of an old event do not change: defaults are omitted when
encoding); any other change bumps the type's `schema_version` and adds an upcaster in
`events.upcast`.
"""

from __future__ import annotations

import datetime as _dt
import uuid
from typing import Annotated, ClassVar, Literal, Union, get_args

import msgspec
from msgspec import Meta

from events.dates import PartialDate

# Every pattern must match the whole value. In Python's `re` (what msgspec applies, with
# `search`), `$` also matches before a final newline, so `^ymtc$` would admit "ymtc\n": a
# look-alike of "ymtc". `(?!\n)$` is an end that a final newline cannot satisfy, and unlike `\Z`
# it means the same in the ECMA-262 dialect that the published OpenAPI patterns are read in.


def whole(body: str) -> str:
    """A pattern that matches exactly `body`, the whole value, and no trailing newline."""
    return f"^(?:{body})(?!\\n)$"


ENTITY_ID_PATTERN = whole("[a-z0-9][a-z0-9-]{0,63}")

EntityId = Annotated[
    str,
    Meta(
        pattern=ENTITY_ID_PATTERN,
        description="Stable slug of an entity: lowercase letters, digits and '-', 1 to 64.",
        examples=["ymtc", "us-entity-list"],
    ),
]
Lang = Literal["en", "zh-Hans", "zh-Hant"]
LANGS: tuple[str, ...] = ("en", "zh-Hans", "zh-Hant")

ShortText = Annotated[str, Meta(min_length=1, max_length=500)]
LongText = Annotated[str, Meta(min_length=1, max_length=20_000)]
LocalizedShort = Annotated[dict[Lang, ShortText], Meta(description="Text per language.")]
LocalizedLong = Annotated[dict[Lang, LongText], Meta(description="Text per language.")]
Country = Annotated[
    str, Meta(pattern=whole("[A-Z]{2}"), description="ISO 3166-1 alpha-2 code, e.g. CN.")
]
Currency = Annotated[str, Meta(pattern=whole("[A-Z]{3}"), description="ISO 4217 code, e.g. USD.")]
HttpUrl = Annotated[
    str,
    Meta(
        pattern=whole(r"https?://[^\s]+"),
        max_length=2048,
        description="An absolute http(s) URL.",
    ),
]
EntityKind = Literal["company", "government", "list", "rule", "person", "other"]
Confidence = Literal["high", "medium", "low"]
SpecValue = ShortText | int | float
Specs = dict[Annotated[str, Meta(min_length=1, max_length=100)], SpecValue]
ReviewKind = Literal["cybersecurity", "antitrust", "merger", "national_security", "other"]
ReviewOutcome = Literal[
    "cleared",
    "failed",
    "violation_found",
    "preliminary_violation_found",
    "conditions_imposed",
    "closed",
    "other",
]
Measure = Literal["charge", "lost_revenue", "revenue", "profit", "other"]
Qualifier = Literal["exact", "approximately", "up_to", "at_least"]


class Source(
    msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True, omit_defaults=True
):
    """Where a fact comes from. `citation` is e.g. a Federal Register cite: `87 FR 77505`."""

    url: HttpUrl
    publisher: ShortText | None = None
    title: ShortText | None = None
    citation: ShortText | None = None


class Impact(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    amount: float | int
    currency: Currency


class Event(
    msgspec.Struct,
    frozen=True,
    kw_only=True,
    forbid_unknown_fields=True,
    omit_defaults=True,
    tag_field="type",
):
    """Fields every event has. `id` is the idempotency key; the store assigns one if absent."""

    schema_version: ClassVar[int] = 1

    entity: EntityId
    occurred: PartialDate
    sources: Annotated[tuple[Source, ...], Meta(min_length=1, max_length=50)]
    id: uuid.UUID | None = None
    supersedes: Annotated[tuple[uuid.UUID, ...], Meta(max_length=100)] = ()
    headline: LocalizedShort = {}
    text: LocalizedLong = {}
    # How well the sources support the fact. `medium`: e.g. a report from anonymous sources,
    # an inference, a single secondary source. The default is omitted from the canonical
    # bytes, so events written before this field existed keep their hashes.
    confidence: Confidence = "high"

    def referenced_entities(self) -> dict[str, str]:
        """Entity ids this event names besides its subject, by field name."""
        return {}


class EntityRegistered(Event, tag="EntityRegistered"):
    kind: EntityKind
    names: Annotated[dict[Lang, ShortText], Meta(min_length=1)]
    aliases: Annotated[tuple[ShortText, ...], Meta(max_length=200)] = ()
    country: Country | None = None
    identifiers: dict[Annotated[str, Meta(min_length=1, max_length=64)], ShortText] = {}
    parent: EntityId | None = None

    def referenced_entities(self) -> dict[str, str]:
        return {"parent": self.parent} if self.parent is not None else {}


class EntityListed(Event, tag="EntityListed"):
    list: EntityId
    authority: ShortText
    rule: EntityId | None = None
    license_policy: LongText | None = None
    # The BIS "License Requirement" column, e.g. "For all items subject to the EAR".
    license_requirement: LongText | None = None
    # A designation within the list (added after v1, all optional; see docs/designations.md).
    # `program`: the sub-list, programme or regime, e.g. `EAR744-EL`, `EU-RUS`, `1260H`, the UN
    # regime `Al-Qaida`. `designation`: a stable id within the list, the source's own record id
    # (the UN reference number `QDe.001`) or a Federal Register citation and row. `measures`:
    # FollowTheMoney `Sanction` words where they fit ("asset freeze", "travel ban", ...).
    program: ShortText | None = None
    designation: ShortText | None = None
    reason: LongText | None = None
    measures: Annotated[tuple[ShortText, ...], Meta(max_length=50)] = ()

    def referenced_entities(self) -> dict[str, str]:
        refs = {"list": self.list}
        if self.rule is not None:
            refs["rule"] = self.rule
        return refs


class EntityDelisted(Event, tag="EntityDelisted"):
    """Ends designations of the subject on `list`. With none of `designation`, `listing` (the
    id of the `EntityListed` event it ends) and `program`: every open designation on the list;
    with any of them: only the designations that match all those given."""

    list: EntityId
    rule: EntityId | None = None
    designation: ShortText | None = None
    listing: uuid.UUID | None = None
    program: ShortText | None = None

    def referenced_entities(self) -> dict[str, str]:
        refs = {"list": self.list}
        if self.rule is not None:
            refs["rule"] = self.rule
        return refs


class RuleIssued(Event, tag="RuleIssued"):
    title: Annotated[dict[Lang, ShortText], Meta(min_length=1)]
    authority: ShortText
    effective: _dt.date | None = None
    targets: Annotated[tuple[EntityId, ...], Meta(max_length=1000)] = ()

    def referenced_entities(self) -> dict[str, str]:
        return {f"targets[{i}]": target for i, target in enumerate(self.targets)}


class RuleRescinded(Event, tag="RuleRescinded"):
    reason: LongText | None = None


class ProductMassProduced(Event, tag="ProductMassProduced"):
    product: ShortText
    category: ShortText
    specs: Specs = {}


class ExitAnnounced(Event, tag="ExitAnnounced"):
    # Schema 2: `impact` became {amount, currency}; schema 1 had a bare `impact_usd` number.
    schema_version: ClassVar[int] = 2

    market: ShortText
    region: ShortText
    impact: Impact | None = None


class EventRetracted(Event, tag="EventRetracted"):
    """Withdraws the events it `supersedes` (which must be non-empty)."""


# --- types added after v1 (each at schema_version 1) ----------------------------------------


def _optional(**refs: str | None) -> dict[str, str]:
    return {name: ref for name, ref in refs.items() if ref is not None}


class RuleSuspended(Event, tag="RuleSuspended"):
    """The rule (the subject) stops applying from `occurred` on.

    `until` is the day it applies again, automatically (exclusive end of the suspension); None:
    suspended until further notice (a later correction that `supersedes` this event can state
    the end). E.g. the BIS Affiliates rule, suspended 2025-11-10 until 2026-11-10.
    """

    until: _dt.date | None = None
    reason: LongText | None = None


class LicenseRequirementImposed(Event, tag="LicenseRequirementImposed"):
    """A licence requirement on the company's (subject's) exports outside any listing or rule
    text, e.g. the April 2025 "is-informed" letter to Nvidia about the H20. Keyed by `items`.

    `destinations`: ISO 3166-1 codes or EAR country groups (e.g. `CN`, `HK`, `D:5`).
    """

    authority: ShortText
    items: ShortText
    destinations: Annotated[tuple[ShortText, ...], Meta(max_length=300)] = ()
    rule: EntityId | None = None
    license_policy: LongText | None = None

    def referenced_entities(self) -> dict[str, str]:
        return _optional(rule=self.rule)


class RegulatoryReviewOpened(Event, tag="RegulatoryReviewOpened"):
    """A regulator opened a review or investigation of the company (subject).

    Keyed by (`regulator` or else `authority`, `review`). `regulator`: the government entity,
    when registered (its names localise headlines); `authority`: its name as text.
    """

    authority: ShortText
    review: ReviewKind
    regulator: EntityId | None = None

    def referenced_entities(self) -> dict[str, str]:
        return _optional(regulator=self.regulator)


class RegulatoryReviewConcluded(Event, tag="RegulatoryReviewConcluded"):
    """A review or investigation of the company (subject) concluded with `outcome`.

    `preliminary_violation_found` is a preliminary finding (e.g. SAMR on Nvidia, 2025-09-15).
    """

    authority: ShortText
    review: ReviewKind
    outcome: ReviewOutcome
    regulator: EntityId | None = None

    def referenced_entities(self) -> dict[str, str]:
        return _optional(regulator=self.regulator)


class FinancialImpactDisclosed(Event, tag="FinancialImpactDisclosed"):
    """The company (subject) disclosed a financial figure tied to the story.

    Keyed by (`measure`, `period`): a later disclosure of the same figure replaces the earlier
    one; an estimate later booked at another amount is a correction (`supersedes`).
    `qualifier` says how the figure was stated ("up to approximately $5.5 billion": `up_to`);
    `estimate` is true for an expectation rather than a booked or reported figure.
    """

    measure: Measure
    amount: Impact
    period: ShortText | None = None
    qualifier: Qualifier = "exact"
    estimate: bool = False


class ProductLaunched(Event, tag="ProductLaunched"):
    """The company (subject) launched or announced a product (not yet proof of volume
    production: see `ProductMassProduced`). Keyed by `product`."""

    product: ShortText
    category: ShortText
    specs: Specs = {}


class ProductAnalyzed(Event, tag="ProductAnalyzed"):
    """A third party's finding about the subject's product (a teardown, a lab analysis): not a
    company claim. Keyed by (`product`, `analyst`).

    `analyst`: who analysed it; `manufacturer`: who the analysis says made it.
    """

    product: ShortText
    category: ShortText
    findings: Specs = {}
    analyst: EntityId | None = None
    manufacturer: EntityId | None = None

    def referenced_entities(self) -> dict[str, str]:
        return _optional(analyst=self.analyst, manufacturer=self.manufacturer)


class SupplyHalted(Event, tag="SupplyHalted"):
    """The company (subject, a supplier) stops supplying `customer`: a supplier leaving one
    customer, not a market exit. `effective`: the first day without supplies, when later than
    the announcement. Keyed by `customer`."""

    customer: EntityId
    items: ShortText | None = None
    effective: _dt.date | None = None

    def referenced_entities(self) -> dict[str, str]:
        return {"customer": self.customer}


class GuidanceIssued(Event, tag="GuidanceIssued"):
    """An authority issued guidance (the subject: a guidance document, registered with kind
    `rule`) that names `targets`, e.g. BIS's May 2025 guidance on Huawei Ascend chips. Not a
    rule: it changes no legal text, but it tells exporters how the law is read."""

    title: Annotated[dict[Lang, ShortText], Meta(min_length=1)]
    authority: ShortText
    targets: Annotated[tuple[EntityId, ...], Meta(max_length=1000)] = ()

    def referenced_entities(self) -> dict[str, str]:
        return {f"targets[{i}]": target for i, target in enumerate(self.targets)}


class EntityRenamed(Event, tag="EntityRenamed"):
    """From `occurred` on, the subject is called by `names` (and `aliases`); the names it had
    before become former names. Not a re-registration: kind, country and identifiers stay."""

    names: Annotated[dict[Lang, ShortText], Meta(min_length=1)]
    aliases: Annotated[tuple[ShortText, ...], Meta(max_length=200)] = ()


class OwnershipChanged(Event, tag="OwnershipChanged"):
    """`owner` holds `share` percent (None: not stated) of the subject (the owned company) from
    `occurred` on; `ended`: from then it holds none. One event per change."""

    owner: EntityId
    share: Annotated[float, Meta(ge=0, le=100)] | None = None
    ended: bool = False

    def referenced_entities(self) -> dict[str, str]:
        return {"owner": self.owner}


AnyEvent = Union[
    EntityRegistered,
    EntityListed,
    EntityDelisted,
    RuleIssued,
    RuleRescinded,
    ProductMassProduced,
    ExitAnnounced,
    EventRetracted,
    RuleSuspended,
    LicenseRequirementImposed,
    RegulatoryReviewOpened,
    RegulatoryReviewConcluded,
    FinancialImpactDisclosed,
    ProductLaunched,
    ProductAnalyzed,
    SupplyHalted,
    GuidanceIssued,
    EntityRenamed,
    OwnershipChanged,
]

EVENT_TYPES: dict[str, type[Event]] = {
    cls.__struct_config__.tag: cls  # type: ignore[misc]
    for cls in get_args(AnyEvent)
}


def type_name(event: Event) -> str:
    return event.__struct_config__.tag  # type: ignore[return-value]
