"""Append throughput of EventStore, beside raw asyncpg and the `eventsourcing` library.

All figures come from one run against one PostgreSQL server, each from a database created
for it (and dropped after), holding the same events: a few EntityRegistered, then
EntityListed / ProductMassProduced events with sources. Each measurement appends the
registrations, then a warm-up slice the same way it appends the measured slice, then
CHECKPOINTs, and times only the measured appends. The row count is checked afterwards.

1. batched: EventStore.append of `--batch-size` events per call, one writer; beside
   asyncpg `copy_records_to_table` of the same rows (positions, ids, payloads, hashes as the
   store writes them) into a plain table of the same columns and keys, no triggers; and beside
   COPY of the same rows and their event_refs, a transaction per batch, into the log's own
   migrated tables (indexes, checks, triggers): the database's share of a batched append, the
   floor of what the store can reach.
2. single event: EventStore.append of one event per call, by 1 and by `--writers` asyncio
   tasks sharing one store and one pool (each awaits its append before the next, so group
   commit can gather the writers); beside one INSERT per transaction on 1 and `--writers`
   connections into the plain table.
3. eventsourcing: PostgresApplicationRecorder.insert_events of the same events (one
   StoredEvent per event: originator = the entity, topic = the type, state = the canonical
   payload), batched and single-event with 1 and `--writers` threads.

Run:  .venv/bin/python bench/bench_append.py [--database-url URL] [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import os
import platform
import shlex
import socket
import statistics
import sys
import threading
import time
from collections.abc import Sequence
from importlib import metadata

import asyncpg
from _common import (
    COLUMNS,
    INSERT_ROW,
    PLAIN_TABLE,
    ConnParams,
    DataSet,
    Part,
    Progress,
    checkpoint,
    chunks,
    conn_params,
    create_database,
    dataset,
    drop_database,
    note,
    redacted,
    server,
    server_info,
    with_database,
)

from service.db.migrate import migrate
from service.eventlog.store import EventStore

DEFAULT_EVENTS = 60_000
DEFAULT_SINGLE = 3_000
REPEAT = 3
QUICK_EVENTS = 2_000
QUICK_SINGLE = 160
COMPANIES = 200
# Tables besides `events` that EventStore writes rows to (e.g. event_refs), and rows per event.
STORE_SIDE_ROWS: dict[str, float] = {}
_OTHER_TABLES = """
SELECT table_name AS name FROM information_schema.tables
WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'
AND table_name NOT IN ('events', 'schema_migrations') ORDER BY table_name
"""
ES_STALL = 60  # seconds without progress before an eventsourcing run is given up


@dataclasses.dataclass(frozen=True)
class Result:
    events: int
    seconds: float

    @property
    def rate(self) -> float:
        return self.events / self.seconds


# --------------------------------------------------------------------------- drivers


async def _concurrently(parts: list[list], worker) -> None:
    await asyncio.gather(*(worker(i, p) for i, p in enumerate(parts)))


def _deal(items: Sequence, hands: int) -> list[list]:
    """Round-robin the items over `hands` writers."""
    return [list(items[i::hands]) for i in range(hands)]


async def _store_appends(
    store: EventStore, part: Part, writers: int, batch: int, progress: Progress | None
) -> None:
    async def worker(_: int, mine: list) -> None:
        for events in mine:
            appended = await store.append(events)
            if appended.new != len(events):
                raise RuntimeError(f"store appended {appended.new} of {len(events)} events")
            if progress is not None:
                progress.advance(len(events))

    await _concurrently(_deal(chunks(part.events, batch), writers), worker)


async def _raw_appends(
    conns: list[asyncpg.Connection], part: Part, batch: int, progress: Progress | None
) -> None:
    async def worker(i: int, mine: list) -> None:
        conn = conns[i]
        for rows in mine:
            if batch == 1:
                await conn.execute(INSERT_ROW, *rows[0])  # autocommit: one transaction each
            else:
                await conn.copy_records_to_table("events", records=rows, columns=COLUMNS)
            if progress is not None:
                progress.advance(len(rows))

    await _concurrently(_deal(chunks(part.rows, batch), len(conns)), worker)


def _es_appends(recorder, part: Part, writers: int, batch: int, progress: Progress | None) -> None:
    """Threads calling insert_events; raise if none of them gets anywhere for ES_STALL s."""
    failures: list[BaseException] = []
    done = [0] * writers

    def worker(i: int, mine: list) -> None:
        try:
            for stored in mine:
                recorder.insert_events(stored)
                done[i] += len(stored)
                if progress is not None:
                    progress.advance(len(stored))
        except BaseException as exc:
            failures.append(exc)

    threads = [
        threading.Thread(target=worker, args=(i, hand), daemon=True)
        for i, hand in enumerate(_deal(chunks(part.stored, batch), writers))
    ]
    for t in threads:
        t.start()
    seen, since = -1, time.monotonic()
    while not failures and (alive := [t for t in threads if t.is_alive()]):
        alive[0].join(0.5)
        if sum(done) != seen:
            seen, since = sum(done), time.monotonic()
        elif time.monotonic() - since > ES_STALL:
            raise RuntimeError(f"eventsourcing insert_events made no progress for {ES_STALL} s")
    if failures:
        raise failures[0]


# --------------------------------------------------------------------------- measurements


@contextlib.asynccontextmanager
async def _fresh_database(admin_url: str):
    name = await create_database(admin_url)
    try:
        yield name
    finally:
        await drop_database(admin_url, name)


async def _side_rows(pool: asyncpg.Pool) -> dict[str, int]:
    """Rows in each table of ours besides `events` (names from information_schema)."""
    counts = {}
    for table in await pool.fetch(_OTHER_TABLES):
        name = table["name"].replace('"', '""')
        counts[table["name"]] = await pool.fetchval(f'SELECT count(*) FROM "{name}"')  # noqa: S608
    return counts


async def measure_store(
    admin_url: str, data: DataSet, *, writers: int, batch: int, label: str
) -> Result:
    async with _fresh_database(admin_url) as name:
        url = with_database(admin_url, name)
        async with asyncpg.create_pool(url, min_size=1, max_size=10) as pool:
            async with pool.acquire() as conn:
                await migrate(conn)
            store = EventStore(pool)
            await store.append(data.setup.events)
            await _store_appends(store, data.warmup, writers, batch, None)
            side_before = await _side_rows(pool)
            await checkpoint(admin_url)
            progress = Progress(label, len(data.measured))
            start = time.perf_counter()
            await _store_appends(store, data.measured, writers, batch, progress)
            seconds = time.perf_counter() - start
            count = await pool.fetchval("SELECT count(*) FROM events")
            for table, n in (await _side_rows(pool)).items():
                STORE_SIDE_ROWS[table] = (n - side_before.get(table, 0)) / len(data.measured)
    if count != data.total:
        raise RuntimeError(f"{label}: {count} events in the log, expected {data.total}")
    return Result(len(data.measured), seconds)


async def measure_raw(
    admin_url: str, data: DataSet, *, writers: int, batch: int, label: str
) -> Result:
    async with _fresh_database(admin_url) as name:
        url = with_database(admin_url, name)
        conns = [await asyncpg.connect(url) for _ in range(writers)]
        try:
            await conns[0].execute(PLAIN_TABLE)
            await conns[0].copy_records_to_table("events", records=data.setup.rows, columns=COLUMNS)
            await _raw_appends(conns, data.warmup, batch, None)
            await checkpoint(admin_url)
            progress = Progress(label, len(data.measured))
            start = time.perf_counter()
            await _raw_appends(conns, data.measured, batch, progress)
            seconds = time.perf_counter() - start
            count = await conns[0].fetchval("SELECT count(*) FROM events")
        finally:
            for conn in conns:
                await conn.close()
    if count != data.total:
        raise RuntimeError(f"{label}: {count} rows, expected {data.total}")
    return Result(len(data.measured), seconds)


def _refs_of(part: Part) -> list[tuple[int, str, str]]:
    """The event_refs rows EventStore writes for a part's rows."""
    return [
        (row[0], ref, field)
        for row, event in zip(part.rows, part.events, strict=True)
        for field, ref in event.referenced_entities().items()
    ]


