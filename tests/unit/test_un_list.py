"""The UN Security Council Consolidated List reader, over the real list and over generated ones."""

from __future__ import annotations

import datetime as _dt
import io
import tracemalloc
import xml.etree.ElementTree as ET
from collections import Counter
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from events.dates import PartialDate
from service.ingest.scripts import writing_systems
from service.ingest.un_list import UnAlias, UnDesignation, UnListRefused, read_un_list
from tests.support.un_counts import date_generated, members_as_of

FIXTURE = Path(__file__).parent.parent / "data" / "un-sc-consolidated" / "consolidated.xml"


@pytest.fixture(scope="module")
def designations() -> list[UnDesignation]:
    with read_un_list(FIXTURE) as snapshot:
        return list(snapshot)


def by_reference(designations: list[UnDesignation]) -> dict[str, UnDesignation]:
    return {d.reference_number: d for d in designations}


# --- the real list ------------------------------------------------------------------------------


def test_the_whole_list_reads_as_1003_designations_under_14_regimes(
    designations: list[UnDesignation],
) -> None:
    assert len(designations) == 1003
    assert Counter(d.kind for d in designations) == {"person": 730, "organisation": 273}
    assert len({d.list_type for d in designations}) == 14
    assert len({d.reference_number for d in designations}) == 1003


@pytest.mark.parametrize(
    "as_of",
    [_dt.date(2001, 1, 1), _dt.date(2010, 6, 30), _dt.date(2015, 4, 7), _dt.date(2026, 2, 27)],
)
def test_members_per_regime_equal_the_independent_count(
    designations: list[UnDesignation], as_of: _dt.date
) -> None:
    ours = Counter(d.list_type for d in designations if d.listed_on.start <= as_of)
    assert dict(ours) == members_as_of(FIXTURE, as_of)


def test_the_snapshot_date_is_the_files_date_generated() -> None:
    with read_un_list(FIXTURE) as snapshot:
        assert snapshot.generated_at == date_generated(FIXTURE)
        assert snapshot.generated_at == _dt.datetime(2026, 2, 27, 0, 0, 9, 554000, _dt.UTC)


def test_names_in_original_scripts_survive(designations: list[UnDesignation]) -> None:
    raw = {
        (record.findtext("REFERENCE_NUMBER") or "").strip(): record.findtext("NAME_ORIGINAL_SCRIPT")
        for record in ET.parse(FIXTURE).getroot().iter()  # noqa: S314 (our fixture)
        if record.tag in ("INDIVIDUAL", "ENTITY")
    }
    originals = {d.reference_number: d.name_original_script for d in designations}
    written = {ref: " ".join(text.split()) for ref, text in raw.items() if text and text.strip()}
    assert {ref: text for ref, text in originals.items() if text} == written
    assert len(written) == 378
    scripts = Counter(writing_systems(text) for text in written.values())
    assert scripts == {("Arabic",): 366, ("Cyrillic",): 11, ("Latin",): 1}
    found = by_reference(designations)
    assert found["QDi.396"].name_original_script == "Аслан Авгазарович Бютукаев"
    assert found["TAe.014"].name_original_script == "د حاجی بصیر او ضرجمیل کمپنی حواله"


def test_aliases_keep_their_quality_and_script(designations: list[UnDesignation]) -> None:
    found = by_reference(designations)
    assert UnAlias(name="朝鲜联合机械贸易会社", quality="a.k.a.", scripts=("Han",)) in (
        found["KPe.016"].aliases
    )
    assert found["QDi.396"].aliases[0] == UnAlias(
        name="Amir Khazmat (original script: Амир Хазмат)",
        quality="Low",
        scripts=("Cyrillic", "Latin"),
    )
    qualities = Counter(a.quality for d in designations for a in d.aliases)
    assert qualities == {"Good": 1524, "Low": 615, "a.k.a.": 594, "f.k.a.": 19}
    # The list's 291 placeholders (<QUALITY/><ALIAS_NAME/>) are not aliases.
    assert found["CDi.001"].aliases == ()
    assert sum(len(d.aliases) for d in designations) == 2308 + 735 - 291


