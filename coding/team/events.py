"""The append-only event log: every change records who, what and when.

Each kind of event has one definition in :data:`EVENT_KINDS`: its name, the
object it is about, the payload fields it may carry, how it is undone (if at
all), and whether its payload holds a member's work (coded spans, memo text),
which the blind rule hides from other coders. :func:`log_event` refuses a kind
or a payload field that is not defined here, so the log stays readable by
audit and undo. The actor is stored as a member id (``actor_id``) and, for
display, by name.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from coding.errors import CodingError
from coding.store.models import Coder, Event


@dataclass(frozen=True)
class EventKind:
    """One kind of event.

    ``undo``: how undo reverts it (None: not undoable one by one). ``private``: the
    payload holds a member's work, hidden from other coders by the blind rule.
    """

    name: str
    object_type: str
    fields: frozenset[str]
    undo: str | None = None
    private: bool = False


def _kind(name: str, object_type: str, fields: str = "", *, undo: str | None = None,
          private: bool = False) -> EventKind:
    return EventKind(name, object_type, frozenset(fields.split()), undo, private)


# Codebook changes share one payload shape (codebook_edit._log adds summary and version).
_CODE_FIELDS = ("summary codebook_version before after fields moved_coding_ids dropped children_moved "
                "codings_on_parent codings codes")

EVENT_KINDS: dict[str, EventKind] = {k.name: k for k in (
    _kind("project.create", "project", "name"),
    _kind("project.local_mode", "project", "name local_mode"),
    _kind("project.attribution", "project", "before after"),  # the attribution template of exports
    _kind("member.add", "coder", "name role"),
    _kind("member.remove", "coder", "name role"),
    _kind("member.role", "coder", "name before after"),
    _kind("member.password", "coder", "name reset"),
    _kind("session.revoke", "coder", "name sessions"),
    _kind("document.import", "document", "name file encoding sha256 characters replaced warnings"),
    _kind("document.delete", "document",  # holds every coder's codings and memos: private
          "name sha256 file text codings memos adjudications assignments attributes turns sentences set_members",
          private=True),
    _kind("attributes.import", "project", "file values"),
    _kind("codebook.import", "project", "created updated codes file before after"),
    # one per REFI-QDA import (its documents, codes and memos log their own events as well);
    # not undoable: the imported codings log no coding.add, so no member's undo reaches them
    _kind("interchange.import", "project",
          "file kind origin positions documents codes codings consensus coders memos code_notes sets attributes "
          "skipped warnings problems"),
    *(_kind(f"code.{op}", "code", _CODE_FIELDS)
      for op in ("add", "rename", "edit", "move", "split", "propose", "accept", "reject")),
    # merge and delete record the codings they moved or deleted (every coder's): private
    *(_kind(f"code.{op}", "code", _CODE_FIELDS, private=True) for op in ("merge", "delete")),
    _kind("coding.add", "document", "codings redo_of",
          undo="delete the codings it added", private=True),
    _kind("coding.remove", "coding", "codings redo_of",
          undo="restore the codings it removed", private=True),
    _kind("coding.memo", "coding", "before after redo_of",
          undo="put the memo back to 'before'", private=True),
    _kind("coding.widen", "coding", "before after redo_of",
          undo="put the span back to 'before'", private=True),
    _kind("coding.adjust", "coding", "before after redo_of",
          undo="put the span back to 'before'", private=True),
    _kind("coding.recode", "coding", "before after redo_of",
          undo="put the code back to 'before'", private=True),
    _kind("coding.dedupe", "coding", "kept removed", private=True),
    _kind("consensus.add", "document", "codings", private=True),
    _kind("undo", "*", "undid undid_action"),
    _kind("undo.refused", "*", "refused refused_action reason"),
    _kind("suggestion.accept", "document", "codings suggestion model", private=True),
    _kind("suggestion.reject", "document", "suggestion model code_id start end", private=True),
    _kind("suggestion.dismiss", "project", "label unit", private=True),
    _kind("round.open", "round", "name blind"),
    _kind("round.assign", "round", "documents coders"),
    _kind("round.reveal", "round", "name"),
    _kind("assignment.status", "document", "status"),
    _kind("adjudication.decide", "document",
          "adjudication code_id region decision reason coders spans replaced added kept_outside", private=True),
    _kind("agreement.snapshot", "snapshot", "label unit coders codebook_version"),
    _kind("memo.document", "memo", "document before after", private=True),
    _kind("memo.journal.add", "memo", "title text"),
    _kind("memo.journal.edit", "memo", "before after"),
)}


def undoable_kinds() -> tuple[str, ...]:
    """The kinds a member's undo may revert, as defined above."""
    return tuple(k.name for k in EVENT_KINDS.values() if k.undo)


