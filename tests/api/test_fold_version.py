"""An upgrade that changes the fold meets answers served as immutable: the fold version is in
every read answer's ETag and headers, so a revalidation after the upgrade gets the new reading."""

from __future__ import annotations

import pytest
from litestar.testing import AsyncTestClient

from projections.fold.version import FOLD_VERSION
from service.http import reads
from tests.support.apitools import listing

IMMUTABLE = "public, max-age=31536000, immutable"


async def test_an_immutable_answer_is_revalidated_afresh_after_the_fold_version_changes(
    writer: AsyncTestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert (await writer.post("/v1/events", json=[listing("ymtc")])).status_code == 201
    known_at = (await writer.get("/v1/events")).json()["events"][-1]["recorded_at"]
    params = {"as_of": "2023-01-01", "known_at": known_at}
    first = await writer.get("/v1/entities/ymtc/state", params=params)
    assert first.headers["cache-control"] == IMMUTABLE
    assert first.headers["timeline-fold-version"] == str(FOLD_VERSION)
    same = await writer.get(
        "/v1/entities/ymtc/state", params=params, headers={"If-None-Match": first.headers["etag"]}
    )
    assert same.status_code == 304

    monkeypatch.setattr(reads, "FOLD_VERSION", FOLD_VERSION + 1)
    upgraded = await writer.get(
        "/v1/entities/ymtc/state", params=params, headers={"If-None-Match": first.headers["etag"]}
    )
    assert upgraded.status_code == 200
    assert upgraded.headers["etag"] != first.headers["etag"]
    assert upgraded.headers["timeline-fold-version"] == str(FOLD_VERSION + 1)
    members = await writer.get("/v1/lists/us-entity-list/members", params=params)
    assert members.headers["timeline-fold-version"] == str(FOLD_VERSION + 1)
