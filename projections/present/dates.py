"""Dates as a reader sees them, in `en`, `zh-Hans` and `zh-Hant`: month names live here only.

`format_date(day, lang)`: "10 Nov 2026" / "2026年11月10日". `display_date(occurred, precision,
lang)`: a partial date at its precision ("Dec 2022", "2022年12月", "2025年"). Pure.
"""

from __future__ import annotations

import datetime as _dt

MONTHS_EN = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def _chinese(lang: str) -> bool:
    return lang in ("zh-Hans", "zh-Hant")


def format_date(day: _dt.date, lang: str) -> str:
    """`10 Nov 2026` in English, `2026年11月10日` in Chinese."""
    return display_date(day.isoformat(), "day", lang)


def display_date(occurred: str, precision: str, lang: str) -> str:
    """A date (`YYYY`, `YYYY-MM` or `YYYY-MM-DD`) at its precision: "16 Dec 2022", "Dec 2022",
    "2022"; "2022年12月16日", "2022年12月", "2022年"."""
    parts = [int(p) for p in occurred.split("-")]
    year = parts[0]
    if _chinese(lang):
        if precision == "year":
            return f"{year}年"
        if precision == "month":
            return f"{year}年{parts[1]}月"
        return f"{year}年{parts[1]}月{parts[2]}日"
    if precision == "year":
        return f"{year}"
    if precision == "month":
        return f"{MONTHS_EN[parts[1] - 1]} {year}"
    return f"{parts[2]} {MONTHS_EN[parts[1] - 1]} {year}"
