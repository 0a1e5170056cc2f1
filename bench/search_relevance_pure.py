"""Name-search relevance, in Python only: index every name of `tests/data/search/search_corpus.json`
with `projections.names`, run each query of `tests/data/search/search_queries.json`, and print the
share of queries whose expected entity comes first (top-1) and among the first five (top-5), overall
and by rule, with the indexing and query rates.

    .venv/bin/python bench/search_relevance_pure.py [--misses] [--check-rank]

`--misses` lists the queries whose expected entity is not first; `--check-rank` also ranks
every query over all candidates with `rank` and fails if `NameIndex.search` differs.
Rebuild the two files with `bench/make_search_queries.py`.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.make_search_queries import CORPUS, QUERIES  # noqa: E402
from projections.names.keys import name_keys  # noqa: E402
from projections.names.rank import NameIndex, candidate, rank  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--misses", action="store_true", help="list queries not ranked first")
    parser.add_argument("--check-rank", action="store_true", help="compare with rank()")
    args = parser.parse_args()
    corpus = json.loads(CORPUS.read_text("utf-8"))
    queries = json.loads(QUERIES.read_text("utf-8"))
    names = sum(len(row["names"]) for row in corpus)

    started = time.perf_counter()
    name_keys("華為 محمد Ромашка 김정은 Co., Ltd.")  # tables and ICU transforms load once
    warm = time.perf_counter() - started
    started = time.perf_counter()
    candidates = [candidate(row["id"], row["kind"], row["names"]) for row in corpus]
    keyed = time.perf_counter() - started
    started = time.perf_counter()
    index = NameIndex(candidates)
    indexed = time.perf_counter() - started

    by_rule: dict[str, list[int]] = {}
    top1 = top5 = 0
    misses = []
    started = time.perf_counter()
    for q in queries:
        found = index.search(q["query"], limit=5)
        ids = [r.entity for r in found]
        first = bool(ids) and ids[0] == q["expected"]
        within = q["expected"] in ids
        top1 += first
        top5 += within
        counts = by_rule.setdefault(q["rule"], [0, 0, 0])
        counts[0] += 1
        counts[1] += first
        counts[2] += within
        if not first:
            misses.append((q, found))
    searched = time.perf_counter() - started

    print(f"corpus: {len(corpus)} entities, {names} names; {len(queries)} queries")
    print(
        f"one-off table loading {warm:.3f} s; keys: {keyed:.3f} s for {names} names "
        f"({keyed / names * 1000:.3f} s per 1k names); "
        f"index build {indexed:.3f} s; search {searched / len(queries) * 1000:.2f} ms a query"
    )
    print(f"top-1: {top1 / len(queries):.1%}   top-5: {top5 / len(queries):.1%}")
    for rule, (n, first, within) in sorted(by_rule.items()):
        print(f"  {rule:16} {n:4}  top-1 {first / n:6.1%}  top-5 {within / n:6.1%}")
    if args.misses:
        for q, found in misses:
            got = [(r.entity, r.matched[1], r.score[1]) for r in found[:3]]
            print(f"MISS [{q['rule']}] {q['query']!r} -> {q['expected']}: {got}")
    if args.check_rank:
        for q in queries:
            if index.search(q["query"], limit=5) != rank(q["query"], candidates, limit=5):
                print(f"index and rank differ for {q['query']!r}")
                return 1
        print("index.search == rank for every query")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
