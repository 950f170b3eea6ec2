"""Project agreement: stored codings -> units -> coefficients, checked against brute force."""

import math

import numpy as np
import pytest
from sqlalchemy import select

from coding.agreement.alpha import krippendorff_alpha
from coding.agreement.project import compute_agreement, verdict
from coding.errors import AgreementError
from coding.team.projects import get_project
from coding.team.members import Member, get_member
from coding.store.models import Coding, Document


def _lead(s, p) -> Member:
    return Member.of(get_member(s, p, "lead"))


def test_character_tables_match_a_per_character_count(demo_store):
    with demo_store.session() as s:
        p = get_project(s, "demo")
        report = compute_agreement(s, p, ["ana", "ben"], member=_lead(s, p), ci=False)
        ana, ben = get_member(s, p, "ana").id, get_member(s, p, "ben").id
        docs = {d.id: d for d in s.scalars(select(Document).where(Document.name.in_(report.options["documents"])))}
        rows = s.execute(select(Coding.code_id, Coding.document_id, Coding.coder_id, Coding.start, Coding.end)
                         .where(Coding.document_id.in_(docs))).all()
    for row in report.rows[:-1]:
        a_total = np.zeros(4, dtype=int)
        cells = []
        for doc in docs.values():
            marks = {ana: np.zeros(doc.length, bool), ben: np.zeros(doc.length, bool)}
            for code_id, doc_id, coder, start, end in rows:
                if code_id == row.code_id and doc_id == doc.id:
                    marks[coder][start:end] = True
            a, b = marks[ana], marks[ben]
            a_total += [(a & b).sum(), (a & ~b).sum(), (~a & b).sum(), (~a & ~b).sum()]
            cells.append(np.vstack([a, b]).astype(float))
        assert row.extra["table"] == a_total.tolist()
        alpha = krippendorff_alpha(np.hstack(cells)).value
        assert math.isclose(row.alpha, alpha, abs_tol=1e-9)
    assert report.rows[-1].code == "(all codes)"
    assert report.rows[-1].n_units == sum(d.length for d in docs.values()) * (len(report.rows) - 1)


def test_turn_units_more_coders_and_degenerate_input(demo_store):
    with demo_store.session() as s:
        p = get_project(s, "demo")
        rep = compute_agreement(s, p, ["ana", "ben"], member=_lead(s, p), unit="turn",
                                documents=["P01_principal_School-I_3"], ci=False)
        assert all(r.n_units == rep.rows[0].n_units for r in rep.rows[:-1])
        assert 0 < rep.rows[0].n_units < 100  # turns of one interview
        # a third coder who coded nothing: a multi-coder path, defined or NaN with a reason, never a crash
        rep3 = compute_agreement(s, p, ["ana", "ben", "lead"], member=_lead(s, p), unit="turn",
                                 documents=["P01_principal_School-I_3"], ci=False)
        assert "fleiss_kappa" not in rep3.rows[-1].extra  # it is the kappa column
        assert not math.isnan(rep3.rows[-1].kappa)
        with pytest.raises(AgreementError, match="no document has codings by all"):
            compute_agreement(s, p, ["ana", "ben", "lead"], member=_lead(s, p))
        with pytest.raises(AgreementError, match="unit 'word' is unknown"):
            compute_agreement(s, p, ["ana", "ben"], member=_lead(s, p), unit="word")


def test_verdict_thresholds():
    """Krippendorff (2004, p. 241): alpha >= .800 reliable; .667 <= alpha < .800 tentative."""
    assert verdict(0.800) == "reliable" and verdict(0.7999) == "tentative"
    assert verdict(0.667) == "tentative" and verdict(0.666) == "unreliable"
    assert verdict(float("nan")) == "undefined"


# --- codings made from suggestions: counted, left out, or counted alone ----------------------

def _brute_tables(rows, docs, ana, ben, code_ids):
    """(both, only ana, only ben, neither) characters per code, mark by mark, and alpha."""
    out = {}
    for code_id in code_ids:
        total, cells = np.zeros(4, dtype=int), []
        for doc in docs.values():
            marks = {ana: np.zeros(doc.length, bool), ben: np.zeros(doc.length, bool)}
            for c_id, doc_id, coder, start, end in rows:
                if c_id == code_id and doc_id == doc.id:
                    marks[coder][start:end] = True
            a, b = marks[ana], marks[ben]
            total += [(a & b).sum(), (a & ~b).sum(), (~a & b).sum(), (~a & ~b).sum()]
            cells.append(np.vstack([a, b]).astype(float))
        out[code_id] = (total.tolist(), krippendorff_alpha(np.hstack(cells)).value)
    return out


