"""As-of engine figures at 10k, 100k and 1M events: rebuild, state as of, list members.

Each size gets a database created for it (and dropped after), filled through
`EventStore.append` with a generated log (untimed): lists and companies registered first,
then appends of 1, 1, 5 or 50 events (8 appends queued together: one group commit) of
listings, delistings, products in mass production, announced exits, corrections
(`supersedes`), retractions and, rarely (~1%), rules (registered, issued naming 2 to 30
companies, sometimes corrected or rescinded). About 15 events per company; sources and
headlines as real ones, ~490 B of canonical JSON per event. Then VACUUM ANALYZE and
CHECKPOINT, and, timed, beside baselines measured in the same run on the same server:

1. rebuild: `rebuild(pool)` of the whole log, events/s; beside a raw
   read + decode of the same log (pages of `events` through asyncpg with the columns and
   page size rebuild reads, each payload decoded with `events.decode_stored`); rebuild/raw.
   Rounds alternate raw and rebuild; the median (min-max) is shown. The latencies below are
   taken after the first round (read models built from nothing, no dead rows yet).
2. state as of, one company: `store.relevant_events(entity, upto=head)` + `state_as_of` +
   `canonical_json`, what GET /v1/entities/{id}/state does on a cache miss; p50 / p99, each
   request for a company drawn at random; beside one `SELECT payload FROM events WHERE
   position = $1` (a random position) on the same pool.
3. list members: `readmodel.list_members(pool, "us-entity-list", day)` as known now and
   as known at a past moment (the recorded_at of the event in the middle of the log);
   p50 / p99, same baseline.

Requests are sequential (one in flight), after a warm-up of each kind, in rounds of one
request of each kind in a shuffled order; only the call is inside the timer. A kind stops
after `--budget` s of requests (with at least 30 samples); the output shows the count.
Logs above `--rebuild-max-events` (default 200,000) get figure 2 only: a rebuild of 1M
events takes tens of minutes. Progress goes to stderr.

Run:  .venv/bin/python bench/bench_projections.py [--database-url URL] [--quick]
      .venv/bin/python bench/bench_projections.py --sizes 1000000 --rebuild-max-events 0
`--keep` leaves each size's database (bench_projections_kept_<size>_seed<seed>) in place;
`--reuse` measures on it again without generating the log (nor rebuilding read models that
are up to date), and keeps it: generate 1M once, measure it many times.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as _dt
import gc
import itertools
import os
import platform
import random
import secrets
import shlex
import statistics
import sys
import threading
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from importlib import metadata

import asyncpg
import httpx
from _common import (
    checkpoint,
    drop_database,
    note,
    redacted,
    server,
    server_info,
    with_database,
)
from _serve import serving

from events import (
    AnyEvent,
    EntityDelisted,
    EntityListed,
    EntityRegistered,
    EventRetracted,
    ExitAnnounced,
    Impact,
    PartialDate,
    ProductMassProduced,
    RuleIssued,
    RuleRescinded,
    Source,
    decode_stored,
)
from projections import canonical_json, fact_of, state_as_of
from service.db.migrate import migrate
from service.db.roles import drop_runtime_role
from service.eventlog.store import SELECT_RECORDED, EventStore
from service.readmodels import queries as readmodel
from service.readmodels import sql as readmodel_sql
from service.readmodels.projector import Projector
from service.readmodels.rebuild import rebuild

DEFAULT_SIZES = (10_000, 100_000, 1_000_000)
QUICK_SIZES = (2_000, 10_000)
EVENTS_PER_COMPANY = 15
BATCH_SIZES = (1, 1, 5, 50)  # events per append, as in test_readmodels._big_log
REGISTRATION_BATCH = 1000
WRITERS = 8  # appends queued together: one group commit
APPEND_TIMEOUT = 120  # seconds without an answer from EventStore.append: give up
LIST_ID = "us-entity-list"
LISTS = ("us-entity-list", "us-sdn-list", "eu-annex-iv")
LIST_WEIGHTS = (6, 2, 2)
AS_OF = _dt.date(2025, 6, 30)
REPEAT = 3
DEFAULT_REBUILD_MAX = 200_000
SINGLE_ROUND_FROM = 50_000  # logs this big get one rebuild round unless --repeat is given
MIN_SAMPLES = 30  # a kind of request stops after --budget seconds, but not before this many

_PK = "SELECT payload FROM events WHERE position = $1"
_RAW_PAGE = f"{SELECT_RECORDED} FROM events WHERE position > $1 ORDER BY position LIMIT $2"


# --------------------------------------------------------------------------- the log


PRODUCTS = (
    ("232-layer 3D NAND", "memory", {"layers": 232, "die_gbit": 1024}),
    ("DDR5 16Gb DRAM", "memory", {"node": "17nm", "speed_mts": 4800}),
    ("7nm SoC", "logic", {"node_nm": 7, "transistors_bn": 12.5}),
    ("ArF immersion scanner", "lithography", {"resolution_nm": 38, "wph": 180}),
    ("28nm foundry process", "foundry", {"node_nm": 28, "wafers_per_month": 40000}),
    ("HBM2E stack", "memory", {"stack_height": 8, "bandwidth_gbs": 460}),
)
MARKETS = (("memory", "US"), ("foundry", "EU"), ("logic", "JP"), ("equipment", "KR"))
AUTHORITIES = {
    "us-entity-list": "BIS",
    "us-sdn-list": "OFAC",
    "eu-annex-iv": "Council of the EU",
}


def _date(rng: random.Random) -> PartialDate:
    year = rng.randint(2019, 2025)
    roll = rng.random()
    if roll < 0.15:
        return PartialDate(f"{year:04d}")
    month = rng.randint(1, 12)
    if roll < 0.4:
        return PartialDate(f"{year:04d}-{month:02d}")
    return PartialDate(f"{year:04d}-{month:02d}-{rng.randint(1, 28):02d}")


def _fr(rng: random.Random, title: str) -> Source:
    return Source(
        url=f"https://www.federalregister.gov/d/{rng.randint(2019, 2025)}-{rng.randint(1, 29999)}",
        publisher="Federal Register",
        citation=f"{rng.randint(84, 90)} FR {rng.randint(1000, 99999)}",
        title=title,
    )


@dataclass
class _Story:
    """What the generator remembers to write corrections, retractions and rule events."""

    companies: list[str]
    listed: dict[str, list[tuple[uuid.UUID, str]]] = field(default_factory=dict)
    own: dict[str, list[uuid.UUID]] = field(default_factory=dict)
    rules: list[tuple[str, uuid.UUID, tuple[str, ...]]] = field(default_factory=list)
    live: list[int] = field(default_factory=list)  # indexes in `rules` of rules not rescinded


def timeline_log(n: int, seed: int) -> Iterator[list[AnyEvent]]:
    """Appends (lists of events) of a log of about `n` events; deterministic for a seed."""
    rng = random.Random(seed)

    def new_id() -> uuid.UUID:
        return uuid.UUID(int=rng.getrandbits(128), version=4)

    companies = [f"company-{i:06d}" for i in range(max(20, n // EVENTS_PER_COMPANY))]
    story = _Story(companies)
    regs: list[AnyEvent] = [
        EntityRegistered(
            id=new_id(),
            entity=slug,
            occurred=PartialDate("1997"),
            sources=(Source(url=f"https://example.gov/lists/{slug}"),),
            kind="list",
            names={"en": slug.replace("-", " ").title()},
        )
        for slug in LISTS
    ]
    for i, slug in enumerate(companies):
        regs.append(
            EntityRegistered(
                id=new_id(),
                entity=slug,
                occurred=_date(rng),
                sources=(
                    Source(
                        url=f"https://www.gsxt.gov.cn/{rng.getrandbits(64):016x}",
                        publisher="National Enterprise Credit Information Publicity System",
                    ),
                ),
                kind="company",
                names={
                    "en": f"Company {i} Semiconductor Co., Ltd.",
                    "zh-Hans": f"公司{i}半导体有限公司",
                },
                aliases=(f"C{i} Semi",),
                country="CN",
                identifiers={"uscc": f"91420100{rng.getrandbits(40):010d}"[:18]},
            )
        )
    made = len(regs)
    for start in range(0, len(regs), REGISTRATION_BATCH):
        yield regs[start : start + REGISTRATION_BATCH]
    while made < n:
        batch: list[AnyEvent] = []
        for _ in range(min(rng.choice(BATCH_SIZES), n - made)):
            batch.extend(_next_events(rng, story, new_id))
        made += len(batch)
        if batch:
            yield batch


def _next_events(
    rng: random.Random, story: _Story, new_id: Callable[[], uuid.UUID]
) -> list[AnyEvent]:
    company = rng.choice(story.companies)
    occurred = _date(rng)
    event_id = new_id()
    roll = rng.random()
    if roll < 0.35:
        list_ = rng.choices(LISTS, LIST_WEIGHTS)[0]
        rule = rng.choice(story.rules)[0] if story.rules and rng.random() < 0.5 else None
        event: AnyEvent = EntityListed(
            id=event_id,
            entity=company,
            occurred=occurred,
            sources=(
                _fr(rng, "Additions to the Entity List"),
                Source(url=f"https://www.bis.gov/press-release/{rng.getrandbits(32):x}"),
            ),
            headline={
                "en": f"{company} added to the {list_}",
                "zh-Hans": f"{company} 被列入 {list_}",
            },
            list=list_,
            authority=AUTHORITIES[list_],
            rule=rule,
            license_policy="Presumption of denial for items subject to the EAR.",
        )
        story.listed.setdefault(company, []).append((event_id, list_))
    elif roll < 0.50:
        list_ = rng.choices(LISTS, LIST_WEIGHTS)[0]
        event = EntityDelisted(
            id=event_id,
            entity=company,
            occurred=occurred,
            sources=(_fr(rng, "Removal of Certain Entities From the Entity List"),),
            headline={"en": f"{company} removed from the {list_}"},
            list=list_,
        )
    elif roll < 0.72:
        product, category, specs = rng.choice(PRODUCTS)
        event = ProductMassProduced(
            id=event_id,
            entity=company,
            occurred=occurred,
            sources=(
                Source(
                    url=f"https://www.techinsights.com/blog/{rng.getrandbits(48):x}",
                    publisher="TechInsights",
                    title=f"{product} teardown",
                ),
            ),
            headline={"en": f"{company} starts volume production of {product}"},
            text={"en": f"Teardown analysis confirms {product} in retail devices."},
            product=product,
            category=category,
            specs=specs,
        )
    elif roll < 0.77:
        market, region = rng.choice(MARKETS)
        event = ExitAnnounced(
            id=event_id,
            entity=company,
            occurred=occurred,
            sources=(Source(url=f"https://www.reuters.com/technology/{rng.getrandbits(48):x}"),),
            headline={"en": f"{company} to exit the {market} market in {region}"},
            market=market,
            region=region,
            impact=Impact(amount=rng.randint(1, 900) * 1_000_000, currency="USD"),
        )
    elif roll < 0.80 and story.listed.get(company):
        # A correction: the listing restated with another date, superseding the old event.
        old, list_ = story.listed[company].pop(rng.randrange(len(story.listed[company])))
        event = EntityListed(
            id=event_id,
            entity=company,
            occurred=occurred,
            sources=(_fr(rng, "Additions to the Entity List; Correction"),),
            headline={"en": f"{company} added to the {list_} (corrected date)"},
            list=list_,
            authority=AUTHORITIES[list_],
            supersedes=(old,),
        )
        story.listed[company].append((event_id, list_))
    elif roll < 0.82 and story.own.get(company):
        old = story.own[company].pop(rng.randrange(len(story.own[company])))
        story.listed[company] = [x for x in story.listed.get(company, []) if x[0] != old]
        event = EventRetracted(
            id=event_id,
            entity=company,
            occurred=occurred,
            sources=(Source(url=f"https://example.org/errata/{rng.getrandbits(32):x}"),),
            supersedes=(old,),
        )
    elif roll < 0.83:
        return _rule_events(rng, story, new_id, company, occurred, event_id)
    else:
        return _next_events(rng, story, new_id)
    story.own.setdefault(company, []).append(event_id)
    return [event]


def _rule_events(
    rng: random.Random,
    story: _Story,
    new_id: Callable[[], uuid.UUID],
    company: str,
    occurred: PartialDate,
    event_id: uuid.UUID,
) -> list[AnyEvent]:
    """A new rule naming 2-30 companies; sometimes a correction or a rescission of one."""
    roll = rng.random()
    live = story.live
    if live and roll < 0.15:
        index = rng.choice(live)
        rule, old, targets = story.rules[index]
        targets = (*targets, company) if company not in targets else targets
        story.rules[index] = (rule, event_id, targets)
        return [
            RuleIssued(
                id=event_id,
                entity=rule,
                occurred=occurred,
                sources=(_fr(rng, "Entity List Additions; Correction"),),
                title={"en": f"Rule {rule} (corrected)"},
                authority="BIS",
                targets=targets,
                supersedes=(old,),
            )
        ]
    if live and roll < 0.3:
        at = rng.randrange(len(live))
        rule = story.rules[live[at]][0]
        live[at] = live[-1]
        live.pop()
        return [
            RuleRescinded(
                id=event_id,
                entity=rule,
                occurred=occurred,
                sources=(_fr(rng, "Rescission"),),
                reason="Superseded by a later rule.",
            )
        ]
    rule = f"rule-{len(story.rules):06d}"
    others = [c for c in rng.sample(story.companies, rng.randint(1, 29)) if c != company]
    targets = (company, *others)
    story.live.append(len(story.rules))
    story.rules.append((rule, event_id, targets))
    return [
        EntityRegistered(
            id=new_id(),
            entity=rule,
            occurred=occurred,
            sources=(_fr(rng, "Additions to the Entity List"),),
            kind="rule",
            names={"en": f"Rule {rule}"},
        ),
        RuleIssued(
            id=event_id,
            entity=rule,
            occurred=occurred,
            sources=(_fr(rng, "Additions to the Entity List"),),
            title={"en": f"Additions to the Entity List ({rule})"},
            authority="BIS",
            effective=occurred.start + _dt.timedelta(days=rng.choice((0, 0, 1, 30))),
            targets=targets,
        ),
    ]


# --------------------------------------------------------------------------- database


def kept_name(size: int, seed: int) -> str:
    """The database `--keep` leaves a log of `size` events from `seed` in, for `--reuse`."""
    return f"bench_projections_kept_{size}_seed{seed}"


@contextlib.asynccontextmanager
async def log_database(
    admin_url: str, size: int, args: argparse.Namespace
) -> AsyncIterator[tuple[str, bool]]:
    """A database for a log of `size` events and whether it holds that log already: a fresh
    one, dropped after; with `--keep` or `--reuse`, one named for the size and seed, kept; with
    `--reuse`, the one a run with `--keep` left, if there is one (its log is not generated
    again)."""
    keep = args.keep or args.reuse
    name = (
        kept_name(size, args.seed)
        if keep
        else f"bench_projections_{os.getpid()}_{secrets.token_hex(3)}"
    )
    conn = await asyncpg.connect(admin_url)
    try:
        exists = await conn.fetchval("SELECT true FROM pg_database WHERE datname = $1", name)
        if exists and not args.reuse:  # --keep without --reuse: generate the log afresh
            await drop_database(admin_url, name)
            exists = False
        if not exists:
            await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    try:
        yield name, bool(exists)
    finally:
        if keep:
            note(f"    kept database {name} (--reuse uses it again; DROP DATABASE to free it)")
        else:
            await drop_database(admin_url, name)


@dataclass(frozen=True)
class Loaded:
    events: int
    appends: int
    transactions: int  # distinct recorded_at
    companies: list[str]
    rules: int
    seconds: float
    mean_payload: float


async def load(pool: asyncpg.Pool, n: int, seed: int) -> Loaded:
    """Append the generated log through EventStore, `WRITERS` appends at a time.

    The appends of a round are all queued before the store's writer runs, so each round is
    one group commit: one transaction, one recorded_at, as with concurrent writers.
    """
    store = EventStore(pool)
    started = last = time.perf_counter()
    events = appends = 0
    batches = timeline_log(n, seed)
    while round_ := list(itertools.islice(batches, WRITERS)):
        done = await asyncio.wait_for(
            asyncio.gather(*(store.append(batch) for batch in round_)), APPEND_TIMEOUT
        )
        for batch, appended in zip(round_, done, strict=True):
            if appended.new != len(batch):
                raise RuntimeError(f"appended {appended.new} of {len(batch)} events")
            events += len(batch)
        appends += len(round_)
        now = time.perf_counter()
        if now - last >= 2:
            last = now
            note(f"    log: {events:,}/{n:,} events ({now - started:.0f} s)")
    seconds = time.perf_counter() - started
    return await _loaded(pool, events, appends, seconds)


async def _loaded(pool: asyncpg.Pool, events: int, appends: int, seconds: float) -> Loaded:
    companies = [
        r["entity"]
        for r in await pool.fetch(
            "SELECT entity FROM events WHERE type = 'EntityRegistered' "
            "AND entity LIKE 'company-%' ORDER BY entity"
        )
    ]
    rules = await pool.fetchval("SELECT count(*) FROM events WHERE type = 'RuleIssued'")
    mean_payload = await pool.fetchval("SELECT avg(length(payload)) FROM events")
    groups = await pool.fetchval("SELECT count(DISTINCT recorded_at) FROM events")
    return Loaded(events, appends, groups, companies, rules, seconds, float(mean_payload))


async def reused(pool: asyncpg.Pool) -> Loaded:
    """The log a kept database holds (`--reuse`): as many events as it has now, which is the
    generated log plus § 4's appends of each earlier run on it; not timed (seconds 0)."""
    events = await pool.fetchval("SELECT count(*) FROM events")
    return await _loaded(pool, events, 0, 0.0)


