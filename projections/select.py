"""Which facts count, in which order, and how certain they are (contract section 2).

- `effective(facts, known_at)`: the facts as the log knew them at `known_at`.
- `world_key(fact)`: world order, interval start then position.
- `certainty(occurred, as_of)`: definite, possible, or None (does not count yet).
"""

from __future__ import annotations

import datetime as _dt
import uuid
from collections.abc import Iterable

from events import EventRetracted, PartialDate
from projections.facts import Fact
from projections.state import Certainty

_ONE_DAY = _dt.timedelta(days=1)


def known(facts: Iterable[Fact], known_at: _dt.datetime | None) -> list[Fact]:
    """The facts recorded on or before `known_at` (all of them when it is None), as given."""
    if known_at is None:
        return list(facts)
    if known_at.tzinfo is None or known_at.utcoffset() is None:
        raise ValueError("known_at must be timezone-aware")
    return [fact for fact in facts if fact.recorded_at <= known_at]


def effective(facts: Iterable[Fact], known_at: _dt.datetime | None) -> list[Fact]:
    """The facts that count as the log knew it at `known_at`, in world order.

    Those recorded on or before `known_at`, minus every event named in the `supersedes` of a
    fact recorded on or before `known_at`. `EventRetracted` facts never count themselves: they
    only remove. Literal reading of the contract: an event named by a superseder stays out even
    when that superseder is itself superseded or retracted later (un-retracting takes a new
    event that restates the fact).
    """
    seen = known(facts, known_at)
    superseded: set[uuid.UUID] = set()
    for fact in seen:
        if fact.event.supersedes:
            superseded.update(fact.event.supersedes)
    if superseded:
        kept = [
            fact
            for fact in seen
            if not isinstance(fact.event, EventRetracted) and fact.event.id not in superseded
        ]
    else:  # no id to look up (hashing every event's UUID costs a rebuild seconds)
        kept = [fact for fact in seen if not isinstance(fact.event, EventRetracted)]
    kept.sort(key=world_key)
    return kept


def world_key(fact: Fact) -> tuple[_dt.date, int]:
    """World order: the start of the `occurred` interval, then the log position."""
    return (fact.event.occurred.start, fact.position)


def certainty(occurred: PartialDate, as_of: _dt.date) -> Certainty | None:
    """How certain it is, on day `as_of`, that an event of interval `occurred` has happened.

    The day D covers [D, D+1). The whole interval on or before D (end <= D+1): definite; it
    starts on or before D but ends after D+1: possible; it starts after D: None (does not count).
    """
    if occurred.start > as_of:
        return None
    # end <= as_of + 1 day, written so that as_of = date.max cannot overflow.
    if occurred.end - _ONE_DAY <= as_of:
        return "definite"
    return "possible"


def counts(fact: Fact, as_of: _dt.date) -> bool:
    """True when the fact's event counts on day `as_of` (definite or possible)."""
    return fact.event.occurred.start <= as_of
