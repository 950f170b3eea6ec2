"""The history of codebook edits (``code.*`` events), as a member may see it."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from coding.codebook.restructure import _delete_summary, _merge_summary
from coding.team.access import Action, require
from coding.team.members import Member
from coding.store.models import Event, Project


def codebook_changes(s: Session, project: Project, member: Member, *, limit: int = 50) -> list[dict[str, Any]]:
    """The most recent codebook edits (``code.*`` events) ``member`` may see, newest first:
    when, who, action, what. Under the rule of :mod:`coding.team.visibility`: no event about a
    code another coder proposed (until a lead accepts it), and counts of codings in a
    merge or delete summary are of the codings ``member`` may see."""
    from coding.team.events import newest_first
    from coding.team.visibility import hidden_proposals, sees_code_event, visibility

    m = require(s, member, Action.READ_PROJECT, project)
    vis = visibility(s, m)
    hidden = hidden_proposals(s, vis)
    query = select(Event).where(Event.project_id == m.project_id, Event.action.like("code.%"))
    out = []
    for e in newest_first(s, query, limit):
        try:
            payload = json.loads(e.payload or "{}")
        except ValueError:
            payload = {}
        if not sees_code_event(hidden, e.seq, e.object_id, payload):
            continue
        out.append({"when": e.at, "who": e.actor, "action": e.action, "what": _summary_for(vis, e.action, payload)})
        if len(out) >= limit:
            break
    return out


def _summary_for(vis, action: str, payload: dict[str, Any]) -> str:
    """An event's summary, its coding counts redone with only the codings ``vis`` sees
    (a coder in an open blind round must not count the other coder's codings)."""
    summary = payload.get("summary", "")
    if not vis.restricted:
        return summary
    before = payload.get("before") or {}
    try:
        if action == "code.merge":
            return _merge_summary(before["source"]["path"], before["target"]["path"],
                                  vis.count_rows(payload.get("codings") or []),
                                  vis.count_rows(payload.get("dropped") or []))
        if action == "code.delete":
            return _delete_summary(before["codes"][0]["path"], len(before["codes"]),
                                   vis.count_rows(before.get("codings") or []))
    except (KeyError, IndexError, TypeError):
        return action  # an old or odd payload: say what happened, count nothing
    return summary
