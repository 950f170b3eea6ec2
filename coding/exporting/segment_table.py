"""The segment table for statistics software (SPSS, R, Stata): one row per coded segment,
one 0/1 column per code, as MAXQDA's "coded segments with code variables".

A segment is one coder's span of one document in one layer (document, layer, coder,
start, end): the codes that coder applied to exactly that span are its 1s. Each code's
column therefore sums to the number of its codings among the excerpts given (a coder
applies a code to a span once). Pure: reads :class:`~coding.exporting.excerpts.Excerpt`
records, which already hold only what the member may see.
"""

from __future__ import annotations

from collections.abc import Sequence

from coding.exporting.excerpts import Excerpt

FIXED = ("segment", "document", "coder", "layer", "start", "end", "speakers", "timestamp", "text")


def _attribute_columns(names: list[str], taken: set[str]) -> list[str]:
    return [a if a not in taken else f"attribute {a}" for a in names]


def segment_table(excerpts: Sequence[Excerpt], code_paths: Sequence[tuple[str, str]]) -> tuple[list, list[list]]:
    """(header, rows): segment number, document, the document's attributes, coder, layer,
    start, end, speakers, timestamp, text, then one 0/1 column per ``(code id, path)`` of
    ``code_paths`` (in that order; a code of an excerpt missing from it gets a column at
    the end). Rows in document then text order."""
    codes = list(code_paths)
    known = {cid for cid, _ in codes}
    for e in excerpts:
        if e.code_id not in known:
            known.add(e.code_id)
            codes.append((e.code_id, e.code))
    attr_names = sorted({k for e in excerpts for k in e.attributes}, key=str.casefold)
    attr_cols = _attribute_columns(attr_names, set(FIXED))
    taken = set(FIXED) | set(attr_cols)
    code_cols = [p if p not in taken else f"code {p}" for _, p in codes]
    column = {cid: i for i, (cid, _) in enumerate(codes)}

    segments: dict[tuple, tuple[Excerpt, list[int]]] = {}
    for e in excerpts:
        key = (e.document_id, e.layer, e.coder, e.start, e.end)
        if key not in segments:
            segments[key] = (e, [0] * len(codes))
        segments[key][1][column[e.code_id]] = 1
    ordered = sorted(segments.values(), key=lambda se: (se[0].document.casefold(), se[0].document_id,
                                                        se[0].start, se[0].end, se[0].layer, se[0].coder))
    values: dict[str, list[str]] = {}  # a document's attribute cells, made once
    rows = []
    for n, (e, flags) in enumerate(ordered, start=1):
        if e.document_id not in values:
            values[e.document_id] = [e.attributes.get(a, "") for a in attr_names]
        rows.append([n, e.document, *values[e.document_id], e.coder, e.layer, e.start, e.end,
                     "; ".join(e.speakers), e.timestamp or "", e.text, *flags])
    header = ["segment", "document", *attr_cols, "coder", "layer", "start", "end", "speakers", "timestamp",
              "text", *code_cols]
    return header, rows
