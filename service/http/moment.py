"""The moment of a read: the world date (`as_of`) and the transaction time (`known_at`), and
where on the log a transaction time stands.

Read routes are given them by one dependency (service/http/read_request.py) with typed query
parameters, so every read route parses them the same way and every bad value, a date-time that
leaves the calendar when moved to UTC included, is a 400 problem naming the parameter. The
parsers here serve dates and moments taken as text (`from` and `to`, widget URLs).
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass

from service.errors import BadRequest
from service.eventlog.store import EventStore
from service.eventlog.watch import LogWatcher
from service.reads.replicas import ReadRouter, ReadSource

KNOWN_AT_HELP = "ISO 8601 date-time with a time zone (default: now)"
AS_OF_HELP = "YYYY-MM-DD (default: today, UTC)"


def known_at_utc(moment: _dt.datetime | None, field: str = "known_at") -> _dt.datetime | None:
    """`moment` in UTC; BadRequest naming `field` if it has no zone or leaves the calendar
    (9999-12-31T23:59:59-01:00 is after year 9999 in UTC)."""
    if moment is None:
        return None
    if moment.tzinfo is None:
        raise BadRequest("must include a time zone (e.g. Z or +08:00)", field=field)
    try:
        return moment.astimezone(_dt.UTC)
    except OverflowError:
        raise BadRequest("is outside the years 1 to 9999 once moved to UTC", field=field) from None


def parse_known_at(value: str | None, field: str = "known_at") -> _dt.datetime | None:
    """A `known_at` given as text (the embed's parameters, oEmbed URLs)."""
    if value is None or value == "":
        return None
    try:
        moment = _dt.datetime.fromisoformat(value)
    except ValueError:
        raise BadRequest(
            "must be an ISO 8601 date-time with a time zone, e.g. 2024-06-01T00:00:00Z",
            field=field,
        ) from None
    return known_at_utc(moment, field)


def parse_day(value: str | None, field: str, default: _dt.date | None = None) -> _dt.date:
    if value is None or value == "":
        if default is None:
            raise BadRequest("is required: a date YYYY-MM-DD", field=field)
        return default
    try:
        return _dt.date.fromisoformat(value)
    except ValueError:
        raise BadRequest("must be a date YYYY-MM-DD", field=field) from None


@dataclass(frozen=True, slots=True)
class Moment:
    """Where an answer stands on the transaction-time axis, and where its log is read."""

    known_at: _dt.datetime | None
    position: int
    immutable: bool
    source: ReadSource
    """The primary, or a read replica for an immutable answer (service/reads/replicas.py)."""

    @property
    def store(self) -> EventStore:
        return self.source.store


async def moment_at(
    router: ReadRouter, watcher: LogWatcher, known_at: _dt.datetime | None
) -> Moment:
    """`now` is the log position this process knows; a past K is immutable once the log's last
    committed `recorded_at` has reached it, and may then be read from a replica."""
    if known_at is None:
        return Moment(None, watcher.position, immutable=False, source=router.primary)
    source, position, immutable = await router.at(known_at)
    return Moment(known_at, position, immutable=immutable, source=source)
