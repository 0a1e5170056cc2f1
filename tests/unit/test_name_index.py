"""The names of an entity over time, as the search index stores them (projections/name_index)."""

from __future__ import annotations

import datetime as dt

from hypothesis import given, settings
from hypothesis import strategies as st

from projections.name_index import candidate_on, key_rows, keys_from_rows, name_spans
from projections.names.keys import name_keys

NAMES = st.sampled_from(["Huawei", "华为", "華為", "O’Bryan", "Acme\x00Corp", "CT", "  ", "Xi'an"])
DAYS = st.dates(min_value=dt.date(1990, 1, 1), max_value=dt.date(2030, 1, 1))
SETS = st.lists(
    st.tuples(DAYS, st.lists(NAMES, max_size=3), st.lists(NAMES, max_size=3)),
    min_size=1,
    max_size=4,
).map(lambda sets: sorted(sets, key=lambda s: s[0]))


def bore_on(sets: list, day: dt.date) -> set[str]:
    """The reference: the names of the last set that counts on `day` (the first one before)."""
    counting = [s for s in sets if s[0] <= day] or sets[:1]
    _, names, aliases = counting[-1]
    return {n for n in (*names, *aliases) if n.strip()}


@given(SETS, DAYS)
def test_the_spans_say_which_names_the_entity_bore_on_any_day(sets: list, day: dt.date) -> None:
    spans = name_spans(sets)
    held = {s.name for s in spans if any(a <= day < b for a, b in s.spans)}
    assert held == bore_on(sets, day)


@given(SETS)
def test_current_names_come_first_and_ordinals_are_dense(sets: list) -> None:
    spans = name_spans(sets)
    assert [s.ordinal for s in spans] == list(range(len(spans)))
    current = bore_on(sets, dt.date.max - dt.timedelta(days=1))
    assert {s.name for s in spans[: len(current)]} == current


@settings(deadline=None)  # the first transliteration loads ICU's tables
@given(st.text(max_size=30))
def test_stored_key_rows_give_back_the_keys_of_the_name(name: str) -> None:
    spans = name_spans([(dt.date(2000, 1, 1), [name], [])])
    rows = key_rows(spans)
    assert all(key and rkey == key[::-1] and roles > 0 for _, roles, key, rkey in rows)
    if spans:
        assert keys_from_rows((r, k) for _, r, k, _ in rows) == name_keys(name)


@given(SETS, DAYS)
def test_a_candidate_on_a_day_has_the_names_borne_until_then_and_flags_the_former(
    sets: list, day: dt.date
) -> None:
    spans = name_spans(sets)
    keys = {s.ordinal: name_keys(s.name) for s in spans}
    seen = candidate_on("e", "company", spans, keys, day)
    now = bore_on(sets, day)
    moments = [dt.date.min, *(s[0] for s in sets if s[0] <= day)]
    before = set().union(*(bore_on(sets, moment) for moment in moments))
    assert set(seen.candidate.names) == now | before
    assert seen.former == before - now
    assert list(seen.candidate.names[: len(now)]) == [n for n in seen.candidate.names if n in now]
