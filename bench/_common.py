"""Shared pieces of the benchmarks: the server, throw-away databases, realistic events, progress.

Nothing here is timed. The benchmarks time only their appends.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as _dt
import os
import random
import secrets
import shutil
import sys
import tempfile
import time
import urllib.parse
import uuid
from collections.abc import Iterator, Sequence
from pathlib import Path

import asyncpg

from events import (
    GENESIS_HASH,
    AnyEvent,
    EntityListed,
    EntityRegistered,
    PartialDate,
    ProductMassProduced,
    Source,
    canonical,
    chain_hash,
    type_name,
)
from service.eventlog.store import EVENT_COLUMNS

ADMIN_URL_ENV = "TIMELINE_DATABASE_URL"

# --------------------------------------------------------------------------- server


@dataclasses.dataclass(frozen=True)
class Server:
    admin_url: str
    origin: str  # "flag", "env" or "embedded"


@contextlib.contextmanager
def server(database_url: str | None) -> Iterator[Server]:
    """The flag's URL, else $TIMELINE_DATABASE_URL, else an embedded PostgreSQL for the run."""
    if database_url:
        yield Server(database_url, "flag")
        return
    if os.environ.get(ADMIN_URL_ENV):
        yield Server(os.environ[ADMIN_URL_ENV], "env")
        return
    from service.db.embedded import embedded_postgres

    data_dir = Path(tempfile.mkdtemp(prefix="bench-append-"))
    note(f"starting an embedded PostgreSQL in {data_dir} ...")
    try:
        with embedded_postgres(data_dir) as url:
            yield Server(url, "embedded")
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)


def with_database(url: str, dbname: str) -> str:
    """The same server URL, pointing at another database (query string such as ?host= kept)."""
    parts = urllib.parse.urlsplit(url)
    return urllib.parse.urlunsplit(parts._replace(path="/" + urllib.parse.quote(dbname)))


def redacted(url: str) -> str:
    parts = urllib.parse.urlsplit(url)
    if not parts.password:
        return url
    netloc = parts.netloc.replace(":" + parts.password + "@", ":***@", 1)
    return urllib.parse.urlunsplit(parts._replace(netloc=netloc))


@dataclasses.dataclass(frozen=True)
class ConnParams:
    """What psycopg (for the eventsourcing library) needs, taken from the URL and the server."""

    host: str
    port: int
    user: str
    password: str


async def conn_params(admin_url: str) -> ConnParams:
    parts = urllib.parse.urlsplit(admin_url)
    query = urllib.parse.parse_qs(parts.query)
    host = parts.hostname or (query.get("host") or [""])[0] or "localhost"
    conn = await asyncpg.connect(admin_url)
    try:
        user = await conn.fetchval("SELECT current_user")
        port = int(await conn.fetchval("SELECT current_setting('port')"))
    finally:
        await conn.close()
    password = parts.password or os.environ.get("PGPASSWORD", "")
    return ConnParams(host=host, port=parts.port or port, user=user, password=password)


async def server_info(admin_url: str) -> dict[str, str]:
    conn = await asyncpg.connect(admin_url)
    try:
        info = {"version": await conn.fetchval("SELECT version()")}
        for name in ("server_version_num", "synchronous_commit", "fsync", "commit_delay"):
            info[name] = await conn.fetchval("SELECT current_setting($1)", name)
    finally:
        await conn.close()
    return info


_counter = 0


async def create_database(admin_url: str) -> str:
    """A new, empty database with a unique name; return its name."""
    global _counter
    _counter += 1
    name = f"bench_append_{os.getpid()}_{_counter}_{secrets.token_hex(3)}"
    conn = await asyncpg.connect(admin_url)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    return name


async def drop_database(admin_url: str, name: str) -> None:
    conn = await asyncpg.connect(admin_url)
    try:
        force = int(await conn.fetchval("SELECT current_setting('server_version_num')")) >= 130000
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}"' + (" WITH (FORCE)" if force else ""))
    finally:
        await conn.close()


async def checkpoint(admin_url: str) -> None:
    """Flush dirty pages before a timed run so no run pays for the previous one's writes."""
    conn = await asyncpg.connect(admin_url)
    try:
        await conn.execute("CHECKPOINT")
    except asyncpg.InsufficientPrivilegeError:
        pass
    finally:
        await conn.close()


