"""The event types added after v1: their codec, references and projection semantics.

One test per rule; each name says what it proves. Logs are written by hand with
`tests.support.strategies.LogBuilder` (positions 1, 2, ...; recorded one minute apart).
"""

from __future__ import annotations

import datetime as _dt
import uuid

import pytest

import events as ev
from events.types import (
    FinancialImpactDisclosed,
    GuidanceIssued,
    LicenseRequirementImposed,
    ProductAnalyzed,
    ProductLaunched,
    RegulatoryReviewConcluded,
    RegulatoryReviewOpened,
    RuleSuspended,
    SupplyHalted,
)
from projections import changes, list_members, state_as_of
from tests.support.strategies import SOURCES, LogBuilder

D = _dt.date
P = ev.PartialDate


def _rule_log() -> tuple[LogBuilder, str]:
    log = LogBuilder()
    log.register("acme")
    log.register("affiliates-rule", kind="rule")
    issued = log.add(
        ev.RuleIssued(
            entity="affiliates-rule",
            occurred=P("2025-09-29"),
            sources=SOURCES,
            title={"en": "Affiliates rule"},
            authority="BIS",
            effective=D(2025, 9, 29),
            targets=("acme",),
        )
    )
    return log, issued.event_id


def _suspend(log: LogBuilder, occurred: str, until: _dt.date | None) -> str:
    return log.add(
        RuleSuspended(entity="affiliates-rule", occurred=P(occurred), sources=SOURCES, until=until)
    ).event_id


# --- codec ----------------------------------------------------------------------------------


def test_confidence_default_is_omitted_so_old_events_keep_their_bytes() -> None:
    event = ev.EntityListed(
        entity="acme", occurred=P("2022-12-16"), sources=SOURCES, list="el", authority="BIS"
    )
    assert b"confidence" not in ev.canonical(event)
    medium = ev.EntityListed(
        entity="acme",
        occurred=P("2022-12-16"),
        sources=SOURCES,
        list="el",
        authority="BIS",
        confidence="medium",
    )
    assert b'"confidence":"medium"' in ev.canonical(medium)
    assert ev.decode_event(ev.canonical(medium)) == medium


def test_unknown_confidence_is_refused_naming_the_field() -> None:
    doc = (
        b'{"type":"ProductLaunched","entity":"acme","occurred":"2022","product":"x",'
        b'"category":"c","sources":[{"url":"https://e.org"}],"confidence":"certain"}'
    )
    with pytest.raises(ev.EventInvalid) as info:
        ev.decode_event(doc)
    assert info.value.field == "confidence"


@pytest.mark.parametrize(
    "event",
    [
        RuleSuspended(entity="r", occurred=P("2025-11-10"), sources=SOURCES, until=D(2026, 11, 10)),
        LicenseRequirementImposed(
            entity="nvidia",
            occurred=P("2025-04-09"),
            sources=SOURCES,
            authority="US Department of Commerce",
            items="H20",
            destinations=("CN", "D:5"),
        ),
        RegulatoryReviewOpened(
            entity="micron",
            occurred=P("2023-03-31"),
            sources=SOURCES,
            authority="CAC",
            review="cybersecurity",
            regulator="cn-cac",
        ),
        RegulatoryReviewConcluded(
            entity="micron",
            occurred=P("2023-05-21"),
            sources=SOURCES,
            authority="CAC",
            review="cybersecurity",
            outcome="failed",
        ),
        FinancialImpactDisclosed(
            entity="nvidia",
            occurred=P("2025-05-28"),
            sources=SOURCES,
            measure="charge",
            amount=ev.Impact(amount=4_500_000_000, currency="USD"),
            period="Q1 FY2026",
        ),
        ProductLaunched(
            entity="huawei",
            occurred=P("2023-08-29"),
            sources=SOURCES,
            product="Mate 60 Pro",
            category="smartphone",
        ),
        ProductAnalyzed(
            entity="huawei",
            occurred=P("2023-09-04"),
            sources=SOURCES,
            product="Kirin 9000S",
            category="SoC",
            findings={"process": "7 nm-class"},
            analyst="techinsights",
            manufacturer="smic",
        ),
        SupplyHalted(
            entity="tsmc",
            occurred=P("2020-07-16"),
            sources=SOURCES,
            customer="huawei",
            effective=D(2020, 9, 14),
        ),
        GuidanceIssued(
            entity="ascend-guidance",
            occurred=P("2025-05-13"),
            sources=SOURCES,
            title={"en": "Guidance"},
            authority="BIS",
            targets=("huawei",),
        ),
    ],
    ids=lambda event: ev.type_name(event),
)
def test_new_type_round_trips_through_canonical_bytes(event: ev.AnyEvent) -> None:
    assert ev.type_name(event) in ev.EVENT_TYPES
    assert ev.EVENT_TYPES[ev.type_name(event)].schema_version == 1
    assert ev.decode_event(ev.canonical(event)) == event
    assert ev.decode_event(ev.encode(event)) == event


