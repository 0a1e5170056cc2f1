"""World-time segments (what the SQL read models store) agree with the pure fold."""

from __future__ import annotations

import datetime as _dt
import itertools
import uuid

import msgspec
from hypothesis import given, settings
from hypothesis import strategies as st

from events import AnyEvent, PartialDate, RuleIssued, RuleRescinded
from events.types import (
    EntityRenamed,
    GuidanceIssued,
    LicenseRequirementImposed,
    OwnershipChanged,
    RuleSuspended,
    SupplyHalted,
)
from projections import Fact, canonical_json, state_as_of
from projections.fold import relevant
from projections.queries import _fold_noting_removals, items_of
from projections.segments import (
    OPEN_END,
    Segmentation,
    WholeSegmentation,
    breakpoints,
    segments,
)
from projections.select import effective
from projections.state import initial_state
from tests.support.strategies import (
    COMPANIES,
    SOURCES,
    T0,
    LogBuilder,
    days_for,
    logs,
    moments_for,
)

P = PartialDate

PROPERTY = settings(max_examples=150, deadline=None)


def _lookup(rows, day: _dt.date) -> dict:
    return {
        (s.aspect, s.key): (s.present, s.body) for s in rows if s.valid_from <= day < s.valid_to
    }


@PROPERTY
@given(st.data(), logs())
def test_segment_lookup_equals_the_fold_on_any_day(data: st.DataObject, log: list[Fact]) -> None:
    known_at = data.draw(moments_for(log))
    segments_by_entity = {e: segments(e, log, known_at) for e in COMPANIES}
    for _ in range(5):
        day = data.draw(days_for(log))
        for entity, entity_rows in segments_by_entity.items():
            chosen = relevant(entity, effective(log, known_at))
            state, removed_by = _fold_noting_removals(initial_state(entity, day, known_at), chosen)
            expected = {ref: (True, canonical_json(item)) for ref, item in items_of(state).items()}
            for ref, remover in removed_by.items():
                expected.setdefault(ref, (False, canonical_json({"removed_by": remover})))
            assert _lookup(entity_rows, day) == expected, (entity, day)
            full = state_as_of(entity, log, day, known_at)
            present = {ref for ref, (is_there, _) in expected.items() if is_there}
            assert present == set(items_of(full))


@PROPERTY
@given(logs(), st.data())
def test_segments_are_disjoint_and_merged(log: list[Fact], data: st.DataObject) -> None:
    known_at = data.draw(moments_for(log))
    for entity in COMPANIES:
        rows = segments(entity, log, known_at)
        by_item: dict = {}
        for row in rows:
            assert row.valid_from < row.valid_to <= OPEN_END
            by_item.setdefault((row.aspect, row.key), []).append(row)
        for item_rows in by_item.values():
            item_rows.sort(key=lambda r: r.valid_from)
            for before, after in itertools.pairwise(item_rows):
                assert before.valid_to <= after.valid_from
                if before.valid_to == after.valid_from:
                    assert (before.present, before.body) != (after.present, after.body)


def test_segments_of_an_entity_without_facts_are_empty() -> None:
    assert segments("nobody", [], None) == []


@PROPERTY
@given(logs(), st.data())
def test_incremental_segmentation_equals_the_full_one_at_every_split(
    log: list[Fact], data: st.DataObject
) -> None:
    """Fed the log in random prefixes (as append transactions arrive), or fed a log and then
    a different one (facts withdrawn, reordered relevance), `Segmentation.update` answers
    exactly what `segments()` computes from scratch on the same facts: item by item
    (`Segmentation`, what the projector and the rebuild use) or the whole entity at once."""
    known_at = data.draw(moments_for(log))
    cuts = sorted(data.draw(st.lists(st.integers(0, len(log)), max_size=4)))
    kind = data.draw(st.sampled_from([Segmentation, WholeSegmentation]))
    for entity in COMPANIES:
        incremental = kind(entity, known_at)
        for cut in [*cuts, len(log)]:
            assert incremental.update(log[:cut]) == segments(entity, log[:cut], known_at)
        # Going back to a shorter log withdraws facts: also recomputed from where it differs.
        shorter = log[: data.draw(st.integers(0, len(log)))]
        assert incremental.update(shorter) == segments(entity, shorter, known_at)


def test_an_event_dated_after_everything_known_refolds_only_the_tail() -> None:
    build = LogBuilder()
    build.register("acme", "2020-01-01")
    for year in range(2021, 2031):
        build.listed("acme", f"{year}-03-01")
        build.delisted("acme", f"{year}-09-01")
    incremental = WholeSegmentation("acme")
    incremental.update(build.facts)
    breakpoints_before = len(breakpoints(build.facts))
    build.listed("acme", "2031-03-01")
    assert incremental.update(build.facts) == segments("acme", build.facts)
    assert incremental.refolded_from == breakpoints_before

    build.listed("acme", "2020-06-01", on="eu-sanctions")  # backdated: from its own day
    assert incremental.update(build.facts) == segments("acme", build.facts)
    assert breakpoints(build.facts)[incremental.refolded_from] == _dt.date(2020, 6, 1)


