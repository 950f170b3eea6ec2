"""Coding counts under the blind rule.

A count is a view of codings, so it obeys the same rule as
:func:`coding.codings.visible_codings`: on a document in an open blind round a
coder counts only their own coder-layer codings; a lead counts everyone's.
Otherwise each of a coder's codings would show up for the other coder as a
number going up.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, func, or_, select, true
from sqlalchemy.orm import Session

from .errors import PermissionDeniedError
from .projects import Member
from .rounds import blind_document_ids
from .store.models import Coder, Coding, Project


def _reload(s: Session, project: Project, member: Member) -> Coder:
    """The member as the database knows it now (role included), scoped to ``project``."""
    coder = s.get(Coder, member.id)
    if coder is None or coder.project_id != project.id:
        raise PermissionDeniedError(
            f"{member.name!r} is not a member of project {project.name!r}: sign in to that project again")
    return coder


def visible_clause(s: Session, project: Project, member: Member) -> ColumnElement[bool]:
    """A WHERE clause on :class:`Coding` that keeps what ``member`` may see (the blind rule)."""
    coder = _reload(s, project, member)
    if coder.role == "lead":
        return true()
    blind = blind_document_ids(s, project)
    if not blind:
        return true()
    return or_(Coding.layer != "coder", Coding.coder_id == coder.id, Coding.document_id.not_in(sorted(blind)))


def visible_coding_counts(s: Session, project: Project, member: Member, *,
                          layer: str | None = None) -> dict[str, int]:
    """Codings ``member`` may see, per code id (every layer, or only ``layer``)."""
    q = (select(Coding.code_id, func.count())
         .where(Coding.project_id == project.id, visible_clause(s, project, member))
         .group_by(Coding.code_id))
    if layer is not None:
        q = q.where(Coding.layer == layer)
    return dict(s.execute(q).all())
