"""`timeline export | verify | replay | keys`: the auditor's commands.

`register(subparsers)` adds them to the `timeline` parser; each sets `run=callable(args)->int`.
Only `export` (and `keys`, which reads the key file) touch the service's resources; `verify`
and `replay` work from an export file alone.

Exit codes: 0 fine; 1 a fault was found (the first bad position is named on stderr); 2 the
input could not be read (a missing file, a malformed head or key).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as _dt
import json
import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

import msgspec

from projections.audit import signing
from projections.audit.export_format import VerifyFault
from projections.audit.replay import facts_of, replay
from projections.audit.verify import load_public_key, verify
from service.settings import Settings

FAULT = 1
BAD_INPUT = 2


class _Progress:
    """A line on stderr at most once a second: count, rate."""

    def __init__(self, label: str, total: int | None = None, *, quiet: bool = False) -> None:
        self.label = label
        self.total = total
        self.quiet = quiet
        self.start = self.last = time.perf_counter()

    def __call__(self, done: int) -> None:
        now = time.perf_counter()
        if self.quiet or now - self.last < 1.0:
            return
        self.last = now
        self._say(done, now)

    def done(self, done: int) -> None:
        if not self.quiet:
            self._say(done, time.perf_counter(), final=True)

    def _say(self, done: int, now: float, *, final: bool = False) -> None:
        elapsed = max(now - self.start, 1e-9)
        of = f"/{self.total:,}" if self.total is not None else ""
        end = " done" if final else ""
        print(
            f"{self.label}: {done:,}{of} events, {elapsed:.1f} s, {done / elapsed:,.0f} events/s"
            f"{end}",
            file=sys.stderr,
            flush=True,
        )


def settings_for(args: argparse.Namespace) -> Settings:
    """The settings from the environment, with the command's `--data-dir` when it has one."""
    settings = Settings.from_env()
    if getattr(args, "data_dir", None):
        settings = msgspec.structs.replace(settings, data_dir=Path(args.data_dir))
    return settings


@contextlib.contextmanager
def _said_in_one_line() -> Iterator[None]:
    """A database that cannot be set up as configured (its runtime role) stops the command
    with one line, like any other reason (service/cli/main.py)."""
    from service.cli.failures import CommandFailed
    from service.db.roles import RuntimeRoleError

    try:
        yield
    except RuntimeRoleError as exc:
        raise CommandFailed(str(exc)) from None


@contextlib.contextmanager
def _input(name: str) -> Iterator[BinaryIO]:
    if name == "-":
        yield sys.stdin.buffer
        return
    with open(name, "rb", buffering=1 << 20) as stream:
        yield stream


def _fail(command: str, message: str, code: int) -> int:
    print(f"{command}: {message}", file=sys.stderr)
    return code


# --------------------------------------------------------------------------- export


def _export(args: argparse.Namespace) -> int:

    from service.audit import export
    from service.cli.database import database_url
    from service.db.connection import migrated

    if args.until is not None and args.until < 0:
        return _fail("export", "--until must be a position >= 0", BAD_INPUT)
    progress = _Progress("export", quiet=args.quiet)

    settings = settings_for(args)

    async def run(url: str, out: BinaryIO) -> export.ExportSummary:
        logins, _applied = await migrated(settings, url)
        conn = await logins.connect_runtime()
        try:
            return await export.export(conn, out, until=args.until, progress=progress)
        finally:
            await conn.close()

    with database_url(settings, create=False) as url, _said_in_one_line():
        if args.out is None or args.out == "-":
            summary = asyncio.run(run(url, sys.stdout.buffer))
            sys.stdout.buffer.flush()
        else:
            target = Path(args.out)
            partial = target.with_name(target.name + ".partial")
            with open(partial, "wb", buffering=1 << 20) as out:
                summary = asyncio.run(run(url, out))
                out.flush()
                os.fsync(out.fileno())
            partial.replace(target)
    progress.done(summary.events)
    if args.until is not None and summary.last_position < args.until:
        print(
            f"export: WARNING: the log ends at position {summary.last_position}, before "
            f"--until {args.until}",
            file=sys.stderr,
        )
    if not args.quiet:
        last = summary.last_hash.hex() if summary.events else "-"
        print(
            f"export: positions 1..{summary.last_position}, last hash {last}",
            file=sys.stderr,
        )
    return 0


