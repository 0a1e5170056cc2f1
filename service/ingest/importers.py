"""Importers: an NDJSON file of events, and the trade.gov Consolidated Screening List CSV.

Both append through `EventStore.append`, in batches, and are idempotent: every event carries a
deterministic id, so running an import again (after a crash, or by mistake) adds nothing, and a
run killed half-way is finished by running it again.

- `import_ndjson(store, lines)`: one event a line (the API's JSON, or a line of `timeline
  export` with its envelope). A line without an id gets uuid5 of its canonical bytes.
- `import_csl(store, path)`: rows of the CSL become registrations and listings; see
  docs/seed.md for the mapping. `parse_fr_citations` is its tolerant Federal Register parser.
"""

from __future__ import annotations

import asyncio
import csv
import datetime as _dt
import functools
import hashlib
import io
import re
import time
import unicodedata
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import msgspec

from events import AnyEvent, EventInvalid, PartialDate, canonical, check, from_builtins, with_id
from events.codec import field_of
from service.errors import DomainError
from service.eventlog.store import EventStore
from service.ingest.csl_designations import row_designations
from service.ingest.seed import (
    company_name_index,
    list_definitions,
    normalized_name,
    registration_raw,
    seed_registrations,
)

IMPORT_NAMESPACE = uuid.UUID("2d30e017-6aa6-5ec0-b606-0837aed7707d")
CSL_NAMESPACE = uuid.UUID("556a98ff-9024-507d-b1ec-92c2d34084f4")
BATCH_SIZE = 1000

Progress = Callable[[int, "int | None"], object]
"""`progress(done, total)`: called after each batch; `total` is None when unknown."""


@dataclass(slots=True)
class ImportReport:
    """What an import did. `read`: non-blank lines (NDJSON) or data rows (CSV); `events`: events
    submitted; `new`: of those, appended now (the rest were already in the log)."""

    read: int = 0
    events: int = 0
    new: int = 0
    seconds: float = 0.0
    skipped: dict[str, int] = field(default_factory=dict)
    entities: int = 0
    lists: int = 0

    @property
    def existing(self) -> int:
        return self.events - self.new

    @property
    def rate(self) -> float:
        """Events submitted per second."""
        return self.events / self.seconds if self.seconds > 0 else 0.0

    def summary(self) -> str:
        text = (
            f"{self.events} events ({self.new} new, {self.existing} already in the log) "
            f"from {self.read} {'rows' if self.entities or self.lists else 'lines'} "
            f"in {self.seconds:.2f} s ({self.rate:,.0f} events/s)"
        )
        if self.entities or self.lists:
            text += f"; {self.entities} entities on {self.lists} lists"
        if self.skipped:
            text += "; skipped " + ", ".join(
                f"{n} {why}" for why, n in sorted(self.skipped.items())
            )
        return text


class ImportFailed(Exception):
    """An import stopped at a line (or row) that cannot be appended. Names the line and field.

    Batches before the failing one are in the log; the failing batch added nothing. Fixing the
    line and running the same import again finishes it (idempotent).
    """

    def __init__(self, line: int | None, field: str, detail: str, *, appended: int = 0) -> None:
        where = f"line {line}: " if line is not None else ""
        super().__init__(f"{where}{field}: {detail}")
        self.line = line
        self.field = field
        self.detail = detail
        self.appended = appended


async def append_batch(
    store: EventStore, events: Sequence[AnyEvent], lines: Sequence[int | None], report: ImportReport
) -> None:
    """Append one batch of an import (atomic) and count it in `report`. A refusal becomes
    `ImportFailed` naming the line of the refused event (`lines[i]` is the line of
    `events[i]`) and the field; `appended` says how many events earlier batches added."""
    try:
        appended = await store.append(events)
    except DomainError as exc:
        index = exc.extra.get("index")
        line = lines[index] if isinstance(index, int) and 0 <= index < len(lines) else None
        raise ImportFailed(line, exc.field or "$", exc.detail, appended=report.new) from None
    report.events += len(events)
    report.new += appended.new


