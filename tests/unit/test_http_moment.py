"""The moment's parsing and the domain-error table, pure: every input either becomes a UTC
moment or a BadRequest naming the parameter; every domain error has one HTTP status."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

import service.errors as errors
from service.errors import BadRequest, DomainError
from service.http.moment import known_at_utc, parse_known_at
from service.http.problems import HTTP_STATUS, status_of

zones = st.integers(min_value=-(24 * 60 - 1), max_value=24 * 60 - 1).map(
    lambda minutes: dt.timezone(dt.timedelta(minutes=minutes))
)


@given(st.datetimes(timezones=zones))
def test_an_aware_known_at_is_the_same_instant_in_utc_or_a_400_naming_it(
    moment: dt.datetime,
) -> None:
    try:
        utc = known_at_utc(moment)
    except BadRequest as exc:
        assert exc.field == "known_at"
        # Only an instant that leaves the calendar in UTC is refused.
        with pytest.raises(OverflowError):
            moment.astimezone(dt.UTC)
    else:
        assert utc is not None and utc.tzinfo is dt.UTC and utc == moment


@given(st.text(max_size=40))
def test_any_text_is_a_moment_or_a_400_naming_known_at(text: str) -> None:
    try:
        parsed = parse_known_at(text)
    except BadRequest as exc:
        assert exc.field == "known_at"
    else:
        assert parsed is None or parsed.tzinfo is dt.UTC


@pytest.mark.parametrize(
    "text", ["9999-12-31T23:59:59-01:00", "0001-01-01T00:00:00+14:00", "2024-06-01T00:00:00"]
)
def test_the_calendar_edges_and_a_naive_time_are_400_not_an_overflow(text: str) -> None:
    with pytest.raises(BadRequest) as raised:
        parse_known_at(text)
    assert raised.value.field == "known_at"


def _domain_errors() -> list[type[DomainError]]:
    return [
        value
        for value in vars(errors).values()
        if isinstance(value, type) and issubclass(value, DomainError)
    ]


@pytest.mark.parametrize("error", _domain_errors(), ids=lambda cls: cls.__name__)
def test_every_domain_error_has_a_4xx_or_5xx_status_from_the_one_table(
    error: type[DomainError],
) -> None:
    status = status_of(error("detail"))
    assert 400 <= status < 600
    assert error in HTTP_STATUS or any(base in HTTP_STATUS for base in error.__mro__[1:])
    assert not hasattr(DomainError, "status")
