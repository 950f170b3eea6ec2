"""Coding counts under the blind rule.

A count is a view of codings, so it obeys the rule of :mod:`coding.team.visibility`:
on a document in an open blind round a coder counts only their own codings; a
lead counts everyone's. Otherwise each of a coder's codings would show up for
the other coder as a number going up.
"""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from coding.team.access import Action, require
from coding.team.members import Member
from coding.store.models import Coding, Project
from coding.team.visibility import visibility


def visible_coding_counts(s: Session, project: Project, member: Member, *,
                          layer: str | None = None) -> dict[str, int]:
    """Codings ``member`` may see, per code id (every layer, or only ``layer``).

    The member is reloaded from the database (their role now, not the caller's copy)
    and must belong to ``project``."""
    require(s, member, Action.READ_CODINGS, project)
    q = (select(Coding.code_id, func.count())
         .where(visibility(s, member).codings())
         .group_by(Coding.code_id))
    if layer is not None:
        q = q.where(Coding.layer == layer)
    return dict(s.execute(q).all())
