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

Run:  .venv/bin/python bench/bench_import_un.py [--database-url URL] [--copies N]
"""

from __future__ import annotations

import argparse
import copy
import os
import shlex
import sys
import tempfile
import xml.etree.ElementTree as ET
from pathlib import Path

from _common import (
    note,
    redacted,
    server,
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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--database-url", help="admin URL (default: $TIMELINE_DATABASE_URL, else embedded)"
    )
    parser.add_argument("--copies", type=int, default=DEFAULT_COPIES, help="copies of the list")
    args = parser.parse_args(argv)
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
