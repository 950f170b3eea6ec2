"""Krippendorff's unitizing alpha (u-alpha) on a continuum of characters.

Each coder marks sections ``[start, end)`` of a continuum ``[0, length)`` with a
category; for every category, a coder's continuum splits into that coder's
units and the gaps between them. This module implements u-alpha as defined in
Krippendorff (2004a, 2004b), which refines Krippendorff (1995):

* the distance between a section ``g`` of coder ``i`` and a section ``h`` of
  coder ``j`` (begin ``b``, length ``l``) is ``(b_g - b_h)^2 + (e_g - e_h)^2``
  for two overlapping units, ``l_g^2`` for a unit lying wholly inside the
  other coder's gap (and symmetrically), and 0 otherwise;
* ``uD_o(c) = sum_i sum_{j != i} sum_g sum_h delta^2 / (m (m-1) L^2)``;
* ``uD_e(c) = (2/L) sum_units [ (N_c - 1)(2l^3 - 3l^2 + l)/3
  + l^2 sum_{gaps h, l_h >= l} (l_h - l + 1) ] / (mL(mL - 1) - sum_units l(l - 1))``,
  where ``N_c`` counts the units of category ``c`` of all coders and the gaps
  are those of all coders;
* ``u-alpha(c) = 1 - uD_o(c) / uD_e(c)``; over all categories
  ``u-alpha = 1 - sum_c uD_o(c) / sum_c uD_e(c)``.

Krippendorff, K. (1995). On the reliability of unitizing continuous data.
Sociological Methodology 25, 47-76. Krippendorff, K. (2004a). Content
Analysis: An Introduction to Its Methodology, 2nd ed., sec. 11.6. Krippendorff,
K. (2004b). Measuring the reliability of qualitative text analysis data.
Quality & Quantity 38, 787-800. The 2004 definition is the published one for
two coders; Krippendorff, Mathet, Bouvry and Widlöcher (2016, Quality &
Quantity 50) revised it because it behaves unexpectedly with more than two.

Everything runs on section boundaries, never on per-character arrays: the
time grows with the number of sections (times the number of coder pairs) and
with ``log`` of it, not with ``length``.
"""

from __future__ import annotations

import bisect
import itertools
import numbers
from collections.abc import Hashable, Sequence
from dataclasses import dataclass

from coding.errors import AgreementError
from coding.agreement.coefficients import REASON_NO_CODERS, REASON_ONE_CODER, Coefficient

REASON_EMPTY_CONTINUUM = "empty continuum: the text has length 0"
REASON_NOTHING_CODED = "nothing coded: no coder marked any section"
REASON_NO_EXPECTED = (
    "no expected disagreement: the sections leave no room for chance variation "
    "(e.g. a continuum of one character), so u-alpha is undefined"
)


@dataclass(frozen=True)
class _Sections:
    """One coder's partition of the continuum for one category: (start, end, is_unit)."""

    sections: list[tuple[int, int, bool]]
    unit_lengths: list[int]
    gap_lengths: list[int]


def _index(x, what: str) -> int:
    if isinstance(x, bool) or not isinstance(x, numbers.Integral):
        raise AgreementError(f"{what} must be a whole number (a character offset); got {x!r}")
    return int(x)


def _validate(length, segments) -> tuple[int, list[list[tuple[int, int, Hashable]]]]:
    length = _index(length, "length")
    if length < 0:
        raise AgreementError(f"length must be >= 0; got {length}")
    if isinstance(segments, (str, bytes)) or not isinstance(segments, Sequence):
        raise AgreementError(
            "segments must be a sequence with one list of (start, end, category) per coder"
        )
    coders = []
    for i, coder in enumerate(segments):
        if isinstance(coder, (str, bytes)) or not isinstance(coder, (Sequence, set, frozenset)):
            raise AgreementError(
                f"segments[{i}] must be coder {i}'s list of (start, end, category) sections"
            )
        checked = []
        for seg in coder:
            if isinstance(seg, (str, bytes)) or not isinstance(seg, Sequence) or len(seg) != 3:
                raise AgreementError(
                    f"coder {i}: section {seg!r} must be a (start, end, category) triple"
                )
            start = _index(seg[0], f"coder {i}: section start")
            end = _index(seg[1], f"coder {i}: section end")
            if not 0 <= start < end <= length:
                raise AgreementError(
                    f"coder {i}: section [{start}, {end}) must satisfy 0 <= start < end <= {length} "
                    "(a non-empty span inside the text)"
                )
            try:
                hash(seg[2])
            except TypeError:
                raise AgreementError(
                    f"coder {i}: category {seg[2]!r} must be a code name or id"
                ) from None
            checked.append((start, end, seg[2]))
        coders.append(checked)
    return length, coders


def _sections(length: int, spans: list[tuple[int, int]]) -> _Sections:
    """Merge overlapping spans of one coder and fill the gaps between them."""
    merged: list[list[int]] = []
    for start, end in sorted(spans):
        if merged and start < merged[-1][1]:  # overlap; abutting units stay separate
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    sections: list[tuple[int, int, bool]] = []
    pos = 0
    for start, end in merged:
        if start > pos:
            sections.append((pos, start, False))
        sections.append((start, end, True))
        pos = end
    if pos < length:
        sections.append((pos, length, False))
    return _Sections(
        sections,
        [e - s for s, e, unit in sections if unit],
        [e - s for s, e, unit in sections if not unit],
    )


