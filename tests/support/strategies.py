"""Reusable test material for projections and read models: a log builder and Hypothesis strategies.

`LogBuilder` writes small logs by hand (positions 1, 2, ... and a recorded_at one minute apart
unless told). `logs()` generates valid logs as the store would hold them: every entity is
registered first (at a random world date), references name registered entities, `supersedes`
names earlier events of the same entity (so correction chains and retractions of corrections
arise), `recorded_at` never goes backwards (batches may share one), and `occurred` mixes the
three precisions over a few years so that intervals overlap. Entity ids are fixed
(`COMPANIES`, `LISTS`, `RULES`); event ids are unique per generated log (random base).
"""

from __future__ import annotations

import datetime as _dt
import functools
import uuid
from collections.abc import Sequence
from typing import Any

import msgspec
from hypothesis import strategies as st

from events import (
    AnyEvent,
    EntityDelisted,
    EntityListed,
    EntityRegistered,
    EventRetracted,
    ExitAnnounced,
    Impact,
    PartialDate,
    ProductMassProduced,
    RuleIssued,
    RuleRescinded,
    Source,
    check,
)
from projections import Fact

COMPANIES = ("acme", "bolt", "cobalt")
LISTS = ("us-entity-list", "eu-sanctions")
RULES = ("rule-a", "rule-b")
PRODUCTS = ("x1-nand", "y2-dram")
MARKETS = ("nand", "dram")
REGIONS = ("US", "EU")
AUTHORITIES = ("BIS", "OFAC", "EU Council")
PROGRAMS = ("EAR744-EL", "1260H")
DESIGNATIONS = ("QDe.001", "87 FR 77505 #3")

MIN_YEAR = 2020
MAX_YEAR = 2023
FIRST_DAY = _dt.date(MIN_YEAR, 1, 1)
LAST_DAY = _dt.date(MAX_YEAR, 12, 31)

T0 = _dt.datetime(2024, 1, 1, tzinfo=_dt.UTC)
SOURCES = (Source(url="https://example.org/source"),)


