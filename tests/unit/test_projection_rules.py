"""One test per rule of contract section 2 (and per decision in docs/as-of.md)."""

from __future__ import annotations

import datetime as _dt
import hashlib
import uuid

import msgspec
import pytest

from events import Impact, PartialDate
from projections import (
    Change,
    EntityState,
    Fact,
    Member,
    canonical_json,
    certainty,
    changes,
    decode_state,
    effective,
    evolve,
    initial_state,
    list_members,
    state_as_of,
    state_hash,
)
from tests.support.strategies import T0, LogBuilder

D = _dt.date


def at(minutes: int) -> _dt.datetime:
    return T0 + _dt.timedelta(minutes=minutes)


def listing_of(state: EntityState, on: str = "us-entity-list"):  # type: ignore[no-untyped-def]
    found = [listing for listing in state.listings if listing.list == on]
    assert len(found) <= 1
    return found[0] if found else None


# --- the two times --------------------------------------------------------------------------


def test_event_counts_on_its_own_day() -> None:
    log = LogBuilder()
    log.register("acme")
    log.listed("acme", "2022-12-15")
    listing = listing_of(state_as_of("acme", log.facts, D(2022, 12, 15)))
    assert listing is not None
    assert listing.certainty == "definite"


def test_event_after_as_of_does_not_count() -> None:
    log = LogBuilder()
    log.register("acme")
    log.listed("acme", "2022-12-15")
    assert state_as_of("acme", log.facts, D(2022, 12, 14)).listings == ()


def test_known_at_leaves_out_events_recorded_later() -> None:
    log = LogBuilder()
    log.register("acme", at=at(0))
    log.listed("acme", "2022-12-15", at=at(10))
    assert state_as_of("acme", log.facts, D(2023, 1, 1), at(9)).listings == ()
    assert len(state_as_of("acme", log.facts, D(2023, 1, 1), at(10)).listings) == 1


def test_correction_recorded_later_does_not_change_past_answer() -> None:
    log = LogBuilder()
    log.register("acme", at=at(0))
    wrong = log.listed("acme", "2022-12-15", at=at(10))
    log.listed("acme", "2023-02-01", supersedes=[wrong], at=at(20))
    past = state_as_of("acme", log.facts, D(2023, 1, 1), at(15))
    assert past.listings[0].since == "2022-12-15"
    assert past.listings[0].event_ids == (wrong.event_id,)
    # The same question, asked with the whole log, sees the correction.
    assert state_as_of("acme", log.facts, D(2023, 1, 1)).listings == ()


def test_correction_replaces_superseded_event_in_later_answers() -> None:
    log = LogBuilder()
    log.register("acme")
    wrong = log.listed("acme", "2022-12-15", authority="OFAC")
    right = log.listed("acme", "2022-12-16", authority="BIS", supersedes=[wrong])
    listing = listing_of(state_as_of("acme", log.facts, D(2023, 1, 1)))
    assert listing is not None
    assert (listing.since, listing.authority, listing.event_ids) == (
        "2022-12-16",
        "BIS",
        (right.event_id,),
    )


def test_retraction_removes_event_from_later_answers() -> None:
    log = LogBuilder()
    log.register("acme", at=at(0))
    listed = log.listed("acme", "2022-12-15", at=at(10))
    log.retract(listed, at=at(20))
    assert len(state_as_of("acme", log.facts, D(2023, 1, 1), at(19)).listings) == 1
    assert state_as_of("acme", log.facts, D(2023, 1, 1), at(20)).listings == ()


def test_retraction_never_counts_itself() -> None:
    log = LogBuilder()
    log.register("acme")
    listed = log.listed("acme", "2022-12-15")
    retraction = log.retract(listed)
    assert [fact.event_id for fact in effective(log.facts, None)] == [log.facts[0].event_id]
    assert retraction not in effective(log.facts, None)


