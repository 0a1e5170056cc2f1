"""The `timeline` command."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import sys
from collections.abc import Sequence
from pathlib import Path

import asyncpg
import msgspec

from service.database import resolved_url
from service.migrate import migrate
from service.settings import Settings


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

    async def prepare(url: str) -> None:
        conn = await asyncpg.connect(url)
        try:
            applied = await migrate(conn)
            if applied:
                print(f"migrated: applied {len(applied)} migration(s)", file=sys.stderr)
        finally:
            await conn.close()

    with contextlib.ExitStack() as stack:
        if not settings.database_url:
            where = settings.data_dir or "the default data directory"
            print(f"no TIMELINE_DATABASE_URL: embedded PostgreSQL in {where}", file=sys.stderr)
        url = stack.enter_context(resolved_url(settings))
        asyncio.run(prepare(url))
        settings = msgspec.structs.replace(settings, database_url=url)
        os.environ.update(settings.to_env())
        from granian import Granian
        from granian.constants import Interfaces

        print(f"serving on http://{settings.host}:{settings.port} (Ctrl-C stops)", file=sys.stderr)
        Granian(
            "service.app:app_from_env",
            factory=True,
            address=settings.host,
            port=settings.port,
            interface=Interfaces.ASGI,
            workers=settings.workers,
            log_access=False,
        ).serve()
    return 0


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
    serve.add_argument(
        "--data-dir",
        help="embedded PostgreSQL's folder (TIMELINE_DATA_DIR; default: the user's data "
        "directory, or /var/lib/sanctions-timeline as root)",
    )
    serve.add_argument("--workers", type=int, help="worker processes (TIMELINE_WORKERS, default 1)")
    serve.add_argument("--no-seed", action="store_true", help="do not load the seed data set")
    serve.set_defaults(run=_serve)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    return args.run(args)


if __name__ == "__main__":
    raise SystemExit(main())
