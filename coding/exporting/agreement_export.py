"""Agreement as an export file (``export agreement``, the Agreement page's downloads): the
overall figures, the table per code and the table per document, through the one table
writer, and an About part (method sentence, coders, unit, documents, code paths, date).

* CSV: one table (``table``: codes, the default, with the overall row last as
  :func:`coding.agreement.tables.report_csv` writes it; documents; or overall).
* XLSX: sheets "Overall", "Per code", "Per document" and "About".
* Markdown: the About lines, then the three tables under headings.
* DOCX: the Word report of :mod:`coding.exporting.agreement_report` with the table per document.

The figures are :func:`coding.agreement.project.compute_agreement`'s, unchanged: the
access and blind rules are its (a coder's figures leave out documents of an open blind
round, and naming one is refused).
"""

from __future__ import annotations

import math
from datetime import UTC, datetime

from sqlalchemy.orm import Session

from coding.agreement.project import Report, compute_agreement
from coding.agreement.tables import COLUMNS, flat, partial_note, suggestions_note
from coding.errors import CodingError
from coding.exporting.agreement_report import agreement_docx, method_sentence
from coding.exporting.exports import MIME, Export, _slug
from coding.exporting.table import Sheet, md_text, write_sheets, write_table
from coding.store.models import Project
from coding.team.access import Action, require
from coding.team.members import Member

AGREEMENT_FORMATS = ("csv", "xlsx", "md", "docx")
TABLES = ("codes", "documents", "overall")
DOCUMENT_COLUMNS = ["document", "code", "unit", "coded", "percent", "kappa"]


def _value(x):
    """A number as a number; NaN and None as an empty cell."""
    return None if x is None or (isinstance(x, float) and math.isnan(x)) else x


def overall_table(report: Report) -> tuple[list[str], list[list]]:
    """The "(all codes)" row: every (code, unit) pair one unit."""
    rows = [r for r in report.rows if r.code_id is None]
    return list(COLUMNS), [[_value(flat(r)[k]) for k in COLUMNS] for r in rows]


def code_table(report: Report) -> tuple[list[str], list[list]]:
    """One row per code (its path), then the overall row: report_csv's table."""
    return list(COLUMNS), [[_value(flat(r)[k]) for k in COLUMNS] for r in report.rows]


def document_table(report: Report) -> tuple[list[str], list[list]]:
    """One row per document and code: units coded by at least one coder, percent agreement
    and kappa (two coders, character/sentence/turn units; empty otherwise)."""
    return list(DOCUMENT_COLUMNS), [[c["document"], c["code"], report.unit, c.get("coded"), _value(c.get("percent")),
                                     _value(c.get("kappa"))] for c in report.by_document]


def about_rows(report: Report, project: str, when: datetime) -> list[tuple[str, str]]:
    """(label, text) lines saying how the figures were made; codes by path."""
    opts = report.options
    codes = [r.code for r in report.rows if r.code_id is not None]
    rows = [("Project", project), ("Method", method_sentence(report)), ("Coders", ", ".join(report.coders)),
            ("Unit", report.unit), ("Documents", "; ".join(opts.get("documents") or [])),
            ("Codes", "; ".join(codes)), ("Codebook version", str(report.codebook_version)),
            ("Computed", f"{when:%Y-%m-%d %H:%M} UTC")]
    if report.unit in ("sentence", "turn"):
        rows.append(("Minimum share of a unit coded", f"{opts.get('min_share') or 0:g}"))
    if report.unit == "segment":
        rows.append(("Minimum overlap to match", f"{opts.get('min_overlap', 0.9):g}"))
    rows.append(("Sub-codes rolled up", "yes" if opts.get("rollup") else "no"))
    rows.append(("Columns", "percent, percent_coded: shares from 0 to 1; percent_coded and alpha_coded over the "
                            "units at least one coder coded; kappa: Cohen's for two coders, Fleiss' for more"))
    for label, note in (("Suggestions", suggestions_note(report)), ("Documents left out", partial_note(report))):
        if note:
            rows.append((label, note))
    return rows


def agreement_file(report: Report, project: str, fmt: str, *, table: str = "codes",
                   when: datetime | None = None) -> bytes:
    """The report as ``fmt`` (csv, xlsx, md, docx): bytes ready for a file or a download."""
    when = when or datetime.now(UTC)
    if fmt not in AGREEMENT_FORMATS:
        raise CodingError(f"agreement exports as {', '.join(AGREEMENT_FORMATS)}, not {fmt!r}")
    if table not in TABLES:
        raise CodingError(f"table {table!r} is not one of {', '.join(TABLES)}")
    if fmt == "csv":
        pick = {"codes": code_table, "documents": document_table, "overall": overall_table}[table]
        return write_table("csv", *pick(report)).encode("utf-8-sig")
    if fmt == "xlsx":
        return write_sheets([Sheet("Overall", *overall_table(report)),
                             Sheet("Per code", *code_table(report), widths={"code": 40}),
                             Sheet("Per document", *document_table(report), widths={"document": 28, "code": 40})],
                            cover=[("About", f"Inter-coder agreement, {project}"), *about_rows(report, project, when)])
    if fmt == "md":
        out = ["# Inter-coder agreement", ""]
        out += [f"**{md_text(label)}:** {md_text(text)}  " for label, text in about_rows(report, project, when)]
        for heading, (header, rows) in (("Overall", overall_table(report)), ("Per code", code_table(report)),
                                        ("Per document", document_table(report))):
            out += ["", f"## {heading}", "", write_table("md", header, rows)]
        return "\n".join(out).encode()
    return agreement_docx(report, project, when=when, documents=True)


def export_agreement(s: Session, project: Project, member: Member, fmt: str, *, coders: list[str],
                     unit: str = "character", codes: list[str] | None = None, documents: list[str] | None = None,
                     min_share: float = 0.0, min_overlap: float = 0.9, rollup: bool = False, ci: bool = True,
                     n_boot: int = 1000, suggestions: str = "include", table: str = "codes",
                     when: datetime | None = None) -> Export:
    """Compute agreement as ``member`` (the blind rule leaves out what they may not see) and
    write it as ``fmt``. Sentence units store new sentences: call it in a write session then."""
    m = require(s, member, Action.COMPUTE_AGREEMENT, project)
    if fmt not in AGREEMENT_FORMATS:  # before the computation, which can take a while
        raise CodingError(f"agreement exports as {', '.join(AGREEMENT_FORMATS)}, not {fmt!r}")
    report = compute_agreement(s, project, coders, member=m, unit=unit, codes=codes, min_share=min_share,
                               min_overlap=min_overlap, rollup=rollup, documents=documents, ci=ci, n_boot=n_boot,
                               suggestions=suggestions)
    data = agreement_file(report, project.name, fmt, table=table, when=when)
    suffix = f"-{table}" if fmt == "csv" and table != "codes" else ""
    return Export(data, f"{_slug(project.name)}-agreement-{unit}{suffix}.{fmt}", MIME[fmt])
