"""Domain errors of the service. Their HTTP statuses are one table: service/http/problems.py."""

from __future__ import annotations


class DomainError(Exception):
    """Base of every error the service answers with a problem document."""

    slug: str = "bad-request"
    title: str = "Bad request"

    def __init__(self, detail: str, *, field: str | None = None, **extra: object) -> None:
        super().__init__(detail)
        self.detail = detail
        self.field = field
        self.extra = extra


class EventRejected(DomainError):
    """An event breaks a rule of the contract (shape, date, a reference)."""

    slug = "invalid-event"
    title = "The event is not valid"


class UnknownReference(EventRejected):
    """The subject, a referenced entity or a superseded event is not in the log (or not fit)."""

    slug = "unknown-reference"
    title = "The event names something the log does not have"


class IdConflict(DomainError):
    """An event id is reused with different content."""

    slug = "id-conflict"
    title = "The event id is already used for other content"


class StalePosition(DomainError):
    """The stream of an entity moved past the position the writer expected."""

    slug = "stale-expected-position"
    title = "The entity's stream is not at the expected position"


class BadRequest(DomainError):
    slug = "bad-request"
    title = "The request is malformed"


class TooLarge(DomainError):
    slug = "too-large"
    title = "The request is too large"


class NotFound(DomainError):
    slug = "not-found"
    title = "Not found"


class NotImplementedHere(DomainError):
    """A valid request for something this service does not serve (oEmbed: a format not json)."""

    slug = "not-implemented"
    title = "Not implemented"


class TooManyStreams(DomainError):
    """A client holds as many live streams as it may (`TIMELINE_SSE_STREAMS_PER_CLIENT`)."""

    slug = "too-many-streams"
    title = "Too many live streams from this client"


class DatabaseUnavailable(DomainError):
    slug = "database-unavailable"
    title = "The database cannot be reached"


class Cancelled(DatabaseUnavailable):
    """The database cancelled the statement and rolled its transaction back: a hot standby
    replaying a change that conflicts with the read, a serialization failure or a deadlock
    (SQLSTATE class 40). Nothing was changed; the same request is likely to succeed when
    retried (`retry_after` seconds, in `extra`)."""

    slug = "cancelled"
    title = "The database cancelled the request; nothing was changed, retry"


class NotYet(DomainError):
    """The service has not caught up with something the log already has; retry shortly
    (`retry_after` seconds, in `extra`)."""

    slug = "not-yet"
    title = "Not ready yet"
