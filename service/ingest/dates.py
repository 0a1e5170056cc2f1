"""Tolerant reading of the dates that published lists write, into the log's `PartialDate`.

Only importers use this; the HTTP API stays strict (`YYYY`, `YYYY-MM`, `YYYY-MM-DD`).
`parse_partial_date` reads, after trimming surrounding whitespace:

- ISO `YYYY-MM-DD`, `YYYY-MM`, `YYYY` (same precision as written);
- an ISO date-time, `YYYY-MM-DDThh:mm[:ss[.fff]]` with an optional `Z` or `+hh:mm`/`-hh:mm`
  (a space may stand for the `T`), and an XML Schema date with a time zone, `YYYY-MM-DDZ`,
  `YYYY-MM-DD-04:00`: the day as written. The zone is not applied: a list dates its acts in
  its own calendar, and moving `2015-04-07-04:00` to UTC would not make it another day of the
  Security Council's;
- day-first dotted dates, `DD.MM.YYYY` or `D.M.YYYY` (the dot is a day-first convention);
- slash dates, `DD/MM/YYYY` or `MM/DD/YYYY`, only when unambiguous: both readings are tried,
  and the date is taken when exactly one calendar date comes out (`25/12/2021`, `12/25/2021`,
  `05/05/2021`). `03/04/2021` is refused: it is the 3rd of April or March the 4th, and a list
  does not say which convention it follows;
- English month names, full or abbreviated, with or without a dot: `March 12, 2021`,
  `Mar. 12, 2021`, `12 March 2021`, `12 Mar 2021` (the day), `March 2021` (the month).

Anything else raises `UnreadableDate`, a `ValueError` naming the text. Years are 0001 to
`events.dates.MAX_YEAR` (9998), written with four digits.
"""

from __future__ import annotations

import datetime as _dt
import functools
import re
from collections.abc import Callable

from events.dates import PartialDate

_MONTHS = {
    name: number
    for number, names in enumerate(
        (
            ("january", "jan"),
            ("february", "feb"),
            ("march", "mar"),
            ("april", "apr"),
            ("may",),
            ("june", "jun"),
            ("july", "jul"),
            ("august", "aug"),
            ("september", "sep", "sept"),
            ("october", "oct"),
            ("november", "nov"),
            ("december", "dec"),
        ),
        start=1,
    )
    for name in names
}

_ISO = re.compile(r"(?P<y>[0-9]{4})(?:-(?P<m>[0-9]{2})(?:-(?P<d>[0-9]{2}))?)?")
_ZONE = r"(?:Z|[+-](?P<zh>[0-9]{2}):(?P<zm>[0-9]{2}))"
_ISO_DATETIME = re.compile(
    r"(?P<y>[0-9]{4})-(?P<m>[0-9]{2})-(?P<d>[0-9]{2})[T ]"
    r"(?P<H>[0-9]{2}):(?P<M>[0-9]{2})(?::(?P<S>[0-9]{2})(?:\.[0-9]{1,9})?)?" + _ZONE + "?"
)
_ZONED_DATE = re.compile(r"(?P<y>[0-9]{4})-(?P<m>[0-9]{2})-(?P<d>[0-9]{2})" + _ZONE)
_DOTTED = re.compile(r"(?P<d>[0-9]{1,2})\.(?P<m>[0-9]{1,2})\.(?P<y>[0-9]{4})")
_SLASHED = re.compile(r"(?P<a>[0-9]{1,2})/(?P<b>[0-9]{1,2})/(?P<y>[0-9]{4})")
_MONTH_FIRST = re.compile(r"(?P<mon>[A-Za-z]+)\.? +(?P<d>[0-9]{1,2}), *(?P<y>[0-9]{4})")
_DAY_FIRST = re.compile(r"(?P<d>[0-9]{1,2}) +(?P<mon>[A-Za-z]+)\.?,? +(?P<y>[0-9]{4})")
_MONTH_YEAR = re.compile(r"(?P<mon>[A-Za-z]+)\.?,? +(?P<y>[0-9]{4})")

