"""The normalised forms of a name, for the search index and for queries alike.

A name and a query go through the same steps, so that they meet on equal keys:

1. NFKC (full-width `Ｈｕａｗｅｉ` is `huawei`, compatibility forms are folded) and case folding.
2. Apostrophes (`'` `’` `‘` `ʼ` and their kin) are dropped, joining the word: `O’Bryan` and
   `O'Bryan` are `obryan`, `Xi'an` is `xian`.
3. Diacritics are folded (`Société` is `societe`, `İ` is `i`), as are the Arabic vowel marks,
   tatweel and the hamza forms of alef (`أ` `إ` `آ` are `ا`; `ى` is `ي`; `ة` is `ه`), and the
   few Latin letters that carry no combining mark (`ø` `đ` `ł` `æ` `œ` `ı` `þ` `ð`).
4. Everything that is not a letter, digit or combining mark separates words: punctuation,
   hyphens, middle dots (`·` `・` `•`), `&`, slashes, brackets and spaces are all alike.
5. Han text is keyed in both Chinese scripts (character by character, see `scripts`): the
   simplified and the traditional spelling of a name give the same keys.

Legal forms (`Co., Ltd.`, `Company Limited`, `GmbH`, `OOO`, `有限公司`, ...) at either end of a
name are recognised by rigour's organisation-type table, plus `LEGAL_WORDS` (generic English
words that table does not take alone) and `HAN_LEGAL_SUFFIXES`; the `core` keys leave them out,
so that they are never required to match. A name that is nothing but legal forms keeps them.

Non-Latin names (Han, Arabic, Cyrillic, Hangul, ...) also get a Latin transliteration key
(`rigour.text.translit.ascii_text`: ICU's transforms, pinyin for Han), lossy and therefore a
key of its own. A Han name with a province or city word after its place name (`福建省晋华`,
`深圳市大疆`) gets a second one without it: the romanised name leaves it out (`Fujian Jinhua`,
not `Fujian Sheng Jinhua`).
"""

from __future__ import annotations

import functools
import re
import unicodedata

import msgspec
from rigour.names.org_types import remove_org_types
from rigour.text.translit import ascii_text

from projections.names.scripts import HAN_CLASS as _HAN_CLASS
from projections.names.scripts import is_han, to_hans, to_hant

__all__ = [
    "HAN_LEGAL_SUFFIXES",
    "LEGAL_WORDS",
    "NameKeys",
    "compact",
    "is_legal_form",
    "name_keys",
    "normalise",
]

# Generic English company words that rigour's table does not remove on their own (it takes
# `co ltd`, `limited`, `inc`, `llc`, `gmbh`, ... but not `co` or `corporation`, which also
# occur inside names). Here they count as legal forms only at either end of a name.
LEGAL_WORDS: frozenset[str] = frozenset(
    {"co", "company", "companies", "corp", "corporation", "incorporated", "inc", "limited"}
)
# Chinese legal forms, in both scripts, longest first. `公司` is "company": `洛克希德·馬丁公司` is
# `洛克希德马丁` without it.
_HAN_LEGAL_HANS = ("股份有限公司", "有限责任公司", "有限公司", "株式会社", "公司")
HAN_LEGAL_SUFFIXES: tuple[str, ...] = tuple(
    sorted(
        {*_HAN_LEGAL_HANS, *(to_hant(suffix, variants=False) for suffix in _HAN_LEGAL_HANS)},
        key=lambda suffix: (-len(suffix), suffix),
    )
)

