"""Designations within a list: each kept on its own, ended only by a delisting that names it;
delistings that end nothing are shown as anomalies; members can be asked for by programme."""

from __future__ import annotations

import datetime as dt

from hypothesis import given, settings
from hypothesis import strategies as st
from msgspec import UNSET

from projections import canonical_json, list_members, state_as_of
from projections.fold.listings import designations_of
from tests.support.strategies import DESIGNATIONS, PROGRAMS, LogBuilder, logs

D = dt.date


def two_programs() -> tuple[LogBuilder, dict[str, object]]:
    log = LogBuilder()
    log.register("acme")
    el = log.listed(
        "acme",
        "2019-05-16",
        program="EAR744-EL",
        designation="84 FR 22961 #1",
        authority="BIS",
        measures=("licence requirement",),
    )
    cmc = log.listed(
        "acme",
        "2021-06-03",
        program="1260H",
        authority="DoD",
        reason="Chinese military company",
    )
    return log, {"el": el, "cmc": cmc}


def test_each_designation_keeps_its_own_since_program_authority_reason_and_sources() -> None:
    log, facts = two_programs()
    (listing,) = state_as_of("acme", log.facts, D(2022, 1, 1)).listings
    by_program = {d.program: d for d in listing.designations}
    assert by_program["EAR744-EL"].since == "2019-05-16"
    assert by_program["EAR744-EL"].authority == "BIS"
    assert by_program["EAR744-EL"].designation == "84 FR 22961 #1"
    assert by_program["EAR744-EL"].measures == ("licence requirement",)
    assert by_program["EAR744-EL"].event_ids == (facts["el"].event_id,)
    assert by_program["1260H"].since == "2021-06-03"
    assert by_program["1260H"].authority == "DoD"
    assert by_program["1260H"].reason == "Chinese military company"
    assert by_program["1260H"].event_ids == (facts["cmc"].event_id,)
    assert listing.since == "2019-05-16"


def test_delisting_that_names_a_program_leaves_the_company_listed_under_the_other() -> None:
    log, facts = two_programs()
    log.delisted("acme", "2023-02-01", program="EAR744-EL")
    (listing,) = state_as_of("acme", log.facts, D(2023, 6, 1)).listings
    (left,) = listing.designations
    assert left.program == "1260H"
    # The summary follows the designation that remains, not the one that ended.
    assert (listing.since, listing.authority) == ("2021-06-03", "DoD")
    assert listing.event_ids == (facts["cmc"].event_id,)


def test_delisting_that_names_a_designation_or_a_listing_event_ends_only_that_one() -> None:
    log, facts = two_programs()
    log.delisted("acme", "2023-02-01", designation="84 FR 22961 #1")
    (listing,) = state_as_of("acme", log.facts, D(2023, 6, 1)).listings
    assert [d.program for d in listing.designations] == ["1260H"]

    log, facts = two_programs()
    log.delisted("acme", "2023-02-01", listing=facts["cmc"])
    (listing,) = state_as_of("acme", log.facts, D(2023, 6, 1)).listings
    assert [d.program for d in listing.designations] == ["EAR744-EL"]


def test_open_designation_and_a_later_ended_one_keep_the_company_on_the_list() -> None:
    log = LogBuilder()
    log.register("acme")
    log.listed("acme", "2018-01-10", program="EU-RUS", designation="EU.1")
    later = log.listed("acme", "2022-03-15", program="EU-RUS", designation="EU.2")
    log.delisted("acme", "2023-09-01", listing=later)
    (listing,) = state_as_of("acme", log.facts, D(2024, 1, 1)).listings
    assert [d.designation for d in listing.designations] == ["EU.1"]
    assert [m.entity for m in list_members(log.facts, "us-entity-list", D(2024, 1, 1))] == ["acme"]


def test_delisting_that_names_nothing_ends_every_designation() -> None:
    log, _ = two_programs()
    log.delisted("acme", "2023-02-01")
    state = state_as_of("acme", log.facts, D(2023, 6, 1))
    assert state.listings == ()
    assert state.anomalies is UNSET


def test_possible_delisting_of_one_program_leaves_the_listing_definite() -> None:
    log, _ = two_programs()
    gone = log.delisted("acme", "2023-02", program="1260H")
    (listing,) = state_as_of("acme", log.facts, D(2023, 2, 10)).listings
    by_program = {d.program: d for d in listing.designations}
    assert by_program["1260H"].certainty == "possible"
    assert gone.event_id in by_program["1260H"].event_ids
    assert by_program["EAR744-EL"].certainty == "definite"
    assert listing.certainty == "definite"


