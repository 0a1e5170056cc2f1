"""The `timeline` command."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import os
import signal
import sys
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path

import asyncpg
import msgspec

from service.access import tokens
from service.cli import audit as cli_audit
from service.cli.failures import CommandFailed
from service.cli.ports import ensure_port_free
from service.db.connection import open_pool, resolved_url
from service.db.migrate import migrate
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

    async def prepare(url: str) -> None:
        async with asyncpg.create_pool(url, min_size=1, max_size=2) as pool:
            async with pool.acquire() as conn:
                applied = await migrate(conn)
            if applied:
                print(f"migrated: applied {len(applied)} migration(s)", file=sys.stderr)
            if settings.seed:
                added = await seed_if_empty(EventStore(pool))
                if added:
                    print(f"seeded an empty log with {added} events", file=sys.stderr)

    with contextlib.ExitStack() as stack:
        if not settings.database_url:
            where = settings.data_dir or "the default data directory"
            print(f"no TIMELINE_DATABASE_URL: embedded PostgreSQL in {where}", file=sys.stderr)
        url = stack.enter_context(resolved_url(settings))
        asyncio.run(prepare(url))
        settings = msgspec.structs.replace(settings, database_url=url)
        os.environ.update(settings.to_env())
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


def _with_database(args: argparse.Namespace, work) -> int:
    """Run `work(conn)` against the configured (or embedded) database, migrated first."""
    settings = cli_audit.settings_for(args)

    async def run(url: str) -> int:
        conn = await asyncpg.connect(url)
        try:
            await migrate(conn)
            return await work(conn)
        finally:
            await conn.close()

    with resolved_url(settings) as url:
        return asyncio.run(run(url))


def _tokens_create(args: argparse.Namespace) -> int:
    async def work(conn: asyncpg.Connection) -> int:
        token = await tokens.create_token(conn, scope=args.scope, name=args.name)
        print(token)
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
        async with asyncpg.create_pool(url, min_size=1, max_size=2) as pool:
            async with pool.acquire() as conn:
                await migrate(conn)
            line = ProgressLine("rebuild")
            with _bulk_job():
                generation = await rebuild(pool, progress=line)
            line.finish()
            print(f"read models rebuilt as generation {generation}", file=sys.stderr)
        return 0

    with resolved_url(settings) as url:
        return asyncio.run(run(url))


def _projections_run(args: argparse.Namespace) -> int:
    """The projector as a process of its own (the service with TIMELINE_PROJECTOR=0): it keeps
    the read models current until SIGTERM or SIGINT. Several may run; they take turns."""
    settings = cli_audit.settings_for(args)

    async def run() -> int:
        async with open_pool(settings) as pool:
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

    return asyncio.run(run())


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
    """Run `work(store)` against the configured (or embedded) database, migrated first."""
    settings = cli_audit.settings_for(args)

    async def run(url: str) -> int:
        async with asyncpg.create_pool(url, min_size=1, max_size=4) as pool:
            async with pool.acquire() as conn:
                await migrate(conn)
            with _bulk_job():
                return await work(EventStore(pool))

    with resolved_url(settings) as url:
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


def _data_dir_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--data-dir",
        help="embedded PostgreSQL's folder (TIMELINE_DATA_DIR; default: the user's data "
        "directory, or /var/lib/sanctions-timeline as root)",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="timeline",
        description="Event-sourced timeline of sanctions and industry milestones.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    serve = sub.add_parser(
        "serve",
        help="migrate, load the seed data into an empty log, and serve the HTTP API",
        description="Migrate the database, load the seed data set into an empty log (unless "
        "--no-seed) and serve. With no TIMELINE_DATABASE_URL an embedded PostgreSQL runs in "
        "--data-dir and stops with the service.",
    )
    serve.add_argument("--host", help="address to listen on (TIMELINE_HOST, default 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port (TIMELINE_PORT, default 8000)")
    _data_dir_flag(serve)
    serve.add_argument("--workers", type=int, help="worker processes (TIMELINE_WORKERS, default 1)")
    serve.add_argument("--no-seed", action="store_true", help="do not load the seed data set")
    serve.set_defaults(run=_serve)

    token_parser = sub.add_parser("tokens", help="create, list and revoke bearer tokens")
    token_sub = token_parser.add_subparsers(dest="tokens_command", required=True, metavar="ACTION")
    create = token_sub.add_parser(
        "create", help="print a new bearer token on standard output (only its hash is stored)"
    )
    create.add_argument("--scope", required=True, choices=tokens.SCOPES)
    create.add_argument("--name", default="unnamed", help="a label to recognise it by")
    _data_dir_flag(create)
    create.set_defaults(run=_tokens_create)
    listing = token_sub.add_parser("list", help="list tokens (ids, scopes, names; no secrets)")
    _data_dir_flag(listing)
    listing.set_defaults(run=_tokens_list)
    revoke = token_sub.add_parser("revoke", help="revoke a token by its id")
    revoke.add_argument("id")
    _data_dir_flag(revoke)
    revoke.set_defaults(run=_tokens_revoke)

    projections_parser = sub.add_parser("projections", help="maintain the read models")
    projections_sub = projections_parser.add_subparsers(
        dest="projections_command", required=True, metavar="ACTION"
    )
    rebuild = projections_sub.add_parser(
        "rebuild",
        help="rebuild the read models from the log beside the live ones, then swap them in "
        "(no downtime), with progress",
    )
    _data_dir_flag(rebuild)
    rebuild.set_defaults(run=_projections_rebuild)
    project = projections_sub.add_parser(
        "run",
        help="keep the read models current, as a process of its own, until SIGTERM "
        "(for a service started with TIMELINE_PROJECTOR=0)",
    )
    _data_dir_flag(project)
    project.set_defaults(run=_projections_run)
    cli_audit.register(sub)

    imp = sub.add_parser(
        "import", help="append an NDJSON file of events (- for standard input), idempotent"
    )
    imp.add_argument("file", help="NDJSON file, one event (or export line) per line; - for stdin")
    _data_dir_flag(imp)
    imp.set_defaults(run=_import)
    csl = sub.add_parser(
        "import-csl",
        help="turn rows of the trade.gov Consolidated Screening List CSV into registrations "
        "and listings (OFAC rows skipped), idempotent",
    )
    csl.add_argument("file", help="the CSV file (current 29-column or older export format)")
    _data_dir_flag(csl)
    csl.set_defaults(run=_import_csl)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run a command. Whatever stops it is said in one line on standard error (exit 1)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.run(args)
    except CommandFailed as exc:
        print(f"timeline {args.command}: {exc}", file=sys.stderr)
    except OSError as exc:  # a file that is not there, a folder that cannot be written, ...
        where = f": {exc.filename}" if exc.filename else ""
        print(f"timeline {args.command}: {exc.strerror or exc}{where}", file=sys.stderr)
    except asyncpg.PostgresError as exc:
        print(f"timeline {args.command}: the database refused: {exc}", file=sys.stderr)
    except KeyboardInterrupt:
        print(f"timeline {args.command}: interrupted", file=sys.stderr)
        return 130
    return 1


if __name__ == "__main__":
    raise SystemExit(main())
