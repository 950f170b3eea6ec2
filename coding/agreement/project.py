"""Agreement of a project's coders: gather spans from the store, make units, apply coefficients.

Step one (spans -> units) is :mod:`.units`; step two (units -> coefficients) is
:mod:`.coefficients`. This module only joins them to the stored codings and
pools documents. Figures come twice where it matters: over all text, and over
the text at least one coder coded (uncoded text otherwise counts as agreement).
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import asdict, dataclass, field

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from ..codebook import CodeTree, code_tree
from ..errors import AgreementError
from ..projects import get_member
from ..segmentation import ensure_sentences, turn_spans
from ..store.models import Coding, Document, Project
from .coefficients import (
    alpha_from_table, all_coefficients, kappa_from_table, percent_from_table,
)
from .unitizing import u_alpha
from .units import char_table, match_segments, only_coded, roll_up, unit_matrix

UNITS = ("character", "sentence", "turn", "segment")
RELIABLE, TENTATIVE = 0.800, 0.667  # Krippendorff (2004, p. 241): rely on alpha >= .800, tentative >= .667


def verdict(alpha: float) -> str:
    """Krippendorff's reading of an alpha value."""
    if alpha is None or math.isnan(alpha):
        return "undefined"
    return "reliable" if alpha >= RELIABLE else "tentative" if alpha >= TENTATIVE else "unreliable"


@dataclass
class Row:
    """Agreement for one code (or ``code == "(all codes)"``) pooled over documents."""

    code: str
    code_id: str | None
    unit: str
    n_units: int                 # units in all text (characters, sentences, turns, segments)
    n_coded: int                 # units at least one coder coded
    percent: float               # over all text
    percent_coded: float         # over coded text only
    kappa: float
    kappa_ci: tuple[float, float] | None
    alpha: float
    alpha_ci: tuple[float, float] | None
    alpha_coded: float
    u_alpha: float | None = None  # character unit only
    verdict: str = ""
    note: str = ""
    extra: dict = field(default_factory=dict)  # other coefficients (Fleiss, AC1, ...)

    def as_dict(self) -> dict:
        return _clean(asdict(self))