def test_the_lists_quirks_are_read(designations: list[UnDesignation]) -> None:
    found = by_reference(designations)
    # A LISTED_ON with a zone (2015-04-07-04:00) is the day as written.
    assert found["QDi.352"].listed_on == PartialDate("2015-04-07")
    assert found["TAe.014"].listed_on == PartialDate("2015-03-27")
    assert found["QDi.352"].last_day_updated == (
        PartialDate("2019-05-01"),
        PartialDate("2023-10-30"),
        PartialDate("2023-12-19"),
    )
    # A reference number written with a trailing space is the same reference.
    assert found["KPe.023"].name == "DAEDONG CREDIT BANK (DCB)"
    # An empty LAST_DAY_UPDATED/VALUE, or none at all: never amended.
    assert found["SSi.003"].last_day_updated == ()
    assert found["TAe.014"].last_day_updated == ()
    assert sum(1 for d in designations if not d.last_day_updated) == 354
    # `na` is not a nationality.
    assert found["SDi.001"].nationalities == ()
    assert found["CDi.003"].designations == (
        "FDLR Interim President",
        "FDLR-FOCA 1st Vice-President",
        "FDLR-FOCA Major General",
    )
    assert found["CDi.002"].designations == ("FARDC General",)
    assert all(d.listed_on.precision == "day" for d in designations)
    assert min(d.listed_on for d in designations) == PartialDate("2000-04-12")
    assert max(d.listed_on for d in designations) == PartialDate("2026-02-24")


def test_names_join_the_parts_given(designations: list[UnDesignation]) -> None:
    found = by_reference(designations)
    assert found["CDi.001"].name == "ERIC BADEGE"
    assert found["YEe.001"].name == "THE HOUTHIS"
    assert found["CDi.001"].dataid == 6907993
    assert found["CDi.001"].versionnum == 1
    assert all(d.name == d.name.strip() and "  " not in d.name for d in designations)


# --- streaming ----------------------------------------------------------------------------------


def _peak_bytes_reading(source: Path) -> tuple[int, int]:
    tracemalloc.start()
    try:
        with read_un_list(source) as snapshot:
            count = sum(1 for _ in snapshot)
        return count, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_memory_stays_well_under_the_files_size() -> None:
    count, peak = _peak_bytes_reading(FIXTURE)
    assert count == 1003
    # The whole tree of this file takes over 20 MB in ElementTree; one record at a time, a
    # few hundred KB at most.
    assert peak < FIXTURE.stat().st_size / 4


def test_a_snapshot_streams_once() -> None:
    with read_un_list(FIXTURE) as snapshot:
        first = next(iter(snapshot))
        assert first.reference_number == "CDi.001"
        with pytest.raises(RuntimeError, match="once"):
            iter(snapshot)


# --- refusals -----------------------------------------------------------------------------------

GOOD_RECORD = """
    <INDIVIDUAL>
      <DATAID>1</DATAID><VERSIONNUM>1</VERSIONNUM>
      <FIRST_NAME>ALPHA</FIRST_NAME><SECOND_NAME>BETA</SECOND_NAME>
      <UN_LIST_TYPE>DRC</UN_LIST_TYPE><REFERENCE_NUMBER>CDi.900</REFERENCE_NUMBER>
      <LISTED_ON>2012-12-31</LISTED_ON>
    </INDIVIDUAL>"""


def _list_with(record: str, *, root: str = "CONSOLIDATED_LIST") -> io.BytesIO:
    return io.BytesIO(
        f'<?xml version="1.0" encoding="UTF-8"?>\n<{root} dateGenerated="2026-02-27T00:00:09Z">'
        f"<INDIVIDUALS>{GOOD_RECORD}{record}</INDIVIDUALS><ENTITIES/></{root}>".encode()
    )


