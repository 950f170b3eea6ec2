"""Emergent themes from uncoded units (pure, no store).

A *unit* is a sentence or a speaker turn with its terms (lemmas) and phrases
(noun chunks) from :mod:`coding.nlp.analysis`, and optionally its *context*:
the terms of the turn it sits in and of the interviewer's question that
turn answers (:func:`add_context`). In a semi-structured interview the
question frames the answer, and a turn stays on one topic, so a sentence
that says "it helped a lot" belongs with the question about peer
observation that it answers.

:func:`find_themes` with the default method ``"anchors"``:

1. candidate anchors are the terms and phrases of at least four uncoded
   units (said in at least two of them, not only in their context) and of
   at most a fifth of them, scored by their log-odds ratio (uncoded units
   against the units the member has coded: ``background``; Monroe et al.
   2008, with a flat prior of 0.5) times the square root of their support
   times their inverse document frequency over all units: what the uncoded
   text talks about that the existing codes do not cover, and that not
   everyone says all the time ("think", "school");
2. a theme is every unit that holds the anchor itself or in its context;
3. a theme sharing more than 30% of its units (Jaccard) with a better one is
   left out, so the list is not one theme twenty times;
4. the units that say the anchor must share something else (:func:`tying_features`:
   a feature in at least two of them, more common there than elsewhere, not a general
   word): a word whose sentences share nothing else ("harto", "usually") is a way of
   speaking, not a meaning, and makes no theme. What they share is the theme's *why*.

A theme is named (:func:`theme_name`) by a phrase, as a researcher names a code: the
anchor when it is a phrase (noun chunks and verb-object pairs from the parse score
``PHRASE_BONUS`` times higher), else the phrase holding the anchor its units say most
often; a word that every participant says evenly (:func:`coding.nlp.fillers.general_terms`)
is never a name alone. Quotes are units that say the anchor and a tying feature
first (the sense, not only the word), at most two per document while others remain.
``"nmf"`` and ``"kmeans"`` cluster TF-IDF vectors instead; bench/suggest_bench.py
compares the three with leave-one-code-out and keeps ``METHOD``.
scikit-learn is imported when a function runs.
"""

from __future__ import annotations

import math
import random
import re
from dataclasses import dataclass, field

METHOD = "anchors"
METHODS = ("anchors", "nmf", "kmeans")
MIN_TERMS = 3  # a unit with fewer content terms says too little to cluster
MIN_SUPPORT = 4  # an anchor must recur in this many units (3, 4, 5 compared in the bench)
MIN_OWN = 2  # ... and be said in at least this many of them (not only in their context)
MAX_SHARE = 0.2  # an anchor in more than this share of the units is too general to be a theme
PHRASE_BONUS = 1.5  # a phrase anchor's score is multiplied by this
MIN_TIED = 2  # units saying the anchor that must share something else with each other
OVERLAP = 0.3  # a theme sharing more than this (Jaccard) with a better one is left out
PRIOR = 0.5  # flat Dirichlet prior of the log-odds ratio


@dataclass(frozen=True)
class Unit:
    """One unit of text: where it is and what it holds."""

    document_id: str
    start: int
    end: int
    terms: tuple[str, ...]
    phrases: tuple[str, ...] = ()
    context: tuple[str, ...] = ()  # features of its turn and of the question the turn answers

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
    anchor: str = ""
    why: list[str] = field(default_factory=list)  # what the quotes share besides the anchor

    @property
    def name(self) -> str:
        """The short phrase shown as the theme's name (a candidate code name)."""
        return self.label[0] if self.label else ""


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


_INTERVIEWER = re.compile(r"^(interviewer|interviewee?r|entrevistador[a]?|moderator|i|q|r)$", re.I)


def is_interviewer(speaker: str | None) -> bool:
    """Whether a speaker label names the interviewer (whose questions are not data)."""
    return bool(speaker) and bool(_INTERVIEWER.match(speaker.strip()))


def add_context(units: list[Unit], turns: list[tuple[str, int, int, bool]]) -> list[Unit]:
    """``units`` with their context filled in from ``turns``: ``(document_id, start, end,
    is_interviewer)`` in document order. A unit's context is every feature of the turn it
    starts in and of the interviewer turn before it (none for the interviewer's own units and
    for documents without turns)."""
    from dataclasses import replace

    by_doc: dict[str, list[tuple[int, int, bool]]] = {}
    for d, s, e, q in turns:
        by_doc.setdefault(d, []).append((s, e, q))
    for spans in by_doc.values():
        spans.sort()
    feats: dict[tuple[str, int], list[str]] = {}  # (document, turn index) -> features
    where: list[tuple[str, int] | None] = []
    for u in units:
        spans = by_doc.get(u.document_id, [])
        j = next((i for i, (s, e, _) in enumerate(spans) if s <= u.start < e), None)
        where.append(None if j is None else (u.document_id, j))
        if j is not None:
            feats.setdefault((u.document_id, j), []).extend(u.features)
    out = []
    for u, w in zip(units, where):
        if w is None or by_doc[w[0]][w[1]][2]:
            out.append(u)
            continue
        ctx = list(feats.get(w, []))
        q = w[1] - 1
        while q >= 0 and not by_doc[w[0]][q][2]:
            q -= 1
        if q >= 0:
            ctx += feats.get((w[0], q), [])
        out.append(replace(u, context=tuple(ctx)))
    return out


