"""The projector's CPU per appended event as the log grows, keeping its fold between pages or not.

`bench_api.py`'s single-event appends without HTTP: the same 200 registered companies and the
same 400 event bodies (each appended with a fresh id, one append transaction per event), and
after every `--page` events `Projector.catch_up`, timed in CPU seconds of this process (the
fold and asyncpg; PostgreSQL's own CPU is not in it, nor are the appends). Each mode gets a
scratch database of its own: the projector as configured (keeping its fold, `Kept`), and the
same with `keep_entities=0` (a fresh fold per page, reading every touched entity's history, as
before it kept one). CPU seconds are robust to other jobs' load; the ratio of the two modes,
taken in one run, more so.

Run:  .venv/bin/python bench/bench_projector.py [--database-url URL] [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import time
import uuid

import asyncpg
import msgspec
from _common import note, redacted, registrations, timeline_events
from _serve import scratch_database

from service.db.migrate import migrate
from service.eventlog.store import EventStore
from service.readmodels.projector import Projector

COMPANIES = 200
BODIES = 400
EVENTS = 9_000
QUICK_EVENTS = 1_500
PAGE = 300  # about what a 0.2 s step takes in at bench_api.py's 1,500 appends/s


async def measure(admin_url: str, events: int, page: int, keep_entities: int) -> list[float]:
    """CPU seconds of each catch-up (one per `page` events appended)."""
    async with scratch_database(admin_url, "bench_projector") as url:
        conn = await asyncpg.connect(url)
        try:
            await migrate(conn)
        finally:
            await conn.close()
        async with asyncpg.create_pool(url, min_size=1, max_size=4) as pool:
            rng = random.Random(1)
            store = EventStore(pool)
            await store.append(registrations(COMPANIES, rng))
            projector = Projector(pool, keep_entities=keep_entities)
            await projector.catch_up()
            bodies = timeline_events(BODIES, COMPANIES, rng)
            cpu: list[float] = []
            for first in range(0, events, page):
                for i in range(first, min(first + page, events)):
                    event = msgspec.structs.replace(bodies[i % BODIES], id=uuid.uuid4())
                    await store.append([event])
                before = time.process_time()
                await projector.catch_up()
                cpu.append(time.process_time() - before)
            return cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", default=os.environ.get("TIMELINE_DATABASE_URL"))
    parser.add_argument(
        "--events", type=int, help=f"events appended ({EVENTS:,}; --quick: {QUICK_EVENTS:,})"
    )
    parser.add_argument("--page", type=int, default=PAGE, help=f"events per catch-up ({PAGE})")
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    if not args.database_url:
        parser.error("--database-url (or $TIMELINE_DATABASE_URL) is required")
    events = args.events or (QUICK_EVENTS if args.quick else EVENTS)
    modes = {"kept (default)": Projector.KEEP_ENTITIES, "afresh per page": 0}
    results: dict[str, list[float]] = {}
    for label, keep in modes.items():
        note(f"projector {label}: {events:,} events, a catch-up every {args.page}")
        results[label] = asyncio.run(measure(args.database_url, events, args.page, keep))
    print(
        f"PostgreSQL at {redacted(args.database_url)}; {events:,} single-event appends, 200 "
        f"companies, a catch-up every {args.page} events; load average "
        f"{os.getloadavg()[0]:.1f} at the end"
    )
    print(f"   {'projector':<18}{'CPU ms per event: all':>24}{'first tenth':>14}{'last tenth':>13}")
    tenth = max(1, len(next(iter(results.values()))) // 10)
    for label, cpu in results.items():
        print(
            f"   {label:<18}{sum(cpu) / events * 1000:>24.3f}"
            f"{sum(cpu[:tenth]) / (tenth * args.page) * 1000:>14.3f}"
            f"{sum(cpu[-tenth:]) / (tenth * args.page) * 1000:>13.3f}"
        )
    kept, fresh = results.values()
    print(f"   kept / afresh: {sum(kept) / sum(fresh):.2f}")


if __name__ == "__main__":
    main()