async def read_models_current(pool: asyncpg.Pool) -> bool:
    """Whether the live read models are of this code's version and include the whole log."""
    state = await pool.fetchrow(readmodel_sql.STATE)
    head = await pool.fetchval("SELECT coalesce(max(position), 0) FROM events")
    return (
        state is not None
        and state["version"] == readmodel_sql.PROJECTION_VERSION
        and state["position"] == head
        and head > 0
    )


async def settle(admin_url: str, pool: asyncpg.Pool) -> None:
    """Statistics and a checkpoint before anything is timed (untimed)."""
    await pool.execute("VACUUM ANALYZE")
    await checkpoint(admin_url)


# --------------------------------------------------------------------------- measurements


class _Progress:
    """rebuild's progress callback: a line a second on stderr."""

    def __init__(self, label: str) -> None:
        self.label = label
        self.start = self.last = time.perf_counter()

    def __call__(self, done: int, total: int) -> None:
        now = time.perf_counter()
        if now - self.last >= 1:
            self.last = now
            note(f"    {self.label}: {done:,}/{total:,} ({now - self.start:.0f} s)")


def _rss(pid: int | str = "self") -> int:
    """Resident set size of a process, in bytes (0 where /proc is missing)."""
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def _tree_rss(root: int | None = None) -> int:
    """RSS of a process (default: this one) and all its descendants (the rebuild's worker
    processes, the server's granian workers), summed."""
    total, pending = 0, [str(root or os.getpid())]
    while pending:
        pid = pending.pop()
        total += _rss(pid)
        with contextlib.suppress(OSError):
            for task in os.listdir(f"/proc/{pid}/task"):
                with open(f"/proc/{pid}/task/{task}/children") as f:
                    pending.extend(f.read().split())
    return total


