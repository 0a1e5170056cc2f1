"""Independent counts over a UN Security Council Consolidated List XML file.

The acceptance oracle for what the service derives from the list: written with plain
ElementTree over the whole document, sharing no code with `service.ingest`, so a mistake in the
service's reader or mapping cannot hide in both.
"""

from __future__ import annotations

import datetime as _dt
import functools
import xml.etree.ElementTree as ET
from collections import Counter
from pathlib import Path

DESIGNATION_TAGS = ("INDIVIDUALS/INDIVIDUAL", "ENTITIES/ENTITY")


@functools.cache
def _listings(path: Path) -> tuple[tuple[str, _dt.date], ...]:
    """(UN_LIST_TYPE, LISTED_ON day) of every designation. A LISTED_ON may carry a time zone
    (`2015-04-07-04:00`): its first ten characters are the day as written. Read once a file:
    the tests' files do not change while they run."""
    root = ET.parse(path).getroot()  # noqa: S314 (the repository's own fixture)
    out = []
    for tag in DESIGNATION_TAGS:
        for record in root.findall(tag):
            regime = (record.findtext("UN_LIST_TYPE") or "").strip()
            listed_on = (record.findtext("LISTED_ON") or "").strip()
            out.append((regime, _dt.date.fromisoformat(listed_on[:10])))
    return tuple(out)


def members_as_of(path: Path, as_of: _dt.date) -> dict[str, int]:
    """Designations of each regime listed on or before `as_of`: the number of records of that
    UN_LIST_TYPE with LISTED_ON <= as_of. Regimes with none by then are absent."""
    return dict(Counter(regime for regime, listed_on in _listings(path) if listed_on <= as_of))


def members_on_each_listing_date(path: Path) -> dict[_dt.date, dict[str, int]]:
    """`members_as_of` on every day some designation was listed on, in date order: a regime's
    count changes only on those days (the file says nothing of delistings)."""
    running: Counter[str] = Counter()
    out: dict[_dt.date, dict[str, int]] = {}
    for regime, listed_on in sorted(_listings(path), key=lambda listing: listing[1]):
        running[regime] += 1
        out[listed_on] = dict(running)
    return out


def date_generated(path: Path) -> _dt.datetime:
    """The snapshot's `dateGenerated`, an aware datetime."""
    root = ET.parse(path).getroot()  # noqa: S314 (the repository's own fixture)
    return _dt.datetime.fromisoformat(root.attrib["dateGenerated"])
