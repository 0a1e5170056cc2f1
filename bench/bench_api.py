"""HTTP throughput of the real server, beside baselines from the same run.

1. Reads: requests/s, p50 and p99 of GET /v1/entities/{id}/state (known_at now, a past
   known_at, and now with If-None-Match, expecting 304) beside the same server's trivial JSON
   endpoint GET /health/live (no database), each with the same client, connections, threads
   and duration. Aim: state >= 0.5x trivial.
2. Concurrent single-event appends: N clients (each one POST /v1/events of one event, awaited
   before the next, unique ids) beside the same server's trivial route with N connections,
   measured right after (once the projector has caught up), and beside N asyncpg connections
   each doing one INSERT per transaction into a plain table of the same columns and keys
   (bench_append.py's raw baseline). Aims: appends >= 0.3x trivial; >= 1.0x raw (group commit).
3. Batched appends: one client POSTing arrays of 1,000 events, each awaited before the next,
   beside asyncpg `copy_records_to_table` of the same rows, 1,000 at a time, into the plain
   table on one connection. Aim: >= 0.5x raw COPY.

The server is `timeline serve` (granian) in a subprocess, against a scratch database created on
the given PostgreSQL server and dropped afterwards: the seed data set for the reads, a fresh
database per append measurement. The load generator is wrk (with a Lua script for headers,
bodies and status checks) when it is installed, else an asyncio/httpx client in this process
(then the client, not the server, is likely the limit; the output says so).

Run:  .venv/bin/python bench/bench_api.py [--database-url URL] [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import itertools
import json
import os
import platform
import random
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import traceback
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import httpx
from _common import (
    COLUMNS,
    INSERT_ROW,
    PLAIN_TABLE,
    checkpoint,
    dataset,
    note,
    redacted,
    registrations,
    server,
    server_info,
    timeline_events,
)
from _serve import Served, projecting, scratch_database, serving

from events import canonical
from service.access import tokens

DURATION = 10.0
WARMUP = 2.0
REPEAT = 3
QUICK_DURATION = 3.0
QUICK_WARMUP = 1.0
CONNECTIONS = 32
WRITERS = (8, 32)
COMPANIES = 200
BODIES = 400  # distinct event bodies the append clients cycle through (each with a fresh id)
TIMEOUT = 10.0  # seconds; a slower answer counts as an error
READ_AIM = 0.5
APPEND_AIM = 1.0
APPEND_TRIVIAL_AIM = 0.3
BATCH = 1000
BATCHES = 20  # measured batches per round (--quick: 5), after 2 batches of warm-up
QUICK_BATCHES = 5
BATCH_AIM = 0.5
CATCH_UP_SECONDS = 120.0


# --------------------------------------------------------------------------- load generation


@dataclasses.dataclass(frozen=True)
class Load:
    """What the clients send: one request, or POSTs of `bodies` with a fresh id each."""

    label: str
    method: str
    path: str
    expect: int
    headers: dict[str, str] = dataclasses.field(default_factory=dict)
    bodies: tuple[str, ...] = ()
    """JSON events with the placeholder __ID__ where the id goes."""


@dataclasses.dataclass(frozen=True)
class Measure:
    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float
    ok: int
    """Responses with the expected status."""
    bad: int
    """Responses with another status."""
    errors: int
    """Connection errors and timeouts."""
    bad_status: str = ""

    @property
    def rate(self) -> float:
        return self.ok / self.seconds


_LUA = r"""
local method, path, expect = "%(method)s", "%(path)s", %(expect)d
local headers = { %(headers)s }
local bodies = { %(bodies)s }
local prefix = "%(prefix)s"
local threads = {}
counter, tid, ok, bad, bad_status = 0, 0, 0, 0, 0