async def measure_own_copy(admin_url: str, data: DataSet, *, batch: int, label: str) -> Result:
    """COPY of the store's rows and their event_refs into the migrated schema, `batch` events
    per transaction (as the store commits a batch), on one connection."""
    async with _fresh_database(admin_url) as name:
        conn = await asyncpg.connect(with_database(admin_url, name))
        try:
            await migrate(conn)

            async def copy(part: Part) -> None:
                refs = _refs_of(part)
                for rows in chunks(part.rows, batch):
                    first, last = rows[0][0], rows[-1][0]
                    async with conn.transaction():
                        await conn.copy_records_to_table("events", records=rows, columns=COLUMNS)
                        named = [r for r in refs if first <= r[0] <= last]
                        if named:
                            await conn.copy_records_to_table(
                                "event_refs", records=named, columns=("position", "ref", "field")
                            )

            await copy(data.setup)
            await copy(data.warmup)
            await checkpoint(admin_url)
            start = time.perf_counter()
            await copy(data.measured)
            seconds = time.perf_counter() - start
            count = await conn.fetchval("SELECT count(*) FROM events")
        finally:
            await conn.close()
    if count != data.total:
        raise RuntimeError(f"{label}: {count} rows, expected {data.total}")
    return Result(len(data.measured), seconds)


