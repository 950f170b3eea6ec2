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


def split_rows(rows: list[dict], held_out: float = 0.5) -> tuple[list[dict], list[dict]]:
    """(tuning, held-out) parts of a collection, split by text id with a hash, so the same
    text always falls in the same part whatever the file's order (bench/suggest_bench.py
    tunes on the first and reports the second)."""
    import hashlib

    def h(r):
        return int(hashlib.sha256(str(r["id"]).encode("utf-8")).hexdigest()[:8], 16) / 0xFFFFFFFF
    tuning = [r for r in rows if h(r) >= held_out]
    held = [r for r in rows if h(r) < held_out]
    return tuning, held


def bootstrap_mean(values, groups=None, *, n_boot: int = 1000, seed: int = 0, conf: float = 0.95):
    """Percentile bootstrap interval ``(low, high)`` of the mean of ``values``, resampling the
    ``groups`` (a group id per value: the text a unit comes from, so units of one text move
    together) or the values themselves. ``values`` may be rows (tuples): one interval per column."""
    import numpy as np

    arr = np.asarray(values, dtype=float)
    if arr.ndim == 1:
        arr = arr[:, None]
    if not len(arr):
        return [(0.0, 0.0)] * arr.shape[1]
    keys = list(range(len(arr))) if groups is None else list(groups)
    ids = sorted(set(keys))
    sums = np.zeros((len(ids), arr.shape[1]))
    counts = np.zeros(len(ids))
    where = {g: i for i, g in enumerate(ids)}
    for k, row in zip(keys, arr):
        sums[where[k]] += row
        counts[where[k]] += 1
    rng = np.random.default_rng(seed)
    pick = rng.integers(0, len(ids), size=(n_boot, len(ids)))
    means = sums[pick].sum(axis=1) / np.maximum(counts[pick].sum(axis=1), 1)[:, None]
    lo, hi = np.quantile(means, [(1 - conf) / 2, 1 - (1 - conf) / 2], axis=0)
    return [(round(float(a), 3), round(float(b), 3)) for a, b in zip(lo, hi)]


MIN_POOL = 60  # sentences a hidden code is looked for among, at least, for a theme score to mean anything
MIN_UNCODED = 3.0  # never-coded units a hidden code needs per unit of its own for its score to mean anything


def leave_one_code_out(c: Collection, method: str | None = None, *, seeds=(0, 1, 2)) -> dict:
    """Mean best-theme F1 over hidden codes and the random baseline (see the module doc), with
    95% bootstrap intervals over codes, how many codes were scorable, and warnings: too little
    never-coded text beside a hidden code (random groups then find it as well as any method),
    and a method no better than random."""
    from coding.nlp.fillers import general_terms
    from coding.nlp.themes import METHOD

    general = general_terms(c.units)
    per_code: dict[str, dict] = {}
    codes = sorted({x for ls in c.labels for x in ls})
    for code in codes:
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
                                 limit=THEMES_SHOWN, general=general)[:THEMES_SHOWN]
            f1s.append(best_f1([t.members for t in themes], gold))
            rng = random.Random(seed)
            rnd.append(best_f1([rng.sample(eligible, min(len(t.members), len(eligible))) for t in themes], gold))
        per_code[code] = {"f1": round(statistics.mean(f1s), 3), "random_f1": round(statistics.mean(rnd), 3),
                          "units": len(gold), "uncoded": len(eligible) - len(gold)}
    out = {"mean_f1": 0.0, "random_f1": 0.0, "codes": len(per_code), "codes_total": len(codes),
           "per_code": per_code, "warnings": []}
    if not per_code:
        out["warnings"].append(f"no code of {len(codes)} has 3 sentences of its own to find: nothing scored")
        out.update(f1_ci=(0.0, 0.0), random_ci=(0.0, 0.0), difference_ci=(0.0, 0.0))
        return out
    v = list(per_code.values())
    rows = [(x["f1"], x["random_f1"], x["f1"] - x["random_f1"]) for x in v]
    (f_ci, r_ci, d_ci) = bootstrap_mean(rows)
    out.update(mean_f1=round(statistics.mean(x["f1"] for x in v), 3),
               random_f1=round(statistics.mean(x["random_f1"] for x in v), 3),
               f1_ci=f_ci, random_ci=r_ci, difference_ci=d_ci)
    ratio = statistics.median(x["uncoded"] / x["units"] for x in v)
    pool = statistics.median(x["uncoded"] + x["units"] for x in v)
    if pool < MIN_POOL:
        out["warnings"].append(
            f"too little uncoded text: a hidden code is looked for among a median {pool:.0f} sentences (at least "
            f"{MIN_POOL} needed for words to recur in four of them): the theme scores say little here")
    elif ratio < MIN_UNCODED:
        out["warnings"].append(
            f"too little uncoded text: a hidden code's sentences are among a median {ratio:.1f} never-coded "
            f"sentence(s) each (at least {MIN_UNCODED:.0f} needed), so random groups find them almost as well: "
            "the theme scores say little here")
    if d_ci[0] <= 0:
        out["warnings"].append(
            f"the themes are no better than random groups of the same sizes here (difference "
            f"{out['mean_f1'] - out['random_f1']:+.3f}, 95% interval {d_ci[0]:+.3f} to {d_ci[1]:+.3f})")
    if len(per_code) < 10:
        out["warnings"].append(f"only {len(per_code)} of {len(codes)} codes could be scored: the mean is rough")
    return out


