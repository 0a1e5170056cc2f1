"""The Consolidated Screening List importer: citation parser, row mapping, both file formats,
idempotent re-import (real PostgreSQL for the imports)."""

from __future__ import annotations

import csv
import datetime as _dt
import io
import pathlib

import pytest

import events as ev
from projections import fact_of, list_members, state_as_of
from service.eventlog.store import EventStore
from service.ingest.importers import (
    FRCitation,
    ImportFailed,
    clean_text,
    import_csl,
    parse_csl,
    parse_csl_source,
    parse_fr_citations,
    slugify,
    split_aliases,
)
from service.ingest.seed import entity_event_id, seed

D = _dt.date
DATA = pathlib.Path(__file__).resolve().parents[1] / "data" / "csl"  # see its README.md
CONSOLIDATED = DATA / "csl-consolidated-sample.csv"
OLDER = DATA / "csl-older-export-sample.csv"

HEADER = (
    "_id,source,entity_number,type,programs,name,title,addresses,federal_register_notice,"
    "start_date,end_date,standard_order,license_requirement,license_policy,call_sign,"
    "vessel_type,gross_tonnage,gross_registered_tonnage,vessel_flag,vessel_owner,remarks,"
    "source_list_url,alt_names,citizenships,dates_of_birth,nationalities,places_of_birth,"
    "source_information_url,ids"
).split(",")
EL = "Entity List (EL) - Bureau of Industry and Security"
DPL = "Denied Persons List (DPL) - Bureau of Industry and Security"
EL_URL = "https://www.bis.doc.gov/index.php/policy-guidance/lists-of-parties-of-concern/entity-list"


def _csv(rows: list[dict[str, str]], header: list[str] = HEADER) -> bytes:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=header, quoting=csv.QUOTE_ALL)
    writer.writeheader()
    for row in rows:
        writer.writerow({column: row.get(column, "") for column in header})
    return out.getvalue().encode("utf-8")


def _write(tmp_path: pathlib.Path, rows: list[dict[str, str]], **kw: list[str]) -> pathlib.Path:
    path = tmp_path / "csl.csv"
    path.write_bytes(_csv(rows, **kw))
    return path


ROWS = [
    {
        "_id": "abc",
        "source": EL,
        "name": "China Electronics Technology Group Corporation 13th Research Institute (CETC 13)",
        "addresses": "113 Hezuo Road, Shijiazhuang, Hebei, China, CN",
        "federal_register_notice": "83 FR 37423; 87 FR 77505",
        "start_date": "2018-08-01",
        "license_requirement": "For all items subject to the EAR.",
        "license_policy": "Policy of denial.",
        "alt_names": "Hebei Semiconductor Research Institute; HSRI; and CETC Research Institute 13",
        "source_information_url": EL_URL,
    },
    {
        "source": DPL,
        "name": " ADRIAN MANUEL HERNANDEZ",
        "addresses": "3037 S. 69TH DRIVE, PHONEIX, AZ, 85043",
        "federal_register_notice": "82 F.R. 48792 10/20/2017",
        "start_date": "2017-10-16",
        "end_date": "2020-10-13",
        "source_information_url": "http://bit.ly/1iwxiF0",
    },
    {
        "source": "Specially Designated Nationals (SDN) - Treasury Department",
        "entity_number": "20264",
        "type": "Entity",
        "name": "200G PSA HOLDINGS LLC",
    },
    {
        "source": "ITAR Debarred (DTC) - State Department",
        "name": "Guillermo Cardoso-Arias",
        "federal_register_notice": "70 FR 69620",
    },
    {"source": "Unverified List (UVL) - Bureau of Industry and Security", "name": "Undated Co"},
]