# --------------------------------------------------------------------------- events

LISTS = ("us-entity-list", "us-sdn-list", "eu-annex-iv")
RULES = ("bis-2022-27151", "bis-2023-07120", "ofac-eo-14032")
PRODUCTS = (
    ("232-layer 3D NAND", "memory", {"layers": 232, "die_gbit": 1024}),
    ("DDR5 16Gb DRAM", "memory", {"node": "17nm", "speed_mts": 4800}),
    ("7nm SoC", "logic", {"node_nm": 7, "transistors_bn": 12.5}),
    ("ArF immersion scanner", "lithography", {"resolution_nm": 38, "wph": 180}),
    ("28nm foundry process", "foundry", {"node_nm": 28, "wafers_per_month": 40000}),
    ("HBM2E stack", "memory", {"stack_height": 8, "bandwidth_gbs": 460}),
)
AUTHORITIES = ("BIS", "OFAC", "Council of the EU")


def _uuid(rng: random.Random) -> uuid.UUID:
    return uuid.UUID(int=rng.getrandbits(128), version=4)


def _date(rng: random.Random) -> PartialDate:
    year = rng.randint(2018, 2024)
    precision = rng.random()
    if precision < 0.15:
        return PartialDate(f"{year:04d}")
    month = rng.randint(1, 12)
    if precision < 0.4:
        return PartialDate(f"{year:04d}-{month:02d}")
    return PartialDate(f"{year:04d}-{month:02d}-{rng.randint(1, 28):02d}")