KEYS = ("p_at_1", "recall_at_5", "hit_at_5", "mrr")


def cross_validate(c: Collection, folds: int = 5, *, code_texts: dict[str, str] | None = None,
                   model: str = "model") -> dict:
    """Recommender metrics over held-out documents, with 95% bootstrap intervals (resampling
    texts); ``model="centre"`` scores the earlier centre-plus-nearest-example ranker and
    ``model="reference"`` a plain TF-IDF + logistic-regression reference (for the bench)."""
    from coding.nlp.recommend import CodeModel, NotEnoughData, ranking_metrics

    docs = sorted({u.document_id for u in c.units})
    folds = max(2, min(folds, len(docs)))
    coded = [i for i, ls in enumerate(c.labels) if ls]
    names = {x: x for ls in c.labels for x in ls}
    res: dict[str, list] = {"model": [], "baseline": []}
    where: list[str] = []
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
            elif model == "reference":
                m = ReferenceModel([c.unit_text(i) for i in train], [sorted(c.labels[i]) for i in train])
                ranked = m.rank([c.unit_text(i) for i in test])
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
            where.append(c.units[i].document_id)

    def mean(rows):
        cols = list(zip(*rows)) if rows else [()] * len(KEYS)
        out = {k: round(statistics.mean(col), 3) if col else 0.0 for k, col in zip(KEYS, cols)}
        out["ci"] = dict(zip(KEYS, bootstrap_mean(rows, where) if rows else [(0.0, 0.0)] * len(KEYS)))
        return out
    return {**mean(res["model"]), "baseline": mean(res["baseline"]), "test_units": len(res["model"]),
            "texts": len(set(where)), "folds": folds}


class ReferenceModel:
    """The reference the recommender must beat: TF-IDF of a unit's words (unigrams and bigrams of
    its text, no lemmas, no names) and a one-vs-rest logistic regression per code. ``C`` was
    chosen on the tuning half of games-as-art (1, 10, 30, 100 compared; bench/suggest_bench.py
    reports the held-out half), so the reference is not a strawman."""

    C = 30.0

    def __init__(self, texts: list[str], codes: list[list[str]]):
        from collections import Counter

        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.linear_model import LogisticRegression

        from coding.nlp.recommend import MIN_EXAMPLES, MIN_SEGMENTS, NotEnoughData

        if len(texts) < MIN_SEGMENTS:
            raise NotEnoughData("too few")
        counts = Counter(x for cs in codes for x in set(cs))
        self.code_ids = sorted(x for x, n in counts.items() if n >= MIN_EXAMPLES)
        if not self.code_ids:
            raise NotEnoughData("too few")
        self.frequency = [x for x, _ in counts.most_common() if x in set(self.code_ids)]
        self.vec = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, min_df=1)
        try:
            X = self.vec.fit_transform(texts)
        except ValueError:  # no word of two letters anywhere
            raise NotEnoughData("no words") from None
        self.models = []
        for x in self.code_ids:
            y = [x in cs for cs in codes]
            self.models.append(LogisticRegression(C=self.C, max_iter=2000).fit(X, y) if not all(y) else None)

    def rank(self, texts: list[str], top: int = 5) -> list[list[str]]:
        import numpy as np

        Q = self.vec.transform(texts)
        P = np.column_stack([np.ones(Q.shape[0]) if m is None else m.predict_proba(Q)[:, 1] for m in self.models])
        return [[self.code_ids[j] for j in np.argsort(-row, kind="stable")[:top]] for row in P]

    def baseline(self, top: int = 5) -> list[str]:
        return self.frequency[:top]


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


def evaluate_file(path: str | Path, *, language: str = "en", folds: int = 5, part: str = "all") -> dict:
    """Both evaluations on a coded .jsonl file, as ``suggest evaluate --json`` prints them;
    ``part``: 'all', or 'held-out' / 'tuning' (:func:`split_rows`)."""
    t0 = time.perf_counter()
    rows = read_jsonl(path)
    if part not in ("all", "held-out", "tuning"):
        raise CodingError(f"part {part!r} is not one of all, held-out, tuning")
    if part != "all":
        rows = split_rows(rows)[part == "held-out"]
        if not rows:
            raise CodingError(f"{path}: the {part} part holds no texts; evaluate 'all'")
    c = collection(rows, language)
    out = {"file": str(path), "language": language, "part": part, "texts": len(c.texts), "units": len(c.units),
           "words": c.words,
           "recommender": cross_validate(c, folds),
           "reference": cross_validate(c, folds, model="reference"),
           "emergent": leave_one_code_out(c)}
    out["seconds"] = round(time.perf_counter() - t0, 2)
    return out
