"""Read-replica routing against a real hot standby.

A primary and two streaming-replication standbys run from PostgreSQL's own binaries (the
`pgserver` package's; tests/support/standby_pg.py). The service runs in-process with
`TIMELINE_DATABASE_URL` on the primary and `TIMELINE_READ_DATABASE_URL` on a standby.

The guarantee under test (service/reads/replicas.py): an answer at a past `known_at` K may come
from the standby once it has replayed past K; an answer at "now" (no K, or a K after the last
event) never does, so a standby that lags is never served as current. How it is shown:

- With the primary frozen (SIGSTOP: nothing it holds can answer), an answer at a past K still
  comes: the standby served it. An answer at "now" does not (503), since it is not the
  standby's to give.
- With the standby's replay held (`pg_wal_replay_pause()`), events appended on the primary
  are in every current answer (no K, and K = now), with the log size, validators and cache
  of the new log; a K pinned before the append still gets its immutable answer.
- After `pg_wal_replay_resume()` the standby catches up and serves the new moment.
- One read URL that moves from a standby past K to one held before K (as a `-ro` service in
  front of several standbys may): answers at K still hold every event known at K, since each
  connection is checked, not the URL.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as _dt
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import pytest
from litestar.testing import AsyncTestClient

from service.access import tokens
from service.db.migrate import migrate
from service.http.answers import LOG_SIZE_HEADER
from service.http.app import create_app
from service.http.responses import IMMUTABLE, REVALIDATE
from service.settings import Settings
from tests.support.apitools import listing, registration
from tests.support.scratch_pg import ScratchCluster
from tests.support.standby_pg import (
    Standby,
    StandbyAddress,
    database_url,
    pause_replay,
    primary_and_standbys,
    replayed_all_of,
    resume_replay,
)

AS_OF = "2023-01-01"
LATER_AS_OF = "2023-06-01"  # a world date first asked with the primary frozen
_PROJECTOR_BEHIND = (
    "SELECT (SELECT coalesce(max(position), 0) FROM events) > (SELECT position FROM rm_state)"
)


@pytest.fixture(scope="module")
def clusters() -> Iterator[tuple[ScratchCluster, list[Standby]]]:
    with primary_and_standbys(2) as clusters:
        yield clusters


@dataclass(frozen=True)
class Deployment:
    primary: ScratchCluster
    standby: Standby
    """The standby the service reads from (through `standby_url`)."""
    other: Standby
    """A second standby of the same primary."""
    database: str
    primary_url: str
    """The service's database on the primary."""
    standby_url: str
    """The same database, on the standby."""
    token: str


@pytest.fixture
async def deployment(
    clusters: tuple[ScratchCluster, list[Standby]],
) -> AsyncIterator[Deployment]:
    """A database of its own on the primary, migrated by the service's migration, with a write
    token; replay is released again at the end, whatever the test did."""
    primary, (standby, other) = clusters
    name = f"timeline_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(primary.url)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    conn = await asyncpg.connect(database_url(primary.url, name))
    try:
        await migrate(conn)
        token = await tokens.create_token(conn, scope="write", name="standby")
    finally:
        await conn.close()
    await replayed_all_of(primary.url, standby.url)
    try:
        yield Deployment(
            primary,
            standby,
            other,
            name,
            database_url(primary.url, name),
            database_url(standby.url, name),
            token,
        )
    finally:
        primary.thaw()
        await resume_replay(standby.url)
        await resume_replay(other.url)


def _app(deployment: Deployment, data_dir: Path, read_database_url: str | None = None):
    return create_app(
        Settings(
            database_url=deployment.primary_url,
            read_database_url=read_database_url or deployment.standby_url,
            data_dir=data_dir,
            db_connect_timeout=1.0,
            db_acquire_timeout=1.0,
            db_command_timeout=1.0,
        )
    )


async def _append(client: AsyncTestClient, token: str, *bodies: dict) -> dict:
    response = await client.post(
        "/v1/events", json=list(bodies), headers={"Authorization": f"Bearer {token}"}
    )
    assert response.status_code == 201, response.text
    return response.json()["events"][-1]


async def _projected(deployment: Deployment) -> None:
    """Wait until the primary's read models include its whole log."""
    conn = await asyncpg.connect(deployment.primary_url)
    try:
        deadline = time.monotonic() + 20
        while await conn.fetchval(_PROJECTOR_BEHIND):
            assert time.monotonic() < deadline, "the projector did not catch up"
            await asyncio.sleep(0.05)
    finally:
        await conn.close()


async def _settled(deployment: Deployment) -> None:
    """Wait until the primary's read models include its whole log and the standby has replayed
    all of it (read models included)."""
    await _projected(deployment)
    await replayed_all_of(deployment.primary.url, deployment.standby.url)


async def _standby_log_size(deployment: Deployment) -> int:
    return await _log_size(deployment.standby_url)


async def _log_size(url: str) -> int:
    conn = await asyncpg.connect(url)
    try:
        return await conn.fetchval("SELECT coalesce(max(position), 0) FROM events")
    finally:
        await conn.close()


