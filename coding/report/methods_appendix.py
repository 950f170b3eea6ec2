"""The methods report's appendix: the final codebook, one row per code with its definition,
inclusion and exclusion criteria and example (the codes the reader may see)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from coding.team.access import Action, require
from coding.team.members import Member
from coding.store.models import Project
from coding.report.sections import Section


def codebook_appendix(s: Session, project: Project, member: Member):
    """The appendix section ."""
    from coding.codebook.tree import visible_code_tree

    m = require(s, member, Action.READ_PROJECT, project)
    tree = visible_code_tree(s, project, m)
    rows = [[i.path + ("" if i.codable else " (folder)"), i.definition, i.inclusion, i.exclusion, i.example]
            for i in tree.infos]
    return Section("Appendix: final codebook",
                   [f"Codebook version {project.codebook_version}, {len(rows)} codes, in the codebook's order."],
                   [("Final codebook", ["Code", "Definition", "Inclusion", "Exclusion", "Example"], rows)])


def round_changes_appendix(s: Session, project: Project, member: Member) -> Section | None:
    """For each pair of consecutive rounds, the codebook changes made between their openings,
    definitions (and criteria) before and after side by side; None when there are fewer than two rounds."""
    from coding.report.history import changes_between_rounds
    from coding.work.rounds import list_rounds

    m = require(s, member, Action.READ_PROJECT, project)
    rounds = [r.name for r in list_rounds(s, project)]
    if len(rounds) < 2:
        return None
    sec = Section("Appendix: codebook changes between rounds")
    for a, b in zip(rounds, rounds[1:]):
        rows = changes_between_rounds(s, project, m, a, b)
        if not rows:
            sec.paragraphs.append(f"No codebook change between the openings of {a} and {b}.")
            continue
        sec.tables.append((f"Codebook changes between {a} and {b}",
                           ["Code", "Change", "Definition before", "Definition after", "Inclusion / exclusion before",
                            "Inclusion / exclusion after"],
                           [[r["code"], r["changes"], r["definition_before"], r["definition_after"],
                             _criteria(r, "before"), _criteria(r, "after")] for r in rows]))
    return sec


def _criteria(row: dict, side: str) -> str:
    parts = [f"{label}: {row[f'{f}_{side}']}" for f, label in (("inclusion", "Include"), ("exclusion", "Exclude"))
             if row[f"{f}_{side}"]]
    return "\n".join(parts)
