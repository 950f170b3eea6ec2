"""The quote bank (DOCX): quotes grouped by the codebook tree, for a paper's results section.

Each code with quotes (and its ancestors, as headings) shows its definition, then each
quote as a block quote with its attribution, and below it where a reader finds it (the
document, turn numbers, speakers and timestamp, or paragraphs; never character offsets)
and who coded it. Options, as MAXQDA's Smart Publisher offers them (issue 16): a table of
contents, the other codes on each quote's passage, the document's variables, and memos
(each quote's coding memos, and the document memos in a closing section).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from coding.exporting.excerpts import Excerpt
from coding.exporting.writers import About, _Docx, _heading, _para, xml_safe

_BREAKS = re.compile(r"([\t\r\n])")
SMALL = "16"   # half-points: 8 pt


@dataclass(frozen=True)
class BankOptions:
    """What the quote bank shows besides the quotes."""

    memos: bool = False            # coding memos under each quote, document memos at the end
    toc: bool = False              # a table of contents (a Word TOC field, filled in already)
    other_codes: bool = False      # "Also coded:" the other codes on the quote's passage
    variables: bool = False        # the document's participant attributes under each quote


def _wanted(tree, by_code: Mapping[str, list]) -> set[str]:
    wanted = set(by_code)
    for cid in by_code:
        info = tree.info.get(cid)
        while info is not None and info.parent_id is not None:
            wanted.add(info.parent_id)
            info = tree.info.get(info.parent_id)
    return wanted


def _bookmark(p, name: str, n: int) -> None:
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn

    start, end = OxmlElement("w:bookmarkStart"), OxmlElement("w:bookmarkEnd")
    start.set(qn("w:id"), str(n))
    start.set(qn("w:name"), name)
    end.set(qn("w:id"), str(n))
    p._p.insert(1 if p._p.pPr is not None else 0, start)
    p._p.append(end)


def _field_char(p, kind: str, instruction: str = "") -> None:
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn

    r = OxmlElement("w:r")
    fc = OxmlElement("w:fldChar")
    fc.set(qn("w:fldCharType"), kind)
    r.append(fc)
    p._p.append(r)
    if instruction:
        r2 = OxmlElement("w:r")
        it = OxmlElement("w:instrText")
        it.set(qn("xml:space"), "preserve")
        it.text = instruction
        r2.append(it)
        p._p.append(r2)


def _link(doc: _Docx, p, text: str, anchor: str) -> None:
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn

    h = OxmlElement("w:hyperlink")
    h.set(qn("w:anchor"), anchor)
    run = doc.run(p, text)
    h.append(run._r)
    p._p.append(h)


def _toc(doc: _Docx, entries: list[tuple[int, str, str]]) -> None:
    """A Word table-of-contents field whose shown result is already the list of headings
    (linked to them), so every reader shows it; Word adds page numbers on "Update field"."""
    from docx.shared import Pt

    _heading(doc, "Contents", 1)
    for i, (depth, text, anchor) in enumerate(entries):
        p = doc.paragraph()
        p.paragraph_format.left_indent = Pt(12 * depth)
        if i == 0:
            _field_char(p, "begin", 'TOC \\o "1-9" \\h \\z \\u')
            _field_char(p, "separate")
        _link(doc, p, text, anchor)
        if i == len(entries) - 1:
            _field_char(p, "end")


class _Paragraphs:
    """Paragraphs written straight as WordprocessingML elements (plain lxml), before the
    body's section properties. python-docx's objects and property setters took most of
    a 20,000-quote bank's time; headings and the contents still go through python-docx."""

    def __init__(self, doc: _Docx):
        from docx.oxml.ns import qn
        from lxml import etree

        self.element, self.sub = etree.Element, etree.SubElement

        self.doc = doc
        self.end = doc._end
        self.body = doc._body
        self.q = {n: qn(f"w:{n}") for n in ("p", "pPr", "pStyle", "val", "r", "rPr", "b", "i", "sz", "t",
                                            "tab", "br")}
        self.space = "{http://www.w3.org/XML/1998/namespace}space"
        self.styles: dict[str, str] = {}

    def add(self, runs: Sequence[tuple[str, str]], style: str | None = None) -> None:
        """One paragraph of ``runs``: (text, look) where look holds "b" bold, "i" italic,
        "s" small."""
        q, sub = self.q, self.sub
        p = self.element(q["p"])
        if style is not None:
            if style not in self.styles:
                self.styles[style] = self.doc.doc.styles[style].style_id
            sub(sub(p, q["pPr"]), q["pStyle"]).set(q["val"], self.styles[style])
        for text, look in runs:
            r = sub(p, q["r"])
            if look:
                rpr = sub(r, q["rPr"])
                if "b" in look:
                    sub(rpr, q["b"])
                if "i" in look:
                    sub(rpr, q["i"])
                if "s" in look:
                    sub(rpr, q["sz"]).set(q["val"], SMALL)
            for piece in _BREAKS.split(xml_safe(text)):
                if piece == "\t":
                    sub(r, q["tab"])
                elif piece in ("\n", "\r"):
                    sub(r, q["br"])
                elif piece:
                    t = sub(r, q["t"])
                    t.text = piece
                    if piece[0].isspace() or piece[-1].isspace():
                        t.set(self.space, "preserve")
        if self.end is not None:
            self.end.addprevious(p)
        else:
            self.body.append(p)


