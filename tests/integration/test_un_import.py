"""The UN Security Council list through `timeline import-un` into real PostgreSQL: every regime's
members on every listing date (every regime on every day a designation was listed, read from the
read model in one query a day) equal the plain count from the XML, a second import adds nothing,
and a later snapshot with records removed delists exactly those."""

from __future__ import annotations

import asyncio
import datetime as _dt
import pathlib
import xml.etree.ElementTree as ET

import asyncpg
import pytest

from events import EntityDelisted
from service.cli.main import main
from service.eventlog.store import EventStore
from service.ingest.importers import ImportFailed
from service.ingest.un import UN_LIST_ID, import_un
from service.readmodels.projector import Projector
from service.readmodels.queries import (
    count_list_members,
    count_list_members_by_program,
    list_members,
)
from tests.support.un_counts import members_as_of, members_on_each_listing_date

XML = (
    pathlib.Path(__file__).resolve().parents[1] / "data" / "un-sc-consolidated" / "consolidated.xml"
)
GONE = ("QDe.001", "KPe.023", "CDi.001", "TAi.173", "IRe.001")


def _smaller_copy(tmp_path: pathlib.Path, generated: str) -> pathlib.Path:
    """The fixture with the records of GONE deleted, generated on `generated`."""
    tree = ET.parse(XML)  # noqa: S314
    root = tree.getroot()
    root.set("dateGenerated", generated)
    for section in root:
        for record in list(section):
            if (record.findtext("REFERENCE_NUMBER") or "").strip() in GONE:
                section.remove(record)
    path = tmp_path / "smaller.xml"
    tree.write(path, encoding="utf-8", xml_declaration=True)
    return path


async def _members_by_program(pool: asyncpg.Pool, day: _dt.date) -> dict[str, int]:
    """The read model's members of each regime on `day`, each counted as the members API does
    (`list_members` with a programme): the answer `count_list_members_by_program` must equal."""
    counts: dict[str, int] = {}
    for program in members_as_of(XML, _dt.date.max):
        found = len(await list_members(pool, UN_LIST_ID, day, program=program))
        if found:
            counts[program] = found
    return counts


def test_the_whole_list_imports_through_the_cli_and_every_regime_counts_right(
    database_url: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("TIMELINE_DATABASE_URL", database_url)
    assert main(["import-un", str(XML)]) == 0
    summary = capsys.readouterr().err
    assert "2007 events (2007 new, 0 already in the log) from 1003 rows" in summary
    assert main(["import-un", str(XML)]) == 0
    assert "0 events (0 new, 0 already in the log)" in capsys.readouterr().err

    async def check() -> None:
        async with asyncpg.create_pool(database_url, min_size=1, max_size=2) as pool:
            await Projector(pool).catch_up()
            # A regime's members change only on the days it lists someone: on every listing
            # day every regime is counted, and so is the whole list.
            by_day = members_on_each_listing_date(XML)
            for day, expected in by_day.items():
                found = await count_list_members_by_program(pool, UN_LIST_ID, day)
                assert found == expected, day
                everyone = await count_list_members(pool, UN_LIST_ID, day)
                assert everyone == sum(expected.values()), day
            first, last = min(by_day), max(by_day)
            before = first - _dt.timedelta(days=1)
            assert await count_list_members_by_program(pool, UN_LIST_ID, before) == {}
            # The one-query count is what the members API answers for each programme.
            middle = sorted(by_day)[len(by_day) // 2]
            for day in (first, middle, last):
                assert await _members_by_program(pool, day) == by_day[day], day

    asyncio.run(check())


async def test_a_smaller_later_snapshot_delists_exactly_the_records_removed(
    store: EventStore, pool: asyncpg.Pool, tmp_path: pathlib.Path
) -> None:
    await import_un(store, XML)
    size = (await store.head()).position
    again = await import_un(store, XML)
    assert again.new == 0 and (await store.head()).position == size

    smaller = _smaller_copy(tmp_path, "2026-03-20T08:00:00Z")
    report = await import_un(store, smaller)
    assert report.new == len(GONE) and report.read == 1003 - len(GONE)
    delisted = [
        r.event for r in await store.read_after(size, 100) if isinstance(r.event, EntityDelisted)
    ]
    assert sorted(e.designation for e in delisted) == sorted(GONE)
    assert {str(e.occurred) for e in delisted} == {"2026-03-20"}
    assert (await import_un(store, smaller)).new == 0

    await Projector(pool).catch_up()
    before = members_as_of(XML, _dt.date(2026, 3, 19))
    assert await count_list_members_by_program(pool, UN_LIST_ID, _dt.date(2026, 3, 19)) == before
    after = await _members_by_program(pool, _dt.date(2026, 3, 20))
    assert await count_list_members_by_program(pool, UN_LIST_ID, _dt.date(2026, 3, 20)) == after
    assert sum(before.values()) - sum(after.values()) == len(GONE)
    assert before["Al-Qaida"] - after["Al-Qaida"] == 1  # QDe.001
    assert before["Taliban"] - after["Taliban"] == 1  # TAi.173
    on_list = {m.entity for m in await list_members(pool, UN_LIST_ID, _dt.date(2026, 3, 20))}
    assert "un-qde-001" not in on_list and "un-qde-002" in on_list


def _with_a_control_character(tmp_path: pathlib.Path, ordinal: int) -> tuple[pathlib.Path, str]:
    """The fixture with U+0080 (a control character no event may hold) in the name of its
    record number `ordinal` (from 0, in file order), and that record's reference number."""
    tree = ET.parse(XML)  # noqa: S314
    records = [r for section in tree.getroot() for r in section]
    record = records[ordinal]
    first = record.find("FIRST_NAME")
    assert first is not None and first.text
    first.text = f"{first.text}\x80"
    path = tmp_path / "control.xml"
    tree.write(path, encoding="utf-8", xml_declaration=True)
    return path, (record.findtext("REFERENCE_NUMBER") or "").strip()


async def test_a_record_refused_while_batches_commit_stops_the_import_after_the_batches_before_it(
    store: EventStore, tmp_path: pathlib.Path
) -> None:
    bad, reference = _with_a_control_character(tmp_path, 9)
    with pytest.raises(ImportFailed) as refused:
        await import_un(store, bad, batch_size=4)
    assert refused.value.field == f"{reference}: names.en"
    # The list's registration, then a registration and a listing per record: record 9's
    # registration is event 19, in the fifth batch of 4; the four batches before it are in.
    assert (await store.head()).position == 16
    report = await import_un(store, XML, batch_size=4)
    assert report.events == report.new == 2007 - 16  # what the log held is not planned again
    assert (await store.head()).position == 2007
