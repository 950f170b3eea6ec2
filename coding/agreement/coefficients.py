"""Inter-coder agreement coefficients over a reliability matrix.

Data layout (Krippendorff's): ``data`` has shape ``(n_coders, n_units)``; entry
``[i, u]`` is the value coder ``i`` gave unit ``u`` and ``np.nan`` marks a
missing value. Nominal coefficients compare values for equality only, so any
numbers serve as category codes.

Every coefficient returns a :class:`Coefficient`. When a coefficient is
undefined for the data (one coder, no unit coded by two coders, no variation)
its ``value`` is NaN and ``reason`` says why; malformed input (wrong shape,
non-numeric values, unknown level) raises :class:`~coding.errors.AgreementError`.

For two coders and binary units (a character is coded or not),
:func:`kappa_from_table`, :func:`alpha_from_table` and :func:`percent_from_table`
compute the same values from the 2x2 table alone.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Optional, Union

import krippendorff
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


def _alpha_ready(arr: np.ndarray, level: str) -> Union[Coefficient, np.ndarray]:
    """Pairable columns of ``arr`` for alpha, or the NaN result that applies."""
    m = arr.shape[0]
    name = "krippendorff_alpha"
    if (bad := _coder_problem(name, m, level)) is not None:
        return bad
    if level == "ratio" and (arr[~np.isnan(arr)] < 0).any():
        raise AgreementError(
            "ratio-level alpha needs values >= 0 (a ratio scale has an absolute zero); "
            "use level='interval' for data with negative values"
        )
    pairable = arr[:, (~np.isnan(arr)).sum(axis=0) >= 2]
    if pairable.shape[1] == 0:
        return _nan(name, REASON_NO_PAIRABLE, 0, m, level)
    if np.unique(pairable[~np.isnan(pairable)]).size < 2:
        return _nan(name, REASON_NO_VARIATION, pairable.shape[1], m, level)
    return pairable


def krippendorff_alpha(data, level: str = "nominal") -> Coefficient:
    """Krippendorff's alpha for any number of coders, with missing values.

    Parameters
    ----------
    data : array_like, shape (n_coders, n_units)
        ``np.nan`` = missing; units with fewer than two values do not count.
    level : {"nominal", "ordinal", "interval", "ratio"}
        Level of measurement, which selects the difference function.

    Returns
    -------
    Coefficient
        ``1 - D_o / D_e`` computed by the ``krippendorff`` package (checked
        against the coincidence-matrix implementation in the tests).
    """
    level = _check_level(level)
    arr = _matrix(data)
    got = _alpha_ready(arr, level)
    if isinstance(got, Coefficient):
        return got
    with np.errstate(all="ignore"):
        value = float(krippendorff.alpha(reliability_data=got, level_of_measurement=level))
    if not math.isfinite(value):  # e.g. ratio data whose only differences involve 0 and 0
        return _nan("krippendorff_alpha", REASON_NO_VARIATION, got.shape[1], arr.shape[0], level)
    return Coefficient("krippendorff_alpha", value, got.shape[1], arr.shape[0], level=level)


def _alpha_from_coincidences(data, level: str = "nominal") -> float:
    """Krippendorff's alpha straight from the coincidence matrix (Krippendorff 2011).

    An independent implementation used to check the ``krippendorff`` package.
    Returns NaN where :func:`krippendorff_alpha` is undefined.
    """
    level = _check_level(level)
    arr = _matrix(data)
    values, counts = _value_counts(arr)
    r = counts.sum(axis=1)
    keep = r >= 2
    counts, r = counts[keep], r[keep]
    if counts.shape[0] == 0:
        return float("nan")
    # o[c, k] = sum over units of (pairs c-k in the unit) / (m_u - 1)
    w = 1.0 / (r - 1)
    o = np.einsum("u,uc,uk->ck", w, counts, counts) - np.diag((counts * w[:, None]).sum(axis=0))
    n_c = o.sum(axis=1)
    n = n_c.sum()
    v = values[:, None], values[None, :]
    if level == "nominal":
        delta = (v[0] != v[1]).astype(float)
    elif level == "ordinal":
        cum = np.concatenate([[0.0], np.cumsum(n_c)])
        idx = np.arange(values.size)
        lo, hi = np.minimum.outer(idx, idx), np.maximum.outer(idx, idx)
        delta = (cum[hi + 1] - cum[lo] - (n_c[lo] + n_c[hi]) / 2.0) ** 2
    elif level == "interval":
        delta = (v[0] - v[1]) ** 2
    else:
        with np.errstate(all="ignore"):
            total = v[0] + v[1]
            delta = np.where(total == 0, 0.0, ((v[0] - v[1]) / np.where(total == 0, 1, total)) ** 2)
    expected = float((np.outer(n_c, n_c) * delta).sum())
    if expected == 0:
        return float("nan")
    return 1.0 - (n - 1) * float((o * delta).sum()) / expected


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


# ---------------------------------------------------------------- bootstrap


def bootstrap_ci(
    data,
    statistic: Callable[[np.ndarray], Union[Coefficient, float]],
    *,
    n_boot: int = 1000,
    seed: int = 0,
    conf: float = 0.95,
) -> tuple[float, float]:
    """Percentile bootstrap interval, resampling units (columns) with replacement.

    Parameters
    ----------
    data : array_like, shape (n_coders, n_units)
    statistic : callable
        Maps a matrix of the same layout to a :class:`Coefficient` or a float.
    n_boot : int
        Number of resamples.
    seed : int
        Seed of the random generator; the same seed gives the same interval.
    conf : float
        Coverage of the interval, between 0 and 1.

    Returns
    -------
    (low, high) : tuple of float
        Quantiles of the replicates; replicates that are NaN (undefined
        resamples) are ignored; ``(nan, nan)`` if none is defined.
    """
    arr = _matrix(data)
    if isinstance(n_boot, bool) or not isinstance(n_boot, numbers.Integral) or n_boot < 1:
        raise AgreementError(f"n_boot must be a whole number >= 1; got {n_boot!r}")
    if not (isinstance(conf, numbers.Real) and 0.0 < conf < 1.0):
        raise AgreementError(f"conf must be between 0 and 1 (e.g. 0.95); got {conf!r}")
    n_units = arr.shape[1]
    if n_units == 0:
        return float("nan"), float("nan")
    rng = np.random.default_rng(seed)
    reps = np.empty(int(n_boot))
    with np.errstate(all="ignore"):
        for b in range(int(n_boot)):
            got = statistic(arr[:, rng.integers(0, n_units, n_units)])
            reps[b] = got.value if isinstance(got, Coefficient) else float(got)
    reps = reps[np.isfinite(reps)]
    if reps.size == 0:
        return float("nan"), float("nan")
    tail = (1.0 - float(conf)) / 2.0
    low, high = np.quantile(reps, [tail, 1.0 - tail])
    return float(low), float(high)


def _with_ci(coef: Coefficient, data: np.ndarray, statistic, n_boot: int, seed: int) -> Coefficient:
    if not coef.defined:
        return coef
    low, high = bootstrap_ci(data, statistic, n_boot=n_boot, seed=seed)
    if math.isnan(low):
        return coef
    return replace(coef, ci_low=low, ci_high=high)


def all_coefficients(
    data, level: str = "nominal", *, ci: bool = False, n_boot: int = 1000, seed: int = 0
) -> list[Coefficient]:
    """Every coefficient that applies to the data, each with its n.

    Parameters
    ----------
    data : array_like, shape (n_coders, n_units)
    level : {"nominal", "ordinal", "interval", "ratio"}
        Level for Krippendorff's alpha; nominal alpha is always included,
        alpha at ``level`` as well when it differs.
    ci : bool
        Add bootstrap 95% intervals to the kappas and alphas.
    n_boot, seed : int
        Passed to :func:`bootstrap_ci`.

    Returns
    -------
    list of Coefficient
        Percent agreement; Cohen's kappa and Scott's pi (two coders only);
        Fleiss' kappa; Krippendorff's alpha; Gwet's AC1; Brennan-Prediger.
        Undefined ones carry NaN and a reason.
    """
    level = _check_level(level)
    arr = _matrix(data)
    m = arr.shape[0]
    out = [percent_agreement(arr)]
    if m == 2:
        kappa = cohen_kappa(arr)
        out.append(_with_ci(kappa, arr, cohen_kappa, n_boot, seed) if ci else kappa)
        out.append(scott_pi(arr))
    fleiss = fleiss_kappa(arr)
    out.append(_with_ci(fleiss, arr, fleiss_kappa, n_boot, seed) if ci else fleiss)
    for lev in dict.fromkeys(("nominal", level)):
        alpha = krippendorff_alpha(arr, lev)
        if ci:
            alpha = _with_ci(alpha, arr, lambda d, lev=lev: krippendorff_alpha(d, lev), n_boot, seed)
        out.append(alpha)
    out.append(gwet_ac1(arr))
    out.append(brennan_prediger(arr))
    return out


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


# ---------------------------------------------------------------- 2x2 tables


def _counts(a, b, c, d) -> tuple:
    out = []
    for name, x in zip("abcd", (a, b, c, d)):
        if isinstance(x, bool) or not isinstance(x, numbers.Real) or not math.isfinite(x) or x < 0:
            raise AgreementError(
                f"2x2 table cell {name}={x!r} must be a count >= 0 "
                "(a=both coded, b=only A, c=only B, d=neither)"
            )
        out.append(int(x) if isinstance(x, numbers.Integral) else float(x))
    return tuple(out)


def kappa_from_table(a, b, c, d) -> float:
    """Cohen's kappa from a 2x2 table of two coders' binary decisions.

    ``a`` = units both coded, ``b`` = only coder A, ``c`` = only coder B,
    ``d`` = neither. NaN when the table is empty or shows no variation.
    """
    a, b, c, d = _counts(a, b, c, d)
    n = a + b + c + d
    chance = (a + b) * (a + c) + (c + d) * (b + d)  # n^2 * p_e
    if n == 0 or chance == n * n:
        return float("nan")
    return (n * (a + d) - chance) / (n * n - chance)


def alpha_from_table(a, b, c, d) -> float:
    """Nominal Krippendorff's alpha from a 2x2 table of two coders (no missing values).

    From the coincidence matrix: ``o_11 = 2a``, ``o_00 = 2d``,
    ``o_01 = o_10 = b + c``, so ``alpha = 1 - (2n - 1)(b + c) / (n_0 n_1)``
    with ``n_1 = 2a + b + c`` and ``n_0 = 2d + b + c``.
    """
    a, b, c, d = _counts(a, b, c, d)
    n1 = 2 * a + b + c
    n0 = 2 * d + b + c
    if n0 * n1 == 0:
        return float("nan")
    return 1.0 - (2 * (a + b + c + d) - 1) * (b + c) / (n0 * n1)


def percent_from_table(a, b, c, d) -> float:
    """Share of units on which the two coders agree: ``(a + d) / n``; NaN if empty."""
    a, b, c, d = _counts(a, b, c, d)
    n = a + b + c + d
    return float("nan") if n == 0 else (a + d) / n