FORMS = (
    "YYYY-MM-DD, YYYY-MM, YYYY, an ISO date-time, DD.MM.YYYY, an unambiguous DD/MM/YYYY, "
    "'March 12, 2021', 'Mar. 12, 2021', '12 March 2021' or 'March 2021'"
)


class UnreadableDate(ValueError):
    """A date an importer cannot read. `text` is the text as given."""

    def __init__(self, text: str, reason: str) -> None:
        super().__init__(f"{text!r} is not a date this importer reads: {reason}")
        self.text = text
        self.reason = reason


def parse_partial_date(text: str) -> PartialDate:
    """The `PartialDate` that `text` writes, in any of the forms above; else `UnreadableDate`."""
    if not isinstance(text, str):
        raise UnreadableDate(repr(text), "not a string")
    return _parsed(text)


@functools.lru_cache(maxsize=1 << 14)
def _parsed(text: str) -> PartialDate:
    """Cached (a refusal is not): a list repeats few distinct dates."""
    written = text.strip()
    if _ISO.fullmatch(written) is not None:
        return _checked(text, PartialDate, written)
    if (match := _ISO_DATETIME.fullmatch(written) or _ZONED_DATE.fullmatch(written)) is not None:
        fields = match.groupdict()
        if fields.get("H") is not None and not _is_clock(fields["H"], fields["M"], fields["S"]):
            raise UnreadableDate(text, "not a real time of day")
        if fields["zh"] is not None and not _is_clock(fields["zh"], fields["zm"], None):
            raise UnreadableDate(text, "not a real time zone offset")
        return _day(text, match["y"], match["m"], match["d"])
    if (match := _DOTTED.fullmatch(written)) is not None:
        return _day(text, match["y"], match["m"], match["d"])
    if (match := _SLASHED.fullmatch(written)) is not None:
        return _slashed(text, int(match["y"]), int(match["a"]), int(match["b"]))
    if (match := _MONTH_FIRST.fullmatch(written) or _DAY_FIRST.fullmatch(written)) is not None:
        return _day(text, match["y"], _month(text, match["mon"]), match["d"])
    if (match := _MONTH_YEAR.fullmatch(written)) is not None:
        return _checked(text, PartialDate, f"{match['y']}-{_month(text, match['mon']):02d}")
    raise UnreadableDate(text, f"expected {FORMS}")


def _is_clock(hours: str, minutes: str, seconds: str | None) -> bool:
    return int(hours) <= 23 and int(minutes) <= 59 and int(seconds or 0) <= 59


def _month(text: str, name: str) -> int:
    number = _MONTHS.get(name.lower())
    if number is None:
        raise UnreadableDate(text, f"{name!r} is not an English month name")
    return number


def _day(text: str, year: str | int, month: str | int, day: str | int) -> PartialDate:
    return _checked(text, _of_day, int(year), int(month), int(day))


def _of_day(year: int, month: int, day: int) -> PartialDate:
    return PartialDate.of_day(_dt.date(year, month, day))


def _slashed(text: str, year: int, first: int, second: int) -> PartialDate:
    readings: set[_dt.date] = set()
    for month, day in ((second, first), (first, second)):
        try:
            readings.add(_dt.date(year, month, day))
        except ValueError:
            continue
    if len(readings) > 1:
        raise UnreadableDate(
            text,
            "ambiguous: it reads as day/month and as month/day; write YYYY-MM-DD or a month name",
        )
    if not readings:
        raise UnreadableDate(text, "not a real calendar date")
    return _checked(text, PartialDate.of_day, readings.pop())


def _checked(text: str, build: Callable[..., PartialDate], *args: object) -> PartialDate:
    """`build(*args)`, with a calendar or range error (the year 0000, the 30th of February, a
    year past `MAX_YEAR`) raised as `UnreadableDate` naming `text`."""
    try:
        return build(*args)
    except (ValueError, OverflowError) as exc:
        raise UnreadableDate(text, str(exc)) from None
