"""List members and changes a page at a time, counted, and streamed as NDJSON, through HTTP.

A walk of pages (`limit`, then each page's `next` as `cursor`) concatenates to exactly the
whole answer, at one moment: the `known_at` asked for, or the log's last `recorded_at` when the
first page was read, however the log grows meanwhile. `count=true` is the whole answer's
length; `Accept: application/x-ndjson` streams the very items of the JSON answer, one a line.
"""

from __future__ import annotations

import json
import re
from urllib.parse import parse_qsl, urlsplit

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from litestar.testing import AsyncTestClient

from service.http.pages import PAGE_LIMIT_MAX
from tests.support.apitools import assert_problem, delisting, listing, registration

MEMBERS = "/v1/lists/us-entity-list/members"
DAY = "2024-06-01"
NDJSON = {"Accept": "application/x-ndjson"}
# Entity ids whose code-point order differs from a collation's (which passes over hyphens).
COMPANIES = [f"co-{name}" for name in ("a", "a-b", "ab", "a0", "b", "b-a", "ba", "0", "9z", "z")]


@pytest.fixture
async def listed(writer: AsyncTestClient) -> AsyncTestClient:
    """Ten companies on the list under two programmes, some delisted, some listed twice."""
    events: list[dict] = [registration(c) for c in COMPANIES]
    for i, company in enumerate(COMPANIES):
        program = "EAR744-EL" if i % 2 else "1260H"
        events.append(listing(company, f"202{i % 4}-0{1 + i % 9}-15", program=program))
        if i % 3 == 0:
            events.append(listing(company, "2023-11-01", program="EAR744-EL"))
        if i % 4 == 1:
            events.append(delisting(company, "2023-12-01", program=program))
    response = await writer.post("/v1/events", json=events)
    assert response.status_code == 201, response.text
    return writer


async def walk(
    api: AsyncTestClient, url: str, limit: int, **params: str
) -> tuple[list[dict], list[dict]]:
    """Every page of `url` from the first, following `next`; the items and the pages."""
    key = "members" if "members" in url else "changes"
    items: list[dict] = []
    pages: list[dict] = []
    query: dict[str, str] = {**params, "limit": str(limit)}
    for _ in range(100):
        response = await api.get(url, params=query)
        assert response.status_code == 200, response.text
        page = response.json()
        assert len(page[key]) <= limit
        pages.append(page)
        items.extend(page[key])
        if page["next"] is None:
            assert "link" not in response.headers
            return items, pages
        assert page[key], "a page before the last one is not empty"
        link = re.fullmatch(r'<([^>]+)>; rel="next"', response.headers["link"])
        assert link is not None, response.headers["link"]
        linked = dict(parse_qsl(urlsplit(link[1]).query))
        assert linked["cursor"] == page["next"] and linked["known_at"] == page["known_at"]
        query = {**params, "limit": str(limit), "cursor": page["next"]}
    raise AssertionError("the pages never ended")


async def whole(api: AsyncTestClient, url: str, **params: str) -> dict:
    response = await api.get(url, params=params)
    assert response.status_code == 200, response.text
    return response.json()


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    limit=st.integers(min_value=1, max_value=12),
    program=st.sampled_from([None, "EAR744-EL", "1260H", "no-such-programme"]),
    as_of=st.sampled_from(["2020-01-01", "2022-06-01", DAY]),
)
async def test_pages_of_any_limit_concatenate_to_the_whole_list(
    listed: AsyncTestClient, limit: int, program: str | None, as_of: str
) -> None:
    params = {"as_of": as_of} | ({"program": program} if program else {})
    everyone = await whole(listed, MEMBERS, **params)
    items, pages = await walk(listed, MEMBERS, limit, **params)
    assert items == everyone["members"]
    assert [m["entity"] for m in items] == sorted(m["entity"] for m in items)  # code points
    pinned = {page["known_at"] for page in pages}
    assert len(pinned) == 1 and None not in pinned  # the walk's moment, pinned at its start