def test_superseded_event_stays_out_when_its_superseder_is_retracted() -> None:
    log = LogBuilder()
    log.register("acme")
    original = log.listed("acme", "2022-12-15")
    correction = log.listed("acme", "2022-12-20", supersedes=[original])
    log.retract(correction)
    assert state_as_of("acme", log.facts, D(2023, 1, 1)).listings == ()


def test_supersedes_chain_keeps_only_the_last_correction() -> None:
    log = LogBuilder()
    log.register("acme")
    first = log.listed("acme", "2022")
    second = log.listed("acme", "2022-12", supersedes=[first])
    third = log.listed("acme", "2022-12-15", supersedes=[second])
    listing = listing_of(state_as_of("acme", log.facts, D(2023, 6, 1)))
    assert listing is not None
    assert (listing.since, listing.event_ids) == ("2022-12-15", (third.event_id,))


def test_known_at_must_be_timezone_aware() -> None:
    log = LogBuilder()
    log.register("acme")
    with pytest.raises(ValueError, match="timezone-aware"):
        state_as_of("acme", log.facts, D(2023, 1, 1), _dt.datetime(2024, 1, 1))


def test_fact_requires_timezone_aware_recorded_at_and_an_id() -> None:
    log = LogBuilder()
    event = log.register("acme").event
    with pytest.raises(ValueError, match="timezone-aware"):
        Fact(position=1, recorded_at=_dt.datetime(2024, 1, 1), event=event)
    with pytest.raises(ValueError, match="id"):
        Fact(position=1, recorded_at=T0, event=msgspec.structs.replace(event, id=None))


# --- honest precision -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("occurred", "day", "expected"),
    [
        ("2022-12-15", D(2022, 12, 14), None),
        ("2022-12-15", D(2022, 12, 15), "definite"),
        ("2022-12", D(2022, 11, 30), None),
        ("2022-12", D(2022, 12, 1), "possible"),
        ("2022-12", D(2022, 12, 30), "possible"),
        ("2022-12", D(2022, 12, 31), "definite"),
        ("2022", D(2022, 1, 1), "possible"),
        ("2022", D(2022, 12, 30), "possible"),
        ("2022", D(2022, 12, 31), "definite"),
        ("2022", D(2023, 1, 1), "definite"),
        ("9998", D.max, "definite"),
    ],
)
def test_certainty_of_an_interval_on_a_day(occurred: str, day: _dt.date, expected: str) -> None:
    assert certainty(PartialDate(occurred), day) == expected


def test_month_precision_listing_is_possible_inside_its_month() -> None:
    log = LogBuilder()
    log.register("acme")
    log.listed("acme", "2022-12")
    listing = listing_of(state_as_of("acme", log.facts, D(2022, 12, 15)))
    assert listing is not None
    assert (listing.since, listing.certainty) == ("2022-12", "possible")


def test_month_precision_listing_is_definite_from_its_last_day_on() -> None:
    # The day 2022-12-31 covers [12-31, 2023-01-01): the whole month lies on or before it.
    log = LogBuilder()
    log.register("acme")
    log.listed("acme", "2022-12")
    for day in (D(2022, 12, 31), D(2023, 1, 1)):
        listing = listing_of(state_as_of("acme", log.facts, day))
        assert listing is not None
        assert listing.certainty == "definite"


def test_year_precision_product_is_possible_during_its_year() -> None:
    log = LogBuilder()
    log.register("acme")
    log.product("acme", "2022")
    assert state_as_of("acme", log.facts, D(2021, 12, 31)).products == ()
    assert state_as_of("acme", log.facts, D(2022, 7, 1)).products[0].certainty == "possible"
    assert state_as_of("acme", log.facts, D(2023, 1, 1)).products[0].certainty == "definite"


def test_since_is_as_precise_as_its_source() -> None:
    log = LogBuilder()
    log.register("acme")
    log.listed("acme", "2021")
    log.product("acme", "2021-06")
    log.exit("acme", "2021-07-04")
    state = state_as_of("acme", log.facts, D(2024, 1, 1))
    assert [state.listings[0].since, state.products[0].since, state.exits[0].since] == [
        "2021",
        "2021-06",
        "2021-07-04",
    ]


