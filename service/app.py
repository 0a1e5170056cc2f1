"""The HTTP application. `create_app(settings)` is the one composition root."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import signal
from collections.abc import AsyncIterator, Iterator

import msgspec
from litestar import Litestar, Response, get
from litestar.config.cors import CORSConfig
from litestar.datastructures import State
from litestar.openapi import OpenAPIConfig

from service import api_audit, api_embed, api_events, api_reads, api_timeline, clock, readmodels
from service.api_reads import AnswerCache, ReadModelGate
from service.database import open_pool, open_read_pool
from service.disconnects import DisconnectsAreNormal
from service.http import (
    EXCEPTION_HANDLERS,
    TYPE_ENCODERS,
    PartialDateSchemaPlugin,
    TidyJsonRenderPlugin,
)
from service.logs import configure_logging
from service.observability import Metrics, ObservedRequests, metrics_endpoint, metrics_from_env
from service.readmodels import Projector, follow_projector, stop_quietly
from service.routing import ReadRouter
from service.settings import Settings
from service.stall import Follower
from service.store import CONNECTION_ERRORS, EventStore, LogHead
from service.streams import StreamSlots
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


class Health(msgspec.Struct, frozen=True, omit_defaults=True):
    status: str
    """ok; degraded (the database answers, but something that follows the log is stuck); or
    unavailable (the database does not answer)."""
    database: str
    log: LogStatus | None = None
    stalled: dict[str, float] | None = None
    """When degraded: what is stuck (log-watcher, read-models, merkle-tree), and for how many
    seconds."""


@dataclasses.dataclass
class Followers:
    """What `/health` remembers between calls: how long each follower of the log is stuck."""

    read_models: Follower = dataclasses.field(default_factory=Follower)
    merkle_tree: Follower = dataclasses.field(default_factory=Follower)


def _stalled(state: State, head: int, read_models: int) -> dict[str, float]:
    """What follows the log and has been stuck for `stall_seconds` or more."""
    settings: Settings = state.settings
    watcher: LogWatcher = state.watcher
    followers: Followers = state.followers
    now = clock.monotonic()
    stuck = {
        "log-watcher": watcher.overdue_for(),
        "read-models": followers.read_models.stuck_for(head, read_models, now),
        "merkle-tree": followers.merkle_tree.stuck_for(head, state.tree.size, now),
    }
    return {
        name: round(seconds, 1)
        for name, seconds in stuck.items()
        if seconds >= settings.stall_seconds
    }


@get(
    "/health",
    operation_id="health",
    summary="Service and database status, with the log size",
    tags=["operations"],
    cache_control=None,
)
async def health(state: State) -> Response[Health]:
    store: EventStore = state.store

    async def sample() -> tuple[LogHead, int]:
        return await store.head(), await readmodels.checkpoint(state.pool)

    try:
        head, read_models = await asyncio.wait_for(sample(), state.settings.health_timeout)
    except CONNECTION_ERRORS:
        return Response(
            Health(status="unavailable", database="down"),
            status_code=503,
            headers={"Cache-Control": "no-store"},
        )
    log = LogStatus(size=head.position, head_hash=head.hash.hex() if head.position else None)
    stalled = _stalled(state, head.position, read_models)
    if stalled:
        # 503 takes this process out of the load balancer: right when what is stuck is its
        # own. A projector in a process of its own (TIMELINE_PROJECTOR=0) is stuck for every
        # API process alike; taking them all out would stop appends too, so that is a 200.
        own = state.settings.projector or set(stalled) != {"read-models"}
        return Response(
            Health(status="degraded", database="up", log=log, stalled=stalled),
            status_code=503 if own else 200,
            headers={"Cache-Control": "no-store"},
        )
    return Response(
        Health(status="ok", database="up", log=log), headers={"Cache-Control": "no-store"}
    )


@contextlib.contextmanager
def _streams_end_on_signals(watcher: LogWatcher) -> Iterator[None]:
    """On SIGTERM/SIGINT, end the live streams, so the server's graceful stop (which waits for
    every open response) can finish. The server's own handler still runs: Python's handler is
    chained, and asyncio's (granian's worker loop) is dispatched through the wakeup fd anyway."""
    loop = asyncio.get_running_loop()
    signals = (signal.SIGTERM, signal.SIGINT)
    previous = {sig: signal.getsignal(sig) for sig in signals}

    def on_signal(signum: int, frame: object) -> None:
        loop.call_soon_threadsafe(watcher.close_streams)
        chained = previous.get(signum)
        if callable(chained):
            chained(signum, frame)

    try:
        for sig in signals:
            signal.signal(sig, on_signal)
    except ValueError:  # not the main thread (an in-process test client): nothing to do
        yield
        return
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def create_app(
    settings: Settings, *, metrics: Metrics | None = None, handle_signals: bool = False
) -> Litestar:
    """The app. `metrics`: where it counts (default: a registry of its own, or the multiprocess
    folder set by `timeline serve`). `handle_signals`: end live streams on SIGTERM/SIGINT (the
    served process; never an in-process test)."""
    metrics = metrics if metrics is not None else metrics_from_env()

    @contextlib.asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        async with open_pool(settings) as pool, open_read_pool(settings) as read_pool:
            app.state.router = ReadRouter(pool, read_pool)
            watcher = LogWatcher(pool, on_advance=metrics.log_head)
            await watcher.start()
            app.state.metrics = metrics
            app.state.pool = pool
            app.state.store = EventStore(pool)
            app.state.watcher = watcher
            app.state.stream_slots = StreamSlots(settings.sse_streams_per_client)
            app.state.followers = Followers()
            app.state.tokens = TokenChecker(pool)
            gate = ReadModelGate(pool)
            app.state.gate = gate
            app.state.answers = AnswerCache()
            await api_audit.start(app.state, settings)

            def projected(position: int) -> None:
                gate.advanced(position)
                metrics.projected(position)

            projector = asyncio.create_task(
                Projector(pool).run(watcher.wait_beyond, on_progress=projected)
                if settings.projector
                else follow_projector(pool, projected),
                name="projector",
            )
            try:
                if handle_signals:
                    with _streams_end_on_signals(watcher):
                        yield
                else:
                    yield
            finally:
                watcher.close_streams()
                await stop_quietly(projector)
                await api_audit.stop(app.state)
                await watcher.stop()

    return Litestar(
        route_handlers=[
            health,
            alive,
            metrics_endpoint,
            *api_events.ROUTES,
            *api_reads.ROUTES,
            *api_timeline.ROUTES,
            *api_audit.ROUTES,
            *api_embed.ROUTES,
            api_embed.assets_router(),
        ],
        lifespan=[lifespan],
        middleware=[
            ObservedRequests(
                metrics, logging.getLogger("timeline.access") if settings.access_log else None
            ),
            DisconnectsAreNormal(),
        ],
        exception_handlers=EXCEPTION_HANDLERS,
        logging_config=None,  # the process's logging is ours: JSON lines (service/logs.py)
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
    """Factory for ASGI servers started by `timeline serve` (settings come by environment).

    Each server worker process calls it once: that is where its JSON logging is set up."""
    settings = Settings.from_env()
    configure_logging(settings.log_level)
    return create_app(settings, handle_signals=True)
