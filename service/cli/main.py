"""The `timeline` command."""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from service.cli import audit as cli_audit
from service.cli.failures import CommandFailed


class _lazy:
    """The command `name` of service/cli/commands.py, imported when it runs: commands that
    never reach the database (`verify`, `replay`) load no database driver."""

    def __init__(self, command: str) -> None:
        self.command = command

    def __call__(self, args: argparse.Namespace) -> int:
        return importlib.import_module("service.cli.commands").run(self.command, args)


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
    serve.set_defaults(run=_lazy("_serve"))

    token_parser = sub.add_parser("tokens", help="create, list and revoke bearer tokens")
    token_sub = token_parser.add_subparsers(dest="tokens_command", required=True, metavar="ACTION")
    create = token_sub.add_parser(
        "create", help="print a new bearer token on standard output (only its hash is stored)"
    )
    create.add_argument("--scope", required=True, choices=("write",))
    create.add_argument("--name", default="unnamed", help="a label to recognise it by")
    _data_dir_flag(create)
    create.set_defaults(run=_lazy("_tokens_create"))
    listing = token_sub.add_parser("list", help="list tokens (ids, scopes, names; no secrets)")
    _data_dir_flag(listing)
    listing.set_defaults(run=_lazy("_tokens_list"))
    revoke = token_sub.add_parser("revoke", help="revoke a token by its id")
    revoke.add_argument("id")
    _data_dir_flag(revoke)
    revoke.set_defaults(run=_lazy("_tokens_revoke"))

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
    rebuild.set_defaults(run=_lazy("_projections_rebuild"))
    project = projections_sub.add_parser(
        "run",
        help="keep the read models current, as a process of its own, until SIGTERM "
        "(for a service started with TIMELINE_PROJECTOR=0)",
    )
    _data_dir_flag(project)
    project.set_defaults(run=_lazy("_projections_run"))
    cli_audit.register(sub)

    imp = sub.add_parser(
        "import", help="append an NDJSON file of events (- for standard input), idempotent"
    )
    imp.add_argument("file", help="NDJSON file, one event (or export line) per line; - for stdin")
    _data_dir_flag(imp)
    imp.set_defaults(run=_lazy("_import"))
    csl = sub.add_parser(
        "import-csl",
        help="turn rows of the trade.gov Consolidated Screening List CSV into registrations "
        "and listings (OFAC rows skipped), idempotent",
    )
    csl.add_argument("file", help="the CSV file (current 29-column or older export format)")
    _data_dir_flag(csl)
    csl.set_defaults(run=_lazy("_import_csl"))
    un = sub.add_parser(
        "import-un",
        help="turn a UN Security Council Consolidated List XML snapshot into registrations, "
        "designations and (for records gone since the last snapshot) delistings, idempotent",
    )
    un.add_argument("file", help="the list's XML (consolidated.xml)")
    un.add_argument(
        "--ndjson",
        action="store_true",
        help="print the events for a log without the list as NDJSON instead of importing",
    )
    _data_dir_flag(un)
    un.set_defaults(run=_lazy("_import_un"))
    ftm = sub.add_parser(
        "import-ftm",
        help="turn FollowTheMoney entities (NDJSON, one a line) into registrations, "
        "designations and ownerships, idempotent",
    )
    ftm.add_argument("file", help="FtM NDJSON: Person, Company, Organization, LegalEntity, ...")
    ftm.add_argument(
        "--source-url",
        help="the URL to cite for entities whose data gives no sourceUrl",
    )
    _data_dir_flag(ftm)
    ftm.set_defaults(run=_lazy("_import_ftm"))
    ftm_out = sub.add_parser(
        "export-ftm",
        help="print the log's entities, sanctions and ownerships, as they stand now, as "
        "FollowTheMoney NDJSON (for Aleph, yente)",
    )
    ftm_out.add_argument("-o", "--output", help="write to this file instead of standard output")
    _data_dir_flag(ftm_out)
    ftm_out.set_defaults(run=_lazy("_export_ftm"))
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run a command. Whatever stops it is said in one line on standard error (exit 1)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.run(args)
    except CommandFailed as exc:
        _say(args.command, str(exc))
    except OSError as exc:  # a file that is not there, a folder that cannot be written, ...
        where = f": {exc.filename}" if exc.filename else ""
        _say(args.command, f"{exc.strerror or exc}{where}")
    except Exception as exc:
        driver = sys.modules.get("asyncpg")
        if driver is None or not isinstance(exc, driver.PostgresError):
            raise
        _say(args.command, f"the database refused: {exc}")
    except KeyboardInterrupt:
        _say(args.command, "interrupted")
        return 130
    return 1


def _say(command: str, message: str) -> None:
    """One line on standard error, whatever the message holds (PostgreSQL's DETAIL lines)."""
    print(f"timeline {command}: {' '.join(message.split())}", file=sys.stderr)


if __name__ == "__main__":
    raise SystemExit(main())
