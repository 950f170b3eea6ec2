"""Editing the stored codebook: add, rename, edit, move (merge, split and delete are in
:mod:`coding.codebook.restructure`, the history of edits in :mod:`coding.codebook.history`),
and the helpers every codebook edit shares.

Every operation needs a lead, writes one event (``code.add``, ``code.rename``,
``code.edit``, ``code.move``, ``code.merge``, ``code.split``, ``code.delete``)
whose payload holds the state before and after, and bumps the project's
codebook version. An operation that would change nothing (renaming to the same
name, saving unchanged fields, moving to the current parent) writes no event
and leaves the version alone.

Concurrency: every operation first locks the project row (PostgreSQL ``FOR NO
KEY UPDATE``, which coders' inserts do not wait for), so codebook edits run one
after another and a move that would make a cycle is seen and refused even when
two leads move at once. Merge and delete also lock the codes whose codings they
move or delete (``FOR UPDATE``): a coding being inserted for one of them either
commits first and is moved/deleted (and recorded), or waits and then fails its
foreign key (``codings.code_id`` is ON DELETE RESTRICT), so the coder's retry is
refused with a clear message; no coding disappears unrecorded. On SQLite write
transactions are serialised by ``BEGIN IMMEDIATE`` (see ``coding.store.db``).
Tree walks carry a visited set, so even a corrupt, cyclic tree cannot hang them.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from coding.codebook.tree import (
    lock_codebook,
    SEP,
    TEXT_FIELDS,
    CodeTree,
    bump_version,
    check_code_name,
    check_colour,
    check_nesting,
    code_tree,
)
from coding.team.access import Action, require
from coding.errors import CodebookError, ConflictError, NotFoundError
from coding.team.events import log_event
from coding.team.members import Member
from coding.store.models import Code, Coding, Project


ACTIONS = ("code.add", "code.rename", "code.edit", "code.move", "code.merge", "code.split", "code.delete")
EDITABLE = (*TEXT_FIELDS, "colour", "codable")
# Distinct defaults for new codes; the first one not already used in the project is taken.
PALETTE = (
    "#1b6ca8", "#c8651b", "#2e8b57", "#7b4fa6", "#b8323c", "#1f9bbf", "#8a6d1d", "#d1478f",
    "#4a7f2c", "#5566c4", "#a0522d", "#138d75", "#9c6ade", "#c0392b", "#2874a6", "#7d8c1a",
)


# --- helpers ----------------------------------------------------------------------


def _lock_codes(s: Session, code_ids: list[str]) -> None:
    """``SELECT ... FOR UPDATE`` on these codes (sorted, so two edits never deadlock):
    inserts of codings for them wait until this transaction ends."""
    if code_ids:
        s.execute(select(Code.id).where(Code.id.in_(sorted(code_ids))).order_by(Code.id).with_for_update())


def _fresh_tree(s: Session, project: Project) -> CodeTree:
    """The project's codes as committed now (objects already in the session are refreshed)."""
    return CodeTree(s.scalars(
        select(Code).where(Code.project_id == project.id).execution_options(populate_existing=True)
    ))


def _ancestors(tree: CodeTree, code_id: str | None) -> list[str]:
    """Ids from ``code_id``'s parent up to the top, stopping at a repeat (corrupt data)."""
    out: list[str] = []
    seen: set[str] = set()
    cur = tree.by_id.get(code_id) if code_id else None
    while cur is not None and cur.parent_id is not None and cur.parent_id not in seen:
        seen.add(cur.parent_id)
        out.append(cur.parent_id)
        cur = tree.by_id.get(cur.parent_id)
    return out


def _code(s: Session, project: Project, code_id: str | None) -> Code:
    # populate_existing: a code the session loaded before the lock may be gone or changed.
    c = s.get(Code, code_id, populate_existing=True) if code_id else None
    if c is None or c.project_id != project.id:
        raise NotFoundError(
            f"no code with id {code_id!r} in {project.name!r}; it may have been deleted or merged: reload the codebook"
        )
    return c


def _path(tree: CodeTree, code_id: str | None) -> str:
    if code_id in tree.info:
        return tree.info[code_id].path
    if code_id in tree.by_id:  # not reachable from the top: its parent links loop (corrupt data)
        return f"{tree.by_id[code_id].name} (detached: its parent codes form a loop)"
    return "(top level)" if code_id is None else f"(unknown code {code_id})"


