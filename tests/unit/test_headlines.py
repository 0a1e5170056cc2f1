"""Headlines written from type and fields, in three languages, with the name fallback order."""

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
from projections.present.headlines import (
    fallback_order,
    format_amount,
    generated_headline,
    headline,
    headlines,
    name_of,
)
from tests.support.builders import SOURCE

P = ev.PartialDate
SOURCES = SOURCE  # the test builders' one source

NAMES = {
    "ymtc": {"en": "YMTC", "zh-Hans": "长江存储", "zh-Hant": "長江存儲"},
    "us-entity-list": {
        "en": "US Entity List",
        "zh-Hans": "美国实体清单",
        "zh-Hant": "美國實體清單",
    },
    "us-unverified-list": {
        "en": "US Unverified List",
        "zh-Hans": "美国未经核实清单",
        "zh-Hant": "美國未經核實清單",
    },
    "nvidia": {"en": "Nvidia", "zh-Hans": "英伟达", "zh-Hant": "輝達"},
    "micron": {"en": "Micron", "zh-Hans": "美光", "zh-Hant": "美光"},
    "cn-cac": {"en": "CAC", "zh-Hans": "国家网信办", "zh-Hant": "國家網信辦"},
    "tsmc": {"en": "TSMC", "zh-Hans": "台积电", "zh-Hant": "台積電"},
    "huawei": {"en": "Huawei", "zh-Hans": "华为", "zh-Hant": "華為"},
    "smic": {"en": "SMIC", "zh-Hans": "中芯国际", "zh-Hant": "中芯國際"},
    "techinsights": {"en": "TechInsights", "zh-Hans": "TechInsights", "zh-Hant": "TechInsights"},
    "affiliates-rule": {"en": "Affiliates rule", "zh-Hans": "关联方规则", "zh-Hant": "關聯方規則"},
}


def _listed(entity: str = "ymtc", on: str = "us-entity-list") -> ev.EntityListed:
    return ev.EntityListed(
        entity=entity, occurred=P("2022-12-16"), sources=SOURCES, list=on, authority="BIS"
    )


# --- the examples of the issue ----------------------------------------------------------------


def test_listing_headline_in_three_languages() -> None:
    event = _listed()
    assert headline(event, "en", NAMES) == "YMTC added to the US Entity List"
    assert headline(event, "zh-Hans", NAMES) == "长江存储被列入美国实体清单"
    assert headline(event, "zh-Hant", NAMES) == "長江存儲被列入美國實體清單"


def test_headlines_gives_every_language() -> None:
    assert headlines(_listed(), NAMES) == {
        "en": "YMTC added to the US Entity List",
        "zh-Hans": "长江存储被列入美国实体清单",
        "zh-Hant": "長江存儲被列入美國實體清單",
    }


def test_delisting_headline() -> None:
    event = ev.EntityDelisted(
        entity="ymtc", occurred=P("2022-12-16"), sources=SOURCES, list="us-unverified-list"
    )
    assert headline(event, "en", NAMES) == "YMTC removed from the US Unverified List"
    assert headline(event, "zh-Hans", NAMES) == "长江存储被移出美国未经核实清单"
    assert headline(event, "zh-Hant", NAMES) == "長江存儲被移出美國未經核實清單"


# --- the event's own headline ------------------------------------------------------------


def test_own_headline_wins_in_its_language_and_others_are_generated() -> None:
    event = ev.EntityListed(
        entity="ymtc",
        occurred=P("2022-12-16"),
        sources=SOURCES,
        list="us-entity-list",
        authority="BIS",
        headline={"en": "BIS blacklists YMTC"},
    )
    assert headline(event, "en", NAMES) == "BIS blacklists YMTC"
    assert headline(event, "zh-Hans", NAMES) == "长江存储被列入美国实体清单"
    assert generated_headline(event, "en", NAMES) == "YMTC added to the US Entity List"


# --- names and their fallback ----------------------------------------------------------------


def test_fallback_order_is_lang_then_other_script_then_english() -> None:
    assert fallback_order("zh-Hant") == ("zh-Hant", "zh-Hans", "en")
    assert fallback_order("zh-Hans") == ("zh-Hans", "zh-Hant", "en")
    assert fallback_order("en") == ("en",)


def test_traditional_falls_back_to_simplified_then_english_then_id() -> None:
    names = {
        "a": {"en": "A", "zh-Hans": "甲"},
        "b": {"en": "B"},
        "c": {"zh-Hant": "丙"},
    }
    assert name_of("a", "zh-Hant", names) == "甲"
    assert name_of("b", "zh-Hant", names) == "B"
    assert name_of("c", "zh-Hans", names) == "丙"
    assert name_of("c", "en", names) == "c"  # English has no Chinese fallback: the id
    assert name_of("unknown", "en", names) == "unknown"


