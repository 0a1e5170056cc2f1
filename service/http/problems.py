"""The one table from domain errors to HTTP statuses (RFC 9457 problems carry slug and title)."""

from __future__ import annotations

from service.errors import (
    BadRequest,
    DatabaseUnavailable,
    DomainError,
    EventRejected,
    IdConflict,
    NotFound,
    NotImplementedHere,
    NotYet,
    StalePosition,
    TooLarge,
    TooManyStreams,
    UnknownReference,
)

HTTP_STATUS: dict[type, int] = {
    EventRejected: 422,
    UnknownReference: 422,
    IdConflict: 409,
    StalePosition: 409,
    NotYet: 409,
    NotFound: 404,
    BadRequest: 400,
    TooLarge: 413,
    NotImplementedHere: 501,
    TooManyStreams: 429,
    DatabaseUnavailable: 503,
    DomainError: 400,
}


def status_of(error: DomainError) -> int:
    """The status of the nearest class of `error` in the table (every DomainError has one)."""
    for cls in type(error).__mro__:
        status = HTTP_STATUS.get(cls)
        if status is not None:
            return status
    return 500
