"""Agreement snapshots: a saved computation per round of codebook revision, and the trend.

A snapshot stores the whole report (``Report.as_dict()``) as JSON together with
its unit, coders and the codebook version it was computed under, so later
rounds can be compared with earlier ones even after the codebook changed.

A lead saves snapshots. Figures are computed from every coder's work, so a coder
reads a snapshot only when the blind rule would show them all of it: none of
its documents, and not its round, is hidden by an open blind round.
"""

from __future__ import annotations

import json

from sqlalchemy import select
from sqlalchemy.orm import Session

from coding.team.access import Action, require
from coding.agreement.project import Report
from coding.errors import CodingError, NotFoundError, PermissionDeniedError
from coding.team.events import log_event
from coding.team.members import Member
from coding.store.models import AgreementSnapshot, Document, Project, Round
from coding.team.visibility import Visibility, visibility

OVERALL = "(all codes)"


def save_snapshot(s: Session, project: Project, member: Member, report: Report, *, label: str = "",
                  round_id: str | None = None) -> AgreementSnapshot:
    """Store ``report`` as a snapshot (lead only)."""
    member = require(s, member, Action.SAVE_SNAPSHOT, project)
    label = (label or "").strip()
    if len(label) > 200:
        raise CodingError(f"snapshot label {label[:30]!r}... is over 200 characters: shorten it")
    if round_id is not None:
        rnd = s.get(Round, round_id)
        if rnd is None or rnd.project_id != project.id:
            raise NotFoundError(f"no round {round_id!r} in {project.name!r}: pick one of the project's rounds")
    snap = AgreementSnapshot(
        project_id=project.id, round_id=round_id, label=label, unit=report.unit,
        coders=json.dumps(list(report.coders), ensure_ascii=False), codebook_version=report.codebook_version,
        results=json.dumps(report.as_dict(), ensure_ascii=False, sort_keys=True), created_by=member.name)
    s.add(snap)
    s.flush()
    log_event(s, project.id, member, "agreement.snapshot", "snapshot", snap.id, label=label,
              unit=report.unit, coders=list(report.coders), codebook_version=report.codebook_version)
    return snap


def _readable(s: Session, vis: Visibility, snap: AgreementSnapshot) -> bool:
    """The blind rule for a snapshot: its round and every document it covers visible in full."""
    if not vis.restricted:
        return True
    rnd = s.get(Round, snap.round_id) if snap.round_id else None
    if rnd is not None and rnd.status == "open" and rnd.blind:
        return False
    names = json.loads(snap.results).get("options", {}).get("documents")
    if names is None:  # cannot tell which documents it covers: keep it from a coder while restricted
        return False
    hidden = set(s.scalars(select(Document.name).where(Document.project_id == snap.project_id,
                                                       Document.id.in_(sorted(vis.blind)))))
    return not set(names) & hidden


def _snapshots(s: Session, project: Project, member: Member) -> list[AgreementSnapshot]:
    """The project's snapshots ``member`` may read, oldest first."""
    m = require(s, member, Action.READ_SNAPSHOTS, project)
    vis = visibility(s, m)
    snaps = s.scalars(select(AgreementSnapshot).where(AgreementSnapshot.project_id == project.id)
                      .order_by(AgreementSnapshot.created_at))
    return [x for x in snaps if _readable(s, vis, x)]


def _overall(results: dict) -> dict:
    return next((r for r in results.get("codes", []) if r.get("code") == OVERALL), {})


def _title(snap: AgreementSnapshot) -> str:
    return snap.label or f"{snap.created_at:%Y-%m-%d %H:%M}"


def list_snapshots(s: Session, project: Project, member: Member) -> list[dict]:
    """Every snapshot ``member`` may read, oldest first, with its overall figures."""
    snaps = _snapshots(s, project, member)
    rounds = dict(s.execute(select(Round.id, Round.name).where(Round.project_id == project.id)).all())
    out = []
    for snap in snaps:
        overall = _overall(json.loads(snap.results))
        out.append({"id": snap.id, "label": _title(snap), "created_at": snap.created_at,
                    "created_by": snap.created_by, "unit": snap.unit, "coders": json.loads(snap.coders),
                    "codebook_version": snap.codebook_version, "round": rounds.get(snap.round_id),
                    "alpha": overall.get("alpha"), "kappa": overall.get("kappa"),
                    "percent": overall.get("percent")})
    return out


def get_snapshot(s: Session, project: Project, member: Member, snapshot_id: str) -> dict:
    """The stored report (``Report.as_dict()`` form) of one snapshot."""
    m = require(s, member, Action.READ_SNAPSHOTS, project)
    snap = s.get(AgreementSnapshot, snapshot_id)
    if snap is None or snap.project_id != project.id:
        raise NotFoundError(f"no agreement snapshot {snapshot_id!r} in {project.name!r}")
    if not _readable(s, visibility(s, m), snap):
        raise PermissionDeniedError(
            f"snapshot {_title(snap)!r} covers documents of an open blind round: {m.name!r} can read it "
            "once a lead reveals the round")
    return json.loads(snap.results)


def trend(s: Session, project: Project, member: Member, unit: str | None = None) -> list[dict]:
    """One row per snapshot and code (the overall row included), oldest snapshot first:
    how agreement moved across rounds of codebook revision."""
    out = []
    for i, snap in enumerate(x for x in _snapshots(s, project, member) if unit is None or x.unit == unit):
        for row in json.loads(snap.results).get("codes", []):
            out.append({"order": i + 1, "snapshot_id": snap.id, "snapshot": _title(snap),
                        "created_at": snap.created_at, "codebook_version": snap.codebook_version,
                        "unit": snap.unit, "code": row.get("code"), "alpha": row.get("alpha"),
                        "kappa": row.get("kappa"), "percent": row.get("percent"),
                        "n_coded": row.get("n_coded")})
    return out
