"""JSON codec, canonical bytes and the hash chain.

Canonical bytes of an event: msgspec JSON with keys sorted at every level and defaults
omitted, UTF-8, no insignificant white space. The same event gives the same bytes wherever it
is encoded, whatever key order it arrived in.

A recorded event is the event plus what the log assigned: position, recorded_at (UTC,
microseconds), the schema version of its payload, prev_hash and hash, where

    hash = SHA-256(prev_hash || canonical envelope)
    envelope = {"event": <canonical payload>, "position": n, "recorded_at": t, "schema_version": v}

and the first event's prev_hash is 32 zero bytes.
"""

from __future__ import annotations

import datetime as _dt
import functools
import hashlib
import re
import uuid
from collections.abc import Iterator
from typing import Any

import msgspec

from events.dates import PartialDate
from events.types import EVENT_TYPES, AnyEvent, Event, type_name
from events.upcast import UpcastError, current_version, upcast

GENESIS_HASH = bytes(32)


class EventInvalid(ValueError):
    """An event that cannot be appended, for a reason that needs no database. Names the field."""

    def __init__(self, field: str, detail: str) -> None:
        super().__init__(f"{field}: {detail}")
        self.field = field
        self.detail = detail


def _enc_hook(obj: Any) -> Any:
    if isinstance(obj, PartialDate):
        return str(obj)
    raise NotImplementedError(f"cannot encode {type(obj).__name__}")


@functools.lru_cache(maxsize=1 << 14)
def _partial_date(text: str) -> PartialDate:
    return PartialDate(text)


def _dec_hook(tp: type, obj: Any) -> Any:
    """Partial dates are shared (they are immutable): events repeat few distinct dates, and
    parsing one was a fifth of the cost of converting an event."""
    if tp is PartialDate:
        if not isinstance(obj, str):
            raise TypeError("a partial date is a string: YYYY, YYYY-MM or YYYY-MM-DD")
        return _partial_date(obj)
    raise NotImplementedError(f"cannot decode {tp!r}")


dec_hook = _dec_hook
_event_decoder = msgspec.json.Decoder(AnyEvent, dec_hook=_dec_hook)
_canonical_encoder = msgspec.json.Encoder(enc_hook=_enc_hook, order="sorted")
_encoder = msgspec.json.Encoder(enc_hook=_enc_hook)

_NAMED_FIELD = re.compile(r"(?:missing required|contains unknown) field `([^`]+)`")
_PATH = re.compile(r" - at `\$(?P<path>[^`]*)`$")
# A bad key of a mapping: "Invalid enum value 'xx' - at `key` in `$.names`" is `names.xx`.
_KEY_PATH = re.compile(r" - at `key` in `\$(?P<path>[^`]*)`$")
_QUOTED_VALUE = re.compile(r"value '(?P<key>[^']*)'")


def field_of(error: msgspec.ValidationError, prefix: str = "") -> EventInvalid:
    """Turn msgspec's 'Expected `str`, got `int` - at `$.sources[0].url`' into a named field."""
    message = str(error)
    match = _PATH.search(message) or _KEY_PATH.search(message)
    path = "" if match is None else match["path"].lstrip(".")
    detail = message if match is None else message[: match.start()]
    if match is not None and match.re is _KEY_PATH:
        key = _QUOTED_VALUE.search(detail)
        if key is not None:
            path = f"{path}.{key['key']}" if path else key["key"]
    named = _NAMED_FIELD.search(detail)
    if named is not None:  # "Object missing required field `list`": the field is `list`
        path = f"{path}.{named[1]}" if path else named[1]
    if (path == "type" or path.endswith(".type")) and detail.startswith("Invalid value"):
        detail = f"unknown event type; known: {', '.join(EVENT_TYPES)}"
    if not prefix:
        return EventInvalid(path or "$", detail)
    if not path:
        return EventInvalid(prefix, detail)
    return EventInvalid(prefix + path if path.startswith("[") else f"{prefix}.{path}", detail)


def decode_event(data: bytes | str, *, schema_version: int | None = None) -> AnyEvent:
    """Decode one event's JSON. Old schema versions are upcast; errors name the field."""
    if schema_version is None:
        try:
            return check(_event_decoder.decode(data))
        except msgspec.ValidationError as exc:
            raise field_of(exc) from None
        except msgspec.DecodeError as exc:
            raise EventInvalid("$", f"malformed JSON: {exc}") from None
    try:
        raw = msgspec.json.decode(data)
    except msgspec.DecodeError as exc:
        raise EventInvalid("$", f"malformed JSON: {exc}") from None
    return from_builtins(raw, schema_version=schema_version)


