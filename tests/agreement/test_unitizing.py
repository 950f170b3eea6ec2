"""Krippendorff's unitizing alpha: published examples, a brute-force twin, properties."""

from __future__ import annotations

import math
import time
import warnings
from fractions import Fraction

import numpy as np
import pytest

from coding.agreement.unitizing import _by_category, _validate, u_alpha, u_alpha_by_category
from coding.errors import AgreementError


@pytest.fixture(autouse=True)
def _warnings_are_errors():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        yield


def disagreements(length, segments):
    """{category: (uD_o, uD_e)} from the module's internals."""
    length, coders = _validate(length, segments)
    return {cat: (o, e) for cat, (o, e, _) in _by_category(length, coders)}


# ---------------------------------------------------------------- published values

# Krippendorff, K. (2004). Content Analysis: An Introduction to Its Methodology,
# 2nd ed., Sage, sec. 11.6, example on p. 254: two observers unitize the continuum
# 150..450 (L = 300) into categories c and k (shifted here to start at 0). Values
# given there (and reproduced to 4 decimals by DKPro Statistics' Krippendorff2004Test):
# uD_o(c) = .0144, uD_e(c) = .0532, u-alpha(c) = .7286; uD_o(k) = 0, uD_e(k) = .0490,
# u-alpha(k) = 1; overall u-alpha = .8591, which the book computes from the rounded
# disagreements: 1 - .0144 / (.0532 + .0490) = .8591 (unrounded: .85867).
K2004 = [
    [(75, 145, "c"), (220, 250, "c"), (30, 90, "k"), (150, 200, "k")],
    [(70, 150, "c"), (205, 225, "c"), (250, 270, "c"), (30, 90, "k"), (150, 200, "k")],
]


def test_krippendorff_2004_example():
    d = disagreements(300, K2004)
    assert d["c"][0] == pytest.approx(0.0144, abs=5e-5)
    assert d["c"][1] == pytest.approx(0.0532, abs=5e-5)
    assert d["k"][0] == 0.0
    assert d["k"][1] == pytest.approx(0.0490, abs=5e-5)
    per = u_alpha_by_category(300, K2004)
    assert per["c"].value == pytest.approx(0.7286, abs=5e-5)
    assert per["k"].value == 1.0
    assert (per["c"].n_units, per["k"].n_units) == (5, 4)
    overall = u_alpha(300, K2004)
    assert overall.value == pytest.approx(0.8591, abs=5e-4)
    assert (overall.name, overall.n_units, overall.n_coders, overall.reason) == ("u_alpha", 9, 2, None)
    # per-code use: pass one category only
    only_c = [[s for s in coder if s[2] == "c"] for coder in K2004]
    assert u_alpha(300, only_c).value == pytest.approx(per["c"].value)


def test_krippendorff_2004_distances():
    # The worked distances of the same example (Krippendorff 2004, p. 254):
    # units (225, 70) vs (220, 80): 50; (370, 30) vs (355, 20): 850; unit (400, 20)
    # inside the other observer's gap (400, 50): 400. Each sum of squared distances
    # enters uD_o twice (i -> j and j -> i) over m(m - 1) L^2 = 2 * 300^2.
    assert disagreements(300, K2004)["c"][0] == pytest.approx(2 * (50 + 850 + 400) / (2 * 300**2))


def example_1995(stretch: int):
    """Krippendorff (1995, p. 57): four pairs of observers A-D on 24 time points."""
    def s(*pairs):
        return [(a * stretch, b * stretch) for a, b in pairs]

    return {
        "A": (s((2, 10), (14, 20)), s((4, 8), (15, 17))),
        "B": (s((0, 18)), s((0, 2), (2, 3), (3, 4), (4, 5), (5, 6), (6, 9), (9, 10))),
        "C": (s((2, 8), (10, 12), (14, 18), (20, 22)), s((0, 2), (4, 8), (10, 14), (16, 18), (20, 22))),
        "D": (s((0, 2), (2, 10), (10, 14), (14, 20), (20, 24)), s((0, 4), (4, 8), (8, 15), (15, 17), (17, 24))),
    }  # fmt: skip


