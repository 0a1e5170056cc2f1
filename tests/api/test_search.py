"""Name search through the API (`GET /v1/entities?q=`), against real PostgreSQL: every name,
alias and former name in any script and spelling finds its entity, ranked, with why it matched
and a cursor for the next page."""

from __future__ import annotations

import asyncio
import datetime
import itertools
from pathlib import Path

import asyncpg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from litestar.testing import AsyncTestClient

from events import EntityRegistered, PartialDate, Source
from service.eventlog.store import EventStore
from service.ingest.un import registration_raw
from service.ingest.un_list import read_un_list
from service.readmodels import search
from service.readmodels.queries import checkpoint
from service.readmodels.rebuild import rebuild
from tests.support.apitools import SOURCE, assert_problem


def entity(
    entity_id: str,
    names: dict[str, str],
    *aliases: str,
    kind: str = "company",
    occurred: str = "2018",
) -> dict:
    return {
        "type": "EntityRegistered",
        "entity": entity_id,
        "occurred": occurred,
        "kind": kind,
        "names": names,
        "aliases": list(aliases),
        "sources": SOURCE,
    }


REPORTED = [
    entity("ymtc", {"en": "YMTC", "zh-Hans": "长江存储"}, "Yangtze Memory Technologies"),
    entity("tsao-hsing-cheng", {"en": "Tsao Hsing-cheng", "zh-Hans": "曹兴诚"}, kind="person"),
    entity("kuma-academy", {"en": "Kuma Academy", "zh-Hans": "黑熊学院"}, kind="other"),
    entity("lockheed-martin", {"en": "Lockheed Martin", "zh-Hans": "洛克希德·马丁公司"}),
    entity("huawei", {"en": "Huawei"}, "Huawei Technologies Co., Ltd.", "华为"),
    entity("huawei-investment", {"en": "Huawei Investment & Holding Co., Ltd."}),
    entity("obryan-co", {"en": "O’Bryan Trading"}),
    entity("avic-xian", {"en": "AVIC Xi'an Aircraft Industry Group"}),
]


@pytest.fixture
async def reported(writer: AsyncTestClient) -> AsyncTestClient:
    response = await writer.post("/v1/events", json=REPORTED)
    assert response.status_code == 201, response.text
    return writer


async def found(api: AsyncTestClient, q: str, **params: object) -> list[dict]:
    response = await api.get("/v1/entities", params={"q": q, **params})
    assert response.status_code == 200, response.text
    return response.json()["entities"]


@pytest.mark.parametrize(
    ("query", "expected", "kind"),
    [
        ("長江存儲", "ymtc", "exact"),  # traditional for a simplified name
        ("曹興誠", "tsao-hsing-cheng", "exact"),
        ("黑熊學院", "kuma-academy", "exact"),
        ("洛克希德·馬丁公司", "lockheed-martin", "exact"),
        ("洛克希德马丁", "lockheed-martin", "core"),  # without the middle dot and 公司
        ("Tsao Hsing cheng", "tsao-hsing-cheng", "exact"),  # space for the hyphen
        ("Huawei Technologies Co Ltd", "huawei", "exact"),  # no punctuation
        ("O'Bryan", "obryan-co", "tokens"),  # straight apostrophe for a curly one
        ("AVIC Xian", "avic-xian", "tokens"),
        ("Cao Xingcheng", "tsao-hsing-cheng", "transliteration"),
    ],
)
async def test_each_reported_name_finds_its_entity_first(
    reported: AsyncTestClient, query: str, expected: str, kind: str
) -> None:
    hits = await found(reported, query)
    assert hits, query
    assert hits[0]["id"] == expected
    assert hits[0]["matched"]["kind"] == kind
    assert hits[0]["matched"]["former"] is False


@pytest.mark.parametrize(
    ("query", "expected", "rule"),
    [
        ("ＨＵＡＷＥＩ", "huawei", "full-width and case fold to the same key"),
        ("huawei technologies, co. ltd.", "huawei", "punctuation separates like a space"),
        ("O Bryan Trading", "obryan-co", "the parts of an apostrophised word are words too"),
        ("Lockheed-Martin", "lockheed-martin", "a hyphen is a separator"),
        ("Huawei Technologies Limited", "huawei", "legal forms are optional"),
        ("Yangtze Memory Technolgies", "ymtc", "a typo within the allowed edits"),
        ("lockheed-martin", "lockheed-martin", "the id"),
    ],
)
async def test_each_normalisation_rule_reaches_the_entity(
    reported: AsyncTestClient, query: str, expected: str, rule: str
) -> None:
    hits = await found(reported, query)
    assert hits and hits[0]["id"] == expected, (rule, hits[:3])


