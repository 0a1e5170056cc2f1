"""CSL designations: each (row, programme) is a designation of its own, named by the row's
Federal Register notice and id; an `end_date` ends only the designation of its row; a log
imported before designations is not listed twice (real PostgreSQL for the imports)."""

from __future__ import annotations

import csv
import datetime as _dt
import io
import pathlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from events.types import EntityDelisted, EntityListed
from projections import fact_of, list_members, state_as_of
from service.eventlog.store import EventStore
from service.ingest import importers
from service.ingest.csl_designations import (
    CslDesignation,
    designation_id,
    programs_of,
    row_designations,
)
from service.ingest.importers import import_csl

DATA = pathlib.Path(__file__).resolve().parents[1] / "data" / "csl"
CONSOLIDATED = DATA / "csl-consolidated-sample.csv"


def _real_rows() -> tuple[list[str], list[dict[str, str]]]:
    with CONSOLIDATED.open(encoding="utf-8", newline="") as f:
        reader = csv.DictReader(f)
        return list(reader.fieldnames or []), list(reader)


def _sinobright_twice(tmp_path: pathlib.Path) -> pathlib.Path:
    """The file's real Sinobright row (State, INKSNA, listed 2023-07-19), and the same company's
    earlier designation under Executive Order 12938 as a row of its own, ended in 2024."""
    header, rows = _real_rows()
    (inksna,) = [r for r in rows if r["name"].startswith("Sinobright")]
    eo = {
        **inksna,
        "_id": "7c1e0f0e2b0a4a4f8e63a0f1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d6e7",
        "programs": "EO12938",
        "federal_register_notice": "Vol. 87, No. 40, 03/01/2022",
        "start_date": "2022-02-14",
        "end_date": "2024-02-14",
        "remarks": "Imposition of nonproliferation measures.",
    }
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=header, quoting=csv.QUOTE_ALL)
    writer.writeheader()
    writer.writerows([inksna, eo])
    path = tmp_path / "csl.csv"
    path.write_text(out.getvalue(), encoding="utf-8")
    return path


@given(st.lists(st.text(alphabet="AB-EO12 ", max_size=12), max_size=6))
def test_programmes_split_on_semicolons_once_each_in_order(parts: list[str]) -> None:
    programs = programs_of(";".join(parts))
    assert len(programs) == len(set(programs))
    assert all(p and ";" not in p and p == " ".join(p.split()) and p != "-" for p in programs)
    wanted = [" ".join(p.split()) for p in parts]
    assert programs == [
        p for i, p in enumerate(wanted) if p not in ("", "-") and p not in wanted[:i]
    ]


@given(st.text(max_size=600), st.text(alphabet="0123456789abcdef", min_size=1, max_size=56))
def test_a_designation_id_keeps_the_row_id_whole_and_fits(notice: str, row_id: str) -> None:
    made = designation_id(notice, row_id)
    assert made is not None and len(made) <= 500 and made.endswith(row_id)


async def test_a_company_under_two_programmes_stays_listed_under_one_when_the_other_ends(
    store: EventStore, tmp_path: pathlib.Path
) -> None:
    path = _sinobright_twice(tmp_path)
    await import_csl(store, path)
    facts = [fact_of(r) for r in await store.read_after(0, 10_000)]
    listed = [f.event for f in facts if isinstance(f.event, EntityListed)]
    assert sorted(e.program for e in listed) == ["EO12938", "INKSNA"]
    by_program = {e.program: e for e in listed}
    assert by_program["INKSNA"].designation == (
        "Vol. 88, No. 151, 08/08/2023 / 233a4d725770c81fb561ffe3842c14010c2201971d6be62eca1e613b"
    )
    assert by_program["EO12938"].reason == "Imposition of nonproliferation measures."
    (delisted,) = [f.event for f in facts if isinstance(f.event, EntityDelisted)]
    assert delisted.designation == by_program["EO12938"].designation
    assert delisted.program == "EO12938" and delisted.listing == by_program["EO12938"].id

    entity, list_id = delisted.entity, delisted.list
    assert entity in {m.entity for m in list_members(facts, list_id, _dt.date(2024, 3, 1))}
    assert entity in {
        m.entity for m in list_members(facts, list_id, _dt.date(2024, 3, 1), program="INKSNA")
    }
    assert entity not in {
        m.entity for m in list_members(facts, list_id, _dt.date(2024, 3, 1), program="EO12938")
    }
    assert entity in {
        m.entity for m in list_members(facts, list_id, _dt.date(2023, 8, 1), program="EO12938")
    }
    assert not state_as_of(entity, facts, _dt.date(2024, 3, 1)).anomalies
    assert (await import_csl(store, path)).new == 0


def _as_before_designations(row, **kw):  # type: ignore[no-untyped-def]
    """What the importer made of a row before designations: the legacy events alone."""
    return [
        CslDesignation(d.legacy_listed, d.legacy_listed, d.legacy_delisted, d.legacy_delisted)
        for d in row_designations(row, **kw)[:1]
    ]


async def test_a_log_imported_before_designations_is_not_listed_twice(
    store: EventStore, tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = _sinobright_twice(tmp_path)
    with monkeypatch.context() as patched:
        patched.setattr(importers, "row_designations", _as_before_designations)
        await import_csl(store, path)
    old = [r.event for r in await store.read_after(0, 1000) if r.type != "EntityRegistered"]
    assert [type(e).__name__ for e in old] == ["EntityListed", "EntityListed", "EntityDelisted"]
    assert all(e.designation is None for e in old)

    report = await import_csl(store, path)
    assert report.new == 3  # two named listings and the named delisting, nothing else
    new = [r.event for r in await store.read_after(0, 1000)][-3:]
    assert {u for e in new for u in e.supersedes} == {e.id for e in old}
    assert (await import_csl(store, path)).new == 0

    facts = [fact_of(r) for r in await store.read_after(0, 1000)]
    entity, list_id = old[0].entity, old[0].list
    state = state_as_of(entity, facts, _dt.date(2024, 3, 1))
    (listing,) = [item for item in state.listings if item.list == list_id]
    assert [(d.program, d.designation is not None) for d in listing.designations] == [
        ("INKSNA", True)
    ]
    earlier = state_as_of(entity, facts, _dt.date(2023, 8, 1))
    (listing,) = [item for item in earlier.listings if item.list == list_id]
    assert sorted(d.program for d in listing.designations) == ["EO12938", "INKSNA"]
    assert not state.anomalies
