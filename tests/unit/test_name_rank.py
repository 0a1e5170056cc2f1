"""Ranking entities for a query: the reported cases with real names, the order of match kinds,
the tie-breaks, and properties: a name finds itself exactly, the indexed search equals the
reference ranking, and the order of the candidates does not matter (projections/names/rank.py)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from projections.names.rank import (
    MATCH_KINDS,
    NameIndex,
    Ranked,
    allowed_edits,
    candidate,
    match_name,
    query,
    rank,
)

ENTITIES = [
    candidate("huawei", "company", ["Huawei", "华为", "華為", "Huawei Technologies Co., Ltd."]),
    candidate("huawei-investment-holding", "company", ["Huawei Investment & Holding Co., Ltd."]),
    candidate(
        "guian-new-district-huawei-investment",
        "other",
        ["Guian New District Huawei Investment Co., Ltd., Guiyang, Guizhou"],
    ),
    candidate("tsao-hsing-cheng", "person", ["Tsao Hsing-cheng", "曹兴诚", "Robert Tsao"]),
    candidate("kuma-academy", "other", ["Kuma Academy", "黑熊学院"]),
    candidate("lockheed-martin", "company", ["Lockheed Martin Corporation", "洛克希德·马丁公司"]),
    candidate("avic-xian", "company", ["AVIC Xi’an Aircraft Industry Group Co., Ltd."]),
    candidate("obryan", "person", ["Patrick O’Bryan"]),
    candidate("china-telecom", "company", ["China Telecom Corporation Limited", "CT"]),
    candidate(
        "54th-research-institute-of-china",
        "other",
        ["Communication, Telemetry and Telecontrol Research Institute (CTI)"],
    ),
    candidate("cetc-13", "other", ["CETC 13", "CETC Research Institute 13"]),
    candidate("ctc", "other", ["CTC Global"]),
    candidate("us-bis", "government", ["US Bureau of Industry and Security", "BIS"]),
]


def top(query: str, candidates=ENTITIES) -> Ranked:
    found = rank(query, candidates)
    assert found, f"nothing found for {query!r}"
    return found[0]


# --- the reported cases ----------------------------------------------------------------------


def test_traditional_chinese_queries_find_names_stored_in_simplified() -> None:
    assert top("曹興誠").entity == "tsao-hsing-cheng"
    assert top("曹興誠").matched == ("曹兴诚", "exact")
    assert top("黑熊學院").entity == "kuma-academy"
    assert top("洛克希德·馬丁公司").matched == ("洛克希德·马丁公司", "exact")


def test_a_query_without_the_middle_dot_finds_the_name() -> None:
    assert top("洛克希德马丁").entity == "lockheed-martin"
    assert top("洛克希德马丁").matched[1] == "core"  # `公司` left out


def test_punctuation_and_spacing_variants_are_exact_matches() -> None:
    assert top("Tsao Hsing cheng").matched == ("Tsao Hsing-cheng", "exact")
    assert top("Huawei Technologies Co Ltd").matched == ("Huawei Technologies Co., Ltd.", "exact")
    assert top("O'Bryan").entity == "obryan"
    assert top("Patrick O'Bryan").matched == ("Patrick O’Bryan", "exact")


def test_xian_without_its_apostrophe_is_a_whole_word() -> None:
    found = top("AVIC Xian")
    assert found.entity == "avic-xian"
    assert found.matched[1] == "tokens"
    assert top("AVIC Xi'an").entity == "avic-xian"


def test_huawei_ranks_the_nearer_whole_word_match_first() -> None:
    entities = [e for e in ENTITIES if e.entity != "huawei"]
    entities.append(candidate("huawei-technologies", "company", ["Huawei Technologies Co., Ltd."]))
    found = rank("Huawei", entities)
    assert [r.entity for r in found] == [
        "huawei-technologies",
        "huawei-investment-holding",
        "guian-new-district-huawei-investment",
    ]
    assert all(r.matched[1] == "tokens" for r in found)


def test_the_entity_named_huawei_comes_before_those_that_contain_the_word() -> None:
    assert [r.entity for r in rank("Huawei", ENTITIES)][:2] == [
        "huawei",
        "huawei-investment-holding",
    ]


def test_the_exact_alias_ct_comes_first() -> None:
    found = rank("CT", ENTITIES)
    assert found[0].entity == "china-telecom"
    assert found[0].matched == ("CT", "exact")
    assert "ctc" in {r.entity for r in found[1:]}  # `CTC Global`: a prefix
    assert all(r.score[0] > found[0].score[0] for r in found[1:])


# --- kinds of match, best first --------------------------------------------------------------


def test_each_kind_of_match_and_their_order() -> None:
    entities = [
        candidate("acme", "company", ["Zeta"]),
        candidate("acme-exact", "company", ["ACME"]),
        candidate("acme-core", "company", ["Acme GmbH"]),
        candidate("acme-latin", "company", ["阿克米"]),
        candidate("acme-tokens", "company", ["Acme Widgets"]),
        candidate("acme-prefix", "company", ["Acmeco Tools"]),
        candidate("acme-fuzzy", "company", ["Akme Holding"]),
    ]
    assert [(r.entity, r.matched[1]) for r in rank("acme", entities)] == [
        ("acme", "id"),
        ("acme-exact", "exact"),
        ("acme-core", "core"),
        ("acme-tokens", "tokens"),
        ("acme-prefix", "prefix"),
        ("acme-fuzzy", "fuzzy"),
    ]
    assert top("Akemy", [candidate("x", "company", ["阿克米"])]).matched[1] == "fuzzy"
    assert top("a ke mi", [candidate("x", "company", ["阿克米"])]).matched == (
        "阿克米",
        "transliteration",
    )
    assert MATCH_KINDS[0] == "id" and MATCH_KINDS[-1] == "fuzzy"


def test_a_chinese_query_finds_a_latin_name_by_transliteration() -> None:
    found = top("华为", [candidate("huawei", "company", ["Huawei"])])
    assert found.matched == ("Huawei", "transliteration")


def test_legal_forms_are_optional_for_a_whole_word_match() -> None:
    entities = [
        candidate("fujian-jinhua", "company", ["Fujian Jinhua Integrated Circuit Co., Ltd."])
    ]
    assert top("Jinhua Integrated Circuit Company", entities).matched[1] == "tokens"
    assert top("Fujian Jinhua Integrated Circuit Company Limited", entities).matched[1] == "core"


def test_the_id_is_matched_up_to_case_and_spaces() -> None:
    assert top(" US-BIS ").matched == ("us-bis", "id")


def test_fuzzy_needs_four_characters_and_stays_within_the_allowed_edits() -> None:
    assert [allowed_edits(n) for n in (3, 4, 7, 8, 12, 13)] == [0, 1, 1, 2, 2, 3]
    assert top("Huaewi").matched == ("Huawei", "fuzzy")
    assert rank("Hxxwxi", ENTITIES) == []
    assert rank("BSI", ENTITIES) == []  # three letters: no typo allowed


def test_prefix_of_a_name_and_of_its_words() -> None:
    assert top("Lockheed Mar").matched == ("Lockheed Martin Corporation", "prefix")
    assert top("Lock Mart").matched == ("Lockheed Martin Corporation", "prefix")
    assert top("洛克").matched == ("洛克希德·马丁公司", "prefix")


# --- tie-breaks ------------------------------------------------------------------------------


def test_ties_go_to_more_matching_names_then_kind_then_id() -> None:
    more_names = [
        candidate("b", "other", ["Orion Trading", "ORION-TRADING"]),
        candidate("a", "other", ["Orion Trading"]),
    ]
    assert [r.entity for r in rank("Orion Trading", more_names)] == ["b", "a"]
    by_kind = [
        candidate("a", "other", ["Orion Trading"]),
        candidate("b", "company", ["Orion Trading"]),
        candidate("c", "person", ["Orion Trading"]),
    ]
    assert [r.entity for r in rank("Orion Trading", by_kind)] == ["b", "c", "a"]
    by_id = [candidate(e, "other", ["Orion Trading"]) for e in ("c", "a", "b")]
    assert [r.entity for r in rank("Orion Trading", by_id)] == ["a", "b", "c"]


def test_the_score_is_a_tuple_of_rank_quality_names_kind_and_id() -> None:
    found = top("Huawei Technologies Co Ltd")
    assert found.score == (1, 0, -1, 0, "huawei")  # exact, one name, a company
    assert top("Huawei Technologies").score == (2, 0, -1, 0, "huawei")  # core: no legal form


# --- properties ------------------------------------------------------------------------------

_WORDS = ["Orion", "Trading", "Co.", "Ltd", "Orient", "Trade", "華為", "华为", "O’Neil", "Xi'an"]
names = st.lists(st.sampled_from(_WORDS), min_size=1, max_size=4).map(" ".join)
entity_sets = st.lists(
    st.tuples(
        st.sampled_from(["company", "person", "other"]), st.lists(names, min_size=1, max_size=3)
    ),
    min_size=1,
    max_size=8,
).map(lambda rows: [candidate(f"e{i}", kind, ns) for i, (kind, ns) in enumerate(rows)])
queries = st.one_of(names, st.sampled_from(["e1", "Orio", "Trdaing", "Oreint Trade", "x"]))


@settings(max_examples=200, deadline=None)
@given(names)
def test_a_name_always_matches_itself_exactly(name: str) -> None:
    found = rank(name, [candidate("entity", "other", [name])])
    assert found[0].matched == (name, "exact")


@settings(max_examples=200, deadline=None)
@given(entity_sets, queries)
def test_the_indexed_search_returns_what_the_reference_ranking_does(entities, query) -> None:
    assert NameIndex(entities).search(query, limit=None) == rank(query, entities)


@settings(max_examples=100, deadline=None)
@given(entity_sets, queries, st.randoms(use_true_random=False))
def test_the_order_of_the_candidates_does_not_matter(entities, query, random) -> None:
    shuffled = list(entities)
    random.shuffle(shuffled)
    assert rank(query, shuffled) == rank(query, entities)


@settings(max_examples=300, deadline=None)
@given(names, queries, st.integers(min_value=0, max_value=len(MATCH_KINDS)))
def test_a_name_tried_only_for_the_better_kinds_matches_as_when_tried_for_all(
    name: str, text: str, upto: int
) -> None:
    """`score` tries a candidate's later names only for kinds as good as the best match so far:
    that gives the same match, or none where the full match would rank no better."""
    keys = candidate("entity", "other", [name]).keys[0]
    full = match_name(query(text).keys, keys)
    tried = match_name(query(text).keys, keys, upto)
    assert tried == (full if full is not None and MATCH_KINDS.index(full[0]) < upto else None)
