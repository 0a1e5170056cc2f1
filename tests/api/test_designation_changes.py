"""`GET /v1/changes` (read from the read models) tells a designation started or ended on a list
the company stays on, as the pure `projections.changes` does, whole, paged and streamed."""

from __future__ import annotations

import json

from litestar.testing import AsyncTestClient

from tests.support.apitools import delisting, listing


async def test_a_second_programme_and_one_of_two_ending_are_told_as_designation_changes(
    writer: AsyncTestClient,
) -> None:
    response = await writer.post(
        "/v1/events",
        json=[
            listing("huawei", "2019-05-16", program="EAR744-EL"),
            listing("huawei", "2021-06-03", program="1260H", designation="CMC-7"),
            listing("ymtc", "2022-12-16", program="EAR744-EL"),
            listing("ymtc", "2023-01-10", program="1260H"),
            delisting("ymtc", "2024-02-01", program="1260H"),
        ],
    )
    assert response.status_code == 201, response.text
    ids = [event["id"] for event in response.json()["events"]]

    async def told(start: str, end: str) -> list[tuple]:
        answer = await writer.get("/v1/changes", params={"from": start, "to": end})
        assert answer.status_code == 200, answer.text
        return [
            (c["entity"], c["aspect"], tuple(c["key"]), c["change"], c["event_ids"])
            for c in answer.json()["changes"]
        ]

    # Both listings' earliest since stay put: before, these changes were not told at all.
    assert await told("2020-01-01", "2022-01-01") == [
        ("huawei", "designation", ("us-entity-list", "1260H", "CMC-7"), "gained", [ids[1]]),
    ]
    assert await told("2023-06-01", "2024-06-01") == [
        ("ymtc", "designation", ("us-entity-list", "1260H", ""), "lost", [ids[3]]),
    ]
    # A listing gained is told by the listing alone, whatever its designations.
    assert [c[1] for c in await told("2019-01-01", "2022-01-01")] == ["listing"]

    whole = (
        await writer.get("/v1/changes", params={"from": "2020-01-01", "to": "2024-06-01"})
    ).json()
    assert [c["aspect"] for c in whole["changes"]] == ["designation", "listing"]
    paged = []
    params = {"from": "2020-01-01", "to": "2024-06-01", "limit": "1"}
    while True:
        page = (await writer.get("/v1/changes", params=params)).json()
        paged.extend(page["changes"])
        if page["next"] is None:
            break
        params["cursor"] = page["next"]
    assert paged == whole["changes"]
    streamed = await writer.get(
        "/v1/changes",
        params={"from": "2020-01-01", "to": "2024-06-01"},
        headers={"Accept": "application/x-ndjson"},
    )
    assert [json.loads(line) for line in streamed.content.splitlines()] == whole["changes"]