# --- NDJSON ---------------------------------------------------------------------------------


def content_id(event: AnyEvent, namespace: uuid.UUID = IMPORT_NAMESPACE) -> uuid.UUID:
    """A deterministic id for an event without one: uuid5 of its canonical bytes (what
    `uuid.uuid5(namespace, canonical(event).decode())` gives, without decoding the bytes to
    encode them again)."""
    digest = hashlib.sha1(namespace.bytes + canonical(event)).digest()  # noqa: S324 - uuid5
    return uuid.UUID(bytes=digest[:16], version=5)


def _from_envelope(line: bytes | str) -> AnyEvent | None:
    """The event of an export line `{"event": {...}, "position": ..., "schema_version": ...}`."""
    try:
        doc = msgspec.json.decode(line)
    except msgspec.DecodeError:
        return None
    if not isinstance(doc, dict) or "type" in doc or not isinstance(doc.get("event"), dict):
        return None
    version = doc.get("schema_version")
    try:
        return from_builtins(
            doc["event"], schema_version=version if isinstance(version, int) else None
        )
    except EventInvalid as exc:
        raise EventInvalid(
            f"event.{exc.field}" if exc.field != "$" else "event", exc.detail
        ) from None


@functools.lru_cache(maxsize=1 << 16)
def _partial_date(text: str) -> PartialDate:
    return PartialDate(text)


def _dec_hook(tp: type, obj: Any) -> Any:
    """As the codec's hook, with partial dates shared (they are immutable): a file repeats few
    distinct dates, and building one is most of the cost of decoding an event."""
    if tp is PartialDate:
        if not isinstance(obj, str):
            raise TypeError("a partial date is a string: YYYY, YYYY-MM or YYYY-MM-DD")
        return _partial_date(obj)
    raise NotImplementedError(f"cannot decode {tp!r}")


_line_decoder = msgspec.json.Decoder(AnyEvent, dec_hook=_dec_hook)


def _decode_line(line: bytes | str) -> AnyEvent:
    """`events.decode_event` for a current-schema line (same checks, same errors), faster."""
    try:
        return check(_line_decoder.decode(line))
    except msgspec.ValidationError as exc:
        raise field_of(exc) from None
    except msgspec.DecodeError as exc:
        raise EventInvalid("$", f"malformed JSON: {exc}") from None


def parse_ndjson_line(line: bytes | str, number: int | None = None) -> AnyEvent:
    """One line of NDJSON as an event with an id. Raises ImportFailed naming line and field."""
    try:
        try:
            event = _decode_line(line)
        except EventInvalid as first:
            envelope = _from_envelope(line)
            if envelope is None:
                raise first from None
            event = envelope
    except EventInvalid as exc:
        raise ImportFailed(number, exc.field, exc.detail) from None
    if event.id is None:
        event = with_id(event, content_id(event))
    return event


async def import_ndjson(
    store: EventStore,
    lines: Iterable[bytes | str],
    *,
    batch_size: int = BATCH_SIZE,
    progress: Progress | None = None,
    total: int | None = None,
) -> ImportReport:
    """Append an NDJSON file of events in batches of `batch_size` (each batch atomic).

    Idempotent and resumable: events keep their ids (a line without one gets uuid5 of its
    canonical bytes, so identical id-less lines are one event), and a batch already in the log
    is answered from it. Blank lines are skipped. The next batch is parsed while the previous
    one commits, but is sent only once that one has succeeded: after a refused line nothing
    later in the file is appended. `progress(lines_read, total)` is called after each batch;
    `total` (e.g. the file's line count) is passed through.
    """
    if batch_size < 1:
        raise ValueError("batch_size must be at least 1")
    started = time.perf_counter()
    report = ImportReport()
    batch: list[AnyEvent] = []
    numbers: list[int | None] = []
    pending: asyncio.Task[None] | None = None
    read_at_send = 0

    async def settle() -> None:
        nonlocal pending
        if pending is not None:
            task, pending = pending, None
            await task
            if progress is not None:
                progress(read_at_send, total)

    try:
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            report.read += 1
            batch.append(parse_ndjson_line(line, number))
            numbers.append(number)
            if len(batch) >= batch_size:
                await settle()
                pending = asyncio.create_task(append_batch(store, batch, numbers, report))
                read_at_send = report.read
                batch, numbers = [], []
            if number % 128 == 0:
                await asyncio.sleep(0)  # let the batch in flight make progress
        await settle()
        if batch:
            pending = asyncio.create_task(append_batch(store, batch, numbers, report))
            read_at_send = report.read
            await settle()
    except BaseException:
        if pending is not None:  # an earlier batch's failure is the one to report
            task, pending = pending, None
            await task
        raise
    report.seconds = time.perf_counter() - started
    return report


