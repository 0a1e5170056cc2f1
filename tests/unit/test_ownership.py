"""Ownership over time: parents and direct subsidiaries as of dates before and after changes."""

from __future__ import annotations

import datetime as dt

from hypothesis import given
from hypothesis import strategies as st
from msgspec import UNSET

from events import PartialDate
from events.types import EntityRegistered, OwnershipChanged
from projections import state_as_of
from projections.fold import Relevance
from tests.support.strategies import SOURCES, LogBuilder

D = dt.date


def owned(log: LogBuilder, entity: str, occurred: str, owner: str, **fields: object) -> object:
    return log.add(
        OwnershipChanged(
            entity=entity, occurred=PartialDate(occurred), sources=SOURCES, owner=owner, **fields
        )
    )


def holding_story() -> tuple[LogBuilder, dict]:
    log = LogBuilder()
    log.register("cetc", "2002-01-01")
    log.register("sasac", "2003-01-01", kind="government")
    log.register("hikvision", "2001-11-30")
    first = owned(log, "hikvision", "2015-06-01", "cetc", share=42.0)
    more = owned(log, "hikvision", "2019-03-01", "cetc", share=51.5)
    state_holds = owned(log, "hikvision", "2020-01-01", "sasac", share=10)
    ended = owned(log, "hikvision", "2022-07-01", "sasac", ended=True)
    return log, {"first": first, "more": more, "state": state_holds, "ended": ended}


def test_parents_before_any_change_are_empty() -> None:
    log, _ = holding_story()
    assert state_as_of("hikvision", log.facts, D(2014, 1, 1)).parents is UNSET


def test_parents_follow_each_change_and_keep_when_the_holding_began() -> None:
    log, facts = holding_story()
    early = state_as_of("hikvision", log.facts, D(2016, 1, 1))
    assert [(p.entity, p.share, p.since) for p in early.parents] == [("cetc", 42.0, "2015-06-01")]
    mid = state_as_of("hikvision", log.facts, D(2021, 1, 1))
    assert [(p.entity, p.share, p.since) for p in mid.parents] == [
        ("cetc", 51.5, "2015-06-01"),
        ("sasac", 10, "2020-01-01"),
    ]
    assert mid.parents[0].event_ids == (facts["first"].event_id, facts["more"].event_id)
    late = state_as_of("hikvision", log.facts, D(2023, 1, 1))
    assert [p.entity for p in late.parents] == ["cetc"]


def test_the_owner_sees_its_direct_subsidiaries_over_time() -> None:
    log, _ = holding_story()
    assert state_as_of("sasac", log.facts, D(2019, 12, 31)).subsidiaries is UNSET
    (held,) = state_as_of("sasac", log.facts, D(2021, 1, 1)).subsidiaries
    assert (held.entity, held.share) == ("hikvision", 10)
    assert state_as_of("sasac", log.facts, D(2023, 1, 1)).subsidiaries is UNSET
    (held,) = state_as_of("cetc", log.facts, D(2023, 1, 1)).subsidiaries
    assert (held.entity, held.share, held.since) == ("hikvision", 51.5, "2015-06-01")
    assert "cetc" in Relevance(log.facts).entities()


def test_an_end_of_uncertain_date_makes_the_holding_possible() -> None:
    log, _ = holding_story()
    owned(log, "hikvision", "2024", "cetc", ended=True)
    (parent,) = state_as_of("hikvision", log.facts, D(2024, 6, 1)).parents
    assert (parent.entity, parent.certainty) == ("cetc", "possible")
    assert state_as_of("hikvision", log.facts, D(2025, 1, 1)).parents is UNSET


def test_a_registrations_parent_is_a_holding_of_unstated_share() -> None:
    log = LogBuilder()
    log.register("huawei", "1987-09-15")
    log.add(
        EntityRegistered(
            entity="honor",
            occurred=PartialDate("2013-12-16"),
            sources=SOURCES,
            kind="company",
            names={"en": "Honor"},
            parent="huawei",
        )
    )
    owned(log, "honor", "2020-11-17", "huawei", ended=True)
    (parent,) = state_as_of("honor", log.facts, D(2019, 1, 1)).parents
    assert (parent.entity, parent.share, parent.since) == ("huawei", None, "2013-12-16")
    (child,) = state_as_of("huawei", log.facts, D(2019, 1, 1)).subsidiaries
    assert child.entity == "honor"
    assert state_as_of("honor", log.facts, D(2021, 1, 1)).parents is UNSET


@given(
    changes=st.lists(
        st.tuples(
            st.integers(0, 3000),
            st.sampled_from(("cetc", "sasac")),
            st.one_of(st.none(), st.floats(0, 100)),
            st.booleans(),
        ),
        max_size=8,
    ),
    day=st.dates(D(2009, 1, 1), D(2020, 1, 1)),
)
def test_parents_of_the_owned_mirror_subsidiaries_of_the_owners(
    changes: list[tuple[int, str, float | None, bool]], day: dt.date
) -> None:
    log = LogBuilder()
    for entity in ("cetc", "sasac", "hikvision"):
        log.register(entity, "2008-01-01")
    for offset, owner, share, ended in changes:
        occurred = (D(2010, 1, 1) + dt.timedelta(days=offset)).isoformat()
        owned(log, "hikvision", occurred, owner, share=share, ended=ended)
    parents = state_as_of("hikvision", log.facts, day).parents
    parents = () if parents is UNSET else parents
    mirrored = []
    for owner in ("cetc", "sasac"):
        held = state_as_of(owner, log.facts, day).subsidiaries
        for item in () if held is UNSET else held:
            mirrored.append((owner, item.share, item.since, item.event_ids))
    assert sorted((p.entity, p.share, p.since, p.event_ids) for p in parents) == sorted(mirrored)