def test_leaving_out_suggested_codings_changes_the_figures_exactly_as_recomputing_without_them(demo_store):
    from coding.agreement.tables import report_markdown
    from coding.exporting.agreement_report import method_sentence

    with demo_store.session() as s:  # a third of ana's codings and a quarter of ben's came from suggestions
        p = get_project(s, "demo")
        ana, ben = get_member(s, p, "ana").id, get_member(s, p, "ben").id
        before = compute_agreement(s, p, ["ana", "ben"], member=_lead(s, p), ci=False)
        for coder, every in ((ana, 3), (ben, 4)):
            for i, c in enumerate(s.scalars(select(Coding).where(Coding.coder_id == coder).order_by(Coding.id))):
                if i % every == 0:
                    c.provenance = "suggested"
    with demo_store.session() as s:
        p = get_project(s, "demo")
        lead = _lead(s, p)
        rep = {mode: compute_agreement(s, p, ["ana", "ben"], member=lead, ci=False, suggestions=mode)
               for mode in ("include", "exclude", "only")}
        docs = {d.id: d for d in s.scalars(select(Document).where(Document.name.in_(before.options["documents"])))}
        rows = s.execute(select(Coding.code_id, Coding.document_id, Coding.coder_id, Coding.start, Coding.end,
                                Coding.provenance).where(Coding.document_id.in_(docs))).all()
        n_suggested = sum(r.provenance == "suggested" for r in rows)
        with pytest.raises(AgreementError, match="suggestions='some' is unknown: use include"):
            compute_agreement(s, p, ["ana", "ben"], member=lead, suggestions="some")
    assert n_suggested > 50
    assert [r.as_dict() for r in rep["include"].rows] == [r.as_dict() for r in before.rows]
    assert rep["exclude"].options["documents"] == rep["only"].options["documents"] == before.options["documents"]
    code_ids = [r.code_id for r in before.rows[:-1]]
    for mode, keep in (("exclude", lambda r: r.provenance != "suggested"), ("only", lambda r: r.provenance == "suggested")):
        brute = _brute_tables([tuple(r[:5]) for r in rows if keep(r)], docs, ana, ben, code_ids)
        assert rep[mode].options["suggestions"] == {"mode": mode, "codings": n_suggested}
        for row in rep[mode].rows[:-1]:
            table, alpha = brute[row.code_id]
            assert row.extra["table"] == table, (mode, row.code)
            assert (math.isnan(row.alpha) and math.isnan(alpha)) or math.isclose(row.alpha, alpha, abs_tol=1e-9)
        overall = np.sum([brute[c][0] for c in code_ids], axis=0).tolist()
        assert rep[mode].rows[-1].extra["table"] == overall
    # the figures did move: leaving them out is not the same as counting them
    assert rep["exclude"].rows[-1].extra["table"] != before.rows[-1].extra["table"]
    assert rep["exclude"].rows[-1].alpha != before.rows[-1].alpha
    # the report says what was done
    assert (f"Codings made from accepted suggestions (provenance 'suggested') were left out: "
            f"{n_suggested:,} codings.") in method_sentence(rep["exclude"])
    assert "Only codings made from accepted suggestions (provenance 'suggested') were counted" in \
        report_markdown(rep["only"])
    assert f"{n_suggested:,} codings made from accepted suggestions" in method_sentence(rep["include"])
    assert "suggestions" not in method_sentence(before)

    with demo_store.session() as s:  # and deleting those codings gives the "exclude" figures back
        s.execute(Coding.__table__.delete().where(Coding.provenance == "suggested"))
    with demo_store.session() as s:
        p = get_project(s, "demo")
        gone = compute_agreement(s, p, ["ana", "ben"], member=_lead(s, p), ci=False)
    assert [r.as_dict() for r in gone.rows] == [r.as_dict() for r in rep["exclude"].rows]
    assert gone.options["suggestions"] == {"mode": "include", "codings": 0}


def test_the_cli_leaves_out_suggested_codings_when_asked(demo_store, db_url, capsys):
    import json

    from coding.cli.main import main

    with demo_store.session() as s:
        for i, c in enumerate(s.scalars(select(Coding).order_by(Coding.id))):
            if i % 2 == 0:
                c.provenance = "suggested"
    with demo_store.session() as s:
        p = get_project(s, "demo")
        want = compute_agreement(s, p, ["ana", "ben"], member=_lead(s, p), ci=False, suggestions="exclude")
    args = ["--db", db_url, "agreement", "demo", "--coders", "ana", "ben", "--no-ci"]
    assert main(args + ["--json", "--suggestions", "exclude"]) == 0
    got = json.loads(capsys.readouterr().out)
    assert got["codes"] == json.loads(json.dumps(want.as_dict()))["codes"]
    assert got["options"]["suggestions"]["mode"] == "exclude"
    assert main(args + ["--json"]) == 0  # the default counts them
    assert json.loads(capsys.readouterr().out)["options"]["suggestions"]["mode"] == "include"
    assert main(args + ["--suggestions", "only"]) == 0
    assert "Only codings made from accepted suggestions" in capsys.readouterr().out