# --- Federal Register citations -------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class FRCitation:
    """A Federal Register citation: volume, page (None when the text gives none), the issue
    number and publication date when the text gives them."""

    volume: int
    page: int | None = None
    date: _dt.date | None = None
    issue: int | None = None

    def __str__(self) -> str:
        if self.page is not None:
            return f"{self.volume} FR {self.page}"
        if self.issue is not None:
            return f"{self.volume} FR (No. {self.issue})"
        return f"{self.volume} FR"

    @property
    def year(self) -> int:
        """The year of the volume (volume 1 is 1936)."""
        return 1935 + self.volume


_CITE = re.compile(
    r"(?<![0-9])(?P<vol>[0-9]{1,3})\s*F\.?\s?R\.?(?![A-Za-z])\s*(?P<page>[0-9]{1,6})?"
    r"|\b[Vv]ol(?:ume)?\.?\s*(?P<vol2>[0-9]{1,3})\s*,?\s*[Nn]o\.?\s*(?P<issue>[0-9]{1,4})"
)
_ISSUE = re.compile(r"\(\s*[Nn]o\.?\s*(?P<issue>[0-9]{1,4})\s*\)")
_US_DATE = re.compile(
    r"(?<![0-9/])(?P<m>[0-9]{1,2})/(?P<d>[0-9]{1,2})/(?P<y>[0-9]{4}|[0-9]{2})(?![0-9])"
)
_ISO_DATE = re.compile(r"(?<![0-9])(?P<y>[0-9]{4})-(?P<m>[0-9]{2})-(?P<d>[0-9]{2})(?![0-9])")


def _date_near(text: str, volume: int) -> _dt.date | None:
    """The first date in `text` (US m/d/y, two-digit years resolved by the volume's year, or
    ISO); None if none is a real date."""
    candidates: list[tuple[int, int, int, int]] = []
    for match in _US_DATE.finditer(text):
        year = int(match["y"])
        if len(match["y"]) == 2:
            base = 1935 + volume
            year = min((1900 + year, 2000 + year), key=lambda y: abs(y - base))
        candidates.append((match.start(), year, int(match["m"]), int(match["d"])))
    for match in _ISO_DATE.finditer(text):
        candidates.append((match.start(), int(match["y"]), int(match["m"]), int(match["d"])))
    for _, year, month, day in sorted(candidates):
        try:
            return _dt.date(year, month, day)
        except ValueError:
            continue
    return None


def parse_fr_citations(text: str | None) -> list[FRCitation]:
    """Every Federal Register citation in a free-text `federal_register_notice`, in order.

    Tolerates `83 FR 37423; 87 FR 77505`, `82 F.R. 48792 10/20/2017`, `83F.R. 28801`,
    `77 FR 58006 (no. 182)`, `Vol. 88, No. 151, 08/08/2023` and two-digit years (`9/4/02`). A
    date or issue number after a citation, before the next one, belongs to it. Text with no
    citation gives an empty list.
    """
    if not text:
        return []
    matches = list(_CITE.finditer(text))
    out: list[FRCitation] = []
    for index, match in enumerate(matches):
        gap_end = matches[index + 1].start() if index + 1 < len(matches) else len(text)
        gap = text[match.end() : gap_end]
        if match["vol"] is not None:
            volume = int(match["vol"])
            page = int(match["page"]) if match["page"] else None
            issue_match = _ISSUE.search(gap)
            issue = int(issue_match["issue"]) if issue_match else None
        else:
            volume = int(match["vol2"])
            page = None
            issue = int(match["issue"])
        if volume == 0:
            continue
        out.append(FRCitation(volume=volume, page=page, date=_date_near(gap, volume), issue=issue))
    return out


