"""The writing systems a name is written in, from the Unicode names of its letters.

Lists give names in several scripts (an alias in Arabic, in Chinese characters, or in Latin
letters with the original script in brackets) without saying which. `writing_systems` names
them: the first word of each letter's Unicode name (`ARABIC LETTER ALEF` is Arabic,
`CYRILLIC SMALL LETTER A` is Cyrillic), `CJK` ideographs as Han. Letters that belong to no
script of their own (`MODIFIER LETTER APOSTROPHE`, `MASCULINE ORDINAL INDICATOR`) are left out;
so are digits, punctuation and spaces.
"""

from __future__ import annotations

import functools
import re
import unicodedata

_RENAMED = {"CJK": "Han"}
_WIDTH_PREFIXES = frozenset({"FULLWIDTH", "HALFWIDTH"})
_ASCII_LETTER = re.compile("[A-Za-z]")
_NO_SCRIPT = frozenset({"MODIFIER", "MASCULINE", "FEMININE", "MATHEMATICAL", "SUPERSCRIPT"})


def writing_systems(text: str) -> tuple[str, ...]:
    """The scripts of `text`'s letters, sorted: `("Arabic", "Latin")`; `()` if it has none."""
    if text.isascii():  # most names of most lists: the only ASCII letters are Latin ones
        return ("Latin",) if _ASCII_LETTER.search(text) else ()
    found = {_script_of(char) for char in set(text)}
    found.discard(None)
    return tuple(sorted(found))  # type: ignore[type-var]


@functools.lru_cache(maxsize=8192)
def _script_of(char: str) -> str | None:
    """The script of one character, None for a non-letter or a letter of no script. Cached:
    a list's names repeat a few hundred distinct characters, and looking one up (its Unicode
    name, split into words) was most of the cost of reading the UN list."""
    if not unicodedata.category(char).startswith("L"):
        return None
    words = unicodedata.name(char, "").split()
    if words and words[0] in _WIDTH_PREFIXES:
        words = words[1:]
    if not words or words[0] in _NO_SCRIPT:
        return None
    return _RENAMED.get(words[0], words[0].title())