def _record(fields: dict[str, str | None], extra: str = "") -> str:
    """A record of the Al-Qaida regime, QDi.999, with `fields` replaced (None: left out) and
    `extra` elements appended."""
    values: dict[str, str | None] = {
        "DATAID": "2",
        "VERSIONNUM": "1",
        "FIRST_NAME": "GAMMA",
        "UN_LIST_TYPE": "Al-Qaida",
        "REFERENCE_NUMBER": "QDi.999",
        "LISTED_ON": "2015-04-07",
    } | fields
    body = "".join(f"<{tag}>{text}</{tag}>" for tag, text in values.items() if text is not None)
    return f"<INDIVIDUAL>{body}{extra}</INDIVIDUAL>"


def _refusal(source: io.BytesIO) -> tuple[list[str], UnListRefused]:
    read: list[str] = []
    with pytest.raises(UnListRefused) as refused, read_un_list(source) as snapshot:
        read.extend(d.reference_number for d in snapshot)
    return read, refused.value


@pytest.mark.parametrize(
    ("fields", "extra", "field", "detail"),
    [
        ({"LISTED_ON": "sometime in 2015"}, "", "LISTED_ON", "'sometime in 2015'"),
        ({"LISTED_ON": "03/04/2015"}, "", "LISTED_ON", "ambiguous"),
        ({"LISTED_ON": None}, "", "LISTED_ON", "missing"),
        ({"LISTED_ON": "  "}, "", "LISTED_ON", "missing"),
        ({"DATAID": "69O7993"}, "", "DATAID", "'69O7993' is not a whole number"),
        ({"VERSIONNUM": None}, "", "VERSIONNUM", "missing"),
        ({"UN_LIST_TYPE": ""}, "", "UN_LIST_TYPE", "missing"),
        ({"FIRST_NAME": None}, "", "FIRST_NAME", "no name"),
        (
            {},
            "<LAST_DAY_UPDATED><VALUE>2016-13-01</VALUE></LAST_DAY_UPDATED>",
            "LAST_DAY_UPDATED/VALUE",
            "'2016-13-01'",
        ),
        (
            {},
            "<INDIVIDUAL_ALIAS><QUALITY>Poor</QUALITY><ALIAS_NAME>X</ALIAS_NAME></INDIVIDUAL_ALIAS>",
            "INDIVIDUAL_ALIAS/QUALITY",
            "'Poor' is not one of",
        ),
        (
            {},
            "<INDIVIDUAL_ALIAS><QUALITY>Good</QUALITY><ALIAS_NAME/></INDIVIDUAL_ALIAS>",
            "INDIVIDUAL_ALIAS/ALIAS_NAME",
            "has no name",
        ),
    ],
)
def test_a_malformed_record_is_refused_naming_its_reference_number_and_field(
    fields: dict[str, str | None], extra: str, field: str, detail: str
) -> None:
    read, refusal = _refusal(_list_with(_record(fields, extra)))
    assert read == ["CDi.900"]  # the good record before it was read
    assert refusal.reference_number == "QDi.999"
    assert refusal.field == field
    assert detail in refusal.detail
    assert str(refusal).startswith(f"QDi.999: {field}: ")


def test_a_record_without_a_reference_number_is_named_by_position_and_dataid() -> None:
    read, refusal = _refusal(_list_with(_record({"REFERENCE_NUMBER": None, "DATAID": "6907994"})))
    assert read == ["CDi.900"]
    assert refusal.field == "REFERENCE_NUMBER"
    assert refusal.reference_number is None
    assert refusal.record == "INDIVIDUAL number 2 (DATAID 6907994)"


def test_a_reference_number_with_whitespace_inside_is_refused() -> None:
    read, refusal = _refusal(_list_with(_record({"REFERENCE_NUMBER": "QDi. 999"})))
    assert read == ["CDi.900"]
    assert refusal.field == "REFERENCE_NUMBER"
    assert str(refusal) == "QDi. 999: REFERENCE_NUMBER: 'QDi. 999' has whitespace inside"