async def test_huawei_finds_huawei_before_huawei_investment(reported: AsyncTestClient) -> None:
    hits = await found(reported, "Huawei")
    assert [h["id"] for h in hits] == ["huawei", "huawei-investment"]
    assert hits[0]["matched"] == {"name": "huawei", "kind": "id", "former": False}
    assert hits[1]["matched"]["kind"] == "tokens"
    hits = await found(reported, "Huawei Technologies")
    assert [h["id"] for h in hits] == ["huawei"]  # tokens: every word, Investment lacks one
    hits = await found(reported, "HUAWEI ")
    assert [h["id"] for h in hits] == ["huawei", "huawei-investment"]


async def test_an_exact_alias_comes_first_among_65_names_containing_it(
    writer: AsyncTestClient,
) -> None:
    # 64 entities with the word CT in their names, ids before the exact alias's in id order.
    crowd = [entity(f"a-ct-{i:02}", {"en": f"CT Holdings {i:02}"}) for i in range(64)]
    exact = entity("zz-ct", {"en": "Cuttlefish Technologies"}, "CT")
    assert (await writer.post("/v1/events", json=[*crowd, exact])).status_code == 201
    hits = await found(writer, "CT", limit=50)
    assert hits[0]["id"] == "zz-ct" and hits[0]["matched"]["kind"] == "exact"
    assert len(hits) == 50


async def test_the_cursor_pages_through_every_match_once_in_order(
    writer: AsyncTestClient,
) -> None:
    crowd = [entity(f"ct-{i:02}", {"en": f"CT {'Group ' * (i % 4)}{i:02}"}) for i in range(23)]
    assert (await writer.post("/v1/events", json=crowd)).status_code == 201
    everything = await found(writer, "CT", limit=500)
    assert len(everything) == 23
    pages: list[dict] = []
    cursor = None
    while True:
        params = {"q": "CT", "limit": 5} | ({"cursor": cursor} if cursor else {})
        body = (await writer.get("/v1/entities", params=params)).json()
        pages.extend(body["entities"])
        cursor = body["cursor"]
        if cursor is None:
            break
    assert [h["id"] for h in pages] == [h["id"] for h in everything]
    # The same cursor gives the same page (opaque and stable).
    first = (await writer.get("/v1/entities", params={"q": "CT", "limit": 5})).json()
    again = [
        (await writer.get("/v1/entities", params={"q": "CT", "limit": 5, "cursor": c})).json()
        for c in (first["cursor"], first["cursor"])
    ]
    assert again[0] == again[1] and again[0]["entities"][0]["id"] == everything[5]["id"]


async def test_a_listing_without_a_query_pages_by_id(writer: AsyncTestClient) -> None:
    crowd = [entity(f"e-{i:02}", {"en": f"E {i}"}, kind="other") for i in range(7)]
    assert (await writer.post("/v1/events", json=crowd)).status_code == 201
    params: dict = {"limit": 4, "kind": "other"}
    first = (await writer.get("/v1/entities", params=params)).json()
    params["cursor"] = first["cursor"]
    second = (await writer.get("/v1/entities", params=params)).json()
    assert [e["id"] for e in first["entities"] + second["entities"]] == [
        f"e-{i:02}" for i in range(7)
    ]
    assert second["cursor"] is None


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"q": "CT", "cursor": "not a cursor"}, "cursor"),
        ({"q": "Huawei", "cursor": "WyJ4IixbMV1d"}, "cursor"),  # a cursor of another query
        ({"q": "a\x00b"}, "q"),
        ({"q": "x" * 201}, "q"),
    ],
)
async def test_a_bad_cursor_or_query_is_a_problem_naming_it(
    reported: AsyncTestClient, params: dict, field: str
) -> None:
    assert_problem(await reported.get("/v1/entities", params=params), 400, field)


