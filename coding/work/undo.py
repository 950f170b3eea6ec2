"""Undo and redo on one document, naming what they act on.

The coding page undoes the member's last action *on the document shown*, never one made
on another document (a coder on Docker_02 pressing Ctrl+Z must not remove a coding on
Docker_01), and says what it undid: the code and the quoted text. The reverting itself
is :mod:`coding.work.codings`' (same checks, same events); only the choice of the step
and its description live here.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from coding.errors import NotFoundError
from coding.store.models import Code, Coding, Document, Event, Project
from coding.team.access import Action, require
from coding.team.members import Member
from coding.work.codings import ACTION_LABELS, UNDOABLE, UndoResult, _revert_step, redo

SCAN = 300       # events looked at, newest first, to find the last step on a document
QUOTE = 60       # characters of the coded text quoted in a description


@dataclass(frozen=True)
class Step:
    """An action Undo (or Redo) would act on: the event to name, and what it did."""

    event_id: str
    action: str
    label: str   # e.g. 'applying Containerisation to “Containers came in 1978”'


def _spans(s: Session, ev: Event, coding: Coding | None) -> tuple[str | None, list[tuple[str, int, int]]]:
    """The document and the (code, start, end) spans an event touched."""
    p = json.loads(ev.payload or "{}")
    if ev.action in ("coding.add", "coding.remove"):
        rows = p.get("codings") or []
        return (rows[0]["document_id"] if rows else None), [(r["code_id"], r["start"], r["end"]) for r in rows]
    if coding is None:
        return None, []
    if ev.action in ("coding.widen", "coding.adjust"):
        a, b = p.get("after") or (coding.start, coding.end)
        return coding.document_id, [(coding.code_id, a, b)]
    return coding.document_id, [(coding.code_id, coding.start, coding.end)]


def _quote(text: str) -> str:
    text = " ".join(text.split())
    return f"“{text if len(text) <= QUOTE else text[:QUOTE - 1] + '…'}”"


def _describe(s: Session, ev: Event, spans: list[tuple[str, int, int]], doc: Document | None) -> str:
    what = ACTION_LABELS.get(ev.action, ev.action)
    if not spans or doc is None:
        return what
    names = ", ".join(dict.fromkeys((s.get(Code, c).name if s.get(Code, c) else "a deleted code") for c, _, _ in spans))
    _, a, b = spans[0]
    quote = _quote(doc.text[a:b])
    p = json.loads(ev.payload or "{}")
    if ev.action == "coding.add":
        return f"applying {names} to {quote}"
    if ev.action == "coding.remove":
        return f"removing {names} from {quote}"
    if ev.action == "coding.memo":
        return f"the memo on {names} at {quote}"
    if ev.action == "coding.widen":
        return f"widening {names} to {quote}"
    if ev.action == "coding.adjust":
        return f"moving {names} to {quote}"
    if ev.action == "coding.recode":
        old, new = (s.get(Code, p.get(k)) for k in ("before", "after"))
        return f"changing {quote} from {old.name if old else '?'} to {new.name if new else '?'}"
    return what


def _events(s: Session, project: Project, member: Member, kinds: tuple[str, ...]) -> list[Event]:
    return list(s.scalars(select(Event).where(Event.project_id == project.id, Event.actor_id == member.id,
                                              Event.action.in_(kinds)).order_by(Event.seq.desc()).limit(SCAN)))


def _codings(s: Session, events: list[Event]) -> dict[str, Coding]:
    ids = {e.object_id for e in events if e.object_id and e.action not in ("coding.add", "coding.remove")}
    return {c.id: c for c in s.scalars(select(Coding).where(Coding.id.in_(ids)))} if ids else {}


def _step(s: Session, ev: Event, codings: dict[str, Coding], document_id: str) -> Step | None:
    doc_id, spans = _spans(s, ev, codings.get(ev.object_id or ""))
    if doc_id != document_id:
        return None
    return Step(ev.id, ev.action, _describe(s, ev, spans, s.get(Document, doc_id)))


def last_undoable_here(s: Session, project: Project, member: Member, document_id: str) -> Step | None:
    """The member's most recent coding action on ``document_id`` not yet undone."""
    member = require(s, member, Action.READ_CODINGS, project)
    events = [e for e in _events(s, project, member, UNDOABLE) if e.undone_by is None]
    codings = _codings(s, events)
    for ev in events:
        step = _step(s, ev, codings, document_id)
        if step is not None:
            return step
    return None


def last_redoable_here(s: Session, project: Project, member: Member, document_id: str) -> Step | None:
    """The member's most recent undo on ``document_id`` that Redo would re-apply: only while
    no new action (other than a redo) was made on that document after it. The step's
    ``event_id`` is the undo event (what :func:`coding.work.codings.redo` takes); its label
    names the action it would re-apply."""
    member = require(s, member, Action.READ_CODINGS, project)
    events = _events(s, project, member, (*UNDOABLE, "undo"))
    undid = {json.loads(e.payload or "{}").get("undid") for e in events if e.action == "undo"}
    originals = {e.id: e for e in s.scalars(select(Event).where(Event.id.in_(undid - {None})))} if undid else {}
    codings = _codings(s, [*events, *originals.values()])
    for ev in events:
        orig = originals.get(json.loads(ev.payload or "{}").get("undid")) if ev.action == "undo" else ev
        if orig is None:
            continue
        step = _step(s, orig, codings, document_id)
        if step is None:
            continue    # another document's step
        if ev.action == "undo":
            if ev.undone_by is None:
                return Step(ev.id, orig.action, step.label)
            continue
        if json.loads(ev.payload or "{}").get("redo_of"):
            continue
        return None
    return None


def undo_here(s: Session, project: Project, member: Member, document_id: str, event_id: str) -> UndoResult:
    """Undo the event the page named as the last step on ``document_id`` (by id, so a
    repeated key press or a stale page never undoes a second step). Refused, changing
    nothing, when it is not that document's last step any more or belongs to another
    document; the message names the code and the text."""
    member = require(s, member, Action.WRITE_OWN_CODINGS, project)
    ev = s.scalar(select(Event).where(Event.id == str(event_id)))
    if ev is None or ev.project_id != project.id or ev.actor_id != member.id or ev.action not in UNDOABLE:
        raise NotFoundError("there is no such action of yours to undo: reload the page")
    step = _step(s, ev, _codings(s, [ev]), document_id)
    what = step.label if step else ACTION_LABELS.get(ev.action, ev.action)
    if ev.undone_by is not None:
        return UndoResult(False, ev.action, f"Nothing undone: {what} was already undone")
    latest = last_undoable_here(s, project, member, document_id)
    if step is None or latest is None or latest.event_id != ev.id:
        return UndoResult(False, ev.action, "Nothing undone: you did something on this document since the "
                                            "page was drawn (another tab, or keys faster than the page); "
                                            "press Undo again")
    return _revert_step(s, project, member, ev, what)


def redo_here(s: Session, project: Project, member: Member, document_id: str, undo_event_id: str) -> UndoResult:
    """Redo the undo ``undo_event_id`` (named by the page for ``document_id``); the message
    names the code and the text."""
    member = require(s, member, Action.WRITE_OWN_CODINGS, project)
    step = last_redoable_here(s, project, member, document_id)
    if step is None or step.event_id != str(undo_event_id):
        return UndoResult(False, "undo", "Nothing redone: you did something on this document since the page "
                                         "was drawn; press Redo again")
    r = redo(s, project, member, undo_event_id)
    return UndoResult(r.done, r.action, f"Redid {step.label}" if r.done else r.message)