def _snapshot(tree: CodeTree, c: Code) -> dict[str, Any]:
    return {
        "id": c.id, "parent_id": c.parent_id, "path": _path(tree, c.id), "name": c.name,
        "position": c.position, "codable": c.codable, "colour": c.colour,
        **{f: getattr(c, f) for f in TEXT_FIELDS},
    }


def _check_unique(tree: CodeTree, parent_id: str | None, name: str, *, exclude: str | None = None) -> None:
    for sib in tree.children.get(parent_id, []):
        if sib.id != exclude and sib.name.casefold() == name.casefold():
            where = f"{_path(tree, parent_id)}{SEP}{sib.name}" if parent_id else sib.name
            raise ConflictError(
                f"a code '{where}' already exists at that place; pick another name, or merge the two codes"
            )


def _next_colour(s: Session, project: Project, taken: set[str] | None = None) -> str:
    used = {c.lower() for c in s.scalars(select(Code.colour).where(Code.project_id == project.id))}
    used |= taken or set()
    free = [c for c in PALETTE if c not in used]
    if free:
        return free[0]
    return PALETTE[len(used) % len(PALETTE)]


def _end_position(tree: CodeTree, parent_id: str | None) -> int:
    return max((c.position for c in tree.children.get(parent_id, [])), default=-1) + 1


def _count(s: Session, code_ids: list[str]) -> int:
    if not code_ids:
        return 0
    return s.scalar(select(func.count()).select_from(Coding).where(Coding.code_id.in_(code_ids))) or 0


def _log(s: Session, project: Project, member: Member, action: str, code_id: str | None,
         summary: str, **payload: Any) -> None:
    bump_version(project)
    log_event(s, project.id, member.name, action, "code", code_id, summary=summary,
              codebook_version=project.codebook_version, **payload)


# --- operations -------------------------------------------------------------------

def add_code(
    s: Session, project: Project, member: Member, parent_id: str | None, name: str, *,
    codable: bool = True, colour: str | None = None, definition: str = "", inclusion: str = "",
    exclusion: str = "", example: str = "", after_id: str | None = None,
) -> Code:
    """Create a code under ``parent_id`` (None: top level), at the end of its siblings or
    right after sibling ``after_id``. Without ``colour`` a palette colour not yet used is picked."""
    member = require(s, member, Action.EDIT_CODEBOOK, project)
    project = lock_codebook(s, project)
    tree = _fresh_tree(s, project)
    if parent_id is not None:
        _code(s, project, parent_id)
    where = f"new code under {_path(tree, parent_id)}"
    name = check_code_name(name, where)
    _check_unique(tree, parent_id, name)
    check_nesting(tree, parent_id, name=name)
    colour = check_colour(colour, f"code '{name}'") if colour is not None else _next_colour(s, project)
    if not isinstance(codable, bool):
        raise CodebookError(f"{where}: 'codable' is {codable!r}; give True or False")
    texts = {"definition": definition, "inclusion": inclusion, "exclusion": exclusion, "example": example}
    for f, v in texts.items():
        if not isinstance(v, str):
            raise CodebookError(f"{where}: field '{f}' must be text, got {type(v).__name__}")
    siblings = list(tree.children.get(parent_id, []))
    code = Code(project_id=project.id, parent_id=parent_id, name=name, codable=codable, colour=colour,
                **{f: v.strip() for f, v in texts.items()})
    if after_id is None:
        code.position = _end_position(tree, parent_id)
        s.add(code)
    else:
        idx = next((i for i, c in enumerate(siblings) if c.id == after_id), None)
        if idx is None:
            raise ConflictError(
                f"code {_path(tree, after_id)!r} is not a child of {_path(tree, parent_id)!r}; "
                "place the new code after one of its future siblings"
            )
        siblings.insert(idx + 1, code)
        s.add(code)
        for pos, c in enumerate(siblings):
            c.position = pos
    s.flush()
    tree = code_tree(s, project)
    _log(s, project, member, "code.add", code.id, f"added {_path(tree, code.id)}",
         before=None, after=_snapshot(tree, code))
    return code