class LogBuilder:
    """Write a log by hand. Each method appends one event and returns its `Fact`."""

    def __init__(self, start: _dt.datetime = T0) -> None:
        self.facts: list[Fact] = []
        self._clock = start

    def add(self, event: AnyEvent, *, at: _dt.datetime | None = None) -> Fact:
        position = len(self.facts) + 1
        if event.id is None:
            event = _with_id(event, uuid.UUID(int=position))
        if at is None:
            at = self._clock + _dt.timedelta(minutes=position)
        fact = Fact(position=position, recorded_at=at, event=check(event))
        self.facts.append(fact)
        return fact

    def register(
        self,
        entity: str,
        occurred: str = "2020-01-01",
        *,
        kind: str = "company",
        names: dict[str, str] | None = None,
        aliases: tuple[str, ...] = (),
        country: str | None = None,
        supersedes: Sequence[Fact] = (),
        at: _dt.datetime | None = None,
    ) -> Fact:
        return self.add(
            EntityRegistered(
                entity=entity,
                occurred=PartialDate(occurred),
                sources=SOURCES,
                kind=kind,  # type: ignore[arg-type]
                names=names or {"en": entity.upper()},  # type: ignore[arg-type]
                aliases=aliases,
                country=country,
                supersedes=_ids(supersedes),
            ),
            at=at,
        )

    def listed(
        self,
        entity: str,
        occurred: str,
        *,
        on: str = "us-entity-list",
        authority: str = "BIS",
        rule: str | None = None,
        license_policy: str | None = None,
        program: str | None = None,
        designation: str | None = None,
        reason: str | None = None,
        measures: tuple[str, ...] = (),
        supersedes: Sequence[Fact] = (),
        at: _dt.datetime | None = None,
    ) -> Fact:
        return self.add(
            EntityListed(
                entity=entity,
                occurred=PartialDate(occurred),
                sources=SOURCES,
                list=on,
                authority=authority,
                rule=rule,
                license_policy=license_policy,
                program=program,
                designation=designation,
                reason=reason,
                measures=measures,
                supersedes=_ids(supersedes),
            ),
            at=at,
        )

    def delisted(
        self,
        entity: str,
        occurred: str,
        *,
        on: str = "us-entity-list",
        program: str | None = None,
        designation: str | None = None,
        listing: Fact | None = None,
        supersedes: Sequence[Fact] = (),
        at: _dt.datetime | None = None,
    ) -> Fact:
        return self.add(
            EntityDelisted(
                entity=entity,
                occurred=PartialDate(occurred),
                sources=SOURCES,
                list=on,
                program=program,
                designation=designation,
                listing=listing.event.id if listing is not None else None,
                supersedes=_ids(supersedes),
            ),
            at=at,
        )

    def issued(
        self,
        rule: str,
        occurred: str,
        *,
        targets: tuple[str, ...],
        effective: _dt.date | None = None,
        title: dict[str, str] | None = None,
        authority: str = "BIS",
        supersedes: Sequence[Fact] = (),
        at: _dt.datetime | None = None,
    ) -> Fact:
        return self.add(
            RuleIssued(
                entity=rule,
                occurred=PartialDate(occurred),
                sources=SOURCES,
                title=title or {"en": f"Rule {rule}"},  # type: ignore[arg-type]
                authority=authority,
                effective=effective,
                targets=targets,
                supersedes=_ids(supersedes),
            ),
            at=at,
        )

    def rescinded(
        self,
        rule: str,
        occurred: str,
        *,
        supersedes: Sequence[Fact] = (),
        at: _dt.datetime | None = None,
    ) -> Fact:
        return self.add(
            RuleRescinded(
                entity=rule,
                occurred=PartialDate(occurred),
                sources=SOURCES,
                supersedes=_ids(supersedes),
            ),
            at=at,
        )

    def product(
        self,
        entity: str,
        occurred: str,
        *,
        product: str = "x1-nand",
        category: str = "memory",
        specs: dict[str, str | int | float] | None = None,
        supersedes: Sequence[Fact] = (),
        at: _dt.datetime | None = None,
    ) -> Fact:
        return self.add(
            ProductMassProduced(
                entity=entity,
                occurred=PartialDate(occurred),
                sources=SOURCES,
                product=product,
                category=category,
                specs=specs or {},
                supersedes=_ids(supersedes),
            ),
            at=at,
        )

    def exit(
        self,
        entity: str,
        occurred: str,
        *,
        market: str = "nand",
        region: str = "US",
        impact: Impact | None = None,
        supersedes: Sequence[Fact] = (),
        at: _dt.datetime | None = None,
    ) -> Fact:
        return self.add(
            ExitAnnounced(
                entity=entity,
                occurred=PartialDate(occurred),
                sources=SOURCES,
                market=market,
                region=region,
                impact=impact,
                supersedes=_ids(supersedes),
            ),
            at=at,
        )

    def retract(
        self,
        *targets: Fact,
        occurred: str = "2024-01-01",
        at: _dt.datetime | None = None,
    ) -> Fact:
        return self.add(
            EventRetracted(
                entity=targets[0].event.entity,
                occurred=PartialDate(occurred),
                sources=SOURCES,
                supersedes=_ids(targets),
            ),
            at=at,
        )


def _ids(facts: Sequence[Fact]) -> tuple[uuid.UUID, ...]:
    return tuple(fact.event.id for fact in facts if fact.event.id is not None)


def _with_id(event: AnyEvent, event_id: uuid.UUID) -> AnyEvent:
    return msgspec.structs.replace(event, id=event_id)


# --- strategies --------------------------------------------------------------------------


def partial_dates(
    min_year: int = MIN_YEAR, max_year: int = MAX_YEAR
) -> st.SearchStrategy[PartialDate]:
    """Partial dates of all three precisions: `YYYY`, `YYYY-MM`, `YYYY-MM-DD`."""
    years = st.integers(min_year, max_year)
    return st.one_of(
        years.map(lambda y: PartialDate(f"{y:04d}")),
        st.tuples(years, st.integers(1, 12)).map(
            lambda ym: PartialDate(f"{ym[0]:04d}-{ym[1]:02d}")
        ),
        st.dates(_dt.date(min_year, 1, 1), _dt.date(max_year, 12, 31)).map(PartialDate.of_day),
    )


