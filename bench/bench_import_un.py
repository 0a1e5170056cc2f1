"""`timeline import-un` of the UN list replicated N times beside raw COPY of the same rows.

The UN Security Council Consolidated List of the repository's tests (1003 records, about 2000
events) is written N times (100 by default) into one XML file, each copy with distinct ids: every
`REFERENCE_NUMBER` gets the copy's number as a suffix (`QDe.001` -> `QDe.001.07`) and every
`DATAID` a distinct value, so every copy is a list of designations of its own. Then, each on a
fresh database of the same server:

1. import-un: the real CLI, `timeline import-un FILE` in a child process against a migrated,
   empty database, timed from the process start to its exit (Python start-up, XML parsing,
   mapping, validating, hashing, batches appended through `EventStore`). Its own summary figure
   (which leaves out start-up) is shown as well.
2. raw COPY: the rows the import wrote (read back: the same ids, payloads and hashes) copied with
   `copy_records_to_table` in batches of the import's size into a table with the columns and keys
   of `events` and none of its triggers, checks or secondary indexes.
3. COPY into the log's own table: the same rows and their `event_refs` into the real schema.

One round; progress goes to stderr.

With `--phases`, instead: where the import's CPU time goes, in this process, on a fresh database:
the CPU seconds (`time.process_time`, so hardly moved by other jobs on the machine) of the
fixed costs (importing the modules, FollowTheMoney's country-name index built on the first
lookup), then of each phase of `import_un` done one after the other: reading the XML into
records, building the events, and appending them through `EventStore` in batches of the
import's size (its Python and asyncpg side; PostgreSQL's own work is another process). The
cyclic garbage collector is tuned as the CLI tunes it for a bulk job.

Run:  .venv/bin/python bench/bench_import_un.py [--database-url URL] [--copies N] [--phases]
"""

from __future__ import annotations

import argparse
import asyncio
import copy
import gc
import os
import shlex
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import asyncpg
from _common import (
    create_database,
    drop_database,
    note,
    redacted,
    server,
    with_database,
)
from bench_import import BATCH, measure_copy, measure_copy_schema, measure_import

ROOT = Path(__file__).resolve().parents[1]
XML = ROOT / "tests" / "data" / "un-sc-consolidated" / "consolidated.xml"
DEFAULT_COPIES = 100


def replicate(source: Path, target: Path, copies: int) -> int:
    """Write `copies` copies of the list's records, with distinct reference numbers and
    DATAIDs, into one XML file; the number of records written."""
    tree = ET.parse(source)  # noqa: S314 - the repository's own fixture
    root = tree.getroot()
    written = 0
    for section in root:
        records = list(section)
        for record in records:
            section.remove(record)
        for number in range(copies):
            for record in records:
                twin = copy.deepcopy(record)
                ref = twin.find("REFERENCE_NUMBER")
                if ref is not None and ref.text:
                    ref.text = f"{ref.text.strip()}.{number:02d}"
                dataid = twin.find("DATAID")
                if dataid is not None and dataid.text:
                    dataid.text = str(int(dataid.text) * 1000 + number)
                section.append(twin)
                written += 1
    tree.write(target, encoding="utf-8", xml_declaration=True)
    return written


async def _phases(admin: str, path: Path) -> dict[str, float]:
    """CPU seconds of each phase of `import_un` over `path`, into a fresh, migrated database."""
    started = time.process_time()
    from service.db.migrate import migrate
    from service.eventlog.store import EventStore
    from service.ingest import un
    from service.ingest.importers import BATCH_SIZE

    cpu = {"import the modules": time.process_time() - started}
    started = time.process_time()
    from followthemoney.types import registry

    registry.country.clean("Afghanistan")  # builds the country-name index the importer uses
    cpu["FtM country-name index"] = time.process_time() - started
    gc.collect()
    gc.freeze()
    gc.set_threshold(100_000, 50, 100)  # as the CLI's bulk jobs
    name = await create_database(admin)
    url = with_database(admin, name)
    try:
        conn = await asyncpg.connect(url)
        try:
            await migrate(conn)
        finally:
            await conn.close()
        async with asyncpg.create_pool(url, min_size=1, max_size=4) as pool:
            store = EventStore(pool)
            started = time.process_time()
            generated_at, designations = un.read_snapshot(path)
            cpu["read the XML into records"] = time.process_time() - started
            started = time.process_time()
            state = await un.log_state(store)
            planned = un.snapshot_events(designations, generated_at, state)
            cpu["build the events"] = time.process_time() - started
            started = time.process_time()
            for start in range(0, len(planned), BATCH_SIZE):
                await store.append([event for event, _ in planned[start : start + BATCH_SIZE]])
            cpu["append (EventStore, asyncpg)"] = time.process_time() - started
            cpu["events"] = len(planned)
    finally:
        await drop_database(admin, name)
    return cpu


