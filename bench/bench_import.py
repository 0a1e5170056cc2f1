"""`timeline import` of a generated NDJSON file beside raw COPY of the same rows, in one run.

The project's aim for `timeline import` on 100k generated events: at least half the rate of a
raw COPY of the same rows. Per round, each on a fresh database of the same server:

1. import: the real CLI, `timeline import FILE` in a child process against a migrated, empty
   database; timed from the process start to its exit (Python start-up, reading, parsing,
   validating, hashing, batches of 1000 appended through `EventStore` with the triggers,
   `event_refs` and indexes of the real schema). The CLI's own figure (its summary line, which
   leaves out start-up and the migration check) is shown too.
2. raw COPY: the rows `EventStore` wrote for the same file (read back after the import: the
   same ids, payloads, recorded_at and hashes) copied with asyncpg's `copy_records_to_table`
   in batches of the same size, one transaction each, into a table with the columns and keys of
   `events` and none of its triggers, checks or secondary indexes.

3. COPY into the log's own table: the same rows and their event_refs copied in the same
   batches into the real, migrated schema (its secondary indexes, checks and statement
   triggers): the database's share of an import, with none of the Python work (parsing,
   validating, hashing). Read as "raw COPY of the same rows" into the table they belong in, it
   is the second baseline the import is shown against.

Rounds alternate the measurements; medians (min-max) are shown. Progress goes to stderr.

Run:  .venv/bin/python bench/bench_import.py [--database-url URL] [--events N] [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import re
import resource
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import asyncpg
from _common import (
    COLUMNS,
    PLAIN_TABLE,
    checkpoint,
    create_database,
    drop_database,
    note,
    redacted,
    registrations,
    server,
    timeline_events,
    with_database,
)

from events import canonical
from service.db.migrate import migrate

DEFAULT_EVENTS = 100_000
QUICK_EVENTS = 5_000
COMPANIES = 2_000
BATCH = 1000  # service.importers.BATCH_SIZE
_SUMMARY = re.compile(r"\(([\d,]+) events/s\)")
_ROWS = f"SELECT {', '.join(COLUMNS)} FROM events ORDER BY position"  # noqa: S608
_REFS = "SELECT position, ref, field FROM event_refs ORDER BY position, field"


def write_file(path: Path, events: int, seed: int) -> int:
    rng = random.Random(seed)
    regs = registrations(COMPANIES, rng)
    body = regs + timeline_events(max(0, events - len(regs)), COMPANIES, rng)
    path.write_bytes(b"".join(canonical(e) + b"\n" for e in body))
    return len(body)


async def _migrated(url: str) -> None:
    conn = await asyncpg.connect(url)
    try:
        await migrate(conn)
    finally:
        await conn.close()


def measure_import(
    admin: str, path: Path, total: int | None, command: str = "import"
) -> tuple[float, float, list[tuple], list[tuple], float]:
    """`timeline COMMAND FILE` into a fresh database: (wall events/s, the CLI's own events/s,
    the rows it wrote, its event_refs rows, the CPU seconds of the process: user + system).
    With `total`, the rows must number exactly that. The CPU seconds hardly depend on how busy
    the machine is, where the wall time does."""
    name = asyncio.run(create_database(admin))
    url = with_database(admin, name)
    try:
        asyncio.run(_migrated(url))
        asyncio.run(checkpoint(admin))
        note(f"  {command}: timeline {command} ...")
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        done = subprocess.run(
            [sys.executable, "-m", "service.cli", command, str(path)],
            env={**os.environ, "TIMELINE_DATABASE_URL": url},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            check=False,
        )
        seconds = time.perf_counter() - start
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
        said = done.stderr.decode(errors="replace")
        if done.returncode != 0:
            raise RuntimeError(f"timeline {command} failed:\n{said}")
        found = _SUMMARY.search(said)
        own = float(found.group(1).replace(",", "")) if found else float("nan")
        rows, refs = asyncio.run(_read_rows(url))
        if total is not None and len(rows) != total:
            raise RuntimeError(f"{command} wrote {len(rows)} events, the file has {total}")
        return len(rows) / seconds, own, rows, refs, cpu
    finally:
        asyncio.run(drop_database(admin, name))


async def _read_rows(url: str) -> tuple[list[tuple], list[tuple]]:
    conn = await asyncpg.connect(url)
    try:
        rows = [tuple(r) for r in await conn.fetch(_ROWS)]
        refs = [tuple(r) for r in await conn.fetch(_REFS)]
        return rows, refs
    finally:
        await conn.close()


async def _copy_schema(url: str, rows: list[tuple], refs: list[tuple]) -> float:
    """COPY into the real, migrated schema (its triggers, checks, indexes and event_refs), in
    the import's batches: what the database alone costs, without any of the Python work."""
    await _migrated(url)
    conn = await asyncpg.connect(url)
    by_position: dict[int, list[tuple]] = {}
    for ref in refs:
        by_position.setdefault(ref[0], []).append(ref)
    try:
        start = time.perf_counter()
        for i in range(0, len(rows), BATCH):
            batch = rows[i : i + BATCH]
            batch_refs = [r for row in batch for r in by_position.get(row[0], ())]
            async with conn.transaction():
                await conn.copy_records_to_table("events", records=batch, columns=COLUMNS)
                if batch_refs:
                    await conn.copy_records_to_table(
                        "event_refs", records=batch_refs, columns=("position", "ref", "field")
                    )
        return time.perf_counter() - start
    finally:
        await conn.close()


