"""The one table writer: every tabular output (agreement, counts, codebook, matrices,
excerpts) is written by :func:`write_table`, from the CLI and the pages alike.

Cells from data are made inert for the reader each format has:

* CSV (OWASP, "CSV injection"): a text cell that starts with ``=``, ``+``, ``-``, ``@``, tab,
  CR or NUL gets a leading apostrophe, so no spreadsheet runs it as a formula. With
  ``guard_column`` a last column names, per row, the cells that got one (so a script can
  take it off again).
* XLSX: cells are typed explicitly (numbers as numbers, the rest as string cells, never
  formulas), so text is written exactly as stored, ``=`` or ``@`` first included (issue 16).
  Only characters XML cannot hold (control characters but tab and line breaks) become
  U+FFFD (the About sheet then says so). A text longer
  than Excel's cell limit (32,767 UTF-16 units) is split over continuation columns
  ("text, continued 1", ...) to the right of its column, exact pieces in order; the About
  sheet says so.
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

from coding.exporting.xlsx import XML_ILLEGAL, SheetData, write_workbook

FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\0")
FORMATS = ("csv", "md", "xlsx")
CELL_LIMIT = 32_767       # Excel's limit on the characters (UTF-16 units) of one cell
GUARD_COLUMN = "formula guard: ' added before"
GUARD_NOTE = ("CSV: a cell that began with = + - @ (or tab, CR, NUL) starts with an added apostrophe ', so no "
              "spreadsheet runs it as a formula; the column 'formula guard' names those cells per row. Remove the "
              "apostrophe for the exact text, or use the XLSX export, which holds the exact text.")
_MD_SPECIAL = re.compile(r"([\\`*_\[\]{}#|~!$])")


def neutralise(value: str) -> str:
    """A cell value no spreadsheet runs: a leading apostrophe before a formula start."""
    return "'" + value if value.startswith(FORMULA_START) else value


def xml_safe(value: str) -> str:
    return XML_ILLEGAL.sub("\ufffd", value)


def _utf16(value: str) -> int:
    return len(value) + sum(1 for ch in value if ord(ch) > 0xFFFF)


def cell_pieces(value: str, limit: int = CELL_LIMIT) -> list[str]:
    """``value`` cut into pieces of at most ``limit`` UTF-16 units (what Excel counts), never
    inside a character; joined in order they give ``value`` back."""
    if len(value) * 2 <= limit:
        return [value]
    out, i = [], 0
    while i < len(value):
        j = min(i + limit, len(value))
        over = _utf16(value[i:j]) - limit
        if over > 0:
            j -= over  # each character dropped frees one or two units
        out.append(value[i:j])
        i = j
    return out


def md_text(value: object) -> str:
    """Text as literal Markdown: HTML escaped, Markdown punctuation backslash-escaped, line
    breaks as ``<br>`` (fit for one table cell or one line)."""
    value = _MD_SPECIAL.sub(r"\\\1", html.escape(str(value), quote=False))
    return re.sub(r"\r\n|\r|\n", "<br>", value)


def _number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _empty(value: object) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def _csv(header: Sequence, rows: Iterable[Sequence], guard_column: bool = False) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerow([neutralise(str(h)) for h in header] + ([GUARD_COLUMN] if guard_column else []))
    for r in rows:
        cells, guarded = [], []
        for h, v in zip(header, r):
            if type(v) is str:  # the common case first (a 20,000-row export checks 400,000 cells)
                text = v
            elif _empty(v):
                cells.append("")
                continue
            elif _number(v):
                cells.append(v)
                continue
            else:
                text = str(v)
            if text.startswith(FORMULA_START):
                text = "'" + text
                guarded.append(str(h))
            cells.append(text)
        if guard_column:
            cells.append("; ".join(guarded))
        w.writerow(cells)
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
    and an "About" sheet holding ``cover`` (one cell, or rows of cells) and the notes on
    what was split or replaced, when there is any."""
    notes: set[str] = set()
    out = []
    for sheet in sheets:
        header, rows, bases = _split_long(list(sheet.header), [list(r) for r in sheet.rows], notes)
        wrapped = set(sheet.wrapped)
        out.append(SheetData(sheet.title[:31], [header, *rows], widths=[sheet.widths.get(b, 14) for b in bases],
                             wrapped=[b in wrapped for b in bases]))
    lines = [] if cover is None else [[cover]] if isinstance(cover, str) else [list(x) for x in cover]

    def build(extra: list[str]) -> tuple[bytes, bool]:
        about = lines + [[n] for n in sorted(notes | set(extra))]
        return write_workbook([*out, SheetData("About", about, table=False)] if about else out)

    data, replaced = build([])
    if replaced:  # found while writing: written again with the About sheet saying so (rare)
        data, _ = build([CONTROL_NOTE])
    return data


SPLIT_NOTE = ("Excel holds at most 32,767 characters in a cell: a longer text is split, in order, over the "
              "columns to its right named '<column>, continued 1', '<column>, continued 2', ...; join them for "
              "the exact text.")
CONTROL_NOTE = ("Control characters a spreadsheet cannot hold (other than tab and line breaks) are shown as "
                "\ufffd; every other character is as stored.")


def _split_long(header: list, rows: list[list], notes: set[str]) -> tuple[list, list[list], list]:
    """Header and rows with every text over :data:`CELL_LIMIT` split into continuation
    columns right of its column (none added when no text is that long), and for each
    column the header it continues (for widths and wrapping)."""
    parts = [1] * len(header)
    for r in rows:
        for i, v in enumerate(r):
            if isinstance(v, str) and len(v) * 2 > CELL_LIMIT:
                parts[i] = max(parts[i], len(cell_pieces(v)))
    if max(parts, default=1) == 1:
        return header, rows, header
    notes.add(SPLIT_NOTE)
    new_header, base = [], []
    for h, n in zip(header, parts):
        new_header += [h, *(f"{h}, continued {k}" for k in range(1, n))]
        base += [h] * n
    out = []
    for r in rows:
        row = []
        for v, n in zip(r, parts):
            if n == 1:
                row.append(v)
            else:
                pieces = cell_pieces(v) if isinstance(v, str) else [v]
                row += pieces + [None] * (n - len(pieces))
        out.append(row)
    return new_header, out, base


def write_table(fmt: str, header: Sequence, rows: Iterable[Sequence], *, title: str = "Table",
                widths: Mapping[str, float] | None = None, wrapped: Iterable[str] = (),
                cover: str | Sequence[Sequence] | None = None, guard_column: bool = False) -> str | bytes:
    """A table as ``fmt``: "csv" (str, CRLF rows; write it as ``utf-8-sig`` for Excel; with
    ``guard_column`` a last column names each row's cells that got the formula guard), "md"
    (str, a Markdown table; headings and notes around it are the caller's, through
    :func:`md_text`) or "xlsx" (bytes: sheet ``title`` with column ``widths`` by header and
    ``wrapped`` columns, and an "About" sheet holding ``cover``)."""
    if fmt == "csv":
        return _csv(header, rows, guard_column)
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
