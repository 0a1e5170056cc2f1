"""`/v1/log`: signed heads, the key, inclusion and consistency proofs, through the test client.

Every proof the API gives is checked with the pure RFC 9162 verifiers against a head whose
signature is checked with the key the API publishes.
"""

from __future__ import annotations

import asyncio
import base64
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import asyncpg
import httpx
import msgspec
import pytest
from litestar.testing import AsyncTestClient

from projections.audit import merkle, signing
from service.eventlog.store import EventStore
from service.http.app import create_app
from service.settings import Settings
from tests.support.builders import listed, registered

PROBLEM = "application/problem+json"


@pytest.fixture
async def client(database_url: str, tmp_path: Path) -> AsyncIterator[AsyncTestClient]:
    settings = Settings(database_url=database_url, data_dir=tmp_path)
    async with AsyncTestClient(create_app(settings)) as client:
        yield client


async def append(store: EventStore, n: int, *, first: bool = False) -> None:
    events = [registered("us-entity-list", "list"), registered("ymtc")] if first else []
    events += [listed("ymtc", f"2022-{1 + i % 12:02d}") for i in range(n - len(events))]
    await store.append(events)


async def head_of(client: AsyncTestClient, size: int) -> signing.SignedHead:
    """The signed head once the tree has reached `size` (the builder follows the log)."""
    for _ in range(200):
        response = await client.get("/v1/log/head")
        assert response.status_code == 200, response.text
        head = signing.decode_head(response.content)
        if head.size >= size:
            return head
        await asyncio.sleep(0.05)
    raise AssertionError(f"the tree did not reach {size}")


async def public_key(client: AsyncTestClient) -> signing.Ed25519PublicKey:
    response = await client.get("/v1/log/key")
    assert response.status_code == 200
    info = msgspec.json.decode(response.content, type=signing.KeyInfo)
    assert info.algorithm == "Ed25519"
    return signing.public_key_from_info(info)


async def in_app(client: AsyncTestClient, call: Callable[[], Awaitable[object]]) -> object:
    """Run a coroutine of the app's state on the app's own event loop (the client's portal)."""
    return await asyncio.to_thread(client.blocking_portal.call, call)


def assert_problem(response: httpx.Response, status: int, field: str | None) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    body = response.json()
    assert body["status"] == status and body["title"]
    assert body.get("field") == field, body
    return body


async def test_head_and_key(client: AsyncTestClient, store: EventStore, tmp_path: Path) -> None:
    key = await public_key(client)
    empty = await head_of(client, 0)
    assert signing.verify_head(key, empty)
    assert (empty.size, empty.root) == (0, merkle.EMPTY_ROOT)

    await append(store, 5, first=True)
    head = await head_of(client, 5)
    assert signing.verify_head(key, head)
    log = await store.read_after(0, 100)
    assert head.root == merkle.root([merkle.leaf_of(r) for r in log])

    response = await client.get("/v1/log/head")
    assert response.headers["cache-control"] == "no-cache"
    etag = response.headers["etag"]
    again = await client.get("/v1/log/head", headers={"If-None-Match": etag})
    assert again.status_code == 304
    # Heads of one size are the same bytes every time (timestamp = when the tree got there).
    assert (await client.get("/v1/log/head")).content == response.content

    # The key is the file's, made with mode 0600 in the data directory.
    key_file = tmp_path / "signing-key.pem"
    assert key_file.stat().st_mode & 0o777 == 0o600
    stored = signing.load_private_key(key_file.read_bytes())
    assert signing.public_key_raw(stored.public_key()) == signing.public_key_raw(key)
    info = (await client.get("/v1/log/key")).json()
    assert base64.b64decode(info["public_key"]) == signing.public_key_raw(key)


