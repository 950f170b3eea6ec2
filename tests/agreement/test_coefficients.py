"""Agreement coefficients against published values, plus degenerate and bad input."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

from coding.agreement.coefficients import (
    LEVELS,
    Coefficient,
    brennan_prediger,
    cohen_kappa,
    fleiss_kappa,
    gwet_ac1,
    percent_agreement,
    reliability_matrix_from_rows,
    scott_pi,
)
from coding.agreement.alpha import _alpha_from_coincidences, krippendorff_alpha
from coding.agreement.two_by_two import alpha_from_table, kappa_from_table, percent_from_table
from coding.agreement.intervals import all_coefficients, bootstrap_ci
from coding.errors import AgreementError

nan = np.nan


@pytest.fixture(autouse=True)
def _warnings_are_errors():
    # Degenerate input must give NaN + reason, never a leaked numpy warning.
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        yield


def from_pairs(table) -> np.ndarray:
    """Two coders' data (2, n) from a contingency table: rows coder A, columns coder B."""
    a, b = [], []
    for i, row in enumerate(table):
        for j, count in enumerate(row):
            a += [i] * count
            b += [j] * count
    return np.array([a, b], dtype=float)


def from_distribution(table) -> np.ndarray:
    """Rater matrix (n_raters, n_subjects) from counts of raters per subject and category."""
    columns = [[k for k, count in enumerate(row) for _ in range(count)] for row in table]
    return np.array(columns, dtype=float).T


def from_strings(*coders: str) -> np.ndarray:
    return np.array([[float(ch) for ch in c.split()] for c in coders])


# Krippendorff, K. (2011). Computing Krippendorff's Alpha-Reliability. Annenberg
# School for Communication, University of Pennsylvania, section C ("nominal data,
# any number of observers, missing data"): 4 observers x 12 units, "." = missing.
KRIPPENDORFF_2011 = [
    [1, 2, 3, 3, 2, 1, 4, 1, 2, nan, nan, nan],
    [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, nan, 3],
    [nan, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, nan],
    [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, nan],
]


# ---------------------------------------------------------------- published values


@pytest.mark.parametrize(
    "level, expected",
    # Krippendorff (2011), sections C and E: alpha_nominal = .743, alpha_ordinal = .815,
    # alpha_interval = .849, alpha_ratio = .797.
    [("nominal", 0.743), ("ordinal", 0.815), ("interval", 0.849), ("ratio", 0.797)],
)
def test_krippendorff_2011_example(level, expected):
    coef = krippendorff_alpha(KRIPPENDORFF_2011, level)
    assert round(coef.value, 3) == expected
    assert (coef.name, coef.level, coef.n_units, coef.n_coders) == ("krippendorff_alpha", level, 11, 4)
    assert coef.reason is None
    # the package's value agrees with our own coincidence-matrix implementation
    assert coef.value == pytest.approx(_alpha_from_coincidences(KRIPPENDORFF_2011, level), abs=1e-12)


def test_cohen_kappa_wikipedia_example():
    # Wikipedia, "Cohen's kappa", worked example: 50 grant proposals, both "yes" 20,
    # A yes / B no 5, A no / B yes 10, both "no" 15; p_o = .70, p_e = .50, kappa = .40.
    data = from_pairs([[20, 5], [10, 15]])
    coef = cohen_kappa(data)
    assert coef.value == pytest.approx(0.40)
    assert (coef.n_units, coef.n_coders) == (50, 2)
    assert kappa_from_table(20, 5, 10, 15) == pytest.approx(0.40)
    assert percent_from_table(20, 5, 10, 15) == pytest.approx(0.70)


