"""Applying codes to spans, under the project's rules, with undo.

Rules live here, not in the UI: a coder changes only their own codings; while
a document is in an open blind round, a coder is shown only their own codings;
only codable codes can be applied; spans must fit the document text.
Every change is one event whose payload holds what undo needs.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from .codebook import code_tree
from .errors import CodingError, ConflictError, NotFoundError, PermissionDeniedError
from .events import log_event
from .offsets import check_span
from .projects import Member
from .rounds import blind_document_ids, touch_progress
from .segmentation import enclosing, ensure_sentences, turn_spans
from .store.models import Coder, Coding, Document, Event, Project

UNDOABLE = ("coding.add", "coding.remove", "coding.memo", "coding.widen")
_FIELDS = ("id", "project_id", "document_id", "code_id", "coder_id", "start", "end", "memo", "provenance", "layer")


def coding_dict(c: Coding) -> dict:
    """A coding's columns, as event payloads store them (enough to restore it)."""
    return {f: getattr(c, f) for f in _FIELDS}


@dataclass(frozen=True)
class CodingView:
    """A coding as the UI shows it."""

    id: str
    code_id: str
    code_path: str
    colour: str
    coder: str
    start: int
    end: int
    memo: str
    provenance: str
    layer: str
    own: bool


def visible_codings(s: Session, project: Project, member: Member, document: Document,
                    *, layer: str = "coder") -> list[Coding]:
    """The codings ``member`` may see on ``document``: the blind rule applied here."""
    q = select(Coding).where(Coding.document_id == document.id, Coding.layer == layer)
    if not member.is_lead and layer == "coder" and document.id in blind_document_ids(s, project):
        q = q.where(Coding.coder_id == member.id)
    return list(s.scalars(q.order_by(Coding.start, Coding.end)))


def coding_views(s: Session, project: Project, member: Member, document: Document,
                 *, layer: str = "coder") -> list[CodingView]:
    tree = code_tree(s, project)
    names = dict(s.execute(select(Coder.id, Coder.name).where(Coder.project_id == project.id)).all())
    out = []
    for c in visible_codings(s, project, member, document, layer=layer):
        info = tree.info.get(c.code_id)
        out.append(CodingView(c.id, c.code_id, info.path if info else "?", info.colour if info else "#888888",
                              names.get(c.coder_id, "?"), c.start, c.end, c.memo, c.provenance, c.layer,
                              c.coder_id == member.id))
    return out


def _own(s: Session, member: Member, coding_id: str) -> Coding:
    c = s.get(Coding, coding_id)
    if c is None or c.project_id != member.project_id:
        raise NotFoundError(f"no coding {coding_id!r} in this project; it may have been removed: reload the page")
    owner_ok = c.coder_id == member.id if c.layer == "coder" else member.is_lead
    if not owner_ok:
        raise PermissionDeniedError(f"{member.name!r} cannot change another coder's coding")
    return c


def apply_codes(s: Session, project: Project, member: Member, document: Document, code_ids: list[str],
                start: int, end: int, *, memo: str = "", provenance: str = "typed",
                layer: str = "coder") -> list[Coding]:
    """Code ``[start, end)`` with each code; one undoable action. A code the member
    already applied to exactly this span is skipped."""
    if member.project_id != project.id or document.project_id != project.id:
        raise PermissionDeniedError("member and document must belong to this project")
    if layer == "consensus" and not member.is_lead:
        raise PermissionDeniedError("only a lead can write the consensus layer")
    if not code_ids:
        raise CodingError("no code chosen: pick at least one code to apply")
    check_span(document.length, start, end, where=f"document {document.name!r}")
    tree = code_tree(s, project)
    for cid in code_ids:
        info = tree.info.get(cid)
        if info is None:
            raise NotFoundError(f"code {cid!r} is not in the codebook of {project.name!r}")
        if not info.codable:
            raise ConflictError(f"'{info.path}' is a folder, not a codable code: pick one of its children")
    existing = set(s.scalars(select(Coding.code_id).where(
        Coding.document_id == document.id, Coding.coder_id == member.id, Coding.layer == layer,
        Coding.start == start, Coding.end == end)))
    made = [Coding(project_id=project.id, document_id=document.id, code_id=cid, coder_id=member.id,
                   start=start, end=end, memo=memo, provenance=provenance, layer=layer)
            for cid in dict.fromkeys(code_ids) if cid not in existing]
    if not made:
        return []
    s.add_all(made)
    s.flush()
    if layer == "coder":
        touch_progress(s, member, document.id)
    # Consensus codings are part of an adjudication (its own event): not undoable one by one.
    action = "coding.add" if layer == "coder" else "consensus.add"
    log_event(s, project.id, member.name, action, "document", document.id,
              codings=[coding_dict(c) for c in made])
    return made