async def test_inclusion_proofs_verify(client: AsyncTestClient, store: EventStore) -> None:
    await append(store, 11, first=True)
    key = await public_key(client)
    head = await head_of(client, 11)
    assert signing.verify_head(key, head)
    log = await store.read_after(0, 100)
    for recorded in log:
        response = await client.get(
            "/v1/log/proof/inclusion", params={"position": recorded.position, "size": head.size}
        )
        assert response.status_code == 200, response.text
        assert response.headers["cache-control"] == "public, max-age=31536000, immutable"
        body = response.json()
        assert body["size"] == head.size and body["leaf_index"] == recorded.position - 1
        leaf = merkle.leaf_of(recorded)
        assert body["leaf_hash"] == leaf.hex()
        proof = [bytes.fromhex(h) for h in body["proof"]]
        assert merkle.verify_inclusion(leaf, recorded.position - 1, head.size, proof, head.root)
        # A flipped bit fails.
        if proof:
            bad = [bytes([proof[0][0] ^ 1]) + proof[0][1:], *proof[1:]]
            assert not merkle.verify_inclusion(
                leaf, recorded.position - 1, head.size, bad, head.root
            )

    etag = response.headers["etag"]
    cached = await client.get(
        "/v1/log/proof/inclusion",
        params={"position": log[-1].position, "size": head.size},
        headers={"If-None-Match": etag},
    )
    assert cached.status_code == 304
    # Without a size: the current tree's, named, and not cached for ever.
    current = await client.get("/v1/log/proof/inclusion", params={"position": 3})
    assert current.json()["size"] == head.size
    assert current.headers["cache-control"] == "no-cache"


async def test_consistency_proofs_verify(client: AsyncTestClient, store: EventStore) -> None:
    key = await public_key(client)
    await append(store, 6, first=True)
    pinned = [await head_of(client, 6)]
    for n in (1, 4, 9):
        await append(store, n)
        pinned.append(await head_of(client, pinned[-1].size + n))
    assert all(signing.verify_head(key, h) for h in pinned)
    for old in pinned:
        for new in pinned:
            if old.size > new.size:
                continue
            response = await client.get(
                "/v1/log/proof/consistency", params={"from": old.size, "to": new.size}
            )
            assert response.status_code == 200, response.text
            body = response.json()
            assert (body["from"], body["to"]) == (old.size, new.size)
            proof = [bytes.fromhex(h) for h in body["proof"]]
            assert merkle.verify_consistency(old.size, new.size, proof, old.root, new.root)
            assert response.headers["cache-control"] == "public, max-age=31536000, immutable"
    # From the empty tree, and to the current size by default.
    response = await client.get("/v1/log/proof/consistency", params={"from": 0})
    assert response.json() == {"from": 0, "to": pinned[-1].size, "proof": []}


async def test_bad_parameters_are_named(client: AsyncTestClient, store: EventStore) -> None:
    await append(store, 4, first=True)
    await head_of(client, 4)
    inclusion, consistency = "/v1/log/proof/inclusion", "/v1/log/proof/consistency"
    assert_problem(await client.get(inclusion), 400, "position")
    assert_problem(await client.get(inclusion, params={"position": 0, "size": 4}), 400, "position")
    assert_problem(await client.get(inclusion, params={"position": "x"}), 400, "position")
    assert_problem(await client.get(inclusion, params={"position": 1, "size": 0}), 400, "size")
    assert_problem(await client.get(inclusion, params={"position": 5, "size": 4}), 400, "position")
    assert_problem(await client.get(consistency), 400, "from")
    assert_problem(await client.get(consistency, params={"from": -1}), 400, "from")
    assert_problem(await client.get(consistency, params={"from": 3, "to": 2}), 400, "from")
    assert_problem(await client.get(consistency, params={"from": 1, "to": "y"}), 400, "to")
    # Sizes beyond the log: 404, naming the parameter.
    body = assert_problem(
        await client.get(inclusion, params={"position": 1, "size": 99}), 404, "size"
    )
    assert "4 events" in body["detail"]
    assert_problem(await client.get(inclusion, params={"position": 99}), 404, "position")
    assert_problem(await client.get(consistency, params={"from": 1, "to": 99}), 404, "to")
    assert_problem(await client.get(consistency, params={"from": 99}), 404, "from")


async def test_a_size_the_tree_has_not_reached_is_409(
    client: AsyncTestClient, store: EventStore
) -> None:
    await append(store, 4, first=True)
    await head_of(client, 4)
    state = client.app.state
    await in_app(client, state.tree.stop)  # the tree stops following the log
    await append(store, 3)
    await in_app(client, state.watcher.refresh)
    response = await client.get("/v1/log/proof/inclusion", params={"position": 1, "size": 7})
    assert_problem(response, 409, "size")
    assert response.headers["retry-after"] == "1"
    assert (await client.get("/v1/log/head")).json()["size"] == 4  # the head names its size


async def test_a_proof_waits_briefly_for_the_tree(
    client: AsyncTestClient, store: EventStore, pool: asyncpg.Pool
) -> None:
    await append(store, 4, first=True)
    await head_of(client, 4)
    await append(store, 2)
    await in_app(client, client.app.state.watcher.refresh)
    response = await client.get("/v1/log/proof/consistency", params={"from": 4, "to": 6})
    assert response.status_code == 200, response.text