# Province, city and autonomous-region words (simplified script: the transliteration is taken
# of the simplified form), after a place name of two characters or more.
_HAN_PLACE_WORDS = re.compile(f"(?<={_HAN_CLASS}{{2}})(?:自治区|省|市)")
_APOSTROPHES = re.compile("['’‘ʼʹʻ`´′＇]")
_HYPHENS = re.compile(r"[\-‐‑‒–—―﹣－]")
# Combining diacritics (Latin, Greek, Cyrillic) and Arabic vowel marks, dropped after NFKD.
_MARKS = re.compile(
    "[\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f"
    "\u0610-\u061a\u064b-\u065f\u0670\u06d6-\u06dc\u06df-\u06e8\u06ea-\u06ed\u0640]"
)
_LETTERS = str.maketrans(
    {
        "ø": "o",
        "đ": "d",
        "ł": "l",
        "æ": "ae",
        "œ": "oe",
        "ı": "i",
        "þ": "th",
        "ð": "d",
        "ħ": "h",
        "ŧ": "t",
        "أ": "ا",
        "إ": "ا",
        "آ": "ا",
        "ٱ": "ا",
        "ى": "ي",
        "ة": "ه",
    }
)


class NameKeys(msgspec.Struct, frozen=True, kw_only=True):
    """The keys of one name (or one query). Every key is lowercase and has no separator;
    Han keys come in both scripts.

    - `exact`: the whole name with all separators removed (`huaweitechnologiescoltd`). Equal
      `exact` keys mean the same name up to case, punctuation, spacing, diacritics and script.
    - `core`: the same without the legal forms at either end (`huaweitechnologies`); equal to
      `exact` when the name has none.
    - `tokens`: the words of the name, legal forms included, for whole-word and prefix
      matches: its words split at every separator, plus the words whose apostrophes were
      dropped (`xian`) and hyphenated words joined (`hsingcheng`). A run of Han characters
      is one word.
    - `core_tokens`: the words of the core name, apostrophes dropped and split at hyphens:
      what a query requires of a name for a whole-word match.
    - `latin`: for a name with non-Latin letters, the `exact` and `core` keys of its ASCII
      transliteration (`曹興誠` -> `caoxingcheng`), and for a Han name with a province or
      city word after its place name the same without that word (`福建省晋华` ->
      `fujianshengjinhua` and `fujianjinhua`); empty for a Latin name.
    """

    exact: frozenset[str]
    core: frozenset[str]
    tokens: frozenset[str]
    core_tokens: frozenset[str]
    latin: frozenset[str] = frozenset()


def _fold(text: str) -> str:
    """Steps 1 to 3: NFKC, case folding, apostrophes dropped, diacritics folded."""
    text = unicodedata.normalize("NFKC", text).casefold()
    text = _APOSTROPHES.sub("", text)
    text = _MARKS.sub("", unicodedata.normalize("NFKD", text))
    return unicodedata.normalize("NFC", text).translate(_LETTERS)


def _mark_ranges() -> str:
    """A regex class body of every combining mark (categories Mn, Mc, Me) in planes 0, 1 and
    14, built once from `unicodedata` so that it follows the Python's Unicode version."""
    ranges: list[tuple[int, int]] = []
    for code in (*range(0x20000), *range(0xE0000, 0xE1000)):
        if unicodedata.category(chr(code)).startswith("M"):
            if ranges and ranges[-1][1] == code - 1:
                ranges[-1] = (ranges[-1][0], code)
            else:
                ranges.append((code, code))
    return "".join(f"{re.escape(chr(a))}-{re.escape(chr(b))}" for a, b in ranges)


# A word: letters, digits and combining marks; everything else separates.
_WORD = re.compile(f"(?:[^\\W_]|[{_mark_ranges()}])+")
_HAN_RUN = re.compile(f"{_HAN_CLASS}+|[^{_HAN_CLASS[1:-1]}]+")


def _words(text: str) -> list[str]:
    """Step 4 on folded text: letters, digits and marks; everything else separates, and so
    does a change between Han and other letters (`SK海力士` is `sk` `海力士`)."""
    out: list[str] = []
    for word in _WORD.findall(text):
        if is_han(word):
            out.extend(_HAN_RUN.findall(word))
        else:
            out.append(word)
    return out


def normalise(text: str) -> str:
    """A name as compared: folded (steps 1 to 4), words joined by one space, in the text's
    own script. `normalise(normalise(x)) == normalise(x)`."""
    return " ".join(_words(_fold(text)))


