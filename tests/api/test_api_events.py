"""`/v1/events` through Litestar's test client against real PostgreSQL."""

from __future__ import annotations

import asyncio
import uuid

import asyncpg
import pytest
from litestar.testing import AsyncTestClient

from service.access import tokens
from tests.support.apitools import assert_problem, listing, log_size, registration


async def test_write_without_a_token_is_401_and_changes_nothing(
    client: AsyncTestClient, pool: asyncpg.Pool
) -> None:
    response = await client.post("/v1/events", json=registration("ymtc"))
    assert_problem(response, 401)
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert await log_size(pool) == 0


async def test_write_with_a_bad_or_revoked_token_is_401(
    client: AsyncTestClient, pool: asyncpg.Pool, token: str
) -> None:
    forged = token[:-4] + ("aaaa" if not token.endswith("aaaa") else "bbbb")
    response = await client.post(
        "/v1/events", json=registration("ymtc"), headers={"Authorization": f"Bearer {forged}"}
    )
    assert_problem(response, 401)
    response = await client.post(
        "/v1/events", json=registration("ymtc"), headers={"Authorization": "Bearer nonsense"}
    )
    assert_problem(response, 401)
    token_id = token.split("_")[1]
    assert await tokens.revoke_token(pool, token_id)
    await asyncio.sleep(tokens.CACHE_SECONDS)  # the cache may hold it this long, no longer
    response = await client.post(
        "/v1/events", json=registration("ymtc"), headers={"Authorization": f"Bearer {token}"}
    )
    assert_problem(response, 401)
    assert await log_size(pool) == 0


async def test_token_without_write_scope_is_403(
    client: AsyncTestClient, pool: asyncpg.Pool, database_url: str
) -> None:
    # A scope the checker does not grant writes with; inserted directly since `create` only
    # makes write tokens today. Only the tables' owner may drop the check, not the service.
    owner = await asyncpg.connect(database_url)
    try:
        await owner.execute("ALTER TABLE api_tokens DROP CONSTRAINT api_tokens_scope_check")
    finally:
        await owner.close()
    secret = "x" * 43
    import hashlib

    await pool.execute(
        "INSERT INTO api_tokens (id, name, scope, secret_hash) VALUES ($1, 'r', 'read', $2)",
        "abcdefghijkl",
        hashlib.sha256(secret.encode()).digest(),
    )
    response = await client.post(
        "/v1/events",
        json=registration("ymtc"),
        headers={"Authorization": f"Bearer tl_abcdefghijkl_{secret}"},
    )
    assert_problem(response, 403)
    assert await log_size(pool) == 0


async def test_append_one_event_then_the_same_again_is_idempotent(
    writer: AsyncTestClient, pool: asyncpg.Pool
) -> None:
    event = listing("ymtc", id=str(uuid.uuid4()))
    first = await writer.post("/v1/events", json=event)
    assert first.status_code == 201
    body = first.json()
    assert body["appended"] == 1 and body["events"][0]["position"] == 4
    again = await writer.post("/v1/events", json=event)
    assert again.status_code == 200 and again.json()["appended"] == 0
    assert again.json()["events"] == body["events"]
    assert await log_size(pool) == 4


async def test_malformed_json_is_400(writer: AsyncTestClient, pool: asyncpg.Pool) -> None:
    response = await writer.post(
        "/v1/events",
        content=b'{"type": "EntityListed",',
        headers={"Content-Type": "application/json"},
    )
    assert_problem(response, 400)
    assert await log_size(pool) == 3


@pytest.mark.parametrize(
    ("event", "field"),
    [
        ({"type": "Unheard", "entity": "ymtc"}, "type"),
        (listing("ymtc", "2022-02-30"), "occurred"),
        (listing("ymtc", "Dec 2022"), "occurred"),
        (listing("ymtc") | {"sources": []}, "sources"),
        (listing("ymtc") | {"sources": [{"url": "javascript:alert(1)"}]}, "sources[0].url"),
        ({k: v for k, v in listing("ymtc").items() if k != "list"}, "list"),
        (listing("ymtc") | {"authority": 5}, "authority"),
        (listing("YMTC"), "entity"),
        (listing("nobody"), "entity"),
        (listing("ymtc", list="no-such-list"), "list"),
        (listing("ymtc", supersedes=[str(uuid.uuid4())]), "supersedes[0]"),
    ],
)
async def test_an_invalid_event_is_422_naming_the_field_and_changes_nothing(
    writer: AsyncTestClient, pool: asyncpg.Pool, event: dict, field: str
) -> None:
    response = await writer.post("/v1/events", json=event)
    assert_problem(response, 422, field)
    assert await log_size(pool) == 3


async def test_a_bad_event_in_a_batch_is_named_by_its_index_and_nothing_is_appended(
    writer: AsyncTestClient, pool: asyncpg.Pool
) -> None:
    response = await writer.post("/v1/events", json=[listing("ymtc"), listing("ymtc", "2022-13")])
    assert_problem(response, 422, "[1].occurred")
    response = await writer.post(
        "/v1/events", json={"events": [listing("ymtc"), listing("nobody")]}
    )
    assert_problem(response, 422, "events[1].entity")
    assert await log_size(pool) == 3


