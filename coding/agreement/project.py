"""Agreement of a project's coders: gather spans from the store, make units, apply coefficients.

Step one (spans -> units) is :mod:`.units`; step two (units -> coefficients) is
:mod:`.coefficients`. This module only joins them to the stored codings and
pools documents. Figures come twice where it matters: over all text, and over
the text at least one coder coded (uncoded text otherwise counts as agreement).

Which documents count (a project in progress is partly coded): by default only
documents every chosen coder has *worked on*, meaning they coded something in
it or marked it done. A document only some coders have reached is left out and
listed in ``options["partial"]``: counting it would turn all of one coder's
codings into disagreements with a coder who has not read it yet. A coder who
marked a document done without coding a code there did code it: every unit of
it counts as "not coded" by them. Given ``documents=`` explicitly, every listed
document counts as it stands (a coder with no codings there coded none of its
units), and ``options["partial"]`` names the documents that made a difference.

Codings made from accepted suggestions (provenance ``suggested``) count like any
other by default; ``suggestions="exclude"`` leaves them out and ``"only"`` keeps
only them, so a lead can see whether the suggestions carry the agreement. Which
documents count does not change with it (accepting a suggestion is working on a
document); ``options["suggestions"]`` says what was done and how many codings it
concerned.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import asdict, dataclass, field

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from coding.codebook.tree import CodeTree, code_tree, visible_code_tree
from coding.work.codings import PROVENANCE_SUGGESTED
from coding.team.access import Action, require_or_setup
from coding.errors import AgreementError, PermissionDeniedError
from coding.team.members import Member, get_member
from coding.work.segmentation import ensure_sentences, turn_spans
from coding.store.models import Assignment, Coding, Document, Project
from coding.agreement.two_by_two import alpha_from_table, kappa_from_table, percent_from_table
from coding.agreement.intervals import all_coefficients
from coding.agreement.unitizing import u_alpha
from coding.team.visibility import visibility
from coding.agreement.units import only_coded, roll_up, table_from_matrix
from coding.agreement.segments import match_segments
from coding.agreement.sentences import unit_matrix
from coding.agreement.characters import char_segments, char_tables

UNITS = ("character", "sentence", "turn", "segment")
#: What to do with codings made from suggestions: count them, leave them out, or count only them.
SUGGESTIONS = ("include", "exclude", "only")
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
    suggested: int = 0  # codings made from suggestions on these documents, by these coders


def _gather(s: Session, project: Project, coders: list[str], codes: list[str] | None, *,
            layer: str, rollup: bool, documents: list[str] | None, suggestions: str = "include",
            member: Member | None = None) -> _Data:
    if len(set(coders)) != len(coders) or len(coders) < 2:
        raise AgreementError("give at least two different coders, e.g. --coders ana ben")
    ids = [get_member(s, project, name).id for name in coders]
    # The codebook as the asker sees it: another coder's pending proposal is no row of theirs.
    tree = visible_code_tree(s, project, member) if member is not None else code_tree(s, project)
    q = select(Document).where(Document.project_id == project.id).order_by(Document.name)
    if documents is not None:
        q = q.where(Document.name.in_(documents))
    docs = list(s.scalars(q))
    if documents:
        unknown = sorted(set(documents) - {d.name for d in docs})
        if unknown:
            raise AgreementError(f"no document named {', '.join(map(repr, unknown))} in {project.name!r}; "
                                 f"list them with `python -m coding documents {project.name}`")
    if not docs:
        raise AgreementError(f"{project.name!r} has no documents to compare")
    chosen = {d.id for d in docs}
    rows = s.execute(select(Coding.code_id, Coding.document_id, Coding.coder_id, Coding.start, Coding.end,
                            Coding.provenance)
                     .where(Coding.project_id == project.id, Coding.layer == layer,
                            Coding.coder_id.in_(ids)))
    index = {cid: i for i, cid in enumerate(ids)}
    by_code: dict[str, dict[str, list]] = defaultdict(lambda: defaultdict(lambda: [[] for _ in ids]))
    suggested = 0
    for code_id, doc_id, coder_id, a, b, provenance in rows:
        if doc_id not in chosen:  # codings on documents left out must not reach the tables
            continue
        is_suggested = provenance == PROVENANCE_SUGGESTED
        suggested += is_suggested
        if (suggestions == "exclude" and is_suggested) or (suggestions == "only" and not is_suggested):
            continue
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
    return _Data(docs, tree, {c: by_code.get(c, {}) for c in wanted}, suggested)


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


def _bootstrap_units(table: tuple[int, int, int, int], fn, n_boot: int, seed: int) -> tuple[float, float] | None:
    """Percentile CI by resampling units (sentences, turns) with replacement: a
    multinomial draw of the four cells, so no per-unit loop is needed."""
    n = sum(table)
    if n < 2:
        return None
    draws = np.random.default_rng(seed).multinomial(n, np.array(table, dtype=float) / n, size=n_boot)
    vals = np.array([fn(*t) for t in draws])
    vals = vals[~np.isnan(vals)]
    if len(vals) < n_boot // 2:
        return None
    return float(np.percentile(vals, 2.5)), float(np.percentile(vals, 97.5))


def _table_row(name: str, code_id: str | None, unit: str, tables: np.ndarray, u: float | None,
               ci: bool, n_boot: int, seed: int, extra: dict | None = None) -> Row:
    """Two coders: every figure from the pooled 2x2 table. CIs resample documents
    for characters (characters of a passage are not independent) and units otherwise."""
    a, b, c, d = (int(x) for x in tables.sum(axis=0))
    coded = a + b + c
    kappa = kappa_from_table(a, b, c, d)
    alpha = alpha_from_table(a, b, c, d)
    note = "" if coded else "nobody coded this code in these documents"
    if unit == "character":
        boot = lambda fn: _bootstrap_tables(tables, fn, n_boot, seed)  # noqa: E731
    else:
        boot = lambda fn: _bootstrap_units((a, b, c, d), fn, n_boot, seed)  # noqa: E731
    return Row(
        code=name, code_id=code_id, unit=unit, n_units=a + b + c + d, n_coded=coded,
        percent=percent_from_table(a, b, c, d), percent_coded=percent_from_table(a, b, c, 0) if coded else math.nan,
        kappa=kappa, kappa_ci=boot(kappa_from_table) if ci and coded else None,
        alpha=alpha, alpha_ci=boot(alpha_from_table) if ci and coded else None,
        alpha_coded=alpha_from_table(a, b, c, 0) if coded else math.nan, u_alpha=u,
        verdict=verdict(alpha), note=note, extra={"table": [a, b, c, d], **(extra or {})},
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


def _pairwise_percent(part: np.ndarray) -> float:
    """Share of agreeing coder pairs, averaged over units: the same percent as the
    per-code row (Fleiss' P-bar), so a document's cell and its code's row agree."""
    m, n = part.shape
    if n == 0:
        return math.nan
    ones = part.sum(axis=0)
    return float(((ones * (ones - 1) + (m - ones) * (m - ones - 1)) / (m * (m - 1))).mean())


def _all_char_tables(data: _Data) -> dict[str, np.ndarray]:
    """Each code's (documents x 4) character tables of two coders, all in one
    vectorised pass (see units.char_tables; the per-pair loop is 30x slower)."""
    codes = list(data.spans)
    n_docs = len(data.docs)
    doc_index = {d.id: i for i, d in enumerate(data.docs)}
    group, coder, starts, ends = [], [], [], []
    for ci, code_id in enumerate(codes):
        for doc_id, by_coder in data.spans[code_id].items():
            if doc_id not in doc_index:  # _gather keeps only chosen documents; never index past them
                continue
            g = ci * n_docs + doc_index[doc_id]
            for k, spans in enumerate(by_coder):
                for a, b in spans:
                    group.append(g)
                    coder.append(k)
                    starts.append(a)
                    ends.append(b)
    lengths = np.tile([d.length for d in data.docs], len(codes))
    tables = char_tables(lengths, group, coder, starts, ends).reshape(len(codes), n_docs, 4)
    return {code_id: tables[i] for i, code_id in enumerate(codes)}


def _worked_on(s: Session, project: Project, coders: list[str], layer: str) -> dict[str, tuple[str, set[str]]]:
    """Document id -> (name, names of the chosen coders who worked on it): coded
    something there in ``layer``, or (coder layer) marked their assignment done."""
    ids = {get_member(s, project, n).id: n for n in coders}
    pairs = set(s.execute(select(Coding.document_id, Coding.coder_id).where(
        Coding.project_id == project.id, Coding.layer == layer, Coding.coder_id.in_(list(ids))).distinct()))
    if layer == "coder":
        pairs |= set(s.execute(select(Assignment.document_id, Assignment.coder_id).where(
            Assignment.coder_id.in_(list(ids)), Assignment.status == "done")))
    names = dict(s.execute(select(Document.id, Document.name).where(
        Document.project_id == project.id, Document.id.in_(sorted({d for d, _ in pairs})))).all()) if pairs else {}
    out: dict[str, tuple[str, set[str]]] = {}
    for doc_id, coder_id in pairs:
        if doc_id in names:
            out.setdefault(doc_id, (names[doc_id], set()))[1].add(ids[coder_id])
    return out


def _partial(worked: dict[str, tuple[str, set[str]]], coders: list[str], names: set[str] | None,
             counted: bool) -> list[dict]:
    """Documents some but not all chosen coders worked on (among ``names``, or all)."""
    out = []
    for name, by in sorted(worked.values()):
        if len(by) < len(coders) and (names is None or name in names):
            out.append({"document": name, "coded_by": [c for c in coders if c in by],
                        "not_coded_by": [c for c in coders if c not in by], "counted": counted})
    return out


def _hidden_documents(s: Session, project: Project, member: Member | None,
                      documents: list[str] | None) -> set[str]:
    """Documents whose figures the blind rule keeps from ``member`` (a coder while an open
    blind round holds them); naming one of them explicitly is refused."""
    vis = visibility(s, member) if member is not None else None
    if vis is None or not vis.restricted:
        return set()
    named = set(documents or ()) & set(s.scalars(select(Document.name).where(
        Document.project_id == project.id, Document.id.in_(sorted(vis.blind)))))
    if named:
        raise PermissionDeniedError(
            f"{', '.join(sorted(named))} is in an open blind round: {member.name!r} sees only their own "
            "codings there, so no agreement on it until a lead reveals the round")
    return set(vis.blind)


def compute_agreement(
    s: Session, project: Project, coders: list[str], *, member: Member | None = None, unit: str = "character", codes: list[str] | None = None,
    min_share: float = 0.0, min_overlap: float = 0.9, rollup: bool = False, layer: str = "coder",
    documents: list[str] | None = None, ci: bool = True, n_boot: int = 1000, seed: int = 0,
    suggestions: str = "include",
) -> Report:
    """Agreement per code, per document and overall, for the chosen unit.

    Two coders: every figure comes from 2x2 tables (characters by interval
    arithmetic, no per-character arrays). More coders: the units go through the
    multi-coder coefficients (Fleiss' kappa, alpha). ``sentence``/``turn``: a unit
    counts as coded when the coder's spans cover at least ``min_share`` of it
    (0: any overlap). ``segment``: MAXQDA-style matching at ``min_overlap`` (two
    coders; percent only).

    Documents: by default those every chosen coder worked on (coded something
    there, or marked it done); documents only some coders worked on are left
    out and listed in ``options["partial"]`` (``counted: False``). With explicit
    ``documents`` all of them count: a coder's units there are "not coded"
    wherever they coded nothing, and the partial ones are listed with
    ``counted: True``.

    ``suggestions``: ``include`` (default) counts codings made from accepted suggestions
    like the others, ``exclude`` leaves them out, ``only`` counts only them;
    ``options["suggestions"]`` holds the mode and how many such codings there were.

    ``member`` is who asks (coding.team.access): a lead, or a coder, whose figures leave out
    the documents of an open blind round. None only while the project is set up
    without members (see access.require_or_setup).
    """
    if unit not in UNITS:
        raise AgreementError(f"unit {unit!r} is unknown: use one of {', '.join(UNITS)}")
    if suggestions not in SUGGESTIONS:
        raise AgreementError(f"suggestions={suggestions!r} is unknown: use include (count codings made from "
                             "suggestions), exclude (leave them out) or only (count only them)")
    if unit == "segment" and len(coders) != 2:
        raise AgreementError("segment matching compares exactly two coders; give two, or use --unit sentence")
    if len(set(coders)) != len(coders) or len(coders) < 2:
        raise AgreementError("give at least two different coders, e.g. --coders ana ben")
    member = require_or_setup(s, member, Action.COMPUTE_AGREEMENT, project)
    hidden = _hidden_documents(s, project, member, documents)
    worked = {k: v for k, v in _worked_on(s, project, coders, layer).items() if k not in hidden}
    if documents is None:
        documents = sorted(name for name, by in worked.values() if len(by) == len(coders))
        partial = _partial(worked, coders, None, counted=False)
        if not documents:
            some = "; ".join(f"{p['document']} ({', '.join(p['coded_by'])})" for p in partial[:5])
            raise AgreementError(f"no document has codings by all of {', '.join(coders)}; "
                                 "agreement needs documents each coder has coded or marked done"
                                 + (f" (coded by only some so far: {some})" if some else ""))
    else:
        partial = _partial(worked, coders, set(documents), counted=True)
    data = _gather(s, project, coders, codes, layer=layer, rollup=rollup, documents=documents,
                   suggestions=suggestions, member=member)
    report = agreement_of_spans(s, data, coders, unit=unit, min_share=min_share, min_overlap=min_overlap,
                                ci=ci, n_boot=n_boot, seed=seed, codebook_version=project.codebook_version)
    report.options.update({"rollup": rollup, "layer": layer, "partial": partial,
                           "suggestions": {"mode": suggestions, "codings": data.suggested}})
    return report


def agreement_of_spans(s: Session, data: _Data, coders: list[str], *, unit: str, min_share: float = 0.0,
                       min_overlap: float = 0.9, ci: bool = True, n_boot: int = 1000, seed: int = 0,
                       codebook_version: int = 0) -> Report:
    """Step two of :func:`compute_agreement` on spans already gathered (``data.spans``
    holds one span list per coder, in the order of ``coders``): units, then coefficients.
    Also used for coders that are not members, such as the recommender
    (coding.suggest.recommender_agreement). ``s`` is only read for sentence units."""
    m = len(coders)
    empty = [[] for _ in coders]
    docs = data.docs
    units_of = {d.id: _doc_units(s, d, unit) for d in docs} if unit in ("sentence", "turn") else {}
    offsets = np.cumsum([0] + [d.length for d in docs])
    total_len = int(offsets[-1])
    rows: list[Row] = []
    cells: list[dict] = []
    pooled_tables, pooled_matrices, pooled_segments = [], [], []
    u_all: list[list[tuple[int, int, str]]] = [[] for _ in coders]

    if unit == "character" and m == 2:
        char_by_code = _all_char_tables(data)
    for code_id, per_doc in data.spans.items():
        path = data.tree.info[code_id].path
        spans = [per_doc.get(d.id, empty) for d in docs]
        if unit == "segment":
            results = [match_segments(a, b, min_overlap=min_overlap) for a, b in spans]
            pooled = sum(results[1:], results[0])
            pooled_segments.append(pooled)
            rows.append(_segment_row(path, code_id, pooled))
            cells += [{"document": d.name, "code": path, "percent": r.percent, "kappa": math.nan, "coded": r.total}
                      for d, r in zip(docs, results)]
            continue
        if unit == "character":
            # the continuum for u-alpha: documents laid end to end
            segs = [[(int(offsets[i]) + a, int(offsets[i]) + b, code_id) for i, sp in enumerate(spans)
                     for a, b in sp[k]] for k in range(m)]
            for k in range(m):
                u_all[k] += segs[k]
            u = u_alpha(total_len, segs).value if any(segs) else math.nan
        if m == 2:
            if unit == "character":
                tables = char_by_code[code_id]
            else:
                tables = np.array([table_from_matrix(unit_matrix(units_of[d.id], sp, min_share))
                                   for d, sp in zip(docs, spans)], dtype=np.int64).reshape(-1, 4)
            pooled_tables.append(tables)
            rows.append(_table_row(path, code_id, unit, tables, u if unit == "character" else None, ci, n_boot, seed))
            cells += [{"document": d.name, "code": path, "percent": percent_from_table(*tb),
                       "kappa": kappa_from_table(*tb), "coded": int(tb[0] + tb[1] + tb[2])}
                      for d, tb in zip(docs, tables)]
        else:
            if unit == "character":  # elementary intervals expanded to characters
                parts = [np.repeat(*char_segments(d.length, sp), axis=1) for d, sp in zip(docs, spans)]
            else:
                parts = [unit_matrix(units_of[d.id], sp, min_share) for d, sp in zip(docs, spans)]
            matrix = np.hstack(parts)
            pooled_matrices.append(matrix)
            row = _matrix_row(path, code_id, unit, matrix, ci, n_boot, seed)
            row.u_alpha = u if unit == "character" else None
            rows.append(row)
            cells += [{"document": d.name, "code": path,
                       "percent": _pairwise_percent(part),
                       "kappa": math.nan, "coded": int(part.any(axis=0).sum())} for d, part in zip(docs, parts)]

    # overall: every (code, unit) pair is one unit
    if pooled_tables:
        u = u_alpha(total_len, u_all).value if unit == "character" and any(u_all) else None
        rows.append(_table_row("(all codes)", None, unit, np.concatenate(pooled_tables), u, ci, n_boot, seed))
    elif pooled_segments:
        rows.append(_segment_row("(all codes)", None, sum(pooled_segments[1:], pooled_segments[0])))
    elif pooled_matrices:
        rows.append(_matrix_row("(all codes)", None, unit, np.hstack(pooled_matrices), ci, n_boot, seed))
    options = {"min_share": min_share, "min_overlap": min_overlap, "rollup": False, "layer": "coder",
               "documents": [d.name for d in docs], "partial": [],
               "ci": ({"method": "bootstrap over documents" if unit == "character" else "bootstrap over units",
                       "n": n_boot, "seed": seed} if ci else None),
               "suggestions": {"mode": "include", "codings": data.suggested}}
    return Report(unit, coders, codebook_version, rows, cells, options)


def _segment_row(path: str, code_id: str | None, r) -> Row:
    return Row(code=path, code_id=code_id, unit="segment", n_units=r.total, n_coded=r.total,
               percent=r.percent, percent_coded=r.percent, kappa=math.nan, kappa_ci=None, alpha=math.nan,
               alpha_ci=None, alpha_coded=math.nan,
               note="share of segments with a match; no chance correction",
               extra={"matched": r.matched_a + r.matched_b, "unmatched_a": r.unmatched_a,
                      "unmatched_b": r.unmatched_b})