def _send_buffer_size() -> int:
    try:
        with open("/proc/sys/net/core/wmem_max") as f:
            return max(int(f.read()), 4 << 20)
    except (OSError, ValueError):
        return 4 << 20


def _datastore_class(unix_socket: bool):
    """eventsourcing's PostgresDatastore; over a Unix socket, with a large send buffer.

    psycopg's pipeline (which PostgresApplicationRecorder.insert_events uses) ignores a
    partial flush: when a call's message does not fit the socket's send buffer (~208 KiB for
    a Unix socket by default; 1,000 events here are ~1 MB), it goes on to wait for results
    while the server waits for the rest of the message, for ever, in about half the calls.
    TCP's larger, auto-tuned buffers hide it. So the buffer is raised, as a user would.
    """
    from eventsourcing.postgres import PostgresDatastore

    if not unix_socket:
        return PostgresDatastore
    size = _send_buffer_size()

    class Datastore(PostgresDatastore):
        def after_connect_func(self):
            configure = super().after_connect_func()

            def after_connect(conn) -> None:
                configure(conn)
                sock = socket.socket(fileno=conn.pgconn.socket)
                try:
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, size)
                finally:
                    sock.detach()

            return after_connect

    return Datastore


def measure_es(
    admin_url: str, params: ConnParams, data: DataSet, *, writers: int, batch: int, label: str
) -> Result:
    from eventsourcing.postgres import PostgresApplicationRecorder

    name = asyncio.run(create_database(admin_url))
    try:
        datastore = _datastore_class(params.host.startswith("/"))(
            dbname=name,
            host=params.host,
            port=params.port,
            user=params.user,
            password=params.password,
            pool_size=writers,
        )
        try:
            recorder = PostgresApplicationRecorder(datastore)
            recorder.create_table()
            recorder.insert_events(data.setup.stored)
            _es_appends(recorder, data.warmup, writers, batch, None)
            asyncio.run(checkpoint(admin_url))
            progress = Progress(label, len(data.measured))
            start = time.perf_counter()
            _es_appends(recorder, data.measured, writers, batch, progress)
            seconds = time.perf_counter() - start
            with datastore.transaction() as curs:
                curs.execute("SELECT count(*) AS n FROM stored_events")
                count = curs.fetchone()["n"]
        finally:
            datastore.close()
    finally:
        asyncio.run(drop_database(admin_url, name))
    if count != data.total:
        raise RuntimeError(f"{label}: {count} stored events, expected {data.total}")
    return Result(len(data.measured), seconds)


# --------------------------------------------------------------------------- report


def _median(results: list[Result]) -> float:
    return statistics.median(r.rate for r in results)


