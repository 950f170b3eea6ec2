"""Coding rounds, assignments and progress.

While a round is open and blind, a coder sees only their own work on its
documents; the lead sees everyone's. Revealing the round lifts the rule for its
documents. The rule itself lives in :mod:`coding.team.visibility`; who may open,
assign and reveal (a lead of this project) in :mod:`coding.team.access`.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from coding.team.access import Action, load, require
from coding.errors import ConflictError, NotFoundError
from coding.team.events import log_event
from coding.team.members import Member
from coding.store.models import Assignment, Coder, Document, Project, Round
from coding.team.visibility import blind_document_ids as _blind_ids

STATUSES = ("not started", "in progress", "done")


def open_round(s: Session, project: Project, member: Member, name: str, *, blind: bool = True) -> Round:
    m = require(s, member, Action.MANAGE_ROUNDS, project)
    if s.scalar(select(Round.id).where(Round.project_id == project.id, Round.name == name)):
        raise ConflictError(f"a round named {name!r} already exists; pick another name")
    r = Round(project_id=project.id, name=name, blind=blind, codebook_version=project.codebook_version)
    s.add(r)
    s.flush()
    log_event(s, project.id, m, "round.open", "round", r.id, name=name, blind=blind)
    return r


def get_round(s: Session, project: Project, name: str) -> Round:
    r = s.scalar(select(Round).where(Round.project_id == project.id, Round.name == name))
    if r is None:
        raise NotFoundError(f"no round named {name!r} in {project.name!r}")
    return r


def round_by_id(s: Session, project: Project, member: Member, round_id: str) -> Round:
    """The round ``round_id`` of the member's project; another project's is refused."""
    m = require(s, member, Action.READ_PROJECT, project)
    return load(s, m, Round, round_id, "round")


def list_rounds(s: Session, project: Project) -> list[Round]:
    return list(s.scalars(select(Round).where(Round.project_id == project.id).order_by(Round.opened_at)))


def assign(s: Session, project: Project, member: Member, rnd: Round, documents: list[Document],
           coders: list[Coder]) -> int:
    """Assign each document to each coder in the round; existing pairs are kept."""
    m = require(s, member, Action.MANAGE_ROUNDS, project, rnd, *documents, *coders)
    existing = set(s.execute(select(Assignment.document_id, Assignment.coder_id)
                             .where(Assignment.round_id == rnd.id)).all())
    added = 0
    for d in documents:
        for c in coders:
            if (d.id, c.id) not in existing:
                s.add(Assignment(round_id=rnd.id, document_id=d.id, coder_id=c.id))
                added += 1
    s.flush()
    log_event(s, project.id, m, "round.assign", "round", rnd.id,
              documents=[d.name for d in documents], coders=[c.name for c in coders])
    return added


def reveal(s: Session, project: Project, member: Member, rnd: Round) -> None:
    m = require(s, member, Action.MANAGE_ROUNDS, project, rnd)
    rnd.status = "revealed"
    rnd.revealed_at = datetime.now(UTC)
    log_event(s, project.id, m, "round.reveal", "round", rnd.id, name=rnd.name)


def set_status(s: Session, project: Project, member: Member, document: Document, status: str) -> None:
    """A coder marks their own progress on a document in the open rounds."""
    m = require(s, member, Action.SET_OWN_PROGRESS, project, document)
    if status not in STATUSES:
        raise ConflictError(f"status {status!r} is unknown: use one of {', '.join(STATUSES)}")
    rows = s.scalars(
        select(Assignment).join(Round, Round.id == Assignment.round_id)
        .where(Round.project_id == project.id, Round.status == "open",
               Assignment.document_id == document.id, Assignment.coder_id == m.id)
    ).all()
    for a in rows:
        a.status = status
    if rows:
        log_event(s, project.id, m, "assignment.status", "document", document.id, status=status)


def touch_progress(s: Session, project: Project, member: Member, document_id: str) -> None:
    """Coding a document moves its 'not started' assignments to 'in progress'."""
    m = require(s, member, Action.SET_OWN_PROGRESS, project)
    for a in s.scalars(
        select(Assignment).join(Round, Round.id == Assignment.round_id)
        .where(Round.status == "open", Assignment.document_id == document_id,
               Assignment.coder_id == m.id, Assignment.status == "not started")
    ):
        a.status = "in progress"


def blind_document_ids(s: Session, project: Project) -> set[str]:
    """Documents that are in an open, blind round (kept for callers not yet moved to
    :mod:`coding.team.visibility`, which owns the rule)."""
    return _blind_ids(s, project.id)


def progress(s: Session, project: Project, member: Member) -> list[dict]:
    """The assignments of the project's rounds ``member`` may see: round, document, coder,
    status, round open? A coder in an open blind round sees only their own rows on its
    documents (the blind rule of :mod:`coding.team.visibility`: another coder's "done" is their work)."""
    from coding.team.visibility import visibility

    m = require(s, member, Action.READ_PROJECT, project)
    vis = visibility(s, m)
    rows = s.execute(
        select(Round.name, Document.name, Coder.name, Assignment.status, Round.status,
               Assignment.document_id, Assignment.coder_id)
        .join(Assignment, Assignment.round_id == Round.id)
        .join(Document, Document.id == Assignment.document_id)
        .join(Coder, Coder.id == Assignment.coder_id)
        .where(Round.project_id == project.id)
        .order_by(Round.opened_at, Document.name, Coder.name)
    )
    return [{"round": r, "document": d, "coder": c, "status": st, "open": rs == "open"}
            for r, d, c, st, rs, doc_id, coder_id in rows if vis.sees(doc_id, coder_id)]


def member_progress(s: Session, project: Project, member: Member) -> dict[str, str]:
    """Each document's status for ``member``: from their open-round assignment when
    there is one, otherwise 'in progress' once they coded it, else 'not started'."""
    from coding.store.models import Coding

    member = require(s, member, Action.READ_PROJECT, project)
    coded = set(s.scalars(select(Coding.document_id).where(
        Coding.project_id == project.id, Coding.coder_id == member.id, Coding.layer == "coder").distinct()))
    status = {d: "in progress" for d in coded}
    status.update(open_assignments(s, project, member))
    return status


def open_assignments(s: Session, project: Project, member: Member) -> dict[str, str]:
    """The member's assignments in open rounds: document id -> status."""
    member = require(s, member, Action.READ_PROJECT, project)
    return dict(s.execute(
        select(Assignment.document_id, Assignment.status).join(Round, Round.id == Assignment.round_id)
        .where(Round.project_id == project.id, Round.status == "open", Assignment.coder_id == member.id)
    ).all())
