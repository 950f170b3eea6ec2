"""The recommender measured as a third coder (issue 9, "Agreement").

For each human coder C of a comparison (the documents :func:`compute_agreement` compares
for the chosen coders), documents are split into ``folds`` groups (grouped
cross-validation: a document is never both trained on and coded). For each fold a
:class:`~coding.nlp.recommend.CodeModel` learns from C's own codings of every other
document C coded (units: the sentences of the processing cache, features
``Unit.features``, codes: C's codes overlapping the unit), then codes each sentence
of the held-out documents with its top code when the score clears a threshold. The
threshold is chosen on the training documents only: an inner cross-validation
(again by document) scores their sentences with models that did not see them, and
the threshold maximising F1 there (a sentence's top code against C's codes) is kept.

The recommender's codings then go through the agreement engine like a coder's
(:func:`coding.agreement.project.agreement_of_spans`: the same units and
coefficients as the agreement page) against C, and against every other chosen
coder; the row ``reference`` is the human coders' own agreement on the same
documents. Only leads run it: it learns from every coder's codings.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from sqlalchemy.orm import Session

from coding.team.access import Action, require
from coding.agreement.project import SUGGESTIONS, UNITS, Row, _clean, _Data, agreement_of_spans, compute_agreement
from coding.codebook.tree import code_tree
from coding.work.codings import PROVENANCE_SUGGESTED
from coding.errors import AgreementError
from coding.team.members import Member, get_member
from coding.store.models import Project
from coding.suggest.units import _coded_by, _layer_codings, _units

FOLDS = 5
RECOMMENDER = "recommender"

#: ``predict(coder, train_units, train_codes, test_units) -> (codes per test unit, threshold)``:
#: the seam the default model sits behind (units are ``(Unit, UnitInfo)`` pairs; ``train_codes``
#: are ``coder``'s codes of each training unit, empty for a unit they did not code).
Predictor = Callable[[str, list, list[set[str]], list], tuple[list[set[str]], float | None]]


@dataclass
class ThirdCoderRow:
    """The recommender trained on ``trained_on``'s codings, compared with ``compared_with``."""

    trained_on: str
    compared_with: str
    overall: Row                    # all codes together, as the agreement page's last row
    per_code: list[Row]
    thresholds: list[float | None]  # one per fold (None: no model, nothing coded)
    predicted: int                  # sentences the recommender coded

    def as_dict(self) -> dict:
        return _clean({"trained_on": self.trained_on, "compared_with": self.compared_with,
                       "thresholds": self.thresholds, "predicted": self.predicted,
                       "overall": self.overall.as_dict(), "codes": [r.as_dict() for r in self.per_code]})


@dataclass
class ThirdCoderReport:
    unit: str
    coders: list[str]
    documents: list[str]
    folds: int
    rows: list[ThirdCoderRow]       # one per human coder: the model of their codings against them
    cross: list[ThirdCoderRow]      # the model of one coder's codings against each other coder
    reference: Row                  # the human coders' agreement on the same documents
    options: dict = field(default_factory=dict)

    def as_dict(self) -> dict:
        return {"unit": self.unit, "coders": self.coders, "documents": self.documents, "folds": self.folds,
                "options": _clean(self.options), "rows": [r.as_dict() for r in self.rows],
                "cross": [r.as_dict() for r in self.cross], "reference": self.reference.as_dict()}

    def table(self) -> list[dict]:
        """One line per row, then the reference: who, percent, kappa, alpha (flat, for a page or CSV)."""
        def line(label: str, vs: str, r: Row, threshold: str, predicted) -> dict:
            return {"recommender trained on": label, "compared with": vs, "n": r.n_units, "coded": r.n_coded,
                    "percent": _num(r.percent), "percent_coded": _num(r.percent_coded), "kappa": _num(r.kappa),
                    "alpha": _num(r.alpha), "alpha_coded": _num(r.alpha_coded), "threshold": threshold,
                    "predicted": predicted}
        out = [line(r.trained_on, r.compared_with, r.overall, _thresholds(r.thresholds), r.predicted)
               for r in self.rows + self.cross]
        out.append(line("(human coders)", " vs ".join(self.coders), self.reference, "", None))
        return out


def _num(x):
    return None if x is None or (isinstance(x, float) and math.isnan(x)) else round(float(x), 3)


def _thresholds(ts: Sequence[float | None]) -> str:
    got = [t for t in ts if t is not None]
    if not got:
        return "none"
    lo, hi = min(got), max(got)
    return f"{lo:.2f}" if math.isclose(lo, hi) else f"{lo:.2f}–{hi:.2f}"


# --- the default predictor: CodeModel, its threshold chosen on the training documents ------

def _groups(units: list, k: int) -> list[list[int]]:
    """Indices of ``units`` in ``k`` groups by document (documents in order, dealt round)."""
    docs = sorted({u.document_id for u, _ in units})
    k = max(1, min(k, len(docs)))
    fold_of = {d: i % k for i, d in enumerate(docs)}
    out: list[list[int]] = [[] for _ in range(k)]
    for i, (u, _) in enumerate(units):
        out[fold_of[u.document_id]].append(i)
    return [g for g in out if g]


