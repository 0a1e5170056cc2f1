"""The HTTP application. `create_app(settings)` is the one composition root."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

import msgspec
from litestar import Litestar, Request, Response, get
from litestar.datastructures import State

from service.database import open_pool
from service.errors import DomainError, status_of
from service.settings import Settings
from service.store import CONNECTION_ERRORS, EventStore


class LogStatus(msgspec.Struct, frozen=True):
    size: int
    head_hash: str | None


class Health(msgspec.Struct, frozen=True):
    status: str
    database: str
    log: LogStatus | None = None


class Problem(msgspec.Struct, frozen=True, omit_defaults=True):
    """RFC 9457 problem details."""

    type: str
    title: str
    status: int
    detail: str
    field: str | None = None
    instance: str | None = None


PROBLEM_BASE = "https://sanctions-timeline.invalid/problems/"


def problem_response(request: Request, exc: DomainError) -> Response[Problem]:
    status = status_of(exc)
    return Response(
        Problem(
            type=PROBLEM_BASE + exc.slug,
            title=exc.title,
            status=status,
            detail=exc.detail,
            field=exc.field,
            instance=str(request.url.path),
        ),
        status_code=status,
        media_type="application/problem+json",
    )


@get("/health", operation_id="health", summary="Service and database status, with the log size")
async def health(state: State) -> Response[Health]:
    store: EventStore = state.store
    try:
        head = await store.head()
    except CONNECTION_ERRORS:
        return Response(Health(status="unavailable", database="down"), status_code=503)
    return Response(
        Health(
            status="ok",
            database="up",
            log=LogStatus(size=head.position, head_hash=head.hash.hex() if head.position else None),
        )
    )


def create_app(settings: Settings) -> Litestar:
    @contextlib.asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        async with open_pool(settings) as pool:
            app.state.pool = pool
            app.state.store = EventStore(pool)
            yield

    return Litestar(
        route_handlers=[health],
        lifespan=[lifespan],
        exception_handlers={DomainError: problem_response},
        state=State({"settings": settings}),
    )


def app_from_env() -> Litestar:
    """Factory for ASGI servers started by `timeline serve` (settings come by environment)."""
    return create_app(Settings.from_env())