async def test_a_cursor_of_one_query_is_refused_for_another(writer: AsyncTestClient) -> None:
    crowd = [entity(f"ct-{i:02}", {"en": f"CT {i:02}"}) for i in range(3)]
    assert (await writer.post("/v1/events", json=crowd)).status_code == 201
    cursor = (await writer.get("/v1/entities", params={"q": "CT", "limit": 1})).json()["cursor"]
    assert cursor
    response = await writer.get("/v1/entities", params={"q": "CT 01", "cursor": cursor})
    assert_problem(response, 400, "cursor")


ODD = "Acme\x00Corp \u202e\ufeff 🐉 Ｚｅｔａ"


async def test_a_name_with_nul_and_odd_text_is_indexed_and_found(
    client: AsyncTestClient, store: EventStore, pool: asyncpg.Pool
) -> None:
    """The API refuses NUL in a name; the log may still hold one (an import, an old export)."""
    appended = await store.append(
        [
            EntityRegistered(
                entity="odd-co",
                occurred=PartialDate("2016"),
                sources=(Source(url="https://example.org/odd"),),
                kind="company",
                names={"en": ODD},
            )
        ]
    )
    # Appended past the API, which does not know the log grew: wait for the projector.
    position = appended.events[-1].position
    for _ in range(500):
        if await checkpoint(pool) >= position:
            break
        await asyncio.sleep(0.02)
    hits = await found(client, "acme corp zeta")
    assert [h["id"] for h in hits] == ["odd-co"]
    assert hits[0]["matched"]["name"] == ODD


async def test_as_of_a_date_finds_the_names_the_entity_had_then(
    writer: AsyncTestClient,
) -> None:
    """Former names: those of an earlier registration that a later one replaced."""
    events = [
        entity("us-bis", {"en": "Bureau of Export Administration"}, occurred="1987"),
        entity("us-bis", {"en": "Bureau of Industry and Security"}, "BIS", occurred="2002-04-18"),
    ]
    assert (await writer.post("/v1/events", json=events)).status_code == 201
    # Now: the former name still finds it, shown as former.
    now = await found(writer, "Bureau of Export Administration")
    assert now[0]["id"] == "us-bis"
    assert now[0]["matched"] == {
        "name": "Bureau of Export Administration",
        "kind": "exact",
        "former": True,
    }
    # In 1999 that was its name; the later one was not yet.
    then = await found(writer, "Bureau of Export Administration", as_of="1999-01-01")
    assert then[0]["matched"]["former"] is False
    assert await found(writer, "Bureau of Industry and Security", as_of="1999-01-01") == []
    later = await found(writer, "Bureau of Industry and Security", as_of="2002-04-18")
    assert later[0]["id"] == "us-bis" and later[0]["matched"]["former"] is False


async def test_known_at_finds_the_names_the_log_knew_then(writer: AsyncTestClient) -> None:
    first = [entity("acme", {"en": "Acme Widgets"}, occurred="2010")]
    assert (await writer.post("/v1/events", json=first)).status_code == 201
    listed = (await writer.get("/v1/events", params={"entity": "acme"})).json()["events"]
    known_then = listed[-1]["recorded_at"]
    renamed = [entity("acme", {"en": "Zenith Gadgets"}, occurred="2020")]
    assert (await writer.post("/v1/events", json=renamed)).status_code == 201
    now = await found(writer, "Acme Widgets")
    assert now[0]["matched"]["former"] is True
    then = await found(writer, "Acme Widgets", known_at=known_then)
    assert then[0]["id"] == "acme" and then[0]["matched"]["former"] is False
    assert await found(writer, "Zenith Gadgets", known_at=known_then) == []


UN_FIXTURE = Path(__file__).parent.parent / "data" / "un-sc-consolidated" / "consolidated.xml"


@pytest.fixture(scope="module")
def un_registrations() -> list[dict]:
    """The UN list's individuals with a name in the original script, registered as the UN
    importer registers them (`service.ingest.un.registration_raw`)."""
    with read_un_list(UN_FIXTURE) as snapshot:
        chosen = [d for d in snapshot if d.name_original_script][:40]
    return [registration_raw(d, "2020-01-01", SOURCE[0]) for d in chosen]


async def test_the_un_lists_original_script_names_find_their_entities(
    writer: AsyncTestClient, un_registrations: list[dict]
) -> None:
    assert (await writer.post("/v1/events", json=un_registrations)).status_code == 201
    hamza = str.maketrans({"أ": "ا", "إ": "ا", "آ": "ا", "ة": "ه"})
    checked = 0
    for raw in un_registrations:
        original = raw["aliases"][0]  # the importer puts the original script first
        for query in {original, original.translate(hamza)}:
            hits = await found(writer, query, limit=5)
            assert hits and hits[0]["id"] == raw["entity"], (query, hits[:2])
            assert hits[0]["matched"] == {"name": original, "kind": "exact", "former": False}
            checked += 1
    assert checked > 40  # some names are typed without their hamza forms


