"""Who can be compared: the members the Agreement page offers as coders of a comparison."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from coding.store.models import Coding, Project
from coding.team.access import Action, require
from coding.team.members import Member, members
from coding.team.visibility import visibility


def comparable_coders(s: Session, project: Project, member: Member) -> list[str]:
    """Names of the members who can be chosen as coders of an agreement comparison: every
    member with the coder role, and anyone else (a lead who codes: in a small team the PI
    is often the second coder) with codings of their own that ``member`` may see (the
    blind rule). Coders first, then the others, each by name; removed members included
    only when they left codings."""
    require(s, member, Action.COMPUTE_AGREEMENT, project)
    with_codings = set(s.scalars(select(Coding.coder_id).where(visibility(s, member).codings(),
                                                                 Coding.layer == "coder").distinct()))
    active = {c.id for c in members(s, project, active_only=True)}
    chosen = [c for c in members(s, project)
              if c.id in with_codings or (c.role == "coder" and c.id in active)]
    return [c.name for c in sorted(chosen, key=lambda c: (c.role != "coder", c.name))]
