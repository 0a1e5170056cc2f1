"""`timeline import` killed with SIGKILL halfway, then run again: the log ends with exactly the
events of the file, each once, in a valid chain."""

from __future__ import annotations

import asyncio
import os
import random
import subprocess
import sys
import time
import uuid
from pathlib import Path

import asyncpg

from events import (
    EntityListed,
    EntityRegistered,
    PartialDate,
    ProductMassProduced,
    Source,
    canonical,
    verify_chain,
)
from service.eventlog.store import SELECT_RECORDED, recorded_from_row

EVENTS = 30_000
COMPANIES = 300


def _write_file(path: Path, seed: int = 5) -> list[uuid.UUID]:
    """An NDJSON file of registrations then listings and products, every event with an id."""
    rnd = random.Random(seed)
    source = (Source(url="https://example.org/source"),)
    events: list = [
        EntityRegistered(
            entity="us-entity-list",
            occurred=PartialDate("1997"),
            sources=source,
            kind="list",
            names={"en": "Entity List"},
            id=uuid.UUID(int=rnd.getrandbits(128), version=4),
        )
    ]
    companies = [f"co-{i:04d}" for i in range(COMPANIES)]
    events += [
        EntityRegistered(
            entity=c,
            occurred=PartialDate("2010"),
            sources=source,
            kind="company",
            names={"en": c.upper()},
            id=uuid.UUID(int=rnd.getrandbits(128), version=4),
        )
        for c in companies
    ]
    while len(events) < EVENTS:
        company = rnd.choice(companies)
        day = PartialDate(f"{rnd.randint(2018, 2025)}-{rnd.randint(1, 12):02d}")
        event_id = uuid.UUID(int=rnd.getrandbits(128), version=4)
        if rnd.random() < 0.5:
            events.append(
                EntityListed(
                    entity=company,
                    occurred=day,
                    sources=source,
                    list="us-entity-list",
                    authority="BIS",
                    id=event_id,
                )
            )
        else:
            events.append(
                ProductMassProduced(
                    entity=company,
                    occurred=day,
                    sources=source,
                    product=f"chip-{rnd.randint(1, 50)}",
                    category="memory",
                    id=event_id,
                )
            )
    path.write_bytes(b"".join(canonical(e) + b"\n" for e in events))
    return [e.id for e in events]


async def _count(url: str) -> int:
    conn = await asyncpg.connect(url)
    try:
        return await conn.fetchval("SELECT count(*) FROM events")
    finally:
        await conn.close()


async def _log(url: str) -> list:
    conn = await asyncpg.connect(url)
    try:
        rows = await conn.fetch(f"{SELECT_RECORDED}, id FROM events ORDER BY position")
    finally:
        await conn.close()
    return rows


def _import(url: str, path: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "service.cli", "import", str(path)],
        env={**os.environ, "TIMELINE_DATABASE_URL": url},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def test_import_killed_halfway_then_rerun_holds_each_event_of_the_file_once(
    database_url: str, tmp_path: Path
) -> None:
    path = tmp_path / "events.ndjson"
    ids = _write_file(path)

    process = _import(database_url, path)
    deadline = time.monotonic() + 120
    while (count := asyncio.run(_count(database_url))) < EVENTS // 3:
        assert process.poll() is None, process.stderr.read().decode() if process.stderr else ""
        assert time.monotonic() < deadline, f"import made no progress ({count} events)"
        time.sleep(0.05)
    process.kill()  # SIGKILL: no cleanup, a batch may be in flight
    process.wait()
    assert process.returncode == -9
    time.sleep(0.5)  # a COMMIT the server had already received still completes
    killed_at = asyncio.run(_count(database_url))
    assert 0 < killed_at < EVENTS, "the kill must land while the import is under way"

    rerun = _import(database_url, path)
    _, err = rerun.communicate(timeout=300)
    assert rerun.returncode == 0, err.decode()
    assert f"{EVENTS - killed_at} new, {killed_at} already in the log" in err.decode()

    rows = asyncio.run(_log(database_url))
    assert [r["id"] for r in rows] == ids  # exactly the file's events, once each, in file order
    assert [r["position"] for r in rows] == list(range(1, EVENTS + 1))
    assert verify_chain([recorded_from_row(r) for r in rows]) is None
