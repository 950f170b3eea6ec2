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
