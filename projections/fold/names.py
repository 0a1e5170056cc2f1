"""Names over time: a rename gives the entity new names from its date on; the names it had
before become former names."""

from __future__ import annotations

import msgspec
from msgspec import UNSET

from events.types import EntityRenamed
from projections.state import EntityState, FormerName


def rename(state: EntityState, event: EntityRenamed, since: str, event_id: str) -> EntityState:
    """The names (and aliases) of `event` from `since` on; the current ones become former names
    ([the previous rename's date, or the registration, `since`))."""
    former = list(state.former_names) if state.former_names is not UNSET else []  # type: ignore[arg-type]
    if state.names:
        previous = former[-1] if former else None
        former.append(
            FormerName(
                names=state.names,
                aliases=state.aliases,
                since=previous.until if previous is not None else None,
                until=since,
                event_ids=(
                    (*previous.event_ids[-1:], event_id) if previous is not None else (event_id,)
                ),
            )
        )
    return msgspec.structs.replace(
        state,
        names=dict(sorted(event.names.items())),
        aliases=tuple(event.aliases),
        former_names=tuple(former) if former else UNSET,
    )