def test_fleiss_kappa_wikipedia_example():
    # Wikipedia, "Fleiss' kappa", worked example: 14 raters put 10 subjects into
    # 5 categories; P-bar = .378, P-bar_e = .213, kappa = .210.
    counts = [
        [0, 0, 0, 0, 14],
        [0, 2, 6, 4, 2],
        [0, 0, 3, 5, 6],
        [0, 3, 9, 2, 0],
        [2, 2, 8, 1, 1],
        [7, 7, 0, 0, 0],
        [3, 2, 6, 3, 0],
        [2, 5, 3, 2, 2],
        [6, 5, 2, 1, 0],
        [0, 2, 2, 3, 7],
    ]
    data = from_distribution(counts)
    assert data.shape == (14, 10)
    coef = fleiss_kappa(data)
    assert round(coef.value, 3) == 0.210
    assert (coef.n_units, coef.n_coders) == (10, 14)
    assert round(percent_agreement(data).value, 3) == 0.378


def test_irrcac_contingency_table_example():
    # Gwet, K.L., R package irrCAC 1.0 (2019), README / vignette "Calculating
    # Chance-corrected Agreement Coefficients", dataset cont3x3abstractors
    # (2 raters, 100 subjects; following Gwet 2014, Handbook of Inter-Rater
    # Reliability, 4th ed.): kappa .7964094, Scott's pi .7962397, AC1 .8493305,
    # Brennan-Prediger .835, Krippendorff's alpha .7972585, percent agreement .89.
    data = from_pairs([[13, 0, 0], [0, 20, 7], [0, 4, 56]])
    assert cohen_kappa(data).value == pytest.approx(0.7964094, abs=1e-7)
    assert scott_pi(data).value == pytest.approx(0.7962397, abs=1e-7)
    assert gwet_ac1(data).value == pytest.approx(0.8493305, abs=1e-7)
    assert brennan_prediger(data).value == pytest.approx(0.835, abs=1e-9)
    assert krippendorff_alpha(data).value == pytest.approx(0.7972585, abs=1e-7)
    assert percent_agreement(data).value == pytest.approx(0.89, abs=1e-9)


def test_irrcac_six_raters_distribution_example():
    # irrCAC 1.0 README, dataset distrib.6raters (6 psychiatrists, 15 patients,
    # 5 diagnoses): AC1 .4448007 (p_a .5511111, p_e .1914815), Fleiss' kappa
    # .4139265, Krippendorff's alpha .4204384, Brennan-Prediger .4388889.
    counts = [
        [0, 0, 0, 6, 0], [0, 3, 0, 0, 3], [0, 1, 4, 0, 1], [0, 0, 0, 0, 6],
        [0, 3, 0, 3, 0], [2, 0, 4, 0, 0], [0, 0, 4, 0, 2], [2, 0, 3, 1, 0],
        [2, 0, 0, 4, 0], [0, 0, 0, 0, 6], [1, 0, 0, 5, 0], [1, 1, 0, 4, 0],
        [0, 3, 3, 0, 0], [1, 0, 0, 5, 0], [0, 2, 0, 3, 1],
    ]  # fmt: skip
    data = from_distribution(counts)
    assert gwet_ac1(data).value == pytest.approx(0.4448007, abs=1e-7)
    assert percent_agreement(data).value == pytest.approx(0.5511111, abs=1e-7)
    assert fleiss_kappa(data).value == pytest.approx(0.4139265, abs=1e-7)
    assert krippendorff_alpha(data).value == pytest.approx(0.4204384, abs=1e-7)
    assert brennan_prediger(data).value == pytest.approx(0.4388889, abs=1e-7)


def test_irrcac_raw_ratings_with_missing_values():
    # irrCAC 1.0 README, dataset cac.raw4raters (Krippendorff's 4 x 12 data as
    # printed there, one row per subject): percent agreement .8181818, AC1 .77544
    # (p_e .1903212), Krippendorff's alpha .74342, Brennan-Prediger .77273.
    rows = [
        [1, 1, nan, 1], [2, 2, 3, 2], [3, 3, 3, 3], [3, 3, 3, 3], [2, 2, 2, 2], [1, 2, 3, 4],
        [4, 4, 4, 4], [1, 1, 2, 1], [2, 2, 2, 2], [nan, 5, 5, 5], [nan, nan, 1, 1], [nan, nan, 3, nan],
    ]  # fmt: skip
    data = np.array(rows).T
    assert percent_agreement(data).value == pytest.approx(0.8181818, abs=1e-7)
    assert percent_agreement(data).n_units == 11
    assert gwet_ac1(data).value == pytest.approx(0.77544, abs=1e-5)
    assert krippendorff_alpha(data).value == pytest.approx(0.74342, abs=1e-5)
    assert brennan_prediger(data).value == pytest.approx(0.77273, abs=1e-5)