# --- Consolidated Screening List --------------------------------------------------------------

CSL_REQUIRED = ("source", "name", "federal_register_notice", "start_date")
CSL_URL = "https://www.trade.gov/consolidated-screening-list"
_SOURCE = re.compile(
    r"^\s*(?P<name>.*?)\s*\((?P<code>[A-Za-z0-9]+)\)(?P<rest>[^-]*)-\s*(?P<by>.+?)\s*$"
)
_AUTHORITIES = {
    "Bureau of Industry and Security": "BIS",
    "State Department": "US Department of State",
    "Treasury Department": "OFAC",
}
_KINDS = {"individual": "person", "entity": "company", "vessel": "other", "aircraft": "other"}
_URL = re.compile(r"^https?://\S+$")
_SUCCESSORS = re.compile(r"[;,]?\s*and any successor.*$", re.IGNORECASE)
_ABBREVIATION = re.compile(r"\(([^()]{2,20})\)\s*$")
_C1 = {code: bytes([code]).decode("cp1252", errors="ignore") for code in range(0x80, 0xA0)}


@dataclass(frozen=True, slots=True)
class CslSource:
    """A CSL `source` column: `Entity List (EL) - Bureau of Industry and Security`."""

    text: str
    code: str | None
    name: str
    authority: str


def parse_csl_source(text: str) -> CslSource:
    match = _SOURCE.match(text)
    if match is None:
        return CslSource(text=text.strip(), code=None, name=text.strip(), authority=text.strip())
    name = f"{match['name']}{match['rest']}".strip() or match["name"]
    by = match["by"].strip()
    return CslSource(
        text=text.strip(), code=match["code"].upper(), name=name, authority=_AUTHORITIES.get(by, by)
    )


def clean_text(text: str | None) -> str:
    """Strip, collapse white space, and repair C1 control characters left by a cp1252 export
    (`Gui\\x92an` -> `Gui'an`)."""
    if not text:
        return ""
    text = "".join(_C1.get(ord(ch), ch) if 0x80 <= ord(ch) < 0xA0 else ch for ch in text)
    return " ".join(text.split())


def slugify(name: str, *, max_length: int = 64) -> str:
    """A deterministic entity id from a name: ASCII letters and digits joined by '-'; a hash
    suffix keeps long names unique; a name with no ASCII letter becomes `csl-<hash>`."""
    digest = hashlib.sha1(name.encode("utf-8")).hexdigest()  # noqa: S324 - an id, not security
    ascii_text = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii")
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")
    if not slug:
        return f"csl-{digest[:12]}"
    if len(slug) > max_length:
        slug = f"{slug[: max_length - 9].rstrip('-')}-{digest[:8]}"
    return slug


def split_aliases(text: str | None, name: str = "") -> list[str]:
    """`alt_names` split on ';', with a leading 'and ' and trailing punctuation removed,
    without duplicates or the name itself."""
    seen = {normalized_name(name)} if name else set()
    out: list[str] = []
    for part in clean_text(text).split(";"):
        alias = re.sub(r"^and\s+", "", part.strip(), flags=re.IGNORECASE).strip(" .,")
        key = normalized_name(alias)
        if alias and key and key not in seen:
            seen.add(key)
            out.append(alias[:500])
    return out


