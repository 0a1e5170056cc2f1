"""A query string sent as raw UTF-8 (what curl sends) means what its percent-encoded form
means: through the real `timeline serve`, over a plain socket, since HTTP client libraries
percent-encode for us."""

from __future__ import annotations

import json
import os
import socket
import urllib.parse

from events import EntityRegistered, PartialDate, Source
from service.eventlog.store import EventStore
from tests.support.apitools import serving

NAME = "長江存儲"


def raw_get(base: str, target: bytes) -> tuple[int, dict]:
    """GET `target` (bytes, sent as they are) over HTTP/1.1; the status and the JSON body."""
    host, port = urllib.parse.urlsplit(base).netloc.split(":")
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(
            b"GET " + target + b" HTTP/1.1\r\nHost: " + host.encode() + b"\r\n"
            b"Connection: close\r\n\r\n"
        )
        received = b""
        while chunk := sock.recv(65536):
            received += chunk
    head, _, body = received.partition(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    if b"transfer-encoding: chunked" in head.lower():
        body = _dechunk(body)
    return status, json.loads(body)


def _dechunk(body: bytes) -> bytes:
    out = b""
    while body:
        size_line, _, rest = body.partition(b"\r\n")
        size = int(size_line.split(b";")[0], 16)
        if size == 0:
            break
        out += rest[:size]
        body = rest[size + 2 :]
    return out


async def test_a_raw_utf8_search_finds_what_the_percent_encoded_one_finds(
    database_url: str, store: EventStore
) -> None:
    await store.append(
        [
            EntityRegistered(
                entity="ymtc",
                occurred=PartialDate("2016"),
                sources=(Source(url="https://example.org/ymtc"),),
                kind="company",
                names={"en": "YMTC", "zh-Hant": NAME},
            )
        ]
    )
    env = os.environ | {"TIMELINE_DATABASE_URL": database_url}
    with serving(env, []) as base:
        encoded = urllib.parse.quote(NAME).encode()
        status_raw, raw = raw_get(base, b"/v1/entities?q=" + NAME.encode())
        status_encoded, encoded_answer = raw_get(base, b"/v1/entities?q=" + encoded)
        assert (status_raw, status_encoded) == (200, 200), (raw, encoded_answer)
        assert raw == encoded_answer
        assert [e["id"] for e in raw["entities"]] == ["ymtc"]
        assert raw["entities"][0]["matched"] == {"name": NAME, "kind": "exact", "former": False}
        # The simplified spelling, raw, finds the traditional name, ranked with why.
        status, simplified = raw_get(base, "/v1/entities?q=长江存储&limit=1".encode())
        assert status == 200 and simplified["entities"][0]["id"] == "ymtc"
        assert simplified["entities"][0]["matched"]["kind"] == "exact"
        # An unknown parameter named in raw UTF-8 is named back as text, not as Latin-1.
        status, problem = raw_get(base, "/v1/entities?名=1".encode())
        assert status == 400 and problem["field"] == "名"