def test_new_types_name_the_entities_they_reference() -> None:
    analyzed = ProductAnalyzed(
        entity="huawei",
        occurred=P("2023-09-04"),
        sources=SOURCES,
        product="Kirin 9000S",
        category="SoC",
        analyst="techinsights",
        manufacturer="smic",
    )
    assert analyzed.referenced_entities() == {"analyst": "techinsights", "manufacturer": "smic"}
    halted = SupplyHalted(entity="tsmc", occurred=P("2020"), sources=SOURCES, customer="huawei")
    assert halted.referenced_entities() == {"customer": "huawei"}
    review = RegulatoryReviewOpened(
        entity="micron",
        occurred=P("2023"),
        sources=SOURCES,
        authority="CAC",
        review="cybersecurity",
        regulator="cn-cac",
    )
    assert review.referenced_entities() == {"regulator": "cn-cac"}
    required = LicenseRequirementImposed(
        entity="nvidia", occurred=P("2025"), sources=SOURCES, authority="DOC", items="H20", rule="r"
    )
    assert required.referenced_entities() == {"rule": "r"}
    guidance = GuidanceIssued(
        entity="g",
        occurred=P("2025"),
        sources=SOURCES,
        title={"en": "G"},
        authority="BIS",
        targets=("huawei", "smic"),
    )
    assert guidance.referenced_entities() == {"targets[0]": "huawei", "targets[1]": "smic"}
    suspended = RuleSuspended(entity="r", occurred=P("2025"), sources=SOURCES)
    assert suspended.referenced_entities() == {}


def test_listing_carries_the_license_requirement_column() -> None:
    log = LogBuilder()
    log.register("acme")
    log.add(
        ev.EntityListed(
            entity="acme",
            occurred=P("2022-12-16"),
            sources=SOURCES,
            list="us-entity-list",
            authority="BIS",
            license_requirement="For all items subject to the EAR",
        )
    )
    (listing,) = state_as_of("acme", log.facts, D(2023, 1, 1)).listings
    assert listing.license_requirement == "For all items subject to the EAR"


# --- RuleSuspended --------------------------------------------------------------------------


def test_suspended_rule_is_suspended_from_its_day_until_the_day_before_until() -> None:
    log, _ = _rule_log()
    _suspend(log, "2025-11-10", D(2026, 11, 10))
    before = state_as_of("acme", log.facts, D(2025, 11, 9))
    assert before.rules[0].status == "in_force"
    during = state_as_of("acme", log.facts, D(2025, 11, 10))
    assert during.rules[0].status == "suspended"
    assert during.rules[0].suspended_until == D(2026, 11, 10)
    last_day = state_as_of("acme", log.facts, D(2026, 11, 9))
    assert last_day.rules[0].status == "suspended"


def test_suspension_ends_automatically_on_until() -> None:
    log, _ = _rule_log()
    suspension = _suspend(log, "2025-11-10", D(2026, 11, 10))
    after = state_as_of("acme", log.facts, D(2026, 11, 10))
    assert after.rules[0].status == "in_force"
    assert after.rules[0].suspended_until is None
    assert suspension in after.rules[0].event_ids  # the answer still explains itself


