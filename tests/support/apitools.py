"""Helpers for API tests: event bodies and problem-document checks."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator

import asyncpg
import httpx
import msgspec

import events
from tests.support import builders

PROBLEM = "application/problem+json"


SOURCE = msgspec.to_builtins(builders.SOURCE)  # the JSON of the builders' one source


def registration(entity: str, kind: str = "company") -> dict:
    """The JSON body of `builders.registered(entity, kind)`: one builder of a registration."""
    return msgspec.json.decode(events.encode(builders.registered(entity, kind)))


def listing(entity: str, occurred: str = "2022-12-16", **extra: object) -> dict:
    return {
        "type": "EntityListed",
        "entity": entity,
        "occurred": occurred,
        "list": "us-entity-list",
        "authority": "BIS",
        "sources": SOURCE,
    } | extra


def delisting(entity: str, occurred: str, **extra: object) -> dict:
    """An `EntityDelisted` from the US Entity List; `extra` names a designation, a listing, ..."""
    return {
        "type": "EntityDelisted",
        "entity": entity,
        "occurred": occurred,
        "list": "us-entity-list",
        "sources": SOURCE,
    } | extra


async def log_size(pool: asyncpg.Pool) -> int:
    return await pool.fetchval("SELECT count(*) FROM events")


def assert_problem(response: httpx.Response, status: int, field: str | None = None) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    body = response.json()
    assert body["status"] == status and body["type"].startswith("https://") and body["title"]
    if field is not None:
        assert body.get("field") == field, body
    return body


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def serving(env: dict[str, str], args: list[str], timeout: float = 60) -> Iterator[str]:
    """Run the real `timeline serve` on a free port; yield its base URL once /health answers."""
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    key_dir = tempfile.mkdtemp(prefix="timeline-key-")
    # The server logs a JSON line per request: into a file, since a pipe nobody reads fills up
    # (64 KiB) and then blocks the server.
    output = open(os.path.join(key_dir, "serve.log"), "w+b")  # closed at the end
    process = subprocess.Popen(
        [sys.executable, "-m", "service.cli", "serve", "--port", str(port), "--no-seed", *args],
        env={
            "TIMELINE_SIGNING_KEY_FILE": os.path.join(key_dir, "signing-key.pem"),
            **env,
            "TIMELINE_SSE_HEARTBEAT_SECONDS": "0.5",
        },
        stdout=output,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                httpx.get(f"{base}/health", timeout=2)
                break
            except httpx.TransportError:
                if process.poll() is not None or time.monotonic() > deadline:
                    output.seek(0)
                    said = output.read().decode(errors="replace")
                    raise AssertionError(f"timeline serve did not answer:\n{said}") from None
                time.sleep(0.2)
        yield base
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            raise
        finally:
            output.close()
