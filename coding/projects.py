"""Projects and their members (coders and leads)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from .errors import CodingError, ConflictError, NotFoundError
from .events import log_event
from .store.models import Coder, Project

ROLES = ("lead", "coder")


@dataclass(frozen=True)
class Member:
    """Who is acting: passed to every engine function that changes or reads coder data."""

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


def _check_name(name: str, what: str) -> str:
    name = (name or "").strip()
    if not name:
        raise CodingError(f"{what} name is empty: give a name")
    if len(name) > 120:
        raise CodingError(f"{what} name {name[:30]!r}... is over 120 characters: shorten it")
    return name


def create_project(s: Session, name: str) -> Project:
    name = _check_name(name, "project")
    if s.scalar(select(Project).where(Project.name == name)):
        raise ConflictError(f"a project named {name!r} already exists: pick another name or open it")
    p = Project(name=name)
    s.add(p)
    s.flush()
    log_event(s, p.id, "system", "project.create", "project", p.id, name=name)
    return p


def get_project(s: Session, name: str) -> Project:
    p = s.scalar(select(Project).where(Project.name == name))
    if p is None:
        known = ", ".join(s.scalars(select(Project.name).order_by(Project.name))) or "none yet"
        raise NotFoundError(
            f"no project named {name!r} (projects: {known}); create it with `python -m coding init {name}`"
        )
    return p


def list_projects(s: Session) -> list[Project]:
    return list(s.scalars(select(Project).order_by(Project.name)))


def add_member(
    s: Session, project: Project, name: str, role: str = "coder", *, password: str | None = None,
    actor: str = "system",
) -> Coder:
    """Add a coder or lead. With a password the member must sign in with it."""
    from .auth import hash_password  # auth imports this module: import at call time

    name = _check_name(name, "member")
    if role not in ROLES:
        raise CodingError(f"role {role!r} is unknown: use one of {', '.join(ROLES)}")
    if s.scalar(select(Coder).where(Coder.project_id == project.id, Coder.name == name)):
        raise ConflictError(f"{name!r} is already a member of {project.name!r}")
    c = Coder(project_id=project.id, name=name, role=role,
              password_hash=hash_password(password) if password else None)
    s.add(c)
    try:
        s.flush()
    except IntegrityError as exc:  # a concurrent add of the same name
        raise ConflictError(f"{name!r} is already a member of {project.name!r}") from exc
    log_event(s, project.id, actor, "member.add", "coder", c.id, name=name, role=role)
    return c


def members(s: Session, project: Project) -> list[Coder]:
    return list(s.scalars(select(Coder).where(Coder.project_id == project.id).order_by(Coder.name)))


def get_member(s: Session, project: Project, name: str) -> Coder:
    c = s.scalar(select(Coder).where(Coder.project_id == project.id, Coder.name == name))
    if c is None:
        names = ", ".join(m.name for m in members(s, project)) or "none yet"
        raise NotFoundError(f"{name!r} is not a member of {project.name!r} (members: {names})")
    return c