def compact(text: str) -> str:
    """The exact key of a text: `normalise` without the spaces."""
    return "".join(_words(_fold(text)))


@functools.lru_cache(maxsize=4096)
def is_legal_form(phrase: str) -> bool:
    """Whether a normalised phrase (`co ltd`, `n v`, `company`) is a legal form as a whole."""
    if phrase in LEGAL_WORDS:
        return True
    if not remove_org_types(phrase).strip():
        return True
    joined = phrase.replace(" ", "")
    return joined != phrase and not remove_org_types(joined).strip()


def _strip_legal_han(words: list[str]) -> list[str]:
    """Han legal forms closing the last word, or standing as the last word of several."""
    words = list(words)
    while words and is_han(words[-1]):
        last = words[-1]
        if last in HAN_LEGAL_SUFFIXES and len(words) > 1:
            words.pop()
            continue
        suffix = next((s for s in HAN_LEGAL_SUFFIXES if last.endswith(s) and last != s), None)
        if suffix is None:
            break
        words[-1] = last[: -len(suffix)]
    return words


def _core_words(words: list[str]) -> list[str]:
    """The words without the legal forms at either end (up to four words a form); the
    words themselves when nothing else would be left."""
    start, end = 0, len(words)
    changed = True
    while changed and end - start > 1:
        changed = False
        for size in (4, 3, 2, 1):
            if end - start > size and is_legal_form(" ".join(words[end - size : end])):
                end -= size
                changed = True
                break
            if end - start > size and is_legal_form(" ".join(words[start : start + size])):
                start += size
                changed = True
                break
    return _strip_legal_han(words[start:end])


@functools.lru_cache(maxsize=65536)
def _ascii(piece: str) -> str:
    return ascii_text(piece)


def _transliterate(text: str) -> str:
    """The ASCII key of a folded text, transliterated word by word and Han character by
    character, each piece cached: ICU's transforms cost up to milliseconds a call, and names
    share their words. ICU's Han transform gives each character its one reading whatever its
    neighbours (`银行` is `yin xing`), so going character by character changes nothing."""
    pieces: list[str] = []
    for word in _words(text):
        pieces.extend(word if is_han(word) else (word,))
    return compact(" ".join(_ascii(piece) for piece in pieces))


def name_keys(name: str) -> NameKeys:
    """The keys of a name or a query (see `NameKeys`). Pure and deterministic."""
    folded = _fold(name)
    split = _HYPHENS.sub(" ", folded)
    scripts = (to_hans(split, variants=False), to_hant(split, variants=False))
    forms = scripts if is_han(split) else (split,)
    exact: set[str] = set()
    core: set[str] = set()
    tokens: set[str] = set()
    core_tokens: set[str] = set()
    latin: set[str] = set()
    for form in forms:
        words = _words(form)
        core_words = _core_words(words)
        exact.add("".join(words))
        core.add("".join(core_words))
        tokens.update(words)
        tokens.update(core_words)
        core_tokens.update(core_words)
    # Index-only words: apostrophe-split parts and hyphen-joined compounds.
    apostrophes_split = _APOSTROPHES.sub(" ", unicodedata.normalize("NFKC", name).casefold())
    for variant in {_fold(apostrophes_split), _HYPHENS.sub("", folded)}:
        for form in {to_hans(variant, variants=False), to_hant(variant, variants=False)}:
            tokens.update(_words(form))
    if not "".join(exact).isascii():
        for base in {forms[0], _HAN_PLACE_WORDS.sub("", forms[0])}:
            latin.add(_transliterate(base))
            latin.add(_transliterate(" ".join(_core_words(_words(base)))))
        latin.discard("")
    exact.discard("")
    core.discard("")
    return NameKeys(
        exact=frozenset(exact),
        core=frozenset(core),
        tokens=frozenset(tokens),
        core_tokens=frozenset(core_tokens),
        latin=frozenset(latin),
    )
