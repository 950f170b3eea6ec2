"""The recommender as a third coder, on the demo study (real store, real spaCy): grouped
cross-validation by document, the agreement engine's units and coefficients, leads only."""

import math

import pytest
from sqlalchemy import select

from coding.agreement.project import compute_agreement
from coding.errors import AgreementError, PermissionDeniedError
from coding.team.projects import get_project
from coding.team.members import Member, get_member
from coding.suggest.recommender_agreement import best_threshold, recommender_agreement, report_text
from coding.store.models import Coding, Document
from coding.suggest.processing import process_documents

SAMPLE = ["P01_principal_School-I_3", "P03_teacher_School-II_4", "P05_special-educator_School-I_7",
          "P07_directora_Escuela-II_5"]


@pytest.fixture
def demo(demo_store):
    with demo_store.session() as s:
        p = get_project(s, "demo")
        lead = Member.of(get_member(s, p, "lead"))
        ana = Member.of(get_member(s, p, "ana"))
    process_documents(demo_store, "demo", lead)
    return demo_store, lead, ana


def _oracle(s, p):
    """A predictor that codes each held-out unit with exactly the codes its coder gave it
    (read straight from the database): the recommender as a perfect copy of the coder."""
    truth = {}
    for coder in ("ana", "ben"):
        cid = get_member(s, p, coder).id
        truth[coder] = s.execute(select(Coding.document_id, Coding.start, Coding.end, Coding.code_id)
                                 .where(Coding.coder_id == cid, Coding.layer == "coder")).all()
    calls = []

    def predict(coder, train, codes, test):
        held = {u.document_id for u, _ in test}
        assert held and not held & {u.document_id for u, _ in train}  # grouped by document
        calls.append((coder, sorted(held)))
        return [{c for d, a, b, c in truth[coder] if d == u.document_id and a < u.end and u.start < b}
                for u, _ in test], None
    return predict, calls


def test_a_lead_gets_one_row_per_human_coder_and_the_human_reference(demo):
    store, lead, _ = demo
    with store.session() as s:
        p = get_project(s, "demo")
        rep = recommender_agreement(s, p, lead, ["ana", "ben"], unit="sentence")
        ref = compute_agreement(s, p, ["ana", "ben"], member=lead, unit="sentence", ci=False, suggestions="exclude")
    assert [(r.trained_on, r.compared_with) for r in rep.rows] == [("ana", "ana"), ("ben", "ben")]
    assert [(r.trained_on, r.compared_with) for r in rep.cross] == [("ana", "ben"), ("ben", "ana")]
    assert rep.documents == SAMPLE and rep.folds == 4
    assert rep.options["documents_per_fold"] == [[d] for d in SAMPLE]
    assert rep.reference.as_dict() == ref.rows[-1].as_dict()
    for r in rep.rows + rep.cross:
        assert r.overall.n_units == ref.rows[-1].n_units  # the same units as the agreement page
        assert [c.code for c in r.per_code] == [c.code for c in ref.rows[:-1]]
        assert len(r.thresholds) == 4 and all(t is not None and 0 < t <= 1 for t in r.thresholds)
        assert r.predicted > 0 and r.overall.n_coded > 0
        assert -1 <= r.overall.alpha < 1
    table = rep.table()
    assert [t["recommender trained on"] for t in table] == ["ana", "ben", "ana", "ben", "(human coders)"]
    assert table[-1]["alpha"] == round(ref.rows[-1].alpha, 3)
    text = report_text(rep)
    assert "(human coders)" in text and "4 folds by document" in text
    assert rep.as_dict()["rows"][0]["overall"]["alpha"] == round(rep.rows[0].overall.alpha, 6)


def test_a_coder_is_refused(demo):
    store, _, ana = demo
    with store.session() as s, pytest.raises(PermissionDeniedError, match="'ana' is a coder and cannot measure"):
        recommender_agreement(s, get_project(s, "demo"), ana, ["ana", "ben"])


