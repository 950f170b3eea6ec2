"""How good are the suggestions on a coded collection? (pure: files in, numbers out)

Used by ``python -m coding suggest evaluate FILE.jsonl`` and bench/suggest_bench.py,
so teams can decide whether to trust the suggestions on their own data.

Input: one JSON object per line, ``{"id", "text", "codings": [{"start", "end",
"codes": [...]}]}`` (offsets in code points of ``text``; codes named by string),
the format of ``shared/eval/games-as-art/coded.jsonl``. Units are sentences
(:mod:`coding.nlp.analysis`); a unit carries every code of a coding that
overlaps it. Lines that start with a speaker label are speaker turns, and the
interviewer's are left out of the units, as the workbench does.

1. Emergent themes, leave-one-code-out: for each code, its codings are removed;
   the units no other code covers (the hidden code's and the never-coded ones)
   are what the suggester sees, the other codes' units are the coded
   background. The best-matching theme among the first ``THEMES_SHOWN`` is
   scored against the hidden code's units (F1 over units), and so is the best
   of as many random groups of the same sizes from the same units. A code with
   fewer than three units left to find is not scored (nothing to find).
2. Code recommender, cross-validation grouped by document: P@1, recall@5,
   hit@5 and MRR of :class:`~coding.nlp.recommend.CodeModel` on the coded
   units of held-out documents, against ranking the training folds' most
   frequent codes.
"""

from __future__ import annotations

import json
import random
import statistics
import time
from dataclasses import dataclass
from pathlib import Path

from coding.errors import CodingError
from coding.nlp.themes import MIN_TERMS, Unit, add_context, best_f1, find_themes, is_interviewer

THEMES_SHOWN = 20  # the Suggestions page lists 20 themes


@dataclass
class Collection:
    """Units of a coded collection, the codes on each, and what scoring needs."""

    units: list[Unit]
    labels: list[set[str]]
    texts: dict[str, str]
    words: int

    def unit_text(self, i: int) -> str:
        u = self.units[i]
        return self.texts[u.document_id][u.start:u.end]


def read_jsonl(path: str | Path) -> list[dict]:
    """The rows of a coded collection, checked (the error names the line and field)."""
    p = Path(path)
    try:
        lines = p.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise CodingError(f"{p}: cannot be read as UTF-8 text ({exc}); give a .jsonl file") from None
    rows, seen = [], set()
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        where = f"{p.name}: line {n}"
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise CodingError(f"{where}: not JSON ({exc.msg}); write one object per line") from None
        if not isinstance(row, dict) or not isinstance(row.get("text"), str):
            raise CodingError(f"{where}: field 'text' must be a string")
        rid = str(row.get("id", n))
        if rid in seen:
            raise CodingError(f"{where}: id {rid!r} is used twice; give every text its own id")
        seen.add(rid)
        codings = row.get("codings", [])
        if not isinstance(codings, list):
            raise CodingError(f"{where}: field 'codings' must be a list")
        for k, c in enumerate(codings):
            ok = (isinstance(c, dict) and isinstance(c.get("start"), int) and isinstance(c.get("end"), int)
                  and 0 <= c["start"] < c["end"] <= len(row["text"]) and isinstance(c.get("codes"), list)
                  and all(isinstance(x, str) and x for x in c["codes"]))
            if not ok:
                raise CodingError(f"{where}: codings[{k}] must be {{'start', 'end', 'codes'}} with "
                                  f"0 <= start < end <= {len(row['text'])} and codes a list of names")
        rows.append({"id": rid, "text": row["text"], "codings": codings})
    if not rows:
        raise CodingError(f"{p}: holds no texts; give one JSON object per line")
    return rows


def line_turns(doc_id: str, text: str) -> list[tuple[str, int, int, bool]]:
    """Speaker turns of a plain text, found as an import finds them
    (:func:`coding.importing.speakers.detect_turns`), each running to the next turn's start,
    with whether the speaker is the interviewer. None when the text has no turns."""
    from coding.importing.speakers import detect_turns

    turns = detect_turns(text)
    return [(doc_id, t.start, turns[i + 1].start if i + 1 < len(turns) else len(text), is_interviewer(t.speaker))
            for i, t in enumerate(turns)]


