"""Who may do what: one action enum, roles as data, and the checks every engine function makes.

Every engine function that reads or writes project data takes the acting
member and calls :func:`require` first. ``require`` reloads the member from the
database by id (a removed member or a changed role takes effect on the next
call, whatever the UI session still holds), checks that each resource belongs
to the member's project, and asks :func:`can`. What a member may *see* of other
members' work is the blind rule in :mod:`coding.team.visibility`.

Roles are data (:data:`ROLE_ACTIONS`): giving coders a right is a one-line change.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from coding.errors import NotFoundError, PermissionDeniedError
from coding.team.members import Member, active_coder
from coding.store.models import Coder, Project


class Action(StrEnum):
    """Everything a member can do to a project's data."""

    READ_PROJECT = "read the project"                 # documents, codebook, rounds, progress
    READ_CODINGS = "read codings"                     # filtered by the blind rule
    WRITE_OWN_CODINGS = "change their own codings"    # apply, remove, memo, widen, undo
    WRITE_CONSENSUS = "write the consensus layer"
    EDIT_CODEBOOK = "edit the codebook"               # add/rename/move/merge/delete, import a codebook
    IMPORT_DOCUMENTS = "import documents"             # transcripts and participant attributes
    DELETE_DOCUMENT = "delete documents"
    MANAGE_ROUNDS = "manage rounds"                   # open, assign, reveal
    SET_OWN_PROGRESS = "set their own progress"
    MANAGE_MEMBERS = "manage members"                 # add, remove, change roles, reset passwords
    COMPARE_CODERS = "compare coders"                 # disagreements and counts; blind documents excluded
    COMPUTE_AGREEMENT = "compute agreement"           # blind documents excluded
    ADJUDICATE = "adjudicate disagreements"
    READ_EVENTS = "read the event log"                # filtered by the blind rule
    SAVE_SNAPSHOT = "save agreement snapshots"
    READ_SNAPSHOTS = "read agreement snapshots"       # filtered by the blind rule
    READ_MEMOS = "read memos"                         # filtered by the blind rule
    WRITE_MEMOS = "write memos"                       # their own; a lead may edit journal entries
    MEASURE_SUGGESTIONS = "measure the suggestions against coders"  # learns from every coder's codings
    EDIT_OTHERS_JOURNAL = "edit other members' journal entries"


ALL_ACTIONS = frozenset(Action)
# A coder works on the text; a lead also runs the project. DESIGN.md, "Who uses it":
# coders import transcripts, code and write memos; leads own the codebook, rounds,
# members, agreement and the consensus. Reads of other coders' work go through
# coding.team.visibility, so COMPARE_CODERS / COMPUTE_AGREEMENT never reach a blind document.
ROLE_ACTIONS: dict[str, frozenset[Action]] = {
    "lead": ALL_ACTIONS,
    "coder": frozenset({
        Action.READ_PROJECT, Action.READ_CODINGS, Action.WRITE_OWN_CODINGS, Action.IMPORT_DOCUMENTS,
        Action.SET_OWN_PROGRESS, Action.COMPARE_CODERS, Action.COMPUTE_AGREEMENT, Action.READ_EVENTS,
        Action.READ_SNAPSHOTS, Action.READ_MEMOS, Action.WRITE_MEMOS,
    }),
}


def project_id_of(resource: Any) -> str:
    """The project a resource belongs to (a Project, or any row with ``project_id``)."""
    if isinstance(resource, Project):
        return resource.id
    pid = getattr(resource, "project_id", None)
    if pid is None:
        raise TypeError(f"cannot tell which project a {type(resource).__name__} belongs to")
    return pid


def _kind(resource: Any) -> str:
    return type(resource).__name__.lower()


def can(member: Member, action: Action, resource: Any = None) -> bool:
    """Whether ``member``'s role allows ``action``, on ``resource`` if given (it must be
    in the member's project). Pure: give it a member :func:`current` reloaded."""
    if action not in ROLE_ACTIONS.get(member.role, frozenset()):
        return False
    return resource is None or project_id_of(resource) == member.project_id


def current(s: Session, member: Member | Coder | str) -> Member:
    """The member as the database knows it now (by id, role included); refused if the
    member was removed or never existed (see :func:`coding.team.projects.active_coder`)."""
    if not member or not (member if isinstance(member, str) else member.id):
        raise PermissionDeniedError("no member is acting: sign in (CLI: --as NAME)")
    return Member.of(active_coder(s, member))


def check_scope(member: Member, *resources: Any) -> None:
    """Refuse any resource that is not in ``member``'s project (a document, code, coding,
    round, snapshot, event, memo, coder... given as loaded rows)."""
    for r in resources:
        if r is None or project_id_of(r) == member.project_id:
            continue
        if isinstance(r, Project):
            raise PermissionDeniedError(f"{member.name!r} is not a member of {r.name!r}: sign in to that project")
        raise PermissionDeniedError(
            f"{_kind(r)} {getattr(r, 'id', '?')!r} is not in the project {member.name!r} belongs to: "
            "sign in to that project to use it")


def require(s: Session, member: Member | Coder | str, action: Action, resource: Any = None,
            *more: Any, doing: str | None = None) -> Member:
    """Reload ``member``, check every resource is in their project and that their role
    allows ``action``; return the fresh member or raise :class:`PermissionDeniedError`.
    ``doing`` names the task in the refusal when it says more than the action
    ("add members" rather than "manage members")."""
    m = current(s, member)
    check_scope(m, resource, *more)
    if not can(m, action):
        roles = sorted(r for r, acts in ROLE_ACTIONS.items() if action in acts)
        raise PermissionDeniedError(
            f"{m.name!r} is a {m.role} and cannot {doing or action.value}: only a {' or '.join(roles)} can; "
            "ask a lead of the project")
    return m


def check_scope_to(project_id: str, *resources: Any) -> None:
    """Refuse any resource that is not in project ``project_id``."""
    for r in resources:
        if r is not None and project_id_of(r) != project_id:
            raise PermissionDeniedError(f"{_kind(r)} {getattr(r, 'id', '?')!r} is not in this project")


def require_or_setup(s: Session, member: Member | Coder | str | None, action: Action,
                     project: Project, *more: Any) -> Member | None:
    """Like :func:`require`, but a project that has no member yet may be set up with no
    acting member (``None``: the system building it, e.g. the demo or a fresh import).
    Once a project has members, every change needs one of them."""
    if member is not None:
        return require(s, member, action, project, *more)
    if s.scalar(select(Coder.id).where(Coder.project_id == project.id).limit(1)) is not None:
        raise PermissionDeniedError(
            f"{project.name!r} has members, so this needs a signed-in member allowed to {action.value}: "
            "pass the acting member (the CLI's --as NAME)")
    check_scope_to(project.id, *more)
    return None


def load(s: Session, member: Member, model: type, object_id: str | None, what: str) -> Any:
    """Load a row by id inside ``member``'s project; a missing or foreign id is not found."""
    obj = s.get(model, object_id) if object_id else None
    if obj is None:
        raise NotFoundError(f"no {what} {object_id!r} in this project; it may have been removed: reload the page")
    check_scope(member, obj)
    return obj
