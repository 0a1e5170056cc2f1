"""Properties of the pure `events` package: dates, codec, canonical bytes, upcasting."""

from __future__ import annotations

import calendar
import datetime as dt
import json
import random
import uuid

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import events as ev
from events.codec import ChainAt

slugs = st.from_regex(r"[a-z0-9][a-z0-9-]{0,20}", fullmatch=True)
langs = st.sampled_from(ev.LANGS)
short = st.text(min_size=1, max_size=40).filter(lambda s: s.strip() != "")
localized = st.dictionaries(langs, short, max_size=3)
urls = st.builds(lambda host, path: f"https://{host}.example/{path}", slugs, slugs)
sources = st.lists(
    st.builds(
        ev.Source,
        url=urls,
        publisher=st.none() | short,
        title=st.none() | short,
        citation=st.none() | st.from_regex(r"[0-9]{2} FR [0-9]{3,5}", fullmatch=True),
    ),
    min_size=1,
    max_size=3,
).map(tuple)


@st.composite
def partial_dates(draw: st.DrawFn) -> ev.PartialDate:
    year = draw(st.integers(1900, 2100))
    form = draw(st.sampled_from(["year", "month", "day"]))
    if form == "year":
        return ev.PartialDate(f"{year:04d}")
    month = draw(st.integers(1, 12))
    if form == "month":
        return ev.PartialDate(f"{year:04d}-{month:02d}")
    day = draw(st.integers(1, calendar.monthrange(year, month)[1]))
    return ev.PartialDate(f"{year:04d}-{month:02d}-{day:02d}")


def _common() -> dict[str, st.SearchStrategy]:
    return {
        "entity": slugs,
        "occurred": partial_dates(),
        "sources": sources,
        "id": st.none() | st.uuids(),
        "supersedes": st.lists(st.uuids(), max_size=2, unique=True).map(tuple),
        "headline": localized,
        "text": localized,
    }


any_event = st.one_of(
    st.builds(
        ev.EntityRegistered,
        kind=st.sampled_from(["company", "government", "list", "rule", "person", "other"]),
        names=st.dictionaries(langs, short, min_size=1, max_size=3),
        aliases=st.lists(short, max_size=3).map(tuple),
        country=st.none() | st.from_regex(r"[A-Z]{2}", fullmatch=True),
        identifiers=st.dictionaries(slugs, short, max_size=2),
        **_common(),
    ),
    st.builds(
        ev.EntityListed,
        list=slugs,
        authority=short,
        rule=st.none() | slugs,
        license_policy=st.none() | short,
        **_common(),
    ),
    st.builds(ev.EntityDelisted, list=slugs, rule=st.none() | slugs, **_common()),
    st.builds(
        ev.RuleIssued,
        title=st.dictionaries(langs, short, min_size=1, max_size=3),
        authority=short,
        effective=st.none() | st.dates(dt.date(1990, 1, 1), dt.date(2100, 1, 1)),
        targets=st.lists(slugs, max_size=3).map(tuple),
        **_common(),
    ),
    st.builds(ev.RuleRescinded, reason=st.none() | short, **_common()),
    st.builds(
        ev.ProductMassProduced,
        product=short,
        category=short,
        specs=st.dictionaries(
            slugs,
            short | st.integers(-(10**9), 10**9) | st.floats(-1e9, 1e9, allow_nan=False),
            max_size=3,
        ),
        **_common(),
    ),
    st.builds(
        ev.ExitAnnounced,
        market=short,
        region=short,
        impact=st.none()
        | st.builds(ev.Impact, amount=st.integers(0, 10**12), currency=st.just("USD")),
        **_common(),
    ),
)


def _shuffled_keys(value: object, rnd: random.Random) -> object:
    if isinstance(value, dict):
        items = list(value.items())
        rnd.shuffle(items)
        return {k: _shuffled_keys(v, rnd) for k, v in items}
    if isinstance(value, list):
        return [_shuffled_keys(v, rnd) for v in value]
    return value


@settings(max_examples=300, deadline=None)
@given(any_event)
def test_encode_then_decode_is_identity(event: ev.AnyEvent) -> None:
    try:
        ev.check(event)
    except ev.EventInvalid:
        return  # generated combinations the rules refuse are covered by their own tests
    assert ev.decode_event(ev.encode(event)) == event
    assert ev.decode_event(ev.canonical(event)) == event


@settings(max_examples=300, deadline=None)
@given(any_event, st.randoms(use_true_random=False))
def test_canonical_bytes_are_stable_under_key_order(event: ev.AnyEvent, rnd: random.Random) -> None:
    try:
        ev.check(event)
    except ev.EventInvalid:
        return
    reordered = json.dumps(
        _shuffled_keys(json.loads(ev.encode(event)), rnd), ensure_ascii=rnd.random() < 0.5
    )
    assert ev.canonical(ev.decode_event(reordered)) == ev.canonical(event)