@PROPERTY
@given(
    logs(),
    st.lists(
        st.sampled_from([P("2021"), P("2021-06"), P("2021-06-15"), P("2022-03-01")]),
        min_size=1,
        max_size=3,
    ),
    st.data(),
)
def test_facts_on_the_days_already_known_fed_one_at_a_time_segment_as_from_scratch(
    log: list[Fact], days: list[PartialDate], data: st.DataObject
) -> None:
    """Appends on a day the entity already has (a breakpoint before and after): the fold kept
    at that breakpoint for the facts before the new one carries on. Every fact of the log moved
    to one of a few days, fed one at a time, segments as `segments()` does from scratch."""
    known_at = data.draw(moments_for(log))
    moved = [
        Fact(
            position=f.position,
            recorded_at=f.recorded_at,
            event=msgspec.structs.replace(f.event, occurred=days[f.position % len(days)]),
        )
        for f in log
    ]
    for entity in COMPANIES:
        for kind in (Segmentation, WholeSegmentation):
            incremental = kind(entity, known_at)
            for cut in range(len(moved) + 1):
                expected = segments(entity, moved[:cut], known_at)
                assert incremental.update(moved[:cut]) == expected, (entity, cut)


def test_a_listing_repeated_on_its_day_folds_on_from_the_states_kept_there() -> None:
    build = LogBuilder()
    build.register("acme", "2020-01-01")
    for _ in range(4):
        build.listed("acme", "2022-05-01")
    incremental = WholeSegmentation("acme")
    incremental.update(build.facts)
    kept = list(incremental._prefix)
    build.listed("acme", "2022-05-01")
    assert incremental.update(build.facts) == segments("acme", build.facts)
    # The registration's breakpoint is untouched, and at the listings' own day the states of
    # the four listings before are the very ones folded before: only the fifth is folded.
    assert incremental.refolded_from == 1
    assert all(a is b for a, b in zip(incremental._prefix[:5], kept[:5], strict=True))


@st.composite
def _logs_with_rare_events(draw: st.DrawFn) -> list[Fact]:
    """A generated log with suspensions, renames, changes of ownership, guidance, licence
    requirements and supply halts mixed in: events `Segmentation` treats as touching one item
    (a suspension, for the companies a rule names), no item, or the whole of a rule's state."""
    base = draw(logs())
    entities = sorted({f.event.entity for f in base})
    rules = sorted(
        {f.event.entity for f in base if isinstance(f.event, RuleIssued | RuleRescinded)}
    )
    extra: list[AnyEvent] = []
    for _ in range(draw(st.integers(1, 6))):
        occurred = draw(st.sampled_from([f.event.occurred for f in base]))
        common = {"occurred": occurred, "sources": SOURCES, "id": uuid.UUID(int=len(extra) + 1)}
        kind = draw(
            st.sampled_from(
                ["suspended", "suspended", "renamed", "owned", "guidance", "license", "halt"]
            )
        )
        entity = draw(st.sampled_from(entities))
        if kind == "suspended" and rules:
            until = draw(st.sampled_from([None, *(f.event.occurred.end for f in base)]))
            event: AnyEvent = RuleSuspended(
                entity=draw(st.sampled_from(rules)), until=until, **common
            )
        elif kind == "renamed":
            event = EntityRenamed(entity=entity, names={"en": f"{entity} renamed"}, **common)
        elif kind == "owned":
            owner = draw(st.sampled_from(entities))
            event = OwnershipChanged(entity=entity, owner=owner, share=50.0, **common)
        elif kind == "guidance":
            event = GuidanceIssued(
                entity="guidance",
                title={"en": "Guidance"},
                authority="BIS",
                targets=(entity,),
                **common,
            )
        elif kind == "license":
            event = LicenseRequirementImposed(
                entity=entity, authority="BIS", items="H20", destinations=("CN",), **common
            )
        else:
            event = SupplyHalted(
                entity=entity, customer="huawei", effective=_dt.date(2024, 9, 14), **common
            )
        extra.append(event)
    merged = [f.event for f in base]
    for event in extra:
        merged.insert(draw(st.integers(len(merged) - len(base) // 2, len(merged))), event)
    return [
        Fact(position=i, recorded_at=T0 + _dt.timedelta(minutes=i), event=event)
        for i, event in enumerate(merged, start=1)
    ]


@given(_logs_with_rare_events(), st.data())
@settings(max_examples=150, deadline=None)  # a log of up to ~30 facts, every prefix
def test_item_by_item_segmentation_equals_the_whole_one_with_every_event_type(
    log: list[Fact], data: st.DataObject
) -> None:
    """Item by item, `Segmentation` answers what `segments()` answers for companies and rules
    alike, fed the log one fact at a time, whatever mix of event types it holds."""
    known_at = data.draw(moments_for(log))
    for entity in sorted({f.event.entity for f in log} | set(COMPANIES)):
        incremental = Segmentation(entity, known_at)
        for cut in range(len(log) + 1):
            assert incremental.update(log[:cut]) == segments(entity, log[:cut], known_at)


@given(_logs_with_rare_events(), st.data())
@settings(max_examples=150, deadline=None)
def test_segmentation_told_the_facts_only_grew_equals_the_full_one(
    log: list[Fact], data: st.DataObject
) -> None:
    """Told that the facts of each update extend those of the last (as the rebuild's fact
    index guarantees), `Segmentation` looks at the new ones alone unless one of them
    changes the choice of earlier facts (a correction, a retraction, a rule naming the entity
    for the first time); either way it answers what `segments()` computes from scratch."""
    known_at = data.draw(moments_for(log))
    cuts = sorted(set(data.draw(st.lists(st.integers(1, len(log)), max_size=8))))
    for entity in sorted({f.event.entity for f in log} | set(COMPANIES)):
        incremental = Segmentation(entity, known_at)
        given_before = 0
        for cut in [*cuts, len(log)]:
            found = incremental.update(log[:cut], unchanged=given_before)
            assert found == segments(entity, log[:cut], known_at), (entity, cut)
            given_before = cut
