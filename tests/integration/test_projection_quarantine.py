"""One poison event does not stop the read side: NUL in names is stored safely, and an entity
the projector cannot project is set aside while every other one keeps advancing."""

from __future__ import annotations

import datetime as _dt

import asyncpg

from service.eventlog.store import EventStore
from service.readmodels import queries as readmodel
from service.readmodels import search as name_search
from service.readmodels import sql as readmodel_sql
from service.readmodels.projector import Projector
from service.readmodels.rebuild import rebuild
from tests.support.builders import listed, registered
from tests.support.poison import plant_poison

TODAY = _dt.date(2026, 1, 1)


async def members(pool: asyncpg.Pool) -> list[str]:
    return [m.entity for m in await readmodel.list_members(pool, "us-entity-list", TODAY)]


async def search(pool: asyncpg.Pool, text: str) -> list[name_search.Hit]:
    hits, _ = await name_search.search(pool, text, day=_dt.date.today())
    return hits


async def set_aside(pool: asyncpg.Pool) -> list[tuple[str, int]]:
    return [(r["entity"], r["position"]) for r in await pool.fetch(readmodel_sql.QUARANTINED_LIVE)]


async def test_names_holding_nul_are_projected_and_searchable(
    store: EventStore, pool: asyncpg.Pool
) -> None:
    await store.append([registered("us-entity-list", "list")])
    await store.append([registered("nul-co", en="Acme\x00Corp"), listed("nul-co", "2020")])
    head = (await store.head()).position
    assert await Projector(pool).catch_up() == head
    found = await search(pool, "acme")
    assert [(e.id, e.names) for e in found] == [("nul-co", {"en": "Acme\x00Corp"})]
    assert [e.id for e in await search(pool, "acme\x00corp")] == ["nul-co"]
    assert await members(pool) == ["nul-co"]
    await rebuild(pool)
    assert await members(pool) == ["nul-co"]
    assert [e.id for e in await search(pool, "acme")] == ["nul-co"]
    assert await set_aside(pool) == []


async def test_a_poison_event_sets_its_entity_aside_and_the_rest_advances(
    store: EventStore, pool: asyncpg.Pool
) -> None:
    await store.append([registered("us-entity-list", "list"), registered("poisoned")])
    await store.append([registered("ymtc"), listed("ymtc", "2020")])
    projector = Projector(pool)
    await projector.catch_up()
    poison = await plant_poison(pool, "poisoned")
    await store.append([registered("huawei"), listed("huawei", "2019")])
    await store.append([listed("poisoned", "2021")])
    head = (await store.head()).position

    assert await projector.catch_up() == head
    assert await members(pool) == ["huawei", "ymtc"]
    assert await set_aside(pool) == [("poisoned", poison)]
    assert projector.set_aside == 1
    assert [e.id for e in await search(pool, "huawei")] == ["huawei"]

    # Later pages keep going past the set-aside entity, and so does a rebuild from scratch.
    await store.append([registered("smic"), listed("smic", "2020")])
    head = (await store.head()).position
    assert await projector.catch_up() == head
    assert await members(pool) == ["huawei", "smic", "ymtc"]
    await rebuild(pool)
    assert await Projector(pool).checkpoint() == head
    assert await members(pool) == ["huawei", "smic", "ymtc"]
    assert await set_aside(pool) == [("poisoned", poison)]