async def test_a_typo_is_found_among_many_words_that_begin_alike(
    writer: AsyncTestClient,
) -> None:
    # 80 other words beginning with `hu`, as `huawi` does: fuzzy candidates are the keys
    # nearest the query's, which the distance then filters.
    crowd = [
        entity(f"hu-{i:02}", {"en": f"Hu{chr(97 + i % 26)}{chr(97 + i // 26)}wzzi Trading"})
        for i in range(80)
    ]
    crowd.append(entity("huawei", {"en": "Huawei"}))
    assert (await writer.post("/v1/events", json=crowd)).status_code == 201
    hits = await found(writer, "Huawi", limit=5)
    assert hits[0]["id"] == "huawei"
    assert hits[0]["matched"] == {"name": "Huawei", "kind": "fuzzy", "former": False}
    hits = await found(writer, "Hauwei", limit=5)  # two neighbours swapped: one edit
    assert hits[0]["id"] == "huawei" and hits[0]["matched"]["kind"] == "fuzzy"


async def test_every_word_must_match_however_common_the_others_are(
    writer: AsyncTestClient,
) -> None:
    # The word `group` in 120 names; `kuma` in one. The best names (fewest other words) come
    # first whichever word is looked up first.
    crowd = [entity(f"g-{i:03}", {"en": f"Group {i:03} Holdings"}) for i in range(120)]
    kuma = [
        entity("kuma-group", {"en": "Kuma Group"}),
        entity("kuma-trading-group", {"en": "Kuma Trading Group International"}),
        entity("kuma-academy", {"en": "Kuma Academy"}),
    ]
    assert (await writer.post("/v1/events", json=[*crowd, *kuma])).status_code == 201
    hits = await found(writer, "group kuma", limit=5)
    assert [h["id"] for h in hits] == ["kuma-group", "kuma-trading-group"]
    assert [h["matched"]["kind"] for h in hits] == ["tokens", "tokens"]
    hits = await found(writer, "Gro Kum", limit=5)
    assert [h["id"] for h in hits][:2] == ["kuma-group", "kuma-trading-group"]
    assert hits[0]["matched"]["kind"] == "prefix"


async def test_a_romanised_name_without_the_province_word_finds_the_chinese_name(
    writer: AsyncTestClient,
) -> None:
    # The romanised name leaves out 省 (province) and 市 (city), which the Chinese name has.
    crowd = [
        entity("fujian-jinhua", {"en": "JHICC", "zh-Hans": "福建省晋华集成电路有限公司"}),
        entity("dji", {"en": "DJI", "zh-Hant": "深圳市大疆創新科技有限公司"}),
        entity("fujian-other", {"en": "Fujian Sheng Trading", "zh-Hans": "福建省贸易有限公司"}),
    ]
    assert (await writer.post("/v1/events", json=crowd)).status_code == 201
    for query, expected in [
        ("Fujian Jinhua Jicheng Dianlu", "fujian-jinhua"),
        ("Fujian Sheng Jinhua Jicheng Dianlu", "fujian-jinhua"),
        ("Shenzhen Dajiang Chuangxin Keji", "dji"),
    ]:
        hits = await found(writer, query, limit=5)
        assert [h["id"] for h in hits] == [expected], query
        assert hits[0]["matched"]["kind"] == "transliteration", query


async def test_a_typo_in_one_word_finds_only_the_names_with_every_word(
    writer: AsyncTestClient,
) -> None:
    # `kim` in 150 names, `chol` in 100 of them: each candidate of the rarest word is checked
    # for the near keys of every other word, and one without a word is no match.
    crowd = [entity(f"kim-{i:03}", {"en": f"Kim Sol {i:03}"}, kind="person") for i in range(50)]
    crowd += [entity(f"chol-{i:03}", {"en": f"Kim Chol {i:03}"}, kind="person") for i in range(100)]
    crowd += [
        entity("kim-yong-chol", {"en": "Kim Yong Chol"}, kind="person"),
        entity("kim-yong-sun", {"en": "Kim Yong Sun"}, kind="person"),
        entity("kim-yong-chul", {"en": "Kim Yong-Chul Trading"}, kind="person"),
    ]
    assert (await writer.post("/v1/events", json=crowd)).status_code == 201
    hits = await found(writer, "Kim Yonng Chol", limit=5)
    assert [h["id"] for h in hits] == ["kim-yong-chol", "kim-yong-chul"]
    assert [h["matched"]["kind"] for h in hits] == ["fuzzy", "fuzzy"]


