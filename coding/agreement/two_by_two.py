"""Agreement of two coders from their 2x2 table alone (binary units: a character is coded or not).

``a`` = units both coded, ``b`` = only coder A, ``c`` = only coder B, ``d`` = neither. The same
values as the matrix coefficients of :mod:`coding.agreement.coefficients` give on that data.
"""

from __future__ import annotations

import math
import numbers

from coding.errors import AgreementError


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
