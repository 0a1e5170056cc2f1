"""Regulatory reviews: opened and concluded."""

from __future__ import annotations

from collections.abc import Sequence

import msgspec

from events.types import (
    RegulatoryReviewConcluded,
    RegulatoryReviewOpened,
)
from projections.fold.items import earliest, merge_item, stronger
from projections.state import (
    Certainty,
    Review,
)


def _review_key(event: RegulatoryReviewOpened | RegulatoryReviewConcluded) -> tuple[str, str]:
    return (event.regulator or event.authority, event.review)


def open_review(
    items: Sequence[Review],
    event: RegulatoryReviewOpened,
    since: str,
    certainty: Certainty,
    event_id: str,
) -> tuple[Review, ...]:
    """Opens a review; merges into an open one; after a conclusion, a new review starts."""

    def make(current: Review | None) -> Review:
        if current is None or current.status == "concluded":
            return Review(
                authority=event.authority,
                regulator=event.regulator,
                review=event.review,
                status="open",
                outcome=None,
                since=since,
                concluded=None,
                certainty=certainty,
                event_ids=(event_id,),
            )
        return msgspec.structs.replace(
            current,
            since=earliest(current.since, since),
            certainty=stronger(current.certainty, certainty),
            event_ids=(*current.event_ids, event_id),
        )

    return merge_item(items, _review_key(event), make)


def conclude_review(
    items: Sequence[Review],
    event: RegulatoryReviewConcluded,
    since: str,
    certainty: Certainty,
    event_id: str,
) -> tuple[Review, ...]:
    """Definite: the review is `concluded` with the outcome (a review never seen opened is
    created concluded). Possible, of an open review: it stays open and becomes `possible`
    ("possibly concluded"), like a possible delisting."""

    def make(current: Review | None) -> Review:
        if current is None:
            return Review(
                authority=event.authority,
                regulator=event.regulator,
                review=event.review,
                status="concluded",
                outcome=event.outcome,
                since=since,
                concluded=since,
                certainty=certainty,
                event_ids=(event_id,),
            )
        if certainty == "possible" and current.status == "open":
            return msgspec.structs.replace(
                current, certainty="possible", event_ids=(*current.event_ids, event_id)
            )
        return msgspec.structs.replace(
            current,
            status="concluded",
            outcome=event.outcome,
            concluded=since,
            event_ids=(*current.event_ids, event_id),
        )

    return merge_item(items, _review_key(event), make)
