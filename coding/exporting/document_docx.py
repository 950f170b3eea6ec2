"""Coded documents as Word files, their codes in the margin: each coding is a Word comment
anchored on exactly the text it codes (python-docx 1.2 ``Document.add_comment``), its
author the coder, its text the code path (and the coding's memo). Coded text is
highlighted so it shows without the comment pane.

The text is the stored text: every line a paragraph, cut into runs at every coding's
start and end, so a comment's range starts and ends where the coding does. Characters XML
cannot hold become U+FFFD (one for one, so nothing shifts). Pure.
"""

from __future__ import annotations

import bisect
import heapq
import re
from collections.abc import Sequence
from dataclasses import dataclass

from coding.exporting.excerpts import Excerpt
from coding.exporting.writers import _docx, _heading, _para

_LINE_END = re.compile(r"\r\n|\r|\n")


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


def _write_document(doc, d: CodedDocument, codings: Sequence[Excerpt]) -> int:
    """The document's text as paragraphs of runs, one comment per coding; returns the number
    of comments placed (a coding over line breaks only has no text to anchor on)."""
    from docx.enum.text import WD_COLOR_INDEX

    cuts = sorted({p for e in codings for p in (e.start, e.end)})
    coded = [(e.start, e.end) for e in codings]
    # pieces: (start, end, run), in text order; a piece never straddles a cut or a line end
    pieces: list[tuple[int, int, object]] = []
    ci = 0
    for a, b in _lines(d.text):
        p = doc.paragraph()
        while ci < len(cuts) and cuts[ci] <= a:
            ci += 1
        pos, k = a, ci
        while pos < b:
            nxt = cuts[k] if k < len(cuts) and cuts[k] < b else b
            run = doc.run(p, d.text[pos:nxt])
            pieces.append((pos, nxt, run))
            pos, k = nxt, k + 1 if nxt < b else k
    if coded:
        # highlight each piece some coding covers: a sweep over the sorted pieces
        starts = sorted(coded)
        ends: list[int] = []
        j = 0
        for a, b, run in pieces:
            while j < len(starts) and starts[j][0] <= a:
                heapq.heappush(ends, starts[j][1])
                j += 1
            while ends and ends[0] <= a:
                heapq.heappop(ends)
            if ends:
                run.font.highlight_color = WD_COLOR_INDEX.YELLOW
    piece_starts = [a for a, _, _ in pieces]
    piece_ends = [b for _, b, _ in pieces]
    placed = 0
    for e in sorted(codings, key=lambda e: (e.start, e.end, e.code, e.coder)):
        i = bisect.bisect_left(piece_starts, e.start)       # first piece starting inside the coding
        j = bisect.bisect_right(piece_ends, e.end) - 1      # last piece ending inside it
        if i >= len(pieces) or j < i or piece_starts[i] >= e.end:
            continue
        who = "consensus" if e.layer == "consensus" else e.coder
        text = e.code + (f"\nMemo: {e.memo}" if e.memo else "")
        doc.doc.add_comment([pieces[i][2], pieces[j][2]], text=_safe(text), author=_safe(who),
                            initials=_safe(_initials(who)))
        placed += 1
    return placed


def _safe(text: str) -> str:
    from coding.exporting.table import xml_safe

    return xml_safe(text)


def coded_documents_docx(documents: Sequence[CodedDocument], excerpts: Sequence[Excerpt], cover: str) -> bytes:
    """Each document under its heading (attributes below it), its codings as comments in the
    margin; a page break between documents."""
    from docx.enum.text import WD_BREAK

    doc = _docx()
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
        _write_document(doc, d, codings)
    return doc.save()
