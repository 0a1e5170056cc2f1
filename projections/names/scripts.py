"""Simplified and traditional Chinese: the one place that converts between the two scripts.

Two uses, two kinds of conversion (OpenCC's own configurations):

- display (`phrases=True`, the default): Taiwan standard with its phrasing, `s2twp` / `tw2sp`
  (`软件` <-> `軟體`), for text shown in zh-Hant or zh-Hans;
- matching keys (`phrases=False`): character by character, `s2t` / `t2s`, so that a name and
  its other-script spelling meet on one key without a phrase table rewriting words.

Text without a Han ideograph is returned unchanged, without calling OpenCC.
"""

from __future__ import annotations

import functools
import re

import opencc

__all__ = ["is_han", "to_hans", "to_hant"]

# CJK Unified Ideographs with extensions A to H, and the compatibility ideographs.
HAN_CLASS = (
    "[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0002a6df\U0002a700-\U0002ebef"
    "\U0002f800-\U0002fa1f\U00030000-\U000323af]"
)
_HAN = re.compile(HAN_CLASS)


def is_han(text: str) -> bool:
    """Whether the text has at least one Han ideograph (simplified, traditional or shared)."""
    return _HAN.search(text) is not None


@functools.cache
def _converter(config: str) -> opencc.OpenCC:
    return opencc.OpenCC(config)


def to_hant(text: str, *, variants: bool = True) -> str:
    """The text in traditional Chinese: with Taiwan's character variants for display, or plain
    (`variants=False`) for matching keys. Non-Han characters are kept as they are."""
    if not is_han(text):
        return text
    return _converter("s2tw" if variants else "s2t").convert(text)


def to_hans(text: str, *, variants: bool = True) -> str:
    """The text in simplified Chinese: from Taiwan's character variants for display, or plain
    (`variants=False`) for matching keys. Non-Han characters are kept as they are."""
    if not is_han(text):
        return text
    return _converter("tw2s" if variants else "t2s").convert(text)
