"""What a read route is given: one dependency, `read`, holding the moment of the read and the
app's objects that answer it: a `ReadRequest` (`READ`, the app's), or on a route that reads the
world as of a date a `DatedReadRequest` (`DATED_READ`, set as the handler's own `read`).

One dependency and not one per object: Litestar resolves a level of a handler's dependencies
that holds more than one inside an anyio task group, a task per dependency, on every request.
For a read that is answered from the cache those tasks cost more than the answer. Each provider
here takes `state` (the app's own, not a dependency) and the typed query parameters, so a read
handler's dependencies are one level of one.

The parameters are those of every read route: `known_at` (transaction time, with a time zone;
default now) and, for a dated read, `as_of` (world date; default today, UTC). A bad value, a
date-time that leaves the calendar when moved to UTC included, is a 400 problem naming it.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated

import asyncpg
from litestar import Request, Response
from litestar.datastructures import State
from litestar.di import Provide
from litestar.params import Parameter

from service import clock
from service.eventlog.watch import LogWatcher
from service.http.answers import AnswerCache, ReadModelGate, models_for, serve_cached
from service.http.moment import AS_OF_HELP, KNOWN_AT_HELP, Moment, known_at_utc, moment_at
from service.reads.replicas import ReadRouter
from service.settings import Settings


@dataclass(frozen=True, slots=True)
class ReadRequest:
    """A read at one moment of transaction time, and the app's objects that answer it."""

    moment: Moment
    answers: AnswerCache
    router: ReadRouter
    gate: ReadModelGate
    settings: Settings
    watcher: LogWatcher

    async def models(self) -> asyncpg.Pool:
        """The pool whose read models answer at this moment (service/http/answers.py)."""
        return await models_for(self.router, self.gate, self.moment)

    async def serve(
        self, request: Request, key: tuple, render: Callable[[], Awaitable[bytes]]
    ) -> Response[bytes]:
        """`render()`'s bytes with the caching rules of the contract (`serve_cached`)."""
        return await serve_cached(request, self.answers, self.router, key, self.moment, render)


@dataclass(frozen=True, slots=True)
class DatedReadRequest(ReadRequest):
    """A read of the world as of a date (`day`), at one moment of transaction time."""

    day: _dt.date


async def _read_request(state: State, known_at: _dt.datetime | None) -> ReadRequest:
    router: ReadRouter = state["router"]
    watcher: LogWatcher = state["watcher"]
    moment = await moment_at(router, watcher, known_at_utc(known_at))
    return ReadRequest(moment, state["answers"], router, state["gate"], state["settings"], watcher)


async def provide_read(
    state: State,
    known_at: Annotated[_dt.datetime | None, Parameter(description=KNOWN_AT_HELP)] = None,
) -> ReadRequest:
    return await _read_request(state, known_at)


async def provide_dated_read(
    state: State,
    as_of: Annotated[_dt.date | None, Parameter(description=AS_OF_HELP)] = None,
    known_at: Annotated[_dt.datetime | None, Parameter(description=KNOWN_AT_HELP)] = None,
) -> DatedReadRequest:
    read = await _read_request(state, known_at)
    day = as_of if as_of is not None else clock.now().date()
    return DatedReadRequest(
        read.moment, read.answers, read.router, read.gate, read.settings, read.watcher, day
    )


READ = Provide(provide_read)
DATED_READ = Provide(provide_dated_read)
