"""The names of an entity over world time, as the search index stores them, and back: pure.

Every name and alias an entity was ever given (each registration, in world order, gives it a set
of names and aliases from its date on; a later one replaces them) is one `NameSpan`: the name,
its place in the entity's list of names (`ordinal`: current names first, then current aliases,
then the earlier names, latest first) and the world-time spans `[valid_from, valid_to)` over
which the entity bore it. The first set holds from the beginning of time, as in the fold (an
entity is called by its name before its registration's own date).

`key_rows` turns the names into the rows of the key index: one row per distinct key of a name,
with a bit mask of the roles the key plays (`ROLE_*`), the key and the key reversed (for the
suffix lookups of fuzzy search). `candidate_on` turns stored names and keys back into a ranking
`Candidate` for a world date: the names the entity had on or before that day, and which of them
it no longer bore then (former names).
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Iterable, Sequence

import msgspec

from events import EntityRegistered
from events.types import EntityRenamed
from projections.facts import Fact
from projections.names.keys import NameKeys, name_keys
from projections.names.rank import Candidate
from projections.select import effective

__all__ = [
    "ROLE_CORE",
    "ROLE_CORE_TOKEN",
    "ROLE_EXACT",
    "ROLE_FORMS",
    "ROLE_LATIN",
    "ROLE_TOKEN",
    "FormerAware",
    "NameSpan",
    "candidate_on",
    "entity_name_spans",
    "key_rows",
    "keys_from_rows",
    "name_spans",
]

ROLE_EXACT = 1
ROLE_CORE = 2
ROLE_LATIN = 4
ROLE_TOKEN = 8
ROLE_CORE_TOKEN = 16
ROLE_FORMS = ROLE_EXACT | ROLE_CORE | ROLE_LATIN
"""Roles of a whole-name key: what exact, core, transliteration and whole-name prefix and fuzzy
matches look up."""

BEGINNING = _dt.date.min
OPEN_END = _dt.date.max


class NameSpan(msgspec.Struct, frozen=True, kw_only=True):
    """One name of an entity and the world-time spans `[valid_from, valid_to)` it held."""

    ordinal: int
    name: str
    spans: tuple[tuple[_dt.date, _dt.date], ...]


def name_spans(sets: Sequence[tuple[_dt.date, Iterable[str], Iterable[str]]]) -> list[NameSpan]:
    """The names over time, from `(date, names, aliases)` of each naming event in world order
    (registrations; renames once there are any). Blank names are dropped; a name kept from one
    set to the next keeps one span."""
    held: dict[str, list[list[_dt.date]]] = {}
    order_of_set: list[list[str]] = []
    for i, (start, names, aliases) in enumerate(sets):
        start = BEGINNING if i == 0 else start
        these: list[str] = []
        for name in (*names, *aliases):
            if name.strip() and name not in these:
                these.append(name)
        # Close the spans of names this set drops, open those of new names.
        for name, spans in held.items():
            if spans[-1][1] == OPEN_END and name not in these:
                spans[-1][1] = start
        for name in these:
            spans = held.setdefault(name, [])
            if not spans or spans[-1][1] != OPEN_END:
                spans.append([start, OPEN_END])
        order_of_set.append(these)
    ordered: list[str] = []
    for these in reversed(order_of_set):
        ordered.extend(name for name in these if name not in ordered)
    borne = [(name, tuple((a, b) for a, b in held[name] if a < b)) for name in ordered]
    return [
        NameSpan(ordinal=i, name=name, spans=spans)
        for i, (name, spans) in enumerate((name, spans) for name, spans in borne if spans)
    ]


def entity_name_spans(
    entity: str, facts: Iterable[Fact], known_at: _dt.datetime | None = None
) -> list[NameSpan]:
    """The names over time of `entity` from its facts, as the log knew them at `known_at`
    (None: all of it): its registrations and renames that count then, in world order (each
    names the entity from its own date on)."""
    return name_spans(
        [
            (f.event.occurred.start, f.event.names.values(), f.event.aliases)
            for f in effective(facts, known_at)
            if isinstance(f.event, EntityRegistered | EntityRenamed) and f.event.entity == entity
        ]
    )


def key_rows(spans: Iterable[NameSpan]) -> list[tuple[int, int, str, str]]:
    """`(ordinal, roles, key, reversed key)` for every distinct key of every name."""
    out: list[tuple[int, int, str, str]] = []
    for span in spans:
        keys = name_keys(span.name)
        roles: dict[str, int] = {}
        for role, found in (
            (ROLE_EXACT, keys.exact),
            (ROLE_CORE, keys.core),
            (ROLE_LATIN, keys.latin),
            (ROLE_TOKEN, keys.tokens),
            (ROLE_CORE_TOKEN, keys.core_tokens),
        ):
            for key in found:
                roles[key] = roles.get(key, 0) | role
        out.extend((span.ordinal, r, key, key[::-1]) for key, r in sorted(roles.items()))
    return out


def keys_from_rows(rows: Iterable[tuple[int, str]]) -> NameKeys:
    """The `NameKeys` of one name from its stored `(roles, key)` rows. (A search ranks hundreds
    of candidates with a dozen names each: this runs for every name, so one test per role.)"""
    exact: list[str] = []
    core: list[str] = []
    latin: list[str] = []
    tokens: list[str] = []
    core_tokens: list[str] = []
    for roles, key in rows:
        if roles & ROLE_TOKEN:
            tokens.append(key)
        if roles & ROLE_CORE_TOKEN:
            core_tokens.append(key)
        if roles & ROLE_EXACT:
            exact.append(key)
        if roles & ROLE_CORE:
            core.append(key)
        if roles & ROLE_LATIN:
            latin.append(key)
    return NameKeys(
        exact=frozenset(exact),
        core=frozenset(core),
        tokens=frozenset(tokens),
        core_tokens=frozenset(core_tokens),
        latin=frozenset(latin),
    )


class FormerAware(msgspec.Struct, frozen=True, kw_only=True):
    """A ranking candidate on a day, with the names among its names it no longer bore then."""

    candidate: Candidate
    former: frozenset[str]


def candidate_on(
    entity: str,
    kind: str | None,
    spans: Sequence[NameSpan],
    keys: dict[int, NameKeys],
    day: _dt.date,
) -> FormerAware:
    """The entity as search sees it on `day`: every name it bore on or before `day`, in
    ordinal order (those it still bore first), and which of them were former names then."""
    current: list[NameSpan] = []
    former: list[NameSpan] = []
    for span in sorted(spans, key=lambda s: s.ordinal):
        if any(a <= day < b for a, b in span.spans):
            current.append(span)
        elif any(a <= day for a, _ in span.spans):
            former.append(span)
    # Former names in the order they were left, the latest first.
    former.sort(key=lambda s: (-max(b for a, b in s.spans if a <= day).toordinal(), s.ordinal))
    kept = current + former
    return FormerAware(
        candidate=Candidate(
            entity=entity,
            kind=kind or "",
            names=tuple(s.name for s in kept),
            keys=tuple(keys[s.ordinal] for s in kept),
        ),
        former=frozenset(s.name for s in former),
    )