def _distance(g: tuple[int, int, bool], h: tuple[int, int, bool]) -> int:
    """Krippendorff's (2004) squared distance between two overlapping sections."""
    (bg, eg, ug), (bh, eh, uh) = g, h
    if ug and uh:
        return (bg - bh) ** 2 + (eg - eh) ** 2
    if ug and bh <= bg and eg <= eh:
        return (eg - bg) ** 2
    if uh and bg <= bh and eh <= eg:
        return (eh - bh) ** 2
    return 0


def _pair_sum(x: list[tuple[int, int, bool]], y: list[tuple[int, int, bool]]) -> int:
    """Sum of distances over all overlapping section pairs of two coders (one sweep)."""
    total, p, q = 0, 0, 0
    while p < len(x) and q < len(y):
        total += _distance(x[p], y[q])
        end_x, end_y = x[p][1], y[q][1]
        if end_x <= end_y:
            p += 1
        if end_y <= end_x:
            q += 1
    return total


def _disagreements(length: int, per_coder: list[_Sections]) -> tuple[float, float, int]:
    """(uD_o, uD_e, number of units) for one category."""
    m = len(per_coder)
    observed = 2 * sum(
        _pair_sum(a.sections, b.sections) for a, b in itertools.combinations(per_coder, 2)
    )
    units = [l for s in per_coder for l in s.unit_lengths]
    gaps = sorted(l for s in per_coder for l in s.gap_lengths)
    # suffix sums of gap lengths so that sum_{l_h >= l} (l_h - l + 1) costs one bisect
    suffix = [0] * (len(gaps) + 1)
    for k in range(len(gaps) - 1, -1, -1):
        suffix[k] = suffix[k + 1] + gaps[k]
    n_c = len(units)
    numerator = 0  # 3/2 * L * numerator of uD_e, kept in integers
    for l in units:
        k = bisect.bisect_left(gaps, l)
        fitting = len(gaps) - k
        numerator += (n_c - 1) * (2 * l**3 - 3 * l**2 + l) + 3 * l * l * (suffix[k] - fitting * (l - 1))
    denominator = m * length * (m * length - 1) - sum(l * (l - 1) for l in units)
    d_o = observed / (m * (m - 1) * length * length)
    d_e = 2 * numerator / (3 * length * denominator) if denominator > 0 else 0.0
    return d_o, d_e, n_c


def _by_category(length: int, coders: list[list[tuple[int, int, Hashable]]]):
    spans: dict[Hashable, list[list[tuple[int, int]]]] = {}
    for i, coder in enumerate(coders):
        for start, end, cat in coder:
            spans.setdefault(cat, [[] for _ in coders])[i].append((start, end))
    for cat in sorted(spans, key=repr):
        per_coder = [_sections(length, coder_spans) for coder_spans in spans[cat]]
        yield cat, _disagreements(length, per_coder)


def _degenerate(length: int, coders: list) -> Coefficient | None:
    m = len(coders)
    if m == 0:
        return Coefficient("u_alpha", float("nan"), 0, 0, reason=REASON_NO_CODERS)
    n_units = sum(len(c) for c in coders)
    if m == 1:
        return Coefficient("u_alpha", float("nan"), n_units, 1, reason=REASON_ONE_CODER)
    if length == 0:
        return Coefficient("u_alpha", float("nan"), 0, m, reason=REASON_EMPTY_CONTINUUM)
    if n_units == 0:
        return Coefficient("u_alpha", float("nan"), 0, m, reason=REASON_NOTHING_CODED)
    return None


def _result(d_o: float, d_e: float, n_units: int, m: int) -> Coefficient:
    if d_e <= 0:
        return Coefficient("u_alpha", float("nan"), n_units, m, reason=REASON_NO_EXPECTED)
    return Coefficient("u_alpha", 1.0 - d_o / d_e, n_units, m)


def u_alpha(length: int, segments: Sequence[Sequence[tuple[int, int, str]]]) -> Coefficient:
    """Krippendorff's unitizing alpha over all categories in ``segments``.

    Parameters
    ----------
    length : int
        Length ``L`` of the continuum ``[0, L)`` (characters of the text).
    segments : sequence of length n_coders of sequences of (start, end, category)
        ``segments[i]`` holds coder ``i``'s sections; gaps are implied.
        Overlapping sections of one coder and category are merged first;
        sections that only touch stay separate units. Pass sections of one
        category only to get that code's u-alpha.

    Returns
    -------
    Coefficient
        ``name="u_alpha"``; ``n_units`` = units (after merging) of all coders
        and categories. NaN with a reason for fewer than two coders, an empty
        continuum or nothing coded.
    """
    length, coders = _validate(length, segments)
    if (bad := _degenerate(length, coders)) is not None:
        return bad
    d_o = d_e = 0.0
    n_units = 0
    for _, (o, e, n) in _by_category(length, coders):
        d_o, d_e, n_units = d_o + o, d_e + e, n_units + n
    return _result(d_o, d_e, n_units, len(coders))


def u_alpha_by_category(
    length: int, segments: Sequence[Sequence[tuple[int, int, str]]]
) -> dict[Hashable, Coefficient]:
    """u-alpha for each category that any coder used (same arguments as :func:`u_alpha`).

    Returns
    -------
    dict
        Category -> :class:`Coefficient`; empty when nothing was coded.
        Degenerate input (fewer than two coders, empty continuum) gives every
        category the NaN result of :func:`u_alpha`.
    """
    length, coders = _validate(length, segments)
    categories = sorted({seg[2] for coder in coders for seg in coder}, key=repr)
    bad = _degenerate(length, coders)
    if bad is not None:
        return {cat: bad for cat in categories}
    return {
        cat: _result(o, e, n, len(coders)) for cat, (o, e, n) in _by_category(length, coders)
    }
