"""Krippendorff's alpha at any level of measurement, over a reliability matrix.

Same data layout as :mod:`coding.agreement.coefficients`. :func:`krippendorff_alpha` uses the
``krippendorff`` package; :func:`_alpha_from_coincidences` is an independent implementation
from the coincidence matrix, used by the tests to check it.
"""

from __future__ import annotations

import math
from typing import Union

import krippendorff
import numpy as np

from coding.errors import AgreementError
from coding.agreement.coefficients import (
    REASON_NO_PAIRABLE, REASON_NO_VARIATION, Coefficient, _check_level, _coder_problem, _matrix, _nan,
    _value_counts,
)


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
