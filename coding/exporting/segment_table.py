"""The segment table for statistics software (SPSS, R, Stata): one row per coded segment,
one 0/1 column per code, as MAXQDA's "coded segments with code variables".

A segment is one coder's span of one document in one layer (document, layer, coder,
start, end): the codes that coder applied to exactly that span are its 1s. Each code's
column therefore sums to the number of its codings among the excerpts given (a coder
applies a code to a span once). Pure: reads :class:`~coding.exporting.excerpts.Excerpt`
records, which already hold only what the member may see.

Column names (``names``): ``paths`` (the default) names a code's column by its path and an
attribute's by its name, exactly what the project calls them (Excel, R's readr and pandas
keep them as they are); ``spss`` makes every column a variable name that SPSS, Stata and
base R all accept unchanged: ASCII letters, digits and ``_``, a letter first, at most 32
characters (Stata's limit; SPSS allows 64 bytes), no reserved word of the three, unique
ignoring case (SPSS ignores it). :func:`variables_table` maps each name to its column's
code path (or attribute, or fixed field) and definition.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from coding.errors import CodingError
from coding.exporting.excerpts import Excerpt

FIXED = ("segment", "document", "coder", "layer", "start", "end", "speakers", "timestamp", "text")
FIXED_LABELS = {
    "segment": "Segment number, 1 to n, in document then text order",
    "document": "Document name",
    "coder": "Member whose coding the segment is",
    "layer": "Coding layer: coder (each coder's own) or consensus",
    "start": "First character of the segment in the document (0-based offset)",
    "end": "Character after the segment's last (start + length)",
    "speakers": "Speakers of the turns the segment touches, separated by '; '",
    "timestamp": "Timestamp of the segment's first turn, where the transcript has one",
    "text": "The coded text",
}
NAMINGS = ("paths", "spss")
NAME_LIMIT = 32
SPSS_RESERVED = ("ALL", "AND", "BY", "EQ", "GE", "GT", "LE", "LT", "NE", "NOT", "OR", "TO", "WITH")
STATA_RESERVED = ("byte", "double", "float", "if", "in", "int", "long", "using", "strL", "_all", "_b", "_coef",
                  "_cons", "_n", "_pi", "_pred", "_rc", "_skip")
R_RESERVED = ("else", "repeat", "while", "function", "for", "next", "break", "TRUE", "FALSE", "NULL", "Inf", "NaN",
              "NA", "NA_integer_", "NA_real_", "NA_character_", "NA_complex_")
# Reserved words of the three, compared ignoring case: a name is safe in all three.
RESERVED = frozenset(w.casefold() for w in (*SPSS_RESERVED, *STATA_RESERVED, *R_RESERVED))


@dataclass(frozen=True)
class Column:
    """One column of the table: its name in the file, what it holds (fixed, attribute or
    code), its source (the fixed field, the attribute's name or the code's path) and, for a
    code, its id."""

    name: str
    kind: str
    source: str
    code_id: str | None = None


def spss_name(text: str, prefix: str, taken: set[str]) -> str:
    """A variable name for ``text``, valid in SPSS, Stata and R and not in ``taken`` (names
    casefolded; the new one is added). Accents are dropped, other characters and runs of
    them become ``_``; a name that would start with no letter or be a reserved word gets
    ``prefix_``; a name already taken gets ``_2``, ``_3``, ... (shortened to fit)."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    base = re.sub(r"[^A-Za-z0-9]+", "_", ascii_text).strip("_")
    if not base or not base[0].isalpha() or base.casefold() in RESERVED:
        base = f"{prefix}_{base}" if base else prefix
    base = base[:NAME_LIMIT].rstrip("_")
    name, n = base, 2
    while name.casefold() in taken or name.casefold() in RESERVED:
        suffix = f"_{n}"
        name, n = base[:NAME_LIMIT - len(suffix)].rstrip("_") + suffix, n + 1
    taken.add(name.casefold())
    return name


