"""Designations through HTTP: members by programme, a partial delisting, an unmatched one."""

from __future__ import annotations

from litestar.testing import AsyncTestClient

from tests.support.apitools import SOURCE, assert_problem, delisting, listing


async def test_members_by_program_after_a_delisting_that_names_one_designation(
    writer: AsyncTestClient,
) -> None:
    response = await writer.post(
        "/v1/events",
        json=[
            listing("huawei", "2019-05-16", program="EAR744-EL", designation="84 FR 22961 #1"),
            listing("huawei", "2021-06-03", program="1260H", authority="DoD"),
            listing("ymtc", "2022-12-16", program="EAR744-EL", measures=["licence requirement"]),
            delisting("huawei", "2023-02-01", designation="84 FR 22961 #1"),
            delisting("ymtc", "2023-03-01", program="1260H"),
        ],
    )
    assert response.status_code == 201, response.text

    def entities(body: dict) -> list[str]:
        return [m["entity"] for m in body["members"]]

    url = "/v1/lists/us-entity-list/members"
    everyone = (await writer.get(url, params={"as_of": "2023-06-01"})).json()
    assert entities(everyone) == ["huawei", "ymtc"]
    el = (await writer.get(url, params={"as_of": "2023-06-01", "program": "EAR744-EL"})).json()
    assert entities(el) == ["ymtc"]
    cmc = (await writer.get(url, params={"as_of": "2023-06-01", "program": "1260H"})).json()
    assert [(m["entity"], m["since"]) for m in cmc["members"]] == [("huawei", "2021-06-03")]
    before = (await writer.get(url, params={"as_of": "2023-01-01", "program": "EAR744-EL"})).json()
    assert entities(before) == ["huawei", "ymtc"]

    state = (await writer.get("/v1/entities/ymtc/state", params={"as_of": "2023-06-01"})).json()
    (designation,) = state["listings"][0]["designations"]
    assert designation["measures"] == ["licence requirement"]
    assert [a["kind"] for a in state["anomalies"]] == ["unmatched_delisting"]


async def test_an_empty_program_is_a_problem_naming_it(writer: AsyncTestClient) -> None:
    response = await writer.get("/v1/lists/us-entity-list/members", params={"program": ""})
    assert_problem(response, 400, "program")


async def test_timeline_tells_unmatched_delistings_redesignations_and_old_names(
    writer: AsyncTestClient,
) -> None:
    response = await writer.post(
        "/v1/events",
        json=[
            listing("huawei", "2019-05-16", program="EAR744-EL"),
            listing("huawei", "2020-08-17", program="EAR744-EL"),
            delisting("huawei", "2021-01-04", program="1260H"),
            {
                "type": "EntityRenamed",
                "entity": "huawei",
                "occurred": "2024-03-01",
                "names": {"en": "Huawei Technologies", "zh-Hans": "华为技术"},
                "sources": SOURCE,
            },
        ],
    )
    assert response.status_code == 201, response.text
    en = (await writer.get("/v1/entities/huawei/timeline")).json()["events"]
    told = [(e["type"], e.get("note"), e["headline"]) for e in en if e["type"] != "RuleIssued"]
    assert told[1:] == [
        ("EntityListed", None, "huawei (now Huawei Technologies) added to the us-entity-list"),
        (
            "EntityListed",
            "designated_again",
            "huawei (now Huawei Technologies) designated again on the us-entity-list (EAR744-EL)",
        ),
        (
            "EntityDelisted",
            "unmatched_delisting",
            "huawei (now Huawei Technologies): a delisting from the us-entity-list that matches"
            " no listing",
        ),
        ("EntityRenamed", None, "huawei renamed Huawei Technologies"),
    ]
    hans = (await writer.get("/v1/entities/huawei/timeline", params={"lang": "zh-Hans"})).json()
    assert hans["events"][-1]["headline"] == "huawei更名为华为技术"
    state = (await writer.get("/v1/entities/huawei/state", params={"as_of": "2024-06-01"})).json()
    assert state["names"]["en"] == "Huawei Technologies"
    assert [f["names"] for f in state["former_names"]] == [{"en": "huawei"}]
    found = (await writer.get("/v1/entities", params={"q": "华为技术"})).json()["entities"]
    assert [e["id"] for e in found] == ["huawei"]


async def test_state_shows_parents_and_the_owner_its_subsidiaries(writer: AsyncTestClient) -> None:
    def holding(occurred: str, **fields: object) -> dict:
        return {
            "type": "OwnershipChanged",
            "entity": "ymtc",
            "occurred": occurred,
            "owner": "huawei",
            "sources": SOURCE,
        } | fields

    response = await writer.post(
        "/v1/events", json=[holding("2020-01-01", share=24.5), holding("2023-05-01", ended=True)]
    )
    assert response.status_code == 201, response.text

    async def state(entity: str, day: str) -> dict:
        return (await writer.get(f"/v1/entities/{entity}/state", params={"as_of": day})).json()

    assert [(p["entity"], p["share"]) for p in (await state("ymtc", "2021-01-01"))["parents"]] == [
        ("huawei", 24.5)
    ]
    owner = await state("huawei", "2021-01-01")
    assert [(s["entity"], s["since"]) for s in owner["subsidiaries"]] == [("ymtc", "2020-01-01")]
    assert "subsidiaries" not in await state("huawei", "2024-01-01")
    bad = await writer.post("/v1/events", json=[holding("2024-01-01", share=120)])
    assert_problem(bad, 422, "[0].share")
    itself = await writer.post("/v1/events", json=[holding("2024-01-01") | {"owner": "ymtc"}])
    assert_problem(itself, 422, "[0].owner")
