"""The framework matrix (NVivo's Framework Matrix, the Framework method's chart): one row
per case (document), one column per code, each cell the coded text behind it.

A cell holds every passage of that code in that case, in text order, each followed by
who coded it (``[tom]``, or ``[consensus]``), passages separated by a blank line. As a
grid for XLSX and CSV; as DOCX one section per case (a grid with many codes would not
fit a page): the case's attributes, then a table code | coded text. Pure.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from coding.exporting.docx_tables import add_table
from coding.exporting.excerpts import Excerpt
from coding.exporting.writers import _docx, _heading, _para

PASSAGE_BREAK = "\n\n"


@dataclass(frozen=True)
class Case:
    """One row of the matrix: a document and its participant attributes."""

    document_id: str
    name: str
    attributes: Mapping[str, str] = field(default_factory=dict)


def _passage(e: Excerpt) -> str:
    return f"{e.text} [{'consensus' if e.layer == 'consensus' else e.coder}]"


def framework_cells(cases: Sequence[Case], excerpts: Sequence[Excerpt],
                    code_paths: Sequence[tuple[str, str]]) -> dict[tuple[str, str], list[Excerpt]]:
    """(document id, code id) -> its excerpts in text order, for the given cases and codes."""
    docs, codes = {c.document_id for c in cases}, {cid for cid, _ in code_paths}
    cells: dict[tuple[str, str], list[Excerpt]] = {}
    for e in excerpts:
        if e.document_id in docs and e.code_id in codes:
            cells.setdefault((e.document_id, e.code_id), []).append(e)
    for es in cells.values():
        es.sort(key=lambda e: (e.start, e.end, e.layer, e.coder))
    return cells


def framework_table(cases: Sequence[Case], excerpts: Sequence[Excerpt],
                    code_paths: Sequence[tuple[str, str]]) -> tuple[list, list[list]]:
    """(header, rows): document, its attributes, then one column per code path; each cell
    the coded passages of that case and code (empty: none)."""
    cells = framework_cells(cases, excerpts, code_paths)
    attr_names = sorted({k for c in cases for k in c.attributes}, key=str.casefold)
    attr_cols = [a if a != "document" else "attribute document" for a in attr_names]
    taken = {"document", *attr_cols}
    header = ["document", *attr_cols, *(p if p not in taken else f"code {p}" for _, p in code_paths)]
    rows = []
    for c in cases:
        rows.append([c.name, *(c.attributes.get(a, "") for a in attr_names),
                     *(PASSAGE_BREAK.join(_passage(e) for e in cells.get((c.document_id, cid), ()))
                       for cid, _ in code_paths)])
    return header, rows


def framework_docx(cases: Sequence[Case], excerpts: Sequence[Excerpt], code_paths: Sequence[tuple[str, str]],
                   cover: str) -> bytes:
    """One section per case: heading, attributes, and a two-column table of the codes
    with coded text there (code path | the passages, each with its coder)."""
    cells = framework_cells(cases, excerpts, code_paths)
    doc = _docx()
    _heading(doc, "Framework matrix", 0)
    _para(doc, cover, italic=True)
    for case in cases:
        _heading(doc, case.name, 1)
        if case.attributes:
            _para(doc, "; ".join(f"{k}: {v}" for k, v in sorted(case.attributes.items(),
                                                                key=lambda kv: kv[0].casefold())), italic=True)
        filled = [(cid, path) for cid, path in code_paths if (case.document_id, cid) in cells]
        if not filled:
            _para(doc, "No coded text for these codes.")
            continue
        add_table(doc, ["Code", "Coded text"], [
            [path, [[(e.text, ""), (f" [{'consensus' if e.layer == 'consensus' else e.coder}]", "i")]
                    for e in cells[(case.document_id, cid)]]] for cid, path in filled])
    return doc.save()
