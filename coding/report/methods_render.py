"""The methods report (:class:`coding.report.sections.MethodsReport`) as Markdown and as a
Word document: headings, paragraphs with note markers, tables, and the notes naming the
command behind each number. Text goes through the exports' escaping (Markdown) and XML
cleaning (DOCX), so a code or document name is never markup."""

from __future__ import annotations

import io
import re

from coding.exporting.docx_tables import add_table
from coding.exporting.table import md_text, write_table
from coding.exporting.writers import _docx, _heading, _para, xml_safe
from coding.report.saturation_chart import render
from coding.report.sections import MethodsReport

_MARK = re.compile(r"\[(\d+)\]")


def _md_line(text: str) -> str:
    """A paragraph as Markdown: literal text, its ``[n]`` markers as footnote references."""
    parts = _MARK.split(text)
    return "".join(md_text(p) if i % 2 == 0 else f"[^{p}]" for i, p in enumerate(parts))


def to_markdown(report: MethodsReport) -> str:
    out = [f"# Methods: {md_text(report.project)}", ""]
    for sec in report.sections:
        out += [f"## {md_text(sec.title)}", ""]
        for p in sec.paragraphs:
            out += [_md_line(p), ""]
        for caption, header, rows in sec.tables:
            out += [f"*{md_text(caption)}*", "", write_table("md", header, rows)]
        for caption, _ in sec.charts:  # Markdown holds no image: the note names the command that draws it
            out += [f"*Figure: {_md_line(caption)}* (an image in the DOCX report)", ""]
    out += ["## Notes: the commands that reproduce the numbers", ""]
    out += [f"[^{i}]: `{n}`" for i, n in enumerate(report.notes, start=1)]
    return "\n".join(out) + "\n"


def to_docx(report: MethodsReport) -> bytes:
    doc = _docx()
    _heading(doc, xml_safe(f"Methods: {report.project}"), 0)
    for sec in report.sections:
        _heading(doc, xml_safe(sec.title), 1)
        for p in sec.paragraphs:
            _para(doc, xml_safe(p))
        for caption, header, rows in sec.tables:
            _para(doc, xml_safe(caption), italic=True)
            add_table(doc, [xml_safe(h) for h in header], [[xml_safe(c) for c in r] for r in rows])
        for caption, spec in sec.charts:
            _chart(doc, spec)
            _para(doc, xml_safe("Figure: " + caption), italic=True)
    _heading(doc, "Notes: the commands that reproduce the numbers", 1)
    for i, n in enumerate(report.notes, start=1):
        _para(doc, xml_safe(f"[{i}] {n}"))
    return doc.save()


def _chart(doc, spec: dict) -> None:
    """The chart as a PNG picture (6 inches wide) in a paragraph of its own."""
    from docx.shared import Inches

    doc.paragraph().add_run().add_picture(io.BytesIO(render(spec, "png")), width=Inches(6))