def collection(rows: list[dict], language: str = "en") -> Collection:
    """Parse the texts (spaCy, as the workbench does) into labelled sentence units."""
    from coding.nlp.analysis import analyse_texts

    texts = {r["id"]: r["text"] for r in rows}
    units: list[Unit] = []
    turns: list[tuple[str, int, int, bool]] = []
    for r, a in zip(rows, analyse_texts([r["text"] for r in rows], language)):
        units += [Unit(r["id"], s, e, tuple(t), tuple(p))
                  for (s, e), t, p in zip(a["sents"], a["terms"], a["phrases"])]
        turns += line_turns(r["id"], r["text"])
    units = add_context(units, turns)
    asked: dict[str, list[tuple[int, int]]] = {}  # the interviewer's turns
    for d, s, e, q in turns:
        if q:
            asked.setdefault(d, []).append((s, e))
    keep = [u for u in units if not any(s <= u.start < e for s, e in asked.get(u.document_id, []))]
    codings = {r["id"]: [(c["start"], c["end"], c["codes"]) for c in r["codings"]] for r in rows}
    labels = [{code for s, e, cs in codings[u.document_id] if s < u.end and u.start < e for code in cs}
              for u in keep]
    return Collection(keep, labels, texts, sum(len(t.split()) for t in texts.values()))


def leave_one_code_out(c: Collection, method: str | None = None, *, seeds=(0, 1, 2)) -> dict:
    """Mean best-theme F1 over hidden codes and the random baseline (see the module doc)."""
    from coding.nlp.themes import METHOD

    per_code: dict[str, dict] = {}
    for code in sorted({x for ls in c.labels for x in ls}):
        pool = [i for i, ls in enumerate(c.labels) if not (ls - {code})]
        gold = {j for j, i in enumerate(pool) if code in c.labels[i] and len(c.units[i].terms) >= MIN_TERMS}
        if len(gold) < 3:
            continue
        background = [list(c.units[i].features) for i, ls in enumerate(c.labels) if ls - {code}]
        sub = [c.units[i] for i in pool]
        eligible = [j for j, u in enumerate(sub) if len(u.terms) >= MIN_TERMS]
        f1s, rnd = [], []
        for seed in seeds:
            themes = find_themes(sub, method=method or METHOD, background=background, seed=seed,
                                 limit=THEMES_SHOWN)[:THEMES_SHOWN]
            f1s.append(best_f1([t.members for t in themes], gold))
            rng = random.Random(seed)
            rnd.append(best_f1([rng.sample(eligible, min(len(t.members), len(eligible))) for t in themes], gold))
        per_code[code] = {"f1": round(statistics.mean(f1s), 3), "random_f1": round(statistics.mean(rnd), 3),
                          "units": len(gold)}
    if not per_code:
        return {"mean_f1": 0.0, "random_f1": 0.0, "codes": 0, "per_code": {}}
    return {"mean_f1": round(statistics.mean(v["f1"] for v in per_code.values()), 3),
            "random_f1": round(statistics.mean(v["random_f1"] for v in per_code.values()), 3),
            "codes": len(per_code), "per_code": per_code}


