"""The codebook's history for a methods section: every edit in order with the role of the
member who made it (the role they held then), the codebook version each round opened with
and each agreement snapshot was computed under, and what changed between two rounds
(definitions side by side). Read from the event log under the blind rule of
:mod:`coding.team.visibility` (no event about another coder's unaccepted proposal)."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from coding.errors import NotFoundError
from coding.team.access import Action, require
from coding.team.members import Member
from coding.store.models import Event, Project, Round

TEXT_FIELDS = ("definition", "inclusion", "exclusion", "example")
KINDS = {"code.add": "created", "code.rename": "renamed", "code.move": "moved", "code.merge": "merged",
         "code.split": "split", "code.delete": "deleted", "code.propose": "proposed by a coder",
         "code.accept": "proposal accepted", "code.reject": "proposal rejected", "codebook.import": "codebook imported"}


def _payload(e: Event) -> dict[str, Any]:
    try:
        p = json.loads(e.payload or "{}")
    except ValueError:
        return {}
    return p if isinstance(p, dict) else {}


def _kind(action: str, payload: dict[str, Any]) -> str:
    if action == "code.edit":
        fields = set(payload.get("fields") or ())
        if "definition" in fields:
            return "definition changed"
        what = "criteria changed" if fields & set(TEXT_FIELDS) else "edited"
        return f"{what} ({', '.join(sorted(fields))})"
    return KINDS.get(action, action)


def _code_of(payload: dict[str, Any]) -> str:
    for side in ("after", "before"):
        part = payload.get(side)
        if isinstance(part, dict):
            if part.get("path"):
                return part["path"]
            target = part.get("target")
            if isinstance(target, dict) and target.get("path"):
                return target["path"]
        if isinstance(part, list) and part and isinstance(part[0], dict):
            return ", ".join(x.get("path", "") for x in part)
    return ""


def _events(s: Session, project: Project, member: Member) -> list[tuple[Event, dict[str, Any]]]:
    """Codebook, member and round events ``member`` may see, oldest first."""
    from coding.team.visibility import hidden_proposals, sees_code_event, visibility

    m = require(s, member, Action.READ_PROJECT, project)
    hidden = hidden_proposals(s, visibility(s, m))
    rows = s.scalars(select(Event).where(Event.project_id == project.id, Event.undone_by.is_(None))
                     .where(Event.action.like("code.%") | Event.action.in_(
                         ("codebook.import", "member.add", "member.role", "round.open", "agreement.snapshot")))
                     .order_by(Event.seq))
    out = []
    for e in rows:
        p = _payload(e)
        if e.action.startswith("code.") and not sees_code_event(hidden, e.seq, e.object_id, p):
            continue
        out.append((e, p))
    return out


def codebook_timeline(s: Session, project: Project, member: Member) -> list[dict[str, Any]]:
    """Every codebook edit ``member`` may see, oldest first: when, what kind (created, renamed,
    merged, split, moved, definition changed...), the code, the summary, the codebook version
    after it, and the role of the member who made it, as it was then."""
    roles: dict[str, str] = {}
    out = []
    for e, p in _events(s, project, member):
        if e.action == "member.add":
            roles[e.object_id] = p.get("role", "coder")
        elif e.action == "member.role":
            roles[e.object_id] = p.get("after", roles.get(e.object_id, ""))
        elif e.action.startswith("code.") or e.action == "codebook.import":
            out.append({"seq": e.seq, "when": e.at, "kind": _kind(e.action, p), "action": e.action,
                        "code": _code_of(p), "summary": p.get("summary", "") or e.action,
                        "version": p.get("codebook_version"), "role": roles.get(e.actor_id or "", "lead"),
                        "who": e.actor})
    return out


def rounds_and_versions(s: Session, project: Project, member: Member) -> list[dict[str, Any]]:
    """Each round in the order opened: blind or not, open or revealed, the codebook version it
    opened with, the codebook edits made while it was the latest round, and the agreement
    snapshots saved for it with the version each was computed under."""
    from coding.work.snapshots import list_snapshots

    m = require(s, member, Action.READ_PROJECT, project)
    snaps = list_snapshots(s, project, m)
    rounds = list(s.scalars(select(Round).where(Round.project_id == project.id).order_by(Round.opened_at)))
    return [{"round": r.name, "blind": r.blind, "status": r.status, "opened_at": r.opened_at,
             "codebook_version": r.codebook_version,
             "snapshots": [{"label": x["label"], "codebook_version": x["codebook_version"], "unit": x["unit"],
                            "alpha": x["alpha"], "kappa": x["kappa"]} for x in snaps if x["round"] == r.name]}
            for r in rounds]


def changes_between_rounds(s: Session, project: Project, member: Member, first: str,
                           second: str) -> list[dict[str, Any]]:
    """The codebook edits made after round ``first`` opened and before round ``second`` opened,
    one row per code: what happened to it, and its definition, inclusion, exclusion and example
    before and after, side by side (for the appendix)."""
    events = _events(s, project, member)
    opened = {e.object_id: e.seq for e, _ in events if e.action == "round.open"}
    names = dict(s.execute(select(Round.name, Round.id).where(Round.project_id == project.id)).all())
    for n in (first, second):
        if n not in names:
            raise NotFoundError(f"no round named {n!r} in {project.name!r}: give the names of two rounds")
    lo, hi = opened.get(names[first], 0), opened.get(names[second], 1 << 62)
    by_code: dict[str, dict[str, Any]] = {}
    for e, p in events:
        if not (lo < e.seq < hi) or not e.action.startswith("code."):
            continue
        key = e.object_id or _code_of(p)
        row = by_code.setdefault(key, {"code": _code_of(p), "changes": [], "before": None, "after": None})
        row["changes"].append(_kind(e.action, p))
        before, after = p.get("before"), p.get("after")
        if row["before"] is None and isinstance(before, dict) and "definition" in before:
            row["before"] = {f: before.get(f, "") for f in TEXT_FIELDS}
        if isinstance(after, dict) and "definition" in after:
            row["after"] = {f: after.get(f, "") for f in TEXT_FIELDS}
            row["code"] = after.get("path", row["code"])
        elif e.action == "code.delete":
            row["after"] = None
    empty = dict.fromkeys(TEXT_FIELDS, "")
    return [{"code": r["code"], "changes": "; ".join(dict.fromkeys(r["changes"])),
             **{f"{f}_before": (r["before"] or empty)[f] for f in TEXT_FIELDS},
             **{f"{f}_after": (r["after"] or empty)[f] for f in TEXT_FIELDS}} for r in by_code.values()]