def test_late_arriving_earlier_event_is_folded_in_world_order() -> None:
    # The delisting is recorded first, the listing it ends arrives later but happened earlier.
    log = LogBuilder()
    log.register("acme")
    log.delisted("acme", "2023-03-01")
    log.listed("acme", "2022-12-15")
    assert state_as_of("acme", log.facts, D(2023, 1, 1)).listings != ()
    assert state_as_of("acme", log.facts, D(2023, 6, 1)).listings == ()


def test_world_order_breaks_ties_by_position() -> None:
    # Same interval start: the later position is folded last, so the delisting wins.
    log = LogBuilder()
    log.register("acme")
    log.listed("acme", "2022-12-15")
    log.delisted("acme", "2022-12-15")
    assert state_as_of("acme", log.facts, D(2023, 1, 1)).listings == ()
    other = LogBuilder()
    other.register("acme")
    other.delisted("acme", "2022-12-15")
    other.listed("acme", "2022-12-15")
    assert len(state_as_of("acme", other.facts, D(2023, 1, 1)).listings) == 1


def test_imprecise_delisting_starting_before_listing_changes_nothing() -> None:
    # "2022" starts on 2022-01-01, before the listing of 2022-06-01: folded first, a no-op.
    log = LogBuilder()
    log.register("acme")
    log.listed("acme", "2022-06-01")
    log.delisted("acme", "2022")
    listing = listing_of(state_as_of("acme", log.facts, D(2023, 6, 1)))
    assert listing is not None
    assert listing.certainty == "definite"


# --- listings -------------------------------------------------------------------------------


def test_second_listing_keeps_earliest_since() -> None:
    log = LogBuilder()
    log.register("acme")
    first = log.listed("acme", "2020-05-01", authority="BIS")
    second = log.listed("acme", "2022-12-15", authority="BIS", license_policy="case by case")
    listing = listing_of(state_as_of("acme", log.facts, D(2023, 1, 1)))
    assert listing is not None
    assert listing.since == "2020-05-01"
    assert listing.event_ids == (first.event_id, second.event_id)
    assert listing.license_policy == "case by case"


def test_second_listing_with_same_start_keeps_the_narrower_since() -> None:
    log = LogBuilder()
    log.register("acme")
    log.listed("acme", "2022")
    log.listed("acme", "2022-01-01")
    listing = listing_of(state_as_of("acme", log.facts, D(2022, 6, 1)))
    assert listing is not None
    assert (listing.since, listing.certainty) == ("2022-01-01", "definite")


def test_listing_keeps_earlier_optional_fields_the_later_leaves_out() -> None:
    log = LogBuilder()
    log.register("acme")
    log.listed("acme", "2020-05-01", rule="rule-a", license_policy="presumption of denial")
    log.listed("acme", "2022-12-15", authority="OFAC")
    listing = listing_of(state_as_of("acme", log.facts, D(2023, 1, 1)))
    assert listing is not None
    assert (listing.authority, listing.rule, listing.license_policy) == (
        "OFAC",
        "rule-a",
        "presumption of denial",
    )


def test_possible_listing_stays_possible() -> None:
    log = LogBuilder()
    log.register("acme")
    log.listed("acme", "2022")
    log.listed("acme", "2022-03")
    listing = listing_of(state_as_of("acme", log.facts, D(2022, 3, 10)))
    assert listing is not None
    assert (listing.since, listing.certainty) == ("2022", "possible")


def test_definite_second_listing_makes_possible_listing_definite() -> None:
    log = LogBuilder()
    log.register("acme")
    log.listed("acme", "2022")
    log.listed("acme", "2022-03-01")
    listing = listing_of(state_as_of("acme", log.facts, D(2022, 3, 10)))
    assert listing is not None
    assert (listing.since, listing.certainty) == ("2022", "definite")


