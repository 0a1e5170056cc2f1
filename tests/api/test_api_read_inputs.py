"""Hostile and careless input on the read routes: a clear 4xx naming the parameter, never a
500, never a silent answer for something else. Through the real app on real PostgreSQL."""

from __future__ import annotations

import datetime as dt

import asyncpg
import pytest
from litestar.testing import AsyncTestClient

from projections import fact_of
from projections.queries import changes as fold_changes
from projections.queries import list_members as fold_list_members
from service.eventlog.store import EventStore
from tests.support.apitools import assert_problem, listing, registration

# Every read route that takes a moment, with its other required parameters.
MOMENT_ROUTES = [
    "/v1/entities/ymtc/state",
    "/v1/lists/us-entity-list/members",
    "/v1/changes?from=2020-01-01",
    "/v1/entities/ymtc/timeline",
    "/v1/timeline?entities=ymtc",
    "/embed/timeline?entities=ymtc",
]
EVERY_READ_ROUTE = [
    *MOMENT_ROUTES,
    "/v1/entities?q=ymtc",
    "/v1/entities/ymtc",
    "/v1/log/head",
    "/v1/log/key",
    "/v1/log/proof/inclusion?position=1",
    "/v1/log/proof/consistency?from=1",
    "/health",
    "/health/live",
]


def with_param(route: str, param: str) -> str:
    return route + ("&" if "?" in route else "?") + param


@pytest.fixture
async def listed(writer: AsyncTestClient) -> AsyncTestClient:
    response = await writer.post("/v1/events", json=[listing("ymtc", "2022-12-16")])
    assert response.status_code == 201, response.text
    return writer


BAD_KNOWN_AT = [
    "9999-12-31T23:59:59-01:00",  # after the year 9999 once in UTC
    "0001-01-01T00:00:00%2B14:00",  # before the year 1 once in UTC
    "2024-06-01T00:00:00",  # no time zone
    "yesterday",
]


async def test_a_known_at_off_the_calendar_or_malformed_is_400_naming_it_on_every_route(
    listed: AsyncTestClient,
) -> None:
    for route in MOMENT_ROUTES:
        for known_at in BAD_KNOWN_AT:
            response = await listed.get(with_param(route, f"known_at={known_at}"))
            assert_problem(response, 400, "known_at")


async def test_a_malformed_as_of_is_400_naming_as_of(listed: AsyncTestClient) -> None:
    for route in ["/v1/entities/ymtc/state", "/v1/lists/us-entity-list/members"]:
        for as_of in ["2024-02-30", "10000-01-01", "2024"]:
            assert_problem(await listed.get(with_param(route, f"as_of={as_of}")), 400, "as_of")


async def test_a_search_with_a_nul_character_is_400_naming_q(listed: AsyncTestClient) -> None:
    assert_problem(await listed.get("/v1/entities?q=%00"), 400, "q")
    assert_problem(await listed.get("/v1/entities?q=ymtc%07"), 400, "q")


async def test_members_of_an_unknown_list_are_404_not_an_empty_list(
    listed: AsyncTestClient,
) -> None:
    assert_problem(await listed.get("/v1/lists/no-such-list/members"), 404, "list_id")
    known = await listed.get("/v1/lists/us-entity-list/members?as_of=2023-01-01")
    assert known.status_code == 200
    assert [m["entity"] for m in known.json()["members"]] == ["ymtc"]


async def test_a_list_registered_after_known_at_is_404_at_that_moment(
    listed: AsyncTestClient,
) -> None:
    before_the_log = "2000-01-01T00:00:00Z"
    response = await listed.get(f"/v1/lists/us-entity-list/members?known_at={before_the_log}")
    assert_problem(response, 404, "list_id")


async def test_a_timeline_naming_an_unknown_entity_is_404_naming_entities(
    listed: AsyncTestClient,
) -> None:
    for fmt in ["json", "timelinejs"]:
        response = await listed.get(f"/v1/timeline?entities=ymtc,nosuch&format={fmt}")
        body = assert_problem(response, 404, "entities")
        assert "nosuch" in body["detail"] and "ymtc" not in body["detail"]
        assert (await listed.get(f"/v1/timeline?entities=ymtc&format={fmt}")).status_code == 200


async def test_an_unknown_query_parameter_is_400_naming_it_on_every_route(
    listed: AsyncTestClient,
) -> None:
    for route in EVERY_READ_ROUTE:
        response = await listed.get(with_param(route, "asof=2020-01-01"))
        body = assert_problem(response, 400, "asof")
        assert body["type"].endswith("/unknown-parameter")