def _line(label: str, results: list[Result], ratio: str = "", failure: str = "") -> None:
    if not results:
        print(f"   {label:<44}   failed: {failure}")
        return
    rates = [r.rate for r in results]
    spread = f"({min(rates):,.0f}-{max(rates):,.0f})" if len(rates) > 1 else ""
    print(f"   {label:<44}{_median(results):>9,.0f} events/s {spread:<17} {ratio}".rstrip())


def _ratio(name: str, a: list[Result], b: list[Result]) -> str:
    if not a or not b:
        return f"{name} = n/a"
    return f"{name} = {_median(a) / _median(b):.2f}"


def _command(args: argparse.Namespace, origin: str) -> str:
    argv = [".venv/bin/python", "bench/bench_append.py"]
    if origin == "flag":
        argv += ["--database-url", redacted(args.database_url)]
    argv += ["--events", str(args.events), "--single-events", str(args.single_events)]
    argv += ["--batch-size", str(args.batch_size), "--writers", str(args.writers)]
    argv += ["--repeat", str(args.repeat), "--seed", str(args.seed)]
    command = shlex.join(argv)
    if origin == "env":
        command = "TIMELINE_DATABASE_URL=... " + command + "   # the URL from the environment"
    if origin == "embedded":
        command += "   # no URL: an embedded PostgreSQL in a temporary directory"
    return command


def _parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--database-url",
        help="admin URL of a PostgreSQL server (default: $TIMELINE_DATABASE_URL, else an "
        "embedded one); a database is created and dropped on it per measurement",
    )
    parser.add_argument("--events", type=int, help=f"events per batched run ({DEFAULT_EVENTS})")
    parser.add_argument(
        "--single-events", type=int, help=f"events per single-event run ({DEFAULT_SINGLE})"
    )
    parser.add_argument("--batch-size", type=int, default=1000, help="events per batched append")
    parser.add_argument("--writers", type=int, default=8, help="concurrent single-event writers")
    parser.add_argument(
        "--repeat", type=int, help=f"rounds of every measurement; medians are shown ({REPEAT})"
    )
    parser.add_argument("--seed", type=int, default=1, help="seed of the generated events")
    parser.add_argument(
        "--quick",
        action="store_true",
        help=f"smoke run: {QUICK_EVENTS} and {QUICK_SINGLE} events, one round",
    )
    args = parser.parse_args(argv)
    if args.events is None:
        args.events = QUICK_EVENTS if args.quick else DEFAULT_EVENTS
    if args.single_events is None:
        args.single_events = QUICK_SINGLE if args.quick else DEFAULT_SINGLE
    if args.repeat is None:
        args.repeat = 1 if args.quick else REPEAT
    if min(args.events, args.single_events, args.batch_size, args.writers, args.repeat) < 1:
        parser.error("sizes must be positive")
    return args


