"""Ownership over time: who holds the company (`parents`) and what it holds (`subsidiaries`).

One `OwnershipChanged` per change, keyed by the other side: a later one restates the share (the
`since` of the holding stays), `ended` takes it away (definite) or marks it possible. A
registration's `parent` counts as a holding of unstated share from the registration's date.
"""

from __future__ import annotations

from collections.abc import Sequence

import msgspec
from msgspec import UNSET

from events.types import EntityRegistered, OwnershipChanged
from projections.fold.items import earliest, since_key, stronger
from projections.state import Certainty, EntityState, Ownership


def _held(
    items: Sequence[Ownership],
    other: str,
    share: float | None,
    ended: bool,
    since: str,
    certainty: Certainty,
    event_id: str,
) -> tuple[Ownership, ...] | msgspec.UnsetType:
    current = next((item for item in items if item.entity == other), None)
    rest = [item for item in items if item.entity != other]
    if ended:
        if current is not None and certainty == "possible":
            rest.append(
                msgspec.structs.replace(
                    current, certainty="possible", event_ids=(*current.event_ids, event_id)
                )
            )
    elif current is None:
        rest.append(
            Ownership(
                entity=other, share=share, since=since, certainty=certainty, event_ids=(event_id,)
            )
        )
    else:
        rest.append(
            Ownership(
                entity=other,
                share=share if share is not None else current.share,
                since=earliest(current.since, since),
                certainty=stronger(current.certainty, certainty),
                event_ids=(*current.event_ids, event_id),
            )
        )
    rest.sort(key=lambda item: (since_key(item.since), item.entity))
    return tuple(rest) if rest else UNSET


def _items(value: object) -> tuple[Ownership, ...]:
    return value if value is not UNSET else ()  # type: ignore[return-value]


def change_ownership(
    state: EntityState,
    event: OwnershipChanged | EntityRegistered,
    since: str,
    certainty: Certainty,
    event_id: str,
) -> EntityState:
    """The holding `event` states, on whichever side of it `state` is."""
    if isinstance(event, EntityRegistered):
        owner, share, ended = event.parent, None, False
    else:
        owner, share, ended = event.owner, event.share, event.ended
    if owner is None:
        return state
    if event.entity == state.entity:
        parents = _held(_items(state.parents), owner, share, ended, since, certainty, event_id)
        state = msgspec.structs.replace(state, parents=parents)
    if owner == state.entity:
        subsidiaries = _held(
            _items(state.subsidiaries), event.entity, share, ended, since, certainty, event_id
        )
        state = msgspec.structs.replace(state, subsidiaries=subsidiaries)
    return state
