"""Reader of the UN Security Council Consolidated List in its official XML format.

The format is the Security Council's `sc-sanctions.xsd`: a root `CONSOLIDATED_LIST` with a
`dateGenerated` attribute, then `INDIVIDUALS/INDIVIDUAL` and `ENTITIES/ENTITY` records. Each
record becomes one `UnDesignation`; mapping designations to the log's events is a later step.

    with read_un_list(path) as snapshot:
        snapshot.generated_at          # the snapshot's dateGenerated
        for designation in snapshot:   # streamed, in file order
            ...

Streaming: `xml.etree.ElementTree.iterparse`, each record cleared and detached once read, so
memory holds one record at a time, whatever the size of the file. ElementTree never fetches
external entities or DTDs, and expat bounds entity expansion.

What a record keeps, and how the file's quirks are read:

- `reference_number` (`QDi.001`, trimmed: some end with a space), `list_type` (the regime,
  `UN_LIST_TYPE`), `kind` (`INDIVIDUAL` is a person, `ENTITY` an organisation), `dataid`,
  `versionnum`;
- `name`: `FIRST_NAME` to `FOURTH_NAME`, the parts given, joined by a space;
  `name_original_script` as written (Arabic, Cyrillic, ...);
- `aliases`: each with its name, its `QUALITY` (`Good`/`Low` for individuals,
  `a.k.a.`/`f.k.a.` for entities; None when empty) and the writing systems of its name.
  Placeholder aliases, with an empty name and an empty quality, are skipped;
- `listed_on`: a `PartialDate` (a `LISTED_ON` may carry a zone, `2015-04-07-04:00`: the day
  as written); `last_day_updated`: the amendment dates, empty `VALUE`s skipped;
- `nationalities` (`NATIONALITY/VALUE`; the placeholder `na` is not a country and is skipped),
  `designations` (`DESIGNATION/VALUE`, titles of office), `comments` (`COMMENTS1`).

Text is trimmed; in names, aliases, nationalities and designations, runs of whitespace become
one space (comments keep their line breaks). Addresses, dates and places of birth and identity
documents are not read yet.

A record that cannot be read stops the reading with `UnListRefused`, naming the record (its
reference number, or its position and DATAID when it has none) and the field. So does an
element the format does not have where sections or records are (anything but INDIVIDUALS and
ENTITIES in the root, INDIVIDUAL and ENTITY in them): a new kind of record is not skipped
unseen. Inside a record, elements not read are passed over.
"""

from __future__ import annotations

import datetime as _dt
import os
import re
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterable, Iterator
from types import TracebackType
from typing import BinaryIO, Literal, get_args

import msgspec

from events.dates import PartialDate
from service.ingest.dates import UnreadableDate, parse_partial_date
from service.ingest.scripts import writing_systems

ROOT_TAG = "CONSOLIDATED_LIST"
SCHEMA_URL = "https://www.un.org/sc/resources/sc-sanctions.xsd"

AliasQuality = Literal["Good", "Low", "a.k.a.", "f.k.a."]
DesignationKind = Literal["person", "organisation"]

_KIND_OF_TAG: dict[str, DesignationKind] = {"INDIVIDUAL": "person", "ENTITY": "organisation"}
_CONTAINERS = frozenset({"INDIVIDUALS", "ENTITIES"})
_CONTAINER_DEPTH = 2  # CONSOLIDATED_LIST / INDIVIDUALS (/ INDIVIDUAL)
_NAME_PARTS = ("FIRST_NAME", "SECOND_NAME", "THIRD_NAME", "FOURTH_NAME")
_QUALITIES: dict[str, AliasQuality] = {quality: quality for quality in get_args(AliasQuality)}
_NOT_A_COUNTRY = frozenset({"na", "n/a"})
_DIGITS = re.compile(r"[0-9]+")
_WHITESPACE = re.compile(r"\s+")


class UnAlias(msgspec.Struct, frozen=True, kw_only=True):
    """Another name of a designation, as the list rates it."""

    name: str
    quality: AliasQuality | None = None
    scripts: tuple[str, ...] = ()


class UnDesignation(msgspec.Struct, frozen=True, kw_only=True):
    """One record of the consolidated list: a person or an organisation under a regime."""

    reference_number: str
    list_type: str
    kind: DesignationKind
    dataid: int
    versionnum: int
    name: str
    listed_on: PartialDate
    name_original_script: str | None = None
    aliases: tuple[UnAlias, ...] = ()
    last_day_updated: tuple[PartialDate, ...] = ()
    nationalities: tuple[str, ...] = ()
    designations: tuple[str, ...] = ()
    comments: str | None = None