# --------------------------------------------------------------------------- verify


def _verify(args: argparse.Namespace) -> int:

    head = key = None
    try:
        if args.head is not None:
            head = signing.decode_head(Path(args.head).read_bytes())
        if args.key is not None:
            key = load_public_key(Path(args.key).read_bytes())
    except (OSError, ValueError) as exc:
        return _fail("verify", str(exc), BAD_INPUT)
    progress = _Progress("verify", head.size if head else None, quiet=args.quiet)
    try:
        with _input(args.file) as stream:
            report = verify(stream, head=head, key=key, progress=progress)
    except OSError as exc:
        return _fail("verify", str(exc), BAD_INPUT)
    except VerifyFault as fault:
        return _fail("verify", f"FAULT at {fault}", FAULT)
    if report.events == 0:
        # An export starts at position 1: a file with no event proves nothing about any log.
        return _fail("verify", "the file holds no events: an empty file is not an export", FAULT)
    progress.done(report.events)
    summary = {
        "ok": True,
        "events": report.events,
        "root_hash": report.root.hex(),
        "last_hash": report.last_hash.hex(),
        "head_size": report.head_size,
        "signature_checked": report.signature_checked,
    }
    print(json.dumps(summary))
    if head is not None and key is None:
        print("verify: WARNING: the head's signature was not checked (give --key)", file=sys.stderr)
    if head is not None and report.events > head.size:
        print(
            f"verify: the first {head.size} events match the head; the {report.events - head.size}"
            " after them are chained but not covered by it",
            file=sys.stderr,
        )
    return 0


# --------------------------------------------------------------------------- replay


def _parse_known_at(text: str) -> _dt.datetime:
    moment = _dt.datetime.fromisoformat(text)
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("--known-at needs a time zone, e.g. 2024-05-01T12:00:00Z")
    return moment


def _replay(args: argparse.Namespace) -> int:

    try:
        as_of = _dt.date.fromisoformat(args.as_of)
        if len(args.as_of) != 10:
            raise ValueError("--as-of is a day, YYYY-MM-DD")
        known_at = _parse_known_at(args.known_at) if args.known_at else None
    except ValueError as exc:
        return _fail("replay", str(exc), BAD_INPUT)
    try:
        with _input(args.file) as stream:
            facts = facts_of(stream)
    except OSError as exc:
        return _fail("replay", str(exc), BAD_INPUT)
    except VerifyFault as fault:
        return _fail("replay", f"FAULT at {fault}", FAULT)
    if args.entity is not None and all(f.event.entity != args.entity for f in facts):
        return _fail("replay", f"unknown entity {args.entity!r}: no event of the export", FAULT)
    out = sys.stdout.buffer
    for chunk in replay(facts, as_of, known_at, args.entity):
        out.write(chunk)
    out.flush()
    return 0


# --------------------------------------------------------------------------- keys


def _keys(args: argparse.Namespace) -> int:
    from service.audit import keys

    path = Path(args.key_file) if args.key_file else keys.key_path(settings_for(args))
    try:
        key, created = keys.load_or_create(path)
    except (OSError, ValueError) as exc:
        return _fail("keys", str(exc), BAD_INPUT)
    public = key.public_key()
    print(f"keys: {'made' if created else 'using'} {path}", file=sys.stderr)
    if args.pem:
        sys.stdout.write(signing.public_key_pem(public).decode("ascii"))
    else:
        print(msgspec.json.encode(signing.key_info(public)).decode())
    return 0


