"""What a timeline says about each event beyond its own fields: how a listing or delisting met
the designations open at its date, and what the entities were called on that date. Pure.

- `listing_notes(facts, registrations)`: per event id, `designated_again` (a listing under a
  programme the company is already designated under on that list), `unmatched_delisting` (a
  delisting that ends nothing open at its date) or `unregistered_list` (a listing on a list
  with no registration that counts on the listing's date). Facts in world order.
- `NameBook(facts)`: each entity's names over time, from its registrations and renames.
"""

from __future__ import annotations

import datetime as _dt
from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import Literal

from events import EntityDelisted, EntityListed, EntityRegistered, Event
from events.types import EntityRenamed
from projections.facts import Fact
from projections.fold.listings import add_listing, designations_of, end_listing
from projections.select import world_key
from projections.state import Listing

Note = Literal["designated_again", "unmatched_delisting", "unregistered_list"]


def listing_notes(facts: Sequence[Fact], registrations: Iterable[Fact] = ()) -> dict[str, Note]:
    """Notes on the listings and delistings among `facts` (effective facts, world order).

    Each entity's listings are folded in world order, every event as if definite: what is open
    when an event comes is what its date finds. `registrations`: of the lists (any order);
    without them, `unregistered_list` is never noted.
    """
    registered_from: dict[str, _dt.date] = {}
    for fact in registrations:
        if isinstance(fact.event, EntityRegistered):
            start = fact.event.occurred.start
            entity = fact.event.entity
            registered_from[entity] = min(start, registered_from.get(entity, start))
    check_lists = bool(registered_from)
    listings: dict[str, tuple[Listing, ...]] = defaultdict(tuple)
    notes: dict[str, Note] = {}
    for fact in sorted(facts, key=world_key):
        event = fact.event
        since = str(event.occurred)
        if isinstance(event, EntityListed):
            mine = listings[event.entity]
            open_on_list = next((item for item in mine if item.list == event.list), None)
            if check_lists and not (
                event.list in registered_from
                and registered_from[event.list] <= event.occurred.start
            ):
                notes[fact.event_id] = "unregistered_list"
            elif open_on_list is not None and any(
                d.program == event.program for d in designations_of(open_on_list)
            ):
                notes[fact.event_id] = "designated_again"
            listings[event.entity] = add_listing(mine, event, since, "definite", fact.event_id)
        elif isinstance(event, EntityDelisted):
            after, ended = end_listing(listings[event.entity], event, "definite", fact.event_id)
            listings[event.entity] = after
            if not ended:
                notes[fact.event_id] = "unmatched_delisting"
    return notes


class NameBook:
    """Each entity's names over time: a registration or a rename gives names from its date on.

    Before the first naming, an entity is called by its earliest one (names are identity).
    """

    def __init__(self, facts: Iterable[Fact]) -> None:
        self._names: dict[str, list[tuple[_dt.date, dict[str, str]]]] = defaultdict(list)
        for fact in sorted(facts, key=world_key):
            event = fact.event
            if isinstance(event, EntityRegistered | EntityRenamed):
                self._names[event.entity].append((event.occurred.start, dict(event.names)))

    def at(self, entity: str, day: _dt.date) -> dict[str, str]:
        """The entity's names on `day` ({} when it was never named)."""
        found = self._names.get(entity)
        if not found:
            return {}
        names = found[0][1]
        for start, named in found:
            if start > day:
                break
            names = named
        return names

    def now(self, entity: str) -> dict[str, str]:
        """The entity's latest names."""
        found = self._names.get(entity)
        return found[-1][1] if found else {}

    def on(self, day: _dt.date) -> dict[str, dict[str, str]]:
        """{entity: names on `day`} for every entity it knows."""
        return {entity: self.at(entity, day) for entity in self._names}

    def told(self, event: object) -> dict[str, dict[str, str]]:
        """The names to tell `event` with: those on its date; for a rename, those it ends."""
        assert isinstance(event, Event)
        day = event.occurred.start
        if isinstance(event, EntityRenamed) and day > _dt.date.min:
            day -= _dt.timedelta(days=1)
        return self.on(day)

    def latest(self) -> dict[str, dict[str, str]]:
        """{entity: latest names} for every entity it knows."""
        return {entity: self.now(entity) for entity in self._names}
