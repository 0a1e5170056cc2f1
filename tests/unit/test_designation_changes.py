"""`changes` tells a designation that started or ended on a list the company stays on, even when
the listing's own `since` (the earliest of its designations') and certainty do not move."""

from __future__ import annotations

import datetime as dt

from hypothesis import given, settings
from hypothesis import strategies as st

from projections import changes, state_as_of
from projections.fold.listings import designations_of
from tests.support.strategies import LogBuilder, logs

D = dt.date


def kinds(found: tuple) -> list[tuple[str, tuple[str, ...], str]]:
    return [(c.aspect, c.key, c.change) for c in found]


def test_a_second_programme_starting_is_a_designation_gained_and_the_listing_stays() -> None:
    log = LogBuilder()
    log.register("acme", "2019-01-01")
    log.listed("acme", "2019-05-16", program="EAR744-EL")
    second = log.listed("acme", "2021-06-03", program="1260H", designation="CMC-7")
    found = changes(log.facts, D(2020, 1, 1), D(2022, 1, 1))
    assert kinds(found) == [("designation", ("us-entity-list", "1260H", "CMC-7"), "gained")]
    (gained,) = found
    assert (gained.since_before, gained.since_after) == (None, "2021-06-03")
    assert gained.certainty_after == "definite"
    assert gained.event_ids == (second.event_id,)


def test_one_of_two_designations_ending_is_a_designation_lost() -> None:
    log = LogBuilder()
    log.register("acme", "2019-01-01")
    log.listed("acme", "2019-05-16", program="EAR744-EL")
    cmc = log.listed("acme", "2021-06-03", program="1260H")
    log.delisted("acme", "2023-02-01", program="1260H")
    found = changes(log.facts, D(2022, 1, 1), D(2024, 1, 1))
    assert kinds(found) == [("designation", ("us-entity-list", "1260H", ""), "lost")]
    assert found[0].since_before == "2021-06-03" and found[0].since_after is None
    assert found[0].event_ids == (cmc.event_id,)


def test_designation_changes_come_after_the_listing_change_they_go_with() -> None:
    log = LogBuilder()
    log.register("acme", "2019-01-01")
    log.listed("acme", "2019-05-16", program="EAR744-EL")
    log.listed("acme", "2021-06-03", program="1260H")
    log.delisted("acme", "2021-01-01", program="EAR744-EL")
    log.product("acme", "2020-03-01")
    found = changes(log.facts, D(2020, 1, 1), D(2022, 1, 1))
    assert kinds(found) == [
        ("listing", ("us-entity-list",), "changed"),
        ("designation", ("us-entity-list", "1260H", ""), "gained"),
        ("designation", ("us-entity-list", "EAR744-EL", ""), "lost"),
        ("product", (found[-1].key[0],), "gained"),
    ]
    assert (found[0].since_before, found[0].since_after) == ("2019-05-16", "2021-06-03")


def test_a_log_without_designations_tells_no_designation_change() -> None:
    log = LogBuilder()
    log.register("acme", "2019-01-01")
    log.listed("acme", "2019-05-16")
    log.listed("acme", "2018-01-01")  # an earlier listing: the listing's since moves
    found = changes(log.facts, D(2019, 6, 1), D(2019, 6, 1))
    assert found == ()
    found = changes(log.facts, D(2018, 6, 1), D(2019, 6, 1))
    assert kinds(found) == []  # listed on both days: the same listing, same since as known now


@settings(max_examples=300, deadline=None)
@given(
    log=logs(max_events=25),
    days=st.tuples(st.dates(D(2019, 1, 1), D(2024, 6, 1)), st.dates(D(2019, 1, 1), D(2024, 6, 1))),
)
def test_changes_tell_exactly_the_designations_started_or_ended_on_lists_kept(
    log: list, days: tuple[dt.date, dt.date]
) -> None:
    start, end = sorted(days)
    told = {
        (c.entity, c.key, c.change) for c in changes(log, start, end) if c.aspect == "designation"
    }
    expected = set()
    for entity in {fact.event.entity for fact in log}:
        before = {x.list: x for x in state_as_of(entity, log, start).listings}
        after = {x.list: x for x in state_as_of(entity, log, end).listings}
        for list_id in before.keys() & after.keys():
            was = {(d.program or "", d.designation or "") for d in designations_of(before[list_id])}
            now = {(d.program or "", d.designation or "") for d in designations_of(after[list_id])}
            expected |= {(entity, (list_id, *key), "gained") for key in now - was}
            expected |= {(entity, (list_id, *key), "lost") for key in was - now}
    assert told == expected