def test_suspension_without_until_lasts() -> None:
    log, _ = _rule_log()
    _suspend(log, "2025-11-10", None)
    assert state_as_of("acme", log.facts, D(2030, 1, 1)).rules[0].status == "suspended"


def test_possible_suspension_makes_the_rule_possible_not_suspended() -> None:
    log, _ = _rule_log()
    _suspend(log, "2025-11", D(2026, 11, 10))
    mid_month = state_as_of("acme", log.facts, D(2025, 11, 15)).rules[0]
    assert (mid_month.status, mid_month.certainty) == ("in_force", "possible")
    after_month = state_as_of("acme", log.facts, D(2025, 12, 1)).rules[0]
    assert (after_month.status, after_month.certainty) == ("suspended", "definite")


def test_rule_own_state_shows_issue_suspension_and_rescission() -> None:
    log, issued = _rule_log()
    suspension = _suspend(log, "2025-11-10", D(2026, 11, 10))
    assert state_as_of("affiliates-rule", log.facts, D(2025, 9, 28)).rule_state is None
    own = state_as_of("affiliates-rule", log.facts, D(2025, 10, 1)).rule_state
    assert own is not None and own.status == "in_force" and own.since == "2025-09-29"
    own = state_as_of("affiliates-rule", log.facts, D(2025, 12, 1)).rule_state
    assert own is not None
    assert (own.status, own.suspended_until) == ("suspended", D(2026, 11, 10))
    assert own.event_ids == (issued, suspension)
    rescinded = log.add(
        ev.RuleRescinded(entity="affiliates-rule", occurred=P("2027-01-01"), sources=SOURCES)
    )
    own = state_as_of("affiliates-rule", log.facts, D(2027, 1, 1)).rule_state
    assert own is not None
    assert (own.status, own.ended) == ("rescinded", "2027-01-01")
    assert own.event_ids[-1] == rescinded.event_id
    assert state_as_of("acme", log.facts, D(2027, 1, 1)).rules == ()


def test_rule_own_state_is_pending_before_its_effective_date() -> None:
    log = LogBuilder()
    log.register("veu-rule", kind="rule")
    log.add(
        ev.RuleIssued(
            entity="veu-rule",
            occurred=P("2025-08-29"),
            sources=SOURCES,
            title={"en": "VEU revocation"},
            authority="BIS",
            effective=D(2025, 12, 31),
        )
    )
    own = state_as_of("veu-rule", log.facts, D(2025, 9, 1)).rule_state
    assert own is not None and own.status == "pending"
    own = state_as_of("veu-rule", log.facts, D(2025, 12, 31)).rule_state
    assert own is not None and own.status == "in_force"


def test_reissue_during_suspension_keeps_it_suspended() -> None:
    log, _ = _rule_log()
    _suspend(log, "2025-11-10", D(2026, 11, 10))
    log.add(
        ev.RuleIssued(
            entity="affiliates-rule",
            occurred=P("2025-12-01"),
            sources=SOURCES,
            title={"en": "Affiliates rule (corrected)"},
            authority="BIS",
            targets=("acme",),
        )
    )
    (rule,) = state_as_of("acme", log.facts, D(2026, 1, 1)).rules
    assert rule.status == "suspended"
    assert rule.title == {"en": "Affiliates rule (corrected)"}


def test_suspension_of_a_rule_not_yet_issued_changes_nothing() -> None:
    log = LogBuilder()
    log.register("acme")
    log.register("affiliates-rule", kind="rule")
    _suspend(log, "2025-01-01", None)
    log.add(
        ev.RuleIssued(
            entity="affiliates-rule",
            occurred=P("2025-09-29"),
            sources=SOURCES,
            title={"en": "Affiliates rule"},
            authority="BIS",
            targets=("acme",),
        )
    )
    assert state_as_of("acme", log.facts, D(2026, 1, 1)).rules[0].status == "in_force"


