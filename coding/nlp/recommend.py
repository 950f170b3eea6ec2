"""Existing codes for a passage, learned from one coder's own coded units (pure, no store).

:class:`CodeModel` is trained on ``(features, code ids)`` pairs, the units a
coder coded (the caller passes only what that coder may see). A code's score
for a passage blends the cosine to the code's centre with the cosine to its
nearest example (TF-IDF over terms and phrases); the nearest example is kept as
evidence. The model stays silent below ``MIN_SEGMENTS`` coded units, and a code
with fewer than ``MIN_EXAMPLES`` examples is not suggested.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

MIN_SEGMENTS = 30
MIN_EXAMPLES = 3


@dataclass(frozen=True)
class CodeSuggestion:
    code_id: str
    score: float
    evidence: int  # index of the nearest training example


class NotEnoughData(Exception):
    """Too few coded units to learn from (the message says how many there are and are needed)."""


class CodeModel:
    def __init__(self, examples: list[list[str]], codes: list[list[str]], *,
                 min_segments: int = MIN_SEGMENTS, min_examples: int = MIN_EXAMPLES):
        import numpy as np
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.preprocessing import normalize

        if len(examples) < min_segments:
            raise NotEnoughData(f"{len(examples)} coded units so far; suggestions start at {min_segments}")
        counts = Counter(c for cs in codes for c in set(cs))
        self.code_ids = sorted(c for c, n in counts.items() if n >= min_examples)
        if not self.code_ids:
            raise NotEnoughData(f"no code has {min_examples} coded units yet")
        self.frequency = [c for c, _ in counts.most_common() if c in set(self.code_ids)]
        self.vec = TfidfVectorizer(analyzer=lambda f: f, sublinear_tf=True)
        self.X = normalize(self.vec.fit_transform(examples))
        self.codes = [set(cs) for cs in codes]
        self.rows = {c: np.array([i for i, cs in enumerate(self.codes) if c in cs]) for c in self.code_ids}
        self.centres = normalize(np.vstack([np.asarray(self.X[self.rows[c]].mean(axis=0)).ravel()
                                            for c in self.code_ids]))

    def suggest(self, features: list[str], top: int = 5) -> list[CodeSuggestion]:
        import numpy as np
        from sklearn.preprocessing import normalize

        q = normalize(self.vec.transform([features]))
        if q.nnz == 0:
            return []
        to_centre = np.asarray(self.centres @ q.T.toarray()).ravel()
        sims = np.asarray((self.X @ q.T).toarray()).ravel()
        out = []
        for j, c in enumerate(self.code_ids):
            rows = self.rows[c]
            best = int(rows[sims[rows].argmax()])
            out.append(CodeSuggestion(c, float(0.5 * to_centre[j] + 0.5 * sims[best]), best))
        out.sort(key=lambda x: -x.score)
        return [o for o in out[:top] if o.score > 0]

    def baseline(self, top: int = 5) -> list[str]:
        """Most frequent codes first (the bench's baseline)."""
        return self.frequency[:top]
