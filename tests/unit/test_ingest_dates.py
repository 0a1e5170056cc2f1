"""The importers' tolerant date reader: every documented form round-trips, nothing else passes."""

from __future__ import annotations

import datetime as _dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from events.dates import MAX_YEAR, PartialDate
from service.ingest.dates import UnreadableDate, parse_partial_date

MONTH_NAMES = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)

days = st.dates(min_value=_dt.date(1, 1, 1), max_value=_dt.date(MAX_YEAR, 12, 31))
spaces = st.sampled_from(["", " ", "  ", "\t", "\n"])


def _month_name(month: int, style: str) -> str:
    name = MONTH_NAMES[month - 1]
    if style == "full":
        return name
    short = "Sept" if month == 9 and style == "sept" else name[:3]
    return short + ("." if style == "dot" else "")


@given(day=days, before=spaces, after=spaces)
def test_iso_forms_keep_their_precision(day: _dt.date, before: str, after: str) -> None:
    year, month = f"{day.year:04d}", f"{day.year:04d}-{day.month:02d}"
    assert parse_partial_date(before + year + after) == PartialDate(year)
    assert parse_partial_date(before + month + after) == PartialDate(month)
    assert parse_partial_date(before + day.isoformat() + after) == PartialDate.of_day(day)


@given(
    day=days,
    clock=st.times(),
    separator=st.sampled_from(["T", " "]),
    seconds=st.sampled_from(["none", "whole", "fraction"]),
    zone=st.one_of(
        st.just(""),
        st.just("Z"),
        st.builds(
            lambda sign, h, m: f"{sign}{h:02d}:{m:02d}",
            st.sampled_from("+-"),
            st.integers(0, 23),
            st.integers(0, 59),
        ),
    ),
)
def test_iso_datetimes_and_zoned_dates_give_the_written_day(
    day: _dt.date, clock: _dt.time, separator: str, seconds: str, zone: str
) -> None:
    written = f"{clock.hour:02d}:{clock.minute:02d}"
    if seconds != "none":
        written += f":{clock.second:02d}"
    if seconds == "fraction":
        written += f".{clock.microsecond:06d}"
    expected = PartialDate.of_day(day)
    assert parse_partial_date(f"{day.isoformat()}{separator}{written}{zone}") == expected
    if zone:
        assert parse_partial_date(day.isoformat() + zone) == expected


@given(day=days, padded=st.booleans())
def test_dotted_dates_are_day_first(day: _dt.date, padded: bool) -> None:
    d, m = (f"{day.day:02d}", f"{day.month:02d}") if padded else (str(day.day), str(day.month))
    assert parse_partial_date(f"{d}.{m}.{day.year:04d}") == PartialDate.of_day(day)


@given(day=days, month_first=st.booleans())
def test_slash_dates_are_read_only_when_one_reading_is_a_date(
    day: _dt.date, month_first: bool
) -> None:
    first, second = (day.month, day.day) if month_first else (day.day, day.month)
    text = f"{first:02d}/{second:02d}/{day.year:04d}"
    if day.day <= 12 and day.day != day.month:
        with pytest.raises(UnreadableDate, match="ambiguous") as refused:
            parse_partial_date(text)
        assert refused.value.text == text
    else:
        assert parse_partial_date(text) == PartialDate.of_day(day)


@given(day=days, style=st.sampled_from(["full", "short", "dot", "sept"]), case=st.booleans())
def test_month_name_forms(day: _dt.date, style: str, case: bool) -> None:
    name = _month_name(day.month, style)
    name = name.upper() if case else name
    year = f"{day.year:04d}"
    expected = PartialDate.of_day(day)
    assert parse_partial_date(f"{name} {day.day}, {year}") == expected
    assert parse_partial_date(f"{day.day} {name} {year}") == expected
    assert parse_partial_date(f"{name} {year}") == PartialDate(f"{year}-{day.month:02d}")


date_like = st.text(alphabet="0123456789-./:, TZ+MarchSeptJunay\t", max_size=30)


@given(text=st.one_of(st.text(max_size=40), date_like))
def test_any_text_is_a_partial_date_or_an_unreadable_date_naming_it(text: str) -> None:
    try:
        parsed = parse_partial_date(text)
    except UnreadableDate as refused:
        assert refused.text == text
        assert repr(text) in str(refused)
    else:
        assert isinstance(parsed, PartialDate)


@pytest.mark.parametrize(
    "text",
    [
        "03/04/2021",  # 3 April or March 4: ambiguous
        "2021-02-30",  # not in the calendar
        "30.02.2021",
        "31 April 2021",
        "0000",  # year out of range
        "9999-12-31",
        "13/13/2021",  # neither reading is a date
        "Smarch 12, 2021",
        "2021-03-12T24:00:00",
        "2021-03-12+24:00",
        "21-03-12",  # two-digit years are never guessed
        "12.03.21",
        "2021/03/12",
        "",
        "   ",
        "١٢/٠٣/٢٠٢١",  # non-ASCII digits
    ],
)
def test_refusals_name_the_text(text: str) -> None:
    with pytest.raises(UnreadableDate) as refused:
        parse_partial_date(text)
    assert refused.value.text == text
    assert repr(text) in str(refused.value)


def test_a_non_string_is_refused_with_the_documented_error() -> None:
    with pytest.raises(UnreadableDate):
        parse_partial_date(20210312)  # type: ignore[arg-type]