async def _members(client: AsyncTestClient, as_of: str = AS_OF, **params: str):
    response = await client.get(
        "/v1/lists/us-entity-list/members", params={"as_of": as_of, **params}
    )
    assert response.status_code == 200, response.text
    return sorted(m["entity"] for m in response.json()["members"]), response


async def _seed(client: AsyncTestClient, token: str) -> str:
    """The list and two listed companies; the `recorded_at` of the listings (a past K)."""
    await _append(client, token, registration("us-entity-list", "list"))
    await _append(client, token, registration("ymtc"), registration("huawei"))
    listed = await _append(client, token, listing("ymtc"), listing("huawei", "2019-05-16"))
    return listed["recorded_at"]


@contextlib.contextmanager
def _frozen(cluster: ScratchCluster) -> Iterator[None]:
    """The cluster stopped dead (SIGSTOP) for the block: nothing it holds can answer."""
    cluster.freeze()
    try:
        yield
    finally:
        cluster.thaw()


def _now() -> str:
    return _dt.datetime.now(_dt.UTC).isoformat()


async def test_with_the_primary_frozen_a_past_known_at_is_answered_by_the_standby(
    deployment: Deployment, tmp_path: Path
) -> None:
    async with AsyncTestClient(_app(deployment, tmp_path / "replicated")) as client:
        listed = await _seed(client, deployment.token)
        await _settled(deployment)
        questions = {
            "/v1/lists/us-entity-list/members": {"as_of": AS_OF, "known_at": listed},
            "/v1/entities/ymtc/state": {"as_of": AS_OF, "known_at": listed},
            # read models read through a cursor, in a read-only transaction
            "/v1/changes": {"from": "2019-01-01", "to": AS_OF, "known_at": listed},
        }
        with _frozen(deployment.primary):
            # A read that needed the frozen primary would be a 503 (every wait is bounded: 1 s).
            from_standby = {path: await client.get(path, params=q) for path, q in questions.items()}
            # An answer at "now" is the primary's alone: with the primary frozen there is none.
            now = await client.get(
                "/v1/lists/us-entity-list/members", params={"as_of": "2024-01-01"}
            )
            assert now.status_code == 503, now.text
    for response in from_standby.values():
        assert response.status_code == 200, response.text
        assert response.headers["Cache-Control"] == IMMUTABLE
    members = from_standby["/v1/lists/us-entity-list/members"].json()["members"]
    assert sorted(m["entity"] for m in members) == ["huawei", "ymtc"]
    listings = from_standby["/v1/entities/ymtc/state"].json()["listings"]
    assert [x["list"] for x in listings] == ["us-entity-list"]
    changes = from_standby["/v1/changes"].json()["changes"]
    assert {c["entity"] for c in changes} == {"huawei", "ymtc"}

    # The standby's immutable answers are the primary's, byte for byte, with the same ETag.
    primary_only = create_app(
        Settings(database_url=deployment.primary_url, data_dir=tmp_path / "primary-only")
    )
    async with AsyncTestClient(primary_only) as client:
        for path, q in questions.items():
            response = await client.get(path, params=q)
            assert response.status_code == 200, response.text
            assert response.content == from_standby[path].content, path
            assert response.headers["ETag"] == from_standby[path].headers["ETag"], path


