"""Products: mass production, launches, and analyses of a product."""

from __future__ import annotations

from collections.abc import Sequence

from events import (
    ProductMassProduced,
)
from events.types import (
    ProductAnalyzed,
    ProductLaunched,
)
from projections.fold.items import ProductItem, earliest, merge_item, stronger
from projections.state import (
    Certainty,
    ProductAnalysis,
)


def add_product(
    cls: type[ProductItem],
    items: Sequence[ProductItem],
    event: ProductMassProduced | ProductLaunched,
    since: str,
    certainty: Certainty,
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
                certainty=certainty,
                event_ids=(event_id,),
            )
        return cls(
            product=event.product,
            category=event.category,
            specs=dict(sorted(event.specs.items())) if event.specs else current.specs,
            since=earliest(current.since, since),
            certainty=stronger(current.certainty, certainty),
            event_ids=(*current.event_ids, event_id),
        )

    return merge_item(items, (event.product,), make)


def add_analysis(
    items: Sequence[ProductAnalysis],
    event: ProductAnalyzed,
    since: str,
    certainty: Certainty,
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
                certainty=certainty,
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
            certainty=stronger(current.certainty, certainty),
            event_ids=(*current.event_ids, event_id),
        )

    return merge_item(items, (event.product, event.analyst or ""), make)
