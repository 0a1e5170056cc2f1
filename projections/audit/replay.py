"""Replay an export offline: the state of an entity as of (D, K), the same bytes as the API."""

from __future__ import annotations

import datetime as _dt
from collections.abc import Iterable, Iterator

from projections import (
    Fact,
    Relevance,
    canonical_json,
    effective,
    fact_of,
    fold,
    initial_state,
    known,
    settle_identity,
    state_as_of,
)
from projections.audit.export_format import read_export
from projections.state import EntityState


def facts_of(stream: Iterable[bytes], *, check: bool = True) -> list[Fact]:
    """Every event of an export as a projection `Fact` (the chain checked on the way)."""
    return [fact_of(recorded) for recorded in read_export(stream, check=check)]


def replay_states(
    facts: list[Fact],
    as_of: _dt.date,
    known_at: _dt.datetime | None = None,
    entities: Iterable[str] | None = None,
) -> Iterator[EntityState]:
    """`state_as_of(entity, facts, as_of, known_at)` for each entity (default: every entity
    the log names as a subject by `known_at`, sorted), selecting the facts once for all."""
    chosen = effective(facts, known_at)
    relevance = Relevance(chosen)
    if entities is None:
        entities = sorted({fact.event.entity for fact in known(facts, known_at)})
    for entity in entities:
        mine = relevance.relevant(entity)
        yield settle_identity(fold(initial_state(entity, as_of, known_at), mine), mine)


def replay(
    facts: list[Fact],
    as_of: _dt.date,
    known_at: _dt.datetime | None = None,
    entity: str | None = None,
) -> Iterator[bytes]:
    """The canonical JSON bytes of one entity's state (no line feed: the API's exact body), or
    of every entity's, one NDJSON line each."""
    if entity is not None:
        yield canonical_json(state_as_of(entity, facts, as_of, known_at))
        return
    for state in replay_states(facts, as_of, known_at):
        yield canonical_json(state) + b"\n"
