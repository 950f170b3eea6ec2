"""Who a member is: the :class:`Member` every service is handed (only its id is trusted),
and the reload of a member from the database. Below everything that decides access."""

from __future__ import annotations
from dataclasses import dataclass
from sqlalchemy import select
from sqlalchemy.orm import Session
from coding.errors import NotFoundError, PermissionDeniedError
from coding.store.models import Coder, MemberAccount, Project


@dataclass(frozen=True)
class Member:
    """Who is acting: passed to every engine function that changes or reads coder data.
    Only its ``id`` is trusted: the engine reloads the member from the database."""

    id: str
    name: str
    role: str
    project_id: str

    @property
    def is_lead(self) -> bool:
        return self.role == "lead"

    @classmethod
    def of(cls, coder: Coder) -> Member:
        return cls(coder.id, coder.name, coder.role, coder.project_id)


def account_of(s: Session, coder_id: str) -> MemberAccount | None:
    return s.get(MemberAccount, coder_id)


def is_removed(s: Session, coder_id: str) -> bool:
    acc = account_of(s, coder_id)
    return acc is not None and acc.removed_at is not None


def active_coder(s: Session, member: Member | Coder | str, project: Project | None = None) -> Coder:
    """The member's row as the database holds it now, refused if gone, removed or (with
    ``project``) of another project. Use it for every acting member: the UI's copy is
    only an id."""
    member_id = member if isinstance(member, str) else member.id
    coder = s.get(Coder, member_id, populate_existing=True) if member_id else None
    label = getattr(member, "name", member_id)
    if coder is None or is_removed(s, coder.id):
        raise PermissionDeniedError(f"{label!r} is no longer a member of this project: "
                                    "ask a lead, or sign in as a current member")
    if project is not None and coder.project_id != project.id:
        raise PermissionDeniedError(f"{coder.name!r} is not a member of {project.name!r}: "
                                    "sign in to that project")
    return coder


def members(s: Session, project: Project, *, active_only: bool = False) -> list[Coder]:
    """The project's members by name; removed ones too unless ``active_only`` (their
    work stays in the project)."""
    q = select(Coder).where(Coder.project_id == project.id).order_by(Coder.name)
    if active_only:
        q = (q.outerjoin(MemberAccount, MemberAccount.coder_id == Coder.id)
             .where(MemberAccount.removed_at.is_(None)))
    return list(s.scalars(q))


def get_member(s: Session, project: Project, name: str) -> Coder:
    c = s.scalar(select(Coder).where(Coder.project_id == project.id, Coder.name == name))
    if c is None:
        names = ", ".join(m.name for m in members(s, project, active_only=True)) or "none yet"
        raise NotFoundError(f"{name!r} is not a member of {project.name!r} (members: {names})")
    return c