@functools.lru_cache(maxsize=256)
def _pick(options: tuple[Any, ...]) -> st.SearchStrategy[Any]:
    """`sampled_from`, built once per tuple of options (building strategies is what costs)."""
    return st.sampled_from(options)


@functools.lru_cache(maxsize=256)
def _subset(options: tuple[str, ...], min_size: int) -> st.SearchStrategy[list[str]]:
    return st.lists(st.sampled_from(options), min_size=min_size, max_size=len(options), unique=True)


@functools.lru_cache(maxsize=64)
def _up_to(n: int) -> st.SearchStrategy[int]:
    return st.integers(0, n)


def _choose(draw: st.DrawFn, options: Sequence[Any]) -> Any:
    return draw(_pick(tuple(options)))


def _nth(draw: st.DrawFn, options: Sequence[Any]) -> Any:
    """One of many changing options (e.g. earlier event ids), without a strategy per list."""
    return options[draw(_INDEX) % len(options)]


_INDEX = st.integers(0, 1023)
_DATES = partial_dates()
_BASE = st.integers(0, 2**64 - 1)
_ONE_IN_FOUR = st.integers(0, 3)
_STEPS = (0, 1, 1, 60, 3600, 86_400)
_EFFECTIVE = st.none() | st.dates(FIRST_DAY, LAST_DAY)
_IMPACT = st.none() | st.just(Impact(amount=1_500_000, currency="USD"))
_SPECS = st.sampled_from(({}, {"layers": 232}, {"layers": 128, "node": "1z"}, {"gb": 0.5}))

_KINDS = ("listed", "listed", "delisted", "delisted", "issued", "rescinded", "product", "exit")
_KINDS_RARE = ("registered", "retracted")