def _actor(s: Session, project_id: str, actor: Any) -> tuple[str, str | None]:
    """(display name, member id) of an actor given as a Member, a Coder, an id-bearing
    object or, during the transition, a name ("system" and unknown names get no id)."""
    if isinstance(actor, str):
        actor_id = s.scalar(select(Coder.id).where(Coder.project_id == project_id, Coder.name == actor))
        return actor, actor_id
    if actor is None:
        return "system", None
    return actor.name, actor.id


def log_event(
    s: Session,
    project_id: str,
    actor: Any,
    action: str,
    object_type: str,
    object_id: str | None = None,
    **payload: Any,
) -> Event:
    """Append one event of a kind defined in :data:`EVENT_KINDS`; ``actor`` is the acting
    Member (a name is still accepted); ``payload`` holds what undo and audit need."""
    kind = EVENT_KINDS.get(action)
    if kind is None:
        raise CodingError(f"event kind {action!r} is not defined: add it to EVENT_KINDS in coding/team/events.py")
    unknown = set(payload) - kind.fields
    if unknown:
        raise CodingError(f"event {action!r} has no field(s) {', '.join(sorted(unknown))}: "
                          "define them in EVENT_KINDS in coding/team/events.py")
    name, actor_id = _actor(s, project_id, actor)
    ev = Event(
        project_id=project_id,
        actor=name,
        actor_id=actor_id,
        action=action,
        object_type=object_type,
        object_id=object_id,
        payload=json.dumps(payload, default=str, ensure_ascii=False, sort_keys=True),
    )
    s.add(ev)
    s.flush()
    return ev


@dataclass(frozen=True)
class EventView:
    """An event as a member may see it; ``payload`` is None when the blind rule hides it."""

    seq: int
    id: str
    at: datetime
    actor: str
    actor_id: str | None
    action: str
    object_type: str
    object_id: str | None
    payload: dict | None
    undone_by: str | None

    @property
    def redacted(self) -> bool:
        return self.payload is None


def list_events(s: Session, project, member, *, limit: int = 200) -> list[EventView]:
    """The project's events ``member`` may see, most recent first.

    A lead sees every event. A coder, while a blind round is open, sees only their
    own events; otherwise everyone's, but never the payload (spans, memo text) of
    another member's work, nor any event about a code another coder proposed that
    no lead has accepted yet."""
    # access imports projects, which imports this module: import at call time
    from coding.team.access import Action, require
    from coding.team.visibility import hidden_proposals, sees_code_event, visibility

    m = require(s, member, Action.READ_EVENTS, project)
    vis = visibility(s, m)
    hidden = hidden_proposals(s, vis)
    q = select(Event).where(Event.project_id == m.project_id)
    if vis.restricted:
        q = q.where(Event.actor_id == m.id)
    out = []
    for ev in newest_first(s, q, limit):
        payload = json.loads(ev.payload or "{}")
        if ev.action.startswith("code.") and not sees_code_event(hidden, ev.seq, ev.object_id, payload):
            continue
        kind = EVENT_KINDS.get(ev.action)
        hide = not m.is_lead and ev.actor_id != m.id and (kind is None or kind.private)
        out.append(EventView(ev.seq, ev.id, ev.at, ev.actor, ev.actor_id, ev.action, ev.object_type, ev.object_id,
                             None if hide else payload, ev.undone_by))
        if len(out) >= limit:
            break
    return out


def newest_first(s: Session, query, limit: int):
    """The events of ``query`` (a ``select(Event)``), most recent first, read in batches, so
    a caller that drops some (the blind rule) can still fill ``limit`` rows."""
    last = None
    batch = max(limit, 50)
    while True:
        q = query if last is None else query.where(Event.seq < last)
        rows = list(s.scalars(q.order_by(Event.seq.desc()).limit(batch)))
        yield from rows
        if len(rows) < batch:
            return
        last = rows[-1].seq
