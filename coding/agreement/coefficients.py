"""Inter-coder agreement coefficients over a reliability matrix.

Data layout (Krippendorff's): ``data`` has shape ``(n_coders, n_units)``; entry
``[i, u]`` is the value coder ``i`` gave unit ``u`` and ``np.nan`` marks a
missing value. Nominal coefficients compare values for equality only, so any
numbers serve as category codes.

Every coefficient returns a :class:`Coefficient`. When a coefficient is
undefined for the data (one coder, no unit coded by two coders, no variation)
its ``value`` is NaN and ``reason`` says why; malformed input (wrong shape,
non-numeric values, unknown level) raises :class:`~coding.errors.AgreementError`.

Krippendorff's alpha is in :mod:`coding.agreement.alpha`, bootstrap intervals and the
table of every coefficient (:func:`all_coefficients`) in :mod:`coding.agreement.intervals`.
For two coders and binary units (a character is coded or not),
:mod:`coding.agreement.two_by_two` computes kappa, alpha and percent agreement from
the 2x2 table alone.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Optional, Union

import numpy as np

from coding.errors import AgreementError

LEVELS = ("nominal", "ordinal", "interval", "ratio")

REASON_NO_CODERS = "no coders: the reliability matrix has no rows"
REASON_ONE_CODER = "only one coder: agreement needs at least two coders"
REASON_NO_PAIRABLE = "nothing to compare: no unit was coded by two or more coders"
REASON_NO_VARIATION = (
    "no variation: every compared value is the same, so chance agreement is total "
    "and the coefficient is undefined"
)


@dataclass(frozen=True)
class Coefficient:
    """One agreement coefficient and what it was computed from.

    ``n_units`` counts the units that entered the computation (for most
    coefficients the pairable units: those with values from at least two
    coders). ``reason`` is set exactly when ``value`` is NaN.
    """

    name: str
    value: float
    n_units: int
    n_coders: int
    reason: Optional[str] = None
    ci_low: Optional[float] = None
    ci_high: Optional[float] = None
    level: Optional[str] = None

    @property
    def defined(self) -> bool:
        return not math.isnan(self.value)

    def describe(self) -> str:
        """One line for a report: name, value (or the reason it is undefined), CI, n."""
        label = self.name if self.level is None else f"{self.name} ({self.level})"
        if not self.defined:
            return f"{label}: undefined ({self.reason}); n_units={self.n_units}, n_coders={self.n_coders}"
        ci = ""
        if self.ci_low is not None and self.ci_high is not None:
            ci = f" [95% CI {self.ci_low:.3f}, {self.ci_high:.3f}]"
        return f"{label}: {self.value:.3f}{ci}; n_units={self.n_units}, n_coders={self.n_coders}"


def _nan(name: str, reason: str, n_units: int, n_coders: int, level: Optional[str] = None) -> Coefficient:
    return Coefficient(name, float("nan"), int(n_units), int(n_coders), reason=reason, level=level)


# ---------------------------------------------------------------- validation


def _matrix(data) -> np.ndarray:
    """Return ``data`` as a float array of shape (n_coders, n_units), or raise."""
    try:
        arr = np.asarray(data, dtype=float)
    except (TypeError, ValueError) as exc:
        raise AgreementError(
            "reliability data must be a rectangular table of numbers with np.nan for "
            f"missing values ({exc}); map category labels to numbers first, "
            "e.g. with reliability_matrix_from_rows"
        ) from None
    if arr.ndim != 2:
        raise AgreementError(
            f"reliability data must be 2-D with shape (n_coders, n_units); got shape {arr.shape}. "
            "Give one row per coder and one column per unit"
        )
    if np.isinf(arr).any():
        raise AgreementError(
            "reliability data contains an infinite value; use np.nan for a missing value"
        )
    return arr


def _check_level(level) -> str:
    if level not in LEVELS:
        raise AgreementError(
            f"unknown level of measurement {level!r}; use one of {', '.join(LEVELS)}"
        )
    return level


def _value_counts(arr: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Values seen and counts per unit: ``(values (V,), counts (n_units, V))``."""
    present = ~np.isnan(arr)
    values = np.unique(arr[present])
    n_units = arr.shape[1]
    counts = np.zeros((n_units, values.size), dtype=np.int64)
    if values.size:
        coder_idx, unit_idx = np.nonzero(present)
        value_idx = np.searchsorted(values, arr[coder_idx, unit_idx])
        np.add.at(counts, (unit_idx, value_idx), 1)
    return values, counts


def _coder_problem(name: str, m: int, level: Optional[str] = None) -> Optional[Coefficient]:
    if m == 0:
        return _nan(name, REASON_NO_CODERS, 0, 0, level)
    if m == 1:
        return _nan(name, REASON_ONE_CODER, 0, 1, level)
    return None


