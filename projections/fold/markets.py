"""Markets: an entity's exit from a market."""

from __future__ import annotations

from collections.abc import Sequence

from events import (
    ExitAnnounced,
)
from projections.fold.items import earliest, merge_item, stronger
from projections.state import (
    Certainty,
    Exit,
)


def add_exit(
    items: Sequence[Exit], event: ExitAnnounced, since: str, certainty: Certainty, event_id: str
) -> tuple[Exit, ...]:
    def make(current: Exit | None) -> Exit:
        if current is None:
            return Exit(
                market=event.market,
                region=event.region,
                impact=event.impact,
                since=since,
                certainty=certainty,
                event_ids=(event_id,),
            )
        return Exit(
            market=event.market,
            region=event.region,
            impact=event.impact if event.impact is not None else current.impact,
            since=earliest(current.since, since),
            certainty=stronger(current.certainty, certainty),
            event_ids=(*current.event_ids, event_id),
        )

    return merge_item(items, (event.market, event.region), make)
