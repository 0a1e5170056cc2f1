"""World-time dates with honest precision.

`occurred` is written `YYYY`, `YYYY-MM` or `YYYY-MM-DD`. A partial date is an interval
[start, end): `2022` is [2022-01-01, 2023-01-01), `2022-12` is [2022-12-01, 2023-01-01),
`2022-12-15` is [2022-12-15, 2022-12-16).
"""

from __future__ import annotations

import datetime as _dt
import re
from typing import Literal

Precision = Literal["year", "month", "day"]

# The interval's exclusive end must be a representable date, so 9999 itself is out.
MAX_YEAR = 9998

_FORM = re.compile(r"(?P<y>[0-9]{4})(?:-(?P<m>[0-9]{2})(?:-(?P<d>[0-9]{2}))?)?")


class PartialDate:
    """A calendar date known to a year, a month or a day. Immutable, hashable, ordered."""

    __slots__ = ("_end", "_precision", "_start", "_text")

    def __init__(self, text: str) -> None:
        if not isinstance(text, str):
            raise TypeError("a partial date is a string: YYYY, YYYY-MM or YYYY-MM-DD")
        match = _FORM.fullmatch(text)
        if match is None:
            raise ValueError(f"{text!r} is not a date of the form YYYY, YYYY-MM or YYYY-MM-DD")
        year = int(match["y"])
        if not 1 <= year <= MAX_YEAR:
            raise ValueError(f"{text!r}: the year must be between 0001 and {MAX_YEAR}")
        try:
            if match["d"] is not None:
                start = _dt.date(year, int(match["m"]), int(match["d"]))
                end = start + _dt.timedelta(days=1)
                precision: Precision = "day"
            elif match["m"] is not None:
                month = int(match["m"])
                start = _dt.date(year, month, 1)
                end = _dt.date(year + 1, 1, 1) if month == 12 else _dt.date(year, month + 1, 1)
                precision = "month"
            else:
                start = _dt.date(year, 1, 1)
                end = _dt.date(year + 1, 1, 1)
                precision = "year"
        except (ValueError, OverflowError) as exc:
            raise ValueError(f"{text!r} is not a real calendar date ({exc})") from None
        object.__setattr__(self, "_text", text)
        object.__setattr__(self, "_start", start)
        object.__setattr__(self, "_end", end)
        object.__setattr__(self, "_precision", precision)

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError("PartialDate is immutable")

    @classmethod
    def of_day(cls, day: _dt.date) -> PartialDate:
        return cls(day.isoformat())

    @property
    def precision(self) -> Precision:
        return self._precision

    @property
    def start(self) -> _dt.date:
        """First day of the interval (inclusive)."""
        return self._start

    @property
    def end(self) -> _dt.date:
        """First day after the interval (exclusive)."""
        return self._end

    def __str__(self) -> str:
        return self._text

    def __repr__(self) -> str:
        return f"PartialDate({self._text!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, PartialDate) and other._text == self._text

    def __hash__(self) -> int:
        return hash(self._text)

    def sort_key(self) -> tuple[_dt.date, _dt.date]:
        """World order: interval start, then the narrower interval first."""
        return (self._start, self._end)

    def __lt__(self, other: PartialDate) -> bool:
        return self.sort_key() < other.sort_key()

    def __le__(self, other: PartialDate) -> bool:
        return self.sort_key() <= other.sort_key()
