"""Chinese in one script written in the other, with OpenCC.

`to_hant` writes simplified Chinese in traditional characters as used in Taiwan, `to_hans`
traditional Chinese in simplified characters. They are for names and texts that exist in one
script only: a page in the other script shows them converted instead of mixing scripts.

Character conversion with Taiwan variants (`s2tw`, `tw2s`), not OpenCC's phrase conversion
(`s2twp`, `tw2sp`): the phrase tables replace mainland vocabulary with Taiwan's, which is right
for prose but rewrites proper names (`长江存储`, YMTC's name, would become `長江儲存`, a
different name). Pure: no I/O; the converters are built once.
"""

from __future__ import annotations

import functools

import opencc


@functools.cache
def _converter(config: str) -> opencc.OpenCC:
    return opencc.OpenCC(config)


def to_hant(text: str) -> str:
    """`text` (simplified Chinese) in traditional characters, Taiwan variants."""
    return _converter("s2tw").convert(text)


def to_hans(text: str) -> str:
    """`text` (traditional Chinese) in simplified characters."""
    return _converter("tw2s").convert(text)