def registrations(companies: int, rng: random.Random) -> list[AnyEvent]:
    """EntityRegistered for the lists, the rules and `companies` companies."""
    fr = Source(
        url="https://www.federalregister.gov/documents/2022/12/19/2022-27151",
        publisher="Federal Register",
        citation="87 FR 77505",
        title="Additions to the Entity List",
    )
    out: list[AnyEvent] = []
    for slug in LISTS:
        out.append(
            EntityRegistered(
                id=_uuid(rng),
                entity=slug,
                occurred=PartialDate("1997"),
                sources=(fr,),
                kind="list",
                names={"en": slug.replace("-", " ").title()},
                country="US" if slug.startswith("us-") else None,
            )
        )
    for slug in RULES:
        out.append(
            EntityRegistered(
                id=_uuid(rng),
                entity=slug,
                occurred=_date(rng),
                sources=(fr,),
                kind="rule",
                names={"en": f"Rule {slug.upper()}"},
            )
        )
    for i in range(companies):
        slug = f"company-{i:04d}"
        out.append(
            EntityRegistered(
                id=_uuid(rng),
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
    return out


def timeline_events(n: int, companies: int, rng: random.Random) -> list[AnyEvent]:
    """`n` EntityListed / ProductMassProduced events about the registered companies."""
    out: list[AnyEvent] = []
    for _ in range(n):
        company = f"company-{rng.randrange(companies):04d}"
        if rng.random() < 0.5:
            list_ = rng.choice(LISTS)
            rule = rng.choice(RULES)
            cite = f"{rng.randint(80, 89)} FR {rng.randint(1000, 99999)}"
            out.append(
                EntityListed(
                    id=_uuid(rng),
                    entity=company,
                    occurred=_date(rng),
                    sources=(
                        Source(
                            url=f"https://www.federalregister.gov/d/{rule}",
                            publisher="Federal Register",
                            citation=cite,
                            title="Additions to the Entity List",
                        ),
                        Source(url=f"https://www.bis.gov/press-release/{rng.getrandbits(32):x}"),
                    ),
                    headline={
                        "en": f"{company} added to the {list_}",
                        "zh-Hans": f"{company} 被列入 {list_}",
                    },
                    list=list_,
                    authority=rng.choice(AUTHORITIES),
                    rule=rule,
                    license_policy="Presumption of denial for items subject to the EAR.",
                )
            )
        else:
            product, category, specs = rng.choice(PRODUCTS)
            out.append(
                ProductMassProduced(
                    id=_uuid(rng),
                    entity=company,
                    occurred=_date(rng),
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
            )
    return out


# The columns of the `events` table, in the order EventStore copies them.
COLUMNS = EVENT_COLUMNS

# The baseline table: the columns and keys of `events`, none of its triggers, checks or
# secondary indexes.
PLAIN_TABLE = """
CREATE TABLE events (
    position        bigint      PRIMARY KEY,
    id              uuid        NOT NULL UNIQUE,
    entity          text        NOT NULL,
    type            text        NOT NULL,
    schema_version  integer     NOT NULL,
    occurred        text        NOT NULL,
    occurred_start  date        NOT NULL,
    occurred_end    date        NOT NULL,
    precision       text        NOT NULL,
    recorded_at     timestamptz NOT NULL,
    payload         bytea       NOT NULL,
    prev_hash       bytea       NOT NULL,
    hash            bytea       NOT NULL
)
"""
INSERT_ROW = """
INSERT INTO events (
    position, id, entity, type, schema_version, occurred, occurred_start, occurred_end,
    precision, recorded_at, payload, prev_hash, hash
) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
"""


@dataclasses.dataclass(frozen=True)
class Part:
    """One slice of a data set in three shapes: events, raw rows, eventsourcing StoredEvents."""

    events: list[AnyEvent]
    rows: list[tuple]
    stored: list  # eventsourcing.persistence.StoredEvent

    def __len__(self) -> int:
        return len(self.events)


@dataclasses.dataclass(frozen=True)
class DataSet:
    setup: Part  # registrations, appended before anything is timed
    warmup: Part  # appended, untimed, in the same way as the measured part
    measured: Part

    @property
    def total(self) -> int:
        return len(self.setup) + len(self.warmup) + len(self.measured)

    @property
    def mean_payload(self) -> float:
        rows = self.measured.rows
        return sum(len(r[10]) for r in rows) / max(1, len(rows))


def dataset(*, warmup: int, measured: int, companies: int, seed: int) -> DataSet:
    """Events, and the rows EventStore would write for them (same ids, payloads, hashes)."""
    from eventsourcing.persistence import StoredEvent

    rng = random.Random(seed)
    regs = registrations(companies, rng)
    warm = timeline_events(warmup, companies, rng)
    meas = timeline_events(measured, companies, rng)
    recorded_at = _dt.datetime.now(_dt.UTC)
    prev_hash = GENESIS_HASH
    position = 0
    versions: dict[str, int] = {}
    namespace = uuid.UUID("6f1c1f3e-7c55-4f43-9a54-0b1d2f3e4a5b")

    def part(events: list[AnyEvent]) -> Part:
        nonlocal prev_hash, position
        rows, stored = [], []
        for event in events:
            position += 1
            payload = canonical(event)
            version = type(event).schema_version
            digest = chain_hash(
                prev_hash,
                payload=payload,
                position=position,
                recorded_at=recorded_at,
                schema_version=version,
            )
            occurred = event.occurred
            tag = type_name(event)
            rows.append(
                (
                    position,
                    event.id,
                    event.entity,
                    tag,
                    version,
                    str(occurred),
                    occurred.start,
                    occurred.end,
                    occurred.precision,
                    recorded_at,
                    payload,
                    prev_hash,
                    digest,
                )
            )
            prev_hash = digest
            versions[event.entity] = versions.get(event.entity, 0) + 1
            stored.append(
                StoredEvent(
                    originator_id=uuid.uuid5(namespace, event.entity),
                    originator_version=versions[event.entity],
                    topic=f"events.types:{tag}",
                    state=payload,
                )
            )
        return Part(events, rows, stored)

    return DataSet(setup=part(regs), warmup=part(warm), measured=part(meas))


def chunks(seq: Sequence, size: int) -> list[Sequence]:
    return [seq[i : i + size] for i in range(0, len(seq), size)]


# --------------------------------------------------------------------------- output


def note(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


class Progress:
    """Counts events as they are appended; prints to stderr at most once a second."""

    def __init__(self, label: str, total: int, *, every: float = 1.0) -> None:
        self.label = label
        self.total = total
        self.done = 0
        self.every = every
        self.start = time.perf_counter()
        self.last = self.start

    def advance(self, n: int) -> None:
        # Called from several threads by the eventsourcing runs: a lost update only
        # makes a progress line a little behind, and the totals are checked in SQL.
        self.done += n
        now = time.perf_counter()
        if now - self.last >= self.every:
            self.last = now
            note(f"    {self.label}: {self.done:,}/{self.total:,} ({now - self.start:.1f} s)")