async def test_stale_expected_position_is_409_and_an_id_clash_is_a_different_409(
    writer: AsyncTestClient, pool: asyncpg.Pool
) -> None:
    ok = await writer.post(
        "/v1/events", json={"events": [listing("ymtc")], "expected_position": {"ymtc": 2}}
    )
    assert ok.status_code == 201, ok.text
    stale = await writer.post(
        "/v1/events", json={"events": [listing("ymtc")], "expected_position": {"ymtc": 2}}
    )
    stale_body = assert_problem(stale, 409, "expected_position.ymtc")
    event_id = str(uuid.uuid4())
    await writer.post("/v1/events", json=listing("huawei", id=event_id))
    clash = await writer.post("/v1/events", json=listing("huawei", "2019", id=event_id))
    clash_body = assert_problem(clash, 409, "id")
    assert clash_body["type"] != stale_body["type"]
    assert await log_size(pool) == 5


async def test_bad_expected_position_is_422(writer: AsyncTestClient, pool: asyncpg.Pool) -> None:
    response = await writer.post(
        "/v1/events", json={"events": [listing("ymtc")], "expected_position": {"ymtc": -1}}
    )
    assert_problem(response, 422, "expected_position.ymtc")
    assert await log_size(pool) == 3


async def test_too_many_events_or_too_many_bytes_is_413(
    writer: AsyncTestClient, pool: asyncpg.Pool
) -> None:
    response = await writer.post("/v1/events", json=[listing("ymtc")] * 1001)
    assert_problem(response, 413)
    huge = listing("ymtc") | {"text": {"en": "x" * (5 * 1024 * 1024)}}
    response = await writer.post("/v1/events", json=huge)
    assert_problem(response, 413)
    assert await log_size(pool) == 3


async def test_events_are_paged_in_position_order_with_filters(writer: AsyncTestClient) -> None:
    await writer.post("/v1/events", json=[listing("ymtc"), listing("huawei", "2019-05-16")])
    first = (await writer.get("/v1/events", params={"limit": 2})).json()
    assert [e["position"] for e in first["events"]] == [1, 2] and first["next_after"] == 2
    rest = (await writer.get("/v1/events", params={"after": 2, "limit": 10})).json()
    assert [e["position"] for e in rest["events"]] == [3, 4, 5] and rest["next_after"] is None
    assert rest["events"][1]["event"]["occurred"] == "2022-12-16"
    only = (
        await writer.get("/v1/events", params={"entity": "huawei", "type": "EntityListed"})
    ).json()
    assert [e["position"] for e in only["events"]] == [5]
    both = (await writer.get("/v1/events", params={"type": "EntityListed,EntityRegistered"})).json()
    assert len(both["events"]) == 5


@pytest.mark.parametrize(
    ("params", "status", "field"),
    [
        ({"limit": 0}, 400, "limit"),
        ({"limit": 5000}, 400, "limit"),
        ({"after": -1}, 400, "after"),
        ({"type": "Nope"}, 422, "type"),
        ({"entity": "Bad Id"}, 400, "entity"),
    ],
)
async def test_bad_paging_parameters_are_refused_naming_them(
    client: AsyncTestClient, params: dict, status: int, field: str
) -> None:
    assert_problem(await client.get("/v1/events", params=params), status, field)


async def test_a_full_page_is_immutable_and_a_partial_page_revalidates(
    writer: AsyncTestClient,
) -> None:
    full = await writer.get("/v1/events", params={"limit": 2})
    assert full.headers["cache-control"] == "public, max-age=31536000, immutable"
    partial = await writer.get("/v1/events", params={"limit": 10})
    etag = partial.headers["etag"]
    assert "immutable" not in partial.headers["cache-control"]
    assert (
        await writer.get("/v1/events", params={"limit": 10}, headers={"If-None-Match": etag})
    ).status_code == 304
    await writer.post("/v1/events", json=listing("ymtc"))
    moved = await writer.get("/v1/events", params={"limit": 10}, headers={"If-None-Match": etag})
    assert moved.status_code == 200 and len(moved.json()["events"]) == 4


async def test_unknown_resource_is_a_404_problem(client: AsyncTestClient) -> None:
    assert_problem(await client.get("/v1/nothing-here"), 404)


async def test_cors_is_open_for_reads(client: AsyncTestClient) -> None:
    response = await client.get("/v1/events", headers={"Origin": "https://news.example"})
    assert response.headers["access-control-allow-origin"] == "*"


async def test_bad_last_event_id_is_refused(client: AsyncTestClient) -> None:
    assert_problem(
        await client.get("/v1/events/stream", headers={"Last-Event-ID": "abc"}),
        422,
        "Last-Event-ID",
    )


async def test_openapi_documents_the_append_body_as_events_batches_or_expected_positions(
    client: AsyncTestClient,
) -> None:
    schema = (await client.get("/schema/openapi.json")).json()
    body = schema["paths"]["/v1/events"]["post"]["requestBody"]["content"]["application/json"]
    single, batch, with_expected = body["schema"]["oneOf"]
    refs = {option["$ref"].rsplit("/", 1)[1] for option in single["oneOf"]}
    assert {"EntityRegistered", "EntityListed", "RuleIssued", "EventRetracted"} <= refs
    assert refs <= set(schema["components"]["schemas"])
    assert single["discriminator"]["propertyName"] == "type"
    assert batch["type"] == "array" and batch["maxItems"] == 1000
    assert with_expected["required"] == ["events"]
    assert "expected_position" in with_expected["properties"]
    operations = [op for path in schema["paths"].values() for op in path.values()]
    assert all(op.get("operationId") for op in operations)