@settings(max_examples=500, deadline=None)
@given(st.text(max_size=12))
def test_every_invalid_occurred_string_is_refused(text: str) -> None:
    if _is_valid_partial_date(text):
        assert str(ev.PartialDate(text)) == text
        return
    with pytest.raises(ValueError):
        ev.PartialDate(text)
    payload = {
        "type": "RuleRescinded",
        "entity": "some-rule",
        "occurred": text,
        "sources": [{"url": "https://example.org"}],
    }
    with pytest.raises(ev.EventInvalid) as caught:
        ev.decode_event(msgspec.json.encode(payload))
    assert caught.value.field == "occurred"


def _is_valid_partial_date(text: str) -> bool:
    """An independent oracle for the three accepted forms."""
    parts = text.split("-")
    if not 1 <= len(parts) <= 3 or any(not p.isascii() or not p.isdigit() for p in parts):
        return False
    if [len(p) for p in parts] != [4, 2, 2][: len(parts)]:
        return False
    year = int(parts[0])
    if not 1 <= year <= ev.dates.MAX_YEAR:
        return False
    if len(parts) >= 2 and not 1 <= int(parts[1]) <= 12:
        return False
    if len(parts) == 3:
        return 1 <= int(parts[2]) <= calendar.monthrange(year, int(parts[1]))[1]
    return True


@given(
    st.sampled_from(
        [
            "2022-02-29",
            "2023-13",
            "2023-00",
            "2023-04-31",
            "22",
            "2022-1",
            "2022-01-1",
            "2022/01/01",
            " 2022",
            "2022-01-01T00:00",
            "0000",
            "9999",
            "２０２２",
        ]
    )
)
def test_known_bad_dates_are_refused(text: str) -> None:
    with pytest.raises(ValueError):
        ev.PartialDate(text)


@pytest.mark.parametrize(
    ("text", "start", "end", "precision"),
    [
        ("2022", dt.date(2022, 1, 1), dt.date(2023, 1, 1), "year"),
        ("2022-12", dt.date(2022, 12, 1), dt.date(2023, 1, 1), "month"),
        ("2024-02", dt.date(2024, 2, 1), dt.date(2024, 3, 1), "month"),
        ("2022-12-15", dt.date(2022, 12, 15), dt.date(2022, 12, 16), "day"),
        ("2024-02-29", dt.date(2024, 2, 29), dt.date(2024, 3, 1), "day"),
    ],
)
def test_partial_date_is_a_half_open_interval_that_keeps_its_precision(
    text: str, start: dt.date, end: dt.date, precision: str
) -> None:
    date = ev.PartialDate(text)
    assert (date.start, date.end, date.precision, str(date)) == (start, end, precision, text)


def test_world_order_puts_the_narrower_interval_first_on_the_same_start() -> None:
    dates = [ev.PartialDate(t) for t in ("2022-12-01", "2022", "2022-12", "2022-01", "2022-01-01")]
    assert [str(d) for d in sorted(dates)] == [
        "2022-01-01",
        "2022-01",
        "2022",
        "2022-12-01",
        "2022-12",
    ]


def test_unknown_type_is_refused_naming_the_field() -> None:
    with pytest.raises(ev.EventInvalid) as caught:
        ev.decode_event(b'{"type": "EntityVanished", "entity": "x"}')
    assert caught.value.field == "type"
    assert "EntityListed" in caught.value.detail


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"entity": "Not A Slug"}, "entity"),
        ({"sources": []}, "sources"),
        ({"sources": [{"url": "javascript:alert(1)"}]}, "sources[0].url"),
        ({"list": 7}, "list"),
        ({"authority": None}, "authority"),
        ({"unexpected": 1}, "unexpected"),
        ({"id": "not-a-uuid"}, "id"),
        ({"list": "ymtc"}, "list"),
    ],
)
def test_malformed_fields_are_refused_naming_the_field(change: dict, field: str) -> None:
    payload = {
        "type": "EntityListed",
        "entity": "ymtc",
        "occurred": "2022-12-16",
        "list": "us-entity-list",
        "authority": "BIS",
        "sources": [{"url": "https://www.federalregister.gov/d/2022-27151"}],
    } | change
    with pytest.raises(ev.EventInvalid) as caught:
        ev.decode_event(msgspec.json.encode(payload))
    assert caught.value.field == field


@pytest.mark.parametrize("key", ["xx", "zh-CN", ""])
def test_an_unknown_language_key_is_refused_naming_names_dot_key(key: str) -> None:
    payload = {
        "type": "EntityRegistered",
        "entity": "ymtc",
        "occurred": "2016",
        "kind": "company",
        "names": {"en": "YMTC", key: "?"},
        "sources": [{"url": "https://example.org/ymtc"}],
    }
    with pytest.raises(ev.EventInvalid) as caught:
        ev.decode_event(msgspec.json.encode(payload))
    assert caught.value.field == f"names.{key}"


