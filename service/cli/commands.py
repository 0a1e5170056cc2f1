"""What the `timeline` commands that reach the database do (imported only when one runs: `verify`
and `replay` load no database driver)."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import os
import signal
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import msgspec

from service.access import tokens
from service.cli import audit as cli_audit
from service.cli.database import database_url, where
from service.cli.failures import CommandFailed
from service.cli.ports import ensure_port_free
from service.db.connection import Logins, bounded_pool, migrated
from service.db.roles import RuntimeRoleError
from service.eventlog.store import EventStore
from service.eventlog.watch import LogWatcher
from service.ingest import importers
from service.ingest.seed import seed_if_empty
from service.logs import granian_log_config
from service.progress import ProgressLine
from service.readmodels.projector import Projector
from service.readmodels.queries import stop_quietly
from service.readmodels.rebuild import rebuild
from service.settings import Settings


def run(name: str, args: argparse.Namespace) -> int:
    """Run the command `name` of this module; a database that cannot be set up as configured
    (the runtime role) is said in one line, like any other reason a command stops."""
    try:
        return globals()[name](args)
    except RuntimeRoleError as exc:
        raise CommandFailed(str(exc)) from None


# prometheus_client reads it when first imported, so it is set before any worker imports it;
# this module must not import prometheus_client itself (workers are forked from this process).
MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"


def _serve(args: argparse.Namespace) -> int:
    settings = Settings.from_env()
    overrides: dict[str, object] = {"seed": not args.no_seed}
    if args.host is not None:
        overrides["host"] = args.host
    if args.port is not None:
        overrides["port"] = args.port
    if args.data_dir is not None:
        overrides["data_dir"] = Path(args.data_dir)
    if args.workers is not None:
        overrides["workers"] = args.workers
    settings = msgspec.structs.replace(settings, **overrides)
    # Before the database starts: a second server on a taken port stops at once.
    ensure_port_free(settings.host, settings.port)

    async def prepare(url: str) -> Logins:
        logins, applied = await migrated(settings, url)
        if applied:
            print(f"migrated: applied {len(applied)} migration(s)", file=sys.stderr)
        if settings.seed:
            async with _runtime_pool(logins, max_size=2) as pool:
                added = await seed_if_empty(EventStore(pool))
            if added:
                print(f"seeded an empty log with {added} events", file=sys.stderr)
        return logins

    with contextlib.ExitStack() as stack:
        print(f"database: {where(settings)}", file=sys.stderr)
        url = stack.enter_context(database_url(settings, create=True))
        settings = asyncio.run(prepare(url)).for_workers(settings)
        own_projector = settings.projector
        if own_projector:
            # The projector runs in a process of its own (started below), not in the workers:
            # no request waits behind a fold in its worker's event loop or shares its CPU with
            # one (py-spy: 40 % of a lone worker's CPU under 32 single-event writers), and N
            # workers do not each wake after every append to queue for the projector's lock.
            settings = msgspec.structs.replace(settings, projector=False)
        os.environ.update(settings.to_env())
        if own_projector:
            stack.enter_context(_projector_process())
        if settings.workers > 1 and not os.environ.get(MULTIPROC_ENV):
            # Metrics of all workers in one scrape: prometheus_client's multiprocess mode, in a
            # fresh folder (it must start empty), removed when the server stops.
            folder = tempfile.TemporaryDirectory(prefix="timeline-metrics-")
            os.environ[MULTIPROC_ENV] = stack.enter_context(folder)
        from granian import Granian
        from granian.constants import Interfaces

        print(f"serving on http://{settings.host}:{settings.port} (Ctrl-C stops)", file=sys.stderr)
        Granian(
            "service.http.app:app_from_env",
            factory=True,
            address=settings.host,
            port=settings.port,
            interface=Interfaces.ASGI,
            workers=settings.workers,
            log_access=False,
            log_dictconfig=granian_log_config(settings.log_level),
            # SIGTERM: workers stop accepting, finish in-flight requests, end live streams
            # (app.py), run the lifespan shutdown; one still running after this is killed.
            workers_kill_timeout=max(1, round(settings.shutdown_timeout)),
        ).serve()
    return 0


PROJECTOR_RESTART_SECONDS = 1.0


@contextlib.contextmanager
def _projector_process() -> Iterator[subprocess.Popen]:
    """`timeline projections run` as a child of `timeline serve` (with the environment the
    workers get), started again if it fails or is killed, stopped (SIGTERM) when the server
    stops. It is in the server's process group: a Ctrl-C or a signal to the group reaches it
    too, and it then stops as asked (exit 0), which is not a failure to restart from."""
    argv = [sys.executable, "-m", "service.cli", "projections", "run"]

    def start() -> subprocess.Popen:
        # argv is this interpreter and fixed words: nothing comes from input.
        return subprocess.Popen(argv)  # noqa: S603

    stopping = threading.Event()
    current = [start()]

    def supervise() -> None:
        while not stopping.is_set():
            code = current[0].wait()
            if code == 0 or stopping.wait(PROJECTOR_RESTART_SECONDS):
                return
            print(f"the projector process ended ({code}); starting it again", file=sys.stderr)
            current[0] = start()

    supervisor = threading.Thread(target=supervise, name="projector-supervisor", daemon=True)
    supervisor.start()
    try:
        yield current[0]
    finally:
        stopping.set()
        while True:  # again if a restart slipped in between the last check and `stopping`
            process = current[0]
            process.terminate()
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
            supervisor.join(timeout=5)
            if current[0] is process:
                break


def _runtime_pool(logins: Logins, *, max_size: int) -> asyncpg.Pool:
    """A pool of connections as the runtime role, as the service's own (use with `async with`),
    for a job: its statements (a rebuild's, an import's) take as long as they need."""
    return asyncpg.create_pool(
        logins.runtime_url, min_size=1, max_size=max_size, server_settings=logins.server_settings()
    )


def _with_database(args: argparse.Namespace, work, *, create: bool = False) -> int:
    """Run `work(conn)` as the runtime role against the database of the settings (migrated
    first); unless `create`, a data dir with no database in it is refused (cli/database.py)."""
    settings = cli_audit.settings_for(args)

    async def run(url: str) -> int:
        logins, _applied = await migrated(settings, url)
        conn = await logins.connect_runtime()
        try:
            return await work(conn)
        finally:
            await conn.close()

    with database_url(settings, create=create) as url:
        return asyncio.run(run(url))


def _tokens_create(args: argparse.Namespace) -> int:
    settings = cli_audit.settings_for(args)

    async def work(conn: asyncpg.Connection) -> int:
        token = await tokens.create_token(conn, scope=args.scope, name=args.name)
        print(token)
        print(f"made token {token.split('_')[1]} in {where(settings)}", file=sys.stderr)
        return 0

    return _with_database(args, work)


def _tokens_list(args: argparse.Namespace) -> int:
    async def work(conn: asyncpg.Connection) -> int:
        for info in await tokens.list_tokens(conn):
            state = f"revoked {info.revoked_at:%Y-%m-%dT%H:%M:%SZ}" if info.revoked_at else "active"
            print(
                f"{info.id}\t{info.scope}\t{info.name}\t{info.created_at:%Y-%m-%dT%H:%M:%SZ}\t{state}"
            )
        return 0

    return _with_database(args, work)


def _tokens_revoke(args: argparse.Namespace) -> int:
    async def work(conn: asyncpg.Connection) -> int:
        if await tokens.revoke_token(conn, args.id):
            print(f"revoked {args.id}", file=sys.stderr)
            return 0
        print(f"no active token {args.id}", file=sys.stderr)
        return 1

    return _with_database(args, work)


def _projections_rebuild(args: argparse.Namespace) -> int:
    settings = cli_audit.settings_for(args)

    async def run(url: str) -> int:
        logins, _applied = await migrated(settings, url)
        async with _runtime_pool(logins, max_size=2) as pool:
            line = ProgressLine("rebuild")
            with _bulk_job():
                generation = await rebuild(pool, progress=line)
            line.finish()
            print(f"read models rebuilt as generation {generation}", file=sys.stderr)
        return 0

    with database_url(settings, create=False) as url:
        return asyncio.run(run(url))


def _projections_run(args: argparse.Namespace) -> int:
    """The projector as a process of its own (the service with TIMELINE_PROJECTOR=0): it keeps
    the read models current until SIGTERM or SIGINT. Several may run; they take turns."""
    settings = cli_audit.settings_for(args)

    async def run(url: str) -> int:
        logins, _applied = await migrated(settings, url)
        async with bounded_pool(logins.runtime_url, settings, role=logins.set_role) as pool:
            watcher = LogWatcher(pool)
            await watcher.start()
            projector = asyncio.create_task(
                Projector(pool).run(watcher.wait_beyond), name="projector"
            )
            stop = asyncio.Event()
            loop = asyncio.get_running_loop()
            for signum in (signal.SIGTERM, signal.SIGINT):
                loop.add_signal_handler(signum, stop.set)
            print("projector running; SIGTERM or Ctrl-C stops it", file=sys.stderr)
            try:
                await stop.wait()
            finally:
                await stop_quietly(projector)
                await watcher.stop()
        print("projector stopped", file=sys.stderr)
        return 0

    with database_url(settings, create=False) as url:
        return asyncio.run(run(url))


@contextlib.contextmanager
def _bulk_job() -> Iterator[None]:
    """Tune Python's cyclic garbage collector for a bulk job (import, rebuild).

    Such a job makes millions of short-lived objects (batches of events) that reference counting
    frees, while the default thresholds run a collection every 700 allocations and a full one
    over every live object again and again. Objects made before the job are frozen out of the
    collector's view, and it runs far less often; memory stays bounded by the batch size."""
    gc.collect()
    gc.freeze()
    before = gc.get_threshold()
    gc.set_threshold(100_000, 50, 100)
    try:
        yield
    finally:
        gc.set_threshold(*before)
        gc.unfreeze()


