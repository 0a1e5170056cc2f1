"""Listings: an entity put on a list, and taken off it."""

from __future__ import annotations

from collections.abc import Sequence

from events import (
    EntityListed,
)
from projections.fold.items import earliest, merge_item, stronger
from projections.state import (
    Certainty,
    Listing,
)


def add_listing(
    items: Sequence[Listing], event: EntityListed, since: str, certainty: Certainty, event_id: str
) -> tuple[Listing, ...]:
    def make(current: Listing | None) -> Listing:
        if current is None:
            return Listing(
                list=event.list,
                since=since,
                rule=event.rule,
                authority=event.authority,
                license_policy=event.license_policy,
                certainty=certainty,
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
            certainty=stronger(current.certainty, certainty),
            event_ids=(*current.event_ids, event_id),
            license_requirement=(
                event.license_requirement
                if event.license_requirement is not None
                else current.license_requirement
            ),
        )

    return merge_item(items, (event.list,), make)