def _pairwise_agreement(counts: np.ndarray) -> tuple[float, int]:
    """Mean over pairable units of the share of agreeing coder pairs, and their number."""
    r = counts.sum(axis=1)
    pairable = r >= 2
    n = int(pairable.sum())
    if n == 0:
        return float("nan"), 0
    c = counts[pairable]
    rr = r[pairable]
    per_unit = (c * (c - 1)).sum(axis=1) / (rr * (rr - 1))
    return float(per_unit.mean()), n


# ---------------------------------------------------------------- coefficients


def percent_agreement(data) -> Coefficient:
    """Percent agreement: the share of agreeing coder pairs, averaged over units.

    Parameters
    ----------
    data : array_like, shape (n_coders, n_units)
        Values per coder and unit, ``np.nan`` = missing.

    Returns
    -------
    Coefficient
        For each unit with at least two values, the share of its coder pairs
        that gave the same value; the mean over those units (Fleiss' P-bar,
        Gwet's p_a). With two coders and no missing data this is the share
        of units on which they agree.
    """
    arr = _matrix(data)
    m = arr.shape[0]
    name = "percent_agreement"
    if (bad := _coder_problem(name, m)) is not None:
        return bad
    _, counts = _value_counts(arr)
    value, n = _pairwise_agreement(counts)
    if n == 0:
        return _nan(name, REASON_NO_PAIRABLE, 0, m)
    return Coefficient(name, value, n, m)


def _two_coder_table(arr: np.ndarray, name: str) -> Union[Coefficient, tuple[np.ndarray, int]]:
    """The contingency table (V, V) of two coders over units both coded, or a NaN result."""
    m = arr.shape[0]
    if (bad := _coder_problem(name, m)) is not None:
        return bad
    if m != 2:
        raise AgreementError(
            f"{name} compares exactly two coders; got {m}. "
            "Use fleiss_kappa, gwet_ac1 or krippendorff_alpha for more coders"
        )
    both = ~np.isnan(arr).any(axis=0)
    n = int(both.sum())
    if n == 0:
        return _nan(name, REASON_NO_PAIRABLE, 0, 2)
    a, b = arr[0, both], arr[1, both]
    values = np.unique(np.concatenate([a, b]))
    ia, ib = np.searchsorted(values, a), np.searchsorted(values, b)
    table = np.zeros((values.size, values.size), dtype=np.int64)
    np.add.at(table, (ia, ib), 1)
    return table, n


def cohen_kappa(data) -> Coefficient:
    """Cohen's (1960) kappa for exactly two coders.

    Parameters
    ----------
    data : array_like, shape (2, n_units)
        Units missing either coder's value are dropped.

    Returns
    -------
    Coefficient
        ``(p_o - p_e) / (1 - p_e)`` with ``p_e`` from each coder's own marginals.
        NaN when both coders used one and the same value throughout.
    """
    arr = _matrix(data)
    name = "cohen_kappa"
    got = _two_coder_table(arr, name)
    if isinstance(got, Coefficient):
        return got
    table, n = got
    agree = int(np.trace(table))
    chance = int(table.sum(axis=1) @ table.sum(axis=0))  # n^2 * p_e, exact
    if chance == n * n:
        return _nan(name, REASON_NO_VARIATION, n, 2)
    return Coefficient(name, (n * agree - chance) / (n * n - chance), n, 2)


def scott_pi(data) -> Coefficient:
    """Scott's (1955) pi for exactly two coders.

    Parameters
    ----------
    data : array_like, shape (2, n_units)
        Units missing either coder's value are dropped.

    Returns
    -------
    Coefficient
        ``(p_o - p_e) / (1 - p_e)`` with ``p_e`` from the pooled marginals of both coders.
    """
    arr = _matrix(data)
    name = "scott_pi"
    got = _two_coder_table(arr, name)
    if isinstance(got, Coefficient):
        return got
    table, n = got
    pooled = table.sum(axis=1) + table.sum(axis=0)  # 2n * pooled proportion
    chance = int(pooled @ pooled)  # 4 n^2 * p_e
    if chance == 4 * n * n:
        return _nan(name, REASON_NO_VARIATION, n, 2)
    agree = int(np.trace(table))
    return Coefficient(name, (4 * n * agree - chance) / (4 * n * n - chance), n, 2)


def fleiss_kappa(data) -> Coefficient:
    """Fleiss' (1971) kappa for two or more coders.

    Parameters
    ----------
    data : array_like, shape (n_coders, n_units)
        Fleiss' kappa needs the same number of ratings per unit: only units
        rated by every coder enter (``n_units`` of the result counts them).

    Returns
    -------
    Coefficient
        NaN when fewer than two units are complete or all ratings are equal.
    """
    arr = _matrix(data)
    m = arr.shape[0]
    name = "fleiss_kappa"
    if (bad := _coder_problem(name, m)) is not None:
        return bad
    complete = arr[:, ~np.isnan(arr).any(axis=0)]
    n = complete.shape[1]
    if n < 2:
        return _nan(
            name,
            f"Fleiss' kappa needs at least two units rated by every coder; {n} found",
            n,
            m,
        )
    _, counts = _value_counts(complete)
    p_bar, _ = _pairwise_agreement(counts)
    p_j = counts.sum(axis=0) / (n * m)
    p_e = float(p_j @ p_j)
    if counts.shape[1] < 2:
        return _nan(name, REASON_NO_VARIATION, n, m)
    return Coefficient(name, (p_bar - p_e) / (1.0 - p_e), n, m)


