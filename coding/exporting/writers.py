"""Writers over excerpt records and matrices: CSV, XLSX, Markdown, DOCX.

Tables (CSV, XLSX, Markdown) are written by the one table writer,
:func:`coding.exporting.table.write_table`, which keeps every cell inert (no formula, no
markup, no link). Characters XML cannot hold (NUL and other C0 controls but tab and LF)
become U+FFFD in XLSX and DOCX; CSV and Markdown keep the stored text.

Each writer returns bytes (or str for text formats), ready for a file or a download.
"""

from __future__ import annotations

import io
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from coding.codebook.tree import CodeTree
from coding.exporting.excerpts import Excerpt
from coding.exporting.matrices import Matrix
from coding.exporting.table import FORMULA_START, md_text, neutralise, write_table, xml_safe  # noqa: F401 (importable here too)

FIXED = ("document", "code", "coder", "layer", "provenance", "start", "end", "location", "speakers", "timestamp",
         "attribution", "text", "memo")


@dataclass(frozen=True)
class About:
    """What the cover line of an export says."""

    project: str
    layer: str
    codebook_version: int
    filters: str = ""
    pseudonymised: bool = False
    when: datetime | None = None
    quotes: str = ""                  # how the quote bank chose its quotes
    warnings: tuple[str, ...] = ()    # e.g. attribution fields some documents lack
    notes: tuple[str, ...] = ()       # how to read the file (the CSV formula guard)

    def line(self) -> str:
        when = (self.when or datetime.now(UTC)).strftime("%Y-%m-%d")
        parts = [f"Project {self.project}", f"layer {self.layer}", f"codebook version {self.codebook_version}",
                 f"exported {when}"]
        if self.quotes:
            parts.append(self.quotes)
        if self.filters:
            parts.append(f"filters: {self.filters}")
        if self.pseudonymised:
            parts.append("PSEUDONYMISED: names replaced by pseudonyms in this export only")
        return "; ".join(parts)

    def rows(self) -> list[list[str]]:
        """The About sheet: the cover line, then one row per warning and note."""
        return [[self.line()], *([f"Warning: {w}"] for w in self.warnings), *([n] for n in self.notes)]


# --- excerpt rows ------------------------------------------------------------------------

def excerpt_columns(excerpts: Sequence[Excerpt]) -> tuple[list[str], int, list[str]]:
    """(header, number of level columns, attribute names) for one row per excerpt."""
    depth = max((len(e.code_levels) for e in excerpts), default=1)
    attr_names = sorted({k for e in excerpts for k in e.attributes}, key=str.casefold)
    levels = [f"level {i}" for i in range(1, depth + 1)]
    taken = set(FIXED) | set(levels)
    attr_cols = [a if a not in taken else f"attribute {a}" for a in attr_names]
    header = ["document", "code", *levels, "coder", "layer", "provenance", "start", "end", "location", "speakers",
              "timestamp", "attribution", "text", "memo", *attr_cols]
    return header, depth, attr_names


def excerpt_rows(excerpts: Sequence[Excerpt], *, pseudonymised: bool = False) -> tuple[list[str], list[list]]:
    """Header and rows (offsets as ints, everything else text), not yet neutralised. A
    pseudonymised export says so in a last column on every row."""
    header, depth, attr_names = excerpt_columns(excerpts)
    rows = []
    for e in excerpts:
        levels = list(e.code_levels) + [""] * (depth - len(e.code_levels))
        rows.append([e.document, e.code, *levels, e.coder, e.layer, e.provenance, e.start, e.end, e.location,
                     "; ".join(e.speakers), e.timestamp or "", e.attribution, e.text, e.memo,
                     *(e.attributes.get(a, "") for a in attr_names)])
    if pseudonymised:
        header.append("PSEUDONYMISED")
        for r in rows:
            r.append("yes: names replaced by pseudonyms in this export only")
    return header, rows


def excerpts_csv(excerpts: Sequence[Excerpt], *, pseudonymised: bool = False) -> str:
    """One row per excerpt, code path also split into level columns; UTF-8 text (write it
    with a BOM, ``utf-8-sig``, for Excel). Cells starting like a formula get an apostrophe,
    and a last column names them per row (:data:`coding.exporting.table.GUARD_COLUMN`)."""
    return write_table("csv", *excerpt_rows(excerpts, pseudonymised=pseudonymised), guard_column=True)


def matrix_csv(m: Matrix) -> str:
    t = m.table()
    return write_table("csv", t[0], t[1:])


# --- XLSX ----------------------------------------------------------------------------------

def excerpts_xlsx(excerpts: Sequence[Excerpt], about: About | None = None) -> bytes:
    """One row per excerpt in a sheet "Excerpts" (header, frozen panes, filters, wrapped
    quote and memo columns); an "About" sheet with the cover line when given."""
    header, rows = excerpt_rows(excerpts, pseudonymised=bool(about and about.pseudonymised))
    widths = {"text": 80, "memo": 40, "code": 36, "document": 28, "attribution": 28}
    return write_table("xlsx", header, rows, title="Excerpts", widths=widths, wrapped={"text", "memo"},
                       cover=about.rows() if about else None)


def matrix_xlsx(m: Matrix, about: About | None = None) -> bytes:
    t = m.table()
    return write_table("xlsx", t[0], t[1:], title="Matrix", widths={m.row_header: 48},
                       cover=about.rows() if about else None)


