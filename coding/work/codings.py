"""Applying codes to spans, under the project's rules, with undo.

Rules live here, not in the UI: a coder changes only their own codings; while
a document is in an open blind round, a coder is shown only their own codings;
only codable codes can be applied; spans must fit the document text.
Every change is one event whose payload holds what undo needs.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from coding.team.access import Action, can, load, require
from coding.codebook.tree import SEP
from coding.errors import CodingError, ConflictError, NotFoundError, OffsetError, PermissionDeniedError
from coding.team.events import log_event, undoable_kinds
from coding.text.offsets import check_span, utf16_map
from coding.team.members import Member
from coding.work.provenance import PROVENANCE_SUGGESTED, PROVENANCES  # noqa: F401  (re-exported)
from coding.work.rounds import touch_progress
from coding.team.visibility import visible_codings_query
from coding.work.segmentation import enclosing, ensure_sentences, label_spans, turn_spans, without_labels
from coding.store.models import Code, Coder, Coding, Document, Event, Project

UNDOABLE = undoable_kinds()
_PAGE = 20  # events read at a time, newest first, to find what Redo would re-apply
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
    """The codings ``member`` may see on ``document`` (the blind rule, coding.team.visibility)."""
    m = require(s, member, Action.READ_CODINGS, project, document)
    return list(s.scalars(visible_codings_query(s, m, document_id=document.id, layer=layer)))


def coding_views(s: Session, project: Project, member: Member, document: Document,
                 *, layer: str = "coder") -> list[CodingView]:
    """The codings ``member`` may see on ``document``, as the page draws them. Read on every
    rerun of the coding page, so as plain rows (no ORM objects), with only the codes they
    use (and those codes' ancestors, for the paths), never the whole codebook."""
    m = require(s, member, Action.READ_CODINGS, project, document)
    rows = s.execute(visible_codings_query(s, m, document_id=document.id, layer=layer).with_only_columns(
        Coding.id, Coding.code_id, Coding.coder_id, Coding.start, Coding.end, Coding.memo, Coding.provenance,
        Coding.layer)).all()
    labels = _code_labels(s, project, sorted({r.code_id for r in rows}))
    names = dict(s.execute(select(Coder.id, Coder.name).where(Coder.project_id == project.id)).all())
    out = []
    for r in rows:
        path, _, colour = labels.get(r.code_id, ("?", False, "#888888"))
        out.append(CodingView(r.id, r.code_id, path, colour, names.get(r.coder_id, "?"), r.start, r.end, r.memo,
                              r.provenance, r.layer, r.coder_id == m.id))
    return out


def _own(s: Session, project: Project, member: Member, coding_id: str) -> tuple[Member, Coding]:
    """The acting member (reloaded) and their coding ``coding_id``, or a refusal."""
    m = require(s, member, Action.WRITE_OWN_CODINGS, project)
    c = load(s, m, Coding, coding_id, "coding")
    owner_ok = c.coder_id == m.id if c.layer == "coder" else can(m, Action.WRITE_CONSENSUS)
    if not owner_ok:
        raise PermissionDeniedError(f"{m.name!r} cannot change another coder's coding")
    return m, c


def _chosen_codes(s: Session, project: Project, code_ids: list[str]) -> dict[str, tuple[str, bool]]:
    """(path, codable) of each of ``code_ids`` that is in the project's codebook tree."""
    return {cid: (path, codable) for cid, (path, codable, _) in _code_labels(s, project, code_ids).items()}


def _code_labels(s: Session, project: Project, code_ids: list[str]) -> dict[str, tuple[str, bool, str | None]]:
    """(path, codable, colour) of each of ``code_ids`` that is in the project's codebook tree,
    read from those codes and their ancestors only: a coding holds the write lock while it
    runs, and building the whole tree of a 100,000-code codebook for it took seconds."""
    rows: dict[str, Any] = {}
    wanted = set(code_ids)
    while wanted:  # one query per level, up to the top
        found = s.execute(select(Code.id, Code.parent_id, Code.name, Code.codable, Code.colour)
                          .where(Code.id.in_(sorted(wanted)), Code.project_id == project.id)).all()
        rows.update((r.id, r) for r in found)
        wanted = {r.parent_id for r in found if r.parent_id is not None and r.parent_id not in rows}
    out = {}
    for cid in code_ids:
        names, seen, cur = [], set(), rows.get(cid)
        while cur is not None and cur.id not in seen:  # a cycle (corrupt data) is not in the tree
            seen.add(cur.id)
            names.append(cur.name)
            if cur.parent_id is None:
                out[cid] = (SEP.join(reversed(names)), rows[cid].codable, rows[cid].colour)
                break
            cur = rows.get(cur.parent_id)
    return out


def apply_codes(s: Session, project: Project, member: Member, document: Document, code_ids: list[str],
                start: int, end: int, *, memo: str = "", provenance: str = "typed",
                layer: str = "coder") -> list[Coding]:
    """Code ``[start, end)`` with each code; one undoable action. A code the member
    already applied to exactly this span is skipped."""
    member = require(s, member, Action.WRITE_CONSENSUS if layer == "consensus" else Action.WRITE_OWN_CODINGS,
                     project, document)
    if not code_ids:
        raise CodingError("no code chosen: pick at least one code to apply")
    if provenance not in PROVENANCES:
        raise CodingError(f"provenance {provenance!r} is unknown: use one of {', '.join(PROVENANCES)}")
    check_span(document.length, start, end, where=f"document {document.name!r}")
    chosen = _chosen_codes(s, project, code_ids)
    # Read the chosen codes under a share lock (PostgreSQL): a lead turning one into a
    # folder, or merging it away, waits for this coding or is seen by it; never both.
    locked = dict(s.execute(select(Code.id, Code.codable).where(
        Code.id.in_(sorted(set(code_ids))), Code.project_id == project.id).with_for_update(read=True)).all())
    for cid in code_ids:
        if cid not in locked or cid not in chosen:
            raise NotFoundError(f"code {cid!r} is not in the codebook of {project.name!r} (merged or deleted?): "
                                "reload the page and pick another code")
        if not locked[cid]:
            raise ConflictError(f"'{chosen[cid][0]}' is a folder, not a codable code: pick one of its children")
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
        touch_progress(s, project, member, document.id)
    # Consensus codings are part of an adjudication (its own event): not undoable one by one.
    action = "coding.add" if layer == "coder" else "consensus.add"
    log_event(s, project.id, member, action, "document", document.id,
              codings=[coding_dict(c) for c in made])
    return made


@dataclass(frozen=True)
class BrowserSelection:
    """A selection as the browser reports it: UTF-16 offsets, the document it was made
    on (id and text hash, as the page sent them) and the text the user saw selected."""

    document_id: str
    sha256: str
    start: int
    end: int
    text: str = ""

    @classmethod
    def from_component(cls, value: dict) -> BrowserSelection:
        try:
            return cls(str(value["doc"]), str(value["sha"]), int(value["start"]), int(value["end"]),
                       str(value.get("text") or ""))
        except (KeyError, TypeError, ValueError) as exc:
            raise OffsetError(f"the selection from the page is incomplete ({exc}): select the text again") from None


def _squash(text: str) -> str:
    return " ".join(text.split())


def resolve_selection(s: Session, project: Project, sel: BrowserSelection, *,
                      document_id: str | None = None) -> tuple[Document, int, int]:
    """The document and code-point span of a browser selection, or a refusal.

    Refused when the selection was made on another document than ``document_id`` (the
    one the page says it is coding), on another version of the text (hash), outside the
    text, or when the text at those offsets is not what the user saw selected (ignoring
    how whitespace between speaker turns was shown)."""
    if document_id is not None and sel.document_id != document_id:
        raise ConflictError("the selection belongs to another document than the one shown: "
                            "nothing was stored; select the text again")
    doc = s.get(Document, sel.document_id)
    if doc is None or doc.project_id != project.id:
        raise NotFoundError("the selected document is not in this project (deleted?): reload the page")
    if doc.sha256 != sel.sha256:
        raise ConflictError(f"the selection was made on another version of {doc.name!r}: "
                            "nothing was stored; reload the page and select again")
    start, end = utf16_map(doc.sha256, doc.text).span_from_utf16(sel.start, sel.end)
    check_span(doc.length, start, end, where=f"selection in {doc.name!r}")
    if sel.text and _squash(sel.text) != _squash(doc.text[start:end]):
        raise ConflictError(f"the selected text does not match {doc.name!r} at those positions: "
                            "nothing was stored; reload the page and select again")
    return doc, start, end


def apply_to_selection(s: Session, project: Project, member: Member, sel: BrowserSelection,
                       code_ids: list[str], *, document_id: str, provenance: str = "typed") -> list[Coding]:
    """Apply codes to what the user selected in the browser, after checking the
    selection belongs to ``document_id`` (see :func:`resolve_selection`)."""
    doc, start, end = resolve_selection(s, project, sel, document_id=document_id)
    return apply_codes(s, project, member, doc, code_ids, start, end, provenance=provenance)


def adjust_coding(s: Session, project: Project, member: Member, coding_id: str, sel: BrowserSelection) -> Coding:
    """Move a coding's boundaries to a new selection in the same document (shrink or extend)."""
    member, c = _own(s, project, member, coding_id)
    _, start, end = resolve_selection(s, project, sel, document_id=c.document_id)
    if (start, end) == (c.start, c.end):
        return c
    if s.scalar(select(Coding.id).where(
            Coding.document_id == c.document_id, Coding.coder_id == c.coder_id, Coding.code_id == c.code_id,
            Coding.layer == c.layer, Coding.start == start, Coding.end == end).limit(1)):
        raise ConflictError("you already coded exactly that text with this code: remove one of the two instead")
    log_event(s, project.id, member, "coding.adjust", "coding", c.id, before=[c.start, c.end], after=[start, end])
    c.start, c.end = start, end
    s.flush()
    return c


def recode(s: Session, project: Project, member: Member, coding_id: str, code_id: str) -> Coding:
    """Give a coding another code, keeping its span, memo and identity."""
    member, c = _own(s, project, member, coding_id)
    if code_id == c.code_id:
        return c
    chosen = _chosen_codes(s, project, [code_id]).get(code_id)
    if chosen is None:
        raise NotFoundError(f"code {code_id!r} is not in the codebook of {project.name!r}")
    path, codable = chosen
    if not codable:
        raise ConflictError(f"'{path}' is a folder, not a codable code: pick one of its children")
    if s.scalar(select(Coding.id).where(
            Coding.document_id == c.document_id, Coding.coder_id == c.coder_id, Coding.code_id == code_id,
            Coding.layer == c.layer, Coding.start == c.start, Coding.end == c.end).limit(1)):
        raise ConflictError(f"this text already has '{path}' from you: remove this coding instead")
    log_event(s, project.id, member, "coding.recode", "coding", c.id, before=c.code_id, after=code_id)
    c.code_id = code_id
    s.flush()
    return c


def remove_coding(s: Session, project: Project, member: Member, coding_id: str) -> None:
    member, c = _own(s, project, member, coding_id)
    log_event(s, project.id, member, "coding.remove", "coding", c.id, codings=[coding_dict(c)])
    s.delete(c)
    s.flush()


def set_memo(s: Session, project: Project, member: Member, coding_id: str, memo: str) -> None:
    member, c = _own(s, project, member, coding_id)
    if c.memo == memo:
        return
    log_event(s, project.id, member, "coding.memo", "coding", c.id, before=c.memo, after=memo)
    c.memo = memo


def widen(s: Session, project: Project, member: Member, coding_id: str, to: str) -> Coding:
    """Stretch a coding to the whole sentence(s) or speaker turn(s) it touches."""
    member, c = _own(s, project, member, coding_id)
    doc = s.get(Document, c.document_id)
    if to == "sentence":
        units = without_labels(ensure_sentences(s, doc), label_spans(doc))
    elif to == "turn":
        units = turn_spans(doc)
    else:
        raise CodingError(f"cannot widen to {to!r}: use 'sentence' or 'turn'")
    start, end = enclosing(units, c.start, c.end)
    piece = doc.text[start:end]  # trailing line breaks and spaces are not part of what was said
    start, end = start + (len(piece) - len(piece.lstrip())), start + len(piece.rstrip())
    start, end = min(start, c.start), max(end, c.end)
    if (start, end) != (c.start, c.end):
        log_event(s, project.id, member, "coding.widen", "coding", c.id,
                  before=[c.start, c.end], after=[start, end])
        c.start, c.end = start, end
        s.flush()
    return c


def code_turn(s: Session, project: Project, member: Member, document: Document, position: int,
              code_ids: list[str]) -> list[Coding]:
    """Code the words of one speaker turn (its label excluded) in one action."""
    require(s, member, Action.WRITE_OWN_CODINGS, project, document)
    turns = [t for t in document.turns if t.position == position]
    if not turns:
        raise NotFoundError(f"document {document.name!r} has no turn #{position}")
    t = turns[0]
    return apply_codes(s, project, member, document, code_ids, t.speech_start, t.end)


def _event(s: Session, event_id: str) -> Event | None:
    return s.scalar(select(Event).where(Event.id == str(event_id)))


def last_undoable(s: Session, project: Project, member: Member) -> Event | None:
    """The member's most recent coding action not yet undone (what Undo would revert)."""
    member = require(s, member, Action.READ_CODINGS, project)
    return s.scalar(select(Event).where(Event.project_id == project.id, Event.actor_id == member.id,
                                        Event.action.in_(UNDOABLE), Event.undone_by.is_(None))
                    .order_by(Event.seq.desc()).limit(1))


def last_redoable(s: Session, project: Project, member: Member) -> Event | None:
    """The member's most recent undo that Redo would re-apply: only while no new action
    (other than a redo) happened after it, as in any editor."""
    member = require(s, member, Action.READ_CODINGS, project)
    # Newest first, on the index (actor_id, seq): the first step that is an undo not yet
    # redone (the answer) or an action other than a redo (nothing to redo) decides; an undo
    # already redone and a redo are passed over. A page of rows nearly always suffices.
    q = (select(Event).where(Event.project_id == project.id, Event.actor_id == member.id,
                             or_(and_(Event.action == "undo", Event.undone_by.is_(None)), Event.action.in_(UNDOABLE)))
         .order_by(Event.seq.desc()).limit(_PAGE))
    before = None
    while True:
        page = s.scalars(q if before is None else q.where(Event.seq < before)).all()
        for ev in page:
            if ev.action == "undo":
                return ev
            if not json.loads(ev.payload).get("redo_of"):
                return None
        if len(page) < _PAGE:
            return None
        before = page[-1].seq


@dataclass(frozen=True)
class UndoResult:
    """What an undo or redo did: ``done`` is False when it was refused or not needed."""

    done: bool
    action: str
    message: str


ACTION_LABELS = {"coding.add": "applying a code", "coding.remove": "removing a coding", "coding.memo": "a memo edit",
           "coding.widen": "widening a coding", "coding.adjust": "changing a coding's boundaries",
           "coding.recode": "changing a coding's code"}


def _restorable(s: Session, project: Project, d: dict) -> str | None:
    """Why coding row ``d`` cannot be put back now, or None."""
    code = s.get(Code, d["code_id"])
    if code is None or code.project_id != project.id:
        return "its code was deleted or merged into another code since"
    if not code.codable:
        return f"its code {code.name!r} became a folder since"
    if s.get(Document, d["document_id"]) is None:
        return "its document was deleted since"
    if s.scalar(select(Coding.id).where(
            Coding.document_id == d["document_id"], Coding.coder_id == d["coder_id"], Coding.code_id == d["code_id"],
            Coding.layer == d["layer"], Coding.start == d["start"], Coding.end == d["end"]).limit(1)):
        return "the same coding exists again"
    return None


def _revert(s: Session, project: Project, action: str, object_id: str | None, p: dict) -> str | None:
    """Revert one action's effect; returns why it cannot be reverted (nothing changed then)."""
    if action == "coding.add":
        rows = [s.get(Coding, d["id"]) for d in p["codings"]]
        if all(c is None for c in rows):
            return "the coding no longer exists"
        for d, c in zip(p["codings"], rows, strict=True):
            if c is not None and (c.code_id, c.start, c.end) != (d["code_id"], d["start"], d["end"]):
                return "the coding was changed since"
        for c in rows:
            if c is not None:
                s.delete(c)
        return None
    if action == "coding.remove":
        todo = [d for d in p["codings"] if s.get(Coding, d["id"]) is None]
        for d in todo:
            why = _restorable(s, project, d)
            if why:
                return why
        for d in todo:
            s.add(Coding(**{k: v for k, v in d.items() if k in _FIELDS}))
        return None
    c = s.get(Coding, object_id)
    if c is None:
        return "the coding was removed since"
    if action == "coding.memo":
        if c.memo != p["after"]:
            return "the memo was edited since"
        c.memo = p["before"]
    elif action in ("coding.widen", "coding.adjust"):
        if [c.start, c.end] != list(p["after"]):
            return "the coding's boundaries changed since"
        c.start, c.end = p["before"]
    elif action == "coding.recode":
        if c.code_id != p["after"]:
            return "the coding's code changed since"
        why = _restorable(s, project, {**coding_dict(c), "code_id": p["before"]})
        if why:
            return why.replace("its code", "the old code")
        c.code_id = p["before"]
    return None


def _inverse(action: str, p: dict) -> tuple[str, dict]:
    """The action (and payload) that re-does what ``action`` did, used by redo."""
    if action in ("coding.add", "coding.remove"):
        return action, {"codings": p["codings"]}
    return action, {"before": p["before"], "after": p["after"]}


def undo(s: Session, project: Project, member: Member, event_id: str) -> UndoResult:
    """Undo the event the user saw as "last" (named by id, so a repeated key press or a
    stale page never undoes a second action). An event already undone is left alone.
    When its target changed since (merged code, folder, deleted document...), nothing is
    changed, the refusal is logged and the event is skipped so undo can go on past it."""
    ev = _event(s, event_id)
    member = require(s, member, Action.WRITE_OWN_CODINGS, project)
    if ev is None or ev.project_id != project.id or ev.actor_id != member.id or ev.action not in UNDOABLE:
        raise NotFoundError("there is no such action of yours to undo: reload the page")
    what = ACTION_LABELS.get(ev.action, ev.action)
    if ev.undone_by is not None:
        return UndoResult(False, ev.action, f"{what} was already undone")
    latest = last_undoable(s, project, member)
    if latest is not None and latest.id != ev.id:
        # The page showed an older state: never undo something other than what the user saw last.
        return UndoResult(False, ev.action, "Nothing undone: you did something since this page was drawn "
                                            "(another tab, or keys faster than the page); press Undo again")
    return _revert_step(s, project, member, ev, what)


def _revert_step(s: Session, project: Project, member: Member, ev: Event, what: str) -> UndoResult:
    """Revert the checked step ``ev`` of ``member`` (reloaded by the caller) and log it."""
    why = _revert(s, project, ev.action, ev.object_id, json.loads(ev.payload))
    if why:
        skip = log_event(s, project.id, member, "undo.refused", ev.object_type, ev.object_id,
                         refused=ev.id, refused_action=ev.action, reason=why)
        ev.undone_by = skip.id
        return UndoResult(False, ev.action, f"Cannot undo {what}: {why}. Nothing was changed; "
                                            "that step is skipped, so the next Undo goes further back")
    s.flush()
    done = log_event(s, project.id, member, "undo", ev.object_type, ev.object_id, undid=ev.id, undid_action=ev.action)
    ev.undone_by = done.id
    return UndoResult(True, ev.action, f"Undid {what}")


def redo(s: Session, project: Project, member: Member, undo_event_id: str) -> UndoResult:
    """Re-apply what the undo event ``undo_event_id`` reverted (once)."""
    u = _event(s, undo_event_id)
    member = require(s, member, Action.WRITE_OWN_CODINGS, project)
    if u is None or u.project_id != project.id or u.actor_id != member.id or u.action != "undo":
        raise NotFoundError("there is no such undo of yours to redo: reload the page")
    p = json.loads(u.payload)
    orig = _event(s, p["undid"])
    what = ACTION_LABELS.get(orig.action, orig.action)
    if u.undone_by is not None:
        return UndoResult(False, orig.action, f"{what} was already redone")
    action, payload = _inverse(orig.action, json.loads(orig.payload))
    # Redo = undoing the undo: the reverse of the reverse, with the same checks.
    flipped = dict(payload)
    if action == "coding.add":
        why = _revert(s, project, "coding.remove", orig.object_id, flipped)
    elif action == "coding.remove":
        why = _revert(s, project, "coding.add", orig.object_id, flipped)
    else:
        why = _revert(s, project, action, orig.object_id, {"before": payload["after"], "after": payload["before"]})
    if why:
        return UndoResult(False, orig.action, f"Cannot redo {what}: {why}. Nothing was changed")
    s.flush()
    again = log_event(s, project.id, member, orig.action, orig.object_type, orig.object_id,
                      redo_of=orig.id, **payload)
    u.undone_by = again.id
    return UndoResult(True, orig.action, f"Redid {what}")


def undo_last(s: Session, project: Project, member: Member) -> str | None:
    """Undo the member's most recent coding action; returns its action, or None if
    there was nothing to undo or it was refused (see :func:`undo`)."""
    ev = last_undoable(s, project, member)
    if ev is None:
        return None
    r = undo(s, project, member, ev.id)
    return r.action if r.done else None


def recent_code_ids(s: Session, project: Project, member: Member, *, limit: int = 9) -> list[str]:
    """Codes the member applied most recently (for the panel and keys 1-9)."""
    member = require(s, member, Action.READ_CODINGS, project)
    rows = s.scalars(select(Coding.code_id).where(Coding.project_id == project.id, Coding.coder_id == member.id)
                     .order_by(Coding.created_at.desc()).limit(200))
    return list(dict.fromkeys(rows))[:limit]
