"""Financial impact an entity disclosed."""

from __future__ import annotations

from collections.abc import Sequence

from events.types import (
    FinancialImpactDisclosed,
)
from projections.fold.items import merge_item
from projections.state import (
    Certainty,
    FinancialDisclosure,
)


def add_disclosure(
    items: Sequence[FinancialDisclosure],
    event: FinancialImpactDisclosed,
    since: str,
    certainty: Certainty,
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
            certainty=certainty,
            event_ids=(event_id,) if current is None else (*current.event_ids, event_id),
        )

    return merge_item(items, (event.measure, event.period or ""), make)