async def test_two_common_words_find_only_the_names_with_both(writer: AsyncTestClient) -> None:
    # `beta` in 72 names, `alpha` in 83: the candidates of the rarest word are many, so they
    # are narrowed to those with the other word before each is checked for every word.
    crowd = [entity(f"beta-{i:02}", {"en": f"Beta Trading {i:02}"}) for i in range(70)]
    crowd += [entity(f"alpha-{i:02}", {"en": f"Alpha Holdings {i:02}"}) for i in range(80)]
    crowd += [
        entity("alpha-beta", {"en": "Alpha Beta"}),
        entity("beta-alpha-group", {"en": "Beta Alpha Group"}),
        entity("alpha-x-beta", {"en": "Alpha Xylo Beta"}),
    ]
    assert (await writer.post("/v1/events", json=crowd)).status_code == 201
    hits = await found(writer, "alpha beta", limit=10)
    assert hits[0]["id"] == "alpha-beta" and hits[0]["matched"]["kind"] == "exact"
    assert {h["id"] for h in hits[1:]} == {"beta-alpha-group", "alpha-x-beta"}
    assert {h["matched"]["kind"] for h in hits[1:]} == {"tokens"}


_VOCABULARY_GAPS = """
WITH held AS (
    SELECT generation, true AS word, key, rkey, count(*)::integer AS postings
    FROM rm_name_keys WHERE roles & 8 <> 0 GROUP BY generation, key, rkey
    UNION
    SELECT generation, false, key, rkey, count(*)::integer
    FROM rm_name_keys WHERE roles & 7 <> 0 GROUP BY generation, key, rkey
)
SELECT
    (SELECT count(*) FROM (SELECT * FROM held EXCEPT SELECT * FROM rm_name_vocab) AS m) AS missing,
    (SELECT count(*) FROM (SELECT * FROM rm_name_vocab EXCEPT SELECT * FROM held) AS s) AS stale,
    (SELECT count(DISTINCT generation) FROM rm_name_vocab) AS generations
"""


async def test_the_vocabulary_holds_every_key_names_have_with_its_rows_through_renames_and_rebuild(
    writer: AsyncTestClient, pool: asyncpg.Pool
) -> None:
    """The fuzzy lookups read the distinct keys from `rm_name_vocab`: a key some name has and
    the vocabulary lacks would never be found by a typo, and one no name has would take the
    place of a nearer key. The lookups choose their rarest word by its postings there (rows of
    rm_name_keys): they are kept as names gain, lose and share keys."""
    events = [
        entity("quokka", {"en": "Quokka Lighting Works"}, "Qlw Optics", occurred="2001"),
        entity("wombat", {"en": "Wombatt Lightning"}, occurred="2001"),
        entity("wallaby", {"en": "Wallaby Lightning"}, occurred="2001"),
    ]
    response = await writer.post("/v1/events", json=events)
    assert response.status_code == 201
    typo = response.json()["events"][1]["id"]
    assert [h["id"] for h in await found(writer, "Quoka Lighting")] == ["quokka"]
    renamed = entity("quokka", {"en": "Numbat Optronics"}, occurred="2010")
    corrected = entity("wombat", {"en": "Wombat Lighting"}, occurred="2001")
    corrected["supersedes"] = [typo]
    assert (await writer.post("/v1/events", json=[renamed, corrected])).status_code == 201
    assert [h["id"] for h in await found(writer, "Numbet Optronics")] == ["quokka"]
    gaps = dict(await pool.fetchrow(_VOCABULARY_GAPS))
    assert gaps == {"missing": 0, "stale": 0, "generations": 1}
    postings = {
        (r["word"], r["key"]): r["postings"]
        for r in await pool.fetch("SELECT word, key, postings FROM rm_name_vocab")
    }
    # A former name's keys stay (the entity still has it, as a former name); a corrected
    # name's keys go with it: those no other name has leave, a shared one has one row fewer.
    assert postings[True, "lighting"] == 2 and postings[True, "lightning"] == 1
    assert postings[True, "quokka"] == 1 and postings[False, "numbatoptronics"] == 1
    assert (False, "wombatlighting") in postings and (True, "wombatlighting") not in postings
    assert not {key for _, key in postings} & {"wombatt", "wombattlightning"}
    await rebuild(pool)
    assert dict(await pool.fetchrow(_VOCABULARY_GAPS)) == gaps
    assert [h["id"] for h in await found(writer, "Numbet Optronics")] == ["quokka"]


