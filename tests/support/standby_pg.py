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
import threading
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
def primary_and_standbys(count: int) -> Iterator[tuple[ScratchCluster, list[Standby]]]:
    """A started primary and `count` started hot standbys streaming from it, each in a fresh
    folder under the system temp dir; all stopped (immediately) and removed at the end,
    whatever happened."""
    with contextlib.ExitStack() as stack:
        primary = ScratchCluster(_folder(stack, "tl-primary-"))
        with open(primary.data / "postgresql.conf", "a") as conf:
            conf.write(PRIMARY_SETTINGS)
        stack.callback(_stop, primary)
        primary.start()
        standbys = []
        for _ in range(count):
            standby = Standby(_folder(stack, "tl-standby-"), primary)
            stack.callback(_stop, standby)
            standby.start()
            standbys.append(standby)
        yield primary, standbys


def _folder(stack: contextlib.ExitStack, prefix: str) -> Path:
    return Path(stack.enter_context(tempfile.TemporaryDirectory(prefix=prefix)))


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


class StandbyAddress:
    """One address in front of several standbys, as a Kubernetes Service (the `-ro` service of
    a PostgreSQL operator) is: each new connection goes to the standby it points at now. When
    it is pointed elsewhere, the connections it carried end, as they do when the standby they
    reached restarts or its pod moves. A TCP forwarder on 127.0.0.1, in a thread of its own (so
    it forwards whatever loop or thread the service's connections run in)."""

    def __init__(self, standby: ScratchCluster) -> None:
        self._target = standby.port
        self._writers: set[asyncio.StreamWriter] = set()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._thread.start()
        self._server = self._call(asyncio.start_server(self._forward, "127.0.0.1", 0))
        self.port: int = self._server.sockets[0].getsockname()[1]

    def url(self, database: str) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def point_at(self, standby: ScratchCluster) -> None:
        async def switch() -> None:
            self._target = standby.port
            for writer in list(self._writers):
                writer.close()

        self._call(switch())

    def close(self) -> None:
        async def stop() -> None:
            self._server.close()
            for writer in list(self._writers):
                writer.close()

        self._call(stop())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)
        self._loop.close()

    def _call(self, coroutine):
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(10)

    async def _forward(self, client_in: asyncio.StreamReader, client_out: asyncio.StreamWriter):
        try:
            server_in, server_out = await asyncio.open_connection("127.0.0.1", self._target)
        except OSError:
            client_out.close()
            return
        self._writers |= {client_out, server_out}
        try:
            await asyncio.gather(_pipe(client_in, server_out), _pipe(server_in, client_out))
        finally:
            self._writers -= {client_out, server_out}


async def _pipe(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
    """Copy until either side ends, then end both directions."""
    with contextlib.suppress(OSError):
        while data := await source.read(65536):
            sink.write(data)
            await sink.drain()
    sink.close()
