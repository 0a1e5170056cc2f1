"""The seeded story answers through the API, in all three languages."""

from __future__ import annotations

import pytest
from litestar.testing import AsyncTestClient

from service.eventlog.store import EventStore
from service.ingest.seed import seed_if_empty

LANGS = ("en", "zh-Hans", "zh-Hant")


@pytest.fixture
async def seeded(client: AsyncTestClient, store: EventStore) -> AsyncTestClient:
    assert await seed_if_empty(store) > 0
    assert await seed_if_empty(store) == 0, "a restart adds nothing"
    return client


async def _listed_on(client: AsyncTestClient, entity: str, day: str, lang: str) -> set[str]:
    state = (await client.get(f"/v1/entities/{entity}/state", params={"as_of": day})).json()
    timeline = (await client.get(f"/v1/entities/{entity}/timeline", params={"lang": lang})).json()
    assert timeline["lang"] == lang and all(e["headline"] for e in timeline["events"])
    return {listing["list"] for listing in state["listings"]}


@pytest.mark.parametrize("lang", LANGS)
async def test_ymtc_joins_the_entity_list_on_2022_12_16(seeded: AsyncTestClient, lang: str) -> None:
    assert "us-entity-list" not in await _listed_on(seeded, "ymtc", "2022-12-15", lang)
    assert "us-entity-list" in await _listed_on(seeded, "ymtc", "2022-12-16", lang)


@pytest.mark.parametrize("lang", LANGS)
async def test_huawei_is_on_the_entity_list_on_2019_05_16(
    seeded: AsyncTestClient, lang: str
) -> None:
    assert "us-entity-list" in await _listed_on(seeded, "huawei", "2019-05-16", lang)


@pytest.mark.parametrize("lang", LANGS)
async def test_294_layer_nand_is_possible_in_january_2025_and_definite_after(
    seeded: AsyncTestClient, lang: str
) -> None:
    async def certainty(day: str) -> str:
        state = (await seeded.get("/v1/entities/ymtc/state", params={"as_of": day})).json()
        (nand,) = [p for p in state["products"] if "294" in p["product"]]
        return nand["certainty"]

    assert await certainty("2025-01-15") == "possible"
    assert await certainty("2025-02-01") == "definite"
    names = (
        await seeded.get(
            "/v1/entities",
            params={"q": {"en": "YMTC", "zh-Hans": "长江存储", "zh-Hant": "長江存儲"}[lang]},
        )
    ).json()
    # Ranked: the name itself first (CXMT's 长鑫存储 is one edit away and comes after).
    assert names["entities"][0]["id"] == "ymtc"
    assert names["entities"][0]["matched"]["kind"] in {"id", "exact"}
