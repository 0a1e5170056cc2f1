"""`events.check_text` refuses an event exactly when one of its texts, in any field or key,
holds a character no event may store (NUL, a control character other than tab and newline, a
lone surrogate), and names the field that holds it; its quick search of the event's JSON never
lets one through."""

from __future__ import annotations

from typing import Any

import msgspec
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from events import AnyEvent, EventInvalid
from events.codec import check_text, dec_hook

TEXT = st.one_of(
    st.text(st.characters(blacklist_categories=()), max_size=8),
    st.text(
        st.sampled_from("\x00\x01\x08\t\n\x0b\x0c\r\x1f\x7f\x80\x85\x9f\xa0\\bfru0aZ中"), max_size=6
    ),
    st.sampled_from(["\ud800", "a\udfffb", "\\u0000", "\\b", "C:\\rules", "\u2028", "\ufeff"]),
)
SLOTS = ("names.en", "aliases", "identifiers.key", "identifiers.value", "title", "url")


def _forbidden(char: str) -> bool:
    code = ord(char)
    return (code < 0x20 and char not in "\t\n") or 0x7F <= code <= 0x9F or 0xD800 <= code <= 0xDFFF


def _texts(value: Any) -> list[str]:
    """Every string of the event's builtins form, keys included: an oracle of its own."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [t for k, v in value.items() for t in (*_texts(k), *_texts(v))]
    if isinstance(value, (list, tuple)):
        return [t for v in value for t in _texts(v)]
    return []


def _registration(slot: str, text: str) -> AnyEvent:
    raw: dict[str, Any] = {
        "type": "EntityRegistered",
        "entity": "ymtc",
        "occurred": "2016-07",
        "kind": "company",
        "names": {"en": "YMTC"},
        "aliases": ["Yangtze Memory"],
        "identifiers": {"uscc": "91420100MA4KLY0F7U"},
        "sources": [{"url": "https://example.org/", "title": "A source"}],
    }
    if slot == "names.en":
        raw["names"] = {"en": text}
    elif slot == "aliases":
        raw["aliases"] = ["Yangtze Memory", text]
    elif slot == "identifiers.key":
        raw["identifiers"] = {text: "x"}
    elif slot == "identifiers.value":
        raw["identifiers"] = {"uscc": text}
    else:
        raw["sources"] = [{**raw["sources"][0], slot: text}]
    try:
        return msgspec.convert(raw, AnyEvent, dec_hook=dec_hook)
    except msgspec.ValidationError:  # a text the field's type refuses (blank, too long)
        assume(False)
        raise


@settings(max_examples=500, deadline=None)
@given(slot=st.sampled_from(SLOTS), text=TEXT)
def test_an_event_is_refused_exactly_when_a_text_holds_a_forbidden_character(
    slot: str, text: str
) -> None:
    event = _registration(slot, text)
    bad = any(_forbidden(c) for t in _texts(msgspec.to_builtins(event, enc_hook=str)) for c in t)
    if not bad:
        check_text(event)
        return
    with pytest.raises(EventInvalid) as refused:
        check_text(event)
    named = refused.value.field
    assert named.split(".")[0].split("[")[0] == slot.split(".")[0].replace("title", "sources")
    if slot in ("title", "url"):
        assert named == f"sources[0].{slot}"