def test_artstein_poesio_2008_examples():
    # Artstein, R. & Poesio, M. (2008). Inter-coder agreement for computational
    # linguistics. Computational Linguistics 34(4), 555-596. Example of p. 558
    # (STAT/IReq): A_o = .7, S = .4, pi = .341, kappa = .348.
    one = from_pairs([[20, 10], [20, 50]])
    assert percent_agreement(one).value == pytest.approx(0.7)
    assert brennan_prediger(one).value == pytest.approx(0.4)
    assert scott_pi(one).value == pytest.approx(0.341, abs=1e-3)
    assert cohen_kappa(one).value == pytest.approx(0.348, abs=1e-3)
    # Example of p. 568 (STAT/IReq/Chck, 100 utterances): A_o = .88, S = .82,
    # pi = .799, kappa = .801, alpha = .800 (printed from rounded intermediates,
    # hence the tolerance of .001).
    two = from_pairs([[46, 0, 0], [6, 32, 6], [0, 0, 10]])
    assert percent_agreement(two).value == pytest.approx(0.88)
    assert round(brennan_prediger(two).value, 2) == 0.82
    assert scott_pi(two).value == pytest.approx(0.799, abs=1e-3)
    assert cohen_kappa(two).value == pytest.approx(0.801, abs=1e-3)
    assert krippendorff_alpha(two).value == pytest.approx(0.800, abs=1e-3)


@pytest.mark.parametrize(
    "table, kappa",
    # Brennan, R.L. & Prediger, D.J. (1981). Coefficient kappa: some uses, misuses,
    # and alternatives. Educational and Psychological Measurement 41(3), 687-699.
    # Tables of p. 689 and p. 691 (proportions x 100, 3 categories): p_o = .60,
    # kappa_n = .40 for both, Cohen's kappa .27 and .29.
    [
        ([[50, 0, 0], [10, 10, 10], [20, 0, 0]], 0.27),
        ([[50, 0, 10], [0, 10, 10], [10, 10, 0]], 0.29),
    ],
)
def test_brennan_prediger_1981_examples(table, kappa):
    data = from_pairs(table)
    assert percent_agreement(data).value == pytest.approx(0.60)
    assert round(brennan_prediger(data).value, 2) == 0.40
    assert round(cohen_kappa(data).value, 2) == kappa


def test_gwet_ac1_by_hand_two_raters():
    # Gwet (2008), Brit. J. Math. Stat. Psych. 61, 29-48, eq. for two raters and
    # two categories: 8 units y/y, 1 n/n, 1 y/n. p_a = .9; pi_y = (9 + 8)/20 = .85,
    # p_e = 2 * .85 * .15 = .255; AC1 = (.9 - .255)/(1 - .255) = .8658.
    # Scott's pi: p_e = .85^2 + .15^2 = .745, pi = (.9 - .745)/.255 = .6078.
    data = from_pairs([[8, 1], [0, 1]])
    assert gwet_ac1(data).value == pytest.approx(0.645 / 0.745)
    assert round(scott_pi(data).value, 4) == 0.6078


# Krippendorff (1995), On the reliability of unitizing continuous data, Sociological
# Methodology 25, p. 57: pairs of observers marking 24 time points. Kappa and pi for
# the digitized data as given there (and reproduced in DKPro Statistics'
# Krippendorff1995Test): A kappa .385, pi .314; B kappa .385, pi .314;
# C kappa .314, pi .314; D: everything coded by both, kappa and pi undefined.
BERTHA = "0 0 1 1 1 1 1 1 1 1 0 0 0 0 1 1 1 1 1 1 0 0 0 0"
BILL = "0 0 0 0 1 1 1 1 0 0 0 0 0 0 0 1 1 0 0 0 0 0 0 0"
JOHN = "1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 0 0 0 0 0 0"
JILL = "1 1 1 1 1 1 1 1 1 1 0 0 0 0 0 0 0 0 0 0 0 0 0 0"
GERRET = "0 0 1 1 1 1 1 1 0 0 1 1 0 0 1 1 1 1 0 0 1 1 0 0"
GILL = "1 1 0 0 1 1 1 1 0 0 1 1 1 1 0 0 1 1 0 0 1 1 0 0"


