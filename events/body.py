"""The append body, decoded from bytes into typed events.

Three shapes are accepted: one event (an object with `type`), an array of events, or
`{events: [...], expected_position: {entity: position}}`. msgspec decodes each shape straight
into the tagged union of event types; no intermediate dicts are built.

Before decoding, one pass (`scan`) refuses what a JSON parser would otherwise resolve
silently or fail on: a key given twice in one object (parsers disagree on which value wins, so
in an audit log two readers could see different facts), and nesting deeper than `MAX_DEPTH` (a
legitimate body is at most five levels deep; 10,000 would exhaust the decoder's recursion). The
pass also tells which of the three shapes the body is. It runs in the standard library's C
parser, keeping no object (`_pairs` turns each into its depth); only a body it finds at fault
(or cannot parse) goes through the exact token pass (`scan_tokens`), which names the field.

`decode_append_body` needs less than `scan` for a sound body, and a batch of 1,000 events spent
most of its decoding in `scan`'s hook (one Python call per JSON object). So it screens the body
in C (`_screen`): msgspec parses it into plain values, and a key given twice shows as a pair
lost (fewer `:` in the re-encoded text than in the body). Depth needs no look at all for a body
that decodes into the event types: they nest a few levels, far below `MAX_DEPTH` (a test walks
the types to prove it). A body the screen does
not clear, or that fails to decode, goes through `scan` first, so it is refused exactly as
before: a key twice or nesting too deep is reported before what the decoder says.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

import msgspec

from events.codec import (
    EventInvalid,
    check,
    check_rules,
    dec_hook,
    field_of,
    json_texts_are_storable,
)
from events.types import ENTITY_ID_PATTERN, AnyEvent

MAX_DEPTH = 32

_ENTITY_ID = re.compile(ENTITY_ID_PATTERN)

_TOKEN = re.compile(rb'"(?:[^"\\]|\\.)*"|[{}\[\],:]', re.DOTALL)


class BodyMalformed(ValueError):
    """The body is not JSON we read: not UTF-8, malformed, a key twice, nested too deep."""

    def __init__(self, detail: str, field: str | None = None) -> None:
        super().__init__(detail if field is None else f"{field}: {detail}")
        self.detail = detail
        self.field = field


class EventBatch(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """A batch, with the writer's view of stream positions for optimistic concurrency."""

    events: list[AnyEvent]
    # Checked by `_expected` (msgspec names a bad map key or value only as `[...]`).
    expected_position: dict[str, int] = {}


@dataclass(frozen=True, slots=True)
class AppendBody:
    """A decoded body: its events, expected positions, and how fields inside it are named:
    `None` for one event (`entity`), `""` for an array (`[2].entity`), `"events"` for a batch
    (`events[2].entity`)."""

    events: list[AnyEvent]
    expected: dict[str, int]
    prefix: str | None


_one = msgspec.json.Decoder(AnyEvent, dec_hook=dec_hook)
_array = msgspec.json.Decoder(list[AnyEvent], dec_hook=dec_hook)
_batch = msgspec.json.Decoder(EventBatch, dec_hook=dec_hook)


def _path(frames: list[list]) -> str:
    path = ""
    for kind, _, position in frames:
        if kind == "[":
            path += f"[{position}]"
        elif position is not None:
            path = f"{path}.{position}" if path else position
    return path


def _key_text(token: bytes) -> str | None:
    if b"\\" not in token:
        try:
            return token[1:-1].decode("utf-8")
        except UnicodeDecodeError:
            return None  # reported by the decoder
    try:
        key = msgspec.json.decode(token)
    except msgspec.DecodeError:
        return None
    return key if isinstance(key, str) else None


class _AtFault(Exception):
    """The fast pass found a key twice or nesting too deep: the exact pass says where."""


class _Depth(int):
    """What the fast pass keeps of a JSON object: its depth, and its keys (only those of the
    body's top-level object are read)."""

    keys: dict[str, object]


def _depth(value: object) -> int:
    """Nesting depth of what the fast pass made of a JSON value (0: not an object or array)."""
    kind = type(value)
    if kind is _Depth:
        return value  # type: ignore[return-value]
    if kind is not list:
        return 0
    depth = 0
    for item in value:  # type: ignore[attr-defined]
        kind = type(item)
        if kind is _Depth or kind is list:
            inner = _depth(item)
            if inner > depth:
                depth = inner
    return depth + 1


def _pairs(pairs: list[tuple[str, object]]) -> _Depth:
    keys = dict(pairs)
    if len(keys) != len(pairs):
        raise _AtFault
    depth = 0
    for _, value in pairs:
        kind = type(value)
        if kind is _Depth or kind is list:
            inner = _depth(value)
            if inner > depth:
                depth = inner
    if depth >= MAX_DEPTH:
        raise _AtFault
    found = _Depth(depth + 1)
    found.keys = keys
    return found


_fast = json.JSONDecoder(object_pairs_hook=_pairs)


def scan(
    body: bytes, *, max_depth: int = MAX_DEPTH, text: str | None = None
) -> frozenset[str] | None:
    """Refuse duplicate keys and deep nesting; return the top-level keys of an object body,
    or None when the body is not an object. Tolerates malformed JSON: the decoder reports it.
    `text`: the body already decoded from UTF-8, if the caller has it. Answers as
    `scan_tokens`, in C for a sound body (see the module's docstring)."""
    if max_depth != MAX_DEPTH:
        return scan_tokens(body, max_depth=max_depth)
    try:
        top = _fast.decode(body.decode("utf-8") if text is None else text)
        sound = _depth(top) <= max_depth  # a top-level array adds a level
    except (ValueError, _AtFault, RecursionError):
        sound = False  # malformed, at fault, or deeper than the C parser goes
    if not sound:
        return scan_tokens(body, max_depth=max_depth)
    return frozenset(top.keys) if type(top) is _Depth else None


