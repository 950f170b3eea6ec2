"""More like a code: the uncoded sentences the member's model scores high for one code, and
what a member does with one (code it, or dismiss it so it is not offered for that code again).

Learnt from the member's layer (:mod:`coding.suggest.units`), so the blind rule holds
(:mod:`coding.suggest.suggestions`); events carry ``model`` 'more'.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from coding.team.access import Action, require
from coding.work.codings import PROVENANCE_SUGGESTED, apply_codes
from coding.work.codings import coding_dict
from coding.errors import CodingError, NotFoundError
from coding.team.events import log_event
from coding.team.members import Member
from coding.store.models import Coding, Document, Event, Project
from coding.suggest.units import Quote, _Trained, _attributions, _closing, _quote, _trained
from coding.suggest.suggestions import _codable, reject_code_suggestion


# --- find more passages like a code ----------------------------------------------------

@dataclass(frozen=True)
class Passage:
    """An uncoded sentence the model scores high for a code; ``rank`` is the code's place among
    all codes for it (1: the model's first choice)."""

    code_id: str
    path: str
    score: float
    rank: int
    quote: Quote

    def as_dict(self) -> dict:
        return {"code": self.path, "score": round(self.score, 3), "rank": self.rank, **self.quote.as_dict()}


def _dismissed_spans(s: Session, project: Project, member: Member, code_id: str) -> dict[str, list[tuple[int, int]]]:
    """Spans where ``member`` rejected ``code_id`` (on the coding page or in 'find more')."""
    out: dict[str, list[tuple[int, int]]] = {}
    for doc_id, payload in s.execute(select(Event.object_id, Event.payload).where(
            Event.project_id == project.id, Event.actor_id == member.id, Event.action == "suggestion.reject")):
        p = json.loads(payload)
        if p.get("code_id") == code_id:
            out.setdefault(doc_id, []).append((p["start"], p["end"]))
    return out


def _code_scores(tr: _Trained, code_id: str, candidates) -> dict[int, tuple[float, int]]:
    """(score, rank) of ``code_id`` for each candidate unit (computed once per model and unit)."""
    known = tr.scores.setdefault(code_id, {})
    todo = [i for i in candidates if i not in known]
    if todo and code_id in tr.model.code_ids:
        j = tr.model.code_ids.index(code_id)
        P, _, _ = tr.model.scores([list(tr.units[i][0].features) for i in todo], [tr.texts[i] for i in todo])
        ranks = (P > P[:, [j]]).sum(axis=1) + 1
        for n, i in enumerate(todo):
            known[i] = (float(P[n, j]), int(ranks[n]))
    return {i: known.get(i, (0.0, 0)) for i in candidates}


def more_like_code(s: Session, project: Project, member: Member, code_id: str, *, document: Document | None = None,
                   top: int = 10, layer: str = "own") -> list[Passage]:
    """The ``top`` sentences of ``document`` (or of the whole project) that ``member``'s layer has
    not coded at all, ranked by the model's score for ``code_id``, with quotes. Sentences where
    the member rejected or dismissed this code are not offered again; neither are the
    interviewer's, sentences of fewer than three content words, nor the closing pleasantries
    (:func:`coding.nlp.fillers.closing_units`)."""
    from coding.nlp.recommend import MIN_EXAMPLES
    from coding.nlp.themes import MIN_TERMS

    m = require(s, member, Action.READ_CODINGS, project, *([document] if document is not None else []))
    if document is not None and document.project_id != project.id:
        raise NotFoundError(f"document {document.name!r} is not in {project.name!r}")
    info = _codable(s, project, code_id)
    tr = _trained(s, project, m, layer)
    examples = sum(code_id in tr.coded[i] for i in tr.train)
    if examples < MIN_EXAMPLES:
        raise CodingError(f"'{info.path}' has {examples} coded sentence(s) in {'your' if layer == 'own' else 'the'} "
                          f"codings; finding more like it needs {MIN_EXAMPLES}: code a few more with it first")
    dismissed = _dismissed_spans(s, project, m, code_id)
    pool = tr.by_doc.get(document.id, ()) if document is not None else range(len(tr.units))
    # the polite end of an interview ("And good luck with the transcription") is never offered
    closing = _closing(tr.units, s.scalars(select(Document).where(Document.project_id == project.id)))
    candidates = [i for i in pool if not tr.coded[i] and i not in closing and len(tr.units[i][0].terms) >= MIN_TERMS
                  and not any(a < tr.units[i][0].end and tr.units[i][0].start < b
                              for a, b in dismissed.get(tr.units[i][0].document_id, ()))]
    scores = _code_scores(tr, code_id, candidates)
    best = sorted((i for i in candidates if scores[i][0] > 0), key=lambda i: (-scores[i][0], i))[:top]
    docs = [s.get(Document, d) for d in {tr.units[i][1].document_id for i in best}]
    attribution = _attributions(s, project, docs)
    return [Passage(code_id, info.path, scores[i][0], scores[i][1],
                    _quote(s, tr.units[i][1], attribution.get(tr.units[i][1].document_id, ""))) for i in best]


def _project_document(s: Session, project: Project, document_id: str) -> Document:
    doc = s.get(Document, document_id)
    if doc is None or doc.project_id != project.id:
        raise NotFoundError(f"document {document_id!r} is not in {project.name!r} (deleted?): find the passages again")
    return doc


def code_passage(s: Session, project: Project, member: Member, code_id: str, document_id: str, start: int,
                 end: int, *, suggestion: str = "") -> list[Coding]:
    """Code a passage offered by :func:`more_like_code` (provenance 'suggested') and log the accept."""
    m = require(s, member, Action.WRITE_OWN_CODINGS, project)
    doc = _project_document(s, project, document_id)
    made = apply_codes(s, project, m, doc, [code_id], start, end, provenance=PROVENANCE_SUGGESTED)
    if made:
        log_event(s, project.id, m, "suggestion.accept", "document", doc.id,
                  codings=[coding_dict(c) for c in made], suggestion=suggestion, model="more")
    return made


def dismiss_passage(s: Session, project: Project, member: Member, code_id: str, document_id: str, start: int,
                    end: int, *, suggestion: str = "") -> None:
    """Log that the passage does not fit ``code_id``: it is not offered for that code again."""
    doc = _project_document(s, project, document_id)
    _codable(s, project, code_id)
    reject_code_suggestion(s, project, member, doc, code_id, start, end, suggestion=suggestion, model="more")