def test_unknown_entities_are_named_by_id() -> None:
    assert headline(_listed("acme", "eu-list"), "en", {}) == "acme added to the eu-list"
    assert headline(_listed("acme", "eu-list"), "zh-Hans", {}) == "acme被列入eu-list"


def test_unsupported_language_is_written_in_english() -> None:
    assert generated_headline(_listed(), "fr", NAMES) == "YMTC added to the US Entity List"


# --- each type ------------------------------------------------------------------------------


def test_rule_headline_uses_the_localized_title_and_states_a_later_effective_date() -> None:
    event = ev.RuleIssued(
        entity="veu-rule",
        occurred=P("2025-08-29"),
        sources=SOURCES,
        title={"en": "VEU revocation", "zh-Hans": "撤销VEU资格"},
        authority="BIS",
        effective=_dt.date(2025, 12, 31),
    )
    assert headline(event, "en", NAMES) == "Rule issued: VEU revocation (effective 31 Dec 2025)"
    assert headline(event, "zh-Hans", NAMES) == "发布规则“撤销VEU资格”（2025年12月31日生效）"
    # A title in simplified characters only is written in traditional ones on a zh-Hant page.
    assert headline(event, "zh-Hant", NAMES) == "發布規則「撤銷VEU資格」（2025年12月31日生效）"


def test_suspension_headline_names_the_day_it_applies_again() -> None:
    event = RuleSuspended(
        entity="affiliates-rule",
        occurred=P("2025-11-10"),
        sources=SOURCES,
        until=_dt.date(2026, 11, 10),
    )
    assert headline(event, "en", NAMES) == "Affiliates rule suspended until 10 Nov 2026"
    assert headline(event, "zh-Hans", NAMES) == "关联方规则暂停实施（2026年11月10日起恢复）"
    assert headline(event, "zh-Hant", NAMES) == "關聯方規則暫停實施（2026年11月10日起恢復）"


def test_review_headlines() -> None:
    opened = RegulatoryReviewOpened(
        entity="micron",
        occurred=P("2023-03-31"),
        sources=SOURCES,
        authority="Cyberspace Administration of China",
        review="cybersecurity",
        regulator="cn-cac",
    )
    assert headline(opened, "en", NAMES) == "CAC opens cybersecurity review of Micron"
    assert headline(opened, "zh-Hans", NAMES) == "国家网信办对美光展开网络安全审查"
    failed = RegulatoryReviewConcluded(
        entity="micron",
        occurred=P("2023-05-21"),
        sources=SOURCES,
        authority="Cyberspace Administration of China",
        review="cybersecurity",
        outcome="failed",
        regulator="cn-cac",
    )
    assert headline(failed, "en", NAMES) == "Micron fails CAC cybersecurity review"
    assert headline(failed, "zh-Hant", NAMES) == "美光未通過國家網信辦網路安全審查"
    preliminary = RegulatoryReviewConcluded(
        entity="nvidia",
        occurred=P("2025-09-15"),
        sources=SOURCES,
        authority="SAMR",
        review="antitrust",
        outcome="preliminary_violation_found",
    )
    assert headline(preliminary, "zh-Hans", NAMES) == "SAMR初步认定英伟达违法（反垄断调查）"


def test_financial_headline_says_estimate_and_qualifier() -> None:
    estimate = FinancialImpactDisclosed(
        entity="nvidia",
        occurred=P("2025-04-15"),
        sources=SOURCES,
        measure="charge",
        amount=ev.Impact(amount=5_500_000_000, currency="USD"),
        period="Q1 FY2026",
        qualifier="up_to",
        estimate=True,
    )
    assert (
        headline(estimate, "en", NAMES) == "Nvidia expects up to US$5.5 billion charge (Q1 FY2026)"
    )
    assert headline(estimate, "zh-Hans", NAMES) == "英伟达预计费用最多55亿美元（Q1 FY2026）"
    assert headline(estimate, "zh-Hant", NAMES) == "輝達預計費用最多55億美元（Q1 FY2026）"
    booked = FinancialImpactDisclosed(
        entity="nvidia",
        occurred=P("2025-05-28"),
        sources=SOURCES,
        measure="charge",
        amount=ev.Impact(amount=4_500_000_000, currency="USD"),
    )
    assert headline(booked, "en", NAMES) == "Nvidia reports US$4.5 billion charge"
    assert headline(booked, "zh-Hans", NAMES) == "英伟达披露费用45亿美元"