def test_possible_second_listing_keeps_definite_listing_definite() -> None:
    log = LogBuilder()
    log.register("acme")
    log.listed("acme", "2020-01-01")
    log.listed("acme", "2022")
    listing = listing_of(state_as_of("acme", log.facts, D(2022, 6, 1)))
    assert listing is not None
    assert (listing.since, listing.certainty) == ("2020-01-01", "definite")


def test_listings_on_different_lists_are_separate() -> None:
    log = LogBuilder()
    log.register("acme")
    log.listed("acme", "2022-12-15", on="us-entity-list")
    log.listed("acme", "2021-01-01", on="eu-sanctions")
    state = state_as_of("acme", log.facts, D(2023, 1, 1))
    assert [listing.list for listing in state.listings] == ["eu-sanctions", "us-entity-list"]


def test_delisting_removes_listing() -> None:
    log = LogBuilder()
    log.register("acme")
    log.listed("acme", "2020-05-01")
    log.delisted("acme", "2022-12-15")
    assert len(state_as_of("acme", log.facts, D(2022, 12, 14)).listings) == 1
    assert state_as_of("acme", log.facts, D(2022, 12, 15)).listings == ()


def test_delisting_unlisted_company_changes_no_listing_and_is_shown_as_unmatched() -> None:
    log = LogBuilder()
    log.register("acme")
    log.listed("acme", "2020-05-01", on="eu-sanctions")
    before = state_as_of("acme", log.facts, D(2023, 1, 1))
    stray = log.delisted("acme", "2022-12-15", on="us-entity-list")
    after = state_as_of("acme", log.facts, D(2023, 1, 1))
    assert after.listings == before.listings
    assert [(a.kind, a.list, a.event_id) for a in after.anomalies] == [
        ("unmatched_delisting", "us-entity-list", stray.event_id)
    ]


def test_possible_delisting_makes_listing_possible() -> None:
    log = LogBuilder()
    log.register("acme")
    listed = log.listed("acme", "2020-05-01")
    delisted = log.delisted("acme", "2022-12")
    listing = listing_of(state_as_of("acme", log.facts, D(2022, 12, 10)))
    assert listing is not None
    assert listing.certainty == "possible"
    assert listing.since == "2020-05-01"
    assert listing.event_ids == (listed.event_id, delisted.event_id)
    assert state_as_of("acme", log.facts, D(2023, 1, 1)).listings == ()


def test_relisting_after_delisting_starts_a_new_since() -> None:
    log = LogBuilder()
    log.register("acme")
    log.listed("acme", "2019-01-01")
    log.delisted("acme", "2020-01-01")
    relisted = log.listed("acme", "2022-12-15")
    listing = listing_of(state_as_of("acme", log.facts, D(2023, 1, 1)))
    assert listing is not None
    assert (listing.since, listing.event_ids) == ("2022-12-15", (relisted.event_id,))


def test_listing_of_another_company_is_not_in_the_state() -> None:
    log = LogBuilder()
    log.register("acme")
    log.register("bolt")
    log.listed("bolt", "2022-12-15")
    assert state_as_of("acme", log.facts, D(2023, 1, 1)).listings == ()


# --- rules ----------------------------------------------------------------------------------


def test_rule_issued_is_in_force_for_each_target() -> None:
    log = LogBuilder()
    for company in ("acme", "bolt", "cobalt"):
        log.register(company)
    log.register("rule-a", kind="rule")
    issued = log.issued("rule-a", "2022-10-07", targets=("acme", "bolt"), title={"en": "AC"})
    for company in ("acme", "bolt"):
        rules = state_as_of(company, log.facts, D(2022, 10, 7)).rules
        assert [(r.rule, r.status, r.certainty, r.since) for r in rules] == [
            ("rule-a", "in_force", "definite", "2022-10-07")
        ]
        assert rules[0].event_ids == (issued.event_id,)
        assert rules[0].title == {"en": "AC"}
    assert state_as_of("cobalt", log.facts, D(2022, 10, 7)).rules == ()


