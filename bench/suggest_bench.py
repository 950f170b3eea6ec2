"""Suggestion quality, processing speed and latency, against baselines measured in the same run.

    .venv/bin/python bench/suggest_bench.py [--quick] [--words N]

Data: the held-out half of the human-coded fixture ../shared/eval/games-as-art (90 answers,
31 codes, single coder; MIT, see its README; split by answer id with
coding.nlp.evaluate.split_rows, the other half is for tuning) and the demo's double-coded sample
(corpora/cic-demo, coders ana and ben, the four English transcripts they coded).
Both go through coding.nlp.evaluate, the code behind `suggest evaluate`: units
are sentences, the interviewer's turns are left out.

1. Emergent themes, leave-one-code-out (see coding/nlp/evaluate.py): mean
   best-theme F1 among the 20 themes shown, against random groups of the same
   sizes from the same units; three methods (anchors, TF-IDF + NMF, TF-IDF +
   KMeans), each with the turn-and-question context and without it.
2. Code recommender, cross-validation grouped by document (5 folds; the demo
   sample has 4 documents, so 4): P@1, recall@5, hit@5, MRR of the logistic
   model, of a plain TF-IDF + logistic-regression reference (words of the text, no
   lemmas, no code names), of the earlier centre-plus-nearest-example ranker, and of the
   most-frequent-codes baseline, with 95% bootstrap intervals (resampling texts).
3. Processing (bench/suggest_processing.py): cold words/s and the warm rerun.
4. Latency on the demo project processed in a real SQLite store: code suggestions
   for a selection with a warm model, and emergent themes over the demo corpus
   repeated to ~N words, warm (cache filled), against their cold first call.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

from coding.nlp import evaluate as ev  # noqa: E402

EVAL = REPO.parent / "shared" / "eval" / "games-as-art" / "coded.jsonl"
DEMO = REPO / "corpora" / "cic-demo"
GOALS = {"mean_f1": 0.45, "ratio": 1.5, "p_at_1": 0.55, "hit_at_5": 0.90, "mrr": 0.70}


def demo_rows(coder: str) -> list[dict]:
    """The demo's double-coded sample for one coder, as rows of the evaluation format
    (each coding is anchored by its quotation in study files, as the demo builder does)."""
    spec = yaml.safe_load((DEMO / "study.yaml").read_text(encoding="utf-8"))
    rows: dict[str, dict] = {}
    for fname in spec["double_coding"]:
        for c in yaml.safe_load((DEMO / fname).read_text(encoding="utf-8"))["codings"]:
            if c["coder"] != coder:
                continue
            name = c["document"]
            row = rows.setdefault(name, {"id": name, "text": (DEMO / f"{name}.txt").read_text(encoding="utf-8"),
                                         "codings": []})
            pos = -1
            for _ in range(int(c.get("occurrence", 1))):
                pos = row["text"].find(c["quote"], pos + 1)
            row["codings"].append({"start": pos, "end": pos + len(c["quote"]), "codes": [c["code"]]})
    return [rows[n] for n in sorted(rows)]


def demo_code_texts() -> dict[str, str]:
    """Code path -> name and definition from the demo's codebook (what the workbench gives the model)."""
    spec = yaml.safe_load((DEMO / "study.yaml").read_text(encoding="utf-8"))
    book = yaml.safe_load((DEMO / spec["codebook"]).read_text(encoding="utf-8"))
    out: dict[str, str] = {}

    def walk(codes, path=()):
        for c in codes:
            p = (*path, c["name"])
            out["/".join(p)] = f"{c['name']} {c.get('definition') or ''}"
            walk(c.get("children") or [], p)
    walk(book["codes"])
    return out


def datasets():
    """(name, collection, code texts) of the three evaluation sets; games-as-art's codes are
    named by their names only, as `suggest evaluate` reads them."""
    # tune on one half (by text id), report the other: nothing here was tuned on the held-out part
    out = [("games-as-art, held-out half", ev.collection(ev.split_rows(ev.read_jsonl(EVAL))[1]), None)]
    for coder in ("ana", "ben"):
        out.append((f"demo sample ({coder})", ev.collection(demo_rows(coder)), demo_code_texts()))
    return out


