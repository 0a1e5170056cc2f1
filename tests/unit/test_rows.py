"""The fold into read-model rows that the projector and the rebuild share (projections.rows),
without PostgreSQL: the rows open at any moment are the segments the log then implied."""

from __future__ import annotations

import datetime as _dt
from collections import defaultdict

from hypothesis import given, settings
from hypothesis import strategies as st

from projections import Fact
from projections.rows import OPEN_RECORDED, FactIndex, Folding, rows_of, subjects_of
from projections.segments import segments
from tests.support.strategies import COMPANIES, logs

PROPERTY = settings(max_examples=120, deadline=None)
GENERATION = 7


def _history(facts: list[Fact]) -> dict[str, list[tuple]]:
    """Every row the folding wrote (closed and still open), by entity."""
    folding = Folding(GENERATION)
    for fact in facts:
        folding.feed(fact)
    folding.flush()
    written: dict[str, list[tuple]] = defaultdict(list)
    for row in folding.closed + folding.open_rows():
        written[row[1]].append(row)
    return written


def _open_at(rows: list[tuple], moment: _dt.datetime) -> tuple:
    """(aspect, key, valid_from, valid_to, present, body) of the rows that held at `moment`."""
    return tuple(
        sorted(
            row[2:6] + row[8:10]
            for row in rows
            if row[6] <= moment < row[7] and row[0] == GENERATION
        )
    )


@PROPERTY
@given(logs())
def test_rows_open_at_each_append_equal_the_segments_known_then(log: list[Fact]) -> None:
    history = _history(log)
    for moment in sorted({fact.recorded_at for fact in log}):
        for entity in COMPANIES:
            expected = rows_of(segments(entity, log, moment))
            assert _open_at(history.get(entity, []), moment) == expected, (entity, moment)


@PROPERTY
@given(logs(), st.integers(min_value=0, max_value=40))
def test_folding_fed_in_two_parts_writes_what_one_pass_writes(log: list[Fact], cut: int) -> None:
    """The projector folds a page at a time on top of rows already stored; the rebuild folds the
    whole log: split at an append boundary, the two write the same rows."""
    cut = min(cut, len(log))
    while 0 < cut < len(log) and log[cut].recorded_at == log[cut - 1].recorded_at:
        cut += 1
    first, second = log[:cut], log[cut:]
    whole = _history(log)

    before = Folding(GENERATION)
    for fact in first:
        before.feed(fact)
    before.flush()
    stored = {
        entity: tuple(sorted(row[:6] for row in rows))
        for entity, rows in defaultdict(list, _group_open(before.open_rows())).items()
    }
    index = FactIndex()
    for fact in first:
        index.add(fact)
    after = Folding(GENERATION, index)
    for entity, rows in stored.items():
        after.stored(entity, rows)
    for fact in second:
        after.feed(fact)
    after.flush()

    # Rows the second part closed, or opened, are those the one pass closed or opened after
    # the cut; rows the first part left open and nobody closed stay as they were.
    last_first = first[-1].recorded_at if first else None
    closed_later = {
        (row[1], row[2], row[3], row[4], row[7])
        for rows in whole.values()
        for row in rows
        if row[7] != OPEN_RECORDED and (last_first is None or row[7] > last_first)
    }
    closed_by_after = {
        (entity, aspect, key, valid_from, recorded_to)
        for entity, aspect, key, valid_from, recorded_to in after.db_closes
    } | {(row[1], row[2], row[3], row[4], row[7]) for row in after.closed}
    assert closed_by_after == closed_later
    opened_later = sorted(
        row for rows in whole.values() for row in rows if last_first is None or row[6] > last_first
    )
    assert sorted(after.closed + after.open_rows()) == opened_later


@PROPERTY
@given(logs(), st.lists(st.integers(min_value=1, max_value=40), max_size=5), st.data())
def test_a_folding_kept_from_page_to_page_writes_what_one_pass_writes(
    log: list[Fact], cuts: list[int], data: st.DataObject
) -> None:
    """The projector keeps its folding from one page to the next: `written` once a page is
    stored, and `forget` for an entity it no longer keeps (given its stored rows again before it
    is folded next). Page after page, with any entities forgotten between pages, the rows stored
    are those one pass writes."""
    pages = _pages(log, cuts)
    stored: list[list] = []  # rm_items as the pages leave it
    kept = Folding(GENERATION)
    forgotten: set[str] = set()
    for page in pages:
        for entity in sorted(forgotten):
            kept.stored(entity, _current_of(stored, entity))
        for fact in page:
            kept.feed(fact)
        kept.flush()
        for entity, aspect, key, valid_from, recorded_to in kept.db_closes:
            (row,) = [
                r
                for r in stored
                if r[1:5] == [entity, aspect, key, valid_from] and r[7] == OPEN_RECORDED
            ]
            row[7] = recorded_to
        stored.extend(list(row) for row in kept.closed + kept.open_rows())
        kept.written()
        assert (kept.closed, kept.db_closes, kept.open_rows(), kept.records) == ([], [], [], {})
        forgotten = data.draw(st.sets(st.sampled_from(sorted({f.event.entity for f in log}))))
        for entity in forgotten:
            kept.forget(entity)
    one_pass = sorted(row for rows in _history(log).values() for row in rows)
    assert sorted(tuple(row) for row in stored) == one_pass


def _pages(log: list[Fact], cuts: list[int]) -> list[list[Fact]]:
    """`log` cut near each of `cuts`, never inside an append transaction."""
    at = 0
    pages = []
    for length in cuts:
        end = min(at + length, len(log))
        while 0 < end < len(log) and log[end].recorded_at == log[end - 1].recorded_at:
            end += 1
        pages.append(log[at:end])
        at = end
    pages.append(log[at:])
    return pages


def _current_of(stored: list[list], entity: str) -> tuple:
    return tuple(
        sorted(
            (r[2], r[3], r[4], r[5], r[8], r[9])
            for r in stored
            if r[1] == entity and r[7] == OPEN_RECORDED
        )
    )


def _group_open(rows: list[tuple]) -> dict[str, list[tuple]]:
    out: dict[str, list[tuple]] = defaultdict(list)
    for generation, entity, aspect, key, valid_from, valid_to, _, _, present, body in rows:
        assert generation == GENERATION
        out[entity].append((aspect, key, valid_from, valid_to, present, body))
    return out


@given(logs())
def test_every_fact_touches_its_own_subject(log: list[Fact]) -> None:
    direct, _ = subjects_of(log)
    assert {fact.event.entity for fact in log} <= direct


@PROPERTY
@given(logs(), st.data())
def test_fact_index_kept_lists_equal_the_facts_gathered_afresh(
    log: list[Fact], data: st.DataObject
) -> None:
    """`FactIndex` keeps each entity's facts and appends the new ones as they come; whenever
    asked, between any two facts, the list is the one gathered from its streams afresh (a
    superseded issuance or a rule naming the entity for the first time included)."""
    index = FactIndex()
    entities = sorted({f.event.entity for f in log} | set(COMPANIES))
    for fact in log:
        index.add(fact)
        for entity in data.draw(st.lists(st.sampled_from(entities), max_size=3)):
            assert index.facts_for(entity) == index._gather(entity)
    for entity in entities:
        assert index.facts_for(entity) == index._gather(entity)