_WORDS = ["Alpha", "Beta", "Gamma", "Trading", "Co., Ltd.", "长江", "存储", "O’Bryan"]
_EXAMPLES = itertools.count()


def _names() -> st.SearchStrategy[list[str]]:
    """One to three names of one to three words from a few, so that names share keys."""
    name = st.lists(st.sampled_from(_WORDS), min_size=1, max_size=3).map(" ".join)
    return st.lists(name, min_size=1, max_size=3)


@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
async def test_the_vocabulary_counts_every_key_after_any_renames_and_corrections(
    writer: AsyncTestClient, pool: asyncpg.Pool, data: st.DataObject
) -> None:
    """Whatever entities are registered, renamed and corrected (names that share words, gain
    and lose them, and come back), the vocabulary holds each key names have once, with as many
    postings as rows of rm_name_keys: its upkeep stores only differences."""
    prefix = f"v{next(_EXAMPLES)}-"
    entities = [f"{prefix}{i}" for i in range(data.draw(st.integers(1, 3)))]
    posted: dict[str, list[str]] = {e: [] for e in entities}
    for step in range(data.draw(st.integers(1, 4))):
        batch = []
        for e in entities:
            names = data.draw(_names())
            event = entity(e, {"en": names[0]}, *names[1:], occurred=str(2001 + step))
            if posted[e] and data.draw(st.booleans()):
                event["supersedes"] = [data.draw(st.sampled_from(posted[e]))]
                event["occurred"] = "2001"
            batch.append(event)
        response = await writer.post("/v1/events", json=batch)
        assert response.status_code == 201, response.text
        for event in response.json()["events"]:
            posted[event["entity"]].append(event["id"])
        # A read waits for the projector to reach the log's end: each step is a page of its
        # own, whose keys replace those the step before left.
        await found(writer, "alpha")
    assert dict(await pool.fetchrow(_VOCABULARY_GAPS)) == {
        "missing": 0,
        "stale": 0,
        "generations": 1,
    }


class _FailingStore:
    """A log that fails when a search reads names as it knew them."""

    async def events_of(self, entities: list[str], *, known_at: object) -> list:
        raise RuntimeError("the log is unreachable")


async def test_a_search_that_fails_midway_leaves_its_connection_out_of_its_transaction(
    writer: AsyncTestClient, pool: asyncpg.Pool
) -> None:
    """A search opens its transaction itself (one round trip with its settings): when a stage
    fails, the transaction is rolled back before the error goes on, and the connection serves
    the next query with the server's own settings."""
    assert (await writer.post("/v1/events", json=REPORTED)).status_code == 201
    assert (await found(writer, "Huawei"))[0]["id"] == "huawei"  # projected
    async with pool.acquire() as conn:
        with pytest.raises(RuntimeError, match="unreachable"):
            await search.search(
                conn,
                "Huawei",
                day=datetime.date(2024, 1, 1),
                known_at=datetime.datetime(2030, 1, 1, tzinfo=datetime.UTC),
                store=_FailingStore(),  # type: ignore[arg-type]
            )
        assert not conn.is_in_transaction()
        assert await conn.fetchval("SHOW enable_bitmapscan") == "on"
        hits, _ = await search.search(conn, "Huawei", day=datetime.date(2024, 1, 1))
        assert hits[0].id == "huawei"
        assert not conn.is_in_transaction()


_CANCEL = "DO $$ BEGIN RAISE EXCEPTION 'canceling statement' USING ERRCODE = '{}'; END $$"


