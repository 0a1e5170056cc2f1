"""The projection's input: an event as the log recorded it.

A `Fact` is what the service (or the CLI, from an export) hands to the pure fold: the event
with the two things the log assigned that the as-of rules need, its `position` (global order,
the tie-break of world order) and its `recorded_at` (transaction time, for `known_at`).
"""

from __future__ import annotations

import datetime as _dt

import msgspec

from events import AnyEvent, RecordedEvent


class Fact(msgspec.Struct, frozen=True, kw_only=True):
    """One stored event. `recorded_at` is timezone-aware; `event.id` is always set."""

    position: int
    recorded_at: _dt.datetime
    event: AnyEvent

    def __post_init__(self) -> None:
        if self.recorded_at.tzinfo is None or self.recorded_at.utcoffset() is None:
            raise ValueError("Fact.recorded_at must be timezone-aware")
        if self.event.id is None:
            raise ValueError("Fact.event must have an id (stored events always do)")

    @property
    def event_id(self) -> str:
        """The event id as text, as states and answers carry it."""
        return str(self.event.id)


def fact_of(recorded: RecordedEvent) -> Fact:
    """The fact of an event read back from the log (or from an export line)."""
    return Fact(position=recorded.position, recorded_at=recorded.recorded_at, event=recorded.event)
