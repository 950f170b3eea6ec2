"""Step one of agreement: turn coders' spans into units.

A span is ``(start, end)``, ``[start, end)`` in code points of the stored text
(DESIGN.md, Offsets). Lists may be unsorted and overlapping; empty spans
(``start == end``) cover nothing and are ignored everywhere. Everything here is
pure: no database, no spaCy, no coefficients (those are step two, in
:mod:`coding.agreement.coefficients`).

This module holds what every kind of unit shares (spans, merging, 2x2 tables of a
unit matrix) and the roll-up. Units offered:

* **characters** (what NVivo reports): :mod:`coding.agreement.characters`
  (:func:`char_table`, :func:`char_tables`, :func:`char_segments`).
* **sentences and speaker turns**: :mod:`coding.agreement.sentences`
  (:func:`units_coded` / :func:`unit_matrix`).
* **matched segments** (as MAXQDA): :mod:`coding.agreement.segments` (:func:`match_segments`).
* **roll-up** of descendants into their parent: :func:`roll_up` (here).

Tables are ``(both, only_a, only_b, neither)``: units coded by both coders, by
the first only, by the second only, by neither.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Optional

import numpy as np

from coding.errors import AgreementError, CodebookError, OffsetError

Span = tuple[int, int]
Table = tuple[int, int, int, int]


# ---------------------------------------------------------------- basics


def _checked(spans: Iterable[Sequence[int]], length: Optional[int] = None) -> list[Span]:
    """Spans as int tuples, validated; empty ones dropped."""
    out: list[Span] = []
    for span in spans:
        try:
            start, end = span
            start, end = int(start), int(end)
        except (TypeError, ValueError):
            raise OffsetError(
                f"span {span!r} is not a (start, end) pair of integers; "
                "pass spans as (start, end) code-point offsets"
            ) from None
        if start < 0 or end < start:
            raise OffsetError(
                f"span ({start}, {end}) is invalid: need 0 <= start <= end; "
                "check the coding's offsets"
            )
        if length is not None and end > length:
            raise OffsetError(
                f"span ({start}, {end}) ends after the text ({length} code points); "
                "check that the coding belongs to this document"
            )
        if start < end:
            out.append((start, end))
    return out


def _merge_checked(spans: list[Span]) -> list[Span]:
    merged: list[Span] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            if end > merged[-1][1]:
                merged[-1] = (merged[-1][0], end)
        else:
            merged.append((start, end))
    return merged


def merge_spans(spans: Iterable[Sequence[int]]) -> list[Span]:
    """Sorted, disjoint spans covering the same text; overlapping and adjacent spans merged."""
    return _merge_checked(_checked(spans))


def covered_length(spans: Iterable[Sequence[int]]) -> int:
    """Number of code points covered by at least one span."""
    return sum(end - start for start, end in merge_spans(spans))


def intersection_length(a: Sequence[Span], b: Sequence[Span]) -> int:
    """Code points covered by both of two *merged* span lists (linear merge)."""
    i = j = total = 0
    while i < len(a) and j < len(b):
        lo = max(a[i][0], b[j][0])
        hi = min(a[i][1], b[j][1])
        if hi > lo:
            total += hi - lo
        if a[i][1] < b[j][1]:
            i += 1
        else:
            j += 1
    return total


# ---------------------------------------------------------------- shares and unit matrices


def _check_share(value: float, name: str) -> float:
    try:
        value = float(value)
    except (TypeError, ValueError):
        raise AgreementError(f"{name} must be a number between 0 and 1, got {value!r}") from None
    if not 0.0 <= value <= 1.0:
        raise AgreementError(
            f"{name} must lie between 0 and 1 (a share, e.g. 0.5 for half), got {value}"
        )
    return value


def only_coded(matrix: np.ndarray, weights: Optional[np.ndarray] = None):
    """Keep the units (columns) at least one coder coded; with ``weights``, return both."""
    matrix = np.asarray(matrix)
    keep = np.nan_to_num(matrix, nan=0.0).any(axis=0)
    if weights is None:
        return matrix[:, keep]
    return matrix[:, keep], np.asarray(weights)[keep]


def table_from_matrix(matrix: np.ndarray, weights: Optional[np.ndarray] = None) -> Table:
    """2x2 table of a two-coder 0/1 unit matrix, each unit counted ``weight`` times."""
    matrix = np.asarray(matrix)
    if matrix.ndim != 2 or matrix.shape[0] != 2:
        raise AgreementError(
            f"a 2x2 table needs exactly two coders (rows), got shape {matrix.shape}; "
            "use a multi-coder coefficient for more"
        )
    a, b = matrix[0] > 0, matrix[1] > 0
    w = np.ones(matrix.shape[1], dtype=np.int64) if weights is None else np.asarray(weights, dtype=np.int64)
    return (
        int(w[a & b].sum()),
        int(w[a & ~b].sum()),
        int(w[~a & b].sum()),
        int(w[~a & ~b].sum()),
    )


# ---------------------------------------------------------------- hierarchy


def roll_up(
    code_spans: Mapping[str, Iterable[Sequence[int]]], parent_of: Mapping[str, Optional[str]]
) -> dict[str, list[Span]]:
    """Each code's spans plus those of all its descendants.

    ``parent_of`` maps every code id of the codebook to its parent id (``None``
    for a top-level code); descent follows these ids only, never names or
    string prefixes. Returns one sorted list per code of ``parent_of``
    (duplicates kept: merge later if the unit needs it). Raises
    :class:`CodebookError` for a cycle, an unknown parent, or codings of a code
    that is not in the codebook.
    """
    for code, parent in parent_of.items():
        if parent is not None and parent not in parent_of:
            raise CodebookError(
                f"code {code!r} names parent {parent!r}, which is not in the codebook; "
                "fix the codebook tree before computing agreement"
            )
    rooted: set[str] = set()
    for code in parent_of:
        path: list[str] = []
        node: Optional[str] = code
        while node is not None and node not in rooted:
            if node in path:
                raise CodebookError(
                    f"the codebook tree has a cycle through code {node!r}; "
                    "give every code a parent chain that ends at a top-level code"
                )
            path.append(node)
            node = parent_of[node]
        rooted.update(path)
    out: dict[str, list[Span]] = {code: [] for code in parent_of}
    for code, spans in code_spans.items():
        if code not in parent_of:
            raise CodebookError(
                f"codings refer to code {code!r}, which is not in the codebook; "
                "pass the whole codebook's parent map"
            )
        spans = _checked(spans)
        node = code
        while node is not None:
            out[node].extend(spans)
            node = parent_of[node]
    return {code: sorted(spans) for code, spans in out.items()}
