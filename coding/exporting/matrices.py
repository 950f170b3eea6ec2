"""Matrices over excerpts: code × attribute value, code × code co-occurrence, code × document.

Every matrix is built from a list of :class:`~coding.exporting.excerpts.Excerpt` (so the
blind rule and the filters are those of :func:`~coding.exporting.excerpts.excerpts`) and
keeps, for each cell, the excerpts behind it (drill-down). Rows are codes in codebook order.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from coding.codebook.tree import CodeTree
from coding.errors import CodingError
from coding.store.models import SpeakerTurn
from coding.exporting.excerpts import Excerpt

COUNTS = ("excerpts", "documents", "participants")
MISSING = "(none)"


@dataclass
class Matrix:
    """Row labels (code paths), column labels, integer counts, and the excerpts per cell."""

    title: str
    rows: list[str]
    columns: list[str]
    counts: list[list[int]]
    cells: dict[tuple[str, str], list[Excerpt]] = field(default_factory=dict)
    row_header: str = "code"

    def count(self, row: str, column: str) -> int:
        return self.counts[self.rows.index(row)][self.columns.index(column)]

    def table(self) -> list[list]:
        """Header row then one row per code: [code, count, count, ...]."""
        return [[self.row_header, *self.columns], *([r, *c] for r, c in zip(self.rows, self.counts))]

    def frame(self):
        """As a pandas DataFrame (index: codes)."""
        import pandas as pd

        df = pd.DataFrame(self.counts, index=pd.Index(self.rows, name=self.row_header), columns=self.columns)
        return df

    def long(self) -> list[dict]:
        """One record per cell (row, column, count), for a heatmap."""
        return [{"row": r, "column": c, "count": n}
                for r, counts in zip(self.rows, self.counts) for c, n in zip(self.columns, counts)]


def _unique(cells: dict[tuple[str, str], list[Excerpt]]) -> dict[tuple[str, str], list[Excerpt]]:
    """Each cell's excerpts once, in text order."""
    out = {}
    for key, es in cells.items():
        seen = {e.coding_id: e for e in es}
        out[key] = sorted(seen.values(), key=lambda e: (e.document.casefold(), e.start, e.end, e.coder))
    return out


def _code_rows(tree: CodeTree, code_ids: Iterable[str]) -> list[str]:
    """Ids in codebook order."""
    ids = set(code_ids)
    return [i.id for i in tree.infos if i.id in ids]


def _ancestors(tree: CodeTree, code_id: str) -> list[str]:
    out = []
    info = tree.info.get(code_id)
    while info is not None and info.parent_id is not None:
        out.append(info.parent_id)
        info = tree.info.get(info.parent_id)
    return out


def _codes_of(tree: CodeTree, e: Excerpt, rollup: bool) -> list[str]:
    return [e.code_id, *(_ancestors(tree, e.code_id) if rollup else ())]


def _path(tree: CodeTree, code_id: str) -> str:
    info = tree.info.get(code_id)
    return info.path if info else "?"


def code_by_attribute(excerpts: Sequence[Excerpt], tree: CodeTree, attribute: str, *,
                      count: str = "excerpts", rollup: bool = False,
                      participant: str | None = None) -> Matrix:
    """Code × value of ``attribute`` (e.g. role). ``count``: excerpts, documents (distinct
    interviews) or participants (distinct values of the ``participant`` attribute; without
    one, each document is one participant, as in one-interview-per-person studies).
    ``rollup``: a code's row also counts its sub-codes' excerpts (each excerpt once).
    Documents without the attribute fall under "(none)"."""
    if count not in COUNTS:
        raise CodingError(f"count {count!r} is not one of {', '.join(COUNTS)}")
    keys: dict[tuple[str, str], set] = defaultdict(set)
    cells: dict[tuple[str, str], list[Excerpt]] = defaultdict(list)
    values: set[str] = set()
    for e in excerpts:
        value = e.attributes.get(attribute, MISSING)
        values.add(value)
        if count == "excerpts":
            key = e.coding_id
        elif count == "documents" or participant is None:
            key = e.document_id
        else:
            key = e.attributes.get(participant) or f"document {e.document}"
        for code_id in _codes_of(tree, e, rollup):
            keys[code_id, value].add(key)
            cells[_path(tree, code_id), value].append(e)
    rows = _code_rows(tree, {c for c, _ in keys})
    columns = sorted(values - {MISSING}, key=str.casefold) + ([MISSING] if MISSING in values else [])
    counts = [[len(keys.get((r, c), ())) for c in columns] for r in rows]
    return Matrix(f"{count} per code and {attribute}", [_path(tree, r) for r in rows], columns, counts, _unique(cells))


