"""A primary and a streaming-replication hot standby of it, as PostgreSQL makes them.

Both run from the binaries the `pgserver` package ships (tests/support/scratch_pg.py), so no
system PostgreSQL is needed: the primary is made by initdb with WAL for replication, the
standby by `pg_basebackup -R` from it (it then streams the primary's WAL and replays it, and
answers read-only queries meanwhile). Replay is held and released with PostgreSQL's own
`pg_wal_replay_pause()` / `pg_wal_replay_resume()`.
"""

from __future__ import annotations

import asyncio
import contextlib
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg

from tests.support.scratch_pg import ScratchCluster

# What a primary needs to feed a hot standby (PostgreSQL 16 defaults, said out loud), and no
# fsync: a scratch cluster need not survive a power cut, and the test runs on a shared machine.
PRIMARY_SETTINGS = """
wal_level = replica
max_wal_senders = 4
hot_standby = on
fsync = off
"""


class Standby(ScratchCluster):
    """A hot standby of `primary`: its data folder is a base backup of the primary's, with
    `standby.signal` and `primary_conninfo` written by `pg_basebackup -R`."""

    def __init__(self, root: Path, primary: ScratchCluster) -> None:
        super().__init__(root, initdb=False)
        self._run(
            "pg_basebackup",
            *("-h", "127.0.0.1", "-p", str(primary.port), "-U", "postgres"),
            *("-D", str(self.data), "-R", "-X", "stream", "-c", "fast"),
        )


def database_url(cluster_url: str, database: str) -> str:
    """`cluster_url` naming another database of the same server."""
    parts = urlsplit(cluster_url)
    return urlunsplit(parts._replace(path=f"/{database}"))


@contextlib.contextmanager
def primary_and_standby() -> Iterator[tuple[ScratchCluster, Standby]]:
    """A started primary and a started hot standby streaming from it, each in a fresh folder
    under the system temp dir; both stopped (immediately) and removed at the end, whatever
    happened."""
    with contextlib.ExitStack() as stack:
        primary_root = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="tl-primary-")))
        standby_root = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="tl-standby-")))
        primary = ScratchCluster(primary_root)
        with open(primary.data / "postgresql.conf", "a") as conf:
            conf.write(PRIMARY_SETTINGS)
        stack.callback(_stop, primary)
        primary.start()
        standby = Standby(standby_root, primary)
        stack.callback(_stop, standby)
        standby.start()
        yield primary, standby


def _stop(cluster: ScratchCluster) -> None:
    """Stop `cluster` if it runs (a cluster whose start failed half-way included)."""
    with contextlib.suppress(Exception):
        cluster.thaw()
    with contextlib.suppress(Exception):
        cluster.stop("immediate")


async def _fetchval(url: str, query: str, *args: object) -> object:
    conn = await asyncpg.connect(url, timeout=5)
    try:
        return await conn.fetchval(query, *args)
    finally:
        await conn.close()


async def pause_replay(standby_url: str) -> None:
    """Hold the standby's replay: it keeps receiving WAL and answering queries, but applies
    nothing more until `resume_replay`."""
    await _fetchval(standby_url, "SELECT pg_wal_replay_pause()")
    state = await _fetchval(standby_url, "SELECT pg_get_wal_replay_pause_state()")
    # "pause requested" also holds the next record back: replay checks it before applying one.
    assert state in ("paused", "pause requested"), state


async def resume_replay(standby_url: str) -> None:
    await _fetchval(standby_url, "SELECT pg_wal_replay_resume()")


_REPLAYED_UP_TO = "SELECT pg_last_wal_replay_lsn() >= $1::text::pg_lsn"


async def replayed_all_of(primary_url: str, standby_url: str, within: float = 20.0) -> None:
    """Wait until the standby has replayed everything the primary has written so far."""
    wanted = await _fetchval(primary_url, "SELECT pg_current_wal_lsn()::text")
    deadline = time.monotonic() + within
    while not await _fetchval(standby_url, _REPLAYED_UP_TO, wanted):
        assert time.monotonic() < deadline, f"the standby did not replay up to {wanted}"
        await asyncio.sleep(0.05)
