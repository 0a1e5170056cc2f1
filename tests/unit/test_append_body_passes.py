"""The append body's fast passes answer as the exact ones: `scan` (the C parser, with the
exact token pass only for a body at fault) as `scan_tokens`; `decode_append_body` (which
screens a body in C and looks at depth only when decoding fails) as with the exact pass first;
and a body whose JSON text `json_texts_are_storable` clears holds no text `text_fault` refuses."""

from __future__ import annotations

import json

import msgspec
from hypothesis import given, settings
from hypothesis import strategies as st

from events import canonical
from events.body import (
    MAX_DEPTH,
    BodyMalformed,
    EventBatch,
    decode_append_body,
    scan,
    scan_tokens,
)
from events.codec import EventInvalid, json_texts_are_storable, text_fault
from events.dates import PartialDate
from events.types import AnyEvent

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


def _nesting(info: msgspec.inspect.Type, seen: frozenset[type] = frozenset()) -> int:
    """How many JSON objects and arrays deep a value of this type can be (a leaf: 0)."""
    inspect = msgspec.inspect
    if isinstance(info, inspect.Metadata):
        return _nesting(info.type, seen)
    if isinstance(info, inspect.UnionType):
        return max(_nesting(t, seen) for t in info.types)
    if isinstance(info, inspect.StructType):
        if info.cls in seen:
            raise AssertionError(f"{info.cls.__name__} nests itself: no bound on depth")
        inner = seen | {info.cls}
        return 1 + max((_nesting(f.type, inner) for f in info.fields), default=0)
    if isinstance(info, inspect.DictType):
        return 1 + _nesting(info.value_type, seen)
    if isinstance(info, (inspect.ListType, inspect.VarTupleType, inspect.SetType)):
        return 1 + _nesting(info.item_type, seen)
    if isinstance(info, inspect.TupleType):
        return 1 + max((_nesting(t, seen) for t in info.item_types), default=0)
    if isinstance(info, inspect.CustomType):
        assert info.cls is PartialDate, f"{info.cls!r} is decoded by a hook: depth unknown"
        return 0  # decoded from a string
    leaves = (
        inspect.StrType,
        inspect.IntType,
        inspect.FloatType,
        inspect.BoolType,
        inspect.NoneType,
        inspect.LiteralType,
        inspect.UUIDType,
        inspect.DateType,
        inspect.DateTimeType,
        inspect.EnumType,
    )
    assert isinstance(info, leaves), f"{info!r} may hold JSON of any depth"
    return 0


def test_a_body_that_decodes_into_the_event_types_is_never_nested_too_deep() -> None:
    # decode_append_body looks at depth only for a body that fails to decode (events.body).
    shapes = msgspec.inspect.multi_type_info([AnyEvent, list[AnyEvent], EventBatch])
    assert max(_nesting(shape) for shape in shapes) < MAX_DEPTH


def _decoded_as_before(body: bytes) -> object:
    """What decode_append_body answered before its screen: the exact pass first, then decode."""
    try:
        scan_tokens(body)
    except BodyMalformed as exc:
        return ("malformed", exc.detail, exc.field)
    return _decoded(body)


def _decoded(body: bytes) -> object:
    try:
        decoded = decode_append_body(body)
    except BodyMalformed as exc:
        return ("malformed", exc.detail, exc.field)
    except EventInvalid as exc:
        return ("invalid", exc.field)
    return ("ok", [canonical(e) for e in decoded.events], decoded.expected, decoded.prefix)


_REGISTERED = (
    '{{{event}"type":"EntityRegistered","entity":"acme","kind":"company","names":{{{names}'
    '"en":"Acme"}},"occurred":"2020-01-02","sources":[{{{source}"url":"https://e.org/a"}}]}}'
)
# Pairs put before an object's own: most name a key the object has (valid values, so a key
# twice is all that is wrong), some with a `:` in a text, plain or escaped, some new keys.
_PAIRS = st.sampled_from(
    [
        ("event", '"entity":"acme"'),
        ("event", '"entity":"other"'),
        ("event", '"kind":"person"'),
        ("event", '"kind":"co:mpany"'),
        ("event", '"headline":{"en":"a:b"}'),
        ("event", '"headline":{"en":"a\\u003ab"}'),
        ("names", '"en":"Other"'),
        ("names", '"en":"x:y"'),
        ("names", '"en":"x\\u003ay"'),
        ("names", '"\\u0065n":"B"'),
        ("names", '"zh-Hans":"A"'),
        ("source", '"url":"https://e.org/b"'),
        ("source", '"url":"https://e.org/a:b"'),
    ]
)


@settings(max_examples=300)
@given(
    st.sampled_from(["{}", "[{}]", '{{"events":[{}]}}']),
    st.lists(_PAIRS, max_size=3),
)
def test_decoding_answers_as_with_the_exact_pass_first(
    shape: str, inserts: list[tuple[str, str]]
) -> None:
    # A key given twice must be refused as before, naming it, whatever the texts hold.
    where = {"event": "", "names": "", "source": ""}
    for place, pair in inserts:
        where[place] += pair + ","
    body = shape.format(_REGISTERED.format(**where)).encode()
    assert _decoded(body) == _decoded_as_before(body)


@given(st.integers(min_value=28, max_value=40), st.sampled_from(["[", "{"]))
def test_deep_bodies_are_refused_as_before(depth: int, kind: str) -> None:
    body = _deep(depth, kind).encode()
    assert _decoded(body) == _decoded_as_before(body)
    deep_event = f'{{"type":"EntityRegistered","names":{_deep(depth, kind)}}}'.encode()
    assert _decoded(deep_event) == _decoded_as_before(deep_event)
