"""Coded documents as Word files, their codes in the margin: each coding is a Word comment
anchored on exactly the text it codes (comments as python-docx 1.2 writes them), its
author the coder, its text the code path (and the coding's memo). Coded text is
highlighted so it shows without the comment pane.

The text is the stored text: every line a paragraph, cut into runs at every coding's
start and end, so a comment's range starts and ends where the coding does. Characters XML
cannot hold become U+FFFD (one for one, so nothing shifts). Pure.

Why the XML is written as text: python-docx's ``Document.add_comment`` looks for the next
free id by scanning every comment and builds each element through its registry (1,000
comments took 10 s, 5,000 took 260 s), and its runs cost an element lookup each. Here a
document's paragraphs, and all comments, are written as escaped XML text (the same
elements python-docx writes: ``w:commentRangeStart``, ``w:commentRangeEnd``, a reference
run, and in the comments part one ``w:comment`` per coding) and parsed once.
"""

from __future__ import annotations

import bisect
import heapq
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from xml.sax.saxutils import escape, quoteattr

from coding.exporting.excerpts import Excerpt
from coding.exporting.table import xml_safe
from coding.exporting.writers import _docx, _heading, _para

_LINE_END = re.compile(r"\r\n|\r|\n")
W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
HIGHLIGHT = '<w:rPr><w:highlight w:val="yellow"/></w:rPr>'


@dataclass(frozen=True)
class CodedDocument:
    """A document to write: its id, name, stored text and attributes."""

    document_id: str
    name: str
    text: str
    attributes: dict


def _lines(text: str) -> list[tuple[int, int]]:
    """[start, end) of each line, line breaks left out."""
    out, pos = [], 0
    for m in _LINE_END.finditer(text):
        out.append((pos, m.start()))
        pos = m.end()
    out.append((pos, len(text)))
    return out


def _initials(name: str) -> str:
    return "".join(w[0] for w in name.split() if w)[:3].upper() or "?"


def _run(text: str, highlighted: bool) -> str:
    """One ``w:run`` of ``text`` (tabs as ``w:tab``), XML-safe and escaped."""
    parts = []
    for i, piece in enumerate(xml_safe(text).split("\t")):
        if i:
            parts.append("<w:tab/>")
        if piece:
            parts.append(f'<w:t xml:space="preserve">{escape(piece)}</w:t>')
    return f"<w:r>{HIGHLIGHT if highlighted else ''}{''.join(parts)}</w:r>"


class _Comments:
    """The comments part's ``w:comment`` elements, as XML text, numbered from 0."""

    def __init__(self, when: datetime):
        self.xml: list[str] = []
        self._date = when.strftime("%Y-%m-%dT%H:%M:%SZ")

    def add(self, text: str, author: str) -> int:
        cid = len(self.xml)
        paras = []
        for i, line in enumerate(xml_safe(text).split("\n")):
            ref = ('<w:r><w:rPr><w:rStyle w:val="CommentReference"/></w:rPr><w:annotationRef/></w:r>'
                   if i == 0 else "")
            paras.append(f'<w:p><w:pPr><w:pStyle w:val="CommentText"/></w:pPr>{ref}'
                         f'<w:r><w:t xml:space="preserve">{escape(line)}</w:t></w:r></w:p>')
        self.xml.append(f'<w:comment w:id="{cid}" w:author={quoteattr(xml_safe(author))} '
                        f'w:initials={quoteattr(xml_safe(_initials(author)))} w:date="{self._date}">'
                        f'{"".join(paras)}</w:comment>')
        return cid

    def attach(self, document) -> None:
        """Put the comments into ``document``'s comments part (made on first use)."""
        from docx.oxml.parser import parse_xml

        if self.xml:
            made = parse_xml(f'<w:comments xmlns:w="{W}">{"".join(self.xml)}</w:comments>')
            document.comments._comments_elm.extend(list(made))