def gwet_ac1(data, *, n_categories: Optional[int] = None) -> Coefficient:
    """Gwet's (2008) AC1 for any number of coders, nominal, with missing values.

    Parameters
    ----------
    data : array_like, shape (n_coders, n_units)
    n_categories : int, optional
        ``q``, the number of categories of the scale; default: the number of
        values observed, at least 2.

    Returns
    -------
    Coefficient
        ``(p_a - p_e) / (1 - p_e)``: ``p_a`` as in :func:`percent_agreement`,
        ``p_e = sum_k pi_k (1 - pi_k) / (q - 1)`` with ``pi_k`` the mean over
        rated units of the share of ratings in category ``k`` (Gwet 2014, ch. 2).
    """
    arr = _matrix(data)
    m = arr.shape[0]
    name = "gwet_ac1"
    if (bad := _coder_problem(name, m)) is not None:
        return bad
    _, counts = _value_counts(arr)
    q = _categories(n_categories, counts.shape[1])
    p_a, n = _pairwise_agreement(counts)
    if n == 0:
        return _nan(name, REASON_NO_PAIRABLE, 0, m)
    r = counts.sum(axis=1)
    rated = counts[r >= 1] / r[r >= 1, None]
    pi = rated.mean(axis=0)
    p_e = float((pi * (1.0 - pi)).sum() / (q - 1))
    return Coefficient(name, (p_a - p_e) / (1.0 - p_e), n, m)


def _categories(n_categories: Optional[int], observed: int) -> int:
    if n_categories is None:
        return max(observed, 2)
    if isinstance(n_categories, bool) or not isinstance(n_categories, numbers.Integral):
        raise AgreementError(f"n_categories must be a whole number; got {n_categories!r}")
    if n_categories < max(observed, 2):
        raise AgreementError(
            f"n_categories={n_categories} but the data hold {observed} distinct values "
            "(and at least 2 are needed); give the size of the full category set"
        )
    return int(n_categories)


def brennan_prediger(data, n_categories: Optional[int] = None) -> Coefficient:
    """Brennan and Prediger's (1981) kappa_n (Bennett et al.'s S for two coders).

    Parameters
    ----------
    data : array_like, shape (n_coders, n_units)
    n_categories : int, optional
        ``q``; default: the number of values observed, at least 2.

    Returns
    -------
    Coefficient
        ``(p_a - 1/q) / (1 - 1/q)`` with ``p_a`` as in :func:`percent_agreement`.
    """
    arr = _matrix(data)
    m = arr.shape[0]
    name = "brennan_prediger"
    if (bad := _coder_problem(name, m)) is not None:
        return bad
    _, counts = _value_counts(arr)
    q = _categories(n_categories, counts.shape[1])
    p_a, n = _pairwise_agreement(counts)
    if n == 0:
        return _nan(name, REASON_NO_PAIRABLE, 0, m)
    return Coefficient(name, (p_a - 1.0 / q) / (1.0 - 1.0 / q), n, m)


# ---------------------------------------------------------------- reliability data from rows


def reliability_matrix_from_rows(rows: Sequence[Sequence[str]]) -> tuple[np.ndarray, Optional[list[str]]]:
    """Turn CSV-like rows (one per unit, one column per coder) into reliability data.

    Parameters
    ----------
    rows : sequence of sequence of str, shape (n_units, n_coders)
        Cell text; an empty (or blank) cell is a missing value.

    Returns
    -------
    data : ndarray, shape (n_coders, n_units)
        Numbers as given when every cell is numeric; otherwise category codes
        ``0..V-1`` indexing ``labels``.
    labels : list of str or None
        The sorted category labels, or None for numeric data.
    """
    rows = [list(r) for r in rows]
    if not rows:
        raise AgreementError("the reliability table has no rows; give one row per unit")
    width = len(rows[0])
    for i, row in enumerate(rows, start=1):
        if len(row) != width:
            raise AgreementError(
                f"row {i} of the reliability table has {len(row)} cells but row 1 has {width}; "
                "every unit needs one cell per coder (leave a cell empty for a missing value)"
            )
    cells = [[str(c).strip() for c in row] for row in rows]
    filled = {c for row in cells for c in row if c}
    try:
        numeric = {c: float(c) for c in filled}
        labels = None
        if any(not math.isfinite(v) for v in numeric.values()):
            raise ValueError
    except ValueError:
        labels = sorted(filled)
        numeric = {c: float(i) for i, c in enumerate(labels)}
    data = np.array([[numeric[c] if c else np.nan for c in row] for row in cells], dtype=float)
    return data.T.copy(), labels
