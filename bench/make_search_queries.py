"""Build the name-search relevance set from real names: `tests/data/search/search_corpus.json`
(every entity and its names) and `tests/data/search/search_queries.json` (queries with the entity
each must find and the rule each exercises).

    .venv/bin/python bench/make_search_queries.py [--un-xml PATH/consolidated.xml]

Sources: - the seed's organisations (`service/ingest/seed/organisations.toml`), ids as the seed
gives them; - the CSL samples (`tests/data/csl/*.csv`) through the importer's own `parse_csl`, so
ids are the importer's (a row naming a seed company belongs to that company and adds no entity); -
the UN Security Council consolidated list XML. There is no UN importer yet; the id rule assumed here
is `un-` + the REFERENCE_NUMBER lowercased with `.` as `-` (`QDe.001` is `un-qde-001`), which fits
the entity id pattern. Individuals are `person`, entities `other`; names are the name parts joined,
the aliases and NAME_ORIGINAL_SCRIPT; `f.k.a.` aliases are former names.

The queries are variations a user types, made here by plain string edits that do not use
`projections.names` (so the set does not test the keys against themselves): case, punctuation,
apostrophes, spacing, diacritics, full-width letters, the other Chinese script (OpenCC's
`s2tw` / `tw2s`, not the keys' `s2t` / `t2s`), pinyin written out by hand, Arabic hamza and
ta marbuta as commonly typed, legal forms dropped or spelt out, one typo, leading words, word
order, former names and ids. A query is kept only when no other entity has a name that a plain
comparison (case, accents and punctuation ignored) also fits, so each has one right answer.
Deterministic: the same inputs give the same files.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import sys
import tomllib
import unicodedata
import xml.etree.ElementTree as ET
from pathlib import Path

import opencc

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from service.ingest.importers import parse_csl  # noqa: E402

CORPUS = ROOT / "tests" / "data" / "search" / "search_corpus.json"
QUERIES = ROOT / "tests" / "data" / "search" / "search_queries.json"

# Pinyin of seed names, written out by hand (not by the transliterator under test).
PINYIN = {
    "huawei": ["Huawei Jishu"],
    "zte": ["Zhongxing Tongxun"],
    "ymtc": ["Changjiang Cunchu"],
    "smic": ["Zhongxin Guoji"],
    "cxmt": ["Changxin Cunchu"],
    "cambricon": ["Hanwuji"],
    "biren": ["Biren Keji"],
    "moore-threads": ["Moer Xiancheng"],
    "naura": ["Beifang Huachuang"],
    "sophgo": ["Suanneng Keji"],
    "zhipu-ai": ["Zhipu Huazhang"],
    "inspur-group": ["Langchao Jituan"],
    "tsmc": ["Taiji Dian"],
    "micron": ["Meiguang Keji"],
    "nvidia": ["Yingweida"],
    "samsung": ["Sanxing Dianzi"],
    "sk-hynix": ["Hailishi"],
    "cn-mofcom": ["Shangwubu"],
    "cn-cac": ["Guojia Wangxinban"],
    "us-dod": ["Meiguo Guofangbu"],
    "fujian-jinhua": ["Fujian Jinhua Jicheng Dianlu"],
}

# Rules whose query is a stored name or id as it is.
VERBATIM_RULES = {"exact", "original_script", "former_name", "id", "transliteration"}
# At most this many queries of one rule from the UN list (it has the most names); the seed's
# and the CSL samples' queries are all kept.
UN_QUOTA = 40

LEGAL_SWAPS = [
    (r"\bCo\.?,? Ltd\.?$", "Company Limited"),
    (r"\bCompany Limited$", "Co., Ltd."),
    (r"\bCorporation$", "Corp"),
    (r"\bCorp\.?$", "Corporation"),
    (r"\bLtd\.?$", "Limited"),
    (r"\bLimited$", "Ltd"),
    (r"\bInc\.?$", "Incorporated"),
    (
        r",? (Co\.?,? Ltd\.?|Company Limited|Corporation|Corp\.?|Ltd\.?|Limited|Inc\.?|LLC|"
        r"N\.V\.|JSC|GmbH)$",
        "",
    ),
]


def plain_words(text: str) -> list[str]:
    """Case, accents, apostrophes and punctuation ignored: the generator's own comparison."""
    text = unicodedata.normalize("NFKD", unicodedata.normalize("NFKC", text)).casefold()
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    text = re.sub("['’‘]", "", text)
    return "".join(ch if ch.isalnum() else " " for ch in text).split()


def pick(key: str, n: int) -> int:
    return int(hashlib.sha256(key.encode()).hexdigest(), 16) % n


def load_seed() -> list[dict]:
    data = tomllib.loads(
        (ROOT / "service" / "ingest" / "seed" / "organisations.toml").read_text("utf-8")
    )
    out = []
    for e in data["entity"]:
        out.append(
            {
                "id": e["id"],
                "kind": e["kind"],
                "source": "seed",
                "names": list(e["names"].values()) + list(e.get("aliases", [])),
                "langs": e["names"],
                "former": ["Bureau of Export Administration"] if e["id"] == "us-bis" else [],
            }
        )
    return out