def _clean(obj):
    """NaN -> None so JSON stays valid and stable."""
    if isinstance(obj, float):
        return None if math.isnan(obj) else round(obj, 6)
    if isinstance(obj, dict):
        return {k: _clean(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_clean(v) for v in obj]
    return obj


@dataclass
class Report:
    unit: str
    coders: list[str]
    codebook_version: int
    rows: list[Row]                      # one per code, then the overall row
    by_document: list[dict]              # document x code cells: percent and kappa (character or unit)
    options: dict

    def as_dict(self) -> dict:
        return {"unit": self.unit, "coders": self.coders, "codebook_version": self.codebook_version,
                "options": self.options, "codes": [r.as_dict() for r in self.rows],
                "by_document": _clean(self.by_document)}


@dataclass
class _Data:
    docs: list[Document]
    tree: CodeTree
    # spans[code_id][doc_id][coder_index] -> list of (start, end)
    spans: dict[str, dict[str, list[list[tuple[int, int]]]]]


def _gather(s: Session, project: Project, coders: list[str], codes: list[str] | None, *,
            layer: str, rollup: bool, documents: list[str] | None) -> _Data:
    if len(set(coders)) != len(coders) or len(coders) < 2:
        raise AgreementError("give at least two different coders, e.g. --coders ana ben")
    ids = [get_member(s, project, name).id for name in coders]
    tree = code_tree(s, project)
    q = select(Document).where(Document.project_id == project.id).order_by(Document.name)
    if documents:
        q = q.where(Document.name.in_(documents))
    docs = list(s.scalars(q))
    if not docs:
        raise AgreementError(f"{project.name!r} has no documents to compare")
    rows = s.execute(select(Coding.code_id, Coding.document_id, Coding.coder_id, Coding.start, Coding.end)
                     .where(Coding.project_id == project.id, Coding.layer == layer,
                            Coding.coder_id.in_(ids)))
    index = {cid: i for i, cid in enumerate(ids)}
    by_code: dict[str, dict[str, list]] = defaultdict(lambda: defaultdict(lambda: [[] for _ in ids]))
    for code_id, doc_id, coder_id, a, b in rows:
        by_code[code_id][doc_id][index[coder_id]].append((a, b))
    if rollup:
        parent_of = {i.id: i.parent_id for i in tree.infos}
        doc_ids = {d.id for d in docs}
        rolled: dict = defaultdict(lambda: defaultdict(lambda: [[] for _ in ids]))
        for d in doc_ids:
            for k in range(len(ids)):
                per_code = {c: by_code[c][d][k] for c in list(by_code) if d in by_code[c]}
                for c, spans in roll_up(per_code, parent_of).items():
                    if spans:
                        rolled[c][d][k] = spans
        by_code = rolled
    wanted = [tree.resolve(p).id for p in codes] if codes else [
        i.id for i in tree.infos if i.codable or (rollup and tree.descendants(i.id))]
    return _Data(docs, tree, {c: by_code.get(c, {}) for c in wanted})


def _doc_units(s: Session, doc: Document, unit: str) -> list[tuple[int, int]]:
    return ensure_sentences(s, doc) if unit == "sentence" else turn_spans(doc)


def _bootstrap_tables(tables: np.ndarray, fn, n_boot: int, seed: int) -> tuple[float, float] | None:
    """Percentile CI by resampling documents (clusters of characters), not characters:
    characters of one passage are not independent draws."""
    if len(tables) < 2:
        return None
    rng = np.random.default_rng(seed)
    picks = rng.integers(0, len(tables), size=(n_boot, len(tables)))
    sums = tables[picks].sum(axis=1)
    vals = np.array([fn(*t) for t in sums])
    vals = vals[~np.isnan(vals)]
    if len(vals) < n_boot // 2:
        return None
    return float(np.percentile(vals, 2.5)), float(np.percentile(vals, 97.5))


def _char_row(name: str, code_id: str | None, tables: np.ndarray, lengths_total: int, u: float | None,
              ci: bool, n_boot: int, seed: int) -> Row:
    a, b, c, d = (int(x) for x in tables.sum(axis=0)) if len(tables) else (0, 0, 0, lengths_total)
    coded = a + b + c
    kappa = kappa_from_table(a, b, c, d)
    alpha = alpha_from_table(a, b, c, d)
    note = "" if coded else "nobody coded this code in these documents"
    return Row(
        code=name, code_id=code_id, unit="character", n_units=a + b + c + d, n_coded=coded,
        percent=percent_from_table(a, b, c, d), percent_coded=percent_from_table(a, b, c, 0) if coded else math.nan,
        kappa=kappa, kappa_ci=_bootstrap_tables(tables, kappa_from_table, n_boot, seed) if ci else None,
        alpha=alpha, alpha_ci=_bootstrap_tables(tables, alpha_from_table, n_boot, seed) if ci else None,
        alpha_coded=alpha_from_table(a, b, c, 0) if coded else math.nan, u_alpha=u,
        verdict=verdict(alpha), note=note, extra={"table": [a, b, c, d]},
    )


def _matrix_row(name: str, code_id: str | None, unit: str, matrix: np.ndarray, ci: bool, n_boot: int,
                seed: int) -> Row:
    coeffs = {c.name if c.level in (None, "nominal") else f"{c.name}_{c.level}": c
              for c in all_coefficients(matrix, ci=ci, n_boot=n_boot, seed=seed)} if matrix.shape[1] else {}
    coded = only_coded(matrix)
    coded_coeffs = {c.name: c for c in all_coefficients(coded)} if coded.shape[1] else {}
    nan = math.nan

    def val(d, k):
        return d[k].value if k in d else nan

    def interval(k):
        c = coeffs.get(k)
        return (c.ci_low, c.ci_high) if c is not None and c.ci_low is not None else None

    kappa_name = "cohen_kappa" if matrix.shape[0] == 2 else "fleiss_kappa"
    alpha = val(coeffs, "krippendorff_alpha")
    return Row(
        code=name, code_id=code_id, unit=unit, n_units=int(matrix.shape[1]), n_coded=int(coded.shape[1]),
        percent=val(coeffs, "percent_agreement"), percent_coded=val(coded_coeffs, "percent_agreement"),
        kappa=val(coeffs, kappa_name), kappa_ci=interval(kappa_name),
        alpha=alpha, alpha_ci=interval("krippendorff_alpha"), alpha_coded=val(coded_coeffs, "krippendorff_alpha"),
        verdict=verdict(alpha), note="" if coded.shape[1] else "nobody coded this code in these units",
        extra={k: c.value for k, c in coeffs.items() if k not in ("percent_agreement", kappa_name, "krippendorff_alpha")},
    )


def compute_agreement(
    s: Session, project: Project, coders: list[str], *, unit: str = "character", codes: list[str] | None = None,
    min_share: float = 0.0, min_overlap: float = 0.9, rollup: bool = False, layer: str = "coder",
    documents: list[str] | None = None, ci: bool = True, n_boot: int = 1000, seed: int = 0,
) -> Report:
    """Agreement per code, per document and overall, for the chosen unit.

    ``character``: two coders use the 2x2 table by interval arithmetic (exact, no
    per-character arrays); more coders use the same units through the coefficient
    matrix. ``sentence``/``turn``: a unit counts as coded when the coder's spans
    cover at least ``min_share`` of it (0: any overlap). ``segment``: MAXQDA-style
    matching at ``min_overlap`` (two coders; percent agreement only).
    """
    if unit not in UNITS:
        raise AgreementError(f"unit {unit!r} is unknown: use one of {', '.join(UNITS)}")
    data = _gather(s, project, coders, codes, layer=layer, rollup=rollup, documents=documents)
    m = len(coders)
    if unit in ("character", "segment") and m != 2:
        if unit == "segment":
            raise AgreementError("segment matching compares exactly two coders; give two, or use --unit sentence")
    rows: list[Row] = []
    cells: list[dict] = []
    total_len = sum(d.length for d in data.docs)
    units_cache = {d.id: _doc_units(s, d, unit) for d in data.docs} if unit in ("sentence", "turn") else {}
    all_tables, all_matrices, all_segments = [], [], []
    offsets = np.cumsum([0] + [d.length for d in data.docs])
    u_segments: list[list[tuple[int, int, str]]] = [[] for _ in coders]

    for code_id, per_doc in data.spans.items():
        info = data.tree.info[code_id]
        if unit == "character" and m == 2:
            tables = np.array([char_table(d.length, *per_doc.get(d.id, [[], []])) for d in data.docs], dtype=np.int64)
            segs = [[(offsets[i] + a, offsets[i] + b, "x") for i, d in enumerate(data.docs)
                     for a, b in per_doc.get(d.id, [[], []])[k]] for k in range(2)]
            for k in range(2):
                u_segments[k] += [(a, b, code_id) for a, b, _ in segs[k]]
            u = u_alpha(total_len, segs).value if any(segs) else math.nan
            rows.append(_char_row(info.path, code_id, tables, total_len, u, ci, n_boot, seed))
            all_tables.append(tables)
            for d, t in zip(data.docs, tables):
                cells.append({"document": d.name, "code": info.path, "percent": percent_from_table(*t),
                              "kappa": kappa_from_table(*t), "coded": int(t[0] + t[1] + t[2])})
        elif unit == "segment":
            results = [match_segments(*per_doc.get(d.id, [[], []]), min_overlap=min_overlap) for d in data.docs]
            pooled = sum(results[1:], results[0])
            all_segments.append(pooled)
            rows.append(Row(code=info.path, code_id=code_id, unit="segment", n_units=pooled.total,
                            n_coded=pooled.total, percent=pooled.percent, percent_coded=pooled.percent,
                            kappa=math.nan, kappa_ci=None, alpha=math.nan, alpha_ci=None, alpha_coded=math.nan,
                            verdict="", note="segments: percent of segments matched (no chance correction)",
                            extra={"matched": pooled.matched_a + pooled.matched_b, "unmatched_a": pooled.unmatched_a,
                                   "unmatched_b": pooled.unmatched_b}))
            for d, r in zip(data.docs, results):
                cells.append({"document": d.name, "code": info.path, "percent": r.percent, "kappa": math.nan,
                              "coded": r.total})
        else:
            if unit == "character":  # more than two coders: elementary intervals expanded to characters
                from .units import char_segments
                parts = []
                for d in data.docs:
                    mat, w = char_segments(d.length, per_doc.get(d.id, [[] for _ in coders]))
                    parts.append(np.repeat(mat, w, axis=1))
            else:
                parts = [unit_matrix(units_cache[d.id], per_doc.get(d.id, [[] for _ in coders]), min_share)
                         for d in data.docs]
            matrix = np.hstack(parts) if parts else np.zeros((m, 0))
            all_matrices.append(matrix)
            rows.append(_matrix_row(info.path, code_id, unit, matrix, ci, n_boot, seed))
            for d, part in zip(data.docs, parts):
                if part.shape[1]:
                    agree = (part == part[0]).all(axis=0)
                    cells.append({"document": d.name, "code": info.path, "percent": float(agree.mean()),
                                  "kappa": math.nan, "coded": int(part.any(axis=0).sum())})

    # overall: every (code, unit) pair is one unit
    if unit == "character" and m == 2 and all_tables:
        stacked = np.stack(all_tables)  # codes x docs x 4
        overall = _char_row("(all codes)", None, stacked.sum(axis=0), total_len * len(all_tables),
                            u_alpha(total_len, u_segments).value if any(u_segments) else math.nan,
                            ci, n_boot, seed)
        rows.append(overall)
    elif unit == "segment" and all_segments:
        pooled = sum(all_segments[1:], all_segments[0])
        rows.append(Row(code="(all codes)", code_id=None, unit="segment", n_units=pooled.total, n_coded=pooled.total,
                        percent=pooled.percent, percent_coded=pooled.percent, kappa=math.nan, kappa_ci=None,
                        alpha=math.nan, alpha_ci=None, alpha_coded=math.nan))
    elif all_matrices:
        rows.append(_matrix_row("(all codes)", None, unit, np.hstack(all_matrices), ci, n_boot, seed))
    options = {"min_share": min_share, "min_overlap": min_overlap, "rollup": rollup, "layer": layer,
               "documents": [d.name for d in data.docs], "bootstrap": {"n": n_boot, "seed": seed} if ci else None}
    return Report(unit, coders, project.codebook_version, rows, cells, options)