def table_of(data: np.ndarray) -> tuple[int, int, int, int]:
    a, b = data[0] == 1, data[1] == 1
    return int((a & b).sum()), int((a & ~b).sum()), int((~a & b).sum()), int((~a & ~b).sum())


@pytest.mark.parametrize(
    "coders, kappa, pi",
    [((BERTHA, BILL), 0.385, 0.314), ((JOHN, JILL), 0.385, 0.314), ((GERRET, GILL), 0.314, 0.314)],
)
def test_krippendorff_1995_digitized_examples(coders, kappa, pi):
    data = from_strings(*coders)
    assert round(cohen_kappa(data).value, 3) == kappa
    assert round(scott_pi(data).value, 3) == pi
    assert round(kappa_from_table(*table_of(data)), 3) == kappa
    # alpha = pi + (1 - pi) / 2n for two coders without missing data; for A
    # DKPro Statistics' test of this example gives alpha = .329.
    assert alpha_from_table(*table_of(data)) == pytest.approx(krippendorff_alpha(data).value)
    if coders[0] is BERTHA:
        assert round(alpha_from_table(*table_of(data)), 3) == 0.329


def test_krippendorff_1995_example_d_is_undefined():
    data = np.ones((2, 24))
    for fn in (cohen_kappa, scott_pi, fleiss_kappa, krippendorff_alpha):
        coef = fn(data)
        assert math.isnan(coef.value) and "no variation" in coef.reason
    assert math.isnan(kappa_from_table(24, 0, 0, 0))
    assert math.isnan(alpha_from_table(24, 0, 0, 0))
    assert percent_from_table(24, 0, 0, 0) == 1.0


# ---------------------------------------------------------------- consistency


@pytest.mark.parametrize("seed", range(8))
def test_table_functions_match_expanded_arrays(seed):
    rng = np.random.default_rng(seed)
    a, b, c, d = (int(x) for x in rng.integers(0, 40, 4))
    a += 1
    d += 1  # both values occur
    data = from_pairs([[d, c], [b, a]])  # index 1 = coded; row = coder A
    assert table_of(data) == (a, b, c, d)
    assert alpha_from_table(a, b, c, d) == pytest.approx(krippendorff_alpha(data).value, abs=1e-12)
    assert alpha_from_table(a, b, c, d) == pytest.approx(_alpha_from_coincidences(data), abs=1e-12)
    assert kappa_from_table(a, b, c, d) == pytest.approx(cohen_kappa(data).value, abs=1e-12)
    assert percent_from_table(a, b, c, d) == pytest.approx(percent_agreement(data).value, abs=1e-12)