@pytest.mark.parametrize(
    "pair, observed, alpha",
    # Observed disagreements on the 24-point continuum, as tabulated for this example
    # in DKPro Statistics' Krippendorff1995Test (B checked by hand: John's unit [0, 18)
    # against Jill's seven abutting units gives 1306, 2 * 1306 / (2 * 24^2) = 2.26736).
    # u-alpha values published by Krippendorff (1995): A .553, B -.926, C .679, D .066.
    # The 1995 paper's expected disagreement differs slightly from the 2004 formula
    # implemented here; on a finely divided continuum (x 50000) the two agree within
    # .02 (the tolerance DKPro Statistics also uses).
    [("A", 0.03125, 0.553), ("B", 2.26736, -0.926), ("C", 0.02777, 0.679), ("D", 0.38715, 0.066)],
)
def test_krippendorff_1995_examples(pair, observed, alpha):
    first, second = example_1995(1)[pair]
    segments = [[(a, b, pair) for a, b in first], [(a, b, pair) for a, b in second]]
    assert disagreements(24, segments)[pair][0] == pytest.approx(observed, abs=1e-5)
    stretch = 50_000
    first, second = example_1995(stretch)[pair]
    segments = [[(a, b, pair) for a, b in first], [(a, b, pair) for a, b in second]]
    assert u_alpha(24 * stretch, segments).value == pytest.approx(alpha, abs=0.02)


# ---------------------------------------------------------------- brute-force twin


def brute_u_alpha(length, segments):
    """The same 2004 formulas, written out naively from per-character arrays.

    Sections come from runs in an array holding, for each character, the index of
    the unit covering it (-1 in a gap); every pair of sections is compared.
    """
    m = len(segments)
    categories = sorted({c for coder in segments for _, _, c in coder})
    total_o = total_e = Fraction(0)
    per = {}
    for cat in categories:
        sections = []  # per coder: list of (begin, length, is_unit)
        for coder in segments:
            ids = np.full(length, -1)
            for k, (s, e, c) in enumerate(x for x in coder if x[2] == cat):
                ids[s:e] = k
            runs, start = [], 0
            for pos in range(1, length + 1):
                if pos == length or ids[pos] != ids[start]:
                    runs.append((start, pos - start, ids[start] >= 0))
                    start = pos
            sections.append(runs)

        def delta(g, h):
            (bg, lg, ug), (bh, lh, uh) = g, h
            if ug and uh and -lg < bg - bh < lh:
                return (bg - bh) ** 2 + (bg + lg - bh - lh) ** 2
            if ug and not uh and lh - lg >= bg - bh >= 0:
                return lg**2
            if not ug and uh and lg - lh >= bh - bg >= 0:
                return lh**2
            return 0

        observed = sum(
            delta(g, h)
            for i in range(m) for j in range(m) if i != j
            for g in sections[i] for h in sections[j]
        )  # fmt: skip
        d_o = Fraction(observed, m * (m - 1) * length**2)
        units = [l for runs in sections for b, l, u in runs if u]
        gaps = [l for runs in sections for b, l, u in runs if not u]
        n_c = len(units)
        num = Fraction(0)
        for l in units:
            num += Fraction((n_c - 1) * (2 * l**3 - 3 * l**2 + l), 3)
            num += l**2 * sum(lh - l + 1 for lh in gaps if lh >= l)
        d_e = Fraction(2, length) * num / (m * length * (m * length - 1) - sum(l * (l - 1) for l in units))
        per[cat] = 1 - d_o / d_e
        total_o += d_o
        total_e += d_e
    return float(1 - total_o / total_e), {c: float(v) for c, v in per.items()}


def random_unitizing(rng, length, m, categories):
    """Each coder: per category, a random partition into units (possibly abutting) and gaps."""
    segments = []
    for _ in range(m):
        coder = []
        for cat in categories:
            pos = int(rng.integers(0, 6))
            while pos < length:
                end = min(length, pos + int(rng.integers(1, 12)))
                if rng.random() < 0.5:
                    coder.append((pos, end, cat))
                pos = end + (int(rng.integers(0, 5)) if rng.random() < 0.7 else 0)
        segments.append(coder)
    return segments


@pytest.mark.parametrize("seed", range(12))
def test_matches_brute_force(seed):
    rng = np.random.default_rng(seed)
    length = int(rng.integers(20, 80))
    m = 2 if seed < 8 else 3
    segments = random_unitizing(rng, length, m, ["x", "y"])
    if not any(segments):
        pytest.skip("nothing coded")
    overall, per = brute_u_alpha(length, segments)
    assert u_alpha(length, segments).value == pytest.approx(overall, abs=1e-12)
    ours = u_alpha_by_category(length, segments)
    assert set(ours) == set(per)
    for cat, value in per.items():
        assert ours[cat].value == pytest.approx(value, abs=1e-12)


def test_brute_force_agrees_on_the_published_example():
    overall, per = brute_u_alpha(300, K2004)
    assert overall == pytest.approx(u_alpha(300, K2004).value, abs=1e-12)
    assert per["c"] == pytest.approx(0.7286, abs=5e-5)


# ---------------------------------------------------------------- properties