def test_suspension_shows_as_a_changed_rule_status() -> None:
    log, _ = _rule_log()
    suspension = _suspend(log, "2025-11-10", D(2026, 11, 10))
    (change,) = changes(log.facts, D(2025, 11, 1), D(2025, 12, 1))
    assert (change.aspect, change.change) == ("rule", "changed")
    assert (change.status_before, change.status_after) == ("in_force", "suspended")
    assert suspension in change.event_ids
    assert changes(log.facts, D(2025, 11, 1), D(2026, 11, 10)) == ()


def test_retracting_the_suspension_puts_the_rule_back_in_force() -> None:
    log, _ = _rule_log()
    suspension = _suspend(log, "2025-11-10", None)
    log.add(
        ev.EventRetracted(
            entity="affiliates-rule",
            occurred=P("2025-11-10"),
            sources=SOURCES,
            supersedes=(uuid.UUID(suspension),),
        )
    )
    assert state_as_of("acme", log.facts, D(2026, 1, 1)).rules[0].status == "in_force"


# --- LicenseRequirementImposed ----------------------------------------------------------------


def test_license_requirement_is_an_item_of_the_company_from_its_date() -> None:
    log = LogBuilder()
    log.register("nvidia")
    fact = log.add(
        LicenseRequirementImposed(
            entity="nvidia",
            occurred=P("2025-04-09"),
            sources=SOURCES,
            authority="US Department of Commerce",
            items="H20",
            destinations=("CN", "HK", "MO", "D:5"),
        )
    )
    assert state_as_of("nvidia", log.facts, D(2025, 4, 8)).license_requirements == ()
    (item,) = state_as_of("nvidia", log.facts, D(2025, 4, 9)).license_requirements
    assert (item.items, item.since, item.certainty) == ("H20", "2025-04-09", "definite")
    assert item.destinations == ("CN", "HK", "MO", "D:5")
    assert item.event_ids == (fact.event_id,)
    # It touches only its subject.
    log.register("amd")
    assert state_as_of("amd", log.facts, D(2026, 1, 1)).license_requirements == ()


def test_second_license_requirement_on_same_items_merges() -> None:
    log = LogBuilder()
    log.register("nvidia")
    for occurred, destinations in (("2025-04-14", ("CN",)), ("2025-04", ())):
        log.add(
            LicenseRequirementImposed(
                entity="nvidia",
                occurred=P(occurred),
                sources=SOURCES,
                authority="DOC",
                items="H20",
                destinations=destinations,
            )
        )
    (item,) = state_as_of("nvidia", log.facts, D(2025, 5, 1)).license_requirements
    assert item.since == "2025-04"  # earliest start
    assert item.destinations == ("CN",)  # the later one states none: kept
    assert len(item.event_ids) == 2


# --- reviews --------------------------------------------------------------------------------


def _review_log() -> LogBuilder:
    log = LogBuilder()
    log.register("micron")
    log.register("cn-cac", kind="government")
    log.add(
        RegulatoryReviewOpened(
            entity="micron",
            occurred=P("2023-03-31"),
            sources=SOURCES,
            authority="CAC",
            review="cybersecurity",
            regulator="cn-cac",
        )
    )
    log.add(
        RegulatoryReviewConcluded(
            entity="micron",
            occurred=P("2023-05-21"),
            sources=SOURCES,
            authority="CAC",
            review="cybersecurity",
            outcome="failed",
            regulator="cn-cac",
        )
    )
    return log


def test_review_is_open_between_opening_and_conclusion() -> None:
    log = _review_log()
    assert state_as_of("micron", log.facts, D(2023, 3, 30)).reviews == ()
    (review,) = state_as_of("micron", log.facts, D(2023, 4, 1)).reviews
    assert (review.status, review.outcome, review.since) == ("open", None, "2023-03-31")