def test_table_functions_take_character_sized_counts():
    # counts of characters in a long corpus: exact integer arithmetic, no overflow
    a, b, c, d = 3_000_000, 250_000, 400_000, 90_000_000
    expected = alpha_from_table(a // 1000, b // 1000, c // 1000, d // 1000)
    assert alpha_from_table(a, b, c, d) == pytest.approx(expected, abs=1e-3)
    assert -1 <= kappa_from_table(a, b, c, d) <= 1


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("level", LEVELS)
def test_package_alpha_matches_coincidence_matrix(seed, level):
    rng = np.random.default_rng(100 + seed)
    data = rng.integers(0, 5, size=(int(rng.integers(2, 6)), 30)).astype(float)
    data[rng.random(data.shape) < 0.25] = nan
    ours = _alpha_from_coincidences(data, level)
    assert krippendorff_alpha(data, level).value == pytest.approx(ours, abs=1e-10)


def test_two_coder_relations():
    rng = np.random.default_rng(7)
    data = rng.integers(0, 3, size=(2, 60)).astype(float)
    # Fleiss' kappa for two coders without missing data is Scott's pi
    assert fleiss_kappa(data).value == pytest.approx(scott_pi(data).value)
    # alpha = 1 - (2n - 1)/(2n) * (1 - pi) (Krippendorff 2004, Content Analysis, sec. 11.4)
    n = data.shape[1]
    pi = scott_pi(data).value
    assert krippendorff_alpha(data).value == pytest.approx(1 - (2 * n - 1) / (2 * n) * (1 - pi))


def test_cohen_kappa_drops_units_missing_a_value():
    data = np.array([[1, 0, 1, 0, nan, 1], [1, 0, 0, 0, 1, nan]])
    assert cohen_kappa(data).n_units == 4
    assert cohen_kappa(data).value == pytest.approx(cohen_kappa(data[:, :4]).value)


def test_fleiss_kappa_uses_complete_units_only():
    data = np.array(KRIPPENDORFF_2011)
    coef = fleiss_kappa(data)
    complete = data[:, ~np.isnan(data).any(axis=0)]
    assert coef.n_units == complete.shape[1] == 8
    assert coef.value == pytest.approx(fleiss_kappa(complete).value)


def test_perfect_agreement():
    data = np.array([[1, 2, 3, 1, 2], [1, 2, 3, 1, 2], [1, 2, 3, 1, 2]], dtype=float)
    for coef in all_coefficients(data):
        assert coef.value == pytest.approx(1.0), coef.name


def test_categories_for_brennan_prediger_and_ac1():
    data = from_pairs([[20, 10], [20, 50]])
    # q = 4 possible categories although 2 are used: S = (.7 - .25)/.75 = .6
    assert brennan_prediger(data, n_categories=4).value == pytest.approx(0.6)
    assert gwet_ac1(data, n_categories=4).value != gwet_ac1(data).value
    with pytest.raises(AgreementError, match="n_categories"):
        brennan_prediger(data, n_categories=1)
    with pytest.raises(AgreementError, match="n_categories"):
        gwet_ac1(from_pairs([[1, 1, 1], [1, 1, 1], [1, 1, 1]]), n_categories=2)
    with pytest.raises(AgreementError, match="whole number"):
        brennan_prediger(data, n_categories=2.5)


# ---------------------------------------------------------------- degenerate input

ALL = (percent_agreement, fleiss_kappa, krippendorff_alpha, gwet_ac1, brennan_prediger)


def test_one_coder_is_nan_with_reason():
    data = [[1, 2, 3, 1]]
    for fn in ALL + (cohen_kappa, scott_pi):
        coef = fn(data)
        assert math.isnan(coef.value) and "one coder" in coef.reason
        assert coef.n_coders == 1
    coefs = all_coefficients(data)
    assert {c.name for c in coefs} == {
        "percent_agreement", "fleiss_kappa", "krippendorff_alpha", "gwet_ac1", "brennan_prediger"
    }  # fmt: skip
    assert all(math.isnan(c.value) and c.reason for c in coefs)


def test_no_coders_and_no_units():
    for data in (np.empty((0, 5)), np.empty((2, 0)), np.full((3, 4), nan)):
        for fn in ALL:
            coef = fn(data)
            assert math.isnan(coef.value) and coef.reason, (fn.__name__, data.shape)
    assert math.isnan(cohen_kappa(np.empty((2, 0))).value)


def test_no_pairable_units():
    data = np.array([[1, nan, 2, nan], [nan, 2, nan, 1]])
    for fn in ALL + (cohen_kappa, scott_pi):
        coef = fn(data)
        assert math.isnan(coef.value), fn.__name__
        assert coef.reason
    assert "no unit was coded by two" in krippendorff_alpha(data).reason
    assert krippendorff_alpha(data).n_units == 0


def test_no_variation():
    data = np.full((3, 6), 2.0)
    for level in LEVELS:
        coef = krippendorff_alpha(data, level)
        assert math.isnan(coef.value) and "no variation" in coef.reason
        assert coef.level == level
    assert math.isnan(fleiss_kappa(data).value)
    # defined for these: everybody agrees
    assert percent_agreement(data).value == 1.0
    assert brennan_prediger(data).value == 1.0
    assert gwet_ac1(data).value == 1.0


def test_no_variation_among_pairable_units_only():
    # the lone value 7 is in a unit nobody else coded, so it cannot vary anything
    data = np.array([[1, 1, 7], [1, 1, nan]])
    coef = krippendorff_alpha(data)
    assert math.isnan(coef.value) and "no variation" in coef.reason


def test_fleiss_needs_two_complete_units():
    data = np.array([[1, 2, nan], [1, nan, 2], [1, 2, 2]])
    coef = fleiss_kappa(data)
    assert math.isnan(coef.value)
    assert "at least two units" in coef.reason and coef.n_units == 1


def test_empty_tables():
    assert math.isnan(kappa_from_table(0, 0, 0, 0))
    assert math.isnan(alpha_from_table(0, 0, 0, 0))
    assert math.isnan(percent_from_table(0, 0, 0, 0))


# ---------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    "data, match",
    [
        ([1, 2, 3], "2-D"),
        (np.zeros((2, 2, 2)), "2-D"),
        ([["a", "b"], ["a", "a"]], "numbers"),
        ([[1, 2], [1]], "rectangular"),
        ([[1, np.inf], [1, 2]], "infinite"),
    ],
)
def test_bad_shapes_and_values(data, match):
    for fn in ALL + (cohen_kappa, all_coefficients):
        with pytest.raises(AgreementError, match=match):
            fn(data)


