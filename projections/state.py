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

from events import Impact

Certainty = Literal["definite", "possible"]
RuleStatus = Literal["in_force", "pending"]
Aspect = Literal["listing", "rule", "product", "exit"]
ChangeKind = Literal["gained", "lost", "changed"]

SpecValue = str | int | float


class Listing(msgspec.Struct, frozen=True, kw_only=True):
    """The company is on `list`. Keyed by `list`: one listing per list."""

    list: str
    since: str
    rule: str | None
    authority: str
    license_policy: str | None
    certainty: Certainty
    event_ids: tuple[str, ...]


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

    `event_ids`: for `gained` and `changed`, the ids of the item as of `to`; for `lost`, the ids
    of the item as of `from`, followed by the id of the event that removed it (the last
    delisting or rescission, in world order, that is definite as of `to`).
    """

    entity: str
    aspect: Aspect
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