# --- the Federal Register citation parser -----------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("83 FR 37423; 87 FR 77505", [FRCitation(83, 37423), FRCitation(87, 77505)]),
        ("82 F.R. 48792 10/20/2017", [FRCitation(82, 48792, D(2017, 10, 20))]),
        (
            "67 F.R. 56530 9/4/02 67 F.R. 10890 3/11/02 71 F.R. 38843 7/10/06",
            [
                FRCitation(67, 56530, D(2002, 9, 4)),
                FRCitation(67, 10890, D(2002, 3, 11)),
                FRCitation(71, 38843, D(2006, 7, 10)),
            ],
        ),
        ("Vol. 88, No. 151, 08/08/2023", [FRCitation(88, None, D(2023, 8, 8), 151)]),
        ("Vol. 60, No. 109, 06/07/95", [FRCitation(60, None, D(1995, 6, 7), 109)]),
        (
            "66 FR 24266, 77 FR 58006 (no. 182), 81 FR 64694",
            [FRCitation(66, 24266), FRCitation(77, 58006, issue=182), FRCitation(81, 64694)],
        ),
        ("76 FR 50407 (8/15/2011)", [FRCitation(76, 50407, D(2011, 8, 15))]),
        (
            "46 F.R. 46154 9/17/81 and 46 F.R. 19290 3/30/81",
            [FRCitation(46, 46154, D(1981, 9, 17)), FRCitation(46, 19290, D(1981, 3, 30))],
        ),
        (
            "82 F.R. 61745 12/29/2017,  83F.R. 28801 6/21/2018,  84 F.R. 27233 6/12/2019",
            [
                FRCitation(82, 61745, D(2017, 12, 29)),
                FRCitation(83, 28801, D(2018, 6, 21)),
                FRCitation(84, 27233, D(2019, 6, 12)),
            ],
        ),
        ("78 FR 75458 ", [FRCitation(78, 75458)]),
        ("88 FR [INSERT FR PAGE NUMBER AND 2/27/2023]", [FRCitation(88, None, D(2023, 2, 27))]),
        ("82 F.R. 48792 2/30/2017", [FRCitation(82, 48792)]),  # not a real date: dropped
        ("", []),
        ("FROM the register", []),
    ],
)
def test_federal_register_notice_is_parsed_tolerantly(
    text: str, expected: list[FRCitation]
) -> None:
    assert parse_fr_citations(text) == expected


def test_citation_text_and_volume_year() -> None:
    assert str(FRCitation(87, 77505)) == "87 FR 77505"
    assert str(FRCitation(88, None, issue=151)) == "88 FR (No. 151)"
    assert FRCitation(87, 77505).year == 2022
    assert FRCitation(53, 27097).year == 1988


# --- row mapping (pure) -----------------------------------------------------------------------


def test_source_column_gives_code_name_and_authority() -> None:
    source = parse_csl_source(EL)
    assert (source.code, source.name, source.authority) == ("EL", "Entity List", "BIS")
    meu = parse_csl_source("Military End User (MEU) List - Bureau of Industry and Security")
    assert (meu.code, meu.name) == ("MEU", "Military End User List")
    odd = parse_csl_source("Some New List")
    assert (odd.code, odd.name) == (None, "Some New List")


def test_names_are_cleaned_slugified_and_aliases_split() -> None:
    assert clean_text(" Gui\x92an  New District ") == "Gui\u2019an New District"
    assert slugify("A. Leib Ltd.") == "a-leib-ltd"
    long = slugify("x" * 100)
    assert len(long) == 64 and long == slugify("x" * 100)
    assert slugify("华为").startswith("csl-")
    assert split_aliases("HSRI; and CETC Research Institute 13.; HSRI", "Name") == [
        "HSRI",
        "CETC Research Institute 13",
    ]


