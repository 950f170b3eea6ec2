"""Editing the stored codebook: add, rename, edit, move, merge, split, delete.

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

import json
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

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
from coding.store.models import Adjudication, Code, Coding, Event, Project, SetMember

_ADJ_FIELDS = ("id", "document_id", "code_id", "start", "end", "decision", "reason", "decided_by")

ACTIONS = ("code.add", "code.rename", "code.edit", "code.move", "code.merge", "code.split", "code.delete")
EDITABLE = (*TEXT_FIELDS, "colour", "codable")
# Distinct defaults for new codes; the first one not already used in the project is taken.
PALETTE = (
    "#1b6ca8", "#c8651b", "#2e8b57", "#7b4fa6", "#b8323c", "#1f9bbf", "#8a6d1d", "#d1478f",
    "#4a7f2c", "#5566c4", "#a0522d", "#138d75", "#9c6ade", "#c0392b", "#2874a6", "#7d8c1a",
)
_ROW_FIELDS = ("id", "project_id", "document_id", "code_id", "coder_id", "start", "end", "memo",
               "provenance", "layer", "created_at")


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


def _descendants(tree: CodeTree, code_id: str) -> list[str]:
    """Ids below ``code_id`` (the one tree walker's, which ends on a cyclic, corrupt tree too)."""
    return tree.descendants(code_id)


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


def _row(c: Coding) -> dict[str, Any]:
    """A coding's full row, as events record it (enough to restore it)."""
    return {f: getattr(c, f) for f in _ROW_FIELDS}


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


def _subtree(s: Session, code_id: str) -> tuple[Code, CodeTree, list[str]]:
    code = s.get(Code, code_id)
    if code is None:
        raise NotFoundError(f"no code with id {code_id!r}; it may have been deleted or merged: reload the codebook")
    tree = CodeTree(s.scalars(select(Code).where(Code.project_id == code.project_id)))
    return code, tree, [code.id, *_descendants(tree, code.id)]


def coding_impact(s: Session, code_id: str) -> int:
    """Number of codings (every layer and coder) on the code and all its descendants."""
    _, _, ids = _subtree(s, code_id)
    return _count(s, ids)


def delete_impact(s: Session, code_id: str) -> tuple[int, int]:
    """(codes, codings) that deleting ``code_id`` would remove, the code itself included."""
    _, _, ids = _subtree(s, code_id)
    return len(ids), _count(s, ids)


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


def merge_codes(s: Session, project: Project, member: Member, source_id: str, target_id: str) -> int:
    """Merge ``source`` into ``target``: every coding of the source (all layers and coders)
    moves to the target, the source's children move under the target, the source is deleted.

    A source coding identical to a target coding (same coder, document, span and layer)
    is dropped rather than duplicated; its memo is appended to the target coding's.
    Returns the number of codings moved (dropped duplicates not counted)."""
    member = require(s, member, Action.EDIT_CODEBOOK, project)
    project = lock_codebook(s, project)
    tree = _fresh_tree(s, project)
    source = _code(s, project, source_id)
    target = _code(s, project, target_id)
    spath, tpath = _path(tree, source.id), _path(tree, target.id)
    if source.id == target.id:
        raise ConflictError(f"cannot merge '{spath}' into itself; pick another target code")
    # A coding being inserted for the source commits before this reads it, or waits and
    # then fails its foreign key on the deleted source (the coder's retry is refused).
    # The target needs no lock: a coding inserted for it that twins a moved one makes
    # one of the two transactions fail the unique constraint, and its retry sees the other.
    _lock_codes(s, [source.id])
    if source.id in _ancestors(tree, target.id):
        raise ConflictError(
            f"cannot merge '{spath}' into its own sub-code '{tpath}'; move '{tpath}' out of its branch first, "
            "or merge the sub-code into its parent instead"
        )
    if not target.codable:
        raise ConflictError(
            f"cannot merge '{spath}' into '{tpath}': it is a folder and cannot hold codings; "
            "make it codable first or pick a codable code"
        )
    children = list(tree.children.get(source.id, []))
    for ch in children:
        _check_unique(tree, target.id, ch.name)
        check_nesting(tree, target.id, ch.id)
    before: dict[str, Any] = {"source": _snapshot(tree, source), "target": _snapshot(tree, target)}

    # Set-based: one read of each side, one UPDATE and one DELETE, so the source stays
    # locked (and coders of it waiting) for as short a time as possible.
    s.flush()  # the caller's pending changes to codings, before they are read as rows
    cols = Coding.__table__.c
    twins = {(r.coder_id, r.document_id, r.start, r.end, r.layer): [r.id, r.memo] for r in s.execute(
        select(cols.id, cols.coder_id, cols.document_id, cols.start, cols.end, cols.layer, cols.memo)
        .where(cols.code_id == target.id))}
    moved: list[str] = []
    moved_rows: list[dict[str, Any]] = []
    dropped: list[dict[str, Any]] = []
    memo_changed: set[str] = set()
    for r in s.execute(select(*(cols[f] for f in _ROW_FIELDS)).where(cols.code_id == source.id)
                       .order_by(cols.created_at, cols.id)).mappings():
        twin = twins.get((r["coder_id"], r["document_id"], r["start"], r["end"], r["layer"]))
        if twin is not None:
            if r["memo"] and r["memo"] not in twin[1]:
                twin[1] = f"{twin[1]}\n\n{r['memo']}" if twin[1] else r["memo"]
                memo_changed.add(twin[0])
            dropped.append(dict(r) | {"kept": twin[0]})
        else:
            moved_rows.append(dict(r))  # as it was, code_id still the source's
            moved.append(r["id"])
    quiet = {"synchronize_session": False}
    for i in range(0, len(dropped), 500):
        s.execute(delete(Coding).where(Coding.id.in_([d["id"] for d in dropped[i:i + 500]])), execution_options=quiet)
    for i in range(0, len(moved), 500):
        s.execute(update(Coding).where(Coding.id.in_(moved[i:i + 500])).values(code_id=target.id),
                  execution_options=quiet)
    memos = {twin_id: memo for twin_id, memo in twins.values() if twin_id in memo_changed}
    for twin_id, memo in memos.items():
        s.execute(update(Coding).where(Coding.id == twin_id).values(memo=memo), execution_options=quiet)
    # Codings the caller holds in this session: made to match their rows again.
    gone, went = {d["id"] for d in dropped}, set(moved)
    for obj in list(s.identity_map.values()):
        if isinstance(obj, Coding):
            if obj.id in gone:
                s.expunge(obj)
            elif obj.id in went:
                set_committed_value(obj, "code_id", target.id)
            elif obj.id in memos:
                set_committed_value(obj, "memo", memos[obj.id])
    adjudications = [{f: getattr(a, f) for f in _ADJ_FIELDS} for a in s.scalars(
        select(Adjudication).where(Adjudication.code_id == source.id))]
    before["adjudications"] = adjudications
    s.execute(update(Adjudication).where(Adjudication.code_id == source.id).values(code_id=target.id),
              execution_options={"synchronize_session": False})
    # Set memberships follow the codings to the target (one the target already has is dropped).
    in_sets = set(s.scalars(select(SetMember.set_id).where(SetMember.code_id == target.id)))
    memberships = [{"id": m.id, "set_id": m.set_id} for m in s.scalars(
        select(SetMember).where(SetMember.code_id == source.id))]
    before["set_members"] = memberships
    for m in memberships:
        if m["set_id"] in in_sets:
            s.execute(delete(SetMember).where(SetMember.id == m["id"]), execution_options=quiet)
        else:
            s.execute(update(SetMember).where(SetMember.id == m["id"]).values(code_id=target.id),
                      execution_options=quiet)
    pos = _end_position(tree, target.id)
    for i, ch in enumerate(children):
        ch.parent_id = target.id
        ch.position = pos + i
    s.flush()
    # ON DELETE RESTRICT: fails (and the caller's Store.run retries) if any coding still
    # points at the source, instead of deleting it unrecorded.
    s.delete(source)
    s.flush()
    _log(s, project, member, "code.merge", target.id,
         _merge_summary(spath, tpath, len(moved), len(dropped)),
         before=before, after={"target": _snapshot(code_tree(s, project), target)},
         moved_coding_ids=moved, codings=moved_rows, dropped=dropped, children_moved=[ch.id for ch in children])
    return len(moved)


def split_code(s: Session, project: Project, member: Member, code_id: str, new_names: list[str]) -> list[Code]:
    """Create codable children named ``new_names`` under the code, to split its meaning.

    Existing codings stay on the parent code: which child a passage belongs to is a
    coding decision, so coders re-code them into the children (and the parent can be
    made a folder once it has no codings left)."""
    member = require(s, member, Action.EDIT_CODEBOOK, project)
    project = lock_codebook(s, project)
    tree = _fresh_tree(s, project)
    code = _code(s, project, code_id)
    path = _path(tree, code.id)
    # Blank entries (empty lines of a text area) are skipped; anything else must be a valid name.
    names = [check_code_name(n, f"split of '{path}'") for n in new_names
             if not (isinstance(n, str) and not n.strip())]
    if not names:
        raise CodebookError(f"split of '{path}': give at least one new name, one per line")
    seen: set[str] = set()
    for n in names:
        if n.casefold() in seen:
            raise ConflictError(f"split of '{path}': the name {n!r} is given twice; give each new code its own name")
        seen.add(n.casefold())
        _check_unique(tree, code.id, n)
        check_nesting(tree, code.id, name=n)
    pos = _end_position(tree, code.id)
    taken: set[str] = set()
    created = []
    for i, n in enumerate(names):
        colour = _next_colour(s, project, taken)
        taken.add(colour)
        c = Code(project_id=project.id, parent_id=code.id, name=n, codable=True, colour=colour, position=pos + i)
        s.add(c)
        created.append(c)
    s.flush()
    tree = code_tree(s, project)
    _log(s, project, member, "code.split", code.id, f"split {path} into {', '.join(names)}",
         before=None, after=[_snapshot(tree, c) for c in created], codings_on_parent=_count(s, [code.id]))
    return created


def delete_code(s: Session, project: Project, member: Member, code_id: str, *, confirm_count: int) -> int:
    """Delete a code, its sub-codes and all their codings; returns the codings deleted.

    ``confirm_count`` is the number of codings the user was shown (``coding_impact``); when
    it differs from the current count the delete is refused, so a stale confirmation
    never deletes more than the user agreed to."""
    member = require(s, member, Action.EDIT_CODEBOOK, project)
    project = lock_codebook(s, project)
    tree = _fresh_tree(s, project)
    code = _code(s, project, code_id)
    ids = [code.id, *_descendants(tree, code.id)]
    path = _path(tree, code.id)
    _lock_codes(s, ids)  # codings being inserted for them are counted, or refused after the delete
    n = _count(s, ids)
    if confirm_count != n:
        raise ConflictError(
            f"code '{path}' and its sub-codes now have {n} coding{'s' if n != 1 else ''}, not the "
            f"{confirm_count} you confirmed (someone coded or removed codings meanwhile); "
            "review the new count and confirm again"
        )
    codes = [_snapshot(tree, tree.by_id[i]) for i in ids]
    codings = [_row(c) for c in s.scalars(select(Coding).where(Coding.code_id.in_(ids)))]
    adjudications = [{f: getattr(a, f) for f in _ADJ_FIELDS}
                     for a in s.scalars(select(Adjudication).where(Adjudication.code_id.in_(ids)))]
    set_members = [{"id": m.id, "set_id": m.set_id, "code_id": m.code_id}
                   for m in s.scalars(select(SetMember).where(SetMember.code_id.in_(ids)))]
    # Explicit deletes, deepest codes first, so nothing relies on ON DELETE CASCADE.
    s.execute(delete(SetMember).where(SetMember.code_id.in_(ids)), execution_options={"synchronize_session": False})
    s.execute(delete(Coding).where(Coding.code_id.in_(ids)), execution_options={"synchronize_session": False})
    s.execute(delete(Adjudication).where(Adjudication.code_id.in_(ids)),
              execution_options={"synchronize_session": False})
    # Deepest first; a code outside the walkable tree (corrupt, cyclic data) goes last,
    # its parent link cleared so the rows of a cycle can be deleted at all.
    depth = {i: tree.info[i].depth if i in tree.info else -1 for i in ids}
    if -1 in depth.values():
        s.execute(update(Code).where(Code.id.in_([i for i in ids if depth[i] == -1])).values(parent_id=None),
                  execution_options={"synchronize_session": False})
    for d in sorted(set(depth.values()), reverse=True):
        level = [i for i in ids if depth[i] == d]
        s.execute(delete(Code).where(Code.id.in_(level)), execution_options={"synchronize_session": False})
    for obj in list(s.identity_map.values()):
        if (isinstance(obj, Code) and obj.id in ids) or (isinstance(obj, Coding) and obj.code_id in ids):
            s.expunge(obj)
    _log(s, project, member, "code.delete", code_id,
         _delete_summary(path, len(ids), n),
         before={"codes": codes, "codings": codings, "adjudications": adjudications, "set_members": set_members},
         after=None)
    return n


# --- history ------------------------------------------------------------------------

def codebook_changes(s: Session, project: Project, member: Member, *, limit: int = 50) -> list[dict[str, Any]]:
    """The most recent codebook edits (``code.*`` events) ``member`` may see, newest first:
    when, who, action, what. Under the rule of :mod:`coding.team.visibility`: no event about a
    code another coder proposed (until a lead accepts it), and counts of codings in a
    merge or delete summary are of the codings ``member`` may see."""
    from coding.team.events import newest_first
    from coding.team.visibility import hidden_proposals, sees_code_event, visibility

    m = require(s, member, Action.READ_PROJECT, project)
    vis = visibility(s, m)
    hidden = hidden_proposals(s, vis)
    query = select(Event).where(Event.project_id == m.project_id, Event.action.like("code.%"))
    out = []
    for e in newest_first(s, query, limit):
        try:
            payload = json.loads(e.payload or "{}")
        except ValueError:
            payload = {}
        if not sees_code_event(hidden, e.seq, e.object_id, payload):
            continue
        out.append({"when": e.at, "who": e.actor, "action": e.action, "what": _summary_for(vis, e.action, payload)})
        if len(out) >= limit:
            break
    return out


def _merge_summary(spath: str, tpath: str, moved: int, dropped: int) -> str:
    return f"merged {spath} into {tpath} ({moved} codings moved, {dropped} duplicates dropped)"


def _delete_summary(path: str, codes: int, codings: int) -> str:
    return f"deleted {path} ({codes} code{'s' if codes != 1 else ''}, {codings} coding{'s' if codings != 1 else ''})"


def _summary_for(vis, action: str, payload: dict[str, Any]) -> str:
    """An event's summary, its coding counts redone with only the codings ``vis`` sees
    (a coder in an open blind round must not count the other coder's codings)."""
    summary = payload.get("summary", "")
    if not vis.restricted:
        return summary
    before = payload.get("before") or {}
    try:
        if action == "code.merge":
            return _merge_summary(before["source"]["path"], before["target"]["path"],
                                  vis.count_rows(payload.get("codings") or []),
                                  vis.count_rows(payload.get("dropped") or []))
        if action == "code.delete":
            return _delete_summary(before["codes"][0]["path"], len(before["codes"]),
                                   vis.count_rows(before.get("codings") or []))
    except (KeyError, IndexError, TypeError):
        return action  # an old or odd payload: say what happened, count nothing
    return summary
