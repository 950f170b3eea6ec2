"""Agreement reports as text, CSV and Markdown (the methods-section table).

CSV and Markdown go through the one table writer (:func:`coding.exporting.table.write_table`),
so a code named ``=1+2`` or ``<img onerror=...>`` is an inert cell there as in every export."""

from __future__ import annotations

import math

from coding.exporting.table import md_text, write_table
from coding.agreement.project import Report, Row

COLUMNS = ["code", "unit", "n_units", "n_coded", "percent", "percent_coded", "kappa", "kappa_ci_low",
           "kappa_ci_high", "alpha", "alpha_ci_low", "alpha_ci_high", "alpha_coded", "u_alpha", "verdict"]


def _num(x, digits=3) -> str:
    return "" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x:.{digits}f}"


def _ci(ci) -> str:
    return f"[{ci[0]:.2f}, {ci[1]:.2f}]" if ci else ""


def flat(row: Row) -> dict:
    kc, ac = row.kappa_ci or (None, None), row.alpha_ci or (None, None)
    return {"code": row.code, "unit": row.unit, "n_units": row.n_units, "n_coded": row.n_coded,
            "percent": row.percent, "percent_coded": row.percent_coded, "kappa": row.kappa,
            "kappa_ci_low": kc[0], "kappa_ci_high": kc[1], "alpha": row.alpha, "alpha_ci_low": ac[0],
            "alpha_ci_high": ac[1], "alpha_coded": row.alpha_coded, "u_alpha": row.u_alpha, "verdict": row.verdict}


def report_csv(report: Report) -> str:
    """One row per code (the last: all codes together), the columns of :data:`COLUMNS`."""
    return write_table("csv", COLUMNS, ([flat(r)[k] for k in COLUMNS] for r in report.rows))


def report_markdown(report: Report) -> str:
    """The per-code table for a methods section, then the coders, unit and notes."""
    kappa = "Cohen's κ" if len(report.coders) == 2 else "Fleiss' κ"
    header = ["Code", f"n ({report.unit}s)", "coded", "% agreement", "% agr. (coded text)", f"{kappa} [95% CI]",
              "Krippendorff's α [95% CI]"] + (["uα"] if report.unit == "character" else [])
    rows = []
    for r in report.rows:
        cells = [r.code, f"{r.n_units:,}", f"{r.n_coded:,}", _num(r.percent * 100 if r.percent == r.percent else r.percent, 1),
                 _num(r.percent_coded * 100 if r.percent_coded == r.percent_coded else r.percent_coded, 1),
                 f"{_num(r.kappa)} {_ci(r.kappa_ci)}".strip(), f"{_num(r.alpha)} {_ci(r.alpha_ci)}".strip()]
        if report.unit == "character":
            cells.append(_num(r.u_alpha))
        rows.append(cells)
    lines = [write_table("md", header, rows)]
    lines.append(md_text(f"Coders: {', '.join(report.coders)}; unit: {report.unit}; documents: "
                         f"{len(report.options['documents'])}; codebook version {report.codebook_version}. "
                         "α ≥ .800 reliable, .667–.800 tentative (Krippendorff 2004)."))
    for note in (suggestions_note(report), partial_note(report)):
        if note:
            lines += ["", md_text(note)]
    return "\n".join(lines) + "\n"


def suggestions_note(report: Report) -> str:
    """One sentence on codings made from accepted suggestions ("" when none were on these
    documents and they were counted as usual)."""
    opt = report.options.get("suggestions") or {}
    mode, n = opt.get("mode", "include"), int(opt.get("codings") or 0)
    some = f"{n:,} coding{'s' if n != 1 else ''}"
    if mode == "exclude":
        return f"Codings made from accepted suggestions (provenance 'suggested') were left out: {some}."
    if mode == "only":
        return f"Only codings made from accepted suggestions (provenance 'suggested') were counted: {some}."
    return (f"{some} made from accepted suggestions (provenance 'suggested') {'were' if n != 1 else 'was'} "
            "counted like the others." if n else "")


def partial_note(report: Report) -> str:
    """One sentence on documents only some coders worked on ("" when there are none)."""
    partial = report.options.get("partial") or []
    if not partial:
        return ""
    names = "; ".join(f"{p['document']} (coded by {', '.join(p['coded_by'])}, not by {', '.join(p['not_coded_by'])})"
                      for p in partial)
    if partial[0]["counted"]:
        return (f"Counted although not every coder worked on them (their units count as not coded by the "
                f"others): {names}.")
    return (f"Left out until every chosen coder has coded them or marked them done: {names}.")


def report_text(report: Report) -> str:
    out = [f"{'code':<60} {'n':>8} {'coded':>7} {'%agr':>6} {'%coded':>6} {'kappa':>6} {'alpha':>6} "
           f"{'u-alpha':>7}  verdict"]
    for r in report.rows:
        out.append(f"{r.code[-60:]:<60} {r.n_units:>8} {r.n_coded:>7} {_num(r.percent):>6} "
                   f"{_num(r.percent_coded):>6} {_num(r.kappa):>6} {_num(r.alpha):>6} "
                   f"{_num(r.u_alpha):>7}  {r.verdict}")
    out.append(f"coders: {', '.join(report.coders)}; unit: {report.unit}; documents: "
               f"{', '.join(report.options['documents'])}")
    if note := suggestions_note(report):
        out.append(note)
    if note := partial_note(report):
        out.append(note)
    return "\n".join(out) + "\n"