def main(argv: list[str] | None = None) -> int:
    args = _parse(argv)
    started = time.perf_counter()
    b, n, s, w = args.batch_size, args.events, args.single_events, args.writers
    concurrency = sorted({1, w})
    note("generating events ...")
    batched = dataset(
        warmup=min(2 * b, max(b, n // 10)), measured=n, companies=COMPANIES, seed=args.seed
    )
    single = dataset(
        warmup=max(10 * w, s // 10), measured=s, companies=COMPANIES, seed=args.seed + 1
    )
    with server(args.database_url) as srv:
        admin = srv.admin_url
        info = asyncio.run(server_info(admin))
        params = asyncio.run(conn_params(admin))

        # Every measurement, in the order of a round; rounds repeat the lot, so slow drift of
        # the machine falls on every figure alike.
        def store(data: DataSet, k: int, batch: int, label: str):
            return label, lambda: asyncio.run(
                measure_store(admin, data, writers=k, batch=batch, label=label)
            )

        def raw(data: DataSet, k: int, batch: int, label: str):
            return label, lambda: asyncio.run(
                measure_raw(admin, data, writers=k, batch=batch, label=label)
            )

        def es(data: DataSet, k: int, batch: int, label: str):
            return label, lambda: measure_es(
                admin, params, data, writers=k, batch=batch, label=label
            )

        def own(data: DataSet, batch: int, label: str):
            return label, lambda: asyncio.run(
                measure_own_copy(admin, data, batch=batch, label=label)
            )

        plan = [
            (("raw", 0), raw(batched, 1, b, "raw COPY batched")),
            (("own", 0), own(batched, b, "COPY into the log's tables")),
            (("store", 0), store(batched, 1, b, "EventStore, batched")),
            (("es", 0), es(batched, 1, b, "eventsourcing, batched")),
        ]
        for k in concurrency:
            plan += [
                (("raw", k), raw(single, k, 1, f"raw INSERT x{k}")),
                (("store", k), store(single, k, 1, f"EventStore single x{k}")),
                (("es", k), es(single, k, 1, f"eventsourcing single x{k}")),
            ]
        results: dict[tuple[str, int], list[Result]] = {key: [] for key, _ in plan}
        failures: dict[tuple[str, int], str] = {}
        for round_ in range(1, args.repeat + 1):
            for i, (key, (label, run)) in enumerate(plan, 1):
                if key in failures:
                    continue
                note(f"round {round_}/{args.repeat}, {i}/{len(plan)}: {label}")
                try:
                    results[key].append(run())
                except Exception as exc:  # report it beside the figures that did come
                    failures[key] = f"{type(exc).__name__}: {exc}"
                    results[key].clear()
                    note(f"    {label} failed: {failures[key]}")

        versions = ", ".join(
            f"{p} {metadata.version(p)}" for p in ("asyncpg", "psycopg", "eventsourcing")
        )
        print(f"PostgreSQL: {info['version'].split(' on ')[0]} ({srv.origin}: {redacted(admin)})")
        print(
            f"   synchronous_commit={info['synchronous_commit']} fsync={info['fsync']} "
            f"commit_delay={info['commit_delay']}; {os.cpu_count()} CPUs; "
            f"Python {platform.python_version()}, {versions}"
        )
        print(
            f"   fresh database per measurement; {len(batched.setup)} registrations first; "
            f"mean payload {batched.mean_payload:.0f} B; "
            + (f"median of {args.repeat} rounds (min-max)" if args.repeat > 1 else "one round")
        )

        side = [f"{t} {per:.1f}" for t, per in STORE_SIDE_ROWS.items() if per]
        if side:
            print(f"   EventStore also writes, in rows per event: {', '.join(side)}")
        r = results
        print(f"\n1. Batched appends: {n:,} events, {b:,} per append, 1 writer")
        f = failures.get
        _line("raw asyncpg COPY into a plain table", r["raw", 0], failure=f(("raw", 0), ""))
        _line(
            "COPY into the log's tables (+ event_refs)",
            r["own", 0],
            _ratio("own/raw", r["own", 0], r["raw", 0]),
            f(("own", 0), ""),
        )
        _line(
            "EventStore.append",
            r["store", 0],
            _ratio("store/raw", r["store", 0], r["raw", 0])
            + "; "
            + _ratio("store/own", r["store", 0], r["own", 0]),
            f(("store", 0), ""),
        )

        print(f"\n2. Single-event appends: {s:,} events, each append awaited before the next")
        for k in concurrency:
            plural = "s" if k > 1 else ""
            _line(
                f"raw INSERT, a transaction each, {k} connection{plural}",
                r["raw", k],
                failure=f(("raw", k), ""),
            )
            _line(
                f"EventStore.append, {k} writer{plural}",
                r["store", k],
                _ratio("store/raw", r["store", k], r["raw", k]),
                f(("store", k), ""),
            )

        print("\n3. eventsourcing PostgresApplicationRecorder.insert_events, same events")
        _line(
            f"batched, {b:,} per call, 1 thread",
            r["es", 0],
            _ratio("store/eventsourcing", r["store", 0], r["es", 0]),
            f(("es", 0), ""),
        )
        for k in concurrency:
            _line(
                f"single event, {k} thread{'s' if k > 1 else ''}",
                r["es", k],
                _ratio("store/eventsourcing", r["store", k], r["es", k]),
                f(("es", k), ""),
            )

        print(
            f"\n({time.perf_counter() - started:.0f} s in all) "
            "Reproduce, from the repository root, with:"
        )
        print(_command(args, srv.origin), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