@settings(
    max_examples=20,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    limit=st.integers(min_value=1, max_value=15),
    dates=st.sampled_from(
        [("2019-01-01", DAY), ("2021-01-01", "2023-11-15"), ("2023-11-15", DAY), (DAY, DAY)]
    ),
)
async def test_pages_of_any_limit_concatenate_to_all_the_changes(
    listed: AsyncTestClient, limit: int, dates: tuple[str, str]
) -> None:
    params = {"from": dates[0], "to": dates[1]}
    everything = await whole(listed, "/v1/changes", **params)
    items, _ = await walk(listed, "/v1/changes", limit, **params)
    assert items == everything["changes"]


async def test_a_walk_of_pages_stays_at_the_moment_of_its_first_page_while_the_log_grows(
    listed: AsyncTestClient,
) -> None:
    first = await listed.get(MEMBERS, params={"as_of": DAY, "limit": "3"})
    assert first.status_code == 200, first.text
    page = first.json()
    before = await whole(listed, MEMBERS, as_of=DAY, known_at=page["known_at"])

    # New members before and after the cursor, one member delisted: none of it is in the walk.
    response = await listed.post(
        "/v1/events",
        json=[
            registration("aa-new"),
            registration("zzz-new"),
            listing("aa-new", "2020-01-01"),
            listing("zzz-new", "2020-01-01"),
            delisting(before["members"][-1]["entity"], "2021-01-01"),
        ],
    )
    assert response.status_code == 201, response.text
    now = await whole(listed, MEMBERS, as_of=DAY)
    assert now["members"] != before["members"]

    items = list(page["members"])
    cursor = page["next"]
    while cursor is not None:
        response = await listed.get(MEMBERS, params={"as_of": DAY, "limit": "3", "cursor": cursor})
        assert response.status_code == 200, response.text
        assert response.json()["known_at"] == page["known_at"]
        items.extend(response.json()["members"])
        cursor = response.json()["next"]
    assert items == before["members"]

    # With `known_at` given the same holds, and it must be the cursor's.
    items, _ = await walk(listed, MEMBERS, 4, as_of=DAY, known_at=page["known_at"])
    assert items == before["members"]
    fresh = (await listed.get(MEMBERS, params={"as_of": DAY, "limit": "3"})).json()
    assert fresh["known_at"] > page["known_at"]
    assert [m["entity"] for m in fresh["members"]][:1] == ["aa-new"]


async def test_ndjson_streams_the_members_and_changes_of_the_json_answers(
    listed: AsyncTestClient,
) -> None:
    for params in ({"as_of": DAY}, {"as_of": DAY, "program": "EAR744-EL"}, {"as_of": "2000-01-01"}):
        response = await listed.get(MEMBERS, params=params, headers=NDJSON)
        assert response.status_code == 200, response.text
        assert response.headers["content-type"].startswith("application/x-ndjson")
        assert "timeline-log-size" in response.headers
        lines = [json.loads(line) for line in response.content.splitlines()]
        assert response.content == b"" or response.content.endswith(b"\n")
        assert lines == (await whole(listed, MEMBERS, **params))["members"]

    params = {"from": "2019-01-01", "to": DAY}
    response = await listed.get("/v1/changes", params=params, headers=NDJSON)
    assert response.status_code == 200, response.text
    lines = [json.loads(line) for line in response.content.splitlines()]
    assert lines and lines == (await whole(listed, "/v1/changes", **params))["changes"]

    # Without the NDJSON media type among those accepted, the answer is JSON.
    plain = await listed.get(MEMBERS, params={"as_of": DAY}, headers={"Accept": "*/*"})
    assert plain.headers["content-type"].startswith("application/json")


async def test_count_is_the_length_of_the_whole_answer(listed: AsyncTestClient) -> None:
    for params in ({"as_of": DAY}, {"as_of": DAY, "program": "1260H"}, {"as_of": "2000-01-01"}):
        counted = await whole(listed, MEMBERS, **params, count="true")
        assert set(counted) == {"list", "as_of", "known_at", "count"}
        assert counted["count"] == len((await whole(listed, MEMBERS, **params))["members"])
    params = {"from": "2019-01-01", "to": DAY}
    counted = await whole(listed, "/v1/changes", **params, count="true")
    assert counted["count"] == len((await whole(listed, "/v1/changes", **params))["changes"])
    assert counted["count"] > 0