async def test_while_replay_is_held_current_answers_include_new_events_never_the_standbys(
    deployment: Deployment, tmp_path: Path
) -> None:
    async with AsyncTestClient(_app(deployment, tmp_path)) as client:
        listed = await _seed(client, deployment.token)
        await _settled(deployment)
        pinned_before, pinned_response = await _members(client, known_at=listed)
        current_before, current_response = await _members(client)
        later = (_dt.datetime.now(_dt.UTC) + _dt.timedelta(days=1)).isoformat()
        future_before, _ = await _members(client, known_at=later)
        gap = _now()  # after the listings, before the append below
        gap_before, _ = await _members(client, known_at=gap)
        assert pinned_before == current_before == future_before == gap_before
        assert gap_before == ["huawei", "ymtc"]

        await pause_replay(deployment.standby.url)
        held_at = await _standby_log_size(deployment)
        appended = await _append(
            client, deployment.token, registration("cxmt"), listing("cxmt", "2022-06-01")
        )
        head = appended["position"]
        await _projected(deployment)
        assert await _standby_log_size(deployment) == held_at < head, "replay was not held"

        # No known_at: the new event is there, with the new log's size and validator.
        current, response = await _members(client)
        assert current == ["cxmt", "huawei", "ymtc"]
        assert response.headers[LOG_SIZE_HEADER] == str(head)
        assert response.headers["Cache-Control"] == REVALIDATE
        revalidated = await client.get(
            "/v1/lists/us-entity-list/members",
            params={"as_of": AS_OF},
            headers={"If-None-Match": current_response.headers["ETag"]},
        )
        assert revalidated.status_code == 200, "a validator of the old log still matched"
        assert "cxmt" in revalidated.text

        # known_at = now: after every event, so answered like "now", from the primary.
        now = _now()
        current, response = await _members(client, known_at=now)
        assert current == ["cxmt", "huawei", "ymtc"]
        assert response.headers[LOG_SIZE_HEADER] == str(head)
        assert response.headers["Cache-Control"] == REVALIDATE
        state = await client.get(
            "/v1/entities/cxmt/state", params={"as_of": AS_OF, "known_at": now}
        )
        assert state.status_code == 200, state.text  # the standby has never heard of cxmt
        # A known_at in the future was "now" before the append and is "now" again: the answer
        # kept for it then is not served for the longer log.
        future, response = await _members(client, known_at=later)
        assert future == ["cxmt", "huawei", "ymtc"]
        assert response.headers[LOG_SIZE_HEADER] == str(head)

        # A known_at pinned before the append: the same immutable answer as before, byte for
        # byte, whichever server gave it.
        pinned, response = await _members(client, known_at=listed)
        assert pinned == pinned_before
        assert response.content == pinned_response.content
        assert response.headers["ETag"] == pinned_response.headers["ETag"]
        assert response.headers["Cache-Control"] == IMMUTABLE
        assert await _standby_log_size(deployment) == held_at, "replay was not held"
        # A known_at between the listings and the append: "now" when first asked, immutable
        # now, and still without the appended events.
        at_gap, response = await _members(client, known_at=gap)
        assert at_gap == ["huawei", "ymtc"]
        assert response.headers["Cache-Control"] == IMMUTABLE
        assert int(response.headers[LOG_SIZE_HEADER]) < head

        # The held standby still serves what it has replayed: the pinned K at a world date not
        # asked before (no kept answer) comes with the primary frozen; the gap, which the
        # standby has not replayed past, does not (it is the primary's to answer).
        with _frozen(deployment.primary):
            pinned, _ = await _members(client, as_of=LATER_AS_OF, known_at=listed)
            assert pinned == ["huawei", "ymtc"]
            at_gap = await client.get(
                "/v1/lists/us-entity-list/members", params={"as_of": LATER_AS_OF, "known_at": gap}
            )
            assert at_gap.status_code == 503, at_gap.text


async def test_once_replay_resumes_the_standby_catches_up_and_serves_the_new_moment(
    deployment: Deployment, tmp_path: Path
) -> None:
    async with AsyncTestClient(_app(deployment, tmp_path)) as client:
        await _seed(client, deployment.token)
        await _settled(deployment)
        await pause_replay(deployment.standby.url)
        appended = await _append(
            client, deployment.token, registration("cxmt"), listing("cxmt", "2022-06-01")
        )
        new_moment = appended["recorded_at"]
        await _projected(deployment)
        members, _ = await _members(client, known_at=new_moment)  # from the primary
        assert members == ["cxmt", "huawei", "ymtc"]

        await resume_replay(deployment.standby.url)
        await _settled(deployment)
        assert await _standby_log_size(deployment) == appended["position"]
        with _frozen(deployment.primary):
            members, response = await _members(client, as_of=LATER_AS_OF, known_at=new_moment)
            assert members == ["cxmt", "huawei", "ymtc"]
            assert response.headers["Cache-Control"] == IMMUTABLE
            state = await client.get(
                "/v1/entities/cxmt/state", params={"as_of": LATER_AS_OF, "known_at": new_moment}
            )
            assert state.status_code == 200, state.text


async def test_a_read_address_moved_to_a_standby_further_behind_never_serves_its_stale_answer(
    deployment: Deployment, tmp_path: Path
) -> None:
    """One read URL in front of two standbys (as a `-ro` service is): the router learns that
    the standby behind it has replayed past K, then the address moves to the other standby,
    whose replay is held before K. Answers at K must still hold every event known at K."""
    address = StandbyAddress(deployment.standby)
    try:
        app = _app(deployment, tmp_path, address.url(deployment.database))
        async with AsyncTestClient(app) as client:
            await _seed(client, deployment.token)
            await _settled(deployment)
            await replayed_all_of(deployment.primary.url, deployment.other.url)
            await pause_replay(deployment.other.url)
            appended = await _append(
                client, deployment.token, registration("cxmt"), listing("cxmt", "2022-06-01")
            )
            new_moment = appended["recorded_at"]
            await _settled(deployment)
            # With the primary frozen the answer at the new moment comes: from the first
            # standby, which the service now knows to have replayed past it.
            with _frozen(deployment.primary):
                members, _ = await _members(client, known_at=new_moment)
            assert members == ["cxmt", "huawei", "ymtc"]

            address.point_at(deployment.other)
            await asyncio.sleep(0.2)  # the service sees its connections end
            members, response = await _members(client, as_of=LATER_AS_OF, known_at=new_moment)
            assert members == ["cxmt", "huawei", "ymtc"]
            assert response.headers["Cache-Control"] == IMMUTABLE
            state = await client.get(
                "/v1/entities/cxmt/state", params={"as_of": LATER_AS_OF, "known_at": new_moment}
            )
            assert state.status_code == 200, state.text
            held_at = await _log_size(database_url(deployment.other.url, deployment.database))
            assert held_at < appended["position"], "the second standby's replay was not held"
    finally:
        address.close()
