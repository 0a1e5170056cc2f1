"""HTTP plumbing shared by the routes: problem details, caching headers, type support."""

from __future__ import annotations

import hashlib
import logging
import re
from typing import Any

import asyncpg
import msgspec
from litestar import Request, Response
from litestar.exceptions import HTTPException, ValidationException
from litestar.openapi.plugins import JsonRenderPlugin
from litestar.openapi.spec import Schema
from litestar.plugins import OpenAPISchemaPlugin
from litestar.typing import FieldDefinition

from events import EventInvalid, PartialDate
from service.errors import Cancelled, DatabaseUnavailable, DomainError
from service.eventlog.store import CONNECTION_ERRORS
from service.http.problems import status_of

PROBLEM_BASE = "https://sanctions-timeline.invalid/problems/"
PROBLEM_MEDIA_TYPE = "application/problem+json"
IMMUTABLE = "public, max-age=31536000, immutable"
REVALIDATE = "public, no-cache"
CANCELLED_RETRY_AFTER = 1
"""Seconds a client is asked to wait before retrying a request the database cancelled."""

log = logging.getLogger("timeline.http")


class Problem(msgspec.Struct, frozen=True, omit_defaults=True):
    """RFC 9457 problem details. `field` names the offending input, as a path."""

    type: str
    title: str
    status: int
    detail: str
    field: str | None = None
    instance: str | None = None


def problem(
    request: Request, *, status: int, slug: str, title: str, detail: str, field: str | None = None
) -> Response[Problem]:
    headers = {"WWW-Authenticate": 'Bearer realm="timeline"'} if status == 401 else None
    return Response(
        Problem(
            type=PROBLEM_BASE + slug,
            title=title,
            status=status,
            detail=detail,
            field=field,
            instance=str(request.url.path),
        ),
        status_code=status,
        media_type=PROBLEM_MEDIA_TYPE,
        headers=headers,
    )


def on_domain_error(request: Request, exc: DomainError) -> Response[Problem]:
    response = problem(
        request,
        status=status_of(exc),
        slug=exc.slug,
        title=exc.title,
        detail=exc.detail,
        field=exc.field,
    )
    retry_after = exc.extra.get("retry_after")
    if retry_after is not None:
        response.headers["Retry-After"] = str(retry_after)
    return response


def on_event_invalid(request: Request, exc: EventInvalid) -> Response[Problem]:
    return problem(
        request,
        status=422,
        slug="invalid-event",
        title="The event is not valid",
        detail=exc.detail,
        field=exc.field,
    )


_MISSING = re.compile(r"parameter '([^']+)'")

_HTTP_SLUGS = {
    400: ("bad-request", "Bad request"),
    401: ("unauthorized", "A bearer token is needed"),
    403: ("forbidden", "The token does not allow this"),
    404: ("not-found", "Not found"),
    405: ("method-not-allowed", "Method not allowed"),
    413: ("too-large", "The request is too large"),
    415: ("unsupported-media-type", "Unsupported media type"),
}


def on_http_exception(request: Request, exc: HTTPException) -> Response[Problem]:
    status = exc.status_code
    slug, title = _HTTP_SLUGS.get(status, ("error", "Error"))
    field = None
    detail = exc.detail
    if isinstance(exc, ValidationException):
        slug, title = "invalid-parameter", "A parameter is not valid"
        if isinstance(exc.extra, list) and exc.extra and isinstance(exc.extra[0], dict):
            field = exc.extra[0].get("key")
            detail = f"{exc.extra[0].get('message', detail)}"
    if field is None and status == 400:
        named = _MISSING.search(str(detail))  # "Missing required query parameter 'from' ..."
        if named is not None:
            field = named[1]
    if status >= 500:
        slug, title = "server-error", "Internal server error"
    return problem(request, status=status, slug=slug, title=title, detail=detail, field=field)


def on_connection_error(request: Request, exc: Exception) -> Response[Problem]:
    return on_domain_error(request, DatabaseUnavailable(f"the database cannot be reached: {exc}"))


def on_unexpected(request: Request, exc: Exception) -> Response[Problem]:
    if isinstance(exc, CONNECTION_ERRORS):
        return on_connection_error(request, exc)
    if isinstance(exc, asyncpg.TransactionRollbackError):
        cancelled = Cancelled(f"{exc} (SQLSTATE {exc.sqlstate})", retry_after=CANCELLED_RETRY_AFTER)
        return on_domain_error(request, cancelled)
    log.exception("unexpected error on %s", request.url.path, exc_info=exc)
    return problem(
        request,
        status=500,
        slug="server-error",
        title="Internal server error",
        detail="an unexpected error occurred; it has been logged",
    )


EXCEPTION_HANDLERS: dict[Any, Any] = {
    DomainError: on_domain_error,
    EventInvalid: on_event_invalid,
    HTTPException: on_http_exception,
    Exception: on_unexpected,
}


def etag_of(*parts: object) -> str:
    """A strong ETag from the parts that determine an answer's bytes."""
    digest = hashlib.sha256("\x1f".join(map(str, parts)).encode()).hexdigest()[:32]
    return f'"{digest}"'


def etag_matches(request: Request, etag: str) -> bool:
    header = request.headers.get("if-none-match")
    if not header:
        return False
    if header.strip() == "*":
        return True
    return etag in {tag.strip().removeprefix("W/") for tag in header.split(",")}


class PartialDateSchemaPlugin(OpenAPISchemaPlugin):
    """OpenAPI for `PartialDate`: a string YYYY, YYYY-MM or YYYY-MM-DD."""

    @staticmethod
    def is_plugin_supported_type(value: Any) -> bool:
        return value is PartialDate

    def to_openapi_schema(self, field_definition: FieldDefinition, schema_creator: Any) -> Schema:
        from litestar.openapi.spec import OpenAPIType

        return Schema(
            type=OpenAPIType.STRING,
            pattern=r"^[0-9]{4}(-[0-9]{2}(-[0-9]{2})?)?$",
            description="A date known to a year, a month or a day: YYYY, YYYY-MM or YYYY-MM-DD.",
            examples=["2022", "2022-12", "2022-12-16"],
        )


TYPE_ENCODERS: dict[Any, Any] = {PartialDate: str}


def _tidy_schema(node: Any) -> Any:
    """Litestar writes a variadic tuple's items as `oneOf: [X, {}]`, which no value can satisfy
    (anything matching X matches `{}` too, and oneOf wants exactly one): keep X. Likewise
    `int | float` becomes `oneOf: [integer, number]`: keep number."""
    if isinstance(node, dict):
        node = {key: _tidy_schema(value) for key, value in node.items()}
        one_of = node.get("oneOf")
        if (
            isinstance(one_of, list)
            and {"type": "number"} in one_of
            and {"type": "integer"} in one_of
        ):
            # `int | float`: an integer is a number too, so oneOf would match twice.
            node["oneOf"] = one_of = [option for option in one_of if option != {"type": "integer"}]
        if isinstance(one_of, list) and len(one_of) == 2 and {} in one_of:
            (kept,) = [option for option in one_of if option != {}]
            del node["oneOf"]
            node = {**kept, **node}
        return node
    if isinstance(node, list):
        return [_tidy_schema(value) for value in node]
    return node


class TidyJsonRenderPlugin(JsonRenderPlugin):
    """The OpenAPI document as JSON, with `_tidy_schema` applied."""

    def render(self, request: Request, openapi_schema: dict[str, Any]) -> bytes:
        return super().render(request, _tidy_schema(openapi_schema))
