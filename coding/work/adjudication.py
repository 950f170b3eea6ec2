"""Disagreements between two coders, and the lead's adjudication into a consensus layer.

For one code in one document, the regions to review are the connected
components of the union of both coders' spans (overlapping or touching spans
chain into one component). A component is an agreement when both coders cover
exactly the same characters inside it, otherwise a disagreement. The lead
decides each disagreement (A, B, both, neither, or an edited span) with a
reason; the decision becomes consensus codings (``layer="consensus"``,
``provenance="adjudicated"``) plus an :class:`Adjudication` row and an event.

Access (:mod:`coding.team.access`): deciding is for a lead of the project. Comparing
and counting show two coders' exact spans, so they follow the blind rule
(:mod:`coding.team.visibility`): a lead always, a coder only on documents no open
blind round hides.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from coding.team.access import Action, require
from coding.codebook.tree import code_tree
from coding.work.codings import coding_dict, apply_codes
from coding.errors import CodingError, NotFoundError, OffsetError, PermissionDeniedError
from coding.team.events import log_event
from coding.text.offsets import check_span
from coding.team.members import Member, get_member
from coding.store.models import Adjudication, Coding, Document, Project
from coding.team.visibility import visibility

DECISIONS = ("a", "b", "both", "neither", "edit")
AGREED_REASON = "coders agreed"

Span = tuple[int, int]


def merge(spans: list[Span]) -> list[Span]:
    """Sorted union of spans; overlapping or touching spans become one."""
    out: list[list[int]] = []
    for a, b in sorted(spans):
        if out and a <= out[-1][1]:
            out[-1][1] = max(out[-1][1], b)
        else:
            out.append([a, b])
    return [(a, b) for a, b in out]


def clip(spans: list[Span], start: int, end: int) -> list[Span]:
    """The parts of (merged) ``spans`` inside ``[start, end)``."""
    return [(max(a, start), min(b, end)) for a, b in spans if a < end and b > start]


def subtract(xs: list[Span], ys: list[Span]) -> list[Span]:
    """The parts of merged spans ``xs`` not covered by merged spans ``ys``."""
    out = []
    for a, b in xs:
        pos = a
        for c, d in ys:
            if d <= pos or c >= b:
                continue
            if c > pos:
                out.append((pos, c))
            pos = max(pos, d)
        if pos < b:
            out.append((pos, b))
    return out


@dataclass
class Region:
    """One connected component of both coders' spans for one code in one document.

    ``kind``: "agreement", "boundary" (both coded part of it, differently),
    "only A" or "only B". ``a_spans``/``b_spans`` are each coder's merged
    coverage inside it; ``consensus`` the consensus coverage inside it now;
    ``decided`` the latest adjudication overlapping it, if any.
    """

    start: int
    end: int
    a_spans: list[Span]
    b_spans: list[Span]
    kind: str
    decided: Adjudication | None = None
    consensus: list[Span] = field(default_factory=list)

    @property
    def is_disagreement(self) -> bool:
        return self.kind != "agreement"


Disagreement = Region


def compare_spans(a_spans: list[Span], b_spans: list[Span]) -> list[Region]:
    """Every component of the union of both coders' spans, in text order (pure)."""
    a, b = merge(a_spans), merge(b_spans)
    out = []
    for start, end in merge(a + b):
        ra, rb = clip(a, start, end), clip(b, start, end)
        kind = ("agreement" if ra == rb else "boundary" if ra and rb else "only A" if ra else "only B")
        out.append(Region(start, end, ra, rb, kind))
    return out


def _overlaps(x_start: int, x_end: int, y_start: int, y_end: int) -> bool:
    return x_start < y_end and y_start < x_end


def _coder_ids(s: Session, project: Project, coder_a: str, coder_b: str) -> tuple[str, str]:
    if coder_a == coder_b:
        raise CodingError(f"coder A and coder B are both {coder_a!r}: compare two different coders")
    return get_member(s, project, coder_a).id, get_member(s, project, coder_b).id


def _check_scope(s: Session, project: Project, document: Document, code_id: str) -> None:
    if document.project_id != project.id:
        raise NotFoundError(f"document {document.name!r} is not in {project.name!r}")
    if code_id not in code_tree(s, project).info:
        raise NotFoundError(f"code {code_id!r} is not in the codebook of {project.name!r}: reload the page")


def _spans(s: Session, document: Document, code_id: str, coder_id: str | None, layer: str) -> list[Span]:
    q = select(Coding.start, Coding.end).where(Coding.document_id == document.id, Coding.code_id == code_id,
                                               Coding.layer == layer)
    if coder_id is not None:
        q = q.where(Coding.coder_id == coder_id)
    return [(a, b) for a, b in s.execute(q)]


