"""Supply halts: a supplier stops supplying a customer."""

from __future__ import annotations

import datetime as _dt
from collections.abc import Sequence

from events.types import (
    SupplyHalted,
)
from projections.fold.items import earliest, merge_item, stronger
from projections.state import (
    Certainty,
    HaltStatus,
    SupplyHalt,
)


def _halt_status(effective_on: _dt.date | None, as_of: _dt.date) -> HaltStatus:
    return "pending" if effective_on is not None and effective_on > as_of else "in_effect"


def add_halt(
    items: Sequence[SupplyHalt],
    event: SupplyHalted,
    since: str,
    certainty: Certainty,
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
                certainty=certainty,
                event_ids=(event_id,),
            )
        effective_on = event.effective if event.effective is not None else current.effective
        return SupplyHalt(
            customer=event.customer,
            items=event.items if event.items is not None else current.items,
            since=earliest(current.since, since),
            effective=effective_on,
            status=_halt_status(effective_on, as_of),
            certainty=stronger(current.certainty, certainty),
            event_ids=(*current.event_ids, event_id),
        )

    return merge_item(items, (event.customer,), make)
