"""Items of a state (listings, rules in force, products, ...): keys, order, merging, ending."""

from __future__ import annotations

import datetime as _dt
import functools
from collections.abc import Callable, Iterable, Sequence
from typing import Any, TypeVar

import msgspec

from events import (
    PartialDate,
)
from projections.state import (
    Certainty,
    Exit,
    FinancialDisclosure,
    GuidanceNaming,
    Launch,
    LicenseRequirement,
    Listing,
    Product,
    ProductAnalysis,
    Review,
    RuleInForce,
    SupplyHalt,
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


_KEY_OF: dict[type, Callable[[Any], tuple[str, ...]]] = {
    Listing: lambda item: (item.list,),
    RuleInForce: lambda item: (item.rule,),
    Product: lambda item: (item.product,),
    Exit: lambda item: (item.market, item.region),
    LicenseRequirement: lambda item: (item.items,),
    Review: lambda item: (item.regulator or item.authority, item.review),
    FinancialDisclosure: lambda item: (item.measure, item.period or ""),
    Launch: lambda item: (item.product,),
    ProductAnalysis: lambda item: (item.product, item.analyst or ""),
    SupplyHalt: lambda item: (item.customer,),
    GuidanceNaming: lambda item: (item.guidance,),
}
"""Per item type (the state's structs, which are final), its key: one dictionary lookup, as
the fold asks for keys millions of times in a rebuild."""


def item_key(item: AnyItem) -> tuple[str, ...]:
    """The key of an item within its aspect."""
    key_of = _KEY_OF.get(type(item))
    if key_of is None:
        raise TypeError(f"not an item: {item!r}")  # pragma: no cover
    return key_of(item)


def sorted_items(items: Iterable[Item]) -> tuple[Item, ...]:
    return tuple(sorted(items, key=lambda item: (since_key(item.since), item_key(item))))


def find_item(items: Sequence[Item], key: tuple[str, ...]) -> Item | None:
    for item in items:
        if item_key(item) == key:
            return item
    return None


def put_item(items: Sequence[Item], new: Item) -> tuple[Item, ...]:
    key = item_key(new)
    return sorted_items([*(item for item in items if item_key(item) != key), new])


def merge_item(
    items: Sequence[Item],
    key: tuple[str, ...],
    make: Callable[[Item | None], Item],
) -> tuple[Item, ...]:
    return put_item(items, make(find_item(items, key)))


def end_items(
    items: Sequence[Item], key: tuple[str, ...], certainty: Certainty, event_id: str
) -> tuple[Item, ...]:
    """A delisting or rescission: definite removes the item; possible makes it possible
    ("possibly ended") and adds the event's id; of an absent item, it changes nothing."""
    current = find_item(items, key)
    if current is None:
        return tuple(items)
    if certainty == "definite":
        return tuple(item for item in items if item_key(item) != key)
    ended = msgspec.structs.replace(
        current, certainty="possible", event_ids=(*current.event_ids, event_id)
    )
    return put_item(items, ended)