def _with_store(args: argparse.Namespace, work) -> int:
    """Run `work(store)` as the runtime role against the database of the settings (migrated
    first). An import may be the first thing a data dir sees, so it may make the database."""
    settings = cli_audit.settings_for(args)

    async def run(url: str) -> int:
        logins, _applied = await migrated(settings, url)
        async with _runtime_pool(logins, max_size=4) as pool:
            with _bulk_job():
                return await work(EventStore(pool))

    with database_url(settings, create=True) as url:
        return asyncio.run(run(url))


async def _reported(name: str, run) -> int:
    """Run an import with a progress line; print its summary, or why it stopped (exit 1)."""
    line = ProgressLine(name)
    try:
        report = await run(line)
    except importers.ImportFailed as exc:
        line.finish()
        print(f"import stopped: {exc}", file=sys.stderr)
        return 1
    line.finish()
    print(report.summary(), file=sys.stderr)
    return 0


def _import(args: argparse.Namespace) -> int:
    async def work(store: EventStore) -> int:
        async def run(line: ProgressLine) -> importers.ImportReport:
            if args.file == "-":
                return await importers.import_ndjson(store, sys.stdin.buffer, progress=line)
            with open(args.file, "rb") as counting:  # noqa: ASYNC230 - a CLI, one job
                total = sum(1 for _ in counting)
            with open(args.file, "rb") as lines:  # noqa: ASYNC230
                return await importers.import_ndjson(store, lines, progress=line, total=total)

        return await _reported("import", run)

    return _with_store(args, work)


