"""Ranking the entities whose names match a query. Pure and deterministic.

How a name matches a query, best first (`MATCH_KINDS`):

- `id`: the query is the entity's id (`us-bis`), up to case and surrounding spaces;
- `exact`: the name, in either Chinese script, up to case, punctuation, spacing and
  diacritics (the `exact` keys meet);
- `core`: the same once legal forms are left out on both sides (`ZTE Corp` for `ZTE`);
- `transliteration`: the query meets the Latin transliteration of a non-Latin name, or the
  other way round (`Cao Xingcheng` for `曹興誠`, `华为` for `Huawei`);
- `tokens`: every word of the query (legal forms optional) is a word of the name; the
  fewer other words the name has, the better (`Huawei` is nearer `Huawei Technologies` than
  `Huawei Investment & Holding`);
- `prefix`: the query begins the name (`exact`, `core` or `latin` key; two characters at
  least, one Han character), or each query word begins a word of the name; the fewer
  characters left over, the better;
- `fuzzy`: within `allowed_edits` edits (optimal string alignment: a swap of two neighbours is
  one edit) of a whole key, or word by word; the fewer edits, the better.

An entity's score is the tuple `(match rank, quality, -names matching at that rank,
entity kind order, entity id)`, compared ascending: ties between equally good matches go to the
entity with more matching names, then by kind (`KIND_ORDER`), then by id. `Ranked.matched`
says which name matched and how.

`rank` scores every candidate it is given (the reference); `NameIndex` finds the same results
through inverted indexes over the keys, as a database would, and scores only those.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Sequence
from typing import Literal

import msgspec
from rapidfuzz import process
from rapidfuzz.distance import OSA

from projections.names.keys import NameKeys, name_keys
from projections.names.scripts import is_han

__all__ = [
    "FUZZY_EDIT",
    "FUZZY_WORDWISE",
    "KIND_ORDER",
    "MATCH_KINDS",
    "Candidate",
    "MatchKind",
    "NameIndex",
    "Query",
    "Ranked",
    "Score",
    "allowed_edits",
    "candidate",
    "kind_order",
    "query",
    "rank",
    "score",
]

MatchKind = Literal["id", "exact", "core", "transliteration", "tokens", "prefix", "fuzzy"]
MATCH_KINDS: tuple[MatchKind, ...] = (
    "id",
    "exact",
    "core",
    "transliteration",
    "tokens",
    "prefix",
    "fuzzy",
)
_RANK: dict[str, int] = {kind: i for i, kind in enumerate(MATCH_KINDS)}
# Entity kinds, for breaking ties: the timeline is first about companies and governments.
KIND_ORDER: dict[str, int] = {
    "company": 0,
    "government": 1,
    "person": 2,
    "list": 3,
    "rule": 4,
    "other": 5,
}
_UNKNOWN_KIND = len(KIND_ORDER)


def kind_order(kind: str | None) -> int:
    """Where an entity of this kind comes among equally good matches (`KIND_ORDER`; other
    kinds last)."""
    return KIND_ORDER.get(kind, _UNKNOWN_KIND) if kind is not None else _UNKNOWN_KIND


# (match rank, quality, -names matching at that rank, entity kind order, entity id)
Score = tuple[int, int, int, int, str]


def allowed_edits(length: int) -> int:
    """Edits a fuzzy match may need for a key or word of this many characters: none under 4,
    1 up to 7, 2 up to 12, 3 beyond."""
    if length < 4:
        return 0
    if length < 8:
        return 1
    if length < 13:
        return 2
    return 3


class Candidate(msgspec.Struct, frozen=True, kw_only=True):
    """An entity as the ranking sees it: id, kind, its names (names first, then aliases, as
    given) and the keys of each name, in the same order."""

    entity: str
    kind: str
    names: tuple[str, ...]
    keys: tuple[NameKeys, ...]


class Query(msgspec.Struct, frozen=True, kw_only=True):
    """A query as the ranking sees it: the text, its id form and its keys."""

    text: str
    id_key: str
    keys: NameKeys


class Ranked(msgspec.Struct, frozen=True, kw_only=True):
    """One result: the entity, its score (lower is better) and the name that matched with the
    kind of match."""

    entity: str
    score: Score
    matched: tuple[str, MatchKind]


def candidate(entity: str, kind: str, names: Iterable[str]) -> Candidate:
    """A candidate with the keys of each of its names (blank and repeated names dropped)."""
    kept: list[str] = []
    for name in names:
        name = name.strip()
        if name and name not in kept:
            kept.append(name)
    return Candidate(
        entity=entity, kind=kind, names=tuple(kept), keys=tuple(name_keys(n) for n in kept)
    )


def query(text: str) -> Query:
    return Query(text=text, id_key=text.strip().casefold(), keys=name_keys(text))


def _min_prefix(key: str) -> int:
    return 1 if is_han(key[:1]) else 2


def _required(q: NameKeys) -> frozenset[str]:
    return q.core_tokens or q.tokens


def _prefix_quality(q: NameKeys, n: NameKeys) -> int | None:
    best: int | None = None
    forms = n.exact | n.core | n.latin
    for start in q.exact | q.core:
        if len(start) < _min_prefix(start):
            continue
        for form in forms:
            if form.startswith(start) and (best is None or len(form) - len(start) < best):
                best = len(form) - len(start)
    required = _required(q)
    if required:
        total = 0
        for word in required:
            rests = [len(t) - len(word) for t in n.tokens if t.startswith(word)]
            if not rests:
                break
            total += min(rests)
        else:
            best = total if best is None else min(best, total)
    return best


# Fuzzy quality: edits * FUZZY_EDIT, plus for a word-by-word match FUZZY_WORDWISE and the
# number of other words the name has (a whole-key match with as many edits is better).
FUZZY_EDIT = 64
FUZZY_WORDWISE = 32


def _fuzzy_quality(q: NameKeys, n: NameKeys) -> int | None:
    best: int | None = None
    forms = n.exact | n.core | n.latin
    for key in q.exact | q.core | q.latin:
        allowed = allowed_edits(len(key))
        if not allowed:
            continue
        for form in forms:
            edits = OSA.distance(key, form, score_cutoff=allowed)
            if edits <= allowed and (best is None or edits * FUZZY_EDIT < best):
                best = edits * FUZZY_EDIT
    required = _required(q)
    if required and any(allowed_edits(len(word)) for word in required):
        total = FUZZY_WORDWISE + min(len(n.core_tokens - required), FUZZY_WORDWISE - 1)
        for word in required:
            allowed = allowed_edits(len(word))
            edits = min(
                (OSA.distance(word, t, score_cutoff=allowed) for t in n.tokens),
                default=allowed + 1,
            )
            if edits > allowed:
                break
            total += edits * FUZZY_EDIT
        else:
            best = total if best is None else min(best, total)
    return best


def match_name(
    q: NameKeys, n: NameKeys, upto: int = len(MATCH_KINDS)
) -> tuple[MatchKind, int] | None:
    """How one name matches a query (the best kind, and its quality), or None. Only the kinds
    ranked before `upto` (an index of `MATCH_KINDS`) are tried: None also when the name
    matches no better than that."""
    if upto <= _RANK["exact"]:
        return None
    if q.exact & n.exact:
        return "exact", 0
    if upto <= _RANK["core"]:
        return None
    if q.core & n.core:
        return "core", 0
    if upto <= _RANK["transliteration"]:
        return None
    if (q.exact | q.core | q.latin) & n.latin or q.latin & (n.exact | n.core):
        return "transliteration", 0
    if upto <= _RANK["tokens"]:
        return None
    required = _required(q)
    if required and required <= n.tokens:
        in_order = any(form.startswith(start) for form in n.exact for start in q.exact)
        return "tokens", 2 * len(n.core_tokens - q.tokens) + (0 if in_order else 1)
    if upto <= _RANK["prefix"]:
        return None
    prefix = _prefix_quality(q, n)
    if prefix is not None:
        return "prefix", prefix
    if upto <= _RANK["fuzzy"]:
        return None
    fuzzy = _fuzzy_quality(q, n)
    if fuzzy is not None:
        return "fuzzy", fuzzy
    return None


def score(q: Query, c: Candidate) -> Ranked | None:
    """The candidate's score for the query, or None when nothing matches."""
    order = kind_order(c.kind)
    if q.id_key and q.id_key == c.entity:
        return Ranked(entity=c.entity, score=(0, 0, -1, order, c.entity), matched=(c.entity, "id"))
    best: tuple[int, int, int] | None = None  # (rank, quality, position)
    count = 0
    for position, keys in enumerate(c.keys):
        # Once a name matched, the others count only if they match at least as well.
        found = match_name(q.keys, keys, len(MATCH_KINDS) if best is None else best[0] + 1)
        if found is None:
            continue
        this = (_RANK[found[0]], found[1], position)
        if best is None or this[0] < best[0]:
            best, count = this, 1
        elif this[0] == best[0]:
            count += 1
            best = min(best, this)
    if best is None:
        return None
    return Ranked(
        entity=c.entity,
        score=(best[0], best[1], -count, order, c.entity),
        matched=(c.names[best[2]], MATCH_KINDS[best[0]]),
    )


