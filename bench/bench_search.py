"""Name search through the real index (PostgreSQL + ranking): relevance and latency.

    TIMELINE_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/postgres \
        .venv/bin/python bench/bench_search.py [--sizes 10000,100000] [--misses] [--passes 3]

In a throw-away database (migrated): the entities of `tests/data/search/search_corpus.json`, plus
filler entities up to each size with realistic names (words, legal forms and Chinese names
recombined from the corpus), written to the read-model tables with the rows the projector writes
(`projections.name_index`). Then, at each size: every query of
`tests/data/search/search_queries.json` through `service.readmodels.search.search`, the share whose
expected entity is first and in the top 5, and the latency of each search beside a primary-key
SELECT of rm_entities in the same run (p50, p99 over `--passes` passes of the query set: a p99
of one pass is its ninth slowest search, and moves by a tenth from run to run; and of each
query's fastest search, the search's own cost without the machine's hiccups). Prints the
figures and the command."""

from __future__ import annotations

import argparse
import asyncio
import datetime as _dt
import json
import os
import random
import sys
import time
from pathlib import Path

import asyncpg
import msgspec

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench._common import create_database, drop_database, server, with_database  # noqa: E402
from bench.make_search_queries import CORPUS, QUERIES, plain_words  # noqa: E402
from projections.name_index import key_rows, name_spans  # noqa: E402
from service.db.migrate import migrate  # noqa: E402
from service.readmodels import search  # noqa: E402

LEGAL = ["Co., Ltd.", "Limited", "Inc.", "LLC", "GmbH", "Corporation", "Group", "JSC", "OOO"]
HAN_LEGAL = ["有限公司", "股份有限公司", "集团", "研究所"]
# The query set's rules whose queries are part of a name (`make_search_queries`: `partial`).
PARTIAL_RULES = frozenset({"prefix", "word_order"})
PK = "SELECT entity, kind FROM rm_entities WHERE generation = 1 AND entity = $1"


class SecondAnswers:
    """Whether a made-up name would be a second right answer to a query, by the query set's own
    comparison (`make_search_queries.Checker`: case, accents, apostrophes and punctuation
    ignored): the same text (a legal-form query also without its last word, where the rule put
    or dropped the legal form), or for a partial query (a name's leading words, a name in
    another word order) a name with all its words, one that begins with it, or one that
    contains a query of four characters or fewer. Filler names that would be are not used: the
    query set labels each query with its one right answer."""

    def __init__(self, queries: list[dict]) -> None:
        self.whole: set[str] = set()
        self.partial: dict[str, list[frozenset[str]]] = {}
        self.starts: set[str] = set()
        self.short: set[str] = set()
        for q in queries:
            for text in (q["query"], q["from_name"]):
                self.whole.add("".join(plain_words(text)))
            if q["rule"] == "legal_form" and len(plain_words(q["query"])) > 1:
                # The rule swaps the legal form at the end: a filler with the same name before
                # its own legal form is as right an answer.
                self.whole.add("".join(plain_words(q["query"])[:-1]))
            if q["rule"] in PARTIAL_RULES:
                words = plain_words(q["query"])
                joined = "".join(words)
                self.partial.setdefault(words[0], []).append(frozenset(words))
                self.starts.add(joined)
                if len(joined) <= 4:
                    self.short.add(joined)

    def hit(self, name: str) -> bool:
        words = plain_words(name)
        joined = "".join(words)
        if joined in self.whole:
            return True
        if any(joined[:i] in self.starts for i in range(1, len(joined) + 1)):
            return True
        if any(s in joined for s in self.short):
            return True
        present = set(words)
        return any(ws <= present for w in present for ws in self.partial.get(w, ()))


def filler(corpus: list[dict], count: int, rng: random.Random, second: SecondAnswers) -> list[dict]:
    """`count` made-up entities whose names are recombined from the corpus's words, none of
    them a second right answer to a query (`SecondAnswers`)."""
    latin: list[str] = []
    han: list[str] = []
    for row in corpus:
        for name in row["names"]:
            if name.isascii():
                latin.extend(w for w in name.replace(",", " ").split() if w.isalpha())
            elif all("\u4e00" <= c <= "\u9fff" for c in name):
                han.extend(name)
    out: list[dict] = []
    while len(out) < count:
        i = len(out)
        words = " ".join(rng.choice(latin) for _ in range(rng.randint(1, 4)))
        names = [f"{words} {rng.choice(LEGAL)}"]
        if rng.random() < 0.5:
            names.append(
                "".join(rng.choice(han) for _ in range(rng.randint(2, 6))) + rng.choice(HAN_LEGAL)
            )
        if rng.random() < 0.5:
            names.append("".join(w[0] for w in words.split()).upper() + f" {i % 97}")
        if any(second.hit(name) for name in [words, *names]):
            continue
        out.append(
            {
                "id": f"filler-{i:06d}",
                "kind": rng.choice(["company", "company", "person", "other"]),
                "names": names,
            }
        )
    return out


