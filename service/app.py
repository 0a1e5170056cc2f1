"""The HTTP application. `create_app(settings)` is the one composition root."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import msgspec
from litestar import Litestar, Response, get
from litestar.config.cors import CORSConfig
from litestar.datastructures import State
from litestar.openapi import OpenAPIConfig

from service import api_audit, api_embed, api_events, api_reads, api_timeline
from service.api_reads import AnswerCache, ReadModelGate
from service.database import open_pool
from service.http import (
    EXCEPTION_HANDLERS,
    TYPE_ENCODERS,
    PartialDateSchemaPlugin,
    TidyJsonRenderPlugin,
)
from service.readmodels import Projector, stop_quietly
from service.settings import Settings
from service.store import CONNECTION_ERRORS, EventStore
from service.tokens import TokenChecker
from service.watch import LogWatcher


class LogStatus(msgspec.Struct, frozen=True):
    size: int
    head_hash: str | None


class Alive(msgspec.Struct, frozen=True):
    status: str


@get(
    "/health/live",
    operation_id="healthLive",
    summary="Liveness: the process answers (no database round trip)",
    tags=["operations"],
    cache_control=None,
)
async def alive() -> Response[Alive]:
    return Response(Alive(status="ok"), headers={"Cache-Control": "no-store"})


class Health(msgspec.Struct, frozen=True):
    status: str
    database: str
    log: LogStatus | None = None


@get(
    "/health",
    operation_id="health",
    summary="Service and database status, with the log size",
    tags=["operations"],
    cache_control=None,
)
async def health(state: State) -> Response[Health]:
    store: EventStore = state.store
    try:
        head = await store.head()
    except CONNECTION_ERRORS:
        return Response(
            Health(status="unavailable", database="down"),
            status_code=503,
            headers={"Cache-Control": "no-store"},
        )
    return Response(
        Health(
            status="ok",
            database="up",
            log=LogStatus(size=head.position, head_hash=head.hash.hex() if head.position else None),
        ),
        headers={"Cache-Control": "no-store"},
    )


def create_app(settings: Settings) -> Litestar:
    @contextlib.asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        async with open_pool(settings) as pool:
            watcher = LogWatcher(pool)
            await watcher.start()
            app.state.pool = pool
            app.state.store = EventStore(pool)
            app.state.watcher = watcher
            app.state.tokens = TokenChecker(pool)
            gate = ReadModelGate(pool)
            app.state.gate = gate
            app.state.answers = AnswerCache()
            await api_audit.start(app.state, settings)
            projector = asyncio.create_task(
                Projector(pool).run(watcher.wait_beyond, on_progress=gate.advanced),
                name="projector",
            )
            try:
                yield
            finally:
                await stop_quietly(projector)
                await api_audit.stop(app.state)
                await watcher.stop()

    return Litestar(
        route_handlers=[
            health,
            alive,
            *api_events.ROUTES,
            *api_reads.ROUTES,
            *api_timeline.ROUTES,
            *api_audit.ROUTES,
            *api_embed.ROUTES,
            api_embed.assets_router(),
        ],
        lifespan=[lifespan],
        exception_handlers=EXCEPTION_HANDLERS,
        state=State({"settings": settings}),
        type_encoders=TYPE_ENCODERS,
        plugins=[PartialDateSchemaPlugin()],
        request_max_body_size=settings.max_body_bytes,
        cors_config=CORSConfig(
            allow_origins=["*"], allow_methods=["GET", "HEAD", "OPTIONS"], max_age=86400
        ),
        openapi_config=OpenAPIConfig(
            title="sanctions-timeline",
            version="1",
            description="Sanctions and industry milestones as of any date, as the log knew it "
            "at any moment.",
            path="/schema",
            render_plugins=[TidyJsonRenderPlugin()],
        ),
    )


def app_from_env() -> Litestar:
    """Factory for ASGI servers started by `timeline serve` (settings come by environment)."""
    return create_app(Settings.from_env())