def _train(units: list, codes: list[set[str]], texts: dict | None = None, code_texts: dict | None = None):
    """A CodeModel on the coded units among ``units`` (as the coding page trains it: features,
    the unit's text, the codes' names and definitions), or None when there is too little data."""
    from coding.nlp.recommend import CodeModel, NotEnoughData

    coded = [i for i, cs in enumerate(codes) if cs]
    extra = {} if texts is None else {"texts": [texts[_key(units[i][0])] for i in coded], "code_texts": code_texts}
    try:
        return CodeModel([units[i][0].features for i in coded], [sorted(codes[i]) for i in coded], **extra)
    except NotEnoughData:
        return None


def _key(u) -> tuple[str, int, int]:
    return u.document_id, u.start, u.end


def _top(model, units: list, texts: dict | None = None) -> list[tuple[str, float] | None]:
    """Each unit's top code and score (None: the model has nothing to say), in one batch."""
    feats = [list(u.features) for u, _ in units]
    kw = {} if texts is None else {"texts": [texts[_key(u)] for u, _ in units]}
    many = getattr(model, "suggest_many", None)
    hits = many(feats, 1, **kw) if many else [model.suggest(f, top=1) for f in feats]
    return [(h[0].code_id, h[0].score) if h else None for h in hits]


def best_threshold(scored: list[tuple[tuple[str, float] | None, set[str]]]) -> float | None:
    """The score threshold maximising F1 of "a unit gets its top code when the score clears
    it" against the true codes; None when nothing was scored or no threshold finds a code."""
    truth = sum(len(t) for _, t in scored)
    hits = sorted(((p[1], p[0] in t) for p, t in scored if p is not None), key=lambda x: -x[0])
    best, best_f1, tp = None, 0.0, 0
    for i, (score, ok) in enumerate(hits, start=1):
        tp += ok
        if i < len(hits) and math.isclose(hits[i][0], score):
            continue  # a threshold takes every unit with the same score
        f1 = 2 * tp / (i + truth) if i + truth else 0.0
        if f1 > best_f1:
            best, best_f1 = score, f1
    return best


def model_predict(train: list, codes: list[set[str]], test: list, *, folds: int = FOLDS,
                  fit: Callable[[list, list[set[str]]], object] = _train, top: Callable = _top
                  ) -> tuple[list[set[str]], float | None]:
    """Default predictor: the threshold from an inner cross-validation by document over
    ``train``, then a model of all of ``train`` codes each test unit with its top code."""
    scored: list = []
    for group in _groups(train, folds):
        inside = set(group)
        rest = [i for i in range(len(train)) if i not in inside]
        model = fit([train[i] for i in rest], [codes[i] for i in rest])
        if model is None:
            continue
        for i, hit in zip(group, top(model, [train[i] for i in group])):
            scored.append((hit, codes[i]))
    threshold = best_threshold(scored)
    model = fit(train, codes)
    if model is None or threshold is None:
        return [set() for _ in test], None
    return [{hit[0]} if hit is not None and hit[1] >= threshold else set() for hit in top(model, test)], threshold


def _default_predictor(s: Session, project: Project, tree, folds: int) -> Predictor:
    """model_predict with the unit texts and code wording the coding page gives the model, and
    each model trained once per (coder, training documents): inner and outer folds share them."""
    from coding.store.models import Document

    texts_of: dict[str, str] = {}
    code_texts = {i.id: f"{tree.by_id[i.id].name} {tree.by_id[i.id].definition or ''}" for i in tree.infos}
    models: dict[tuple, object] = {}

    def texts(units) -> dict:
        for d in {u.document_id for u, _ in units} - set(texts_of):
            texts_of[d] = s.get(Document, d).text
        return {_key(u): texts_of[u.document_id][u.start:u.end] for u, _ in units}

    def predict(coder, train, codes, test):
        known = texts(train + test)

        def fit(units, cs):
            key = (coder, frozenset(u.document_id for u, _ in units))
            if key not in models:
                models[key] = _train(units, cs, known, code_texts)
            return models[key]

        return model_predict(train, codes, test, folds=folds, fit=fit, top=lambda m, us: _top(m, us, known))
    return predict


# --- the measurement ------------------------------------------------------------------------

