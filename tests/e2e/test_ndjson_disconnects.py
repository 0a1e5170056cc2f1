"""NDJSON streams of list members left mid-stream, against the real `timeline serve` process.

Each stream reads through a server-side cursor on a pooled connection. Clients that drop the
connection abortively (RST) in the middle of the answer, more of them in all than the pool has
connections, must leave the service working: every connection comes back to the pool, the next
reads and appends answer promptly, a whole stream still gives every member, and nothing is
logged as an error.
"""

from __future__ import annotations

import asyncio
import json
import socket
import struct
import time

import asyncpg
import httpx

from service.access import tokens
from tests.e2e.test_stream_disconnects import _errors_logged, serving
from tests.support.apitools import listing, registration

MEMBERS = 4_000  # ~600 KB of NDJSON: more than the socket buffers hold, so a stream is mid-way
POOL = 10  # TIMELINE_POOL_MAX_SIZE (the default): fewer connections than streams dropped in all
STREAMS_PER_ROUND = 4
ROUNDS = 4  # 16 streams dropped
ANSWER_BOUND = 5.0  # seconds a read or an append may take after the drops (a wedged pool: never)
PATH = "/v1/lists/us-entity-list/members?as_of=2024-01-01"


async def _open_and_drop(port: int) -> int:
    """Ask for the members as NDJSON, read the head and some lines, then reset the
    connection. Returns the bytes read."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(
        f"GET {PATH} HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: application/x-ndjson\r\n\r\n".encode()
    )
    await writer.drain()
    got = b""
    while len(got) < 20_000:
        chunk = await asyncio.wait_for(reader.read(65536), 30)
        if not chunk:
            break
        got += chunk
    assert got.startswith(b"HTTP/1.1 200"), got[:300]
    assert b"application/x-ndjson" in got.split(b"\r\n\r\n", 1)[0].lower()
    sock = writer.get_extra_info("socket")
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()
    return len(got)


async def test_streams_dropped_mid_answer_give_their_connections_back(
    database_url: str, pool: asyncpg.Pool
) -> None:
    token = await tokens.create_token(pool, scope="write", name="ndjson-drops")
    companies = [f"member-{i:05d}" for i in range(MEMBERS)]
    with serving(database_url, TIMELINE_POOL_MAX_SIZE=str(POOL)) as server:
        async with httpx.AsyncClient(
            base_url=server.base, headers={"Authorization": f"Bearer {token}"}, timeout=60
        ) as client:
            batch = [registration("us-entity-list", "list")]
            for company in companies:
                batch += [registration(company), listing(company, "2020-01-01")]
                if len(batch) >= 900:
                    assert (await client.post("/v1/events", json=batch)).status_code == 201
                    batch = []
            assert (await client.post("/v1/events", json=batch)).status_code == 201
            count = await client.get(PATH + "&count=true")
            assert count.status_code == 200 and count.json()["count"] == MEMBERS, count.text

            for round_ in range(ROUNDS):
                read = await asyncio.gather(
                    *(_open_and_drop(server.port) for _ in range(STREAMS_PER_ROUND))
                )
                assert all(n < 600_000 for n in read), read  # left before the end

                started = time.monotonic()
                try:
                    page = await asyncio.wait_for(client.get(PATH + "&limit=10"), ANSWER_BOUND)
                    appended = await asyncio.wait_for(
                        client.post("/v1/events", json=registration(f"after-{round_}")),
                        ANSWER_BOUND,
                    )
                except TimeoutError:
                    raise AssertionError(
                        f"round {round_}: no answer within {ANSWER_BOUND} s after streams were "
                        "dropped: their connections did not come back to the pool"
                    ) from None
                assert page.status_code == 200, page.text
                assert [m["entity"] for m in page.json()["members"]] == companies[:10]
                assert appended.status_code == 201, appended.text
                assert time.monotonic() - started < ANSWER_BOUND

            whole = await client.get(PATH, headers={"Accept": "application/x-ndjson"})
            assert whole.status_code == 200
            lines = [json.loads(line)["entity"] for line in whole.content.splitlines()]
            assert lines == companies
            health = await client.get("/health")
            assert health.status_code == 200 and health.json()["status"] == "ok", health.text
        assert _errors_logged(server.log()) == []
