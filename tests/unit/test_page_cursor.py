"""Page cursors: what `encode_cursor` gives, `decode_cursor` reads back for the same question and
refuses for any other; any other text is refused as `InvalidCursor`, never another error (the
route turns it into a 400 naming `cursor`)."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from service.readmodels.queries import (
    InvalidCursor,
    PageCursor,
    changes_question,
    decode_cursor,
    encode_cursor,
    members_question,
)

entity_ids = st.from_regex(r"[a-z0-9][a-z0-9-]{0,20}", fullmatch=True)
days = st.dates(dt.date(1, 1, 1), dt.date(9999, 12, 31))
moments = st.none() | st.datetimes(
    dt.datetime(1, 1, 2), dt.datetime(9999, 12, 30), timezones=st.just(dt.UTC)
)
questions = st.one_of(
    st.builds(members_question, entity_ids, days, st.none() | st.text(min_size=1, max_size=30)),
    st.builds(changes_question, days, days),
)
cursors = st.builds(
    PageCursor,
    question=questions,
    known_at=moments,
    after=entity_ids,
    skip=st.integers(0, 10_000),
)


@given(cursor=cursors)
def test_a_cursor_reads_back_for_its_own_question(cursor: PageCursor) -> None:
    text = encode_cursor(cursor)
    assert text.isascii() and "=" not in text and "/" not in text and "+" not in text
    assert decode_cursor(text, cursor.question) == cursor


@given(cursor=cursors, other=questions)
def test_a_cursor_is_refused_for_any_other_question(cursor: PageCursor, other: tuple) -> None:
    if other == cursor.question:
        return
    with pytest.raises(InvalidCursor):
        decode_cursor(encode_cursor(cursor), other)


@given(text=st.text(max_size=200), question=questions)
def test_any_other_text_is_refused_as_an_invalid_cursor(text: str, question: tuple) -> None:
    try:
        decoded = decode_cursor(text, question)
    except InvalidCursor:
        return
    assert decoded.question == question and decoded.skip >= 0  # only a cursor of this question


def test_members_questions_differ_by_programme() -> None:
    day = dt.date(2024, 6, 1)
    assert members_question("l", day) != members_question("l", day, "1260H")
    assert members_question("l", day, None) == members_question("l", day)
