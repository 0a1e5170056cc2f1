"""The UN list's mapping to events, pure: ids, reasons, one registration and one designation per
record, and what a later snapshot appends against what the log holds (delistings of what is
gone, amendments, nothing for the same snapshot)."""

from __future__ import annotations

import datetime as _dt
import pathlib
import re
from collections import Counter

import msgspec
from hypothesis import given, settings
from hypothesis import strategies as st

from events import EntityDelisted, EntityListed, EntityRegistered, PartialDate
from events.types import ENTITY_ID_PATTERN, EntityRenamed
from service.ingest.un import (
    UN_LIST_ID,
    UN_URL,
    UnLogState,
    delistings,
    read_snapshot,
    reason_of,
    snapshot_events,
    un_entity_id,
)
from tests.support.un_counts import date_generated, members_as_of

XML = (
    pathlib.Path(__file__).resolve().parents[1] / "data" / "un-sc-consolidated" / "consolidated.xml"
)
GENERATED, RECORDS = read_snapshot(XML)
FIRST = snapshot_events(RECORDS, GENERATED)
AFTER_FIRST = UnLogState.of(event for event, _ in FIRST)
LATER = GENERATED + _dt.timedelta(days=20)


@given(
    st.lists(
        st.from_regex(r"[A-Z]{2}[ie]\.[0-9]{3}", fullmatch=True),
        min_size=1,
        max_size=50,
        unique=True,
    )
)
def test_entity_ids_from_reference_numbers_are_valid_and_distinct(refs: list[str]) -> None:
    ids = [un_entity_id(ref) for ref in refs]
    assert all(re.search(ENTITY_ID_PATTERN, entity) for entity in ids)
    assert len(set(ids)) == len(refs)
    assert un_entity_id("QDe.001") == "un-qde-001"


def test_reason_drops_the_interpol_link_and_nothing_else() -> None:
    link = "https://www.interpol.int/en/How-we-work/Notices/View-UN-Notices-Individuals"
    text = f"Left the CNDP in 2008. INTERPOL-UN Security Council Special Notice web link:{link}"
    assert reason_of(text) == "Left the CNDP in 2008."
    assert reason_of(f"INTERPOL-UN Security Council Special Notice web link:{link}") is None
    assert reason_of(None) is None


# The reason as the importer first wrote it, by one substitution: the events already in logs
# carry it, so a faster way to the same text must give exactly this, or their ids would change.
_FIRST_INTERPOL = re.compile(
    r"\s*INTERPOL-UN Security Council Special Notice web link:\s*\S*", re.I
)
_LINK = "INTERPOL-UN Security Council Special Notice web link:"


@settings(max_examples=400)
@given(
    st.lists(
        st.sampled_from(
            [
                *(_LINK, _LINK.lower(), _LINK[:-1], "INTERPOL", "https://www.interpol.int/x"),
                *(" ", "  ", "\n", "\t", "\u00a0", "\u2028", "x", "é", "Left the CNDP in 2008."),
            ]
        ),
        max_size=12,
    ).map("".join)
)
def test_the_reason_is_the_comments_without_links_as_the_first_importer_wrote_it(
    comments: str,
) -> None:
    expected = _FIRST_INTERPOL.sub(" ", comments).strip()[:20_000] or None
    assert reason_of(comments) == expected


def test_each_record_is_one_registration_and_one_designation_under_its_regime() -> None:
    registrations = [e for e, _ in FIRST if isinstance(e, EntityRegistered)]
    listings = [e for e, _ in FIRST if isinstance(e, EntityListed)]
    assert registrations[0].entity == UN_LIST_ID and registrations[0].kind == "list"
    assert len(registrations) == len(listings) + 1 == len(RECORDS) + 1
    assert len({e.designation for e in listings}) == len(RECORDS)
    last = max(d.listed_on for d in RECORDS)
    expected = members_as_of(XML, _dt.date.fromisoformat(str(last)))
    assert Counter(e.program for e in listings) == Counter(expected)
    for event in listings:
        assert event.entity == un_entity_id(event.designation)
        assert event.authority == "UN Security Council"
        assert event.sources[0].url == UN_URL
        assert event.sources[0].title.endswith("(dataset), generated 2026-02-27")
    assert GENERATED == date_generated(XML)


def test_original_script_is_kept_as_the_first_alias() -> None:
    saddam = next(e for e, ref in FIRST if ref == "IQi.001" and isinstance(e, EntityRegistered))
    assert saddam.kind == "person" and saddam.country == "IQ"
    assert saddam.aliases[0] == "صدام حسين التكريتي"
    assert saddam.identifiers["un_reference"] == "IQi.001"


def test_the_same_snapshot_against_the_log_it_made_plans_nothing() -> None:
    assert snapshot_events(RECORDS, GENERATED, AFTER_FIRST) == []
    assert [e.id for e, _ in snapshot_events(RECORDS, GENERATED)] == [e.id for e, _ in FIRST]


@settings(max_examples=10, deadline=None)
@given(st.sets(st.sampled_from([d.reference_number for d in RECORDS]), max_size=40))
def test_a_later_snapshot_delists_exactly_the_records_gone(gone: set[str]) -> None:
    kept = [d for d in RECORDS if d.reference_number not in gone]
    plan = snapshot_events(kept, LATER, AFTER_FIRST)
    assert sorted(delistings(plan)) == sorted(gone)
    assert all(isinstance(e, EntityDelisted) for e, _ in plan)
    for event, ref in plan:
        held = AFTER_FIRST.open[ref]
        assert event.designation == ref and event.program == held.listing.program
        assert event.listing == held.listing.id and event.list == UN_LIST_ID
        assert event.occurred == PartialDate(LATER.date().isoformat())
    after = UnLogState.of([*(e for e, _ in FIRST), *(e for e, _ in plan)])
    assert set(after.open) == {d.reference_number for d in kept}
    # coming back later opens the designation again, dated by the snapshot that shows it
    back = snapshot_events(RECORDS, LATER + _dt.timedelta(days=1), after)
    assert sorted(ref for e, ref in back if isinstance(e, EntityListed)) == sorted(gone)


def test_an_amended_record_is_restated_on_its_last_update_and_renamed() -> None:
    record = next(d for d in RECORDS if d.reference_number == "CDi.001")
    amended = msgspec.structs.replace(
        record,
        name="ERIC BADEGE RUKUNDO",
        comments="Now lives in Kigali.",
        last_day_updated=(*record.last_day_updated, PartialDate("2026-03-02")),
    )
    others = [d for d in RECORDS if d is not record]
    plan = snapshot_events([*others, amended], LATER, AFTER_FIRST)
    kinds = {type(e): e for e, ref in plan if ref == "CDi.001"}
    assert set(kinds) == {EntityRenamed, EntityListed} and len(plan) == 2
    assert kinds[EntityRenamed].names == {"en": "ERIC BADEGE RUKUNDO"}
    relisted = kinds[EntityListed]
    assert relisted.designation == "CDi.001" and relisted.reason == "Now lives in Kigali."
    assert relisted.occurred == PartialDate("2026-03-02")