def remove_coding(s: Session, project: Project, member: Member, coding_id: str) -> None:
    c = _own(s, member, coding_id)
    log_event(s, project.id, member.name, "coding.remove", "coding", c.id, codings=[coding_dict(c)])
    s.delete(c)
    s.flush()


def set_memo(s: Session, project: Project, member: Member, coding_id: str, memo: str) -> None:
    c = _own(s, member, coding_id)
    if c.memo == memo:
        return
    log_event(s, project.id, member.name, "coding.memo", "coding", c.id, before=c.memo, after=memo)
    c.memo = memo


def widen(s: Session, project: Project, member: Member, coding_id: str, to: str) -> Coding:
    """Stretch a coding to the whole sentence(s) or speaker turn(s) it touches."""
    c = _own(s, member, coding_id)
    doc = s.get(Document, c.document_id)
    if to == "sentence":
        units = ensure_sentences(s, doc)
    elif to == "turn":
        units = turn_spans(doc)
    else:
        raise CodingError(f"cannot widen to {to!r}: use 'sentence' or 'turn'")
    start, end = enclosing(units, c.start, c.end)
    if (start, end) != (c.start, c.end):
        log_event(s, project.id, member.name, "coding.widen", "coding", c.id,
                  before=[c.start, c.end], after=[start, end])
        c.start, c.end = start, end
        s.flush()
    return c


def code_turn(s: Session, project: Project, member: Member, document: Document, position: int,
              code_ids: list[str]) -> list[Coding]:
    """Code the words of one speaker turn (its label excluded) in one action."""
    turns = [t for t in document.turns if t.position == position]
    if not turns:
        raise NotFoundError(f"document {document.name!r} has no turn #{position}")
    t = turns[0]
    return apply_codes(s, project, member, document, code_ids, t.speech_start, t.end)


def undo_last(s: Session, project: Project, member: Member) -> str | None:
    """Revert the member's most recent coding action not yet undone; returns its action."""
    ev = s.scalar(
        select(Event).where(Event.project_id == project.id, Event.actor == member.name,
                            Event.action.in_(UNDOABLE), Event.undone_by.is_(None))
        .order_by(Event.seq.desc()).limit(1)
    )
    if ev is None:
        return None
    p = json.loads(ev.payload)
    if ev.action == "coding.add":
        for d in p["codings"]:
            c = s.get(Coding, d["id"])
            if c is not None:
                s.delete(c)
    elif ev.action == "coding.remove":
        for d in p["codings"]:
            if s.get(Coding, d["id"]) is None:
                s.add(Coding(**d))
    elif ev.action == "coding.memo":
        c = s.get(Coding, ev.object_id)
        if c is not None:
            c.memo = p["before"]
    elif ev.action == "coding.widen":
        c = s.get(Coding, ev.object_id)
        if c is not None:
            c.start, c.end = p["before"]
    s.flush()
    undo = log_event(s, project.id, member.name, "undo", ev.object_type, ev.object_id, undid=ev.id, undid_action=ev.action)
    ev.undone_by = undo.id
    return ev.action


def recent_code_ids(s: Session, project: Project, member: Member, *, limit: int = 9) -> list[str]:
    """Codes the member applied most recently (for the panel and keys 1-9)."""
    rows = s.scalars(select(Coding.code_id).where(Coding.project_id == project.id, Coding.coder_id == member.id)
                     .order_by(Coding.created_at.desc()).limit(200))
    return list(dict.fromkeys(rows))[:limit]