def _words(feature: str) -> set[str]:
    return set(feature.split())


def anchor_themes(units: list[Unit], background: list[list[str]] | None = None, *,
                  limit: int = 40, general: frozenset[str] = frozenset()) -> list[tuple[str, list[int], list[str]]]:
    """``(anchor, member indexes, tying features)`` best first (steps 1 to 4 of the module
    docstring). ``general``: words said everywhere (:func:`coding.nlp.fillers.general_terms`),
    never an anchor on their own."""
    from collections import Counter

    feats = [set(u.features) | set(u.context) for u in units]
    support = Counter(f for fs in feats for f in fs)
    own = Counter(f for u in units for f in set(u.features))
    n = len(units)
    bg = Counter(f for fs in (background or []) for f in set(fs))
    nb = len(background or [])

    def key(f: str) -> float:
        a = support[f] + PRIOR
        lo = math.log(a / (n + 2 * PRIOR - a))
        if nb:
            b = bg[f] + PRIOR
            lo -= math.log(b / (nb + 2 * PRIOR - b))
        else:  # nothing coded yet: against the uncoded units themselves (frequent words lose)
            lo = -lo
        # words said everywhere ("think", "school") are no theme, however the contrast falls
        idf = math.log(1 + (n + nb) / (own[f] + bg[f] + 1))
        # a phrase names a code the way a researcher would ("planning time", not "time")
        return lo * math.sqrt(support[f]) * idf * (PHRASE_BONUS if " " in f and lo > 0 else 1.0)

    most = max(MIN_SUPPORT, MAX_SHARE * n)
    candidates = sorted((f for f, c in support.items() if MIN_SUPPORT <= c <= most and c < n
                         and own[f] >= MIN_OWN
                         and not (" " in f and _words(f) <= general and own[f] < MIN_SUPPORT)),
                        key=lambda f: (-key(f), f))
    out: list[tuple[str, list[int], list[str]]] = []
    kept: list[set[int]] = []
    names: set[str] = set()
    for f in candidates:
        members = [i for i, fs in enumerate(feats) if f in fs]
        ms = set(members)
        if any(len(ms & k) / len(ms | k) > OVERLAP for k in kept):
            continue
        why = tying_features(units, f, general)
        if not why:  # its sentences share nothing else: a word, not a meaning ("harto", "usually")
            continue
        name = theme_name(units, f, why)
        if name in names or name in general:  # the same name twice; a word said everywhere, alone
            continue
        names.add(name)
        out.append((f, members, why))
        kept.append(ms)
        if len(out) == limit:
            break
    return out


def tying_features(units: list[Unit], anchor: str, general: frozenset[str] = frozenset(), *,
                   top: int = 4) -> list[str]:
    """What the units saying ``anchor`` share besides it (step 4): features other than the
    anchor's own words and general words, in at least ``MIN_TIED`` of them and in a larger
    share of them than of all units; best (count times log lift) first. Empty when fewer than
    ``MIN_TIED`` of them share anything: the anchor is then a word, not a meaning."""
    from collections import Counter

    holders = [u for u in units if anchor in u.features]
    if len(holders) < MIN_TIED:
        return []
    mine = _words(anchor)
    inside = Counter(f for u in holders for f in set(u.features)
                     if f != anchor and not (_words(f) <= mine) and f not in general)
    overall = Counter(f for u in units for f in set(u.features) if f in inside)
    n = len(units)
    scored = []
    for f, c in inside.items():
        if c < 2:
            continue
        lift = (c / len(holders)) / (overall[f] / n)
        if lift > 1.5:
            scored.append((c * math.log(lift), f))
    scored.sort(key=lambda x: (-x[0], x[1]))
    why = [f for _, f in scored[:top]]
    tied = sum(1 for u in holders if any(f in u.features for f in why))
    return why if tied >= MIN_TIED else []


def theme_name(units: list[Unit], anchor: str, why: list[str]) -> str:
    """A short phrase a researcher could write as a code name: the anchor when it is a phrase;
    else the phrase holding the anchor said most often (twice at least) in its units; else
    the anchor."""
    from collections import Counter

    if " " in anchor:
        return anchor
    phrases = Counter(p for u in units if anchor in u.features for p in set(u.phrases) if anchor in p.split())
    best = [p for p, c in phrases.most_common() if c >= 2]
    if best:
        return best[0]
    # no phrase with the anchor recurs: a tying phrase said with it twice, else the anchor
    tied = Counter(p for u in units if anchor in u.features for p in set(u.phrases) if p in why)
    best = [p for p, c in tied.most_common() if c >= 2]
    return best[0] if best else anchor


