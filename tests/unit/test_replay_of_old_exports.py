"""An export written before designations, names over time and ownership existed replays to the
very bytes the API served then: a log that uses none of the new fields keeps its answers."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from projections.audit.replay import facts_of, replay

DATA = Path(__file__).resolve().parents[1] / "data"
EXPORT = DATA / "export-before-designations.ndjson"
ANSWERS = json.loads((DATA / "answers-before-designations.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def facts() -> list:
    with EXPORT.open("rb") as stream:
        return facts_of(stream)


@pytest.mark.parametrize("answer", ANSWERS, ids=[f"{a['entity']}@{a['as_of']}" for a in ANSWERS])
def test_replay_of_an_export_made_before_designations_gives_the_bytes_served_then(
    facts: list, answer: dict
) -> None:
    as_of = dt.date.fromisoformat(answer["as_of"])
    known_at = dt.datetime.fromisoformat(answer["known_at"])
    (body,) = replay(facts, as_of, known_at, answer["entity"])
    assert body.decode() == answer["body"]
