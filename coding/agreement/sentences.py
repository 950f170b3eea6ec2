"""Sentence and speaker-turn units: which units a coder's spans code, and the unit matrix.

Spans as in :mod:`coding.agreement.units`; the units themselves are ``(start, end)`` pairs
as stored (sentences, turns).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np

from coding.errors import AgreementError, OffsetError
from coding.agreement.units import Span, _check_share, merge_spans


# ---------------------------------------------------------------- sentence / turn units


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