def from_builtins(raw: Any, *, schema_version: int | None = None) -> AnyEvent:
    """Convert already-parsed JSON (dicts, lists, strings) to an event, upcasting if asked."""
    if not isinstance(raw, dict):
        raise EventInvalid("$", "an event is a JSON object")
    tag = raw.get("type")
    if not isinstance(tag, str) or tag not in EVENT_TYPES:
        raise EventInvalid("type", f"unknown event type {tag!r}; known: {', '.join(EVENT_TYPES)}")
    if schema_version is not None and schema_version != current_version(tag):
        try:
            raw = upcast(tag, schema_version, raw)
        except UpcastError as exc:
            raise EventInvalid("schema_version", str(exc)) from None
    try:
        # To the type the tag names, not to the union AnyEvent: the same checks and errors,
        # and a quarter of the time (msgspec converting a dict to a tagged union is slow).
        event = msgspec.convert(raw, EVENT_TYPES[tag], dec_hook=_dec_hook, strict=True)
    except msgspec.ValidationError as exc:
        raise field_of(exc) from None
    return check(event)  # type: ignore[arg-type]


# What no text of an event may hold: NUL (PostgreSQL text cannot store it, so it would stop
# the projector), control characters other than tab and newline (invisible, they make
# look-alikes and break terminals and CSV), and lone surrogates (not encodable as UTF-8).
_FORBIDDEN_CHAR = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff]")


def text_fault(value: str) -> str | None:
    """Why `value` cannot be stored as text of an event, or None if it can."""
    match = _FORBIDDEN_CHAR.search(value)
    if match is None:
        return None
    char = match.group()
    if char == "\x00":
        return "must not contain NUL (U+0000)"
    if "\ud800" <= char <= "\udfff":
        return f"must not contain a lone surrogate (U+{ord(char):04X})"
    return (
        f"must not contain the control character U+{ord(char):04X} "
        "(of the control characters only tab and newline are allowed)"
    )


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


def _texts(value: Any, path: str) -> Iterator[tuple[str, str, bool]]:
    """(field path, text, is a key) for every string in an event, keys of maps included."""
    if isinstance(value, str):
        yield path, value, False
    elif isinstance(value, msgspec.Struct):
        for name in value.__struct_fields__:
            yield from _texts(getattr(value, name), _join(path, name))
    elif isinstance(value, dict):
        for key, item in value.items():
            yield path, key, True
            yield from _texts(item, _join(path, key))
    elif isinstance(value, (tuple, list)):
        for index, item in enumerate(value):
            yield from _texts(item, f"{path}[{index}]")


# What JSON-encoding an event can turn a forbidden character into: msgspec writes U+0000 to
# U+001F as `\u00XX` (or `\b`, `\f`, `\r`; tab and newline, allowed, as `\t` and `\n`), and
# U+007F to U+009F as their UTF-8 bytes (7F; C2 80 to C2 9F, which nothing else encodes to). A
# lone surrogate makes the encoding fail. An escaped backslash before `u00`, `b`, `f` or `r`
# matches too: a false alarm, settled by the walk.
_MAYBE_FORBIDDEN_JSON = re.compile(rb"\\(?:u00|[bfr])|\x7f|\xc2[\x80-\x9f]")


def check_text(event: Event) -> None:
    """Every text of the event, in every field and key, is storable (see `text_fault`).

    First the event's JSON is searched once for anything a forbidden character encodes to (a
    few microseconds); only when something is found are its texts walked one by one, to name
    the field. The walk alone was most of the cost of checking an event."""
    try:
        encoded = _encoder.encode(event)
    except UnicodeEncodeError:  # a lone surrogate somewhere: the walk names it
        pass
    else:
        if _MAYBE_FORBIDDEN_JSON.search(encoded) is None:
            return
    for path, text, is_key in _texts(event, ""):
        fault = text_fault(text)
        if fault is not None:
            if is_key:
                raise EventInvalid(path, f"the key {text!r} {fault}")
            raise EventInvalid(path, fault)


def check(event: AnyEvent) -> AnyEvent:
    """The rules of contract section 1 that need no database."""
    check_text(event)
    return check_rules(event)


# In JSON text, where a character `_FORBIDDEN_CHAR` refuses may come from: itself, or an escape
# that can stand for one (\b, \f, \r, \u0000-\u001f, \u007f-\u009f, a surrogate). A match
# may be innocent (an escaped backslash before "u0000", a \r between tokens, a surrogate pair);
# no match means no text decoded from the JSON holds a refused character.
_FORBIDDEN_ESCAPE = re.compile(
    r"\\[bfr]"  # \b \f \r
    r"|\\u00[0189]|\\u007[fF]"  # \u0000-\u001f, \u007f-\u009f
    r"|\\u[dD][89a-fA-F]"  # a surrogate
)


def json_texts_are_storable(text: str) -> bool:
    """True when no text decoded from the JSON document `text` can hold a character that
    `text_fault` refuses (then `check_rules` is all `check` has left to do); False when one
    may (then `check` looks at every text and names the field)."""
    if _FORBIDDEN_CHAR.search(text) is not None:
        return False
    return "\\" not in text or _FORBIDDEN_ESCAPE.search(text) is None