def rename_code(s: Session, project: Project, member: Member, code_id: str, new_name: str) -> Code:
    """Rename a code; the name must be unique among its siblings (ignoring case)."""
    member = require(s, member, Action.EDIT_CODEBOOK, project)
    project = lock_codebook(s, project)
    tree = _fresh_tree(s, project)
    code = _code(s, project, code_id)
    old_path = _path(tree, code.id)
    new_name = check_code_name(new_name, f"code '{old_path}'")
    if new_name == code.name:
        return code
    _check_unique(tree, code.parent_id, new_name, exclude=code.id)
    before = _snapshot(tree, code)
    code.name = new_name
    s.flush()
    tree = code_tree(s, project)
    _log(s, project, member, "code.rename", code.id, f"renamed {old_path} to {new_name}",
         before=before, after=_snapshot(tree, code))
    return code


def edit_code(s: Session, project: Project, member: Member, code_id: str, **fields: Any) -> Code:
    """Change definition, inclusion, exclusion, example, colour and/or codable.

    A code that has codings cannot become a folder: move them first (merge the code
    into another one, or let coders re-code them)."""
    member = require(s, member, Action.EDIT_CODEBOOK, project)
    project = lock_codebook(s, project)
    tree = _fresh_tree(s, project)
    code = _code(s, project, code_id)
    path = _path(tree, code.id)
    unknown = set(fields) - set(EDITABLE)
    if unknown:
        hint = "; use rename_code for the name, move_code for the place" if unknown & {"name", "parent_id"} else ""
        raise CodebookError(
            f"code '{path}': cannot edit {', '.join(sorted(unknown))}; editable fields: {', '.join(EDITABLE)}{hint}"
        )
    clean: dict[str, Any] = {}
    for f, v in fields.items():
        if f == "colour":
            clean[f] = check_colour(v, f"code '{path}'")
        elif f == "codable":
            if not isinstance(v, bool):
                raise CodebookError(f"code '{path}': 'codable' is {v!r}; give True or False")
            clean[f] = v
        else:
            if not isinstance(v, str):
                raise CodebookError(f"code '{path}': field '{f}' must be text, got {type(v).__name__}")
            clean[f] = v.strip()
    changed = {f: v for f, v in clean.items() if getattr(code, f) != v}
    if not changed:
        return code
    if changed.get("codable") is False:
        _lock_codes(s, [code.id])  # a coding being inserted for it commits first, and is counted
        n = _count(s, [code.id])
        if n:
            raise ConflictError(
                f"code '{path}' has {n} coding{'s' if n != 1 else ''}, so it cannot become a folder; "
                "move them first (merge it into another code, or have coders re-code them into its children)"
            )
    before = _snapshot(tree, code)
    for f, v in changed.items():
        setattr(code, f, v)
    s.flush()
    _log(s, project, member, "code.edit", code.id, f"edited {path}: {', '.join(sorted(changed))}",
         before=before, after=_snapshot(code_tree(s, project), code), fields=sorted(changed))
    return code


def move_code(s: Session, project: Project, member: Member, code_id: str, new_parent_id: str | None) -> Code:
    """Move a code (with its subtree and codings) under ``new_parent_id`` (None: top level),
    as the last child there."""
    member = require(s, member, Action.EDIT_CODEBOOK, project)
    # The project lock serialises moves: two leads moving A under B and B under A at
    # once cannot both pass the check below; the second sees the first's move.
    project = lock_codebook(s, project)
    tree = _fresh_tree(s, project)
    code = _code(s, project, code_id)
    path = _path(tree, code.id)
    if new_parent_id is not None:
        _code(s, project, new_parent_id)
        if new_parent_id == code.id or code.id in _ancestors(tree, new_parent_id):
            raise ConflictError(
                f"cannot move '{path}' under '{_path(tree, new_parent_id)}', which is the code itself or "
                "one of its sub-codes; pick a parent outside its branch"
            )
    if new_parent_id == code.parent_id:
        return code
    _check_unique(tree, new_parent_id, code.name, exclude=code.id)
    check_nesting(tree, new_parent_id, code.id)
    before = _snapshot(tree, code)
    code.parent_id = new_parent_id
    code.position = _end_position(tree, new_parent_id)
    s.flush()
    tree = code_tree(s, project)
    _log(s, project, member, "code.move", code.id, f"moved {path} to {_path(tree, code.id)}",
         before=before, after=_snapshot(tree, code))
    return code
