"""Character units (what NVivo reports): the 2x2 table of two coders by interval arithmetic,
never building per-character arrays.

:func:`char_table` for one text and code; :func:`char_tables` for many (document, code)
groups at once, vectorised; :func:`char_segments` for more than two coders (elementary
intervals, each weighted by its length). Spans and tables as in :mod:`coding.agreement.units`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np

from coding.errors import AgreementError, OffsetError
from coding.agreement.units import Table, _checked, _merge_checked, intersection_length


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
