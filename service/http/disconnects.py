"""A client that leaves in the middle of an answer is normal, not an error.

When an answer fails after it started (a live stream, most often), Litestar re-raises
"Exception caught after response started" and the server logs that line with a traceback that
omits the cause; hundreds of streams ending at once gave hundreds of such tracebacks and hid
what happened. This middleware looks at the cause: a disconnect (the ASGI server's
`ClientDisconnected`, an `OSError` raised by `send` on a closed connection since ASGI 2.4, or a
closed or broken stream) ends the request quietly, with one log line per kind of disconnect per
process; anything else is logged at error level with its cause and traceback, each time, and
still raised.

A plain `OSError` is not taken for a disconnect: a timeout (`TimeoutError` is one) or a reset
of the database's socket is a fault to see. (granian, which `timeline serve` runs, drops a
`send` to a gone client silently, so on it a disconnect raises nothing at all.)
"""

from __future__ import annotations

import logging
from collections.abc import Iterator

import anyio
from litestar.enums import ScopeType
from litestar.exceptions import LitestarException
from litestar.middleware import ASGIMiddleware
from litestar.types import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger("timeline.http")

_BROKEN_STREAMS: tuple[type[BaseException], ...] = (
    anyio.BrokenResourceError,
    anyio.ClosedResourceError,
    anyio.EndOfStream,
)


def _one_disconnect(error: BaseException) -> bool:
    if isinstance(error, _BROKEN_STREAMS):
        return True
    return isinstance(error, OSError) and type(error).__name__ == "ClientDisconnected"


def causes(error: BaseException) -> Iterator[BaseException]:
    """The errors behind `error`: through Litestar's "caught after response started" wrapper
    (its `__cause__`) and into exception groups (a task group's)."""
    if isinstance(error, BaseExceptionGroup):
        for inner in error.exceptions:
            yield from causes(inner)
    elif isinstance(error, LitestarException) and error.__cause__ is not None:
        yield from causes(error.__cause__)
    else:
        yield error


def is_disconnect(error: BaseException) -> bool:
    found = list(causes(error))
    return bool(found) and all(_one_disconnect(e) for e in found)


class DisconnectsAreNormal(ASGIMiddleware):
    scopes = (ScopeType.HTTP,)

    def __init__(self) -> None:
        self.seen: set[str] = set()
        """The kinds of disconnect this process has logged (each is logged once)."""

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        started = False

        async def send_noting_start(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await next_app(scope, receive, send_noting_start)
        except Exception as error:
            if not started:
                raise  # the answer can still be a problem document: Litestar's handlers make it
            kinds = sorted({type(e).__name__ for e in causes(error)})
            if is_disconnect(error):
                kind = ", ".join(kinds)
                if kind not in self.seen:
                    self.seen.add(kind)
                    log.info(
                        "a client left during an answer (%s on %s); this kind is not logged "
                        "again by this process",
                        kind,
                        scope["path"],
                    )
                return
            cause = next(e for e in causes(error) if not _one_disconnect(e))
            log.error(
                "an answer failed after it started (%s on %s)",
                ", ".join(kinds),
                scope["path"],
                exc_info=(type(cause), cause, cause.__traceback__),
            )
            raise