@pytest.mark.parametrize(
    "sqlstate",
    [
        "40001",  # a hot standby's conflict with recovery, a serialization failure
        "40P01",  # a deadlock
    ],
)
async def test_a_request_the_database_cancels_is_a_503_to_retry_and_the_next_is_answered(
    writer: AsyncTestClient, monkeypatch: pytest.MonkeyPatch, sqlstate: str
) -> None:
    """PostgreSQL cancels a statement and rolls its transaction back when a standby's replay
    conflicts with it, on a serialization failure or a deadlock (SQLSTATE class 40): a retry
    likely succeeds, so the client is told to retry (503, Retry-After), not that the server
    failed. PostgreSQL itself raises the error here, within a search's stage."""
    assert (await writer.post("/v1/events", json=REPORTED)).status_code == 201
    assert (await found(writer, "Huawei"))[0]["id"] == "huawei"  # projected
    real = search._in_names

    async def cancelled(conn: asyncpg.Connection, *args: object) -> object:
        await conn.execute(_CANCEL.format(sqlstate))
        return await real(conn, *args)  # never reached

    monkeypatch.setattr(search, "_in_names", cancelled)
    response = await writer.get("/v1/entities", params={"q": "Huawei Tech"})
    body = assert_problem(response, 503)
    assert body["type"].endswith("/cancelled") and response.headers["retry-after"] == "1"
    assert sqlstate in body["detail"]
    monkeypatch.setattr(search, "_in_names", real)
    assert (await found(writer, "Huawei Tech"))[0]["id"] == "huawei"


async def test_a_whole_word_match_is_found_when_its_words_prefixes_are_too_many_to_read(
    writer: AsyncTestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Whole words and prefixes are looked up together, by each word's prefix range; a range
    with more keys than a lookup reads is read in key order, the word itself first, so what is
    left unread is only longer words."""
    monkeypatch.setattr(search, "CANDIDATES", 4)
    crowd = [entity(f"deltas-{i}", {"en": f"Deltas Omegas {i}"}) for i in range(6)]
    crowd.append(entity("delta-omega", {"en": "Delta Omega Works"}))
    assert (await writer.post("/v1/events", json=crowd)).status_code == 201
    hits = await found(writer, "delta omega", limit=10)
    assert hits[0]["id"] == "delta-omega"
    assert hits[0]["matched"]["kind"] == "tokens"


async def test_many_matches_of_one_quality_page_as_if_every_one_were_ranked(
    writer: AsyncTestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """When a lookup finds many entities, its bounds carry their names matching, kind and id,
    and only as many are ranked as the page needs (`Cho Chol`: 557 matches of one quality):
    each page is still the slice of the whole ranking, ties broken by names, kind, id."""
    monkeypatch.setattr(search, "KINDS_BEYOND", 4)
    kinds = ["person", "company", "other"]
    crowd = [
        entity(f"whole-{i:02}", {"en": f"Cho Chol Trading {i:02}"}, kind=kinds[i % 3])
        for i in range(24)
    ]
    crowd += [
        entity(f"twice-{i:02}", {"en": f"Cho Chol Mining {i:02}"}, f"Cho Chol Metals {i:02}")
        for i in range(3)
    ]
    crowd += [
        entity(f"prefix-{i:02}", {"en": f"Chon Cholla Shipping {i:02}"}, kind=kinds[i % 3])
        for i in range(24)
    ]
    assert (await writer.post("/v1/events", json=crowd)).status_code == 201
    everything = await found(writer, "cho chol", limit=200)
    assert len(everything) == len(crowd)
    ids = [h["id"] for h in everything]
    # Ties: more names matching first, then companies before persons before others, then id.
    assert ids[:3] == ["twice-00", "twice-01", "twice-02"]
    assert ids[3:11] == [f"whole-{i:02}" for i in range(1, 24, 3)]
    assert ids[27:35] == [f"prefix-{i:02}" for i in range(1, 24, 3)]
    ranked: list[int] = []
    rank = search._rank

    async def counting(*args: object, **kwargs: object) -> int:
        ranked.append(len(args[3]))  # the entities ranked by this call
        return await rank(*args, **kwargs)

    monkeypatch.setattr(search, "_rank", counting)
    pages: list[str] = []
    cursor = None
    while True:
        params = {"q": "cho chol", "limit": 5} | ({"cursor": cursor} if cursor else {})
        body = (await writer.get("/v1/entities", params=params)).json()
        pages.extend(h["id"] for h in body["entities"])
        if not pages[5:]:
            first_page_ranked = sum(ranked)
        cursor = body["cursor"]
        if cursor is None:
            break
    assert pages == ids
    assert first_page_ranked < len(crowd) // 2