def test_rule_pending_before_effective_date() -> None:
    log = LogBuilder()
    log.register("acme")
    log.register("rule-a", kind="rule")
    log.issued("rule-a", "2022-10-07", targets=("acme",), effective=D(2022, 10, 21))
    assert state_as_of("acme", log.facts, D(2022, 10, 6)).rules == ()
    assert state_as_of("acme", log.facts, D(2022, 10, 20)).rules[0].status == "pending"
    rule = state_as_of("acme", log.facts, D(2022, 10, 21)).rules[0]
    assert (rule.status, rule.effective) == ("in_force", D(2022, 10, 21))


def test_rescinded_rule_leaves() -> None:
    log = LogBuilder()
    log.register("acme")
    log.register("rule-a", kind="rule")
    log.issued("rule-a", "2022-10-07", targets=("acme",))
    log.rescinded("rule-a", "2023-05-01")
    assert len(state_as_of("acme", log.facts, D(2023, 4, 30)).rules) == 1
    assert state_as_of("acme", log.facts, D(2023, 5, 1)).rules == ()


def test_possible_rescission_makes_rule_possible() -> None:
    log = LogBuilder()
    log.register("acme")
    log.register("rule-a", kind="rule")
    issued = log.issued("rule-a", "2022-10-07", targets=("acme",))
    rescinded = log.rescinded("rule-a", "2023")
    rule = state_as_of("acme", log.facts, D(2023, 5, 1)).rules[0]
    assert rule.certainty == "possible"
    assert rule.event_ids == (issued.event_id, rescinded.event_id)


def test_rescission_of_rule_not_yet_issued_changes_nothing() -> None:
    log = LogBuilder()
    log.register("acme")
    log.register("rule-a", kind="rule")
    log.rescinded("rule-a", "2021-01-01")
    log.issued("rule-a", "2022-10-07", targets=("acme",))
    assert len(state_as_of("acme", log.facts, D(2023, 1, 1)).rules) == 1


def test_corrected_rule_targets_decide_who_is_under_it() -> None:
    log = LogBuilder()
    log.register("acme")
    log.register("bolt")
    log.register("rule-a", kind="rule")
    wrong = log.issued("rule-a", "2022-10-07", targets=("acme",))
    log.issued("rule-a", "2022-10-07", targets=("bolt",), supersedes=[wrong])
    assert state_as_of("acme", log.facts, D(2023, 1, 1)).rules == ()
    assert len(state_as_of("bolt", log.facts, D(2023, 1, 1)).rules) == 1


# --- products, exits, names -----------------------------------------------------------------


def test_product_keeps_earliest_since_and_latest_description() -> None:
    log = LogBuilder()
    log.register("acme")
    first = log.product("acme", "2021-03", specs={"layers": 128})
    second = log.product("acme", "2022-08-01", category="3D NAND", specs={"layers": 232})
    product = state_as_of("acme", log.facts, D(2023, 1, 1)).products[0]
    assert (product.since, product.category, product.specs) == (
        "2021-03",
        "3D NAND",
        {"layers": 232},
    )
    assert product.event_ids == (first.event_id, second.event_id)


def test_exit_is_keyed_by_market_and_region() -> None:
    log = LogBuilder()
    log.register("acme")
    log.exit("acme", "2022-11-01", market="dram", region="US")
    log.exit("acme", "2022-12-01", market="dram", region="EU")
    log.exit(
        "acme", "2023-01-01", market="dram", region="US", impact=Impact(amount=5, currency="USD")
    )
    exits = state_as_of("acme", log.facts, D(2023, 2, 1)).exits
    assert [(e.market, e.region, e.since, len(e.event_ids)) for e in exits] == [
        ("dram", "US", "2022-11-01", 2),
        ("dram", "EU", "2022-12-01", 1),
    ]
    assert exits[0].impact == Impact(amount=5, currency="USD")


def test_items_are_sorted_by_since_then_key() -> None:
    log = LogBuilder()
    log.register("acme")
    log.product("acme", "2022-05-01", product="b")
    log.product("acme", "2022", product="c")
    log.product("acme", "2022-05-01", product="a")
    log.product("acme", "2021-12-31", product="d")
    products = state_as_of("acme", log.facts, D(2023, 1, 1)).products
    assert [p.product for p in products] == ["d", "c", "a", "b"]