class _TreeRssPeak:
    """Samples `_tree_rss(root)` every 50 ms in a thread while open; `peak` is the largest sum."""

    def __init__(self, root: int | None = None) -> None:
        self.root = root
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(0.05):
            self.peak = max(self.peak, _tree_rss(self.root))

    def __enter__(self) -> _TreeRssPeak:
        self.peak = _tree_rss(self.root)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def _cpu_seconds() -> float:
    """CPU seconds (user + system) of this process and of its children that have exited (a
    rebuild's worker processes, once it returns). PostgreSQL's own work is not in it."""
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


async def raw_read(pool: asyncpg.Pool, page: int) -> int:
    """Every event, paged as rebuild pages them, each payload decoded. Returns the count."""
    count, position = 0, 0
    async with pool.acquire() as conn:
        while True:
            rows = await conn.fetch(_RAW_PAGE, position, page)
            if not rows:
                return count
            for r in rows:
                decode_stored(r["payload"], r["schema_version"], r["type"])
            count += len(rows)
            position = rows[-1]["position"]


@dataclass
class RebuildFigures:
    raw: list[float] = field(default_factory=list)  # seconds
    rebuild: list[float] = field(default_factory=list)
    peak_rss: int = 0
    rss_before: int = 0
    raw_cpu: list[float] = field(default_factory=list)  # CPU seconds of this process
    rebuild_cpu: list[float] = field(default_factory=list)  # this process and its workers