def load_csl(seed_ids: set[str]) -> list[dict]:
    by_id: dict[str, dict] = {}
    for path in sorted((ROOT / "tests" / "data" / "csl").glob("*.csv")):
        for entity, party in parse_csl(path.read_bytes()).parties.items():
            if entity in seed_ids:
                continue
            row = by_id.setdefault(
                entity,
                {"id": entity, "kind": party.kind, "source": "csl", "names": [], "former": []},
            )
            for name in [party.name, *party.aliases]:
                if name not in row["names"]:
                    row["names"].append(name)
    return [by_id[k] for k in sorted(by_id)]


def un_id(reference: str) -> str:
    return "un-" + reference.strip().lower().replace(".", "-")


def load_un(path: Path) -> list[dict]:
    root = ET.parse(path).getroot()  # noqa: S314 - a published, trusted file
    out = []
    for tag, kind, alias_tag in (
        ("INDIVIDUAL", "person", "INDIVIDUAL_ALIAS"),
        ("ENTITY", "other", "ENTITY_ALIAS"),
    ):
        for e in root.iter(tag):
            parts = [
                (e.findtext(p) or "").strip()
                for p in ("FIRST_NAME", "SECOND_NAME", "THIRD_NAME", "FOURTH_NAME")
            ]
            name = " ".join(p for p in parts if p)
            names, former, original = [name], [], []
            for alias in e.iter(alias_tag):
                text = " ".join((alias.findtext("ALIAS_NAME") or "").split())
                if text and text not in names:
                    names.append(text)
                    if (alias.findtext("QUALITY") or "") == "f.k.a.":
                        former.append(text)
            script = " ".join((e.findtext("NAME_ORIGINAL_SCRIPT") or "").split())
            if script and script not in names:
                names.append(script)
                original.append(script)
            out.append(
                {
                    "id": un_id(e.findtext("REFERENCE_NUMBER") or ""),
                    "kind": kind,
                    "source": "un",
                    "names": names,
                    "former": former,
                    "original": original,
                }
            )
    out.sort(key=lambda row: row["id"])
    return out


class Checker:
    """Whether a query has one right answer by the generator's plain comparison."""

    def __init__(self, corpus: list[dict]) -> None:
        self.names = [
            (row["id"], plain_words(name), "".join(plain_words(name)))
            for row in corpus
            for name in row["names"]
        ]

    def unique(self, query: str, expected: str, *, partial: bool) -> bool:
        words = plain_words(query)
        joined = "".join(words)
        if not joined:
            return False
        for entity, name_words, name_joined in self.names:
            if entity == expected:
                continue
            if name_joined == joined:
                return False
            if partial and (
                set(words) <= set(name_words)
                or name_joined.startswith(joined)
                or (len(joined) <= 4 and joined in name_joined)
            ):
                return False
        return True


def typo(name: str, key: str) -> str | None:
    words = name.split(" ")
    longest = max(range(len(words)), key=lambda i: (len(words[i]), -i))
    word = words[longest]
    if len(word) < 6 or not word.isalpha():
        return None
    at = 1 + pick(key, len(word) - 2)  # never the first letter
    if word[at] == word[at + 1]:
        return None
    if pick(key + "kind", 2):
        changed = word[:at] + word[at + 1] + word[at] + word[at + 2 :]  # swap neighbours
    else:
        changed = word[:at] + word[at + 1 :]  # drop a letter
    words[longest] = changed
    return " ".join(words)


def fullwidth(text: str) -> str:
    return "".join(chr(ord(ch) + 0xFEE0) if "!" <= ch <= "~" else ch for ch in text)