def no_context(c: ev.Collection) -> ev.Collection:
    return replace(c, units=[replace(u, context=()) for u in c.units])


def ratio(a: float, b: float) -> str:
    return f"{a / b:.2f}x" if b else "n/a"


def themes_table(data) -> list[str]:
    lines = ["## Emergent themes, leave-one-code-out (mean best-theme F1 over units, 3 seeds)", "",
             "| data | words | codes scored | method | context | mean F1 [95% CI] | random, same sizes | ratio | goal |",
             "|---|---:|---:|---|---|---:|---:|---:|---|"]
    for name, c, _ in data:
        # the clustering methods read a unit's own words only: context is for anchors
        for method, ctx in (("anchors", True), ("anchors", False), ("nmf", False), ("kmeans", False)):
            r = ev.leave_one_code_out(c if ctx else no_context(c), method)
            goal = ""
            if method == "anchors" and ctx:
                met = r["mean_f1"] >= GOALS["mean_f1"] and r["mean_f1"] >= GOALS["ratio"] * r["random_f1"]
                goal = f"F1 >= 0.45 and >= 1.5x random: {'met' if met else 'NOT met'}"
            if r["warnings"] and method == "anchors" and ctx:
                goal += " (" + "; ".join(r["warnings"]) + ")"
            lines.append(f"| {name} | {c.words:,} | {r['codes']} of {r['codes_total']} | {method} | "
                         f"{'turn + question' if ctx else 'none'}"
                         f" | {r['mean_f1']:.3f} [{r['f1_ci'][0]:.3f}, {r['f1_ci'][1]:.3f}] | {r['random_f1']:.3f}"
                         f" | {ratio(r['mean_f1'], r['random_f1'])} | {goal} |")
    return lines


def recommender_table(data) -> list[str]:
    keys = ("p_at_1", "recall_at_5", "hit_at_5", "mrr")
    lines = ["## Code recommender, cross-validation grouped by document", "",
             "| data | test units | folds | ranker | P@1 | recall@5 | hit@5 | MRR | ratio to baseline (P@1, MRR) |",
             "|---|---:|---:|---|---:|---:|---:|---:|---|"]
    for name, c, code_texts in data:
        m = ev.cross_validate(c, code_texts=code_texts)
        old = ev.cross_validate(c, model="centre")
        ref = ev.cross_validate(c, model="reference")
        b = m["baseline"]
        named = "code names" if code_texts is None else "code names and definitions"
        for label, r in ((f"logistic + char n-grams + {named} (kept)", m),
                         ("TF-IDF + logistic regression (reference, same run)", ref),
                         ("centre + nearest example (earlier)", old), ("most frequent codes (baseline)", b)):
            extra = "" if r is b else f"{ratio(r['p_at_1'], b['p_at_1'])}, {ratio(r['mrr'], b['mrr'])}"
            lines.append(f"| {name} | {m['test_units']} | {m['folds']} | {label} | "
                         + " | ".join(f"{r[k]:.3f} [{r['ci'][k][0]:.2f}, {r['ci'][k][1]:.2f}]" for k in keys)
                         + f" | {extra} |")
        beats = all(m[k] > ref[k] for k in ("p_at_1", "hit_at_5", "mrr"))
        lines.append(f"| {name} | | | above the reference on P@1, hit@5 and MRR | | | | | {'yes' if beats else 'NO'} |")
        if name.startswith("games-as-art"):
            met = all(m[k] >= GOALS[k] for k in ("p_at_1", "hit_at_5", "mrr"))
            lines.append(f"| goal (games-as-art) | | | P@1 >= 0.55, hit@5 >= 0.90, MRR >= 0.70 | | | | | "
                         f"{'met' if met else 'NOT met'} |")
    return lines


def _timed(fn, runs: int) -> list[float]:
    out = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t0) * 1000)
    return out