class UnListRefused(ValueError):
    """The list cannot be read. `record` names the record (its reference number, or its
    position and DATAID), `field` the element or attribute, `detail` what is wrong."""

    def __init__(
        self, record: str, field: str, detail: str, *, reference_number: str | None = None
    ) -> None:
        super().__init__(f"{record}: {field}: {detail}")
        self.record = record
        self.field = field
        self.detail = detail
        self.reference_number = reference_number


class UnListSnapshot:
    """An open consolidated list: `generated_at` is read on opening, the designations are
    streamed by iterating (once). Close it, or use it as a context manager."""

    generated_at: _dt.datetime

    def __init__(self, source: str | os.PathLike[str] | BinaryIO) -> None:
        if isinstance(source, str | os.PathLike):
            self._file: BinaryIO = open(source, "rb")  # closed by close()
            self._owns_file = True
        else:
            self._file = source
            self._owns_file = False
        self._iterated = False
        self._last_read: str | None = None
        try:
            self._events = ET.iterparse(self._file, events=("start", "end"))  # noqa: S314
            self._root = self._open_root()
        except BaseException:
            self.close()
            raise

    def _open_root(self) -> ET.Element:
        try:
            _, root = next(self._events)
        except ET.ParseError as exc:
            raise self._not_xml(exc) from None
        if root.tag != ROOT_TAG:
            raise UnListRefused(
                "the file", ROOT_TAG, f"the root element is {root.tag!r}, not {ROOT_TAG}"
            )
        self.generated_at = _generated_at(root.get("dateGenerated"))
        return root

    def __iter__(self) -> Iterator[UnDesignation]:
        if self._iterated:
            raise RuntimeError("a snapshot's designations are streamed once; open it again")
        self._iterated = True
        return self._designations()

    def _designations(self) -> Iterator[UnDesignation]:
        depth = 1  # inside the root
        container: ET.Element | None = None  # the INDIVIDUALS or ENTITIES being read
        ordinal = 0
        try:
            for event, element in self._events:
                if event == "start":
                    depth += 1
                    if depth == _CONTAINER_DEPTH:
                        if element.tag not in _CONTAINERS:
                            raise self._unexpected(element, ROOT_TAG, _CONTAINERS)
                        container = element
                    elif depth == _CONTAINER_DEPTH + 1 and element.tag not in _KIND_OF_TAG:
                        raise self._unexpected(element, container.tag, _KIND_OF_TAG)
                    continue
                depth -= 1
                if depth != _CONTAINER_DEPTH or container is None:
                    continue  # inside a record, or the end of a section
                ordinal += 1
                designation = _designation(element, ordinal)
                element.clear()
                container.remove(element)
                self._last_read = designation.reference_number
                yield designation
        except ET.ParseError as exc:
            raise self._not_xml(exc) from None
        finally:
            self._root.clear()

    def _unexpected(
        self, element: ET.Element, parent: str, expected: Iterable[str]
    ) -> UnListRefused:
        after = f" (after {self._last_read})" if self._last_read else ""
        return UnListRefused(
            "the file",
            f"{parent}/{element.tag}",
            f"not in the consolidated list's format, which has {' or '.join(sorted(expected))} "
            f"here{after}",
        )

    def _not_xml(self, error: ET.ParseError) -> UnListRefused:
        line, column = error.position
        after = f" (after {self._last_read})" if self._last_read else ""
        return UnListRefused(
            "the file", "xml", f"not well-formed XML at line {line}, column {column}{after}"
        )

    def close(self) -> None:
        if self._owns_file:
            self._file.close()

    def __enter__(self) -> UnListSnapshot:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()


def read_un_list(source: str | os.PathLike[str] | BinaryIO) -> UnListSnapshot:
    """Open a consolidated list (a path, or a binary file the caller closes) and read its
    `dateGenerated`; iterate the result for the designations."""
    return UnListSnapshot(source)


def _generated_at(text: str | None) -> _dt.datetime:
    """`dateGenerated`, an xs:dateTime (`2026-02-27T00:00:09.554Z`); without a zone, UTC."""
    if text is None or not text.strip():
        raise UnListRefused("the file", "dateGenerated", f"missing on {ROOT_TAG}")
    try:
        moment = _dt.datetime.fromisoformat(text.strip())
    except ValueError:
        raise UnListRefused(
            "the file", "dateGenerated", f"{text!r} is not an ISO date-time"
        ) from None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=_dt.UTC)


