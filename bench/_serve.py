"""The real service for the HTTP benchmarks and the load test: `timeline serve` in a subprocess
against a scratch database, and the scratch databases themselves.

Nothing here is timed.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import secrets
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg
import httpx

from service.db.roles import drop_runtime_role

REPO = Path(__file__).resolve().parent.parent


def with_database(url: str, dbname: str) -> str:
    """The same server URL, pointing at another database (query string such as ?host= kept)."""
    import urllib.parse

    parts = urllib.parse.urlsplit(url)
    return urllib.parse.urlunsplit(parts._replace(path="/" + urllib.parse.quote(dbname)))


@contextlib.asynccontextmanager
async def scratch_database(admin_url: str, prefix: str) -> AsyncIterator[str]:
    """A new, empty database on the server of `admin_url`, dropped afterwards; yields its URL."""
    name = f"{prefix}_{os.getpid()}_{secrets.token_hex(4)}"
    conn = await asyncpg.connect(admin_url)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    try:
        yield with_database(admin_url, name)
    finally:
        conn = await asyncpg.connect(admin_url)
        try:
            version = int(await conn.fetchval("SELECT current_setting('server_version_num')"))
            force = " WITH (FORCE)" if version >= 130000 else ""
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}"{force}')
            await drop_runtime_role(conn, name)  # the served app made it; roles outlive databases
        finally:
            await conn.close()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclasses.dataclass(frozen=True)
class Served:
    base: str
    """http://127.0.0.1:<port>"""
    process: subprocess.Popen
    log: Path
    """The server's stdout and stderr."""

    def worker_pids(self) -> list[int]:
        """The granian worker processes (children of the main process), for py-spy."""
        try:
            with open(f"/proc/{self.process.pid}/task/{self.process.pid}/children") as f:
                return [int(p) for p in f.read().split()]
        except OSError:
            return []

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


@contextlib.contextmanager
def serving(
    database_url: str,
    *,
    seed: bool,
    workers: int = 1,
    env: dict[str, str] | None = None,
    timeout: float = 120,
) -> Iterator[Served]:
    """Run `timeline serve` (granian) against `database_url` on a free loopback port; yield once
    GET /health answers 200. The log goes to a temporary file (a pipe could fill and block the
    server). SIGTERM on the way out, SIGKILL if it has not stopped after 30 s."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    work = Path(tempfile.mkdtemp(prefix="timeline-serve-"))
    log = work / "serve.log"
    argv = [sys.executable, "-m", "service.cli", "serve", "--port", str(port)]
    argv += ["--workers", str(workers)]
    if not seed:
        argv.append("--no-seed")
    child_env = {
        **os.environ,
        "TIMELINE_DATABASE_URL": database_url,
        "TIMELINE_SIGNING_KEY_FILE": str(work / "signing-key.pem"),
        **(env or {}),
    }
    with open(log, "wb") as out:
        process = subprocess.Popen(
            argv, cwd=REPO, env=child_env, stdout=out, stderr=subprocess.STDOUT
        )
    served = Served(base=base, process=process, log=log)
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                if httpx.get(f"{base}/health", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"timeline serve did not answer:\n{served.log_tail()}")
            time.sleep(0.2)
        yield served
    except BaseException:
        keep = True
        raise
    else:
        keep = False
    finally:
        stop(process)
        if keep:  # something went wrong: leave the server's log for a look
            print(f"the server's log is kept in {log}", file=sys.stderr)
        else:
            with contextlib.suppress(OSError):
                log.unlink()
                (work / "signing-key.pem").unlink(missing_ok=True)
                work.rmdir()


@contextlib.contextmanager
def projecting(database_url: str) -> Iterator[subprocess.Popen]:
    """Run `timeline projections run` (the projector as a process of its own) against
    `database_url` for the block; SIGTERM on the way out."""
    with tempfile.TemporaryFile() as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "service.cli", "projections", "run"],
            cwd=REPO,
            env={**os.environ, "TIMELINE_DATABASE_URL": database_url},
            stdout=out,
            stderr=subprocess.STDOUT,
        )
        try:
            yield process
        finally:
            stop(process)


def stop(process: subprocess.Popen) -> None:
    """SIGTERM, then SIGKILL if the process has not exited after 30 s."""
    process.terminate()
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
