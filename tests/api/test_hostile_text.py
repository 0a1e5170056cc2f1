"""Arbitrary text in every text field of every event type: refused with a 4xx, or appended and
then carried through the projector, a rebuild, an export, its verification and a replay.
Never a 500, never an event that the log holds but cannot project or export."""

from __future__ import annotations

import asyncio
import copy
import datetime as dt
import io
import itertools
import json
import uuid
from typing import Any

import asyncpg
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from litestar.testing import AsyncTestClient

from events import EVENT_TYPES
from projections.audit.replay import facts_of, replay
from projections.audit.verify import verify
from service.audit import export
from service.readmodels.rebuild import rebuild
from tests.support.apitools import SOURCE, listing

KEY = object()  # in a slot: the text becomes a key of the map, not a value

COMMON = {"entity": "ymtc", "occurred": "2023-05-02", "sources": copy.deepcopy(SOURCE)}
TEMPLATES: dict[str, dict[str, Any]] = {
    "EntityRegistered": {"entity": "hostile-co", "kind": "company", "names": {"en": "H"}},
    "EntityListed": {"list": "us-entity-list", "authority": "BIS"},
    "EntityDelisted": {"list": "us-entity-list"},
    "RuleIssued": {"title": {"en": "Rule"}, "authority": "BIS", "targets": ["huawei"]},
    "RuleRescinded": {"reason": "gone"},
    "ProductMassProduced": {"product": "p", "category": "c", "specs": {"nm": 7}},
    "ExitAnnounced": {"market": "m", "region": "r", "impact": {"amount": 1, "currency": "USD"}},
    "EventRetracted": {},
    "RuleSuspended": {"reason": "paused"},
    "LicenseRequirementImposed": {"authority": "BIS", "items": "H20", "destinations": ["CN"]},
    "RegulatoryReviewOpened": {"authority": "SAMR", "review": "antitrust"},
    "RegulatoryReviewConcluded": {"authority": "SAMR", "review": "antitrust", "outcome": "closed"},
    "FinancialImpactDisclosed": {
        "measure": "charge",
        "amount": {"amount": 5, "currency": "USD"},
        "period": "Q1",
    },
    "ProductLaunched": {"product": "p", "category": "c", "specs": {"nm": "7"}},
    "ProductAnalyzed": {"product": "p", "category": "c", "findings": {"die": "x"}},
    "SupplyHalted": {"customer": "huawei", "items": "wafers"},
    "GuidanceIssued": {"title": {"en": "G"}, "authority": "BIS", "targets": ["huawei"]},
    "EntityRenamed": {"names": {"en": "Renamed"}},
    "OwnershipChanged": {"owner": "huawei", "share": 50},
}
assert set(TEMPLATES) == set(EVENT_TYPES)  # a new event type must be added here

COMMON_SLOTS = [
    ("entity",),
    ("headline", "en"),
    ("text", "en"),
    ("text", "zh-Hans"),
    ("sources", 0, "url"),
    ("sources", 0, "title"),
    ("sources", 0, "publisher"),
    ("sources", 0, "citation"),
]
SLOTS: dict[str, list[tuple]] = {
    "EntityRegistered": [
        ("names", "en"),
        ("aliases", 0),
        ("country",),
        ("parent",),
        ("identifiers", "lei"),
        ("identifiers", KEY),
    ],
    "EntityListed": [
        ("list",),
        ("authority",),
        ("license_policy",),
        ("license_requirement",),
        ("program",),
        ("designation",),
        ("reason",),
        ("measures", 0),
    ],
    "EntityDelisted": [("list",), ("rule",), ("program",), ("designation",)],
    "RuleIssued": [("title", "en"), ("authority",), ("targets", 0)],
    "RuleRescinded": [("reason",)],
    "ProductMassProduced": [("product",), ("category",), ("specs", "nm"), ("specs", KEY)],
    "ExitAnnounced": [("market",), ("region",), ("impact", "currency")],
    "EventRetracted": [],
    "RuleSuspended": [("reason",)],
    "LicenseRequirementImposed": [
        ("authority",),
        ("items",),
        ("destinations", 0),
        ("license_policy",),
    ],
    "RegulatoryReviewOpened": [("authority",), ("regulator",)],
    "RegulatoryReviewConcluded": [("authority",)],
    "FinancialImpactDisclosed": [("period",), ("amount", "currency")],
    "ProductLaunched": [("product",), ("category",), ("specs", "nm"), ("specs", KEY)],
    "ProductAnalyzed": [("product",), ("category",), ("findings", "die"), ("findings", KEY)],
    "SupplyHalted": [("items",), ("customer",)],
    "GuidanceIssued": [("title", "en"), ("authority",), ("targets", 0)],
    "EntityRenamed": [("names", "en"), ("aliases", 0)],
    "OwnershipChanged": [("owner",)],
}

