"""Spans to units (coding.agreement.units, characters, sentences, segments): hand-computed cases and brute force."""

from __future__ import annotations

import numpy as np
import pytest

from coding.agreement.units import (
    covered_length, intersection_length, merge_spans, only_coded, roll_up, table_from_matrix,
)
from coding.agreement.segments import SegmentMatch, match_segments
from coding.agreement.sentences import unit_matrix, units_coded
from coding.agreement.characters import char_segments, char_table, char_table_coded_only, char_tables
from coding.errors import AgreementError, CodebookError, CodingError, OffsetError


def brute_table(length, spans_a, spans_b):
    a = np.zeros(length, dtype=bool)
    b = np.zeros(length, dtype=bool)
    for s, e in spans_a:
        a[s:e] = True
    for s, e in spans_b:
        b[s:e] = True
    return (
        int((a & b).sum()),
        int((a & ~b).sum()),
        int((~a & b).sum()),
        int((~a & ~b).sum()),
    )


def random_spans(rng, length, n):
    starts = rng.integers(0, length + 1, size=n)
    ends = np.minimum(starts + rng.integers(0, max(2, length // 3), size=n), length)
    return [(int(s), int(e)) for s, e in zip(starts, ends)]


# ------------------------------------------------------------ merge / lengths


def test_merge_spans_sorts_merges_overlapping_and_adjacent_drops_empty():
    assert merge_spans([(10, 20), (0, 5), (5, 8), (15, 25), (30, 30), (40, 41)]) == [
        (0, 8),
        (10, 25),
        (40, 41),
    ]
    assert merge_spans([]) == []
    assert merge_spans([(3, 3)]) == []


def test_merge_spans_keeps_gap_of_one():
    assert merge_spans([(0, 5), (6, 9)]) == [(0, 5), (6, 9)]


def test_covered_and_intersection_length():
    assert covered_length([(0, 10), (5, 15), (20, 22)]) == 17
    assert covered_length([]) == 0
    a = merge_spans([(0, 10), (20, 30)])
    b = merge_spans([(5, 25)])
    assert intersection_length(a, b) == 10
    assert intersection_length(a, []) == 0
    assert intersection_length([(0, 5)], [(5, 9)]) == 0


@pytest.mark.parametrize("bad", [[(5, 3)], [(-1, 3)], [("a", 3)], [(1, 2, 3)]])
def test_invalid_spans_raise_offset_error(bad):
    with pytest.raises(OffsetError):
        merge_spans(bad)


# ------------------------------------------------------------ character tables


def test_char_table_hand_computed():
    # text of 100; A codes 10..30 and 25..40 (overlapping: 10..40, 30 chars);
    # B codes 20..50 (30 chars); both 20..40 = 20; only A 10..20 = 10;
    # only B 40..50 = 10; neither: 100 minus the union 10..50 = 60
    assert char_table(100, [(25, 40), (10, 30)], [(20, 50)]) == (20, 10, 10, 60)
    assert char_table_coded_only(100, [(25, 40), (10, 30)], [(20, 50)]) == (20, 10, 10, 0)


def test_char_table_adjacent_spans_do_not_agree():
    assert char_table(10, [(0, 5)], [(5, 10)]) == (0, 5, 5, 0)


def test_char_table_empty_lists_and_empty_text():
    assert char_table(50, [], []) == (0, 0, 0, 50)
    assert char_table(50, [(0, 50)], []) == (0, 50, 0, 0)
    assert char_table(0, [], []) == (0, 0, 0, 0)
    assert char_table_coded_only(50, [], []) == (0, 0, 0, 0)


def test_char_table_span_at_text_end():
    assert char_table(20, [(15, 20)], [(18, 20)]) == (2, 3, 0, 15)


def test_char_table_span_past_text_end_is_refused():
    with pytest.raises(OffsetError, match="ends after the text"):
        char_table(20, [(15, 21)], [])


def test_char_table_matches_brute_force_on_random_spans():
    rng = np.random.default_rng(20240601)
    for case in range(600):
        length = int(rng.integers(0, 400))
        a = random_spans(rng, length, int(rng.integers(0, 8)))
        b = random_spans(rng, length, int(rng.integers(0, 8)))
        assert char_table(length, a, b) == brute_table(length, a, b), (case, length, a, b)


def test_char_tables_vectorised_equals_per_group():
    rng = np.random.default_rng(7)
    lengths, group, coder, starts, ends, expected = [], [], [], [], [], []
    for g in range(300):
        length = int(rng.integers(0, 300))
        a = random_spans(rng, length, int(rng.integers(0, 6)))
        b = random_spans(rng, length, int(rng.integers(0, 6)))
        lengths.append(length)
        for who, spans in ((0, a), (1, b)):
            for s, e in spans:
                group.append(g)
                coder.append(who)
                starts.append(s)
                ends.append(e)
        expected.append(brute_table(length, a, b))
    # shuffle span order: the function must not rely on it
    order = rng.permutation(len(group))
    got = char_tables(
        lengths,
        np.array(group)[order],
        np.array(coder)[order],
        np.array(starts)[order],
        np.array(ends)[order],
    )
    assert got.dtype == np.int64
    assert [tuple(map(int, row)) for row in got] == expected


def test_char_tables_rejects_bad_input():
    with pytest.raises(OffsetError):
        char_tables([10], [0], [0], [5], [11])
    with pytest.raises(AgreementError):
        char_tables([10], [0], [2], [1], [2])
    with pytest.raises(AgreementError):
        char_tables([10], [1], [0], [1], [2])
    assert char_tables([5, 7], [], [], [], []).tolist() == [[0, 0, 0, 5], [0, 0, 0, 7]]


def test_char_segments_weights_reproduce_per_character_matrix():
    rng = np.random.default_rng(11)
    for _ in range(200):
        length = int(rng.integers(1, 200))
        coders = [random_spans(rng, length, int(rng.integers(0, 5))) for _ in range(3)]
        matrix, weights = char_segments(length, coders)
        assert weights.sum() == length and (weights > 0).all()
        per_char = np.zeros((3, length))
        for row, spans in enumerate(coders):
            for s, e in spans:
                per_char[row, s:e] = 1
        assert np.array_equal(np.repeat(matrix, weights, axis=1), per_char)
        coded, w = char_segments(length, coders, coded_only=True)
        assert w.sum() == int(per_char.any(axis=0).sum())


def test_char_segments_two_coders_gives_char_table():
    matrix, weights = char_segments(100, [[(25, 40), (10, 30)], [(20, 50)]])
    assert table_from_matrix(matrix, weights) == (20, 10, 10, 60)
    m2, w2 = only_coded(matrix, weights)
    assert table_from_matrix(m2, w2) == (20, 10, 10, 0)


# ------------------------------------------------------------ sentence / turn units

SENTENCES = [(0, 10), (11, 20), (21, 41), (42, 50)]


def test_units_coded_any_overlap_by_default():
    got = units_coded(SENTENCES, [(9, 12)])
    assert got.tolist() == [True, True, False, False]


def test_units_coded_boundary_touch_is_not_overlap():
    assert units_coded(SENTENCES, [(10, 11), (41, 42)]).tolist() == [False] * 4


def test_units_coded_min_share_is_inclusive():
    # sentence (21, 41) has 20 chars: 10 coded = share 0.5 exactly
    spans = [(21, 31)]
    assert units_coded(SENTENCES, spans, min_share=0.5).tolist() == [False, False, True, False]
    assert units_coded(SENTENCES, spans, min_share=0.51).tolist() == [False] * 4
    # 3 of 10 characters is exactly 0.3, however 0.3 is rounded in binary
    assert units_coded([(0, 10)], [(0, 3)], min_share=0.3).tolist() == [True]


def test_units_coded_merges_a_coders_overlapping_spans_first():
    # (0,6) and (2,6) overlap: 6 characters coded, not 10
    assert units_coded([(0, 10)], [(0, 6), (2, 6)], min_share=0.7).tolist() == [False]
    assert units_coded([(0, 10)], [(0, 6), (2, 6)], min_share=0.6).tolist() == [True]


def test_units_coded_sums_several_spans_in_one_unit():
    assert units_coded([(0, 10)], [(0, 3), (5, 9)], min_share=0.7).tolist() == [True]


def test_units_coded_full_share_and_edge_cases():
    assert units_coded(SENTENCES, [(0, 10)], min_share=1.0).tolist() == [True, False, False, False]
    assert units_coded(SENTENCES, [(1, 10)], min_share=1.0).tolist() == [False] * 4
    assert units_coded(SENTENCES, []).tolist() == [False] * 4
    assert units_coded([], [(0, 4)]).tolist() == []
    assert units_coded([(5, 5)], [(0, 10)]).tolist() == [False]
    # units need not be sorted
    assert units_coded([(42, 50), (0, 10)], [(45, 46)]).tolist() == [True, False]


def test_units_coded_matches_brute_force():
    rng = np.random.default_rng(3)
    for _ in range(300):
        length = int(rng.integers(1, 300))
        cuts = np.unique(np.concatenate(([0, length], rng.integers(0, length, size=6))))
        units = [(int(s), int(e)) for s, e in zip(cuts[:-1], cuts[1:])]
        spans = random_spans(rng, length, int(rng.integers(0, 6)))
        share = float(rng.choice([0.0, 0.25, 0.5, 1.0]))
        mask = np.zeros(length, dtype=bool)
        for s, e in spans:
            mask[s:e] = True
        expected = []
        for s, e in units:
            cov = int(mask[s:e].sum())
            expected.append(cov > 0 if share == 0 else cov / (e - s) >= share)
        assert units_coded(units, spans, share).tolist() == expected


@pytest.mark.parametrize("share", [-0.1, 1.5, "half"])
def test_units_coded_rejects_bad_share(share):
    with pytest.raises(AgreementError):
        units_coded(SENTENCES, [], share)


def test_unit_matrix_and_tables():
    m = unit_matrix(SENTENCES, [[(0, 5)], [(0, 10), (42, 44)]], min_share=0.5)
    assert m.dtype == float
    assert m.tolist() == [[1, 0, 0, 0], [1, 0, 0, 0]]
    m = unit_matrix(SENTENCES, [[(0, 5)], [(0, 10), (42, 44)]])
    assert m.tolist() == [[1, 0, 0, 0], [1, 0, 0, 1]]
    assert table_from_matrix(m) == (1, 0, 1, 2)
    assert table_from_matrix(only_coded(m)) == (1, 0, 1, 0)
    with pytest.raises(AgreementError):
        table_from_matrix(np.zeros((3, 4)))


# ------------------------------------------------------------ matched segments


def test_match_segments_identical_and_disjoint():
    r = match_segments([(0, 100), (200, 300)], [(200, 300), (0, 100)])
    assert (r.matched_a, r.matched_b, r.unmatched_a, r.unmatched_b) == (2, 2, 0, 0)
    assert r.percent == 1.0 and r.table == (4, 0, 0, 0)
    r = match_segments([(0, 100)], [(100, 200)])
    assert (r.matched_a, r.matched_b, r.unmatched_a, r.unmatched_b) == (0, 0, 1, 1)
    assert r.percent == 0.0 and r.table == (0, 1, 1, 0)


def test_match_segments_overlap_is_share_of_union():
    # intersection 90, union 100: exactly 0.9 -> match
    r = match_segments([(0, 100)], [(10, 100)])
    assert r.matched_a == r.matched_b == 1
    # intersection 90, union 101 -> 0.891 < 0.9: no match
    r = match_segments([(0, 100)], [(10, 101)])
    assert r.matched_a == r.matched_b == 0
    # A inside a much longer B: A is fully covered, but the union is B, 50/100
    r = match_segments([(0, 50)], [(0, 100)], min_overlap=0.9)
    assert r.matched_a == 0
    r = match_segments([(0, 50)], [(0, 100)], min_overlap=0.5)
    assert r.matched_a == r.matched_b == 1


def test_match_segments_counts_each_segment_and_percent():
    # A: three segments, B: two; A0~B0 match, A1 has no partner, A2 overlaps B1 weakly
    a = [(0, 100), (300, 400), (600, 700)]
    b = [(5, 100), (650, 800)]
    r = match_segments(a, b, min_overlap=0.9)
    assert r.flags_a == (True, False, False)
    assert r.flags_b == (True, False)
    assert r.total == 5
    assert r.table == (2, 2, 1, 0)
    assert r.percent == pytest.approx(2 / 5)
    # any overlap: A2 and B1 now agree as well
    r = match_segments(a, b, min_overlap=0)
    assert r.flags_a == (True, False, True) and r.flags_b == (True, True)
    assert r.percent == pytest.approx(4 / 5)


def test_match_segments_empty_and_pooling():
    r = match_segments([], [])
    assert r.total == 0 and np.isnan(r.percent)
    pooled = match_segments([(0, 10)], [(0, 10)]) + match_segments([(0, 10)], [])
    assert pooled == SegmentMatch(1, 1, 1, 0, (True, False), (True,))
    assert pooled.percent == pytest.approx(2 / 3)
    with pytest.raises(AgreementError):
        match_segments([(0, 1)], [(0, 1)], min_overlap=2)


def test_match_segments_many_segments_blocked():
    a = [(i * 10, i * 10 + 8) for i in range(5000)]
    b = [(i * 10 + 1, i * 10 + 8) for i in range(5000)]
    r = match_segments(a, b, min_overlap=0.85)  # 7/8 = 0.875
    assert r.matched_a == r.matched_b == 5000


# ------------------------------------------------------------ roll-up


def test_roll_up_uses_ids_not_name_prefixes():
    # "emo" and "emotion" are siblings; "emotion" must not roll into "emo"
    parent_of = {
        "emo": None,
        "emotion": None,
        "emotion/joy": "emotion",
        "emotion/joy/relief": "emotion/joy",
        "emo-child": "emo",
    }
    spans = {
        "emo": [(0, 5)],
        "emotion": [(10, 20)],
        "emotion/joy": [(30, 40)],
        "emotion/joy/relief": [(50, 60)],
        "emo-child": [(70, 80)],
    }
    got = roll_up(spans, parent_of)
    assert got["emo"] == [(0, 5), (70, 80)]
    assert got["emotion"] == [(10, 20), (30, 40), (50, 60)]
    assert got["emotion/joy"] == [(30, 40), (50, 60)]
    assert got["emotion/joy/relief"] == [(50, 60)]
    assert got["emo-child"] == [(70, 80)]


def test_roll_up_with_opaque_ids_and_codes_without_codings():
    parent_of = {"u1": None, "u2": "u1", "u3": "u2", "u4": None}
    got = roll_up({"u3": [(5, 9)]}, parent_of)
    assert got == {"u1": [(5, 9)], "u2": [(5, 9)], "u3": [(5, 9)], "u4": []}


def test_roll_up_errors():
    with pytest.raises(CodebookError, match="cycle"):
        roll_up({}, {"a": "b", "b": "a"})
    with pytest.raises(CodebookError, match="not in the codebook"):
        roll_up({}, {"a": "zzz"})
    with pytest.raises(CodebookError, match="not in the codebook"):
        roll_up({"ghost": [(0, 1)]}, {"a": None})


def test_errors_are_coding_errors():
    assert issubclass(OffsetError, CodingError) and issubclass(AgreementError, CodingError)
