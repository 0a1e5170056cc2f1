"""Query strings: raw UTF-8 read as UTF-8, and strict parameters.

A client may send text in a query string unencoded (curl does: `?q=長江存儲`); Litestar reads
raw bytes as Latin-1, so `percent_encode_raw_bytes` encodes them first and the raw and the
percent-encoded forms of a query are one and the same request.

A parameter a route does not take, or one given twice, is a 400.

A misspelt parameter (`asof=`) would otherwise be ignored and the answer silently be for
today; a repeated one (`as_of=..&as_of=..`) would be last-wins. The names a route takes are
those Litestar parses for it (its handler's and its dependencies' query parameters), so the
rule follows the signatures; a parameter declared as a list may repeat.
"""

from __future__ import annotations

import re
import weakref
from typing import Any, cast
from urllib.parse import parse_qsl

from litestar.connection import ASGIConnection
from litestar.handlers.base import BaseRouteHandler
from litestar.types import ASGIApp, Receive, Scope, Send

from service.errors import BadRequest

_TAKEN: weakref.WeakKeyDictionary[BaseRouteHandler, tuple[frozenset[str], frozenset[str]]] = (
    weakref.WeakKeyDictionary()
)


_RAW_BYTE = re.compile(rb"[\x80-\xff]")


def percent_encode_raw_bytes(app: ASGIApp) -> ASGIApp:
    """Middleware: every byte >= 0x80 of the query string as %XX, before anything parses it."""

    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        query = scope.get("query_string", b"")
        if query and _RAW_BYTE.search(query):
            scope["query_string"] = _RAW_BYTE.sub(lambda m: b"%%%02X" % m[0][0], query)
        await app(scope, receive, send)

    return middleware


class UnknownParameter(BadRequest):
    slug = "unknown-parameter"
    title = "The route does not take this query parameter"


class RepeatedParameter(BadRequest):
    slug = "repeated-parameter"
    title = "A query parameter is given more than once"


def _taken(connection: ASGIConnection) -> tuple[frozenset, frozenset]:
    """(names the route takes, names that may repeat), from the handler's kwargs model, worked
    out once per route. Keyed by the connection's route handler, the app's own: the one a guard
    is given is a copy made for each request, so a cache keyed by it would never hit."""
    handler: BaseRouteHandler = connection.route_handler
    found = _TAKEN.get(handler)
    if found is None:
        path_parameters = cast("dict[str, Any]", dict.fromkeys(connection.path_params))
        model = handler.create_kwargs_model(path_parameters)
        names = frozenset(p.field_alias for p in model.expected_query_params)
        found = (names, frozenset(model.sequence_query_parameter_names))
        _TAKEN[handler] = found
    return found


async def strict_query(connection: ASGIConnection, handler: BaseRouteHandler) -> None:
    if "\x00" in connection.scope.get("path", ""):  # no file, id or route has one
        raise BadRequest("must not hold a NUL character", field="path")
    query = connection.scope.get("query_string", b"")
    if not query or connection.scope.get("method") == "OPTIONS":
        return  # a CORS preflight answers for the route, whatever its query says
    taken, repeatable = _taken(connection)
    seen: set[str] = set()
    for name, _ in parse_qsl(query.decode("utf-8", "replace"), keep_blank_values=True):
        if name not in taken:
            expected = ", ".join(sorted(taken)) or "none"
            raise UnknownParameter(
                f"this route takes no query parameter {name!r} (it takes: {expected})",
                field=name,
            )
        if name in seen and name not in repeatable:
            raise RepeatedParameter(f"{name!r} is given more than once", field=name)
        seen.add(name)