def test_unknown_level():
    with pytest.raises(AgreementError, match="unknown level"):
        krippendorff_alpha(KRIPPENDORFF_2011, "cardinal")
    with pytest.raises(AgreementError, match="unknown level"):
        all_coefficients(KRIPPENDORFF_2011, level="Nominal")


def test_two_coder_coefficients_refuse_three_coders():
    for fn in (cohen_kappa, scott_pi):
        with pytest.raises(AgreementError, match="exactly two coders"):
            fn(KRIPPENDORFF_2011)


def test_ratio_level_refuses_negative_values():
    with pytest.raises(AgreementError, match="ratio"):
        krippendorff_alpha([[-1, 2, 3], [1, 2, 3]], "ratio")
    assert not math.isnan(krippendorff_alpha([[-1, 2, 3], [1, 2, 3]], "interval").value)


@pytest.mark.parametrize("cells", [(-1, 0, 0, 0), (1.5, nan, 0, 0), ("3", 0, 0, 0), (True, 0, 0, 0)])
def test_bad_table_cells(cells):
    for fn in (kappa_from_table, alpha_from_table, percent_from_table):
        with pytest.raises(AgreementError, match="count"):
            fn(*cells)


# ---------------------------------------------------------------- bootstrap


def test_bootstrap_is_seeded_and_contains_the_estimate():
    rng = np.random.default_rng(3)
    truth = rng.integers(0, 3, 80).astype(float)
    noisy = truth.copy()
    flip = rng.random(80) < 0.2
    noisy[flip] = rng.integers(0, 3, flip.sum())
    data = np.vstack([truth, noisy])
    alpha = krippendorff_alpha(data).value
    low, high = bootstrap_ci(data, krippendorff_alpha, n_boot=300, seed=11)
    assert low < alpha < high
    assert 0 < high - low < 0.5
    assert bootstrap_ci(data, krippendorff_alpha, n_boot=300, seed=11) == (low, high)
    assert bootstrap_ci(data, krippendorff_alpha, n_boot=300, seed=12) != (low, high)
    # a float-valued statistic works too
    k_low, k_high = bootstrap_ci(data, lambda d: cohen_kappa(d).value, n_boot=200, seed=1)
    assert k_low < cohen_kappa(data).value < k_high


