"""Themes a researcher would use (issue 18): general words by dispersion, closing pleasantries,
names from phrases, quotes that share a meaning; the evaluation's split, intervals and warnings."""

from __future__ import annotations

import pytest

from coding.nlp.evaluate import Collection, bootstrap_mean, cross_validate, leave_one_code_out, split_rows
from coding.nlp.fillers import closing_units, general_terms
from coding.nlp.themes import Unit, find_themes, theme_name


def unit(doc, s, terms, phrases=()):
    return Unit(doc, s, s + 1, tuple(terms), tuple(phrases))


def test_a_word_said_evenly_by_everyone_is_general_and_a_concentrated_one_is_not():
    units = []
    for d in "abcde":
        units += [unit(d, i, ["basically", f"{d}{i}", f"x{d}{i}"]) for i in range(4)]  # in every document alike
        units += [unit(d, 10 + i, [f"y{d}{i}", f"z{d}{i}"]) for i in range(4)]
    units += [unit("a", 50 + i, ["crane", f"k{i}"]) for i in range(6)]  # all in one document
    g = general_terms(units)
    assert "basically" in g and "crane" not in g
    # two documents cannot show spread: nothing is general there
    assert general_terms([u for u in units if u.document_id in "ab"]) == frozenset()


def test_closing_pleasantries_after_the_last_question_and_formulas_every_document_ends_with():
    units = []
    for d in ("a", "b", "c"):
        units += [unit(d, i * 10, [f"{d}talk{i}", f"{d}more{i}"]) for i in range(5)]
        units.append(unit(d, 100, ["thank", "luck"]))  # the same formula at the end of each
    units.append(unit("a", 200, ["transcription", "fast"]))  # after the interviewer's last turn in "a"
    closing = closing_units(units, {"a": 150})
    assert {units[i].start for i in closing if units[i].document_id == "a"} == {100, 200}
    assert {units[i].start for i in closing if units[i].document_id == "b"} == {100}
    assert not any(units[i].start < 100 for i in closing)


def test_a_theme_is_named_by_a_phrase_and_quotes_share_its_sense():
    sense = [unit(f"d{i}", i, ["protocol", "observation", f"w{i}"], ["observation protocol"]) for i in range(5)]
    other = [unit("e", 20 + i, ["protocol", f"v{i}", f"u{i}"]) for i in range(2)]  # the word, not the sense
    filler = [unit(f"f{i % 4}", 100 + i, [f"a{i}", f"b{i}", f"c{i}"]) for i in range(40)]
    themes = find_themes(sense + other + filler, background=[["other", "words"]] * 5, quotes=6)
    t = next(t for t in themes if t.name == "observation protocol")
    assert len(t.quotes) >= 3
    first = t.quotes[:5]
    assert all(i < 5 for i in first)  # the units that say the phrase come before those saying only the word
    assert theme_name(sense + other, "protocol", ["observation"]) == "observation protocol"


def test_split_is_by_id_and_stable_and_intervals_hold_the_mean():
    rows = [{"id": f"t{i}", "text": "x", "codings": []} for i in range(40)]
    tuning, held = split_rows(rows)
    assert tuning and held and {r["id"] for r in tuning}.isdisjoint(r["id"] for r in held)
    assert split_rows(list(reversed(rows)))[1] == sorted(held, key=lambda r: -int(r["id"][1:]))
    (lo, hi), = bootstrap_mean([0.0, 1.0] * 20)
    assert lo < 0.5 < hi
    (lo, hi), = bootstrap_mean([1.0, 1.0, 0.0, 0.0], groups=["a", "a", "b", "b"])
    assert (lo, hi) == (0.0, 1.0)  # two texts: the mean of either alone


def test_evaluation_warns_when_everything_is_coded_and_counts_scorable_codes():
    # every unit carries a code: nothing uncoded beside a hidden code, random finds it as well
    units, labels = [], []
    for i in range(40):
        code = ["money", "time"][i % 2]
        units.append(Unit(f"t{i % 8}", 0, 30, (code, f"w{i}", f"v{i}")))
        labels.append({code})
    c = Collection(units, labels, {f"t{i}": "the money and the time we had" for i in range(8)}, 400)
    e = leave_one_code_out(c)
    assert e["codes_total"] == 2 and e["codes"] == 2
    assert any("too little uncoded text" in w for w in e["warnings"])
    r = cross_validate(c, model="reference")
    assert r["test_units"] == 40 and set(r["ci"]) == {"p_at_1", "recall_at_5", "hit_at_5", "mrr"}


def test_a_theme_that_restates_a_code_points_to_it():
    from coding.suggest.themes import RESTATES, ThemeView

    sense = [unit(f"d{i}", i, ["protocol", "observation", f"w{i}"], ["observation protocol"]) for i in range(5)]
    filler = [unit(f"f{i % 4}", 100 + i, [f"a{i}", f"b{i}", f"c{i}"]) for i in range(40)]
    profiles = {"obs": ["protocol", "observation", "observation protocol"] * 3, "other": ["a1", "b1"]}
    t = next(t for t in find_themes(sense + filler, background=[["x", "y"]] * 5, code_profiles=profiles)
             if t.name == "observation protocol")
    assert t.nearest_code[0] == "obs" and t.nearest_code[1] >= RESTATES
    view = ThemeView(1, tuple(t.label), 5, 5, 5, (), "Observation/Protocol", "obs", t.nearest_code[1], t.cohesion)
    assert view.restates and "restates" in view.as_dict() and view.as_dict()["restates"] is True
    assert not ThemeView(1, ("x",), 3, 1, 1, (), "Other", "other", 0.2, 0.1).restates
