"""Matched segments (as MAXQDA): each coding is a unit, agreeing when the other coder has a
segment of the same code that overlaps it enough. Spans as in :mod:`coding.agreement.units`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from coding.agreement.units import Table, _check_share, _checked


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
