"""Audit figures at scale: proofs, heads, export and verify, each beside a baseline of the run.

A log of `--events` events (default 1,000,000) is written straight into a fresh database with
COPY: EntityRegistered events for the lists, rules and companies, then EntityListed /
ProductMassProduced events with sources (about 540 B of canonical JSON each, from the same
generator as bench_append.py), with positions and chain hashes computed in Python so the
link trigger accepts them. Untimed. (`event_refs` rows are not written: nothing here reads
them.) Then, timed:

1. tree build: `TreeBuilder.extend()` over the whole log (hash chain re-checked on the way);
   events/s.
2. latency, p50 / p99 over `--samples` requests at random positions and sizes, each through
   the store layer (`TreeBuilder` methods) and through HTTP (the Litestar routes in process,
   httpx ASGI transport: routing, validation, JSON, signing), beside a baseline: one
   `SELECT payload FROM events WHERE position = $1` by primary key on the same pool.
   - head: `GET /v1/log/head` (the state row, plus an Ed25519 signature when the size moved);
   - inclusion: `GET /v1/log/proof/inclusion?position=P&size=N`;
   - consistency: `GET /v1/log/proof/consistency?from=M&to=N`.
3. export: `timeline export` into a file, events/s and MB/s, beside `COPY events TO STDOUT`
   into a file (binary format, every column) on the same server.
4. verify: `timeline verify` of that file with its signed head, events/s, beside plain
   SHA-256 of each line of the same file (read the same way).

Run:  .venv/bin/python bench/bench_audit.py [--events N | --quick] [--database-url URL]
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as _dt
import hashlib
import os
import platform
import random
import shlex
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import BinaryIO

import asyncpg
import httpx
from _common import (
    COLUMNS,
    create_database,
    drop_database,
    note,
    redacted,
    registrations,
    server,
    server_info,
    timeline_events,
    with_database,
)
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from litestar import Litestar
from litestar.datastructures import State

from events import GENESIS_HASH, canonical, chain_hash, type_name
from projections.audit import merkle, signing
from projections.audit.verify import verify
from service.audit import export
from service.audit.tree import TreeBuilder
from service.db.migrate import migrate
from service.eventlog.store import EventStore
from service.eventlog.watch import LogWatcher
from service.http import audit as api_audit
from service.http.responses import EXCEPTION_HANDLERS

DEFAULT_EVENTS = 1_000_000
QUICK_EVENTS = 20_000
COMPANIES = 2_000
CHUNK = 20_000
_PK = "SELECT payload FROM events WHERE position = $1"


# --------------------------------------------------------------------------- the log


async def fill(pool: asyncpg.Pool, total: int, seed: int) -> float:
    """COPY `total` events with a valid chain; returns the mean payload size."""
    rng = random.Random(seed)
    regs = registrations(COMPANIES, rng)
    prev, position = GENESIS_HASH, 0
    start = _dt.datetime(2025, 1, 1, tzinfo=_dt.UTC)
    payload_bytes = 0
    started = time.perf_counter()
    remaining = total
    first = True
    while remaining > 0:
        if first:
            events = regs[:total]
            first = False
        else:
            events = timeline_events(min(CHUNK, remaining), COMPANIES, rng)
        remaining -= len(events)
        rows = []
        for event in events:
            position += 1
            payload = canonical(event)
            payload_bytes += len(payload)
            # One batch (transaction) per 100 events: recorded_at is shared, then moves on.
            recorded_at = start + _dt.timedelta(milliseconds=position // 100)
            version = type(event).schema_version
            digest = chain_hash(
                prev,
                payload=payload,
                position=position,
                recorded_at=recorded_at,
                schema_version=version,
            )
            occurred = event.occurred
            rows.append(
                (
                    position,
                    event.id,
                    event.entity,
                    type_name(event),
                    version,
                    str(occurred),
                    occurred.start,
                    occurred.end,
                    occurred.precision,
                    recorded_at,
                    payload,
                    prev,
                    digest,
                )
            )
            prev = digest
        async with pool.acquire() as conn:
            await conn.copy_records_to_table("events", records=rows, columns=COLUMNS)
        elapsed = time.perf_counter() - started
        note(f"    log: {position:,}/{total:,} events ({elapsed:.0f} s)")
    async with pool.acquire() as conn:
        await conn.execute("VACUUM ANALYZE events")
    return payload_bytes / max(position, 1)


# --------------------------------------------------------------------------- timing


def percentiles(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    p50 = statistics.median(ordered)
    p99 = ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]
    return p50 * 1000, p99 * 1000  # ms


async def timed(calls: list[Callable[[], Awaitable[object]]]) -> list[float]:
    out = []
    for call in calls:
        t0 = time.perf_counter()
        await call()
        out.append(time.perf_counter() - t0)
    return out


def audit_app(pool: asyncpg.Pool, tree: TreeBuilder, key: object, watcher: LogWatcher) -> Litestar:
    state = State(
        {
            "pool": pool,
            "store": EventStore(pool),
            "watcher": watcher,
            "tree": tree,
            "signing_key": key,
        }
    )
    return Litestar(
        route_handlers=api_audit.ROUTES, exception_handlers=EXCEPTION_HANDLERS, state=state
    )


# --------------------------------------------------------------------------- the run


def writer(path: Path) -> BinaryIO:
    return open(path, "wb", buffering=1 << 20)


def verify_figures(
    path: Path, head: signing.SignedHead, key: Ed25519PublicKey, total: int
) -> tuple[float, float]:
    """Seconds for `timeline verify` of the file, and for SHA-256 of each of its lines."""
    t0 = time.perf_counter()
    with open(path, "rb", buffering=1 << 20) as stream:
        report = verify(stream, head=head, key=key)
    verify_s = time.perf_counter() - t0
    assert report.events == total and report.root == head.root
    t0 = time.perf_counter()
    with open(path, "rb", buffering=1 << 20) as stream:
        for line in stream:
            hashlib.sha256(line).digest()
    return verify_s, time.perf_counter() - t0


async def run(args: argparse.Namespace, workdir: Path) -> None:
    total = QUICK_EVENTS if args.quick else args.events
    rng = random.Random(args.seed + 1)
    with server(args.database_url) as srv:
        info = await server_info(srv.admin_url)
        note(f"server: {redacted(srv.admin_url)} ({srv.origin})")
        name = await create_database(srv.admin_url)
        url = with_database(srv.admin_url, name)
        try:
            async with asyncpg.create_pool(url, min_size=2, max_size=4) as pool:
                async with pool.acquire() as conn:
                    await migrate(conn)
                note(f"writing {total:,} events with COPY (untimed) ...")
                mean_payload = await fill(pool, total, args.seed)

                # 1. tree build
                tree = TreeBuilder(pool)
                t0 = time.perf_counter()
                size = await tree.extend()
                build = time.perf_counter() - t0
                assert size == total, (size, total)
                note(f"tree built: {total:,} leaves in {build:.1f} s")

                key = signing.generate_private_key()
                watcher = LogWatcher(pool)
                await watcher.refresh()
                app = audit_app(pool, tree, key, watcher)
                transport = httpx.ASGITransport(app=app)
                client = httpx.AsyncClient(transport=transport, base_url="http://bench")

                n = args.samples
                positions = [rng.randint(1, total) for _ in range(n)]
                sizes = [rng.randint(p, total) for p in positions]
                olds = [rng.randint(1, s) for s in sizes]

                def pk(p: int) -> Callable[[], Awaitable[object]]:
                    return lambda: pool.fetchrow(_PK, p)

                def get(path: str, params: dict) -> Callable[[], Awaitable[object]]:
                    async def call() -> None:
                        response = await client.get(path, params=params)
                        assert response.status_code == 200, response.text

                    return call

                # warm up every path
                await timed([pk(p) for p in positions[:50]])
                await timed([lambda: tree.current() for _ in range(50)])
                await timed([get("/v1/log/head", {}) for _ in range(50)])

                results: dict[str, list[float]] = {}
                results["baseline: SELECT one row by primary key"] = await timed(
                    [pk(p) for p in positions]
                )
                results["head, store (state row)"] = await timed(
                    [lambda: tree.current() for _ in range(n)]
                )
                results["head, HTTP GET /v1/log/head"] = await timed(
                    [get("/v1/log/head", {}) for _ in range(n)]
                )
                results["inclusion, store"] = await timed(
                    [
                        (lambda p=p, s=s: tree.inclusion(p, s))
                        for p, s in zip(positions, sizes, strict=True)
                    ]
                )
                results["inclusion, HTTP"] = await timed(
                    [
                        get("/v1/log/proof/inclusion", {"position": p, "size": s})
                        for p, s in zip(positions, sizes, strict=True)
                    ]
                )
                results["consistency, store"] = await timed(
                    [
                        (lambda m=m, s=s: tree.consistency(m, s))
                        for m, s in zip(olds, sizes, strict=True)
                    ]
                )
                results["consistency, HTTP"] = await timed(
                    [
                        get("/v1/log/proof/consistency", {"from": m, "to": s})
                        for m, s in zip(olds, sizes, strict=True)
                    ]
                )
                # Check a few answers against the pure verifiers (untimed).
                head = await tree.head()
                for p, s in list(zip(positions, sizes, strict=True))[:20]:
                    proof = await tree.inclusion(p, s)
                    root = (await tree.head(s)).root
                    assert merkle.verify_inclusion(proof.leaf_hash, p - 1, s, proof.proof, root)
                await client.aclose()

                # 3. export vs COPY
                out_file = workdir / "log.ndjson"
                async with pool.acquire() as conn:
                    t0 = time.perf_counter()
                    with writer(out_file) as out:
                        summary = await export.export(conn, out)
                    export_s = time.perf_counter() - t0
                    copy_file = workdir / "events.copy"
                    t0 = time.perf_counter()
                    await conn.copy_from_table("events", output=str(copy_file), format="binary")
                    copy_s = time.perf_counter() - t0
                assert summary.events == total
                export_mb = out_file.stat().st_size / 1e6
                copy_mb = copy_file.stat().st_size / 1e6

                signed = signing.sign_head(key, head.size, head.root, head.timestamp)
        finally:
            await drop_database(srv.admin_url, name)

    # 4. verify vs sha256 per line (no database)
    verify_s, sha_s = verify_figures(out_file, signed, key.public_key(), total)

    command = [".venv/bin/python", "bench/bench_audit.py"]
    command += ["--quick"] if args.quick else ["--events", str(total)]
    command += ["--samples", str(args.samples), "--seed", str(args.seed)]
    if args.database_url:
        command += ["--database-url", redacted(args.database_url)]
    print(f"# bench_audit: {total:,} events (mean payload {mean_payload:.0f} B)")
    print(f"server: {info['version'].split(',')[0]} ({srv.origin}); fsync={info['fsync']}")
    print(f"host: {platform.platform()}, {os.cpu_count()} CPUs, Python {platform.python_version()}")
    print()
    print(f"tree build (extend from empty): {total / build:,.0f} events/s ({build:.1f} s)")
    print()
    print(f"latency over {n:,} requests at random positions/sizes (ms)   p50      p99")
    for label, samples in results.items():
        p50, p99 = percentiles(samples)
        print(f"  {label:<56} {p50:7.3f}  {p99:7.3f}")
    print()
    print("export (events/s, MB/s)")
    print(
        f"  timeline export (NDJSON)          {total / export_s:>12,.0f}  "
        f"{export_mb / export_s:7.1f}  ({export_s:.1f} s, {export_mb:,.0f} MB)"
    )
    print(
        f"  baseline: COPY events TO (binary) {total / copy_s:>12,.0f}  "
        f"{copy_mb / copy_s:7.1f}  ({copy_s:.1f} s, {copy_mb:,.0f} MB)"
    )
    print(f"  export / COPY: {copy_s / export_s:.2f}")
    print()
    print("verify (events/s)")
    print(f"  timeline verify (chain + tree + head) {total / verify_s:>12,.0f}  ({verify_s:.1f} s)")
    print(f"  baseline: SHA-256 of each line        {total / sha_s:>12,.0f}  ({sha_s:.1f} s)")
    print(f"  verify / SHA-256: {sha_s / verify_s:.2f}")
    print()
    print("reproduce: " + shlex.join(command))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=DEFAULT_EVENTS)
    parser.add_argument("--quick", action="store_true", help=f"{QUICK_EVENTS:,} events")
    parser.add_argument("--samples", type=int, default=2000, help="requests per latency figure")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--database-url", help="an admin database URL (default: embedded)")
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="bench-audit-"))
    try:
        asyncio.run(run(args, workdir))
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