@st.composite
def logs(draw: st.DrawFn, *, max_events: int = 25) -> list[Fact]:
    """A valid log as stored: registrations first, then up to `max_events` random events."""
    companies = draw(_subset(COMPANIES, 1))
    lists = draw(_subset(LISTS, 1))
    rules = draw(_subset(RULES, 0))
    kinds_of = {
        **{entity: "company" for entity in companies},
        **{entity: "list" for entity in lists},
        **{entity: "rule" for entity in rules},
    }
    base = draw(_BASE) << 32
    events: list[AnyEvent] = []

    def new_id() -> uuid.UUID:
        return uuid.UUID(int=base + len(events) + 1)

    for entity in sorted(kinds_of):
        events.append(_registration(draw, entity, kinds_of[entity], new_id()))

    kinds = (
        _KINDS if rules else tuple(kind for kind in _KINDS if kind not in ("issued", "rescinded"))
    )
    for _ in range(draw(_up_to(max_events))):
        kind = _choose(draw, kinds + _KINDS_RARE)
        occurred = draw(_DATES)
        if kind == "registered":
            entity = _choose(draw, sorted(kinds_of))
            event: AnyEvent = _registration(draw, entity, kinds_of[entity], new_id(), occurred)
        elif kind == "retracted":
            entity = _choose(draw, sorted(kinds_of))
            prior = [e.id for e in events if e.entity == entity and e.id is not None]
            targets = sorted({_nth(draw, prior) for _ in range(1 + draw(_ONE_IN_FOUR) // 2)})
            event = EventRetracted(
                entity=entity,
                occurred=occurred,
                sources=SOURCES,
                supersedes=tuple(targets),
                id=new_id(),
            )
        else:
            event = _plain_event(draw, kind, occurred, companies, lists, rules, new_id())
        prior = [e.id for e in events if e.entity == event.entity and e.id is not None]
        if prior and not isinstance(event, EventRetracted) and draw(_ONE_IN_FOUR) == 0:
            # A correction: supersedes one earlier event of the same entity (chains arise when
            # the earlier one was itself a correction).
            event = _supersede(event, _nth(draw, prior))
        events.append(check(event))

    steps = [_choose(draw, _STEPS) for _ in events]
    facts: list[Fact] = []
    at = T0
    for position, (event, step) in enumerate(zip(events, steps, strict=True), start=1):
        at = at + _dt.timedelta(seconds=step)
        facts.append(Fact(position=position, recorded_at=at, event=event))
    return facts


def _supersede(event: AnyEvent, target: uuid.UUID) -> AnyEvent:
    return msgspec.structs.replace(event, supersedes=(target,))


def _registration(
    draw: st.DrawFn,
    entity: str,
    kind: str,
    event_id: uuid.UUID,
    occurred: PartialDate | None = None,
) -> EntityRegistered:
    suffix = _choose(draw, ("", " Co.", " Ltd"))
    return EntityRegistered(
        entity=entity,
        occurred=occurred if occurred is not None else draw(_DATES),
        sources=SOURCES,
        kind=kind,  # type: ignore[arg-type]
        names={"en": entity.title() + suffix, "zh-Hans": f"{entity}公司{suffix}"},
        aliases=tuple(draw(_subset((entity.upper(), f"{entity}-alias"), 0))),
        country=_choose(draw, (None, "CN", "US")),
        id=event_id,
    )


def _plain_event(
    draw: st.DrawFn,
    kind: str,
    occurred: PartialDate,
    companies: Sequence[str],
    lists: Sequence[str],
    rules: Sequence[str],
    event_id: uuid.UUID,
) -> AnyEvent:
    common = {"occurred": occurred, "sources": SOURCES, "id": event_id}
    if kind == "listed":
        return EntityListed(
            entity=_choose(draw, companies),
            list=_choose(draw, lists),
            authority=_choose(draw, AUTHORITIES),
            rule=_choose(draw, (None, *rules)),
            license_policy=_choose(draw, (None, "presumption of denial")),
            program=_choose(draw, (None, *PROGRAMS)),
            designation=_choose(draw, (None, None, *DESIGNATIONS)),
            **common,
        )
    if kind == "delisted":
        return EntityDelisted(
            entity=_choose(draw, companies),
            list=_choose(draw, lists),
            program=_choose(draw, (None, None, *PROGRAMS)),
            designation=_choose(draw, (None, None, None, *DESIGNATIONS)),
            **common,
        )
    if kind == "issued":
        return RuleIssued(
            entity=_choose(draw, rules),
            title={"en": _choose(draw, ("Advanced computing", "Amendment"))},
            authority=_choose(draw, AUTHORITIES),
            effective=draw(_EFFECTIVE),
            targets=tuple(draw(_subset(tuple(companies), 0))),
            **common,
        )
    if kind == "rescinded":
        return RuleRescinded(entity=_choose(draw, rules), **common)
    if kind == "product":
        return ProductMassProduced(
            entity=_choose(draw, companies),
            product=_choose(draw, PRODUCTS),
            category="memory",
            specs=dict(draw(_SPECS)),
            **common,
        )
    if kind == "exit":
        return ExitAnnounced(
            entity=_choose(draw, companies),
            market=_choose(draw, MARKETS),
            region=_choose(draw, REGIONS),
            impact=draw(_IMPACT),
            **common,
        )
    raise ValueError(f"unknown kind {kind!r}")


def interesting_days(facts: Sequence[Fact]) -> list[_dt.date]:
    """Days around every interval edge of the log: where certainty changes."""
    one = _dt.timedelta(days=1)
    days: set[_dt.date] = set()
    for fact in facts:
        occurred = fact.event.occurred
        days.update((occurred.start - one, occurred.start, occurred.end - one, occurred.end))
        effective = getattr(fact.event, "effective", None)
        if isinstance(effective, _dt.date):
            days.update((effective - one, effective))
    return sorted(days)


def days_for(facts: Sequence[Fact]) -> st.SearchStrategy[_dt.date]:
    """An `as_of` day: often on an interval edge of the log, sometimes any day around it."""
    edges = interesting_days(facts)
    anyday = st.dates(FIRST_DAY - _dt.timedelta(days=10), LAST_DAY + _dt.timedelta(days=10))
    return st.sampled_from(edges) | anyday if edges else anyday


def moments_for(facts: Sequence[Fact]) -> st.SearchStrategy[_dt.datetime | None]:
    """A `known_at`: None (the whole log), a recorded_at of the log, or just before one."""
    stamps = sorted({fact.recorded_at for fact in facts})
    if not stamps:
        return st.none()
    exact = st.sampled_from(stamps)
    before = exact.map(lambda t: t - _dt.timedelta(microseconds=1))
    return st.none() | exact | before
