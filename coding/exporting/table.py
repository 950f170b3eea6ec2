"""The one table writer: every tabular output (agreement, counts, codebook, matrices,
excerpts) is written by :func:`write_table`, from the CLI and the pages alike.

Cells from data are made inert for the reader each format has:

* CSV and XLSX (OWASP, "CSV injection"): a text cell that starts with ``=``, ``+``, ``-``,
  ``@``, tab, CR or NUL gets a leading apostrophe, so no spreadsheet runs it as a formula;
  XLSX cells are typed explicitly (numbers as numbers, the rest as strings, never formulas)
  and characters XML cannot hold become U+FFFD.
* Markdown: HTML is escaped (``<img onerror=...>`` is text), Markdown punctuation is
  backslash-escaped (so ``|`` cannot end a cell and ``[x](javascript:...)`` is no link),
  line breaks become ``<br>``.

Numbers (``int``, ``float``) stay numbers, a negative one too; ``None`` and NaN are empty.
Pure: no store, no Streamlit.
"""

from __future__ import annotations

import csv
import html
import io
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\0")
FORMATS = ("csv", "md", "xlsx")
_XML_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_MD_SPECIAL = re.compile(r"([\\`*_\[\]{}#|~!$])")


def neutralise(value: str) -> str:
    """A cell value no spreadsheet runs: a leading apostrophe before a formula start."""
    return "'" + value if value.startswith(FORMULA_START) else value


def xml_safe(value: str) -> str:
    return _XML_ILLEGAL.sub("\ufffd", value)


def md_text(value: object) -> str:
    """Text as literal Markdown: HTML escaped, Markdown punctuation backslash-escaped, line
    breaks as ``<br>`` (fit for one table cell or one line)."""
    value = _MD_SPECIAL.sub(r"\\\1", html.escape(str(value), quote=False))
    return re.sub(r"\r\n|\r|\n", "<br>", value)


def _number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _empty(value: object) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def _csv(header: Sequence, rows: Iterable[Sequence]) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerow([neutralise(str(h)) for h in header])
    for r in rows:
        w.writerow(["" if _empty(v) else v if _number(v) else neutralise(str(v)) for v in r])
    return buf.getvalue()


def _md(header: Sequence, rows: Iterable[Sequence]) -> str:
    out = ["| " + " | ".join(md_text(h) for h in header) + " |", "|" + "---|" * len(header)]
    for r in rows:
        out.append("| " + " | ".join("" if _empty(v) else str(v) if _number(v) else md_text(v) for v in r) + " |")
    return "\n".join(out) + "\n"


@dataclass(frozen=True)
class Sheet:
    """One sheet of a workbook written by :func:`write_sheets`."""

    title: str
    header: Sequence
    rows: Iterable[Sequence]
    widths: Mapping[str, float] = field(default_factory=dict)
    wrapped: Iterable[str] = ()


def _xlsx(sheets: Sequence[Sheet], cover: str | Sequence[Sequence] | None) -> bytes:
    """Each sheet: header row in bold, frozen below it, an autofilter over the table;
    and an "About" sheet holding ``cover`` when given (one cell, or rows of cells)."""
    from openpyxl import Workbook
    from openpyxl.cell import Cell
    from openpyxl.cell.cell import ERROR_CODES
    from openpyxl.styles import Alignment, Font
    from openpyxl.utils import get_column_letter

    wb = Workbook(write_only=True)
    looks = {"bold": ("font", Font(bold=True)), "wrap": ("alignment", Alignment(wrap_text=True, vertical="top"))}
    made: dict[str, object] = {}

    def style(ws, name):
        """A style array each cell copies (setting a style on every cell hashes it every time)."""
        if name not in made:
            proto = Cell(ws)
            setattr(proto, *looks[name])
            made[name] = proto._style
        return made[name]

    def cell(ws, value, style):
        """A cell typed explicitly: numbers as numbers, everything else as a string, never a
        formula. Unstyled cells go to openpyxl as plain values (much faster than a Cell
        each): a neutralised string cannot start with "=", so openpyxl types it as a string,
        except an error code such as "#N/A", which gets an explicit cell."""
        if value == "" or _empty(value):
            return None
        if _number(value):
            return value if style is None else Cell(ws, row=1, column=1, value=value, style_array=style)
        value = xml_safe(neutralise(str(value)))
        if style is None and value not in ERROR_CODES:
            return value
        c = Cell(ws, row=1, column=1, style_array=style)
        c._value, c.data_type = value, "s"
        return c

    for sheet in sheets:
        header, rows, widths = sheet.header, list(sheet.rows), sheet.widths
        ws = wb.create_sheet(sheet.title[:31])
        ws.freeze_panes = "A2"
        for i, h in enumerate(header, start=1):
            ws.column_dimensions[get_column_letter(i)].width = widths.get(h, 14)
        ws.auto_filter.ref = f"A1:{get_column_letter(max(len(header), 1))}{len(rows) + 1}"
        ws.append([cell(ws, h, style(ws, "bold")) for h in header])
        wrapped = set(sheet.wrapped)
        styles = [style(ws, "wrap") if h in wrapped else None for h in header]
        for r in rows:
            ws.append([cell(ws, v, st) for v, st in zip(r, styles)])
    if cover is not None:
        about = wb.create_sheet("About")
        for line in [[cover]] if isinstance(cover, str) else cover:
            about.append([cell(about, v, None) for v in line])
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def write_table(fmt: str, header: Sequence, rows: Iterable[Sequence], *, title: str = "Table",
                widths: Mapping[str, float] | None = None, wrapped: Iterable[str] = (),
                cover: str | None = None) -> str | bytes:
    """A table as ``fmt``: "csv" (str, CRLF rows; write it as ``utf-8-sig`` for Excel), "md"
    (str, a Markdown table; headings and notes around it are the caller's, through
    :func:`md_text`) or "xlsx" (bytes: sheet ``title`` with column ``widths`` by header and
    ``wrapped`` columns, and an "About" sheet holding ``cover``)."""
    if fmt == "csv":
        return _csv(header, rows)
    if fmt == "md":
        return _md(header, rows)
    if fmt == "xlsx":
        return _xlsx([Sheet(title, header, rows, widths or {}, wrapped)], cover)
    raise ValueError(f"table format {fmt!r} is not one of {', '.join(FORMATS)}")


def write_sheets(sheets: Sequence[Sheet], *, cover: str | Sequence[Sequence] | None = None) -> bytes:
    """Several tables as one XLSX workbook, one sheet each (cells as :func:`write_table`
    writes them), and an "About" sheet holding ``cover`` when given: one cell, or rows of
    cells (e.g. ``[("Method", "..."), ("Coders", "tom, li")]``)."""
    return _xlsx(sheets, cover)