async def test_a_cursor_not_given_for_this_question_and_moment_is_a_400_naming_it(
    listed: AsyncTestClient,
) -> None:
    first = (await listed.get(MEMBERS, params={"as_of": DAY, "limit": "2"})).json()
    cursor = first["next"]
    assert cursor is not None
    page = {"as_of": DAY, "limit": "2"}
    assert (await listed.get(MEMBERS, params=page | {"cursor": cursor})).status_code == 200
    refused = [
        (MEMBERS, page | {"cursor": "not-a-cursor"}),
        (MEMBERS, page | {"cursor": cursor[:-4]}),
        (MEMBERS, page | {"cursor": "W10"}),  # valid base64 of valid JSON: "[]"
        (MEMBERS, {"as_of": "2024-06-02", "limit": "2", "cursor": cursor}),
        (MEMBERS, page | {"program": "1260H", "cursor": cursor}),
        (MEMBERS, page | {"cursor": cursor, "known_at": "2000-01-01T00:00:00Z"}),
        ("/v1/lists/ymtc/members", page | {"cursor": cursor}),
        ("/v1/changes", {"from": "2020-01-01", "limit": "2", "cursor": cursor}),
        (MEMBERS, {"as_of": DAY, "cursor": cursor}),  # a cursor continues pages: with a limit
    ]
    for url, params in refused:
        assert_problem(await listed.get(url, params=params), 400, "cursor")

    changes = (await listed.get("/v1/changes", params={"from": "2019-01-01", "limit": "1"})).json()
    other_dates = {"from": "2019-01-02", "limit": "1", "cursor": changes["next"]}
    assert_problem(await listed.get("/v1/changes", params=other_dates), 400, "cursor")


async def test_limit_count_and_ndjson_that_do_not_go_together_are_400s_naming_the_parameter(
    listed: AsyncTestClient,
) -> None:
    for url, extra in ((MEMBERS, {}), ("/v1/changes", {"from": "2020-01-01"})):
        for limit in ("0", str(PAGE_LIMIT_MAX + 1), "many"):
            assert_problem(await listed.get(url, params=extra | {"limit": limit}), 400, "limit")
        assert_problem(
            await listed.get(url, params=extra | {"limit": "5"}, headers=NDJSON), 400, "limit"
        )
        assert_problem(
            await listed.get(url, params=extra | {"count": "true", "limit": "5"}), 400, "count"
        )
        assert_problem(await listed.get(url, params=extra | {"count": "perhaps"}), 400, "count")


async def test_paging_an_unknown_list_is_404_naming_it(listed: AsyncTestClient) -> None:
    for params in ({"limit": "5"}, {"count": "true"}):
        assert_problem(await listed.get("/v1/lists/no-such-list/members", params=params), 404)
    response = await listed.get("/v1/lists/no-such-list/members", headers=NDJSON)
    assert_problem(response, 404, "list_id")


async def test_openapi_documents_paging_counting_and_streaming(client: AsyncTestClient) -> None:
    spec = (await client.get("/schema/openapi.json")).json()
    for path in ("/v1/lists/{list_id}/members", "/v1/changes"):
        operation = spec["paths"][path]["get"]
        names = {p["name"] for p in operation["parameters"]}
        assert {"limit", "cursor", "count", "Accept"} <= names, names
        assert "application/x-ndjson" in operation["description"]
        content = operation["responses"]["200"]["content"]
        answers = json.dumps(content["application/json"])
        assert "Page" in answers and "Count" in answers, answers
        line = content["application/x-ndjson"]["schema"]["$ref"].rsplit("/", 1)[-1]
        assert line == ("Member" if "members" in path else "Change")
        assert line in spec["components"]["schemas"]