def quote_bank_docx(quotes: Sequence[Excerpt], tree, about: About, *, options: BankOptions = BankOptions(),
                    also: Sequence[Sequence[str]] | None = None,
                    document_memos: Mapping[str, list[tuple[str, str]]] | None = None,
                    title: str = "Quote bank") -> bytes:
    """The quote bank of ``quotes`` in codebook order. ``also``: for each quote, the other
    codes on its passage (shown with ``options.other_codes``); ``document_memos``: document
    name → [(author, memo)] (shown with ``options.memos``)."""
    doc = _Docx()
    _heading(doc, title, 0)
    _para(doc, about.line(), italic=True)
    for w in about.warnings:
        _para(doc, w, bold_label="Warning: ")
    by_code: dict[str, list[tuple[Excerpt, Sequence[str]]]] = {}
    for i, q in enumerate(quotes):
        by_code.setdefault(q.code_id, []).append((q, also[i] if also is not None else ()))
    wanted = _wanted(tree, by_code)
    shown = [info for info in tree.infos if info.id in wanted]
    anchors = {info.id: f"_Toc_q{n}" for n, info in enumerate(shown, start=1)}
    if options.toc and shown:
        _toc(doc, [(info.depth, f"{info.name} ({len(by_code.get(info.id, ()))})" if info.id in by_code
                    else info.name, anchors[info.id]) for info in shown])
    if not by_code:
        _para(doc, "No excerpts match the filters.")
    fast = _Paragraphs(doc)
    for n, info in enumerate(shown, start=1):
        h = _heading(doc, info.name, info.depth + 1)
        if options.toc:
            _bookmark(h, anchors[info.id], n)
        if info.definition:
            fast.add([(info.definition, "i")])
        for q, others in sorted(by_code.get(info.id, ()), key=lambda t: (t[0].document.casefold(), t[0].start,
                                                                         t[0].coder)):
            fast.add([(q.text + (" " + q.attribution if q.attribution else ""), "")], "Quote")
            who = "consensus" if q.layer == "consensus" else q.coder
            fast.add([(", ".join(x for x in (q.document, q.location) if x) + f" · coded by {who}", "s")])
            if options.other_codes and others:
                fast.add([("Also coded: ", "bs"), ("; ".join(others), "s")])
            if options.variables and q.attributes:
                line = "; ".join(f"{k}: {v}" for k, v in sorted(q.attributes.items(), key=lambda kv: kv[0].casefold()))
                fast.add([("Variables: ", "bs"), (line, "s")])
            if options.memos and q.memo:
                fast.add([("Memo: ", "b"), (q.memo, "")])
    if options.memos and document_memos:
        _heading(doc, "Document memos", 1)
        for name in sorted(document_memos, key=str.casefold):
            _heading(doc, name, 2)
            for author, text in document_memos[name]:
                _para(doc, text, bold_label=f"{author}: ")
    return doc.save()
