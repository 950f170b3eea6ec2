"""Suggestions as a service: codes for a passage, and the rule every suggestion keeps.

The blind rule (DESIGN.md, Suggestions): everything a member's suggestions are
computed from is what that member may see, and by default only their *own*
codings: which units count as coded, which coded text describes a code (for
the nearest-code lookup and the recommender). A lead may choose the layer
``all`` (every coder's codings) or ``consensus``; a coder gets ``own`` only, so
another coder's work never changes a coder's suggestions, in a blind round or out.

The parts: processing in :mod:`coding.suggest.processing`; units, layers, the two caches
and the member's trained model in :mod:`coding.suggest.units` (units built from the
processing cache are kept per document set (ids, names, text hashes, pipelines), and
each member's trained code model per (project, member, layer, units, exactly the
spans and codes it learnt from), in small in-process LRU caches: a warm
suggestion answers in milliseconds, and any change to the member's codings
retrains); emergent themes in :mod:`coding.suggest.themes`; more like a code in
:mod:`coding.suggest.passages`; keyphrases (the text only) in
:mod:`coding.suggest.keyphrases`; codes for a passage here. Accepts and rejects are
``suggestion.accept`` / ``suggestion.reject`` events (``model``: 'codes' on the coding
page, 'more' for find-more, 'themes'), from which :func:`suggestion_precision` is
computed; a reject also keeps that span from being offered for that code again.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from coding.team.access import Action, can, require
from coding.codebook.tree import code_tree
from coding.work.codings import PROVENANCE_SUGGESTED
from coding.work.codings import BrowserSelection, coding_dict, resolve_selection
from coding.errors import CodingError, NotFoundError, PermissionDeniedError
from coding.team.events import log_event
from coding.text.offsets import check_span
from coding.team.members import Member
from coding.store.models import Coding, Document, Event, Project
from coding.suggest.units import Quote, _layer_query, _quote, _trained


# --- rejecting a suggested code (coding page and find-more) ----------------------------

def reject_code_suggestion(s: Session, project: Project, member: Member, document: Document, code_id: str,
                           start: int, end: int, *, suggestion: str = "", model: str = "codes") -> None:
    """Log that ``member`` rejected ``code_id`` for ``[start, end)`` (``model``: where it was
    suggested, 'codes' or 'more'); the span is not offered for that code again."""
    m = require(s, member, Action.WRITE_OWN_CODINGS, project, document)
    check_span(document.length, start, end, where=f"document {document.name!r}")
    log_event(s, project.id, m, "suggestion.reject", "document", document.id, suggestion=suggestion,
              model=model, code_id=code_id, start=start, end=end)


# --- existing codes for a passage ----------------------------------------------------

@dataclass(frozen=True)
class CodeHint:
    code_id: str
    path: str
    score: float
    evidence: Quote

    def as_dict(self) -> dict:
        return {"code": self.path, "code_id": self.code_id, "score": round(self.score, 3),
                "evidence": self.evidence.as_dict()}


def suggest_codes(s: Session, project: Project, member: Member, document: Document, start: int, end: int, *,
                  layer: str = "own", top: int = 5) -> list[CodeHint]:
    """Up to ``top`` codes for ``[start, end)`` of ``document``, learned from ``member``'s own
    coded units (a lead may choose a layer), each with the nearest coded unit as evidence.
    A code the layer already has on text overlapping the span is not suggested again.
    Refused with the reason while there is too little data; empty when the span holds no
    content words of a participant (e.g. the interviewer's question)."""
    m = require(s, member, Action.READ_CODINGS, project, document)
    if document.project_id != project.id:
        raise NotFoundError(f"document {document.name!r} is not in {project.name!r}")
    tr = _trained(s, project, m, layer)
    query = [w for i in tr.by_doc.get(document.id, ())
             if tr.units[i][0].start < end and start < tr.units[i][0].end for w in tr.units[i][0].features]
    if not query:
        return []
    tree = code_tree(s, project)
    here = set(s.scalars(_layer_query(s, m, layer, Coding.code_id).where(
        Coding.document_id == document.id, Coding.start < end, Coding.end > start)))
    out = []
    for hint in tr.model.suggest(query, top=top + 5 + len(here), text=document.text[start:end]):
        info = tree.info.get(hint.code_id)
        if info is None or not info.codable or not info.visible_to(m.id, m.is_lead) or hint.code_id in here:
            continue  # deleted, made a folder, another coder's proposal, or already on this text
        out.append(CodeHint(hint.code_id, info.path, hint.score, _quote(s, tr.units[tr.train[hint.evidence]][1])))
        if len(out) == top:
            break
    return out


def accept_code_suggestion(s: Session, project: Project, member: Member, sel: BrowserSelection, code_id: str, *,
                           document_id: str, suggestion: str = "") -> list[Coding]:
    """Code exactly the browser selection ``sel`` with ``code_id`` (provenance 'suggested'),
    checked as a typed coding is (:func:`coding.work.codings.resolve_selection`: a stale selection is
    refused), and log the accept. Nothing is logged when the member had that coding already."""
    from coding.work.codings import apply_to_selection

    m = require(s, member, Action.WRITE_OWN_CODINGS, project)
    made = apply_to_selection(s, project, m, sel, [code_id], document_id=document_id,
                              provenance=PROVENANCE_SUGGESTED)
    if made:
        log_event(s, project.id, m, "suggestion.accept", "document", made[0].document_id,
                  codings=[coding_dict(c) for c in made], suggestion=suggestion, model="codes")
    return made


def reject_for_selection(s: Session, project: Project, member: Member, sel: BrowserSelection, code_id: str, *,
                         document_id: str, suggestion: str = "") -> None:
    """Log that ``member`` rejected ``code_id`` for the browser selection ``sel`` (checked)."""
    doc, start, end = resolve_selection(s, project, sel, document_id=document_id)
    _codable(s, project, code_id)
    reject_code_suggestion(s, project, member, doc, code_id, start, end, suggestion=suggestion)


def _codable(s: Session, project: Project, code_id: str):
    info = code_tree(s, project).info.get(code_id)
    if info is None:
        raise NotFoundError(f"code {code_id!r} is not in the codebook of {project.name!r} (merged or deleted?): "
                            "reload the page")
    if not info.codable:
        raise CodingError(f"'{info.path}' is a folder, not a codable code: pick one of its children")
    return info


@dataclass(frozen=True)
class Precision:
    """Accepted and rejected suggestions of one member (from the event log)."""

    accepted: int
    rejected: int

    @property
    def value(self) -> float | None:
        n = self.accepted + self.rejected
        return self.accepted / n if n else None

    def as_dict(self) -> dict:
        return {"accepted": self.accepted, "rejected": self.rejected,
                "precision": None if self.value is None else round(self.value, 3)}


def suggestion_precision(s: Session, project: Project, member: Member, *, of: str | None = None,
                         model: str | None = "codes") -> Precision:
    """Live precision, accepted / (accepted + rejected), of the suggestions member ``of`` (a
    member id; default the acting member) decided on. ``model``: 'codes' (the coding page),
    'more' (find more like a code), 'themes', or None for all. A quote accepted from a theme
    counts once per coding made. Coders see only their own; leads anyone's."""
    m = require(s, member, Action.READ_CODINGS, project)
    target = of or m.id
    if target != m.id and not can(m, Action.MEASURE_SUGGESTIONS):
        raise PermissionDeniedError(f"{m.name!r} is a coder: only their own suggestion precision is shown to them")
    accepted = rejected = 0
    for action, payload in s.execute(select(Event.action, Event.payload).where(
            Event.project_id == project.id, Event.actor_id == target,
            Event.action.in_(("suggestion.accept", "suggestion.reject")))):
        p = json.loads(payload)
        if model is not None and p.get("model") != model:
            continue
        if action == "suggestion.accept":
            accepted += len(p.get("codings") or [])
        else:
            rejected += 1
    return Precision(accepted, rejected)