def test_bootstrap_ignores_undefined_replicates():
    data = np.ones((2, 10))
    assert all(math.isnan(x) for x in bootstrap_ci(data, krippendorff_alpha, n_boot=20))
    # two distinct units out of 10: some resamples have no variation (NaN)
    data = np.array([[1.0] * 9 + [0.0], [1.0] * 9 + [0.0]])
    low, high = bootstrap_ci(data, krippendorff_alpha, n_boot=200)
    assert low == high == pytest.approx(1.0)
    assert all(math.isnan(x) for x in bootstrap_ci(np.empty((2, 0)), krippendorff_alpha))


@pytest.mark.parametrize("kwargs", [{"n_boot": 0}, {"n_boot": 2.5}, {"conf": 1.0}, {"conf": 0}])
def test_bootstrap_bad_arguments(kwargs):
    with pytest.raises(AgreementError):
        bootstrap_ci(KRIPPENDORFF_2011, krippendorff_alpha, **kwargs)


# ---------------------------------------------------------------- all_coefficients


def test_all_coefficients_two_coders_with_ci():
    data = from_pairs([[13, 0, 0], [0, 20, 7], [0, 4, 56]])
    coefs = all_coefficients(data, ci=True, n_boot=200, seed=5)
    names = [c.name for c in coefs]
    assert names == [
        "percent_agreement", "cohen_kappa", "scott_pi", "fleiss_kappa",
        "krippendorff_alpha", "gwet_ac1", "brennan_prediger",
    ]  # fmt: skip
    by_name = {c.name: c for c in coefs}
    for name in ("cohen_kappa", "fleiss_kappa", "krippendorff_alpha"):
        c = by_name[name]
        assert c.ci_low < c.value < c.ci_high, name
    for name in ("percent_agreement", "scott_pi", "gwet_ac1", "brennan_prediger"):
        assert by_name[name].ci_low is None
    assert all(c.n_units == 100 and c.n_coders == 2 for c in coefs)
    assert all_coefficients(data, ci=True, n_boot=200, seed=5) == coefs


def test_all_coefficients_many_coders_and_levels():
    coefs = all_coefficients(KRIPPENDORFF_2011, level="interval")
    names = [c.name for c in coefs]
    assert "cohen_kappa" not in names and "scott_pi" not in names
    alphas = [c for c in coefs if c.name == "krippendorff_alpha"]
    assert [(a.level, round(a.value, 3)) for a in alphas] == [("nominal", 0.743), ("interval", 0.849)]
    text = "\n".join(c.describe() for c in coefs)
    assert "krippendorff_alpha (interval): 0.849; n_units=11, n_coders=4" in text
    assert "fleiss_kappa: 0.641; n_units=8" in text


def test_describe_undefined():
    coef = krippendorff_alpha(np.ones((2, 3)))
    assert isinstance(coef, Coefficient) and not coef.defined
    assert "undefined (no variation" in coef.describe()


# ---------------------------------------------------------------- CSV rows


def test_reliability_matrix_from_rows_numeric():
    rows = [["1", "1", ""], ["2", "3", "2"], [" 4 ", "", "4.5"]]
    data, labels = reliability_matrix_from_rows(rows)
    assert labels is None
    assert data.shape == (3, 3)
    np.testing.assert_array_equal(data[:, 0], [1, 1, nan])
    np.testing.assert_array_equal(data[:, 2], [4, nan, 4.5])


def test_reliability_matrix_from_rows_labels():
    rows = [["yes", "yes"], ["no", "yes"], ["", "no"], ["maybe", "no"]]
    data, labels = reliability_matrix_from_rows(rows)
    assert labels == ["maybe", "no", "yes"]
    np.testing.assert_array_equal(data, [[2, 1, nan, 0], [2, 2, 1, 1]])
    assert krippendorff_alpha(data).n_units == 3


def test_reliability_matrix_from_rows_errors():
    with pytest.raises(AgreementError, match="row 2"):
        reliability_matrix_from_rows([["1", "2"], ["1"]])
    with pytest.raises(AgreementError, match="no rows"):
        reliability_matrix_from_rows([])
