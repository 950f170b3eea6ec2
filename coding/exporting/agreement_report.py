"""The agreement report for a methods section: one sentence saying how agreement was
measured (unit, coefficients, coders, n), and the per-code table, as DOCX.

Reads a :class:`coding.agreement.project.Report` (computed with the access and blind
rules of ``compute_agreement``); it computes nothing itself.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime

from coding.agreement.project import RELIABLE, TENTATIVE, Report
from coding.agreement.tables import partial_note, suggestions_note
from coding.exporting.docx_tables import add_table
from coding.exporting.writers import _docx, _heading, _para, xml_safe

UNIT_SINGULAR = {"character": "character", "sentence": "sentence", "turn": "speaker turn", "segment": "segment"}
UNIT_PLURAL = {"character": "characters", "sentence": "sentences", "turn": "speaker turns",
               "segment": "coded segments"}


def _nan(x) -> bool:
    return x is None or (isinstance(x, float) and math.isnan(x))


def _num(x, digits: int = 2) -> str:
    return "undefined" if _nan(x) else f"{x:.{digits}f}"


def _ci(ci) -> str:
    return f" [95% CI {ci[0]:.2f}, {ci[1]:.2f}]" if ci else ""


def _pct(x) -> str:
    return "undefined" if _nan(x) else f"{x * 100:.1f}%"


def _names(names: list[str]) -> str:
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def kappa_name(report: Report) -> str:
    return "Cohen's kappa" if len(report.coders) == 2 else "Fleiss' kappa"


def method_sentence(report: Report) -> str:
    """How agreement was measured, written out for a methods section: coders, documents,
    unit and its rule, coefficients, intervals, n, and the overall figures."""
    overall = report.rows[-1] if report.rows else None
    docs = len(report.options.get("documents") or [])
    opts = report.options
    coders = f"{len(report.coders)} coders ({_names(report.coders)})"
    where = f"{docs} document{'s' if docs != 1 else ''}"
    codes = len(report.rows) - 1
    if report.unit == "segment":
        out = (f"Agreement between {coders} was measured over {where} by segment matching: a coded segment "
               f"counted as matched when the other coder coded a segment of the same code overlapping it by at "
               f"least {opts.get('min_overlap', 0.9):.0%} of their union, and agreement is the share of "
               f"segments with a match (no chance correction).")
        if overall is not None:
            out += (f" Over {codes} code{'s' if codes != 1 else ''} and n = {overall.n_units:,} coded "
                    f"segments, {_pct(overall.percent)} found a match.")
    else:
        unit_rule = {
            "character": "each character of the transcripts was a unit, coded or not by each coder "
                         "for each code",
            "sentence": "each sentence (spaCy segmentation) was a unit",
            "turn": "each speaker turn was a unit",
        }[report.unit]
        if report.unit in ("sentence", "turn"):
            share = opts.get("min_share") or 0
            unit_rule += (", counted as coded by a coder when their spans covered at least "
                          f"{share:.0%} of it" if share else ", counted as coded by a coder when any of their "
                          "spans overlapped it")
        ci = opts.get("ci")
        interval = (f", with 95% bootstrap confidence intervals ({ci['n']:,} resamples, {ci['method']})"
                    if ci else "")
        out = (f"Agreement between {coders} was measured over {where}; {unit_rule}. For each code we report "
               f"percent agreement, {kappa_name(report)} and Krippendorff's alpha (nominal){interval}"
               + (", and unitizing alpha (u-alpha) over the continuous text" if report.unit == "character" else "")
               + f"; alpha of at least {RELIABLE:.3f} was read as reliable and {TENTATIVE:.3f} to {RELIABLE:.3f} "
               "as tentative (Krippendorff, 2004).")
        if overall is not None:
            out += (f" Over all {codes} code{'s' if codes != 1 else ''} together, each {UNIT_SINGULAR[report.unit]} and "
                    f"code pair one unit (n = {overall.n_units:,}, of which {overall.n_coded:,} coded by at least "
                    f"one coder), percent agreement was {_pct(overall.percent)} ({_pct(overall.percent_coded)} "
                    f"over the units at least one coder coded), {kappa_name(report)} {_num(overall.kappa)}{_ci(overall.kappa_ci)} "
                    f"and Krippendorff's alpha {_num(overall.alpha)}{_ci(overall.alpha_ci)}"
                    + (f" ({overall.verdict})" if overall.verdict else "") + ".")
    if opts.get("rollup"):
        out += " Codings of sub-codes were also counted for their parent code."
    if note := suggestions_note(report):
        out += " " + note
    out += f" Codebook version {report.codebook_version}."
    return out


def agreement_docx(report: Report, project: str, *, when: datetime | None = None, documents: bool = False) -> bytes:
    """The agreement report as a Word document: a cover line, the method sentence, the
    per-code table (the last row is all codes together), the note on documents only
    some coders worked on, and with ``documents`` the table per document and code."""
    doc = _docx()
    _heading(doc, "Inter-coder agreement", 0)
    stamp = (when or datetime.now(UTC)).strftime("%Y-%m-%d")
    _para(doc, f"Project {project}; unit {report.unit}; coders {', '.join(report.coders)}; codebook version "
               f"{report.codebook_version}; computed {stamp}", italic=True)
    _heading(doc, "Method", 1)
    _para(doc, method_sentence(report))
    _heading(doc, "Agreement per code", 1)
    header = ["Code", f"n ({UNIT_PLURAL[report.unit]})", "Coded", "% agreement", "% agreement (coded text)"]
    if report.unit != "segment":
        header += [f"{kappa_name(report)} [95% CI]", "Krippendorff's alpha [95% CI]", "Verdict"]
        if report.unit == "character":
            header.insert(-1, "u-alpha")
    table = doc.doc.add_table(rows=1, cols=len(header))
    table.style = doc.doc.styles["Table Grid"]
    for cell, text in zip(table.rows[0].cells, header):
        cell.text = ""
        doc.run(cell.paragraphs[0], text).bold = True
    for r in report.rows:
        values = [r.code, f"{r.n_units:,}", f"{r.n_coded:,}", _pct(r.percent), _pct(r.percent_coded)]
        if report.unit != "segment":
            values += [_num(r.kappa, 3) + _ci(r.kappa_ci).replace("95% CI ", ""),
                       _num(r.alpha, 3) + _ci(r.alpha_ci).replace("95% CI ", ""), r.verdict]
            if report.unit == "character":
                values.insert(-1, _num(r.u_alpha, 3))
        cells = table.add_row().cells
        for cell, text in zip(cells, values):
            cell.text = xml_safe(text)
    if note := partial_note(report):
        _para(doc, note)
    if documents and report.by_document:
        _heading(doc, "Agreement per document", 1)
        two = report.unit != "segment" and len(report.coders) == 2
        header = ["Document", "Code", f"Coded ({UNIT_PLURAL[report.unit]})", "% agreement"] + (["Kappa"] if two else [])
        add_table(doc, header, [[c["document"], c["code"], f"{c.get('coded') or 0:,}", _pct(c.get("percent"))]
                                + ([_num(c.get("kappa"), 3)] if two else []) for c in report.by_document])
    return doc.save()