@pytest.mark.parametrize(
    ("amount", "currency", "lang", "text"),
    [
        (3_400_000_000, "USD", "en", "US$3.4 billion"),
        (24_700_000_000, "CNY", "zh-Hans", "247亿元人民币"),
        (250_000_000, "EUR", "en", "€250 million"),
        (12_345, "USD", "en", "US$12,345"),
        (50_000, "USD", "zh-Hant", "5萬美元"),
        (7, "XAU", "en", "XAU 7"),
    ],
)
def test_amounts_are_written_the_way_each_language_writes_them(
    amount: int, currency: str, lang: str, text: str
) -> None:
    assert format_amount(ev.Impact(amount=amount, currency=currency), lang) == text


def test_license_requirement_headline_names_destinations() -> None:
    event = LicenseRequirementImposed(
        entity="nvidia",
        occurred=P("2025-04-09"),
        sources=SOURCES,
        authority="US Department of Commerce",
        items="H20",
        destinations=("CN", "HK", "MO"),
    )
    assert headline(event, "en", NAMES) == (
        "Nvidia: export license now required for H20 (to China, Hong Kong and Macau)"
    )
    assert (
        headline(event, "zh-Hans", NAMES)
        == "英伟达：H20出口须申请许可证（目的地：中国、香港、澳门）"
    )


def test_supply_halt_analysis_and_launch_headlines() -> None:
    halt = SupplyHalted(
        entity="tsmc",
        occurred=P("2020-07-16"),
        sources=SOURCES,
        customer="huawei",
        effective=_dt.date(2020, 9, 14),
    )
    assert headline(halt, "en", NAMES) == "TSMC halts supplies to Huawei from 14 Sep 2020"
    assert headline(halt, "zh-Hant", NAMES) == "台積電停止向華為供貨（2020年9月14日起）"
    analysis = ProductAnalyzed(
        entity="huawei",
        occurred=P("2023-09-04"),
        sources=SOURCES,
        product="Kirin 9000S",
        category="SoC",
        analyst="techinsights",
        manufacturer="smic",
    )
    assert (
        headline(analysis, "en", NAMES)
        == "TechInsights analysis of Huawei's Kirin 9000S: made by SMIC"
    )
    assert headline(analysis, "zh-Hans", NAMES) == "TechInsights分析华为Kirin 9000S：由中芯国际制造"
    launch = ProductLaunched(
        entity="huawei",
        occurred=P("2023-08-29"),
        sources=SOURCES,
        product="Mate 60 Pro",
        category="smartphone",
    )
    assert headline(launch, "zh-Hant", NAMES) == "華為發表Mate 60 Pro"


def test_every_type_gets_a_nonempty_headline_in_every_language() -> None:
    samples: list[ev.Event] = [
        ev.EntityRegistered(
            entity="ymtc",
            occurred=P("2016"),
            sources=SOURCES,
            kind="company",
            names={"en": "YMTC", "zh-Hans": "长江存储"},
        ),
        _listed(),
        ev.EntityDelisted(entity="ymtc", occurred=P("2023"), sources=SOURCES, list="x"),
        ev.RuleIssued(
            entity="r", occurred=P("2023"), sources=SOURCES, title={"en": "R"}, authority="BIS"
        ),
        ev.RuleRescinded(entity="r", occurred=P("2023"), sources=SOURCES),
        RuleSuspended(entity="r", occurred=P("2023"), sources=SOURCES),
        ev.ProductMassProduced(
            entity="ymtc", occurred=P("2019-09"), sources=SOURCES, product="64L NAND", category="c"
        ),
        ev.ExitAnnounced(
            entity="micron",
            occurred=P("2025-10-17"),
            sources=SOURCES,
            market="data-centre server chips",
            region="CN",
        ),
        ev.EventRetracted(
            entity="ymtc",
            occurred=P("2023"),
            sources=SOURCES,
            supersedes=(uuid.uuid4(),),
        ),
        GuidanceIssued(
            entity="g", occurred=P("2025"), sources=SOURCES, title={"en": "G"}, authority="BIS"
        ),
    ]
    for event in samples:
        for lang in ev.LANGS:
            assert generated_headline(event, lang, NAMES).strip()
    registered = samples[0]
    # A first record claims no founding and no registration anywhere; names in one script
    # are converted for the other.
    assert headline(registered, "zh-Hant", NAMES) == "長江存儲（企業）首見於紀錄"
    assert headline(registered, "en", NAMES) == "YMTC (company) first on record"
    assert headline(samples[7], "en", NAMES) == (
        "Micron announces exit from data-centre server chips in China"
    )