async def rebuild_round(
    pool: asyncpg.Pool, events: int, out: RebuildFigures, round_: int, rounds: int
) -> None:
    """One raw read + decode of the log, then one rebuild; both timed."""
    note(f"  round {round_}/{rounds}: raw read + decode")
    cpu = _cpu_seconds()
    t0 = time.perf_counter()
    count = await raw_read(pool, readmodel_sql.PAGE)
    out.raw.append(time.perf_counter() - t0)
    out.raw_cpu.append(_cpu_seconds() - cpu)
    if count != events:
        raise RuntimeError(f"raw read {count} events, expected {events}")
    note(f"  round {round_}/{rounds}: rebuild")
    progress = _Progress("rebuild")
    cpu = _cpu_seconds()
    with _TreeRssPeak() as rss:
        t0 = time.perf_counter()
        await rebuild(pool, progress=progress)
        out.rebuild.append(time.perf_counter() - t0)
    out.rebuild_cpu.append(_cpu_seconds() - cpu)  # the workers have exited: counted
    out.peak_rss = max(out.peak_rss, rss.peak)
    reached = await pool.fetchval("SELECT position FROM rm_state")
    if reached != events:
        raise RuntimeError(f"rebuild reached position {reached}, expected {events}")


class _Kind:
    """One kind of request: its samples, and whether its time budget is spent."""

    def __init__(self, name: str, call: Callable[[], Awaitable[float]], budget: float) -> None:
        self.name = name
        self.call = call
        self.budget = budget
        self.samples: list[float] = []

    def spent(self, minimum: int) -> bool:
        return len(self.samples) >= minimum and sum(self.samples) >= self.budget


@dataclass
class Latencies:
    pk: list[float] = field(default_factory=list)
    state: list[float] = field(default_factory=list)
    state_db: list[float] = field(default_factory=list)  # relevant_events alone, same requests
    state_events: list[int] = field(default_factory=list)
    members_now: list[float] = field(default_factory=list)
    members_past: list[float] = field(default_factory=list)
    members_now_count: int = 0
    members_past_count: int = 0
    known_at: _dt.datetime | None = None