def _text(element: ET.Element, path: str) -> str | None:
    """The trimmed text at `path`, or None when absent or blank."""
    found = element.find(path)
    if found is None or found.text is None:
        return None
    return found.text.strip() or None


def _one_line(text: str) -> str:
    """Runs of white space as one space, none at the ends (`\\s+` to a space, then strip)."""
    return " ".join(text.split())


def _designation(element: ET.Element, ordinal: int) -> UnDesignation:
    # The record's children by tag, looked at once: a dozen `find`s over every child, for
    # every record, were the largest part of reading one.
    children: dict[str, list[ET.Element]] = {}
    for child in element:
        children.setdefault(child.tag, []).append(child)

    def text_of(tag: str) -> str | None:
        """The trimmed text of the first child `tag` (what `element.find(tag)` finds)."""
        found = children.get(tag)
        if not found or found[0].text is None:
            return None
        return found[0].text.strip() or None

    def values(tag: str) -> Iterator[str]:
        """The trimmed, non-blank texts of `tag/VALUE`, in document order."""
        for parent in children.get(tag, ()):
            for value in parent:
                if value.tag == "VALUE" and value.text is not None and value.text.strip():
                    yield value.text.strip()

    reference = text_of("REFERENCE_NUMBER")
    dataid_text = text_of("DATAID")
    if reference is None:
        record = f"{element.tag} number {ordinal}" + (
            f" (DATAID {dataid_text})" if dataid_text else ""
        )
    else:
        record = reference

    def refuse(field: str, detail: str) -> UnListRefused:
        return UnListRefused(record, field, detail, reference_number=reference)

    def required(field: str) -> str:
        value = text_of(field)
        if value is None:
            raise refuse(field, "missing or empty")
        return value

    def integer(field: str) -> int:
        value = required(field)
        if _DIGITS.fullmatch(value) is None:
            raise refuse(field, f"{value!r} is not a whole number")
        return int(value)

    def date(field: str, text: str) -> PartialDate:
        try:
            return parse_partial_date(text)
        except UnreadableDate as exc:
            raise refuse(field, str(exc)) from None

    if reference is None:
        raise refuse("REFERENCE_NUMBER", "missing or empty")
    if _WHITESPACE.search(reference):
        raise refuse("REFERENCE_NUMBER", f"{reference!r} has whitespace inside")
    parts = [_one_line(part) for field in _NAME_PARTS if (part := text_of(field))]
    if not parts:
        raise refuse("FIRST_NAME", "no name: FIRST_NAME to FOURTH_NAME are all missing")
    original = text_of("NAME_ORIGINAL_SCRIPT")
    return UnDesignation(
        reference_number=reference,
        list_type=_one_line(required("UN_LIST_TYPE")),
        kind=_KIND_OF_TAG[element.tag],
        dataid=integer("DATAID"),
        versionnum=integer("VERSIONNUM"),
        name=" ".join(parts),
        listed_on=date("LISTED_ON", required("LISTED_ON")),
        name_original_script=_one_line(original) if original else None,
        aliases=tuple(_aliases(element.tag, children.get(f"{element.tag}_ALIAS", ()), refuse)),
        last_day_updated=tuple(
            date("LAST_DAY_UPDATED/VALUE", text) for text in values("LAST_DAY_UPDATED")
        ),
        nationalities=tuple(
            _one_line(text) for text in values("NATIONALITY") if text.lower() not in _NOT_A_COUNTRY
        ),
        designations=tuple(_one_line(text) for text in values("DESIGNATION")),
        comments=text_of("COMMENTS1"),
    )


def _aliases(
    kind: str, aliases: Iterable[ET.Element], refuse: Callable[[str, str], UnListRefused]
) -> Iterator[UnAlias]:
    tag = f"{kind}_ALIAS"
    for alias in aliases:
        name = _text(alias, "ALIAS_NAME")
        quality = _text(alias, "QUALITY")
        if name is None and quality is None:
            continue  # the list's placeholder: <QUALITY/><ALIAS_NAME/>
        if name is None:
            raise refuse(f"{tag}/ALIAS_NAME", f"an alias of quality {quality!r} has no name")
        rated = _QUALITIES.get(quality) if quality is not None else None
        if quality is not None and rated is None:
            raise refuse(
                f"{tag}/QUALITY", f"{quality!r} is not one of {', '.join(sorted(_QUALITIES))}"
            )
        name = _one_line(name)
        yield UnAlias(name=name, quality=rated, scripts=writing_systems(name))
