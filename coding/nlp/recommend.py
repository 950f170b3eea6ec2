"""Existing codes for a passage, learned from one coder's own coded units (pure, no store).

:class:`CodeModel` is trained on ``(features, code ids)`` pairs, the units a
coder coded (the caller passes only what that coder may see). Each code gets a
one-vs-rest logistic regression over TF-IDF of the unit's terms and phrases,
plus character 3-5-grams of its text when texts are given (they carry
morphology for languages with no lemmatiser). A code's score is its
probability, nudged by how much the passage resembles the code's own name and
definition (``code_texts``): a coder's vocabulary and the codebook's wording
both count, as they do for a person. The nearest training example of the code
(cosine) is kept as evidence.

Chosen in bench/suggest_bench.py against the earlier centre-plus-nearest-example
scorer and the most-frequent-codes baseline (grouped cross-validation by
document). The model stays silent below ``MIN_SEGMENTS`` coded units, and a
code with fewer than ``MIN_EXAMPLES`` examples is not suggested.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

MIN_SEGMENTS = 30
MIN_EXAMPLES = 3
C = 30.0  # inverse regularisation: short passages, few examples, many rare words
NAME_WEIGHT = 10.0  # logit added per unit of cosine between passage and code name+definition


@dataclass(frozen=True)
class CodeSuggestion:
    code_id: str
    score: float  # 0..1: the code's probability for the passage
    evidence: int  # index of the nearest training example of that code


class NotEnoughData(Exception):
    """Too few coded units to learn from (the message says how many there are and are needed)."""


def _char_text(text: str) -> str:
    return " ".join(text.lower().split())


class CodeModel:
    """Ranks codes for a passage; see the module docstring.

    ``examples[i]`` are the features of training unit ``i``, ``codes[i]`` its code ids,
    ``texts[i]`` (optional) its text; ``code_texts`` (optional) maps a code id to its
    name and definition."""

    def __init__(self, examples: list[list[str]], codes: list[list[str]], *,
                 texts: list[str] | None = None, code_texts: dict[str, str] | None = None,
                 min_segments: int = MIN_SEGMENTS, min_examples: int = MIN_EXAMPLES):
        import numpy as np
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.linear_model import LogisticRegression

        if len(examples) < min_segments:
            raise NotEnoughData(f"{len(examples)} coded units so far; suggestions start at {min_segments}")
        if texts is not None and len(texts) != len(examples):
            raise ValueError("texts must match examples one to one")
        counts = Counter(c for cs in codes for c in set(cs))
        self.code_ids = sorted(c for c, n in counts.items() if n >= min_examples)
        if not self.code_ids:
            raise NotEnoughData(f"no code has {min_examples} coded units yet")
        wanted = set(self.code_ids)
        self.frequency = [c for c, _ in counts.most_common() if c in wanted]
        self.vec = TfidfVectorizer(analyzer=lambda f: f, sublinear_tf=True)
        self.vec.fit(examples)
        self.chars = None
        if texts is not None:
            self.chars = TfidfVectorizer(analyzer="char_wb", ngram_range=(3, 5), sublinear_tf=True, min_df=2)
            try:
                self.chars.fit([_char_text(t) for t in texts])
            except ValueError:  # nothing recurs: words only
                self.chars = None
        self.X = self._matrix(examples, texts)
        Y = np.array([[c in set(cs) for c in self.code_ids] for cs in codes], dtype=bool)
        self.rows = {c: np.flatnonzero(Y[:, j]) for j, c in enumerate(self.code_ids)}
        self.models: list = []
        for j in range(len(self.code_ids)):
            y = Y[:, j]
            if y.all():  # a code on every unit: a constant, nothing to learn
                self.models.append(1.0)
                continue
            m = LogisticRegression(C=C, solver="liblinear", max_iter=2000)  # 15x lbfgs here, same ranks
            m.fit(self.X, y)
            self.models.append(m)
        self.names = None
        if code_texts:
            name_vec = TfidfVectorizer(analyzer="char_wb", ngram_range=(3, 5), sublinear_tf=True)
            docs = [_char_text(code_texts.get(c, "")) for c in self.code_ids]
            try:
                name_vec.fit(docs + [_char_text(t) for t in (texts or [])])
                from sklearn.preprocessing import normalize

                self.name_vec = name_vec
                self.names = normalize(name_vec.transform(docs))
            except ValueError:
                self.names = None

    def _matrix(self, feats: list[list[str]], texts: list[str] | None):
        from scipy.sparse import hstack
        from sklearn.preprocessing import normalize

        parts = [normalize(self.vec.transform(feats))]
        if self.chars is not None:
            parts.append(normalize(self.chars.transform([_char_text(t) for t in (texts or [""] * len(feats))])))
        return normalize(hstack(parts).tocsr())

    def scores(self, features: list[list[str]], texts: list[str] | None = None):
        """(probabilities: passages x codes, query matrix, whether each passage resembles
        anything the model knows: a training word or n-gram, or a code's name) for a batch."""
        import numpy as np

        Q = self._matrix(features, texts)
        cols = []
        for m in self.models:
            cols.append(np.full(Q.shape[0], m) if isinstance(m, float) else m.predict_proba(Q)[:, 1])
        P = np.clip(np.column_stack(cols), 1e-6, 1 - 1e-6)
        known = np.asarray(Q.getnnz(axis=1) > 0)
        if self.names is not None and texts is not None:
            from sklearn.preprocessing import normalize

            B = (normalize(self.name_vec.transform([_char_text(t) for t in texts])) @ self.names.T).toarray()
            logit = np.log(P / (1 - P)) + NAME_WEIGHT * B
            P = 1 / (1 + np.exp(-logit))
            known |= B.max(axis=1) > 0
        return P, Q, known

    def suggest(self, features: list[str], top: int = 5, *, text: str | None = None) -> list[CodeSuggestion]:
        """Up to ``top`` codes for one passage, best first, each with its nearest example."""
        return self.suggest_many([features], top, texts=None if text is None else [text])[0]

    def suggest_many(self, features: list[list[str]], top: int = 5, *,
                     texts: list[str] | None = None) -> list[list[CodeSuggestion]]:
        import numpy as np

        if not features:
            return []
        P, Q, known = self.scores(features, texts)
        sims = (Q @ self.X.T).toarray()
        out = []
        for i in range(len(features)):
            if not known[i]:
                out.append([])
                continue
            ranked = []
            for j in np.argsort(-P[i], kind="stable")[:top]:
                c = self.code_ids[j]
                rows = self.rows[c]
                best = int(rows[sims[i, rows].argmax()]) if len(rows) else 0
                ranked.append(CodeSuggestion(c, float(P[i, j]), best))
            out.append(ranked)
        return out

    def baseline(self, top: int = 5) -> list[str]:
        """Most frequent codes first (the bench's baseline)."""
        return self.frequency[:top]


def ranking_metrics(ranked: list[str], gold: set[str], k: int = 5) -> tuple[float, float, float, float]:
    """(precision@1, recall@k, hit@k, reciprocal rank within k) of one ranked list."""
    hits = [i for i, c in enumerate(ranked[:k]) if c in gold]
    return (1.0 if ranked and ranked[0] in gold else 0.0,
            len(gold.intersection(ranked[:k])) / len(gold) if gold else 0.0,
            1.0 if hits else 0.0,
            1 / (hits[0] + 1) if hits else 0.0)