def scan_tokens(body: bytes, *, max_depth: int = MAX_DEPTH) -> frozenset[str] | None:
    """`scan`, token by token in Python: the pass that names the field of a key given twice
    (or says how deep is too deep); it never builds the values."""
    # A frame: [bracket, keys seen (objects), current key (objects) or element index (arrays)].
    frames: list[list] = []
    top: set[str] | None = None
    expect_key = False
    for match in _TOKEN.finditer(body):
        token = match.group()
        first = token[0]
        if first == 0x22:  # a string: a key if an object expects one here
            if frames and expect_key and frames[-1][0] == "{":
                expect_key = False
                key = _key_text(token)
                if key is None:
                    continue
                frame = frames[-1]
                if key in frame[1]:
                    where = _path(frames[:-1])
                    raise BodyMalformed(
                        f"the key {key!r} is given twice in one object",
                        field=f"{where}.{key}" if where else key,
                    )
                frame[1].add(key)
                frame[2] = key
        elif first in b"{[":
            if len(frames) >= max_depth:
                raise BodyMalformed(f"JSON nested deeper than {max_depth} levels")
            if first == 0x7B:
                keys: set[str] = set()
                if not frames and top is None:
                    top = keys
                frames.append(["{", keys, None])
                expect_key = True
            else:
                frames.append(["[", None, 0])
        elif first in b"}]":
            if frames:
                frames.pop()
            expect_key = False
        elif first == 0x2C:  # a comma: the next key, or the next element
            if frames:
                if frames[-1][0] == "{":
                    expect_key = True
                else:
                    frames[-1][2] += 1
    return frozenset(top) if top is not None else None


_plain = msgspec.json.Decoder()
_plain_encoder = msgspec.json.Encoder()
_NOT_SCREENED = object()


def _screen(body: bytes, text: str) -> frozenset[str] | object | None:
    """The top-level keys of an object body (None: not an object) when the body is JSON with
    no key given twice; `_NOT_SCREENED` when that is not certain (malformed, deeper than the
    parser recurses, a key twice, or an escaped `:` that would blur the count). Depth is not
    looked at: see the module's docstring."""
    if "\\u003" in text:  # \u003a is a `:` the body's text does not show as one
        return _NOT_SCREENED
    try:
        value = _plain.decode(body)
    except (msgspec.DecodeError, RecursionError):
        return _NOT_SCREENED
    # Every `:` of the body is a key's or inside a text; decoding keeps the texts, and a key
    # given twice loses one pair (at least one `:`).
    if _plain_encoder.encode(value).count(b":") != text.count(":"):
        return _NOT_SCREENED
    return frozenset(value) if type(value) is dict else None


def decode_append_body(body: bytes) -> AppendBody:
    """Decode a body of any accepted shape. Raises BodyMalformed (not JSON we read) or
    EventInvalid (an event or the batch breaks a rule; the field is named with its index)."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BodyMalformed(f"the body is not UTF-8 (byte {exc.start})") from None
    screened = _screen(body, text)
    scanned = screened is _NOT_SCREENED
    top_keys = scan(body, text=text) if scanned else screened
    stripped = body.lstrip()
    try:
        if stripped.startswith(b"["):
            prefix: str | None = ""
            events, expected = _array.decode(body), {}
        elif top_keys is not None and "events" in top_keys and "type" not in top_keys:
            prefix = "events"
            batch = _batch.decode(body)
            events, expected = batch.events, _expected(batch.expected_position)
        elif top_keys is not None:
            prefix = None
            events, expected = [_one.decode(body)], {}
        else:
            raise BodyMalformed("the body must be an event, an array of events, or {events: [...]}")
    except msgspec.ValidationError as exc:
        if not scanned:
            scan(body, text=text)  # nesting too deep is refused as such, before the decoder
        raise field_of(exc) from None
    except msgspec.DecodeError as exc:
        if not scanned:
            scan(body, text=text)
        raise BodyMalformed(f"malformed JSON: {exc}") from None
    if not events:
        raise EventInvalid(prefix or "$", "the batch is empty")
    # Every text is looked at only when the JSON may hold a character no text may have.
    checked = check if not json_texts_are_storable(text) else check_rules
    for index, event in enumerate(events):
        try:
            checked(event)
        except EventInvalid as exc:
            raise EventInvalid(field_in(prefix, index, exc.field), exc.detail) from None
    return AppendBody(events=events, expected=expected, prefix=prefix)


def _expected(positions: dict[str, int]) -> dict[str, int]:
    for key, position in positions.items():
        if _ENTITY_ID.search(key) is None:
            raise EventInvalid(f"expected_position.{key}", "not an entity id")
        if isinstance(position, bool) or position < 0:
            raise EventInvalid(f"expected_position.{key}", "must be a position >= 0")
    return positions


def field_in(prefix: str | None, index: int, field: str | None) -> str:
    """Where in the body: `entity` for one event, `[2].entity` in an array, `events[2].entity`."""
    if prefix is None:
        return field or "$"
    head = f"{prefix}[{index}]"
    if not field or field == "$":
        return head
    return f"{head}{field}" if field.startswith("[") else f"{head}.{field}"
