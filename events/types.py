"""Event types of the timeline log (contract v1, section 1).

Every event is a frozen, keyword-only msgspec Struct, tagged by `type`. Fields are added only
with defaults (so the canonical bytes of an old event do not change: defaults are omitted when
encoding); any other change bumps the type's `schema_version` and adds an upcaster in
`events.upcast`.
"""

from __future__ import annotations

import datetime as _dt
import uuid
from typing import Annotated, ClassVar, Literal, Union

import msgspec
from msgspec import Meta

from events.dates import PartialDate

ENTITY_ID_PATTERN = r"^[a-z0-9][a-z0-9-]{0,63}$"

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
    str, Meta(pattern=r"^[A-Z]{2}$", description="ISO 3166-1 alpha-2 code, e.g. CN.")
]
Currency = Annotated[str, Meta(pattern=r"^[A-Z]{3}$", description="ISO 4217 code, e.g. USD.")]
HttpUrl = Annotated[
    str,
    Meta(
        pattern=r"^https?://[^\s]+$",
        max_length=2048,
        description="An absolute http(s) URL.",
    ),
]
EntityKind = Literal["company", "government", "list", "rule", "person", "other"]


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

    def referenced_entities(self) -> dict[str, str]:
        refs = {"list": self.list}
        if self.rule is not None:
            refs["rule"] = self.rule
        return refs


class EntityDelisted(Event, tag="EntityDelisted"):
    list: EntityId
    rule: EntityId | None = None

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
    specs: dict[Annotated[str, Meta(min_length=1, max_length=100)], ShortText | int | float] = {}


class ExitAnnounced(Event, tag="ExitAnnounced"):
    # Schema 2: `impact` became {amount, currency}; schema 1 had a bare `impact_usd` number.
    schema_version: ClassVar[int] = 2

    market: ShortText
    region: ShortText
    impact: Impact | None = None


class EventRetracted(Event, tag="EventRetracted"):
    """Withdraws the events it `supersedes` (which must be non-empty)."""


AnyEvent = Union[
    EntityRegistered,
    EntityListed,
    EntityDelisted,
    RuleIssued,
    RuleRescinded,
    ProductMassProduced,
    ExitAnnounced,
    EventRetracted,
]

EVENT_TYPES: dict[str, type[Event]] = {
    cls.__struct_config__.tag: cls  # type: ignore[misc]
    for cls in (
        EntityRegistered,
        EntityListed,
        EntityDelisted,
        RuleIssued,
        RuleRescinded,
        ProductMassProduced,
        ExitAnnounced,
        EventRetracted,
    )
}


def type_name(event: Event) -> str:
    return event.__struct_config__.tag  # type: ignore[return-value]
