"""Bootstrap intervals over a reliability matrix, and every coefficient that applies with them.

Same data layout as :mod:`coding.agreement.coefficients`: shape ``(n_coders, n_units)``,
``np.nan`` for a missing value. :func:`bootstrap_ci` resamples units (columns);
:func:`all_coefficients` gives the full table, with intervals on the kappas and alphas
when asked.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable
from dataclasses import replace
from typing import Union

import numpy as np

from coding.errors import AgreementError
from coding.agreement.coefficients import (
    Coefficient, _check_level, _matrix, brennan_prediger, cohen_kappa, fleiss_kappa, gwet_ac1, percent_agreement,
    scott_pi,
)
from coding.agreement.alpha import krippendorff_alpha


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