def print_phases(copies: int, records: int, cpu: dict[str, float]) -> None:
    events = int(cpu.pop("events"))
    load = os.getloadavg()
    print(
        f"import-un, CPU seconds by phase: the UN list x{copies} = {records:,} records, "
        f"{events:,} events; load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} "
        f"on {os.cpu_count()} cpus"
    )
    per_event = 0.0
    for phase, seconds in cpu.items():
        fixed = phase in ("import the modules", "FtM country-name index")
        if not fixed:
            per_event += seconds
        share = "fixed" if fixed else f"{1e6 * seconds / events:5.1f} us per event"
        print(f"   {phase:<32} {seconds:7.2f} s   {share}")
    print(f"   {'per event, all phases':<32} {1e6 * per_event / events:7.1f} us")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--database-url", help="admin URL (default: $TIMELINE_DATABASE_URL, else embedded)"
    )
    parser.add_argument("--copies", type=int, default=DEFAULT_COPIES, help="copies of the list")
    parser.add_argument(
        "--phases", action="store_true", help="CPU seconds of each phase, in this process"
    )
    args = parser.parse_args(argv)
    if args.phases:
        with (
            tempfile.TemporaryDirectory(prefix="bench-import-un-") as folder,
            server(args.database_url) as srv,
        ):
            path = Path(folder) / "consolidated-x.xml"
            note(f"writing {args.copies} copies of the UN list to {path} ...")
            records = replicate(XML, path, args.copies)
            print_phases(args.copies, records, asyncio.run(_phases(srv.admin_url, path)))
        argv_ = [".venv/bin/python", "bench/bench_import_un.py", "--copies", str(args.copies)]
        argv_ += ["--phases"] + (
            ["--database-url", redacted(args.database_url)] if args.database_url else []
        )
        print(f"reproduce (from the repository root): {shlex.join(argv_)}")
        return 0
    load = os.getloadavg()
    with (
        tempfile.TemporaryDirectory(prefix="bench-import-un-") as folder,
        server(args.database_url) as srv,
    ):
        path = Path(folder) / "consolidated-x.xml"
        note(f"writing {args.copies} copies of the UN list to {path} ...")
        records = replicate(XML, path, args.copies)
        size = path.stat().st_size
        rate, own, rows, refs, cpu = measure_import(srv.admin_url, path, None, "import-un")
        raw = measure_copy(srv.admin_url, rows)
        real = measure_copy_schema(srv.admin_url, rows, refs)
    print(
        f"timeline import-un vs raw COPY: the UN list x{args.copies} = {records:,} records, "
        f"{len(rows):,} events ({size / 1e6:.0f} MB of XML), batches of {BATCH}, one round; "
        f"load average before: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} on {os.cpu_count()} cpus"
    )
    print(f"   raw COPY (no triggers, PK + id only)   {raw:>9,.0f} events/s")
    print(
        f"   COPY into the log's own table          {real:>9,.0f} events/s"
        f"   = {real / raw:.2f} x raw"
    )
    print(
        f"   timeline import-un (process, wall)     {rate:>9,.0f} events/s"
        f"   import/raw = {rate / raw:.2f}; import/own-table COPY = {rate / real:.2f}"
    )
    print(
        f"   timeline import-un (its own summary)   {own:>9,.0f} events/s"
        f"   import/raw = {own / raw:.2f}"
    )
    print(
        f"   timeline import-un, CPU of the process {cpu:>9.1f} s"
        f"   = {1e6 * cpu / len(rows):.0f} us per event (user + system; start-up included)"
    )
    argv_ = [".venv/bin/python", "bench/bench_import_un.py", "--copies", str(args.copies)]
    if args.database_url:
        argv_ += ["--database-url", redacted(args.database_url)]
    print(f"reproduce (from the repository root): {shlex.join(argv_)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
