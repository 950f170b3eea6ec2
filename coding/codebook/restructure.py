"""Restructuring the stored codebook: merge, split and delete codes, and what a delete
would remove (:func:`coding_impact`, :func:`delete_impact`).

Same rules as :mod:`coding.codebook.edits` (lead only, one event each, the version
bumped, the project row locked first); merge and delete also lock the codes whose
codings they move or delete, and record every row they move or remove, so undo and
the audit trail have it all.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from coding.codebook.edits import (
    _ancestors,
    _check_unique,
    _code,
    _count,
    _end_position,
    _fresh_tree,
    _lock_codes,
    _log,
    _next_colour,
    _path,
    _snapshot,
)
from coding.codebook.tree import CodeTree, check_code_name, check_nesting, code_tree, lock_codebook
from coding.errors import CodebookError, ConflictError, NotFoundError
from coding.team.access import Action, require
from coding.team.members import Member
from coding.store.models import Adjudication, Code, Coding, Project, SetMember


_ADJ_FIELDS = ("id", "document_id", "code_id", "start", "end", "decision", "reason", "decided_by")
_ROW_FIELDS = ("id", "project_id", "document_id", "code_id", "coder_id", "start", "end", "memo",
               "provenance", "layer", "created_at")


def _descendants(tree: CodeTree, code_id: str) -> list[str]:
    """Ids below ``code_id`` (the one tree walker's, which ends on a cyclic, corrupt tree too)."""
    return tree.descendants(code_id)


def _row(c: Coding) -> dict[str, Any]:
    """A coding's full row, as events record it (enough to restore it)."""
    return {f: getattr(c, f) for f in _ROW_FIELDS}


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


def _merge_summary(spath: str, tpath: str, moved: int, dropped: int) -> str:
    return f"merged {spath} into {tpath} ({moved} codings moved, {dropped} duplicates dropped)"


def _delete_summary(path: str, codes: int, codings: int) -> str:
    return f"deleted {path} ({codes} code{'s' if codes != 1 else ''}, {codings} coding{'s' if codings != 1 else ''})"
