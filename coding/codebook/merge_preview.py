"""What importing a YAML codebook would do, before it is stored: the merge report.

:func:`coding.codebook.tree.import_codebook` merges a file into the project's codebook:
a code of the file matching a stored code by id, else by path, updates it; any other
code is created; stored codes the file does not name are kept as they are. The preview
applies the same matching to the file and the stored tree, without writing, so a lead
sees each code's fate (and the counts the import then reports) before choosing to import.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from coding.codebook.tree import SEP, TEXT_FIELDS, CodebookFile, code_tree
from coding.codebook.walk import walk_tree
from coding.store.models import Project
from coding.team.access import Action, require
from coding.team.members import Member


@dataclass(frozen=True)
class MergeRow:
    """One code of the file or of the codebook: ``action`` is "create", "update" (with the
    fields that change, "" when none does) or "keep" (stored, not in the file)."""

    path: str
    action: str
    changes: str = ""


def codebook_merge_preview(s: Session, project: Project, member: Member, book: CodebookFile) -> list[MergeRow]:
    """The merge report of importing ``book`` into ``project`` now: one row per code of the
    file, in the file's order, then the stored codes it leaves as they are. Only a lead
    (who may import it) gets it. The counts of "create" and "update" rows are those the
    import reports; the import itself still checks everything again when it stores."""
    require(s, member, Action.EDIT_CODEBOOK, project)
    tree = code_tree(s, project)
    rows: list[MergeRow] = []
    touched: set[str] = set()
    paths: dict[int, str] = {}
    for step in walk_tree(book.codes, lambda node: node.children):
        n = step.node
        parent_path = paths[id(step.parent)] if step.parent is not None else ""
        path = paths[id(n)] = f"{parent_path}{SEP}{n.name}" if parent_path else n.name
        existing = tree.info.get(n.id) if n.id else None  # the same rule as import_codebook
        if existing is None and path in tree.by_path:
            existing = tree.by_path[path]
        if existing is None:
            rows.append(MergeRow(path, "create"))
            continue
        touched.add(existing.id)
        changed = [f for f in ("name", "codable", "colour", *TEXT_FIELDS) if getattr(existing, f) != getattr(n, f)]
        if existing.path != path:
            changed.insert(0, f"moved from {existing.path}")
        rows.append(MergeRow(path, "update", ", ".join(changed)))
    rows += [MergeRow(i.path, "keep") for i in tree.infos if i.id not in touched]
    return rows