def test_parse_maps_rows_to_lists_entities_and_listings() -> None:
    parsed = parse_csl(_csv(ROWS))
    assert parsed.rows == 5
    assert parsed.skipped == {"OFAC rows (entity_number set)": 1, "rows without any date": 1}
    assert set(parsed.lists) == {"us-entity-list", "us-denied-persons-list", "us-itar-debarred"}
    cetc = parsed.parties[
        slugify("China Electronics Technology Group Corporation 13th Research Institute (CETC 13)")
    ]
    assert cetc.aliases == [
        "CETC 13",
        "Hebei Semiconductor Research Institute",
        "HSRI",
        "CETC Research Institute 13",
    ]
    assert cetc.countries == {"CN"}
    listed = next(raw for raw, _ in parsed.listings if raw["entity"] == cetc.id)
    assert [s["citation"] for s in listed["sources"]] == ["83 FR 37423", "87 FR 77505"]
    assert listed["occurred"] == "2018-08-01"
    assert listed["license_requirement"] == "For all items subject to the EAR."
    # No start date: the volume's year, with year precision.
    itar = next(raw for raw, _ in parsed.listings if raw["list"] == "us-itar-debarred")
    assert itar["occurred"] == "2005"
    # A DPL row with an end date gives a delisting on that day.
    kinds = [
        raw["type"] for raw, _ in parsed.listings if raw["entity"] == "adrian-manuel-hernandez"
    ]
    assert kinds == ["EntityListed", "EntityDelisted"]


def test_a_file_that_is_not_a_csl_export_is_refused_naming_the_header() -> None:
    with pytest.raises(ImportFailed) as info:
        parse_csl(b"a,b\n1,2\n")
    assert (info.value.line, info.value.field) == (1, "header")


# --- imports into a real log ----------------------------------------------------------------


async def _facts(store: EventStore):  # type: ignore[no-untyped-def]
    return [fact_of(r) for r in await store.read_after(0, 100_000)]


async def test_import_appends_registrations_and_listings_and_reimport_adds_nothing(
    store: EventStore, tmp_path: pathlib.Path
) -> None:
    path = _write(tmp_path, ROWS)
    seen: list[tuple[int, int | None]] = []
    report = await import_csl(store, path, progress=lambda done, total: seen.append((done, total)))
    assert report.new == report.events > 0
    assert report.skipped["OFAC rows (entity_number set)"] == 1
    assert seen[-1] == (report.events, report.events)
    again = await import_csl(store, path)
    assert again.new == 0
    assert again.events == report.events - 3  # the three lists are registered already
    assert (await store.head()).position == report.new

    facts = await _facts(store)
    cetc = slugify(
        "China Electronics Technology Group Corporation 13th Research Institute (CETC 13)"
    )
    assert cetc not in {m.entity for m in list_members(facts, "us-entity-list", D(2018, 7, 31))}
    assert cetc in {m.entity for m in list_members(facts, "us-entity-list", D(2018, 8, 1))}
    state = state_as_of(cetc, facts, D(2023, 1, 1))
    assert state.names == {
        "en": "China Electronics Technology Group Corporation 13th Research Institute (CETC 13)"
    }
    assert "HSRI" in state.aliases and state.country == "CN"
    dpl = {m.entity for m in list_members(facts, "us-denied-persons-list", D(2019, 1, 1))}
    assert dpl == {"adrian-manuel-hernandez"}
    assert list_members(facts, "us-denied-persons-list", D(2020, 10, 13)) == ()


async def test_lists_use_the_seed_registration_so_seeding_after_adds_no_duplicate(
    store: EventStore, tmp_path: pathlib.Path
) -> None:
    await import_csl(store, _write(tmp_path, ROWS))
    (registration,) = [
        r for r in await store.entity_events("us-entity-list") if r.type == "EntityRegistered"
    ]
    assert registration.event.id == entity_event_id("us-entity-list")
    await seed(store)
    registrations = [
        r for r in await store.entity_events("us-entity-list") if r.type == "EntityRegistered"
    ]
    assert len(registrations) == 1
    # A list only the importer knows is registered with its three names.
    (itar,) = await store.entity_events("us-itar-debarred")
    assert set(itar.event.names) == set(ev.LANGS)  # type: ignore[union-attr]


