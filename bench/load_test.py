"""Bounded load test on loopback.

Runs the real server (`timeline serve`, with the seed data set) against a scratch database, then
for --duration seconds:

- `--writers` tasks POST events to /v1/events with a write token: single events and small
  batches (2-5), each event with a new unique id, about the seed's companies and each writer's
  own registered companies; every 10th request is a deliberate one, counted apart: an invalid
  event (422), a bad token (401), an id already in the log with other content (409), a stale
  `expected_position` (409), and an exact repeat of an accepted event (200, nothing appended).
  The refused ones must be problem documents and change nothing.
- `--readers` tasks hit a mix of read routes: entity state now, at a past known_at and with
  If-None-Match; list members now and at the past known_at; /v1/events paging; /v1/timeline and
  an entity timeline; /health and /health/live.

Then it checks: every event the writers got a 201 for is in the log exactly once, at the
position and with the hash the answer gave; the log holds nothing else but the seed; no event
of a refused request is in it; positions are 1..N with no gap; the hash chain and the signed
Merkle head verify (service.verify, what `timeline verify` runs); answers at the past
known_at never changed; every page of /v1/events was gap-free and chained; and no request got
an unexpected status (5xx included), a timeout or a connection error. It prints per-route
rates, p50 and p99, the totals and the checks, and exits 1 on any violation.

Run:  .venv/bin/python bench/load_test.py [--database-url ADMIN_URL] [--duration 30]
      (--target-database URL: use an existing empty database instead of a scratch one)
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import contextlib
import dataclasses
import hashlib
import io
import json
import random
import shlex
import sys
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import httpx
from _common import note, redacted, server
from _serve import Served, scratch_database, serving

from projections.audit import signing
from projections.audit.export_format import VerifyFault
from projections.audit.verify import load_public_key, verify
from service.access import tokens
from service.audit import export

WRITERS = 8
READERS = 32
DURATION = 30.0
TIMEOUT = 15.0  # seconds; a slower answer is a failure
DELIBERATE_EVERY = 10
OWN_COMPANIES = 3
PROBLEM = "application/problem+json"
SOURCES = [
    {
        "url": "https://www.federalregister.gov/d/2022-27151",
        "publisher": "Federal Register",
        "citation": "87 FR 77505",
    }
]
PRODUCTS = ("232-layer 3D NAND", "DDR5 16Gb DRAM", "7nm SoC", "HBM2E stack")


# --------------------------------------------------------------------------- bookkeeping


@dataclasses.dataclass
class Route:
    """Answers to one kind of request: latencies, statuses, failures."""

    latencies: list[float] = dataclasses.field(default_factory=list)
    statuses: collections.Counter = dataclasses.field(default_factory=collections.Counter)
    failures: int = 0
    """Unexpected status, timeout or connection error."""
    events: int = 0
    """Events appended (writes)."""

    def summary(self, seconds: float) -> dict[str, Any]:
        ordered = sorted(self.latencies)

        def pct(p: float) -> float | None:
            if not ordered:
                return None
            return round(ordered[min(len(ordered) - 1, int(p * len(ordered)))] * 1000, 2)

        return {
            "requests": sum(self.statuses.values()),
            "rate": round(len(self.latencies) / seconds, 1),
            "p50_ms": pct(0.50),
            "p99_ms": pct(0.99),
            "statuses": {str(k): v for k, v in sorted(self.statuses.items())},
            "failures": self.failures,
            "events": self.events,
        }


@dataclasses.dataclass
class Run:
    routes: dict[str, Route] = dataclasses.field(
        default_factory=lambda: collections.defaultdict(Route)
    )
    accepted: dict[uuid.UUID, tuple[int, str]] = dataclasses.field(default_factory=dict)
    """id -> (position, hash) from 201 answers."""
    refused_ids: set[uuid.UUID] = dataclasses.field(default_factory=set)
    """Ids only ever sent in refused requests: none may be in the log."""
    violations: list[str] = dataclasses.field(default_factory=list)
    past_bodies: dict[str, str] = dataclasses.field(default_factory=dict)
    """URL at the past known_at -> sha256 of the first answer."""

    def violation(self, text: str) -> None:
        if len(self.violations) < 200:
            self.violations.append(text)
        elif len(self.violations) == 200:
            self.violations.append("... (more violations not listed)")


class Client:
    """One request, timed and checked against the statuses it may get."""

    def __init__(self, http: httpx.AsyncClient, run: Run) -> None:
        self.http = http
        self.run = run

    async def request(
        self, route: str, method: str, url: str, expect: tuple[int, ...], **kwargs: Any
    ) -> httpx.Response | None:
        stats = self.run.routes[route]
        t0 = time.perf_counter()
        try:
            response = await self.http.request(method, url, **kwargs)
        except httpx.HTTPError as exc:
            stats.failures += 1
            stats.statuses[type(exc).__name__] += 1
            self.run.violation(f"{route}: {method} {url}: {type(exc).__name__}: {exc}")
            return None
        stats.latencies.append(time.perf_counter() - t0)
        stats.statuses[response.status_code] += 1
        if response.status_code not in expect:
            stats.failures += 1
            self.run.violation(
                f"{route}: {method} {url}: status {response.status_code} (expected "
                f"{'/'.join(map(str, expect))}): {response.text[:300]}"
            )
            return None
        if response.status_code >= 400 and not response.headers.get("content-type", "").startswith(
            PROBLEM
        ):
            stats.failures += 1
            self.run.violation(f"{route}: a {response.status_code} that is not a problem document")
            return None
        return response


# --------------------------------------------------------------------------- writers


def listing(entity: str, rng: random.Random) -> dict[str, Any]:
    return {
        "type": "EntityListed",
        "id": str(uuid.uuid4()),
        "entity": entity,
        "occurred": f"{rng.randint(2019, 2025)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}",
        "list": "us-entity-list",
        "authority": "BIS",
        "sources": SOURCES,
        "headline": {"en": f"{entity} added to the Entity List (load test)"},
    }


def production(entity: str, rng: random.Random) -> dict[str, Any]:
    product = rng.choice(PRODUCTS)
    return {
        "type": "ProductMassProduced",
        "id": str(uuid.uuid4()),
        "entity": entity,
        "occurred": f"{rng.randint(2019, 2025)}-{rng.randint(1, 12):02d}",
        "product": product,
        "category": "memory",
        "specs": {"n": rng.randint(1, 10_000)},
        "sources": [{"url": f"https://www.techinsights.com/blog/{rng.getrandbits(48):x}"}],
        "headline": {"en": f"{entity} starts volume production of {product}"},
    }


def registration(entity: str) -> dict[str, Any]:
    return {
        "type": "EntityRegistered",
        "id": str(uuid.uuid4()),
        "entity": entity,
        "occurred": "2018",
        "kind": "company",
        "names": {"en": f"{entity} (load test)"},
        "country": "CN",
        "sources": SOURCES,
    }


class Writer:
    def __init__(self, index: int, client: Client, token: str, companies: list[str]) -> None:
        self.index = index
        self.client = client
        self.run = client.run
        self.auth = {"Authorization": f"Bearer {token}"}
        self.rng = random.Random(index)
        self.own = [f"load-w{index}-c{j}" for j in range(OWN_COMPANIES)]
        self.companies = companies
        self.mine: list[dict[str, Any]] = []
        """Events this writer got a 201 for (for repeats and conflicts)."""

    def event(self) -> dict[str, Any]:
        entity = self.rng.choice(self.own + self.companies)
        return (listing if self.rng.random() < 0.5 else production)(entity, self.rng)

    async def append(self, route: str, body: Any, events: list[dict[str, Any]]) -> None:
        response = await self.client.request(
            route, "POST", "/v1/events", (201,), json=body, headers=self.auth
        )
        if response is None:
            return
        answer = response.json()
        if answer["appended"] != len(events) or len(answer["events"]) != len(events):
            self.run.violation(f"{route}: 201 appended {answer['appended']} of {len(events)}")
        for sent, got in zip(events, answer["events"], strict=False):
            event_id = uuid.UUID(got["id"])
            if event_id != uuid.UUID(sent["id"]):
                self.run.violation(f"{route}: answer id {event_id} for sent {sent['id']}")
            if event_id in self.run.accepted:
                self.run.violation(f"{route}: id {event_id} accepted twice")
            self.run.accepted[event_id] = (got["position"], got["hash"])
        self.run.routes[route].events += len(events)
        self.mine.extend(events)

    async def deliberate(self, kind: int) -> None:
        run, request = self.run, self.client.request
        if kind == 0:  # an invalid event
            bad = self.event() | {"occurred": "not-a-date"}
            run.refused_ids.add(uuid.UUID(bad["id"]))
            await request(
                "deliberate 422 invalid event",
                "POST",
                "/v1/events",
                (422,),
                json=bad,
                headers=self.auth,
            )
        elif kind == 1:  # a token that does not exist
            event = self.event()
            run.refused_ids.add(uuid.UUID(event["id"]))
            fake = "tl_" + "A" * 12 + "_" + "B" * 43
            await request(
                "deliberate 401 bad token",
                "POST",
                "/v1/events",
                (401,),
                json=event,
                headers={"Authorization": f"Bearer {fake}"},
            )
        elif kind == 2 and self.mine:  # an accepted id, other content
            original = self.rng.choice(self.mine)
            other = original | {"headline": {"en": "a different headline for the same id"}}
            await request(
                "deliberate 409 id conflict",
                "POST",
                "/v1/events",
                (409,),
                json=other,
                headers=self.auth,
            )
        elif kind == 3:  # an entity that has events, expected to have none
            event = self.event() | {"entity": self.own[0]}
            run.refused_ids.add(uuid.UUID(event["id"]))
            body = {"events": [event], "expected_position": {self.own[0]: 0}}
            await request(
                "deliberate 409 stale expected_position",
                "POST",
                "/v1/events",
                (409,),
                json=body,
                headers=self.auth,
            )
        elif kind == 4 and self.mine:  # an exact repeat: idempotent, nothing appended
            original = self.rng.choice(self.mine)
            response = await request(
                "deliberate 200 repeat",
                "POST",
                "/v1/events",
                (200,),
                json=original,
                headers=self.auth,
            )
            if response is not None:
                answer = response.json()
                position, _ = run.accepted[uuid.UUID(original["id"])]
                if answer["appended"] != 0 or answer["events"][0]["position"] != position:
                    run.violation(f"repeat of {original['id']} answered {answer}")

    async def __call__(self, deadline: float) -> None:
        registrations = [registration(e) for e in self.own]
        await self.append("POST /v1/events registrations", registrations, registrations)
        n = 0
        while time.perf_counter() < deadline:
            n += 1
            if n % DELIBERATE_EVERY == 1:  # each writer's first request, then every tenth
                await self.deliberate((self.index + n // DELIBERATE_EVERY) % 5)
            elif self.rng.random() < 0.7:
                event = self.event()
                await self.append("POST /v1/events (1 event)", event, [event])
            else:
                events = [self.event() for _ in range(self.rng.randint(2, 5))]
                await self.append("POST /v1/events (batch of 2-5)", events, events)


# --------------------------------------------------------------------------- readers


class Reader:
    def __init__(self, index: int, client: Client, companies: list[str], known_at: str) -> None:
        self.client = client
        self.run = client.run
        self.rng = random.Random(1000 + index)
        self.companies = companies
        self.known_at = known_at
        self.etags: dict[str, str] = {}
        self.cursor = 0

    def _immutable(self, route: str, url: str, response: httpx.Response) -> None:
        digest = hashlib.sha256(response.content).hexdigest()
        first = self.run.past_bodies.setdefault(url, digest)
        if first != digest:
            self.run.violation(f"{route}: the answer at the past known_at changed: {url}")

    async def page(self) -> None:
        url = f"/v1/events?after={self.cursor}&limit=100"
        response = await self.client.request("GET /v1/events page", "GET", url, (200,))
        if response is None:
            return
        body = response.json()
        expected, prev = self.cursor + 1, None
        for item in body["events"]:
            if item["position"] != expected:
                self.run.violation(f"{url}: position {item['position']} where {expected} was due")
            if prev is not None and item["prev_hash"] != prev:
                self.run.violation(f"{url}: position {item['position']}: prev_hash breaks chain")
            expected, prev = item["position"] + 1, item["hash"]
        self.cursor = body["next_after"] or 0

    async def once(self) -> None:
        request, rng, k = self.client.request, self.rng, self.known_at
        company = rng.choice(self.companies)
        roll = rng.random()
        if roll < 0.20:
            await request("GET state now", "GET", f"/v1/entities/{company}/state", (200,))
        elif roll < 0.30:
            route, url = "GET state past known_at", f"/v1/entities/{company}/state?known_at={k}"
            response = await request(route, "GET", url, (200,))
            if response is not None:
                self._immutable(route, url, response)
        elif roll < 0.40:
            url = f"/v1/entities/{company}/state"
            headers = {"If-None-Match": self.etags[url]} if url in self.etags else {}
            response = await request(
                "GET state now If-None-Match", "GET", url, (200, 304), headers=headers
            )
            if response is not None and "etag" in response.headers:
                self.etags[url] = response.headers["etag"]
        elif roll < 0.48:
            await request("GET list members now", "GET", "/v1/lists/us-entity-list/members", (200,))
        elif roll < 0.53:
            route, url = "GET list members past", f"/v1/lists/us-entity-list/members?known_at={k}"
            response = await request(route, "GET", url, (200,))
            if response is not None:
                self._immutable(route, url, response)
        elif roll < 0.65:
            await self.page()
        elif roll < 0.73:
            others = ",".join(sorted(rng.sample(self.companies, min(3, len(self.companies)))))
            await request("GET /v1/timeline", "GET", f"/v1/timeline?entities={others}", (200,))
        elif roll < 0.80:
            await request("GET entity timeline", "GET", f"/v1/entities/{company}/timeline", (200,))
        elif roll < 0.90:
            await request("GET /health", "GET", "/health", (200,))
        else:
            await request("GET /health/live", "GET", "/health/live", (200,))

    async def __call__(self, deadline: float) -> None:
        while time.perf_counter() < deadline:
            await self.once()


# --------------------------------------------------------------------------- checks

_RECORDINGS = "SELECT DISTINCT recorded_at FROM events ORDER BY recorded_at"
_LOG = "SELECT position, id, hash FROM events ORDER BY position"


async def _past_known_at(conn: asyncpg.Connection) -> str:
    moments = [r[0] for r in await conn.fetch(_RECORDINGS)]
    if len(moments) < 2:
        raise RuntimeError("the seed has fewer than two recordings; no past known_at")
    i = (len(moments) - 1) // 2
    k = moments[i] + (moments[i + 1] - moments[i]) / 2
    return k.isoformat().replace("+00:00", "Z")


async def check_log(conn: asyncpg.Connection, run: Run, seed_ids: set[uuid.UUID]) -> dict:
    rows = await conn.fetch(_LOG)
    size = len(rows)
    positions = [r["position"] for r in rows]
    gap_free = positions == list(range(1, size + 1))
    if not gap_free:
        missing = sorted(set(range(1, max(positions, default=0) + 1)) - set(positions))[:10]
        run.violation(f"positions: not 1..{size} gap-free (missing e.g. {missing})")
    in_log: dict[uuid.UUID, list[tuple[int, str]]] = collections.defaultdict(list)
    for r in rows:
        in_log[r["id"]].append((r["position"], bytes(r["hash"]).hex()))
    duplicated = [event_id for event_id, places in in_log.items() if len(places) > 1]
    for event_id in duplicated:
        run.violation(f"duplicated: event {event_id} is in the log {len(in_log[event_id])} times")
    lost, moved = [], []
    for event_id, answered in run.accepted.items():
        places = in_log.get(event_id)
        if not places:
            lost.append(event_id)
            run.violation(f"lost: event {event_id} was answered 201 but is not in the log")
        elif places[0] != answered:
            moved.append(event_id)
            run.violation(f"moved: event {event_id} is at {places[0]}, answered {answered}")
    unexplained = set(in_log) - seed_ids - set(run.accepted)
    if unexplained:
        run.violation(
            f"unexplained: {len(unexplained)} events in the log nobody got a 201 for, e.g. "
            f"{sorted(map(str, unexplained))[:3]}"
        )
    leaked = run.refused_ids & set(in_log)
    if leaked:
        run.violation(f"leaked: {len(leaked)} events of refused requests are in the log")
    return {
        "log_size": size,
        "seed_events": len(seed_ids),
        "accepted": len(run.accepted),
        "positions_gap_free": gap_free,
        "duplicated": len(duplicated),
        "lost": len(lost),
        "moved": len(moved),
        "unexplained": len(unexplained),
        "refused_ids_checked": len(run.refused_ids),
        "refused_in_log": len(leaked),
        "last_hash": bytes(rows[-1]["hash"]).hex() if rows else None,
    }


async def check_chain(conn: asyncpg.Connection, base: str, run: Run, size: int) -> dict:
    """Export the log and verify it as `timeline verify` does: chain, leaves, and the service's
    signed Merkle head (with its published key)."""
    buffer = io.BytesIO()
    await export.export(conn, buffer)
    async with httpx.AsyncClient(base_url=base, timeout=TIMEOUT) as http:
        head, key = None, None
        for _ in range(50):  # the tree follows the log within moments
            head = signing.decode_head((await http.get("/v1/log/head")).content)
            if head.size >= size:
                break
            await asyncio.sleep(0.1)
        key = load_public_key((await http.get("/v1/log/key")).content)
    try:
        report = verify(buffer.getvalue().splitlines(keepends=True), head=head, key=key)
    except VerifyFault as exc:
        run.violation(f"timeline verify: {exc}")
        return {"verified": False, "fault": str(exc)}
    if report.events != size:
        run.violation(f"verify read {report.events} events, the log has {size}")
    return {
        "verified": True,
        "events": report.events,
        "head_size": report.head_size,
        "signature_checked": report.signature_checked,
        "root": report.root.hex(),
    }


# --------------------------------------------------------------------------- the run


@dataclasses.dataclass(frozen=True)
class Options:
    writers: int = WRITERS
    readers: int = READERS
    duration: float = DURATION
    workers: int = 1


async def load_test(database_url: str, options: Options) -> dict[str, Any]:
    """The whole test against an existing, empty database; returns the report."""
    run = Run()
    with serving(database_url, seed=True, workers=options.workers) as served:
        return await _against(served, database_url, options, run)


async def _against(served: Served, url: str, options: Options, run: Run) -> dict[str, Any]:
    conn = await asyncpg.connect(url)
    try:
        token = await tokens.create_token(conn, scope="write", name="load_test")
        seed_ids = {r["id"] for r in await conn.fetch("SELECT id FROM events")}
        known_at = await _past_known_at(conn)
    finally:
        await conn.close()
    # One client (one connection) per task: httpx's pool scans all its connections on every
    # request, which for 40 connections in one pool made the client the bottleneck.
    one = httpx.Limits(max_connections=1, max_keepalive_connections=1)
    async with contextlib.AsyncExitStack() as stack:

        def connection() -> httpx.AsyncClient:
            http = httpx.AsyncClient(base_url=served.base, limits=one, timeout=TIMEOUT)
            return stack.enter_async_context(http)  # type: ignore[return-value]

        http = await connection()
        found = (await http.get("/v1/entities", params={"kind": "company", "limit": 500})).json()
        companies = [e["id"] for e in found["entities"]]
        if not companies:
            raise RuntimeError("the seed has no companies")
        note(
            f"load: {options.writers} writers, {options.readers} readers, "
            f"{options.duration:g} s against {served.base} (worker pids "
            f"{served.worker_pids()}; {len(seed_ids)} seed events, {len(companies)} companies, "
            f"past known_at {known_at})"
        )
        writers = [
            Writer(i, Client(await connection(), run), token, companies)
            for i in range(options.writers)
        ]
        readers = [
            Reader(i, Client(await connection(), run), companies, known_at)
            for i in range(options.readers)
        ]
        start = time.perf_counter()
        deadline = start + options.duration
        watch = await asyncpg.connect(url)
        try:
            async with _progress(run, start, options.duration, watch):
                await asyncio.gather(*(task(deadline) for task in (*writers, *readers)))
        finally:
            await watch.close()
        seconds = time.perf_counter() - start
        health = (await http.get("/health")).json()
    conn = await asyncpg.connect(url)
    try:
        log = await check_log(conn, run, seed_ids)
        chain = await check_chain(conn, served.base, run, log["log_size"])
        projected = await conn.fetchval("SELECT position FROM rm_state")
    finally:
        await conn.close()
    if health["log"]["size"] != log["log_size"]:
        run.violation(f"/health says {health['log']['size']} events, the log has {log['log_size']}")
    routes = {name: r.summary(seconds) for name, r in sorted(run.routes.items())}
    return {
        "writers": options.writers,
        "readers": options.readers,
        "seconds": round(seconds, 2),
        "routes": routes,
        "log": log,
        "chain": chain,
        "read_models_behind": log["log_size"] - projected,
        "past_answers_checked": len(run.past_bodies),
        "violations": run.violations,
    }


@contextlib.asynccontextmanager
async def _progress(
    run: Run, start: float, duration: float, conn: asyncpg.Connection
) -> AsyncIterator[None]:
    async def tick() -> None:
        while True:
            await asyncio.sleep(5)
            done = sum(len(r.latencies) for r in run.routes.values())
            elapsed = time.perf_counter() - start
            try:
                projected = await conn.fetchval("SELECT position FROM rm_state")
            except (OSError, asyncpg.PostgresError):
                projected = "?"
            note(
                f"    {elapsed:.0f}/{duration:g} s: {done:,} answers, "
                f"{len(run.accepted):,} events accepted, read models at position {projected}, "
                f"{len(run.violations)} violations"
            )

    task = asyncio.create_task(tick())
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


# --------------------------------------------------------------------------- output


def print_report(report: dict[str, Any]) -> None:
    seconds = report["seconds"]
    print(
        f"Load test: {report['writers']} writers, {report['readers']} readers, {seconds:g} s "
        "(clients: httpx in one asyncio process)"
    )
    print(f"   {'route':<40}{'requests':>9}{'per s':>9}{'p50 ms':>9}{'p99 ms':>9}  statuses")
    reads = writes = deliberate = failures = events = 0
    for name, r in report["routes"].items():
        p50 = f"{r['p50_ms']:.1f}" if r["p50_ms"] is not None else "-"
        p99 = f"{r['p99_ms']:.1f}" if r["p99_ms"] is not None else "-"
        statuses = " ".join(f"{k}:{v}" for k, v in r["statuses"].items())
        extra = f" ({r['events']:,} events)" if r["events"] else ""
        print(
            f"   {name:<40}{r['requests']:>9,}{r['rate']:>9,.1f}{p50:>9}{p99:>9}  {statuses}{extra}"
        )
        failures += r["failures"]
        if name.startswith("deliberate"):
            deliberate += r["requests"]
        elif name.startswith("POST"):
            writes += r["requests"]
            events += r["events"]
        else:
            reads += r["requests"]
    print(
        f"   totals: {reads:,} reads ({reads / seconds:,.0f}/s), {writes:,} appends "
        f"({events:,} events, {events / seconds:,.0f} events/s), {deliberate:,} deliberate "
        f"bad or repeated requests; {failures} unexpected answers"
    )
    log, chain = report["log"], report["chain"]
    print(
        f"   log: {log['log_size']:,} events = {log['seed_events']} seed + {log['accepted']:,} "
        f"accepted; {log['refused_ids_checked']} ids of refused requests absent; chain "
        + (
            f"verified ({chain['events']:,} events, signed head of {chain['head_size']:,})"
            if chain.get("verified")
            else f"FAILED: {chain.get('fault')}"
        )
        + f"; {report['past_answers_checked']} past-known_at answers stable; read models "
        f"{report['read_models_behind']:,} events behind at the end"
    )
    violations = report["violations"]
    if not violations:
        print("   no violation")
        return
    kinds = collections.Counter(v.split(": ")[0] for v in violations)
    print(f"\nVIOLATIONS ({len(violations)}): " + ", ".join(f"{k} x{n}" for k, n in kinds.items()))
    shown: set[str] = set()
    for v in violations:  # the first of each kind, then up to 10 in all
        kind = v.split(": ")[0]
        if kind not in shown or len(shown) < 10:
            shown.add(kind)
            print(f"   {v[:400]}")
        if len(shown) >= 10:
            break


def _parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    where = parser.add_mutually_exclusive_group()
    where.add_argument(
        "--database-url",
        help="admin URL of a PostgreSQL server (default: $TIMELINE_DATABASE_URL, else an "
        "embedded one); a scratch database is created on it and dropped afterwards",
    )
    where.add_argument(
        "--target-database", help="use this existing, empty database as it is (kept afterwards)"
    )
    parser.add_argument("--writers", type=int, default=WRITERS)
    parser.add_argument("--readers", type=int, default=READERS)
    parser.add_argument("--duration", type=float, default=DURATION, help="seconds of load")
    parser.add_argument("--workers", type=int, default=1, help="granian worker processes")
    parser.add_argument("--json", help="also write the report as JSON to this file")
    args = parser.parse_args(argv)
    if min(args.writers, args.readers, args.duration, args.workers) <= 0:
        parser.error("counts and the duration must be positive")
    return args


def main(argv: list[str] | None = None) -> int:
    args = _parse(argv)
    options = Options(args.writers, args.readers, args.duration, args.workers)
    if args.target_database:
        report = asyncio.run(load_test(args.target_database, options))
        origin = "target"
    else:
        with server(args.database_url) as srv:

            async def scratch() -> dict[str, Any]:
                async with scratch_database(srv.admin_url, "load_test") as url:
                    return await load_test(url, options)

            report = asyncio.run(scratch())
            origin = srv.origin
    print_report(report)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(report, f, indent=1)
    argv_ = [".venv/bin/python", "bench/load_test.py"]
    if args.database_url:
        argv_ += ["--database-url", redacted(args.database_url)]
    argv_ += ["--writers", str(args.writers), "--readers", str(args.readers)]
    argv_ += ["--duration", f"{args.duration:g}"]
    if origin == "target":
        argv_ += ["--target-database", "<an empty database>"]
    print("Reproduce, from the repository root, with:\n" + shlex.join(argv_), flush=True)
    return 1 if report["violations"] else 0


if __name__ == "__main__":
    sys.exit(main())