async def measure_latencies(
    pool: asyncpg.Pool, loaded: Loaded, args: argparse.Namespace, seed: int, *, members: bool
) -> Latencies:
    """Rounds of one request of each kind, in a shuffled order, until `args.samples` rounds or,
    for a kind, until its requests have taken `args.budget` s (and it has `MIN_SAMPLES`)."""
    store = EventStore(pool)
    rng = random.Random(seed)
    head = await pool.fetchval("SELECT max(position) FROM events")
    out = Latencies()
    out.known_at = await pool.fetchval(
        "SELECT recorded_at FROM events WHERE position = $1", max(1, head // 2)
    )

    async def pk() -> float:
        position = rng.randint(1, head)
        t0 = time.perf_counter()
        await pool.fetchrow(_PK, position)
        return time.perf_counter() - t0

    async def state() -> float:
        entity = rng.choice(loaded.companies)
        t0 = time.perf_counter()
        events = await store.relevant_events(entity, known_at=None, upto=head)
        t1 = time.perf_counter()
        body = canonical_json(state_as_of(entity, [fact_of(r) for r in events], AS_OF, None))
        t2 = time.perf_counter()
        if not body:
            raise RuntimeError("empty state")
        out.state_db.append(t1 - t0)
        out.state_events.append(len(events))
        return t2 - t0

    async def members_now() -> float:
        t0 = time.perf_counter()
        found = await readmodel.list_members(pool, LIST_ID, AS_OF)
        elapsed = time.perf_counter() - t0
        out.members_now_count = len(found)
        return elapsed

    async def members_past() -> float:
        t0 = time.perf_counter()
        found = await readmodel.list_members(pool, LIST_ID, AS_OF, out.known_at)
        elapsed = time.perf_counter() - t0
        out.members_past_count = len(found)
        return elapsed

    kinds = [
        _Kind(name, call, args.budget)
        for name, call in (
            ("pk", pk),
            ("state", state),
            ("members_now", members_now),
            ("members_past", members_past),
        )
        if members or not name.startswith("members")
    ]
    for _ in range(args.warmup):
        for kind in kinds:
            await kind.call()
    out.state_db.clear()
    out.state_events.clear()
    last = time.perf_counter()
    for i in range(args.samples):
        order = [k for k in kinds if not k.spent(MIN_SAMPLES)]
        if not order:
            break
        rng.shuffle(order)
        for kind in order:
            kind.samples.append(await kind.call())
        if time.perf_counter() - last >= 2:
            last = time.perf_counter()
            note(f"    latency: {i + 1}/{args.samples} rounds")
    found = {k.name: k.samples for k in kinds}
    out.pk, out.state = found["pk"], found["state"]
    out.members_now, out.members_past = found.get("members_now", []), found.get("members_past", [])
    return out


async def check_agreement(pool: asyncpg.Pool, loaded: Loaded, seed: int) -> int:
    """Sanity (untimed): for some companies, 'on the list' in the pure state equals membership
    in the read model's answer. Returns how many companies were checked."""
    store = EventStore(pool)
    members = {m.entity for m in await readmodel.list_members(pool, LIST_ID, AS_OF)}
    rng = random.Random(seed)
    chosen = rng.sample(loaded.companies, min(50, len(loaded.companies)))
    for entity in chosen:
        events = await store.relevant_events(entity)
        state = state_as_of(entity, [fact_of(r) for r in events], AS_OF, None)
        listed = any(listing.list == LIST_ID for listing in state.listings)
        if listed != (entity in members):
            raise RuntimeError(f"{entity}: pure state and read model disagree on {LIST_ID}")
    return len(chosen)


@dataclass
class EngineFigures:
    append_events: int = 0
    append_seconds: float = 0.0  # the projector catching up on them
    append_cpu: float = 0.0  # CPU seconds of this process meanwhile (PostgreSQL's not in it)
    page_size: int = 0
    pages: list[float] = field(default_factory=list)  # seconds per page
    streamed: int = 0
    stream_seconds: float = 0.0
    load: tuple[float, float, float] = (0.0, 0.0, 0.0)


APPENDED = 1_000
PAGE_SIZE = 1_000


async def measure_engine(
    pool: asyncpg.Pool, loaded: Loaded, args: argparse.Namespace, seed: int
) -> EngineFigures:
    """The projector's cost of 1,000 appended events (appends of 5, a listing or a product of
    a random existing company each; then `Projector.catch_up`, timed); a page of 1,000 members
    as the route reads it (`list_members_page_json`, walking the whole list with its cursors,
    again and again) p50/p99; members streamed as NDJSON (`stream_list_members_json` + one
    line each, as the route writes them)/s."""
    out = EngineFigures(load=os.getloadavg())
    rng = random.Random(seed)
    store = EventStore(pool)
    projector = Projector(pool)
    await projector.catch_up()
    batch: list[AnyEvent] = []
    for i in range(APPENDED):
        company = rng.choice(loaded.companies)
        if i % 2:
            batch.append(
                EntityListed(
                    entity=company,
                    occurred=_date(rng),
                    sources=(_fr(rng, "listing"),),
                    list=LIST_ID,
                    authority="BIS",
                )
            )
        else:
            product, category, specs = rng.choice(PRODUCTS)
            batch.append(
                ProductMassProduced(
                    entity=company,
                    occurred=_date(rng),
                    sources=(_fr(rng, "product"),),
                    product=product,
                    category=category,
                    specs=specs,
                )
            )
        if len(batch) == 5:
            await store.append(batch)
            batch = []
    cpu = _cpu_seconds()
    t0 = time.perf_counter()
    await projector.catch_up()
    out.append_seconds = time.perf_counter() - t0
    out.append_cpu = _cpu_seconds() - cpu
    out.append_events = APPENDED

    out.page_size = PAGE_SIZE
    for _ in range(args.warmup):
        await readmodel.list_members_page_json(pool, LIST_ID, AS_OF, limit=PAGE_SIZE)
    started = time.perf_counter()
    while len(out.pages) < max(MIN_SAMPLES, args.samples) and time.perf_counter() - started < (
        args.budget
    ):
        cursor = None
        while True:
            t0 = time.perf_counter()
            page = await readmodel.list_members_page_json(
                pool, LIST_ID, AS_OF, limit=PAGE_SIZE, cursor=cursor
            )
            out.pages.append(time.perf_counter() - t0)
            if page.next_cursor is None:
                break
            cursor = readmodel.decode_cursor(
                page.next_cursor, readmodel.members_question(LIST_ID, AS_OF)
            )

    for _ in range(3):
        lines = 0
        t0 = time.perf_counter()
        async for member in readmodel.stream_list_members_json(pool, LIST_ID, AS_OF):
            canonical_json(member)  # type: ignore[arg-type]
            lines += 1
        elapsed = time.perf_counter() - t0
        if not out.stream_seconds or elapsed < out.stream_seconds:
            out.streamed, out.stream_seconds = lines, elapsed
    return out


@dataclass
class HttpFigures:
    """GET /v1/lists/us-entity-list/members through `timeline serve` (granian, 1 worker)."""

    page_size: int = 0
    pages: list[float] = field(default_factory=list)  # seconds per page, none from the cache
    trivial: list[float] = field(default_factory=list)  # GET /health/live, one after each page
    walks: int = 0
    streamed: int = 0
    stream_seconds: float = 0.0
    stream_bytes: int = 0
    json_members: int = 0
    json_bytes: int = 0
    json_seconds: float = 0.0
    rss_before: int = 0  # the server and its workers, after the walks, before the streams
    rss_stream_peak: int = 0  # the largest sum while streaming (3 streams)
    rss_json_peak: int = 0  # the largest sum while answering the whole list in one JSON body
    load: tuple[float, float, float] = (0.0, 0.0, 0.0)


NDJSON_ACCEPT = {"Accept": "application/x-ndjson"}


def _members_url(base: str) -> str:
    return f"{base}/v1/lists/{LIST_ID}/members"


def _walk(
    client: httpx.Client, url: str, known_at: str, out: HttpFigures | None, trivial: str = ""
) -> int:
    """Every page of the list at `known_at`, following `next`; the members seen. With `out`,
    each page's time goes to `out.pages` and, after it, one GET of `trivial` to `out.trivial`.

    The client's cyclic garbage collector is off while a request is timed: this process holds
    the log's companies and more, and ran a full collection about every 55 pages (parsing
    each page makes 1,000 dicts), 15-80 ms each under load; one set off inside a timed request
    is this client's time, not the server's (gc.callbacks in the served worker counted no full
    collection over 500 pages but the one at its start). It runs between requests instead."""
    params = {"as_of": AS_OF.isoformat(), "limit": str(PAGE_SIZE), "known_at": known_at}
    seen = 0
    while True:
        gc.disable()  # this client's own collections are not the server's time (see above)
        t0 = time.perf_counter()
        response = client.get(url, params=params)
        elapsed = time.perf_counter() - t0
        gc.enable()
        if response.status_code != 200:
            raise RuntimeError(f"a page answered {response.status_code}: {response.text[:300]}")
        page = response.json()
        if out is not None:
            out.pages.append(elapsed)
            gc.disable()
            t0 = time.perf_counter()
            client.get(trivial).raise_for_status()
            out.trivial.append(time.perf_counter() - t0)
            gc.enable()
        seen += len(page["members"])
        if page["next"] is None:
            return seen
        params["cursor"] = page["next"]


def _tree_caught_up(client: httpx.Client, base: str, within: float = 1800.0) -> None:
    """Wait until the server's Merkle tree holds the whole log (`/v1/log/head` as big as
    `/health` says the log is). A server started on a log it has no tree of builds one in its
    worker first (a 1M-event log: about a minute of CPU), and every request timed meanwhile
    would measure that build, not the route."""
    deadline = time.monotonic() + within
    size = client.get(f"{base}/health").json()["log"]["size"]
    while True:
        head = client.get(f"{base}/v1/log/head")
        if head.status_code == 200 and head.json()["size"] >= size:
            return
        if time.monotonic() > deadline:
            raise RuntimeError(f"the server's Merkle tree did not reach {size} in {within:.0f} s")
        time.sleep(0.5)


def _stream(client: httpx.Client, url: str) -> tuple[int, int, float]:
    """The whole list as NDJSON: lines, bytes, seconds (from the request to the last byte)."""
    lines = size = 0
    t0 = time.perf_counter()
    with client.stream("GET", url, params={"as_of": AS_OF.isoformat()}, headers=NDJSON_ACCEPT) as r:
        if r.status_code != 200:
            raise RuntimeError(f"the stream answered {r.status_code}")
        for chunk in r.iter_raw():
            lines += chunk.count(b"\n")
            size += len(chunk)
    return lines, size, time.perf_counter() - t0


def measure_http(
    url: str, head_recorded_at: _dt.datetime, members: int, args: argparse.Namespace
) -> HttpFigures:
    """Members through the real server: pages of 1,000 (each walk at a `known_at` of its own
    after the log's head: the answer of now, under a cache key no earlier walk used, so no
    page comes from the answer cache), p50/p99, beside GET /health/live (one after each page,
    same client and server); the whole list streamed as NDJSON, members/s, best of 3, with the
    server's RSS (main process and workers) sampled every 50 ms from just before the streams
    (after the walks, whose pages fill the answer cache); then the whole list as one JSON
    body, the answer built in memory, for comparison."""
    out = HttpFigures(page_size=PAGE_SIZE, load=os.getloadavg())
    with (
        serving(url, seed=False) as served,
        httpx.Client(timeout=120) as client,
    ):
        address = _members_url(served.base)
        walk = itertools.count(1)

        def known_at() -> str:
            return (head_recorded_at + _dt.timedelta(microseconds=next(walk))).isoformat()

        _tree_caught_up(client, served.base)
        if _walk(client, address, known_at(), None) != members:  # warm-up, and a check
            raise RuntimeError("the pages do not add up to the list's members")
        _stream(client, address)
        started = time.perf_counter()
        while out.walks < 3 or (
            len(out.pages) < max(MIN_SAMPLES, args.samples)
            and time.perf_counter() - started < args.budget
        ):
            _walk(client, address, known_at(), out, f"{served.base}/health/live")
            out.walks += 1
        out.rss_before = _tree_rss(served.process.pid)
        with _TreeRssPeak(served.process.pid) as rss:
            for _ in range(3):
                lines, size, seconds = _stream(client, address)
                if lines != members:
                    raise RuntimeError(f"streamed {lines} members of {members}")
                if not out.stream_seconds or seconds < out.stream_seconds:
                    out.streamed, out.stream_bytes, out.stream_seconds = lines, size, seconds
        out.rss_stream_peak = rss.peak
        with _TreeRssPeak(served.process.pid) as rss:
            t0 = time.perf_counter()
            answer = client.get(address, params={"as_of": AS_OF.isoformat()})
            out.json_seconds = time.perf_counter() - t0
        out.rss_json_peak = rss.peak
        out.json_bytes = len(answer.content)
        out.json_members = len(answer.json()["members"])
    return out


@dataclass
class SizeResult:
    size: int
    loaded: Loaded
    rebuild: RebuildFigures
    latencies: Latencies
    rm_items: int
    rm_bytes: int
    events_bytes: int
    checked: int
    engine: EngineFigures | None = None
    http: HttpFigures | None = None
    reused: bool = False


async def measure_size(admin_url: str, args: argparse.Namespace, size: int) -> SizeResult:
    served: list[str] = []
    try:
        return await _measure_size(admin_url, args, size, served)
    finally:
        # The served app made a runtime role; roles outlive databases. A kept database keeps
        # its role (its privileges are in that database: it cannot be dropped before it).
        for name in [] if args.keep or args.reuse else served:
            conn = await asyncpg.connect(admin_url)
            try:
                await drop_runtime_role(conn, name)
            finally:
                await conn.close()


async def _measure_size(
    admin_url: str, args: argparse.Namespace, size: int, served: list[str]
) -> SizeResult:
    async with log_database(admin_url, size, args) as (name, has_log):
        url = with_database(admin_url, name)
        async with asyncpg.create_pool(url, min_size=1, max_size=4) as pool:
            async with pool.acquire() as conn:
                await migrate(conn)
            if has_log:
                loaded = await reused(pool)
                note(f"{size:,} events: reusing {name} ({loaded.events:,} events)")
            else:
                note(f"{size:,} events: loading through EventStore.append ...")
                loaded = await load(pool, size, args.seed)
                note(
                    f"    {loaded.events:,} events in {loaded.appends:,} appends, "
                    f"{loaded.seconds:.0f} s"
                )
            await settle(admin_url, pool)
            read_models = not args.rebuild_max_events or size <= args.rebuild_max_events
            rounds = args.repeat
            if rounds is None:
                rounds = 1 if args.quick or size >= SINGLE_ROUND_FROM else REPEAT
            figures = RebuildFigures(rss_before=_rss())
            if read_models and has_log and await read_models_current(pool):
                # A kept database's read models are up to date: § 1 is only measured if
                # --repeat asks for rounds (the first is the one skipped here).
                note("    read models up to date: no first rebuild")
                rounds = args.repeat or 1
            elif read_models:
                # The first rebuild builds the read models from nothing: the latencies are
                # taken on them (one generation, no dead rows), then the other rounds run.
                await rebuild_round(pool, loaded.events, figures, 1, rounds)
                await settle(admin_url, pool)
            else:
                note(f"    no read models above {args.rebuild_max_events:,} events")
            rm_items = await pool.fetchval("SELECT count(*) FROM rm_items")
            rm_bytes = await pool.fetchval("SELECT pg_total_relation_size('rm_items')")
            events_bytes = await pool.fetchval(
                "SELECT pg_total_relation_size('events') + pg_total_relation_size('event_refs')"
            )
            checked = await check_agreement(pool, loaded, args.seed) if read_models else 0
            note(f"{size:,} events: latencies (up to {args.samples} rounds)")
            latencies = await measure_latencies(
                pool, loaded, args, args.seed + size, members=read_models
            )
            engine = None
            if read_models:
                note(f"{size:,} events: projector after {APPENDED:,} appended events, pages")
                engine = await measure_engine(pool, loaded, args, args.seed + size)
            http = None
            if read_models and not args.no_http:
                note(f"{size:,} events: members through timeline serve (pages, NDJSON, RSS)")
                members = len(await readmodel.list_members(pool, LIST_ID, AS_OF))
                head = await pool.fetchval("SELECT max(recorded_at) FROM events")
                served.append(name)
                http = await asyncio.to_thread(measure_http, url, head, members, args)
            in_log = loaded.events + (APPENDED if engine else 0)
            for round_ in range(2, rounds + 1 if read_models else 0):
                await rebuild_round(pool, in_log, figures, round_, rounds)
    return SizeResult(
        size,
        loaded,
        figures,
        latencies,
        rm_items,
        rm_bytes,
        events_bytes,
        checked,
        engine,
        http,
        reused=has_log,
    )


# --------------------------------------------------------------------------- report


def _pcts(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    p99 = ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]
    return statistics.median(ordered) * 1000, p99 * 1000


def _rate_line(label: str, events: int, seconds: list[float], ratio: str = "") -> None:
    rates = [events / s for s in seconds]
    spread = f"({min(rates):,.0f}-{max(rates):,.0f})" if len(rates) > 1 else ""
    median_s = statistics.median(seconds)
    print(
        f"   {label:<36}{events / median_s:>9,.0f} events/s {spread:<17}"
        f"{median_s:>8.1f} s   {ratio}".rstrip()
    )


def _latency_line(label: str, samples: list[float], base: list[float] | None, extra: str = ""):
    p50, p99 = _pcts(samples)
    ratio = ""
    if base is not None:
        b50, b99 = _pcts(base)
        ratio = f"{p50 / b50:,.0f}x / {p99 / b99:,.0f}x"
    print(f"   {label:<36}{p50:>9.2f} {p99:>9.2f} {len(samples):>6}  {ratio:<14}{extra}".rstrip())


def _mib(n: int) -> str:
    return f"{n / 2**20:,.0f} MiB"


def report(results: list[SizeResult]) -> None:
    print("\n1. Rebuild (service.readmodels.rebuild.rebuild) vs raw read + decode of the same log")
    for r in results:
        f = r.rebuild
        rounds = len(f.rebuild)
        if not rounds:
            why = "a reused database" if r.reused else "above --rebuild-max-events"
            print(f"  {r.size:,} events: not measured ({why})")
            continue
        print(
            f"  {r.size:,} events: {len(r.loaded.companies):,} companies, "
            f"{r.loaded.rules:,} RuleIssued, {r.loaded.transactions:,} append transactions; "
            + (f"median of {rounds} rounds (min-max)" if rounds > 1 else "one round")
        )
        _rate_line("raw asyncpg read + decode_stored", r.loaded.events, f.raw)
        ratio = statistics.median(f.raw) / statistics.median(f.rebuild)
        _rate_line("rebuild", r.loaded.events, f.rebuild, f"rebuild/raw = {ratio:.4f}")
        print(
            f"   {'':<36}rm_items: {r.rm_items:,} rows ({r.rm_items / r.loaded.events:.1f} per "
            f"event), {_mib(r.rm_bytes)} vs {_mib(r.events_bytes)} for events + event_refs"
        )
        if f.peak_rss:
            print(
                f"   {'':<36}RSS {_mib(f.rss_before)} before a rebuild; peak during it, this "
                f"process and its workers summed: {_mib(f.peak_rss)}"
            )
        if f.rebuild_cpu:
            raw_cpu, rebuild_cpu = statistics.median(f.raw_cpu), statistics.median(f.rebuild_cpu)
            print(
                f"   {'':<36}CPU s (Python side, workers included): raw {raw_cpu:.1f}, "
                f"rebuild {rebuild_cpu:.1f}; load average {os.getloadavg()[0]:.1f} at the end"
            )

    header = f"   {'':<36}{'p50 ms':>9} {'p99 ms':>9} {'n':>6}  vs PK p50/p99"
    print(
        f"\n2. State as of {AS_OF}, a random company per request "
        "(relevant_events + state_as_of + canonical_json)\n" + header
    )
    for r in results:
        lat = r.latencies
        mean_events = statistics.mean(lat.state_events)
        print(f"  {r.size:,} events")
        _latency_line("baseline: SELECT by primary key", lat.pk, None)
        _latency_line(
            "state as of (cache miss)",
            lat.state,
            lat.pk,
            f"{mean_events:.1f} events read per request (max {max(lat.state_events)})",
        )
        _latency_line("  of which relevant_events (SQL)", lat.state_db, lat.pk)

    print(f"\n3. List members of {LIST_ID} on {AS_OF} (readmodel.list_members)\n" + header)
    for r in results:
        lat = r.latencies
        known = lat.known_at.isoformat(timespec="milliseconds") if lat.known_at else "?"
        if not lat.members_now:
            print(f"  {r.size:,} events: not measured (no read models above --rebuild-max-events)")
            continue
        print(f"  {r.size:,} events")
        _latency_line("baseline: SELECT by primary key", lat.pk, None)
        _latency_line("known now", lat.members_now, lat.pk, f"{lat.members_now_count:,} members")
        _latency_line(
            "known at mid-log K",
            lat.members_past,
            lat.pk,
            f"{lat.members_past_count:,} members; K = {known}",
        )

    print("\n4. The projector after appends; members a page at a time and streamed")
    for r in results:
        e = r.engine
        if e is None:
            print(f"  {r.size:,} events: not measured (no read models above --rebuild-max-events)")
            continue
        print(f"  {r.size:,} events (load average {e.load[0]:.1f} {e.load[1]:.1f} {e.load[2]:.1f})")
        print(
            f"   {'projector: 1,000 events appended':<36}{e.append_seconds * 1000:>9.0f} ms "
            f"({e.append_events / e.append_seconds:,.0f} events/s; {e.append_cpu:.2f} CPU s)"
        )
        _latency_line(f"members page of {e.page_size:,}", e.pages, None)
        print(
            f"   {'members streamed as NDJSON':<36}{e.streamed / e.stream_seconds:>9,.0f} members/s"
            f" ({e.streamed:,} members, best of 3)"
        )

    print(
        f"\n5. Members of {LIST_ID} on {AS_OF} through `timeline serve` (granian, 1 worker; "
        "the client on the same machine)"
    )
    for r in results:
        h = r.http
        if h is None:
            print(f"  {r.size:,} events: not measured (no read models, or --no-http)")
            continue
        print(f"  {r.size:,} events (load average {h.load[0]:.1f} {h.load[1]:.1f} {h.load[2]:.1f})")
        _latency_line("baseline: GET /health/live", h.trivial, None, "one after each page")
        _latency_line(
            f"page of {h.page_size:,} (limit, cursor)",
            h.pages,
            h.trivial,
            f"{h.walks} walks of the whole list, each at a known_at of its own: no cached page",
        )
        print(
            f"   {'whole list streamed as NDJSON':<36}{h.streamed / h.stream_seconds:>9,.0f} "
            f"members/s ({h.streamed:,} members, {_mib(h.stream_bytes)}, best of 3, "
            f"{h.stream_seconds * 1000:,.0f} ms)"
        )
        print(
            f"   {'whole list as one JSON body':<36}{h.json_members / h.json_seconds:>9,.0f} "
            f"members/s ({h.json_seconds * 1000:,.0f} ms, {_mib(h.json_bytes)}, built in memory)"
        )
        print(
            f"   {'server RSS (process + workers)':<36}{_mib(h.rss_before)} before the streams; "
            "peak "
            f"{_mib(h.rss_stream_peak)} while streaming (+{_mib(h.rss_stream_peak - h.rss_before)})"
            f"; peak {_mib(h.rss_json_peak)} answering in one JSON body"
        )


def _command(args: argparse.Namespace, origin: str) -> str:
    argv = [".venv/bin/python", "bench/bench_projections.py"]
    if origin == "flag":
        argv += ["--database-url", redacted(args.database_url)]
    argv += ["--sizes", ",".join(str(s) for s in args.sizes)]
    argv += ["--samples", str(args.samples), "--warmup", str(args.warmup)]
    argv += ["--budget", f"{args.budget:g}"]
    argv += ["--rebuild-max-events", str(args.rebuild_max_events)]
    if args.repeat is not None:
        argv += ["--repeat", str(args.repeat)]
    if args.quick:
        argv += ["--quick"]
    if args.no_http:
        argv += ["--no-http"]
    if args.reuse:
        argv += ["--reuse"]
    elif args.keep:
        argv += ["--keep"]
    argv += ["--seed", str(args.seed)]
    command = shlex.join(argv)
    if origin == "env":
        command = "TIMELINE_DATABASE_URL=... " + command + "   # the URL from the environment"
    if origin == "embedded":
        command += "   # no URL: an embedded PostgreSQL in a temporary directory"
    return command


def _sizes(text: str) -> tuple[int, ...]:
    try:
        sizes = tuple(int(part.replace("_", "")) for part in text.split(",") if part.strip())
    except ValueError:
        raise argparse.ArgumentTypeError("a comma-separated list of event counts") from None
    if not sizes or min(sizes) < 100:
        raise argparse.ArgumentTypeError("sizes must be at least 100 events")
    return sizes


def _parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--database-url",
        help="admin URL of a PostgreSQL server (default: $TIMELINE_DATABASE_URL, else an "
        "embedded one); a database is created and dropped on it per log size",
    )
    parser.add_argument(
        "--sizes",
        type=_sizes,
        help="events in the log, comma-separated (default: "
        + ",".join(str(s) for s in DEFAULT_SIZES)
        + "; --quick: "
        + ",".join(str(s) for s in QUICK_SIZES)
        + ")",
    )
    parser.add_argument(
        "--samples", type=int, help="timed requests of each kind per size (300; --quick: 50)"
    )
    parser.add_argument(
        "--warmup", type=int, help="untimed requests of each kind first (30; --quick: 5)"
    )
    parser.add_argument(
        "--budget",
        type=float,
        default=60.0,
        help=f"seconds of timed requests per kind and size, after which a kind stops (when it "
        f"has {MIN_SAMPLES} samples) (60)",
    )
    parser.add_argument(
        "--rebuild-max-events",
        type=int,
        default=DEFAULT_REBUILD_MAX,
        help="build read models (rebuild, list members) only for logs of at most this many "
        "events; bigger logs get the state-as-of figures alone, which need no read model "
        f"(0: no limit; default {DEFAULT_REBUILD_MAX:,}: a rebuild of 1M events takes "
        "tens of minutes)",
    )
    parser.add_argument(
        "--repeat",
        type=int,
        help=f"rebuild rounds per size (default {REPEAT}, one from "
        f"{SINGLE_ROUND_FROM:,} events, and with --quick)",
    )
    parser.add_argument("--seed", type=int, default=1, help="seed of the generated log")
    parser.add_argument(
        "--no-http",
        action="store_true",
        help="skip § 5 (members paged and streamed through a `timeline serve` it starts)",
    )
    parser.add_argument(
        "--keep",
        action="store_true",
        help="keep each size's database (bench_projections_kept_<size>_seed<seed>, generated "
        "afresh) instead of dropping it, for --reuse",
    )
    parser.add_argument(
        "--reuse",
        action="store_true",
        help="use the database --keep left for each size and seed, if there is one, without "
        "generating its log again (nor rebuilding its read models when they are up to date; "
        "§ 4 appends 1,000 events to it each run); else generate it, and keep it",
    )
    parser.add_argument("--quick", action="store_true", help="smoke run: small logs, few samples")
    args = parser.parse_args(argv)
    if args.sizes is None:
        args.sizes = QUICK_SIZES if args.quick else DEFAULT_SIZES
    if args.samples is None:
        args.samples = 50 if args.quick else 300
    if args.warmup is None:
        args.warmup = 5 if args.quick else 30
    if args.samples < 1 or args.warmup < 0 or (args.repeat is not None and args.repeat < 1):
        parser.error("--samples and --repeat must be positive, --warmup not negative")
    return args