def test_later_registration_replaces_names() -> None:
    log = LogBuilder()
    log.register("acme", "2016", names={"en": "Acme Memory"}, aliases=("AM",), country="CN")
    log.register("acme", "2020-03-01", names={"en": "Acme", "zh-Hans": "阿克米"})
    old = state_as_of("acme", log.facts, D(2019, 1, 1))
    new = state_as_of("acme", log.facts, D(2021, 1, 1))
    assert (old.names, old.aliases, old.country) == ({"en": "Acme Memory"}, ("AM",), "CN")
    assert (new.names, new.aliases, new.country) == ({"en": "Acme", "zh-Hans": "阿克米"}, (), None)


def test_names_come_from_earliest_registration_before_any_counts() -> None:
    log = LogBuilder()
    log.register("acme", "2021-06", names={"en": "Acme Later"})
    log.register("acme", "2016-07-26", names={"en": "Acme First"}, kind="other")
    state = state_as_of("acme", log.facts, D(2000, 1, 1))
    assert (state.names, state.kind) == ({"en": "Acme First"}, "other")


def test_unknown_entity_has_an_empty_state() -> None:
    state = state_as_of("nobody", LogBuilder().facts, D(2023, 1, 1))
    assert state == initial_state("nobody", D(2023, 1, 1))
    assert (state.names, state.kind, state.listings) == ({}, None, ())


# --- evolve ---------------------------------------------------------------------------------


def test_evolve_returns_a_new_state_and_leaves_the_old_one() -> None:
    log = LogBuilder()
    listed = log.listed("acme", "2022-12-15")
    start = initial_state("acme", D(2023, 1, 1))
    after = evolve(start, listed)
    assert start.listings == ()
    assert after is not start
    assert len(after.listings) == 1


def test_evolve_refuses_a_fact_that_does_not_count_yet() -> None:
    log = LogBuilder()
    listed = log.listed("acme", "2022-12-15")
    with pytest.raises(ValueError, match="does not count"):
        evolve(initial_state("acme", D(2022, 12, 14)), listed)


def test_as_of_must_be_a_date_not_a_datetime() -> None:
    with pytest.raises(TypeError):
        initial_state("acme", T0)


# --- cross-entity answers -------------------------------------------------------------------


def test_list_members_are_the_listings_of_that_list() -> None:
    log = LogBuilder()
    for company in ("acme", "bolt", "cobalt"):
        log.register(company)
    a = log.listed("acme", "2022-12")
    log.listed("bolt", "2020-01-01")
    log.delisted("bolt", "2022-06-01")
    c = log.listed("cobalt", "2021-01-01")
    log.listed("cobalt", "2021-01-01", on="eu-sanctions")
    members = list_members(log.facts, "us-entity-list", D(2022, 12, 5))
    assert members == (
        Member(entity="acme", since="2022-12", certainty="possible", event_ids=(a.event_id,)),
        Member(entity="cobalt", since="2021-01-01", certainty="definite", event_ids=(c.event_id,)),
    )
    assert [m.entity for m in list_members(log.facts, "us-entity-list", D(2022, 5, 1))] == [
        "bolt",
        "cobalt",
    ]


def test_list_members_as_known_at_leaves_out_later_records() -> None:
    log = LogBuilder()
    log.register("acme", at=at(0))
    log.listed("acme", "2020-01-01", at=at(5))
    assert list_members(log.facts, "us-entity-list", D(2023, 1, 1), at(4)) == ()
    assert len(list_members(log.facts, "us-entity-list", D(2023, 1, 1), at(5))) == 1