def test_bad_options_are_named(demo):
    store, lead, _ = demo
    with store.session() as s:
        p = get_project(s, "demo")
        with pytest.raises(AgreementError, match="folds=1"):
            recommender_agreement(s, p, lead, ["ana", "ben"], folds=1)
        with pytest.raises(AgreementError, match="suggestions='only'"):
            recommender_agreement(s, p, lead, ["ana", "ben"], suggestions="only")
        with pytest.raises(AgreementError, match="unit 'segment'"):
            recommender_agreement(s, p, lead, ["ana", "ben"], unit="segment")
        with pytest.raises(AgreementError, match="at least two documents ana, ben all coded.*there is 1"):
            recommender_agreement(s, p, lead, ["ana", "ben"], documents=[SAMPLE[0]])


def test_a_perfect_copy_of_each_coder_agrees_with_them_fully_and_with_the_other_as_they_do(demo):
    store, lead, _ = demo
    with store.session() as s:
        p = get_project(s, "demo")
        predict, calls = _oracle(s, p)
        rep = recommender_agreement(s, p, lead, ["ana", "ben"], unit="sentence", predict=predict)
        ref = compute_agreement(s, p, ["ana", "ben"], member=lead, unit="sentence", ci=False)
    # each document held out once per coder
    assert sorted(calls) == sorted((c, [d]) for c in ("ana", "ben") for d in _doc_ids(store))
    for r in rep.rows:
        assert r.overall.alpha == pytest.approx(1.0) and r.overall.kappa == pytest.approx(1.0)
        assert r.overall.extra["table"][1:3] == [0, 0]
        assert r.thresholds == [None] * 4
    # the copy of ana against ben is ana against ben, unit for unit
    ana_ben = next(r for r in rep.cross if r.trained_on == "ana").overall
    ben_ana = next(r for r in rep.cross if r.trained_on == "ben").overall
    assert ana_ben.extra["table"] == ref.rows[-1].extra["table"]
    assert math.isclose(ana_ben.alpha, ref.rows[-1].alpha) and math.isclose(ben_ana.alpha, ref.rows[-1].alpha)
    assert ana_ben.alpha == pytest.approx(rep.reference.alpha)


def _doc_ids(store):
    with store.session(write=False) as s:
        return [d for d, in s.execute(select(Document.id).where(Document.name.in_(SAMPLE)))]


def test_the_threshold_maximises_f1_of_the_top_code():
    scored = [(("a", 0.9), {"a"}), (("b", 0.8), {"a"}), (("a", 0.3), {"a"}), (None, set()), (("a", 0.1), set())]
    # 0.9: 1 of 1 right, 3 true -> F1 .5; 0.8: 1 of 2 -> .4; 0.3: 2 of 3 -> .667; 0.1: 2 of 4 -> .571
    assert best_threshold(scored) == 0.3
    assert best_threshold([(None, {"a"})]) is None and best_threshold([]) is None
    assert best_threshold([(("b", 0.5), {"a"})]) is None  # no threshold finds a right code


def test_the_cli_prints_the_same_table_as_json_and_refuses_a_coder(demo, db_url, capsys):
    import json

    from coding.cli.main import main

    store, lead, _ = demo
    args = ["--db", db_url, "--as", "lead", "agreement", "demo", "--coders", "ana", "ben", "--unit", "sentence",
            "--recommender", "--no-ci"]
    assert main(args + ["--json"]) == 0
    got = json.loads(capsys.readouterr().out)
    with store.session() as s:
        want = recommender_agreement(s, get_project(s, "demo"), lead, ["ana", "ben"], unit="sentence").as_dict()
    assert got == json.loads(json.dumps(want))
    assert [(r["trained_on"], r["compared_with"]) for r in got["rows"]] == [("ana", "ana"), ("ben", "ben")]
    assert got["options"]["suggestions"] == "exclude"
    assert main(args) == 0
    assert "(human coders)" in capsys.readouterr().out
    assert main(args[:3] + ["ana"] + args[4:]) == 1
    assert "'ana' is a coder and cannot measure" in capsys.readouterr().err
    assert main(args + ["--md"]) == 1
    assert "leave out --csv, --md and --docx" in capsys.readouterr().err