# Every Unicode category, lone surrogates included, plus the known troublemakers.
hostile_text = st.one_of(
    st.text(st.characters(blacklist_categories=()), max_size=12),
    st.sampled_from(
        ["\x00", "ymtc\n", "CN\n", "USD\n", "\ud800", "a\udfffb", "\x1b[31m", "\u202e", "\r\n"]
    ),
    st.text(st.sampled_from("\x00\x01\t\n\r\x7f\x85\u2028\ufeff\ufffe\U0010ffffa-Z"), max_size=6),
)


def place(body: dict[str, Any], slot: tuple, text: str) -> None:
    node: Any = body
    for step, following in itertools.pairwise(slot):
        if isinstance(node, dict) and step not in node:
            node[step] = [] if isinstance(following, int) else {}
        node = node[step]
    last = slot[-1]
    if last is KEY:
        value = next(iter(node.values()), "v")
        node.clear()
        node[text] = value
    elif isinstance(last, int):
        while len(node) <= last:
            node.append("x")
        node[last] = text
    else:
        node[last] = text


def event_body(tag: str, slot: tuple, text: str) -> list[dict[str, Any]]:
    """The request body: the event with `text` in `slot` (a retraction comes after the event
    it withdraws)."""
    body = {"type": tag, **copy.deepcopy(COMMON), **copy.deepcopy(TEMPLATES[tag])}
    before = []
    if tag == "EventRetracted":
        withdrawn = listing("ymtc", id=str(uuid.uuid4()))
        body["supersedes"] = [withdrawn["id"]]
        before.append(withdrawn)
    place(body, slot, text)
    return [*before, body]


slots = st.sampled_from(sorted(TEMPLATES)).flatmap(
    lambda tag: st.tuples(st.just(tag), st.sampled_from(COMMON_SLOTS + SLOTS[tag]))
)


async def projected_up_to(pool: asyncpg.Pool, position: int, seconds: float = 30) -> None:
    deadline = asyncio.get_running_loop().time() + seconds
    while (await pool.fetchval("SELECT position FROM rm_state")) < position:
        assert asyncio.get_running_loop().time() < deadline, "the projector stopped behind"
        await asyncio.sleep(0.02)


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(slot=slots, text=hostile_text)
async def test_hostile_text_is_refused_or_carried_through_every_reader(
    writer: AsyncTestClient, pool: asyncpg.Pool, slot: tuple[str, tuple], text: str
) -> None:
    tag, path = slot
    body = json.dumps(event_body(tag, path, text)).encode()  # lone surrogates: \ud800 escapes
    response = await writer.post(
        "/v1/events", content=body, headers={"Content-Type": "application/json"}
    )
    assert response.status_code < 500, response.text
    event(f"answered {response.status_code // 100}xx")
    if response.status_code >= 400:
        assert response.json()["status"] == response.status_code
        return
    appended = response.json()["events"]
    subject = appended[-1]["entity"]
    await projected_up_to(pool, appended[-1]["position"])
    state = await writer.get(f"/v1/entities/{subject}/state")
    assert state.status_code == 200, state.text
    timeline = await writer.get(f"/v1/entities/{subject}/timeline")
    assert timeline.status_code == 200, timeline.text

    await rebuild(pool)
    out = io.BytesIO()
    async with pool.acquire() as conn:
        await export.export(conn, out)
    lines = out.getvalue().splitlines(keepends=True)
    verify(lines)
    facts = facts_of(lines)
    (replayed,) = replay(facts, dt.date.today(), None, subject)
    assert json.loads(replayed)["entity"] == subject