def test_concluded_review_keeps_its_opening_date_and_states_the_outcome() -> None:
    log = _review_log()
    (review,) = state_as_of("micron", log.facts, D(2023, 5, 21)).reviews
    assert (review.status, review.outcome) == ("concluded", "failed")
    assert (review.since, review.concluded) == ("2023-03-31", "2023-05-21")
    assert review.event_ids == tuple(fact.event_id for fact in log.facts[2:])


def test_conclusion_without_a_known_opening_creates_a_concluded_review() -> None:
    log = LogBuilder()
    log.register("nvidia")
    log.add(
        RegulatoryReviewConcluded(
            entity="nvidia",
            occurred=P("2025-09-15"),
            sources=SOURCES,
            authority="SAMR",
            review="antitrust",
            outcome="preliminary_violation_found",
        )
    )
    (review,) = state_as_of("nvidia", log.facts, D(2025, 10, 1)).reviews
    assert (review.status, review.outcome) == ("concluded", "preliminary_violation_found")
    assert review.regulator is None and review.authority == "SAMR"


def test_possible_conclusion_leaves_the_review_open_but_possible() -> None:
    log = LogBuilder()
    log.register("micron")
    log.add(
        RegulatoryReviewOpened(
            entity="micron",
            occurred=P("2023-03-31"),
            sources=SOURCES,
            authority="CAC",
            review="cybersecurity",
        )
    )
    log.add(
        RegulatoryReviewConcluded(
            entity="micron",
            occurred=P("2023-05"),
            sources=SOURCES,
            authority="CAC",
            review="cybersecurity",
            outcome="failed",
        )
    )
    (review,) = state_as_of("micron", log.facts, D(2023, 5, 10)).reviews
    assert (review.status, review.certainty) == ("open", "possible")
    (review,) = state_as_of("micron", log.facts, D(2023, 6, 1)).reviews
    assert review.status == "concluded"


def test_opening_after_a_conclusion_starts_a_new_review() -> None:
    log = _review_log()
    log.add(
        RegulatoryReviewOpened(
            entity="micron",
            occurred=P("2024-01-01"),
            sources=SOURCES,
            authority="CAC",
            review="cybersecurity",
            regulator="cn-cac",
        )
    )
    (review,) = state_as_of("micron", log.facts, D(2024, 2, 1)).reviews
    assert (review.status, review.since, review.outcome) == ("open", "2024-01-01", None)


# --- financial disclosures -------------------------------------------------------------------


def _charge(amount: int, occurred: str, **fields: object) -> FinancialImpactDisclosed:
    return FinancialImpactDisclosed(
        entity="nvidia",
        occurred=P(occurred),
        sources=SOURCES,
        measure="charge",
        amount=ev.Impact(amount=amount, currency="USD"),
        period="Q1 FY2026",
        **fields,  # type: ignore[arg-type]
    )


def test_later_disclosure_of_the_same_figure_replaces_the_earlier() -> None:
    log = LogBuilder()
    log.register("nvidia")
    first = log.add(_charge(5_500_000_000, "2025-04-15", qualifier="up_to", estimate=True))
    second = log.add(_charge(4_500_000_000, "2025-05-28"))
    (early,) = state_as_of("nvidia", log.facts, D(2025, 5, 1)).financial_disclosures
    assert (early.amount.amount, early.qualifier, early.estimate) == (5_500_000_000, "up_to", True)
    (late,) = state_as_of("nvidia", log.facts, D(2025, 6, 1)).financial_disclosures
    assert (late.amount.amount, late.qualifier, late.estimate) == (4_500_000_000, "exact", False)
    assert late.since == "2025-05-28"
    assert late.event_ids == (first.event_id, second.event_id)