def columns(excerpts: Sequence[Excerpt], code_paths: Sequence[tuple[str, str]], names: str = "paths") -> list[Column]:
    """Every column of the segment table, in order: the fixed ones with the documents'
    attributes after ``document``, then one per ``(code id, path)`` of ``code_paths`` (a
    code of an excerpt missing from it gets a column at the end)."""
    if names not in NAMINGS:
        raise CodingError(f"column names are {' or '.join(NAMINGS)}, not {names!r}")
    codes = list(code_paths)
    known = {cid for cid, _ in codes}
    for e in excerpts:
        if e.code_id not in known:
            known.add(e.code_id)
            codes.append((e.code_id, e.code))
    attrs = sorted({k for e in excerpts for k in e.attributes}, key=str.casefold)
    if names == "spss":
        taken: set[str] = {f.casefold() for f in FIXED}  # all valid names already
        attr_cols = [Column(spss_name(a, "a", taken), "attribute", a) for a in attrs]
        code_cols = [Column(spss_name(p, "c", taken), "code", p, cid) for cid, p in codes]
    else:
        attr_cols = [Column(a if a not in FIXED else f"attribute {a}", "attribute", a) for a in attrs]
        used = set(FIXED) | {c.name for c in attr_cols}
        code_cols = [Column(p if p not in used else f"code {p}", "code", p, cid) for cid, p in codes]
    fixed = [Column(f, "fixed", f) for f in FIXED]
    return [*fixed[:2], *attr_cols, *fixed[2:], *code_cols]


def segment_table(excerpts: Sequence[Excerpt], code_paths: Sequence[tuple[str, str]], names: str = "paths",
                  cols: Sequence[Column] | None = None) -> tuple[list, list[list]]:
    """(header, rows): segment number, document, the document's attributes, coder, layer,
    start, end, speakers, timestamp, text, then one 0/1 column per code (see
    :func:`columns`; ``cols``: its result when already made). Rows in document then text order."""
    cols = cols if cols is not None else columns(excerpts, code_paths, names)
    attr_names = [c.source for c in cols if c.kind == "attribute"]
    code_ids = [c.code_id for c in cols if c.kind == "code"]
    column = {cid: i for i, cid in enumerate(code_ids)}
    width = len(code_ids)

    segments: dict[tuple, tuple[Excerpt, list[int]]] = {}
    for e in excerpts:
        key = (e.document_id, e.layer, e.coder, e.start, e.end)
        seg = segments.get(key)
        if seg is None:
            seg = segments[key] = (e, [0] * width)
        seg[1][column[e.code_id]] = 1
    ordered = sorted(segments.values(), key=lambda se: (se[0].document.casefold(), se[0].document_id,
                                                        se[0].start, se[0].end, se[0].layer, se[0].coder))
    values: dict[str, list[str]] = {}  # a document's attribute cells, made once
    rows = []
    for n, (e, flags) in enumerate(ordered, start=1):
        if e.document_id not in values:
            values[e.document_id] = [e.attributes.get(a, "") for a in attr_names]
        rows.append([n, e.document, *values[e.document_id], e.coder, e.layer, e.start, e.end,
                     "; ".join(e.speakers), e.timestamp or "", e.text, *flags])
    return [c.name for c in cols], rows


VARIABLE_HEADER = ["variable", "kind", "source", "values", "definition"]


def variables_table(cols: Sequence[Column], definitions: Mapping[str, str]) -> tuple[list[str], list[list]]:
    """(header, rows): each column's name, kind, source (fixed field, attribute name or code
    path, exactly as the project has it), values and definition (a code's from
    ``definitions``, by code id)."""
    rows = []
    for c in cols:
        if c.kind == "code":
            rows.append([c.name, "code", c.source, "1 = the coder applied the code to the segment, 0 = not",
                         definitions.get(c.code_id or "", "")])
        elif c.kind == "attribute":
            rows.append([c.name, "attribute", c.source, "text", f"The document's attribute {c.source!r}"])
        else:
            kind = "number" if c.source in ("segment", "start", "end") else "text"
            rows.append([c.name, "fixed", c.source, kind, FIXED_LABELS[c.source]])
    return list(VARIABLE_HEADER), rows