def _document_xml(text: str, codings: Sequence[Excerpt], comments: _Comments) -> str:
    """The paragraphs of one document as XML text, each coding a comment range with its
    reference run."""
    cuts = sorted({p for e in codings for p in (e.start, e.end)})
    # pieces: (start, end), in text order, by line; a piece never straddles a cut or a line end
    lines: list[list[int]] = []  # per line, the indexes of its pieces
    pieces: list[tuple[int, int]] = []
    ci = 0
    for a, b in _lines(text):
        while ci < len(cuts) and cuts[ci] <= a:
            ci += 1
        mine, pos, k = [], a, ci
        while pos < b:
            nxt = cuts[k] if k < len(cuts) and cuts[k] < b else b
            mine.append(len(pieces))
            pieces.append((pos, nxt))
            pos, k = nxt, k + 1 if nxt < b else k
        lines.append(mine)
    # which pieces some coding covers: a sweep with a heap of the open codings' ends
    covered = [False] * len(pieces)
    spans = sorted((e.start, e.end) for e in codings)
    ends: list[int] = []
    j = 0
    for n, (a, _) in enumerate(pieces):
        while j < len(spans) and spans[j][0] <= a:
            heapq.heappush(ends, spans[j][1])
            j += 1
        while ends and ends[0] <= a:
            heapq.heappop(ends)
        covered[n] = bool(ends)
    before: dict[int, list[str]] = {}
    after: dict[int, list[str]] = {}
    starts_at = [a for a, _ in pieces]
    ends_at = [b for _, b in pieces]
    for e in sorted(codings, key=lambda e: (e.start, e.end, e.code, e.coder)):
        i = bisect.bisect_left(starts_at, e.start)       # first piece starting inside the coding
        k = bisect.bisect_right(ends_at, e.end) - 1      # last piece ending inside it
        if i >= len(pieces) or k < i or starts_at[i] >= e.end:
            continue  # only line breaks: no text to anchor a comment on
        who = "consensus" if e.layer == "consensus" else e.coder
        cid = comments.add(e.code + (f"\nMemo: {e.memo}" if e.memo else ""), who)
        before.setdefault(i, []).append(f'<w:commentRangeStart w:id="{cid}"/>')
        after.setdefault(k, []).append(f'<w:commentRangeEnd w:id="{cid}"/><w:r><w:rPr><w:rStyle '
                                       f'w:val="CommentReference"/></w:rPr><w:commentReference w:id="{cid}"/></w:r>')
    out = []
    for mine in lines:
        out.append("<w:p>")
        for n in mine:
            a, b = pieces[n]
            out += before.get(n, ())
            out.append(_run(text[a:b], covered[n]))
            out += after.get(n, ())
        out.append("</w:p>")
    return "".join(out)


def coded_documents_docx(documents: Sequence[CodedDocument], excerpts: Sequence[Excerpt], cover: str,
                         when: datetime | None = None) -> bytes:
    """Each document under its heading (attributes below it), its codings as comments in the
    margin (dated ``when``); a page break between documents."""
    from docx.enum.text import WD_BREAK
    from docx.oxml.parser import parse_xml

    doc = _docx()
    comments = _Comments(when or datetime.now(UTC))
    by_doc: dict[str, list[Excerpt]] = {}
    for e in excerpts:
        by_doc.setdefault(e.document_id, []).append(e)
    for n, d in enumerate(documents):
        if n:
            doc.paragraph().add_run().add_break(WD_BREAK.PAGE)
        _heading(doc, d.name, 1)
        _para(doc, cover, italic=True)
        if d.attributes:
            _para(doc, "; ".join(f"{k}: {v}" for k, v in sorted(d.attributes.items(),
                                                                key=lambda kv: kv[0].casefold())), italic=True)
        codings = by_doc.get(d.document_id, [])
        _para(doc, f"{len(codings)} coding(s), each a comment in the margin: code path, by its coder.", italic=True)
        body = parse_xml(f'<w:body xmlns:w="{W}">{_document_xml(d.text, codings, comments)}</w:body>')
        end = doc.paragraph()._p  # an anchor: the document's paragraphs go before it, then it goes
        for p in list(body):
            end.addprevious(p)
        end.getparent().remove(end)
    comments.attach(doc.doc)
    return doc.save()
