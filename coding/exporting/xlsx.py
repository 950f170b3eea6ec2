"""A small XLSX writer: sheets of typed cells, written as SpreadsheetML text straight into the zip.

openpyxl's per-cell machinery took most of the time of a 20,000-row export; tables need
only what this writes (issue 16): inline string cells (never formulas, never shared
strings), numbers (floats as their shortest round-trip text), a bold header row frozen
below it with an autofilter, column widths, wrapped columns, and rows of an "About"
sheet. Cells are typed by their Python value: ``int``/``float`` (not ``bool``) a number, ``None``,
NaN and "" empty, anything else a string cell holding the text exactly, XML-escaped (a CR
as ``&#13;``, so readers keep it); characters XML cannot hold (control characters but tab
and line breaks) become U+FFFD and :func:`write_workbook` reports that it replaced some.
Pure: no store, no Streamlit.
"""

from __future__ import annotations

import io
import math
import re
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass

PLAIN, BOLD, WRAP = 0, 1, 2           # cell style indexes of styles.xml
XML_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"


@dataclass
class SheetData:
    """One sheet: ``rows`` of cell values, the first row the header when ``table`` (bold,
    frozen, filtered); ``widths`` per column; ``wrapped`` columns."""

    title: str
    rows: list[list]
    widths: Sequence[float] = ()
    wrapped: Sequence[bool] = ()
    table: bool = True


def column_letter(i: int) -> str:
    """1 → A, 27 → AA."""
    out = ""
    while i:
        i, r = divmod(i - 1, 26)
        out = chr(65 + r) + out
    return out


def _text(value: str) -> str:
    """XML text: & < > escaped, CR as a character reference (a parser would turn it into LF)."""
    if "&" in value:
        value = value.replace("&", "&amp;")
    if "<" in value:
        value = value.replace("<", "&lt;")
    if ">" in value:
        value = value.replace(">", "&gt;")
    if "\r" in value:
        value = value.replace("\r", "&#13;")
    return value


def _attr(value: str) -> str:
    return _text(value).replace('"', "&quot;")


def _sheet_xml(sheet: SheetData, replaced: list[bool]) -> str:
    n_cols = max((len(r) for r in sheet.rows), default=1) or 1
    letters = [column_letter(i) for i in range(1, n_cols + 1)]
    wrap = [bool(sheet.wrapped[i]) if i < len(sheet.wrapped) else False for i in range(n_cols)]
    out = [f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<worksheet xmlns="{_MAIN}" xmlns:r="{_REL}">']
    if sheet.table:
        out.append('<sheetViews><sheetView workbookViewId="0"><pane ySplit="1" topLeftCell="A2" activePane="bottomLeft" '
                   'state="frozen"/><selection pane="bottomLeft" activeCell="A2" sqref="A2"/></sheetView></sheetViews>')
    out.append('<sheetFormatPr defaultRowHeight="15"/>')
    if sheet.widths:
        out.append("<cols>" + "".join(f'<col min="{i}" max="{i}" width="{w:g}" customWidth="1"/>'
                                      for i, w in enumerate(sheet.widths, start=1)) + "</cols>")
    out.append("<sheetData>")
    body = [f' s="{WRAP}"' if w else "" for w in wrap]
    bold = [f' s="{BOLD}"'] * n_cols
    illegal = XML_ILLEGAL.search
    for n, row in enumerate(sheet.rows, start=1):
        styles = bold if sheet.table and n == 1 else body
        cells = []
        for i, v in enumerate(row):
            kind = type(v)
            if kind is not str:
                if v is None or (kind is float and math.isnan(v)):
                    continue
                if isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v):
                    text = repr(float(v)) if isinstance(v, float) else str(int(v))  # numpy's too
                    cells.append(f'<c r="{letters[i]}{n}"{styles[i]}><v>{text}</v></c>')
                    continue
                v = str(v)  # infinity too: a spreadsheet number cannot hold it
            if not v:
                continue
            if illegal(v):
                v = XML_ILLEGAL.sub("\ufffd", v)
                replaced[0] = True
            cells.append(f'<c r="{letters[i]}{n}"{styles[i]} t="inlineStr"><is><t xml:space="preserve">{_text(v)}'
                         "</t></is></c>")
        out.append(f'<row r="{n}">' + "".join(cells) + "</row>")
    out.append("</sheetData>")
    if sheet.table:
        out.append(f'<autoFilter ref="{_range(sheet, letters)}"/>')
    out.append('<pageMargins left="0.75" right="0.75" top="1" bottom="1" header="0.5" footer="0.5"/></worksheet>')
    return "".join(out)