def main(argv: list[str] | None = None) -> int:
    args = _parse(argv)
    started = time.perf_counter()
    with server(args.database_url) as srv:
        admin = srv.admin_url
        info = asyncio.run(server_info(admin))
        results = [asyncio.run(measure_size(admin, args, size)) for size in args.sizes]

        versions = ", ".join(f"{p} {metadata.version(p)}" for p in ("asyncpg", "msgspec"))
        print(f"PostgreSQL: {info['version'].split(' on ')[0]} ({srv.origin}: {redacted(admin)})")
        print(
            f"   synchronous_commit={info['synchronous_commit']} fsync={info['fsync']}; "
            f"{os.cpu_count()} CPUs; Python {platform.python_version()}, {versions}"
        )
        print(
            "   a database per log size, filled through EventStore.append (untimed) unless "
            "--reuse found one kept, then VACUUM ANALYZE + CHECKPOINT"
        )
        for r in results:
            loaded = (
                "reused a kept database (--reuse)"
                if r.reused
                else f"loaded at {r.loaded.events / r.loaded.seconds:,.0f} events/s"
            )
            print(
                f"   {r.size:,}: {r.loaded.events:,} events, mean payload "
                f"{r.loaded.mean_payload:.0f} B, {loaded}"
                + (
                    f"; pure fold and read model agree on {r.checked} companies"
                    if r.checked
                    else ""
                )
            )
        report(results)
        print(
            f"\n({time.perf_counter() - started:.0f} s in all) "
            "Reproduce, from the repository root, with:"
        )
        print(_command(args, srv.origin), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