async def load(conn: asyncpg.Connection, rows: list[dict]) -> None:
    entities, names, keys = [], [], []
    for row in rows:
        spans = name_spans([(_dt.date(2000, 1, 1), row["names"][:1], row["names"][1:])])
        entities.append(
            (
                1,
                row["id"],
                row["kind"],
                None,
                msgspec.json.encode({"en": row["names"][0]}),
                msgspec.json.encode(row["names"][1:]),
            )
        )
        for span in spans:
            for a, b in span.spans:
                names.append((1, row["id"], span.ordinal, msgspec.json.encode(span.name), a, b))
        keys.extend((1, row["id"], *r) for r in key_rows(spans))
    await conn.copy_records_to_table(
        "rm_entities",
        records=entities,
        columns=("generation", "entity", "kind", "country", "names", "aliases"),
    )
    await conn.copy_records_to_table("rm_entity_names", records=names, columns=search.NAME_COLUMNS)
    await search.write_keys(conn, 1, keys)
    # As autovacuum leaves freshly written tables once it has been by (the projector only
    # analyses them): statistics, and the visibility map that lets index-only scans skip the
    # table.
    await conn.execute("VACUUM (ANALYZE) rm_entities, rm_entity_names, rm_name_keys, rm_name_vocab")


def pct(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, round(p / 100 * (len(values) - 1)))] * 1000


async def measure(
    conn: asyncpg.Connection, queries: list[dict], misses: bool, passes: int = 1
) -> dict:
    """Relevance from the first pass; latency over every search of every pass."""
    day = _dt.date.today()
    top1 = top5 = 0
    took: list[float] = []
    fastest: dict[int, float] = {}
    pk: list[float] = []
    for n in range(passes):
        for i, q in enumerate(queries):
            started = time.perf_counter()
            hits, _ = await search.search(conn, q["query"], day=day, limit=5)
            took.append(time.perf_counter() - started)
            fastest[i] = min(took[-1], fastest.get(i, took[-1]))
            started = time.perf_counter()
            await conn.fetchrow(PK, q["expected"])
            pk.append(time.perf_counter() - started)
            if n:
                continue
            ids = [h.id for h in hits]
            top1 += bool(ids) and ids[0] == q["expected"]
            top5 += q["expected"] in ids
            if misses and (not ids or ids[0] != q["expected"]):
                print(f"MISS [{q['rule']}] {q['query']!r} -> {q['expected']}: {ids[:3]}")
    return {
        "top1": top1 / len(queries),
        "top5": top5 / len(queries),
        "p50": pct(took, 50),
        "p99": pct(took, 99),
        "fastest_p50": pct(list(fastest.values()), 50),
        "fastest_p99": pct(list(fastest.values()), 99),
        "pk_p50": pct(pk, 50),
        "pk_p99": pct(pk, 99),
    }


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="10000,100000")
    parser.add_argument("--misses", action="store_true")
    parser.add_argument(
        "--passes",
        type=int,
        default=3,
        help="times the query set is searched for latency (p50/p99 over all of them)",
    )
    parser.add_argument("--database-url")
    args = parser.parse_args()
    corpus = json.loads(CORPUS.read_text("utf-8"))
    queries = json.loads(QUERIES.read_text("utf-8"))
    rng = random.Random(20240601)
    second = SecondAnswers(queries)
    print(
        "command: .venv/bin/python bench/bench_search.py --sizes",
        args.sizes,
        "--passes",
        args.passes,
    )
    print(f"load average at start: {os.getloadavg()}; cpus: {os.cpu_count()}")
    with server(args.database_url) as srv:
        name = await create_database(srv.admin_url)
        url = with_database(srv.admin_url, name)
        try:
            conn = await asyncpg.connect(url)
            try:
                await migrate(conn)
                started = time.perf_counter()
                await load(conn, corpus)
                loaded = len(corpus)
                for size in (int(s) for s in args.sizes.split(",")):
                    extra = filler(corpus, size - loaded, rng, second)
                    for i, row in enumerate(extra):
                        row["id"] = f"filler-{loaded + i:06d}"
                    await load(conn, extra)
                    loaded = size
                    print(f"{size} entities loaded ({time.perf_counter() - started:.0f} s so far)")
                    await measure(conn, queries[:50], False)  # warm caches
                    r = await measure(conn, queries, args.misses, args.passes)
                    print(
                        f"{size:>7} entities: top-1 {r['top1']:.1%} top-5 {r['top5']:.1%}; "
                        f"search p50 {r['p50']:.2f} ms p99 {r['p99']:.2f} ms "
                        f"(each query's fastest of {args.passes}: p50 {r['fastest_p50']:.2f} "
                        f"p99 {r['fastest_p99']:.2f}); "
                        f"primary-key SELECT p50 {r['pk_p50']:.2f} ms p99 {r['pk_p99']:.2f} ms; "
                        f"load average {os.getloadavg()[0]:.2f}"
                    )
            finally:
                await conn.close()
        finally:
            await drop_database(srv.admin_url, name)
    return 0


if __name__ == "__main__":
    raise SystemExit(asyncio.run(main()))