def test_missing_field_is_refused_naming_it() -> None:
    with pytest.raises(ev.EventInvalid) as caught:
        ev.decode_event(
            b'{"type":"EntityListed","entity":"ymtc","occurred":"2022","sources":[{"url":"https://a.b"}],"authority":"BIS"}'
        )
    assert caught.value.field == "list"
    assert "missing" in caught.value.detail


def test_retraction_must_name_an_event() -> None:
    with pytest.raises(ev.EventInvalid) as caught:
        ev.decode_event(
            b'{"type":"EventRetracted","entity":"ymtc","occurred":"2023","sources":[{"url":"https://a.b"}]}'
        )
    assert caught.value.field == "supersedes"


def test_event_cannot_supersede_itself() -> None:
    me = uuid.uuid4()
    body = {
        "type": "EventRetracted",
        "id": str(me),
        "entity": "ymtc",
        "occurred": "2023",
        "sources": [{"url": "https://a.b"}],
        "supersedes": [str(me)],
    }
    with pytest.raises(ev.EventInvalid, match="itself"):
        ev.decode_event(msgspec.json.encode(body))


def test_schema_1_exit_announced_is_upcast_to_an_impact_with_currency() -> None:
    stored = b'{"entity":"micron","impact_usd":1500000000,"market":"data-centre servers","occurred":"2025-10","region":"CN","sources":[{"url":"https://www.reuters.com/x"}],"type":"ExitAnnounced"}'
    event = ev.decode_event(stored, schema_version=1)
    assert isinstance(event, ev.ExitAnnounced)
    assert event.impact == ev.Impact(amount=1500000000, currency="USD")
    assert ev.decode_stored(stored, 1, "ExitAnnounced") == event


def test_schema_1_exit_without_impact_upcasts_to_no_impact() -> None:
    stored = b'{"entity":"micron","market":"m","occurred":"2025","region":"CN","sources":[{"url":"https://a.b"}],"type":"ExitAnnounced"}'
    assert ev.decode_event(stored, schema_version=1).impact is None


def test_a_schema_newer_than_the_code_is_refused() -> None:
    with pytest.raises(ev.EventInvalid) as caught:
        ev.decode_event(b'{"type":"ExitAnnounced"}', schema_version=3)
    assert caught.value.field == "schema_version"


def test_current_version_payload_is_not_upcast() -> None:
    stored = b'{"entity":"micron","impact":{"amount":1,"currency":"EUR"},"market":"m","occurred":"2025","region":"CN","sources":[{"url":"https://a.b"}],"type":"ExitAnnounced"}'
    assert ev.decode_stored(
        stored, ev.ExitAnnounced.schema_version, "ExitAnnounced"
    ).impact == ev.Impact(amount=1, currency="EUR")


@settings(max_examples=100, deadline=None)
@given(st.lists(any_event, min_size=1, max_size=6), st.data())
def test_a_flipped_byte_anywhere_breaks_the_hash_chain(
    batch: list[ev.AnyEvent], data: st.DataObject
) -> None:
    recorded_at = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)
    chain: list[ev.RecordedEvent] = []
    prev = ev.GENESIS_HASH
    for position, event in enumerate(batch, start=1):
        payload = ev.canonical(event)
        digest = ev.chain_hash(
            prev, payload=payload, position=position, recorded_at=recorded_at, schema_version=1
        )
        chain.append(
            ev.RecordedEvent(
                position=position,
                type=ev.type_name(event),
                entity=event.entity,
                recorded_at=recorded_at,
                schema_version=1,
                prev_hash=prev,
                hash=digest,
                payload=payload,
            )
        )
        prev = digest
    assert ev.verify_chain(chain) is None
    victim = data.draw(st.integers(0, len(chain) - 1))
    payload = bytearray(chain[victim].payload)
    index = data.draw(st.integers(0, len(payload) - 1))
    payload[index] ^= 0x01
    chain[victim] = msgspec.structs.replace(chain[victim], payload=bytes(payload))
    assert ev.verify_chain(chain) == victim + 1


@given(
    st.binary(max_size=64),
    st.binary(min_size=32, max_size=32),
    st.integers(min_value=1, max_value=2**62),
    st.integers(min_value=1, max_value=50),
    st.datetimes(
        min_value=dt.datetime(1970, 1, 1),
        timezones=st.sampled_from([dt.UTC, dt.timezone(dt.timedelta(hours=-5, minutes=-30))]),
    ),
)
def test_the_store_s_envelopes_and_hashes_are_the_chain_s_bytes(
    payload: bytes, prev_hash: bytes, position: int, schema_version: int, recorded_at: dt.datetime
) -> None:
    # The store hashes with ChainAt; the audit export and verify_chain with envelope_bytes.
    chain = ChainAt(recorded_at)
    kw = {"payload": payload, "position": position, "schema_version": schema_version}
    assert chain.envelope(**kw) == ev.envelope_bytes(recorded_at=recorded_at, **kw)
    assert chain.hash(prev_hash, **kw) == ev.chain_hash(prev_hash, recorded_at=recorded_at, **kw)