def find_themes(units: list[Unit], *, method: str = METHOD, k: int | None = None, top_words: int = 4,
                quotes: int = 6, code_profiles: dict[str, list[str]] | None = None,
                background: list[list[str]] | None = None, limit: int = 40, seed: int = 0,
                general: frozenset[str] | None = None) -> list[Theme]:
    """Ranked themes over ``units`` (best first, at most ``limit``). ``background``: features of
    the units the member has coded (the contrast for anchors); ``code_profiles``: code id ->
    features of that code's visible coded text, name and definition, for the nearest-code
    lookup; ``general``: words that are never an anchor or label alone (default: found in
    ``units`` by :func:`coding.nlp.fillers.general_terms`)."""
    import numpy as np
    from sklearn.preprocessing import normalize

    from coding.nlp.fillers import general_terms

    if method not in METHODS:
        raise ValueError(f"unknown theme method {method!r}: use one of {', '.join(METHODS)}")
    keep = [i for i, u in enumerate(units) if len(u.terms) >= MIN_TERMS]
    if len(keep) < 4:
        return []
    sub = [units[i] for i in keep]
    vec, X = _vectorise(sub)
    if vec is None:
        return []
    if general is None:
        general = general_terms(units)
    present = (X > 0).astype(float)
    if method == "anchors":
        groups = [(a, np.array(m), why) for a, m, why in anchor_themes(sub, background, limit=limit,
                                                                       general=general)]
    else:  # disjoint clusters: class-based TF-IDF labels
        labels, _ = cluster_labels(X, k or default_k(len(sub)), method, seed=seed)
        groups = [("", np.flatnonzero(labels == c), []) for c in range(int(labels.max()) + 1)]
        weights = ctfidf(present, labels, max(1, len(groups)))
    vocab = vec.get_feature_names_out()
    profile_ids, P = [], None
    if code_profiles:
        profile_ids = [cid for cid, f in code_profiles.items() if f]
        if profile_ids:
            P = normalize(vec.transform([code_profiles[c] for c in profile_ids]))
    out: list[Theme] = []
    for g, (anchor, rows, why) in enumerate(groups):
        if len(rows) < 3:
            continue
        centre = normalize(np.asarray(X[rows].mean(axis=0)).reshape(1, -1))[0]
        sims = np.asarray(X[rows] @ centre).ravel()
        order = rows[np.argsort(-sims, kind="stable")]
        picked = _pick_quotes(sub, order, anchor, why, quotes)
        if anchor:
            label = [theme_name(sub, anchor, why)]
            label += [w for w in why if not (_words(w) <= _words(label[0]))][:top_words - 1]
        else:
            label = []
            for j in np.argsort(-weights[g], kind="stable"):
                if weights[g][j] <= 0 or len(label) == top_words:
                    break
                word = str(vocab[j])
                # a phrase covers its words: "protected time" makes "time" redundant
                if any(word in lab.split() or lab in word.split() or word == lab for lab in label):
                    continue
                label.append(word)
        cohesion = float(sims.mean())
        rank = (len(groups) - g) if method == "anchors" else len(rows) * cohesion
        theme = Theme(label, [keep[r] for r in rows], [keep[r] for r in picked], score=float(rank),
                      cohesion=cohesion, centroid=centre, anchor=anchor,
                      why=[w for w in why if not label or not (_words(w) <= _words(label[0]))])
        if P is not None:
            cs = np.asarray(P @ centre).ravel()
            best = int(cs.argmax())
            theme.nearest_code = (profile_ids[best], float(cs[best]))
        out.append(theme)
    out.sort(key=lambda t: -t.score)
    return out[:limit]


def _pick_quotes(sub: list[Unit], order, anchor: str, why: list[str], quotes: int) -> list[int]:
    """Up to ``quotes`` member rows, at most two per document while others remain: first those
    that say the anchor and a tying feature (the sense, not only the word), most tying
    features first; then those that say the anchor; units that hold it only in their context
    only to make up three."""
    def ties(r) -> int:
        return sum(f in sub[r].features for f in why)

    if anchor:
        said = [r for r in order if anchor in sub[r].features]
        tied = sorted((r for r in said if ties(r)), key=lambda r: -ties(r))  # stable: centre order within
        ranked = tied + [r for r in said if not ties(r)]
        if len(ranked) < 3:  # a theme shows three quotes: those gathered by their turn's context make up the rest
            ranked += [r for r in order if anchor not in sub[r].features][:3 - len(ranked)]
    else:
        ranked = list(order)
    picked, per_doc = [], {}
    for r in ranked:
        d = sub[r].document_id
        if per_doc.get(d, 0) < 2:
            picked.append(r)
            per_doc[d] = per_doc.get(d, 0) + 1
        if len(picked) == quotes:
            break
    for r in ranked:
        if len(picked) >= min(3, len(ranked)):
            break
        if r not in picked:
            picked.append(r)
    return picked


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