def _abbreviations(name: str) -> list[str]:
    """A short form closing a name, `Academy of ... (AASPT)` -> `AASPT` (not `(Kursk)`)."""
    match = _ABBREVIATION.search(name)
    if match is None:
        return []
    short = match[1].strip()
    upper = sum(ch.isupper() for ch in short)
    return [short] if upper >= 2 and upper * 2 >= sum(ch.isalpha() for ch in short) else []


def _country(addresses: str) -> set[str]:
    found = set()
    for address in clean_text(addresses).split(";"):
        last = address.rsplit(",", 1)[-1].strip()
        if re.fullmatch(r"[A-Z]{2}", last):
            found.add(last)
    return found


def _day(text: str | None) -> str | None:
    text = (text or "").strip()
    try:
        return _dt.date.fromisoformat(text).isoformat() if len(text) == 10 else None
    except ValueError:
        return None


def _url(row: dict[str, str], fallback: str) -> str:
    for column in ("source_information_url", "source_list_url"):
        value = (row.get(column) or "").strip()
        if _URL.match(value) and len(value) <= 2048:
            return value
    return fallback


def _event(raw: dict[str, Any], line: int | None) -> AnyEvent:
    """Validate a built event (constraints, check()) and give it its content-derived id."""
    try:
        event = from_builtins(raw)
    except EventInvalid as exc:
        raise ImportFailed(line, exc.field, exc.detail) from None
    return with_id(event, content_id(event, CSL_NAMESPACE))


@dataclass(slots=True)
class _Party:
    """One entity of the file, merged over its rows."""

    id: str
    name: str
    kind: str
    line: int
    aliases: list[str] = field(default_factory=list)
    countries: set[str] = field(default_factory=set)
    csl_ids: set[str] = field(default_factory=set)
    occurred: PartialDate | None = None
    url: str = CSL_URL
    source: str = ""


def _earlier(current: PartialDate | None, new: str) -> PartialDate:
    candidate = PartialDate(new)
    return candidate if current is None or candidate < current else current


async def _registered(store: EventStore, entity: str) -> bool:
    return any(r.type == "EntityRegistered" for r in await store.entity_events(entity))


@dataclass(slots=True)
class CslFile:
    """A parsed CSL file: its lists, entities and listing events (not yet validated or given
    ids), what was skipped, and how many data rows it has. Pure: see `parse_csl`."""

    rows: int = 0
    lists: dict[str, dict[str, Any]] = field(default_factory=dict)
    parties: dict[str, _Party] = field(default_factory=dict)
    listings: list[tuple[dict[str, Any], int]] = field(default_factory=list)
    legacy: list[dict[str, Any] | None] = field(default_factory=list)
    """For each of `listings`, what the importer before designations made of it."""
    skipped: dict[str, int] = field(default_factory=dict)


