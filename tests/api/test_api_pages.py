"""List members and changes a page at a time, counted, and streamed as NDJSON, through HTTP."""

from __future__ import annotations

import json

import httpx
import pytest
from litestar.testing import AsyncTestClient

from tests.support.apitools import assert_problem, listing, registration

COMPANIES = [f"co-{i:02d}" for i in range(23)]
NDJSON = {"Accept": "application/x-ndjson"}


@pytest.fixture
async def crowded(writer: AsyncTestClient) -> AsyncTestClient:
    """23 companies on the Entity List from 2020, each also gaining a product in 2021: so the
    changes of 2019..2022 hold two per company, and a page may end between them."""
    events: list[dict] = []
    for company in COMPANIES:
        events.append(registration(company))
        events.append(listing(company, "2020-03-01"))
        events.append(
            {
                "type": "ProductMassProduced",
                "entity": company,
                "occurred": "2021-05",
                "product": "nand",
                "category": "memory",
                "sources": [{"url": "https://example.org/p"}],
            }
        )
    response = await writer.post("/v1/events", json=events)
    assert response.status_code == 201, response.text
    return writer


async def _all_pages(api: AsyncTestClient, path: str, params: dict, field: str) -> list[dict]:
    found: list[dict] = []
    query = dict(params)
    for _ in range(100):  # a cursor that goes nowhere fails, not hangs
        response = await api.get(path, params=query)
        assert response.status_code == 200, response.text
        body = response.json()
        found.extend(body[field])
        if "next_cursor" not in body:
            return found
        query = params | {"cursor": body["next_cursor"]}  # the same question, further on
    raise AssertionError("the pages never end")


def _lines(response: httpx.Response) -> list[dict]:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/x-ndjson")
    return [json.loads(line) for line in response.content.splitlines()]


MEMBERS = "/v1/lists/us-entity-list/members"


async def test_member_pages_put_together_are_the_whole_answer(crowded: AsyncTestClient) -> None:
    whole = (await crowded.get(MEMBERS, params={"as_of": "2022-01-01"})).json()["members"]
    assert [m["entity"] for m in whole] == COMPANIES
    paged = await _all_pages(crowded, MEMBERS, {"as_of": "2022-01-01", "limit": 5}, "members")
    assert paged == whole
    first = (await crowded.get(MEMBERS, params={"as_of": "2022-01-01", "limit": 5})).json()
    assert len(first["members"]) == 5 and "count" not in first


async def test_count_says_how_many_members_there_are_in_all(crowded: AsyncTestClient) -> None:
    page = await crowded.get(MEMBERS, params={"as_of": "2022-01-01", "limit": 3, "count": "true"})
    assert page.json()["count"] == len(COMPANIES) and len(page.json()["members"]) == 3
    before = await crowded.get(MEMBERS, params={"as_of": "2019-01-01", "count": "true"})
    assert before.json()["count"] == 0 and before.json()["members"] == []


async def test_pages_after_the_first_stay_at_its_known_at_while_the_log_grows(
    crowded: AsyncTestClient,
) -> None:
    events = (await crowded.get("/v1/events", params={"limit": 1000})).json()["events"]
    known_at = events[-1]["recorded_at"]
    first = await crowded.get(
        MEMBERS, params={"as_of": "2022-01-01", "limit": 10, "known_at": known_at}
    )
    assert first.status_code == 200, first.text
    added = await crowded.post(
        "/v1/events", json=[registration("co-15x"), listing("co-15x", "2020-01-01")]
    )
    assert added.status_code == 201
    rest = await _all_pages(  # the later pages do not name known_at: the cursor does
        crowded,
        MEMBERS,
        {"as_of": "2022-01-01", "cursor": first.json()["next_cursor"], "limit": 10},
        "members",
    )
    assert [
        m["entity"] for m in first.json()["members"] + rest
    ] == COMPANIES  # no co-15x: it sorts into the second page
    now = (await crowded.get(MEMBERS, params={"as_of": "2022-01-01"})).json()["members"]
    assert "co-15x" in [m["entity"] for m in now]


async def test_members_stream_as_ndjson_lines_equal_to_the_whole_answer(
    crowded: AsyncTestClient,
) -> None:
    whole = (await crowded.get(MEMBERS, params={"as_of": "2022-01-01"})).json()["members"]
    streamed = _lines(await crowded.get(MEMBERS, params={"as_of": "2022-01-01"}, headers=NDJSON))
    assert streamed == whole
    some = await crowded.get(MEMBERS, params={"as_of": "2022-01-01", "limit": 4}, headers=NDJSON)
    assert _lines(some) == whole[:4]


async def test_change_pages_may_end_inside_a_company_and_still_add_up(
    crowded: AsyncTestClient,
) -> None:
    params = {"from": "2019-01-01", "to": "2022-01-01"}
    whole = (await crowded.get("/v1/changes", params=params)).json()["changes"]
    assert len(whole) == 2 * len(COMPANIES)
    for limit in (1, 3, 7):
        assert await _all_pages(crowded, "/v1/changes", params | {"limit": limit}, "changes") == (
            whole
        )
    counted = await crowded.get("/v1/changes", params=params | {"count": "true", "limit": 2})
    assert counted.json()["count"] == len(whole)
    assert _lines(await crowded.get("/v1/changes", params=params, headers=NDJSON)) == whole


async def test_a_cursor_is_only_good_for_its_own_question(crowded: AsyncTestClient) -> None:
    page = await crowded.get(MEMBERS, params={"as_of": "2022-01-01", "limit": 2})
    cursor = page.json()["next_cursor"]
    other_day = await crowded.get(MEMBERS, params={"as_of": "2021-01-01", "cursor": cursor})
    assert_problem(other_day, 400, "cursor")
    as_changes = await crowded.get("/v1/changes", params={"from": "2019-01-01", "cursor": cursor})
    assert_problem(as_changes, 400, "cursor")
    other_moment = await crowded.get(
        MEMBERS,
        params={"as_of": "2022-01-01", "cursor": cursor, "known_at": "2024-01-01T00:00:00Z"},
    )
    assert_problem(other_moment, 400, "cursor")


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"limit": "0"}, "limit"),
        ({"limit": "10001"}, "limit"),
        ({"limit": "ten"}, "limit"),
        ({"cursor": "not-a-cursor"}, "cursor"),
        ({"cursor": "W10"}, "cursor"),
        ({"count": "maybe"}, "count"),
    ],
)
async def test_bad_paging_parameters_are_problems_naming_the_field(
    crowded: AsyncTestClient, params: dict, field: str
) -> None:
    assert_problem(await crowded.get(MEMBERS, params=params), 400, field)
    changes = await crowded.get("/v1/changes", params={"from": "2019-01-01"} | params)
    assert_problem(changes, 400, field)