def measure_copy_schema(admin: str, rows: list[tuple], refs: list[tuple]) -> float:
    name = asyncio.run(create_database(admin))
    try:
        asyncio.run(checkpoint(admin))
        note("  COPY into the real schema ...")
        return len(rows) / asyncio.run(_copy_schema(with_database(admin, name), rows, refs))
    finally:
        asyncio.run(drop_database(admin, name))


async def _copy(url: str, rows: list[tuple]) -> float:
    conn = await asyncpg.connect(url)
    try:
        await conn.execute(PLAIN_TABLE)
        start = time.perf_counter()
        for i in range(0, len(rows), BATCH):
            async with conn.transaction():
                await conn.copy_records_to_table(
                    "events", records=rows[i : i + BATCH], columns=COLUMNS
                )
        return time.perf_counter() - start
    finally:
        await conn.close()


def measure_copy(admin: str, rows: list[tuple]) -> float:
    name = asyncio.run(create_database(admin))
    try:
        asyncio.run(checkpoint(admin))
        note("  raw COPY ...")
        return len(rows) / asyncio.run(_copy(with_database(admin, name), rows))
    finally:
        asyncio.run(drop_database(admin, name))


def _spread(values: list[float]) -> str:
    return f"({min(values):,.0f}-{max(values):,.0f})" if len(values) > 1 else ""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--database-url", help="admin URL (default: $TIMELINE_DATABASE_URL, else embedded)"
    )
    parser.add_argument("--events", type=int, help=f"events in the file ({DEFAULT_EVENTS:,})")
    parser.add_argument("--repeat", type=int, default=3, help="rounds (3; --quick: 1)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--quick", action="store_true", help=f"smoke run: {QUICK_EVENTS:,} events")
    args = parser.parse_args(argv)
    events = args.events or (QUICK_EVENTS if args.quick else DEFAULT_EVENTS)
    repeat = 1 if args.quick else args.repeat
    with (
        tempfile.TemporaryDirectory(prefix="bench-import-") as folder,
        server(args.database_url) as srv,
    ):
        path = Path(folder) / "events.ndjson"
        note(f"writing {events:,} events to {path} ...")
        total = write_file(path, events, args.seed)
        imports, owns, copies, schema = [], [], [], []
        for round_ in range(1, repeat + 1):
            note(f"round {round_}/{repeat}")
            rate, own, rows, refs, _cpu = measure_import(srv.admin_url, path, total)
            imports.append(rate)
            owns.append(own)
            copies.append(measure_copy(srv.admin_url, rows))
            schema.append(measure_copy_schema(srv.admin_url, rows, refs))
        size = path.stat().st_size
    imp, own, raw, real = (statistics.median(v) for v in (imports, owns, copies, schema))
    print(
        f"timeline import vs raw COPY, {total:,} events ({size / total:.0f} B/line), "
        f"batches of {BATCH}, median of {repeat}"
    )
    print(f"   raw COPY (no triggers, PK + id only)   {raw:>9,.0f} events/s {_spread(copies)}")
    print(
        f"   COPY into the log's own table          {real:>9,.0f} events/s {_spread(schema)}"
        f"   (its indexes, checks, triggers, event_refs) = {real / raw:.2f} x raw"
    )
    print(
        f"   timeline import (process, wall)        {imp:>9,.0f} events/s {_spread(imports)}"
        f"   import/raw = {imp / raw:.2f}  (aim >= 0.5); import/own-table COPY = {imp / real:.2f}"
    )
    print(
        f"   timeline import (its own summary)      {own:>9,.0f} events/s {_spread(owns)}"
        f"   import/raw = {own / raw:.2f}; import/own-table COPY = {own / real:.2f}"
    )
    argv_ = [".venv/bin/python", "bench/bench_import.py", "--events", str(events)]
    if args.database_url:
        argv_ += ["--database-url", redacted(args.database_url)]
    argv_ += ["--repeat", str(repeat), "--seed", str(args.seed)]
    print(f"reproduce (from the repository root): {shlex.join(argv_)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