def _adjudications(s: Session, document_id: str, code_id: str) -> list[Adjudication]:
    """Oldest first, so the last overlapping one is the decision in force."""
    return list(s.scalars(select(Adjudication).where(
        Adjudication.document_id == document_id, Adjudication.code_id == code_id)
        .order_by(Adjudication.decided_at)))


def _latest(adjs: list[Adjudication], start: int, end: int) -> Adjudication | None:
    hits = [a for a in adjs if _overlaps(a.start, a.end, start, end)]
    return hits[-1] if hits else None


def _may_compare(s: Session, project: Project, member: Member, document: Document) -> Member:
    """The reloaded member, if they may see every coder's spans on ``document``."""
    m = require(s, member, Action.COMPARE_CODERS, project, document)
    if not visibility(s, m).sees_all_of(document.id):
        raise PermissionDeniedError(
            f"{document.name!r} is in an open blind round: {m.name!r} sees only their own codings there "
            "until a lead reveals the round")
    return m


def compare(s: Session, project: Project, member: Member, document: Document, code_id: str, coder_a: str,
            coder_b: str) -> list[Region]:
    """All regions (agreements and disagreements) of one code in one document, coder layer.
    A lead, or a coder on a document no open blind round hides."""
    _may_compare(s, project, member, document)
    _check_scope(s, project, document, code_id)
    ida, idb = _coder_ids(s, project, coder_a, coder_b)
    regions = compare_spans(_spans(s, document, code_id, ida, "coder"), _spans(s, document, code_id, idb, "coder"))
    adjs = _adjudications(s, document.id, code_id)
    consensus = merge(_spans(s, document, code_id, None, "consensus"))
    for r in regions:
        r.decided = _latest(adjs, r.start, r.end)
        r.consensus = clip(consensus, r.start, r.end)
    return regions


def disagreements(s: Session, project: Project, member: Member, document: Document, code_id: str, coder_a: str,
                  coder_b: str) -> list[Region]:
    """The regions where the two coders' coverage of ``code_id`` differs, in text order."""
    return [r for r in compare(s, project, member, document, code_id, coder_a, coder_b) if r.is_disagreement]


def _replace_consensus(s: Session, document: Document, code_id: str, start: int,
                       end: int) -> tuple[list[dict], list[Coding]]:
    """Remove consensus codings of the code inside ``[start, end)``; codings reaching
    outside keep their outside parts. Returns the removed rows and the kept parts."""
    removed, kept = [], []
    rows = s.scalars(select(Coding).where(
        Coding.document_id == document.id, Coding.code_id == code_id, Coding.layer == "consensus",
        Coding.start < end, Coding.end > start))
    for c in list(rows):
        removed.append(coding_dict(c))
        outside = [(a, b) for a, b in ((c.start, start), (end, c.end)) if a < b]
        for a, b in outside:
            kept.append(Coding(project_id=c.project_id, document_id=c.document_id, code_id=c.code_id,
                               coder_id=c.coder_id, start=a, end=b, memo=c.memo, provenance=c.provenance,
                               layer="consensus"))
        s.delete(c)
    s.add_all(kept)
    s.flush()
    return removed, kept


def _write(s: Session, project: Project, lead: Member, document: Document, code_id: str, start: int,
           end: int, decision: str, reason: str, spans: list[Span], coders: tuple[str, str]) -> Adjudication:
    removed, kept = _replace_consensus(s, document, code_id, start, end)
    made: list[Coding] = []
    for a, b in spans:
        made += apply_codes(s, project, lead, document, [code_id], a, b, memo=reason,
                            provenance="adjudicated", layer="consensus")
    adj = Adjudication(project_id=project.id, document_id=document.id, code_id=code_id, start=start, end=end,
                       decision=decision, reason=reason, decided_by=lead.name)
    s.add(adj)
    s.flush()
    log_event(s, project.id, lead, "adjudication.decide", "document", document.id,
              adjudication=adj.id, code_id=code_id, region=[start, end], decision=decision, reason=reason,
              coders=list(coders), spans=[list(x) for x in spans], replaced=removed,
              added=[c.id for c in made], kept_outside=[coding_dict(c) for c in kept])
    return adj


