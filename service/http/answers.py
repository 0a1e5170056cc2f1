"""Rendered answers and their caching (contract section 3), and the wait for the read models.

An answer whose `known_at` is in the past is immutable (strong ETag, `Cache-Control: public,
max-age=31536000, immutable`). "In the past" means at or before the `recorded_at` of the last
committed event: appends are serialised and `recorded_at` never goes backwards, so no later
event can be known at such a K. An answer at "now" carries an ETag tied to the log position,
and `If-None-Match` gets a 304 with no database round trip until the log moves. Rendered
answers are kept in a bounded in-process cache keyed the same way, so a repeated read of a log
that has not moved does not touch the database either.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import Awaitable, Callable

import asyncpg
from litestar import Request, Response

from projections.fold.version import FOLD_VERSION
from service import clock
from service.errors import DatabaseUnavailable
from service.eventlog.store import CONNECTION_ERRORS
from service.http.moment import Moment
from service.http.responses import IMMUTABLE, REVALIDATE, etag_matches, etag_of
from service.readmodels.queries import checkpoint
from service.reads.replicas import ReadRouter

LOG_SIZE_HEADER = "Timeline-Log-Size"
FOLD_VERSION_HEADER = "Timeline-Fold-Version"
READ_MODEL_WAIT_SECONDS = 5.0


class AnswerCache:
    """A bounded LRU of rendered answers (bytes and log size), keyed by what determines them."""

    def __init__(self, size: int = 10_000) -> None:
        self._size = size
        self._items: OrderedDict[tuple, tuple[bytes, int]] = OrderedDict()

    def get(self, key: tuple) -> tuple[bytes, int] | None:
        found = self._items.get(key)
        if found is not None:
            self._items.move_to_end(key)
        return found

    def put(self, key: tuple, value: tuple[bytes, int]) -> None:
        self._items[key] = value
        self._items.move_to_end(key)
        while len(self._items) > self._size:
            self._items.popitem(last=False)


class ReadModelGate:
    """How far the read models are; answers at a moment wait (briefly) for the projector."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool
        self.checkpoint = 0

    def advanced(self, position: int) -> None:
        self.checkpoint = max(self.checkpoint, position)

    async def reach(self, position: int, seconds: float = READ_MODEL_WAIT_SECONDS) -> None:
        deadline = clock.monotonic() + seconds
        while self.checkpoint < position:
            self.advanced(await checkpoint(self._pool))
            if self.checkpoint >= position:
                return
            if clock.monotonic() > deadline:
                raise DatabaseUnavailable(
                    f"the read models are at position {self.checkpoint}, behind {position}; "
                    "retry shortly"
                )
            await asyncio.sleep(0.02)


async def models_for(router: ReadRouter, gate: ReadModelGate, moment: Moment) -> asyncpg.Pool:
    """The pool whose read models answer at `moment`: the replica's once they include its log
    size, else the primary's, once its projector has reached it (a brief wait)."""
    source = await router.for_models(moment.source, moment.position)
    if source is router.primary:
        await gate.reach(moment.position)
    return source.pool


async def serve_cached(
    request: Request,
    answers: AnswerCache,
    router: ReadRouter,
    key: tuple,
    moment: Moment,
    render: Callable[[], Awaitable[bytes]],
) -> Response[bytes]:
    """Serve `render()`'s bytes (JSON unless the caller sets another media type) with the
    caching rules of the contract.

    An answer is immutable for one reading of the log: the fold version is part of the ETag and
    sent as `Timeline-Fold-Version`, so after an upgrade that changes the fold a revalidation
    gets the new answer (a 200, not a 304)."""
    fold = f"F{FOLD_VERSION}"
    if moment.immutable:
        etag = etag_of(*key, "K", moment.known_at.isoformat() if moment.known_at else "", fold)
        headers = {"ETag": etag, "Cache-Control": IMMUTABLE}
        cache_key = (*key, "K", moment.known_at)
    else:
        etag = etag_of(*key, "P", moment.position, moment.known_at, fold)
        headers = {"ETag": etag, "Cache-Control": REVALIDATE}
        cache_key = (*key, "P", moment.position, moment.known_at)
    headers[LOG_SIZE_HEADER] = str(moment.position)
    headers[FOLD_VERSION_HEADER] = str(FOLD_VERSION)
    if etag_matches(request, etag):
        return Response(b"", status_code=304, headers=headers)
    found = answers.get(cache_key)
    if found is None:
        try:
            body = await render()
        except CONNECTION_ERRORS:
            router.failed(moment.source)  # a replica that failed is left alone for a while
            raise
        answers.put(cache_key, (body, moment.position))
    else:
        body = found[0]
    return Response(body, media_type="application/json", headers=headers)
