"""Timelines and TimelineJS output through the test client."""

from __future__ import annotations

import pytest
from litestar.testing import AsyncTestClient

from tests.support.apitools import assert_problem, listing, registration

HOSTILE = '<script>alert(1)</script><img src=x onerror="alert(2)">'


@pytest.fixture
async def story(writer: AsyncTestClient) -> AsyncTestClient:
    response = await writer.post(
        "/v1/events",
        json=[
            registration("ymtc")
            | {"names": {"en": "YMTC", "zh-Hans": "长江存储", "zh-Hant": "長江存儲"}},
            listing("ymtc", "2022-12-16"),
            listing("huawei", "2019-05")
            | {
                "text": {"en": HOSTILE},
                "sources": [{"url": "https://example.org/a", "citation": HOSTILE}],
            },
        ],
    )
    assert response.status_code == 201, response.text
    return writer


async def test_entity_timeline_is_in_world_order_with_generated_headlines(
    story: AsyncTestClient,
) -> None:
    body = (await story.get("/v1/entities/ymtc/timeline", params={"lang": "zh-Hant"})).json()
    # registered by the writer fixture, again with names by the story, then listed
    assert [e["type"] for e in body["events"]] == [
        "EntityRegistered",
        "EntityRegistered",
        "EntityListed",
    ]
    assert "長江存儲" in body["events"][-1]["headline"]
    assert body["events"][-1]["sources"][0]["url"].startswith("https://")


async def test_multi_entity_timeline_filters_by_date_and_type(story: AsyncTestClient) -> None:
    body = (
        await story.get(
            "/v1/timeline",
            params={"entities": "ymtc,huawei", "from": "2019-01-01", "types": "EntityListed"},
        )
    ).json()
    assert [(e["entity"], e["occurred"]) for e in body["events"]] == [
        ("huawei", "2019-05"),
        ("ymtc", "2022-12-16"),
    ]
    everyone = (await story.get("/v1/timeline")).json()
    assert len(everyone["events"]) == 6


async def test_timelinejs_output_escapes_event_text_and_sets_unique_ids(
    story: AsyncTestClient,
) -> None:
    body = (
        await story.get(
            "/v1/timeline",
            params={"entities": "huawei", "format": "timelinejs", "types": "EntityListed"},
        )
    ).json()
    (slide,) = body["events"]
    assert slide["unique_id"]
    assert slide["start_date"] == {"year": 2019, "month": 5, "display_date": "May 2019 (?)"}
    assert "<script>" not in slide["text"]["text"] and "&lt;script&gt;" in slide["text"]["text"]
    assert 'onerror="' not in slide["text"]["text"]
    assert '<a href="https://example.org/a"' in slide["text"]["text"]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"entities": "Bad Id"}, "entities"),
        ({"types": "Nope"}, "types"),
        ({"from": "2020-01-01", "to": "2019-01-01"}, "from"),
        ({"lang": "fr"}, "lang"),
        ({"format": "xml"}, "format"),
    ],
)
async def test_bad_timeline_parameters_are_problems(
    story: AsyncTestClient, params: dict, field: str
) -> None:
    assert_problem(await story.get("/v1/timeline", params=params), 400, field)