def code_by_document(excerpts: Sequence[Excerpt], tree: CodeTree, *, rollup: bool = False) -> Matrix:
    """Code frequencies per document: the number of excerpts of each code in each document."""
    n: dict[tuple[str, str], int] = defaultdict(int)
    cells: dict[tuple[str, str], list[Excerpt]] = defaultdict(list)
    docs = set()
    for e in excerpts:
        docs.add(e.document)
        for code_id in _codes_of(tree, e, rollup):
            n[code_id, e.document] += 1
            cells[_path(tree, code_id), e.document].append(e)
    rows = _code_rows(tree, {c for c, _ in n})
    columns = sorted(docs, key=str.casefold)
    counts = [[n.get((r, d), 0) for d in columns] for r in rows]
    return Matrix("excerpts per code and document", [_path(tree, r) for r in rows], columns, counts, _unique(cells))


def co_occurrence(s: Session, excerpts: Sequence[Excerpt], tree: CodeTree, *, mode: str = "overlap") -> Matrix:
    """Code × code: how often two codes meet in the same coder's (or layer's) work.

    ``overlap``: pairs of excerpts of the two codes, in one document by one coder and layer,
    whose spans overlap. ``turn``: speaker turns that hold both codes (by one coder and
    layer; a turn counts once per coder). The diagonal is the number of excerpts of the code
    (overlap) or of turns holding it (turn). Symmetric."""
    if mode not in ("overlap", "turn"):
        raise CodingError(f"co-occurrence mode {mode!r} is not 'overlap' or 'turn'")
    n: dict[tuple[str, str], int] = defaultdict(int)
    cells: dict[tuple[str, str], list[Excerpt]] = defaultdict(list)
    groups: dict[tuple, list[Excerpt]] = defaultdict(list)
    for e in excerpts:
        groups[e.document_id, e.coder, e.layer].append(e)
    if mode == "overlap":
        for group in groups.values():
            group = sorted(group, key=lambda e: (e.start, e.end))
            for i, a in enumerate(group):
                n[a.code_id, a.code_id] += 1
                cells[_path(tree, a.code_id), _path(tree, a.code_id)].append(a)
                for b in group[i + 1:]:
                    if b.start >= a.end:
                        break
                    if b.code_id == a.code_id:
                        continue
                    for x, y in ((a, b), (b, a)):
                        n[x.code_id, y.code_id] += 1
                        cells[_path(tree, x.code_id), _path(tree, y.code_id)].extend((x, y))
    else:
        doc_ids = sorted({e.document_id for e in excerpts})
        turns: dict[str, list[tuple[int, int, int]]] = defaultdict(list)
        if doc_ids:
            for d, pos, start, end in s.execute(
                    select(SpeakerTurn.document_id, SpeakerTurn.position, SpeakerTurn.start, SpeakerTurn.end)
                    .where(SpeakerTurn.document_id.in_(doc_ids)).order_by(SpeakerTurn.start)):
                turns[d].append((pos, start, end))
        for (doc_id, _, _), group in groups.items():
            in_turn: dict[int, dict[str, list[Excerpt]]] = defaultdict(lambda: defaultdict(list))
            for e in group:
                for pos, start, end in turns.get(doc_id, ()):
                    if start < e.end and end > e.start:
                        in_turn[pos][e.code_id].append(e)
            for by_code in in_turn.values():
                for x, xs in by_code.items():
                    for y, ys in by_code.items():
                        n[x, y] += 1
                        cells[_path(tree, x), _path(tree, y)].extend(xs if x == y else xs + ys)
    ids = _code_rows(tree, {c for pair in n for c in pair})
    paths = [_path(tree, i) for i in ids]
    counts = [[n.get((r, c), 0) for c in ids] for r in ids]
    return Matrix(f"code co-occurrence ({mode})", paths, paths, counts, _unique(cells))