def test_unmatched_delisting_is_kept_as_an_anomaly_and_ends_nothing() -> None:
    log, _ = two_programs()
    before = state_as_of("acme", log.facts, D(2024, 1, 1))
    stray = log.delisted("acme", "2023-02-01", program="EU-RUS")
    never = log.delisted("acme", "2023-03-01", on="eu-sanctions")
    state = state_as_of("acme", log.facts, D(2024, 1, 1))
    assert state.listings == before.listings
    assert [(a.kind, a.list, a.since, a.event_id) for a in state.anomalies] == [
        ("unmatched_delisting", "us-entity-list", "2023-02-01", stray.event_id),
        ("unmatched_delisting", "eu-sanctions", "2023-03-01", never.event_id),
    ]
    # Before its date it is not there yet.
    assert state_as_of("acme", log.facts, D(2023, 1, 31)).anomalies is UNSET


def test_members_by_program_are_summed_up_from_that_programs_designations() -> None:
    log, facts = two_programs()
    log.register("bolt")
    log.listed("bolt", "2020-12-18", program="EAR744-EL")
    day = D(2022, 1, 1)
    assert [m.entity for m in list_members(log.facts, "us-entity-list", day)] == ["acme", "bolt"]
    (cmc,) = list_members(log.facts, "us-entity-list", day, program="1260H")
    assert (cmc.entity, cmc.since, cmc.event_ids) == (
        "acme",
        "2021-06-03",
        (facts["cmc"].event_id,),
    )
    el = list_members(log.facts, "us-entity-list", day, program="EAR744-EL")
    assert [(m.entity, m.since) for m in el] == [("acme", "2019-05-16"), ("bolt", "2020-12-18")]
    assert list_members(log.facts, "us-entity-list", day, program="EU-RUS") == ()


def test_listing_without_designation_fields_answers_in_the_old_shape() -> None:
    log = LogBuilder()
    log.register("acme")
    log.listed("acme", "2020-05-01")
    log.listed("acme", "2021-05-01")
    state = state_as_of("acme", log.facts, D(2022, 1, 1))
    assert state.listings[0].designations is UNSET
    assert b"designations" not in canonical_json(state)
    assert b"anomalies" not in canonical_json(state)


# --- properties ---------------------------------------------------------------------------

_PROGRAM = st.sampled_from((None, *PROGRAMS))
_DESIGNATION = st.sampled_from((None, *DESIGNATIONS))


@settings(max_examples=60, deadline=None)
@given(
    listed=st.lists(st.tuples(_PROGRAM, _DESIGNATION, st.integers(0, 800)), min_size=1, max_size=6),
    named_program=_PROGRAM,
    named_designation=_DESIGNATION,
)
def test_a_delisting_ends_exactly_the_open_designations_it_names(
    listed: list[tuple[str | None, str | None, int]],
    named_program: str | None,
    named_designation: str | None,
) -> None:
    log = LogBuilder()
    log.register("acme", "2019-01-01")
    start = D(2020, 1, 1)
    for program, designation, offset in listed:
        day = (start + dt.timedelta(days=offset)).isoformat()
        log.listed("acme", day, program=program, designation=designation)
    keys = {(p, d) for p, d, _ in listed}
    log.delisted("acme", "2023-01-01", program=named_program, designation=named_designation)

    def named(key: tuple[str | None, str | None]) -> bool:
        return (named_program is None or key[0] == named_program) and (
            named_designation is None or key[1] == named_designation
        )

    state = state_as_of("acme", log.facts, D(2023, 6, 1))
    left = {key for key in keys if not named(key)}
    shown = {(d.program, d.designation) for item in state.listings for d in designations_of(item)}
    assert shown == left
    assert (state.anomalies is not UNSET) == (left == keys)
    for item in state.listings:
        designations = designations_of(item)
        assert item.since == min(
            (d.since for d in designations), key=lambda s: dt.date.fromisoformat(s)
        )
        assert set(item.event_ids) == {i for d in designations for i in d.event_ids}


@settings(max_examples=60, deadline=None)
@given(log=logs(max_events=25), day=st.dates(D(2019, 6, 1), D(2024, 6, 1)))
def test_members_under_any_program_are_members_of_the_list(log: list, day: dt.date) -> None:
    for list_id in ("us-entity-list", "eu-sanctions"):
        everyone = {m.entity: m for m in list_members(log, list_id, day)}
        for program in PROGRAMS:
            for member in list_members(log, list_id, day, program=program):
                whole = everyone[member.entity]
                assert set(member.event_ids) <= set(whole.event_ids)
                assert member.certainty == "possible" or whole.certainty == "definite"
