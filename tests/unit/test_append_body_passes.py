"""The append body's fast passes answer as the exact ones: `scan` (the C parser, with the
exact token pass only for a body at fault) as `scan_tokens`; and a body whose JSON text
`json_texts_are_storable` clears holds no text `text_fault` refuses."""

from __future__ import annotations

import json

import msgspec
from hypothesis import given, settings
from hypothesis import strategies as st

from events.body import BodyMalformed, scan, scan_tokens
from events.codec import json_texts_are_storable, text_fault

KEYS = st.sampled_from(["type", "events", "a", "b", "é", "a\\u0062", '\\"', "x y"])
SCALARS = st.sampled_from(["1", "-2.5e3", "true", "false", "null", '"s"', '"\\u00e9"', '"[{"'])
SPACE = st.sampled_from(["", " ", "\n", "\t", "\r\n"])


def _object(children: list[tuple[str, str]]) -> str:
    return "{" + ",".join(f'"{key}":{value}' for key, value in children) + "}"


def _array(children: list[str]) -> str:
    return "[" + ",".join(children) + "]"


JSON_TEXT = st.recursive(
    SCALARS,
    lambda inner: st.one_of(
        st.lists(st.tuples(KEYS, inner), max_size=4).map(_object),
        st.lists(inner, max_size=4).map(_array),
    ),
    max_leaves=30,
)


def _deep(depth: int, kind: str) -> str:
    if kind == "[":
        return "[" * depth + "]" * depth
    return '{"a":' * depth + "1" + "}" * depth


def outcome(pass_, body: bytes) -> object:
    try:
        return ("keys", pass_(body))
    except BodyMalformed as exc:
        return ("refused", exc.detail, exc.field)


@settings(max_examples=400)
@given(JSON_TEXT, SPACE, st.sampled_from(["", "", "x", "}", ",", "]"]))
def test_scan_answers_as_the_token_pass(document: str, space: str, tail: str) -> None:
    body = (space + document + space + tail).encode()
    assert outcome(scan, body) == outcome(scan_tokens, body)


@given(st.integers(min_value=28, max_value=40), st.sampled_from(["[", "{"]))
def test_scan_answers_as_the_token_pass_around_the_depth_limit(depth: int, kind: str) -> None:
    body = _deep(depth, kind).encode()
    assert outcome(scan, body) == outcome(scan_tokens, body)


def test_nesting_deeper_than_the_c_parser_goes_is_refused_as_by_the_token_pass() -> None:
    for kind in "[{":
        body = _deep(100_000, kind).encode()
        assert outcome(scan, body) == outcome(scan_tokens, body)
        assert outcome(scan, body)[0] == "refused"


def _texts(value: object) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [t for key, item in value.items() for t in (key, *_texts(item))]
    if isinstance(value, list):
        return [t for item in value for t in _texts(item)]
    return []


ANY_TEXT = st.text(st.characters(codec="utf-8") | st.sampled_from("\x00\x1f\x7f\x85\t\n\r"))
DOCUMENT = st.recursive(
    ANY_TEXT | st.integers() | st.none(),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(ANY_TEXT, inner, max_size=3),
    max_leaves=12,
)


@settings(max_examples=400)
@given(DOCUMENT, st.sampled_from(["json-ascii", "json-utf8", "msgspec"]))
def test_a_json_text_cleared_as_storable_holds_no_refused_text(value: object, how: str) -> None:
    if how == "msgspec":
        text = msgspec.json.encode(value).decode()
    else:
        text = json.dumps(value, ensure_ascii=how == "json-ascii")
    faults = [t for t in _texts(json.loads(text)) if text_fault(t) is not None]
    if json_texts_are_storable(text):
        assert not faults, faults
    if faults:
        assert not json_texts_are_storable(text)
