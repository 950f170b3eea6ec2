"""Importing REFI-QDA projects (``.qdpx``) and codebooks (``.qdc``) into a project.

Reading is pure and happens first (:mod:`coding.interchange.plan`): the archive checked, the XML
parsed safely and validated, every reference, GUID and selection checked, every
position converted (:class:`coding.text.offsets.RefiPositions`, by the file's origin and
the source's own line endings). Without ``lenient`` any problem refuses the file with
every reason listed, each naming its element path; with it, what is valid is
imported and the rest reported. Storing (:mod:`coding.interchange.storing`) then happens
in one savepoint of the caller's transaction: a failed import leaves nothing behind.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from coding.interchange.plan import (
    MAX_REASONS,
    _Plan,
    _refuse_or_report,
    read_qdc,
    read_qdpx,
)
from coding.interchange.report import RefiImportReport
from coding.interchange.storing import _Store
from coding.store.models import Project
from coding.team.access import Action, require_or_setup
from coding.team.events import log_event


def _report(plan: _Plan, project: Project, dry_run: bool) -> RefiImportReport:
    return RefiImportReport(plan.filename, plan.refi.origin, plan.convention, project.name, dry_run,
                            selections=plan.selections, inside_word=plan.inside_word, snapped=plan.snapped)


def _finish(s: Session, project: Project, member: Any, plan: _Plan, report: RefiImportReport,
            lenient: bool) -> None:
    report.skipped.update(plan.skipped)
    report.skipped = +report.skipped  # drop kinds counted zero
    report.warnings = list(plan.warnings)
    report.problems = list(plan.problems)
    _refuse_or_report(plan, lenient)
    log_event(s, project.id, member, "interchange.import", "project", project.id,
              file=plan.filename, kind=plan.refi.kind, origin=plan.refi.origin, positions=plan.convention,
              documents=report.documents, codes={"created": report.codes_created, "updated": report.codes_updated},
              codings=report.codings_by_coder, consensus=report.consensus_codings,
              coders=report.members_created,
              memos={"documents": report.document_memos, "codings": report.coding_memos,
                     "journal": report.journal_entries},
              code_notes=report.code_notes,
              sets={"created": report.sets_created, "updated": report.sets_updated, "members": report.set_members},
              attributes=report.attributes, skipped=dict(report.skipped), warnings=report.warnings,
              problems=report.problems[:MAX_REASONS])


def _acting(s: Session, project: Project, member: Any):
    # An import adds members and edits the codebook: a lead's work (or the setup of a new project).
    return require_or_setup(s, member, Action.MANAGE_MEMBERS, project)


def import_qdpx(s: Session, project: Project, member: Any, data: bytes, filename: str, *, lenient: bool = False,
                positions: str | None = None, dry_run: bool = False) -> RefiImportReport:
    """Import a REFI-QDA project into ``project`` as ``member`` (a lead), all or nothing.

    ``positions`` overrides how positions are counted (see
    :data:`coding.text.offsets.REFI_CONVENTIONS`; default: by the file's origin). ``dry_run``
    does all the work and checks, then rolls it back: the report is the summary to show
    before committing. Raises :class:`RefiError` listing the problems unless ``lenient``."""
    member = _acting(s, project, member)
    plan = read_qdpx(data, filename, positions=positions)
    _refuse_or_report(plan, lenient)
    report = _report(plan, project, dry_run)
    nested = s.begin_nested()
    try:
        st = _Store(s, project, member, plan, report)
        st.members()
        st.codebook({c.code for c in plan.codings})
        st.documents()
        st.codings()
        st.memos()
        st.sets()
        st.attributes()
        _finish(s, project, member, plan, report, lenient)
        s.flush()
    except BaseException:
        nested.rollback()
        raise
    if dry_run:
        nested.rollback()
    else:
        nested.commit()
    return report


def import_qdc(s: Session, project: Project, member: Any, data: bytes, filename: str, *,
               lenient: bool = False) -> RefiImportReport:
    """Merge a REFI-QDA codebook into ``project`` (by GUID, then by path), as a lead."""
    member = require_or_setup(s, member, Action.EDIT_CODEBOOK, project)
    plan = read_qdc(data, filename)
    _refuse_or_report(plan, lenient)
    report = _report(plan, project, False)
    with s.begin_nested():
        st = _Store(s, project, member, plan, report)
        st.codebook(set())
        st.sets()
        _finish(s, project, member, plan, report, lenient)
    return report
