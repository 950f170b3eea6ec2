"""Emergent themes from uncoded units: TF-IDF, clustering, c-TF-IDF labels (pure, no store).

A *unit* is a sentence or a speaker turn with its terms (lemmas) and phrases
(noun chunks) from :mod:`coding.nlp.analysis`. :func:`find_themes` turns units
into features (terms and phrases, TF-IDF weighted, rows L2-normalised),
clusters them (``"nmf"``: the dominant topic of each unit, or ``"kmeans"``),
labels each cluster by class-based TF-IDF (a feature's frequency in the cluster
times ``log(1 + mean class size / its frequency over all clusters)``), picks the
units nearest the cluster's centre as quotes, and ranks clusters by size times
cohesion. bench/suggestions_bench.py compares the methods; ``METHOD`` is the
winner. scikit-learn is imported when a function runs.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field

METHOD = "nmf"
MIN_TERMS = 3  # a unit with fewer content terms says too little to cluster


@dataclass(frozen=True)
class Unit:
    """One unit of text: where it is and what it holds."""

    document_id: str
    start: int
    end: int
    terms: tuple[str, ...]
    phrases: tuple[str, ...] = ()

    @property
    def features(self) -> list[str]:
        # a phrase counts as one more feature beside its words: "protected time" is more than "time"
        return [*self.terms, *self.phrases]


@dataclass
class Theme:
    """A candidate theme: its label words, member units (indexes into the input), quotes
    (indexes, best first), rank score, and the nearest existing code (id, cosine)."""

    label: list[str]
    members: list[int]
    quotes: list[int]
    score: float
    cohesion: float
    nearest_code: tuple[str, float] | None = None
    centroid: object = field(default=None, repr=False)  # numpy row, for nearest-code lookups


def default_k(n_units: int) -> int:
    """How many clusters for ``n_units`` units: about one per 15 units, 4 to 40."""
    return max(4, min(40, round(n_units / 15)))


def _vectorise(units: list[Unit]):
    from sklearn.feature_extraction.text import TfidfVectorizer

    vec = TfidfVectorizer(analyzer=lambda feats: feats, min_df=2, sublinear_tf=True)
    try:
        X = vec.fit_transform([u.features for u in units])
    except ValueError:  # no feature occurs twice: nothing recurs, nothing to cluster
        return None, None
    return vec, X


def cluster_labels(X, k: int, method: str, *, seed: int = 0):
    """Cluster index per row of ``X`` (-1: no cluster) and the cluster centres (dense, L2-normalised)."""
    import numpy as np
    from sklearn.preprocessing import normalize

    n = X.shape[0]
    k = max(1, min(k, n))
    if method == "nmf":
        from sklearn.decomposition import NMF

        W = NMF(n_components=k, init="nndsvda", solver="mu", tol=1e-3, random_state=seed,
                max_iter=200).fit_transform(X)
        labels = W.argmax(axis=1)
        labels[W.max(axis=1) <= 1e-9] = -1
    elif method == "kmeans":
        from sklearn.cluster import KMeans

        labels = KMeans(n_clusters=k, n_init=4, random_state=seed).fit_predict(X)
    elif method == "random":  # the baseline: random clusters of NMF's default count
        rng = np.random.default_rng(seed)
        labels = rng.integers(0, k, size=n)
    else:
        raise ValueError(f"unknown clustering method {method!r}: use 'nmf' or 'kmeans'")
    centres = np.zeros((k, X.shape[1]))
    for c in range(k):
        rows = np.flatnonzero(labels == c)
        if len(rows):
            centres[c] = np.asarray(X[rows].mean(axis=0)).ravel()
    return labels, normalize(centres)


def ctfidf(X_counts, labels, k: int):
    """Class-based TF-IDF matrix (k x features) from a count matrix and cluster labels."""
    import numpy as np

    per_class = np.zeros((k, X_counts.shape[1]))
    for c in range(k):
        rows = np.flatnonzero(labels == c)
        if len(rows):
            per_class[c] = np.asarray(X_counts[rows].sum(axis=0)).ravel()
    tf = per_class / np.maximum(per_class.sum(axis=1, keepdims=True), 1)
    avg = per_class.sum() / max(1, k)
    idf = np.log(1 + avg / np.maximum(per_class.sum(axis=0), 1))
    return tf * idf


def find_themes(units: list[Unit], *, method: str = METHOD, k: int | None = None, top_words: int = 4,
                quotes: int = 6, code_profiles: dict[str, list[str]] | None = None,
                seed: int = 0) -> list[Theme]:
    """Ranked themes over ``units`` (best first). ``code_profiles``: code id -> features of
    that code's visible coded text, name and definition, for the nearest-code lookup."""
    import numpy as np

    keep = [i for i, u in enumerate(units) if len(u.terms) >= MIN_TERMS]
    if len(keep) < 4:
        return []
    sub = [units[i] for i in keep]
    vec, X = _vectorise(sub)
    if vec is None:
        return []
    k = k or default_k(len(sub))
    labels, centres = cluster_labels(X, k, method, seed=seed)
    vocab = vec.get_feature_names_out()
    weights = ctfidf((X > 0).astype(float), labels, centres.shape[0])
    profile_ids, P = [], None
    if code_profiles:
        from sklearn.preprocessing import normalize

        profile_ids = [cid for cid, f in code_profiles.items() if f]
        if profile_ids:
            P = normalize(vec.transform([code_profiles[c] for c in profile_ids]))
    out: list[Theme] = []
    for c in range(centres.shape[0]):
        rows = np.flatnonzero(labels == c)
        if len(rows) < 3:
            continue
        sims = np.asarray(X[rows] @ centres[c]).ravel()
        order = rows[np.argsort(-sims, kind="stable")]
        # quotes: nearest the centre first, at most two per document while others remain
        picked, per_doc = [], {}
        for r in order:
            d = sub[r].document_id
            if per_doc.get(d, 0) < 2:
                picked.append(r)
                per_doc[d] = per_doc.get(d, 0) + 1
            if len(picked) == quotes:
                break
        for r in order:
            if len(picked) >= min(3, len(order)):
                break
            if r not in picked:
                picked.append(r)
        top = np.argsort(-weights[c])
        label: list[str] = []
        for j in top:
            if weights[c, j] <= 0 or len(label) == top_words:
                break
            word = str(vocab[j])
            # a phrase covers its words: "protected time" makes "time" redundant
            if any(word in lab.split() or lab in word.split() for lab in label):
                continue
            label.append(word)
        cohesion = float(sims.mean())
        theme = Theme(label, [keep[r] for r in rows], [keep[r] for r in picked],
                      score=len(rows) * cohesion, cohesion=cohesion, centroid=centres[c])
        if P is not None:
            cs = np.asarray(P @ centres[c]).ravel()
            best = int(cs.argmax())
            theme.nearest_code = (profile_ids[best], float(cs[best]))
        out.append(theme)
    out.sort(key=lambda t: -t.score)
    return out


def random_partition(n: int, sizes: list[int], seed: int = 0) -> list[list[int]]:
    """Random clusters of the given sizes over ``range(n)`` (the bench's baseline)."""
    idx = list(range(n))
    random.Random(seed).shuffle(idx)
    out, pos = [], 0
    for s in sizes:
        out.append(idx[pos:pos + s])
        pos += s
    return out


def best_f1(clusters: list[list[int]], gold: set[int]) -> float:
    """F1 of the cluster that best matches ``gold`` (units of a hidden code)."""
    best = 0.0
    for members in clusters:
        tp = len(gold.intersection(members))
        if tp:
            p, r = tp / len(members), tp / len(gold)
            best = max(best, 2 * p * r / (p + r))
    return best


def jaccard(a, b) -> float:
    a, b = set(a), set(b)
    return len(a & b) / len(a | b) if a | b else 0.0


def log_ratio(a: float, b: float) -> float:
    return math.log(a / b) if a > 0 and b > 0 else 0.0
