"""No simplified-only character on a zh-Hant page, no traditional-only one on a zh-Hans page:
over every seeded event (headline and text as the widget shows them), every entity name and
every UI word. OpenCC decides, in context (phrase tables resolve characters both scripts use,
such as 著 in 著名 or 後/后 in 皇后): a character that `t2s` changes is traditional-only, one
that `s2tw` (simplified to traditional, Taiwan's standard forms: 峰 and 核 stay) changes is
simplified-only. Exempt, as characters both scripts use that OpenCC rewrites anyway: 台
(`s2tw` writes 臺; 台 is Taiwan's usual form) and 昇 (`t2s` writes 升; 昇 is a standard
simplified character in names, Huawei's 昇腾)."""

from __future__ import annotations

import functools

import opencc
import pytest
from hypothesis import given
from hypothesis import strategies as st

from projections.names.scripts import to_hans, to_hant
from projections.present.headlines import headline, localized
from projections.present.words import LANGUAGES, TYPE_GROUPS, TYPE_NAMES, type_groups, words
from service.ingest.seed import load_seed_events, seed_registrations

SHARED = frozenset("台昇")


@functools.cache
def _convert(config: str) -> opencc.OpenCC:
    return opencc.OpenCC(config)


def wrong_script(text: str, lang: str) -> list[str]:
    """The characters of `text` that belong to the other script than `lang`'s."""
    config = "s2tw" if lang == "zh-Hant" else "t2s"
    converted = _convert(config).convert(text)
    assert len(converted) == len(text), "character conversion keeps the length"
    return [a for a, b in zip(text, converted, strict=True) if a != b and a not in SHARED]


def _names() -> dict[str, dict[str, str]]:
    return {entity: dict(event.names) for entity, event in seed_registrations().items()}


def test_the_check_flags_each_script_on_the_other_page_and_spares_shared_characters() -> None:
    assert wrong_script("长江存儲", "zh-Hant") == ["长"]
    assert wrong_script("长江存儲", "zh-Hans") == ["儲"]
    assert wrong_script("著名的皇后在台灣", "zh-Hant") == []
    assert wrong_script("著名的皇后在台湾", "zh-Hans") == []


@pytest.mark.parametrize("lang", ["zh-Hans", "zh-Hant"])
def test_every_seeded_event_reads_in_one_script(lang: str) -> None:
    names = _names()
    found = {}
    for event in load_seed_events():
        for text in (headline(event, lang, names), localized(event.text, lang) or ""):
            wrong = wrong_script(text, lang)
            if wrong:
                found[text] = wrong
    assert not found, found


@pytest.mark.parametrize("lang", ["zh-Hans", "zh-Hant"])
def test_every_entity_name_reads_in_one_script(lang: str) -> None:
    found = {}
    for entity, names in _names().items():
        name = localized(names, lang) or entity
        if wrong_script(name, lang):
            found[entity] = name
    assert not found, found


@pytest.mark.parametrize("lang", ["zh-Hans", "zh-Hant"])
def test_every_ui_word_and_event_type_reads_in_one_script(lang: str) -> None:
    texts = list(words(lang).values())
    for group, members in type_groups(lang):
        texts += [group, *(label for _, label in members)]
    # The builder's search hint names an entity in both scripts on purpose (search works in
    # any script); every other word is in the page's own.
    texts.remove(words(lang)["b_search"])
    found = {t: wrong_script(t, lang) for t in texts if wrong_script(t, lang)}
    assert not found, found


def test_zh_hant_words_use_taiwan_forms_and_quotes() -> None:
    hant = " ".join(words("zh-Hant").values())
    for mainland in ("时间线", "時間線", "記錄", "信息", "默认", "“", "”"):
        assert mainland not in hant, mainland


def test_every_event_type_has_a_readers_name_and_exactly_one_group() -> None:
    grouped = [tag for _, tags in TYPE_GROUPS for tag in tags]
    assert sorted(grouped) == sorted(TYPE_NAMES) and len(grouped) == len(set(grouped))
    for lang in LANGUAGES:
        labels = [label for _, members in type_groups(lang) for _, label in members]
        assert len(set(labels)) == len(labels), "labels tell types apart"


CJK = st.characters(min_codepoint=0x4E00, max_codepoint=0x9FFF)


# Characters OpenCC's own tables convert in a chain, so a second conversion of a converted
# text moves them again: 薴 → 苧 → 苎 and 麼/麽 → 么 → 幺 (simplified),
# 幺 → 么 → 麼 and 苎 → 苧 → 薴 (traditional). Taiwan text reads 么 as a variant of 幺, so
# 什么 converted again would say 什幺: the service converts a text once, from the script it
# is written in, never its own output.
CHAINED_TO_HANS = frozenset("薴麼麽")
CHAINED_TO_HANT = frozenset("幺苎")


@given(st.text(CJK, max_size=30))
def test_converting_twice_changes_nothing_more_where_no_phrase_applies(text: str) -> None:
    """OpenCC converts a phrase it knows in context: 丰仪 is 丰儀, where 丰 alone is 豐, so its
    output converted again reads the characters alone (丰儀 -> 豐儀). The service converts a
    text once, from the script it is written in; a text converted character by character (no
    phrase applied) reaches its fixed point at once."""
    once = to_hant(text)
    if not CHAINED_TO_HANT & set(text) and once == "".join(map(to_hant, text)):
        assert to_hant(once) == once
    once = to_hans(text)
    if not CHAINED_TO_HANS & set(text) and once == "".join(map(to_hans, text)):
        assert to_hans(once) == once


def test_a_phrase_converts_in_context_once() -> None:
    assert to_hant("丰仪") == "丰儀" and to_hant("丰") == "豐"
    assert to_hans(to_hant("丰仪")) == "丰仪"


def test_the_chained_characters_are_all_there_are() -> None:
    """Every CJK character but those listed converts to a fixed point at once, so the property
    above leaves nothing else out (and a new OpenCC table with another chain fails here)."""
    for code in range(0x4E00, 0xA000):
        char = chr(code)
        if char not in CHAINED_TO_HANS:
            assert to_hans(to_hans(char)) == to_hans(char), char
        if char not in CHAINED_TO_HANT:
            assert to_hant(to_hant(char)) == to_hant(char), char


@given(st.text(CJK, max_size=30))
def test_simplified_from_conversion_has_no_traditional_only_character(text: str) -> None:
    assert wrong_script(to_hans(text), "zh-Hans") == []


def test_seeded_zh_hant_texts_use_taiwan_quotes_and_wording() -> None:
    found = []
    for event in load_seed_events():
        texts = [event.text.get("zh-Hant", ""), event.headline.get("zh-Hant", "")]
        for text in texts:
            for trace in ("“", "”", "‘", "’", "系推斷", "運營者", "光刻", "此資料更正"):
                if trace in text:
                    found.append((trace, text))
    assert not found, found