def _import_csl(args: argparse.Namespace) -> int:
    async def work(store: EventStore) -> int:
        return await _reported(
            "import-csl", lambda line: importers.import_csl(store, args.file, progress=line)
        )

    return _with_store(args, work)


def _import_un(args: argparse.Namespace) -> int:
    # followthemoney takes ~2 s to load: only the commands that need it import it.
    from service.ingest import un

    if args.ndjson:
        try:
            sys.stdout.buffer.writelines(un.snapshot_ndjson(args.file))
        except importers.ImportFailed as exc:
            print(f"import stopped: {exc}", file=sys.stderr)
            return 1
        return 0

    async def work(store: EventStore) -> int:
        return await _reported(
            "import-un", lambda line: un.import_un(store, args.file, progress=line)
        )

    return _with_store(args, work)


def _import_ftm(args: argparse.Namespace) -> int:
    # followthemoney takes ~2 s to load: only the commands that need it import it.
    from service.ingest import ftm

    async def work(store: EventStore) -> int:
        return await _reported(
            "import-ftm",
            lambda line: ftm.import_ftm(
                store, args.file, source_url=args.source_url, progress=line
            ),
        )

    return _with_store(args, work)


def _export_ftm(args: argparse.Namespace) -> int:
    # followthemoney takes ~2 s to load: only the commands that need it import it.
    from service.ingest import ftm

    async def work(store: EventStore) -> int:
        with contextlib.ExitStack() as stack:
            out = (
                stack.enter_context(open(args.output, "wb"))  # noqa: ASYNC230 - a CLI, one job
                if args.output
                else sys.stdout.buffer
            )
            count = 0
            async for line in ftm.export_ftm(store):
                out.write(line)
                count += 1
        print(f"exported {count} FollowTheMoney entities", file=sys.stderr)
        return 0

    return _with_store(args, work)
