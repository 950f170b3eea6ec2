"""Word tables written as XML text and parsed once, for tables of thousands of rows.

python-docx's ``Table.add_row`` and ``cell.text`` build every element through its
registry and look cells up through the grid each time: a 3,400-row table of agreement
per document took 7 s, a framework matrix of 200 documents 19 s. The XML here is what
those calls write (a ``Table Grid`` table, a header row in bold); text is XML-safe
(see :func:`coding.exporting.table.xml_safe`) and escaped, tabs and line breaks as Word's.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from xml.sax.saxutils import escape

from coding.exporting.table import xml_safe

W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
_BREAK = re.compile(r"(\t|\r\n|\r|\n)")
#: a run: its text, and "b" (bold), "i" (italic) or "" (plain)
Run = tuple[str, str]
#: a cell: a plain text, or paragraphs of runs
Cell = str | Sequence[Sequence[Run]]


def run_xml(text: str, look: str = "") -> str:
    """A ``w:r`` holding ``text``; ``look`` "b" or "i" for bold or italic."""
    parts = []
    for piece in _BREAK.split(xml_safe(text)):
        if piece == "\t":
            parts.append("<w:tab/>")
        elif piece in ("\n", "\r", "\r\n"):
            parts.append("<w:br/>")
        elif piece:
            parts.append(f'<w:t xml:space="preserve">{escape(piece)}</w:t>')
    props = f"<w:rPr><w:{look}/></w:rPr>" if look else ""
    return f"<w:r>{props}{''.join(parts)}</w:r>"


def _cell_xml(cell: Cell, look: str = "") -> str:
    paras = [[(cell, look)]] if isinstance(cell, str) else cell or [[]]
    body = "".join(f"<w:p>{''.join(run_xml(t, lk) for t, lk in p)}</w:p>" for p in paras)
    return f'<w:tc><w:tcPr><w:tcW w:w="0" w:type="auto"/></w:tcPr>{body}</w:tc>'


def add_table(doc, header: Sequence[str], rows: Sequence[Sequence[Cell]]) -> None:
    """Append a table (style Table Grid, ``header`` in bold) to ``doc``, a
    :class:`coding.exporting.writers._Docx`, after what it holds so far."""
    from docx.oxml.parser import parse_xml

    if "Table Grid" not in doc._ids:  # a style lookup is an XPath search: once per document
        doc._ids["Table Grid"] = doc.doc.styles["Table Grid"].style_id
    style = doc._ids["Table Grid"]
    grid = "".join('<w:gridCol w:w="0"/>' for _ in header)
    out = [f'<w:tbl xmlns:w="{W}"><w:tblPr><w:tblStyle w:val="{style}"/><w:tblW w:w="0" w:type="auto"/>'
           f'<w:tblLook w:val="04A0" w:firstRow="1" w:lastRow="0" w:firstColumn="1" w:lastColumn="0" '
           f'w:noHBand="0" w:noVBand="1"/></w:tblPr><w:tblGrid>{grid}</w:tblGrid>',
           f"<w:tr>{''.join(_cell_xml(h, 'b') for h in header)}</w:tr>"]
    out += [f"<w:tr>{''.join(_cell_xml(c) for c in r)}</w:tr>" for r in rows]
    out.append("</w:tbl>")
    table = parse_xml("".join(out))
    anchor = doc.paragraph()._p  # the table goes where the next paragraph would, then the anchor goes
    anchor.addprevious(table)
    anchor.getparent().remove(anchor)
