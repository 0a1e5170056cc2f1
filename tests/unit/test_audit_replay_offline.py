"""`timeline replay` with no database: an export of any generated log replays to the bytes the
pure fold gives for that (D, K), and reads back as the same facts."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from events import GENESIS_HASH, RecordedEvent, canonical, chain_hash, type_name
from projections import Fact, canonical_json, state_as_of
from projections.audit.export_format import encode_line
from projections.audit.replay import facts_of, replay
from tests.support.strategies import COMPANIES, days_for, logs, moments_for

PROPERTY = settings(max_examples=80, deadline=None)


def export_of(log: list[Fact]) -> list[bytes]:
    """The export lines of a log, chained exactly as the store chains it."""
    lines, prev = [], GENESIS_HASH
    for fact in log:
        payload = canonical(fact.event)
        version = type(fact.event).schema_version
        digest = chain_hash(
            prev,
            payload=payload,
            position=fact.position,
            recorded_at=fact.recorded_at,
            schema_version=version,
        )
        recorded = RecordedEvent(
            position=fact.position,
            type=type_name(fact.event),
            entity=fact.event.entity,
            recorded_at=fact.recorded_at,
            schema_version=version,
            prev_hash=prev,
            hash=digest,
            payload=payload,
        )
        lines.append(encode_line(recorded))
        prev = digest
    return lines


@PROPERTY
@given(st.data(), logs())
def test_replay_of_an_export_equals_the_pure_fold(data: st.DataObject, log: list[Fact]) -> None:
    facts = facts_of(export_of(log))
    assert facts == log
    day = data.draw(days_for(log))
    known_at = data.draw(moments_for(log))
    for entity in COMPANIES:
        (answer,) = replay(facts, day, known_at, entity)
        assert answer == canonical_json(state_as_of(entity, log, day, known_at))


@PROPERTY
@given(st.data(), logs())
def test_replay_of_every_entity_is_one_line_each_in_id_order(
    data: st.DataObject, log: list[Fact]
) -> None:
    day = data.draw(days_for(log))
    lines = list(replay(facts_of(export_of(log)), day, None))
    entities = sorted({fact.event.entity for fact in log})
    assert len(lines) == len(entities)
    for entity, line in zip(entities, lines, strict=True):
        assert line.rstrip(b"\n") == canonical_json(state_as_of(entity, log, day))
