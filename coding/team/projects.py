"""Projects and their members (coders and leads).

A project is created with its lead: protected (the lead's password is required,
every member signs in with one) or, chosen explicitly, in local single-user mode
(a member without a password signs in by name; the app refuses such a project
unless it listens on a loopback address only). Only a lead adds, removes or
re-roles members, and a project always keeps at least one lead. A removed member
keeps their codings and history but can no longer sign in or act.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from coding.errors import CodingError, ConflictError, NotFoundError, PermissionDeniedError
from coding.team.access import Action, require
from coding.team.events import log_event
from coding.store.models import Coder, MemberAccount, Project
from coding.team.members import Member, account_of, active_coder, get_member, members
from coding.team.passwords import check_password, hash_password
from coding.team.sessions import revoke_member_sessions

ROLES = ("lead", "coder")


def _check_name(name: str, what: str) -> str:
    name = (name or "").strip()
    if not name:
        raise CodingError(f"{what} name is empty: give a name")
    if len(name) > 120:
        raise CodingError(f"{what} name {name[:30]!r}... is over 120 characters: shorten it")
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in name):
        raise CodingError(f"{what} name {name[:30]!r} contains control characters: type it again")
    return name


def _require_manager(s: Session, project: Project, actor: Member | None, doing: str) -> Member:
    """The acting member, reloaded, if :func:`coding.team.access.require` lets them manage members."""
    return require(s, actor, Action.MANAGE_MEMBERS, project, doing=doing)


def create_project(s: Session, name: str, *, lead_name: str | None = None, lead_password: str | None = None,
                   local_mode: bool = False) -> Project:
    """Create a project and its first lead.

    A protected project (the default) needs the lead's password, checked against
    the policy. ``local_mode=True`` chooses single-user mode explicitly: members
    without a password sign in by name, and the app serves such a project only on
    a loopback address. Returns the project; the lead is ``get_member(s, p, lead_name)``.
    """
    name = _check_name(name, "project")
    if lead_name is None:
        raise CodingError(f"project {name!r} needs its lead: give the lead's name (and a password, or choose "
                          "local single-user mode)")
    lead_name = _check_name(lead_name, "lead")
    if not local_mode and not lead_password:
        raise PermissionDeniedError(
            f"project {name!r} needs a password for its lead {lead_name!r}: give one, or choose local "
            "single-user mode (only for one person on their own computer)")
    if lead_password is not None:
        check_password(lead_password, names=(lead_name, name))
    if s.scalar(select(Project).where(Project.name == name)):
        raise ConflictError(f"a project named {name!r} already exists: pick another name or open it")
    p = Project(name=name, local_mode=bool(local_mode))
    s.add(p)
    try:
        s.flush()
    except IntegrityError as exc:  # a concurrent create of the same name
        raise ConflictError(f"a project named {name!r} already exists: pick another name or open it") from exc
    lead = Coder(project_id=p.id, name=lead_name, role="lead",
                 password_hash=hash_password(lead_password) if lead_password else None)
    s.add(lead)
    s.flush()
    s.add(MemberAccount(coder_id=lead.id, must_change_password=False,
                        password_changed_at=datetime.now(UTC) if lead_password else None))
    me = Member.of(lead)
    log_event(s, p.id, me, "project.create", "project", p.id, name=name)
    log_event(s, p.id, me, "member.add", "coder", lead.id, name=lead_name, role="lead")
    return p


def create_project_as(s: Session, project: Project, actor: Member, name: str, *, password: str | None,
                      lead_name: str | None = None, local_mode: bool = False) -> Project:
    """A lead of ``project`` creates another project from the app and becomes its lead: a new
    account there (``lead_name``, by default their own name) with ``password``, or none in
    local single-user mode (the app offers that only to a request made on this computer).
    Coders cannot create projects; on an empty server :func:`create_project` needs nobody."""
    lead = require(s, actor, Action.MANAGE_MEMBERS, project, doing="create projects")
    return create_project(s, name, lead_name=lead_name or lead.name, lead_password=password,
                          local_mode=local_mode)


def set_local_mode(s: Session, project: Project, actor: Member, enabled: bool) -> list[str]:
    """A lead turns local single-user mode on or off. Turning it off needs the lead to
    have a password; returns the names of members who then cannot sign in until a
    lead gives them a temporary password."""
    lead = _require_manager(s, project, actor, "change the project's mode")
    coder = active_coder(s, lead, project)
    if not enabled and coder.password_hash is None:
        raise PermissionDeniedError(
            f"set your own password first ({coder.name!r} has none): a protected project needs its lead "
            "to sign in with one")
    project.local_mode = bool(enabled)
    log_event(s, project.id, lead, "project.local_mode", "project", project.id, name=project.name,
              local_mode=bool(enabled))
    if enabled:
        return []
    return [c.name for c in members(s, project, active_only=True) if c.password_hash is None]


def get_project(s: Session, name: str) -> Project:
    # staging_for: a hidden project holding an import being stored (coding.work.staged_import)
    p = s.scalar(select(Project).where(Project.name == name, Project.staging_for.is_(None)))
    if p is None:
        known = ", ".join(s.scalars(select(Project.name).where(Project.staging_for.is_(None))
                                    .order_by(Project.name))) or "none yet"
        raise NotFoundError(
            f"no project named {name!r} (projects: {known}); create it with "
            f"`python -m coding --as YOUR_NAME init {name}`"
        )
    return p


def project_name_by_id(s: Session, project_id: str) -> str:
    """The name of project ``project_id`` (names are public: the sidebar lists them)."""
    name = s.scalar(select(Project.name).where(Project.id == project_id))
    if name is None:
        raise NotFoundError(f"no project with id {project_id!r}; it may have been deleted: reload the page")
    return name


def list_projects(s: Session) -> list[Project]:
    return list(s.scalars(select(Project).where(Project.staging_for.is_(None)).order_by(Project.name)))


def add_member(
    s: Session, project: Project, name: str, role: str = "coder", *, actor: Member | None = None,
    password: str | None = None, temporary: bool = True,
) -> Coder:
    """A lead adds a coder or a lead. In a protected project the new member needs a
    password: a temporary one (the default) they must change at their first sign-in."""
    lead = _require_manager(s, project, actor, "add members")
    name = _check_name(name, "member")
    if role not in ROLES:
        raise CodingError(f"role {role!r} is unknown: use one of {', '.join(ROLES)}")
    if not project.local_mode and not password:
        raise PermissionDeniedError(
            f"{project.name!r} is protected: give {name!r} a temporary password to pass on in person")
    if password:
        check_password(password, names=(name, project.name))
    if s.scalar(select(Coder).where(Coder.project_id == project.id, Coder.name == name)):
        raise ConflictError(f"{name!r} is already a member of {project.name!r} (or was: removed members keep "
                            "their name and work); choose another name")
    c = Coder(project_id=project.id, name=name, role=role,
              password_hash=hash_password(password) if password else None)
    s.add(c)
    try:
        s.flush()
    except IntegrityError as exc:  # a concurrent add of the same name
        raise ConflictError(f"{name!r} is already a member of {project.name!r}") from exc
    s.add(MemberAccount(coder_id=c.id, must_change_password=bool(password) and temporary,
                        password_changed_at=datetime.now(UTC) if password else None))
    s.flush()
    log_event(s, project.id, lead, "member.add", "coder", c.id, name=name, role=role)
    return c


def _leads_left(s: Session, project: Project, without: str) -> int:
    return s.scalar(
        select(func.count()).select_from(Coder)
        .outerjoin(MemberAccount, MemberAccount.coder_id == Coder.id)
        .where(Coder.project_id == project.id, Coder.role == "lead", Coder.id != without,
               MemberAccount.removed_at.is_(None))
    ) or 0


def _lock_leads(s: Session, project: Project) -> None:
    """PostgreSQL: serialise role changes and removals of one project's members, so
    two leads demoting each other at once cannot leave the project without a lead."""
    s.execute(select(Project.id).where(Project.id == project.id).with_for_update())


def change_role(s: Session, project: Project, actor: Member, name: str, role: str) -> Coder:
    """A lead makes a member a lead or a coder; the last lead cannot be demoted."""
    lead = _require_manager(s, project, actor, "change roles")
    if role not in ROLES:
        raise CodingError(f"role {role!r} is unknown: use one of {', '.join(ROLES)}")
    _lock_leads(s, project)
    coder = active_coder(s, get_member(s, project, name), project)
    if coder.role == role:
        return coder
    if coder.role == "lead" and _leads_left(s, project, coder.id) == 0:
        raise ConflictError(f"{coder.name!r} is the last lead of {project.name!r}: make another member a lead "
                            "first, then change this role")
    before, coder.role = coder.role, role
    s.flush()
    log_event(s, project.id, lead, "member.role", "coder", coder.id, name=coder.name, before=before, after=role)
    return coder


def remove_member(s: Session, project: Project, actor: Member, name: str) -> Coder:
    """A lead removes a member: they can no longer sign in (sessions end now); their
    codings, memos and events stay. The last lead cannot be removed."""
    lead = _require_manager(s, project, actor, "remove members")
    _lock_leads(s, project)
    coder = active_coder(s, get_member(s, project, name), project)
    if coder.role == "lead" and _leads_left(s, project, coder.id) == 0:
        raise ConflictError(f"{coder.name!r} is the last lead of {project.name!r}: make another member a lead "
                            "first")
    acc = account_of(s, coder.id)
    if acc is None:
        acc = MemberAccount(coder_id=coder.id, must_change_password=False)
        s.add(acc)
    acc.removed_at = datetime.now(UTC)
    s.flush()
    revoke_member_sessions(s, coder.id, by=lead.id)
    log_event(s, project.id, lead, "member.remove", "coder", coder.id, name=coder.name, role=coder.role)
    return coder


