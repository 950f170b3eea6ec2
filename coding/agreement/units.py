"""Step one of agreement: turn coders' spans into units.

A span is ``(start, end)``, ``[start, end)`` in code points of the stored text
(DESIGN.md, Offsets). Lists may be unsorted and overlapping; empty spans
(``start == end``) cover nothing and are ignored everywhere. Everything here is
pure: no database, no spaCy, no coefficients (those are step two, in
:mod:`coding.agreement.coefficients`).

Units offered:

* **characters** (what NVivo reports): :func:`char_table` gives the 2x2 table of
  two coders for one code by interval arithmetic, never building per-character
  arrays; :func:`char_tables` does the same for many (document, code) groups at
  once, vectorised; :func:`char_segments` serves more than two coders.
* **sentences and speaker turns**: :func:`units_coded` / :func:`unit_matrix`.
* **matched segments** (as MAXQDA): :func:`match_segments`.
* **roll-up** of descendants into their parent: :func:`roll_up`.

Tables are ``(both, only_a, only_b, neither)``: units coded by both coders, by
the first only, by the second only, by neither.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
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


# ---------------------------------------------------------------- character units


def _check_length(length: int) -> int:
    if not isinstance(length, (int, np.integer)) or length < 0:
        raise OffsetError(
            f"text length {length!r} is invalid; pass len(document text) as a non-negative int"
        )
    return int(length)


def char_table(length: int, spans_a: Iterable[Sequence[int]], spans_b: Iterable[Sequence[int]]) -> Table:
    """2x2 table over the characters ``[0, length)`` of one text, for one code.

    ``both + only_a + only_b + neither == length``. Interval arithmetic:
    cost grows with the number of spans, not with the length of the text.
    """
    length = _check_length(length)
    a = _merge_checked(_checked(spans_a, length))
    b = _merge_checked(_checked(spans_b, length))
    len_a = sum(e - s for s, e in a)
    len_b = sum(e - s for s, e in b)
    both = intersection_length(a, b)
    return both, len_a - both, len_b - both, length - len_a - len_b + both


def char_table_coded_only(
    length: int, spans_a: Iterable[Sequence[int]], spans_b: Iterable[Sequence[int]]
) -> Table:
    """As :func:`char_table`, restricted to text at least one coder coded (``neither == 0``)."""
    both, only_a, only_b, _ = char_table(length, spans_a, spans_b)
    return both, only_a, only_b, 0


def _union_lengths(group: np.ndarray, starts: np.ndarray, ends: np.ndarray, n_groups: int) -> np.ndarray:
    """Covered length per group; ``starts``/``ends`` already on one global line where
    groups are separated by gaps, so a sweep over all groups at once never merges
    spans of different groups."""
    keep = ends > starts
    group, starts, ends = group[keep], starts[keep], ends[keep]
    if starts.size == 0:
        return np.zeros(n_groups, dtype=np.int64)
    order = np.lexsort((ends, starts))
    starts, ends, group = starts[order], ends[order], group[order]
    reach = np.maximum.accumulate(ends)
    new_block = np.empty(starts.size, dtype=bool)
    new_block[0] = True
    new_block[1:] = starts[1:] > reach[:-1]
    first = np.flatnonzero(new_block)
    last = np.append(first[1:] - 1, starts.size - 1)
    block_len = reach[last] - starts[first]
    # bincount sums in float64: exact for totals below 2**53 characters.
    sums = np.bincount(group[first], weights=block_len, minlength=n_groups)
    return np.rint(sums).astype(np.int64)


def char_tables(
    lengths: Sequence[int],
    group: Sequence[int],
    coder: Sequence[int],
    starts: Sequence[int],
    ends: Sequence[int],
) -> np.ndarray:
    """Character 2x2 tables for many groups at once (vectorised :func:`char_table`).

    A group is typically one (document, code) pair. ``lengths[g]`` is the text
    length of group ``g``; each span ``i`` belongs to group ``group[i]`` and to
    coder ``coder[i]`` (0 = first, 1 = second). Returns an ``(n_groups, 4)``
    int64 array of ``(both, only_a, only_b, neither)`` rows; sum rows to pool
    documents. Uses ``|A and B| = |A| + |B| - |A or B|``, each a sorted sweep.
    """
    lengths = np.asarray(lengths, dtype=np.int64)
    group = np.asarray(group, dtype=np.int64)
    coder = np.asarray(coder, dtype=np.int64)
    starts = np.asarray(starts, dtype=np.int64)
    ends = np.asarray(ends, dtype=np.int64)
    n = starts.size
    if lengths.ndim != 1 or not (group.shape == coder.shape == starts.shape == ends.shape == (n,)):
        raise AgreementError(
            "char_tables needs one-dimensional lengths and equally long group, coder, "
            "starts and ends arrays; pass one entry per span"
        )
    if lengths.size and lengths.min() < 0:
        raise OffsetError("a text length is negative; pass len(document text) per group")
    if n:
        if group.min() < 0 or group.max() >= lengths.size:
            raise AgreementError(
                f"group ids must lie in 0..{lengths.size - 1}; give one length per group"
            )
        if not np.isin(coder, (0, 1)).all():
            raise AgreementError("coder must be 0 or 1 for every span; char_tables compares two coders")
        bad = (starts < 0) | (ends < starts) | (ends > lengths[group])
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise OffsetError(
                f"span ({starts[i]}, {ends[i]}) of group {group[i]} does not fit its text "
                f"(length {lengths[group[i]]}); check the coding's offsets"
            )
    offset = np.zeros(lengths.size, dtype=np.int64)
    if lengths.size > 1:
        offset[1:] = np.cumsum(lengths[:-1] + 1)
    gs, ge = starts + offset[group], ends + offset[group]
    is_a = coder == 0
    g = lengths.size
    len_a = _union_lengths(group[is_a], gs[is_a], ge[is_a], g)
    len_b = _union_lengths(group[~is_a], gs[~is_a], ge[~is_a], g)
    len_ab = _union_lengths(group, gs, ge, g)
    both = len_a + len_b - len_ab
    return np.column_stack([both, len_a - both, len_b - both, lengths - len_ab])


def char_segments(
    length: int, spans_by_coder: Sequence[Iterable[Sequence[int]]], coded_only: bool = False
) -> tuple[np.ndarray, np.ndarray]:
    """Character units for any number of coders, compressed to elementary intervals.

    The text ``[0, length)`` is cut at every span boundary; inside one piece
    every coder's coding is constant, so each piece is one unit weighted by its
    length. Returns ``(matrix, weights)``: ``matrix`` is ``(n_coders, k)`` float
    0/1, ``weights`` the ``k`` piece lengths (int64, summing to ``length``, or to
    the coded length with ``coded_only=True``, which keeps only pieces that at
    least one coder coded). A coefficient over the weighted pieces equals the
    one over single characters when each piece counts ``weight`` times.
    """
    length = _check_length(length)
    checked = [_checked(spans, length) for spans in spans_by_coder]
    cuts = {0, length}
    for spans in checked:
        for s, e in spans:
            cuts.add(s)
            cuts.add(e)
    bounds = np.array(sorted(cuts), dtype=np.int64)
    weights = np.diff(bounds)
    matrix = np.zeros((len(checked), weights.size), dtype=float)
    for row, spans in enumerate(checked):
        if not spans:
            continue
        arr = np.array(spans, dtype=np.int64)
        depth = np.zeros(bounds.size, dtype=np.int64)
        np.add.at(depth, np.searchsorted(bounds, arr[:, 0]), 1)
        np.add.at(depth, np.searchsorted(bounds, arr[:, 1]), -1)
        matrix[row] = np.cumsum(depth)[:-1] > 0
    if coded_only:
        keep = matrix.any(axis=0)
        matrix, weights = matrix[:, keep], weights[keep]
    return matrix, weights


# ---------------------------------------------------------------- sentence / turn units


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


def units_coded(
    units: Sequence[Sequence[int]], spans: Iterable[Sequence[int]], min_share: float = 0.0
) -> np.ndarray:
    """Which units (sentences, turns) a coder's spans of one code code.

    The share of a unit is ``overlap / len(unit)``, with the coder's spans merged
    first so overlapping codings are not counted twice. With ``min_share == 0``
    (default) any overlap codes the unit; otherwise the share must be
    ``>= min_share``. Returns one bool per unit, in the order given. Empty units
    are never coded. Cost: sorting the spans, then ``O(log spans)`` per unit.
    """
    min_share = _check_share(min_share, "min_share")
    unit_arr = np.array(_checked_units(units), dtype=np.int64).reshape(-1, 2)
    merged = merge_spans(spans)
    if unit_arr.size == 0:
        return np.zeros(0, dtype=bool)
    if not merged:
        return np.zeros(len(unit_arr), dtype=bool)
    sp = np.array(merged, dtype=np.int64)
    starts, ends = sp[:, 0], sp[:, 1]
    before = np.concatenate(([0], np.cumsum(ends - starts)))

    def covered_up_to(x: np.ndarray) -> np.ndarray:
        # code points in [0, x) covered by the merged spans
        k = np.searchsorted(starts, x, side="right")  # spans starting before x
        partial = np.where(k > 0, np.minimum(x, ends[k - 1]) - starts[k - 1], 0)
        return before[np.maximum(k - 1, 0)] * (k > 0) + partial

    overlap = covered_up_to(unit_arr[:, 1]) - covered_up_to(unit_arr[:, 0])
    size = unit_arr[:, 1] - unit_arr[:, 0]
    if min_share == 0.0:
        return overlap > 0
    with np.errstate(divide="ignore", invalid="ignore"):
        # divide, not multiply: overlap/size is the correctly rounded ratio, so an
        # exact share such as 3/10 compares equal to 0.3
        share = np.where(size > 0, overlap / np.maximum(size, 1), 0.0)
    return (size > 0) & (share >= min_share)


def _checked_units(units: Sequence[Sequence[int]]) -> list[Span]:
    out: list[Span] = []
    for unit in units:
        try:
            start, end = (int(v) for v in unit)
        except (TypeError, ValueError):
            raise AgreementError(
                f"unit {unit!r} is not a (start, end) pair of integers; "
                "pass sentence or turn spans as stored"
            ) from None
        if start < 0 or end < start:
            raise OffsetError(f"unit ({start}, {end}) is invalid: need 0 <= start <= end")
        out.append((start, end))
    return out


def unit_matrix(
    units: Sequence[Sequence[int]],
    spans_by_coder: Sequence[Iterable[Sequence[int]]],
    min_share: float = 0.0,
) -> np.ndarray:
    """``(n_coders, n_units)`` float 0/1 matrix: coder ``c`` coded unit ``u`` (see :func:`units_coded`)."""
    rows = [units_coded(units, spans, min_share) for spans in spans_by_coder]
    if not rows:
        return np.zeros((0, len(units)), dtype=float)
    return np.vstack(rows).astype(float)


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


# ---------------------------------------------------------------- matched segments


@dataclass(frozen=True)
class SegmentMatch:
    """Outcome of :func:`match_segments` for one code (and one document or pooled).

    ``flags_a[i]`` says whether coder A's ``i``-th non-empty segment (input
    order) found a match; likewise ``flags_b``.
    """

    matched_a: int
    matched_b: int
    unmatched_a: int
    unmatched_b: int
    flags_a: tuple[bool, ...] = ()
    flags_b: tuple[bool, ...] = ()

    @property
    def total(self) -> int:
        """All segments of both coders: the units of this comparison."""
        return self.matched_a + self.matched_b + self.unmatched_a + self.unmatched_b

    @property
    def table(self) -> Table:
        """Each segment is a unit, coded by its owner and, when matched, by the other
        coder. No unit is coded by neither, so ``neither`` is 0: chance-corrected
        coefficients need an assumption about it, percent agreement does not."""
        return self.matched_a + self.matched_b, self.unmatched_a, self.unmatched_b, 0

    @property
    def percent(self) -> float:
        """Share of segments that found a match (0..1), as MAXQDA reports it; NaN without segments."""
        total = self.total
        return (self.matched_a + self.matched_b) / total if total else float("nan")

    def __add__(self, other: "SegmentMatch") -> "SegmentMatch":
        """Pool two results (e.g. over documents); flags are concatenated."""
        return SegmentMatch(
            self.matched_a + other.matched_a,
            self.matched_b + other.matched_b,
            self.unmatched_a + other.unmatched_a,
            self.unmatched_b + other.unmatched_b,
            self.flags_a + other.flags_a,
            self.flags_b + other.flags_b,
        )


_MATCH_BLOCK = 2048  # rows per block of the pairwise overlap matrix


def _overlap_ok(a: np.ndarray, b: np.ndarray, min_overlap: float) -> np.ndarray:
    """``(len(a), len(b))`` bool: pair overlaps enough (blocked over rows to bound memory)."""
    out = np.zeros((len(a), len(b)), dtype=bool)
    if len(a) == 0 or len(b) == 0:
        return out
    for lo in range(0, len(a), _MATCH_BLOCK):
        blk = a[lo : lo + _MATCH_BLOCK]
        inter = np.minimum(blk[:, 1:2], b[None, :, 1]) - np.maximum(blk[:, 0:1], b[None, :, 0])
        inter = np.maximum(inter, 0)
        union = (blk[:, 1:2] - blk[:, 0:1]) + (b[None, :, 1] - b[None, :, 0]) - inter
        if min_overlap == 0.0:
            out[lo : lo + len(blk)] = inter > 0
        else:
            out[lo : lo + len(blk)] = (inter > 0) & (inter / union >= min_overlap)
    return out


def match_segments(
    spans_a: Iterable[Sequence[int]], spans_b: Iterable[Sequence[int]], min_overlap: float = 0.9
) -> SegmentMatch:
    """MAXQDA-style segment agreement of two coders for one code.

    Rule: a segment of one coder *agrees* when the other coder has a segment of
    the same code whose overlap with it reaches ``min_overlap`` of the area the
    two segments cover together (intersection / union of the two spans). The
    measure is symmetric, so an A segment matches a B segment exactly when that
    B segment matches it; each segment is judged on its own (one long segment
    may match several short ones only if each pair passes the threshold, which
    above 0.5 it rarely can). Every segment of either coder is one unit, and
    the percentage is ``matched segments / all segments``, as MAXQDA's
    segment-level table (per code: total, agreements, percentage) reports it.
    ``min_overlap == 0`` means any overlap. The default 0.9 is the 90% MAXQDA
    and QDA Miner both propose. Segments are not merged within a coder: each
    coding counts; empty spans are ignored.
    """
    min_overlap = _check_share(min_overlap, "min_overlap")
    a = np.array(_checked(spans_a), dtype=np.int64).reshape(-1, 2)
    b = np.array(_checked(spans_b), dtype=np.int64).reshape(-1, 2)
    ok = _overlap_ok(a, b, min_overlap)
    fa = ok.any(axis=1)
    fb = ok.any(axis=0)
    ma, mb = int(fa.sum()), int(fb.sum())
    return SegmentMatch(
        matched_a=ma,
        matched_b=mb,
        unmatched_a=len(a) - ma,
        unmatched_b=len(b) - mb,
        flags_a=tuple(bool(x) for x in fa),
        flags_b=tuple(bool(x) for x in fb),
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