REPEATED = [
    ("/v1/entities/ymtc/state?as_of=2020-01-01", "as_of=2024-01-01"),
    ("/v1/lists/us-entity-list/members?as_of=2020-01-01", "as_of=2024-01-01"),
    ("/v1/changes?from=2020-01-01", "from=2019-01-01"),
    ("/v1/timeline?entities=ymtc", "entities=huawei"),
    ("/v1/entities/ymtc/timeline?lang=en", "lang=zh-Hans"),
    ("/v1/entities?q=ymtc", "q=huawei"),
    ("/v1/log/proof/inclusion?position=1", "position=2"),
    ("/v1/events?entity=ymtc", "entity=huawei"),
]


async def test_a_repeated_query_parameter_is_400_naming_it(listed: AsyncTestClient) -> None:
    for route, repeated in REPEATED:
        name = repeated.split("=")[0]
        body = assert_problem(await listed.get(f"{route}&{repeated}"), 400, name)
        assert body["type"].endswith("/repeated-parameter")


async def test_a_list_parameter_may_repeat(listed: AsyncTestClient) -> None:
    response = await listed.get("/v1/events?type=EntityListed&type=EntityRegistered")
    assert response.status_code == 200, response.text


async def test_a_bad_query_changes_nothing(listed: AsyncTestClient, pool: asyncpg.Pool) -> None:
    before = await pool.fetchval("SELECT count(*) FROM events")
    assert (await listed.get("/v1/events?entity=ymtc&entity=huawei")).status_code == 400
    assert await pool.fetchval("SELECT count(*) FROM events") == before


async def test_metrics_name_their_charset_once(client: AsyncTestClient) -> None:
    content_type = (await client.get("/metrics")).headers["content-type"]
    assert content_type.startswith("text/plain")
    assert content_type.count("charset") == 1, content_type


async def test_read_models_agree_with_the_fold_at_the_ends_of_the_calendar(
    listed: AsyncTestClient, store: EventStore
) -> None:
    facts = [fact_of(r) for r in await store.events_of(None)]
    last_day = "9999-12-31"
    state = await listed.get(f"/v1/entities/ymtc/state?as_of={last_day}")
    assert [x["list"] for x in state.json()["listings"]] == ["us-entity-list"]

    members = await listed.get(f"/v1/lists/us-entity-list/members?as_of={last_day}")
    assert [m["entity"] for m in members.json()["members"]] == ["ymtc"]
    expected = fold_list_members(facts, "us-entity-list", dt.date.max)
    assert [m["entity"] for m in members.json()["members"]] == [m.entity for m in expected]

    whole = await listed.get(f"/v1/changes?from=0001-01-01&to={last_day}")
    assert whole.status_code == 200, whole.text
    got = [(c["entity"], c["aspect"], c["change"]) for c in whole.json()["changes"]]
    wanted = [(c.entity, c.aspect, c.change) for c in fold_changes(facts, dt.date.min, dt.date.max)]
    assert got == wanted
    assert ("ymtc", "listing", "gained") in got


async def test_an_unknown_language_key_is_422_naming_names_dot_key(
    writer: AsyncTestClient, pool: asyncpg.Pool
) -> None:
    before = await pool.fetchval("SELECT count(*) FROM events")
    event = registration("smic") | {"names": {"en": "SMIC", "xx": "?"}}
    assert_problem(await writer.post("/v1/events", json=[event]), 422, "[0].names.xx")
    assert await pool.fetchval("SELECT count(*) FROM events") == before


async def test_a_path_holding_nul_is_a_400_naming_the_path_not_a_500(
    writer: AsyncTestClient,
) -> None:
    for path in ("/embed/assets/embed.js%00.css", "/v1/entities/ymtc%00/state"):
        response = await writer.get(path)
        assert response.status_code == 400, (path, response.text)
        assert response.json()["field"] == "path"


async def test_the_widget_of_an_unknown_entity_is_a_404_naming_entities(
    writer: AsyncTestClient,
) -> None:
    response = await writer.get("/embed/timeline", params={"entities": "ymtc,nosuch"})
    assert response.status_code == 404, response.text
    assert response.json()["field"] == "entities"
    assert "nosuch" in response.json()["detail"] and "ymtc" not in response.json()["detail"]
    assert (await writer.get("/embed/timeline", params={"entities": "ymtc"})).status_code == 200


async def test_a_cors_preflight_with_a_query_is_answered_not_a_500(
    writer: AsyncTestClient,
) -> None:
    for path in ("/v1/timeline?entities=ymtc&lang=en", "/v1/entities?q=x&asof=1"):
        response = await writer.options(path)
        assert response.status_code < 500, (path, response.text)