# --------------------------------------------------------------------------- registration


def _data_dir_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--data-dir",
        help="the data directory (TIMELINE_DATA_DIR; default: the user's data directory, or "
        "/var/lib/sanctions-timeline as root)",
    )


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add `export`, `verify`, `replay` and `keys` to the `timeline` command."""
    export_parser = subparsers.add_parser(
        "export",
        help="write the log as NDJSON in position order (with hashes), with progress",
        description="Write the log as NDJSON, one event a line in position order: position, "
        "recorded_at, schema_version, type, entity, prev_hash, hash, and the event's stored "
        "canonical bytes. Progress goes to stderr.",
    )
    export_parser.add_argument("--out", help="the file to write (default: standard output)")
    export_parser.add_argument(
        "--until", type=int, metavar="POSITION", help="stop after this position (e.g. a head size)"
    )
    export_parser.add_argument("--quiet", action="store_true", help="no progress on stderr")
    _data_dir_flag(export_parser)
    export_parser.set_defaults(run=_export)

    verify_parser = subparsers.add_parser(
        "verify",
        help="check an export (hash chain, Merkle root, signed head) with no database",
        description="Recompute the hash chain and the Merkle tree of an export. With --head, "
        "check the root of its first head.size events against the head (a shorter export is a "
        "truncated one); with --key, check the head's signature too. Exit 1 naming the first "
        "bad position on any fault; print a JSON summary on success.",
    )
    verify_parser.add_argument("file", help="the export (NDJSON), or - for standard input")
    verify_parser.add_argument("--head", help="a signed head (JSON from GET /v1/log/head)")
    verify_parser.add_argument(
        "--key",
        help="the public key: PEM, raw 32 bytes, base64, or the JSON of GET /v1/log/key",
    )
    verify_parser.add_argument("--quiet", action="store_true", help="no progress on stderr")
    verify_parser.set_defaults(run=_verify)

    replay_parser = subparsers.add_parser(
        "replay",
        help="an entity's state as of a date from an export alone, same bytes as the API",
        description="Fold an export (its chain checked first) into the state of an entity as "
        "of a day, as the log knew it at a moment: the canonical JSON bytes the API answers. "
        "Without --entity, every entity's state, one NDJSON line each, sorted by entity.",
    )
    replay_parser.add_argument("file", help="the export (NDJSON), or - for standard input")
    replay_parser.add_argument("--as-of", required=True, metavar="D", help="the day, YYYY-MM-DD")
    replay_parser.add_argument(
        "--known-at",
        metavar="K",
        help="as the log knew it at this moment (ISO 8601 with a zone; default: the whole log)",
    )
    replay_parser.add_argument("--entity", metavar="ID", help="one entity (default: all)")
    replay_parser.set_defaults(run=_replay)

    keys_parser = subparsers.add_parser(
        "keys",
        help="show the public key that signs tree heads (making the key pair if there is none)",
        description="Print the head signing key's public part as JSON (key_id, public_key, "
        "algorithm), as GET /v1/log/key answers, or as PEM. The private key stays in its file "
        "(TIMELINE_SIGNING_KEY_FILE, default <data dir>/signing-key.pem, mode 0600).",
    )
    keys_parser.add_argument("--key-file", help="the private key file (default: see above)")
    keys_parser.add_argument("--pem", action="store_true", help="print the public key as PEM")
    _data_dir_flag(keys_parser)
    keys_parser.set_defaults(run=_keys)


def main(argv: list[str] | None = None) -> int:
    """`python -m service.cli_audit ...`: these commands alone (tests, or before wiring)."""
    parser = argparse.ArgumentParser(prog="timeline")
    register(parser.add_subparsers(dest="command", required=True, metavar="COMMAND"))
    args = parser.parse_args(argv)
    return args.run(args)


if __name__ == "__main__":
    raise SystemExit(main())