def latency_table(target_words: int, runs: int) -> list[str]:
    """Code suggestions for a selection and emergent themes, on a real SQLite store."""
    from coding.suggest.themes import emergent_themes
    from coding.suggest.processing import process_documents
    from coding.suggest import suggestions as sg
    from coding.demo import build_demo
    from coding.work.documents import get_document, list_documents, store_document
    from coding.team.projects import get_project
    from coding.team.members import Member, get_member
    from coding.store import Store

    tmp = Path(tempfile.mkdtemp(prefix="suggest-bench-"))
    store = Store(f"sqlite:///{tmp / 'bench.db'}")
    store.run(lambda s: build_demo(s))
    with store.session(write=False) as s:
        project = get_project(s, "demo")
        lead = Member.of(get_member(s, project, "lead"))
        ana = Member.of(get_member(s, project, "ana"))
        pname = project.name
    process_documents(store, pname, lead)
    lines = ["## Latency (demo project in SQLite; median and p95 of warm calls; first call cold)", "",
             "| call | words | cold ms | warm median ms | warm p95 ms | warm/cold | goal |",
             "|---|---:|---:|---:|---:|---:|---|"]
    with store.session(write=False) as s:
        project = get_project(s, pname)
        doc = get_document(s, project, "P03_teacher_School-II_4")
        turn = next(t for t in doc.turns if t.speaker != "Interviewer" and t.end - t.speech_start > 200)
        start, end = turn.speech_start, turn.speech_start + 200
        words = sum(len(d.text.split()) for d in list_documents(s, project))

        def codes():
            sg.suggest_codes(s, project, ana, doc, start, end)
        cold = _timed(codes, 1)[0]
        warm = sorted(_timed(codes, runs))
    lines.append(_row("code suggestions for a 200-character selection (ana's own model)", words, cold, warm,
                      "median <= 150 ms"))
    # grow the corpus: the English transcripts repeated as new documents, then processed
    texts = [(p.stem, p.read_text(encoding="utf-8")) for p in sorted(DEMO.glob("P0[1-6]*.txt"))]
    copies, i = [], 0
    while words < target_words:
        i += 1
        for name, text in texts:
            copies.append((f"{name} copy {i}", text + f"\n\nCopy {i}.\n"))
            words += len(text.split())
    def add(s):
        project = get_project(s, pname)
        for name, text in copies:
            store_document(s, project, name, f"{name}.txt", text.encode("utf-8"), actor=lead)
    store.run(add)
    process_documents(store, pname, lead)
    with store.session(write=False) as s:
        project = get_project(s, pname)

        def themes():
            emergent_themes(s, project, lead, layer="all")
        cold = _timed(themes, 1)[0]
        warm = sorted(_timed(themes, max(3, runs // 5)))
    lines.append(_row("emergent themes (lead, all coders' layer)", words, cold, warm, "<= 10,000 ms warm"))
    return lines


def _row(label: str, words: int, cold: float, warm: list[float], goal: str) -> str:
    med = statistics.median(warm)
    p95 = warm[min(len(warm) - 1, int(round(0.95 * (len(warm) - 1))))]
    limit = float(goal.split("<=")[1].split()[0].replace(",", ""))
    return (f"| {label} | {words:,} | {cold:,.0f} | {med:,.0f} | {p95:,.0f} | {med / cold:.2f} | "
            f"{goal}: {'met' if med <= limit else 'NOT met'} |")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="30,000 words for processing and themes latency")
    ap.add_argument("--words", type=int, default=150_000)
    ap.add_argument("--runs", type=int, default=20, help="warm calls per latency row")
    ap.add_argument("--only", choices=["quality", "processing", "latency"], help="run one part only")
    args = ap.parse_args()
    words = 30_000 if args.quick else args.words
    out: list[str] = []
    if args.only in (None, "quality"):
        data = datasets()
        out += themes_table(data) + [""] + recommender_table(data) + [""]
    if args.only in (None, "processing"):
        from suggest_processing import processing_table

        out += [processing_table(words), ""]
    if args.only in (None, "latency"):
        out += latency_table(words, args.runs)
    print("\n".join(out))


if __name__ == "__main__":
    main()