def recommender_agreement(
    s: Session, project: Project, member: Member, coders: list[str], *, unit: str = "sentence",
    folds: int = FOLDS, min_share: float = 0.0, suggestions: str = "exclude", documents: list[str] | None = None,
    ci: bool = False,
    n_boot: int = 1000, seed: int = 0, predict: Predictor | None = None,
) -> ThirdCoderReport:
    """The recommender as a third coder, against each of ``coders`` (see the module doc).

    ``unit``, ``min_share``, ``documents``, ``ci``: as for :func:`compute_agreement` (by default the
    documents every chosen coder worked on). ``suggestions``:
    ``exclude`` (default) neither trains on nor compares with codings made from accepted
    suggestions (they would be the recommender agreeing with itself); ``include`` counts
    them. ``predict`` replaces the model (tests prove the plumbing with it)."""
    m = require(s, member, Action.MEASURE_SUGGESTIONS, project)
    if unit not in UNITS or unit == "segment":
        raise AgreementError(f"unit {unit!r} is not one for the recommender: use character, sentence or turn")
    if suggestions not in SUGGESTIONS or suggestions == "only":
        raise AgreementError(f"suggestions={suggestions!r}: use exclude (leave codings made from suggestions out "
                             "of training and comparison) or include; the recommender cannot learn from them alone")
    if not isinstance(folds, int) or folds < 2:
        raise AgreementError(f"folds={folds!r}: give a whole number of at least 2 (documents per fold held out)")
    reference = compute_agreement(s, project, coders, member=m, unit=unit, min_share=min_share, ci=ci,
                                  n_boot=n_boot, seed=seed, suggestions=suggestions, documents=documents)
    names = reference.options["documents"]
    if len(names) < 2:
        raise AgreementError(f"the recommender needs at least two documents {', '.join(coders)} all coded "
                             f"(one to learn from, one to code); there is {len(names)}")
    tree = code_tree(s, project)
    predict = predict or _default_predictor(s, project, tree, folds)
    wanted = [i.id for i in tree.infos if i.codable]
    all_docs, units = _units(s, project, "sentence")
    compared = [d for d in all_docs if d.name in set(names)]
    ids = {n: get_member(s, project, n).id for n in coders}
    visible = [c for c in _layer_codings(s, m, "all") if c.coder_id in set(ids.values())
               and (suggestions == "include" or c.provenance != PROVENANCE_SUGGESTED)]
    by_coder = {n: [c for c in visible if c.coder_id == ids[n]] for n in coders}
    k = min(folds, len(compared))
    fold_of = {d.id: i % k for i, d in enumerate(compared)}

    rows: list[ThirdCoderRow] = []
    cross: list[ThirdCoderRow] = []
    for name in coders:
        own = by_coder[name]
        codes = _coded_by(units, own)
        worked = {c.document_id for c in own}
        spans: dict[str, list[tuple[int, int]]] = {}  # (code, document) -> the recommender's spans
        thresholds: list[float | None] = []
        predicted = 0
        for f in range(k):
            held = {d for d, g in fold_of.items() if g == f}
            train = [i for i, (u, _) in enumerate(units) if u.document_id in worked and u.document_id not in held]
            test = [i for i, (u, _) in enumerate(units) if u.document_id in held]
            got, threshold = predict(name, [units[i] for i in train], [codes[i] for i in train],
                                     [units[i] for i in test])
            if len(got) != len(test):
                raise AgreementError(f"the predictor returned {len(got)} code sets for {len(test)} units")
            thresholds.append(threshold)
            for i, cs in zip(test, got):
                u = units[i][0]
                predicted += bool(cs)
                for c in cs:
                    spans.setdefault((c, u.document_id), []).append((u.start, u.end))
        for other in coders:
            data = _Data(compared, tree, {
                c: {d.id: [sorted(spans.get((c, d.id), [])),
                           [(x.start, x.end) for x in by_coder[other] if x.code_id == c and x.document_id == d.id]]
                    for d in compared}
                for c in wanted})
            rep = agreement_of_spans(s, data, [f"{RECOMMENDER} ({name})", other], unit=unit, min_share=min_share,
                                     ci=ci, n_boot=n_boot, seed=seed, codebook_version=project.codebook_version)
            row = ThirdCoderRow(name, other, rep.rows[-1], rep.rows[:-1], thresholds, predicted)
            (rows if other == name else cross).append(row)
    return ThirdCoderReport(unit, list(coders), names, k, rows, cross, reference.rows[-1], {
        "min_share": min_share, "suggestions": suggestions, "documents_per_fold": _per_fold(compared, fold_of, k),
        "training": "each fold: the coder's own codings of every other document they coded",
        "threshold": "maximising F1 of the top code over an inner cross-validation by document of the training "
                     "documents"})


def _per_fold(docs, fold_of: dict, k: int) -> list[list[str]]:
    return [[d.name for d in docs if fold_of[d.id] == f] for f in range(k)]


def report_text(rep: ThirdCoderReport) -> str:
    """The third-coder table as plain text (CLI)."""
    head = f"{'recommender trained on':<24} {'compared with':<16} {'n':>7} {'coded':>6} {'%agr':>6} " \
           f"{'%coded':>6} {'kappa':>6} {'alpha':>6} {'thresh':>9} {'coded by model':>14}"
    out = [head]
    for r in rep.table():
        def n(x):
            return "" if x is None else f"{x:.3f}"
        out.append(f"{r['recommender trained on']:<24} {r['compared with'][:16]:<16} {r['n']:>7} {r['coded']:>6} "
                   f"{n(r['percent']):>6} {n(r['percent_coded']):>6} {n(r['kappa']):>6} {n(r['alpha']):>6} "
                   f"{r['threshold']:>9} {'' if r['predicted'] is None else r['predicted']:>14}")
    out.append(f"unit: {rep.unit}; documents: {', '.join(rep.documents)}; {rep.folds} folds by document; "
               f"codings made from suggestions: {rep.options['suggestions']}d")
    return "\n".join(out) + "\n"
