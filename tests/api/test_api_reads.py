"""Read resources through Litestar's test client against real PostgreSQL."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from litestar.testing import AsyncTestClient

from tests.support.apitools import assert_problem, listing, registration

IMMUTABLE = "public, max-age=31536000, immutable"


def named(entity: str, en: str, hans: str, hant: str, *aliases: str) -> dict:
    return registration(entity) | {
        "names": {"en": en, "zh-Hans": hans, "zh-Hant": hant},
        "aliases": list(aliases),
    }


@pytest.fixture
async def story(writer: AsyncTestClient) -> AsyncTestClient:
    response = await writer.post(
        "/v1/events",
        json=[
            named("ymtc", "YMTC", "长江存储", "長江存儲", "Yangtze Memory Technologies"),
            listing("ymtc", "2022-12-16"),
            {
                "type": "ProductMassProduced",
                "entity": "ymtc",
                "occurred": "2025-01",
                "product": "294-layer 3D NAND",
                "category": "memory",
                "sources": [{"url": "https://example.org/nand"}],
            },
            listing("huawei", "2019-05-16"),
        ],
    )
    assert response.status_code == 201, response.text
    return writer


async def state(api: AsyncTestClient, entity: str, **params: str) -> dict:
    response = await api.get(f"/v1/entities/{entity}/state", params=params)
    assert response.status_code == 200, response.text
    return response.json()


async def test_listing_counts_from_its_own_day(story: AsyncTestClient) -> None:
    assert (await state(story, "ymtc", as_of="2022-12-15"))["listings"] == []
    listed = (await state(story, "ymtc", as_of="2022-12-16"))["listings"]
    assert [(x["list"], x["since"], x["certainty"]) for x in listed] == [
        ("us-entity-list", "2022-12-16", "definite")
    ]
    assert (await state(story, "huawei", as_of="2019-05-16"))["listings"][0][
        "list"
    ] == "us-entity-list"


async def test_month_precision_product_is_possible_inside_its_month(story: AsyncTestClient) -> None:
    assert (await state(story, "ymtc", as_of="2025-01-15"))["products"][0][
        "certainty"
    ] == "possible"
    assert (await state(story, "ymtc", as_of="2025-02-01"))["products"][0][
        "certainty"
    ] == "definite"
    assert (await state(story, "ymtc", as_of="2024-12-31"))["products"] == []


async def test_correction_recorded_later_does_not_change_past_answer(
    story: AsyncTestClient,
) -> None:
    before = await story.get("/v1/events", params={"entity": "ymtc", "type": "EntityListed"})
    original = before.json()["events"][0]
    known_then = original["recorded_at"]
    retraction = {
        "type": "EventRetracted",
        "entity": "ymtc",
        "occurred": "2023",
        "supersedes": [original["event"]["id"]],
        "sources": [{"url": "https://example.org/fix"}],
    }
    assert (await story.post("/v1/events", json=retraction)).status_code == 201
    past = await story.get(
        "/v1/entities/ymtc/state", params={"as_of": "2023-06-01", "known_at": known_then}
    )
    assert past.headers["cache-control"] == IMMUTABLE
    assert len(past.json()["listings"]) == 1
    now = await state(story, "ymtc", as_of="2023-06-01")
    assert now["listings"] == []


async def test_state_is_canonical_json_naming_the_log_size(story: AsyncTestClient) -> None:
    response = await story.get("/v1/entities/ymtc/state", params={"as_of": "2023-01-01"})
    body = response.content
    assert (
        body
        == json.dumps(
            json.loads(body), sort_keys=True, separators=(",", ":"), ensure_ascii=False
        ).encode()
    )
    assert response.headers["timeline-log-size"] == "7"
    assert json.loads(body)["names"]["zh-Hant"] == "長江存儲"


async def test_now_answers_revalidate_and_304_until_the_log_moves(story: AsyncTestClient) -> None:
    first = await story.get("/v1/entities/ymtc/state", params={"as_of": "2023-01-01"})
    etag = first.headers["etag"]
    assert "immutable" not in first.headers["cache-control"]
    same = await story.get(
        "/v1/entities/ymtc/state", params={"as_of": "2023-01-01"}, headers={"If-None-Match": etag}
    )
    assert same.status_code == 304 and same.content == b""
    await story.post("/v1/events", json=listing("huawei", "2020"))
    moved = await story.get(
        "/v1/entities/ymtc/state", params={"as_of": "2023-01-01"}, headers={"If-None-Match": etag}
    )
    assert moved.status_code == 200 and moved.headers["etag"] != etag


async def test_past_known_at_answers_are_immutable_with_a_strong_etag(
    story: AsyncTestClient,
) -> None:
    events = (await story.get("/v1/events")).json()["events"]
    known_at = events[-1]["recorded_at"]
    response = await story.get(
        "/v1/entities/ymtc/state", params={"as_of": "2023-01-01", "known_at": known_at}
    )
    assert response.headers["cache-control"] == IMMUTABLE
    assert not response.headers["etag"].startswith("W/")
    again = await story.get(
        "/v1/entities/ymtc/state",
        params={"as_of": "2023-01-01", "known_at": known_at},
        headers={"If-None-Match": response.headers["etag"]},
    )
    assert again.status_code == 304


async def test_known_at_after_the_last_event_is_not_immutable_yet(story: AsyncTestClient) -> None:
    future = (dt.datetime.now(dt.UTC) + dt.timedelta(days=1)).isoformat()
    response = await story.get(
        "/v1/entities/ymtc/state", params={"as_of": "2023-01-01", "known_at": future}
    )
    assert response.status_code == 200
    assert "immutable" not in response.headers["cache-control"]


async def test_list_members_and_changes(story: AsyncTestClient) -> None:
    members = (
        await story.get("/v1/lists/us-entity-list/members", params={"as_of": "2022-12-16"})
    ).json()
    assert [m["entity"] for m in members["members"]] == ["huawei", "ymtc"]
    early = (
        await story.get("/v1/lists/us-entity-list/members", params={"as_of": "2022-12-15"})
    ).json()
    assert [m["entity"] for m in early["members"]] == ["huawei"]
    changes = (
        await story.get("/v1/changes", params={"from": "2022-12-15", "to": "2022-12-16"})
    ).json()
    assert [(c["entity"], c["aspect"], c["change"]) for c in changes["changes"]] == [
        ("ymtc", "listing", "gained")
    ]


@pytest.mark.parametrize("query", ["長江存儲", "长江存储", "YMTC", "Yangtze Memory", "ymtc"])
async def test_entity_search_finds_ymtc_in_any_language(story: AsyncTestClient, query: str) -> None:
    found = (await story.get("/v1/entities", params={"q": query})).json()["entities"]
    assert [e["id"] for e in found] == ["ymtc"]


async def test_entity_detail_and_filters(story: AsyncTestClient) -> None:
    detail = (await story.get("/v1/entities/ymtc")).json()
    assert detail["names"]["zh-Hans"] == "长江存储" and detail["kind"] == "company"
    lists = (await story.get("/v1/entities", params={"kind": "list"})).json()["entities"]
    assert [e["id"] for e in lists] == ["us-entity-list"]


@pytest.mark.parametrize(
    ("path", "params", "status", "field"),
    [
        ("/v1/entities/ymtc/state", {"as_of": "2022-13-01"}, 400, "as_of"),
        ("/v1/entities/ymtc/state", {"known_at": "2024-01-01T00:00:00"}, 400, "known_at"),
        ("/v1/entities/ymtc/state", {"known_at": "yesterday"}, 400, "known_at"),
        ("/v1/entities/nobody/state", {}, 404, "entity_id"),
        ("/v1/entities/nobody", {}, 404, "entity_id"),
        ("/v1/changes", {"from": "2023-01-01", "to": "2022-01-01"}, 400, "from"),
        ("/v1/changes", {}, 400, "from"),
        ("/v1/lists/us-entity-list/members", {"as_of": "soon"}, 400, "as_of"),
        ("/v1/entities", {"limit": 0}, 400, "limit"),
    ],
)
async def test_bad_read_parameters_are_problems_naming_the_field(
    story: AsyncTestClient, path: str, params: dict, status: int, field: str
) -> None:
    assert_problem(await story.get(path, params=params), status, field)