def test_superseded_estimate_is_gone_as_known_now_but_kept_as_known_before() -> None:
    log = LogBuilder()
    log.register("nvidia")
    estimate = log.add(_charge(5_500_000_000, "2025-04-15", qualifier="up_to", estimate=True))
    booked = log.add(_charge(4_500_000_000, "2025-05-28", supersedes=(estimate.event.id,)))
    (now,) = state_as_of("nvidia", log.facts, D(2025, 6, 1)).financial_disclosures
    assert now.event_ids == (booked.event_id,)
    assert state_as_of("nvidia", log.facts, D(2025, 5, 1)).financial_disclosures == ()
    (then,) = state_as_of(
        "nvidia", log.facts, D(2025, 5, 1), known_at=estimate.recorded_at
    ).financial_disclosures
    assert then.amount.amount == 5_500_000_000


# --- products, analyses, supply halts, guidance ------------------------------------------


def test_launch_is_not_mass_production() -> None:
    log = LogBuilder()
    log.register("ymtc")
    log.add(
        ProductLaunched(
            entity="ymtc",
            occurred=P("2022-08-03"),
            sources=SOURCES,
            product="X3-9070",
            category="3D NAND",
            specs={"die_capacity": "1 Tb"},
        )
    )
    state = state_as_of("ymtc", log.facts, D(2022, 9, 1))
    assert state.products == ()
    (launch,) = state.launches
    assert (launch.product, launch.specs) == ("X3-9070", {"die_capacity": "1 Tb"})


def test_analysis_is_keyed_by_product_and_analyst_and_keeps_the_manufacturer() -> None:
    log = LogBuilder()
    log.register("huawei")
    for occurred, manufacturer in (("2023-09-04", "smic"), ("2023-10", None)):
        log.add(
            ProductAnalyzed(
                entity="huawei",
                occurred=P(occurred),
                sources=SOURCES,
                product="Kirin 9000S",
                category="SoC",
                analyst="techinsights",
                manufacturer=manufacturer,
            )
        )
    (analysis,) = state_as_of("huawei", log.facts, D(2023, 11, 1)).product_analyses
    assert (analysis.analyst, analysis.manufacturer, analysis.since) == (
        "techinsights",
        "smic",
        "2023-09-04",
    )


def test_supply_halt_is_pending_until_its_effective_date() -> None:
    log = LogBuilder()
    log.register("tsmc")
    log.add(
        SupplyHalted(
            entity="tsmc",
            occurred=P("2020-07-16"),
            sources=SOURCES,
            customer="huawei",
            effective=D(2020, 9, 14),
        )
    )
    (halt,) = state_as_of("tsmc", log.facts, D(2020, 8, 1)).supply_halts
    assert (halt.status, halt.since) == ("pending", "2020-07-16")
    (halt,) = state_as_of("tsmc", log.facts, D(2020, 9, 14)).supply_halts
    assert halt.status == "in_effect"
    # The customer's own state is untouched (the event is in its timeline by reference).
    assert state_as_of("huawei", log.facts, D(2021, 1, 1)).supply_halts == ()


def test_guidance_names_its_targets_and_is_withdrawn_by_rescission() -> None:
    log = LogBuilder()
    log.register("huawei")
    log.register("ascend-guidance", kind="rule")
    issued = log.add(
        GuidanceIssued(
            entity="ascend-guidance",
            occurred=P("2025-05-13"),
            sources=SOURCES,
            title={"en": "Ascend guidance"},
            authority="BIS",
            targets=("huawei",),
        )
    )
    state = state_as_of("huawei", log.facts, D(2025, 6, 1))
    assert state.rules == ()  # guidance is not a rule in force
    (guidance,) = state.guidance
    assert (guidance.guidance, guidance.event_ids) == ("ascend-guidance", (issued.event_id,))
    log.add(ev.RuleRescinded(entity="ascend-guidance", occurred=P("2026-01-01"), sources=SOURCES))
    assert state_as_of("huawei", log.facts, D(2026, 1, 1)).guidance == ()


def test_new_types_do_not_touch_list_members() -> None:
    log = LogBuilder()
    log.register("nvidia")
    log.listed("nvidia", "2025-01-01")
    log.add(_charge(1, "2025-02-01"))
    (member,) = list_members(log.facts, "us-entity-list", D(2025, 3, 1))
    assert member.entity == "nvidia"
