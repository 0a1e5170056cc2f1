"""The keys of a name: each reported case with its real strings, each normalisation rule, and
properties that hold for any text (projections/names/keys.py, scripts.py)."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from rigour.text.translit import ascii_text

from projections.names.keys import NameKeys, compact, is_legal_form, name_keys, normalise
from projections.names.scripts import is_han, to_hans, to_hant

SEED = Path(__file__).resolve().parents[2] / "service" / "ingest" / "seed" / "organisations.toml"


def meet(a: str, b: str, key: str = "exact") -> bool:
    """Whether two texts share a key of the given kind."""
    return bool(getattr(name_keys(a), key) & getattr(name_keys(b), key))


# --- the reported cases ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("stored", "typed"),
    [
        ("曹兴诚", "曹興誠"),
        ("黑熊学院", "黑熊學院"),
        ("洛克希德·马丁公司", "洛克希德·馬丁公司"),
    ],
)
def test_traditional_query_meets_simplified_name(stored: str, typed: str) -> None:
    assert meet(stored, typed)
    assert meet(typed, stored)


def test_middle_dot_left_out_still_meets_the_name() -> None:
    assert meet("洛克希德·马丁", "洛克希德马丁")
    # `公司` is a legal form: without it the query meets the full name on its core key.
    assert meet("洛克希德·馬丁公司", "洛克希德马丁", "core")
    assert not meet("洛克希德·馬丁公司", "洛克希德马丁", "exact")


@pytest.mark.parametrize(
    ("stored", "typed"),
    [
        ("Tsao Hsing-cheng", "Tsao Hsing cheng"),
        ("Huawei Technologies Co., Ltd.", "Huawei Technologies Co Ltd"),
        ("O’Bryan", "O'Bryan"),
        ("AVIC Xi'an", "AVIC Xian"),
        ("AVIC Xi’an", "AVIC Xian"),
    ],
)
def test_punctuation_variants_meet_exactly(stored: str, typed: str) -> None:
    assert meet(stored, typed)


def test_xian_is_a_whole_word_of_a_longer_name_with_an_apostrophe() -> None:
    keys = name_keys("AVIC Xi’an Aircraft Industry Group Co., Ltd.")
    assert {"avic", "xian"} <= keys.tokens
    assert name_keys("AVIC Xian").core_tokens <= keys.tokens


# --- each rule -------------------------------------------------------------------------------


def test_full_width_letters_and_case_fold() -> None:
    assert name_keys("Ｈｕａｗｅｉ").exact == {"huawei"}
    assert name_keys("HUAWEI").exact == name_keys("huawei").exact == {"huawei"}
    assert normalise("STRASSE Straße") == "strasse strasse"


def test_diacritics_fold() -> None:
    assert normalise("Société Générale") == "societe generale"
    assert normalise("JÉRÔME KAKWAVU") == "jerome kakwavu"
    assert normalise("Øresund Łódź İstanbul") == "oresund lodz istanbul"


@pytest.mark.parametrize("separator", [" ", "-", "·", "・", "•", "/", ".", ",", "&", "(", "_"])
def test_separators_are_alike(separator: str) -> None:
    assert normalise(f"Alpha{separator}Beta") == "alpha beta"
    assert compact(f"Alpha{separator}Beta") == "alphabeta"


@pytest.mark.parametrize("apostrophe", ["'", "’", "‘", "ʼ", "`", "＇"])
def test_apostrophes_join_the_word(apostrophe: str) -> None:
    keys = name_keys(f"O{apostrophe}Bryan")
    assert keys.exact == {"obryan"}
    assert keys.core_tokens == {"obryan"}
    assert {"o", "bryan"} <= keys.tokens  # the parts are indexed too


def test_hyphenated_words_are_split_and_also_indexed_joined() -> None:
    keys = name_keys("Tsao Hsing-cheng")
    assert keys.core_tokens == {"tsao", "hsing", "cheng"}
    assert "hsingcheng" in keys.tokens


@pytest.mark.parametrize(
    "spelling",
    [
        "Huawei Technologies Co., Ltd.",
        "Huawei Technologies Co Ltd",
        "Huawei Technologies Company Limited",
        "HUAWEI TECHNOLOGIES CO. LTD",
        "Huawei Technologies",
    ],
)
def test_legal_forms_are_left_out_of_the_core(spelling: str) -> None:
    keys = name_keys(spelling)
    assert keys.core == {"huaweitechnologies"}
    assert keys.core_tokens == {"huawei", "technologies"}


def test_legal_forms_at_the_start_and_in_chinese() -> None:
    assert name_keys("OOO Romashka").core == {"romashka"}
    assert name_keys("ZTE Corporation").core == {"zte"}
    assert name_keys("ASML Holding N.V.").core == {"asmlholding"}
    assert name_keys("华为技术有限公司").core == {"华为技术", "華爲技術"}
    assert name_keys("長江存儲科技有限責任公司").core == {"长江存储科技", "長江存儲科技"}
    assert name_keys("中微半导体设备（上海）股份有限公司").core_tokens >= {"中微半导体设备", "上海"}


def test_legal_forms_inside_a_name_stay() -> None:
    assert name_keys("China Electronics Technology Group Corp. 54th Research Institute").core == {
        "chinaelectronicstechnologygroupcorp54thresearchinstitute"
    }


def test_a_name_of_legal_forms_only_keeps_a_core() -> None:
    assert name_keys("Company Limited").core
    assert name_keys("公司").core == {"公司"}
    assert is_legal_form("co ltd") and is_legal_form("company") and not is_legal_form("huawei")


def test_arabic_hamza_and_ta_marbuta_as_commonly_typed() -> None:
    assert meet("أسامة بن لادن", "اسامه بن لادن")
    assert meet("عزت إبراهيم الدوري", "عزت ابراهيم الدوري")


def test_non_latin_names_get_a_latin_key() -> None:
    assert "caoxingcheng" in name_keys("曹興誠").latin
    assert "romashka" in name_keys("Ромашка").latin
    assert name_keys("김정은").latin  # Hangul, transliterated
    assert name_keys("القاعدة").latin
    assert name_keys("Huawei").latin == frozenset()


@pytest.mark.parametrize(
    ("name", "romanised"),
    [
        ("福建省晋华集成电路有限公司", "fujianjinhuajichengdianlu"),  # province
        ("福建省晉華集成電路有限公司", "fujianjinhuajichengdianlu"),  # the same, traditional
        ("深圳市大疆创新科技有限公司", "shenzhendajiangchuangxinkeji"),  # city
        ("新疆维吾尔自治区公安厅", "xinjiangweiwuergonganting"),  # autonomous region
    ],
)
def test_a_han_name_is_also_transliterated_without_its_province_or_city_word(
    name: str, romanised: str
) -> None:
    keys = name_keys(name)
    assert romanised in keys.latin
    assert compact(ascii_text(normalise(name))) in keys.latin  # the whole one stays
    assert romanised in name_keys(romanised.title()).exact  # what a romanised query types


def test_a_province_or_city_character_after_one_character_is_part_of_a_word() -> None:
    assert name_keys("城市").latin == frozenset({"chengshi"})
    assert name_keys("省").latin == frozenset({"sheng"})


def test_han_and_latin_letters_are_separate_words() -> None:
    assert {"sk", "海力士"} <= name_keys("SK海力士").tokens


def test_keys_are_deterministic_and_one_per_script() -> None:
    keys = name_keys("華為技術有限公司")
    assert keys == name_keys("華為技術有限公司")
    assert isinstance(keys, NameKeys)
    assert len(keys.exact) == 2  # one per Chinese script


# --- scripts ---------------------------------------------------------------------------------


def test_display_conversion_keeps_words_and_names_and_uses_taiwan_variants() -> None:
    # Character conversion, not phrase tables: a name stays the same name in the other script.
    assert to_hant("长江存储") == "長江存儲"
    assert to_hant("软件") == "軟件"
    assert to_hans("軟體") == "软体"
    assert to_hant("着") == "著"  # Taiwan's variant for display
    assert to_hant("着", variants=False) == "着"  # OpenCC's standard form for keys


def test_is_han() -> None:
    assert is_han("曹興誠") and is_han("SK海力士") and is_han("𠀀")
    assert not is_han("Huawei") and not is_han("김정은") and not is_han("")


def test_text_without_han_is_not_converted() -> None:
    assert to_hant("Huawei, Inc.") == "Huawei, Inc."
    assert to_hans("Ромашка") == "Ромашка"


def _simplified_test_names() -> list[str]:
    data = tomllib.loads(SEED.read_text("utf-8"))
    names = ["曹兴诚", "黑熊学院", "洛克希德·马丁公司", "洛克希德马丁"]
    names += [e["names"]["zh-Hans"] for e in data["entity"] if is_han(e["names"]["zh-Hans"])]
    return names


@pytest.mark.parametrize("name", _simplified_test_names())
def test_simplified_to_traditional_and_back_round_trips(name: str) -> None:
    assert to_hans(to_hant(name, variants=False), variants=False) == name
    assert meet(name, to_hant(name, variants=False))


def test_display_never_renames_a_company_and_both_scripts_meet() -> None:
    # Taiwan's phrase tables would show Nvidia as 輝達, another name: display does not use them.
    assert to_hant("英伟达") == "英偉達"
    assert to_hant("英伟达", variants=False) == "英偉達"
    assert meet("英伟达", "英偉達")


# --- properties ------------------------------------------------------------------------------

_LETTERS = "abcxyzABCXYZéÉüßøı0123华为曹兴诚黑熊学院華為興誠學محمدأةРомаш김정"
_SEPARATORS = " -·・•.,'’()&/"
texts = st.text(alphabet=_LETTERS + _SEPARATORS, max_size=30)
words = st.lists(st.text(alphabet=_LETTERS, min_size=1, max_size=8), min_size=1, max_size=5)


@settings(max_examples=300, deadline=None)
@given(texts)
def test_normalise_is_idempotent(text: str) -> None:
    assert normalise(normalise(text)) == normalise(text)
    assert compact(compact(text)) == compact(text)


@settings(max_examples=300, deadline=None)
@given(texts)
def test_keys_are_idempotent_under_renormalising(text: str) -> None:
    keys, again = name_keys(text), name_keys(normalise(text))
    assert again.exact == keys.exact
    assert again.core == keys.core
    assert again.core_tokens == keys.core_tokens
    assert again.latin == keys.latin
    assert again.tokens <= keys.tokens  # the original also indexes apostrophe/hyphen variants
    for key in keys.exact | keys.core:
        assert compact(key) == key


@settings(max_examples=300, deadline=None)
@given(words, st.data())
def test_punctuation_spacing_and_case_never_break_an_exact_match(
    parts: list[str], data: st.DataObject
) -> None:
    plain = " ".join(parts)
    separators = data.draw(
        st.lists(
            st.text(alphabet=" -·・•.,()&/", min_size=1, max_size=3),
            min_size=len(parts) - 1,
            max_size=len(parts) - 1,
        )
    )
    typed = parts[0] + "".join(sep + part for sep, part in zip(separators, parts[1:], strict=True))
    typed = data.draw(st.sampled_from([typed, typed.upper(), typed.lower(), typed.title()]))
    assert name_keys(plain).exact & name_keys(typed).exact


@pytest.mark.parametrize("name", _simplified_test_names())
def test_the_latin_key_of_a_han_name_is_its_whole_transliteration(name: str) -> None:
    # Keys transliterate character by character (cached); ICU on the whole name agrees.
    assert compact(ascii_text(normalise(name))) in name_keys(name).latin