def test_xml_that_is_not_well_formed_is_refused_with_its_position() -> None:
    broken = _list_with(_record({})).getvalue().replace(b"</INDIVIDUALS>", b"</INDIVIDUAL>")
    read, refusal = _refusal(io.BytesIO(broken))
    assert read == ["CDi.900", "QDi.999"]
    assert refusal.field == "xml"
    assert "line" in refusal.detail
    assert "after QDi.999" in refusal.detail


@pytest.mark.parametrize(
    ("document", "field"),
    [
        (
            f'<CONSOLIDATED_LIST dateGenerated="2026-02-27T00:00:09Z"><INDIVIDUALS>{GOOD_RECORD}'
            "</INDIVIDUALS><VESSELS><VESSEL/></VESSELS></CONSOLIDATED_LIST>",
            "CONSOLIDATED_LIST/VESSELS",
        ),
        (
            f'<CONSOLIDATED_LIST dateGenerated="2026-02-27T00:00:09Z"><INDIVIDUALS>{GOOD_RECORD}'
            "<VESSEL/></INDIVIDUALS></CONSOLIDATED_LIST>",
            "INDIVIDUALS/VESSEL",
        ),
    ],
)
def test_a_section_or_record_the_format_does_not_have_is_refused_not_skipped(
    document: str, field: str
) -> None:
    read, refusal = _refusal(io.BytesIO(document.encode()))
    assert read == ["CDi.900"]
    assert refusal.field == field
    assert "after CDi.900" in refusal.detail


def test_another_document_is_refused_on_opening() -> None:
    with pytest.raises(UnListRefused) as refused:
        read_un_list(_list_with("", root="sdnList"))
    assert refused.value.field == "CONSOLIDATED_LIST"
    with pytest.raises(UnListRefused) as refused:
        read_un_list(io.BytesIO(b"<CONSOLIDATED_LIST><INDIVIDUALS/></CONSOLIDATED_LIST>"))
    assert refused.value.field == "dateGenerated"
    with pytest.raises(UnListRefused) as refused:
        read_un_list(io.BytesIO(b"not xml"))
    assert refused.value.field == "xml"


# --- generated lists: whatever is written is read back -------------------------------------------

letters = st.characters(categories=("L",))
words = st.text(alphabet=letters, min_size=1, max_size=8)
phrases = st.lists(words, min_size=1, max_size=4).map(" ".join)
NAME_FIELDS = ("FIRST_NAME", "SECOND_NAME", "THIRD_NAME", "FOURTH_NAME")
padding = st.sampled_from(["", " ", "  ", "\n      ", "\t"])
days = st.dates(min_value=_dt.date(1990, 1, 1), max_value=_dt.date(2030, 12, 31))