def check_rules(event: AnyEvent) -> AnyEvent:
    """`check` but the texts (`check_text`): the rules about the fields' values together."""
    tag = type_name(event)
    if tag == "EventRetracted" and not event.supersedes:
        raise EventInvalid("supersedes", "EventRetracted must name at least one event")
    if len(set(event.supersedes)) != len(event.supersedes):
        raise EventInvalid("supersedes", "an event id is named twice")
    if event.id is not None and event.id in event.supersedes:
        raise EventInvalid("supersedes", "an event cannot supersede itself")
    for field, ref in event.referenced_entities().items():
        if ref == event.entity and (field in ("list", "parent", "owner")):
            raise EventInvalid(field, f"must name another entity than the subject {ref!r}")
    for field in ("headline", "text"):
        for lang, value in getattr(event, field).items():
            if not value.strip():
                raise EventInvalid(f"{field}.{lang}", "must not be blank")
    return event


def with_id(event: AnyEvent, event_id: uuid.UUID) -> AnyEvent:
    return msgspec.structs.replace(event, id=event_id)


def canonical(event: Event) -> bytes:
    """Deterministic bytes of an event: sorted keys, defaults omitted, UTF-8."""
    return _canonical_encoder.encode(event)


def encode(obj: Any) -> bytes:
    """Plain JSON encoding for anything of ours (API answers, exports)."""
    return _encoder.encode(obj)


class _Envelope(msgspec.Struct, frozen=True):
    event: msgspec.Raw
    position: int
    recorded_at: _dt.datetime
    schema_version: int


def envelope_bytes(
    *, payload: bytes, position: int, recorded_at: _dt.datetime, schema_version: int
) -> bytes:
    if recorded_at.tzinfo is None:
        raise ValueError("recorded_at must be timezone-aware")
    recorded_at = recorded_at.astimezone(_dt.UTC)
    return _canonical_encoder.encode(
        _Envelope(
            event=msgspec.Raw(payload),
            position=position,
            recorded_at=recorded_at,
            schema_version=schema_version,
        )
    )


def chain_hash(
    prev_hash: bytes,
    *,
    payload: bytes,
    position: int,
    recorded_at: _dt.datetime,
    schema_version: int,
) -> bytes:
    envelope = envelope_bytes(
        payload=payload, position=position, recorded_at=recorded_at, schema_version=schema_version
    )
    return hashlib.sha256(prev_hash + envelope).digest()


class ChainAt:
    """`chain_hash` for the events of one append, which share `recorded_at`: the envelope's
    bytes are joined from parts (its keys are sorted: event, position, recorded_at,
    schema_version), the timestamp encoded once, instead of a struct encoded per event. The
    bytes are `envelope_bytes`' (a property test holds them to it); the store hashes a batch of
    1,000 events with it."""

    __slots__ = ("_tail",)

    def __init__(self, recorded_at: _dt.datetime) -> None:
        if recorded_at.tzinfo is None:
            raise ValueError("recorded_at must be timezone-aware")
        stamp = _canonical_encoder.encode(recorded_at.astimezone(_dt.UTC))
        self._tail = b',"recorded_at":' + stamp + b',"schema_version":'

    def envelope(self, *, payload: bytes, position: int, schema_version: int) -> bytes:
        return b"".join(
            (
                b'{"event":',
                payload,
                b',"position":',
                b"%d" % position,
                self._tail,
                b"%d" % schema_version,
                b"}",
            )
        )

    def hash(
        self, prev_hash: bytes, *, payload: bytes, position: int, schema_version: int
    ) -> bytes:
        digest = hashlib.sha256(prev_hash)
        digest.update(
            self.envelope(payload=payload, position=position, schema_version=schema_version)
        )
        return digest.digest()


class RecordedEvent(msgspec.Struct, frozen=True, kw_only=True):
    """An event as the log holds it. `payload` is the exact canonical bytes that were hashed."""

    position: int
    type: str
    entity: str
    recorded_at: _dt.datetime
    schema_version: int
    prev_hash: bytes
    hash: bytes
    payload: bytes

    @property
    def event(self) -> AnyEvent:
        return decode_stored(self.payload, self.schema_version, self.type)

    def verify(self, prev_hash: bytes) -> bool:
        return self.prev_hash == prev_hash and self.hash == chain_hash(
            prev_hash,
            payload=self.payload,
            position=self.position,
            recorded_at=self.recorded_at,
            schema_version=self.schema_version,
        )


def decode_stored(payload: bytes, schema_version: int, tag: str) -> AnyEvent:
    """Decode a payload read back from the log: fast when it is of the current version."""
    cls = EVENT_TYPES.get(tag)
    if cls is not None and cls.schema_version == schema_version:
        return _event_decoder.decode(payload)
    return decode_event(payload, schema_version=schema_version)


def verify_chain(events: list[RecordedEvent], prev_hash: bytes = GENESIS_HASH) -> int | None:
    """Return the first position whose hash or link is wrong, or None if the chain holds."""
    expected_position = events[0].position if events else 1
    for recorded in events:
        if recorded.position != expected_position or not recorded.verify(prev_hash):
            return recorded.position
        prev_hash = recorded.hash
        expected_position += 1
    return None