# --- Markdown ------------------------------------------------------------------------------

def excerpts_markdown(excerpts: Sequence[Excerpt], about: About | None = None) -> str:
    """A Markdown table, one row per excerpt (the CSV's columns)."""
    head = "# Coded excerpts\n\n" + ("".join(f"{md_text(r[0])}\n\n" for r in about.rows()) if about else "")
    return head + write_table("md", *excerpt_rows(excerpts))


def matrix_markdown(m: Matrix, about: About | None = None) -> str:
    t = m.table()
    head = f"# {md_text(m.title)}\n\n" + (f"{md_text(about.line())}\n\n" if about else "")
    return head + write_table("md", t[0], t[1:])


# --- DOCX ----------------------------------------------------------------------------------

_BREAKS = re.compile(r"([\t\r\n])")


class _Docx:
    """A python-docx Document with a fast paragraph append.

    ``Document.add_paragraph(style=...)`` looks the style up by name and inserts
    before the section properties by scanning the body: both grow with the
    document, so a 20,000-quote bank took minutes. Here style ids are looked up
    once and each paragraph goes straight before ``sectPr``."""

    def __init__(self):
        from docx import Document

        self.doc = Document()
        self._body = self.doc.element.body
        self._end = self._body.sectPr  # found once: finding it scans the whole body
        self._ids: dict[str, str] = {}

    def paragraph(self, style: str | None = None):
        from docx.oxml import OxmlElement
        from docx.text.paragraph import Paragraph

        p = OxmlElement("w:p")
        if style is not None:
            if style not in self._ids:
                self._ids[style] = self.doc.styles[style].style_id
            p.get_or_add_pPr().style = self._ids[style]
        if self._end is not None:
            self._end.addprevious(p)
        else:
            self._body.append(p)
        return Paragraph(p, self.doc._body)

    @staticmethod
    def run(p, text: str):
        """A run holding ``text`` (tabs and line breaks as Word's), XML-safe. Same content
        as ``Run.text = text``, which walks the text one character at a time."""
        run = p.add_run()
        r = run._r
        for piece in _BREAKS.split(xml_safe(text)):
            if piece == "\t":
                r.add_tab()
            elif piece in ("\n", "\r"):
                r.add_br()
            elif piece:
                r.add_t(piece)
        return run

    def save(self) -> bytes:
        buf = io.BytesIO()
        self.doc.save(buf)
        return buf.getvalue()


def _docx() -> _Docx:
    return _Docx()


def _para(doc: _Docx, text: str, style: str | None = None, *, italic: bool = False, bold_label: str = ""):
    p = doc.paragraph(style)
    if bold_label:
        doc.run(p, bold_label).bold = True
    run = doc.run(p, text)
    if italic:
        run.italic = True
    return p


def _heading(doc: _Docx, text: str, level: int):
    """Heading 1-9, or the Title style for level 0."""
    p = doc.paragraph("Title" if level == 0 else f"Heading {min(max(level, 1), 9)}")
    doc.run(p, text)
    return p


def _save(doc: _Docx) -> bytes:
    return doc.save()


def _small():
    from docx.shared import Pt

    return Pt(8)


@dataclass(frozen=True)
class CodeCount:
    excerpts: int
    documents: int


def code_counts(excerpts: Sequence[Excerpt]) -> dict[str, CodeCount]:
    """Excerpts and distinct documents per code id (direct codings only)."""
    n: dict[str, int] = {}
    docs: dict[str, set] = {}
    for e in excerpts:
        n[e.code_id] = n.get(e.code_id, 0) + 1
        docs.setdefault(e.code_id, set()).add(e.document_id)
    return {c: CodeCount(n[c], len(docs[c])) for c in n}


def appendix_docx(tree: CodeTree, counts: dict[str, CodeCount], about: About, *, title: str = "Codebook") -> bytes:
    """The codebook tree for a paper's appendix: each code with definition, inclusion,
    exclusion, example and its counts (excerpts, documents)."""
    doc = _docx()
    _heading(doc, title, 0)
    _para(doc, about.line(), italic=True)
    for info in tree.infos:
        _heading(doc, info.name, info.depth + 1)
        c = counts.get(info.id, CodeCount(0, 0))
        _para(doc, f"{c.excerpts} excerpt(s) in {c.documents} document(s)"
              + ("" if info.codable else "; a folder (not applied itself)"), italic=True)
        for label, value in (("Definition", info.definition), ("Include", info.inclusion),
                             ("Exclude", info.exclusion), ("Example", info.example)):
            if value:
                _para(doc, value, bold_label=f"{label}: ")
    return _save(doc)


def appendix_markdown(tree: CodeTree, counts: dict[str, CodeCount], about: About, *, title: str = "Codebook") -> str:
    out = [f"# {md_text(title)}", "", f"*{md_text(about.line())}*", ""]
    for info in tree.infos:
        c = counts.get(info.id, CodeCount(0, 0))
        out += [f"{'#' * min(info.depth + 2, 6)} {md_text(info.name)}", "",
                f"*{c.excerpts} excerpt(s) in {c.documents} document(s)"
                + ("" if info.codable else "; a folder (not applied itself)") + "*", ""]
        for label, value in (("Definition", info.definition), ("Include", info.inclusion),
                             ("Exclude", info.exclusion), ("Example", info.example)):
            if value:
                out += [f"**{label}:** {md_text(value)}", ""]
    return "\n".join(out)