def test_perfect_agreement_is_one():
    coder = [(3, 10, "a"), (20, 31, "a"), (5, 8, "b"), (40, 50, "b")]
    assert u_alpha(60, [coder, list(coder)]).value == 1.0
    assert u_alpha(60, [coder, list(coder), list(coder)]).value == 1.0
    assert all(c.value == 1.0 for c in u_alpha_by_category(60, [coder, coder]).values())


def test_shifting_a_section_lowers_agreement():
    base = [(10, 30, "a"), (50, 70, "a")]
    values = []
    for shift in (0, 2, 5, 10):
        other = [(10 + shift, 30 + shift, "a"), (50, 70, "a")]
        values.append(u_alpha(100, [base, other]).value)
    assert values[0] == 1.0
    assert values == sorted(values, reverse=True) and len(set(values)) == 4


def test_symmetric_in_coders_and_order_of_sections():
    rng = np.random.default_rng(42)
    segments = random_unitizing(rng, 90, 3, ["x", "y", "z"])
    value = u_alpha(90, segments).value
    assert u_alpha(90, segments[::-1]).value == pytest.approx(value, abs=1e-12)
    assert u_alpha(90, [segments[1], segments[0], segments[2]]).value == pytest.approx(value, abs=1e-12)
    shuffled = [list(reversed(c)) for c in segments]
    assert u_alpha(90, shuffled).value == pytest.approx(value, abs=1e-12)


def test_overlapping_sections_of_one_coder_are_merged():
    other = [(10, 40, "a")]
    merged = u_alpha(100, [[(10, 40, "a")], other])
    overlapping = u_alpha(100, [[(10, 25, "a"), (20, 40, "a"), (12, 18, "a")], other])
    assert overlapping.value == merged.value == 1.0
    assert overlapping.n_units == 2
    # abutting sections are separate units (Krippendorff 1995, observer Jill)
    abutting = u_alpha(100, [[(10, 25, "a"), (25, 40, "a")], other])
    assert abutting.value < 1.0


def test_categories_are_separate():
    # the same span under different codes: each code on its own disagrees completely
    per = u_alpha_by_category(50, [[(10, 20, "a")], [(10, 20, "b")]])
    assert per["a"].value < 0 and per["b"].value < 0
    assert u_alpha(50, [[(10, 20, "a")], [(10, 20, "b")]]).value < 0


def test_runs_on_sections_not_characters():
    # a continuum of a billion characters: only section boundaries are touched
    rng = np.random.default_rng(0)
    length = 10**9
    starts = np.sort(rng.choice(length // 1000, 2000, replace=False)) * 1000
    first = [(int(s), int(s) + 500, "a") for s in starts]
    second = [(int(s) + 20, int(s) + 520, "a") for s in starts]
    t0 = time.perf_counter()
    coef = u_alpha(length, [first, second])
    assert time.perf_counter() - t0 < 5
    assert 0.9 < coef.value < 1.0


# ---------------------------------------------------------------- degenerate input


def test_degenerate_inputs_give_nan_with_reason():
    cases = {
        "one coder": (100, [[(1, 5, "a")]]),
        "no coders": (100, []),
        "empty continuum": (0, [[], []]),
        "nothing coded": (100, [[], []]),
        "no expected disagreement": (1, [[(0, 1, "a")], [(0, 1, "a")]]),
    }
    for words, (length, segments) in cases.items():
        coef = u_alpha(length, segments)
        assert math.isnan(coef.value), words
        assert words in coef.reason, (words, coef.reason)
        assert coef.name == "u_alpha"


def test_by_category_degenerate():
    assert u_alpha_by_category(100, [[], []]) == {}
    per = u_alpha_by_category(100, [[(1, 5, "a")]])
    assert math.isnan(per["a"].value) and "one coder" in per["a"].reason


def test_one_coder_silent_is_not_degenerate():
    # coder 2 coded nothing: a defined (bad) agreement, not an error
    coef = u_alpha(100, [[(10, 20, "a")], []])
    assert coef.value < 0 and coef.reason is None


@pytest.mark.parametrize(
    "length, segments, match",
    [
        (10, [[(5, 12, "a")], []], "0 <= start < end <= 10"),
        (10, [[(-1, 3, "a")], []], "0 <= start"),
        (10, [[(4, 4, "a")], []], "non-empty"),
        (10, [[(1.5, 4, "a")], []], "whole number"),
        (10, [[(1, 4)], []], "triple"),
        (10, [[(1, 4, ["a"])], []], "category"),
        (10, "ab", "one list"),
        (10, [(1, 4, "a")], "coder 0"),
        (-3, [[], []], "length"),
        (2.0, [[], []], "whole number"),
    ],
)
def test_bad_input_raises(length, segments, match):
    with pytest.raises(AgreementError, match=match):
        u_alpha(length, segments)