@st.composite
def designation_records(draw: st.DrawFn, ordinal: int) -> tuple[UnDesignation, ET.Element]:
    """A designation and its XML record, written with the list's quirks: padded text,
    placeholder aliases, empty amendment values, a LISTED_ON that may carry a zone."""
    kind = draw(st.sampled_from(["person", "organisation"]))
    tag = "INDIVIDUAL" if kind == "person" else "ENTITY"
    parts = draw(st.lists(words, min_size=1, max_size=4))
    listed_on = draw(days)
    zone = draw(st.sampled_from(["", "Z", "-04:00", "+05:30"]))
    amended = draw(st.lists(days, max_size=3))
    qualities = ["Good", "Low"] if kind == "person" else ["a.k.a.", "f.k.a."]
    aliases = draw(st.lists(st.tuples(phrases, st.sampled_from([*qualities, None])), max_size=4))
    original = draw(st.none() | phrases)
    nationalities = draw(st.lists(phrases.filter(lambda p: p.lower() != "na"), max_size=2))
    offices = draw(st.lists(phrases, max_size=2))
    comments = draw(st.none() | st.lists(phrases, min_size=1, max_size=3).map("\n".join))
    designation = UnDesignation(
        reference_number=f"{draw(st.from_regex(r'[A-Z]{2}', fullmatch=True))}{tag[0].lower()}"
        f".{ordinal:03d}",
        list_type=draw(st.sampled_from(["Al-Qaida", "DPRK", "Taliban", "SouthSudan"])),
        kind=kind,  # type: ignore[arg-type]
        dataid=draw(st.integers(0, 10**9)),
        versionnum=draw(st.integers(0, 100)),
        name=" ".join(parts),
        listed_on=PartialDate.of_day(listed_on),
        name_original_script=original,
        aliases=tuple(
            UnAlias(name=name, quality=quality, scripts=writing_systems(name))  # type: ignore[arg-type]
            for name, quality in aliases
        ),
        last_day_updated=tuple(PartialDate.of_day(day) for day in amended),
        nationalities=tuple(nationalities),
        designations=tuple(offices),
        comments=comments,
    )

    record = ET.Element(tag)

    def add(parent: ET.Element, child: str, text: str | None) -> ET.Element:
        element = ET.SubElement(parent, child)
        if text is not None:
            element.text = draw(padding) + text + draw(padding)
        return element

    add(record, "DATAID", str(designation.dataid))
    add(record, "VERSIONNUM", str(designation.versionnum))
    for field, part in zip(NAME_FIELDS[: len(parts)], parts, strict=True):
        add(record, field, part)
    add(record, "UN_LIST_TYPE", designation.list_type)
    add(record, "REFERENCE_NUMBER", designation.reference_number)
    add(record, "LISTED_ON", listed_on.isoformat() + zone)
    if original is not None:
        add(record, "NAME_ORIGINAL_SCRIPT", original)
    if comments is not None:
        add(record, "COMMENTS1", comments)
    for group, values in (("DESIGNATION", offices), ("NATIONALITY", nationalities)):
        if values:
            holder = ET.SubElement(record, group)
            for value in values:
                add(holder, "VALUE", value)
    holder = ET.SubElement(record, "LAST_DAY_UPDATED")
    for day in amended:
        add(holder, "VALUE", day.isoformat())
    if not amended:
        add(holder, "VALUE", None)
    for name, quality in [*aliases, *([(None, None)] if draw(st.booleans()) else [])]:
        alias = ET.SubElement(record, f"{tag}_ALIAS")
        add(alias, "QUALITY", quality)
        add(alias, "ALIAS_NAME", name)
    ET.SubElement(record, "SORT_KEY")
    return designation, record


@st.composite
def consolidated_lists(draw: st.DrawFn) -> tuple[_dt.datetime, list[UnDesignation], bytes]:
    generated_at = draw(st.datetimes(timezones=st.just(_dt.UTC)))
    size = draw(st.integers(0, 6))
    records = [draw(designation_records(ordinal)) for ordinal in range(1, size + 1)]
    root = ET.Element("CONSOLIDATED_LIST", dateGenerated=generated_at.isoformat())
    individuals = ET.SubElement(root, "INDIVIDUALS")
    entities = ET.SubElement(root, "ENTITIES")
    for designation, record in records:
        (individuals if designation.kind == "person" else entities).append(record)
    expected = [d for d, _ in records if d.kind == "person"] + [
        d for d, _ in records if d.kind == "organisation"
    ]
    return generated_at, expected, ET.tostring(root, encoding="utf-8", xml_declaration=True)


@settings(max_examples=40, deadline=None)
@given(written=consolidated_lists())
def test_a_generated_list_reads_back_as_written(
    written: tuple[_dt.datetime, list[UnDesignation], bytes],
) -> None:
    generated_at, expected, document = written
    with read_un_list(io.BytesIO(document)) as snapshot:
        assert snapshot.generated_at == generated_at
        assert list(snapshot) == expected