def _range(sheet: SheetData, letters: list[str]) -> str:
    return f"A1:{letters[-1]}{max(len(sheet.rows), 1)}"


_STYLES = f"""<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<styleSheet xmlns="{_MAIN}"><fonts count="2"><font><sz val="11"/><name val="Calibri"/><family val="2"/></font><font><b/><sz val="11"/><name val="Calibri"/><family val="2"/></font></fonts><fills count="2"><fill><patternFill patternType="none"/></fill><fill><patternFill patternType="gray125"/></fill></fills><borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders><cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs><cellXfs count="3"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/><xf numFmtId="0" fontId="1" fillId="0" borderId="0" xfId="0" applyFont="1"/><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0" applyAlignment="1"><alignment vertical="top" wrapText="1"/></xf></cellXfs><cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles></styleSheet>"""


def _title(title: str, taken: set[str]) -> str:
    """A sheet name Excel accepts: no []:*?/\\, at most 31 characters, unique."""
    clean = "".join("_" if ch in "[]:*?/\\" else ch for ch in title).strip("'")[:31] or "Sheet"
    name, k = clean, 2
    while name.casefold() in taken:
        name = f"{clean[:28]} {k}"
        k += 1
    taken.add(name.casefold())
    return name


def write_workbook(sheets: Sequence[SheetData]) -> tuple[bytes, bool]:
    """The workbook holding ``sheets`` in order, as XLSX bytes, and whether characters XML
    cannot hold were replaced."""
    replaced = [False]
    taken: set[str] = set()
    names = [_title(s.title, taken) for s in sheets]
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as z:  # speed over size
        z.writestr("[Content_Types].xml", (
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
            '<Default Extension="xml" ContentType="application/xml"/>'
            '<Override PartName="/xl/workbook.xml" '
            'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
            '<Override PartName="/xl/styles.xml" '
            'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>'
            + "".join(f'<Override PartName="/xl/worksheets/sheet{i}.xml" '
                      'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
                      for i in range(1, len(sheets) + 1)) + "</Types>"))
        z.writestr("_rels/.rels", (
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
            'officeDocument" Target="xl/workbook.xml"/></Relationships>'))
        defined = []
        for i, (s, name) in enumerate(zip(sheets, names)):
            if s.table and s.rows:
                letters = [column_letter(k) for k in range(1, max(len(r) for r in s.rows) + 1)]
                a, b = _range(s, letters).split(":")
                ref = f"'{name.replace(chr(39), chr(39) * 2)}'!${a[0]}$1:${''.join(c for c in b if c.isalpha())}$" \
                      f"{''.join(c for c in b if c.isdigit())}"
                defined.append(f'<definedName name="_xlnm._FilterDatabase" localSheetId="{i}" hidden="1">'
                               f"{_text(ref)}</definedName>")
        z.writestr("xl/workbook.xml", (
            f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<workbook xmlns="{_MAIN}" xmlns:r="{_REL}">'
            "<bookViews><workbookView/></bookViews><sheets>"
            + "".join(f'<sheet name="{_attr(name)}" sheetId="{i}" r:id="rId{i}"/>'
                      for i, name in enumerate(names, start=1))
            + "</sheets>" + (f"<definedNames>{''.join(defined)}</definedNames>" if defined else "") + "</workbook>"))
        z.writestr("xl/_rels/workbook.xml.rels", (
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            + "".join(f'<Relationship Id="rId{i}" Type="{_REL}/worksheet" Target="worksheets/sheet{i}.xml"/>'
                      for i in range(1, len(sheets) + 1))
            + f'<Relationship Id="rId{len(sheets) + 1}" Type="{_REL}/styles" Target="styles.xml"/></Relationships>'))
        z.writestr("xl/styles.xml", _STYLES)
        for i, s in enumerate(sheets, start=1):
            z.writestr(f"xl/worksheets/sheet{i}.xml", _sheet_xml(s, replaced))
    return buf.getvalue(), replaced[0]