def test_changes_report_gained_lost_and_certainty() -> None:
    log = LogBuilder()
    log.register("acme")
    log.register("rule-a", kind="rule")
    listed = log.listed("acme", "2020-01-01")
    delisted = log.delisted("acme", "2022-06-01")
    product = log.product("acme", "2022-03")
    issued = log.issued("rule-a", "2022-01-10", targets=("acme",), effective=D(2022, 7, 1))
    found = changes(log.facts, D(2022, 3, 15), D(2022, 12, 31))
    assert found == (
        Change(
            entity="acme",
            aspect="listing",
            key=("us-entity-list",),
            change="lost",
            since_before="2020-01-01",
            since_after=None,
            certainty_before="definite",
            certainty_after=None,
            status_before=None,
            status_after=None,
            event_ids=(listed.event_id, delisted.event_id),
        ),
        Change(
            entity="acme",
            aspect="rule",
            key=("rule-a",),
            change="changed",
            since_before="2022-01-10",
            since_after="2022-01-10",
            certainty_before="definite",
            certainty_after="definite",
            status_before="pending",
            status_after="in_force",
            event_ids=(issued.event_id,),
        ),
        Change(
            entity="acme",
            aspect="product",
            key=("x1-nand",),
            change="changed",
            since_before="2022-03",
            since_after="2022-03",
            certainty_before="possible",
            certainty_after="definite",
            status_before=None,
            status_after=None,
            event_ids=(product.event_id,),
        ),
    )


def test_changes_name_the_removing_event_once() -> None:
    # Possibly delisted as of `from` (the delisting is already among the ids), definite by `to`.
    log = LogBuilder()
    log.register("acme")
    listed = log.listed("acme", "2020-01-01")
    delisted = log.delisted("acme", "2022-12")
    (lost,) = changes(log.facts, D(2022, 12, 10), D(2023, 1, 1))
    assert (lost.change, lost.certainty_before) == ("lost", "possible")
    assert lost.event_ids == (listed.event_id, delisted.event_id)


def test_changes_between_a_date_and_itself_are_none() -> None:
    log = LogBuilder()
    log.register("acme")
    log.listed("acme", "2022")
    assert changes(log.facts, D(2022, 6, 1), D(2022, 6, 1)) == ()
    assert changes(log.facts, D(2021, 6, 1), D(2022, 6, 1))[0].change == "gained"


def test_changes_refuse_from_after_to() -> None:
    with pytest.raises(ValueError, match="on or before"):
        changes([], D(2023, 1, 2), D(2023, 1, 1))


# --- canonical bytes ------------------------------------------------------------------------


def test_canonical_bytes_sort_keys_and_hash_them() -> None:
    log = LogBuilder()
    log.register("acme", names={"zh-Hans": "阿克米", "en": "Acme"})
    log.product("acme", "2022", specs={"z": 1, "a": "x"})
    state = state_as_of("acme", log.facts, D(2023, 1, 1), at(60))
    data = canonical_json(state)
    assert data.startswith(b'{"aliases":[],"as_of":"2023-01-01","country":null,"entity":"acme"')
    assert b'"known_at":"2024-01-01T01:00:00Z"' in data
    assert b'"names":{"en":"Acme","zh-Hans":"\xe9\x98\xbf\xe5\x85\x8b\xe7\xb1\xb3"}' in data
    assert b'"specs":{"a":"x","z":1}' in data
    assert state_hash(state) == hashlib.sha256(data).hexdigest()
    assert decode_state(data) == state


def test_known_at_in_another_zone_gives_the_same_bytes() -> None:
    log = LogBuilder()
    log.register("acme")
    zone = _dt.timezone(_dt.timedelta(hours=8))
    utc = state_as_of("acme", log.facts, D(2023, 1, 1), at(60))
    shanghai = state_as_of("acme", log.facts, D(2023, 1, 1), at(60).astimezone(zone))
    assert canonical_json(utc) == canonical_json(shanghai)


def test_event_ids_are_uuid_text() -> None:
    log = LogBuilder()
    listed = log.listed("acme", "2022")
    state = state_as_of("acme", log.facts, D(2023, 1, 1))
    assert state.listings[0].event_ids == (str(uuid.UUID(int=listed.position)),)