async def test_after_the_seed_a_seed_company_name_maps_to_its_entity(
    store: EventStore, tmp_path: pathlib.Path
) -> None:
    await seed(store)
    head = (await store.head()).position
    rows = [
        {
            "source": EL,
            "name": "Yangtze Memory Technologies Co., Ltd.",
            "federal_register_notice": "87 FR 77505",
            "start_date": "2022-12-19",
            "source_information_url": EL_URL,
        }
    ]
    report = await import_csl(store, _write(tmp_path, rows))
    assert report.new == 1  # the listing only: ymtc and the list are registered already
    facts = await _facts(store)
    listing = next(
        x for x in state_as_of("ymtc", facts, D(2023, 1, 1)).listings if x.list == "us-entity-list"
    )
    assert listing.since == "2022-12-16"  # the seed's effective date is earlier than CSL's
    assert len(listing.event_ids) == 2
    assert (await store.head()).position == head + 1


async def test_a_seed_company_is_registered_from_the_seed_when_the_log_lacks_it(
    store: EventStore, tmp_path: pathlib.Path
) -> None:
    rows = [{"source": EL, "name": "华为技术有限公司", "start_date": "2019-05-16"}]
    await import_csl(store, _write(tmp_path, rows))
    (registration, listing) = await store.entity_events("huawei")
    assert registration.event.id == entity_event_id("huawei")
    assert listing.type == "EntityListed"


async def test_current_format_sample_imports_and_reimports_idempotently(store: EventStore) -> None:
    report = await import_csl(store, CONSOLIDATED)
    assert report.read == 13
    assert report.skipped["OFAC rows (entity_number set)"] == 7
    assert report.lists == 5 and report.entities == 5
    again = await import_csl(store, CONSOLIDATED)
    assert again.new == 0
    facts = await _facts(store)
    members = list_members(facts, "us-entity-list", D(2023, 1, 1))
    (cetc,) = [m for m in members if m.entity.startswith("china-electronics-technology-group")]
    (event,) = [f.event for f in facts if str(f.event.id) == cetc.event_ids[0]]
    assert [s.citation for s in event.sources] == ["83 FR 37423", "87 FR 77505"]
    isn = [
        f.event
        for f in facts
        if getattr(f.event, "list", None) == "us-isn-nonproliferation-sanctions"
    ]
    assert [s.citation for e in isn for s in e.sources] == ["88 FR (No. 151)"]
    assert isn[0].occurred == ev.PartialDate("2023-07-19")


async def test_older_format_sample_imports_with_dated_citations(store: EventStore) -> None:
    report = await import_csl(store, OLDER)
    assert report.read == 115
    assert report.skipped["OFAC rows (entity_number set)"] == 68
    assert (await import_csl(store, OLDER)).new == 0
    facts = await _facts(store)
    hernandez = [f.event for f in facts if f.event.entity == "adrian-manuel-hernandez"]
    listed = next(e for e in hernandez if isinstance(e, ev.EntityListed))
    (source,) = listed.sources
    assert source.citation == "82 FR 48792"
    assert source.title is not None and source.title.endswith("published 2017-10-20")
    airline = state_as_of("al-naser-wings-airlines", facts, D(2019, 7, 1))
    assert airline.country is None  # addresses in two countries
    assert [x.list for x in airline.listings] == ["us-denied-persons-list"]
    migeotte = state_as_of("gunther-migeotte", facts, D(2011, 1, 1))
    (listing,) = migeotte.listings
    assert listing.since == "2010-06-28" and len(listing.event_ids) == 5  # one per row


async def test_both_samples_together_share_lists(store: EventStore) -> None:
    first = await import_csl(store, CONSOLIDATED)
    second = await import_csl(store, OLDER)
    assert first.new > 0 and second.new > 0
    registrations = [
        r for r in await store.entity_events("us-entity-list") if r.type == "EntityRegistered"
    ]
    assert len(registrations) == 1