def rank(text: str, candidates: Iterable[Candidate], limit: int | None = None) -> list[Ranked]:
    """Every matching candidate, best first (by `Ranked.score`), at most `limit`."""
    q = query(text)
    found = [r for c in candidates if (r := score(q, c)) is not None]
    found.sort(key=lambda r: r.score)
    return found if limit is None else found[:limit]


class NameIndex:
    """Candidates with inverted indexes over their keys: `search` returns what `rank` over all
    of them would, scoring only the candidates some key points to."""

    def __init__(self, candidates: Sequence[Candidate]) -> None:
        self.candidates: tuple[Candidate, ...] = tuple(candidates)
        self._by_id: dict[str, set[int]] = {}
        self._by_form: dict[str, set[int]] = {}
        self._by_token: dict[str, set[int]] = {}
        for i, c in enumerate(self.candidates):
            self._by_id.setdefault(c.entity, set()).add(i)
            for keys in c.keys:
                for form in keys.exact | keys.core | keys.latin:
                    self._by_form.setdefault(form, set()).add(i)
                for token in keys.tokens:
                    self._by_token.setdefault(token, set()).add(i)
        self._forms: list[str] = sorted(self._by_form)
        self._tokens: list[str] = sorted(self._by_token)

    @staticmethod
    def _starting(keys: list[str], start: str) -> Iterable[str]:
        at = bisect.bisect_left(keys, start)
        while at < len(keys) and keys[at].startswith(start):
            yield keys[at]
            at += 1

    def _near(self, key: str, keys: list[str], allowed: int) -> list[str]:
        hits = process.extract(key, keys, scorer=OSA.distance, score_cutoff=allowed, limit=None)
        return [hit[0] for hit in hits]

    def _all_words(self, required: frozenset[str], words_for) -> set[int]:
        found: set[int] | None = None
        for word in required:
            these: set[int] = set()
            for token in words_for(word):
                these |= self._by_token.get(token, set())
            found = these if found is None else found & these
            if not found:
                return set()
        return found or set()

    def _shortlist(self, q: Query) -> set[int]:
        keys = q.keys
        found: set[int] = set(self._by_id.get(q.id_key, ()))
        for form in keys.exact | keys.core | keys.latin:
            found |= self._by_form.get(form, set())
        required = _required(keys)
        if required:
            found |= self._all_words(required, lambda word: (word,))
            found |= self._all_words(required, lambda word: self._starting(self._tokens, word))
            if any(allowed_edits(len(word)) for word in required):
                found |= self._all_words(
                    required,
                    lambda word: (
                        self._near(word, self._tokens, allowed_edits(len(word)))
                        if allowed_edits(len(word))
                        else (word,)
                    ),
                )
        for start in keys.exact | keys.core:
            if len(start) >= _min_prefix(start):
                for form in self._starting(self._forms, start):
                    found |= self._by_form[form]
        for key in keys.exact | keys.core | keys.latin:
            allowed = allowed_edits(len(key))
            if allowed:
                for form in self._near(key, self._forms, allowed):
                    found |= self._by_form[form]
        return found

    def search(self, text: str, limit: int | None = 10) -> list[Ranked]:
        """The best matches for the query, best first, at most `limit`."""
        q = query(text)
        found = [r for i in self._shortlist(q) if (r := score(q, self.candidates[i])) is not None]
        found.sort(key=lambda r: r.score)
        return found if limit is None else found[:limit]