def adjudicate(s: Session, project: Project, lead: Member, document: Document, code_id: str,
               region_start: int, region_end: int, decision: str, *, reason: str, coder_a: str, coder_b: str,
               edit_spans: list[Span] | None = None) -> Adjudication:
    """Decide one region: its consensus becomes A's coverage ("a"), B's ("b"), the
    union ("both"), nothing ("neither") or ``edit_spans`` ("edit"). Any earlier
    consensus of this code inside the region is replaced."""
    lead = require(s, lead, Action.ADJUDICATE, project, document)
    if decision not in DECISIONS:
        raise CodingError(f"decision {decision!r} is unknown: use one of {', '.join(DECISIONS)}")
    reason = (reason or "").strip()
    if not reason:
        raise CodingError("a reason is required for every decision (it is the audit trail): "
                          "say in a few words why this version is the consensus")
    _check_scope(s, project, document, code_id)
    check_span(document.length, region_start, region_end, where=f"region of document {document.name!r}")
    ida, idb = _coder_ids(s, project, coder_a, coder_b)
    a = clip(merge(_spans(s, document, code_id, ida, "coder")), region_start, region_end)
    b = clip(merge(_spans(s, document, code_id, idb, "coder")), region_start, region_end)
    if decision == "edit":
        if not edit_spans:
            raise CodingError("an edit needs at least one span: give start and end, or choose 'neither'")
        for x, y in edit_spans:
            if not (isinstance(x, int) and isinstance(y, int) and region_start <= x < y <= region_end):
                raise OffsetError(f"edited span [{x}, {y}) is not inside the region [{region_start}, "
                                  f"{region_end}) with start < end: adjust the offsets")
        spans = merge(list(edit_spans))
    else:
        spans = {"a": a, "b": b, "both": merge(a + b), "neither": []}[decision]
    return _write(s, project, lead, document, code_id, region_start, region_end, decision, reason, spans,
                  (coder_a, coder_b))


def accept_agreements(s: Session, project: Project, lead: Member, document: Document, code_id: str,
                      coder_a: str, coder_b: str) -> int:
    """Copy every agreed region not yet decided into the consensus layer (reason
    "coders agreed"). Returns how many regions were accepted."""
    lead = require(s, lead, Action.ADJUDICATE, project, document)
    n = 0
    for r in compare(s, project, lead, document, code_id, coder_a, coder_b):
        if r.kind == "agreement" and r.decided is None:
            _write(s, project, lead, document, code_id, r.start, r.end, "both", AGREED_REASON, r.a_spans,
                   (coder_a, coder_b))
            n += 1
    return n


def disagreement_counts(s: Session, project: Project, member: Member, coder_a: str,
                        coder_b: str) -> dict[tuple[str, str], dict[str, int]]:
    """Per (document id, code id) either coder coded: ``{"disagreements": n, "decided": k}``.
    A coder gets no cell for a document an open blind round hides from them."""
    m = require(s, member, Action.COMPARE_CODERS, project)
    vis = visibility(s, m)
    ida, idb = _coder_ids(s, project, coder_a, coder_b)
    spans: dict = defaultdict(lambda: ([], []))
    for doc_id, code_id, coder_id, a, b in s.execute(
            select(Coding.document_id, Coding.code_id, Coding.coder_id, Coding.start, Coding.end)
            .where(Coding.project_id == project.id, Coding.layer == "coder", Coding.coder_id.in_([ida, idb]))):
        if vis.sees_all_of(doc_id):
            spans[(doc_id, code_id)][0 if coder_id == ida else 1].append((a, b))
    adjs: dict = defaultdict(list)
    for adj in s.scalars(select(Adjudication).where(Adjudication.project_id == project.id)):
        adjs[(adj.document_id, adj.code_id)].append(adj)
    out: dict[tuple[str, str], dict[str, int]] = {}
    for key, (a, b) in spans.items():
        regions = [r for r in compare_spans(a, b) if r.is_disagreement]
        out[key] = {"disagreements": len(regions),
                    "decided": sum(any(_overlaps(x.start, x.end, r.start, r.end) for x in adjs[key])
                                   for r in regions)}
    return out


def consensus_status(s: Session, project: Project, member: Member, coder_a: str,
                     coder_b: str) -> dict[str, dict[str, int]]:
    """Per document name: ``{"disagreements": n, "decided": k}`` over all codes, for
    documents either coder coded (documents without disagreements show 0/0), under
    the same rule as :func:`disagreement_counts`."""
    names = dict(s.execute(select(Document.id, Document.name).where(Document.project_id == project.id)).all())
    out: dict[str, dict[str, int]] = {}
    for (doc_id, _code_id), cell in disagreement_counts(s, project, member, coder_a, coder_b).items():
        tot = out.setdefault(names[doc_id], {"disagreements": 0, "decided": 0})
        tot["disagreements"] += cell["disagreements"]
        tot["decided"] += cell["decided"]
    return dict(sorted(out.items()))
