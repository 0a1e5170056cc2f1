"""The HTTP application. `create_app(settings)` is the one composition root."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import gc
import logging
import signal
from collections.abc import AsyncIterator, Iterator

import asyncpg
import msgspec
from litestar import Controller, Litestar, Response, get
from litestar.config.cors import CORSConfig
from litestar.datastructures import State
from litestar.di import NamedDependency
from litestar.openapi import OpenAPIConfig

from service import clock
from service.access.tokens import TokenChecker
from service.audit.tree import TreeBuilder
from service.db.connection import open_pool, open_read_pool
from service.eventlog.store import CONNECTION_ERRORS, EventStore, LogHead
from service.eventlog.watch import LogWatcher
from service.http import audit as api_audit
from service.http import docs as api_docs
from service.http import embed as api_embed
from service.http import events as api_events
from service.http.answers import AnswerCache, ReadModelGate
from service.http.audit import LogController
from service.http.dependencies import DEPENDENCIES
from service.http.disconnects import DisconnectsAreNormal
from service.http.observability import Metrics, ObservedRequests, metrics_endpoint, metrics_from_env
from service.http.query_guard import percent_encode_raw_bytes, strict_query
from service.http.reads import ChangesController, EntityController, ListController
from service.http.responses import (
    EXCEPTION_HANDLERS,
    TYPE_ENCODERS,
    PartialDateSchemaPlugin,
    TidyJsonRenderPlugin,
)
from service.http.stall import Follower
from service.http.streams import StreamSlots
from service.http.timeline import TimelineController
from service.logs import configure_logging
from service.readmodels.projector import Projector, set_aside
from service.readmodels.queries import checkpoint, follow_projector, stop_quietly
from service.reads.replicas import ReadRouter
from service.settings import Settings


class LogStatus(msgspec.Struct, frozen=True):
    size: int
    head_hash: str | None


class Alive(msgspec.Struct, frozen=True):
    status: str


class SetAside(msgspec.Struct, frozen=True):
    entity: str
    position: int
    error: str


class Health(msgspec.Struct, frozen=True, omit_defaults=True):
    status: str
    """ok; degraded (the database answers, but something that follows the log is stuck); or
    unavailable (the database does not answer)."""
    database: str
    log: LogStatus | None = None
    set_aside: list[SetAside] = []
    """Entities the projector could not project (status "degraded"): the read models leave
    them as they were before the event at `position`; every other entity is current."""
    stalled: dict[str, float] | None = None
    """When degraded: what is stuck (log-watcher, read-models, merkle-tree), and for how many
    seconds."""


NO_STORE = {"Cache-Control": "no-store"}


@dataclasses.dataclass
class Followers:
    """What `/health` remembers between calls: how long each follower of the log is stuck."""

    read_models: Follower = dataclasses.field(default_factory=Follower)
    merkle_tree: Follower = dataclasses.field(default_factory=Follower)


def _stalled(
    settings: Settings,
    watcher: LogWatcher,
    followers: Followers,
    tree: TreeBuilder,
    head: int,
    read_models: int,
) -> dict[str, float]:
    """What follows the log and has been stuck for `stall_seconds` or more."""
    now = clock.monotonic()
    stuck = {
        "log-watcher": watcher.overdue_for(),
        "read-models": followers.read_models.stuck_for(head, read_models, now),
        "merkle-tree": followers.merkle_tree.stuck_for(head, tree.size, now),
    }
    return {
        name: round(seconds, 1)
        for name, seconds in stuck.items()
        if seconds >= settings.stall_seconds
    }


class HealthController(Controller):
    path = "/health"
    tags = ("operations",)
    cache_control = None

    @get(
        "/live",
        operation_id="healthLive",
        summary="Liveness: the process answers (no database round trip)",
    )
    async def alive(self) -> Response[Alive]:
        return Response(Alive(status="ok"), headers=NO_STORE)

    @get(
        "/",
        operation_id="health",
        summary="Service and database status, with the log size",
    )
    async def health(
        self,
        store: NamedDependency[EventStore],
        pool: NamedDependency[asyncpg.Pool],
        settings: NamedDependency[Settings],
        metrics: NamedDependency[Metrics],
        watcher: NamedDependency[LogWatcher],
        tree: NamedDependency[TreeBuilder],
        followers: NamedDependency[Followers],
    ) -> Response[Health]:
        async def sample() -> tuple[LogHead, int, list[tuple[str, int, str]]]:
            return await store.head(), await checkpoint(pool), await set_aside(pool)

        try:
            head, read_models, aside = await asyncio.wait_for(sample(), settings.health_timeout)
        except CONNECTION_ERRORS:
            return Response(
                Health(status="unavailable", database="down"), status_code=503, headers=NO_STORE
            )
        metrics.set_aside(len(aside))
        log = LogStatus(size=head.position, head_hash=head.hash.hex() if head.position else None)
        aside_list = [SetAside(entity=e, position=p, error=x) for e, p, x in aside]
        stalled = _stalled(settings, watcher, followers, tree, head.position, read_models)
        if stalled:
            # 503 takes this process out of the load balancer: right when what is stuck is its
            # own. A projector in a process of its own (TIMELINE_PROJECTOR=0) is stuck for every
            # API process alike; taking them all out would stop appends too, so that is a 200.
            own = settings.projector or set(stalled) != {"read-models"}
            return Response(
                Health(
                    status="degraded", database="up", log=log, set_aside=aside_list, stalled=stalled
                ),
                status_code=503 if own else 200,
                headers=NO_STORE,
            )
        return Response(
            Health(
                status="degraded" if aside else "ok", database="up", log=log, set_aside=aside_list
            ),
            headers=NO_STORE,
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


def _freeze_startup_heap() -> None:
    """Move every object alive once the served process has started (modules, the app and its
    routes, the OpenAPI model, the pools: ~90,000 objects) out of the cyclic collector's view.

    They live as long as the process, and each full collection traverses them all again:
    100-200 ms under load (a machine with a load average of 5 on 2 CPUs) with the app and a
    client in one process, a pause for every request in the worker. The served worker rarely
    runs one (none over 500 pages of 1,000 members at 100k events but the one at its start),
    but when the answer cache's entries, promoted, set one off, frozen it sees only what
    requests made since (a few thousand objects) and takes 1-14 ms. Only in the served process:
    an in-process test makes many apps, whose garbage frozen would never be collected."""
    gc.collect()
    gc.freeze()


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
                Projector(pool).run(
                    watcher.wait_beyond, on_progress=projected, on_set_aside=metrics.set_aside
                )
                if settings.projector
                else follow_projector(pool, projected),
                name="projector",
            )
            try:
                if handle_signals:
                    _freeze_startup_heap()
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
            HealthController,
            metrics_endpoint,
            *api_events.ROUTES,
            EntityController,
            ListController,
            ChangesController,
            TimelineController,
            LogController,
            *api_embed.ROUTES,
            api_embed.assets_router(),
            *api_docs.ROUTES,
            api_docs.docs_assets_router(),
        ],
        dependencies=DEPENDENCIES,
        guards=[strict_query],
        lifespan=[lifespan],
        middleware=[
            percent_encode_raw_bytes,
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
