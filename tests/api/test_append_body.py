"""What `POST /v1/events` refuses in a body, and what it answers, through HTTP on PostgreSQL."""

from __future__ import annotations

import json

import asyncpg
import pytest
from litestar.testing import AsyncTestClient

from events.body import MAX_DEPTH
from tests.support.apitools import assert_problem, listing, log_size, registration

URL = "https://www.federalregister.gov/d/2022-27151"


@pytest.mark.parametrize(
    ("event", "field"),
    [
        (listing("ymtc\n"), "entity"),
        (listing("ymtc", list="us-entity-list\n"), "list"),
        (registration("acme") | {"country": "CN\n"}, "country"),
        (registration("acme") | {"parent": "ymtc\n"}, "parent"),
        (listing("ymtc", sources=[{"url": URL + "\n"}]), "sources[0].url"),
        (
            {
                "type": "FinancialImpactDisclosed",
                "entity": "ymtc",
                "occurred": "2023",
                "sources": [{"url": URL}],
                "measure": "revenue",
                "amount": {"amount": 1, "currency": "USD\n"},
            },
            "amount.currency",
        ),
        (listing("ymtc", "2022-12-16\n"), "occurred"),
    ],
)
async def test_an_id_code_url_or_date_with_a_trailing_newline_is_refused_naming_the_field(
    writer: AsyncTestClient, pool: asyncpg.Pool, event: dict, field: str
) -> None:
    response = await writer.post("/v1/events", json=event)
    assert_problem(response, 422, field)
    assert await log_size(pool) == 3


async def test_a_trailing_newline_in_an_expected_position_key_is_refused(
    writer: AsyncTestClient, pool: asyncpg.Pool
) -> None:
    response = await writer.post(
        "/v1/events", json={"events": [listing("ymtc")], "expected_position": {"ymtc\n": 2}}
    )
    body = assert_problem(response, 422)
    assert body["field"].startswith("expected_position")
    assert await log_size(pool) == 3


@pytest.mark.parametrize(
    ("event", "field"),
    [
        (listing("ymtc", authority="BIS\x00"), "authority"),
        (listing("ymtc", headline={"en": "listed\x00"}), "headline.en"),
        (listing("ymtc", sources=[{"url": URL, "title": "\x00"}]), "sources[0].title"),
        (listing("ymtc", sources=[{"url": URL + "\x00"}]), "sources[0].url"),
        (registration("acme") | {"aliases": ["ok", "a\x00b"]}, "aliases[1]"),
        (registration("acme") | {"identifiers": {"lei\x00": "x"}}, "identifiers"),
        (registration("acme") | {"identifiers": {"lei": "x\x00"}}, "identifiers.lei"),
    ],
)
async def test_nul_in_any_text_is_refused_naming_the_field_and_nothing_is_stored(
    writer: AsyncTestClient, pool: asyncpg.Pool, event: dict, field: str
) -> None:
    response = await writer.post("/v1/events", json=event)
    body = assert_problem(response, 422, field)
    assert "NUL" in body["detail"]
    assert await log_size(pool) == 3


@pytest.mark.parametrize("char", ["\x01", "\x1b", "\r", "\x7f", "\x85"])
async def test_control_characters_other_than_tab_and_newline_are_refused_in_free_text(
    writer: AsyncTestClient, pool: asyncpg.Pool, char: str
) -> None:
    response = await writer.post(
        "/v1/events", json=listing("ymtc", text={"en": f"line one{char}line two"})
    )
    body = assert_problem(response, 422, "text.en")
    assert f"U+{ord(char):04X}" in body["detail"]
    assert await log_size(pool) == 3


async def test_tab_and_newline_are_accepted_in_free_text(
    writer: AsyncTestClient, pool: asyncpg.Pool
) -> None:
    response = await writer.post(
        "/v1/events", json=listing("ymtc", text={"en": "first\tcolumn\nsecond line"})
    )
    assert response.status_code == 201, response.text
    assert await log_size(pool) == 4


async def test_events_posted_without_an_id_are_answered_with_the_ids_the_log_stored(
    writer: AsyncTestClient,
) -> None:
    response = await writer.post(
        "/v1/events", json={"events": [listing("ymtc"), listing("huawei", "2019-05-16")]}
    )
    assert response.status_code == 201, response.text
    answered = response.json()["events"]
    assert all(event["id"] is not None for event in answered)
    logged = (await writer.get("/v1/events", params={"after": 3})).json()["events"]
    assert [(e["event"]["id"], e["position"]) for e in logged] == [
        (e["id"], e["position"]) for e in answered
    ]
    assert [e["position"] for e in answered] == [4, 5]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (b'{"type":"EntityListed","entity":"ymtc","entity":"huawei"}', "entity"),
        (b'{"type":"EntityListed","entity":"ymtc","\\u0065ntity":"huawei"}', "entity"),
        (b'[{"type":"EntityListed"},{"a":1,"b":{"c":1,"c":2}}]', "[1].b.c"),
        (b'{"events":[{"sources":[{"url":"u","url":"v"}]}]}', "events[0].sources[0].url"),
    ],
)
async def test_a_key_given_twice_is_refused_with_400_naming_it(
    writer: AsyncTestClient, pool: asyncpg.Pool, body: bytes, field: str
) -> None:
    response = await writer.post(
        "/v1/events", content=body, headers={"Content-Type": "application/json"}
    )
    assert_problem(response, 400, field)
    assert await log_size(pool) == 3


async def test_a_duplicate_entity_key_never_stores_either_value(
    writer: AsyncTestClient, pool: asyncpg.Pool
) -> None:
    event = json.dumps(listing("ymtc")).encode()
    twice = event[:-1] + b', "entity": "huawei"}'
    response = await writer.post(
        "/v1/events", content=twice, headers={"Content-Type": "application/json"}
    )
    assert_problem(response, 400, "entity")
    assert await log_size(pool) == 3


async def test_a_body_that_is_not_utf8_is_400_not_500(
    writer: AsyncTestClient, pool: asyncpg.Pool
) -> None:
    body = json.dumps(listing("ymtc", authority="BIS")).encode().replace(b"BIS", b"B\xffS")
    response = await writer.post(
        "/v1/events", content=body, headers={"Content-Type": "application/json"}
    )
    assert_problem(response, 400)
    assert await log_size(pool) == 3


@pytest.mark.parametrize("opener", [b"[", b'{"a":'])
async def test_json_nested_ten_thousand_deep_is_400_not_500(
    writer: AsyncTestClient, pool: asyncpg.Pool, opener: bytes
) -> None:
    closer = b"]" if opener == b"[" else b"}"
    body = opener * 10_000 + b"1" + closer * 10_000
    response = await writer.post(
        "/v1/events", content=body, headers={"Content-Type": "application/json"}
    )
    body_json = assert_problem(response, 400)
    assert str(MAX_DEPTH) in body_json["detail"]
    assert await log_size(pool) == 3


async def test_a_lone_surrogate_escaped_in_json_is_refused(
    writer: AsyncTestClient, pool: asyncpg.Pool
) -> None:
    body = json.dumps(listing("ymtc", authority="BIS")).encode().replace(b"BIS", b"\\ud800")
    response = await writer.post(
        "/v1/events", content=body, headers={"Content-Type": "application/json"}
    )
    assert 400 <= response.status_code < 500, response.text
    assert await log_size(pool) == 3