function setup(thread)
  thread:set("tid", #threads)
  table.insert(threads, thread)
end

wrk.method = method
wrk.path = path
for k, v in pairs(headers) do wrk.headers[k] = v end

if #bodies > 0 then
  function request()
    counter = counter + 1
    local id = prefix .. string.format("%%04x%%08x", tid, counter)
    local body = string.gsub(bodies[(counter %% #bodies) + 1], "__ID__", id)
    return wrk.format(method, path, headers, body)
  end
end

function response(status, hdrs, body)
  if status == expect then ok = ok + 1 else bad = bad + 1; bad_status = status end
end

function done(summary, latency, requests)
  local good, wrong, last = 0, 0, 0
  for _, t in ipairs(threads) do
    good = good + t:get("ok"); wrong = wrong + t:get("bad")
    if t:get("bad_status") ~= 0 then last = t:get("bad_status") end
  end
  local e = summary.errors
  io.write(string.format(
    'WRKJSON {"requests":%%d,"duration_us":%%d,"p50_us":%%d,"p99_us":%%d,"ok":%%d,"bad":%%d,' ..
    '"bad_status":%%d,"errors":%%d}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    good, wrong, last, e.connect + e.read + e.write + e.timeout))
end
"""


def _lua_string(text: str) -> str:
    level = "=" * 3
    assert f"]{level}]" not in text
    return f"[{level}[{text}]{level}]"


def wrk_script(load: Load, prefix: str) -> str:
    headers = ", ".join(f"[ {_lua_string(k)} ] = {_lua_string(v)}" for k, v in load.headers.items())
    bodies = ", ".join(_lua_string(b) for b in load.bodies)
    return _LUA % {
        "method": load.method,
        "path": load.path,
        "expect": load.expect,
        "headers": headers,
        "bodies": bodies,
        "prefix": prefix,
    }


def _id_prefix() -> str:
    """The first 20 hex digits of a UUID; wrk fills in 4 of thread and 8 of counter."""
    h = uuid.uuid4().hex
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-8{h[17:20]}-"


def run_wrk(base: str, load: Load, *, connections: int, threads: int, seconds: float) -> Measure:
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as f:
        f.write(wrk_script(load, _id_prefix()))
        script = f.name
    try:
        argv = ["wrk", f"-t{min(threads, connections)}", f"-c{connections}"]
        argv += [f"-d{seconds:g}s", f"--timeout={TIMEOUT:g}s", "-s", script, base + load.path]
        done = subprocess.run(argv, capture_output=True, text=True, timeout=seconds + 60)
    finally:
        os.unlink(script)
    line = next((x for x in done.stdout.splitlines() if x.startswith("WRKJSON ")), None)
    if done.returncode != 0 or line is None:
        raise RuntimeError(f"wrk failed ({done.returncode}): {done.stdout}\n{done.stderr}")
    r = json.loads(line.removeprefix("WRKJSON "))
    return Measure(
        requests=r["requests"],
        seconds=r["duration_us"] / 1e6,
        p50_ms=r["p50_us"] / 1000,
        p99_ms=r["p99_us"] / 1000,
        ok=r["ok"],
        bad=r["bad"],
        errors=r["errors"],
        bad_status=str(r["bad_status"]) if r["bad"] else "",
    )


async def _python_client(base: str, load: Load, connections: int, seconds: float) -> Measure:
    latencies: list[float] = []
    counts = {"ok": 0, "bad": 0, "errors": 0}
    last_bad = [""]
    limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=TIMEOUT) as client:
        start = time.perf_counter()
        deadline = start + seconds

        async def one(i: int) -> None:
            for n in itertools.count():
                if time.perf_counter() >= deadline:
                    return
                content = None
                if load.bodies:
                    body = load.bodies[(i + n * connections) % len(load.bodies)]
                    content = body.replace("__ID__", str(uuid.uuid4())).encode()
                t0 = time.perf_counter()
                try:
                    response = await client.request(
                        load.method, load.path, headers=load.headers, content=content
                    )
                except httpx.HTTPError:
                    counts["errors"] += 1
                    continue
                latencies.append(time.perf_counter() - t0)
                if response.status_code == load.expect:
                    counts["ok"] += 1
                else:
                    counts["bad"] += 1
                    last_bad[0] = str(response.status_code)

        await asyncio.gather(*(one(i) for i in range(connections)))
        elapsed = time.perf_counter() - start
    p50, p99 = percentiles(latencies)
    return Measure(
        requests=len(latencies),
        seconds=elapsed,
        p50_ms=p50 * 1000,
        p99_ms=p99 * 1000,
        bad_status=last_bad[0],
        **counts,
    )


def percentiles(samples: list[float]) -> tuple[float, float]:
    if not samples:
        return float("nan"), float("nan")
    ordered = sorted(samples)
    return (
        ordered[min(len(ordered) - 1, int(0.50 * len(ordered)))],
        ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))],
    )


class Client:
    """wrk if present (unless --client python), else the asyncio/httpx client."""

    def __init__(self, kind: str, threads: int) -> None:
        self.kind = kind
        self.threads = threads

    def describe(self) -> str:
        if self.kind == "wrk":
            out = subprocess.run(["wrk", "-v"], capture_output=True, text=True)
            version = (out.stdout + out.stderr).strip().split(" [")[0] or "wrk"
            return f"{version} ({self.threads} thread(s))"
        return (
            f"asyncio/httpx {httpx.__version__} in this process (wrk not found): the Python "
            "client costs more CPU per request than the server's trivial route, so the "
            "read ratios understate the gap and the rates are the client's limit"
        )

    def run(self, base: str, load: Load, *, connections: int, seconds: float) -> Measure:
        if self.kind == "wrk":
            return run_wrk(
                base, load, connections=connections, threads=self.threads, seconds=seconds
            )
        return asyncio.run(_python_client(base, load, connections, seconds))


@dataclasses.dataclass
class Profiler:
    """--py-spy DIR: a flame graph of the server's worker during each measured run."""

    directory: Path | None
    format: str = "flamegraph"
    gil: bool = False
    """Sample only the thread that holds the GIL (`py-spy --gil`): where the CPU goes, without
    the time a thread spends waiting for the GIL counted as its own."""

    def start(self, served: Served, name: str, seconds: float) -> subprocess.Popen | None:
        if self.directory is None:
            return None
        # The API worker, not the projector process `timeline serve` starts beside it.
        pids = [p for p in served.worker_pids() if " projections run" not in _cpu_of(p)[0]]
        if not pids:
            note("    py-spy: no worker process found")
            return None
        self.directory.mkdir(parents=True, exist_ok=True)
        suffix = {"flamegraph": "svg", "raw": "txt", "speedscope": "json"}[self.format]
        out = self.directory / f"{name}.{suffix}"
        beside = Path(sys.executable).parent / "py-spy"
        spy = shutil.which("py-spy") or (str(beside) if beside.exists() else "py-spy")
        argv = [spy, "record", "-p", str(pids[0]), "-d", str(int(seconds) + 1), "-r", "200"]
        argv += ["-f", self.format, "-o", str(out), "--nonblocking"]
        if self.gil:
            argv.append("--gil")
        return subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    @staticmethod
    def wait(process: subprocess.Popen | None) -> None:
        if process is not None:
            process.wait(timeout=60)


# --------------------------------------------------------------------------- 1. reads

_RECORDINGS = "SELECT DISTINCT recorded_at FROM events ORDER BY recorded_at"


async def _past_known_at(url: str) -> tuple[str, int, int]:
    """A moment between two recordings in the middle of the log, and how many are recorded by
    then."""
    conn = await asyncpg.connect(url)
    try:
        moments = [r[0] for r in await conn.fetch(_RECORDINGS)]
        if len(moments) < 2:
            raise RuntimeError("the log has fewer than two recordings; no past known_at")
        i = (len(moments) - 1) // 2
        k = moments[i] + (moments[i + 1] - moments[i]) / 2
        known = await conn.fetchval("SELECT count(*) FROM events WHERE recorded_at <= $1", k)
        total = await conn.fetchval("SELECT count(*) FROM events")
    finally:
        await conn.close()
    return k.isoformat().replace("+00:00", "Z"), known, total


def read_loads(base: str, entity: str, known_at: str) -> list[Load]:
    state = f"/v1/entities/{entity}/state"
    past = f"{state}?known_at={known_at}"
    now = httpx.get(base + state, timeout=TIMEOUT)
    then = httpx.get(base + past, timeout=TIMEOUT)
    for response in (now, then):
        if response.status_code != 200:
            raise RuntimeError(f"{response.request.url}: {response.status_code} {response.text}")
    if "immutable" not in then.headers.get("cache-control", ""):
        raise RuntimeError(f"the past answer is not immutable: {then.headers}")
    etag = now.headers["etag"]
    return [
        Load("GET /health/live (trivial JSON)", "GET", "/health/live", 200),
        Load("GET state, known_at now", "GET", state, 200),
        Load("GET state, past known_at", "GET", past, 200),
        Load("GET state, now, If-None-Match (304)", "GET", state, 304, {"If-None-Match": etag}),
    ]


# --------------------------------------------------------------------------- 2. appends


def append_bodies(seed: int) -> tuple[list[dict], tuple[str, ...]]:
    """The registrations (JSON builtins) and BODIES event templates (__ID__ for the id)."""
    rng = random.Random(seed)
    regs = registrations(COMPANIES, rng)
    events = timeline_events(BODIES, COMPANIES, rng)
    reg_docs = [json.loads(canonical(e)) for e in regs]
    templates = []
    for event in events:
        text = canonical(event).decode()
        templates.append(text.replace(str(event.id), "__ID__"))
    return reg_docs, tuple(templates)


async def _write_token(url: str) -> str:
    conn = await asyncpg.connect(url)
    try:
        return await tokens.create_token(conn, scope="write", name="bench_api")
    finally:
        await conn.close()


_SIZE_AND_PROJECTED = "SELECT (SELECT count(*) FROM events), (SELECT position FROM rm_state)"


async def _log_size(url: str) -> tuple[int, int]:
    conn = await asyncpg.connect(url)
    try:
        # One statement, one snapshot: an append still in flight cannot fall between the two.
        size, projected = await conn.fetchrow(_SIZE_AND_PROJECTED)
    finally:
        await conn.close()
    return size, projected


_TICK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def _descendants(pid: int) -> list[int]:
    """`pid` and every process below it (Linux /proc; [] elsewhere)."""
    found, todo = [], [pid]
    while todo:
        p = todo.pop()
        found.append(p)
        with contextlib.suppress(OSError):
            with open(f"/proc/{p}/task/{p}/children") as f:
                todo.extend(int(c) for c in f.read().split())
    return found


def _cpu_of(pid: int) -> tuple[str, float]:
    """(command line, user + system CPU seconds) of a process; ("", 0) if it is gone."""
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            cmdline = f.read().replace(b"\0", b" ").decode(errors="replace")
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rpartition(")")[2].split()
    except OSError:
        return "", 0.0
    return cmdline, (int(fields[11]) + int(fields[12])) / _TICK


@dataclasses.dataclass(frozen=True)
class Cpu:
    """CPU seconds of the service's processes: the API (server and workers) and the projector
    (a process of its own, when it runs in one)."""

    api: float
    projector: float

    @classmethod
    def sample(cls, served: Served, projector: subprocess.Popen | None) -> Cpu:
        api = own = 0.0
        pids = _descendants(served.process.pid)
        if projector is not None:
            pids += _descendants(projector.pid)
        for pid in pids:
            cmdline, seconds = _cpu_of(pid)
            if " projections run" in cmdline:
                own += seconds
            else:
                api += seconds
        return cls(api, own)

    def __sub__(self, other: Cpu) -> Cpu:
        return Cpu(self.api - other.api, self.projector - other.projector)


@dataclasses.dataclass(frozen=True)
class AppendResult:
    measure: Measure
    projector_behind: int
    """Events the read-model projector had not applied when the measurement ended."""
    trivial: Measure | None = None
    """The same server's GET /health/live, same connections and duration, measured after the
    projector caught up (so its work does not slow the baseline)."""
    caught_up_seconds: float = 0.0
    """How long the projector took to catch up after the measurement."""
    cpu: Cpu | None = None
    """CPU the service used during the measurement and until its projector caught up."""
    trivial_cpu: Cpu | None = None
    """CPU the service used during the trivial measurement."""


async def _caught_up(url: str, within: float = CATCH_UP_SECONDS) -> float:
    """Seconds until the read models reach the log's head (RuntimeError after `within`)."""
    start = time.perf_counter()
    while True:
        size, projected = await _log_size(url)
        if projected >= size:
            return time.perf_counter() - start
        if time.perf_counter() - start > within:
            raise RuntimeError(f"the projector is still {size - projected} events behind")
        await asyncio.sleep(0.1)


@contextlib.asynccontextmanager
async def _append_server(
    admin_url: str, name: str, projector: str, workers: int
) -> AsyncIterator[tuple[str, Served, subprocess.Popen | None, dict[str, str]]]:
    """A scratch database `name` and `timeline serve` on it, its projector as `projector` says
    (`default`: the one serve starts; `separate`: none in serve, `projecting` beside it): the
    database URL, the server, the separate projector (or None) and write headers with a token."""
    async with scratch_database(admin_url, name) as url:
        separate = projector == "separate"
        env = {"TIMELINE_PROJECTOR": "0"} if separate else None
        with (
            serving(url, seed=False, workers=workers, env=env) as served,
            projecting(url) if separate else contextlib.nullcontext() as own,
        ):
            token = await _write_token(url)
            headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
            yield url, served, own, headers


def measure_http_appends(
    admin_url: str,
    client: Client,
    *,
    writers: int,
    seconds: float,
    warmup: float,
    seed: int,
    workers: int,
    profiler: Profiler,
    projector: str = "default",
) -> AppendResult:
    regs, templates = append_bodies(seed)

    async def scenario() -> AppendResult:
        async with _append_server(admin_url, "bench_api_appends", projector, workers) as server:
            url, served, own, headers = server
            async with httpx.AsyncClient(timeout=60) as http:
                r = await http.post(f"{served.base}/v1/events", json=regs, headers=headers)
                if r.status_code != 201:
                    raise RuntimeError(f"registrations: {r.status_code} {r.text}")
            load = Load(
                f"POST /v1/events x{writers}", "POST", "/v1/events", 201, headers, templates
            )
            warm = await asyncio.to_thread(
                client.run, served.base, load, connections=writers, seconds=warmup
            )
            await checkpoint(admin_url)
            spy = profiler.start(served, f"append_x{writers}", seconds)
            before = Cpu.sample(served, own)
            measured = await asyncio.to_thread(
                client.run, served.base, load, connections=writers, seconds=seconds
            )
            profiler.wait(spy)
            size, projected = await _log_size(url)
            caught_up = await _caught_up(url)
            cpu = Cpu.sample(served, own) - before
            trivial_load = Load("GET /health/live", "GET", "/health/live", 200)
            await asyncio.to_thread(
                client.run, served.base, trivial_load, connections=writers, seconds=warmup
            )
            before = Cpu.sample(served, own)
            trivial = await asyncio.to_thread(
                client.run, served.base, trivial_load, connections=writers, seconds=seconds
            )
            trivial_cpu = Cpu.sample(served, own) - before
        # Requests still in flight when wrk stops are appended, but their answers are not
        # counted: up to one per client per run.
        expected = len(regs) + warm.ok + measured.ok
        if not expected <= size <= expected + 2 * writers:
            raise RuntimeError(
                f"{size} events in the log, expected {expected} (setup + 201s) "
                f"to {expected + 2 * writers} (+ answers in flight when the clients stopped)"
            )
        return AppendResult(measured, size - projected, trivial, caught_up, cpu, trivial_cpu)

    return asyncio.run(scenario())


def measure_raw_appends(
    admin_url: str, *, writers: int, seconds: float, warmup: float, seed: int
) -> Measure:
    """`writers` connections, each INSERTing one row per transaction (autocommit) for `seconds`,
    into bench_append.py's plain table. Rows: the events of the append bodies (about the same
    payloads), each with a new position and id."""
    data = dataset(warmup=0, measured=BODIES, companies=COMPANIES, seed=seed)
    templates = data.measured.rows
    positions = itertools.count(len(data.setup) + 1)

    def row(n: int) -> tuple:
        template = templates[n % len(templates)]
        return (next(positions), uuid.uuid4(), *template[2:])

    async def insert_for(conns: list[asyncpg.Connection], duration: float) -> Measure:
        latencies: list[float] = []
        start = time.perf_counter()
        deadline = start + duration

        async def worker(i: int, conn: asyncpg.Connection) -> int:
            n = 0
            while time.perf_counter() < deadline:
                values = row(i + n * writers)
                t0 = time.perf_counter()
                await conn.execute(INSERT_ROW, *values)
                latencies.append(time.perf_counter() - t0)
                n += 1
            return n

        done = sum(await asyncio.gather(*(worker(i, c) for i, c in enumerate(conns))))
        elapsed = time.perf_counter() - start
        p50, p99 = percentiles(latencies)
        return Measure(done, elapsed, p50 * 1000, p99 * 1000, ok=done, bad=0, errors=0)

    async def scenario() -> Measure:
        async with scratch_database(admin_url, "bench_api_raw") as url:
            conns = [await asyncpg.connect(url) for _ in range(writers)]
            try:
                await conns[0].execute(PLAIN_TABLE)
                await conns[0].copy_records_to_table(
                    "events", records=data.setup.rows, columns=COLUMNS
                )
                warm = await insert_for(conns, warmup)
                await checkpoint(admin_url)
                measured = await insert_for(conns, seconds)
                count = await conns[0].fetchval("SELECT count(*) FROM events")
            finally:
                for conn in conns:
                    await conn.close()
        if count != len(data.setup) + warm.ok + measured.ok:
            raise RuntimeError(
                f"raw: {count} rows, expected {len(data.setup) + warm.ok + measured.ok}"
            )
        return measured

    return asyncio.run(scenario())


# --------------------------------------------------------------------------- 3. batches


def _batch_data(batches: int, seed: int):
    return dataset(warmup=2 * BATCH, measured=batches * BATCH, companies=COMPANIES, seed=seed)


def _array_bodies(events: list) -> list[bytes]:
    """JSON arrays of BATCH events each (the events' own canonical bytes, ids included)."""
    return [
        b"[" + b",".join(canonical(e) for e in events[i : i + BATCH]) + b"]"
        for i in range(0, len(events), BATCH)
    ]


def measure_http_batches(
    admin_url: str,
    *,
    batches: int,
    seed: int,
    workers: int,
    profiler: Profiler,
    projector: str = "default",
) -> AppendResult:
    """One client POSTing arrays of BATCH events, each answer awaited before the next."""
    data = _batch_data(batches, seed)
    setup = _array_bodies(data.setup.events)
    warm = _array_bodies(data.warmup.events)
    measured = _array_bodies(data.measured.events)

    async def scenario() -> AppendResult:
        async with _append_server(admin_url, "bench_api_batches", projector, workers) as server:
            url, served, own, headers = server
            async with httpx.AsyncClient(base_url=served.base, timeout=120) as http:

                async def post(bodies: list[bytes]) -> list[float]:
                    latencies = []
                    for body in bodies:
                        t0 = time.perf_counter()
                        r = await http.post("/v1/events", content=body, headers=headers)
                        latencies.append(time.perf_counter() - t0)
                        if r.status_code != 201:
                            raise RuntimeError(f"batch: {r.status_code} {r.text[:500]}")
                    return latencies

                await post(setup)
                await post(warm)
                await _caught_up(url)
                await checkpoint(admin_url)
                spy = profiler.start(served, "batches", 2 + len(measured) // 4)
                before = Cpu.sample(served, own)
                start = time.perf_counter()
                latencies = await post(measured)
                seconds = time.perf_counter() - start
                profiler.wait(spy)
            size, projected = await _log_size(url)
            caught_up = await _caught_up(url)
            cpu = Cpu.sample(served, own) - before
        if size != data.total:
            raise RuntimeError(f"batches: {size} events in the log, expected {data.total}")
        p50, p99 = percentiles(latencies)
        n = len(data.measured)
        m = Measure(n, seconds, p50 * 1000, p99 * 1000, ok=n, bad=0, errors=0)
        return AppendResult(m, size - projected, None, caught_up, cpu)

    return asyncio.run(scenario())


def measure_raw_copy(admin_url: str, *, batches: int, seed: int) -> Measure:
    """The same rows as `measure_http_batches` appends, COPYed BATCH at a time on one
    connection into bench_append.py's plain table."""
    data = _batch_data(batches, seed)

    async def scenario() -> Measure:
        async with scratch_database(admin_url, "bench_api_copy") as url:
            conn = await asyncpg.connect(url)
            try:
                await conn.execute(PLAIN_TABLE)
                latencies = []
                for part in (data.setup, data.warmup):
                    await conn.copy_records_to_table("events", records=part.rows, columns=COLUMNS)
                await checkpoint(admin_url)
                start = time.perf_counter()
                rows = data.measured.rows
                for i in range(0, len(rows), BATCH):
                    t0 = time.perf_counter()
                    await conn.copy_records_to_table(
                        "events", records=rows[i : i + BATCH], columns=COLUMNS
                    )
                    latencies.append(time.perf_counter() - t0)
                seconds = time.perf_counter() - start
                count = await conn.fetchval("SELECT count(*) FROM events")
            finally:
                await conn.close()
        if count != data.total:
            raise RuntimeError(f"raw COPY: {count} rows, expected {data.total}")
        p50, p99 = percentiles(latencies)
        n = len(data.measured)
        return Measure(n, seconds, p50 * 1000, p99 * 1000, ok=n, bad=0, errors=0)

    return asyncio.run(scenario())


# --------------------------------------------------------------------------- report


def _median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


@dataclasses.dataclass
class Figures:
    label: str
    runs: list[Measure] = dataclasses.field(default_factory=list)
    failure: str = ""

    @property
    def rate(self) -> float:
        return _median([m.rate for m in self.runs])

    @property
    def p50(self) -> float:
        return _median([m.p50_ms for m in self.runs])

    @property
    def p99(self) -> float:
        return _median([m.p99_ms for m in self.runs])

    def spread(self) -> str:
        if len(self.runs) < 2:
            return ""
        rates = [m.rate for m in self.runs]
        return f"({min(rates):,.0f}-{max(rates):,.0f})"

    def problems(self) -> str:
        bad = sum(m.bad for m in self.runs)
        errors = sum(m.errors for m in self.runs)
        out = []
        if bad:
            statuses = ",".join(sorted({m.bad_status for m in self.runs if m.bad_status}))
            out.append(f"{bad:,} unexpected status ({statuses})")
        if errors:
            out.append(f"{errors:,} socket errors/timeouts")
        return "; ".join(out)


def _row(fig: Figures, unit: str, ratio: float | None = None, aim: float | None = None) -> None:
    if not fig.runs:
        print(f"   {fig.label:<44} failed: {fig.failure}")
        return
    text = f"   {fig.label:<44}{fig.rate:>10,.0f} {unit:<6}{fig.spread():<17}"
    text += f"{fig.p50:>8.2f}{fig.p99:>9.2f}"
    if ratio is not None:
        text += f"{ratio:>9.2f}"
        if aim is not None:
            text += f"   aim >= {aim:g}: {'met' if ratio >= aim else 'MISSED'}"
    problems = fig.problems()
    if problems:
        text += f"   [{problems}]"
    print(text)
    if fig.failure:
        print(f"   {'':<44}a round failed ({fig.failure}); the figures are of the other rounds")


def _cpu_line(results: list[AppendResult], digits: int = 2) -> str:
    """The service's CPU per appended event (median over rounds): API processes, projector
    process; and per trivial request, with the ratio (trivial / append) the rate ratio would
    be if the API's CPU were the only limit. `digits`: decimals of the milliseconds."""
    api = _median([r.cpu.api * 1000 / r.measure.ok for r in results if r.cpu and r.measure.ok])
    own = _median(
        [r.cpu.projector * 1000 / r.measure.ok for r in results if r.cpu and r.measure.ok]
    )
    text = f"CPU per event: API {api:.{digits}f} ms"
    if own:
        text += f" + projector process {own:.{digits}f} ms"
    trivial = [
        r.trivial_cpu.api * 1000 / r.trivial.ok
        for r in results
        if r.trivial_cpu and r.trivial and r.trivial.ok
    ]
    if trivial:
        t = _median(trivial)
        text += f"; per trivial request {t:.2f} ms (API CPU ratio {t / api:.2f})"
    return text


def _command(args: argparse.Namespace, origin: str) -> str:
    argv = [".venv/bin/python", "bench/bench_api.py"]
    if origin == "flag":
        argv += ["--database-url", redacted(args.database_url)]
    argv += ["--duration", f"{args.duration:g}", "--warmup", f"{args.warmup:g}"]
    argv += ["--repeat", str(args.repeat), "--connections", str(args.connections)]
    argv += ["--writers", ",".join(map(str, args.writers)), "--threads", str(args.threads)]
    argv += ["--entity", args.entity, "--workers", str(args.workers), "--seed", str(args.seed)]
    argv += ["--batches", str(args.batches)]
    if args.skip_reads:
        argv.append("--skip-reads")
    if args.skip_single:
        argv.append("--skip-single")
    if args.projector != "default":
        argv += ["--projector", args.projector]
    if args.client != "auto":
        argv += ["--client", args.client]
    command = shlex.join(argv)
    if origin == "env":
        command = "TIMELINE_DATABASE_URL=... " + command + "   # the URL from the environment"
    if origin == "embedded":
        command += "   # no URL: an embedded PostgreSQL in a temporary directory"
    return command


def _parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--database-url",
        help="admin URL of a PostgreSQL server (default: $TIMELINE_DATABASE_URL, else an "
        "embedded one); scratch databases are created and dropped on it",
    )
    parser.add_argument("--duration", type=float, help=f"seconds per measurement ({DURATION:g})")
    parser.add_argument("--warmup", type=float, help=f"seconds of warm-up before each ({WARMUP:g})")
    parser.add_argument("--repeat", type=int, help=f"rounds; medians are shown ({REPEAT})")
    parser.add_argument(
        "--connections", type=int, default=CONNECTIONS, help="client connections for the reads"
    )
    parser.add_argument(
        "--writers",
        type=lambda s: [int(x) for x in s.split(",") if x],
        default=list(WRITERS),
        help="concurrent append clients, comma-separated (8,32)",
    )
    parser.add_argument("--threads", type=int, default=1, help="wrk threads (1)")
    parser.add_argument(
        "--batches",
        type=int,
        help=f"batched appends: POSTs of {BATCH:,} events per round ({BATCHES}; --quick: "
        f"{QUICK_BATCHES})",
    )
    parser.add_argument(
        "--skip-reads", action="store_true", help="measure the appends only (sections 2 and 3)"
    )
    parser.add_argument(
        "--skip-single",
        action="store_true",
        help="skip the single-event appends (section 2); with --skip-reads: the batches only",
    )
    parser.add_argument("--entity", default="ymtc", help="the seed company whose state is read")
    parser.add_argument("--workers", type=int, default=1, help="granian worker processes (1)")
    parser.add_argument("--seed", type=int, default=1, help="seed of the generated events")
    parser.add_argument("--client", choices=("auto", "wrk", "python"), default="auto")
    parser.add_argument(
        "--projector",
        choices=("default", "separate"),
        default="default",
        help="appends: the read-model projector as `timeline serve` runs it by default (a "
        "process of its own that serve starts), or started beside a server that runs none "
        "(TIMELINE_PROJECTOR=0 + timeline projections run)",
    )
    parser.add_argument(
        "--py-spy",
        type=Path,
        metavar="DIR",
        help="record a py-spy flame graph of the server worker during each measured run "
        "(slows the server; for finding causes, not for figures)",
    )
    parser.add_argument(
        "--py-spy-format", choices=("flamegraph", "raw", "speedscope"), default="flamegraph"
    )
    parser.add_argument(
        "--py-spy-gil",
        action="store_true",
        help="sample only the thread holding the GIL (where the CPU goes; py-spy --gil)",
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help=f"smoke run: {QUICK_DURATION:g} s per measurement after {QUICK_WARMUP:g} s, one round",
    )
    args = parser.parse_args(argv)
    if args.duration is None:
        args.duration = QUICK_DURATION if args.quick else DURATION
    if args.warmup is None:
        args.warmup = QUICK_WARMUP if args.quick else WARMUP
    if args.repeat is None:
        args.repeat = 1 if args.quick else REPEAT
    if args.batches is None:
        args.batches = QUICK_BATCHES if args.quick else BATCHES
    if args.client == "auto":
        args.client = "wrk" if shutil.which("wrk") else "python"
    if args.client == "wrk" and not shutil.which("wrk"):
        parser.error("wrk is not installed (apt-get install wrk), use --client python")
    if (
        min(args.duration, args.repeat, args.connections, args.threads, args.batches, *args.writers)
        <= 0
    ):
        parser.error("durations and counts must be positive")
    return args


def main(argv: list[str] | None = None) -> int:
    args = _parse(argv)
    started = time.perf_counter()
    client = Client(args.client, args.threads)
    profiler = Profiler(args.py_spy, args.py_spy_format, args.py_spy_gil)
    seconds, warmup = args.duration, args.warmup
    with server(args.database_url) as srv:
        admin = srv.admin_url
        info = asyncio.run(server_info(admin))

        # 1. Reads: one seeded server; every route measured in each round, in turn.
        reads: list[Figures] = []

        async def read_scenario() -> tuple[str, int, int]:
            async with scratch_database(admin, "bench_api_reads") as url:
                with serving(url, seed=True, workers=args.workers) as served:
                    known_at, known, total = await _past_known_at(url)
                    loads = read_loads(served.base, args.entity, known_at)
                    reads.extend(Figures(load.label) for load in loads)
                    for round_ in range(1, args.repeat + 1):
                        for i, load in enumerate(loads):
                            note(f"reads round {round_}/{args.repeat}: {load.label}")
                            await asyncio.to_thread(
                                client.run,
                                served.base,
                                load,
                                connections=args.connections,
                                seconds=warmup,
                            )
                            name = f"read_{i}_round{round_}"
                            spy = profiler.start(served, name, seconds)
                            reads[i].runs.append(
                                await asyncio.to_thread(
                                    client.run,
                                    served.base,
                                    load,
                                    connections=args.connections,
                                    seconds=seconds,
                                )
                            )
                            profiler.wait(spy)
            return known_at, known, total

        if not args.skip_reads:
            known_at, known, total = asyncio.run(read_scenario())

        # 2. Appends: a fresh database (and server) per measurement; rounds interleave.
        raw = {k: Figures(f"raw INSERT, a transaction each, {k} conns") for k in args.writers}
        api = {k: Figures(f"POST /v1/events, one event, {k} clients") for k in args.writers}
        trivial = {k: Figures(f"GET /health/live, {k} conns, same server") for k in args.writers}
        behind: dict[int, list[int]] = {k: [] for k in args.writers}
        catch_up: dict[int, list[float]] = {k: [] for k in args.writers}
        costs: dict[int, list[AppendResult]] = {k: [] for k in args.writers}
        for round_ in range(1, args.repeat + 1):
            for k in [] if args.skip_single else args.writers:
                note(f"appends round {round_}/{args.repeat}: raw INSERT x{k}")
                try:
                    raw[k].runs.append(
                        measure_raw_appends(
                            admin, writers=k, seconds=seconds, warmup=warmup, seed=args.seed
                        )
                    )
                except Exception as exc:
                    raw[k].failure = f"{type(exc).__name__}: {exc}"
                    note(f"    failed: {traceback.format_exc()}")
                note(f"appends round {round_}/{args.repeat}: POST /v1/events x{k}")
                try:
                    result = measure_http_appends(
                        admin,
                        client,
                        writers=k,
                        seconds=seconds,
                        warmup=warmup,
                        seed=args.seed,
                        workers=args.workers,
                        profiler=profiler,
                        projector=args.projector,
                    )
                    api[k].runs.append(result.measure)
                    behind[k].append(result.projector_behind)
                    catch_up[k].append(result.caught_up_seconds)
                    costs[k].append(result)
                    if result.trivial is not None:
                        trivial[k].runs.append(result.trivial)
                except Exception as exc:
                    api[k].failure = f"{type(exc).__name__}: {exc}"
                    note(f"    failed: {traceback.format_exc()}")

        # 3. Batched appends: a fresh database (and server) per measurement.
        copy = Figures(f"raw COPY, {BATCH:,} rows per call, 1 conn")
        batched = Figures(f"POST /v1/events, {BATCH:,} events per POST, 1 client")
        batch_behind: list[tuple[int, float]] = []
        batch_costs: list[AppendResult] = []
        for round_ in range(1, args.repeat + 1):
            note(f"batches round {round_}/{args.repeat}: raw COPY")
            try:
                copy.runs.append(measure_raw_copy(admin, batches=args.batches, seed=args.seed))
            except Exception as exc:
                copy.failure = f"{type(exc).__name__}: {exc}"
                note(f"    failed: {traceback.format_exc()}")
            note(f"batches round {round_}/{args.repeat}: POST /v1/events x{BATCH}")
            try:
                result = measure_http_batches(
                    admin,
                    batches=args.batches,
                    seed=args.seed,
                    workers=args.workers,
                    profiler=profiler,
                    projector=args.projector,
                )
                batched.runs.append(result.measure)
                batch_behind.append((result.projector_behind, result.caught_up_seconds))
                batch_costs.append(result)
            except Exception as exc:
                batched.failure = f"{type(exc).__name__}: {exc}"
                note(f"    failed: {traceback.format_exc()}")

    print(f"PostgreSQL: {info['version'].split(' on ')[0]} ({srv.origin}: {redacted(admin)})")
    print(
        f"   synchronous_commit={info['synchronous_commit']} fsync={info['fsync']} "
        f"commit_delay={info['commit_delay']}; {os.cpu_count()} CPUs; "
        f"Python {platform.python_version()}"
    )
    print(
        f"Server: timeline serve (granian, {args.workers} worker(s); projector "
        f"{args.projector}) on 127.0.0.1, "
        f"scratch databases; client: {client.describe()}"
    )
    rounds = f"median of {args.repeat} rounds (min-max)" if args.repeat > 1 else "one round"
    print(f"   {seconds:g} s per measurement after {warmup:g} s of warm-up; {rounds}")

    head = f"{'':<47}{'rate':>10} {'':<23}{'p50 ms':>8}{'p99 ms':>9}{'ratio':>9}"
    if not args.skip_reads:
        print(
            f"\n1. Reads, {args.connections} connections; the seed log ({total} events); "
            f"state of {args.entity!r}; past known_at = {known_at} ({known} events known then)"
        )
        print(head)
        baseline = reads[0] if reads else None
        for fig in reads:
            if fig is baseline:
                _row(fig, "req/s", 1.0)
            else:
                ratio = (
                    fig.rate / baseline.rate if baseline and baseline.runs and fig.runs else None
                )
                _row(fig, "req/s", ratio, READ_AIM)

    if not args.skip_single:
        print(
            "\n2. Concurrent single-event appends (each client awaits its answer before the next)"
        )
        print(head)
    for k in [] if args.skip_single else args.writers:
        _row(trivial[k], "req/s", 1.0 if trivial[k].runs else None)
        ratio = api[k].rate / trivial[k].rate if api[k].runs and trivial[k].runs else None
        _row(api[k], "ev/s", ratio, APPEND_TRIVIAL_AIM)
        if behind[k]:
            print(
                f"   {'':<44}read-model projector behind at the end: "
                f"{', '.join(f'{b:,}' for b in behind[k])} events; caught up in "
                f"{', '.join(f'{c:.1f}' for c in catch_up[k])} s"
            )
        if costs[k]:
            print(f"   {'':<44}{_cpu_line(costs[k])}")
        _row(raw[k], "ev/s", 1.0 if raw[k].runs else None)
        ratio = api[k].rate / raw[k].rate if api[k].runs and raw[k].runs else None
        _row(Figures(f"  POST x{k} to raw INSERT", api[k].runs), "ev/s", ratio, APPEND_AIM)

    print(f"\n3. Batched appends, {BATCH:,} events per call, {args.batches} calls per round")
    print(head)
    _row(copy, "ev/s", 1.0 if copy.runs else None)
    ratio = batched.rate / copy.rate if batched.runs and copy.runs else None
    _row(batched, "ev/s", ratio, BATCH_AIM)
    if batch_costs:
        print(f"   {'':<44}{_cpu_line(batch_costs, digits=3)}")
    if batch_behind:
        print(
            f"   {'':<44}read-model projector behind at the end: "
            + ", ".join(f"{b:,} events (caught up in {c:.1f} s)" for b, c in batch_behind)
        )

    print(
        f"\n({time.perf_counter() - started:.0f} s in all) "
        "Reproduce, from the repository root, with:"
    )
    print(_command(args, srv.origin), flush=True)
    singles = () if args.skip_single else (*raw.values(), *api.values(), *trivial.values())
    figures = (*reads, *singles, copy, batched)
    failed = [f for f in figures if not f.runs or f.failure or f.problems()]
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