def cross_validate(c: Collection, folds: int = 5, *, code_texts: dict[str, str] | None = None,
                   model: str = "model") -> dict:
    """Recommender metrics over held-out documents; ``model="centre"`` scores the earlier
    centre-plus-nearest-example ranker (for the bench's comparison)."""
    from coding.nlp.recommend import CodeModel, NotEnoughData, ranking_metrics

    docs = sorted({u.document_id for u in c.units})
    folds = max(2, min(folds, len(docs)))
    coded = [i for i, ls in enumerate(c.labels) if ls]
    names = {x: x for ls in c.labels for x in ls}
    res: dict[str, list] = {"model": [], "baseline": []}
    for f in range(folds):
        held = set(docs[f::folds])
        train = [i for i in coded if c.units[i].document_id not in held]
        test = [i for i in coded if c.units[i].document_id in held]
        if not test:
            continue
        try:
            if model == "centre":
                m = CentreModel([list(c.units[i].features) for i in train], [sorted(c.labels[i]) for i in train])
                ranked = [[s.code_id for s in m.suggest(list(c.units[i].features))] for i in test]
            else:
                m = CodeModel([list(c.units[i].features) for i in train], [sorted(c.labels[i]) for i in train],
                              texts=[c.unit_text(i) for i in train],
                              code_texts=code_texts if code_texts is not None else names)
                ranked = [[s.code_id for s in r] for r in
                          m.suggest_many([list(c.units[i].features) for i in test],
                                         texts=[c.unit_text(i) for i in test])]
        except NotEnoughData:
            continue
        base = m.baseline(5)
        for i, r in zip(test, ranked):
            res["model"].append(ranking_metrics(r, c.labels[i]))
            res["baseline"].append(ranking_metrics(base, c.labels[i]))
    keys = ("p_at_1", "recall_at_5", "hit_at_5", "mrr")

    def mean(rows):
        cols = list(zip(*rows)) if rows else [()] * len(keys)
        return {k: round(statistics.mean(col), 3) if col else 0.0 for k, col in zip(keys, cols)}
    return {**mean(res["model"]), "baseline": mean(res["baseline"]), "test_units": len(res["model"]),
            "folds": folds}


class CentreModel:
    """The earlier ranker, kept for the bench: cosine to a code's centre blended with the
    cosine to its nearest example (TF-IDF of terms and phrases)."""

    def __init__(self, examples: list[list[str]], codes: list[list[str]]):
        import numpy as np
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.preprocessing import normalize

        from collections import Counter

        from coding.nlp.recommend import MIN_EXAMPLES, MIN_SEGMENTS, NotEnoughData

        if len(examples) < MIN_SEGMENTS:
            raise NotEnoughData("too few")
        counts = Counter(x for cs in codes for x in set(cs))
        self.code_ids = sorted(x for x, n in counts.items() if n >= MIN_EXAMPLES)
        if not self.code_ids:
            raise NotEnoughData("too few")
        self.frequency = [x for x, _ in counts.most_common() if x in set(self.code_ids)]
        self.vec = TfidfVectorizer(analyzer=lambda f: f, sublinear_tf=True)
        self.X = normalize(self.vec.fit_transform(examples))
        self.rows = {x: np.array([i for i, cs in enumerate(codes) if x in cs]) for x in self.code_ids}
        self.centres = normalize(np.vstack([np.asarray(self.X[self.rows[x]].mean(axis=0)).ravel()
                                            for x in self.code_ids]))

    def suggest(self, features: list[str], top: int = 5):
        import numpy as np
        from sklearn.preprocessing import normalize

        from coding.nlp.recommend import CodeSuggestion

        q = normalize(self.vec.transform([features]))
        if q.nnz == 0:
            return []
        to_centre = np.asarray(self.centres @ q.T.toarray()).ravel()
        sims = np.asarray((self.X @ q.T).toarray()).ravel()
        out = []
        for j, x in enumerate(self.code_ids):
            rows = self.rows[x]
            best = int(rows[sims[rows].argmax()])
            out.append(CodeSuggestion(x, float(0.5 * to_centre[j] + 0.5 * sims[best]), best))
        out.sort(key=lambda s: -s.score)
        return out[:top]

    def baseline(self, top: int = 5) -> list[str]:
        return self.frequency[:top]


def evaluate_file(path: str | Path, *, language: str = "en", folds: int = 5) -> dict:
    """Both evaluations on a coded .jsonl file, as ``suggest evaluate --json`` prints them."""
    t0 = time.perf_counter()
    c = collection(read_jsonl(path), language)
    out = {"file": str(path), "language": language, "texts": len(c.texts), "units": len(c.units),
           "words": c.words,
           "recommender": cross_validate(c, folds),
           "emergent": leave_one_code_out(c)}
    out["seconds"] = round(time.perf_counter() - t0, 2)
    return out
