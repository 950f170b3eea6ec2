"""Suggestion quality and processing speed, against baselines measured in the same run.

    .venv/bin/python bench/suggestions_bench.py [--quick]

Data: the human-coded fixture ../shared/eval/games-as-art (90 answers, 31 codes,
single coder; MIT, see its README) and the demo's double-coded sample
(corpora/cic-demo, coders ana and ben, English documents). Units are sentences.

1. Emergent themes, leave-one-code-out: for each code with at least 3 units,
   the units coded with other codes are removed (as if coded), the hidden
   code's units stay among the uncoded ones; the suggester clusters what is
   left, and the theme that best matches the hidden code's units is scored (F1
   over units). Methods: TF-IDF + NMF, TF-IDF + KMeans, each against random
   clusters of the same sizes over the same units.
2. Code recommender, grouped cross-validation by document (5 folds): P@1,
   recall@5, hit@5, MRR against the most-frequent-codes baseline.
3. Processing: demo corpus repeated to ~N words, words/s cold (spaCy parse),
   against the sentence-only pipeline the workbench already runs.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from coding.nlp.analysis import analyse_texts  # noqa: E402
from coding.nlp.recommend import CodeModel, NotEnoughData  # noqa: E402
from coding.nlp.themes import Unit, best_f1, find_themes, random_partition  # noqa: E402

EVAL = REPO.parent / "shared" / "eval" / "games-as-art" / "coded.jsonl"
DEMO = REPO / "corpora" / "cic-demo"


def units_of(doc_id: str, analysis: dict) -> list[Unit]:
    return [Unit(doc_id, s, e, tuple(t), tuple(p))
            for (s, e), t, p in zip(analysis["sents"], analysis["terms"], analysis["phrases"])]


def label_units(units: list[Unit], spans: list[tuple[str, int, int, str]]) -> list[set[str]]:
    """Codes per unit: a unit carries a code when a span of it overlaps the unit."""
    by_doc: dict[str, list] = {}
    for d, s, e, c in spans:
        by_doc.setdefault(d, []).append((s, e, c))
    return [{c for s, e, c in by_doc.get(u.document_id, []) if s < u.end and u.start < e} for u in units]


def games_as_art():
    rows = [json.loads(line) for line in EVAL.read_text(encoding="utf-8").splitlines() if line.strip()]
    analyses = list(analyse_texts([r["text"] for r in rows], "en"))
    units = [u for r, a in zip(rows, analyses) for u in units_of(r["id"], a)]
    spans = [(r["id"], c["start"], c["end"], code) for r in rows for c in r["codings"] for code in c["codes"]]
    words = sum(len(r["text"].split()) for r in rows)
    return "games-as-art", units, label_units(units, spans), words


def demo(coder: str):
    spec = yaml.safe_load((DEMO / "study.yaml").read_text(encoding="utf-8"))
    spans, texts = [], {}
    for fname in spec["double_coding"]:
        for row in yaml.safe_load((DEMO / fname).read_text(encoding="utf-8"))["codings"]:
            if row["coder"] != coder:
                continue
            name = row["document"]
            text = texts.setdefault(name, (DEMO / f"{name}.txt").read_text(encoding="utf-8"))
            pos = -1
            for _ in range(int(row.get("occurrence", 1))):
                pos = text.find(row["quote"], pos + 1)
            spans.append((name, pos, pos + len(row["quote"]), row["code"]))
    names = sorted(texts)
    units = [u for n, a in zip(names, analyse_texts([texts[n] for n in names], "en")) for u in units_of(n, a)]
    return f"demo sample ({coder})", units, label_units(units, spans), sum(len(t.split()) for t in texts.values())


def leave_one_code_out(units, labels, method: str, seeds=(0, 1, 2)):
    """Mean best-theme F1 over hidden codes, and random clusters of the same sizes."""
    codes = sorted({c for ls in labels for c in ls})
    f1s, rnd = [], []
    for code in codes:
        gold_all = [i for i, ls in enumerate(labels) if code in ls]
        if len(gold_all) < 3:
            continue
        # units coded with any other code count as coded; the hidden code's units are uncoded
        keep = [i for i, ls in enumerate(labels) if not (ls - {code})]
        sub = [units[i] for i in keep]
        gold = {j for j, i in enumerate(keep) if code in labels[i]}
        scores, bases = [], []
        for seed in seeds:
            themes = find_themes(sub, method=method, seed=seed)
            scores.append(best_f1([t.members for t in themes], gold))
            clustered = sorted({m for t in themes for m in t.members})
            sizes = [len(t.members) for t in themes]
            parts = random_partition(len(clustered), sizes, seed=seed)
            bases.append(best_f1([[clustered[p] for p in part] for part in parts], gold))
        f1s.append(statistics.mean(scores))
        rnd.append(statistics.mean(bases))
    return statistics.mean(f1s), statistics.mean(rnd), len(f1s)


def recommender(units, labels, folds: int = 5):
    docs = sorted({u.document_id for u in units})
    coded = [i for i, ls in enumerate(labels) if ls]
    res = {"model": [], "baseline": []}
    for f in range(folds):
        test_docs = set(docs[f::folds])
        train = [i for i in coded if units[i].document_id not in test_docs]
        test = [i for i in coded if units[i].document_id in test_docs]
        try:
            model = CodeModel([units[i].features for i in train], [sorted(labels[i]) for i in train])
        except NotEnoughData:
            continue
        base = model.baseline(5)
        for i in test:
            gold = labels[i]
            ranked = [s.code_id for s in model.suggest(units[i].features, top=5)]
            for key, r in (("model", ranked), ("baseline", base)):
                hits = [k for k, c in enumerate(r) if c in gold]
                res[key].append((1.0 if r and r[0] in gold else 0.0,
                                 len(gold.intersection(r)) / len(gold),
                                 1.0 if hits else 0.0,
                                 1 / (hits[0] + 1) if hits else 0.0))
    out = {}
    for key, rows in res.items():
        out[key] = [statistics.mean(col) for col in zip(*rows)] if rows else [0.0] * 4
    return out, len(res["model"])


def ratio(a: float, b: float) -> str:
    return f"{a / b:.2f}x" if b else "n/a"


def processing(target_words: int):
    from coding.nlp import sentence_spans

    texts = [p.read_text(encoding="utf-8") for p in sorted(DEMO.glob("P0[1-6]*.txt"))]  # English ones
    words_once = sum(len(t.split()) for t in texts)
    reps = max(1, target_words // words_once)
    corpus = [t + f"\n\nCopy {i}." for i in range(reps) for t in texts]  # distinct texts, as distinct documents
    words = sum(len(t.split()) for t in corpus)
    list(analyse_texts(corpus[:1], "en"))  # load the pipeline outside the timing
    sentence_spans("Warm up.", "en")
    t0 = time.perf_counter()
    for t in corpus:
        sentence_spans(t, "en")
    base = time.perf_counter() - t0
    t0 = time.perf_counter()
    for _ in analyse_texts(corpus, "en"):
        pass
    full = time.perf_counter() - t0
    return words, base, full


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="smaller processing corpus (30,000 words)")
    ap.add_argument("--words", type=int, default=150_000)
    args = ap.parse_args()
    datasets = [games_as_art(), demo("ana"), demo("ben")]

    print("\n## Emergent themes, leave-one-code-out (mean best-theme F1 over units; 3 seeds)\n")
    print("| data | words | codes | method | mean F1 | random same sizes | ratio |")
    print("|---|---:|---:|---|---:|---:|---:|")
    for name, units, labels, words in datasets:
        for method in ("nmf", "kmeans"):
            t0 = time.perf_counter()
            f1, rnd, n = leave_one_code_out(units, labels, method)
            print(f"| {name} | {words} | {n} | TF-IDF + {method.upper()} | {f1:.3f} | {rnd:.3f} | {ratio(f1, rnd)} |"
                  f"  <!-- {time.perf_counter() - t0:.1f}s -->")

    print("\n## Code recommender, 5-fold cross-validation grouped by document\n")
    print("| data | test units | model | P@1 | recall@5 | hit@5 | MRR |")
    print("|---|---:|---|---:|---:|---:|---:|")
    for name, units, labels, _ in datasets:
        out, n = recommender(units, labels)
        m, b = out["model"], out["baseline"]
        print(f"| {name} | {n} | centre+nearest example | " + " | ".join(f"{x:.3f}" for x in m) + " |")
        print(f"| {name} | {n} | most frequent codes | " + " | ".join(f"{x:.3f}" for x in b) + " |")
        print(f"| {name} | | ratio | " + " | ".join(ratio(x, y) for x, y in zip(m, b)) + " |")

    words, base, full = processing(30_000 if args.quick else args.words)
    print("\n## Processing (parse once; demo English transcripts repeated)\n")
    print("| pipeline | words | seconds | words/s | time vs sentence-only |")
    print("|---|---:|---:|---:|---:|")
    print(f"| sentence segmentation only (baseline) | {words} | {base:.1f} | {words / base:,.0f} | 1.00x |")
    print(f"| analysis (tagger, parser, lemmas, NER) | {words} | {full:.1f} | {words / full:,.0f} | {full / base:.2f}x |")


if __name__ == "__main__":
    main()