def parse_csl(data: bytes) -> CslFile:
    """Parse a Consolidated Screening List CSV (UTF-8, or cp1252) into lists, entities and
    listings. Raises ImportFailed when the header is not a CSL header."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = data.decode("cp1252", errors="replace")
    reader = csv.DictReader(io.StringIO(text, newline=""))
    header = [column.strip() for column in reader.fieldnames or []]
    missing = [column for column in CSL_REQUIRED if column not in header]
    if missing:
        raise ImportFailed(
            1, "header", f"not a Consolidated Screening List CSV: no {', '.join(missing)}"
        )
    reader.fieldnames = header

    by_code = {d.csl_source: d for d in list_definitions() if d.csl_source}
    seed = seed_registrations()
    seed_names = company_name_index()
    parsed = CslFile()

    def skip(why: str) -> None:
        parsed.skipped[why] = parsed.skipped.get(why, 0) + 1

    for row in reader:
        line = reader.line_num
        parsed.rows += 1
        if (row.get("entity_number") or "").strip():
            skip("OFAC rows (entity_number set)")
            continue
        name = _SUCCESSORS.sub("", clean_text(row.get("name")))[:500]
        if not name:
            skip("rows without a name")
            continue
        source = parse_csl_source(clean_text(row.get("source")))
        definition = by_code.get(source.code) if source.code else None
        list_id = (
            definition.id
            if definition
            else f"csl-{slugify(source.code or source.name, max_length=59)}"
        )
        notice = clean_text(row.get("federal_register_notice"))
        citations = parse_fr_citations(notice)
        occurred = _day(row.get("start_date"))
        if occurred is None:
            dated = [c.date for c in citations if c.date is not None]
            occurred = (
                dated[0].isoformat()
                if dated
                else (f"{citations[0].year:04d}" if citations else None)
            )
        if occurred is None:
            skip("rows without any date")
            continue
        url = _url(row, definition.record["sources"][0]["url"] if definition else CSL_URL)

        entity = seed_names.get(normalized_name(name))
        if entity is None:
            entity = slugify(name)
            if entity in seed:  # never re-register a seed entity under a CSL name
                entity = slugify(f"{entity}-csl")
        party = parsed.parties.get(entity)
        if party is None:
            kind = _KINDS.get((row.get("type") or "").strip().lower(), "other")
            party = parsed.parties[entity] = _Party(
                id=entity, name=name, kind=kind, line=line, url=url, source=source.text
            )
        extra = _abbreviations(name)
        for alias in split_aliases("; ".join([*extra, row.get("alt_names") or ""]), party.name):
            if alias not in party.aliases:
                party.aliases.append(alias)
        party.countries |= _country(row.get("addresses") or "")
        if (row.get("_id") or "").strip():
            party.csl_ids.add(row["_id"].strip())
        party.occurred = _earlier(party.occurred, occurred)

        known = parsed.lists.setdefault(
            list_id,
            {
                "definition": definition,
                "source": source,
                "url": url,
                "occurred": None,
                "line": line,
            },
        )
        known["occurred"] = _earlier(known["occurred"], occurred)

        sources = [
            {
                "url": url,
                "publisher": source.authority,
                "title": source.text[:500]
                + (f", published {c.date.isoformat()}" if c.date else ""),
                "citation": str(c),
            }
            for c in citations[:50]
        ] or [{"url": url, "publisher": source.authority, "title": source.text[:500]}]
        if notice and not citations:
            sources[0]["citation"] = notice[:500]
        listed: dict[str, Any] = {
            "type": "EntityListed",
            "entity": entity,
            "occurred": occurred,
            "sources": sources,
            "list": list_id,
            "authority": source.authority[:500],
        }
        for column in ("license_policy", "license_requirement"):
            value = clean_text(row.get(column))
            if value:
                listed[column] = value[:20_000]
        for designated in row_designations(
            row,
            legacy_listed=listed,
            ended=_day(row.get("end_date")),
            notice=notice,
            clean=clean_text,
        ):
            parsed.listings.append((designated.listed, line))
            parsed.legacy.append(designated.legacy_listed)
            if designated.delisted is not None:
                parsed.listings.append((designated.delisted, line))
                parsed.legacy.append(designated.legacy_delisted)
    return parsed


async def designation_events(
    store: EventStore, parsed: CslFile
) -> list[tuple[AnyEvent, int | None]]:
    """The listings and delistings of a parsed file as events (identical rows are one event).
    One the importer before designations made for the same row, found in the log, is
    superseded by the row's new events (see `service.ingest.csl_designations`); a delisting
    names the listing of its designation."""
    in_log = {
        r.event.id
        for r in await store.events_of(sorted({raw["entity"] for raw, _ in parsed.listings}))
        if r.type in ("EntityListed", "EntityDelisted")
    }
    out: list[tuple[AnyEvent, int | None]] = []
    seen: set[uuid.UUID] = set()
    listing_of: dict[tuple[Any, ...], uuid.UUID] = {}
    for (raw, line), legacy in zip(parsed.listings, parsed.legacy, strict=True):
        key = (raw["entity"], raw["list"], raw.get("program"), raw.get("designation"))
        if raw["type"] == "EntityDelisted" and raw.get("designation") and key in listing_of:
            raw = {**raw, "listing": str(listing_of[key])}
        if legacy is not None and legacy is not raw:
            old = _event(legacy, line).id
            if old in in_log and old != _event(raw, line).id:
                raw = {**raw, "supersedes": [str(old)]}
        event = _event(raw, line)
        if raw["type"] == "EntityListed":
            listing_of[key] = event.id  # type: ignore[assignment]
        if event.id not in seen:  # identical rows are one event
            seen.add(event.id)  # type: ignore[arg-type]
            out.append((event, line))
    return out


async def import_csl(
    store: EventStore,
    path: str | Path,
    *,
    progress: Progress | None = None,
    batch_size: int = BATCH_SIZE,
) -> ImportReport:
    """Import a trade.gov Consolidated Screening List CSV (current 29-column or older format).

    Each non-OFAC row becomes an `EntityListed` on the list of its `source` (from its
    `start_date`, else the first dated Federal Register citation, else the year of the first
    citation's volume), plus an `EntityDelisted` on its `end_date`; each entity one
    `EntityRegistered` merged over its rows (a name or alias of a seed company maps to that
    company instead). Rows with an `entity_number` are OFAC records and are skipped, as are rows
    with no date at all. Event ids derive from content: importing the same file again adds
    nothing. `progress(events_appended, events_total)` is called after each batch.
    """
    started = time.perf_counter()
    report = ImportReport()
    parsed = parse_csl(await asyncio.to_thread(Path(path).read_bytes))
    report.read = parsed.rows
    seed = seed_registrations()

    # Registrations: lists first, then entities; a seed entity or list already registered in
    # the log is not registered again (its seed registration is used when it is missing).
    registrations: list[tuple[AnyEvent, int | None]] = []
    for list_id, known in parsed.lists.items():
        if await _registered(store, list_id):
            continue
        definition = known["definition"]
        if definition is not None and definition.seeded:
            registrations.append((seed[list_id], None))
            continue
        if definition is not None:
            raw = registration_raw(definition.record, occurred=str(known["occurred"]))
        else:
            source: CslSource = known["source"]
            raw = {
                "type": "EntityRegistered",
                "entity": list_id,
                "occurred": str(known["occurred"]),
                "kind": "list",
                "names": {"en": source.name[:500] or list_id},
                "aliases": [source.text[:500]] + ([source.code] if source.code else []),
                "identifiers": {"csl_source": source.code or source.text[:500]},
                "sources": [{"url": known["url"], "publisher": source.authority[:500]}],
            }
        registrations.append((_event(raw, known["line"]), known["line"]))
    for entity, party in parsed.parties.items():
        if entity in seed:
            if not await _registered(store, entity):
                registrations.append((seed[entity], None))
            continue
        raw = {
            "type": "EntityRegistered",
            "entity": entity,
            "occurred": str(party.occurred),
            "kind": party.kind,
            "names": {"en": party.name},
            "aliases": party.aliases[:200],
            "sources": [
                {
                    "url": party.url,
                    "publisher": "Consolidated Screening List (trade.gov)",
                    "title": party.source[:500],
                }
            ],
        }
        if len(party.countries) == 1:
            raw["country"] = next(iter(party.countries))
        if len(party.csl_ids) == 1:
            raw["identifiers"] = {"csl": next(iter(party.csl_ids))[:500]}
        registrations.append((_event(raw, party.line), party.line))

    events: list[tuple[AnyEvent, int | None]] = list(registrations)
    events.extend(await designation_events(store, parsed))

    report.skipped = parsed.skipped
    report.lists = len(parsed.lists)
    report.entities = len(parsed.parties)
    for start in range(0, len(events), batch_size):
        chunk = events[start : start + batch_size]
        await append_batch(store, [e for e, _ in chunk], [n for _, n in chunk], report)
        if progress is not None:
            progress(report.events, len(events))
    report.seconds = time.perf_counter() - started
    return report