def build(corpus: list[dict]) -> list[dict]:
    s2tw = opencc.OpenCC("s2tw")
    tw2s = opencc.OpenCC("tw2s")
    checker = Checker(corpus)
    queries: list[dict] = []
    seen: set[tuple[str, str]] = set()

    def add(text: str, row: dict, rule: str, from_name: str, *, partial: bool = False) -> bool:
        text = text.strip()
        if not text or (text == from_name and rule not in VERBATIM_RULES):
            return False
        if (text, row["id"]) in seen or not checker.unique(text, row["id"], partial=partial):
            return False
        if rule != "id" and not checker.unique(from_name, row["id"], partial=False):
            return False  # a name other entities share has no one right answer
        seen.add((text, row["id"]))
        queries.append(
            {
                "query": text,
                "expected": row["id"],
                "rule": rule,
                "source": row["source"],
                "from_name": from_name,
            }
        )
        return True

    for row in corpus:
        key = row["id"]
        names = row["names"]
        latin = [n for n in names if n.isascii()]
        main = names[0]
        if pick(key + "exact", 4) == 0:
            add(main, row, "exact", main)
        if latin and pick(key + "case", 3) == 0:
            n = latin[pick(key + "casename", len(latin))]
            add(n.lower() if not n.islower() else n.upper(), row, "case", n)
        for n in names:
            if re.search(r"[.,()&/\-]", n) and pick(key + n + "punct", 2) == 0:
                add(re.sub(r"\s+", " ", re.sub(r"[.,()&/\-]", " ", n)), row, "punctuation", n)
                break
        for n in names:
            if re.search("['’]", n):
                add(n.replace("’", "'") if "’" in n else n.replace("'", "’"), row, "apostrophe", n)
                add(re.sub("['’]", "", n), row, "apostrophe", n)
                break
        for n in names:
            if "-" in n and pick(key + n + "hyphen", 2) == 0:
                add(n.replace("-", ""), row, "spacing", n)
                break
        for n in names:
            folded = "".join(
                ch for ch in unicodedata.normalize("NFD", n) if not unicodedata.combining(ch)
            )
            if unicodedata.normalize("NFC", folded) != unicodedata.normalize("NFC", n):
                add(folded, row, "diacritics", n)
                break
        if latin and pick(key + "fw", 6) == 0:
            n = latin[0]
            add(fullwidth(n), row, "fullwidth", n)
        for n in names:
            new = n
            for pattern, repl in LEGAL_SWAPS:
                if re.search(pattern, n, flags=re.IGNORECASE):
                    new = re.sub(pattern, repl, n, flags=re.IGNORECASE).strip(" ,")
                    break
            if new != n and add(new, row, "legal_form", n):
                break
        for n in latin:
            changed = typo(n, key + n)
            if changed and pick(key + n + "typo", 2) == 0 and add(changed, row, "typo", n):
                break
        for n in latin:
            words = n.split()
            for size in range(1, len(words)):
                lead = " ".join(words[:size]).rstrip(",")
                if len("".join(plain_words(lead))) >= 5 and add(
                    lead, row, "prefix", n, partial=True
                ):
                    break
            else:
                continue
            break
        if row["kind"] == "person" and pick(key + "order", 3) == 0:
            words = main.split()
            if len(words) >= 2:
                add(" ".join([words[-1], *words[:-1]]), row, "word_order", main, partial=True)
        for n in row.get("former", []):
            add(n, row, "former_name", n)
        for n in row.get("original", []):
            if pick(key + "orig", 2) == 0:
                add(n, row, "original_script", n)
            typed = n.translate(str.maketrans({"أ": "ا", "إ": "ا", "آ": "ا", "ة": "ه"}))
            if typed != n:
                add(typed, row, "arabic_typed", n)
        if row["source"] != "un" or pick(key + "id", 8) == 0:
            add(key, row, "id", key)
        for lang in ("zh-Hans", "zh-Hant"):
            n = row.get("langs", {}).get(lang)
            if n:
                other = s2tw.convert(n) if lang == "zh-Hans" else tw2s.convert(n)
                add(other, row, "script", n)
        for n in names:
            if re.search("[\u4e00-\u9fff]", n) and len(n) >= 6:
                other = s2tw.convert(n)
                other = tw2s.convert(n) if other == n else other
                if add(other, row, "script", n):
                    break
        for n in names:
            if "·" in n:
                add(n.replace("·", ""), row, "spacing", n)
        for text in PINYIN.get(key, []):
            add(text, row, "transliteration", text)
    kept = [q for q in queries if q["source"] != "un"]
    for rule in sorted({q["rule"] for q in queries}):
        un = [q for q in queries if q["source"] == "un" and q["rule"] == rule]
        un.sort(key=lambda q: pick(q["query"] + q["expected"], 1 << 30))
        kept.extend(un[:UN_QUOTA])
    return kept


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--un-xml",
        type=Path,
        default=ROOT / "tests" / "data" / "un-sc-consolidated" / "consolidated.xml",
        help="the UN consolidated list XML (default: the test fixture)",
    )
    args = parser.parse_args()
    seed = load_seed()
    corpus = [*seed, *load_csl({row["id"] for row in seed}), *load_un(args.un_xml)]
    queries = build(corpus)
    CORPUS.write_text(
        json.dumps(
            [{"id": r["id"], "kind": r["kind"], "names": r["names"]} for r in corpus],
            ensure_ascii=False,
            indent=0,
        )
        + "\n",
        "utf-8",
    )
    QUERIES.write_text(json.dumps(queries, ensure_ascii=False, indent=1) + "\n", "utf-8")
    rules: dict[str, int] = {}
    for q in queries:
        rules[q["rule"]] = rules.get(q["rule"], 0) + 1
    print(f"{len(corpus)} entities, {sum(len(r['names']) for r in corpus)} names")
    print(f"{len(queries)} queries: " + ", ".join(f"{k} {v}" for k, v in sorted(rules.items())))


if __name__ == "__main__":
    main()
