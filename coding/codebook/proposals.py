"""New codes made while coding (open coding).

A lead adds a code to the codebook at once. A coder cannot edit the codebook, so a
code they create is a *proposal*: stored with status ``proposed``, usable at once in
their own codings, shown only to them and to leads, until a lead accepts it (possibly
renamed or moved), merges it into an existing code (its codings move there), or
rejects it (its codings are deleted and recorded in the event log).
"""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from coding.codebook import edits as codebook_edit
from coding.codebook import restructure
from coding.team.access import Action, can, load, require
from coding.codebook.tree import SEP, bump_version, check_code_name, check_nesting, code_tree
from coding.errors import CodingError, ConflictError
from coding.team.events import log_event
from coding.team.members import Member
from coding.store.models import Code, Coder, Coding, Project


def _check_name(name: str) -> str:
    name = " ".join((name or "").split())
    if not name:
        raise CodingError("the new code has no name: type one")
    return check_code_name(name, "the new code")


def create_code_while_coding(s: Session, project: Project, member: Member, name: str, *,
                             parent_id: str | None = None, definition: str = "") -> Code:
    """A lead's new code goes straight into the codebook; a coder's becomes a proposal."""
    m = require(s, member, Action.WRITE_OWN_CODINGS, project)
    name = _check_name(name)
    if can(m, Action.EDIT_CODEBOOK):
        return codebook_edit.add_code(s, project, m, parent_id, name, definition=definition)
    tree = code_tree(s, project)
    if parent_id is not None:
        parent = load(s, m, Code, parent_id, "code")
        if parent.status == "proposed":
            raise ConflictError("a proposed code cannot hold other codes yet: put it under an accepted code")
    for sib in tree.children.get(parent_id, []):
        if sib.name.casefold() == name.casefold() and (sib.status != "proposed" or sib.proposed_by == m.id):
            raise ConflictError(f"a code named {sib.name!r} already exists there: use it, or pick another name")
    check_nesting(tree, parent_id, name=name)
    pos = max((c.position for c in tree.children.get(parent_id, [])), default=-1) + 1
    code = Code(project_id=project.id, parent_id=parent_id, position=pos, name=name, definition=definition,
                colour=codebook_edit._next_colour(s, project), codable=True, status="proposed",
                proposed_by=m.id)
    s.add(code)
    s.flush()
    path = tree.info[parent_id].path + SEP + name if parent_id else name
    log_event(s, project.id, m, "code.propose", "code", code.id, summary=f"proposed '{path}'")
    return code


def proposals(s: Session, project: Project, member: Member) -> list[dict]:
    """Open proposals this member may see (a coder: their own), with proposer and use."""
    m = require(s, member, Action.READ_PROJECT, project)
    q = (select(Code, Coder.name, func.count(Coding.id))
         .join(Coder, Coder.id == Code.proposed_by, isouter=True)
         .join(Coding, Coding.code_id == Code.id, isouter=True)
         .where(Code.project_id == project.id, Code.status == "proposed")
         .group_by(Code.id, Coder.name).order_by(Code.name))
    if not m.is_lead:
        q = q.where(Code.proposed_by == m.id)
    tree = code_tree(s, project)
    return [{"id": c.id, "name": c.name, "path": tree.info[c.id].path if c.id in tree.info else c.name,
             "definition": c.definition, "proposed_by": who or "?", "codings": n}
            for c, who, n in s.execute(q)]


def _proposal(s: Session, m: Member, code_id: str) -> Code:
    code = load(s, m, Code, code_id, "code")
    if code.status != "proposed":
        raise ConflictError(f"{code.name!r} is not a proposal (already decided?): reload the page")
    return code


def accept_proposal(s: Session, project: Project, lead: Member, code_id: str, *, name: str | None = None,
                    parent_id: str | None = "keep") -> Code:
    """A lead accepts a proposal into the codebook, optionally renamed or moved."""
    m = require(s, lead, Action.EDIT_CODEBOOK, project)
    code = _proposal(s, m, code_id)
    code.status = "active"
    s.flush()
    if name and _check_name(name) != code.name:
        codebook_edit.rename_code(s, project, m, code.id, _check_name(name))
    if parent_id != "keep" and parent_id != code.parent_id:
        codebook_edit.move_code(s, project, m, code.id, parent_id)
    bump_version(project)
    log_event(s, project.id, m, "code.accept", "code", code.id, summary=f"accepted '{code.name}'",
              codebook_version=project.codebook_version)
    return code


def reject_proposal(s: Session, project: Project, lead: Member, code_id: str, *,
                    merge_into: str | None = None) -> int:
    """A lead rejects a proposal: its codings move to ``merge_into`` (an existing code),
    or, without one, are deleted (recorded in full in the event). Returns codings affected."""
    m = require(s, lead, Action.EDIT_CODEBOOK, project)
    code = _proposal(s, m, code_id)
    log_event(s, project.id, m, "code.reject", "code", code.id, summary=f"rejected '{code.name}'",
              after=merge_into)
    code.status = "active"   # merge/delete work on ordinary codes; the event above says why it goes
    s.flush()
    if merge_into:
        return restructure.merge_codes(s, project, m, code.id, merge_into)
    n = restructure.coding_impact(s, code.id)
    return restructure.delete_code(s, project, m, code.id, confirm_count=n)
